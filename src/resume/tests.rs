//! A kept run goes into storage and back unchanged, and resumes only once signed in with its
//! product picked: on the same relay session, with the same webhook, secret and answer, and with
//! the cycles Particle's stream brought before the reload drawn as they were.

use serde_json::{Value, json};

use super::{decode, encode, encode_events, resume};
use crate::{
    demo::{Msg as D, WebhookState, journey, timeline::CYCLES, webhook::EVENT_NAME},
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
    let back = decode(&kept, None).expect("reads back");
    assert_eq!(back.relay.session_id, "ab");
    assert_eq!(back.webhook_id, "w1");
    assert_eq!(back.answer.status, 500);
    assert_eq!(back.secret, state.demo.secret);
    let mut stopped = state.clone();
    stopped.demo.running = false;
    assert_eq!(encode(&stopped), None);
    assert_eq!(decode("{}", None), None);
}

#[test]
fn after_a_reload_the_run_resumes_on_the_same_session_once_its_product_is_picked() {
    let state = running();
    let kept = encode(&state).expect("kept");
    let mut reloaded = state.clone();
    reloaded.demo = crate::demo::Demo::default();
    reloaded.resume = decode(&kept, None);
    // The picks are not back yet: nothing happens.
    reloaded.lists.restoring = Some(Default::default());
    assert_eq!(resume(&mut reloaded), Default::default());
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
    other.resume = decode(&kept, None);
    other.lists.selected_product = Some(1);
    assert_eq!(resume(&mut other), Default::default());
    assert!(other.resume.is_none() && !other.demo.running);
}

/// `state` reloaded: the page starts afresh with what the tab kept of the run.
fn reload(state: &crate::state::State) -> crate::state::State {
    let kept = encode(state).expect("kept");
    let events = encode_events(state);
    let mut reloaded = state.clone();
    reloaded.demo = crate::demo::Demo::default();
    reloaded.resume = decode(&kept, Some(&events));
    reloaded
}

/// When a request of the event published `at` reaches the relay: a few milliseconds later.
fn arrived(at: &str) -> u64 {
    webhook_demo_core::time::parse_iso8601_millis(at).expect("a time") + 5
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

/// The relay's request `id` of the test event published `at`, and its answer, 200.
fn delivered(state: &mut crate::state::State, run: u32, id: u64, at: &str) {
    answered(state, run, id, at, 200);
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
    whole_cycle(&mut state, 1, 1, DONE, 200);
    // One under way when the page went: published and sent, its answer not seen yet.
    particle(&mut state, 1, EVENT_NAME, "{}", UNDER_WAY);
    particle(&mut state, 1, "hook-sent/WebhookDemo01", "", UNDER_WAY);
    let mut reloaded = reload(&state);
    let effects = update(&mut reloaded, Msg::Demo(D::SelectCycle(Default::default())));
    let run = reloaded.demo.run;
    assert!(reloaded.demo.running, "the run resumed: {effects:?}");
    // The cloud's wait, after which what has not come was published while the page was away.
    assert!(
        effects.contains(&Effect::Timer {
            ms: 20_000,
            msg: Box::new(Msg::Demo(D::AwayOver { run })),
        }),
        "{effects:?}"
    );
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
    whole_cycle(&mut reloaded, run, 4, LIVE, 200);
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

/// The relay's request `id` of the test event published `at`, answered `status`.
fn answered(state: &mut crate::state::State, run: u32, id: u64, at: &str, status: u16) {
    let body = format!("{{\"deviceId\":\"api\",\"ts\":\"{at}\"}}");
    let hook = json!({"hookId": id, "receivedAt": arrived(at), "method": "POST",
        "originalUrl": "/relay/hook/cd", "query": "", "headers": [["authorization", "Bearer s"]],
        "body": body, "bodyBase64": null});
    relay(state, run, "hook", hook);
    let answer = json!({"hookId": id, "respondedAt": arrived(at) + 1,
        "statusCode": status, "headers": [], "body": "ok", "source": "default"});
    relay(state, run, "hookResponse", answer);
}

/// A whole cycle of the test event published `at`, seen live: its publish and hook-sent, the
/// relay's request `id` answered `status`, and the cloud's hook-response or hook-error.
fn whole_cycle(state: &mut crate::state::State, run: u32, id: u64, at: &str, status: u16) {
    particle(state, run, EVENT_NAME, "{}", at);
    particle(state, run, "hook-sent/WebhookDemo01", "", at);
    answered(state, run, id, at, status);
    if (200..300).contains(&status) {
        particle(state, run, "api/hook-response/WebhookDemo01/0", "ok", at);
    } else {
        let error = "api/hook-error/WebhookDemo01/0";
        particle(state, run, error, &format!("error status {status}"), at);
    }
}

/// The cycle published `at`.
fn cycle<'a>(state: &'a crate::state::State, at: &str) -> &'a crate::demo::timeline::Cycle {
    let found = state.demo.timeline.cycles.iter().find(|c| c.key.1 == at);
    found.expect("the cycle is kept")
}

