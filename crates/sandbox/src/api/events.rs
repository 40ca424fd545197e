//! Events: publishing (`POST /v1/products/:id/events`, `POST /v1/devices/events`, both with coreid
//! `api`) and the event streams (`/v1/events`, `/v1/devices/events`, `/v1/devices/:id/events`,
//! `/v1/products/:id/events`, each optionally followed by a name prefix).

use std::collections::HashMap;

use axum::{
    Extension, Json,
    body::Bytes,
    extract::Path,
    http::{HeaderMap, Uri},
    response::Response,
};
use serde_json::{Value, json};
use webhook_demo_http::PeerAddr;

use crate::{
    Shared,
    attempts::{self, Client},
    auth::{self, Caller},
    error::ApiError,
    events::{self, API, Event, Scope},
    sse,
    worlds::World,
};

/// Particle's limits on an event's name and data: 64 characters of name and 1024 bytes of data
/// (spec section 8.1, "Payload (JSON, ≤ 1024 bytes)"; Particle's publish documentation gives the
/// same figure for Device OS 3 and later). The cloud refuses larger events; so does the sandbox,
/// whichever way they are published.
const MAX_NAME: usize = 64;
const MAX_DATA: usize = 1024;

pub(crate) async fn publish_product(
    World(shared): World,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let fields = super::fields(&headers, &body)?;
    let (username, token) = auth::caller(&shared, &headers, &uri, Some(&fields))?;
    let (name, data) = name_and_data(&fields, &headers, &body)?;
    let product = {
        let cloud = crate::lock(&shared);
        let product = super::products::owned(&cloud, &id, &username)?;
        (product.id, product.user.clone())
    };
    allow(&shared, &token)?;
    events::publish(
        &shared,
        Event::new(&name, &data, API, &product.1, Some(product.0)),
    );
    Ok(Json(json!({"ok": true})))
}

pub(crate) async fn publish_user(
    World(shared): World,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let fields = super::fields(&headers, &body)?;
    let (username, token) = auth::caller(&shared, &headers, &uri, Some(&fields))?;
    let (name, data) = name_and_data(&fields, &headers, &body)?;
    allow(&shared, &token)?;
    events::publish(&shared, Event::new(&name, &data, API, &username, None));
    Ok(Json(json!({"ok": true})))
}

/// Particle's publish rate limit, on the allowance `key` names: an API caller's token (so that
/// learners signed in to the same account never use up each other's), or, for a `_sim` publish
/// on a laptop, the device owner's name.
pub(super) fn allow(shared: &Shared, key: &str) -> Result<(), ApiError> {
    let per_second = shared.settings.publishes_per_second;
    let allowed =
        crate::lock(shared)
            .untracked()
            .allow_publish(key, per_second, tokio::time::Instant::now());
    if allowed {
        Ok(())
    } else {
        Err(ApiError::rate_limited(format!(
            "Too many events published; the limit is {per_second} per second after a burst of ten"
        )))
    }
}

/// The event a publish body names. A JSON body must give the name (and the data, when it gives
/// one) as strings: `fields` would turn `{"name": 5}` into the name `5`.
fn name_and_data(
    fields: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(String, String), ApiError> {
    if super::is_json(headers) {
        let object = super::json_object(body)?;
        for field in ["name", "data"] {
            if object.get(field).is_some_and(|value| !value.is_string()) {
                return Err(ApiError::bad_request(format!(
                    "The {field} parameter must be a string"
                )));
            }
        }
    }
    let name = fields.get("name").map(String::as_str).unwrap_or_default();
    let data = fields.get("data").map(String::as_str).unwrap_or_default();
    check_event(name, data)?;
    Ok((name.trim().to_owned(), data.to_owned()))
}

/// Refuses an event Particle would refuse: no name, a name with control characters, or a name or
/// data over Particle's limits.
pub(super) fn check_event(name: &str, data: &str) -> Result<(), ApiError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ApiError::bad_request("The name parameter is required"));
    }
    // Particle's names are letters, digits and a few marks; a line break would end the `event:`
    // line of every stream that shows the event and let its publisher write frames of their own.
    if name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "Event names cannot hold control characters such as line breaks",
        ));
    }
    if name.len() > MAX_NAME {
        return Err(ApiError::bad_request(format!(
            "Event names are at most {MAX_NAME} characters"
        )));
    }
    if data.len() > MAX_DATA {
        return Err(ApiError::bad_request(format!(
            "Event data is at most {MAX_DATA} bytes"
        )));
    }
    Ok(())
}

pub(crate) async fn user_stream(
    World(shared): World,
    prefix: Option<Path<String>>,
    Caller(username): Caller,
    headers: HeaderMap,
    peer: Option<Extension<PeerAddr>>,
) -> Result<Response, ApiError> {
    let client = client(&shared, &headers, peer);
    let scope = Scope::User(username.clone());
    sse::stream(&shared, client, username, scope, prefix.map(|p| p.0))
}

pub(crate) async fn device_stream(
    World(shared): World,
    Path(params): Path<HashMap<String, String>>,
    Caller(username): Caller,
    headers: HeaderMap,
    peer: Option<Extension<PeerAddr>>,
) -> Result<Response, ApiError> {
    let client = client(&shared, &headers, peer);
    let id = params.get("id").cloned().unwrap_or_default();
    let device = super::devices::owned(&crate::lock(&shared), &id, &username)?
        .id
        .clone();
    sse::stream(
        &shared,
        client,
        username,
        Scope::Device(device),
        params.get("prefix").cloned(),
    )
}

pub(crate) async fn product_stream(
    World(shared): World,
    Path(params): Path<HashMap<String, String>>,
    Caller(username): Caller,
    headers: HeaderMap,
    peer: Option<Extension<PeerAddr>>,
) -> Result<Response, ApiError> {
    let client = client(&shared, &headers, peer);
    let id = params.get("id").cloned().unwrap_or_default();
    let product = super::products::owned(&crate::lock(&shared), &id, &username)?.id;
    sse::stream(
        &shared,
        client,
        username,
        Scope::Product(product),
        params.get("prefix").cloned(),
    )
}

/// The address a stream request comes from, which Particle's stream limits count against.
fn client(shared: &Shared, headers: &HeaderMap, peer: Option<Extension<PeerAddr>>) -> Client {
    let peer = peer.map(|Extension(peer)| peer);
    attempts::client(headers, peer, shared.settings.trust_forwarded)
}
