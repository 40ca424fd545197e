//! Making the page's WebAssembly small, beyond what the compiler and `wasm-opt` do alone.
//!
//! The page never parses a Handlebars template: `build.rs` compiles them when the app is built, the
//! page registers the compiled templates and renders them directly. Handlebars still links its
//! template grammar, because a path the page never takes reaches it at run time (a partial given a
//! context parameter, whose path handlebars parses as it renders). So after `wasm-bindgen` the
//! grammar's entry points are replaced with `unreachable` (what the `wasm-snip` tool does), and
//! `wasm-opt` then drops everything only they reached. Were the page ever to call one, it would
//! trap with an error in the console, which every browser check fails on.
//!
//! The same goes for the helpers and the decorator every handlebars registry registers but the
//! page's templates never use (`eq`, `len`, `raw`, `{{#*inline}}`, …): the registry holds them,
//! so the linker keeps them, and their bodies are cut likewise. `build.rs` refuses a template
//! that names one of them, so a template cannot reach a cut body.
//! Likewise the code only subexpressions (`(helper x)`) and block parameters (`as |x|`) reach,
//! both of which `build.rs` refuses. The browser check `tests/browser/every_state.rs` runs the
//! cut module through the states that together render every template and helper.
//!
//! What the cuts buy, measured on the whole page as `pkg/` holds it compressed (HTML, boot script,
//! module, glue, style sheet): 176,029 bytes in brotli with them and 194,561 without (18,532
//! bytes); 200,631 and 226,228 bytes in gzip (25,597 bytes). The page is over its budgets
//! (153,600 and 184,320) even with them; without them it would be further over.
//!
//! `profile` says what the optimized module is made of, by crate (`twiggy` on a copy that keeps
//! its function names), for `cargo xtask bench` to report beside the page's size.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use walrus::{FunctionKind, Module};

use crate::{run, target_dir};

/// The module's file name, as wasm-bindgen writes it.
const MODULE: &str = "webhook_demo_bg.wasm";
/// The size profiler, installed under the target directory by the command that uses it.
const TWIGGY: &str = "twiggy@0.8.0";
/// How many of the module's largest parts `profile` names.
const LARGEST: usize = 8;

/// Name prefixes of the functions the page never calls (the name section's demangled names).
const NEVER_CALLED: [&str; 10] = [
    GRAMMAR,
    "handlebars::json::path::Path::parse::",
    // The registry's built-in helpers the templates do not use (`build.rs` keeps them out).
    "<handlebars::helpers::helper_raw::RawHelper as ",
    "<handlebars::helpers::helper_log::LogHelper as ",
    "<handlebars::helpers::helper_extras::",
    "handlebars::helpers::helper_extras::",
    // `{{#*inline}}`, which `build.rs` refuses.
    "<handlebars::decorators::inline::InlineDecorator as ",
    // Subexpressions (`(helper x)`) and block parameters (`as |x|`), which `build.rs` refuses.
    "handlebars::render::call_helper_for_value::",
    "handlebars::block::BlockParams::add_path::",
    "handlebars::block::BlockParams::add_value::",
];
/// The template grammar's entry point and, below it, every rule.
const GRAMMAR: &str = "<handlebars::grammar::HandlebarsParser as pest::parser::Parser<handlebars::grammar::Rule>>::parse";

/// Runs `wasm-bindgen` on the compiled app (`wasm`), snips the functions in [`NEVER_CALLED`] and
/// writes the module and its JavaScript glue into `out`.
pub fn bindgen(root: &Path, wasm: &Path, out: &Path) -> Result<()> {
    let mut output = wasm_bindgen_cli_support::Bindgen::new()
        .input_path(wasm)
        .web(true)?
        .typescript(false)
        .generate_output()
        .with_context(|| format!("generating JS bindings for {}", wasm.display()))?;
    snip(output.wasm_mut())?;
    output
        .emit(out)
        .with_context(|| format!("writing the page's module into {}", out.display()))?;
    // Kept, with its function names, for `profile` (wasm-opt then takes the names out).
    let named = profile_dir(root).join(MODULE);
    fs::create_dir_all(profile_dir(root)).context("creating the profile folder")?;
    fs::copy(out.join(MODULE), &named)
        .with_context(|| format!("copying the module to {}", named.display()))?;
    Ok(())
}

