//! A device's cloud functions and variables: `POST /v1/devices/:id/:function` (the argument in
//! `arg` or `args`, form or JSON) runs a function the device's firmware registers and answers
//! `{id, name, connected, return_value}`; `GET /v1/devices/:id/:variable` reads a variable the
//! firmware registers and answers Particle's `{cmd: "VarReturn", name, result, coreInfo}`
//! (particle-cli prints `result`, and `coreInfo.deviceID` when it reads several devices). The
//! demo firmware registers `WebhookDemo01`; Tinker registers none. A variable the firmware does
//! not register answers as Particle does, 404 `Unknown Variable: <name>`.
//!
//! These calls fail in Particle's device-call shape, `{"ok": false, "error": …}` (particle-cli
//! prints `error`), with `error_description` saying it for people as the sandbox's other errors
//! do.

use axum::{
    Json,
    body::Bytes,
    extract::Path,
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};
use webhook_demo_core::time::iso8601_millis;

use crate::{
    auth::{self, Caller},
    cloud::{Device, firmware_facts},
    error::ApiError,
    sim,
    worlds::World,
};

type Names = Path<(String, String)>;

pub(crate) async fn call(
    World(shared): World,
    Path((id, function)): Names,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response, ApiError> {
    let fields = super::fields(&headers, &body)?;
    let (username, _) = auth::caller(&shared, &headers, &uri, Some(&fields))?;
    // Particle takes the argument as `arg` (its docs, particle-cli's own requests) or `args`
    // (particle-api-js, and so `particle call`).
    let arg = fields
        .get("arg")
        .or_else(|| fields.get("args"))
        .map_or("", String::as_str);
    let cloud = crate::lock(&shared);
    let device = super::devices::owned(&cloud, &id, &username)?;
    if !device.online {
        return Ok(offline(device));
    }
    Ok(match sim::run_function(device, &function, arg) {
        Some(value) => Json(json!({
            "id": device.id,
            "name": device.name,
            "connected": true,
            "return_value": value,
        }))
        .into_response(),
        // The status particle-cli reads as "Function call failed: Function … not found".
        None => failed(
            StatusCode::NOT_FOUND,
            "Function not found",
            format!(
                "{} registers no function {function:?}; it has {}",
                device.name,
                registered(device)
            ),
        ),
    })
}

pub(crate) async fn variable(
    World(shared): World,
    Path((id, variable)): Names,
    Caller(username): Caller,
) -> Result<Response, ApiError> {
    let cloud = crate::lock(&shared);
    let device = super::devices::owned(&cloud, &id, &username)?;
    if !device.online {
        return Ok(offline(device));
    }
    Ok(match sim::read_variable(device, &variable) {
        Some(value) => Json(json!({
            "cmd": "VarReturn",
            "name": variable,
            "result": value,
            "coreInfo": {
                "name": device.name,
                "deviceID": device.id,
                "connected": true,
                "last_handshake_at": device.sim.handshake_ms.map(iso8601_millis),
                "last_app": "",
            },
        }))
        .into_response(),
        None => failed(
            StatusCode::NOT_FOUND,
            &format!("Unknown Variable: {variable}"),
            format!(
                "{} registers no cloud variable {variable:?}; it has {}",
                device.name,
                in_words(
                    firmware_facts::variables(&device.sim)
                        .iter()
                        .map(|(name, _)| *name)
                )
            ),
        ),
    })
}

/// The functions a device's firmware registers, in words.
fn registered(device: &Device) -> String {
    in_words(firmware_facts::functions(&device.sim).iter().copied())
}

/// Registered names, in words.
fn in_words<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

/// A call to a device that is not connected. Particle answers it 400, which particle-cli reports
/// with the body's words; its 404 would read "Function … not found" (particle-cli pull request
/// 587, "function-call-error-message", made the offline case say why).
fn offline(device: &Device) -> Response {
    failed(
        StatusCode::BAD_REQUEST,
        "Device is offline",
        format!(
            "{} is offline: the cloud reaches a device's functions and variables only while it \
             is connected",
            device.name
        ),
    )
}

fn failed(status: StatusCode, error: &str, description: String) -> Response {
    let body: Value = json!({"ok": false, "error": error, "error_description": description});
    (status, Json(body)).into_response()
}
