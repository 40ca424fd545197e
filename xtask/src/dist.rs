//! `cargo xtask dist`: a release folder for hosting the tutorial and its relay. It holds the
//! server binary (release build), the page as static files (to be served by the binary with
//! `--assets`, or hosted anywhere), and the example configurations in `deploy/`: a systemd unit
//! for each instance, nginx in front of two instances with TLS, and Redis. `docs/deploy.md`
//! walks through them.

use std::{fs, path::Path};

use anyhow::{Context, Result};

use crate::{build, cargo, run, target_dir};

pub(crate) fn dist(root: &Path) -> Result<()> {
    build(root)?;
    run(cargo().args([
        "build",
        "--release",
        "--package",
        "webhook-demo-server",
        "--bin",
        "webhook-demo",
    ]))?;
    let target = target_dir(root);
    let out = target.join("dist").join("webhook-demo");
    if out.exists() {
        fs::remove_dir_all(&out).with_context(|| format!("emptying {}", out.display()))?;
    }
    fs::create_dir_all(out.join("bin")).with_context(|| format!("creating {}", out.display()))?;
    let binary = out.join("bin").join("webhook-demo");
    fs::copy(target.join("release").join("webhook-demo"), &binary)
        .with_context(|| format!("copying the server to {}", binary.display()))?;
    copy_dir(&root.join("pkg"), &out.join("site"))?;
    copy_dir(&root.join("deploy"), &out.join("deploy"))?;
    fs::copy(root.join("docs").join("deploy.md"), out.join("DEPLOY.md"))
        .context("copying docs/deploy.md")?;
    println!("{}", out.display());
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let path = entry.path();
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&path, &target)?;
        } else {
            fs::copy(&path, &target).with_context(|| format!("copying {}", path.display()))?;
        }
    }
    Ok(())
}
