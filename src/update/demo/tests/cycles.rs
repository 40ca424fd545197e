//! Cycles through `update`: each card in its slot whatever order the streams deliver the hops
//! in (issue 14), and a selected cycle that stays while other devices publish.

use serde_json::{Value, json};

use super::{relay, started};
use crate::{
    demo::{Msg as D, webhook::EVENT_NAME},
    msg::Msg,
    state::State,
    update::update,
};

/// The kinds of the shown cycle's cards, in slot order (empty slots left out).
pub(crate) fn shown_kinds(state: &State) -> Vec<&'static str> {
    state
        .demo
        .shown()
        .map(|cycle| {
            cycle
                .cards()
                .into_iter()
                .flatten()
                .map(|e| e.kind.name())
                .collect()
        })
        .unwrap_or_default()
}

/// A Particle event of run 1.
fn particle(name: &str, data: &str, coreid: &str, at: &str) -> Msg {
    Msg::Demo(D::ParticleEvent {
        run: 1,
        name: name.into(),
        data: json!({"data": data, "published_at": at, "coreid": coreid}).to_string(),
    })
}

/// A relay `hook` for the cycle (`device`, `at`).
fn hook_of(id: u64, device: &str, at: &str) -> Value {
    json!({"hookId": id, "receivedAt": 1, "method": "POST", "originalUrl": "/", "query": "",
        "headers": [], "body": format!("{{\"deviceId\":\"{device}\",\"ts\":\"{at}\",\"sensor\":{{}}}}"),
        "bodyBase64": null})
}

fn answered(id: u64, status: u16) -> Value {
    json!({"hookId": id, "statusCode": status, "contentType": "application/json",
        "body": "{}", "respondedAt": 2, "source": "default"})
}

const SLOT_ORDER: [&str; 6] = [
    "event-api",
    "hook-sent",
    "hook-received",
    "hook-data",
    "server-response",
    "hook-response",
];

/// Issue 14: Particle's hook-response reached the page before the relay's request, and the
/// explainer showed the response before the request it answered.
#[test]
fn a_response_event_before_its_request_still_takes_the_last_slot() {
    let mut state = started();
    let at = "2026-11-28T10:00:00.123Z";
    update(&mut state, particle(EVENT_NAME, "{}", "api", at));
    update(
        &mut state,
        particle(
            "hook-sent/WebhookDemo01",
            "undefined",
            "particle-internal",
            at,
        ),
    );
    update(
        &mut state,
        particle(
            "api/hook-response/WebhookDemo01/0",
            "{\"ok\":true}",
            "particle-internal",
            at,
        ),
    );
    assert_eq!(
        shown_kinds(&state),
        ["event-api", "hook-sent", "hook-response"]
    );
    relay(&mut state, 1, "hook", hook_of(1, "api", at));
    relay(&mut state, 1, "hookResponse", answered(1, 200));
    assert_eq!(shown_kinds(&state), SLOT_ORDER);
}

/// The relay's request can overtake its Particle event: it starts the cycle, the event joins it
/// in the first slot.
#[test]
fn a_request_before_its_event_still_comes_second() {
    let mut state = started();
    let at = "2026-11-28T10:00:00.123Z";
    relay(&mut state, 1, "hook", hook_of(1, "api", at));
    relay(&mut state, 1, "hookResponse", answered(1, 500));
    assert_eq!(
        shown_kinds(&state),
        ["hook-received", "hook-data", "server-response"]
    );
    update(&mut state, particle(EVENT_NAME, "{}", "api", at));
    update(
        &mut state,
        particle(
            "hook-sent/WebhookDemo01",
            "undefined",
            "particle-internal",
            at,
        ),
    );
    update(
        &mut state,
        particle(
            "api/hook-error/WebhookDemo01/0",
            "error status 500 from 127.0.0.1",
            "particle-internal",
            at,
        ),
    );
    let mut expected = SLOT_ORDER;
    expected[5] = "hook-error";
    assert_eq!(shown_kinds(&state), expected);
    assert_eq!(state.demo.timeline.cycles.len(), 1, "one cycle, not two");
}

