//! The beginning and the end: the opening says what a webhook is, pictures the whole loop, says
//! how long it takes and that no account is needed; after cleanup, the summary shows the
//! learner's own figures (events sent, requests, answers, hook errors) and the next steps, and
//! the finished run's live parts are put away.

use anyhow::{Result, ensure};

use crate::support::{Browser, Server, fixture::*, page::*};

pub async fn run(browser: &Browser, server: &Server) -> Result<()> {
    open(browser, &server.url).await?;
    let opening = texts(browser, "header.intro").await?.join(" ");
    ensure!(
        opening.contains("A webhook is an HTTP request")
            && opening.contains("minutes")
            && opening.contains("no account"),
        "the opening says {opening:?}"
    );
    let hops = texts(browser, ".loop li strong").await?;
    ensure!(hops.len() == 4, "the loop pictures {hops:?}");

    set_up_with(browser, P2).await?;
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;
    for preset in ["ok", "server-error"] {
        choose_preset(browser, preset).await?;
        click(browser, "testWebhookButton").await?;
        wait_for_state(browser, "test", "sent").await?;
    }
    wait_for(browser, "#explainer [data-kind=\"hook-error\"]", "the 500 gave no hook-error").await?;
    stop_and_clean_up(browser).await?;
    wait_for(browser, "#summary-title:focus", "the view did not move to the summary").await?;
    let figures = texts(browser, "#summary .figures li").await?.join("\n");
    ensure!(
        figures.contains("(2 from this page")
            && figures.contains("500 ×1")
            && figures.contains("200 ×")
            && figures.contains("1 hook-error")
            && figures.contains("the webhook deleted"),
        "the summary says {figures}"
    );
    let shown = browser
        .client
        .execute(
            "return getComputedStyle(document.querySelector('[data-panel=explainer]')).display;",
            Vec::new(),
        )
        .await?;
    ensure!(shown == "none", "the finished run's explainer is still shown");
    sign_out(browser).await?;
    no_app_errors(browser).await
}
