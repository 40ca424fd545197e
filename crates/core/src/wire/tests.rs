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
            sandbox_idle_minutes: Some(30),
            sandbox_keepalive_ms: Some(9000),
        },
        json!({"sandbox": "/sandbox", "relay": "/relay/", "publicUrl": "https://hooks.example.com",
               "sandboxIdleMinutes": 30, "sandboxKeepaliveMs": 9000}),
    );
}

#[test]
fn config_without_sandbox_writes_nulls() {
    check(
        Config {
            sandbox: None,
            relay: "/relay/".into(),
            public_url: None,
            sandbox_idle_minutes: None,
            sandbox_keepalive_ms: None,
        },
        json!({"sandbox": null, "relay": "/relay/", "publicUrl": null, "sandboxIdleMinutes": null}),
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

/// The reply shapes the page reads, decoded from the examples in the spec (section 3) and from a
/// device record with every field a product device list carries.
#[test]
fn particle_replies_decode_from_the_spec_examples() {
    use super::{ApiErrorBody, Device, Product};
    let token = json!({"token_type": "bearer", "access_token": "abc", "expires_in": 7776000, "refresh_token": "def"});
    assert_eq!(super::access_token(&token).as_deref(), Some("abc"));
    let mfa = ApiErrorBody::from_json(&json!({
        "mfa_token": "7f2e", "error": "mfa_required",
        "error_description": "Multi-factor authentication required"
    }));
    assert_eq!(
        (mfa.error.as_str(), mfa.mfa_token.as_deref()),
        ("mfa_required", Some("7f2e"))
    );
    assert_eq!(
        ApiErrorBody::from_json(&json!({"ok": false})),
        ApiErrorBody::default()
    );
    assert_eq!(
        ApiErrorBody::from_json(&json!("not an object")),
        ApiErrorBody::default()
    );
    let user = json!({"username": "me@example.com", "subscription_ids": [], "account_info": {"first_name": "A"}});
    assert_eq!(super::user_name(&user).as_deref(), Some("me@example.com"));
    let record = json!({
        "id": "e00fce68aaaaaaaaaaaaaaaa", "name": "boron", "last_ip_address": "192.0.2.1",
        "last_heard": "2026-11-28T10:00:00.000Z", "last_handshake_at": "2026-11-28T09:00:00.000Z",
        "product_id": 30001, "online": true, "platform_id": 13, "cellular": true, "functions": [],
        "variables": {}, "status": "normal", "serial_number": "B40KAB123", "iccid": "89", "imei": "35",
        "system_firmware_version": "6.2.1", "firmware_product_id": 30001, "groups": [],
        "firmware_version": 1, "desired_firmware_version": null,
        "targeted_firmware_release_version": null, "development": false, "quarantined": false,
        "denied": false, "owner": "me@example.com", "notes": null
    });
    assert_eq!(
        Device::from_json(&record),
        Some(Device {
            id: "e00fce68aaaaaaaaaaaaaaaa".into(),
            name: Some("boron".into()),
            platform_id: 13,
            product_id: 30001,
            serial_number: Some("B40KAB123".into()),
            online: true,
        })
    );
    let unnamed =
        json!({"id": "e00fce68bbbbbbbbbbbbbbbb", "name": null, "platform_id": 6, "product_id": 6});
    let devices = Device::list_from_json(&json!([record, unnamed])).expect("a device list");
    assert_eq!(
        (devices[1].name.as_deref(), devices[1].online),
        (None, false)
    );
    assert_eq!(
        Device::list_from_json(&json!([{"id": "x"}])),
        None,
        "a device without its platform"
    );
    assert_eq!(
        Device::list_from_json(&json!({"devices": []})),
        None,
        "not a list"
    );
    let products = json!({"products": [
        {"id": 30001, "name": "webhook-demo-p2-1", "slug": "webhook-demo-p2-1-v30001",
         "platform_id": 32, "description": "", "user": "me@example.com"}
    ]});
    assert_eq!(
        Product::list_from_json(&products),
        Some(vec![Product {
            id: 30001,
            name: "webhook-demo-p2-1".into(),
            platform_id: 32
        }])
    );
    let created = json!({"ok": true, "product": {
        "id": 30002, "platform_id": 13, "name": "n", "slug": "n-v30002", "description": "",
        "settings": {}, "groups": [], "device_count": 0
    }});
    assert_eq!(
        Product::created_from_json(&created).map(|p| p.platform_id),
        Some(13)
    );
    let added = json!({"updated": 1, "nonmemberDeviceIds": [], "invalidDeviceIds": []});
    assert_eq!(super::devices_added(&added), Some(1));
    assert_eq!(super::devices_added(&json!({"updated": -1})), None);
}

#[test]
fn config_reads_what_the_server_writes() {
    let config = super::Config {
        sandbox: Some("/sandbox".into()),
        relay: "/relay/".into(),
        public_url: None,
        sandbox_idle_minutes: Some(30),
        sandbox_keepalive_ms: Some(2000),
    };
    let written = serde_json::to_value(&config).expect("serializes");
    assert_eq!(super::Config::from_json(&written), Some(config));
    assert_eq!(
        super::Config::from_json(&json!({"sandbox": "/s"})),
        None,
        "no relay"
    );
}

#[test]
fn the_page_reads_what_the_relay_writes() {
    let start = super::RelayStart {
        session_id: "9f2c".into(),
        hook_url: "http://h/relay/hook/9f2c".into(),
        control_url: "http://h/relay/control/9f2c".into(),
        resumed: true,
    };
    let written = serde_json::to_value(&start).expect("serializes");
    assert_eq!(super::RelayStart::from_json(&written), Some(start));
    let hook = super::HookRequest {
        hook_id: 3,
        received_at: 1_700_000_000_000,
        method: "POST".into(),
        original_url: "/relay/hook/9f2c".into(),
        query: String::new(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: None,
        body_base64: Some("AAE=".into()),
    };
    let written = serde_json::to_value(&hook).expect("serializes");
    assert_eq!(super::HookRequest::from_json(&written), Some(hook));
    for source in [
        super::AnswerSource::Page,
        super::AnswerSource::Default,
        super::AnswerSource::Timeout,
    ] {
        let response = super::HookResponse {
            hook_id: 3,
            status_code: 500,
            content_type: "text/plain".into(),
            body: "no".into(),
            responded_at: 1_700_000_000_001,
            source,
        };
        let written = serde_json::to_value(&response).expect("serializes");
        assert_eq!(super::HookResponse::from_json(&written), Some(response));
    }
    assert_eq!(super::HookRequest::from_json(&json!({"hookId": 1})), None);
}

#[test]
fn particle_stream_events_read_their_data() {
    let data = json!({"data": "{\"id\":1}", "ttl": 60, "published_at": "2026-11-28T10:00:00.000Z", "coreid": "api"});
    let event = super::ParticleEvent::from_json("WebhookDemo01", &data).expect("an event");
    assert_eq!(
        (
            event.name.as_str(),
            event.data.as_str(),
            event.coreid.as_str()
        ),
        ("WebhookDemo01", "{\"id\":1}", "api")
    );
    assert_eq!(
        super::ParticleEvent::from_json("x", &json!({"data": "1"})),
        None,
        "no coreid"
    );
}

/// The relay control body: each field read from its JSON name, `null` kept apart from absent,
/// and written back the same way, so the page and the relay read one shape.
#[test]
fn relay_control_reads_and_writes_every_field() {
    use super::RelayControl;
    let check = |body: serde_json::Value, expected: RelayControl| {
        assert_eq!(
            RelayControl::from_json(&body),
            Ok(expected.clone()),
            "{body}"
        );
        assert_eq!(serde_json::to_value(&expected).expect("serializes"), body);
    };
    check(json!({}), RelayControl::default());
    check(
        json!({"authorization": "Bearer s", "status": 404, "contentType": "text/plain",
               "body": "gone", "delayMs": 1500, "deadlineMs": 15000, "pageAnswers": true}),
        RelayControl {
            authorization: Some(Some("Bearer s".into())),
            status: Some(404),
            content_type: Some("text/plain".into()),
            body: Some(Some("gone".into())),
            delay_ms: Some(1500),
            deadline_ms: Some(15000),
            page_answers: Some(true),
        },
    );
    check(
        json!({"authorization": null, "body": null}),
        RelayControl {
            authorization: Some(None),
            body: Some(None),
            ..RelayControl::default()
        },
    );
    // The reference relay's shape: its `op` is accepted and means nothing more.
    let reference = json!({"op": "hookResponse", "authorization": "Bearer r"});
    assert_eq!(
        RelayControl::from_json(&reference).map(|control| control.authorization),
        Ok(Some(Some("Bearer r".into())))
    );
}

#[test]
fn relay_control_refusals_name_the_field() {
    use super::RelayControl;
    for (body, message) in [
        (json!([1]), "the body must be a JSON object"),
        (json!({"colour": "red"}), "unknown setting \"colour\""),
        (json!({"status": "200"}), "status must be a number"),
        (json!({"status": 70_000}), "status must be a number"),
        (
            json!({"authorization": 5}),
            "authorization must be a string or null",
        ),
        (
            json!({"delayMs": -1}),
            "delayMs must be a number of milliseconds",
        ),
        (
            json!({"pageAnswers": 1}),
            "pageAnswers must be true or false",
        ),
        (
            json!({"op": "other"}),
            "op must be \"hookResponse\" when present",
        ),
    ] {
        let refused = RelayControl::from_json(&body).expect_err("refused");
        assert_eq!(refused.to_string(), message, "{body}");
    }
}
