//! What the demo's events become on the page: explainer entries (one per hop of a cycle) and
//! event log rows.

use serde_json::Value;
use webhook_demo_core::wire::{HookRequest, HookResponse, ParticleEvent};

use super::{requests::replayed, webhook::EVENT_NAME};

/// What an explainer entry shows: its `data-kind` in the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// The demo event, published from this page (Test).
    EventApi,
    /// The demo event, published by a device.
    EventDevice,
    HookSent,
    HookResponse,
    HookError,
    /// The request the in-page server received.
    HookReceived,
    /// Its body.
    HookData,
    /// What the in-page server answered.
    ServerResponse,
}

impl EntryKind {
    /// The entry's `data-kind`.
    pub fn name(self) -> &'static str {
        match self {
            EntryKind::EventApi => "event-api",
            EntryKind::EventDevice => "event-device",
            EntryKind::HookSent => "hook-sent",
            EntryKind::HookResponse => "hook-response",
            EntryKind::HookError => "hook-error",
            EntryKind::HookReceived => "hook-received",
            EntryKind::HookData => "hook-data",
            EntryKind::ServerResponse => "server-response",
        }
    }
}

/// One explainer entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: EntryKind,
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
}

/// The explainer entry for a Particle event, if it belongs to the demo's webhook.
pub fn explain_event(event: &ParticleEvent, device: &str) -> Option<Entry> {
    if !event.name.contains(EVENT_NAME) {
        return None;
    }
    let code = serde_json::from_str::<Value>(&event.data)
        .ok()
        .map(|_| pretty(&event.data));
    let mut fields = vec![
        ("Event name".to_owned(), event.name.clone()),
        (
            "Event data".to_owned(),
            // Particle's own events (hook-sent) carry the text "undefined": say what it means.
            if event.data == "undefined" {
                "none (the cloud sends this event without data, as the word \"undefined\")"
                    .to_owned()
            } else {
                event.data.clone()
            },
        ),
        ("Device".to_owned(), device.to_owned()),
        ("Published at".to_owned(), event.published_at.clone()),
    ];
    // JSON data is shown once, pretty-printed below the table.
    if code.is_some() {
        fields.remove(1);
    }
    let (kind, title, text) = if event.name == EVENT_NAME {
        if event.coreid == "api" {
            (EntryKind::EventApi, "Event (from this page)", "Test published this event to the product through the Particle Cloud API, as a device would. The cloud now looks for webhooks whose event name is a prefix of it.".to_owned())
        } else {
            (
                EntryKind::EventDevice,
                "Event (from a device)",
                format!(
                    "{device} published this event. The cloud now looks for webhooks whose event name is a prefix of it."
                ),
            )
        }
    } else if event.name.contains("hook-sent") {
        (EntryKind::HookSent, "Webhook sent", "The cloud has sent the request to your webhook server. This event is for you to watch; devices rarely subscribe to it.".to_owned())
    } else if event.name.contains("hook-response") {
        (EntryKind::HookResponse, "Response event", "Your server's answer, published as an event the device can subscribe to. Long answers come in 512-byte parts numbered /0, /1, /2…".to_owned())
    } else if event.name.contains("hook-error") {
        (
            EntryKind::HookError,
            "Webhook error",
            hook_error_text(&event.data),
        )
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
    })
}

/// What a `hook-error` means, by what Particle says in it.
fn hook_error_text(data: &str) -> String {
    let what = if data.starts_with("Sleeping") {
        "Too many errors: the cloud skipped this request (it throttles a host whose errors \
         outnumber its successes)."
    } else if data.contains("ETIMEDOUT") {
        "Your server did not answer within 20 seconds, so the cloud gave up on the request."
    } else if data.contains("ECONNREFUSED") {
        "Nothing listened at the webhook's address: the cloud could not connect."
    } else {
        "Your server answered with an error status (not 2xx). A device subscribed to the error \
         topic hears about it."
    };
    format!(
        "{what} The cloud publishes this hook-error instead of a hook-response, and tries the \
         event again after 30 seconds and after a minute before it drops it, so a server must \
         expect the same event more than once; after repeated errors it slows down requests to \
         your server (\"Sleeping, too many errors\")."
    )
}

/// The explainer entries for a request the in-page server received: the request, then its data.
pub fn explain_hook(hook: &HookRequest) -> [Entry; 2] {
    let body = hook.body.clone().unwrap_or_else(|| {
        format!(
            "(binary, base64) {}",
            hook.body_base64.as_deref().unwrap_or_default()
        )
    });
    let replayed = replayed(hook);
    [
        Entry {
            kind: EntryKind::HookReceived,
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
        },
        Entry {
            kind: EntryKind::HookData,
            title: "The data your server received",
            text: "The body, built by the webhook's template from the event: the device, the time the cloud received the event, and the event's own data.".to_owned(),
            fields: Vec::new(),
            code: Some(pretty(&body)),
            hook: None,
            curl: None,
        },
    ]
}

/// The explainer entry for the in-page server's answer.
pub fn explain_response(response: &HookResponse) -> Entry {
    let ok = (200..300).contains(&response.status_code);
    Entry {
        kind: EntryKind::ServerResponse,
        title: "Your webhook server answered",
        text: format!(
            "It answered HTTP {}. {}",
            response.status_code,
            if ok {
                "A success (2xx) with a body becomes a hook-response event."
            } else {
                "A status outside 2xx is a failure: the cloud publishes a hook-error event instead of a hook-response (below)."
            }
        ),
        fields: vec![("Content-Type".to_owned(), response.content_type.clone())],
        code: Some(pretty(&response.body)),
        hook: None,
        curl: None,
    }
}

/// The event log's cells for an event: time (of day, UTC), name, data, device.
pub fn log_cells(event: &ParticleEvent, device: &str) -> Vec<String> {
    // The column says UTC; the time reads as every other time on the page, without the `Z`.
    let time = event
        .published_at
        .split_once('T')
        .map_or(event.published_at.as_str(), |(_, time)| time)
        .trim_end_matches('Z');
    vec![
        time.to_owned(),
        event.name.clone(),
        event.data.clone(),
        device.to_owned(),
    ]
}

/// Pretty-printed JSON when `text` is JSON, else the text itself.
pub fn pretty(text: &str) -> String {
    serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|value| serde_json::to_string_pretty(&value).ok())
        .unwrap_or_else(|| text.to_owned())
}
