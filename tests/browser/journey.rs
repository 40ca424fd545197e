//! The webhook's journey (issue 14): cards in slot order, a diagram whose text stays readable at a
//! phone's width and a desktop's, a selected request that stays put while a device publishes, and
//! each answer preset doing what its sentence promises, the timeout one against a sandbox whose
//! webhook clock is shortened to one second.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use webhook_demo_server::Options;

use crate::support::{Browser, Server, fixture::*, page::*, start_server};

/// Slot order of a finished cycle's cards.
const SLOTS: [&str; 6] = [
    "event",
    "hook-sent",
    "hook-received",
    "hook-data",
    "server-response",
    "outcome",
];

pub async fn run(browser: &Browser, _shared: &Server) -> Result<()> {
    // Particle waits 20 s for a webhook server; this sandbox waits 1 s, so the timeout preset
    // (the page's server waits 21 s) is seen to time out without a 20 s sleep. Devices publish
    // only when the check presses their MODE button.
    let mut options = Options::default();
    options.sandbox.hook_timeout = Duration::from_secs(1);
    options.sandbox.sim_publish_interval = None;
    let server = start_server(options).await?;
    open(browser, &server.url).await?;
    set_up_with(browser, P2).await?;
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;

    // A test with the 200 preset: every slot filled, in order.
    click_css(browser, "[data-action=answer-preset][data-preset=ok]").await?;
    let first = test_and_wait(browser, "response").await?;
    wait_for(
        browser,
        "#explainer [data-slot=outcome][data-kind=hook-response]",
        "the hook-response card never came",
    )
    .await?;
    let slots = attrs(browser, "#explainer .entry", "data-slot").await?;
    ensure!(slots == SLOTS, "cards in the order {slots:?}");
    ensure!(
        attrs(browser, "#explainer .entry.waiting", "data-slot")
            .await?
            .is_empty(),
        "a finished cycle still waits"
    );

    // The diagram's text measures at least 13 px at a desktop's width and a phone's.
    for width in [1280, 390] {
        browser.client.set_window_size(width, 1000).await?;
        diagram_is_readable(browser, width).await?;
    }
    browser.client.set_window_size(1280, 1000).await?;

    // A hop links to its card, and the card back to its hop.
    click_css(browser, "#hop-server-response a").await?;
    let target = in_page(browser, "return document.querySelector(':target')?.id ?? null;").await?;
    ensure!(target == "card-server-response", "the hop led to {target}");
    click_css(browser, "#card-server-response .back a").await?;
    let target = in_page(browser, "return document.querySelector(':target')?.id ?? null;").await?;
    ensure!(target == "hop-server-response", "the card led to {target}");

    // Selected, the test's cycle stays while the device publishes twice.
    click_css(browser, &format!("#requestList button[data-row=\"{first}\"]")).await?;
    for _ in 0..2 {
        press_mode(browser, P2).await?;
    }
    wait_for_xpath(
        browser,
        "//button[@id='inspectorPause'][contains(., '2 new')]",
        "the pause button never counted the device's two requests",
    )
    .await?;
    wait_for(
        browser,
        &format!("#requestList tbody tr:nth-child(3)[data-row=\"{first}\"]"),
        "the device's requests are not listed above the test",
    )
    .await?;
    let shown = attrs(browser, "#timeline [data-cycle]", "data-cycle").await?;
    ensure!(shown == [first.clone()], "the view moved to {shown:?}");
    click(browser, "inspectorPause").await?;
    wait_for_xpath(
        browser,
        "//button[@id='inspectorPause'][text()='Pause']",
        "following the newest again",
    )
    .await?;

    // Edit and resend: a request whose Particle event never comes (here, made up) is a cycle of
    // its own whose server half is filled in and whose cloud half waits, in slot order.
    wait_for(
        browser,
        "#explainer [data-kind=hook-received] details.resend",
        "no edit and resend",
    )
    .await?;
    click_css(browser, "details.resend summary").await?;
    let made_up = "2026-01-01T00:00:00.000Z";
    type_into(
        browser,
        "replayBody",
        &format!(r#"{{"deviceId":"api","ts":"{made_up}","sensor":{{"t":1}}}}"#),
    )
    .await?;
    click_css(browser, "button[data-action=replay-edited]").await?;
    wait_for(
        browser,
        &format!("#timeline [data-cycle=\"api@{made_up}\"]"),
        "the edited request made no cycle of its own",
    )
    .await?;
    wait_for(
        browser,
        "#explainer [data-slot=server-response][data-kind=server-response]",
        "the edited request was not answered",
    )
    .await?;
    let slots = attrs(browser, "#explainer [data-slot]", "data-slot").await?;
    ensure!(slots == SLOTS, "cards in the order {slots:?}");
    let waiting = attrs(browser, "#explainer .entry.waiting", "data-slot").await?;
    ensure!(
        waiting == ["event", "hook-sent", "outcome"],
        "waiting slots {waiting:?}"
    );
    let received = text_of(browser, "card-hook-received").await?;
    ensure!(received.contains("replayed request"), "{received}");

    // Each preset does what its sentence says.
    for (preset, status, answer, said) in [
        ("bad-request", "error", "400", "error status 400"),
        ("unauthorized", "error", "401", "error status 401"),
        ("not-found", "error", "404", "error status 404"),
        ("server-error", "error", "500", "error status 500"),
        ("timeout", "timeout", "—", "ETIMEDOUT"),
    ] {
        choose_preset(browser, preset).await?;
        let key = test_and_wait(browser, status).await?;
        click_css(browser, &format!("#requestList button[data-row=\"{key}\"]")).await?;
        let card = wait_for(
            browser,
            "#explainer [data-slot=outcome][data-kind=hook-error]",
            &format!("{preset} gave no hook-error"),
        )
        .await?
        .text()
        .await?;
        ensure!(card.contains(said), "{preset}: the hook-error says {card}");
        if answer != "—" {
            let row = texts(browser, &format!("#requestList tr[data-row=\"{key}\"] td")).await?;
            ensure!(row.get(3).map(String::as_str) == Some(answer), "{preset}: row {row:?}");
            let answered = text_of(browser, "card-server-response").await?;
            ensure!(
                answered.contains("\"ok\": false") || preset == "unauthorized",
                "{preset}: the error's default body says {answered}"
            );
        }
        wait_for(
            browser,
            "#timeline [data-hop=hook-error][data-status=failed]",
            &format!("{preset}: the diagram does not draw the failed hop"),
        )
        .await?;
    }
    // The starter servers answer as the form says now (the timeout preset: 200 after a wait).
    click_css(browser, "details.starters summary").await?;
    let flask = in_page(browser, "return document.getElementById('starter-1').innerText;").await?;
    let flask = flask.as_str().unwrap_or_default();
    ensure!(
        flask.contains("@app.route('/webhook', methods=['POST', 'OPTIONS'])\n") && flask.contains(", 200, "),
        "the Flask starter reads {flask}"
    );
    // Its CORS names this page, not every site.
    let origin = server.url.trim_end_matches('/');
    ensure!(
        flask.contains(&format!("['Access-Control-Allow-Origin'] = \"{origin}\"")),
        "the Flask starter allows another origin than {origin}: {flask}"
    );
    browser.console_errors().await?;
    no_app_errors(browser).await?;
    click(browser, "inspectorPause").await?;
    Ok(())
}

/// Presses Test and waits for its request to be listed with `status`: its row's key.
async fn test_and_wait(browser: &Browser, status: &str) -> Result<String> {
    let api_rows = "#requestList tbody tr[data-row^=\"api@\"]";
    let before = attrs(browser, api_rows, "data-row").await?.len();
    click(browser, "testWebhookButton").await?;
    wait_for_xpath(
        browser,
        &format!(
            "(//table[@id='requestList']//tr[starts-with(@data-row,'api@')])[{}]",
            before + 1
        ),
        "the test's request was never listed",
    )
    .await?;
    // Newest first: the test's row is the first of this page's.
    let key = attrs(browser, api_rows, "data-row").await?.into_iter().next();
    let key = key.context("the test's request was never listed")?;
    wait_for(
        browser,
        &format!("#requestList tr[data-row=\"{key}\"][data-status={status}]"),
        &format!("the test's request never ended as {status}"),
    )
    .await?;
    Ok(key)
}

/// Every text of the diagram is at least 13 CSS px, measured on its rendered boxes; on a phone the
/// hops run top to bottom and nothing scrolls sideways.
async fn diagram_is_readable(browser: &Browser, width: u32) -> Result<()> {
    let measured = in_page(
        browser,
        "const figure = document.querySelector('#timeline figure');
         if (!figure) return 'no diagram';
         const walker = document.createTreeWalker(figure, NodeFilter.SHOW_TEXT);
         const small = []; let texts = 0;
         for (let node = walker.nextNode(); node; node = walker.nextNode()) {
           if (!node.textContent.trim()) continue;
           const range = document.createRange(); range.selectNodeContents(node);
           const boxes = [...range.getClientRects()].filter(b => b.width > 0);
           if (!boxes.length) continue;
           texts++;
           const size = parseFloat(getComputedStyle(node.parentElement).fontSize);
           const tallest = Math.max(...boxes.map(b => b.height));
           if (size < 13 || tallest < 13) small.push(`${node.textContent.trim()}: ${size}px, box ${tallest}px`);
         }
         const hops = [...figure.querySelectorAll('[data-hop]')].map(h => h.getBoundingClientRect().top);
         const down = hops.every((top, i) => i === 0 || top > hops[i - 1]);
         const sideways = figure.scrollWidth > figure.clientWidth + 1;
         return {texts, small, down, sideways};",
    )
    .await?;
    ensure!(
        measured["texts"].as_u64().unwrap_or(0) >= 10,
        "at {width} px: {measured}"
    );
    ensure!(
        measured["small"].as_array().is_some_and(Vec::is_empty),
        "text under 13 px at {width} px: {}",
        measured["small"]
    );
    ensure!(
        measured["down"] == true,
        "at {width} px the hops do not run top to bottom"
    );
    ensure!(
        measured["sideways"] == false,
        "at {width} px the diagram is wider than its box"
    );
    Ok(())
}
