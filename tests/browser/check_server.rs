//! Check your server: the checkpoint run against each starter server as the page generates it,
//! started on loopback (Express with `node`, on the Express `cargo xtask test` installs;
//! Flask with `python3 -m flask`; axum built offline with `cargo`), where every check passes; then
//! against a stand-in on loopback that breaks one check at a time: each row turns ✗ in turn, with
//! its fix sentence shown. The panel at 1280 and 390 px in both schemes is clean under
//! axe-core; with `SCREENSHOTS=DIR`, a passing and a failing checkpoint are shot at both widths.

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::{Context, Result, ensure};
use axum::{
    Router,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use fantoccini::Locator;
use serde_json::{Value, json};
use webhook_demo::demo::answer::{Preset, starters};
use webhook_demo_server::Options;

use crate::support::{Browser, Server, fixture::*, page::*, start_server};

/// How the stand-in behaves: as the starters do, or with one fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Good,
    /// Answers every request 500.
    Refuses,
    /// Takes any secret, or none.
    AnyoneIn,
    /// Takes longer than 20 s over its first request.
    Slow,
    /// Handles a retry as a new event.
    Twice,
    /// Crashes (500) on a body that is not JSON.
    Crashes,
    /// Answers with 600 bytes.
    Chatty,
}

/// Each fault, the row it fails and words of that row's fix sentence.
const BROKEN: [(Mode, &str, &str); 6] = [
    (Mode::Refuses, "answers", "answer 200 once you have read the data"),
    (Mode::AnyoneIn, "secret", "answer 401 when they differ"),
    (Mode::Slow, "in-time", "answer at once and do slow work"),
    (Mode::Twice, "repeat", "handled the retry as a new event"),
    (Mode::Crashes, "odd-bodies", "parse the body without trusting it"),
    (Mode::Chatty, "chunks", "keep the answer under 512 bytes"),
];

const CHECKS: [&str; 6] = ["answers", "secret", "in-time", "repeat", "odd-bodies", "chunks"];

struct StandIn {
    mode: Mode,
    secret: String,
    origin: String,
    handled: Vec<String>,
    posts: usize,
}

type Shared = Arc<Mutex<StandIn>>;

pub async fn run(browser: &Browser, _shared: &Server) -> Result<()> {
    let mut options = Options::default();
    options.sandbox.sim_publish_interval = None;
    let server = start_server(options).await?;
    let origin = server.url.trim_end_matches('/').to_owned();

    open(browser, &server.url).await?;
    sandbox_sign_in_to_devices(browser).await?;
    choose(browser, "deviceSelect", P2).await?;
    wait_for_state(browser, "select-product", "no-product").await?;
    click(browser, "createNewProductButton").await?;
    wait_for_state(browser, "start", "ready").await?;
    wait_for_state(browser, "check-server", "no-demo").await?;
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;
    wait_for_state(browser, "check-server", "ready").await?;
    let secret = webhook_secret(browser).await?;

    // The starter servers, as the page generates them: every check passes.
    for (index, run) in (0..3).zip(1..) {
        let starter = Starter::start(index, &origin, &secret).await?;
        let rows = check(browser, &starter.url, run).await?;
        ensure!(
            rows.iter().all(|(_, status)| status == "pass"),
            "starter {index} does not pass every check: {rows:?}"
        );
    }

    // The stand-in: every check passes, then each fault fails its own row.
    let state = Arc::new(Mutex::new(StandIn {
        mode: Mode::Good,
        secret,
        origin,
        handled: Vec::new(),
        posts: 0,
    }));
    let url = stand_in(Arc::clone(&state)).await?;
    // By keyboard: Enter in the address field runs the check, and the result is announced.
    type_into(browser, "checkServerUrl", &url).await?;
    browser
        .client
        .find(Locator::Id("checkServerUrl"))
        .await?
        .send_keys("\u{E007}")
        .await?;
    let rows = finished(browser, 4).await?;
    let said = text_of(browser, "announce").await?;
    ensure!(
        said.contains("6 of 6 checks passed"),
        "the check's result was not announced: {said:?}"
    );
    ensure!(
        rows.iter().all(|(_, status)| status == "pass"),
        "the stand-in does not pass every check: {rows:?}"
    );
    let shots = std::env::var_os("SCREENSHOTS").map(PathBuf::from);
    if let Some(dir) = &shots {
        shoot(browser, dir, "check-server-pass").await?;
    }
    let problems = crate::looks::look(browser, &axe()?, None, "check-server-pass").await?;
    ensure!(problems.is_empty(), "{}", problems.join("\n"));

    for (run, (mode, failing, fix)) in (5..).zip(BROKEN) {
        {
            let mut stand_in = state.lock().expect("not poisoned");
            stand_in.mode = mode;
            stand_in.posts = 0;
        }
        type_into(browser, "checkServerUrl", &url).await?;
        click(browser, "checkServerButton").await?;
        if mode == Mode::Slow {
            // The first request takes the cloud's whole 20 s.
            tokio::time::sleep(Duration::from_secs(20)).await;
        }
        let rows = finished(browser, run).await?;
        let status = rows
            .iter()
            .find(|(check, _)| check == failing)
            .map(|(_, status)| status.as_str());
        ensure!(status == Some("fail"), "{mode:?}: {failing} is {status:?} in {rows:?}");
        let why = text_of_css(browser, &format!("[data-check=\"{failing}\"] .why")).await?;
        ensure!(why.contains(fix), "{mode:?}: the {failing} row says {why:?}");
        if mode == Mode::Crashes {
            if let Some(dir) = &shots {
                shoot(browser, dir, "check-server-fail").await?;
            }
            let problems = crate::looks::look(browser, &axe()?, None, "check-server-fail").await?;
            ensure!(problems.is_empty(), "{}", problems.join("\n"));
        }
    }

    // The report says what was checked and when, with the secret masked.
    click(browser, "checkReportDownload").await?;
    let report = in_page(
        browser,
        "return decodeURIComponent(document.getElementById('downloadLink').href);",
    )
    .await?;
    let report = report.as_str().unwrap_or_default();
    ensure!(
        report.contains(&format!("Server: {url}"))
            && report.contains("Checked: 20")
            && report.contains("Passed: 5 of 6")
            && report.contains("✗ Its answer fits"),
        "the report says {report}"
    );
    click(browser, "startDemo").await?;
    browser.console_errors().await?;
    no_app_errors(browser).await
}

