//! What the Particle cloud does with a webhook integration, as pure functions: which events trigger
//! it, the variables its templates see, the exact HTTP request it sends, and how the answer becomes
//! `hook-response` chunks. The sandbox sends what [`build_request`] returns; the page previews it.
//!
//! The rules are those of the spec's section 9; where Particle's documentation is silent the choice
//! made here is noted on the item. Settings objects (`headers`, `query`, `form`, `json`) are JSON
//! objects, so their fields are sent in name order: JSON gives object members no order, and keeping
//! the order as typed would cost the page an ordered map.

use std::fmt;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::template::{Budget, MAX_OUTPUT_BYTES, Template, TemplateError};

/// `User-Agent` of every request the cloud sends.
pub const USER_AGENT: &str = "ParticleBot/1.1 (https://docs.particle.io/webhooks)";
/// Size of one `hook-response` chunk.
pub const CHUNK_BYTES: usize = 512;
/// How much of a response the cloud forwards in chunks.
pub const MAX_RESPONSE_BYTES: usize = 100 * 1024;
/// How long the cloud waits for the webhook server.
pub const TIMEOUT_SECS: u64 = 20;

/// A webhook integration's settings: the body of `POST /v1/products/:id/integrations` (and what the
/// cloud echoes back), minus the fields the cloud adds (`id`, `created_at`, …).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSettings {
    /// Event name prefix that triggers the webhook.
    pub event: String,
    /// Only events from this device trigger it.
    #[serde(
        default,
        rename = "deviceid",
        alias = "deviceID",
        skip_serializing_if = "Option::is_none"
    )]
    pub device_id: Option<String>,
    pub url: String,
    /// `GET`, `POST` (the default), `PUT` or `DELETE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<Map<String, Value>>,
    /// An object whose strings are templates, or one template string producing the JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<Value>,
    /// A raw body template (the sender sets `Content-Type` in `headers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<BasicAuth>,
    #[serde(default)]
    pub no_defaults: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reject_unauthorized: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_template: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_topic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_response_topic: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BasicAuth {
    pub username: String,
    #[serde(default)]
    pub password: String,
}

/// One published event, as a webhook's templates see it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventContext {
    pub name: String,
    pub data: String,
    /// ISO 8601 with milliseconds and `Z`, as on the event stream.
    pub published_at: String,
    /// The publishing device's id, or `api` for events published through the API.
    pub coreid: String,
    pub event_id: String,
    pub product_id: Option<u32>,
    /// The product owner's username.
    pub product_user_id: Option<String>,
    /// The product firmware version that published (absent for API events).
    pub product_version: Option<u32>,
}

/// The request a webhook sends for one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebhookRequest {
    pub method: String,
    pub url: String,
    /// In the order they are sent: the configured ones by name, then the cloud's own.
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// A setting whose template did not parse: which one, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError {
    pub field: String,
    pub error: TemplateError,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "template in `{}`: {}", self.field, self.error)
    }
}

impl std::error::Error for BuildError {}

