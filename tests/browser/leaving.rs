//! Leaving a running demo asks first: Sign out shows a question in the page (saying what stays in
//! the account, offering to clean up first) and declining keeps the run; closing, reloading or
//! going Back is held by `beforeunload` while the demo runs, and only then.

use anyhow::{Result, ensure};

use crate::support::{Browser, Server, fixture::*, page::*};

pub async fn run(browser: &Browser, server: &Server) -> Result<()> {
    open(browser, &server.url).await?;
    set_up_with(browser, P2).await?;
    ensure!(!leaving_held(browser).await?, "leaving is held before the demo runs");
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;
    ensure!(leaving_held(browser).await?, "leaving a running demo is not held");

    click(browser, "signOut").await?;
    wait_focused_in_view(browser, "signOutCancel", "asking to sign out").await?;
    let question = text_of(browser, "signOutQuestion").await?;
    ensure!(
        question.contains("stay in your account"),
        "the question does not say what stays: {question}"
    );
    wait_for(browser, "a[href=\"#cleanup-title\"]", "no way to clean up first").await?;
    click(browser, "signOutCancel").await?;
    expect_state(browser, "start", "running", "declining to sign out").await?;
    expect_state(browser, "sign-in", "signed-in", "declining to sign out").await?;
    ensure!(
        browser.client.find_all(fantoccini::Locator::Id("signOutQuestion")).await?.is_empty(),
        "the question stays after the answer"
    );
    click(browser, "testWebhookButton").await?;
    wait_for(browser, "#explainer [data-kind=\"hook-response\"]", "the kept run does not work").await?;

    click(browser, "startDemo").await?;
    wait_for_state(browser, "start", "ready").await?;
    ensure!(!leaving_held(browser).await?, "leaving is still held after Stop");
    click(browser, "signOut").await?;
    wait_for_state(browser, "sign-in", "signed-out").await?;
    // The checks after this one start from the fixture: no product left behind.
    reset_sandbox(browser).await?;
    no_app_errors(browser).await
}

/// Whether the page holds a `beforeunload` (asks before the tab goes), tried with a synthetic one.
async fn leaving_held(browser: &Browser) -> Result<bool> {
    let held = browser
        .client
        .execute(
            "const e = new Event('beforeunload', {cancelable: true}); dispatchEvent(e); \
             return e.defaultPrevented;",
            Vec::new(),
        )
        .await?;
    Ok(held == true)
}
