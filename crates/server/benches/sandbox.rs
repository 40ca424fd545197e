//! Sandbox benchmark, run by `cargo xtask bench` against the release server in its own process on
//! loopback: the webhook engine's own latency, from an API publish to the `hook-response` event on
//! the product's event stream, minus the time the webhook server (here, in this process) spent
//! answering. One JSON object per line on stdout.

// Printing the measures is this program's output.
#![allow(clippy::print_stdout)]

// Shared with the relay benchmark, which also measures memory.
#[allow(dead_code)]
mod support;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::{Context, Result, ensure};
use axum::{Router, routing::post};
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde_json::{Value, json};
use support::{Server, percentile, report};

/// Sequential publish → hook-response cycles measured.
const CYCLES: usize = 1000;

fn main() -> Result<()> {
    support::Pinning::pin_load_generator();
    let runtime = tokio::runtime::Runtime::new().context("a tokio runtime")?;
    runtime.block_on(hook_cycle())
}

async fn hook_cycle() -> Result<()> {
    let server =
        Server::start(&["--sim-publish-interval", "0", "--sandbox-publish-rate", "0"]).await?;
    let api = format!("{}/sandbox", server.url);
    let client = reqwest::Client::new();

    // The webhook server: answers at once, and notes how long each answer took it.
    let answering: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let spent = Arc::clone(&answering);
    let target = Router::new().route(
        "/hook",
        post(move |body: String| {
            let spent = Arc::clone(&spent);
            async move {
                let started = Instant::now();
                let answer = format!("{{\"received\":{}}}", body.len());
                spent.lock().expect("not poisoned").push(started.elapsed());
                answer
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let target_url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, target).await });

    let token: Value = client
        .post(format!("{api}/oauth/token"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(
            "client_id=particle&client_secret=particle&grant_type=password\
             &username=sandbox%40example.com&password=sandbox",
        )
        .send()
        .await?
        .json()
        .await?;
    let bearer = format!(
        "Bearer {}",
        token["access_token"].as_str().context("a token")?
    );
    let created: Value = client
        .post(format!("{api}/v1/user/products"))
        .header("Authorization", &bearer)
        .json(&json!({"product": {"name": "bench", "platform_id": 32}}))
        .send()
        .await?
        .json()
        .await?;
    let product = created["product"]["id"].as_u64().context("a product")?;
    let integration = client
        .post(format!("{api}/v1/products/{product}/integrations"))
        .header("Authorization", &bearer)
        .json(&json!({
            "event": "Bench", "url": target_url, "noDefaults": true,
            "json": "{\"sensor\":{{{PARTICLE_EVENT_VALUE}}}}",
        }))
        .send()
        .await?;
    ensure!(
        integration.status().is_success(),
        "creating the integration failed"
    );

    let stream = client
        .get(format!("{api}/v1/products/{product}/events/hook-response"))
        .header("Authorization", &bearer)
        .send()
        .await?;
    let mut events = stream.bytes_stream().eventsource();
    let publish = format!("{api}/v1/products/{product}/events");
    let mut cycles = Vec::with_capacity(CYCLES);
    for n in 0..CYCLES {
        let started = Instant::now();
        let published = client
            .post(&publish)
            .header("Authorization", &bearer)
            .json(&json!({"name": "Bench", "data": format!("{{\"n\":{n}}}")}))
            .send()
            .await?;
        ensure!(published.status().is_success(), "publishing failed");
        let event = events.next().await.context("the stream ended")??;
        ensure!(
            event.event == "hook-response/Bench/0",
            "unexpected {}",
            event.event
        );
        cycles.push(started.elapsed());
    }
    let spent = answering.lock().expect("not poisoned").clone();
    ensure!(
        spent.len() == CYCLES,
        "the target saw {} requests",
        spent.len()
    );
    let mut engine: Vec<f64> = cycles
        .iter()
        .zip(&spent)
        .map(|(cycle, target)| cycle.saturating_sub(*target).as_secs_f64() * 1000.0)
        .collect();
    engine.sort_by(f64::total_cmp);
    let detail = format!(
        "{CYCLES} sequential cycles: API publish (HTTP) → webhook POST to a server on loopback → \
         hook-response/…/0 read from the product event stream; the server's own answering time \
         subtracted; {}",
        support::Pinning::get().describe()
    );
    report(
        "sandbox_hook_p99_ms",
        percentile(&engine, 0.99),
        "ms",
        Some(1.0),
        "lower",
        &detail,
    );
    report(
        "sandbox_hook_p50_ms",
        percentile(&engine, 0.50),
        "ms",
        None,
        "lower",
        &detail,
    );
    Ok(())
}
