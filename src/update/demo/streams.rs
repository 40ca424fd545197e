//! The live demo's stream messages: the relay's events (the requests the in-page server
//! receives, their answers, what forwarding them returned) and the Particle events of the run,
//! each placed in its cycle's slot whatever order the two streams deliver them in.

use webhook_demo_core::wire::{HookRequest, HookResponse, ParticleEvent, RelayStart};

use crate::{
    demo::{
        Demo, Msg, RelayEvent, WebhookState, answer,
        explain::{
            Entry, EntryKind, explain_event, explain_hook, explain_response, log_cells, pretty,
        },
        forward,
        journey::key_text,
        keep,
        requests::{curl, hook_cycle, replayed, smee_hook},
        timeline::{ATTEMPTS, HAND_MADE, Slot, Spot},
        webhook::{EVENT_NAME, webhook_settings},
    },
    msg::{self, DataRow, Effect},
    state::Devices,
    update::Context,
};

/// Forwarding one request came to this: the learner's server answered, or could not be reached.
pub(super) fn forwarded(demo: &mut Demo, hook_id: u64, result: Result<u16, String>) -> Vec<Effect> {
    let url = demo.forwarding.to.clone().unwrap_or_default();
    match result {
        Ok(status) => {
            demo.forwarding.error = None;
            vec![Effect::Announce(format!(
                "Request {hook_id} forwarded: your server answered {status}"
            ))]
        }
        Err(reason) => {
            demo.forwarding.error = Some(forward::failure(&url, &reason));
            vec![Effect::Announce(format!(
                "Request {hook_id} could not be forwarded"
            ))]
        }
    }
}

