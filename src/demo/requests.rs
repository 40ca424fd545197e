//! The requests the in-page server received, as more than explainer entries: replayed, copied as
//! `curl`, exported with the whole run; and a smee.io channel's messages read as requests.

use serde_json::Value;
use webhook_demo_core::wire::HookRequest;

use super::Demo;
use crate::json::object;

/// The header a replayed request carries, so the page can say it is one.
pub const REPLAY_HEADER: &str = "x-webhook-demo-replay";

/// A request as a smee.io channel streams it: one JSON object holding the request's headers
/// (lower-case names), `body` (parsed when it was JSON), `query` and `timestamp`.
pub fn smee_hook(data: &Value, hook_id: u64) -> Option<HookRequest> {
    let fields = data.as_object()?;
    let text = |value: &Value| match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let headers = fields
        .iter()
        .filter(|(name, _)| !matches!(name.as_str(), "body" | "query" | "timestamp"))
        .map(|(name, value)| (name.clone(), text(value)))
        .collect();
    Some(HookRequest {
        hook_id,
        received_at: fields.get("timestamp").and_then(Value::as_u64).unwrap_or(0),
        method: "POST".to_owned(),
        original_url: String::new(),
        query: String::new(),
        headers,
        body: fields.get("body").filter(|b| !b.is_null()).map(text),
        body_base64: None,
    })
}

/// Whether `hook` is a request this page sent again (Replay, edit and resend).
pub fn replayed(hook: &HookRequest) -> bool {
    hook.headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case(REPLAY_HEADER))
}

/// `scheme://host[:port]` of a URL.
pub fn origin(url: &str) -> String {
    url.split_once("://")
        .map(|(scheme, rest)| format!("{scheme}://{}", rest.split('/').next().unwrap_or(rest)))
        .unwrap_or_default()
}

/// Headers an HTTP client sets by itself, which a replay leaves to it.
const CLIENT_HEADERS: [&str; 4] = ["host", "content-length", "connection", "accept-encoding"];

/// A request as a `curl` command that sends it again, exactly (method, headers, body), to the
/// relay it came to.
pub fn curl(hook: &HookRequest, hook_url: &str) -> String {
    let quote = |text: &str| format!("'{}'", text.replace('\'', r"'\''"));
    let mut command = format!(
        "curl -X {} {}",
        hook.method,
        quote(&format!("{}{}", origin(hook_url), hook.original_url))
    );
    for (name, value) in replay_headers(hook) {
        command.push_str(&format!(" -H {}", quote(&format!("{name}: {value}"))));
    }
    // curl adds `Accept: */*` of its own unless told otherwise.
    if !hook
        .headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("accept"))
    {
        command.push_str(" -H 'Accept:'");
    }
    if let Some(body) = &hook.body {
        command.push_str(&format!(" --data-binary {}", quote(body)));
    }
    command
}

/// The headers a replay sends: the request's own, except those the client sets.
pub fn replay_headers(hook: &HookRequest) -> Vec<(String, String)> {
    hook.headers
        .iter()
        .filter(|(name, _)| !CLIENT_HEADERS.contains(&name.to_ascii_lowercase().as_str()))
        .cloned()
        .collect()
}

/// The run as one JSON document: every event, request and answer the page saw.
pub fn export(demo: &Demo) -> String {
    let events: Vec<Value> = demo
        .history
        .events
        .iter()
        .map(|e| {
            object([
                ("name", e.name.as_str().into()),
                ("data", e.data.as_str().into()),
                ("published_at", e.published_at.as_str().into()),
                ("coreid", e.coreid.as_str().into()),
            ])
        })
        .collect();
    let hooks: Vec<Value> = demo
        .history
        .hooks
        .iter()
        .map(|h| {
            let headers: Vec<Value> = h
                .headers
                .iter()
                .map(|(name, value)| Value::from(vec![name.as_str(), value.as_str()]))
                .collect();
            object([
                ("hookId", h.hook_id.into()),
                ("receivedAt", h.received_at.into()),
                ("method", h.method.as_str().into()),
                ("originalUrl", h.original_url.as_str().into()),
                ("headers", headers.into()),
                ("body", h.body.as_deref().into()),
                ("bodyBase64", h.body_base64.as_deref().into()),
            ])
        })
        .collect();
    let responses: Vec<Value> = demo
        .history
        .responses
        .iter()
        .map(|r| {
            object([
                ("hookId", r.hook_id.into()),
                ("statusCode", r.status_code.into()),
                ("contentType", r.content_type.as_str().into()),
                ("body", r.body.as_str().into()),
                ("respondedAt", r.responded_at.into()),
            ])
        })
        .collect();
    let hook_url = demo.relay.as_ref().map(|r| r.hook_url.clone());
    serde_json::to_string_pretty(&object([
        ("hookUrl", hook_url.into()),
        ("events", events.into()),
        ("hooks", hooks.into()),
        ("responses", responses.into()),
    ]))
    .unwrap_or_default()
}

/// The cycle a request belongs to, from the demo body's `deviceId` and `ts`.
pub fn hook_cycle(hook: &HookRequest) -> Option<(String, String)> {
    let body: Value = serde_json::from_str(hook.body.as_deref()?).ok()?;
    Some((
        body.get("deviceId")?.as_str()?.to_owned(),
        body.get("ts")?.as_str()?.to_owned(),
    ))
}
