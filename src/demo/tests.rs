//! The live demo's pure parts: the webhook's settings and preview, relay control bodies, flattening,
//! and explainer entries. The run's flow through `update` is tested in `update/tests.rs`.

mod control;

use serde_json::{Value, json};
use webhook_demo_core::wire::{ParticleEvent, RelayControl};

use super::{
    Answer, Demo,
    explain::{explain_event, log_cells},
    flatten,
    webhook::{
        BODY_TEMPLATE, ERROR_TOPIC, EVENT_NAME, RESPONSE_TOPIC, control_body, find_webhook,
        is_private, preview, test_data, webhook_settings,
    },
};

#[test]
fn the_webhook_settings_are_the_tutorials() {
    let settings = webhook_settings("http://127.0.0.1:8080/relay/hook/ab", "s3cret");
    assert_eq!(settings["event"], EVENT_NAME);
    assert_eq!(settings["url"], "http://127.0.0.1:8080/relay/hook/ab");
    assert_eq!(settings["requestType"], "POST");
    assert_eq!(settings["noDefaults"], true);
    assert_eq!(settings["headers"]["Authorization"], "Bearer s3cret");
    assert_eq!(settings["headers"]["Content-Type"], "application/json");
    assert_eq!(settings["body"], BODY_TEMPLATE);
    assert_eq!(settings["responseTopic"], RESPONSE_TOPIC);
    assert_eq!(settings["errorResponseTopic"], ERROR_TOPIC);
    // The settings are what the sandbox's engine accepts.
    let parsed: webhook_demo_core::webhook::WebhookSettings =
        serde_json::from_value(settings).expect("valid webhook settings");
    assert_eq!(parsed.body.as_deref(), Some(BODY_TEMPLATE));
}

fn json_of(control: &RelayControl) -> Value {
    serde_json::to_value(control).expect("serializes")
}

#[test]
fn control_bodies_say_what_the_server_answers() {
    let answer = Answer {
        status: 500,
        body: "broken".into(),
        require_auth: false,
        delay_ms: 1500,
        wrong_secret: false,
        fail_first: false,
    };
    let body = json_of(&control_body(&answer, "s", false));
    assert_eq!(
        body,
        json!({"status": 500, "body": "broken", "authorization": null, "delayMs": 1500,
            "pageAnswers": false, "deadlineMs": 15000})
    );
    let body = json_of(&control_body(&Answer::default(), "s", true));
    assert_eq!(
        body,
        json!({"status": 200, "body": null, "authorization": "Bearer s", "delayMs": 0,
            "pageAnswers": true, "deadlineMs": 15000})
    );
    // The unauthorized preset expects a secret the webhook does not send.
    let wrong = crate::demo::answer::Preset::Unauthorized.answer();
    let body = json_of(&control_body(&wrong, "s", false));
    assert_eq!(body["authorization"], "Bearer wrong-secret");
    // What the page writes is what the relay reads.
    let written = control_body(&answer, "s", true);
    assert_eq!(RelayControl::from_json(&json_of(&written)), Ok(written));
}

#[test]
fn private_hook_urls_are_recognised() {
    for url in [
        "http://127.0.0.1:8080/relay/hook/x",
        "http://localhost/x",
        "http://10.1.2.3/",
        "http://172.20.0.1/",
        "http://192.168.1.5:80/",
        "http://[::1]:8080/",
        "http://printer.local/",
    ] {
        assert!(is_private(url), "{url}");
    }
    for url in [
        "https://hooks.example.com/relay/hook/x",
        "http://172.32.0.1/",
        "http://8.8.8.8/",
    ] {
        assert!(!is_private(url), "{url}");
    }
}