/// An event of the current run's relay stream or smee.io channel.
pub(super) fn relay_event(
    demo: &mut Demo,
    context: &Context,
    event: RelayEvent,
    data: &str,
) -> Vec<Effect> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(data) else {
        return Vec::new();
    };
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
                context
                    .session
                    .zip(context.lists.selected_product)
                    .map(|(session, product_id)| Effect::SaveWebhook {
                        base: session.base.clone(),
                        token: session.token.clone(),
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
            keep(&mut demo.history.responses, response.clone());
            let spot = demo.timeline.response(
                response.hook_id,
                response.responded_at,
                response.status_code,
                response.body.len(),
            );
            let mut effects = Vec::new();
            if let Some(spot) = spot {
                place(demo, &spot, explain_response(&response), &mut effects);
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

/// What a request the in-page server received becomes: explainer entries, the page's own answer
/// when it answers by attempt, and its event's data table row.
pub(super) fn hook_effects(demo: &mut Demo, hook: &HookRequest) -> Vec<Effect> {
    let [mut received, data] = explain_hook(hook);
    let hook_url = demo
        .relay
        .as_ref()
        .map(|r| r.hook_url.as_str())
        .unwrap_or_default();
    received.curl = Some(curl(hook, hook_url));
    keep(&mut demo.history.hooks, hook.clone());
    // A request that is not the demo's (a curl of the learner's own) is a cycle of its own.
    let key =
        hook_cycle(hook).unwrap_or_else(|| (HAND_MADE.to_owned(), format!("#{}", hook.hook_id)));
    let mut effects = Vec::new();
    // A request older than every cycle a full timeline keeps (a relay replaying a long run)
    // is in the history and the table, not the explainer.
    let number = if demo.timeline.admits(&key, hook.received_at) {
        begin(demo, &key);
        let attempt = demo
            .timeline
            .request(&key, hook.hook_id, hook.received_at, replayed(hook));
        let spot = (key.clone(), attempt);
        place(demo, &spot, received, &mut effects);
        place(demo, &spot, data, &mut effects);
        demo.timeline.cycle(&key).number(attempt)
    } else {
        None
    };
    let respond = demo
        .relay
        .as_ref()
        .and_then(|relay| forward::respond_url(&relay.control_url, hook.hook_id));
    match (&demo.forwarding.to, respond) {
        (Some(url), Some(respond)) => effects.push(Effect::Forward {
            url: url.clone(),
            method: hook.method.clone(),
            headers: forward::headers(hook),
            body: hook.body.clone(),
            respond,
            fallback: forward::fallback(&demo.answer, hook.hook_id),
            hook_id: hook.hook_id,
        }),
        (None, Some(respond)) if demo.answer.fail_first && authorized(demo, hook) => {
            effects.push(Effect::Respond {
                url: respond,
                body: answer::by_attempt(&demo.answer, hook.hook_id, number),
            });
        }
        _ => {}
    }
    if let Some(cells) = hook.body.as_deref().and_then(|b| demo.data_row(b)) {
        // One row per event: a retry (or any repeat of the event) updates its row.
        effects.push(Effect::DataRow(DataRow {
            columns: demo.columns.clone(),
            cells,
            key: key_text(&key),
            attempt: number.unwrap_or(0) as u32,
        }));
    }
    effects
}

/// Whether the relay let `hook` through to the page: it carries the `Authorization` the answer
/// expects (the relay answers any other with 401 itself).
fn authorized(demo: &Demo, hook: &HookRequest) -> bool {
    let expected =
        match crate::demo::webhook::control_body(&demo.answer, &demo.secret, false).authorization {
            Some(Some(expected)) => expected,
            Some(None) | None => return true,
        };
    hook.headers
        .iter()
        .any(|(name, value)| name.eq_ignore_ascii_case("authorization") && *value == expected)
}

/// An event of the current run's product event stream: a row of the event log, and for the demo's
/// events a hop of the timeline and an explainer entry.
pub(super) fn particle_event(
    demo: &mut Demo,
    context: &Context,
    run: u32,
    name: &str,
    data: &str,
) -> Vec<Effect> {
    let Some(event) = serde_json::from_str(data)
        .ok()
        .and_then(|value| ParticleEvent::from_json(name, &value))
    else {
        return Vec::new();
    };
    demo.stream_error = None;
    seen(demo, context, run, event)
}

/// The events of Particle's stream that run `run` saw before a reload, kept by the tab: each
/// goes where it went then, quietly (nothing is announced again, no clock starts again: their
/// time is past), and the event log shows them again. Once the cloud's wait is over
/// (`Msg::AwayOver`), a cycle they left unfinished, or one whose publish never came, is one the
/// page was away for: Particle's stream does not send again what a page missed.
pub(super) fn restore(
    demo: &mut Demo,
    context: &Context,
    run: u32,
    events: Vec<ParticleEvent>,
) -> Vec<Effect> {
    let mut effects = Vec::new();
    for event in events {
        effects.extend(seen(demo, context, run, event));
    }
    effects.retain(|effect| matches!(effect, Effect::LogEvent(_)));
    // The log says where the page was away: what was published then is not in it.
    effects.push(Effect::LogEvent(vec![
        "—".to_owned(),
        "(this page reloaded)".to_owned(),
        "Below, the demo's events from before the reload. What was published while the page \
         was away is missing: Particle's stream does not send it again."
            .to_owned(),
        String::new(),
    ]));
    for cycle in &mut demo.timeline.cycles {
        cycle.restored = true;
    }
    effects.push(Effect::Timer {
        ms: crate::demo::timeline::GIVE_UP_MS as u32,
        msg: Box::new(msg::Msg::Demo(Msg::AwayOver { run })),
    });
    effects
}

/// An event of the product's stream, read: its log row, and for the demo's events its hop and
/// card.
fn seen(demo: &mut Demo, context: &Context, run: u32, event: ParticleEvent) -> Vec<Effect> {
    let device = match &context.lists.devices {
        Devices::Loaded(devices) => devices
            .iter()
            .find(|d| d.id == event.coreid)
            .and_then(|d| d.name.clone()),
        Devices::NotLoaded | Devices::Loading | Devices::Failed(_) => None,
    }
    .unwrap_or_else(|| event.coreid.clone());
    let mut effects = vec![Effect::LogEvent(log_cells(&event, &device))];
    keep(&mut demo.history.events, event.clone());
    demo.history.events_seen += 1;
    let mut spot = None;
    if event.name == EVENT_NAME {
        demo.preview = Some(event.clone());
        let cycle = (event.coreid.clone(), event.published_at.clone());
        begin(demo, &cycle);
        spot = Some((cycle, 0));
        if demo.timeline.published(&event.coreid, &event.published_at) {
            effects.push(Effect::Timer {
                ms: crate::demo::timeline::GIVE_UP_MS as u32,
                msg: Box::new(msg::Msg::Demo(Msg::GiveUp {
                    run,
                    key: (event.coreid.clone(), event.published_at.clone()),
                })),
            });
        }
    } else if event.name.contains(EVENT_NAME) {
        let found = demo
            .timeline
            .webhook_event(&event.name, &event.data, &event.published_at);
        match found {
            // A later part of a long response joins the first part's card.
            Some((found, true)) => more_response(demo, &found, &event.data),
            Some((found, false)) => spot = Some(found),
            None => {}
        }
    }
    if let (Some(spot), Some(entry)) = (spot, explain_event(&event, &device)) {
        if entry.kind == EntryKind::EventDevice {
            demo.timeline.cycle(&spot.0).device.clone_from(&device);
        }
        place(demo, &spot, entry, &mut effects);
    }
    if let (Some(session), "spark/status") = (context.session, event.name.as_str()) {
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
pub(super) fn begin(demo: &mut Demo, key: &(String, String)) {
    if demo.inspector.pinned.is_some() && demo.timeline.find(key).is_none() {
        demo.inspector.unseen += 1;
    }
}

/// Puts `entry` in its slot of the cycle and attempt `spot`; when that cycle is the one shown,
/// the hop is announced.
pub(super) fn place(demo: &mut Demo, spot: &Spot, entry: Entry, effects: &mut Vec<Effect>) {
    let (key, attempt) = spot;
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
    let cycle = demo.timeline.cycle(key);
    let late = cycle.attempts.get(*attempt).is_some_and(|a| a.late());
    // An answer after the cloud gave up is not the cycle's answer: say so. A retry says which
    // attempt it is.
    let said = match (said, cycle.number(*attempt)) {
        (Some(said), _) if entry.kind == EntryKind::ServerResponse && late => {
            Some(format!("{said}, too late: the cloud had stopped waiting"))
        }
        (Some(said), Some(number)) if number > 1 && Slot::of(entry.kind) != Slot::Event => {
            Some(format!("{said} (attempt {number} of {ATTEMPTS})"))
        }
        (said, _) => said,
    };
    cycle.card(Slot::of(entry.kind), *attempt, entry);
    if let (Some(said), true) = (said, demo.shown().map(|c| &c.key) == Some(key)) {
        effects.push(Effect::Announce(said));
    }
}

/// A later part of a long response: its data joins the response card's.
pub(super) fn more_response(demo: &mut Demo, (key, attempt): &Spot, data: &str) {
    let cycle = demo.timeline.cycle(key);
    let card = cycle
        .attempts
        .get_mut(*attempt)
        .and_then(|a| a.cards[Slot::Outcome.index() - 1].as_mut());
    if let Some(entry) = card {
        if let Some((_, joined)) = entry.fields.iter_mut().find(|(n, _)| n == "Event data") {
            joined.push_str(data);
            entry.code = Some(pretty(joined));
        }
    }
}
