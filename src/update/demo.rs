//! The live demo's update: what each of its messages does to the state, and the effects it asks
//! for. Every message is matched here by name; a stream message of another run than the current
//! one changes nothing.

use webhook_demo_core::wire::{HookRequest, HookResponse, ParticleEvent, RelayStart};

use super::sign_in::signed_out_by;
use crate::{
    demo::{
        Answer, Demo, Msg, RelayEvent, SECRET_MASK, SLOW_MS, WebhookState, answer,
        explain::{
            Entry, EntryKind, explain_event, explain_hook, explain_response, log_cells, pretty,
        },
        forward, keep,
        requests::{REPLAY_HEADER, curl, export, hook_cycle, origin, replay_headers, smee_hook},
        timeline::Slot,
        webhook::{EVENT_NAME, test_data, webhook_settings},
    },
    failure::describe,
    msg::{self, Effect},
    state::{Devices, ServerConfig, State},
};

pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Start {
            secret,
            relay,
            smee,
        } => return start(state, secret, &relay, &smee),
        Msg::SmeeChannel(url) => state.demo.smee_typed = url,
        Msg::Stop => {
            let was_running = std::mem::take(&mut state.demo.running);
            return was_running
                .then_some(Effect::CloseStreams)
                .into_iter()
                .collect();
        }
        Msg::RelayEvent { run, event, data } => {
            if current(state, run) {
                return relay_event(state, event, &data);
            }
        }
        Msg::ParticleEvent { run, name, data } => {
            if current(state, run) {
                return particle_event(state, run, &name, &data);
            }
        }
        Msg::StreamDown { run, reason } => {
            if current(state, run) {
                state.demo.stream_error = Some(reason);
            }
        }
        Msg::GiveUp { run, key } => {
            if current(state, run) {
                state.demo.timeline.give_up(&key);
            }
        }
        Msg::Replay(hook_id) => return replay(&state.demo, hook_id, None),
        Msg::ReplayEdited {
            hook_id,
            headers,
            body,
        } => return replay(&state.demo, hook_id, Some((&headers, body))),
        Msg::SelectCycle(key) => {
            if state.demo.timeline.find(&key).is_some() {
                state.demo.pinned = Some(key);
                state.demo.unseen = 0;
            }
        }
        Msg::TogglePause => {
            let demo = &mut state.demo;
            demo.pinned = match demo.pinned {
                Some(_) => None,
                None => demo.timeline.cycles.last().map(|c| c.key.clone()),
            };
            demo.unseen = 0;
        }
        Msg::Copy(text) => return vec![Effect::CopyText(text)],
        Msg::ApplyForward(typed) => return apply_forward(&mut state.demo, typed),
        Msg::Forwarded { hook_id, result } => return forwarded(&mut state.demo, hook_id, result),
        Msg::Preset(preset) => return apply_answer(&mut state.demo, preset.answer()),
        Msg::SlowMotion(on) => {
            state.demo.slow = on;
            let answer = Answer {
                delay_ms: if on { SLOW_MS } else { 0 },
                ..state.demo.answer.clone()
            };
            return apply_answer(&mut state.demo, answer);
        }
        Msg::WebhookSaved(Ok(id)) => state.demo.webhook = WebhookState::Saved(id),
        Msg::WebhookSaved(Err(failure)) | Msg::TestPublished(Err(failure))
            if failure.status == 401 =>
        {
            return signed_out_by(state, &failure);
        }
        Msg::WebhookSaved(Err(failure)) => {
            state.demo.webhook = WebhookState::Failed(describe(&failure));
        }
        Msg::PreviewData(data) => {
            state.demo.preview_typed.clone_from(&data);
            // The cloud sets the time; until then the preview shows where it goes.
            state.demo.preview = Some(ParticleEvent {
                name: EVENT_NAME.to_owned(),
                data,
                published_at: "(the time the cloud receives it)".to_owned(),
                coreid: "api".to_owned(),
            });
        }
        Msg::PublishData(data) => {
            state.demo.preview_typed.clone_from(&data);
            return publish(state, data);
        }
        Msg::Test { id } => return test(state, id),
        Msg::TestPublished(Ok(data)) => state.demo.test_sent = Some(pretty(&data)),
        Msg::TestPublished(Err(failure)) => state.demo.test_error = Some(describe(&failure)),
        Msg::ApplyAnswer(answer) => return apply_answer(&mut state.demo, answer),
        Msg::AnswerApplied(result) => state.demo.answer_error = result.err(),
        Msg::Export => {
            return vec![Effect::OfferDownload {
                file: "webhook-demo-session.json",
                mime: "application/json",
                text: export(&state.demo),
            }];
        }
    }
    Vec::new()
}

