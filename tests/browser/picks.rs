//! Adding the device to a product, then reloading, keeps each user's picks.

use anyhow::{Result, ensure};
use fantoccini::Locator;

use crate::support::{Browser, Server, fixture::*, page::*};

pub async fn run(browser: &Browser, server: &Server) -> Result<()> {
    open(browser, &server.url).await?;
    // Remembered: the session goes to localStorage, not to this tab's sessionStorage.
    click(browser, "rememberMe").await?;
    sandbox_sign_in_to_devices(browser).await?;
    let stored = browser
        .client
        .execute(
            "return [localStorage.getItem('webhook-demo:token') !== null, \
             sessionStorage.getItem('webhook-demo:token') !== null];",
            Vec::new(),
        )
        .await?;
    ensure!(
        stored == serde_json::json!([true, false]),
        "remember me stored {stored}"
    );

    choose(browser, "deviceSelect", BORON).await?;
    let info = text_of(browser, "deviceInfo").await?;
    ensure!(
        info.contains("sandbox-boron") && info.contains("Boron"),
        "device info: {info}"
    );
    wait_for_state(browser, "select-product", "no-product").await?;
    expect_state(
        browser,
        "add-device",
        "no-product",
        "add-device before a product",
    )
    .await?;
    click(browser, "createNewProductButton").await?;
    wait_for_state(browser, "select-product", "selected").await?;
    wait_for_state(browser, "add-device", "can-add").await?;
    click(browser, "addDeviceButton").await?;
    wait_for_state(browser, "add-device", "in-product").await?;
    let panel = browser
        .client
        .find(Locator::Css("section[data-panel=\"add-device\"]"))
        .await?
        .text()
        .await?;
    ensure!(panel.contains("is in"), "add-device says: {panel}");
    ensure!(
        text_of(browser, "deviceInfo").await?.contains("30"),
        "the device info shows its new product"
    );

    // A reload restores the session (remembered) and the picks (saved for this user).
    browser.client.refresh().await?;
    wait_for_state(browser, "add-device", "in-product").await?;
    let info = text_of(browser, "deviceInfo").await?;
    ensure!(info.contains("sandbox-boron"), "restored device: {info}");
    sign_out(browser).await?;
    let left = browser
        .client
        .execute(
            "return localStorage.getItem('webhook-demo:token');",
            Vec::new(),
        )
        .await?;
    ensure!(left.is_null(), "sign-out left the remembered token: {left}");
    let errors = browser.console_errors().await?;
    ensure!(errors.is_empty(), "console errors: {errors:?}");
    Ok(())
}
