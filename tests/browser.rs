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
        let checks: [(&str, Check); 12] = [
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
            ("add_device_then_reload_keeps_the_picks_per_user", |b, s| {
                Box::pin(add_device_and_reload(b, s))
            }),
            ("token_mfa_and_revoked_token_sign_ins", |b, s| {
                Box::pin(other_sign_ins(b, s))
            }),
            ("the_live_demo_shows_every_hop", |b, s| {
                Box::pin(live_demo(b, s))
            }),
            ("the_firmware_is_shown_downloaded_and_flashed", |b, s| {
                Box::pin(firmware(b, s))
            }),
            ("relay_drops_lose_no_hook", |b, _| {
                Box::pin(relay_drops_lose_no_hook(b))
            }),
            ("a_relay_answer_cannot_script_the_tutorial", |b, s| {
                Box::pin(relay_answer_is_inert(b, s))
            }),
            ("a_smee_channel_can_stand_in_for_the_relay", |b, s| {
                Box::pin(smee_channel(b, s))
            }),
            ("device_names_are_shown_as_text", |b, s| {
                Box::pin(device_names_are_text(b, s))
            }),
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

/// "Try the sandbox", then wait for the device list.
async fn sandbox_sign_in_to_devices(browser: &Browser) -> Result<()> {
    click(browser, "sandboxSignIn").await?;
    wait_for_state(browser, "select-device", "choose").await
}

/// The device list's option labels, in order.
async fn device_labels(browser: &Browser) -> Result<Vec<String>> {
    let mut labels = Vec::new();
    for option in browser
        .client
        .find_all(Locator::Css("#deviceSelect option"))
        .await?
    {
        labels.push(option.text().await?);
    }
    Ok(labels)
}

/// Fails with `what` unless `panel` shows `state` now.
async fn expect_state(browser: &Browser, panel: &str, state: &str, what: &str) -> Result<()> {
    let actual = state_of(browser, panel).await?;
    ensure!(actual == state, "{what}: {panel} is {actual}, not {state}");
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
    wait()
        .for_element(Locator::Css("#deviceSelect option[selected]"))
        .await
        .context("refresh lost the devices")?;
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
    expect_state(
        browser,
        "select-device",
        "signed-out",
        "devices still shown after sign-out",
    )
    .await?;
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

const BORON: &str = "e00fce680000000000000002";

/// Waits until `panel` shows `state`.
async fn wait_for_state(browser: &Browser, panel: &str, state: &str) -> Result<()> {
    let selector = format!("section[data-panel=\"{panel}\"][data-state=\"{state}\"]");
    browser
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(&selector))
        .await
        .with_context(|| format!("{panel} never reached {state}"))?;
    Ok(())
}

async fn text_of(browser: &Browser, id: &str) -> Result<String> {
    Ok(browser.client.find(Locator::Id(id)).await?.text().await?)
}

/// The current `value` of a form control.
async fn value_of(browser: &Browser, id: &str) -> Result<String> {
    let value = browser
        .client
        .find(Locator::Id(id))
        .await?
        .prop("value")
        .await?;
    Ok(value.unwrap_or_default())
}

/// Runs `body` (an async function body given `done`) in the page and returns what it passes to
/// `done`: the page's own `fetch` reaches the sandbox exactly as the app does.
async fn in_page(browser: &Browser, body: &str) -> Result<serde_json::Value> {
    let script = format!(
        "const done = arguments[arguments.length - 1]; (async () => {{ {body} }})().then(done, e => done(String(e)));"
    );
    Ok(browser.client.execute_async(&script, Vec::new()).await?)
}

async fn sandbox_token(browser: &Browser, username: &str) -> Result<String> {
    let token = in_page(
        browser,
        &format!(
            "const r = await fetch('/sandbox/oauth/token', {{method: 'POST', headers: {{'Content-Type': \
             'application/x-www-form-urlencoded'}}, body: 'client_id=particle&client_secret=particle&\
             grant_type=password&username={username}&password=sandbox'}}); \
             return (await r.json()).access_token;"
        ),
    )
    .await?;
    token
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no token: {token}"))
}

/// Picks the option with this value in a select, as a learner would.
async fn choose(browser: &Browser, id: &str, value: &str) -> Result<()> {
    browser
        .client
        .find(Locator::Id(id))
        .await?
        .select_by_value(value)
        .await?;
    Ok(())
}

async fn type_into(browser: &Browser, id: &str, text: &str) -> Result<()> {
    let input = browser.client.find(Locator::Id(id)).await?;
    input.clear().await?;
    input.send_keys(text).await?;
    Ok(())
}

async fn sign_out(browser: &Browser) -> Result<()> {
    click(browser, "signOut").await?;
    wait_for_state(browser, "sign-in", "signed-out").await
}

async fn add_device_and_reload(browser: &Browser, server: &Server) -> Result<()> {
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
    ensure!(panel.contains("already"), "add-device says: {panel}");
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

async fn other_sign_ins(browser: &Browser, server: &Server) -> Result<()> {
    open(browser, &server.url).await?;
    // A token from `particle token create`, pasted, signed in to the sandbox.
    let token = sandbox_token(browser, "sandbox%40example.com").await?;
    choose(browser, "apiBaseSelect", "sandbox").await?;
    type_into(browser, "tokenInput", &token).await?;
    click(browser, "tokenSignIn").await?;
    // The same user: their picks come back.
    wait_for_state(browser, "add-device", "in-product").await?;
    ensure!(
        text_of(browser, "signedInUser").await? == "sandbox@example.com",
        "token user"
    );

    // The token is revoked elsewhere: the next call returns the learner to sign-in, saying why.
    let revoked = in_page(
        browser,
        &format!(
            "const r = await fetch('/sandbox/v1/access_tokens/current', {{method: 'DELETE', \
             headers: {{Authorization: 'Bearer {token}'}}}}); return r.status;"
        ),
    )
    .await?;
    ensure!(revoked == 200, "revoking answered {revoked}");
    click(browser, "refreshDevices").await?;
    wait_for_state(browser, "sign-in", "signed-out").await?;
    let alert = browser
        .client
        .find(Locator::Css(
            "section[data-panel=\"sign-in\"] [role=\"alert\"]",
        ))
        .await?
        .text()
        .await?;
    ensure!(alert.contains("invalid or has expired"), "alert: {alert}");

    // Password and the MFA code, against the sandbox; another user's picks are not applied.
    choose(browser, "apiBaseSelect", "sandbox").await?;
    type_into(browser, "usernameInput", "mfa@example.com").await?;
    type_into(browser, "passwordInput", "sandbox").await?;
    click(browser, "passwordSignIn").await?;
    wait_for_state(browser, "sign-in", "otp").await?;
    type_into(browser, "otpInput", "000000").await?;
    click(browser, "otpSignIn").await?;
    browser
        .client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(
            "section[data-panel=\"sign-in\"][data-state=\"otp\"] [role=\"alert\"]",
        ))
        .await
        .context("a wrong code is not explained")?;
    type_into(browser, "otpInput", "123456").await?;
    click(browser, "otpSignIn").await?;
    wait_for_state(browser, "select-device", "no-device").await?;
    ensure!(
        text_of(browser, "signedInUser").await? == "mfa@example.com",
        "mfa user"
    );
    expect_state(
        browser,
        "add-device",
        "no-device",
        "another user's picks applied",
    )
    .await?;
    sign_out(browser).await?;
    // The refusals this check provoked are logged by the browser; the app itself logs nothing.
    let errors = browser.console_errors().await?;
    let expected = [
        "/v1/devices - Failed",
        "/oauth/token - Failed",
        "/oauth/token - Failed",
    ];
    ensure!(
        errors.len() == expected.len() && errors.iter().zip(expected).all(|(e, x)| e.contains(x)),
        "console errors: {errors:?}"
    );
    Ok(())
}

async fn device_names_are_text(browser: &Browser, server: &Server) -> Result<()> {
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

const P2: &str = "e00fce680000000000000001";

/// Waits for an element, saying what was expected when it never comes.
async fn wait_for(
    browser: &Browser,
    css: &str,
    what: &str,
) -> Result<fantoccini::elements::Element> {
    browser
        .client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(css))
        .await
        .with_context(|| format!("{what} ({css})"))
}

/// The texts of every element matching `css`.
async fn texts(browser: &Browser, css: &str) -> Result<Vec<String>> {
    let mut texts = Vec::new();
    for element in browser.client.find_all(Locator::Css(css)).await? {
        texts.push(element.text().await?);
    }
    Ok(texts)
}

async fn attrs(browser: &Browser, css: &str, name: &str) -> Result<Vec<String>> {
    let mut values = Vec::new();
    for element in browser.client.find_all(Locator::Css(css)).await? {
        values.push(element.attr(name).await?.unwrap_or_default());
    }
    Ok(values)
}

/// Fails on console errors other than the browser's own notes of refused requests (which checks
/// that provoke refusals cause on purpose).
async fn no_app_errors(browser: &Browser) -> Result<()> {
    let errors = browser.console_errors().await?;
    let unexpected: Vec<&String> = errors
        .iter()
        .filter(|e| !e.contains("Failed to load resource"))
        .collect();
    ensure!(unexpected.is_empty(), "console errors: {unexpected:?}");
    Ok(())
}

/// Waits for an element found by XPath, saying what was expected when it never comes.
async fn wait_for_xpath(browser: &Browser, xpath: &str, what: &str) -> Result<()> {
    browser
        .client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::XPath(xpath))
        .await
        .with_context(|| what.to_owned())?;
    Ok(())
}