/// Replaces the body of every function named by [`NEVER_CALLED`] with `unreachable`.
fn snip(module: &mut Module) -> Result<()> {
    let mut snipped = Vec::new();
    for function in module.funcs.iter_mut() {
        let Some(name) = function.name.as_deref() else {
            continue;
        };
        if !NEVER_CALLED.iter().any(|prefix| name.starts_with(prefix)) {
            continue;
        }
        if let FunctionKind::Local(local) = &mut function.kind {
            snipped.push(name.to_owned());
            let mut body = local.builder_mut().func_body();
            body.instrs_mut().clear();
            body.unreachable();
        }
    }
    // Every cut must still find its function: a name that finds none was renamed by another
    // handlebars (which Cargo.toml pins for this reason), and the page would quietly keep the
    // code it cut.
    let missing: Vec<&str> = NEVER_CALLED
        .into_iter()
        .filter(|prefix| !snipped.iter().any(|name| name.starts_with(prefix)))
        .collect();
    if !missing.is_empty() {
        bail!(
            "the page's module has no function named {}…: a new handlebars renamed them (see \
             `twiggy top`), or the page no longer links them",
            missing.join("…, ")
        );
    }
    eprintln!("cut {} functions the page never calls", snipped.len());
    Ok(())
}

fn profile_dir(root: &Path) -> PathBuf {
    target_dir(root).join("wasm-profile")
}

/// The optimized page module's largest parts, by crate (or the data segments), in bytes before
/// compression: `webhook_demo 120.3 KB, handlebars 61.0 KB, …`.
pub fn profile(root: &Path, wasm_opt: &Path) -> Result<String> {
    let dir = profile_dir(root);
    let optimized = dir.join("optimized.wasm");
    // As the build optimizes, but keeping the names (`-g`) for twiggy to read.
    run(Command::new(wasm_opt)
        .args(["-Oz", "-g"])
        .arg(dir.join(MODULE))
        .arg("-o")
        .arg(&optimized))?;
    let output = Command::new(twiggy(root)?)
        .args(["top", "-n", "1000000", "-f", "json"])
        .arg(&optimized)
        .output()
        .context("running twiggy")?;
    if !output.status.success() {
        bail!("twiggy failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let items: Value = serde_json::from_slice(&output.stdout).context("reading twiggy's JSON")?;
    let mut by_crate: BTreeMap<String, u64> = BTreeMap::new();
    for item in items.as_array().into_iter().flatten() {
        let name = item["name"].as_str().unwrap_or_default();
        // The names themselves are not in the page: wasm-opt takes them out without `-g`.
        if name.contains("names\" subsection") || name.starts_with("custom section") {
            continue;
        }
        let size = item["shallow_size"].as_u64().unwrap_or(0);
        *by_crate.entry(owner(name)).or_default() += size;
    }
    let mut largest: Vec<(String, u64)> = by_crate.into_iter().collect();
    largest.sort_by_key(|(_, size)| std::cmp::Reverse(*size));
    Ok(largest
        .iter()
        .take(LARGEST)
        .map(|(name, size)| format!("{name} {:.1} KB", *size as f64 / 1000.0))
        .collect::<Vec<_>>()
        .join(", "))
}

/// The crate a function belongs to, from its demangled name (a trait method's is its type's:
/// `<handlebars::X as pest::Parser>::parse` is handlebars'); data segments count as "data".
fn owner(name: &str) -> String {
    if name.starts_with("data segment") {
        return "data".to_owned();
    }
    let path = name.trim_start_matches(['<', '&', '(', '*']);
    let path = path
        .trim_start_matches("mut ")
        .trim_start_matches("dyn ")
        .trim_start_matches("const ");
    let first = path
        .split("::")
        .next()
        .unwrap_or(path)
        .split(['[', '<', ' '])
        .next()
        .unwrap_or_default();
    if first.is_empty() || first.contains(['{', '(']) {
        "other".to_owned()
    } else {
        first.to_owned()
    }
}

/// twiggy, installed once under the target directory.
fn twiggy(root: &Path) -> Result<PathBuf> {
    let tools = target_dir(root).join("tools").join("twiggy");
    let installed = tools.join("bin").join("twiggy");
    if !installed.is_file() {
        eprintln!("installing {TWIGGY} for the page's size profile");
        run(
            Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
                .args(["install", "--locked", "--root"])
                .arg(&tools)
                .arg(TWIGGY)
                // Its own build folder: the shared target directory stays free for the benches.
                .env_remove("CARGO_TARGET_DIR"),
        )?;
    }
    Ok(installed)
}
