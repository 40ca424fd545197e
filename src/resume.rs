//! A run that survives a reload. While a demo runs on a relay, the page keeps in the tab's
//! `sessionStorage` (`browser/storage.rs`) what it needs to ask the relay for the same session
//! again: its id and URLs, the webhook's secret and integration id, the answer chosen. After the
//! reload, once the session is signed in again and the run's product is picked again, the run
//! resumes: the relay stream reopens with `?session=` and no `Last-Event-ID`, so the relay replays
//! everything it still holds (the request list, the explainer and the tables fill again), the
//! product's event stream reopens, and Test works without Start. Particle's stream sends nothing
//! again, so the tab keeps the demo's events it brought too (apart, and written only when another
//! comes); each cycle is drawn as before, and one the page was away for says which of the cloud's
//! hops it could not see. The relay keeps the session meanwhile (docs/relay-protocol.md); the
//! webhook in the product still points at its hook URL.
//!
//! Only relay runs are kept: a smee.io channel keeps nothing to resume from.

use serde_json::Value;
use webhook_demo_core::wire::{ParticleEvent, RelayStart};

use crate::{
    demo::{Answer, Demo, Msg as DemoMsg, WebhookState, webhook::EVENT_NAME},
    json::Object,
    msg::Effect,
    state::{KeptRun, State},
};

/// How many of the demo's events a run keeps for a reload, the newest: enough for the cycles the
/// explainer keeps (`timeline::CYCLES`) as a learner makes them, a few events each.
const KEPT_EVENTS: usize = 150;
/// The longest field of a kept event read back (an event's data is at most 1,024 bytes).
const MAX_FIELD: usize = 16 * 1024;

/// The running demo as kept text; `None` when there is no run worth keeping (stopped, still
/// saving its webhook, on smee.io).
pub fn encode(state: &State) -> Option<String> {
    let demo = &state.demo;
    let relay = demo
        .relay
        .as_ref()
        .filter(|relay| demo.running && !relay.control_url.is_empty())?;
    let WebhookState::Saved(webhook_id) = &demo.webhook else {
        return None;
    };
    let mut kept = Object::default();
    kept.set("product", state.lists.selected_product?.into());
    kept.set("session", relay.session_id.as_str().into());
    kept.set("hook", relay.hook_url.as_str().into());
    kept.set("control", relay.control_url.as_str().into());
    kept.set("secret", demo.secret.as_str().into());
    kept.set("webhook", webhook_id.as_str().into());
    let answer = &demo.answer;
    kept.set("status", answer.status.into());
    kept.set("body", answer.body.as_str().into());
    kept.set("auth", answer.require_auth.into());
    kept.set("delay", answer.delay_ms.into());
    kept.set("wrong", answer.wrong_secret.into());
    kept.set("failFirst", answer.fail_first.into());
    Some(Value::from(kept).to_string())
}

/// Which events of the run `encode_events` would keep: it changes whenever the run keeps another.
pub fn events_version(state: &State) -> (u32, u64) {
    (state.demo.run, state.demo.history.events_seen)
}

/// The demo's events Particle's stream brought in this run, as kept text
/// (`[[name, data, published_at, coreid], …]`): the newest `KEPT_EVENTS`, from a publish on, so
/// no cycle comes back without its start.
pub fn encode_events(state: &State) -> String {
    let demo_events: Vec<&ParticleEvent> = state
        .demo
        .history
        .events
        .iter()
        .filter(|event| event.name.contains(EVENT_NAME))
        .collect();
    let newest = &demo_events[demo_events.len().saturating_sub(KEPT_EVENTS)..];
    let from_a_publish = newest
        .iter()
        .position(|event| event.name == EVENT_NAME)
        .unwrap_or(newest.len());
    let events: Vec<Value> = newest[from_a_publish..]
        .iter()
        .map(|event| {
            let fields = [&event.name, &event.data, &event.published_at, &event.coreid];
            Value::from(fields.map(|field| Value::from(field.as_str())).to_vec())
        })
        .collect();
    Value::from(events).to_string()
}

