//! Webhook integrations: list, create, get, edit and delete, for a product
//! (`/v1/products/:id/integrations[/:integration]`) and for the user (`/v1/integrations[/:id]`).
//! The stored object echoes the configuration it was given, plus `id`, `created_at` and
//! `integration_type`.

use std::collections::HashMap;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, Uri},
};
use serde_json::{Map, Value};
use webhook_demo_core::{time::iso8601_millis, webhook::WebhookSettings};

use crate::{
    Shared, auth,
    cloud::{Cloud, Integration, random_hex},
    error::ApiError,
    events::now_ms,
};

/// Where an integration lives: a product's, or the caller's own.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Owner {
    Product(u32),
    User,
}

/// The path's parameters: `id` (the product) when there is one, and `integration`.
type Params = Option<Path<HashMap<String, String>>>;

fn params(path: Params) -> HashMap<String, String> {
    path.map(|Path(params)| params).unwrap_or_default()
}

/// The caller and which integrations the path names (checking the product is theirs).
fn scope(
    shared: &Shared,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
    uri: &Uri,
) -> Result<(String, Owner), ApiError> {
    let (username, _) = auth::caller(shared, headers, uri, None)?;
    let owner = match params.get("id") {
        Some(id) => Owner::Product(super::products::owned(&crate::lock(shared), id, &username)?.id),
        None => Owner::User,
    };
    Ok((username, owner))
}

fn belongs(integration: &Integration, username: &str, owner: Owner) -> bool {
    match owner {
        Owner::Product(id) => integration.product_id == Some(id),
        Owner::User => integration.product_id.is_none() && integration.owner == username,
    }
}

fn find<'a>(
    cloud: &'a mut Cloud,
    params: &HashMap<String, String>,
    username: &str,
    owner: Owner,
) -> Result<&'a mut Integration, ApiError> {
    let id = params.get("integration").cloned().unwrap_or_default();
    cloud
        .integrations
        .iter_mut()
        .find(|i| i.id == id && belongs(i, username, owner))
        .ok_or_else(|| ApiError::not_found(format!("Integration {id} was not found")))
}

/// The object the API shows for an integration.
fn shown(integration: &Integration) -> Value {
    let mut shown = integration.raw.clone();
    shown.insert("id".to_owned(), integration.id.clone().into());
    shown.insert(
        "created_at".to_owned(),
        integration.created_at.clone().into(),
    );
    shown.insert("integration_type".to_owned(), "Webhook".into());
    if let Some(product) = integration.product_id {
        shown.insert("product_id".to_owned(), product.into());
    }
    Value::Object(shown)
}

/// The configuration in a create or edit body, checked.
fn configuration(body: &[u8]) -> Result<(Map<String, Value>, WebhookSettings), ApiError> {
    let mut raw = super::json_object(body)?;
    for added in ["id", "created_at", "product_id"] {
        raw.remove(added);
    }
    match raw.get("integration_type") {
        None => {}
        Some(Value::String(kind)) if kind == "Webhook" => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "integration_type {other} is not emulated by the sandbox; use \"Webhook\""
            )));
        }
    }
    raw.remove("integration_type");
    let settings: WebhookSettings = serde_json::from_value(Value::Object(raw.clone()))
        .map_err(|e| ApiError::bad_request(format!("Invalid webhook settings: {e}")))?;
    if settings.event.trim().is_empty() {
        return Err(ApiError::bad_request("The event parameter is required"));
    }
    if !(settings.url.starts_with("http://") || settings.url.starts_with("https://")) {
        return Err(ApiError::bad_request(
            "The url parameter must be an http:// or https:// URL",
        ));
    }
    if let Some(method) = &settings.request_type {
        if !["GET", "POST", "PUT", "DELETE"].contains(&method.to_ascii_uppercase().as_str()) {
            return Err(ApiError::bad_request(format!(
                "requestType must be GET, POST, PUT or DELETE, not {method:?}"
            )));
        }
    }
    let bodies = [
        settings.json.is_some(),
        settings.form.is_some(),
        settings.body.is_some(),
    ];
    if bodies.into_iter().filter(|b| *b).count() > 1 {
        return Err(ApiError::bad_request(
            "Give at most one of json, form and body",
        ));
    }
    Ok((raw, settings))
}

pub(crate) async fn list(
    State(shared): State<Shared>,
    path: Params,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let params = params(path);
    let (username, owner) = scope(&shared, &params, &headers, &uri)?;
    let cloud = crate::lock(&shared);
    Ok(Json(Value::Array(
        cloud
            .integrations
            .iter()
            .filter(|i| belongs(i, &username, owner))
            .map(shown)
            .collect(),
    )))
}

pub(crate) async fn create(
    State(shared): State<Shared>,
    path: Params,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let params = params(path);
    let (username, owner) = scope(&shared, &params, &headers, &uri)?;
    let (raw, settings) = configuration(&body)?;
    let integration = Integration {
        id: random_hex(12),
        product_id: match owner {
            Owner::Product(id) => Some(id),
            Owner::User => None,
        },
        owner: username,
        created_at: iso8601_millis(now_ms()),
        raw,
        settings,
    };
    let reply = shown(&integration);
    crate::lock(&shared).integrations.push(integration);
    Ok(Json(reply))
}

pub(crate) async fn get(
    State(shared): State<Shared>,
    path: Params,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let params = params(path);
    let (username, owner) = scope(&shared, &params, &headers, &uri)?;
    let mut cloud = crate::lock(&shared);
    Ok(Json(shown(find(&mut cloud, &params, &username, owner)?)))
}

pub(crate) async fn edit(
    State(shared): State<Shared>,
    path: Params,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let params = params(path);
    let (username, owner) = scope(&shared, &params, &headers, &uri)?;
    let (raw, settings) = configuration(&body)?;
    let mut cloud = crate::lock(&shared);
    let integration = find(&mut cloud, &params, &username, owner)?;
    integration.raw = raw;
    integration.settings = settings;
    Ok(Json(shown(integration)))
}

pub(crate) async fn delete(
    State(shared): State<Shared>,
    path: Params,
    headers: HeaderMap,
    uri: Uri,
) -> Result<StatusCode, ApiError> {
    let params = params(path);
    let (username, owner) = scope(&shared, &params, &headers, &uri)?;
    let mut cloud = crate::lock(&shared);
    let id = find(&mut cloud, &params, &username, owner)?.id.clone();
    cloud.integrations.retain(|i| i.id != id);
    Ok(StatusCode::NO_CONTENT)
}
