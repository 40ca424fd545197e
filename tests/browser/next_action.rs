//! After each setup step the next action is focused and in view, at 1280 and 390 px: signed in →
//! the device list, the product created → Add, the device added → Start, the demo started →
//! Test, which sits right under Start. A chosen answer preset keeps focus and shows it is chosen;
//! Stop makes Start the step to do again and Test one still ahead.

use anyhow::{Result, ensure};

use crate::support::{Browser, Server, fixture::*, page::*};

pub async fn run(browser: &Browser, server: &Server) -> Result<()> {
    for width in [1280, 390] {
        emulate(browser, width, "light").await?;
        walk(browser, server, width).await?;
    }
    emulate(browser, 1280, "light").await?;
    // The checks after this one start from the fixture: no product left behind.
    reset_sandbox(browser).await?;
    no_app_errors(browser).await
}


async fn walk(browser: &Browser, server: &Server, width: u64) -> Result<()> {
    let at = |what: &str| format!("{what} at {width} px");
    open(browser, &server.url).await?;
    // A fresh sandbox each time: no product from an earlier walk is picked again by itself.
    reset_sandbox(browser).await?;
    wait_for(browser, "#sandboxSignIn", "no sandbox button").await?;
    click(browser, "sandboxSignIn").await?;
    wait_focused_in_view(browser, "deviceSelect", &at("signing in")).await?;
    wait_for_state(browser, "select-device", "choose").await?;
    choose(browser, "deviceSelect", P2).await?;
    wait_for_state(browser, "select-product", "no-product").await?;
    click(browser, "createNewProductButton").await?;
    wait_for_state(browser, "select-product", "selected").await?;
    wait_focused_in_view(browser, "addDeviceButton", &at("creating the product")).await?;
    // The product is made: Create no longer looks like the next thing to press.
    let filled = browser
        .client
        .execute(
            "const b = getComputedStyle(document.getElementById('createNewProductButton')).backgroundColor; \
             return b === 'rgba(0, 0, 0, 0)' || b === 'transparent';",
            Vec::new(),
        )
        .await?;
    ensure!(filled == true, "{}", at("Create still looks primary after the product was made"));
    click(browser, "addDeviceButton").await?;
    wait_for_state(browser, "add-device", "in-product").await?;
    wait_focused_in_view(browser, "startDemo", &at("adding the device")).await?;
    let said = texts(browser, "section[data-panel=\"add-device\"] p").await?;
    ensure!(
        !said.iter().any(|t| t.contains("nothing to do")),
        "{}: {said:?}",
        at("the device just added is called nothing to do")
    );
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;
    wait_focused_in_view(browser, "testWebhookButton", &at("starting the demo")).await?;
    // Test sits right under Start: the webhook's settings are folded away between them.
    let gap = browser
        .client
        .execute(
            "return document.getElementById('testWebhookButton').getBoundingClientRect().top - \
             document.getElementById('startDemo').getBoundingClientRect().bottom;",
            Vec::new(),
        )
        .await?;
    let gap = gap.as_f64().unwrap_or(f64::MAX);
    // Between them: the streams' states, the saved webhook's one line and its disclosure, Test's
    // heading and sentence; a phone wraps most of those lines in two.
    let most = if width < 600 { 400.0 } else { 320.0 };
    ensure!(gap < most, "{}: {gap} px between Start and Test", at("Test is far from Start"));
    let open = browser
        .client
        .execute("return document.getElementById('webhookSettings').open;", Vec::new())
        .await?;
    ensure!(open == false, "{}", at("the webhook's settings are not folded"));

    // A preset keeps focus and shows it is chosen, by its look and in words.
    choose_preset(browser, "server-error").await?;
    wait_focused_in_view(browser, "preset-server-error", &at("choosing a preset")).await?;
    let now = texts(browser, ".answer-now").await?;
    ensure!(now.iter().any(|t| t.contains("answers 500")), "{}: {now:?}", at("the chosen answer is not named"));
    choose_preset(browser, "ok").await?;

    click(browser, "testWebhookButton").await?;
    wait_for(browser, "#explainer [data-kind=\"hook-response\"]", "no hook-response").await?;
    click(browser, "startDemo").await?;
    wait_for_state(browser, "start", "ready").await?;
    let steps = attrs(browser, "#steps [data-step]", "data-status").await?;
    ensure!(
        steps[4] == "current" && steps[5] == "locked",
        "{}: steps {steps:?}",
        at("after Stop the steps do not say Start is next")
    );
    sign_out(browser).await
}