/// The kept run and its events read back; `None` for anything else. Events that are not as
/// `encode_events` writes them are left out, and no more than it keeps are read.
pub fn decode(text: &str, events: Option<&str>) -> Option<KeptRun> {
    let kept: Value = serde_json::from_str(text).ok()?;
    let text = |key: &str| kept.get(key)?.as_str().map(str::to_owned);
    let number = |key: &str| kept.get(key)?.as_u64();
    let flag = |key: &str| kept.get(key)?.as_bool();
    Some(KeptRun {
        product_id: u32::try_from(number("product")?).ok()?,
        relay: RelayStart {
            session_id: text("session")?,
            hook_url: text("hook")?,
            control_url: text("control")?,
            resumed: true,
        },
        secret: text("secret")?,
        webhook_id: text("webhook")?,
        answer: Answer {
            status: u16::try_from(number("status")?).ok()?,
            body: text("body")?,
            require_auth: flag("auth")?,
            delay_ms: u32::try_from(number("delay")?).ok()?,
            wrong_secret: flag("wrong")?,
            fail_first: flag("failFirst").unwrap_or(false),
        },
        events: events.map(decode_events).unwrap_or_default(),
    })
}

/// The kept events, the newest `KEPT_EVENTS` of them.
fn decode_events(text: &str) -> Vec<ParticleEvent> {
    let Ok(Value::Array(kept)) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    let newest = &kept[kept.len().saturating_sub(KEPT_EVENTS)..];
    newest.iter().filter_map(event).collect()
}

/// A kept event, `[name, data, published_at, coreid]`.
fn event(kept: &Value) -> Option<ParticleEvent> {
    let [name, data, published_at, coreid] = kept.as_array()?.as_slice() else {
        return None;
    };
    // No field of an event from Particle's stream is anywhere near this long.
    let text = |field: &Value| {
        field
            .as_str()
            .filter(|text| text.len() <= MAX_FIELD)
            .map(str::to_owned)
    };
    Some(ParticleEvent {
        name: text(name)?,
        data: text(data)?,
        published_at: text(published_at)?,
        coreid: text(coreid)?,
    })
}

/// Takes up the kept run once the session and the picks are back, if its product is the one
/// picked; forgets it when it cannot be (another product, a run started meanwhile). The effects
/// reopen its streams; the message (`demo::Msg::Restore`) gives the resumed run the events
/// Particle's stream brought before the reload.
pub fn resume(state: &mut State) -> (Vec<Effect>, Option<DemoMsg>) {
    if state.resume.is_none() {
        return Default::default();
    }
    let Some(session) = state.sign_in.session().cloned() else {
        return Default::default();
    };
    // The picks come back once both lists have loaded.
    if state.lists.restoring.is_some() {
        return Default::default();
    }
    let Some(kept) = state.resume.take() else {
        return Default::default();
    };
    let stream = kept
        .relay
        .control_url
        .rsplit_once("control/")
        .map(|(base, _)| format!("{base}stream?session={}", kept.relay.session_id));
    let (Some(stream), false, Some(product_id)) = (
        stream,
        state.demo.running,
        state
            .lists
            .selected_product
            .filter(|&id| id == kept.product_id),
    ) else {
        return Default::default();
    };
    let demo = &mut state.demo;
    *demo = Demo {
        relay: Some(kept.relay),
        webhook: WebhookState::Saved(kept.webhook_id),
        answer: kept.answer,
        ..demo.next_run(kept.secret)
    };
    let effects = vec![
        Effect::CloseStreams,
        Effect::OpenRelay {
            run: demo.run,
            url: stream,
        },
        Effect::OpenEvents {
            run: demo.run,
            base: session.base,
            token: session.token,
            product_id,
        },
    ];
    let restore = DemoMsg::Restore {
        run: demo.run,
        events: kept.events,
    };
    (effects, Some(restore))
}

#[cfg(test)]
mod tests;
