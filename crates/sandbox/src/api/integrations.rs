//! Webhook integrations: list, create, get, edit and delete, for a product
//! (`/v1/products/:id/integrations[/:integration]`) and for the user (`/v1/integrations[/:id]`).
//! The stored object echoes the configuration it was given, plus `id`, `created_at` and
//! `integration_type`.

use std::collections::HashMap;

use axum::{
    Json,
    body::Bytes,
    extract::{FromRequestParts, OptionalFromRequestParts, Path},
    http::{StatusCode, request::Parts},
};
use serde_json::{Map, Value};
use webhook_demo_core::{
    time::iso8601_millis,
    webhook::{self, WebhookSettings},
};

use crate::{
    Root, Shared,
    auth::Caller,
    cloud::{Cloud, Integration, random_hex},
    error::ApiError,
    events::now_ms,
    worlds::World,
};

/// Where an integration lives: a product's, or the caller's own.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Owner {
    Product(u32),
    User,
}

/// What every handler here starts from: the caller, whose integrations the path names (a
/// product's, checked to be the caller's, or the caller's own), and the path's parameters.
pub(crate) struct Scope {
    username: String,
    owner: Owner,
    /// `id` (the product) when there is one, and `integration`.
    params: HashMap<String, String>,
}

impl FromRequestParts<Root> for Scope {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, root: &Root) -> Result<Scope, ApiError> {
        let World(shared) = World::from_request_parts(parts, root).await?;
        let shared = &shared;
        // Routes without parameters (`/v1/integrations`) have no path to extract.
        let params =
            <Path<HashMap<String, String>> as OptionalFromRequestParts<Root>>::from_request_parts(
                parts, root,
            )
            .await
            .map_err(|rejection| ApiError::bad_request(rejection.body_text()))?
            .map(|Path(params)| params)
            .unwrap_or_default();
        let Caller(username) = Caller::from_request_parts(parts, root).await?;
        let owner = match params.get("id") {
            Some(id) => {
                Owner::Product(super::products::owned(&crate::lock(shared), id, &username)?.id)
            }
            None => Owner::User,
        };
        Ok(Scope {
            username,
            owner,
            params,
        })
    }
}

impl Scope {
    fn holds(&self, integration: &Integration) -> bool {
        match self.owner {
            Owner::Product(id) => integration.product_id == Some(id),
            Owner::User => integration.product_id.is_none() && integration.owner == self.username,
        }
    }

    /// The integration the path names, when it is in this scope.
    pub(super) fn find<'a>(&self, cloud: &'a mut Cloud) -> Result<&'a mut Integration, ApiError> {
        let id = self.params.get("integration").cloned().unwrap_or_default();
        cloud
            .integrations
            .iter_mut()
            .find(|i| i.id == id && self.holds(i))
            .ok_or_else(|| ApiError::not_found(format!("Integration {id} was not found")))
    }
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

/// The largest configuration an integration may have. Particle's own are a few hundred bytes;
/// every integration is kept, listed and rendered at each delivery, so size is memory and time.
const MAX_CONFIGURATION_BYTES: usize = 64 * 1024;
/// Integrations one product (or one user's own list) may hold.
const MAX_INTEGRATIONS: usize = 100;

/// The configuration in a create or edit body, checked.
fn configuration(body: &[u8]) -> Result<(Map<String, Value>, WebhookSettings), ApiError> {
    if body.len() > MAX_CONFIGURATION_BYTES {
        return Err(ApiError::bad_request(format!(
            "Webhook settings are at most {MAX_CONFIGURATION_BYTES} bytes"
        )));
    }
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
    // A template that cannot parse (one nested past the limit, say) would fail every delivery.
    webhook::check_templates(&settings)
        .map_err(|error| ApiError::bad_request(format!("Invalid webhook {error}")))?;
    Ok((raw, settings))
}

