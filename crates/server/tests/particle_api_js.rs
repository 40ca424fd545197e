//! Particle's own JavaScript client against the sandbox and the relay: `particle-api-js.js` runs
//! the tutorial's loop with it on a real server. `cargo xtask test` installs the client from the
//! npm registry under the target directory and names it in `PARTICLE_API_JS`.

use std::{path::Path, process::Stdio, time::Duration};

use tokio::{net::TcpListener, process::Command, sync::oneshot};
use webhook_demo_sandbox::WorldsMode;
use webhook_demo_server::Options;

#[path = "support/nginx.rs"]
mod nginx;
#[path = "../../relay/tests/support/redis.rs"]
mod redis;

#[tokio::test]
async fn particle_api_js_runs_the_tutorial_loop() {
    run_against(WorldsMode::Shared).await;
}

/// The same loop on a hosted sandbox, where the sign-in makes a world of its own.
#[tokio::test]
async fn particle_api_js_runs_the_tutorial_loop_in_a_world_of_its_own() {
    run_against(WorldsMode::PerSignIn).await;
}

/// The same loop on two instances on one Redis behind a round-robin nginx: the client's
/// requests and streams land on either, and reach its world wherever it is held.
#[tokio::test]
async fn particle_api_js_runs_the_tutorial_loop_on_two_instances() {
    let redis = redis::RedisServer::start();
    let options = Options {
        store: Some(redis.url().parse().expect("a Redis address")),
        trust_forwarded: true,
        ..options(WorldsMode::PerSignIn)
    };
    let (a, stop_a) = start(options.clone()).await;
    let (b, stop_b) = start(options).await;
    let nginx = nginx::Nginx::start(&[a, b], &[]);
    run_script(&format!("http://127.0.0.1:{}", nginx.port)).await;
    drop((stop_a, stop_b));
}

/// A server whose simulated devices publish only when asked: only the client's own event may
/// reach the webhook.
fn options(worlds: WorldsMode) -> Options {
    Options {
        sandbox: webhook_demo_sandbox::Settings {
            sim_publish_interval: None,
            ..webhook_demo_sandbox::Settings::default()
        },
        sandbox_worlds: Some(worlds),
        ..Options::default()
    }
}

/// The server on a loopback port, until the sender is used or dropped.
async fn start(options: Options) -> (std::net::SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let (stop, stopping) = oneshot::channel::<()>();
    tokio::spawn(async move {
        webhook_demo_server::run(listener, &options, async move {
            let _ = stopping.await;
        })
        .await
    });
    (address, stop)
}

async fn run_against(worlds: WorldsMode) {
    let (address, stop) = start(options(worlds)).await;
    run_script(&format!("http://{address}")).await;
    drop(stop);
}

/// Runs `particle-api-js.js` against the server at `origin`.
async fn run_script(origin: &str) {
    let modules = std::env::var("PARTICLE_API_JS").unwrap_or_else(|_| {
        panic!("PARTICLE_API_JS is not set: run `cargo xtask test`, which installs particle-api-js")
    });
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/particle-api-js.js");
    let run = Command::new("node")
        .arg(&script)
        .arg(origin)
        .env("NODE_PATH", &modules)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the client finishes within a minute")
        .expect("node runs (cargo xtask test installs it)");
    assert!(
        output.status.success(),
        "particle-api-js: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
