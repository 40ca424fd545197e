//! The live demo's update: what each of its messages does to the state, and the effects it asks
//! for. Every message is matched here by name; a stream message of another run than the current
//! one changes nothing.

use webhook_demo_core::wire::{ParticleEvent, RelayStart};

use super::Context;

mod streams;

use crate::{
    demo::{
        Answer, Demo, Msg, SECRET_MASK, SLOW_MS, WebhookState, answer,
        explain::pretty,
        forward,
        requests::{REPLAY_HEADER, export, origin, replay_headers},
        webhook::{EVENT_NAME, test_data, webhook_settings},
    },
    failure::describe,
    msg::Effect,
};
use streams::{forwarded, particle_event, relay_event, restore};

/// One arm per message. A failure saying the cloud no longer takes the token changes nothing
/// here: the root signs out, which stops the demo.
pub fn update(demo: &mut Demo, context: &Context, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Start {
            secret,
            relay,
            smee,
        } => return start(demo, context, secret, &relay, &smee),
        Msg::SmeeChannel(url) => demo.smee_typed = url,
        Msg::Stop => {
            let was_running = std::mem::take(&mut demo.running);
            return was_running
                .then_some(Effect::CloseStreams)
                .into_iter()
                .collect();
        }
        Msg::RelayEvent { run, event, data } => {
            if demo.current(run) {
                return relay_event(demo, context, event, &data);
            }
        }
        Msg::ParticleEvent { run, name, data } => {
            // A stream reopened may deliver an event again: it is shown once.
            if demo.current(run) && demo.streams.first_time(&name, &data) {
                return particle_event(demo, context, run, &name, &data);
            }
        }
        Msg::Stream { run, feed, status } => {
            if demo.current(run) {
                demo.streams.set(feed, status);
            }
        }
        Msg::GiveUp { run, key } => {
            if demo.current(run) {
                demo.timeline.give_up(&key);
            }
        }
        Msg::Restore { run, events } => {
            if demo.current(run) {
                return restore(demo, context, run, events);
            }
        }
        Msg::AwayOver { run } => {
            if demo.current(run) {
                for cycle in &mut demo.timeline.cycles {
                    cycle.mark_away();
                }
            }
        }
        Msg::Replay(hook_id) => return replay(demo, hook_id, None),
        Msg::ReplayEdited {
            hook_id,
            headers,
            body,
        } => return replay(demo, hook_id, Some((&headers, body))),
        Msg::SelectCycle(key) => {
            if demo.timeline.find(&key).is_some() {
                demo.inspector.pinned = Some(key);
                demo.inspector.unseen = 0;
            }
        }
        Msg::TogglePause => {
            demo.inspector.pinned = match demo.inspector.pinned {
                Some(_) => None,
                None => demo.timeline.cycles.last().map(|c| c.key.clone()),
            };
            demo.inspector.unseen = 0;
        }
        Msg::Copy(text) => return vec![Effect::CopyText(text)],
        Msg::ApplyForward(typed) => return apply_forward(demo, typed),
        Msg::Forwarded { hook_id, result } => return forwarded(demo, hook_id, result),
        Msg::Preset(preset) => return apply_answer(demo, preset.answer()),
        Msg::SlowMotion(on) => {
            demo.inspector.slow = on;
            let answer = Answer {
                delay_ms: if on { SLOW_MS } else { 0 },
                ..demo.answer.clone()
            };
            return apply_answer(demo, answer);
        }
        Msg::WebhookSaved(Ok(id)) => demo.webhook = WebhookState::Saved(id),
        Msg::WebhookSaved(Err(failure)) | Msg::TestPublished(Err(failure))
            if failure.status == 401 => {}
        Msg::WebhookSaved(Err(failure)) => {
            demo.webhook = WebhookState::Failed(describe(&failure));
        }
        Msg::PreviewData(data) => {
            demo.preview_typed.clone_from(&data);
            // The cloud sets the time; until then the preview shows where it goes.
            demo.preview = Some(ParticleEvent {
                name: EVENT_NAME.to_owned(),
                data,
                published_at: "(the time the cloud receives it)".to_owned(),
                coreid: "api".to_owned(),
            });
        }
        Msg::PublishData(data) => {
            demo.preview_typed.clone_from(&data);
            return publish(demo, context, data);
        }
        Msg::Test { id } => return test(demo, context, id),
        Msg::TestPublished(Ok(data)) => demo.test_sent = Some(pretty(&data)),
        Msg::TestPublished(Err(failure)) => demo.test_error = Some(describe(&failure)),
        Msg::ApplyAnswer(answer) => return apply_answer(demo, answer),
        Msg::AnswerApplied(result) => demo.answer_error = result.err(),
        Msg::Export => {
            return vec![Effect::OfferDownload {
                file: "webhook-demo-session.json",
                mime: "application/json",
                text: export(demo),
            }];
        }
    }
    Vec::new()
}

