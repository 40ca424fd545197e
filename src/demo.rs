//! The live demo, as pure state and logic: Start and Stop, the webhook the page creates, Test, and
//! what each streamed event becomes in the explainer, the data table and the event log.
//!
//! Streams deliver their events as `Msg`s tagged with the run they belong to (every Start begins a
//! new run); anything from an earlier run is ignored, so a stopped stream that still delivers
//! never duplicates a row. Table rows and explainer entries leave as `Effect`s: the DOM layer
//! appends them, so a table is never re-rendered whole.

use serde_json::{Value, json};
use webhook_demo_core::{
    template,
    wire::{HookRequest, HookResponse, ParticleEvent, RelayStart},
};

/// The event the tutorial's webhook fires on.
pub const EVENT_NAME: &str = "WebhookDemo01";
/// The webhook's body: the device, when the cloud got the event, and the event's own JSON data.
pub const BODY_TEMPLATE: &str = r#"{"deviceId":"{{{PARTICLE_DEVICE_ID}}}","ts":"{{{PARTICLE_PUBLISHED_AT}}}","sensor":{{{PARTICLE_EVENT_VALUE}}}}"#;
/// Responses go to events named after the publishing device, so each device hears only its own.
pub const RESPONSE_TOPIC: &str = "{{{PARTICLE_DEVICE_ID}}}/hook-response/{{{PARTICLE_EVENT_NAME}}}";
pub const ERROR_TOPIC: &str = "{{{PARTICLE_DEVICE_ID}}}/hook-error/{{{PARTICLE_EVENT_NAME}}}";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookState {
    /// The hook URL is not known yet.
    Waiting,
    Saving,
    /// The integration's id.
    Saved(String),
    Failed(String),
}

/// How the in-page webhook server answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// Empty: the relay's default `{"ok":true,"hookId":N}`.
    pub body: String,
    /// Refuse (401) requests without the session's `Authorization` header.
    pub require_auth: bool,
    /// Wait this long before answering (at most 15 s, under Particle's 20 s).
    pub delay_ms: u32,
}

impl Default for Answer {
    fn default() -> Answer {
        Answer {
            status: 200,
            body: String::new(),
            require_auth: true,
            delay_ms: 0,
        }
    }
}

/// One explainer entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `event-api`, `event-device`, `hook-sent`, `hook-response`, `hook-error`, `hook-received`,
    /// `hook-data` or `server-response`.
    pub kind: &'static str,
    pub title: &'static str,
    pub text: String,
    /// A two-column table (name, value).
    pub fields: Vec<(String, String)>,
    /// Pretty-printed JSON (or raw text) shown below.
    pub code: Option<String>,
    /// The request this entry shows, which can be replayed or copied as `curl`.
    pub hook: Option<u64>,
    /// That request as a `curl` command.
    pub curl: Option<String>,
    /// This entry starts a new cycle: the explainer is cleared first.
    pub fresh: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Demo {
    pub running: bool,
    /// Increases with every Start.
    pub run: u32,
    pub relay: Option<RelayStart>,
    /// The `Authorization` secret of this run: random, never hard-coded.
    pub secret: String,
    pub webhook: WebhookState,
    pub test_sent: Option<String>,
    pub test_error: Option<String>,
    /// A stream is down (and being reconnected), in words.
    pub stream_error: Option<String>,
    /// The data table's columns, in first-seen order.
    pub columns: Vec<String>,
    pub answer: Answer,
    pub answer_error: Option<String>,
    /// The cycle the explainer shows: the publishing device and the event's `published_at`.
    pub cycle: Option<(String, String)>,
    /// Why Start did nothing.
    pub start_error: Option<String>,
    /// The relay address the learner typed (empty: the hosting server's).
    pub relay_typed: String,
    /// The smee.io channel the learner chose (empty: a relay is used).
    pub smee_typed: String,
    /// Requests received from the smee.io channel in this run (smee numbers none).
    pub smee_count: u64,
    /// What the template preview shows: the last `WebhookDemo01` seen, or data the learner typed.
    pub preview: Option<ParticleEvent>,
    /// The event data the learner typed for the preview.
    pub preview_typed: String,
    pub timeline: crate::timeline::Timeline,
    /// The run's requests, answers and events, newest last (bounded), for replay and export.
    pub hooks: Vec<HookRequest>,
    pub responses: Vec<HookResponse>,
    pub events: Vec<ParticleEvent>,
}

/// How many requests, answers and events a run keeps for replay and export.
pub const KEPT: usize = 500;

/// The header a replayed request carries, so the page can say it is one.
pub const REPLAY_HEADER: &str = "x-webhook-demo-replay";

/// Appends to a bounded history.
pub fn keep<T>(list: &mut Vec<T>, item: T) {
    if list.len() == KEPT {
        list.remove(0);
    }
    list.push(item);
}

