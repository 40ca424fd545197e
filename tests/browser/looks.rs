//! The page's main states (signed out, set up, after Test, after a 500, asking before signing out
//! mid-run, a run resumed after a reload, firmware, cleanup with the summary), each
//! at 1280 and 390 px in light and dark: axe-core finds no serious or critical violation, and a
//! phone never scrolls sideways. With `SCREENSHOTS=DIR` (`cargo xtask screenshots`), a PNG of
//! each goes into DIR.
//!
//! axe-core comes from npm (`cargo xtask test` installs it and names its script in `AXE_CORE`);
//! it is injected as a WebDriver script, which the page's CSP does not govern. The colour scheme
//! and the phone's viewport are emulated with DevTools commands, and `matchMedia` confirms the
//! page really sees the scheme asked for.

use std::path::PathBuf;

use anyhow::{Context, Result, ensure};
use fantoccini::Locator;

use crate::support::{Browser, Server, fixture::*, page::*};

pub async fn run(browser: &Browser, server: &Server) -> Result<()> {
    let axe_path = std::env::var("AXE_CORE")
        .context("AXE_CORE is not set: run `cargo xtask test`, which installs axe-core")?;
    let axe = std::fs::read_to_string(&axe_path).with_context(|| format!("reading {axe_path}"))?;
    let shots = std::env::var_os("SCREENSHOTS").map(PathBuf::from);
    let mut problems = Vec::new();
    let mut look = async |state: &'static str| -> Result<()> {
        problems.extend(look(browser, &axe, shots.as_ref(), state).await?);
        Ok(())
    };

    open(browser, &server.url).await?;
    wait(browser, Locator::Id("sandboxSignIn"), "no sandbox button").await?;
    look("signed-out").await?;

    sandbox_sign_in_to_devices(browser).await?;
    choose(browser, "deviceSelect", P2).await?;
    wait_for_state(browser, "select-product", "no-product").await?;
    click(browser, "createNewProductButton").await?;
    wait_for_state(browser, "select-product", "selected").await?;
    wait_for(browser, "#addDeviceButton", "no Add button").await?;
    click(browser, "addDeviceButton").await?;
    wait_for_state(browser, "add-device", "in-product").await?;
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;
    look("set-up").await?;

    click(browser, "testWebhookButton").await?;
    wait_for(browser, "#explainer [data-kind=\"hook-response\"]", "no hook-response").await?;
    look("after-test").await?;

    type_into(browser, "answerStatus", "500").await?;
    click(browser, "answerApply").await?;
    click(browser, "testWebhookButton").await?;
    wait_for(browser, "#explainer [data-kind=\"hook-error\"]", "a 500 gave no hook-error").await?;
    look("after-500").await?;

    click(browser, "signOut").await?;
    wait_for(browser, "#signOutQuestion", "no question before signing out mid-run").await?;
    look("asking-sign-out").await?;
    click(browser, "signOutCancel").await?;
    browser.client.refresh().await?;
    wait_for_state(browser, "start", "running").await?;
    wait_for_state(browser, "webhook", "created").await?;
    wait_for(browser, "#requestList tbody tr[data-row]", "the resumed run lists no request").await?;
    look("resumed").await?;

    click(browser, "deviceLogButton").await?;
    click(browser, "firmwareFlash").await?;
    wait_for_xpath(
        browser,
        "//strong[@id='flashStatus'][text()='success']",
        "the flash never reached success",
    )
    .await?;
    look("firmware").await?;

    click(browser, "startDemo").await?;
    wait_for_state(browser, "start", "ready").await?;
    click(browser, "cleanupButton").await?;
    // The question comes once the product's integrations are listed.
    wait_for(browser, "#cleanupConfirm", "no question").await?;
    click(browser, "cleanupConfirm").await?;
    wait_for_state(browser, "cleanup", "done").await?;
    look("cleanup").await?;

    emulate(browser, 1280, "light").await?;
    sign_out(browser).await?;
    ensure!(problems.is_empty(), "{}", problems.join("\n"));
    no_app_errors(browser).await
}

/// What is wrong with the page as it is now, at each width and scheme (and its pictures).
pub(crate) async fn look(
    browser: &Browser,
    axe: &str,
    shots: Option<&PathBuf>,
    state: &str,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for (width, scheme) in [(1280, "light"), (1280, "dark"), (390, "light"), (390, "dark")] {
        let at = format!("{state} at {width} px, {scheme}");
        emulate(browser, width, scheme).await?;
        let seen = browser
            .client
            .execute(
                "return [matchMedia('(prefers-color-scheme: dark)').matches, innerWidth, \
                 document.documentElement.scrollWidth, document.documentElement.scrollHeight];",
                Vec::new(),
            )
            .await?;
        ensure!(
            seen[0] == (scheme == "dark") && seen[1] == width,
            "{at}: the page sees {seen}"
        );
        if seen[2].as_u64() > seen[1].as_u64() {
            let wide = browser
                .client
                .execute(
                    "return [...document.querySelectorAll('#app *')].filter(e => \
                     e.getBoundingClientRect().right > innerWidth && \
                     ![...e.children].some(c => c.getBoundingClientRect().right > innerWidth)) \
                     .slice(0, 5).map(e => e.tagName + ' in ' + (e.closest('[id]') || {}).id);",
                    Vec::new(),
                )
                .await?;
            problems.push(format!(
                "{at}: the page scrolls sideways (scrollWidth {}, innerWidth {}): {wide}",
                seen[2], seen[1]
            ));
        }
        let found = violations(browser, axe).await?;
        problems.extend(found.iter().map(|v| format!("{at}: {v}")));
        if let Some(dir) = shots {
            let height = seen[3].as_u64().unwrap_or(1000);
            metrics(browser, width, height).await?;
            let png = browser.client.screenshot().await?;
            let file = dir.join(format!("{state}-{width}-{scheme}.png"));
            std::fs::write(&file, png).with_context(|| format!("writing {}", file.display()))?;
        }
    }
    Ok(problems)
}

/// axe-core's serious and critical violations, as `rule: selectors summary`.
async fn violations(browser: &Browser, axe: &str) -> Result<Vec<String>> {
    let loaded = browser.client.execute("return typeof axe;", Vec::new()).await?;
    if loaded != "object" {
        browser.client.execute(axe, Vec::new()).await?;
    }
    let found = browser
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations \
               .filter(v => v.impact === 'serious' || v.impact === 'critical') \
               .flatMap(v => v.nodes.map(n => \
                 v.id + ': ' + n.target.join(' ') + ' ' + n.failureSummary))), \
               e => done([String(e)]));",
            Vec::new(),
        )
        .await?;
    Ok(found
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect())
}
