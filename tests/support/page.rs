//! What the browser checks do in the page, as a learner would, and how they wait for it: one
//! family of waits (`wait` and the helpers built on it), one timeout.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use fantoccini::{Locator, elements::Element};
use webhook_demo::panel::Panel;

use super::Browser;

/// How long a check waits for the page to show something before it fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// Every panel's name, in page order.
pub fn panels() -> Vec<&'static str> {
    Panel::ALL.iter().map(|panel| panel.name()).collect()
}

/// Waits for an element, saying what was expected when it never comes.
pub async fn wait(browser: &Browser, locator: Locator<'_>, what: &str) -> Result<Element> {
    browser
        .client
        .wait()
        .at_most(PATIENCE)
        .for_element(locator)
        .await
        .with_context(|| what.to_owned())
}

/// Opens the page and waits until the app has rendered it (the sign-in panel exists).
pub async fn open(browser: &Browser, url: &str) -> Result<()> {
    browser
        .client
        .goto(url)
        .await
        .with_context(|| format!("opening {url}"))?;
    let sign_in = "section[data-panel=\"sign-in\"]";
    wait_for(browser, sign_in, "the app never rendered the sign-in panel").await?;
    Ok(())
}

pub async fn click(browser: &Browser, id: &str) -> Result<()> {
    click_found(browser, Locator::Id(id)).await
}

pub async fn click_css(browser: &Browser, css: &str) -> Result<()> {
    click_found(browser, Locator::Css(css)).await
}

/// Finds and clicks, finding again when a render replaced the element in between (a device
/// publishing every second re-renders the panels it shows).
async fn click_found(browser: &Browser, locator: Locator<'_>) -> Result<()> {
    let mut tries = 0;
    loop {
        let clicked = async {
            reveal(browser, locator)
                .await?
                .click()
                .await
                .map_err(anyhow::Error::from)
        };
        match clicked.await {
            Err(error) if tries < 3 && format!("{error:#}").contains("stale element") => tries += 1,
            other => return other,
        }
    }
}

/// Finds an element and opens the closed disclosures around it (a finished step collapses to
/// its summary, the advanced settings start closed), and scrolls it to the middle of the view
/// (where a phone's sticky step bar never covers it), as a learner would before using it.
pub async fn reveal(browser: &Browser, locator: Locator<'_>) -> Result<Element> {
    let element = browser.client.find(locator).await?;
    // A disclosure's own summary is visible while it is closed: clicking it is what opens it.
    let closed = "let e = arguments[0]; if (e.tagName === 'SUMMARY') e = e.parentElement.parentElement; \
                  for (let d = e && e.closest('details:not([open])'); d; \
                  d = d.parentElement.closest('details:not([open])')) d.open = true; \
                  arguments[0].scrollIntoView({block: 'center'});";
    browser
        .client
        .execute(closed, vec![serde_json::to_value(&element)?])
        .await?;
    Ok(element)
}

/// Waits for an element matching `css`, saying what was expected when it never comes.
pub async fn wait_for(browser: &Browser, css: &str, what: &str) -> Result<Element> {
    wait(browser, Locator::Css(css), &format!("{what} ({css})")).await
}

/// Waits for an element found by XPath, saying what was expected when it never comes.
pub async fn wait_for_xpath(browser: &Browser, xpath: &str, what: &str) -> Result<Element> {
    wait(browser, Locator::XPath(xpath), what).await
}

/// Waits until `panel` shows `state`.
pub async fn wait_for_state(browser: &Browser, panel: &str, state: &str) -> Result<()> {
    let css = format!("section[data-panel=\"{panel}\"][data-state=\"{state}\"]");
    wait_for(browser, &css, &format!("{panel} never reached {state}")).await?;
    Ok(())
}

/// Waits until the event log has a row named `name` (its second cell).
pub async fn logged(browser: &Browser, name: &str) -> Result<()> {
    let xpath = format!("//table[@id='eventsTable']//tr/td[2][text()='{name}']");
    wait_for_xpath(
        browser,
        &xpath,
        &format!("{name} never reached the event log"),
    )
    .await?;
    Ok(())
}