impl Default for Demo {
    fn default() -> Demo {
        Demo {
            running: false,
            run: 0,
            relay: None,
            secret: String::new(),
            webhook: WebhookState::Waiting,
            test_sent: None,
            test_error: None,
            stream_error: None,
            columns: Vec::new(),
            answer: Answer::default(),
            answer_error: None,
            cycle: None,
            start_error: None,
            relay_typed: String::new(),
            smee_typed: String::new(),
            smee_count: 0,
            preview: None,
            preview_typed: String::new(),
            timeline: crate::timeline::Timeline::default(),
            hooks: Vec::new(),
            responses: Vec::new(),
            events: Vec::new(),
        }
    }
}

/// The integration the page creates (or updates) in the product.
pub fn webhook_settings(hook_url: &str, secret: &str) -> Value {
    json!({
        "integration_type": "Webhook",
        "event": EVENT_NAME,
        "url": hook_url,
        "requestType": "POST",
        "noDefaults": true,
        "headers": {"Content-Type": "application/json", "Authorization": format!("Bearer {secret}")},
        "body": BODY_TEMPLATE,
        "responseTopic": RESPONSE_TOPIC,
        "errorResponseTopic": ERROR_TOPIC,
    })
}

/// The body Particle sends for `event` with the demo webhook, rendered by the very code the sandbox
/// sends with (`core::webhook`), and whether it is valid JSON (a non-JSON event value inside
/// `"sensor":{{{PARTICLE_EVENT_VALUE}}}` makes it invalid).
pub fn preview(event: &ParticleEvent) -> (String, bool) {
    // The body template uses only these variables; the sandbox renders it with this same
    // renderer (through `core::webhook`, which adds the rest of Particle's variables).
    let vars = json!({
        "PARTICLE_DEVICE_ID": event.coreid,
        "PARTICLE_PUBLISHED_AT": event.published_at,
        "PARTICLE_EVENT_VALUE": event.data,
    });
    let body = template::render(BODY_TEMPLATE, &vars).unwrap_or_default();
    let valid = serde_json::from_str::<Value>(&body).is_ok();
    (body, valid)
}

