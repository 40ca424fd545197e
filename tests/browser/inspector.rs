//! The inspector never loses the learner's place (issue 14): with a device publishing every
//! second (`--sim-publish-interval`), a selected request stays shown while new rows arrive, and
//! Pause holds the view still while counting what is new.

use std::time::Duration;

use anyhow::{Result, ensure};
use webhook_demo_server::Options;

use crate::support::{Browser, Server, fixture::*, page::*, start_server};

pub async fn run(browser: &Browser, _shared: &Server) -> Result<()> {
    let mut options = Options::default();
    options.sandbox.sim_publish_interval = Some(Duration::from_secs(1));
    let server = start_server(options).await?;
    open(browser, &server.url).await?;
    set_up_with(browser, P2).await?;
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;

    click(browser, "testWebhookButton").await?;
    let finished = "#requestList tr[data-row^=\"api@\"][data-status=response]";
    wait_for(browser, finished, "the test's request never finished").await?;
    // Read at once: the device's publishes re-render the list, replacing the row element.
    let key = attrs(browser, finished, "data-row").await?.concat();
    select_request(browser, &key).await?;
    // The device keeps publishing: three of its requests arrive while the test stays shown.
    wait_for_xpath(
        browser,
        "//button[@id='inspectorPause'][number(substring-before(substring-after(., '('), ' new')) >= 3]",
        "the device's publishes were not counted",
    )
    .await?;
    let shown = attrs(browser, "#timeline [data-cycle]", "data-cycle").await?;
    ensure!(shown == [key.clone()], "the view moved to {shown:?}");
    let kinds = attrs(browser, "#explainer [data-slot=event]", "data-kind").await?;
    ensure!(kinds == ["event-api"], "the explainer shows {kinds:?}");

    // Following the newest again, then Pause: the view holds while rows keep coming.
    click(browser, "inspectorPause").await?;
    wait_for_xpath(
        browser,
        "//button[@id='inspectorPause'][text()='Pause']",
        "not following the newest",
    )
    .await?;
    wait_for(
        browser,
        "#timeline [data-cycle^=\"e00f\"]",
        "the newest (a device's) is not shown",
    )
    .await?;
    click(browser, "inspectorPause").await?;
    let held = attrs(browser, "#timeline [data-cycle]", "data-cycle").await?;
    wait_for_xpath(
        browser,
        "//button[@id='inspectorPause'][number(substring-before(substring-after(., '('), ' new')) >= 2]",
        "Pause does not count new requests",
    )
    .await?;
    let now = attrs(browser, "#timeline [data-cycle]", "data-cycle").await?;
    ensure!(now == held, "paused, the view moved from {held:?} to {now:?}");
    click(browser, "startDemo").await?;
    no_app_errors(browser).await
}
