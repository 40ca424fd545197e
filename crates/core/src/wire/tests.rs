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
