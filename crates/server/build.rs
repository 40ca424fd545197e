//! Embeds the built page (`pkg/` at the workspace root) into the server binary.
//!
//! `cargo xtask build` fills `pkg/`; this script lists its files into `$OUT_DIR/assets.rs` as
//! `include_bytes!` entries. When `pkg/` does not exist yet (a plain `cargo check`), the list is
//! empty and the server answers the page's URL with a message saying how to build it.

use std::{env, fs, path::Path};

fn main() {
    let manifest = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let pkg = Path::new(&manifest).join("../../pkg");
    println!("cargo:rerun-if-changed={}", pkg.display());

    let mut files = Vec::new();
    if pkg.is_dir() {
        collect(&pkg, &pkg, &mut files);
    }
    files.sort();
    let mut out = String::from("pub static EMBEDDED: &[(&str, &[u8])] = &[\n");
    for (name, path) in &files {
        out.push_str(&format!("    ({name:?}, include_bytes!({path:?})),\n"));
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("assets.rs");
    fs::write(dest, out).expect("write assets.rs");
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    for entry in fs::read_dir(dir).expect("read pkg/") {
        let path = entry.expect("read pkg/ entry").path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let name = path
                .strip_prefix(root)
                .expect("inside pkg/")
                .to_string_lossy()
                .replace('\\', "/");
            let absolute = fs::canonicalize(&path).expect("canonical path");
            files.push((name, absolute.to_string_lossy().into_owned()));
        }
    }
}
