//! On a phone (390 px, dark): a device named with 63 characters and no space never makes the page
//! scroll sideways, in any state of the tutorial; the device table wraps the name rather than
//! hiding it; the request list shows each request's status and latency on screen; and the compact
//! step bar stays in reach at the bottom of the page.

use anyhow::{Result, ensure};

use crate::support::{Browser, Server, fixture::*, page::*};

/// 63 characters, the longest name Particle gives a device, without a place to break.
const LONG: &str = "sandbox-boron-with-a-name-as-long-as-particle-allows-0123456789";

pub async fn run(browser: &Browser, server: &Server) -> Result<()> {
    assert_eq!(LONG.len(), 63);
    open(browser, &server.url).await?;
    rename(browser, LONG).await?;
    emulate(browser, 390, "dark").await?;
    let result = walk(browser).await;
    emulate(browser, 1280, "light").await?;
    rename(browser, "sandbox-boron").await?;
    result?;
    no_app_errors(browser).await
}

async fn walk(browser: &Browser) -> Result<()> {
    sandbox_sign_in_to_devices(browser).await?;
    choose(browser, "deviceSelect", BORON).await?;
    wait_for_state(browser, "select-product", "no-product").await?;
    narrow(browser, "a long-named device picked").await?;
    let info = text_of(browser, "deviceInfo").await?;
    ensure!(info.contains(LONG), "the device table hides the name: {info}");
    click(browser, "createNewProductButton").await?;
    wait_for_state(browser, "add-device", "can-add").await?;
    narrow(browser, "its product created").await?;
    click(browser, "addDeviceButton").await?;
    wait_for_state(browser, "add-device", "in-product").await?;
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;
    narrow(browser, "the demo started").await?;
    press_mode(browser, BORON).await?;
    wait_for(browser, "#requestList tbody tr[data-row]", "no request listed").await?;
    narrow(browser, "a request from the long-named device").await?;
    // The request's status and latency are on screen, not beyond the list's right edge.
    let shown = browser
        .client
        .execute(
            "const row = document.querySelector('#requestList tbody tr[data-row]'); \
             row.scrollIntoView({block: 'center'}); \
             return [2, 3, 4].map(i => { const r = row.children[i].getBoundingClientRect(); \
               return r.width > 0 && r.left >= 0 && r.right <= innerWidth; });",
            Vec::new(),
        )
        .await?;
    ensure!(shown == serde_json::json!([true, true, true]), "outcome, status, latency on screen: {shown}");
    stop_and_clean_up(browser).await?;
    narrow(browser, "cleaned up").await?;
    // At the end of the page the step bar is still at the top of the screen.
    let bar = browser
        .client
        .execute(
            "scrollTo(0, document.documentElement.scrollHeight); \
             const r = document.getElementById('steps').getBoundingClientRect(); return [r.top, r.height];",
            Vec::new(),
        )
        .await?;
    ensure!(
        bar[0].as_f64().is_some_and(|t| t.abs() < 1.0) && bar[1].as_f64().is_some_and(|h| h < 120.0),
        "the step bar is not in reach: {bar}"
    );
    sign_out(browser).await?;
    narrow(browser, "signed out").await
}

/// Fails when the page scrolls sideways, naming what sticks out.
async fn narrow(browser: &Browser, when: &str) -> Result<()> {
    let wide = browser
        .client
        .execute(
            "if (document.documentElement.scrollWidth <= innerWidth) return []; \
             return [...document.querySelectorAll('#app *')].filter(e => \
               e.getBoundingClientRect().right > innerWidth && \
               ![...e.children].some(c => c.getBoundingClientRect().right > innerWidth) && \
               !e.closest('.scroll,[role=region],table,pre')) \
             .slice(0, 5).map(e => e.tagName + '.' + e.className + ' in ' + (e.closest('[id]') || {}).id);",
            Vec::new(),
        )
        .await?;
    let sideways = browser
        .client
        .execute("return document.documentElement.scrollWidth - innerWidth;", Vec::new())
        .await?;
    ensure!(
        sideways.as_f64().is_some_and(|w| w <= 0.0),
        "{when}: the page scrolls sideways by {sideways} px: {wide}"
    );
    Ok(())
}

async fn rename(browser: &Browser, name: &str) -> Result<()> {
    let token = sandbox_token(browser, "sandbox%40example.com").await?;
    let renamed = in_page(
        browser,
        &format!(
            "const r = await fetch('/sandbox/v1/devices/{BORON}', {{method: 'PUT', headers: \
             {{Authorization: 'Bearer {token}', 'Content-Type': 'application/json'}}, \
             body: JSON.stringify({{name: {name:?}}})}}); return r.status;"
        ),
    )
    .await?;
    ensure!(renamed == 200, "renaming answered {renamed}");
    Ok(())
}
