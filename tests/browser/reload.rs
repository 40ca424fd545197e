//! A reload mid-run resumes it: the same relay session (same hook URL), its requests listed again,
//! the answer chosen before still chosen, and Test working without pressing Start.

use anyhow::{Result, ensure};

use crate::support::{Browser, Server, fixture::*, page::*};

pub async fn run(browser: &Browser, server: &Server) -> Result<()> {
    open(browser, &server.url).await?;
    set_up_with(browser, P2).await?;
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;
    let hook_url = texts(browser, ".webhookUrlSpan").await?;
    click(browser, "testWebhookButton").await?;
    wait_for(browser, "#explainer [data-kind=\"hook-response\"]", "no hook-response").await?;
    click_css(browser, "[data-action=answer-preset][data-preset=server-error]").await?;
    wait_for(browser, "#preset-server-error[aria-pressed=true]", "the preset is not chosen").await?;
    let before = rows(browser).await?;
    ensure!(before >= 1, "no request listed before the reload");

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
    // Test works without Start, on the kept answer.
    click(browser, "testWebhookButton").await?;
    wait_for(browser, "#explainer [data-kind=\"hook-error\"]", "Test after the reload gave no hook-error").await?;

    click(browser, "startDemo").await?;
    wait_for_state(browser, "start", "ready").await?;
    let kept = browser
        .client
        .execute("return sessionStorage.getItem('webhook-demo:run');", Vec::new())
        .await?;
    ensure!(kept.is_null(), "Stop left the run kept: {kept}");
    sign_out(browser).await?;
    reset_sandbox(browser).await?;
    no_app_errors(browser).await
}

/// The requests listed.
async fn rows(browser: &Browser) -> Result<usize> {
    Ok(attrs(browser, "#requestList tbody tr[data-row]", "data-row").await?.len())
}