/// Waits until the event log has a row named `name` (its second cell).
async fn logged(browser: &Browser, name: &str) -> Result<()> {
    let xpath = format!("//table[@id='eventsTable']//tr/td[2][text()='{name}']");
    browser
        .client
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::XPath(&xpath))
        .await
        .with_context(|| format!("{name} never reached the event log"))?;
    Ok(())
}

async fn live_demo(browser: &Browser, server: &Server) -> Result<()> {
    open(browser, &server.url).await?;
    sandbox_sign_in_to_devices(browser).await?;
    choose(browser, "deviceSelect", P2).await?;
    wait_for_state(browser, "select-product", "no-product").await?;
    click(browser, "createNewProductButton").await?;
    wait_for_state(browser, "add-device", "can-add").await?;
    click(browser, "addDeviceButton").await?;
    wait_for_state(browser, "add-device", "in-product").await?;
    let product = browser
        .client
        .find(Locator::Css("#productSelect option[selected]"))
        .await?
        .attr("value")
        .await?
        .context("a selected product")?;

    // Start: the relay session opens and the webhook is created with the hook URL.
    expect_state(browser, "test", "stopped", "before Start").await?;
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;
    let urls = texts(browser, ".webhookUrlSpan").await?;
    let hook_url = urls.first().cloned().unwrap_or_default();
    ensure!(
        hook_url.starts_with(&format!("{}/relay/hook/", server.url.trim_end_matches('/')))
            && urls.iter().all(|u| *u == hook_url),
        "hook URLs {urls:?}"
    );
    let saved = in_page(
        browser,
        &format!(
            "const token = sessionStorage.getItem('webhook-demo:token') || localStorage.getItem('webhook-demo:token'); \
             const r = await fetch('/sandbox/v1/products/{product}/integrations', {{headers: {{Authorization: 'Bearer ' + token}}}}); \
             return await r.json();"
        ),
    )
    .await?;
    let webhook = saved
        .as_array()
        .and_then(|list| list.iter().find(|i| i["event"] == "WebhookDemo01"))
        .with_context(|| format!("no webhook in the product: {saved}"))?;
    ensure!(
        webhook["url"] == hook_url.as_str(),
        "webhook url {}",
        webhook["url"]
    );
    ensure!(
        webhook["requestType"] == "POST"
            && webhook["noDefaults"] == true
            && webhook["headers"]["Content-Type"] == "application/json"
            && webhook["headers"]["Authorization"]
                .as_str()
                .is_some_and(|a| a.starts_with("Bearer ") && a.len() > 30)
            && webhook["body"]
                == "{\"deviceId\":\"{{{PARTICLE_DEVICE_ID}}}\",\"ts\":\"{{{PARTICLE_PUBLISHED_AT}}}\",\"sensor\":{{{PARTICLE_EVENT_VALUE}}}}"
            && webhook["responseTopic"]
                == "{{{PARTICLE_DEVICE_ID}}}/hook-response/{{{PARTICLE_EVENT_NAME}}}",
        "webhook settings {webhook}"
    );
    let shown = text_of(browser, "webhookSource").await?;
    ensure!(
        !shown.contains(webhook["headers"]["Authorization"].as_str().unwrap_or("?")),
        "the secret is shown"
    );

    // Test: every hop shows up in the event log, the explainer and the data table.
    click(browser, "testWebhookButton").await?;
    let sent = wait_for(browser, "#testEventData", "the sent data is not shown")
        .await?
        .text()
        .await?;
    ensure!(sent.contains("\"t\": 25"), "sent {sent}");
    for name in [
        "WebhookDemo01",
        "hook-sent/WebhookDemo01",
        "api/hook-response/WebhookDemo01/0",
    ] {
        logged(browser, name).await?;
    }
    wait_for(
        browser,
        "#explainer [data-kind=\"hook-response\"]",
        "no hook-response entry",
    )
    .await?;
    let kinds = attrs(browser, "#explainer .entry", "data-kind").await?;
    for kind in [
        "event-api",
        "hook-sent",
        "hook-received",
        "hook-data",
        "server-response",
        "hook-response",
    ] {
        ensure!(
            kinds.iter().any(|k| k == kind),
            "explainer kinds {kinds:?} lack {kind}"
        );
    }
    let columns = texts(browser, "#webhookDemoDataTable thead th").await?;
    let cells = texts(browser, "#webhookDemoDataTable tbody tr:first-child td").await?;
    let cell = |name: &str| {
        columns
            .iter()
            .position(|c| c == name)
            .and_then(|i| cells.get(i))
            .cloned()
    };
    ensure!(
        cell("deviceId").as_deref() == Some("api") && cell("sensor.t").as_deref() == Some("25"),
        "data table {columns:?} {cells:?}"
    );

    // The timeline of that cycle has all five hops, in order, with non-negative gaps.
    wait_for(
        browser,
        "#timeline figure:first-of-type [data-hop=\"hook-response\"][data-status=\"done\"]",
        "the timeline never completed",
    )
    .await?;
    let hops = attrs(
        browser,
        "#timeline figure:first-of-type [data-hop]",
        "data-hop",
    )
    .await?;
    ensure!(
        hops == [
            "publish",
            "hook-sent",
            "request",
            "response",
            "hook-response"
        ],
        "hops {hops:?}"
    );
    let gaps = attrs(
        browser,
        "#timeline figure:first-of-type [data-hop]",
        "data-gap",
    )
    .await?;
    ensure!(
        gaps[0].is_empty() && gaps[1..].iter().all(|g| g.parse::<u64>().is_ok()),
        "gaps {gaps:?}"
    );

    // The preview renders typed data, flags a body that is not JSON, and shows exactly what the
    // sandbox then sends.
    type_into(browser, "previewData", "abc").await?;
    click(browser, "previewButton").await?;
    wait_for(
        browser,
        "section[data-panel=\"webhook\"] [role=\"alert\"]",
        "a non-JSON body is not flagged",
    )
    .await?;
    type_into(browser, "previewData", "{\"t\":1}").await?;
    click(browser, "previewButton").await?;
    let shown = text_of(browser, "templatePreview").await?;
    ensure!(
        shown
            == "{\"deviceId\":\"api\",\"ts\":\"(the time the cloud receives it)\",\"sensor\":{\"t\":1}}",
        "preview {shown}"
    );
    click(browser, "previewPublish").await?;
    wait_for_xpath(
        browser,
        "//pre[@id='templatePreview'][contains(text(), '\"ts\":\"20')]",
        "the preview never showed the published event",
    )
    .await?;
    let shown = text_of(browser, "templatePreview").await?;
    // The sandbox records the delivery once the relay has answered it: wait for that answer.
    wait_for_xpath(
        browser,
        "//div[@id='explainer']//div[@data-kind='server-response']",
        "the published preview got no answer",
    )
    .await?;
    let mut sent = None;
    for _ in 0..100 {
        let log = in_page(
            browser,
            "return await (await fetch('/sandbox/_sim/webhooks')).json();",
        )
        .await?;
        sent = log["webhooks"]
            .as_array()
            .into_iter()
            .flatten()
            .rev()
            .filter_map(|w| w["body"].as_str().map(str::to_owned))
            .find(|body| body.contains("\"sensor\":{\"t\":1}"));
        if sent.is_some() {
            break;
        }
    }
    ensure!(
        sent.as_deref() == Some(shown.as_str()),
        "sent {sent:?} but previewed {shown}"
    );

    // A request copied as curl and run against the relay arrives identical; Replay re-sends it.
    let command = browser
        .client
        .find(Locator::Css("#explainer pre.curl"))
        .await?
        .text()
        .await?;
    let rows = texts(browser, "#webhookDemoDataTable tbody tr")
        .await?
        .len();
    let ran = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{command} -s -o /dev/null -w '%{{http_code}}'"))
        .output()
        .context("running curl (cargo xtask test installs it)")?;
    ensure!(
        String::from_utf8_lossy(&ran.stdout) == "200",
        "curl: {ran:?}"
    );
    wait_for(
        browser,
        &format!("#webhookDemoDataTable tbody tr:nth-child({})", rows + 1),
        "the curl request never arrived",
    )
    .await?;
    click_css(browser, "#exportSession").await?;
    let href = browser
        .client
        .find(Locator::Id("exportSession"))
        .await?
        .attr("href")
        .await?
        .unwrap_or_default();
    let exported: serde_json::Value = serde_json::from_str(&percent_decode(
        href.strip_prefix("data:application/json;charset=utf-8,")
            .unwrap_or_default(),
    ))
    .context("the export is JSON")?;
    let hooks = exported["hooks"].as_array().context("hooks")?;
    let same = |hook: &serde_json::Value| {
        let mut headers: Vec<String> = hook["headers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|pair| {
                format!(
                    "{}: {}",
                    pair[0].as_str().unwrap_or_default().to_ascii_lowercase(),
                    pair[1].as_str().unwrap_or_default()
                )
            })
            .collect();
        headers.sort();
        (
            hook["method"].clone(),
            hook["originalUrl"].clone(),
            hook["body"].clone(),
            headers,
        )
    };
    ensure!(hooks.len() >= 2, "exported {} hooks", hooks.len());
    let (original, copy) = (&hooks[hooks.len() - 2], &hooks[hooks.len() - 1]);
    ensure!(
        same(original) == same(copy),
        "curl sent {copy} for {original}"
    );
    click_css(browser, "#explainer button[data-action=\"replay\"]").await?;
    wait_for_xpath(
        browser,
        "//div[@id='explainer']//h3[text()='Your webhook server received a replayed request']",
        "the replay never arrived",
    )
    .await?;

    // The device's own publish starts a device cycle and adds a row.
    let pressed = in_page(
        browser,
        &format!(
            "return (await fetch('/sandbox/_sim/devices/{P2}/button', {{method: 'POST'}})).status;"
        ),
    )
    .await?;
    ensure!(pressed == 200, "MODE click answered {pressed}");
    wait_for(
        browser,
        "#explainer [data-kind=\"event-device\"]",
        "no device cycle",
    )
    .await?;
    wait_for(
        browser,
        "#webhookDemoDataTable tbody tr:nth-child(2)",
        "no second data row",
    )
    .await?;

    // The in-page server answers 500: the cloud publishes hook-error.
    type_into(browser, "answerStatus", "500").await?;
    click(browser, "answerApply").await?;
    click(browser, "testWebhookButton").await?;
    wait_for(
        browser,
        "#explainer [data-kind=\"hook-error\"]",
        "a 500 gave no hook-error",
    )
    .await?;
    wait_for(
        browser,
        "#timeline figure:first-of-type [data-hop=\"hook-error\"][data-status=\"failed\"]",
        "the timeline does not draw the error",
    )
    .await?;
    // The delivery log has one row per attempt (per WebhookDemo01 event), the newest an error.
    wait_for(
        browser,
        "#deliveryLog tbody tr:first-child[data-status=\"error\"]",
        "the delivery log does not show the error",
    )
    .await?;
    let attempts = texts(browser, "#eventsTable tbody td:nth-child(2)")
        .await?
        .iter()
        .filter(|name| *name == "WebhookDemo01")
        .count();
    let rows = texts(browser, "#deliveryLog tbody tr").await?.len();
    ensure!(
        rows == attempts,
        "{rows} delivery rows for {attempts} attempts"
    );
    let answered = texts(browser, "#deliveryLog tbody tr:first-child td").await?;
    ensure!(
        answered.get(3).map(String::as_str) == Some("500"),
        "error row {answered:?}"
    );
    logged(browser, "api/hook-error/WebhookDemo01/0").await?;

    // Stop, then Start again: one more Test adds exactly one row, nothing is duplicated.
    click(browser, "startDemo").await?;
    wait_for_state(browser, "start", "ready").await?;
    let rows_before = texts(browser, "#webhookDemoDataTable tbody tr")
        .await?
        .len();
    let tests_before = texts(browser, "#eventsTable tbody td:nth-child(2)")
        .await?
        .iter()
        .filter(|n| *n == "WebhookDemo01")
        .count();
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;
    wait_for_state(browser, "test", "ready").await?;
    click(browser, "testWebhookButton").await?;
    wait_for(
        browser,
        "#explainer [data-kind=\"hook-error\"]",
        "no hook-error after restart",
    )
    .await?;
    let rows_after = texts(browser, "#webhookDemoDataTable tbody tr")
        .await?
        .len();
    let tests_after = texts(browser, "#eventsTable tbody td:nth-child(2)")
        .await?
        .iter()
        .filter(|n| *n == "WebhookDemo01")
        .count();
    ensure!(
        rows_after == rows_before + 1,
        "data rows {rows_before} → {rows_after}"
    );
    ensure!(
        tests_after == tests_before + 1,
        "test events {tests_before} → {tests_after}"
    );

    // Hostile text published by a device, and in a request header, stays text.
    let hostile = "</td><script>alert(1)</script>";
    let token_js = "const token = sessionStorage.getItem('webhook-demo:token') || localStorage.getItem('webhook-demo:token');";
    let published = in_page(
        browser,
        &format!(
            "const r = await fetch('/sandbox/_sim/devices/{P2}/publish', {{method: 'POST', \
             headers: {{'Content-Type': 'application/json'}}, \
             body: JSON.stringify({{name: 'WebhookDemo01', data: {hostile:?}}})}}); return r.status;"
        ),
    )
    .await?;
    ensure!(published == 200, "publishing answered {published}");
    wait_for_xpath(
        browser,
        &format!("//table[@id='eventsTable']//td[text()={hostile:?}]"),
        "the hostile event data is not shown as text",
    )
    .await?;
    let header = "<img src=x onerror=alert(1)>";
    // The restart above opened a new relay session, with a new hook URL.
    let hook_url = texts(browser, ".webhookUrlSpan")
        .await?
        .first()
        .cloned()
        .unwrap_or_default();
    let sent = in_page(
        browser,
        &format!("return (await fetch({hook_url:?}, {{method: 'POST', headers: {{'X-Note': {header:?}}}, body: 'hi'}})).status;"),
    )
    .await?;
    ensure!(sent == 401, "a hook without the secret answered {sent}");
    wait_for_xpath(
        browser,
        &format!("//div[@id='explainer']//td[text()={header:?}]"),
        "the hostile header is not shown as text",
    )
    .await?;
    ensure!(
        browser
            .client
            .find_all(Locator::Css("#app img, #app script"))
            .await?
            .is_empty(),
        "hostile text became elements"
    );

    // Cleanup removes the webhook, the device from the product and the product.
    click(browser, "startDemo").await?;
    wait_for_state(browser, "start", "ready").await?;
    click(browser, "cleanupButton").await?;
    let question = text_of(browser, "cleanupQuestion").await?;
    ensure!(
        question.contains("delete the webhook WebhookDemo01")
            && question.contains("restore Tinker on the product's online devices")
            && question.contains("remove 1 device from the product")
            && question.contains(&format!("({product})")),
        "confirmation: {question}"
    );
    click(browser, "cleanupConfirm").await?;
    wait_for_state(browser, "cleanup", "done").await?;
    let outcomes = attrs(browser, "#cleanupProgress li", "data-outcome").await?;
    ensure!(
        outcomes == ["done", "done", "done", "done"],
        "cleanup steps {outcomes:?}"
    );
    let after = in_page(
        browser,
        &format!(
            "{token_js} const h = {{headers: {{Authorization: 'Bearer ' + token}}}}; \
             const product = (await fetch('/sandbox/v1/products/{product}', h)).status; \
             const device = await (await fetch('/sandbox/v1/devices/{P2}', h)).json(); \
             return [product, device.product_id];"
        ),
    )
    .await?;
    ensure!(
        after == serde_json::json!([404, 32]),
        "after cleanup: {after}"
    );
    // The P2 was flashed with Tinker: its log says so once it has restarted.
    click(browser, "deviceLogButton").await?;
    wait_for_xpath(
        browser,
        "//pre[@id='deviceLog']/div[text()='restarted running Tinker']",
        "the P2 never restarted running Tinker",
    )
    .await?;
    sign_out(browser).await?;
    no_app_errors(browser).await
}

