//! Particle's Tinker binaries for the page's cleanup, fetched at build time and never committed.
//!
//! Cleanup restores Tinker the way particle-cli does: it flashes the Tinker binary the CLI ships
//! for the device's platform (`assets/knownApps/<platform>/tinker/*.bin`). The binaries are
//! Particle's, under the Apache License 2.0, so they come from particle-cli's own package in the
//! npm registry (the release the tests run, `PARTICLE_CLI_NPM`): `npm pack` fetches its tarball
//! once into the target directory (3.5 MB, none of its dependencies), and the build copies each
//! platform's binary to `tinker/<platform>.bin` with the CLI's `LICENSE` beside them and a
//! `NOTICE.txt` saying where they come from. Which platforms have one is
//! `webhook_demo_core::platform::TINKER_BINARIES`, the table the page reads too; a binary missing
//! from the package fails the build rather than leaving the page promising one.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};
use webhook_demo_core::platform::TINKER_BINARIES;

use crate::{PARTICLE_CLI_NPM, on_path, run, target_dir};

/// Writes `tinker/` into the staged site; without npm, says the page will lack them.
pub fn build(root: &Path, site: &Path) -> Result<()> {
    let Some(package) = unpacked(root)? else {
        eprintln!(
            "no npm to fetch {PARTICLE_CLI_NPM}: cleanup cannot restore Tinker from this build"
        );
        return Ok(());
    };
    let out = site.join("tinker");
    fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    for (_, platform) in TINKER_BINARIES {
        let folder = package
            .join("assets/knownApps")
            .join(platform)
            .join("tinker");
        let binary = fs::read_dir(&folder)
            .with_context(|| format!("reading {}", folder.display()))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .find(|path| path.extension().is_some_and(|ext| ext == "bin"));
        let Some(binary) = binary else {
            bail!(
                "{PARTICLE_CLI_NPM} has no Tinker binary in {}",
                folder.display()
            );
        };
        let to = out.join(format!("{platform}.bin"));
        fs::copy(&binary, &to)
            .with_context(|| format!("copying {} to {}", binary.display(), to.display()))?;
    }
    let license = package.join("LICENSE");
    fs::copy(&license, out.join("LICENSE.txt"))
        .with_context(|| format!("copying {}", license.display()))?;
    let notice = format!(
        "The files <platform>.bin in this folder are Particle's Tinker firmware, copied unchanged \
         from {PARTICLE_CLI_NPM} (assets/knownApps/<platform>/tinker/), (c) Particle Industries, \
         Inc., licensed under the Apache License, Version 2.0: see LICENSE.txt.\n"
    );
    fs::write(out.join("NOTICE.txt"), notice).context("writing tinker/NOTICE.txt")?;
    Ok(())
}

/// particle-cli's package, unpacked once under the target directory; `None` without npm.
fn unpacked(root: &Path) -> Result<Option<PathBuf>> {
    let dir = target_dir(root).join("tools").join("tinker");
    let package = dir.join("package");
    if package.join("package.json").is_file() {
        return Ok(Some(package));
    }
    if on_path("npm").is_none() {
        return Ok(None);
    }
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    eprintln!(
        "fetching {PARTICLE_CLI_NPM}'s package from the npm registry for its Tinker binaries"
    );
    run(Command::new("npm")
        .args(["pack", "--silent", PARTICLE_CLI_NPM, "--pack-destination"])
        .arg(&dir))?;
    let tarball = dir.join(format!("{}.tgz", PARTICLE_CLI_NPM.replace('@', "-")));
    // Unpacked aside and moved into place whole, so an interrupted build never leaves half of it.
    let unpacking = dir.join("unpacking");
    if unpacking.exists() {
        fs::remove_dir_all(&unpacking)
            .with_context(|| format!("clearing {}", unpacking.display()))?;
    }
    fs::create_dir_all(&unpacking).with_context(|| format!("creating {}", unpacking.display()))?;
    run(Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&unpacking)
        .args([
            "package/package.json",
            "package/LICENSE",
            "package/assets/knownApps",
        ]))?;
    fs::rename(unpacking.join("package"), &package)
        .with_context(|| format!("moving the package to {}", package.display()))?;
    Ok(Some(package))
}
