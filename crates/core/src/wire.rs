//! Types that cross a process boundary.
//!
//! A `derive(Serialize)` here is a protocol: the page and the servers agree on these shapes, so a
//! change to a field is an API change and must stay backwards compatible or be versioned.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `GET /config.json`: what the server that hosts the page offers it.
///
/// When the page is hosted as plain static files there is no such document; the page then talks to
/// the real Particle cloud and asks the learner for a relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    /// Base path of the built-in Particle cloud emulator, or `None` when it is switched off.
    pub sandbox: Option<String>,
    /// Base path (or URL) of the webhook relay, ending in `/`.
    pub relay: String,
    /// The base URL the Particle cloud can reach this server on, when the operator gave one.
    pub public_url: Option<String>,
    /// When the sandbox gives every sign-in a world of its own (a hosted sandbox): the minutes
    /// one lasts without use. `None`: one world for everyone, which does not expire.
    pub sandbox_idle_minutes: Option<u64>,
    /// How long, in milliseconds, the sandbox's event streams stay quiet before their keepalive
    /// (the page assumes Particle's documented 60 s ping for the real cloud's); absent without a
    /// sandbox. Read as absent from an older server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox_keepalive_ms: Option<u32>,
}

/// Relay event `start`: the first event of every relay stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelayStart {
    /// 128 random bits, hex; the session's only capability.
    pub session_id: String,
    /// Where webhooks for this session go (`ANY`, any sub-path).
    pub hook_url: String,
    /// Where the page sets how the session answers.
    pub control_url: String,
    /// True when this stream resumed an existing session (`?session=`).
    pub resumed: bool,
}

/// Relay event `hook`: one request that arrived at a session's hook URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookRequest {
    /// Per-session sequence number, from 1.
    pub hook_id: u64,
    /// Milliseconds since the Unix epoch.
    pub received_at: u64,
    pub method: String,
    /// Path and query as the sender wrote them.
    pub original_url: String,
    /// The raw query string (without `?`), empty when there was none.
    pub query: String,
    /// Every header in arrival order, names in the case they were sent.
    pub headers: Vec<(String, String)>,
    /// The body as text when it is valid UTF-8 (byte-exact).
    pub body: Option<String>,
    /// The body in standard base64 when it is not UTF-8.
    pub body_base64: Option<String>,
}

/// Who chose a hook's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnswerSource {
    /// The page answered with `POST respond/…`.
    Page,
    /// The session's default answer (or the relay's own refusal, such as a 401).
    Default,
    /// The page was to answer but did not in time; the default answer was sent.
    Timeout,
}

/// Relay event `hookResponse`: what the relay answered to a hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HookResponse {
    pub hook_id: u64,
    pub status_code: u16,
    pub content_type: String,
    pub body: String,
    /// Milliseconds since the Unix epoch.
    pub responded_at: u64,
    pub source: AnswerSource,
}

/// Relay event `dropped`: events this stream will never see, because the session's bounded buffer
/// evicted them before they could be delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dropped {
    pub count: u64,
    /// The first event id that is still available.
    pub resumes_at: u64,
}

/// Body of `POST respond/{session}/{hook}`: the page's answer to a waiting hook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageAnswer {
    #[serde(default = "default_status")]
    pub status: u16,
    #[serde(default = "default_content_type")]
    pub content_type: String,
    #[serde(default)]
    pub body: String,
}

fn default_status() -> u16 {
    200
}

fn default_content_type() -> String {
    "application/json".to_owned()
}

/// The statuses an answer may have: a final HTTP status. A 1xx is interim, never a webhook's
/// answer, so the relay refuses it and the page says so before sending.
pub const ANSWER_STATUS: std::ops::RangeInclusive<u16> = 200..=599;

/// Longest answer delay a page may ask for, in ms: one second past the 20 s after which Particle
/// gives up on a webhook, so a learner can make it time out on purpose and see the `hook-error`.
pub const MAX_DELAY_MS: u32 = 21_000;

/// Longest the relay may wait for the page's own answer to a hook, in ms: well under Particle's
/// 20 s, so the relay still answers (with its default) before the cloud gives up.
pub const MAX_DEADLINE_MS: u32 = 15_000;

/// Body of `POST control/{session}`: how the session answers hooks. Every field is optional; a
/// field left out keeps its setting. For `authorization` and `body`, `Some(None)` (JSON `null`)
/// removes the setting. The reference relay's `{"op":"hookResponse", …}` is accepted and the
/// `op` ignored.
///
/// Written with the derived `Serialize` (a field left out is `None`); read by hand, so that a
/// refusal names the field and what it must be in the relay's own words.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RelayControl {
    /// The `Authorization` value every hook must carry; `Some(None)` or `""` accepts any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Option<String>>,
    /// The answer's status, within [`ANSWER_STATUS`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The answer's body; `Some(None)` answers the relay's default JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<Option<String>>,
    /// How long to wait before answering, at most the relay's limit ([`MAX_DELAY_MS`] by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// How long a hook waits for the page's answer, at most the relay's limit
    /// ([`MAX_DEADLINE_MS`] by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline_ms: Option<u64>,
    /// True when the page answers each hook itself (`POST respond/…`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_answers: Option<bool>,
}

