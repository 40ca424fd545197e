//! Before sign-in, every panel renders in page order, signed out, without console errors.

use anyhow::{Result, ensure};
use fantoccini::Locator;

use crate::support::{Browser, Server, page::*};

pub async fn run(browser: &Browser, server: &Server) -> Result<()> {
    open(browser, &server.url).await?;
    // The sandbox button appears once config.json has been read: the app is fully started.
    wait(
        browser,
        Locator::Id("sandboxSignIn"),
        "the sandbox button never appeared",
    )
    .await?;
    let roots = browser
        .client
        .find_all(Locator::Css("[data-panel]"))
        .await?;
    let mut seen = Vec::new();
    for root in roots {
        let name = root.attr("data-panel").await?.unwrap_or_default();
        let state = root.attr("data-state").await?.unwrap_or_default();
        ensure!(
            root.tag_name().await? == "section",
            "{name} is not a <section>"
        );
        ensure!(
            state == "signed-out",
            "{name} shows {state:?} before sign-in"
        );
        seen.push(name);
    }
    ensure!(
        seen == panels(),
        "panels in the wrong order or missing: {seen:?}"
    );
    let title = browser
        .client
        .find(Locator::Css("h1"))
        .await?
        .text()
        .await?;
    ensure!(title == "Webhook demo", "title is {title:?}");
    let errors = browser.console_errors().await?;
    ensure!(errors.is_empty(), "console errors: {errors:?}");
    Ok(())
}
