//! The legacy webhook API particle-cli's `webhook` commands use: `GET`/`POST /v1/webhooks`,
//! `GET`/`DELETE /v1/webhooks/:id`, and the same under `/v1/products/:id/webhooks`.
//!
//! A legacy webhook is an integration like any other: it is stored with them (`integrations.rs`),
//! listed by `/v1/integrations` too, and fired by the same engine. Only the shapes differ:
//! `deviceID` rather than `deviceid`, no `integration_type`, `ok: true` on the answers that
//! particle-cli checks, and `GET /v1/webhooks/:id` wraps the hook as `{ok, webhook}`. Particle's
//! legacy `GET` of one hook also sent it a test request; the sandbox does not.

use axum::{Json, body::Bytes};
use serde_json::{Value, json};

use super::integrations::{self, Scope};
use crate::{cloud::Integration, error::ApiError, worlds::World};

/// A webhook as the legacy API shows it.
fn legacy(integration: &Integration) -> Value {
    let mut shown = integration.raw.clone();
    shown.remove("deviceid");
    shown.remove("deviceID");
    if let Some(device) = &integration.settings.device_id {
        shown.insert("deviceID".to_owned(), device.clone().into());
    }
    shown.insert("id".to_owned(), integration.id.clone().into());
    shown.insert(
        "created_at".to_owned(),
        integration.created_at.clone().into(),
    );
    match integration.product_id {
        Some(product) => shown.insert("product_id".to_owned(), product.into()),
        // A user's webhook fires for that user's own devices only.
        None => shown.insert("mydevices".to_owned(), true.into()),
    };
    Value::Object(shown)
}

pub(crate) async fn list(World(shared): World, scope: Scope) -> Result<Json<Value>, ApiError> {
    Ok(Json(integrations::in_scope(&shared, &scope, legacy)))
}

pub(crate) async fn create(
    World(shared): World,
    scope: Scope,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut created = legacy(&integrations::add(&shared, scope, &body)?);
    created["ok"] = true.into();
    Ok(Json(created))
}

pub(crate) async fn get(World(shared): World, scope: Scope) -> Result<Json<Value>, ApiError> {
    let mut cloud = crate::lock(&shared);
    Ok(Json(
        json!({"ok": true, "webhook": legacy(scope.find(&mut cloud)?)}),
    ))
}

pub(crate) async fn delete(World(shared): World, scope: Scope) -> Result<Json<Value>, ApiError> {
    integrations::remove(&shared, &scope)?;
    // particle-cli reports the deletion only on `ok`; after a bodiless 204 it says nothing.
    Ok(Json(json!({"ok": true})))
}