/// Test: publishes the test event, and the view follows the newest cycle to show what it does.
fn test(demo: &mut Demo, context: &Context, id: u32) -> Vec<Effect> {
    let effects = publish(demo, context, test_data(id));
    if !effects.is_empty() {
        demo.test_error = None;
        // The learner wants to watch their own test: the view follows the newest cycle.
        demo.inspector.pinned = None;
        demo.inspector.unseen = 0;
    }
    effects
}

/// Starts a run on the relay the learner typed, the hosting server's, or a smee.io channel.
fn start(
    demo: &mut Demo,
    context: &Context,
    secret: String,
    relay: &str,
    smee: &str,
) -> Vec<Effect> {
    let smee = smee.trim();
    if !smee.is_empty() {
        return start_smee(demo, context, secret, smee);
    }
    let typed = relay.trim();
    let relay_base = if typed.is_empty() {
        context.server.relay().map(str::to_owned)
    } else if typed.starts_with("http://") || typed.starts_with("https://") {
        Some(format!("{}/", typed.trim_end_matches('/')))
    } else {
        demo.start_error = Some("A relay address starts with http:// or https://.".into());
        return Vec::new();
    };
    let Some(relay_base) = relay_base else {
        demo.start_error = Some(
            "This page's server offers no webhook relay: enter the address of one \
             (run `webhook-demo serve --public-url …` on a public host)."
                .into(),
        );
        return Vec::new();
    };
    let (Some(session), Some(product_id)) = (context.session, context.lists.selected_product)
    else {
        return Vec::new();
    };
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
            base: session.base.clone(),
            token: session.token.clone(),
            product_id,
        },
    ]
}

/// Starts a run on a smee.io channel: the channel is the hook URL, known at once, so the webhook is
/// saved right away; smee answers every request itself, so there is nothing to control.
fn start_smee(demo: &mut Demo, context: &Context, secret: String, smee: &str) -> Vec<Effect> {
    if !smee.starts_with("https://") && !smee.starts_with("http://") {
        demo.start_error = Some("A smee.io channel is an https:// address.".into());
        return Vec::new();
    }
    let (Some(session), Some(product_id)) = (context.session, context.lists.selected_product)
    else {
        return Vec::new();
    };
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
            base: session.base.clone(),
            token: session.token.clone(),
            product_id,
            settings: webhook_settings(smee, &demo.secret).to_string(),
        },
    ]
}

/// Request `hook_id` sent again to the hook URL it came to, marked as a replay; edited, with
/// these headers (`Name: value` lines) and body.
fn replay(demo: &Demo, hook_id: u64, edited: Option<(&str, String)>) -> Vec<Effect> {
    let (Some(hook), Some(relay)) = (
        demo.history.hooks.iter().find(|h| h.hook_id == hook_id),
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
fn publish(demo: &Demo, context: &Context, data: String) -> Vec<Effect> {
    let (Some(session), Some(product_id), true) = (
        context.session,
        context.lists.selected_product,
        demo.running,
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
            demo.forwarding.to = url;
            demo.forwarding.error = None;
        }
        Err(error) => {
            demo.forwarding.error = Some(error);
            return Vec::new();
        }
    }
    demo.forwarding.typed = typed;
    if demo.running && !demo.smee_typed.is_empty() {
        demo.forwarding.error =
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
