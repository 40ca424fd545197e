//! Wire-format tests: the JSON a client sees is pinned here, field by field.

use serde_json::json;

use super::Config;

fn check(config: Config, expected: serde_json::Value) {
    let actual = serde_json::to_value(&config).expect("serializes");
    assert_eq!(actual, expected);
    let back: Config = serde_json::from_value(actual).expect("deserializes");
    assert_eq!(back, config);
}

#[test]
fn config_with_sandbox_and_public_url() {
    check(
        Config {
            sandbox: Some("/sandbox".into()),
            relay: "/relay/".into(),
            public_url: Some("https://hooks.example.com".into()),
        },
        json!({"sandbox": "/sandbox", "relay": "/relay/", "publicUrl": "https://hooks.example.com"}),
    );
}

#[test]
fn config_without_sandbox_writes_nulls() {
    check(
        Config {
            sandbox: None,
            relay: "/relay/".into(),
            public_url: None,
        },
        json!({"sandbox": null, "relay": "/relay/", "publicUrl": null}),
    );
}

#[test]
fn hook_request_field_names() {
    let hook = super::HookRequest {
        hook_id: 3,
        received_at: 1_700_000_000_000,
        method: "POST".into(),
        original_url: "/hook/abc/x?y=1".into(),
        query: "y=1".into(),
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: Some("{}".into()),
        body_base64: None,
    };
    assert_eq!(
        serde_json::to_value(&hook).expect("serializes"),
        json!({"hookId": 3, "receivedAt": 1_700_000_000_000u64, "method": "POST", "originalUrl": "/hook/abc/x?y=1",
               "query": "y=1", "headers": [["Content-Type", "application/json"]], "body": "{}", "bodyBase64": null})
    );
}

#[test]
fn page_answer_defaults() {
    let answer: super::PageAnswer = serde_json::from_value(json!({"body": "hi"})).expect("parses");
    assert_eq!(
        answer,
        super::PageAnswer {
            status: 200,
            content_type: "application/json".into(),
            body: "hi".into()
        }
    );
    assert_eq!(
        serde_json::to_value(super::AnswerSource::Timeout).expect("serializes"),
        json!("timeout")
    );
}
