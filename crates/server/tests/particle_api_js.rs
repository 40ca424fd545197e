//! Particle's own JavaScript client against the sandbox and the relay: `particle-api-js.js` runs
//! the tutorial's loop with it on a real server. `cargo xtask test` installs the client from the
//! npm registry under the target directory and names it in `PARTICLE_API_JS`.

use std::{path::Path, process::Stdio, time::Duration};

use tokio::{net::TcpListener, process::Command, sync::oneshot};
use webhook_demo_sandbox::WorldsMode;
use webhook_demo_server::Options;

#[tokio::test]
async fn particle_api_js_runs_the_tutorial_loop() {
    run_against(WorldsMode::Shared).await;
}

/// The same loop on a hosted sandbox, where the sign-in makes a world of its own.
#[tokio::test]
async fn particle_api_js_runs_the_tutorial_loop_in_a_world_of_its_own() {
    run_against(WorldsMode::PerSignIn).await;
}

async fn run_against(worlds: WorldsMode) {
    let modules = std::env::var("PARTICLE_API_JS").unwrap_or_else(|_| {
        panic!("PARTICLE_API_JS is not set: run `cargo xtask test`, which installs particle-api-js")
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("address"));
    let options = Options {
        sandbox: webhook_demo_sandbox::Settings {
            // Only the client's own event may reach the webhook.
            sim_publish_interval: None,
            ..webhook_demo_sandbox::Settings::default()
        },
        sandbox_worlds: Some(worlds),
        ..Options::default()
    };
    let (stop, stopping) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        webhook_demo_server::run(listener, &options, async move {
            let _ = stopping.await;
        })
        .await
    });

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/particle-api-js.js");
    let run = Command::new("node")
        .arg(&script)
        .arg(&origin)
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

    stop.send(()).expect("server running");
    server.await.expect("server task").expect("server stops");
}
