//! The explainer's cards stay in slot order whatever order the page's two streams deliver them in
//! (issue 14): the page is loaded through a proxy (`support::proxy`) that holds back one stream
//! while the other flows, so that
//!
//! - A: Particle's `hook-response` reaches the page before the relay's hook (the relay's stream is
//!   held): the request's slots wait, saying so, and are filled in above the outcome;
//! - B: the relay's hook reaches the page before its Particle event (the product's event stream is
//!   held): the event's slots wait, and are filled in above the request;
//! - C: two cycles interleave (a Test and a device's MODE press, the relay's stream held across
//!   both): each cycle's late request lands in its own cycle, in its slots.
//!
//! A page that appended cards in arrival order, as before slots (b62d6e4 appended each entry to
//! `#explainer` and cleared it when a cycle began), fails each case: in A it lists
//! `hook-response` before `hook-received`, in B `hook-received` before the event, and in C it puts
//! the Test's late request under the device's newer cycle (and after its outcome). Nothing here
//! waits on a clock: the proxy holds a stream until the check has seen what it expects, then
//! releases it.

use anyhow::{Context, Result, ensure};
use serde_json::Value;
use webhook_demo::demo::timeline::Slot;
use webhook_demo_server::Options;

use crate::support::{Browser, Server, fixture::*, page::*, proxy::Proxy, start_server};

/// The slots of a cycle, in the order things happen.
const SLOTS: [&str; 6] = [
    "event",
    "hook-sent",
    "hook-received",
    "hook-data",
    "server-response",
    "outcome",
];

/// The relay's stream, which brings the requests the page's server receives and its answers.
const RELAY_STREAM: &str = "/relay/stream";

pub async fn run(browser: &Browser, _shared: &Server) -> Result<()> {
    // Devices publish only when the check presses their MODE button.
    let mut options = Options::default();
    options.sandbox.sim_publish_interval = None;
    let server = start_server(options).await?;
    let proxy = Proxy::start(&server.url).await?;
    open(browser, &proxy.url).await?;
    set_up_with(browser, P2).await?;
    let product = selected_product(browser).await?;
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;
    // The relay built the hook URL from the proxy's address: the sandbox's webhooks go through
    // the proxy too (passed on at once), so only the streams' order changes.
    let hook_url = texts(browser, ".webhookUrlSpan").await?;
    ensure!(
        hook_url
            .first()
            .is_some_and(|url| url.starts_with(&format!("{}relay/hook/", proxy.url))),
        "the hook URL is {hook_url:?}, not through the proxy"
    );

    // A: the cloud's hook-response before the relay's hook.
    proxy.hold(RELAY_STREAM);
    let a = new_cycle(browser, "api").await?;
    filled(browser, "outcome", "hook-response").await?;
    let (_, cards) = explainer(browser).await?;
    expect_filled(
        &cards,
        &["event-api", "hook-sent", "hook-response"],
        "A, held",
    )?;
    let waiting = text_of(browser, "card-hook-received").await?;
    ensure!(
        waiting.contains(Slot::HookReceived.waiting()),
        "A: the request's slot says {waiting:?}"
    );
    proxy.release(RELAY_STREAM);
    filled(browser, "server-response", "server-response").await?;
    in_slot_order(browser, &a, "event-api").await.context("A")?;

    // B: the relay's hook before its Particle event.
    let events = format!("/sandbox/v1/products/{product}/events");
    proxy.hold(&events);
    let b = new_cycle(browser, "api").await?;
    filled(browser, "server-response", "server-response").await?;
    let (_, cards) = explainer(browser).await?;
    expect_filled(
        &cards,
        &["hook-received", "hook-data", "server-response"],
        "B, held",
    )?;
    let waiting = text_of(browser, "card-event").await?;
    ensure!(
        waiting.contains(Slot::Event.waiting()),
        "B: the event's slot says {waiting:?}"
    );
    proxy.release(&events);
    filled(browser, "outcome", "hook-response").await?;
    in_slot_order(browser, &b, "event-api").await.context("B")?;

    // C: a Test and a device's publish interleaved. Both cycles end in the cloud (their
    // hook-responses shown) while their requests are still held, so the Test's request reaches
    // the page after the device's event, with the device's cycle the newest.
    proxy.hold(RELAY_STREAM);
    let api = new_cycle(browser, "api").await?;
    filled(browser, "outcome", "hook-response").await?;
    let device = new_cycle(browser, P2).await?;
    filled(browser, "outcome", "hook-response").await?;
    let (_, cards) = explainer(browser).await?;
    expect_filled(
        &cards,
        &["event-device", "hook-sent", "hook-response"],
        "C, held",
    )?;
    proxy.release(RELAY_STREAM);
    for (key, event) in [(&api, "event-api"), (&device, "event-device")] {
        select(browser, key).await?;
        filled(browser, "server-response", "server-response").await?;
        in_slot_order(browser, key, event)
            .await
            .with_context(|| format!("C, {key}"))?;
    }

    click(browser, "startDemo").await?;
    no_app_errors(browser).await
}