const ARGON: &str = "e00fce680000000000000003";

async fn firmware(browser: &Browser, server: &Server) -> Result<()> {
    open(browser, &server.url).await?;
    let files = texts(browser, "#firmwareFiles button").await?;
    ensure!(
        files == ["src/webhook-demo.cpp", "project.properties", "README.md"],
        "files {files:?}"
    );
    wait_for(
        browser,
        "#firmwareSource pre[data-file=\"src/webhook-demo.cpp\"]:not([hidden]) span.k",
        "the source is not shown highlighted",
    )
    .await?;
    browser
        .client
        .find(Locator::Css(
            "#firmwareFiles button[data-file=\"project.properties\"]",
        ))
        .await?
        .click()
        .await?;
    wait_for(
        browser,
        "#firmwareSource pre[data-file=\"project.properties\"]:not([hidden])",
        "the file list does not switch files",
    )
    .await?;
    ensure!(
        browser
            .client
            .find_all(Locator::Css("#firmwareSource pre:not([hidden])"))
            .await?
            .len()
            == 1,
        "more than one file shown"
    );

    // The zip holds exactly the project's files.
    let bytes = in_page(
        browser,
        "const r = await fetch(document.getElementById('firmwareDownload').href); \
         return Array.from(new Uint8Array(await r.arrayBuffer()));",
    )
    .await?;
    let bytes: Vec<u8> = bytes
        .as_array()
        .context("zip bytes")?
        .iter()
        .map(|b| b.as_u64().unwrap_or(0) as u8)
        .collect();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).context("a zip")?;
    let project = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware/webhook-demo");
    let mut names = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index)?;
        let mut content = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut content)?;
        let name = entry.name().to_owned();
        let path = name
            .strip_prefix("webhook-demo/")
            .context("inside webhook-demo/")?;
        ensure!(
            content == std::fs::read(project.join(path))?,
            "{name} differs from the project"
        );
        names.push(name);
    }
    ensure!(names.len() == 3, "zip entries {names:?}");

    // Flashing the offline Argon is refused with a reason; once online it can be flashed.
    sandbox_sign_in_to_devices(browser).await?;
    choose(browser, "deviceSelect", ARGON).await?;
    wait_for_state(browser, "firmware", "offline").await?;
    // The Argon joins a product of its own, and the demo runs, so its publishes reach the page.
    wait_for_state(browser, "select-product", "no-product").await?;
    click(browser, "createNewProductButton").await?;
    wait_for_state(browser, "add-device", "can-add").await?;
    click(browser, "addDeviceButton").await?;
    wait_for_state(browser, "add-device", "in-product").await?;
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;
    let online = in_page(
        browser,
        &format!("return (await fetch('/sandbox/_sim/devices/{ARGON}/online', {{method: 'PUT', \
                  headers: {{'Content-Type': 'application/json'}}, body: '{{\"online\":true}}'}})).status;"),
    )
    .await?;
    ensure!(online == 200, "taking the Argon online answered {online}");
    click(browser, "refreshDevices").await?;
    wait_for_state(browser, "firmware", "ready").await?;

    // A deliberate compile error comes back with its file and line.
    browser
        .client
        .execute(
            "const pre = document.querySelector('#firmwareSource pre[data-file=\"src/webhook-demo.cpp\"]'); \
             pre.dataset.original = pre.textContent; pre.textContent += '#error try again\\n';",
            Vec::new(),
        )
        .await?;
    click(browser, "firmwareFlash").await?;
    wait_for_state(browser, "firmware", "error").await?;
    let errors = texts(browser, "#flashErrors li").await?;
    ensure!(
        errors
            .iter()
            .any(|e| e.starts_with("src/webhook-demo.cpp:")
                && e.ends_with("error: #error try again")),
        "compile errors {errors:?}"
    );

    // The real sources flash; the device restarts running the demo, and its log shows it publishing.
    browser
        .client
        .execute(
            "const pre = document.querySelector('#firmwareSource pre[data-file=\"src/webhook-demo.cpp\"]'); \
             pre.textContent = pre.dataset.original;",
            Vec::new(),
        )
        .await?;
    click(browser, "deviceLogButton").await?;
    click(browser, "firmwareFlash").await?;
    wait_for_state(browser, "firmware", "flashed").await?;
    wait_for_xpath(
        browser,
        "//strong[@id='flashStatus'][text()='success']",
        "the flash's progress never reached success",
    )
    .await?;
    wait_for_xpath(
        browser,
        "//pre[@id='deviceLog']/div[starts-with(text(), 'published WebhookDemo01')]",
        "the flashed Argon never published",
    )
    .await?;
    // Its event reaches the event log and its request the data table; its log shows the answer.
    wait_for_xpath(
        browser,
        "//table[@id='eventsTable']//tr[td[2]='WebhookDemo01' and td[4]='sandbox-argon']",
        "the Argon's event is not in the event log",
    )
    .await?;
    wait_for_xpath(
        browser,
        &format!("//table[@id='webhookDemoDataTable']//td[text()='{ARGON}']"),
        "the Argon's request is not in the data table",
    )
    .await?;
    wait_for_xpath(
        browser,
        &format!("//pre[@id='deviceLog']/div[starts-with(text(), 'hook response {ARGON}/hook-response/WebhookDemo01/0')]"),
        "the Argon never logged its hook response",
    )
    .await?;
    click(browser, "startDemo").await?;
    sign_out(browser).await?;
    no_app_errors(browser).await
}

