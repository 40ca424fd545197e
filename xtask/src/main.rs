//! `cargo xtask`: the project's automation, in Rust so it runs wherever cargo does.
//!
//! - `build`: the wasm app into `pkg/` (wasm-bindgen as a library, `wasm-opt` when available), plus
//!   the page shell and static files, so `pkg/` is the complete site the server embeds.
//! - `serve [-- ARGS]`: `build`, then `webhook-demo serve ARGS` (default `127.0.0.1:8080`).
//! - `test` (alias `ci`): formatting, clippy (native and wasm32), every test, the browser tests;
//!   it installs what they need (Chromium, chromedriver, g++, curl, redis-server, nginx, Node.js,
//!   particle-api-js, particle-cli, and Express and Flask for the starter servers' check).
//! - `bench`: release builds, then the benchmarks, one JSON object per line on stdout.
//! - `fuzz [CASES]`: the property tests (every `fuzz_…` test in the crates' unit tests) in a
//!   release build with many more cases each (`PROPTEST_CASES`, 200,000 unless given). cargo-fuzz
//!   would need a nightly toolchain; these properties are what it would check, run for longer.
//! - `dist`: a release folder to deploy (`xtask/src/dist.rs`).
//! - `screenshots`: `build`, then the browser check that walks the page's main states (signed
//!   out, set up, after Test, after a 500, firmware, cleanup) at 1280 and 390 px in light and
//!   dark, writing a PNG of each into `target/screenshots/`.

// This is a command-line tool: printing to stdout is its job.
#![allow(clippy::print_stdout)]

mod dist;
mod firmware;
mod shrink;
mod tinker;

use std::{
    env, fs,
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context, Result, bail};

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Older binaryen (Debian 12 ships 108) writes wasm-bindgen's `externref` table back as `anyref`,
/// which browsers then refuse to fill; from this version on it keeps the type.
const WASM_OPT_MIN_VERSION: u32 = 116;
/// The binaryen release fetched from the npm registry when no recent enough `wasm-opt` is on PATH.
const BINARYEN_NPM: &str = "binaryen@132.0.0";
/// The minifier for the page's JavaScript glue and style sheet, fetched from the npm registry.
const ESBUILD_NPM: &str = "esbuild@0.28.2";
/// Particle's JavaScript client, which a test runs against the sandbox and the relay.
const PARTICLE_API_JS_NPM: &str = "particle-api-js@12.0.3";
/// Particle's command-line tool, which a test runs against the sandbox, and whose Tinker binaries
/// the page's cleanup flashes (`xtask/src/tinker.rs`). Later releases do not
/// install from the npm registry reachable here (their `binary-version-reader@^4.0.2` is missing).
const PARTICLE_CLI_NPM: &str = "particle-cli@3.43.1";
/// What `particle flash` loads but particle-cli 3.43.1 declares only as a development dependency,
/// so that a plain install of it cannot flash.
const PARTICLE_CLI_EXECA_NPM: &str = "execa@5.1.1";
/// Cases per property for `cargo xtask fuzz`: about a minute in all on two cores.
const FUZZ_CASES: u64 = 200_000;
/// Deque's accessibility engine, which the browser tests inject into the page in each state.
const AXE_CORE_NPM: &str = "axe-core@4.10.3";
/// What the browser check of the learner's own server runs the page's starter servers on: the
/// Express and Flask their code names.
const EXPRESS_NPM: &str = "express@4.21.2";
const FLASK_PIP: &str = "flask==3.1.0";

fn main() -> Result<()> {
    let mut args = env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.skip_while(|a| a == "--").collect();
    let root = workspace_root();
    env::set_current_dir(&root).with_context(|| format!("entering {}", root.display()))?;
    match task.as_str() {
        "build" => build(&root),
        "serve" => serve(&root, &rest),
        "test" | "ci" => test(&root),
        "bench" => bench(&root),
        "fuzz" => fuzz(&rest),
        "dist" => dist::dist(&root),
        "screenshots" => screenshots(&root),
        _ => {
            eprintln!(
                "usage: cargo xtask <build | serve [-- ARGS] | test | ci | bench | fuzz [CASES] | dist | screenshots>\n\
                 \n  build   build the page into pkg/\
                 \n  serve   build, then run the tutorial on http://127.0.0.1:8080 (ARGS go to `webhook-demo serve`)\
                 \n  test    everything CI checks: fmt, clippy (native and wasm32), unit, integration and browser tests\
                 \n  ci      the same as test\
                 \n  bench   release builds, then the performance measures as JSON lines\
                 \n  fuzz    the property tests (fuzz_*) in release, CASES each (default PROPTEST_CASES, else 200000)\
                 \n  dist    a release folder: the server, the page as static files, deployment examples\
                 \n  screenshots  PNGs of the page's main states, both widths and colour schemes, in target/screenshots/"
            );
            bail!("unknown task {task:?}")
        }
    }
}