/// Why a control body was refused; each says what the field must be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlError {
    /// The body is JSON but not an object.
    NotObject,
    /// A known field with a value of the wrong type.
    Field {
        field: &'static str,
        expected: &'static str,
    },
    /// A field the relay does not know: refused rather than ignored, so a typo is seen.
    Unknown(String),
}

impl std::fmt::Display for ControlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ControlError::NotObject => f.write_str("the body must be a JSON object"),
            ControlError::Field { field, expected } => write!(f, "{field} must be {expected}"),
            ControlError::Unknown(field) => write!(f, "unknown setting {field:?}"),
        }
    }
}

impl std::error::Error for ControlError {}

impl RelayControl {
    /// Reads a control body. Types are checked here; ranges are the relay's to check, as its
    /// limits are settings.
    pub fn from_json(body: &Value) -> Result<RelayControl, ControlError> {
        let Value::Object(fields) = body else {
            return Err(ControlError::NotObject);
        };
        let bad = |field, expected| ControlError::Field { field, expected };
        let mut control = RelayControl::default();
        for (field, value) in fields {
            match (field.as_str(), value) {
                ("op", Value::String(op)) if op == "hookResponse" => {}
                ("op", _) => return Err(bad("op", "\"hookResponse\" when present")),
                ("authorization", Value::Null) => control.authorization = Some(None),
                ("authorization", Value::String(text)) => {
                    control.authorization = Some(Some(text.clone()));
                }
                ("authorization", _) => return Err(bad("authorization", "a string or null")),
                ("status", value) => {
                    let status = value.as_u64().and_then(|s| u16::try_from(s).ok());
                    control.status = Some(status.ok_or(bad("status", "a number"))?);
                }
                ("contentType", Value::String(text)) => control.content_type = Some(text.clone()),
                ("contentType", _) => return Err(bad("contentType", "a string")),
                ("body", Value::Null) => control.body = Some(None),
                ("body", Value::String(text)) => control.body = Some(Some(text.clone())),
                ("body", _) => return Err(bad("body", "a string or null")),
                ("delayMs", value) => {
                    let millis = value.as_u64();
                    control.delay_ms =
                        Some(millis.ok_or(bad("delayMs", "a number of milliseconds"))?);
                }
                ("deadlineMs", value) => {
                    let millis = value.as_u64();
                    control.deadline_ms =
                        Some(millis.ok_or(bad("deadlineMs", "a number of milliseconds"))?);
                }
                ("pageAnswers", Value::Bool(on)) => control.page_answers = Some(*on),
                ("pageAnswers", _) => return Err(bad("pageAnswers", "true or false")),
                (other, _) => return Err(ControlError::Unknown(other.to_owned())),
            }
        }
        Ok(control)
    }
}

// ---- Particle Cloud API replies, as far as the page reads them (spec section 3). Fields the page
// does not use are ignored, so replies from the real cloud and from the sandbox both decode.
// The page parses a reply once into a `serde_json::Value` and reads these from it: one JSON
// decoder in the page instead of one derived decoder per reply type, which costs page size. ----

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key)?.as_str().map(str::to_owned)
}

fn number(value: &Value, key: &str) -> Option<u32> {
    u32::try_from(value.get(key)?.as_u64()?).ok()
}

/// `GET /v1/user`: the user name.
pub fn user_name(reply: &Value) -> Option<String> {
    text(reply, "username")
}

/// One device of `GET /v1/devices` (and `GET /v1/devices/:id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    pub name: Option<String>,
    pub platform_id: u32,
    /// The product the device belongs to, or its platform id when it is in none.
    pub product_id: u32,
    pub serial_number: Option<String>,
    pub online: bool,
}

impl Device {
    pub fn from_json(value: &Value) -> Option<Device> {
        Some(Device {
            id: text(value, "id")?,
            name: text(value, "name"),
            platform_id: number(value, "platform_id")?,
            product_id: number(value, "product_id")?,
            serial_number: text(value, "serial_number"),
            online: value
                .get("online")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }

    /// `GET /v1/devices`: every device, or `None` when any is malformed.
    pub fn list_from_json(reply: &Value) -> Option<Vec<Device>> {
        reply.as_array()?.iter().map(Device::from_json).collect()
    }
}

/// A product, in `GET /v1/user/products` and `POST /v1/user/products`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Product {
    pub id: u32,
    pub name: String,
    pub platform_id: u32,
}

impl Product {
    pub fn from_json(value: &Value) -> Option<Product> {
        Some(Product {
            id: number(value, "id")?,
            name: text(value, "name")?,
            platform_id: number(value, "platform_id")?,
        })
    }

