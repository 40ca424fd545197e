//! The live demo's flow through `update`: Start and Stop, the streams of each run, the webhook,
//! Test, the answer, cycles, smee.io, flashing, replay and export.

use serde_json::{Value, json};
use webhook_demo_core::wire::{Config, HookRequest};

use crate::{
    demo::{
        Answer, Msg as D, RelayEvent, WebhookState,
        requests::{REPLAY_HEADER, curl, export, smee_hook},
        webhook::EVENT_NAME,
    },
    firmware::Msg as F,
    msg::{Effect, Msg},
    sign_in::{Auth, Session},
    state::{Product, Products, State},
    update::update,
};

/// Signed in to the sandbox with product 30001 picked (the render tests start from it too).
pub(crate) fn ready() -> State {
    let (mut state, _) = crate::update::init();
    update(
        &mut state,
        Msg::ConfigLoaded(Ok(Config {
            sandbox: Some("/sandbox".into()),
            relay: "/relay/".into(),
            public_url: None,
            sandbox_idle_minutes: None,
            sandbox_keepalive_ms: None,
        })),
    );
    state.sign_in.auth = Auth::SignedIn(Session {
        base: "/sandbox".into(),
        token: "t".into(),
        username: "u".into(),
        created_here: true,
    });
    state.lists.products = Products::Loaded(vec![Product {
        id: 30001,
        name: "p".into(),
        platform_id: 32,
    }]);
    state.lists.platform = Some(32);
    state.lists.selected_product = Some(30001);
    state
}

/// `ready()`, with a run started.
pub(crate) fn started() -> State {
    let mut state = ready();
    update(
        &mut state,
        Msg::Demo(D::Start {
            secret: "s".into(),
            relay: String::new(),
            smee: String::new(),
        }),
    );
    state
}

/// A relay event (or, named `smee`, a smee.io channel's request) of run `run`.
mod cycles;
mod retries;

use cycles::shown_kinds;

pub(crate) fn relay(state: &mut State, run: u32, event: &str, data: Value) -> Vec<Effect> {
    let event = match event {
        "smee" => RelayEvent::SmeeRequest,
        name => RelayEvent::from_name(name).expect("a relay event"),
    };
    update(
        state,
        Msg::Demo(D::RelayEvent {
            run,
            event,
            data: data.to_string(),
        }),
    )
}

#[test]
fn a_run_opens_streams_saves_the_webhook_and_ignores_stale_streams() {
    let mut state = ready();
    let effects = update(
        &mut state,
        Msg::Demo(D::Start {
            secret: "s3".into(),
            relay: String::new(),
            smee: String::new(),
        }),
    );
    assert_eq!(
        effects,
        [
            Effect::CloseStreams,
            Effect::OpenRelay {
                run: 1,
                url: "/relay/stream".into()
            },
            Effect::OpenEvents {
                run: 1,
                base: "/sandbox".into(),
                token: "t".into(),
                product_id: 30001
            }
        ]
    );
    let start = json!({"sessionId": "ab", "hookUrl": "http://h/relay/hook/ab", "controlUrl": "http://h/relay/control/ab", "resumed": false});
    let effects = relay(&mut state, 1, "start", start.clone());
    assert!(
        matches!(&effects[0], Effect::ControlRelay { url, body } if url == "http://h/relay/control/ab" && body.contains("Bearer s3"))
    );
    assert!(
        matches!(&effects[1], Effect::SaveWebhook { product_id: 30001, settings, .. } if settings.contains("http://h/relay/hook/ab"))
    );
    assert_eq!(state.demo.webhook, WebhookState::Saving);
    update(&mut state, Msg::Demo(D::WebhookSaved(Ok("w1".into()))));
    // A reconnect's start does not save the webhook again.
    assert_eq!(relay(&mut state, 1, "start", start).len(), 1);

    let hook = json!({"hookId": 1, "receivedAt": 1, "method": "POST", "originalUrl": "/", "query": "",
        "headers": [["content-type", "application/json"]], "body": "{\"deviceId\":\"api\",\"sensor\":{\"t\":25}}", "bodyBase64": null});
    let effects = relay(&mut state, 1, "hook", hook.clone());
    assert_eq!(shown_kinds(&state), ["hook-received", "hook-data"]);
    assert!(effects.contains(&Effect::DataRow(crate::msg::DataRow {
        columns: vec!["deviceId".into(), "sensor.t".into()],
        cells: vec!["api".into(), "25".into()],
        key: "request@#1".into(),
        attempt: 1,
    })));

    // Stop, then Start again: run 2; run 1's streams may still deliver, and are ignored.
    assert_eq!(
        update(&mut state, Msg::Demo(D::Stop)),
        [Effect::CloseStreams]
    );
    assert!(
        relay(&mut state, 1, "hook", hook.clone()).is_empty(),
        "stopped"
    );
    update(
        &mut state,
        Msg::Demo(D::Start {
            secret: "s4".into(),
            relay: String::new(),
            smee: String::new(),
        }),
    );
    assert!(
        relay(&mut state, 1, "hook", hook.clone()).is_empty(),
        "an old run"
    );
    let old_event = Msg::Demo(D::ParticleEvent {
        run: 1,
        name: EVENT_NAME.into(),
        data: json!({"data": "{}", "coreid": "api"}).to_string(),
    });
    assert!(update(&mut state, old_event).is_empty());
    assert_eq!(
        relay(&mut state, 2, "hook", hook).len(),
        2,
        "the current run: the request announced and a data row"
    );
}