pub async fn state_of(browser: &Browser, panel: &str) -> Result<String> {
    let root = browser
        .client
        .find(Locator::Css(&format!("section[data-panel=\"{panel}\"]")))
        .await?;
    Ok(root.attr("data-state").await?.unwrap_or_default())
}

/// Fails with `what` unless `panel` shows `state` now.
pub async fn expect_state(browser: &Browser, panel: &str, state: &str, what: &str) -> Result<()> {
    let actual = state_of(browser, panel).await?;
    ensure!(actual == state, "{what}: {panel} is {actual}, not {state}");
    Ok(())
}

pub async fn text_of(browser: &Browser, id: &str) -> Result<String> {
    Ok(browser.client.find(Locator::Id(id)).await?.text().await?)
}

/// The current `value` of a form control.
pub async fn value_of(browser: &Browser, id: &str) -> Result<String> {
    let value = browser
        .client
        .find(Locator::Id(id))
        .await?
        .prop("value")
        .await?;
    Ok(value.unwrap_or_default())
}

/// The texts of every element matching `css`.
pub async fn texts(browser: &Browser, css: &str) -> Result<Vec<String>> {
    let mut texts = Vec::new();
    for element in browser.client.find_all(Locator::Css(css)).await? {
        texts.push(element.text().await?);
    }
    Ok(texts)
}

/// The demo's webhook as the sandbox holds it in product `product`, read with the page's token.
pub async fn product_webhook(browser: &Browser, product: &str) -> Result<serde_json::Value> {
    let saved = in_page(
        browser,
        &format!(
            "const token = sessionStorage.getItem('webhook-demo:token') || localStorage.getItem('webhook-demo:token'); \
             const r = await fetch('/sandbox/v1/products/{product}/integrations', {{headers: {{Authorization: 'Bearer ' + token}}}}); \
             return await r.json();"
        ),
    )
    .await?;
    saved
        .as_array()
        .and_then(|list| list.iter().find(|i| i["event"] == "WebhookDemo01"))
        .cloned()
        .with_context(|| format!("no webhook in the product: {saved}"))
}

/// The id of the product picked in the product list.
pub async fn selected_product(browser: &Browser) -> Result<String> {
    browser
        .client
        .find(Locator::Css("#productSelect option[selected]"))
        .await?
        .attr("value")
        .await?
        .context("a selected product")
}

pub async fn attrs(browser: &Browser, css: &str, name: &str) -> Result<Vec<String>> {
    // In one script, so a render in between cannot replace the elements being read.
    let values = browser
        .client
        .execute(
            "return [...document.querySelectorAll(arguments[0])] \
               .map(e => e.getAttribute(arguments[1]) ?? '');",
            vec![css.into(), name.into()],
        )
        .await?;
    Ok(serde_json::from_value(values)?)
}

/// Picks the option with this value in a select, as a learner would.
pub async fn choose(browser: &Browser, id: &str, value: &str) -> Result<()> {
    reveal(browser, Locator::Id(id))
        .await?
        .select_by_value(value)
        .await?;
    Ok(())
}

pub async fn type_into(browser: &Browser, id: &str, text: &str) -> Result<()> {
    let input = reveal(browser, Locator::Id(id)).await?;
    input.clear().await?;
    input.send_keys(text).await?;
    Ok(())
}

/// Runs `body` (an async function body given `done`) in the page and returns what it passes to
/// `done`: the page's own `fetch` reaches the sandbox exactly as the app does.
pub async fn in_page(browser: &Browser, body: &str) -> Result<serde_json::Value> {
    let script = format!(
        "const done = arguments[arguments.length - 1]; (async () => {{ {body} }})().then(done, e => done(String(e)));"
    );
    Ok(browser.client.execute_async(&script, Vec::new()).await?)
}

