//! The demo's webhook: the integration the page creates in the product, the relay control body
//! that sets the in-page server's answer, the body preview, and the test event.

use serde_json::Value;
use webhook_demo_core::{
    template,
    wire::{ParticleEvent, RelayControl},
};

use super::Answer;
use crate::json::object;

/// The event the tutorial's webhook fires on.
pub const EVENT_NAME: &str = "WebhookDemo01";
/// The webhook's body: the device, when the cloud got the event, and the event's own JSON data.
pub const BODY_TEMPLATE: &str = r#"{"deviceId":"{{{PARTICLE_DEVICE_ID}}}","ts":"{{{PARTICLE_PUBLISHED_AT}}}","sensor":{{{PARTICLE_EVENT_VALUE}}}}"#;
/// Responses go to events named after the publishing device, so each device hears only its own.
pub const RESPONSE_TOPIC: &str = "{{{PARTICLE_DEVICE_ID}}}/hook-response/{{{PARTICLE_EVENT_NAME}}}";
pub const ERROR_TOPIC: &str = "{{{PARTICLE_DEVICE_ID}}}/hook-error/{{{PARTICLE_EVENT_NAME}}}";

/// The integration the page creates (or updates) in the product.
pub fn webhook_settings(hook_url: &str, secret: &str) -> Value {
    object([
        ("integration_type", "Webhook".into()),
        ("event", EVENT_NAME.into()),
        ("url", hook_url.into()),
        ("requestType", "POST".into()),
        ("noDefaults", true.into()),
        (
            "headers",
            object([
                ("Content-Type", "application/json".into()),
                ("Authorization", format!("Bearer {secret}").into()),
            ]),
        ),
        ("body", BODY_TEMPLATE.into()),
        ("responseTopic", RESPONSE_TOPIC.into()),
        ("errorResponseTopic", ERROR_TOPIC.into()),
    ])
}

/// The body Particle sends for `event` with the demo webhook, rendered by the very code the sandbox
/// sends with (`core::webhook`), and whether it is valid JSON (a non-JSON event value inside
/// `"sensor":{{{PARTICLE_EVENT_VALUE}}}` makes it invalid).
pub fn preview(event: &ParticleEvent) -> (String, bool) {
    // The body template uses only these variables; the sandbox renders it with this same
    // renderer (through `core::webhook`, which adds the rest of Particle's variables).
    let vars = object([
        ("PARTICLE_DEVICE_ID", event.coreid.as_str().into()),
        ("PARTICLE_PUBLISHED_AT", event.published_at.as_str().into()),
        ("PARTICLE_EVENT_VALUE", event.data.as_str().into()),
    ]);
    let body = template::render(BODY_TEMPLATE, &vars).unwrap_or_default();
    let valid = serde_json::from_str::<Value>(&body).is_ok();
    (body, valid)
}

/// The relay control body that makes the in-page server answer as `answer` says.
/// Forwarding (`forward`) or failing first attempts, the page answers each request itself, within
/// `forward::DEADLINE_MS`; should its answer not come, the relay answers as `answer` says.
pub fn control_body(answer: &Answer, secret: &str, forward: bool) -> RelayControl {
    let authorization = if answer.wrong_secret {
        "Bearer wrong-secret".to_owned()
    } else if answer.require_auth {
        format!("Bearer {secret}")
    } else {
        String::new()
    };
    RelayControl {
        status: Some(answer.status),
        body: Some((!answer.body.is_empty()).then(|| answer.body.clone())),
        authorization: Some((!authorization.is_empty()).then_some(authorization)),
        delay_ms: Some(answer.delay_ms.into()),
        page_answers: Some(forward || answer.fail_first),
        deadline_ms: Some(super::forward::DEADLINE_MS.into()),
        content_type: None,
    }
}

/// True when a hook URL names this computer or a private network, which the real Particle cloud
/// cannot reach.
pub fn is_private(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split(['/', ':', '?']).next().unwrap_or_default();
    let octets: Vec<u8> = host.split('.').filter_map(|p| p.parse().ok()).collect();
    host == "localhost"
        || host.ends_with(".local")
        || host.starts_with('[')
        || match octets[..] {
            [127, ..] | [10, ..] | [192, 168, ..] | [169, 254, ..] | [0, 0, 0, 0] => true,
            [172, second, ..] => (16..32).contains(&second),
            _ => false,
        }
}

/// The integration id of the demo's webhook in a product's integration list, if there is one.
pub fn find_webhook(integrations: &Value) -> Option<String> {
    integrations.as_array()?.iter().find_map(|integration| {
        (integration.get("event")?.as_str()? == EVENT_NAME)
            .then(|| integration.get("id")?.as_str().map(str::to_owned))
            .flatten()
    })
}

/// The test event's data: `{"id":<id>,"t":25}`.
pub fn test_data(id: u32) -> String {
    format!(r#"{{"id":{id},"t":25}}"#)
}