#[test]
fn a_long_run_comes_back_with_the_cycles_the_page_saw_in_their_order() {
    let at = |n: usize| format!("2026-12-08T10:{:02}:{:02}.000Z", n / 60, n % 60);
    let count = CYCLES + 10;
    let mut state = running();
    for n in 0..count {
        whole_cycle(&mut state, 1, n as u64 + 1, &at(n), 200);
    }
    let mut reloaded = reload(&state);
    update(&mut reloaded, Msg::Demo(D::SelectCycle(Default::default())));
    let run = reloaded.demo.run;
    // The relay replays every request it holds, oldest first.
    for n in 0..count {
        delivered(&mut reloaded, run, n as u64 + 1, &at(n));
    }
    update(&mut reloaded, Msg::Demo(D::AwayOver { run }));
    let kept: Vec<&str> = reloaded
        .demo
        .timeline
        .cycles
        .iter()
        .map(|c| c.key.1.as_str())
        .collect();
    let newest: Vec<String> = (count - CYCLES..count).map(at).collect();
    assert_eq!(kept, newest, "the newest cycles, in publish order");
    // The tab kept their events (three each), and the relay's older requests pushed none out.
    let whole = reloaded
        .demo
        .timeline
        .cycles
        .iter()
        .filter(|c| journey::outcome(c) == "response" && c.away == 0)
        .count();
    assert_eq!(whole, CYCLES, "only {whole} cycles came back whole");
    assert_eq!(
        journey::outcome(cycle(&reloaded, &at(count - 1))),
        "response"
    );
}

#[test]
fn a_request_made_by_hand_is_never_said_to_be_missed() {
    let mut reloaded = reload(&running());
    update(&mut reloaded, Msg::Demo(D::SelectCycle(Default::default())));
    let run = reloaded.demo.run;
    let curl = json!({"hookId": 9, "receivedAt": 1_800_000_000_009u64, "method": "POST",
        "originalUrl": "/relay/hook/cd", "query": "", "headers": [], "body": "hello",
        "bodyBase64": null});
    relay(&mut reloaded, run, "hook", curl);
    update(&mut reloaded, Msg::Demo(D::AwayOver { run }));
    let made = &reloaded.demo.timeline.cycles[0];
    assert_eq!(made.key.0, "request");
    assert_eq!(
        made.away, 0,
        "a curl of the learner's own was marked missed"
    );
}

#[test]
fn a_retry_after_the_reload_is_watched_live_and_keeps_to_its_own_cycle() {
    const FAILED: &str = "2026-12-08T10:00:00.000Z";
    const LOST: &str = "2026-12-08T10:00:02.000Z";
    const LIVE: &str = "2026-12-08T10:00:20.000Z";
    let mut state = running();
    // Answered 500 before the reload: its retry is due in 30 s.
    whole_cycle(&mut state, 1, 1, FAILED, 500);
    // Published just before the reload; its hook-sent was lost while away.
    particle(&mut state, 1, EVENT_NAME, "{}", LOST);
    let mut reloaded = reload(&state);
    update(&mut reloaded, Msg::Demo(D::SelectCycle(Default::default())));
    let run = reloaded.demo.run;
    answered(&mut reloaded, run, 1, FAILED, 500);
    update(&mut reloaded, Msg::Demo(D::AwayOver { run }));
    assert_eq!(cycle(&reloaded, LOST).away, 1);
    // A Test after the reload fails too, and its retry comes: the retry's hook-sent is the live
    // cycle's, not the one whose hook-sent was lost.
    whole_cycle(&mut reloaded, run, 2, LIVE, 500);
    particle(
        &mut reloaded,
        run,
        "hook-sent/WebhookDemo01",
        "",
        "2026-12-08T10:00:50.000Z",
    );
    assert_eq!(cycle(&reloaded, LIVE).attempts.len(), 2);
    assert_eq!(cycle(&reloaded, LOST).attempts[0].at[0], None);
    // The retry of the cycle from before the reload comes now, 30 s after its failure: watched
    // live, its outcome is waited for, not said to be missed.
    particle(
        &mut reloaded,
        run,
        "hook-sent/WebhookDemo01",
        "",
        "2026-12-08T10:00:30.000Z",
    );
    answered(&mut reloaded, run, 3, FAILED, 200);
    let failed = hops(&reloaded, FAILED);
    let last = failed.last().expect("hops");
    assert_eq!(
        (last.1.as_str(), last.2.as_str()),
        ("waiting", "waiting…"),
        "{failed:?}"
    );
    assert_eq!(journey::outcome(cycle(&reloaded, FAILED)), "sent");
}

#[test]
fn kept_events_start_at_a_publish_and_come_back_bounded() {
    let mut state = running();
    for n in 0..60 {
        let at = format!("2026-12-08T10:00:{n:02}.000Z");
        particle(&mut state, 1, EVENT_NAME, "{}", &at);
        particle(&mut state, 1, "hook-sent/WebhookDemo01", "", &at);
        particle(
            &mut state,
            1,
            "api/hook-response/WebhookDemo01/0",
            "ok",
            &at,
        );
    }
    let events: Vec<Value> = serde_json::from_str(&encode_events(&state)).expect("JSON");
    assert!(events.len() <= 150, "{} events kept", events.len());
    assert_eq!(events[0][0], EVENT_NAME, "the kept events start mid-cycle");
    // Read back: no more than a run keeps, nothing over-long.
    let kept = encode(&state).expect("kept");
    let many: Vec<Value> = (0..1000)
        .map(|n| json!([EVENT_NAME, "{}", format!("t{n}"), "api"]))
        .collect();
    let back = decode(&kept, Some(&Value::from(many).to_string())).expect("reads back");
    assert_eq!(back.events.len(), 150);
    assert_eq!(back.events[149].published_at, "t999");
    let long = json!([[EVENT_NAME, "x".repeat(20_000), "t", "api"], "not an event"]);
    let back = decode(&kept, Some(&long.to_string())).expect("reads back");
    assert!(back.events.is_empty(), "{:?}", back.events.len());
}