pub async fn sandbox_token(browser: &Browser, username: &str) -> Result<String> {
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

/// "Try the sandbox", then wait for the device list.
pub async fn sandbox_sign_in_to_devices(browser: &Browser) -> Result<()> {
    // The button comes with the server's configuration, read after the first render.
    wait_for(browser, "#sandboxSignIn", "no sandbox button").await?;
    click(browser, "sandboxSignIn").await?;
    wait_for_state(browser, "select-device", "choose").await
}

/// The device list's option labels, in order.
pub async fn device_labels(browser: &Browser) -> Result<Vec<String>> {
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

/// Presses a simulated device's MODE button (it publishes the demo's event), through the
/// sandbox's own page API.
pub async fn press_mode(browser: &Browser, device: &str) -> Result<()> {
    let pressed = in_page(
        browser,
        &format!("return (await fetch('/sandbox/_sim/devices/{device}/button', {{method: 'POST'}})).status;"),
    )
    .await?;
    anyhow::ensure!(pressed == 200, "MODE click answered {pressed}");
    Ok(())
}

/// Signs in to the sandbox, picks `device`, creates a product for it and adds the device: the
/// setup most checks start from.
pub async fn set_up_with(browser: &Browser, device: &str) -> Result<()> {
    sandbox_sign_in_to_devices(browser).await?;
    choose(browser, "deviceSelect", device).await?;
    wait_for_state(browser, "select-product", "no-product").await?;
    click(browser, "createNewProductButton").await?;
    wait_for_state(browser, "add-device", "can-add").await?;
    click(browser, "addDeviceButton").await?;
    wait_for_state(browser, "add-device", "in-product").await
}

/// Signs in with the MFA user's password, gives a wrong one-time code (waiting for the page to
/// say so), then the right one.
pub async fn mfa_sign_in(browser: &Browser) -> Result<()> {
    choose(browser, "apiBaseSelect", "sandbox").await?;
    type_into(browser, "usernameInput", super::fixture::MFA_USER).await?;
    type_into(browser, "passwordInput", "sandbox").await?;
    click(browser, "passwordSignIn").await?;
    wait_for_state(browser, "sign-in", "otp").await?;
    type_into(browser, "otpInput", "000000").await?;
    click(browser, "otpSignIn").await?;
    let alert = "section[data-panel=\"sign-in\"][data-state=\"otp\"] [role=\"alert\"]";
    wait_for(browser, alert, "a wrong code is not explained").await?;
    type_into(browser, "otpInput", "123456").await?;
    click(browser, "otpSignIn").await
}

/// Selects the request list's row `key` and waits until it is marked as the one shown.
pub async fn select_request(browser: &Browser, key: &str) -> Result<()> {
    click_css(browser, &format!("#requestList button[data-row=\"{key}\"]")).await?;
    wait_for(
        browser,
        &format!("#requestList tr[data-row=\"{key}\"][aria-current=true]"),
        "the selected row is not marked",
    )
    .await?;
    Ok(())
}

/// Adds a line the compiler refuses to the firmware's main file as shown, keeping the original
/// for [`fix_firmware`].
pub async fn break_firmware(browser: &Browser) -> Result<()> {
    edit_firmware(
        browser,
        "pre.dataset.original = pre.textContent; pre.textContent += '#error try again\\n';",
    )
    .await
}

/// Puts back the firmware's main file as it was before [`break_firmware`].
pub async fn fix_firmware(browser: &Browser) -> Result<()> {
    edit_firmware(browser, "pre.textContent = pre.dataset.original;").await
}

/// Runs `script` in the page with `pre`, the firmware's main file as shown.
async fn edit_firmware(browser: &Browser, script: &str) -> Result<()> {
    let main = "const pre = document.querySelector('#firmwareSource pre[data-file=\"src/webhook-demo.cpp\"]'); ";
    browser
        .client
        .execute(&format!("{main}{script}"), Vec::new())
        .await?;
    Ok(())
}

/// Opens the page on `server`, sets it up with the P2, starts the demo and chooses the answer
/// preset `preset` (its button shown pressed).
pub async fn demo_with_preset(
    browser: &Browser,
    server: &super::Server,
    preset: &str,
) -> Result<()> {
    open(browser, &server.url).await?;
    set_up_with(browser, super::fixture::P2).await?;
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;
    choose_preset(browser, preset).await
}

/// Presses the answer preset `preset` and waits until it is shown chosen.
pub async fn choose_preset(browser: &Browser, preset: &str) -> Result<()> {
    click_css(
        browser,
        &format!("[data-action=answer-preset][data-preset={preset}]"),
    )
    .await?;
    wait_for(
        browser,
        &format!("#preset-{preset}[aria-pressed=true]"),
        &format!("the {preset} preset was not chosen"),
    )
    .await?;
    Ok(())
}

/// Stops the demo, then cleans up what the boxes ask for by default and waits until it is done.
pub async fn stop_and_clean_up(browser: &Browser) -> Result<()> {
    click(browser, "startDemo").await?;
    wait_for_state(browser, "start", "ready").await?;
    click(browser, "cleanupButton").await?;
    // The question comes once the product's integrations are listed.
    wait_for_state(browser, "cleanup", "confirming").await?;
    click(browser, "cleanupConfirm").await?;
    wait_for_state(browser, "cleanup", "done").await
}

/// Signs out, answering "Sign out anyway" when the page asks first (a demo is running).
pub async fn sign_out(browser: &Browser) -> Result<()> {
    click(browser, "signOut").await?;
    let asked = browser
        .client
        .execute(
            "return document.getElementById('signOutConfirm') !== null;",
            Vec::new(),
        )
        .await?;
    if asked == true {
        click(browser, "signOutConfirm").await?;
    }
    wait_for_state(browser, "sign-in", "signed-out").await
}

/// Fails on console errors other than the browser's own notes of refused requests (which checks
/// that provoke refusals cause on purpose) and of pages left while a demo ran.
pub async fn no_app_errors(browser: &Browser) -> Result<()> {
    let errors = browser.console_errors().await?;
    let unexpected: Vec<&String> = errors
        .iter()
        .filter(|e| !e.contains("Failed to load resource"))
        // The browser's own note that a page left mid-run (a check moving on to another page)
        // asked to be kept: the page holds `beforeunload` while a demo runs, on purpose.
        .filter(|e| !e.contains("'beforeunload' confirmation panel"))
        .collect();
    ensure!(unexpected.is_empty(), "console errors: {unexpected:?}");
    Ok(())
}

/// The viewport `width` px wide and the colour scheme `scheme`. (Not emulated as a mobile
/// device: a phone's browser would widen its layout viewport to fit content that overflows, and
/// hide the very overflow the checks look for.)
pub async fn emulate(browser: &Browser, width: u64, scheme: &str) -> Result<()> {
    metrics(browser, width, 900).await?;
    let features =
        serde_json::json!({"features": [{"name": "prefers-color-scheme", "value": scheme}]});
    browser.cdp("Emulation.setEmulatedMedia", features).await?;
    Ok(())
}

/// The viewport `width` × `height` px.
pub async fn metrics(browser: &Browser, width: u64, height: u64) -> Result<()> {
    let params = serde_json::json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false});
    browser
        .cdp("Emulation.setDeviceMetricsOverride", params)
        .await?;
    Ok(())
}