/// The special events webhooks publish; they never trigger a webhook (no chaining).
pub fn is_webhook_event(name: &str) -> bool {
    ["hook-sent", "hook-response", "hook-error"]
        .iter()
        .any(|prefix| {
            name.strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
}

/// Whether an event triggers this webhook: its name starts with the webhook's `event`
/// (case-sensitive), it passes the device filter, and it is not a webhook's own event.
pub fn triggers(settings: &WebhookSettings, event_name: &str, coreid: &str) -> bool {
    !is_webhook_event(event_name)
        && !is_webhook_event(&settings.event)
        && event_name.starts_with(&settings.event)
        && settings
            .device_id
            .as_deref()
            .is_none_or(|id| id.is_empty() || id.eq_ignore_ascii_case(coreid))
}

/// The variables templates see: the event data's own keys when it is a JSON object, then the
/// predefined `PARTICLE_*`/`PRODUCT_*` names (which win over a data key of the same name) and the
/// legacy `SPARK_*` aliases.
pub fn variables(event: &EventContext) -> Value {
    let mut vars = match serde_json::from_str::<Value>(&event.data) {
        Ok(Value::Object(fields)) => fields,
        _ => Map::new(),
    };
    // Built field by field: `json!` would unwrap a serialization that cannot fail, and its panic
    // path brings serde_json's error formatting into the page.
    let whole = Value::Object(Map::from_iter([
        ("event".to_owned(), Value::from(event.name.as_str())),
        ("data".to_owned(), event.data.as_str().into()),
        (
            "published_at".to_owned(),
            event.published_at.as_str().into(),
        ),
        ("coreid".to_owned(), event.coreid.as_str().into()),
    ]))
    .to_string();
    let base64 = base64::engine::general_purpose::STANDARD.encode(&whole);
    let mut set = |name: &str, value: Value| {
        vars.insert(name.to_owned(), value);
    };
    set("PARTICLE_DEVICE_ID", event.coreid.clone().into());
    set("PARTICLE_EVENT_NAME", event.name.clone().into());
    set("PARTICLE_EVENT_VALUE", event.data.clone().into());
    set("PARTICLE_PUBLISHED_AT", event.published_at.clone().into());
    set("PARTICLE_EVENT_ID", event.event_id.clone().into());
    set("PARTICLE_EVENT_JSON", whole.into());
    set("PARTICLE_EVENT_BASE64", base64.into());
    set("SPARK_CORE_ID", event.coreid.clone().into());
    set("SPARK_EVENT_NAME", event.name.clone().into());
    set("SPARK_EVENT_VALUE", event.data.clone().into());
    set("SPARK_PUBLISHED_AT", event.published_at.clone().into());
    if let Some(id) = event.product_id {
        set("PRODUCT_ID", id.into());
    }
    if let Some(user) = &event.product_user_id {
        set("PRODUCT_USER_ID", user.clone().into());
    }
    if let Some(version) = event.product_version {
        set("PRODUCT_VERSION", version.into());
    }
    Value::Object(vars)
}

/// The request the cloud sends for `event`.
///
/// Unless `noDefaults` is set, the fields `event`, `data`, `published_at` and `coreid` are added:
/// into `form` or a `json` object when one is given, else into the query string of a `GET` or
/// `DELETE`, else as a form body. A `body` or a `json` template string is sent as rendered,
/// without them.
pub fn build_request(
    settings: &WebhookSettings,
    event: &EventContext,
) -> Result<WebhookRequest, BuildError> {
    let vars = variables(event);
    let mut render = Renderer::new(&vars);
    let method = settings
        .request_type
        .as_deref()
        .filter(|m| !m.is_empty())
        .unwrap_or("POST")
        .to_ascii_uppercase();
    let defaults: Vec<(String, String)> = if settings.no_defaults {
        Vec::new()
    } else {
        vec![
            ("event".to_owned(), event.name.clone()),
            ("data".to_owned(), event.data.clone()),
            ("published_at".to_owned(), event.published_at.clone()),
            ("coreid".to_owned(), event.coreid.clone()),
        ]
    };
    let has_body = settings.form.is_some() || settings.json.is_some() || settings.body.is_some();
    let defaults_in_query = !has_body && matches!(method.as_str(), "GET" | "DELETE");

    let mut query = render.fields("query", settings.query.as_ref())?;
    if defaults_in_query {
        query = merge(defaults.clone(), query);
    }
    let mut url = render.field("url", &settings.url)?;
    if !query.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&encode_form(&query));
    }

    let mut headers = Vec::new();
    if let Some(fields) = &settings.headers {
        for (name, value) in fields {
            let name = render.field(&format!("headers.{name}"), name)?;
            let value = render.field(&format!("headers.{name}"), &as_plain(value))?;
            headers.push((name, value));
        }
    }
    let mut add_default = |name: &str, value: String| {
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            headers.push((name.to_owned(), value));
        }
    };
    if let Some(auth) = &settings.auth {
        let username = render.field("auth.username", &auth.username)?;
        let password = render.field("auth.password", &auth.password)?;
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
        add_default("Authorization", format!("Basic {credentials}"));
    }
    add_default("User-Agent", USER_AGENT.to_owned());

    let body = if let Some(template) = &settings.body {
        Some(render.field("body", template)?)
    } else if let Some(json) = &settings.json {
        add_default("Content-Type", "application/json".to_owned());
        add_default("Accept", "application/json".to_owned());
        Some(match json {
            Value::String(template) => render.field("json", template)?,
            Value::Object(fields) => {
                let mut rendered = Map::new();
                for (name, value) in &defaults {
                    rendered.insert(name.clone(), Value::String(value.clone()));
                }
                for (name, value) in fields {
                    let name = render.field("json", name)?;
                    rendered.insert(name, render.json("json", value)?);
                }
                Value::Object(rendered).to_string()
            }
            other => render.json("json", other)?.to_string(),
        })
    } else if settings.form.is_some() || (!defaults_in_query && !defaults.is_empty()) {
        add_default(
            "Content-Type",
            "application/x-www-form-urlencoded".to_owned(),
        );
        let form = render.fields("form", settings.form.as_ref())?;
        Some(encode_form(&merge(defaults, form)))
    } else {
        None
    };
    // Encoding (JSON escapes, form percent-escapes) can grow what the templates produced.
    if body
        .as_ref()
        .is_some_and(|body| body.len() > MAX_OUTPUT_BYTES)
    {
        return Err(BuildError {
            field: "body".to_owned(),
            error: TemplateError {
                offset: None,
                message: format!(
                    "the encoded body is larger than {MAX_OUTPUT_BYTES} bytes, the most a webhook may send"
                ),
            },
        });
    }
    Ok(WebhookRequest {
        method,
        url,
        headers,
        body,
    })
}