/// Forwarding one request came to this: the learner's server answered, or could not be reached.
fn forwarded(demo: &mut Demo, hook_id: u64, result: Result<u16, String>) -> Vec<Effect> {
    let url = demo.forward.clone().unwrap_or_default();
    match result {
        Ok(status) => {
            demo.forward_error = None;
            vec![Effect::Announce(format!(
                "Request {hook_id} forwarded: your server answered {status}"
            ))]
        }
        Err(reason) => {
            demo.forward_error = Some(forward::failure(&url, &reason));
            vec![Effect::Announce(format!(
                "Request {hook_id} could not be forwarded"
            ))]
        }
    }
}

/// Test: publishes the test event, and the view follows the newest cycle to show what it does.
fn test(state: &mut State, id: u32) -> Vec<Effect> {
    let effects = publish(state, test_data(id));
    if !effects.is_empty() {
        state.demo.test_error = None;
        // The learner wants to watch their own test: the view follows the newest cycle.
        state.demo.pinned = None;
        state.demo.unseen = 0;
    }
    effects
}

/// A stream message belongs to the run that is going on, not to a stopped or earlier one.
fn current(state: &State, run: u32) -> bool {
    state.demo.running && run == state.demo.run
}

/// Starts a run on the relay the learner typed, the hosting server's, or a smee.io channel.
fn start(state: &mut State, secret: String, relay: &str, smee: &str) -> Vec<Effect> {
    let smee = smee.trim();
    if !smee.is_empty() {
        return start_smee(state, secret, smee);
    }
    let typed = relay.trim();
    let relay_base = if typed.is_empty() {
        match &state.server {
            ServerConfig::Loaded(config) => Some(config.relay.clone()),
            ServerConfig::Loading | ServerConfig::Unavailable(_) => None,
        }
    } else if typed.starts_with("http://") || typed.starts_with("https://") {
        Some(format!("{}/", typed.trim_end_matches('/')))
    } else {
        state.demo.start_error = Some("A relay address starts with http:// or https://.".into());
        return Vec::new();
    };
    let Some(relay_base) = relay_base else {
        state.demo.start_error = Some(
            "This page's server offers no webhook relay: enter the address of one \
             (run `webhook-demo serve --public-url …` on a public host)."
                .into(),
        );
        return Vec::new();
    };
    let (Some(session), Some(product_id)) =
        (state.session().cloned(), state.lists.selected_product)
    else {
        return Vec::new();
    };
    let demo = &mut state.demo;
    *demo = Demo {
        relay_typed: typed.to_owned(),
        ..demo.next_run(secret)
    };
    vec![
        Effect::CloseStreams,
        Effect::OpenRelay {
            run: demo.run,
            url: format!("{relay_base}stream"),
        },
        Effect::OpenEvents {
            run: demo.run,
            base: session.base,
            token: session.token,
            product_id,
        },
    ]
}

/// Starts a run on a smee.io channel: the channel is the hook URL, known at once, so the webhook is
/// saved right away; smee answers every request itself, so there is nothing to control.
fn start_smee(state: &mut State, secret: String, smee: &str) -> Vec<Effect> {
    if !smee.starts_with("https://") && !smee.starts_with("http://") {
        state.demo.start_error = Some("A smee.io channel is an https:// address.".into());
        return Vec::new();
    }
    let (Some(session), Some(product_id)) =
        (state.session().cloned(), state.lists.selected_product)
    else {
        return Vec::new();
    };
    let demo = &mut state.demo;
    *demo = Demo {
        relay_typed: std::mem::take(&mut demo.relay_typed),
        smee_typed: smee.to_owned(),
        relay: Some(RelayStart {
            session_id: String::new(),
            hook_url: smee.to_owned(),
            control_url: String::new(),
            resumed: false,
        }),
        webhook: WebhookState::Saving,
        ..demo.next_run(secret)
    };
    vec![
        Effect::CloseStreams,
        Effect::OpenSmee {
            run: demo.run,
            url: smee.to_owned(),
        },
        Effect::OpenEvents {
            run: demo.run,
            base: session.base.clone(),
            token: session.token.clone(),
            product_id,
        },
        Effect::SaveWebhook {
            base: session.base,
            token: session.token,
            product_id,
            settings: webhook_settings(smee, &demo.secret).to_string(),
        },
    ]
}

