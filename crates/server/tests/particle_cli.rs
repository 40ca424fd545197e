//! Particle's own command-line tool, particle-cli, against the sandbox on a real server (issue
//! 18): sign-in with a password (and MFA) or a token, `whoami`, `list`, `device rename`,
//! `subscribe`, `webhook create`/`list`/`delete` with the webhook firing on `publish`, `publish
//! --product`, `flash` of Tinker and `call`, `get` and `variable list`, `compile`, `logout`, each
//! with its exit code and output checked.
//!
//! `cargo xtask test` installs the pinned CLI from the npm registry under the target directory
//! and names its `node_modules` in `PARTICLE_CLI`. The CLI runs with a home of its own, whose
//! profile points `apiUrl` at this server before any other command, with an empty environment
//! (no proxies, no `PARTICLE_*` settings of the user's), and behind `particle-cli-loopback.js`,
//! which fails any attempt to reach another host and says so on stderr.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Output, Stdio},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{Router, body::Bytes, http::Uri, routing::post};
use serde_json::Value;
use tokio::{
    net::TcpListener,
    process::{Child, Command},
    sync::{mpsc, oneshot},
};
use webhook_demo_server::Options;

const P2: &str = "e00fce680000000000000001";
/// The longest one CLI command may take; most take a second or two (Node.js loading the CLI).
const COMMAND_TIME: Duration = Duration::from_secs(30);

/// A directory removed when the test ends, however it ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new(what: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("the clock is past 1970")
            .as_nanos();
        let path = std::env::temp_dir().join(format!("{what}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).expect("a temporary directory");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// particle-cli as a learner runs it, but in its own home and shut in to this machine.
struct Cli {
    modules: PathBuf,
    home: TempDir,
    /// The working directory (where `compile` writes).
    work: TempDir,
}

/// One finished command: its exit code, and its output with the spinner's terminal codes taken
/// out (stdout and stderr together, since the CLI prints some errors on either).
struct Run {
    code: Option<i32>,
    output: String,
}

impl Cli {
    /// The CLI in a home of its own, its profile pointing at the sandbox. That comes first: no
    /// other command may run while the CLI still points at api.particle.io.
    async fn configured(modules: &Path, api: &str) -> Cli {
        let cli = Cli {
            modules: modules.to_owned(),
            home: TempDir::new("particle-cli-home"),
            work: TempDir::new("particle-cli-work"),
        };
        cli.check(&["config", "sandbox", "apiUrl", api], 0, &[])
            .await;
        cli.check(&["config", "sandbox"], 0, &[]).await;
        assert_eq!(cli.profile()["apiUrl"], api);
        cli
    }

    /// The settings the CLI keeps in its `sandbox` profile (API URL, token, username).
    fn profile(&self) -> Value {
        let path = self.home.0.join(".particle/sandbox.config.json");
        let text = std::fs::read_to_string(path).expect("the sandbox profile");
        serde_json::from_str(&text).expect("JSON")
    }

    /// The access token the CLI signed in with.
    fn token(&self) -> String {
        self.profile()["access_token"]
            .as_str()
            .expect("the CLI keeps its token")
            .to_owned()
    }

    fn command(&self, args: &[&str]) -> Command {
        let guard = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/particle-cli-loopback.js");
        let mut command = Command::new("node");
        command
            .arg("--require")
            .arg(guard)
            .arg(self.modules.join("particle-cli/src/index.js"))
            .args(args)
            .current_dir(&self.work.0)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home.0)
            // Only the packaged CLI checks for updates; tell this one not to all the same.
            .env("PARTICLE_DISABLE_UPDATE", "true")
            .env("FORCE_COLOR", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Runs a command and checks its exit code and that its output says each of `says`. The
    /// future holds copies of the words, so that several may run at once from one statement.
    fn check(
        &self,
        args: &[&str],
        code: i32,
        says: &[&str],
    ) -> impl Future<Output = String> + use<> {
        let command = self.command(args);
        let args = args.join(" ");
        let says: Vec<String> = says.iter().map(|text| (*text).to_owned()).collect();
        async move {
            let run = finished(&args, run(command, &args).await);
            assert_eq!(
                run.code,
                Some(code),
                "`particle {args}` exit code; it said:\n{}",
                run.output
            );
            for text in says {
                assert!(
                    run.output.contains(&text),
                    "`particle {args}` should say {text:?}; it said:\n{}",
                    run.output
                );
            }
            run.output
        }
    }

    /// `particle call`, which prints the function's return value on its last line.
    async fn call(&self, device: &str, function: &str, arg: &str) -> String {
        let output = self.check(&["call", device, function, arg], 0, &[]).await;
        output.lines().last().unwrap_or_default().trim().to_owned()
    }
}

async fn run(mut command: Command, args: &str) -> Output {
    tokio::time::timeout(COMMAND_TIME, command.output())
        .await
        .unwrap_or_else(|_| panic!("`particle {args}` finishes"))
        .expect("node runs (cargo xtask test installs it)")
}

fn finished(args: &str, output: Output) -> Run {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("BLOCKED"),
        "`particle {args}` tried to leave this machine:\n{stderr}"
    );
    let text = format!("{}{stderr}", String::from_utf8_lossy(&output.stdout));
    Run {
        code: output.status.code(),
        output: without_terminal_codes(&text),
    }
}

/// The text without the ANSI control sequences (`ESC [ … letter`) the CLI's spinner writes.
fn without_terminal_codes(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars
                .by_ref()
                .find(|c| c.is_ascii_alphabetic() && *c != '[');
        } else {
            plain.push(c);
        }
    }
    plain
}

