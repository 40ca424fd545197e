//! The tutorial with the keyboard only: sign in, pick a device with the arrow keys, create a
//! product, add the device, start, test and clean up, with focus never on `<body>` after an
//! action, and the step list (`#steps`) following along.

use anyhow::{Result, bail, ensure};
use fantoccini::{
    actions::{InputSource, KeyAction, KeyActions},
    key::Key,
};
use crate::support::{Browser, Server, fixture::*, page::*};

/// How many Tab presses may lie between two controls the learner uses.
const TABS: usize = 120;

pub async fn run(browser: &Browser, server: &Server) -> Result<()> {
    open(browser, &server.url).await?;
    wait_for(browser, "#sandboxSignIn", "no sandbox button").await?;
    expect_steps(browser, &["current", "locked", "locked", "locked", "locked", "locked", "locked", "locked", "locked"]).await?;

    // The skip link comes first and leads into the tutorial.
    press(browser, Key::Tab, false).await?;
    ensure!(active(browser).await?.1 == "Skip to the tutorial", "the first Tab stop is not the skip link");
    press(browser, Key::Enter, false).await?;
    ensure!(active(browser).await?.0 == "main", "the skip link does not lead to the tutorial");

    tab_to(browser, "sandboxSignIn", false).await?;
    press(browser, Key::Enter, false).await?;
    wait_for_state(browser, "select-device", "choose").await?;
    focus_kept(browser, "signing in").await?;
    ensure!(step(browser, "sign-in").await? == "done", "sign-in is not done");

    // Arrowing through the device list picks each device and keeps focus on the list.
    tab_to(browser, "deviceSelect", false).await?;
    let mut seen = Vec::new();
    for key in [Key::Down, Key::Down, Key::Up, Key::Up, Key::Up] {
        press(browser, key, false).await?;
        let value = value_of(browser, "deviceSelect").await?;
        ensure!(
            active(browser).await?.0 == "deviceSelect",
            "an arrow key took focus off the device list"
        );
        wait_for(browser, "#deviceInfo code", "no device details").await?;
        if !seen.contains(&value) {
            seen.push(value);
        }
        if seen.len() >= 2 && value_of(browser, "deviceSelect").await? == P2 {
            break;
        }
    }
    ensure!(seen.len() >= 2, "the arrow keys picked only {seen:?}");
    ensure!(value_of(browser, "deviceSelect").await? == P2, "the arrows never reached the P2: {seen:?}");
    let info = text_of(browser, "deviceInfo").await?;
    ensure!(info.contains(P2), "the device details do not follow the list: {info}");

    tab_to(browser, "createNewProductButton", false).await?;
    press(browser, Key::Enter, false).await?;
    wait_for_state(browser, "select-product", "selected").await?;
    focus_kept(browser, "creating the product").await?;
    ensure!(step(browser, "select-product").await? == "done", "select-product is not done");

    tab_to(browser, "addDeviceButton", false).await?;
    press(browser, Key::Enter, false).await?;
    wait_for_state(browser, "add-device", "in-product").await?;
    focus_kept(browser, "adding the device").await?;
    expect_steps(browser, &["done", "done", "done", "done", "current", "locked", "locked", "locked", "locked"]).await?;

    tab_to(browser, "startDemo", false).await?;
    press(browser, Key::Enter, false).await?;
    wait_for_state(browser, "webhook", "created").await?;
    // Once the webhook is saved, Test is the next action: focus moves there.
    wait_focused_in_view(browser, "testWebhookButton", "starting the demo").await?;
    ensure!(step(browser, "start").await? == "done", "start is not done");
    ensure!(step(browser, "test").await? == "current", "test is not current");
    // The finished setup steps collapse to one line each.
    let open = browser
        .client
        .execute("return [...document.querySelectorAll('details.step')].map(d => d.open);", Vec::new())
        .await?;
    ensure!(open == serde_json::json!([false, false, false]), "setup steps left open: {open}");

    tab_to(browser, "testWebhookButton", false).await?;
    press(browser, Key::Enter, false).await?;
    wait_for(browser, "#explainer [data-kind=\"hook-response\"]", "no hook-response").await?;
    // The view moves to the result: focus on its heading.
    wait_for(browser, "#explainer-title:focus", "focus did not move to the result").await?;
    ensure!(step(browser, "test").await? == "done", "test is not done");

    // Showing another firmware file keeps focus on its button.
    tab_to(browser, "file:project.properties", false).await?;
    press(browser, Key::Enter, false).await?;
    wait_for(browser, "[id=\"file:project.properties\"][aria-pressed=\"true\"]", "the file is not shown").await?;
    ensure!(active(browser).await?.0 == "file:project.properties", "the file button lost focus");

    tab_to(browser, "startDemo", true).await?;
    press(browser, Key::Enter, false).await?;
    wait_for_state(browser, "start", "ready").await?;
    focus_kept(browser, "stopping").await?;
    tab_to(browser, "cleanupButton", false).await?;
    press(browser, Key::Enter, false).await?;
    wait_for(browser, "#cleanupConfirm", "no confirmation").await?;
    focus_kept(browser, "asking to clean up").await?;
    tab_to(browser, "cleanupConfirm", false).await?;
    press(browser, Key::Enter, false).await?;
    wait_for_state(browser, "cleanup", "done").await?;
    focus_kept(browser, "cleaning up").await?;
    ensure!(step(browser, "cleanup").await? == "done", "cleanup is not done");
    let said = text_of(browser, "announce").await?;
    ensure!(said.contains(": done"), "the last cleanup step was not announced: {said:?}");

    sign_out(browser).await?;
    no_app_errors(browser).await
}