/// The axe-core script the looks check injects.
fn axe() -> Result<String> {
    let path = std::env::var("AXE_CORE").context("AXE_CORE is not set")?;
    std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))
}

/// The panel, shot at 1280 and 390 px.
async fn shoot(browser: &Browser, dir: &std::path::Path, name: &str) -> Result<()> {
    for width in [1280, 390] {
        let params = json!({"width": width, "height": 2400, "deviceScaleFactor": 1, "mobile": false});
        browser
            .cdp("Emulation.setDeviceMetricsOverride", params)
            .await?;
        let panel = browser
            .client
            .find(Locator::Css("section[data-panel=\"check-server\"]"))
            .await?;
        let file = dir.join(format!("{name}-{width}.png"));
        std::fs::write(&file, panel.screenshot().await?)
            .with_context(|| format!("writing {}", file.display()))?;
    }
    browser
        .cdp("Emulation.clearDeviceMetricsOverride", json!({}))
        .await?;
    Ok(())
}

async fn text_of_css(browser: &Browser, css: &str) -> Result<String> {
    Ok(browser.client.find(Locator::Css(css)).await?.text().await?)
}

/// The webhook's secret, as the product's integration holds it.
async fn webhook_secret(browser: &Browser) -> Result<String> {
    let product = selected_product(browser).await?;
    let webhook = product_webhook(browser, &product).await?;
    webhook["headers"]["Authorization"]
        .as_str()
        .and_then(|auth| auth.strip_prefix("Bearer "))
        .map(str::to_owned)
        .with_context(|| format!("no webhook secret in {webhook}"))
}

/// Types `url`, presses Check and reads the rows of run `run`.
async fn check(browser: &Browser, url: &str, run: u32) -> Result<Vec<(String, String)>> {
    type_into(browser, "checkServerUrl", url).await?;
    click(browser, "checkServerButton").await?;
    finished(browser, run).await
}

/// The rows (`data-check`, `data-status`) once run `run` is done.
async fn finished(browser: &Browser, run: u32) -> Result<Vec<(String, String)>> {
    wait_for(
        browser,
        &format!("section[data-state=\"done\"] #checkServerRows[data-run=\"{run}\"]"),
        "the check never finished",
    )
    .await?;
    let checks = attrs(browser, "[data-check]", "data-check").await?;
    let statuses = attrs(browser, "[data-check]", "data-status").await?;
    ensure!(checks == CHECKS, "the rows are {checks:?}");
    Ok(checks.into_iter().zip(statuses).collect())
}

/// The stand-in on loopback; its address.
async fn stand_in(state: Shared) -> Result<String> {
    let router = Router::new()
        .route(
            "/webhook",
            post(webhook)
                .get(handled)
                .options(|State(state): State<Shared>| async move {
                    (StatusCode::NO_CONTENT, cors(&state)).into_response()
                }),
        )
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/webhook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(url)
}

fn cors(state: &Shared) -> [(header::HeaderName, String); 2] {
    let origin = state.lock().expect("not poisoned").origin.clone();
    [
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, origin),
        (
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "authorization, content-type".to_owned(),
        ),
    ]
}

