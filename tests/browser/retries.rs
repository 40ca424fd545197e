//! A retry rescuing a delivery: with the "fail, then succeed" preset and the sandbox retrying
//! after 300 ms and 600 ms (Particle waits 30 s and 1 minute), the test event's cycle draws
//! attempt 1 failing (500, hook-error), the wait, then attempt 2 succeeding (200, hook-response),
//! in that order; the request list says "2 of 3"; and the data table holds the event once, its
//! row taken by the attempt that succeeded. With `SCREENSHOTS=DIR`, the cycle is shot at 1280 px
//! and 390 px.

use std::{path::PathBuf, time::Duration};

use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use serde_json::json;
use webhook_demo_server::Options;

use crate::support::{Browser, Server, page::*, start_server};

pub async fn run(browser: &Browser, _shared: &Server) -> Result<()> {
    let mut options = Options::default();
    options.sandbox.retry_delays = vec![Duration::from_millis(300), Duration::from_millis(600)];
    options.sandbox.sim_publish_interval = None;
    let server = start_server(options).await?;
    demo_with_preset(browser, &server, "fail-first").await?;
    click(browser, "testWebhookButton").await?;
    let row = wait_for(
        browser,
        "#requestList tbody tr[data-row^=\"api@\"][data-status=response]",
        "the retry never rescued the delivery",
    )
    .await?;
    let key = row
        .attr("data-row")
        .await?
        .context("a request list row without its key")?;
    let cells = texts(browser, &format!("#requestList tr[data-row=\"{key}\"] td")).await?;
    ensure!(
        cells.last().map(String::as_str) == Some("2 of 3"),
        "the request list row reads {cells:?}"
    );

    // The diagram: the publish, attempt 1 failing, the wait, attempt 2 succeeding, in order.
    let rows = in_page(
        browser,
        "return [...document.querySelectorAll('#timeline .seq-hops > li')].map(li => \
           li.dataset.wait ? 'wait:' + li.dataset.wait \
           : li.dataset.hop + ':' + (li.dataset.attempt || '') + ':' + li.dataset.status);",
    )
    .await?;
    let expected = json!([
        "publish::done",
        "hook-sent:1:done",
        "request:1:done",
        "response:1:done",
        "hook-error:1:failed",
        "wait:retry",
        "hook-sent:2:done",
        "request:2:done",
        "response:2:done",
        "hook-response:2:done",
    ]);
    ensure!(rows == expected, "the cycle is drawn as {rows}");
    let first = text_of(browser, "hop-server-response-1").await?;
    ensure!(first.contains("response 500"), "attempt 1 answered {first}");
    let second = text_of(browser, "hop-server-response").await?;
    ensure!(second.contains("response 200"), "attempt 2 answered {second}");
    let note = text_of(browser, "idempotency").await?;
    ensure!(
        note.contains("idempotent") && note.contains("published_at"),
        "the explainer says {note}"
    );

    // The data table holds the event once, in the row the successful attempt took.
    let rows = attrs(browser, "#webhookDemoDataTable tbody tr", "data-row").await?;
    ensure!(
        rows.iter().filter(|row| **row == key).count() == 1,
        "data rows {rows:?}"
    );
    let attempt = attrs(
        browser,
        &format!("#webhookDemoDataTable tbody tr[data-row=\"{key}\"]"),
        "data-attempt",
    )
    .await?;
    ensure!(attempt == ["2"], "the event's row came with attempt {attempt:?}");

    // The cloud's own log agrees: two attempts of one event, 500 then 200.
    let logged = in_page(
        browser,
        "const r = await fetch('/sandbox/_sim/webhooks'); const rows = await r.json(); \
         return (Array.isArray(rows) ? rows : rows.webhooks || []).map(w => \
           [w.attempt, w.response ? w.response.status : w.status]);",
    )
    .await?;
    ensure!(
        logged.to_string().contains("[1,500]") && logged.to_string().contains("[2,200]"),
        "the sandbox logged {logged}"
    );

    if let Some(dir) = std::env::var_os("SCREENSHOTS").map(PathBuf::from) {
        for width in [1280, 390] {
            let params = json!({"width": width, "height": 2400, "deviceScaleFactor": 1, "mobile": false});
            browser
                .cdp("Emulation.setDeviceMetricsOverride", params)
                .await?;
            let figure = browser.client.find(Locator::Css("#timeline figure")).await?;
            let png = figure.screenshot().await?;
            let file = dir.join(format!("retry-{width}.png"));
            std::fs::write(&file, png).with_context(|| format!("writing {}", file.display()))?;
        }
        browser
            .cdp("Emulation.clearDeviceMetricsOverride", json!({}))
            .await?;
    }
    browser.console_errors().await?;
    no_app_errors(browser).await
}
