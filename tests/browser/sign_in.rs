//! Signing in to the sandbox lists its devices; signing out returns to the start.

use anyhow::{Result, ensure};
use fantoccini::Locator;

use crate::support::{Browser, Server, fixture::*, page::*};

pub async fn run(browser: &Browser, server: &Server) -> Result<()> {
    open(browser, &server.url).await?;
    wait(browser, Locator::Id("sandboxSignIn"), "no sandbox button")
        .await?
        .click()
        .await?;
    let user = wait(browser, Locator::Id("signedInUser"), "never signed in").await?;
    ensure!(
        user.text().await? == SANDBOX_USER,
        "signed in as {:?}",
        user.text().await?
    );
    wait(
        browser,
        Locator::Css("#deviceSelect option"),
        "no devices listed",
    )
    .await?;
    let labels = device_labels(browser).await?;
    ensure!(
        labels == ["sandbox-p2", "sandbox-boron", "sandbox-argon (offline)"],
        "device list {labels:?}"
    );
    expect_state(browser, "sign-in", "signed-in", "sign-in state").await?;
    expect_state(browser, "select-device", "choose", "select-device state").await?;
    expect_state(
        browser,
        "firmware",
        "ready",
        "other panels leave the signed-out state",
    )
    .await?;

    let info = text_of(browser, "deviceInfo").await?;
    ensure!(
        info.contains("sandbox-p2") && info.contains("Photon 2 / P2"),
        "device info: {info}"
    );
    let argon = browser
        .client
        .find(Locator::Css("#deviceSelect option:nth-child(3)"))
        .await?;
    argon.click().await?;
    let picked = text_of(browser, "deviceInfo").await?;
    ensure!(
        picked.contains("sandbox-argon") && picked.contains("Argon") && picked.contains("offline"),
        "after picking: {picked}"
    );

    click(browser, "refreshDevices").await?;
    wait(
        browser,
        Locator::Css("#deviceSelect option[selected]"),
        "refresh lost the devices",
    )
    .await?;
    let kept = text_of(browser, "deviceInfo").await?;
    ensure!(
        kept.contains("sandbox-argon"),
        "the pick survives a refresh: {kept}"
    );

    // Products: the platform follows the picked device (the Argon now), a new demo product is
    // suggested, created and selected.
    wait_for_state(browser, "select-product", "no-product").await?;
    let platform = value_of(browser, "devicePlatformSelect").await?;
    ensure!(platform == "12", "platform {platform:?}");
    let name = value_of(browser, "newProductNameInput").await?;
    ensure!(name == "webhook-demo-argon-1", "suggested {name:?}");
    click(browser, "createNewProductButton").await?;
    wait_for_state(browser, "select-product", "selected").await?;
    let chosen = browser
        .client
        .find(Locator::Css("#productSelect option[selected]"))
        .await?
        .text()
        .await?;
    ensure!(
        chosen.starts_with("webhook-demo-argon-1 ("),
        "selected product {chosen:?}"
    );
    ensure!(
        browser
            .client
            .find(Locator::Id("useExistingProduct"))
            .await?
            .is_selected()
            .await?,
        "radio"
    );

    // A reload keeps the learner signed in (the session lives in this tab's sessionStorage).
    browser.client.refresh().await?;
    let user = wait(
        browser,
        Locator::Id("signedInUser"),
        "a reload signed the learner out",
    )
    .await?;
    ensure!(
        user.text().await? == SANDBOX_USER,
        "restored as {:?}",
        user.text().await?
    );

    click(browser, "signOut").await?;
    wait(
        browser,
        Locator::Id("sandboxSignIn"),
        "sign-out did not return to sign-in",
    )
    .await?;
    expect_state(
        browser,
        "select-device",
        "signed-out",
        "devices still shown after sign-out",
    )
    .await?;
    browser.client.refresh().await?;
    let button = wait(
        browser,
        Locator::Id("sandboxSignIn"),
        "no sign-in after sign-out and reload",
    )
    .await?;
    // Enabled means no saved session is being checked (a restore disables the sign-in buttons).
    ensure!(
        button.is_enabled().await?,
        "sign-out did not forget the session"
    );
    let errors = browser.console_errors().await?;
    ensure!(errors.is_empty(), "console errors: {errors:?}");
    Ok(())
}
