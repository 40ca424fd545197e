//! A collapse starts closed and opens to show more.

use anyhow::{Result, ensure};
use fantoccini::Locator;

use crate::support::{Browser, Server, page::*};

pub async fn run(browser: &Browser, server: &Server) -> Result<()> {
    open(browser, &server.url).await?;
    let details = browser
        .client
        .find(Locator::Css("section[data-panel=\"webhook\"] details.collapse"))
        .await?;
    ensure!(
        details.attr("open").await?.is_none(),
        "the collapse starts closed"
    );
    let body = details.find(Locator::Css(".collapse-body")).await?;
    ensure!(!body.is_displayed().await?, "closed content is hidden");
    details.find(Locator::Css("summary")).await?.click().await?;
    ensure!(
        details.attr("open").await?.is_some(),
        "clicking the summary opens it"
    );
    ensure!(body.is_displayed().await?, "opened content is visible");
    ensure!(
        body.text().await?.contains("responseTopic"),
        "the collapse explains the response topic"
    );
    Ok(())
}