fn workspace_root() -> PathBuf {
    // xtask lives one directory below the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent directory")
        .to_path_buf()
}

fn target_dir(root: &Path) -> PathBuf {
    env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

fn cargo() -> Command {
    Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs `command`, failing with its command line when it does not succeed.
fn run(command: &mut Command) -> Result<()> {
    let line = format!("{command:?}");
    eprintln!("$ {line}");
    let status = command
        .status()
        .with_context(|| format!("starting {line}"))?;
    if !status.success() {
        bail!("{line} failed: {status}");
    }
    Ok(())
}

fn on_path(program: &str) -> Option<PathBuf> {
    env::var_os("PATH")
        .map(|paths| {
            env::split_paths(&paths)
                .map(|dir| dir.join(program))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .find(|candidate| candidate.is_file())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Installs Debian packages when running as root; otherwise says what to install.
fn apt_install(packages: &[&str], why: &str) -> Result<()> {
    if !is_root() || on_path("apt-get").is_none() {
        bail!(
            "{why}: install the Debian packages {} (apt-get install {})",
            packages.join(", "),
            packages.join(" ")
        );
    }
    eprintln!("{why}: installing {} with apt-get", packages.join(", "));
    run(Command::new("apt-get").args(["update", "-qq"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

fn ensure_wasm_target() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running rustup (the wasm32 target is added with rustup)")?;
    if !String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|line| line.trim() == WASM_TARGET)
    {
        run(Command::new("rustup").args(["target", "add", WASM_TARGET]))?;
    }
    Ok(())
}

/// Builds the page into `pkg/`.
fn build(root: &Path) -> Result<()> {
    ensure_wasm_target()?;
    run(cargo().args([
        "build",
        "--package",
        "webhook-demo",
        "--lib",
        "--target",
        WASM_TARGET,
        "--profile",
        "wasm",
    ]))?;
    let wasm = target_dir(root)
        .join(WASM_TARGET)
        .join("wasm")
        .join("webhook_demo.wasm");
    let pkg = root.join("pkg");
    let staging = root.join(".pkg-staging");
    if staging.exists() {
        fs::remove_dir_all(&staging).with_context(|| format!("clearing {}", staging.display()))?;
    }
    fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;
    shrink::bindgen(root, &wasm, &staging)?;
    let module = staging.join("webhook_demo_bg.wasm");
    match wasm_opt(root) {
        Some(wasm_opt) => run(Command::new(wasm_opt)
            .arg("-Oz")
            // Again until nothing changes: ten seconds more, and 746 bytes off the page in brotli
            // when it was added.
            .arg("--converge")
            // Sections the browser never reads: which tools made the module, and its features.
            .args(["--strip-producers", "--strip-target-features"])
            .arg(&module)
            .arg("-o")
            .arg(&module))?,
        None => eprintln!(
            "no wasm-opt {WASM_OPT_MIN_VERSION} or newer (and no npm to fetch {BINARYEN_NPM}): \
             the page works, only larger"
        ),
    }
    copy(&root.join("index.html"), &staging.join("index.html"))?;
    for entry in fs::read_dir(root.join("static")).context("reading static/")? {
        let path = entry.context("reading static/")?.path();
        copy(&path, &staging.join(path.file_name().expect("a file name")))?;
    }
    firmware::build(root, &staging).context("building the firmware panel's files")?;
    tinker::build(root, &staging).context("fetching Particle's Tinker binaries")?;
    minify(root, &staging, &["webhook_demo.js", "style.css", "boot.js"])?;
    // Compress once, as well as it can be done; the server sends these `.br` and `.gz` siblings
    // instead of compressing on every request.
    for name in [
        "webhook_demo_bg.wasm",
        "webhook_demo.js",
        "style.css",
        "boot.js",
        "index.html",
    ] {
        let plain = fs::read(staging.join(name)).with_context(|| format!("reading {name}"))?;
        let mut gzipped = Vec::new();
        zopfli::compress(
            zopfli::Options::default(),
            zopfli::Format::Gzip,
            &plain[..],
            &mut gzipped,
        )
        .with_context(|| format!("compressing {name}"))?;
        fs::write(staging.join(format!("{name}.gz")), gzipped)
            .with_context(|| format!("writing {name}.gz"))?;
        // And brotli at its best, for the browsers that take it: smaller than either gzip, and
        // the server sends it without compressing anything per request.
        let mut brotli = Vec::new();
        let params = brotli::enc::BrotliEncoderParams {
            quality: 11,
            lgwin: 24,
            ..Default::default()
        };
        brotli::BrotliCompress(&mut &plain[..], &mut brotli, &params)
            .with_context(|| format!("compressing {name} with brotli"))?;
        fs::write(staging.join(format!("{name}.br")), brotli)
            .with_context(|| format!("writing {name}.br"))?;
    }
    // Replace pkg/ only when the new one is complete, so a failed build never leaves half a site.
    if pkg.exists() {
        fs::remove_dir_all(&pkg).with_context(|| format!("removing the old {}", pkg.display()))?;
    }
    fs::rename(&staging, &pkg)
        .with_context(|| format!("moving the build into {}", pkg.display()))?;
    eprintln!("built the page into {}", pkg.display());
    Ok(())
}

/// A `wasm-opt` that handles current wasm-bindgen output: on PATH when recent enough, else the
/// npm registry's binaryen, installed once under the target directory.
fn wasm_opt(root: &Path) -> Option<PathBuf> {
    let recent = |program: &Path| {
        let output = Command::new(program).arg("--version").output().ok()?;
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let version: u32 = text.split_whitespace().find_map(|word| word.parse().ok())?;
        (version >= WASM_OPT_MIN_VERSION).then(|| program.to_path_buf())
    };
    if let Some(found) = on_path("wasm-opt").and_then(|path| recent(&path)) {
        return Some(found);
    }
    let tools = target_dir(root).join("tools").join("binaryen");
    let installed = tools.join("node_modules").join(".bin").join("wasm-opt");
    if !installed.is_file() {
        on_path("npm")?;
        eprintln!(
            "fetching {BINARYEN_NPM} from the npm registry for wasm-opt (Debian's binaryen is too old)"
        );
        if let Err(error) = npm_install(&tools, BINARYEN_NPM) {
            eprintln!("{error:#}");
            return None;
        }
    }
    recent(&installed)
}

/// Minifies the page's JavaScript and CSS in place with esbuild: a fifth less on the wire after
/// compression (names, comments and white space), and less for the browser to parse. Without npm
/// the page works, only larger.
fn minify(root: &Path, dir: &Path, names: &[&str]) -> Result<()> {
    let tools = target_dir(root).join("tools").join("esbuild");
    let esbuild = tools.join("node_modules").join(".bin").join("esbuild");
    if !esbuild.is_file() {
        if on_path("npm").is_none() {
            eprintln!(
                "no npm to fetch {ESBUILD_NPM}: the page's JavaScript and CSS are not minified"
            );
            return Ok(());
        }
        eprintln!("fetching {ESBUILD_NPM} from the npm registry to minify the page");
        npm_install(&tools, ESBUILD_NPM)?;
    }
    for name in names {
        let path = dir.join(name);
        run(Command::new(&esbuild)
            .arg(&path)
            .args(["--minify", "--log-level=warning", "--allow-overwrite"])
            .arg(format!("--outfile={}", path.display())))?;
    }
    Ok(())
}

/// Installs an npm package (`name@version`) into `tools/node_modules`.
fn npm_install(tools: &Path, package: &str) -> Result<()> {
    run(Command::new("npm")
        .args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"])
        .arg(tools)
        .arg(package))
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    fs::copy(from, to)
        .map(drop)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))
}

fn serve(root: &Path, args: &[String]) -> Result<()> {
    build(root)?;
    let mut command = cargo();
    command.args([
        "run",
        "--package",
        "webhook-demo-server",
        "--bin",
        "webhook-demo",
        "--",
        "serve",
    ]);
    if args.is_empty() {
        command.args(["--addr", "127.0.0.1:8080"]);
    }
    run(command.args(args))
}

/// Chromium and chromedriver for the browser tests, from Debian.
fn ensure_browser() -> Result<()> {
    if on_path("chromium").is_some() && on_path("chromedriver").is_some() {
        return Ok(());
    }
    apt_install(
        &["chromium", "chromium-driver"],
        "the browser tests need Chromium and chromedriver",
    )?;
    if on_path("chromium").is_none() || on_path("chromedriver").is_none() {
        bail!("chromium and chromedriver are still not on PATH after installing them");
    }
    Ok(())
}

/// The firmware's host test compiles it with g++ against a Device OS stand-in, and a browser
/// check runs a request copied as a curl command.
fn ensure_tools() -> Result<()> {
    for (tool, package, why) in [
        (
            "g++",
            "g++",
            "the firmware's host test compiles it with g++",
        ),
        (
            "curl",
            "curl",
            "a browser check runs a request copied as a curl command",
        ),
        (
            "redis-server",
            "redis-server",
            "the relay's Redis store is tested against a real Redis",
        ),
        (
            "nginx",
            "nginx",
            "a test runs two instances behind nginx as a load balancer",
        ),
    ] {
        if on_path(tool).is_some() {
            continue;
        }
        apt_install(&[package], why)?;
        if on_path(tool).is_none() {
            bail!("{tool} is still not on PATH after installing {package}");
        }
    }
    Ok(())
}

/// Installs particle-api-js once under the target directory; returns its `node_modules`.
fn ensure_particle_api_js(root: &Path) -> Result<PathBuf> {
    if on_path("node").is_none() || on_path("npm").is_none() {
        apt_install(
            &["nodejs", "npm"],
            "a test runs Particle's JavaScript client with Node.js",
        )?;
    }
    let tools = target_dir(root).join("tools").join("particle-api-js");
    let modules = tools.join("node_modules");
    if !modules
        .join("particle-api-js")
        .join("package.json")
        .is_file()
    {
        eprintln!("fetching {PARTICLE_API_JS_NPM} from the npm registry for its test");
        npm_install(&tools, PARTICLE_API_JS_NPM)?;
    }
    Ok(modules)
}

/// Installs particle-cli once under the target directory (after `ensure_particle_api_js`, which
/// brings Node.js); returns its `node_modules`.
fn ensure_particle_cli(root: &Path) -> Result<PathBuf> {
    let tools = target_dir(root).join("tools").join("particle-cli");
    let modules = tools.join("node_modules");
    for (package, name) in [
        (PARTICLE_CLI_EXECA_NPM, "execa"),
        (PARTICLE_CLI_NPM, "particle-cli"),
    ] {
        if !modules.join(name).join("package.json").is_file() {
            eprintln!("fetching {package} from the npm registry for particle-cli's test");
            npm_install(&tools, package)?;
        }
    }
    Ok(modules)
}

/// Installs axe-core once under the target directory (after `ensure_particle_api_js`, which
/// brings Node.js); returns its script, which the browser tests inject into the page.
fn ensure_axe_core(root: &Path) -> Result<PathBuf> {
    let tools = target_dir(root).join("tools").join("axe-core");
    let script = tools
        .join("node_modules")
        .join("axe-core")
        .join("axe.min.js");
    if !script.is_file() {
        eprintln!("fetching {AXE_CORE_NPM} from the npm registry for the accessibility checks");
        npm_install(&tools, AXE_CORE_NPM)?;
    }
    Ok(script)
}

/// Installs Express once under the target directory (after `ensure_particle_api_js`, which
/// brings Node.js); returns its `node_modules`, where the Express starter server finds it.
fn ensure_express(root: &Path) -> Result<PathBuf> {
    let tools = target_dir(root).join("tools").join("express");
    let modules = tools.join("node_modules");
    if !modules.join("express").join("package.json").is_file() {
        eprintln!("fetching {EXPRESS_NPM} from the npm registry for the starter servers' check");
        npm_install(&tools, EXPRESS_NPM)?;
    }
    Ok(modules)
}

/// Installs Flask once under the target directory with pip; returns the folder the Flask
/// starter server finds it in (its `PYTHONPATH`).
fn ensure_flask(root: &Path) -> Result<PathBuf> {
    if on_path("python3").is_none() {
        apt_install(
            &["python3", "python3-pip"],
            "a test runs the Flask starter server",
        )?;
    }
    let folder = target_dir(root).join("tools").join("flask");
    if !folder.join("flask").join("__init__.py").is_file() {
        eprintln!("fetching {FLASK_PIP} from PyPI for the starter servers' check");
        run(Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-warn-script-location",
                "--target",
            ])
            .arg(&folder)
            .arg(FLASK_PIP))?;
    }
    Ok(folder)
}

/// Fetches the crates the axum starter server names (`tests/browser/axum-starter/Cargo.toml`,
/// at the versions the workspace locks), so that the check of "Check your server" builds it
/// offline.
fn ensure_axum_starter_crates(root: &Path) -> Result<()> {
    let folder = target_dir(root).join("tools").join("axum-starter");
    fs::create_dir_all(folder.join("src"))
        .with_context(|| format!("creating {}", folder.display()))?;
    copy(
        &root.join("tests/browser/axum-starter/Cargo.toml"),
        &folder.join("Cargo.toml"),
    )?;
    copy(&root.join("Cargo.lock"), &folder.join("Cargo.lock"))?;
    fs::write(folder.join("src/main.rs"), "fn main() {}\n")
        .with_context(|| format!("writing {}", folder.display()))?;
    run(cargo()
        .args(["fetch", "--manifest-path"])
        .arg(folder.join("Cargo.toml")))
}

/// The page's main states as PNGs in `target/screenshots/`, by the browser check that also runs
/// axe-core in each of them.
fn screenshots(root: &Path) -> Result<()> {
    ensure_browser()?;
    ensure_particle_api_js(root)?;
    let axe = ensure_axe_core(root)?;
    build(root)?;
    let out = target_dir(root).join("screenshots");
    fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    run(cargo()
        .args([
            "test",
            "--package",
            "webhook-demo",
            "--test",
            "browser",
            "--",
            "looks",
        ])
        .env("AXE_CORE", axe)
        .env("SCREENSHOTS", &out))?;
    println!("screenshots in {}", out.display());
    Ok(())
}

fn test(root: &Path) -> Result<()> {
    ensure_browser()?;
    ensure_tools()?;
    let particle_api_js = ensure_particle_api_js(root)?;
    let axe_core = ensure_axe_core(root)?;
    let particle_cli = ensure_particle_cli(root)?;
    let express = ensure_express(root)?;
    let flask = ensure_flask(root)?;
    ensure_axum_starter_crates(root)?;
    run(cargo().args(["fmt", "--all", "--check"]))?;
    build(root)?;
    run(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo().args([
        "clippy",
        "--package",
        "webhook-demo",
        "--package",
        "webhook-demo-core",
        "--lib",
        "--target",
        WASM_TARGET,
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo()
        .args(["test", "--workspace"])
        .env("PARTICLE_API_JS", particle_api_js)
        .env("PARTICLE_CLI", particle_cli)
        .env("AXE_CORE", axe_core)
        .env("STARTER_NODE_PATH", express)
        .env("STARTER_PYTHONPATH", flask))
}

fn bench(root: &Path) -> Result<()> {
    ensure_browser()?;
    build(root)?;
    // What the page's module is made of, for the page bench to report beside its size.
    let wasm_opt = wasm_opt(root).context("profiling the page needs wasm-opt")?;
    let largest = shrink::profile(root, &wasm_opt)?;
    run(cargo()
        .args(["bench", "--package", "webhook-demo", "--bench", "page"])
        .env("PAGE_WASM_LARGEST", largest))?;
    for bench in ["relay", "sandbox", "slowloris"] {
        run(cargo().args([
            "bench",
            "--package",
            "webhook-demo-server",
            "--bench",
            bench,
        ]))?;
    }
    Ok(())
}

/// Runs every property test (`fuzz_…`) with `cases` cases each and says how many ran.
///
/// Only library unit tests are run: the browser suite is a test binary without the standard
/// harness, which would not understand the name filter.
fn fuzz(args: &[String]) -> Result<()> {
    let cases = match args.first() {
        Some(cases) => cases
            .parse::<u64>()
            .with_context(|| format!("CASES must be a number, got {cases:?}"))?,
        None => match env::var("PROPTEST_CASES") {
            Ok(cases) => cases
                .parse()
                .with_context(|| format!("PROPTEST_CASES must be a number, got {cases:?}"))?,
            Err(_) => FUZZ_CASES,
        },
    };
    let mut command = cargo();
    command
        .args(["test", "--release", "--workspace", "--lib", "fuzz_"])
        .env("PROPTEST_CASES", cases.to_string())
        .stdout(Stdio::piped());
    eprintln!("$ {command:?}");
    let mut child = command.spawn().context("starting cargo test")?;
    let stdout = child.stdout.take().context("cargo test's output")?;
    let mut passed = 0u64;
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading cargo test's output")?;
        println!("{line}");
        if line.starts_with("test ") && line.contains("fuzz_") && line.ends_with(" ... ok") {
            passed += 1;
        }
    }
    let status = child.wait().context("waiting for cargo test")?;
    if !status.success() {
        bail!("a property failed ({status}); proptest printed the smallest failing input above");
    }
    println!(
        "{passed} properties passed, {cases} cases each: {} cases in all",
        passed * cases
    );
    Ok(())
}