/// An event of the current run's relay stream or smee.io channel.
fn relay_event(state: &mut State, event: RelayEvent, data: &str) -> Vec<Effect> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(data) else {
        return Vec::new();
    };
    let session = state.session().cloned();
    let product_id = state.lists.selected_product;
    let demo = &mut state.demo;
    demo.stream_error = None;
    match event {
        RelayEvent::Start => {
            let Some(start) = RelayStart::from_json(&value) else {
                return Vec::new();
            };
            let control = Effect::ControlRelay {
                url: start.control_url.clone(),
                body: demo.control(),
            };
            // A reconnection's start finds the webhook saved already.
            let save = if demo.webhook == WebhookState::Waiting {
                session
                    .zip(product_id)
                    .map(|(session, product_id)| Effect::SaveWebhook {
                        base: session.base,
                        token: session.token,
                        product_id,
                        settings: webhook_settings(&start.hook_url, &demo.secret).to_string(),
                    })
            } else {
                None
            };
            if save.is_some() {
                demo.webhook = WebhookState::Saving;
            }
            demo.relay = Some(start);
            [Some(control), save].into_iter().flatten().collect()
        }
        RelayEvent::Hook => HookRequest::from_json(&value)
            .map(|hook| hook_effects(demo, &hook))
            .unwrap_or_default(),
        RelayEvent::SmeeRequest => {
            demo.smee_count += 1;
            smee_hook(&value, demo.smee_count)
                .map(|hook| hook_effects(demo, &hook))
                .unwrap_or_default()
        }
        RelayEvent::HookResponse => {
            let Some(response) = HookResponse::from_json(&value) else {
                return Vec::new();
            };
            keep(&mut demo.responses, response.clone());
            let key = demo.timeline.response(
                response.hook_id,
                response.responded_at,
                response.status_code,
                response.body.len(),
            );
            let mut effects = Vec::new();
            if let Some(key) = key {
                place(demo, &key, explain_response(&response), &mut effects);
            }
            effects
        }
        RelayEvent::Dropped => {
            let count = value.get("count").and_then(|c| c.as_u64()).unwrap_or(0);
            demo.stream_error = Some(format!(
                "The relay could not keep {count} requests while this page was away."
            ));
            Vec::new()
        }
    }
}

/// What a request the in-page server received becomes: explainer entries and a data table row.
fn hook_effects(demo: &mut Demo, hook: &HookRequest) -> Vec<Effect> {
    let [mut received, data] = explain_hook(hook);
    let hook_url = demo
        .relay
        .as_ref()
        .map(|r| r.hook_url.as_str())
        .unwrap_or_default();
    received.curl = Some(curl(hook, hook_url));
    keep(&mut demo.hooks, hook.clone());
    // A request that is not the demo's (a curl of the learner's own) is a cycle of its own.
    let key =
        hook_cycle(hook).unwrap_or_else(|| ("request".to_owned(), format!("#{}", hook.hook_id)));
    begin(demo, &key);
    demo.timeline.request(&key, hook.hook_id, hook.received_at);
    let mut effects = Vec::new();
    place(demo, &key, received, &mut effects);
    place(demo, &key, data, &mut effects);
    let respond = demo
        .relay
        .as_ref()
        .and_then(|relay| forward::respond_url(&relay.control_url, hook.hook_id));
    if let (Some(url), Some(respond)) = (&demo.forward, respond) {
        effects.push(Effect::Forward {
            url: url.clone(),
            method: hook.method.clone(),
            headers: forward::headers(hook),
            body: hook.body.clone(),
            respond,
            fallback: forward::fallback(&demo.answer, hook.hook_id),
            hook_id: hook.hook_id,
        });
    }
    if let Some(cells) = hook.body.as_deref().and_then(|b| demo.data_row(b)) {
        effects.push(Effect::DataRow {
            columns: demo.columns.clone(),
            cells,
        });
    }
    effects
}

