//! The emulated endpoints: one file per resource, one line each in the route table below, and the
//! request-body parsing they share.

mod devices;
mod events;
mod firmware;
mod functions;
mod integrations;
mod oauth;
mod product_devices;
mod products;
pub(crate) mod sim;
mod user;
mod webhooks;

use std::collections::HashMap;

use axum::{
    Router,
    extract::{FromRequest, Multipart, Request},
    http::{HeaderMap, header},
    routing::{delete, get, post, put},
};
use serde_json::Value;

use crate::{Root, error::ApiError};

pub(crate) fn routes() -> Router<Root> {
    Router::new()
        .route("/oauth/token", post(oauth::token))
        .route("/v1/access_tokens/current", delete(oauth::revoke_current))
        .route("/v1/user", get(user::get))
        .route("/v1/devices", get(devices::list))
        .route(
            "/v1/devices/{id}",
            get(devices::get).put(firmware::update_device),
        )
        .route("/v1/binaries", post(firmware::compile))
        .route("/v1/binaries/", post(firmware::compile))
        .route("/v1/binaries/{id}", get(firmware::download))
        .route(
            "/v1/user/products",
            get(products::list).post(products::create),
        )
        .route(
            "/v1/user/products/",
            get(products::list).post(products::create),
        )
        // The same list by the path particle-api-js's `listProducts` uses.
        .route("/v1/products", get(products::list))
        .route(
            "/v1/products/{id}",
            get(products::get).delete(products::delete),
        )
        .route(
            "/v1/products/{id}/devices",
            get(product_devices::list).post(product_devices::add),
        )
        .route(
            "/v1/products/{id}/devices/{device}",
            get(product_devices::get)
                .put(product_devices::update)
                .delete(product_devices::remove),
        )
        .route(
            "/v1/products/{id}/integrations",
            get(integrations::list).post(integrations::create),
        )
        .route(
            "/v1/products/{id}/integrations/{integration}",
            get(integrations::get)
                .put(integrations::edit)
                .delete(integrations::delete),
        )
        .route(
            "/v1/integrations",
            get(integrations::list).post(integrations::create),
        )
        .route(
            "/v1/integrations/{integration}",
            get(integrations::get)
                .put(integrations::edit)
                .delete(integrations::delete),
        )
        .route("/v1/webhooks", get(webhooks::list).post(webhooks::create))
        .route(
            "/v1/webhooks/{integration}",
            get(webhooks::get).delete(webhooks::delete),
        )
        .route(
            "/v1/products/{id}/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route(
            "/v1/products/{id}/webhooks/{integration}",
            get(webhooks::get).delete(webhooks::delete),
        )
        .route(
            "/v1/products/{id}/events",
            get(events::product_stream).post(events::publish_product),
        )
        .route(
            "/v1/products/{id}/events/{*prefix}",
            get(events::product_stream),
        )
        .route("/v1/events", get(events::user_stream))
        .route("/v1/events/{*prefix}", get(events::user_stream))
        .route(
            "/v1/devices/events",
            get(events::user_stream).post(events::publish_user),
        )
        .route("/v1/devices/events/{*prefix}", get(events::user_stream))
        .route(
            "/v1/devices/{id}/{name}",
            get(functions::variable).post(functions::call),
        )
        .route("/v1/devices/{id}/events", get(events::device_stream))
        .route(
            "/v1/devices/{id}/events/{*prefix}",
            get(events::device_stream),
        )
}

/// The sandbox's own control endpoints (`/_sim/…`), served apart: no CORS, own pages only.
pub(crate) fn sim_routes() -> Router<Root> {
    Router::new()
        .route("/_sim/reset", post(sim::reset))
        .route("/_sim/webhooks", get(sim::webhooks))
        .route("/_sim/devices/{id}/button", post(sim::button))
        .route("/_sim/devices/{id}/publish", post(sim::publish))
        .route("/_sim/devices/{id}/online", put(sim::online))
        .route("/_sim/devices/{id}/log", get(sim::log))
        .route("/_sim/streams/silence", post(sim::silence))
}

pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"))
}

/// A JSON object body, as it is.
pub(super) fn json_object(body: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Malformed JSON body: {e}")))?;
    match value {
        Value::Object(fields) => Ok(fields),
        _ => Err(ApiError::bad_request("The JSON body must be an object")),
    }
}

/// A flat body's fields: JSON (`Content-Type: application/json`) or form-encoded, as Particle
/// accepts either. Non-string JSON values are kept as their JSON text.
pub(crate) fn fields(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<HashMap<String, String>, ApiError> {
    if is_json(headers) {
        Ok(json_object(body)?
            .into_iter()
            .map(|(key, value)| match value {
                Value::String(text) => (key, text),
                other => (key, other.to_string()),
            })
            .collect())
    } else {
        serde_urlencoded::from_bytes(body)
            .map_err(|e| ApiError::bad_request(format!("Malformed form body: {e}")))
    }
}

pub(super) fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("multipart/form-data"))
}

/// One part of a multipart body.
pub(super) struct Part {
    pub field: String,
    /// Set for file parts.
    pub file_name: Option<String>,
    pub bytes: axum::body::Bytes,
}

/// Every part of a multipart body, each at most `limit` bytes.
pub(super) async fn multipart(request: Request, limit: usize) -> Result<Vec<Part>, ApiError> {
    let malformed = |e: axum::extract::multipart::MultipartError| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            return crate::error::too_large();
        }
        ApiError::bad_request(format!("Malformed multipart body: {e}"))
    };
    let mut form = Multipart::from_request(request, &())
        .await
        .map_err(|e| ApiError::bad_request(format!("Malformed multipart body: {e}")))?;
    let mut parts = Vec::new();
    while let Some(field) = form.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let bytes = field.bytes().await.map_err(malformed)?;
        if bytes.len() > limit {
            return Err(ApiError::bad_request(format!(
                "The part {name:?} is larger than {} KiB",
                limit / 1024
            )));
        }
        parts.push(Part {
            field: name,
            file_name,
            bytes,
        });
    }
    Ok(parts)
}
