//! End-to-end tests in a real browser: the real server on `127.0.0.1:0`, the real page, headless
//! Chromium over WebDriver. One browser serves every check; checks run in order and report like a
//! test runner ("N passed, N failed").

#[path = "support/mod.rs"]
mod support;

use std::{future::Future, pin::Pin, process::ExitCode, time::Duration};

use anyhow::{Context, Result, ensure};
use fantoccini::Locator;
use support::{Browser, Server, start_server};
use webhook_demo_server::Options;

type Check = for<'a> fn(&'a Browser, &'a Server) -> Pin<Box<dyn Future<Output = Result<()>> + 'a>>;

const PANELS: [&str; 13] = [
    "sign-in",
    "select-device",
    "select-product",
    "add-device",
    "start",
    "webhook",
    "test",
    "explainer",
    "data-table",
    "events",
    "firmware",
    "testing",
    "cleanup",
];

fn main() -> ExitCode {
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        let checks: [(&str, Check); 4] = [
            (
                "every_panel_renders_signed_out_without_console_errors",
                |b, s| Box::pin(every_panel_renders(b, s)),
            ),
            ("the_collapse_opens", |b, s| {
                Box::pin(the_collapse_opens(b, s))
            }),
            (
                "sandbox_sign_in_lists_devices_and_sign_out_returns",
                |b, s| Box::pin(sandbox_sign_in(b, s)),
            ),
            ("no_sandbox_means_no_sandbox_button", |b, _| {
                Box::pin(no_sandbox_means_no_sandbox_button(b))
            }),
        ];
        let setup = async {
            let server = start_server(Options::default()).await?;
            let browser = Browser::launch().await?;
            Ok::<_, anyhow::Error>((server, browser))
        };
        let (server, browser) = match setup.await {
            Ok(both) => both,
            Err(error) => {
                eprintln!("browser tests could not start: {error:#}");
                return ExitCode::FAILURE;
            }
        };
        let (mut passed, mut failed) = (0, 0);
        for (name, check) in checks {
            match check(&browser, &server).await {
                Ok(()) => {
                    eprintln!("test {name} ... ok");
                    passed += 1;
                }
                Err(error) => {
                    eprintln!("test {name} ... FAILED\n    {error:#}");
                    failed += 1;
                }
            }
        }
        if let Err(error) = browser.close().await {
            eprintln!("closing the browser: {error:#}");
        }
        eprintln!("\nbrowser: {passed} passed, {failed} failed");
        if failed == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }
    })
}

/// Opens the page and waits until the app has rendered it (the sign-in panel exists).
async fn open(browser: &Browser, url: &str) -> Result<()> {
    browser
        .client
        .goto(url)
        .await
        .with_context(|| format!("opening {url}"))?;
    browser
        .client
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("section[data-panel=\"sign-in\"]"))
        .await
        .context("the app never rendered the sign-in panel")?;
    Ok(())
}

async fn every_panel_renders(browser: &Browser, server: &Server) -> Result<()> {
    open(browser, &server.url).await?;
    // The sandbox button appears once config.json has been read: the app is fully started.
    browser
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id("sandboxSignIn"))
        .await
        .context("the sandbox button never appeared")?;
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
        seen == PANELS,
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

async fn the_collapse_opens(browser: &Browser, server: &Server) -> Result<()> {
    open(browser, &server.url).await?;
    let details = browser
        .client
        .find(Locator::Css("section[data-panel=\"webhook\"] details"))
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
        body.text().await?.contains("Response topic"),
        "the collapse explains the response topic"
    );
    Ok(())
}

async fn no_sandbox_means_no_sandbox_button(browser: &Browser) -> Result<()> {
    let server = start_server(Options {
        no_sandbox: true,
        ..Options::default()
    })
    .await?;
    open(browser, &server.url).await?;
    // The page reads the same config.json; once it is read, the button must not be there.
    let config: serde_json::Value = browser
        .client
        .execute_async(
            "fetch('config.json').then(r => r.json()).then(arguments[0])",
            vec![],
        )
        .await?;
    ensure!(
        config["sandbox"].is_null(),
        "config.json still offers a sandbox: {config}"
    );
    browser.client.find(Locator::Id("tokenInput")).await?;
    ensure!(
        browser
            .client
            .find(Locator::Id("sandboxSignIn"))
            .await
            .is_err(),
        "a sandbox button without a sandbox"
    );
    Ok(())
}

async fn click(browser: &Browser, id: &str) -> Result<()> {
    browser.client.find(Locator::Id(id)).await?.click().await?;
    Ok(())
}