/// On a server whose relay ends every stream after a second, hooks sent across several drops
/// all reach the data table, once each.
async fn relay_drops_lose_no_hook(browser: &Browser) -> Result<()> {
    let server = start_server(Options {
        relay_limits: webhook_demo_relay::Limits {
            max_stream_age: Some(Duration::from_secs(1)),
            ..webhook_demo_relay::Limits::default()
        },
        ..Options::default()
    })
    .await?;
    open(browser, &server.url).await?;
    click(browser, "sandboxSignIn").await?;
    wait_for_state(browser, "select-product", "no-product").await?;
    click(browser, "createNewProductButton").await?;
    wait_for_state(browser, "start", "ready").await?;
    // The relay typed in by the learner (here the server's own, by its full address).
    let relay = format!("{}/relay", server.url.trim_end_matches('/'));
    type_into(browser, "relayUrlInput", &relay).await?;
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;
    let sent = in_page(
        browser,
        "const hook = document.querySelector('.webhookUrlSpan').textContent; \
         for (let n = 0; n < 30; n++) { \
           await fetch(hook, {method: 'POST', body: JSON.stringify({n})}); \
           await new Promise(r => setTimeout(r, 100)); \
         } return 30;",
    )
    .await?;
    ensure!(sent == 30, "sent {sent}");
    wait_for(
        browser,
        "#webhookDemoDataTable tbody tr:nth-child(30)",
        "hooks were lost across stream drops",
    )
    .await?;
    let column = texts(browser, "#webhookDemoDataTable thead th").await?;
    ensure!(column == ["n"], "columns {column:?}");
    let mut seen: Vec<u32> = texts(browser, "#webhookDemoDataTable tbody td")
        .await?
        .iter()
        .map(|n| n.parse().unwrap_or(u32::MAX))
        .collect();
    seen.sort_unstable();
    ensure!(seen == (0..30).collect::<Vec<_>>(), "rows {seen:?}");
    click(browser, "startDemo").await?;
    sign_out(browser).await?;
    no_app_errors(browser).await
}