/// The topic a response is published on (without the `/<index>` suffix): `responseTopic` rendered,
/// or `hook-response/<event name>`.
pub fn response_topic(
    settings: &WebhookSettings,
    event: &EventContext,
) -> Result<String, BuildError> {
    topic(settings.response_topic.as_deref(), "hook-response", event)
}

/// The topic an error is published on (without `/0`): `errorResponseTopic` rendered, or
/// `hook-error/<event name>`.
pub fn error_topic(settings: &WebhookSettings, event: &EventContext) -> Result<String, BuildError> {
    topic(
        settings.error_response_topic.as_deref(),
        "hook-error",
        event,
    )
}

fn topic(custom: Option<&str>, kind: &str, event: &EventContext) -> Result<String, BuildError> {
    match custom.filter(|t| !t.is_empty()) {
        Some(template) => Renderer::new(&variables(event)).field(kind, template),
        None => Ok(format!("{kind}/{}", event.name)),
    }
}

/// What a successful response publishes: the body, or `responseTemplate` rendered with the
/// response's JSON fields (over the event's variables) when one is set.
pub fn response_data(
    settings: &WebhookSettings,
    event: &EventContext,
    body: &str,
) -> Result<String, BuildError> {
    let Some(template) = settings
        .response_template
        .as_deref()
        .filter(|t| !t.is_empty())
    else {
        return Ok(body.to_owned());
    };
    let mut vars = variables(event);
    if let (Value::Object(vars), Ok(Value::Object(fields))) =
        (&mut vars, serde_json::from_str::<Value>(body))
    {
        vars.extend(fields);
    }
    Renderer::new(&vars).field("responseTemplate", template)
}

/// The `hook-response` chunks of a response: 512 bytes each (the last may be shorter), of at most
/// the first 100 KB. A chunk never splits a UTF-8 character, so one holding multi-byte text may
/// end a few bytes short of 512.
pub fn response_chunks(data: &str) -> Vec<&str> {
    let mut rest = &data[..floor_char_boundary(data, MAX_RESPONSE_BYTES)];
    let mut chunks = Vec::new();
    while !rest.is_empty() {
        let (chunk, tail) = rest.split_at(floor_char_boundary(rest, CHUNK_BYTES));
        chunks.push(chunk);
        rest = tail;
    }
    chunks
}