/// Waits until the element `id` has focus and lies wholly inside the viewport, below the sticky
/// step bar when there is one: the next action, where the learner is looking.
pub async fn wait_focused_in_view(browser: &Browser, id: &str, after: &str) -> Result<()> {
    let script = "const e = document.activeElement; if (!e || e.id !== arguments[0]) return false; \
                  const r = e.getBoundingClientRect(); const bar = document.getElementById('steps'); \
                  const top = bar && getComputedStyle(bar).position === 'sticky' && innerWidth < 1024 \
                    ? bar.getBoundingClientRect().bottom : 0; \
                  return r.top >= top - 1 && r.bottom <= innerHeight + 1 && r.left >= -1 && r.right <= innerWidth + 1;";
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        if browser.client.execute(script, vec![id.into()]).await? == true {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            let active = browser
                .client
                .execute("const e = document.activeElement; const r = e.getBoundingClientRect(); \
                          return e.tagName + '#' + e.id + ' ' + [r.top, r.bottom, r.left, r.right, innerHeight, innerWidth];", Vec::new())
                .await?;
            anyhow::bail!("after {after}, #{id} is not focused inside the view (focus: {active})");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Puts the sandbox back to its fixture (no products, no integrations), for a check that must
/// start from it or leave it so.
pub async fn reset_sandbox(browser: &Browser) -> Result<()> {
    let reset = in_page(
        browser,
        "return (await fetch('/sandbox/_sim/reset', {method: 'POST'})).status;",
    )
    .await?;
    ensure!(reset == 200, "the sandbox reset answered {reset}");
    Ok(())
}
