//! A retry through `update`: the fail-first preset answers an event's first attempt 500 and its
//! retry as set, the data table keeps one row per event, and the explainer teaches the retry.

use serde_json::{Value, json};
use webhook_demo_core::wire::PageAnswer;

use super::{relay, started};
use crate::{
    demo::{Msg as D, answer::Preset, webhook::EVENT_NAME},
    msg::{Effect, Msg},
    panel::Panel,
    render::Renderer,
    state::State,
    update::update,
};

const AT: &str = "2026-11-28T10:00:00.100Z";

fn particle(state: &mut State, name: &str, data: &str, at: &str) -> Vec<Effect> {
    update(
        state,
        Msg::Demo(D::ParticleEvent {
            run: 1,
            name: name.into(),
            data: json!({"data": data, "published_at": at, "coreid": "api"}).to_string(),
        }),
    )
}

/// A request of the test event, as every attempt of it carries it.
fn hook(id: u64, headers: Value) -> Value {
    json!({"hookId": id, "receivedAt": 1_800_000_000_000u64 + id, "method": "POST",
        "originalUrl": "/relay/hook/t", "query": "", "headers": headers,
        "body": format!("{{\"deviceId\":\"api\",\"ts\":\"{AT}\",\"sensor\":{{\"t\":25}}}}"),
        "bodyBase64": null})
}

fn signed() -> Value {
    json!([
        ["content-type", "application/json"],
        ["authorization", "Bearer s"]
    ])
}

/// The fail-first preset on a run whose relay is known.
fn failing_first() -> State {
    let mut state = started();
    let start = json!({"sessionId": "ab", "hookUrl": "http://h/relay/hook/t",
        "controlUrl": "http://h/relay/control/ab", "resumed": false});
    relay(&mut state, 1, "start", start);
    let effects = update(&mut state, Msg::Demo(D::Preset(Preset::FailFirst)));
    assert!(
        matches!(&effects[..], [Effect::ControlRelay { body, .. }]
            if body.contains("\"pageAnswers\":true") && body.contains("\"status\":200")),
        "{effects:?}"
    );
    state
}

/// The page's answers among `effects`: (respond URL, status).
fn answers(effects: &[Effect]) -> Vec<(String, u16)> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Respond { url, body } => {
                let answer: PageAnswer = serde_json::from_str(body).expect("a page answer");
                Some((url.clone(), answer.status))
            }
            _ => None,
        })
        .collect()
}

/// The data table rows among `effects`: (key, attempt).
fn rows(effects: &[Effect]) -> Vec<(String, u32)> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::DataRow(row) => Some((row.key.clone(), row.attempt)),
            _ => None,
        })
        .collect()
}

#[test]
fn fail_first_answers_the_first_attempt_500_and_the_retry_200() {
    let mut state = failing_first();
    particle(&mut state, EVENT_NAME, "{\"t\":25}", AT);
    particle(&mut state, "hook-sent/WebhookDemo01", "undefined", AT);
    let first = relay(&mut state, 1, "hook", hook(1, signed()));
    assert_eq!(
        answers(&first),
        [("http://h/relay/respond/ab/1".to_owned(), 500)]
    );
    assert_eq!(rows(&first), [(format!("api@{AT}"), 1)]);
    // The same request again (a stream that resumed) is still the first attempt.
    let again = relay(&mut state, 1, "hook", hook(1, signed()));
    assert_eq!(
        answers(&again),
        [("http://h/relay/respond/ab/1".to_owned(), 500)]
    );
    particle(
        &mut state,
        "api/hook-error/WebhookDemo01/0",
        "error status 500",
        AT,
    );
    particle(&mut state, "hook-sent/WebhookDemo01", "undefined", AT);
    let retry = relay(&mut state, 1, "hook", hook(2, signed()));
    assert_eq!(
        answers(&retry),
        [("http://h/relay/respond/ab/2".to_owned(), 200)]
    );
    // The retry takes its event's row: the table holds the event once.
    assert_eq!(rows(&retry), [(format!("api@{AT}"), 2)]);
    let said = particle(&mut state, "api/hook-response/WebhookDemo01/0", "{}", AT);
    assert!(
        said.contains(&Effect::Announce(
            "hook-response published (attempt 2 of 3)".into()
        )),
        "{said:?}"
    );
    let cycle = &state.demo.timeline.cycles[0];
    assert_eq!(cycle.attempts.len(), 2);
    assert!(cycle.delivered());
    // A request the relay refuses (no secret) is answered by the relay, not the page.
    let refused = relay(&mut state, 1, "hook", hook(3, json!([])));
    assert!(answers(&refused).is_empty());
}

#[test]
fn other_answers_leave_the_relay_to_answer() {
    let mut state = started();
    let start = json!({"sessionId": "ab", "hookUrl": "http://h/relay/hook/t",
        "controlUrl": "http://h/relay/control/ab", "resumed": false});
    relay(&mut state, 1, "start", start);
    update(&mut state, Msg::Demo(D::Preset(Preset::ServerError)));
    let effects = relay(&mut state, 1, "hook", hook(1, signed()));
    assert!(answers(&effects).is_empty(), "{effects:?}");
}

#[test]
fn the_explainer_shows_the_retry_and_why_a_server_must_be_idempotent() {
    let mut state = failing_first();
    particle(&mut state, EVENT_NAME, "{\"t\":25}", AT);
    particle(&mut state, "hook-sent/WebhookDemo01", "undefined", AT);
    relay(&mut state, 1, "hook", hook(1, signed()));
    particle(
        &mut state,
        "api/hook-error/WebhookDemo01/0",
        "error status 500",
        AT,
    );
    let renderer = Renderer::new();
    let waiting = renderer
        .panel(&state, Panel::Explainer)
        .expect("the explainer renders");
    assert!(
        waiting.contains("data-wait=\"retry-due\"")
            && waiting.contains("<td class=\"attempt\">1 of 3</td>"),
        "{waiting}"
    );
    particle(&mut state, "hook-sent/WebhookDemo01", "undefined", AT);
    relay(&mut state, 1, "hook", hook(2, signed()));
    particle(&mut state, "api/hook-response/WebhookDemo01/0", "{}", AT);
    let page = renderer
        .panel(&state, Panel::Explainer)
        .expect("the explainer renders");
    assert!(
        page.contains("<td class=\"attempt\">2 of 3</td>") && page.contains(">Attempt</th>"),
        "{page}"
    );
    assert!(page.contains("data-wait=\"retry\""), "{page}");
    assert!(
        page.contains("data-hop=\"hook-error\" data-attempt=\"1\"")
            && page.contains("data-hop=\"hook-response\" data-attempt=\"2\""),
        "{page}"
    );
    assert!(
        page.contains("it must be idempotent")
            && page.contains("Key each event")
            && page.contains("<code>published_at</code>"),
        "{page}"
    );
    let table = renderer
        .panel(&state, Panel::DataTable)
        .expect("the data table renders");
    assert!(
        table.contains("data-preset=\"fail-first\" aria-pressed=\"true\""),
        "{table}"
    );
}
