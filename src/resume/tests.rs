//! A kept run goes into storage and back unchanged, and resumes only once signed in with its
//! product picked: on the same relay session, with the same webhook, secret and answer, and with
//! the cycles Particle's stream brought before the reload drawn as they were.

use serde_json::{Value, json};

use super::{decode, encode, resume};
use crate::{
    demo::{Msg as D, WebhookState, journey, webhook::EVENT_NAME},
    msg::{Effect, Msg},
    update::{demo::tests::relay, update},
};

/// A run on the relay with its webhook saved and a 500 chosen.
fn running() -> crate::state::State {
    let mut state = crate::update::demo::tests::started();
    let start = serde_json::json!({"sessionId": "ab", "hookUrl": "http://h/relay/hook/cd",
        "controlUrl": "http://h/relay/control/ab", "resumed": false});
    relay(&mut state, 1, "start", start);
    update(
        &mut state,
        Msg::Demo(crate::demo::Msg::WebhookSaved(Ok("w1".into()))),
    );
    state.demo.answer.status = 500;
    state
}

#[test]
fn a_running_relay_demo_is_kept_and_read_back() {
    let state = running();
    let kept = encode(&state).expect("a running demo is kept");
    let back = decode(&kept).expect("reads back");
    assert_eq!(back.relay.session_id, "ab");
    assert_eq!(back.webhook_id, "w1");
    assert_eq!(back.answer.status, 500);
    assert_eq!(back.secret, state.demo.secret);
    let mut stopped = state.clone();
    stopped.demo.running = false;
    assert_eq!(encode(&stopped), None);
    assert_eq!(decode("{}"), None);
}

#[test]
fn after_a_reload_the_run_resumes_on_the_same_session_once_its_product_is_picked() {
    let state = running();
    let kept = encode(&state).expect("kept");
    let mut reloaded = state.clone();
    reloaded.demo = crate::demo::Demo::default();
    reloaded.resume = decode(&kept);
    // The picks are not back yet: nothing happens.
    reloaded.lists.restoring = Some(Default::default());
    assert_eq!(resume(&mut reloaded), (Vec::new(), None));
    reloaded.lists.restoring = None;
    let (effects, _) = resume(&mut reloaded);
    assert!(reloaded.demo.running && reloaded.resume.is_none());
    assert_eq!(reloaded.demo.webhook, WebhookState::Saved("w1".into()));
    assert_eq!(reloaded.demo.answer.status, 500);
    assert!(
        effects.contains(&Effect::OpenRelay {
            run: reloaded.demo.run,
            url: "http://h/relay/stream?session=ab".into(),
        }),
        "{effects:?}"
    );
    // Another product picked: the kept run is forgotten.
    let mut other = state;
    other.demo = crate::demo::Demo::default();
    other.resume = decode(&kept);
    other.lists.selected_product = Some(1);
    assert_eq!(resume(&mut other), (Vec::new(), None));
    assert!(other.resume.is_none() && !other.demo.running);
}

/// An event of the product's stream, as Particle's stream brings it to run `run`.
fn particle(state: &mut crate::state::State, run: u32, name: &str, data: &str, at: &str) {
    update(
        state,
        Msg::Demo(D::ParticleEvent {
            run,
            name: name.into(),
            data: json!({"data": data, "published_at": at, "coreid": "api"}).to_string(),
        }),
    );
}

/// The relay's request `id` of the test event published `at`, and its answer.
fn delivered(state: &mut crate::state::State, run: u32, id: u64, at: &str) {
    let body = format!("{{\"deviceId\":\"api\",\"ts\":\"{at}\"}}");
    let hook = json!({"hookId": id, "receivedAt": 1_800_000_000_000u64 + id, "method": "POST",
        "originalUrl": "/relay/hook/cd", "query": "", "headers": [["authorization", "Bearer s"]],
        "body": body, "bodyBase64": null});
    relay(state, run, "hook", hook);
    let answer = json!({"hookId": id, "respondedAt": 1_800_000_000_001u64 + id,
        "statusCode": 200, "headers": [], "body": "ok", "source": "default"});
    relay(state, run, "hookResponse", answer);
}