/// Issue 3: whoever holds a relay session chooses what its hook URL answers, `text/html` with a
/// script included, and the hook URL is on the tutorial's own origin. Opened in the browser, that
/// answer must neither run nor reach the origin's `localStorage`, where "Remember me" keeps the
/// learner's token.
async fn relay_answer_is_inert(browser: &Browser, server: &Server) -> Result<()> {
    use axum::body::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper_util::{client::legacy::Client, rt::TokioExecutor};

    browser.client.goto(&server.url).await?;
    browser
        .client
        .execute(
            "localStorage.setItem('relayProbe', 'remembered-token');",
            Vec::new(),
        )
        .await?;

    // A session opened over HTTP, as any client of the relay could.
    let http = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let stream =
        axum::http::Request::get(format!("{}relay/stream", server.url)).body(Full::default())?;
    let mut stream = http.request(stream).await?.into_body();
    let mut head = Vec::new();
    while !head.ends_with(b"\n\n") {
        let frame = stream
            .frame()
            .await
            .context("the stream ended before start")??;
        head.extend_from_slice(frame.data_ref().map_or(&[][..], |data| &data[..]));
    }
    let head = String::from_utf8(head)?;
    let data = head
        .lines()
        .find_map(|line| line.strip_prefix("data: "))
        .context("no start data")?;
    let start: serde_json::Value = serde_json::from_str(data)?;
    let (hook_url, control_url) = (
        start["hookUrl"].as_str().context("no hookUrl")?,
        start["controlUrl"].as_str().context("no controlUrl")?,
    );
    let page = "<!doctype html><title>inert</title><script>\
        try { document.title = 'ran: ' + localStorage.getItem('relayProbe'); \
              localStorage.setItem('relayProbe', 'stolen'); } \
        catch (e) { document.title = 'ran: ' + e.name; }</script>";
    let control = axum::http::Request::post(control_url)
        .header("content-type", "application/json")
        .body(Full::from(
            serde_json::json!({"contentType": "text/html", "body": page}).to_string(),
        ))?;
    let status = http.request(control).await?.status();
    ensure!(status == 200, "control answered {status}");

    browser.client.goto(hook_url).await?;
    let title = browser.client.title().await?;
    ensure!(
        title == "inert",
        "the hook's page ran its script: title {title:?}"
    );
    // Chromium logs the script it blocked; read it here so later checks start with a clean log.
    browser.console_errors().await?;
    browser.client.goto(&server.url).await?;
    let kept = browser
        .client
        .execute(
            "const kept = localStorage.getItem('relayProbe'); \
             localStorage.removeItem('relayProbe'); return kept;",
            Vec::new(),
        )
        .await?;
    ensure!(
        kept == "remembered-token",
        "the tutorial's localStorage was reached: {kept}"
    );
    drop(stream);
    Ok(())
}