/// Whether `username` may hold `size` more bytes of settings (in place of integration `replacing`,
/// on an edit): the account's count and bytes, and the sandbox's, within `Limits`.
fn room(
    shared: &Shared,
    cloud: &Cloud,
    username: &str,
    replacing: Option<&str>,
    size: usize,
) -> Result<(), ApiError> {
    let limits = &shared.settings.limits;
    let others = || {
        cloud
            .integrations
            .iter()
            .filter(|i| Some(i.id.as_str()) != replacing)
    };
    let (mine, my_bytes) = others()
        .filter(|i| i.owner == username)
        .fold((0, 0), |(count, bytes), i| (count + 1, bytes + i.size));
    if mine >= limits.integrations_per_user {
        return Err(ApiError::bad_request(format!(
            "An account holds at most {} integrations; delete one first",
            limits.integrations_per_user
        )));
    }
    if my_bytes + size > limits.integration_bytes_per_user {
        return Err(ApiError::bad_request(format!(
            "An account holds at most {} KiB of integration settings, and this one would take \
             it past that; delete one or make them smaller",
            limits.integration_bytes_per_user / 1024
        )));
    }
    // Every world's integrations and logs share one budget on a hosted sandbox.
    if cloud.bounds.exceeded_by(size) {
        return Err(crate::worlds::full());
    }
    let (all, all_bytes) = others().fold((0, 0), |(count, bytes), i| (count + 1, bytes + i.size));
    if all >= limits.integrations || all_bytes + size > limits.integration_bytes {
        return Err(ApiError::unavailable(
            "The sandbox holds as many integrations as it can; try again later",
        ));
    }
    Ok(())
}

pub(crate) async fn list(World(shared): World, scope: Scope) -> Result<Json<Value>, ApiError> {
    Ok(Json(in_scope(&shared, &scope, shown)))
}

/// The integrations in the scope, each as `show` shows it.
pub(super) fn in_scope(shared: &Shared, scope: &Scope, show: fn(&Integration) -> Value) -> Value {
    let cloud = crate::lock(shared);
    Value::Array(
        cloud
            .integrations
            .iter()
            .filter(|i| scope.holds(i))
            .map(show)
            .collect(),
    )
}

pub(crate) async fn create(
    World(shared): World,
    scope: Scope,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(shown(&add(&shared, scope, &body)?)))
}

/// Stores a new integration in the scope with the configuration the body gives; the legacy
/// webhook endpoints (`webhooks.rs`) create theirs here too, so both lists show it and the
/// engine fires it like any other.
pub(super) fn add(shared: &Shared, scope: Scope, body: &[u8]) -> Result<Integration, ApiError> {
    let (raw, settings) = configuration(body)?;
    let mut cloud = crate::lock(shared);
    if cloud.integrations.iter().filter(|i| scope.holds(i)).count() >= MAX_INTEGRATIONS {
        return Err(ApiError::bad_request(format!(
            "A product (or an account's own list) holds at most {MAX_INTEGRATIONS} integrations; \
             delete one first"
        )));
    }
    room(shared, &cloud, &scope.username, None, body.len())?;
    let integration = Integration {
        id: random_hex(12),
        size: body.len(),
        product_id: match scope.owner {
            Owner::Product(id) => Some(id),
            Owner::User => None,
        },
        owner: scope.username,
        created_at: iso8601_millis(now_ms()),
        raw,
        settings,
    };
    cloud.integrations.push(integration.clone());
    Ok(integration)
}

pub(crate) async fn get(World(shared): World, scope: Scope) -> Result<Json<Value>, ApiError> {
    let mut cloud = crate::lock(&shared);
    Ok(Json(shown(scope.find(&mut cloud)?)))
}

pub(crate) async fn edit(
    World(shared): World,
    scope: Scope,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let (raw, settings) = configuration(&body)?;
    let mut cloud = crate::lock(&shared);
    let id = scope.find(&mut cloud)?.id.clone();
    room(&shared, &cloud, &scope.username, Some(&id), body.len())?;
    let integration = scope.find(&mut cloud)?;
    integration.size = body.len();
    integration.raw = raw;
    integration.settings = settings;
    Ok(Json(shown(integration)))
}

pub(crate) async fn delete(World(shared): World, scope: Scope) -> Result<StatusCode, ApiError> {
    remove(&shared, &scope)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes the integration the path names.
pub(super) fn remove(shared: &Shared, scope: &Scope) -> Result<(), ApiError> {
    let mut cloud = crate::lock(shared);
    let id = scope.find(&mut cloud)?.id.clone();
    cloud.integrations.retain(|i| i.id != id);
    Ok(())
}
