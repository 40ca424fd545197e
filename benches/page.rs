//! Page benchmarks, run by `cargo xtask bench` against release builds: what the page costs to
//! transfer and how fast it renders. Prints one JSON object per line (the format is in DESIGN.md).

// Printing the measures is this program's output.
#![allow(clippy::print_stdout)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use axum::{body::Body, http::Request};
use fantoccini::Locator;
use http_body_util::BodyExt;
use serde_json::json;
use support::{Browser, start_server};
use tower::ServiceExt;
use webhook_demo_server::{Options, app};

/// What the browser downloads to run the app (the HTML shell is excluded, as in the budget).
const PAGE_FILES: [&str; 3] = ["webhook_demo_bg.wasm", "webhook_demo.js", "style.css"];
const BOOT_FILES: [&str; 1] = ["boot.js"];
const RENDER_RUNS: usize = 20;

fn main() -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("a tokio runtime")?;
    runtime.block_on(async {
        page_transfer_gzip().await?;
        first_render_ms().await
    })
}

fn report(measure: &str, value: f64, unit: &str, budget: f64, better: &str, detail: &str) {
    let line = json!({"measure": measure, "value": value, "unit": unit, "budget": budget, "better": better, "detail": detail});
    println!("{line}");
}

async fn page_transfer_gzip() -> Result<()> {
    let app = app(&Options::default());
    let mut total = 0usize;
    let mut parts = Vec::new();
    for file in PAGE_FILES.iter().chain(&BOOT_FILES) {
        let request = Request::get(format!("/{file}"))
            .header("accept-encoding", "gzip")
            .body(Body::empty())?;
        let response = app.clone().oneshot(request).await?;
        ensure!(
            response.status().is_success(),
            "/{file} answered {}",
            response.status()
        );
        let encoding = response
            .headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap_or("?").to_owned());
        let bytes = response.into_body().collect().await?.to_bytes().len();
        total += bytes;
        parts.push(format!(
            "{file} {bytes} B ({})",
            encoding.as_deref().unwrap_or("identity")
        ));
    }
    report(
        "page_transfer_gzip",
        total as f64,
        "bytes",
        153_600.0,
        "lower",
        &format!(
            "bodies as the server sends them for Accept-Encoding: gzip: {}",
            parts.join(", ")
        ),
    );
    Ok(())
}

async fn first_render_ms() -> Result<()> {
    let server = start_server(Options::default()).await?;
    let browser = Browser::launch().await?;
    let mut samples = Vec::with_capacity(RENDER_RUNS);
    // One extra navigation first, so the measured ones see a warm browser (as a returning learner).
    for run in 0..=RENDER_RUNS {
        browser.client.goto(&server.url).await?;
        browser
            .client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::Css("section[data-panel=\"cleanup\"]"))
            .await
            .context("the page never rendered its last panel")?;
        let mark = browser
            .client
            .execute(
                "return performance.getEntriesByName('webhook-demo:rendered')[0].startTime",
                vec![],
            )
            .await?;
        let ms = mark
            .as_f64()
            .context("the page set no webhook-demo:rendered mark")?;
        if run > 0 {
            samples.push(ms);
        }
    }
    let errors = browser.console_errors().await?;
    ensure!(
        errors.is_empty(),
        "the page logged errors, so its timing means nothing: {errors:?}"
    );
    browser.close().await?;
    samples.sort_by(f64::total_cmp);
    let median = samples[samples.len() / 2];
    let worst = samples[samples.len() - 1];
    report(
        "first_render_ms",
        median,
        "ms",
        150.0,
        "lower",
        &format!(
            "median of {RENDER_RUNS} navigations in headless Chromium on loopback, navigation start to the \
             app's webhook-demo:rendered mark after it rendered every panel (worst {worst:.1} ms)"
        ),
    );
    Ok(())
}
