//! Page benchmarks, run by `cargo xtask bench` against release builds: what the page costs to
//! transfer, how fast it renders, and how fast the live demo's data table takes 1,000 requests.
//! Prints one JSON object per line (the format is in DESIGN.md).

// Printing the measures is this program's output.
#![allow(clippy::print_stdout)]

// The bench drives the page with the browser checks' helpers, but not with every one of them.
#[allow(dead_code)]
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use axum::{body::Body, http::Request};
use fantoccini::Locator;
use http_body_util::BodyExt;
use serde_json::json;
use support::{
    Browser, Server,
    page::{click, wait_for},
    start_server,
};
use tower::ServiceExt;
use webhook_demo_relay::Limits;
use webhook_demo_server::{Options, app};

/// What the browser downloads to show the page: the HTML shell, the script that boots the module,
/// the module with its JavaScript glue, and the style sheet.
const PAGE_FILES: [&str; 5] = [
    "",
    "boot.js",
    "webhook_demo_bg.wasm",
    "webhook_demo.js",
    "style.css",
];
const RENDER_RUNS: usize = 20;

fn main() -> Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("a tokio runtime")?;
    runtime.block_on(async {
        // A browser takes brotli; a static host that only gzips is the page's other way out.
        page_transfer("br", "page_transfer_br", 153_600.0).await?;
        page_transfer("gzip", "page_transfer_gzip", 184_320.0).await?;
        // The relay's per-session rate limit off, so 1,000 hooks at once all reach the page.
        let options = Options {
            relay_limits: Limits {
                hooks_per_second: 0,
                ..Limits::default()
            },
            ..Options::default()
        };
        let server = start_server(options).await?;
        let browser = Browser::launch().await?;
        first_render_ms(&browser, &server).await?;
        table_append_ms_per_1000(&browser, &server).await?;
        let errors = browser.console_errors().await?;
        ensure!(
            errors.is_empty(),
            "the page logged errors, so its timings mean nothing: {errors:?}"
        );
        browser.close().await
    })
}

fn report(measure: &str, value: f64, unit: &str, budget: f64, better: &str, detail: &str) {
    let line = json!({"measure": measure, "value": value, "unit": unit, "budget": budget, "better": better, "detail": detail});
    println!("{line}");
}

/// The bytes the page costs a browser that accepts only `encoding`, as the server sends them.
async fn page_transfer(encoding: &str, measure: &str, budget: f64) -> Result<()> {
    let app = app(&Options::default());
    let mut total = 0usize;
    let mut parts = Vec::new();
    for file in PAGE_FILES {
        let request = Request::get(format!("/{file}"))
            .header("accept-encoding", encoding)
            .body(Body::empty())?;
        let response = app.clone().oneshot(request).await?;
        ensure!(
            response.status().is_success(),
            "/{file} answered {}",
            response.status()
        );
        let sent = response
            .headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap_or("?").to_owned());
        ensure!(
            sent.as_deref() == Some(encoding),
            "/{file} was sent as {sent:?}, not {encoding}: the measure would not be what it says"
        );
        let bytes = response.into_body().collect().await?.to_bytes().len();
        total += bytes;
        let name = if file.is_empty() { "index.html" } else { file };
        parts.push(format!("{name} {bytes} B"));
    }
    // The module's largest parts, by crate, as `cargo xtask bench` profiled them (twiggy).
    let largest = std::env::var("PAGE_WASM_LARGEST")
        .unwrap_or_else(|_| "run through cargo xtask bench to see them".to_owned());
    report(
        measure,
        total as f64,
        "bytes",
        budget,
        "lower",
        &format!(
            "bodies as the server sends them for Accept-Encoding: {encoding}: {}; the wasm's \
             largest parts, before compression: {largest}",
            parts.join(", ")
        ),
    );
    Ok(())
}

async fn first_render_ms(browser: &Browser, server: &Server) -> Result<()> {
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
    samples.sort_by(f64::total_cmp);
    let median = samples[samples.len() / 2];
    let worst = samples[samples.len() - 1];
    report(
        "first_render_ms",
        median,
        "ms",
        80.0,
        "lower",
        &format!(
            "median of {RENDER_RUNS} navigations in headless Chromium on loopback, navigation start to the \
             app's webhook-demo:rendered mark after it rendered every panel (worst {worst:.1} ms)"
        ),
    );
    Ok(())
}

/// Signs in to the sandbox, picks a product (creating one when there is none) and starts the demo;
/// then 1,000 JSON requests are sent to the hook URL at once, and the time from sending the first
/// to the 1,000th row in the data table is measured in the page.
async fn table_append_ms_per_1000(browser: &Browser, server: &Server) -> Result<()> {
    browser.client.goto(&server.url).await?;
    wait_for(browser, "#sandboxSignIn", "no sandbox button").await?;
    click(browser, "sandboxSignIn").await?;
    wait_for(
        browser,
        "section[data-panel=\"select-product\"]:is([data-state=\"no-product\"], [data-state=\"selected\"])",
        "products never loaded",
    )
    .await?;
    if browser.client.find(Locator::Id("startDemo")).await.is_err() {
        click(browser, "createNewProductButton").await?;
        wait_for(browser, "#startDemo", "no Start after creating a product").await?;
    }
    click(browser, "startDemo").await?;
    wait_for(
        browser,
        "section[data-panel=\"webhook\"][data-state=\"created\"]",
        "the demo never started",
    )
    .await?;
    // The in-page server takes requests without the webhook's secret, as the bench sends them.
    click(browser, "answerRequireAuth").await?;
    click(browser, "answerApply").await?;
    let script = r#"
        const done = arguments[arguments.length - 1];
        const hook = document.querySelector('.webhookUrlSpan').textContent;
        const body = document.querySelector('#webhookDemoDataTable tbody');
        const target = body.rows.length + 1000;
        let first = null;
        const watch = new MutationObserver(() => {
            first = first ?? performance.now();
            if (body.rows.length >= target) { watch.disconnect(); done(performance.now() - first); }
        });
        watch.observe(body, {childList: true});
        for (let n = 0; n < 1000; n++) {
            fetch(hook, {method: 'POST', headers: {'Content-Type': 'application/json'},
                body: JSON.stringify({deviceId: 'bench', ts: String(n), sensor: {n, t: n % 40}})});
        }
    "#;
    let ms = browser
        .client
        .execute_async(script, Vec::new())
        .await?
        .as_f64()
        .context("the page did not report a time")?;
    click(browser, "startDemo").await?;
    report(
        "table_append_ms_per_1000",
        ms,
        "ms",
        1000.0,
        "lower",
        "1,000 JSON requests sent at once from the page to its relay hook URL (headless Chromium, \
         loopback, relay rate limit off): from the first new row in the data table to the \
         1,000th, so stream parsing, update, rendering checks and DOM appends",
    );
    Ok(())
}