/// An event of the current run's product event stream: a row of the event log, and for the demo's
/// events a hop of the timeline and an explainer entry.
fn particle_event(state: &mut State, run: u32, name: &str, data: &str) -> Vec<Effect> {
    let Some(event) = serde_json::from_str(data)
        .ok()
        .and_then(|value| ParticleEvent::from_json(name, &value))
    else {
        return Vec::new();
    };
    state.demo.stream_error = None;
    let device = match &state.lists.devices {
        Devices::Loaded(devices) => devices
            .iter()
            .find(|d| d.id == event.coreid)
            .and_then(|d| d.name.clone()),
        Devices::NotLoaded | Devices::Loading | Devices::Failed(_) => None,
    }
    .unwrap_or_else(|| event.coreid.clone());
    super::firmware::flash_progress(state, &event);
    let mut effects = vec![Effect::LogEvent(log_cells(&event, &device))];
    keep(&mut state.demo.events, event.clone());
    let mut key = None;
    if event.name == EVENT_NAME {
        state.demo.preview = Some(event.clone());
        let cycle = (event.coreid.clone(), event.published_at.clone());
        begin(&mut state.demo, &cycle);
        key = Some(cycle);
        if state
            .demo
            .timeline
            .published(&event.coreid, &event.published_at)
        {
            effects.push(Effect::Timer {
                ms: crate::demo::timeline::GIVE_UP_MS as u32,
                msg: Box::new(msg::Msg::Demo(Msg::GiveUp {
                    run,
                    key: (event.coreid.clone(), event.published_at.clone()),
                })),
            });
        }
    } else if event.name.contains(EVENT_NAME) {
        let found =
            state
                .demo
                .timeline
                .webhook_event(&event.name, &event.data, &event.published_at);
        match found {
            // A later part of a long response joins the first part's card.
            Some((cycle, true)) => more_response(&mut state.demo, &cycle, &event.data),
            Some((cycle, false)) => key = Some(cycle),
            None => {}
        }
    }
    if let (Some(key), Some(entry)) = (key, explain_event(&event, &device)) {
        if entry.kind == EntryKind::EventDevice {
            state.demo.timeline.cycle(&key).device.clone_from(&device);
        }
        place(&mut state.demo, &key, entry, &mut effects);
    }
    if let (Some(session), "spark/status") = (state.session(), event.name.as_str()) {
        // A device went online or offline: its mark in the device list follows.
        effects.push(Effect::LoadDevices {
            base: session.base.clone(),
            token: session.token.clone(),
        });
    }
    effects
}

/// A cycle `key` is about to be seen: when it is new and the view is pinned, it is one more the
/// learner has not seen.
fn begin(demo: &mut Demo, key: &(String, String)) {
    if demo.pinned.is_some() && demo.timeline.find(key).is_none() {
        demo.unseen += 1;
    }
}

/// Puts `entry` in its slot of the cycle `key`; when that cycle is the one shown, the hop is
/// announced.
fn place(demo: &mut Demo, key: &(String, String), entry: Entry, effects: &mut Vec<Effect>) {
    let said = match entry.kind {
        EntryKind::EventApi | EntryKind::EventDevice => Some("Event published".to_owned()),
        EntryKind::HookSent => Some("Webhook sent".to_owned()),
        EntryKind::HookReceived => Some("Request received".to_owned()),
        EntryKind::HookData => None,
        EntryKind::ServerResponse => entry
            .text
            .split_once("HTTP ")
            .and_then(|(_, rest)| rest.split_once('.'))
            .map(|(status, _)| format!("Answered {status}")),
        EntryKind::HookResponse => Some("hook-response published".to_owned()),
        EntryKind::HookError => Some("hook-error published".to_owned()),
    };
    demo.timeline.cycle(key).card(Slot::of(entry.kind), entry);
    if let (Some(said), true) = (said, demo.shown().map(|c| &c.key) == Some(key)) {
        effects.push(Effect::Announce(said));
    }
}