async fn webhook(State(state): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let (mode, first, secret) = {
        let mut stand_in = state.lock().expect("not poisoned");
        stand_in.posts += 1;
        (stand_in.mode, stand_in.posts == 1, stand_in.secret.clone())
    };
    let cors = cors(&state);
    if mode == Mode::Slow && first {
        tokio::time::sleep(Duration::from_millis(20_500)).await;
    }
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if mode != Mode::AnyoneIn && auth != Some(format!("Bearer {secret}").as_str()) {
        return (StatusCode::UNAUTHORIZED, cors, "{}").into_response();
    }
    if mode == Mode::Refuses {
        return (StatusCode::INTERNAL_SERVER_ERROR, cors, "{}").into_response();
    }
    let event: Value = match serde_json::from_str(&body) {
        Ok(event) => event,
        Err(_) if mode == Mode::Crashes => {
            return (StatusCode::INTERNAL_SERVER_ERROR, cors, "{}").into_response();
        }
        Err(_) => return (StatusCode::BAD_REQUEST, cors, "{}").into_response(),
    };
    let key = format!("{} {}", event["deviceId"], event["ts"]);
    {
        let mut stand_in = state.lock().expect("not poisoned");
        if mode == Mode::Twice || !stand_in.handled.contains(&key) {
            stand_in.handled.push(key);
        }
    }
    let answer = if mode == Mode::Chatty {
        json!({"ok": true, "note": "x".repeat(600)}).to_string()
    } else {
        r#"{"ok":true}"#.to_owned()
    };
    (StatusCode::OK, cors, answer).into_response()
}

async fn handled(State(state): State<Shared>) -> Response {
    let handled = state.lock().expect("not poisoned").handled.clone();
    (StatusCode::OK, cors(&state), Value::from(handled).to_string()).into_response()
}

/// A starter server as the page generates it, running on loopback until dropped.
struct Starter {
    url: String,
    _process: tokio::process::Child,
    dir: PathBuf,
}

impl Starter {
    /// Starts starter number `index` of `starters` (Express, Flask, axum) in a folder of its own,
    /// on a free port in place of 3000 (other checks may run beside this one).
    async fn start(index: usize, origin: &str, secret: &str) -> Result<Starter> {
        let (name, file, source) = starters(&Preset::Ok.answer(), origin)[index].clone();
        let dir = std::env::temp_dir().join(format!("check-{file}-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let source = source.replace("3000", &port.to_string());
        let mut command = match file {
            "server.js" => {
                std::fs::write(dir.join(file), &source)?;
                let mut node = tokio::process::Command::new("node");
                node.arg(file).env("NODE_PATH", tool("STARTER_NODE_PATH")?);
                node
            }
            "server.py" => {
                std::fs::write(dir.join(file), &source)?;
                let mut python = tokio::process::Command::new("python3");
                python.env("PYTHONPATH", tool("STARTER_PYTHONPATH")?);
                python.args(["-m", "flask", "--app", "server", "run", "--port"]);
                python.arg(port.to_string());
                python
            }
            _ => tokio::process::Command::new(build_axum(&dir, &source).await?),
        };
        let process = command
            .current_dir(&dir)
            .env("WEBHOOK_SECRET", secret)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting the {name} starter"))?;
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Ok(Starter {
                    url: format!("http://127.0.0.1:{port}/webhook"),
                    _process: process,
                    dir,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("the {name} starter never listened on port {port}")
    }
}

/// Where the Express or the Flask a starter server loads is: `cargo xtask test` installs them
/// under the target directory and names the folders in these variables.
fn tool(variable: &str) -> Result<String> {
    std::env::var(variable).with_context(|| {
        format!("{variable} is not set: run `cargo xtask test`, which installs Express and Flask")
    })
}

/// Builds the axum starter as a crate of its own (`axum-starter/Cargo.toml`), offline, with the
/// versions this workspace locks (`cargo xtask test` fetched its crates), into this build's
/// target folder; the binary's path.
async fn build_axum(dir: &std::path::Path, source: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(dir.join("src/main.rs"), source)?;
    std::fs::write(
        dir.join("Cargo.toml"),
        include_str!("axum-starter/Cargo.toml"),
    )?;
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"),
        dir.join("Cargo.lock"),
    )?;
    // This test binary is `<target>/debug/deps/browser-…`.
    let exe = std::env::current_exe()?;
    let target = exe
        .ancestors()
        .nth(3)
        .context("the target folder")?
        .to_owned();
    let status = tokio::process::Command::new(std::env::var("CARGO").unwrap_or("cargo".into()))
        .args(["build", "--offline", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .status()
        .await
        .context("running cargo build for the axum starter")?;
    ensure!(status.success(), "the axum starter does not build: {status}");
    Ok(target.join("debug/axum-starter"))
}

impl Drop for Starter {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