/// The diagram's hops of the cycle published `at`: (hop, status, note).
fn hops(state: &crate::state::State, at: &str) -> Vec<(String, String, String)> {
    let cycle = state
        .demo
        .timeline
        .cycles
        .iter()
        .find(|c| c.key.1 == at)
        .expect("the cycle is kept");
    let diagram = journey::diagram(cycle, false);
    let text = |hop: &Value, key: &str| hop[key].as_str().unwrap_or_default().to_owned();
    diagram["hops"]
        .as_array()
        .expect("hops")
        .iter()
        .map(|hop| (text(hop, "hop"), text(hop, "status"), text(hop, "note")))
        .collect()
}

#[test]
fn a_resumed_run_draws_its_cycles_as_before_and_says_what_it_could_not_see() {
    const DONE: &str = "2026-12-08T10:00:00.000Z";
    const UNDER_WAY: &str = "2026-12-08T10:00:05.000Z";
    const AWAY: &str = "2026-12-08T10:00:09.000Z";
    let mut state = running();
    // A cycle that ended before the reload: published, sent, answered, its hook-response seen.
    particle(&mut state, 1, EVENT_NAME, "{}", DONE);
    particle(&mut state, 1, "hook-sent/WebhookDemo01", "", DONE);
    delivered(&mut state, 1, 1, DONE);
    particle(
        &mut state,
        1,
        "api/hook-response/WebhookDemo01/0",
        "ok",
        DONE,
    );
    // One under way when the page went: published and sent, its answer not seen yet.
    particle(&mut state, 1, EVENT_NAME, "{}", UNDER_WAY);
    particle(&mut state, 1, "hook-sent/WebhookDemo01", "", UNDER_WAY);
    let kept = encode(&state).expect("kept");

    let mut reloaded = state.clone();
    reloaded.demo = crate::demo::Demo::default();
    reloaded.resume = decode(&kept);
    let effects = update(&mut reloaded, Msg::Demo(D::SelectCycle(Default::default())));
    let run = reloaded.demo.run;
    assert!(reloaded.demo.running, "the run resumed: {effects:?}");
    // The event log shows the kept events again; nothing is announced a second time.
    let logged = effects
        .iter()
        .filter(|e| matches!(e, Effect::LogEvent(_)))
        .count();
    // The five kept events, and a line where the page was away.
    assert_eq!(logged, 6, "{effects:?}");
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::Announce(_))),
        "{effects:?}"
    );
    // The relay replays what it holds: the requests of both cycles, and one made while the page
    // was away, whose publish Particle's stream never sends again.
    delivered(&mut reloaded, run, 1, DONE);
    delivered(&mut reloaded, run, 2, UNDER_WAY);
    delivered(&mut reloaded, run, 3, AWAY);

    let done = hops(&reloaded, DONE);
    assert!(
        done.iter().all(|(_, status, _)| status == "done"),
        "{done:?}"
    );
    // Until the cloud's wait is over, what a cycle lacks may still come.
    assert_eq!(hops(&reloaded, UNDER_WAY)[4].1, "waiting");
    assert_eq!(hops(&reloaded, AWAY)[0].1, "waiting");
    update(&mut reloaded, Msg::Demo(D::AwayOver { run }));
    let under_way = hops(&reloaded, UNDER_WAY);
    assert_eq!(
        under_way.last(),
        Some(&(
            "hook-response".into(),
            "away".into(),
            "not seen: this page was away".into()
        )),
        "{under_way:?}"
    );
    let away = hops(&reloaded, AWAY);
    let seen: Vec<&str> = away.iter().map(|(_, status, _)| status.as_str()).collect();
    assert_eq!(seen, ["away", "away", "done", "done", "away"], "{away:?}");
    let outcomes: Vec<&str> = reloaded
        .demo
        .timeline
        .cycles
        .iter()
        .map(journey::outcome)
        .collect();
    assert_eq!(outcomes, ["response", "not seen", "not seen"]);
    // A Test after the reload: its outcome goes to its own cycle, not to the one from before
    // that is still open.
    const LIVE: &str = "2026-12-08T10:00:30.000Z";
    particle(&mut reloaded, run, EVENT_NAME, "{}", LIVE);
    particle(&mut reloaded, run, "hook-sent/WebhookDemo01", "", LIVE);
    delivered(&mut reloaded, run, 4, LIVE);
    particle(
        &mut reloaded,
        run,
        "api/hook-response/WebhookDemo01/0",
        "ok",
        LIVE,
    );
    let live = hops(&reloaded, LIVE);
    assert!(
        live.iter().all(|(_, status, _)| status == "done"),
        "{live:?}"
    );
    // The summary counts the events from before the reload.
    assert_eq!(
        reloaded.demo.history.events.len(),
        state.demo.history.events.len() + 3
    );
}