/// The relay control body that makes the in-page server answer as `answer` says.
pub fn control_body(answer: &Answer, secret: &str) -> String {
    let body = if answer.body.is_empty() {
        Value::Null
    } else {
        Value::String(answer.body.clone())
    };
    let authorization = if answer.require_auth {
        Value::String(format!("Bearer {secret}"))
    } else {
        Value::Null
    };
    json!({"status": answer.status, "body": body, "authorization": authorization, "delayMs": answer.delay_ms})
        .to_string()
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

/// A JSON value flattened into `(key, text)` pairs: nested keys joined with `.` (`sensor.t`), array
/// elements as `key[i]`; `null` vanishes; strings keep their text, other leaves their JSON.
pub fn flatten(value: &Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
        match value {
            Value::Null => {}
            Value::Object(fields) => {
                for (key, value) in fields {
                    let key = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&key, value, out);
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    walk(&format!("{prefix}[{index}]"), item, out);
                }
            }
            Value::String(text) => out.push((prefix.to_owned(), text.clone())),
            other => out.push((prefix.to_owned(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    walk("", value, &mut out);
    out
}

/// Pretty-printed JSON when `text` is JSON, else the text itself.
pub fn pretty(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|value| serde_json::to_string_pretty(&value).ok())
        .unwrap_or_else(|| text.to_owned())
}

impl Demo {
    /// Whether an entry of the cycle `key` starts a new cycle in the explainer, remembering it.
    ///
    /// A cycle is known both by its `WebhookDemo01` event (coreid, `published_at`) and by the
    /// request the webhook sends (`deviceId`, `ts` in the body), and the two arrive on different
    /// streams in either order: whichever comes first starts the cycle, the other joins it.
    pub fn starts_cycle(&mut self, key: (String, String)) -> bool {
        let fresh = self.cycle.as_ref() != Some(&key);
        self.cycle = Some(key);
        fresh
    }

    /// A data table row for a hook body: the columns it adds and the cells of every column.
    pub fn data_row(&mut self, body: &str) -> Option<Vec<String>> {
        let value: Value = serde_json::from_str(body).ok()?;
        let pairs = flatten(&value);
        for (key, _) in &pairs {
            if !self.columns.contains(key) {
                self.columns.push(key.clone());
            }
        }
        Some(
            self.columns
                .iter()
                .map(|column| {
                    pairs
                        .iter()
                        .find(|(key, _)| key == column)
                        .map(|(_, text)| text.clone())
                        .unwrap_or_default()
                })
                .collect(),
        )
    }
}

/// The explainer entry for a Particle event, if it belongs to the demo's webhook.
pub fn explain_event(event: &ParticleEvent, device: &str) -> Option<Entry> {
    if !event.name.contains(EVENT_NAME) {
        return None;
    }
    let fields = vec![
        ("Event name".to_owned(), event.name.clone()),
        ("Event data".to_owned(), event.data.clone()),
        ("Device".to_owned(), device.to_owned()),
        ("Published at".to_owned(), event.published_at.clone()),
    ];
    let code = serde_json::from_str::<Value>(&event.data)
        .ok()
        .map(|_| pretty(&event.data));
    let (kind, title, text) = if event.name == EVENT_NAME {
        if event.coreid == "api" {
            ("event-api", "Event (from this page)", "Test published this event to the product through the Particle Cloud API, as a device would. The cloud now looks for webhooks whose event name is a prefix of it.".to_owned())
        } else {
            (
                "event-device",
                "Event (from a device)",
                format!(
                    "{device} published this event. The cloud now looks for webhooks whose event name is a prefix of it."
                ),
            )
        }
    } else if event.name.contains("hook-sent") {
        ("hook-sent", "Webhook sent", "The cloud has sent the request to your webhook server. This event is for you to watch; devices rarely subscribe to it.".to_owned())
    } else if event.name.contains("hook-response") {
        ("hook-response", "Response event", "Your server's answer, published as an event the device can subscribe to. Long answers come in 512-byte parts numbered /0, /1, /2…".to_owned())
    } else if event.name.contains("hook-error") {
        ("hook-error", "Webhook error", "Your server answered with an error, too late, or not at all. The cloud publishes this instead of a response; after repeated errors it slows down requests to your server.".to_owned())
    } else {
        return None;
    };
    Some(Entry {
        kind,
        title,
        text,
        fields,
        code,
        hook: None,
        curl: None,
        fresh: event.name == EVENT_NAME,
    })
}

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
        .events
        .iter()
        .map(|e| json!({"name": e.name, "data": e.data, "published_at": e.published_at, "coreid": e.coreid}))
        .collect();
    let hooks: Vec<Value> = demo
        .hooks
        .iter()
        .map(|h| json!({"hookId": h.hook_id, "receivedAt": h.received_at, "method": h.method,
            "originalUrl": h.original_url, "headers": h.headers, "body": h.body, "bodyBase64": h.body_base64}))
        .collect();
    let responses: Vec<Value> = demo
        .responses
        .iter()
        .map(|r| {
            json!({"hookId": r.hook_id, "statusCode": r.status_code, "contentType": r.content_type,
            "body": r.body, "respondedAt": r.responded_at})
        })
        .collect();
    let hook_url = demo.relay.as_ref().map(|r| r.hook_url.clone());
    serde_json::to_string_pretty(&json!({
        "hookUrl": hook_url, "events": events, "hooks": hooks, "responses": responses,
    }))
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

/// The explainer entries for a request the in-page server received: the request, then its data.
pub fn explain_hook(hook: &HookRequest) -> [Entry; 2] {
    let body = hook.body.clone().unwrap_or_else(|| {
        format!(
            "(binary, base64) {}",
            hook.body_base64.as_deref().unwrap_or_default()
        )
    });
    let replayed = hook
        .headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case(REPLAY_HEADER));
    [
        Entry {
            kind: "hook-received",
            title: if replayed {
                "Your webhook server received a replayed request"
            } else {
                "Your webhook server received the request"
            },
            text: format!(
                "A {} request arrived at this page's webhook server with these headers:",
                hook.method
            ),
            fields: hook.headers.clone(),
            code: None,
            hook: Some(hook.hook_id),
            curl: None,
        fresh: false,
        },
        Entry {
            kind: "hook-data",
            title: "The data your server received",
            text: "The body, built by the webhook's template from the event: the device, the time the cloud received the event, and the event's own data.".to_owned(),
            fields: Vec::new(),
            code: Some(pretty(&body)),
            hook: None,
            curl: None,
        fresh: false,
        },
    ]
}

/// The explainer entry for the in-page server's answer.
pub fn explain_response(response: &HookResponse) -> Entry {
    let ok = (200..300).contains(&response.status_code);
    Entry {
        kind: "server-response",
        title: "Your webhook server answered",
        text: format!(
            "It answered HTTP {}. {}",
            response.status_code,
            if ok {
                "A success with a body becomes a response event."
            } else {
                "An error status becomes an error event."
            }
        ),
        fields: vec![("Content-Type".to_owned(), response.content_type.clone())],
        code: Some(pretty(&response.body)),
        hook: None,
        curl: None,
        fresh: false,
    }
}

/// The event log's cells for an event: time (of day, UTC), name, data, device.
pub fn log_cells(event: &ParticleEvent, device: &str) -> Vec<String> {
    let time = event
        .published_at
        .split_once('T')
        .map_or(event.published_at.as_str(), |(_, time)| time);
    vec![
        time.to_owned(),
        event.name.clone(),
        event.data.clone(),
        device.to_owned(),
    ]
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

#[cfg(test)]
pub(crate) mod tests;