/// A later part of a long response: its data joins the response card's.
fn more_response(demo: &mut Demo, key: &(String, String), data: &str) {
    let cycle = demo.timeline.cycle(key);
    if let Some(entry) = &mut cycle.cards[crate::demo::timeline::Slot::Outcome.index()] {
        if let Some((_, joined)) = entry.fields.iter_mut().find(|(n, _)| n == "Event data") {
            joined.push_str(data);
            entry.code = Some(pretty(joined));
        }
    }
}

/// Request `hook_id` sent again to the hook URL it came to, marked as a replay; edited, with
/// these headers (`Name: value` lines) and body.
fn replay(demo: &Demo, hook_id: u64, edited: Option<(&str, String)>) -> Vec<Effect> {
    let (Some(hook), Some(relay)) = (
        demo.hooks.iter().find(|h| h.hook_id == hook_id),
        &demo.relay,
    ) else {
        return Vec::new();
    };
    let origin = origin(&relay.hook_url);
    let (mut headers, body) = match edited {
        Some((lines, body)) => (
            lines
                .lines()
                .filter_map(|line| line.split_once(':'))
                // The learner edits what the explainer shows: the secret masked, unless revealed.
                .map(|(name, value)| {
                    let value = value.trim().replace(
                        &format!("Bearer {SECRET_MASK}"),
                        &format!("Bearer {}", demo.secret),
                    );
                    (name.trim().to_owned(), value)
                })
                .filter(|(name, _)| !name.is_empty())
                .collect(),
            Some(body),
        ),
        None => (replay_headers(hook), hook.body.clone()),
    };
    headers.push((REPLAY_HEADER.to_owned(), "1".to_owned()));
    vec![Effect::Replay {
        url: format!("{origin}{}", hook.original_url),
        method: hook.method.clone(),
        headers,
        body,
    }]
}

/// Publishes `WebhookDemo01` with `data` to the product, while a run is going on.
fn publish(state: &State, data: String) -> Vec<Effect> {
    let (Some(session), Some(product_id), true) = (
        state.session(),
        state.lists.selected_product,
        state.demo.running,
    ) else {
        return Vec::new();
    };
    vec![Effect::Publish {
        base: session.base.clone(),
        token: session.token.clone(),
        product_id,
        name: EVENT_NAME.to_owned(),
        data,
    }]
}

/// Forwards each request to the address typed (or stops, when empty), telling the relay the page
/// answers from now on.
fn apply_forward(demo: &mut Demo, typed: String) -> Vec<Effect> {
    match forward::check(&typed) {
        Ok(url) => {
            demo.forward = url;
            demo.forward_error = None;
        }
        Err(error) => {
            demo.forward_error = Some(error);
            return Vec::new();
        }
    }
    demo.forward_typed = typed;
    if demo.running && !demo.smee_typed.is_empty() {
        demo.forward_error =
            Some("smee.io answers every request itself: forwarding needs a webhook relay.".into());
        return Vec::new();
    }
    match &demo.relay {
        Some(relay) => vec![Effect::ControlRelay {
            url: relay.control_url.clone(),
            body: demo.control(),
        }],
        None => Vec::new(),
    }
}

/// Checks the answer the learner set and sends it to the relay, once the relay is known.
fn apply_answer(demo: &mut Demo, answer: Answer) -> Vec<Effect> {
    if let Err(error) = answer::check(&answer) {
        demo.answer_error = Some(error);
        return Vec::new();
    }
    demo.answer_error = None;
    demo.answer = answer;
    if demo.running && !demo.smee_typed.is_empty() {
        demo.answer_error = Some(
            "smee.io answers every request itself, with 200; these settings apply to a webhook \
             relay only."
                .into(),
        );
        return Vec::new();
    }
    match &demo.relay {
        Some(relay) => vec![Effect::ControlRelay {
            url: relay.control_url.clone(),
            body: demo.control(),
        }],
        None => Vec::new(),
    }
}

#[cfg(test)]
pub(crate) mod tests;