/// Makes a new cycle (Test for `api`, the device's MODE button otherwise), waits for its row in
/// the request list and selects it, so the explainer shows it whatever comes next: its key.
async fn new_cycle(browser: &Browser, device: &str) -> Result<String> {
    let rows = format!("#requestList tbody tr[data-row^=\"{device}@\"]");
    let before = attrs(browser, &rows, "data-row").await?.len();
    if device == "api" {
        click(browser, "testWebhookButton").await?;
    } else {
        press_mode(browser, device).await?;
    }
    wait_for_xpath(
        browser,
        &format!(
            "(//table[@id='requestList']//tr[starts-with(@data-row,'{device}@')])[{}]",
            before + 1
        ),
        &format!("no new request of {device} was listed"),
    )
    .await?;
    // Newest first: the new cycle's row is the first of the device's.
    let key = attrs(browser, &rows, "data-row").await?.into_iter().next();
    let key = key.context("the new request was never listed")?;
    select(browser, &key).await?;
    Ok(key)
}

/// Selects the cycle `key` in the request list and waits until it is shown.
async fn select(browser: &Browser, key: &str) -> Result<()> {
    click_css(browser, &format!("#requestList button[data-row=\"{key}\"]")).await?;
    wait_for(
        browser,
        &format!("#timeline [data-cycle=\"{key}\"]"),
        &format!("selecting {key} did not show it"),
    )
    .await?;
    Ok(())
}

/// Waits until the shown cycle's `slot` holds a card of `kind`.
async fn filled(browser: &Browser, slot: &str, kind: &str) -> Result<()> {
    wait_for(
        browser,
        &format!("#explainer [data-slot=\"{slot}\"][data-kind=\"{kind}\"]"),
        &format!("no {kind} card came"),
    )
    .await?;
    Ok(())
}

/// One explainer card as the page shows it.
struct Card {
    slot: String,
    kind: Option<String>,
    text: String,
}

/// The shown cycle's key and its cards, in page order, read at one instant.
async fn explainer(browser: &Browser) -> Result<(String, Vec<Card>)> {
    let shown = in_page(
        browser,
        "return {cycle: document.querySelector('#timeline [data-cycle]')?.dataset.cycle ?? null,
                 cards: [...document.querySelectorAll('#explainer .entry')].map(e =>
                   ({slot: e.dataset.slot ?? null, kind: e.dataset.kind ?? null, text: e.textContent}))};",
    )
    .await?;
    let text = |value: &Value| value.as_str().map(str::to_owned);
    let cards = shown["cards"]
        .as_array()
        .with_context(|| format!("no cards: {shown}"))?
        .iter()
        .map(|card| Card {
            slot: text(&card["slot"]).unwrap_or_default(),
            kind: text(&card["kind"]),
            text: text(&card["text"]).unwrap_or_default(),
        })
        .collect();
    Ok((text(&shown["cycle"]).unwrap_or_default(), cards))
}

/// Fails unless the cards sit in the slot order and exactly `kinds` are filled (in that order),
/// every other slot waiting.
fn expect_filled(cards: &[Card], kinds: &[&str], case: &str) -> Result<()> {
    let slots: Vec<&str> = cards.iter().map(|c| c.slot.as_str()).collect();
    ensure!(slots == SLOTS, "{case}: cards in the order {slots:?}");
    let filled: Vec<&str> = cards.iter().filter_map(|c| c.kind.as_deref()).collect();
    ensure!(
        filled == kinds,
        "{case}: filled cards {filled:?}, not {kinds:?}"
    );
    Ok(())
}

/// Fails unless the shown cycle is `key`, its six cards are filled in the slot order, and each
/// names the cycle's own device and time (not another cycle's).
async fn in_slot_order(browser: &Browser, key: &str, event: &str) -> Result<()> {
    let (shown, cards) = explainer(browser).await?;
    ensure!(shown == key, "{shown} is shown, not {key}");
    let kinds = [
        event,
        "hook-sent",
        "hook-received",
        "hook-data",
        "server-response",
        "hook-response",
    ];
    expect_filled(&cards, &kinds, key)?;
    let (device, at) = key.split_once('@').context("a key is device@time")?;
    let says = |slot: &str, what: &str| {
        cards
            .iter()
            .find(|c| c.slot == slot)
            .is_some_and(|c| c.text.contains(what))
    };
    ensure!(says("event", at), "the event card is not the one of {at}");
    ensure!(
        says("hook-data", &format!("\"deviceId\": \"{device}\""))
            && says("hook-data", &format!("\"ts\": \"{at}\"")),
        "the data card is another cycle's"
    );
    ensure!(
        says("outcome", &format!("{device}/hook-response/")),
        "the outcome card is another device's"
    );
    Ok(())
}