async fn state_of(browser: &Browser, panel: &str) -> Result<String> {
    let root = browser
        .client
        .find(Locator::Css(&format!("section[data-panel=\"{panel}\"]")))
        .await?;
    Ok(root.attr("data-state").await?.unwrap_or_default())
}

async fn sandbox_sign_in(browser: &Browser, server: &Server) -> Result<()> {
    open(browser, &server.url).await?;
    let wait = || browser.client.wait().at_most(Duration::from_secs(10));
    wait()
        .for_element(Locator::Id("sandboxSignIn"))
        .await?
        .click()
        .await?;
    let user = wait()
        .for_element(Locator::Id("signedInUser"))
        .await
        .context("never signed in")?;
    ensure!(
        user.text().await? == "sandbox@example.com",
        "signed in as {:?}",
        user.text().await?
    );
    wait()
        .for_element(Locator::Css("#deviceSelect option"))
        .await
        .context("no devices listed")?;
    let mut labels = Vec::new();
    for option in browser
        .client
        .find_all(Locator::Css("#deviceSelect option"))
        .await?
    {
        labels.push(option.text().await?);
    }
    ensure!(
        labels == ["sandbox-p2", "sandbox-boron", "sandbox-argon (offline)"],
        "device list {labels:?}"
    );
    ensure!(
        state_of(browser, "sign-in").await? == "signed-in",
        "sign-in state"
    );
    ensure!(
        state_of(browser, "select-device").await? == "choose",
        "select-device state"
    );
    ensure!(
        state_of(browser, "cleanup").await? == "ready",
        "other panels leave the signed-out state"
    );

    let info = browser
        .client
        .find(Locator::Id("deviceInfo"))
        .await?
        .text()
        .await?;
    ensure!(
        info.contains("sandbox-p2") && info.contains("Photon 2 / P2"),
        "device info: {info}"
    );
    let argon = browser
        .client
        .find(Locator::Css("#deviceSelect option:nth-child(3)"))
        .await?;
    argon.click().await?;
    let picked = browser
        .client
        .find(Locator::Id("deviceInfo"))
        .await?
        .text()
        .await?;
    ensure!(
        picked.contains("sandbox-argon") && picked.contains("Argon") && picked.contains("offline"),
        "after picking: {picked}"
    );

    click(browser, "refreshDevices").await?;
    wait()
        .for_element(Locator::Css("#deviceSelect option[selected]"))
        .await
        .context("refresh lost the devices")?;
    let kept = browser
        .client
        .find(Locator::Id("deviceInfo"))
        .await?
        .text()
        .await?;
    ensure!(
        kept.contains("sandbox-argon"),
        "the pick survives a refresh: {kept}"
    );

    // Products: the platform follows the picked device (the Argon now), a new demo product is
    // suggested, created and selected.
    wait()
        .for_element(Locator::Css(
            "section[data-panel=\"select-product\"][data-state=\"no-product\"]",
        ))
        .await
        .context("products never loaded")?;
    let platform = browser
        .client
        .find(Locator::Id("devicePlatformSelect"))
        .await?
        .prop("value")
        .await?;
    ensure!(platform.as_deref() == Some("12"), "platform {platform:?}");
    let name = browser
        .client
        .find(Locator::Id("newProductNameInput"))
        .await?
        .prop("value")
        .await?;
    ensure!(
        name.as_deref() == Some("webhook-demo-argon-1"),
        "suggested {name:?}"
    );
    click(browser, "createNewProductButton").await?;
    wait()
        .for_element(Locator::Css(
            "section[data-panel=\"select-product\"][data-state=\"selected\"]",
        ))
        .await
        .context("the created product was not selected")?;
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
    let user = wait()
        .for_element(Locator::Id("signedInUser"))
        .await
        .context("a reload signed the learner out")?;
    ensure!(
        user.text().await? == "sandbox@example.com",
        "restored as {:?}",
        user.text().await?
    );

    click(browser, "signOut").await?;
    wait()
        .for_element(Locator::Id("sandboxSignIn"))
        .await
        .context("sign-out did not return to sign-in")?;
    ensure!(
        state_of(browser, "select-device").await? == "signed-out",
        "devices still shown after sign-out"
    );
    browser.client.refresh().await?;
    let button = wait()
        .for_element(Locator::Id("sandboxSignIn"))
        .await
        .context("no sign-in after sign-out and reload")?;
    // Enabled means no saved session is being checked (a restore disables the sign-in buttons).
    ensure!(
        button.is_enabled().await?,
        "sign-out did not forget the session"
    );
    let errors = browser.console_errors().await?;
    ensure!(errors.is_empty(), "console errors: {errors:?}");
    Ok(())
}
