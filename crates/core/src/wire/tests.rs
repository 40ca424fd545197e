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

/// The reply shapes the page reads, decoded from the examples in the spec (section 3) and from a
/// device record with every field a product device list carries.
#[test]
fn particle_replies_decode_from_the_spec_examples() {
    let token: super::TokenReply = serde_json::from_value(json!({
        "token_type": "bearer", "access_token": "abc", "expires_in": 7776000, "refresh_token": "def"
    }))
    .expect("token");
    assert_eq!(token.access_token, "abc");
    let mfa: super::ApiErrorBody = serde_json::from_value(json!({
        "mfa_token": "7f2e", "error": "mfa_required",
        "error_description": "Multi-factor authentication required"
    }))
    .expect("mfa");
    assert_eq!(
        (mfa.error.as_str(), mfa.mfa_token.as_deref()),
        ("mfa_required", Some("7f2e"))
    );
    let bare: super::ApiErrorBody = serde_json::from_value(json!({"ok": false})).expect("error");
    assert_eq!(bare, super::ApiErrorBody::default());
    let user: super::User = serde_json::from_value(json!({
        "username": "me@example.com", "subscription_ids": [], "account_info": {"first_name": "A"}
    }))
    .expect("user");
    assert_eq!(user.username, "me@example.com");
    let device: super::Device = serde_json::from_value(json!({
        "id": "e00fce68aaaaaaaaaaaaaaaa", "name": "boron", "last_ip_address": "192.0.2.1",
        "last_heard": "2026-11-28T10:00:00.000Z", "last_handshake_at": "2026-11-28T09:00:00.000Z",
        "product_id": 30001, "online": true, "platform_id": 13, "cellular": true, "functions": [],
        "variables": {}, "status": "normal", "serial_number": "B40KAB123", "iccid": "89", "imei": "35",
        "system_firmware_version": "6.2.1", "firmware_product_id": 30001, "groups": [],
        "firmware_version": 1, "desired_firmware_version": null,
        "targeted_firmware_release_version": null, "development": false, "quarantined": false,
        "denied": false, "owner": "me@example.com", "notes": null
    }))
    .expect("device");
    assert_eq!(
        device,
        super::Device {
            id: "e00fce68aaaaaaaaaaaaaaaa".into(),
            name: Some("boron".into()),
            platform_id: 13,
            product_id: 30001,
            serial_number: Some("B40KAB123".into()),
            online: true,
        }
    );
    let unnamed: super::Device = serde_json::from_value(json!({
        "id": "e00fce68bbbbbbbbbbbbbbbb", "name": null, "platform_id": 6, "product_id": 6
    }))
    .expect("a device with only the required fields");
    assert_eq!((unnamed.name, unnamed.online), (None, false));
    let products: super::ProductList = serde_json::from_value(json!({"products": [
        {"id": 30001, "name": "webhook-demo-p2-1", "slug": "webhook-demo-p2-1-v30001",
         "platform_id": 32, "description": "", "user": "me@example.com"}
    ]}))
    .expect("products");
    assert_eq!(products.products[0].id, 30001);
    let created: super::CreatedProduct = serde_json::from_value(json!({"ok": true, "product": {
        "id": 30002, "platform_id": 13, "name": "n", "slug": "n-v30002", "description": "",
        "settings": {}, "groups": [], "device_count": 0
    }}))
    .expect("created product");
    assert_eq!(created.product.platform_id, 13);
    let added: super::DevicesAdded = serde_json::from_value(json!({
        "updated": 1, "nonmemberDeviceIds": [], "invalidDeviceIds": []
    }))
    .expect("added");
    assert_eq!(added.updated, 1);
}
