//! A reload mid-run resumes it: the same relay session (same hook URL), its requests listed again
//! and drawn as they were, the answer chosen before still chosen, and Test working without
//! pressing Start.

use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use fantoccini::Locator;

use crate::support::{Browser, Server, fixture::*, page::*};

pub async fn run(browser: &Browser, server: &Server) -> Result<()> {
    open(browser, &server.url).await?;
    set_up_with(browser, P2).await?;
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;
    let hook_url = texts(browser, ".webhookUrlSpan").await?;
    click(browser, "testWebhookButton").await?;
    wait_for(browser, "#explainer [data-kind=\"hook-response\"]", "no hook-response").await?;
    choose_preset(browser, "server-error").await?;
    let before = rows(browser).await?;
    ensure!(before >= 1, "no request listed before the reload");
    let answered = attrs(browser, "#requestList tbody tr[data-row]", "data-row").await?[0].clone();

    browser.client.refresh().await?;
    wait_for_state(browser, "start", "running").await?;
    wait_for_state(browser, "webhook", "created").await?;
    ensure!(
        texts(browser, ".webhookUrlSpan").await? == hook_url,
        "the reload opened another relay session"
    );
    // The relay replays the run: the request list is as it was.
    let mut after = 0;
    for _ in 0..100 {
        after = rows(browser).await?;
        if after >= before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    ensure!(after >= before, "the request list came back with {after} of {before} rows");
    wait_for(browser, "#preset-server-error[aria-pressed=true]", "the chosen answer was lost").await?;
    let steps = attrs(browser, "#steps [data-step]", "data-status").await?;
    ensure!(steps[4] == "done", "after the reload Start is not done: {steps:?}");
    // The cycle answered before the reload is drawn as it was, the cloud's hops included
    // (Particle's stream sends nothing again: the tab kept them).
    select_request(browser, &answered).await?;
    let hops = attrs(browser, &format!("[data-cycle=\"{answered}\"] .hop"), "data-status").await?;
    ensure!(
        hops.len() == 5 && hops.iter().all(|status| status == "done"),
        "the cycle from before the reload is not drawn as it was: {hops:?}"
    );
    wait_for(browser, "#explainer [data-kind=\"hook-response\"]", "its hook-response card was lost").await?;
    let listed = texts(browser, &format!("#requestList tr[data-row=\"{answered}\"] td")).await?;
    ensure!(listed.get(2).map(String::as_str) == Some("response"), "its outcome is lost: {listed:?}");
    // Follow the newest again, for Test.
    click(browser, "inspectorPause").await?;
    // Test works without Start, on the kept answer.
    click(browser, "testWebhookButton").await?;
    wait_for(browser, "#explainer [data-kind=\"hook-error\"]", "Test after the reload gave no hook-error").await?;

    away_and_back(browser, server).await?;

    click(browser, "startDemo").await?;
    wait_for_state(browser, "start", "ready").await?;
    let kept = browser
        .client
        .execute(
            "return [sessionStorage.getItem('webhook-demo:run'), \
             sessionStorage.getItem('webhook-demo:run-events')];",
            Vec::new(),
        )
        .await?;
    ensure!(kept == serde_json::json!([null, null]), "Stop left the run kept: {kept}");
    sign_out(browser).await?;
    reset_sandbox(browser).await?;
    no_app_errors(browser).await
}

/// The requests listed.
async fn rows(browser: &Browser) -> Result<usize> {
    Ok(attrs(browser, "#requestList tbody tr[data-row]", "data-row").await?.len())
}

/// Leaves the page, publishes the demo's event meanwhile, and opens it again: the run
/// resumes again, and once the cloud's wait is over, that event's cycle says which of the cloud's
/// hops the page could not see (Particle's stream sends nothing again) instead of waiting for
/// them forever.
async fn away_and_back(browser: &Browser, server: &Server) -> Result<()> {
    let kept = in_page(
        browser,
        "return [sessionStorage.getItem('webhook-demo:base') || localStorage.getItem('webhook-demo:base'), \
         sessionStorage.getItem('webhook-demo:token') || localStorage.getItem('webhook-demo:token'), \
         JSON.parse(sessionStorage.getItem('webhook-demo:run')).product];",
    )
    .await?;
    let (Some(base), Some(token), Some(product)) =
        (kept[0].as_str(), kept[1].as_str(), kept[2].as_u64())
    else {
        bail!("the page keeps no session or run: {kept}");
    };
    browser.client.goto(&format!("{}config.json", server.url)).await?;
    let published = in_page(
        browser,
        &format!(
            "const r = await fetch('{base}/v1/products/{product}/events', {{method: 'POST', \
             headers: {{Authorization: 'Bearer {token}', 'Content-Type': \
             'application/x-www-form-urlencoded'}}, body: 'name=WebhookDemo01&data=%7B%22t%22%3A7%7D'}}); \
             return r.status;"
        ),
    )
    .await?;
    ensure!(published == 200, "publishing while away answered {published}");
    // Opened again in the same tab (Back might restore the page as it was, from the browser's
    // back-forward cache, streams and all).
    browser.client.goto(&server.url).await?;
    wait_for_state(browser, "start", "running").await?;
    // The page's own clock: the cloud's 20 s wait after the run resumed.
    let row = browser
        .client
        .wait()
        .at_most(Duration::from_secs(45))
        .for_element(Locator::Css("#requestList tr[data-status=\"not seen\"]"))
        .await
        .context("the event published while the page was away is never said to be unseen")?;
    let key = row.attr("data-row").await?.context("a row without its key")?;
    select_request(browser, &key).await?;
    let hops = attrs(browser, &format!("[data-cycle=\"{key}\"] .hop"), "data-status").await?;
    ensure!(
        hops.first().map(String::as_str) == Some("away")
            && hops.get(2).map(String::as_str) == Some("done"),
        "the cycle published while away is drawn {hops:?}"
    );
    let card = text_of(browser, "card-event").await?;
    ensure!(card.contains("this page was away"), "its event card says {card:?}");
    // The new state under axe-core, at both widths and in both schemes (and in pictures with
    // `SCREENSHOTS=DIR`).
    let axe_path = std::env::var("AXE_CORE").context("AXE_CORE is not set")?;
    let axe = std::fs::read_to_string(&axe_path).with_context(|| format!("reading {axe_path}"))?;
    let shots = std::env::var_os("SCREENSHOTS").map(std::path::PathBuf::from);
    let problems = crate::looks::look(browser, &axe, shots.as_ref(), "resumed-away").await?;
    emulate(browser, 1280, "light").await?;
    ensure!(problems.is_empty(), "{}", problems.join("\n"));
    click(browser, "inspectorPause").await
}