/// Two devices' cycles interleaved: each card lands in its own device's cycle.
#[test]
fn interleaved_devices_fill_their_own_cycles() {
    let mut state = started();
    let (a, b) = ("2026-11-28T10:00:00.100Z", "2026-11-28T10:00:00.105Z");
    update(&mut state, particle(EVENT_NAME, "{}", "e00a", a));
    update(&mut state, particle(EVENT_NAME, "{}", "e00b", b));
    relay(&mut state, 1, "hook", hook_of(2, "e00b", b));
    update(
        &mut state,
        particle(
            "hook-sent/WebhookDemo01",
            "undefined",
            "particle-internal",
            a,
        ),
    );
    relay(&mut state, 1, "hook", hook_of(1, "e00a", a));
    update(
        &mut state,
        particle(
            "hook-sent/WebhookDemo01",
            "undefined",
            "particle-internal",
            b,
        ),
    );
    relay(&mut state, 1, "hookResponse", answered(2, 200));
    update(
        &mut state,
        particle(
            "e00b/hook-response/WebhookDemo01/0",
            "{}",
            "particle-internal",
            b,
        ),
    );
    relay(&mut state, 1, "hookResponse", answered(1, 200));
    update(
        &mut state,
        particle(
            "e00a/hook-response/WebhookDemo01/0",
            "{}",
            "particle-internal",
            a,
        ),
    );
    let mut device = SLOT_ORDER;
    device[0] = "event-device";
    for cycle in &state.demo.timeline.cycles {
        let kinds: Vec<&str> = cycle
            .cards()
            .into_iter()
            .flatten()
            .map(|e| e.kind.name())
            .collect();
        assert_eq!(kinds, device, "{:?}", cycle.key);
    }
    assert_eq!(state.demo.timeline.cycles.len(), 2);
}

/// Selecting a cycle (or pausing) keeps it shown while others arrive, and counts them.
#[test]
fn a_selected_cycle_stays_while_devices_publish() {
    let mut state = started();
    let first = "2026-11-28T10:00:00.100Z";
    update(&mut state, particle(EVENT_NAME, "{}", "api", first));
    update(
        &mut state,
        particle(EVENT_NAME, "{}", "e00a", "2026-11-28T10:00:01.000Z"),
    );
    update(
        &mut state,
        Msg::Demo(D::SelectCycle(("api".into(), first.into()))),
    );
    update(
        &mut state,
        particle(EVENT_NAME, "{}", "e00a", "2026-11-28T10:01:01.000Z"),
    );
    update(
        &mut state,
        particle(EVENT_NAME, "{}", "e00b", "2026-11-28T10:01:02.000Z"),
    );
    assert_eq!(state.demo.shown().map(|c| c.key.1.as_str()), Some(first));
    assert_eq!(state.demo.inspector.unseen, 2);
    // Following the newest again.
    update(&mut state, Msg::Demo(D::TogglePause));
    assert_eq!(state.demo.shown().map(|c| c.key.0.as_str()), Some("e00b"));
    // Pause freezes the newest; Test goes live again.
    update(&mut state, Msg::Demo(D::TogglePause));
    update(
        &mut state,
        particle(EVENT_NAME, "{}", "e00a", "2026-11-28T10:02:00.000Z"),
    );
    assert_eq!(state.demo.shown().map(|c| c.key.0.as_str()), Some("e00b"));
    update(&mut state, Msg::Demo(D::Test { id: 1 }));
    assert_eq!(state.demo.inspector.pinned, None);
}

/// Each hop of the shown cycle is announced in the page's status region.
#[test]
fn hops_of_the_shown_cycle_are_announced() {
    let mut state = started();
    let at = "2026-11-28T10:00:00.123Z";
    let said = |effects: Vec<crate::msg::Effect>| -> Vec<String> {
        effects
            .into_iter()
            .filter_map(|e| match e {
                crate::msg::Effect::Announce(text) => Some(text),
                _ => None,
            })
            .collect()
    };
    assert_eq!(
        said(update(&mut state, particle(EVENT_NAME, "{}", "api", at))),
        ["Event published"]
    );
    assert_eq!(
        said(relay(&mut state, 1, "hook", hook_of(1, "api", at))),
        ["Request received"]
    );
    assert_eq!(
        said(relay(&mut state, 1, "hookResponse", answered(1, 404))),
        ["Answered 404"]
    );
    // Another cycle, not shown while this one is selected, is not announced.
    update(
        &mut state,
        Msg::Demo(D::SelectCycle(("api".into(), at.into()))),
    );
    let other = "2026-11-28T10:00:09.000Z";
    assert!(
        said(update(
            &mut state,
            particle(EVENT_NAME, "{}", "e00a", other)
        ))
        .is_empty()
    );
}