#[test]
fn bodies_flatten_into_columns_in_first_seen_order() {
    assert_eq!(
        flatten(
            &json!({"deviceId": "api", "sensor": {"t": 0, "ok": false}, "a": [1, {"b": null}], "n": null})
        ),
        [
            ("a[0]".to_owned(), "1".to_owned()),
            ("deviceId".to_owned(), "api".to_owned()),
            ("sensor.ok".to_owned(), "false".to_owned()),
            ("sensor.t".to_owned(), "0".to_owned()),
        ]
    );
    let mut demo = Demo::default();
    assert_eq!(
        demo.data_row(r#"{"deviceId":"api","sensor":{"t":25}}"#),
        Some(vec!["api".into(), "25".into()])
    );
    assert_eq!(
        demo.data_row(r#"{"sensor":{"t":0,"soc":87.5},"deviceId":"e00f"}"#),
        Some(vec!["e00f".into(), "0".into(), "87.5".into()]),
        "a new column goes last; 0 stays 0"
    );
    assert_eq!(demo.columns, ["deviceId", "sensor.t", "sensor.soc"]);
    assert_eq!(demo.data_row("not json"), None);
}

fn event(name: &str, data: &str, coreid: &str) -> ParticleEvent {
    ParticleEvent {
        name: name.into(),
        data: data.into(),
        published_at: "2026-11-28T10:00:00.123Z".into(),
        coreid: coreid.into(),
    }
}

#[test]
fn each_hop_has_its_explainer_kind() {
    let kinds: Vec<&str> = [
        event(EVENT_NAME, r#"{"id":1,"t":25}"#, "api"),
        event(EVENT_NAME, "{}", "e00f"),
        event("hook-sent/WebhookDemo01", "undefined", "particle-internal"),
        event(
            "api/hook-response/WebhookDemo01/0",
            "{}",
            "particle-internal",
        ),
        event(
            "e00f/hook-error/WebhookDemo01/0",
            "error status 500",
            "particle-internal",
        ),
    ]
    .iter()
    .map(|e| {
        let entry = explain_event(e, "dev").expect("an entry");
        entry.kind.name()
    })
    .collect();
    assert_eq!(
        kinds,
        [
            "event-api",
            "event-device",
            "hook-sent",
            "hook-response",
            "hook-error"
        ]
    );
    assert_eq!(
        explain_event(&event("spark/status", "online", "e00f"), "dev"),
        None
    );
    // hook-sent's "undefined" is Particle's, and said to be.
    let sent = explain_event(
        &event("hook-sent/WebhookDemo01", "undefined", "particle-internal"),
        "dev",
    )
    .expect("an entry");
    assert!(
        sent.fields[1].1.contains("without data"),
        "{:?}",
        sent.fields
    );
    let entry = explain_event(&event(EVENT_NAME, r#"{"id":1}"#, "api"), "api").expect("entry");
    assert_eq!(entry.code.as_deref(), Some("{\n  \"id\": 1\n}"));
    assert!(
        entry.fields.iter().all(|(name, _)| name != "Event data"),
        "JSON data is shown once, pretty: {:?}",
        entry.fields
    );
    assert_eq!(
        log_cells(&entry_event(), "kitchen"),
        ["10:00:00.123", EVENT_NAME, "25", "kitchen"]
    );
}

fn entry_event() -> ParticleEvent {
    event(EVENT_NAME, "25", "e00f")
}

#[test]
fn the_webhook_is_found_by_its_event() {
    let list = json!([{"id": "a1", "event": "Other"}, {"id": "b2", "event": EVENT_NAME}]);
    assert_eq!(find_webhook(&list).as_deref(), Some("b2"));
    assert_eq!(find_webhook(&json!([])), None);
    assert_eq!(test_data(7), r#"{"id":7,"t":25}"#);
}

#[test]
fn the_preview_is_what_the_webhook_sends_and_flags_non_json() {
    let (body, valid) = preview(&event(EVENT_NAME, r#"{"t":1}"#, "api"));
    assert_eq!(
        body,
        r#"{"deviceId":"api","ts":"2026-11-28T10:00:00.123Z","sensor":{"t":1}}"#
    );
    assert!(valid);
    // The same body as the sandbox's engine builds from the webhook's settings.
    let settings: webhook_demo_core::webhook::WebhookSettings =
        serde_json::from_value(webhook_settings("http://h/", "s")).expect("settings");
    let context = webhook_demo_core::webhook::EventContext {
        name: EVENT_NAME.into(),
        data: r#"{"t":1}"#.into(),
        published_at: "2026-11-28T10:00:00.123Z".into(),
        coreid: "api".into(),
        ..Default::default()
    };
    let sent = webhook_demo_core::webhook::build_request(&settings, &context).expect("builds");
    assert_eq!(sent.body.as_deref(), Some(body.as_str()));
    let (body, valid) = preview(&event(EVENT_NAME, "abc", "e00f"));
    assert_eq!(
        body,
        r#"{"deviceId":"e00f","ts":"2026-11-28T10:00:00.123Z","sensor":abc}"#
    );
    assert!(!valid);
}