fn floor_char_boundary(text: &str, at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    (0..=at)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0)
}

/// Renders a request's templates against one event's variables, all from one [`Budget`], so that
/// a request is bounded as a whole however many templated fields it has.
struct Renderer<'a> {
    vars: &'a Value,
    budget: Budget,
}

impl<'a> Renderer<'a> {
    fn new(vars: &'a Value) -> Renderer<'a> {
        Renderer {
            vars,
            budget: Budget::default(),
        }
    }

    fn field(&mut self, field: &str, template: &str) -> Result<String, BuildError> {
        Template::parse(template)
            .and_then(|template| template.render_within(self.vars, &mut self.budget))
            .map_err(|error| BuildError {
                field: field.to_owned(),
                error,
            })
    }

    /// Renders every string in a JSON value (keys included); template values only produce strings.
    fn json(&mut self, field: &str, value: &Value) -> Result<Value, BuildError> {
        Ok(match value {
            Value::String(template) => Value::String(self.field(field, template)?),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.json(field, item))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(fields) => {
                let mut rendered = Map::new();
                for (name, value) in fields {
                    rendered.insert(self.field(field, name)?, self.json(field, value)?);
                }
                Value::Object(rendered)
            }
            other => other.clone(),
        })
    }

    fn fields(
        &mut self,
        field: &str,
        fields: Option<&Map<String, Value>>,
    ) -> Result<Vec<(String, String)>, BuildError> {
        fields
            .into_iter()
            .flatten()
            .map(|(name, value)| {
                let path = format!("{field}.{name}");
                Ok((
                    self.field(&path, name)?,
                    self.field(&path, &as_plain(value))?,
                ))
            })
            .collect()
    }
}

/// Parses every template of `settings`, so an integration whose templates cannot render is
/// refused when it is created or edited rather than at every delivery.
pub fn check_templates(settings: &WebhookSettings) -> Result<(), BuildError> {
    let mut templates: Vec<(String, &str)> = vec![("url".to_owned(), &settings.url)];
    for (field, fields) in [
        ("headers", &settings.headers),
        ("query", &settings.query),
        ("form", &settings.form),
    ] {
        for (name, value) in fields.iter().flatten() {
            templates.push((format!("{field}.{name}"), name));
            if let Value::String(value) = value {
                templates.push((format!("{field}.{name}"), value));
            }
        }
    }
    if let Some(json) = &settings.json {
        json_strings(json, &mut |text| templates.push(("json".to_owned(), text)));
    }
    for (field, template) in [
        ("body", &settings.body),
        ("responseTemplate", &settings.response_template),
        ("responseTopic", &settings.response_topic),
        ("errorResponseTopic", &settings.error_response_topic),
    ] {
        if let Some(template) = template {
            templates.push((field.to_owned(), template));
        }
    }
    if let Some(auth) = &settings.auth {
        templates.push(("auth.username".to_owned(), &auth.username));
        templates.push(("auth.password".to_owned(), &auth.password));
    }
    for (field, template) in templates {
        Template::parse(template).map_err(|error| BuildError { field, error })?;
    }
    Ok(())
}

/// Every string in a JSON value, keys included.
fn json_strings<'a>(value: &'a Value, each: &mut impl FnMut(&'a str)) {
    match value {
        Value::String(text) => each(text),
        Value::Array(items) => items.iter().for_each(|item| json_strings(item, each)),
        Value::Object(fields) => {
            for (name, value) in fields {
                each(name);
                json_strings(value, each);
            }
        }
        _ => {}
    }
}

/// `first` followed by the fields of `second`, a field of `second` replacing one of `first`.
fn merge(first: Vec<(String, String)>, second: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut merged: Vec<(String, String)> = first
        .into_iter()
        .filter(|(name, _)| !second.iter().any(|(n, _)| n == name))
        .collect();
    merged.extend(second);
    merged
}

fn as_plain(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn encode_form(fields: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

#[cfg(test)]
mod tests;