/// A webhook server on a loopback port: every request's path and body, as they arrive.
async fn hook_server() -> (String, mpsc::UnboundedReceiver<(String, String)>) {
    let (sender, received) = mpsc::unbounded_channel();
    let router = Router::new().route(
        "/cli-hook",
        post(move |uri: Uri, body: Bytes| async move {
            let _ = sender.send((uri.path().to_owned(), String::from_utf8_lossy(&body).into()));
            "thanks"
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!(
        "http://{}/cli-hook",
        listener.local_addr().expect("address")
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, received)
}

/// The server, on a loopback port until the returned sender is used or dropped.
async fn server() -> (String, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address: SocketAddr = listener.local_addr().expect("address");
    let options = Options {
        sandbox: webhook_demo_sandbox::Settings {
            // Devices publish only when the test presses their button.
            sim_publish_interval: None,
            flash_time: Duration::from_millis(200),
            ..webhook_demo_sandbox::Settings::default()
        },
        // As on a hosted sandbox: each `login` makes a world of its own (the shared world is
        // the sandbox's own tests' `cli.rs`).
        sandbox_worlds: Some(webhook_demo_sandbox::WorldsMode::PerSignIn),
        ..Options::default()
    };
    let (stop, stopping) = oneshot::channel::<()>();
    tokio::spawn(async move {
        webhook_demo_server::run(listener, &options, async move {
            let _ = stopping.await;
        })
        .await
    });
    (format!("http://{address}"), stop)
}

/// Presses the P2's MODE button (it publishes `WebhookDemo01`) until `subscribe` exits.
async fn press_until_done(origin: &str, token: &str, mut subscriber: Child) -> Output {
    let client = reqwest::Client::new();
    let button = format!("{origin}/sandbox/_sim/devices/{P2}/button");
    let deadline = tokio::time::Instant::now() + COMMAND_TIME;
    loop {
        let response = client
            .post(&button)
            .bearer_auth(token)
            .send()
            .await
            .expect("the sandbox answers");
        assert!(response.status().is_success(), "{}", response.status());
        tokio::select! {
            status = subscriber.wait() => {
                status.expect("subscribe runs");
                return subscriber.wait_with_output().await.expect("its output");
            }
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "`particle subscribe` receives the P2's event"
        );
    }
}

/// A product for `publish --product` (particle-cli cannot make one).
async fn create_product(origin: &str, token: &str) -> u64 {
    let created: Value = reqwest::Client::new()
        .post(format!("{origin}/sandbox/v1/user/products"))
        .bearer_auth(token)
        .json(&serde_json::json!({"product": {"name": "cli", "platform_id": 32}}))
        .send()
        .await
        .expect("the sandbox answers")
        .json()
        .await
        .expect("the product");
    created["product"]["id"].as_u64().expect("a product id")
}

/// Waits until the device is back online, running Tinker (its four functions listed).
async fn wait_for_tinker(origin: &str, device: &str, token: &str) {
    let client = reqwest::Client::new();
    // The simulated flash and reboot take 0.3 s; a loaded machine may take longer to answer.
    let deadline = tokio::time::Instant::now() + COMMAND_TIME;
    while tokio::time::Instant::now() < deadline {
        let shown: Value = client
            .get(format!("{origin}/sandbox/v1/devices/{device}"))
            .bearer_auth(token)
            .send()
            .await
            .expect("the sandbox answers")
            .json()
            .await
            .expect("the device");
        if shown["online"] == true && shown["functions"].as_array().is_some_and(|f| f.len() == 4) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{device} comes back running Tinker");
}

/// Signs in as the fixture's MFA user with the one-time code on the command line, again with the
/// token that gave, then out.
async fn sign_in_with_mfa(cli: &Cli) {
    cli.check(
        &[
            "login",
            "--username",
            "mfa@example.com",
            "--password",
            "sandbox",
            "--otp",
            "123456",
        ],
        0,
        &["Successfully completed login!"],
    )
    .await;
    cli.check(
        &["login", "--token", &cli.token()],
        0,
        &["Successfully completed login!"],
    )
    .await;
    cli.check(&["whoami"], 0, &["mfa@example.com"]).await;
    cli.check(
        &["logout"],
        0,
        &["You have been logged out from mfa@example.com"],
    )
    .await;
}

/// Signs in as the fixture's first user and looks around: who, which devices (the Boron runs the
/// demo, which has no functions, until Tinker is flashed to it).
async fn sign_in_and_look(cli: &Cli) {
    cli.check(
        &[
            "login",
            "--username",
            "sandbox@example.com",
            "--password",
            "sandbox",
        ],
        0,
        &["Successfully completed login!"],
    )
    .await;
    tokio::join!(
        cli.check(&["whoami"], 0, &["sandbox@example.com"]),
        cli.check(
            &["list"],
            0,
            &[
                &format!("sandbox-p2 [{P2}] (Photon 2 / P2) is online"),
                "sandbox-boron [e00fce680000000000000002] (Boron) is online",
                "sandbox-argon [e00fce680000000000000003] (Argon) is offline",
            ],
        ),
        cli.check(
            &["call", "sandbox-boron", "digitalwrite", "D7,HIGH"],
            1,
            &["Function call failed: Function `digitalwrite` not found"],
        ),
    );
}

/// `subscribe` receives the P2's `WebhookDemo01` when its button is pressed.
async fn subscribe(cli: &Cli, origin: &str) {
    let args = ["subscribe", "WebhookDemo01", "--max", "1"];
    let subscriber = cli.command(&args).spawn().expect("node runs");
    let output = press_until_done(origin, &cli.token(), subscriber).await;
    let run = finished(&args.join(" "), output);
    assert_eq!(run.code, Some(0), "{}", run.output);
    let event = run
        .output
        .lines()
        .find_map(|line| serde_json::from_str::<Value>(line).ok())
        .unwrap_or_else(|| panic!("an event as JSON in:\n{}", run.output));
    assert_eq!(
        (event["name"].as_str(), event["coreid"].as_str()),
        (Some("WebhookDemo01"), Some(P2)),
        "{}",
        run.output
    );
}

#[tokio::test]
async fn particle_cli_works_against_the_sandbox() {
    let modules = std::env::var("PARTICLE_CLI").unwrap_or_else(|_| {
        panic!("PARTICLE_CLI is not set: run `cargo xtask test`, which installs particle-cli")
    });
    let (origin, stop) = server().await;
    let (hook_url, mut hooks) = hook_server().await;
    let (modules, api) = (PathBuf::from(modules), format!("{origin}/sandbox"));

    // Two homes, two users: the MFA sign-in runs beside the main one (each command spends a
    // second or two loading the CLI, so commands that can run side by side do).
    let (mfa, cli) = tokio::join!(
        Cli::configured(&modules, &api),
        Cli::configured(&modules, &api)
    );
    tokio::join!(sign_in_with_mfa(&mfa), sign_in_and_look(&cli));

    let (created, ()) = tokio::join!(
        cli.check(
            &["webhook", "create", "cli-hook", &hook_url],
            0,
            &["Successfully created webhook with ID "],
        ),
        subscribe(&cli, &origin),
    );
    let id = created
        .split("Successfully created webhook with ID ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the webhook's id")
        .to_owned();
    let product = create_product(&origin, &cli.token()).await.to_string();
    tokio::join!(
        cli.check(
            &["webhook", "list"],
            0,
            &[
                "Found 1 hooks registered",
                &format!("Hook ID {id} is watching for \"cli-hook\""),
                &format!("and sending to: {hook_url}"),
            ],
        ),
        cli.check(
            &["publish", "cli-hook", "hello"],
            0,
            &["Published private event: cli-hook"],
        ),
        cli.check(
            &["publish", "note", "hi", "--product", &product],
            0,
            &[&format!(
                "Published private event: note to product: {product}"
            )],
        ),
        cli.check(
            &["device", "rename", "sandbox-argon", "cli-argon"],
            0,
            &["Successfully renamed device sandbox-argon to: cli-argon"],
        ),
    );
    let (path, body) = tokio::time::timeout(COMMAND_TIME, hooks.recv())
        .await
        .expect("the webhook fires")
        .expect("the hook server runs");
    assert_eq!(path, "/cli-hook");
    assert!(
        body.starts_with("event=cli-hook&data=hello&published_at="),
        "Particle's default form body: {body}"
    );
    cli.check(
        &["webhook", "delete", &id],
        0,
        &["Successfully deleted webhook!"],
    )
    .await;
    tokio::join!(
        cli.check(&["webhook", "list"], 0, &["Found 0 hooks registered"]),
        cli.check(
            &["flash", "sandbox-boron", "tinker"],
            0,
            &["Flashing firmware to your device sandbox-boron"],
        ),
    );
    wait_for_tinker(&origin, "sandbox-boron", &cli.token()).await;
    let firmware = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../firmware/webhook-demo");
    let binary = cli.work.0.join("webhook-demo.bin");
    let firmware_arg = firmware.to_string_lossy();
    let binary_arg = binary.to_string_lossy();
    let (high, bad_pin, version, ..) = tokio::join!(
        cli.call("sandbox-boron", "digitalwrite", "D7,HIGH"),
        cli.call("sandbox-boron", "digitalread", "D99"),
        // The demo firmware's one variable, its product firmware version.
        cli.check(&["get", "sandbox-p2", "WebhookDemo01"], 0, &[]),
        // Under the name it was given above.
        cli.check(
            &["call", "cli-argon", "digitalwrite", "D7,HIGH"],
            1,
            &["cli-argon is offline"],
        ),
        cli.check(
            &["list", "sandbox-boron"],
            0,
            &["int digitalwrite (String args)"],
        ),
        // Tinker, which the Boron now runs, has none.
        cli.check(
            &["get", "sandbox-boron", "WebhookDemo01"],
            1,
            &[
                "Error: Unknown Variable: WebhookDemo01",
                "Some variables could not be read",
            ],
        ),
        cli.check(
            &["variable", "list"],
            0,
            &[
                "(Boron) is online\nsandbox-p2",
                &format!(
                    "sandbox-p2 [{P2}] (Photon 2 / P2) is online\n  Variables:\n    \
                     WebhookDemo01 (int32)"
                ),
            ],
        ),
        cli.check(
            &["compile", "p2", &firmware_arg, "--saveTo", &binary_arg],
            0,
            &["Compile succeeded.", "Saved firmware to: "],
        ),
    );
    assert_eq!((high.as_str(), bad_pin.as_str()), ("1", "-1"));
    assert_eq!(
        version.lines().last().map(str::trim),
        Some("1"),
        "{version}"
    );

    let saved = std::fs::read(&binary).expect("the binary was saved");
    assert!(
        saved.starts_with(b"webhook-demo sandbox binary\nfirmware=demo\n"),
        "{}",
        String::from_utf8_lossy(&saved)
    );

    cli.check(
        &["logout"],
        0,
        &["You have been logged out from sandbox@example.com"],
    )
    .await;
    cli.check(&["whoami"], 1, &["You're not logged in"]).await;

    stop.send(()).expect("server running");
}