#[test]
fn test_publishes_and_shows_what_was_sent() {
    let mut state = ready();
    assert!(
        update(&mut state, Msg::Demo(D::Test { id: 1 })).is_empty(),
        "not running"
    );
    update(
        &mut state,
        Msg::Demo(D::Start {
            secret: "s".into(),
            relay: String::new(),
            smee: String::new(),
        }),
    );
    assert_eq!(
        update(&mut state, Msg::Demo(D::Test { id: 42 })),
        [Effect::Publish {
            base: "/sandbox".into(),
            token: "t".into(),
            product_id: 30001,
            name: EVENT_NAME.into(),
            data: r#"{"id":42,"t":25}"#.into()
        }]
    );
    update(
        &mut state,
        Msg::Demo(D::TestPublished(Ok(r#"{"id":42,"t":25}"#.into()))),
    );
    assert_eq!(
        state.demo.test_sent.as_deref(),
        Some("{\n  \"id\": 42,\n  \"t\": 25\n}")
    );
}

#[test]
fn the_answer_goes_to_the_relay_once_known() {
    let mut state = started();
    let answer = Answer {
        status: 500,
        body: String::new(),
        require_auth: true,
        delay_ms: 0,
        wrong_secret: false,
        fail_first: false,
    };
    assert!(
        update(&mut state, Msg::Demo(D::ApplyAnswer(answer.clone()))).is_empty(),
        "no relay yet"
    );
    let start = json!({"sessionId": "ab", "hookUrl": "http://h/h", "controlUrl": "http://h/c", "resumed": false});
    let effects = relay(&mut state, 1, "start", start);
    assert!(matches!(&effects[0], Effect::ControlRelay { body, .. } if body.contains("500")));
    let bad = Answer {
        status: 42,
        ..answer.clone()
    };
    assert!(update(&mut state, Msg::Demo(D::ApplyAnswer(bad))).is_empty());
    assert!(state.demo.answer_error.is_some());
    // An interim status was let through to the relay, which refused it in its own words.
    let interim = Answer {
        status: 150,
        ..answer
    };
    assert!(update(&mut state, Msg::Demo(D::ApplyAnswer(interim))).is_empty());
    assert_eq!(
        state.demo.answer_error.as_deref(),
        Some("A status is a number from 200 to 599.")
    );
}

#[test]
fn a_typed_relay_is_used_and_checked() {
    let mut state = ready();
    let start = |relay: &str| {
        Msg::Demo(D::Start {
            secret: "s".into(),
            relay: relay.into(),
            smee: String::new(),
        })
    };
    assert!(update(&mut state, start("ftp://relay")).is_empty());
    assert!(state.demo.start_error.is_some());
    let effects = update(&mut state, start("https://hooks.example.com/relay"));
    assert!(
        effects.contains(&Effect::OpenRelay {
            run: 1,
            url: "https://hooks.example.com/relay/stream".into()
        }),
        "{effects:?}"
    );
    assert_eq!(state.demo.start_error, None);
    // Without a hosting server's relay, one must be typed.
    let (mut plain, _) = crate::update::init();
    plain.sign_in.auth = state.sign_in.auth.clone();
    plain.lists.products = state.lists.products.clone();
    plain.lists.platform = Some(32);
    plain.lists.selected_product = Some(30001);
    assert!(update(&mut plain, start("")).is_empty());
    assert!(
        plain
            .demo
            .start_error
            .as_deref()
            .is_some_and(|e| e.contains("offers no webhook relay"))
    );
}

#[test]
fn a_smee_channel_replaces_the_relay() {
    let mut state = ready();
    let start = Msg::Demo(D::Start {
        secret: "s".into(),
        relay: String::new(),
        smee: "https://smee.io/abc".into(),
    });
    let effects = update(&mut state, start);
    assert!(
        effects.contains(&Effect::OpenSmee {
            run: 1,
            url: "https://smee.io/abc".into()
        }),
        "{effects:?}"
    );
    assert!(
        effects.iter().any(|e| matches!(e, Effect::SaveWebhook { settings, .. } if settings.contains("https://smee.io/abc"))),
        "the webhook points at the channel"
    );
    let message = json!({"host": "smee.io", "content-type": "application/json", "authorization": "Bearer s",
        "body": {"deviceId": "api", "ts": "t", "sensor": {"t": 25}}, "query": {}, "timestamp": 1700000000000u64});
    let effects = relay(&mut state, 1, "smee", message);
    assert!(
        effects.contains(&Effect::DataRow(crate::msg::DataRow {
            columns: vec!["deviceId".into(), "sensor.t".into(), "ts".into()],
            cells: vec!["api".into(), "25".into(), "t".into()],
            key: "api@t".into(),
            attempt: 1,
        })),
        "{effects:?}"
    );
    let answer = Answer {
        status: 500,
        ..Answer::default()
    };
    assert!(update(&mut state, Msg::Demo(D::ApplyAnswer(answer))).is_empty());
    assert!(
        state
            .demo
            .answer_error
            .as_deref()
            .is_some_and(|e| e.contains("smee.io answers"))
    );
    assert!(smee_hook(&json!("not an object"), 1).is_none());
}

#[test]
fn the_flashed_device_reports_its_progress() {
    let mut state = ready();
    state.lists.devices = crate::state::Devices::Loaded(vec![crate::state::Device {
        id: "e00f".into(),
        name: Some("argon".into()),
        platform_id: 12,
        product_id: 30001,
        serial_number: None,
        online: true,
    }]);
    state.lists.selected_device = Some("e00f".into());
    update(
        &mut state,
        Msg::Demo(D::Start {
            secret: "s".into(),
            relay: String::new(),
            smee: String::new(),
        }),
    );
    update(
        &mut state,
        Msg::Firmware(F::FlashDevice(vec![("a.cpp".into(), "x".into())])),
    );
    update(
        &mut state,
        Msg::Firmware(F::Flashed(Ok("Update started".into()))),
    );
    let status = |data: &str, coreid: &str| {
        Msg::Demo(D::ParticleEvent {
            run: 1,
            name: "spark/flash/status".into(),
            data: json!({"data": data, "published_at": "t", "coreid": coreid}).to_string(),
        })
    };
    update(&mut state, status("started ", "e00f"));
    assert_eq!(
        state.firmware.flash,
        crate::firmware::Flash::Started("started".into())
    );
    update(&mut state, status("success", "other"));
    assert_eq!(
        state.firmware.flash,
        crate::firmware::Flash::Started("started".into()),
        "another device's"
    );
    update(&mut state, status("success", "e00f"));
    assert_eq!(
        state.firmware.flash,
        crate::firmware::Flash::Started("success".into())
    );
}

pub(crate) fn sample_hook() -> HookRequest {
    HookRequest {
        hook_id: 4,
        received_at: 1,
        method: "POST".into(),
        original_url: "/relay/hook/ab".into(),
        query: String::new(),
        headers: vec![
            ("host".into(), "127.0.0.1:8080".into()),
            ("content-type".into(), "application/json".into()),
            ("x-note".into(), "it's".into()),
            ("content-length".into(), "9".into()),
        ],
        body: Some(r#"{"a":"b'c"}"#.into()),
        body_base64: None,
    }
}

#[test]
fn a_request_becomes_a_curl_command_and_a_replay() {
    let hook = sample_hook();
    assert_eq!(
        curl(&hook, "http://127.0.0.1:8080/relay/hook/ab"),
        r#"curl -X POST 'http://127.0.0.1:8080/relay/hook/ab' -H 'content-type: application/json' -H 'x-note: it'\''s' -H 'Accept:' --data-binary '{"a":"b'\''c"}'"#
    );
    let mut state = started();
    let start = json!({"sessionId": "ab", "hookUrl": "http://127.0.0.1:8080/relay/hook/ab", "controlUrl": "http://h/c", "resumed": false});
    relay(&mut state, 1, "start", start);
    let written = serde_json::to_value(&hook).expect("serializes");
    relay(&mut state, 1, "hook", written);
    let card = state.demo.timeline.cycles[0].cards()[2].expect("a card");
    assert!(card.hook == Some(4) && card.curl.is_some());
    let replay = update(&mut state, Msg::Demo(D::Replay(4)));
    assert_eq!(
        replay,
        [Effect::Replay {
            url: "http://127.0.0.1:8080/relay/hook/ab".into(),
            method: "POST".into(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("x-note".into(), "it's".into()),
                (REPLAY_HEADER.into(), "1".into()),
            ],
            body: Some(r#"{"a":"b'c"}"#.into()),
        }]
    );
    assert!(
        update(&mut state, Msg::Demo(D::Replay(99))).is_empty(),
        "an unknown request"
    );
    let exported: Value = serde_json::from_str(&export(&state.demo)).expect("JSON");
    assert_eq!(exported["hooks"][0]["hookId"], 4);
    assert_eq!(exported["hookUrl"], "http://127.0.0.1:8080/relay/hook/ab");
}

/// A Particle event of run 1 with this name and data, and the effects it comes to.
fn particle(state: &mut State, name: &str, data: &str) -> Vec<Effect> {
    update(
        state,
        Msg::Demo(D::ParticleEvent {
            run: 1,
            name: name.into(),
            data: data.into(),
        }),
    )
}

#[test]
fn an_event_a_reopened_stream_delivers_again_is_shown_once() {
    let mut state = started();
    let data = r#"{"data":"{\"id\":1}","ttl":60,"published_at":"2024-05-01T10:00:00.000Z","coreid":"e00fce68"}"#;
    let first = particle(&mut state, EVENT_NAME, data);
    assert!(first.iter().any(|e| matches!(e, Effect::LogEvent(_))));
    assert_eq!(particle(&mut state, EVENT_NAME, data), []);
    let later = data.replace("10:00:00.000Z", "10:00:01.000Z");
    assert!(!particle(&mut state, EVENT_NAME, &later).is_empty());
}

#[test]
fn each_streams_state_is_shown_in_words_and_announced_when_it_changes() {
    use crate::demo::stream_state::{Ended, Feed, Status};
    let mut state = started();
    let stream = |state: &mut State, run, feed, status| {
        let before = crate::announce::Before::of(state);
        update(state, Msg::Demo(D::Stream { run, feed, status }));
        before.changes(state)
    };
    assert_eq!(stream(&mut state, 1, Feed::Events, Status::Live), []);
    let stalled = Status::Waiting {
        secs: 2,
        ended: Ended::Stalled,
    };
    assert_eq!(
        stream(&mut state, 1, Feed::Events, stalled.clone()),
        [Effect::Announce(
            "Product events: stalled (no ping): reconnecting in 2 s".into()
        )]
    );
    let view = crate::render::view::view(&state);
    assert_eq!(view["streamStates"][0]["words"], stalled.words());
    assert_eq!(view["streamStates"][0]["status"], "waiting");
    assert_eq!(view["streamStates"][1]["words"], "connecting");
    // A countdown's tick is shown, not said.
    let tick = Status::Waiting {
        secs: 1,
        ended: Ended::Stalled,
    };
    assert_eq!(stream(&mut state, 1, Feed::Events, tick), []);
    assert_eq!(
        stream(&mut state, 1, Feed::Events, Status::Reconnecting),
        []
    );
    let back = Status::Resumed { stalled: true };
    assert_eq!(
        stream(&mut state, 1, Feed::Events, back.clone()),
        [Effect::Announce(
            "Product events: stalled and reconnected: events may have been missed".into()
        )]
    );
    // Another run's stream changes nothing.
    assert_eq!(stream(&mut state, 7, Feed::Events, Status::Live), []);
    assert_eq!(state.demo.streams.events, back);
}
