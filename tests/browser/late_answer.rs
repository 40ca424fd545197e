//! An answer that comes after the cloud gave up: the timeout preset's cycle reads "timeout"
//! everywhere once the late 200 lands (diagram, cards, request list, cloud logs), and the answer
//! shows as late and unseen by the cloud, never as a success. The sandbox waits 1 s for a webhook
//! server instead of Particle's 20 s, and the preset's wait is shortened to 2.5 s, so the answer
//! lands 1.5 s after the cloud's hook-error without the check waiting 21 s.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use webhook_demo_server::Options;

use crate::support::{Browser, Server, page::*, start_server};

pub async fn run(browser: &Browser, _shared: &Server) -> Result<()> {
    let mut options = Options::default();
    options.sandbox.hook_timeout = Duration::from_secs(1);
    options.sandbox.sim_publish_interval = None;
    let server = start_server(options).await?;
    demo_with_preset(browser, &server, "timeout").await?;
    type_into(browser, "answerDelay", "2500").await?;
    click(browser, "answerApply").await?;
    click(browser, "testWebhookButton").await?;
    let row = wait_for(
        browser,
        "#requestList tbody tr[data-row^=\"api@\"][data-status=timeout]",
        "the test never timed out",
    )
    .await?;
    let key = row
        .attr("data-row")
        .await?
        .context("a request list row without its key")?;

    // The late answer lands: the diagram draws it after the hook-error, as late.
    wait_for(
        browser,
        "#timeline [data-hop=response][data-status=late]",
        "the late answer was never drawn as late",
    )
    .await?;
    let hops = attrs(browser, "#timeline [data-hop]", "data-hop").await?;
    ensure!(
        hops == ["publish", "hook-sent", "request", "hook-error", "response"],
        "hops drawn in the order {hops:?}"
    );
    let late = text_of(browser, "hop-server-response").await?;
    ensure!(
        late.contains("200, too late") && late.contains("the cloud never saw it"),
        "the late hop reads {late}"
    );

    // The cards: the hook-error, then the answer, which says it came too late.
    let slots = attrs(browser, "#explainer [data-slot]", "data-slot").await?;
    ensure!(
        slots[4..] == ["outcome", "server-response"],
        "cards in the order {slots:?}"
    );
    let card = text_of(browser, "card-server-response").await?;
    ensure!(
        card.contains("answered too late")
            && card.contains("after the cloud stopped waiting; the cloud never saw it")
            && !card.contains("A success"),
        "the answer's card reads {card}"
    );
    let outcome = text_of(browser, "card-outcome").await?;
    ensure!(outcome.contains("ETIMEDOUT"), "the outcome reads {outcome}");

    // The request list and the cloud logs: a timeout, whose answer came too late.
    let cells = texts(browser, &format!("#requestList tr[data-row=\"{key}\"] td")).await?;
    ensure!(
        cells.iter().any(|c| c == "timeout") && cells.iter().any(|c| c == "200, too late"),
        "the request list row reads {cells:?}"
    );
    ensure!(
        attrs(browser, &format!("#requestList tr[data-row=\"{key}\"]"), "data-status").await?
            == ["timeout"],
        "the row's status changed"
    );
    let logged = attrs(browser, "#deliveryLog tbody tr", "data-status").await?;
    ensure!(
        logged.first().map(String::as_str) == Some("timeout"),
        "the cloud logs say {logged:?}"
    );
    browser.console_errors().await?;
    no_app_errors(browser).await?;
    Ok(())
}