    /// `GET /v1/user/products`: `{"products": [...]}`.
    pub fn list_from_json(reply: &Value) -> Option<Vec<Product>> {
        reply
            .get("products")?
            .as_array()?
            .iter()
            .map(Product::from_json)
            .collect()
    }

    /// `POST /v1/user/products`: `{"ok": true, "product": {...}}`.
    pub fn created_from_json(reply: &Value) -> Option<Product> {
        Product::from_json(reply.get("product")?)
    }
}

/// `POST /v1/products/:id/devices`: how many devices moved into the product.
pub fn devices_added(reply: &Value) -> Option<u32> {
    number(reply, "updated")
}

/// `POST /oauth/token`: the access token.
pub fn access_token(reply: &Value) -> Option<String> {
    text(reply, "access_token")
}

/// Particle's error body: `{"error", "error_description"}`, plus `mfa_token` on `mfa_required`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiErrorBody {
    pub error: String,
    pub error_description: String,
    pub mfa_token: Option<String>,
}

impl ApiErrorBody {
    /// Whatever of Particle's error fields the body has.
    pub fn from_json(reply: &Value) -> ApiErrorBody {
        ApiErrorBody {
            error: text(reply, "error").unwrap_or_default(),
            error_description: text(reply, "error_description").unwrap_or_default(),
            mfa_token: text(reply, "mfa_token"),
        }
    }
}

impl RelayStart {
    /// The relay's `start` event, as the page reads it.
    pub fn from_json(data: &Value) -> Option<RelayStart> {
        Some(RelayStart {
            session_id: text(data, "sessionId")?,
            hook_url: text(data, "hookUrl")?,
            control_url: text(data, "controlUrl")?,
            resumed: data
                .get("resumed")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }
}

impl HookRequest {
    /// The relay's `hook` event, as the page reads it.
    pub fn from_json(data: &Value) -> Option<HookRequest> {
        let headers = data
            .get("headers")?
            .as_array()?
            .iter()
            .map(|pair| {
                Some((
                    pair.get(0)?.as_str()?.to_owned(),
                    pair.get(1)?.as_str()?.to_owned(),
                ))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(HookRequest {
            hook_id: data.get("hookId")?.as_u64()?,
            received_at: data.get("receivedAt")?.as_u64()?,
            method: text(data, "method")?,
            original_url: text(data, "originalUrl").unwrap_or_default(),
            query: text(data, "query").unwrap_or_default(),
            headers,
            body: text(data, "body"),
            body_base64: text(data, "bodyBase64"),
        })
    }
}

impl HookResponse {
    /// The relay's `hookResponse` event, as the page reads it.
    pub fn from_json(data: &Value) -> Option<HookResponse> {
        Some(HookResponse {
            hook_id: data.get("hookId")?.as_u64()?,
            status_code: u16::try_from(data.get("statusCode")?.as_u64()?).ok()?,
            content_type: text(data, "contentType").unwrap_or_default(),
            body: text(data, "body").unwrap_or_default(),
            responded_at: data.get("respondedAt")?.as_u64()?,
            source: match data.get("source")?.as_str()? {
                "page" => AnswerSource::Page,
                "timeout" => AnswerSource::Timeout,
                _ => AnswerSource::Default,
            },
        })
    }
}

/// One event of a Particle event stream: the SSE `event:` name and the fields of its `data:` JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticleEvent {
    pub name: String,
    pub data: String,
    pub published_at: String,
    pub coreid: String,
}

impl ParticleEvent {
    pub fn from_json(name: &str, data: &Value) -> Option<ParticleEvent> {
        Some(ParticleEvent {
            name: name.to_owned(),
            data: text(data, "data").unwrap_or_default(),
            published_at: text(data, "published_at").unwrap_or_default(),
            coreid: text(data, "coreid")?,
        })
    }
}

impl Config {
    /// `GET /config.json`, read the same way as the API replies.
    pub fn from_json(reply: &Value) -> Option<Config> {
        Some(Config {
            sandbox: text(reply, "sandbox"),
            relay: text(reply, "relay")?,
            public_url: text(reply, "publicUrl"),
            sandbox_idle_minutes: reply.get("sandboxIdleMinutes").and_then(Value::as_u64),
            sandbox_keepalive_ms: number(reply, "sandboxKeepaliveMs"),
        })
    }
}

#[cfg(test)]
mod tests;
