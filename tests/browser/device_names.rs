//! Device names are shown as text, never as HTML.

use anyhow::{Result, ensure};
use fantoccini::Locator;

use crate::support::{Browser, Server, fixture::*, page::*};

pub async fn run(browser: &Browser, server: &Server) -> Result<()> {
    open(browser, &server.url).await?;
    let hostile = "<img src=x onerror=alert(1)>";
    let token = sandbox_token(browser, "sandbox%40example.com").await?;
    let rename = |name: &str| {
        format!(
            "const r = await fetch('/sandbox/v1/devices/{BORON}', {{method: 'PUT', headers: \
             {{Authorization: 'Bearer {token}', 'Content-Type': 'application/json'}}, \
             body: JSON.stringify({{name: {name:?}}})}}); return r.status;"
        )
    };
    ensure!(
        in_page(browser, &rename(hostile)).await? == 200,
        "renaming failed"
    );
    sandbox_sign_in_to_devices(browser).await?;
    let labels = device_labels(browser).await?;
    ensure!(labels.iter().any(|l| l == hostile), "labels {labels:?}");
    ensure!(
        browser
            .client
            .find_all(Locator::Css("#app img"))
            .await?
            .is_empty(),
        "the name became an element"
    );
    choose(browser, "deviceSelect", BORON).await?;
    ensure!(
        text_of(browser, "deviceInfo").await?.contains(hostile),
        "device info"
    );
    ensure!(
        browser
            .client
            .find_all(Locator::Css("#app img"))
            .await?
            .is_empty(),
        "the name became an element in the info table"
    );
    ensure!(
        in_page(browser, &rename("sandbox-boron")).await? == 200,
        "renaming back failed"
    );
    sign_out(browser).await?;
    let errors = browser.console_errors().await?;
    ensure!(errors.is_empty(), "console errors: {errors:?}");
    Ok(())
}