/// Slow motion makes the in-page server wait 1.5 s; an edited replay sends what was typed.
#[test]
fn slow_motion_and_edit_and_resend() {
    use crate::msg::Effect;
    let mut state = started();
    let start = json!({"sessionId": "ab", "hookUrl": "http://h:1/relay/hook/t", "controlUrl": "http://h:1/relay/control/ab", "resumed": false});
    relay(&mut state, 1, "start", start);
    let effects = update(&mut state, Msg::Demo(D::SlowMotion(true)));
    assert!(
        matches!(&effects[..], [Effect::ControlRelay { body, .. }] if body.contains("\"delayMs\":1500")),
        "{effects:?}"
    );
    assert!(state.demo.inspector.slow);
    relay(
        &mut state,
        1,
        "hook",
        hook_of(4, "api", "2026-11-28T10:00:00.123Z"),
    );
    let effects = update(
        &mut state,
        Msg::Demo(D::ReplayEdited {
            hook_id: 4,
            headers: "Content-Type: text/plain\nnot a header\nX-Try:  it ".into(),
            body: "hello".into(),
        }),
    );
    assert_eq!(
        effects,
        [Effect::Replay {
            url: "http://h:1/".into(),
            method: "POST".into(),
            headers: vec![
                ("Content-Type".into(), "text/plain".into()),
                ("X-Try".into(), "it".into()),
                (crate::demo::requests::REPLAY_HEADER.into(), "1".into()),
            ],
            body: Some("hello".into()),
        }]
    );
}

/// Forwarding: the relay is told the page answers, and each request goes on to the learner's
/// server with the relay's `respond` URL and the page's own answer as a fallback.
#[test]
fn forwarding_passes_each_request_on() {
    use crate::msg::Effect;
    let mut state = started();
    let start = json!({"sessionId": "ab", "hookUrl": "http://h:1/relay/hook/t", "controlUrl": "http://h:1/relay/control/ab", "resumed": false});
    relay(&mut state, 1, "start", start);
    assert!(
        update(
            &mut state,
            Msg::Demo(D::ApplyForward("localhost:3000".into()))
        )
        .is_empty()
    );
    assert!(state.demo.forwarding.error.is_some());
    let effects = update(
        &mut state,
        Msg::Demo(D::ApplyForward("http://localhost:3000/webhook".into())),
    );
    assert!(
        matches!(&effects[..], [Effect::ControlRelay { body, .. }] if body.contains("\"pageAnswers\":true")),
        "{effects:?}"
    );
    let effects = relay(
        &mut state,
        1,
        "hook",
        hook_of(9, "api", "2026-11-28T10:00:00.123Z"),
    );
    let forwarded = effects
        .iter()
        .find_map(|e| match e {
            Effect::Forward {
                url,
                respond,
                fallback,
                hook_id,
                ..
            } => Some((
                url.as_str(),
                respond.as_str(),
                fallback.contains("\"status\":200"),
                *hook_id,
            )),
            _ => None,
        })
        .expect("a forward");
    assert_eq!(
        forwarded,
        (
            "http://localhost:3000/webhook",
            "http://h:1/relay/respond/ab/9",
            true,
            9
        )
    );
    update(
        &mut state,
        Msg::Demo(D::Forwarded {
            hook_id: 9,
            result: Err("TypeError: Failed to fetch".into()),
        }),
    );
    assert!(
        state
            .demo
            .forwarding
            .error
            .as_deref()
            .is_some_and(|e| e.contains("http://localhost:3000/webhook"))
    );
}

/// The secret is masked in the explainer (headers, curl, edit and resend) until revealed, and
/// an edited resend of the masked headers still carries the real secret.
#[test]
fn the_secret_is_masked_until_revealed_and_resent_for_real() {
    use crate::{demo::SECRET_MASK, msg::Effect, render::view::view};
    let mut state = started();
    state.demo.secret = "7f3a9c".into();
    let secret = state.demo.secret.clone();
    let start = json!({"sessionId": "ab", "hookUrl": "http://h:1/relay/hook/t", "controlUrl": "http://h:1/relay/control/ab", "resumed": false});
    relay(&mut state, 1, "start", start);
    let mut hook = hook_of(4, "api", "2026-11-28T10:00:00.123Z");
    hook["headers"] = json!([["Authorization", format!("Bearer {secret}")]]);
    // The same letters in the body are not the secret.
    hook["body"] = json!(format!("{{\"note\":\"{secret}\"}}"));
    relay(&mut state, 1, "hook", hook);
    let cards = |state: &State| view(state)["cards"].to_string();
    let masked = cards(&state);
    assert!(!masked.contains(&format!("Bearer {secret}")), "{masked}");
    assert!(
        masked.contains(&format!(r#"\"note\":\"{secret}\""#)),
        "{masked}"
    );
    assert!(
        masked.contains(&format!("Bearer {SECRET_MASK}")),
        "{masked}"
    );
    update(&mut state, Msg::RevealSecret(true));
    assert!(cards(&state).contains(&format!("Bearer {secret}")));
    update(&mut state, Msg::RevealSecret(false));
    let effects = update(
        &mut state,
        Msg::Demo(D::ReplayEdited {
            hook_id: 4,
            headers: format!("Authorization: Bearer {SECRET_MASK}"),
            body: String::new(),
        }),
    );
    assert!(
        matches!(&effects[..], [Effect::Replay { headers, .. }] if headers[0] == ("Authorization".to_owned(), format!("Bearer {secret}"))),
        "{effects:?}"
    );
}