/// Presses `key` (with Shift when `shift`) wherever focus is.
async fn press(browser: &Browser, key: Key, shift: bool) -> Result<()> {
    let key = char::from(key);
    let shift_key = char::from(Key::Shift);
    let mut keys = KeyActions::new("keyboard".into());
    if shift {
        keys = keys.then(KeyAction::Down { value: shift_key });
    }
    keys = keys
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    if shift {
        keys = keys.then(KeyAction::Up { value: shift_key });
    }
    browser.client.perform_actions(keys).await?;
    Ok(())
}

/// The focused element's id and text.
async fn active(browser: &Browser) -> Result<(String, String)> {
    let found = browser
        .client
        .execute(
            "const e = document.activeElement; return [e ? e.id : '', e ? e.tagName : '', e ? e.textContent.trim() : ''];",
            Vec::new(),
        )
        .await?;
    let text = |i: usize| found[i].as_str().unwrap_or_default().to_owned();
    if text(1) == "BODY" {
        return Ok(("<body>".into(), String::new()));
    }
    Ok((text(0), text(2)))
}

/// Fails when focus fell to `<body>` after `what`.
async fn focus_kept(browser: &Browser, what: &str) -> Result<()> {
    let (id, _) = active(browser).await?;
    ensure!(id != "<body>", "focus fell to <body> after {what}");
    Ok(())
}

/// Tabs (backwards with `back`) until the control `id` has focus.
async fn tab_to(browser: &Browser, id: &str, back: bool) -> Result<()> {
    for _ in 0..TABS {
        if active(browser).await?.0 == id {
            return Ok(());
        }
        press(browser, Key::Tab, back).await?;
    }
    bail!("{TABS} presses of Tab never reached #{id}")
}

/// The status of one step in `#steps`.
async fn step(browser: &Browser, name: &str) -> Result<String> {
    let status = attrs(browser, &format!("#steps [data-step=\"{name}\"]"), "data-status").await?;
    Ok(status.into_iter().next().unwrap_or_default())
}

async fn expect_steps(browser: &Browser, expected: &[&str]) -> Result<()> {
    let statuses = attrs(browser, "#steps [data-step]", "data-status").await?;
    ensure!(statuses == expected, "steps are {statuses:?}, not {expected:?}");
    Ok(())
}