/// A stand-in for smee.io on loopback, speaking its protocol: `GET /<channel>` streams `ready`,
/// then each request `POST`ed to the channel as one unnamed message holding its headers, `body`,
/// `query` and `timestamp`; the `POST` itself is answered `200 Ok`.
async fn fake_smee() -> Result<String> {
    use axum::{
        body::{Body, Bytes},
        http::{HeaderMap, header},
        routing::get,
    };
    let (sender, _) = tokio::sync::broadcast::channel::<String>(64);
    let posts = sender.clone();
    let router = axum::Router::new().route(
        "/{channel}",
        get(move || {
            let receiver = sender.subscribe();
            async move {
                let ready = futures_util::stream::once(async {
                    Ok::<_, std::convert::Infallible>(Bytes::from("event: ready\ndata: {}\n\n"))
                });
                let messages = futures_util::stream::unfold(receiver, |mut receiver| async move {
                    let message = receiver.recv().await.ok()?;
                    Some((Ok(Bytes::from(format!("data: {message}\n\n"))), receiver))
                });
                (
                    [
                        (header::CONTENT_TYPE, "text/event-stream"),
                        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
                    ],
                    Body::from_stream(futures_util::StreamExt::chain(ready, messages)),
                )
            }
        })
        .post(move |headers: HeaderMap, body: String| {
            let posts = posts.clone();
            async move {
                let mut message = serde_json::Map::new();
                for (name, value) in &headers {
                    message.insert(
                        name.as_str().to_owned(),
                        value.to_str().unwrap_or_default().into(),
                    );
                }
                let body = serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body));
                message.insert("body".into(), body);
                message.insert("query".into(), serde_json::json!({}));
                message.insert("timestamp".into(), 1_700_000_000_000u64.into());
                let _ = posts.send(serde_json::Value::Object(message).to_string());
                "Ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/webhook-demo-test", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(url)
}

async fn smee_channel(browser: &Browser, server: &Server) -> Result<()> {
    let channel = fake_smee().await?;
    open(browser, &server.url).await?;
    sandbox_sign_in_to_devices(browser).await?;
    choose(browser, "deviceSelect", P2).await?;
    wait_for(browser, "section[data-panel=\"select-product\"]:is([data-state=\"no-product\"], [data-state=\"selected\"])", "products never loaded").await?;
    if state_of(browser, "select-product").await? == "no-product" {
        click(browser, "createNewProductButton").await?;
    }
    wait_for_state(browser, "start", "ready").await?;
    // "New channel" makes one up on smee.io; this check types its stand-in's instead.
    click_css(browser, "button[data-action=\"new-smee\"]").await?;
    let made_up = value_of(browser, "smeeUrlInput").await?;
    ensure!(
        made_up.starts_with("https://smee.io/") && made_up.len() == 32,
        "made-up channel {made_up:?}"
    );
    type_into(browser, "smeeUrlInput", &channel).await?;
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;
    ensure!(
        texts(browser, ".webhookUrlSpan")
            .await?
            .iter()
            .all(|url| *url == channel),
        "the hook URL is not the channel"
    );
    let rows_before = texts(browser, "#webhookDemoDataTable tbody tr")
        .await?
        .len();
    click(browser, "testWebhookButton").await?;
    wait_for(
        browser,
        &format!(
            "#webhookDemoDataTable tbody tr:nth-child({})",
            rows_before + 1
        ),
        "the channel's request never reached the data table",
    )
    .await?;
    wait_for(
        browser,
        "#explainer [data-kind=\"hook-response\"]",
        "smee's own answer never came back",
    )
    .await?;
    click(browser, "startDemo").await?;
    sign_out(browser).await?;
    no_app_errors(browser).await
}

async fn click_css(browser: &Browser, css: &str) -> Result<()> {
    browser
        .client
        .find(Locator::Css(css))
        .await?
        .click()
        .await?;
    Ok(())
}

/// `%XX` escapes decoded (what `encodeURIComponent` wrote).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
