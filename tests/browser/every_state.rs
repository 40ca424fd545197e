//! The page as `cargo xtask build` ships it renders every template and every helper the
//! templates use: the module this suite runs against has had the handlebars code the page never
//! calls cut out by name (`xtask/src/shrink.rs`), which the native tests never see.
//!
//! A cut body that the page does reach traps (`unreachable`), and a template that fails to render
//! panics (`page.rs`); either logs an error to the console and leaves the panel as it was. What a
//! cut could break is a helper or a kind of template element, not one `{{#if}}` branch rather than
//! another (every branch runs the same handlebars code), so the check walks one learner through
//! states that render every template with every helper and kind of element the templates use
//! (`page.hbs`'s partials, expressions, `if`/`else`, `unless`, `each` with `this`, `with`,
//! `lookup`, `collapse`), waits at each for the panels to show the new state (so each was rendered
//! again) and fails on any console error: signed out, a one-time code asked for and refused, signed
//! in with no device, signed in with devices, a device and a new product, the device added, the
//! firmware panel (another file shown, a compile error, a flash), the demo running with its
//! webhook, a test's cycle and a device's shown in the explainer, a request selected, the secret
//! revealed, slow motion, the demo stopped, cleanup asked, confirmed and done, and signed out
//! again. The step list (`steps.hbs`, whose render failures a refresh skips) is checked to follow.

use anyhow::{Result, ensure};
use webhook_demo_server::Options;

use crate::support::{Browser, Server, fixture::*, page::*, start_server};

pub async fn run(browser: &Browser, _shared: &Server) -> Result<()> {
    // A server of its own: the flash and the cleanup leave the sandbox's devices changed.
    let server = start_server(Options::default()).await?;
    open(browser, &server.url).await?;
    every_panel_shows(browser).await?;
    ensure!(
        !attrs(browser, "details.collapse", "class").await?.is_empty(),
        "the collapse helper rendered no disclosure"
    );
    step_is(browser, "sign-in", "current").await?;
    no_app_errors(browser).await?;

    // A one-time code asked for, a wrong one refused, then no device to pick.
    mfa_sign_in(browser).await?;
    wait_for_state(browser, "select-device", "no-device").await?;
    no_app_errors(browser).await?;
    sign_out(browser).await?;

    // Signed in with devices; a device, a new product, the device added.
    sandbox_sign_in_to_devices(browser).await?;
    step_is(browser, "sign-in", "done").await?;
    choose(browser, "deviceSelect", P2).await?;
    wait_for_state(browser, "select-product", "no-product").await?;
    wait_for_state(browser, "firmware", "ready").await?;
    click(browser, "createNewProductButton").await?;
    wait_for_state(browser, "select-product", "selected").await?;
    wait_for_state(browser, "add-device", "can-add").await?;
    click(browser, "addDeviceButton").await?;
    wait_for_state(browser, "add-device", "in-product").await?;
    step_is(browser, "add-device", "done").await?;
    no_app_errors(browser).await?;

    // The firmware panel: another file, a compile error listed, then the flash.
    click_css(browser, "#firmwareFiles [data-action=\"show-file\"]:not([aria-pressed=\"true\"])")
        .await?;
    break_firmware(browser).await?;
    click(browser, "firmwareFlash").await?;
    wait_for_state(browser, "firmware", "error").await?;
    ensure!(
        !texts(browser, "#flashErrors li").await?.is_empty(),
        "no compile error listed"
    );
    fix_firmware(browser).await?;
    click(browser, "firmwareFlash").await?;
    wait_for_state(browser, "firmware", "flashed").await?;
    no_app_errors(browser).await?;

    // The demo: its webhook, a test's cycle and a device's, in the explainer and the lists.
    click(browser, "startDemo").await?;
    wait_for_state(browser, "start", "running").await?;
    wait_for_state(browser, "webhook", "created").await?;
    wait_for_state(browser, "test", "ready").await?;
    click(browser, "testWebhookButton").await?;
    let tested = "#requestList tr[data-row^=\"api@\"][data-status=response]";
    wait_for(browser, tested, "the test's request never finished").await?;
    wait_for_state(browser, "test", "sent").await?;
    press_mode(browser, P2).await?;
    let published = "#requestList tr[data-row^=\"e00f\"][data-status=response]";
    wait_for(browser, published, "the device's request never finished").await?;
    wait_for(browser, "#timeline [data-cycle^=\"e00f\"]", "the newest cycle is not shown").await?;
    ensure!(
        attrs(browser, "#explainer [data-slot]", "data-slot").await?.len() >= 6,
        "the explainer shows too few cards"
    );
    no_app_errors(browser).await?;

    // A request selected, the secret revealed, slow motion; then the demo stops.
    let key = attrs(browser, tested, "data-row").await?.concat();
    select_request(browser, &key).await?;
    click(browser, "revealSecretCurl").await?;
    wait_for(
        browser,
        "#revealSecretCurl[aria-pressed=\"true\"]",
        "the secret is not revealed",
    )
    .await?;
    click_css(browser, "[data-action=\"slow-motion\"]").await?;
    wait_for(
        browser,
        "[data-action=\"slow-motion\"]:checked",
        "slow motion is not on",
    )
    .await?;
    click(browser, "startDemo").await?;
    wait_for_state(browser, "start", "ready").await?;
    wait_for_state(browser, "webhook", "stopped").await?;
    no_app_errors(browser).await?;

    // Cleanup asked, confirmed and done; then signed out.
    click(browser, "cleanupButton").await?;
    wait_for_state(browser, "cleanup", "confirming").await?;
    click(browser, "cleanupConfirm").await?;
    wait_for_state(browser, "cleanup", "done").await?;
    ensure!(
        !attrs(browser, "#cleanupProgress li", "data-step").await?.is_empty(),
        "no cleanup step listed"
    );
    no_app_errors(browser).await?;
    sign_out(browser).await?;
    every_panel_shows(browser).await?;
    no_app_errors(browser).await
}

/// Every panel is on the page with a `data-state` (which `lookup` reads).
async fn every_panel_shows(browser: &Browser) -> Result<()> {
    let shown = attrs(browser, "section[data-panel]", "data-panel").await?;
    let states = attrs(browser, "section[data-panel]", "data-state").await?;
    ensure!(shown == panels(), "the page shows the panels {shown:?}");
    ensure!(
        states.iter().all(|state| !state.is_empty()),
        "a panel without its state: {states:?}"
    );
    Ok(())
}

/// Waits until the step list marks `step` with `status`.
async fn step_is(browser: &Browser, step: &str, status: &str) -> Result<()> {
    let css = format!("#steps li[data-step=\"{step}\"][data-status=\"{status}\"]");
    wait_for(browser, &css, &format!("the step list never marked {step} {status}")).await?;
    Ok(())
}
