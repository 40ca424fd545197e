//! `/_sim/…`: the sandbox's own control endpoints (no token; they exist only here). Reset to the
//! fixture, read the webhook requests the engine sent, click a device's MODE button, make a device
//! publish any event, take a device online or offline, and read a device's log (JSON, or a live
//! SSE stream).
//!
//! They need no token; `origin.rs` keeps other sites' pages away from them.

use std::sync::Arc;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use crate::{
    Shared,
    error::ApiError,
    sim::{self, Refusal},
};

pub(crate) async fn reset(State(shared): State<Shared>) -> Json<Value> {
    crate::reset(&shared);
    Json(json!({"ok": true}))
}

pub(crate) async fn webhooks(State(shared): State<Shared>) -> Json<Value> {
    let cloud = crate::lock(&shared);
    Json(json!({"webhooks": cloud.deliveries}))
}

fn refused(id: &str, refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::Unknown => ApiError::not_found(format!("Device {id} was not found")),
        Refusal::Offline => {
            ApiError::bad_request(format!("Device {id} is offline; take it online first"))
        }
        Refusal::NotDemoFirmware => ApiError::bad_request(format!(
            "Device {id} runs Tinker, which publishes nothing; flash the demo firmware first"
        )),
    }
}

pub(crate) async fn button(
    State(shared): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    sim::publish_reading(&shared, &id).map_err(|r| refused(&id, r))?;
    Ok(Json(json!({"ok": true})))
}

/// `POST /_sim/devices/{id}/publish` `{"name", "data"}`: the device publishes this event.
pub(crate) async fn publish(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let fields = super::json_object(&body)?;
    let expected = || ApiError::bad_request("Expected {\"name\": …, \"data\": …}");
    let name = fields
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(expected)?;
    let data = match fields.get("data") {
        None | Some(Value::Null) => "",
        Some(Value::String(data)) => data,
        Some(_) => return Err(expected()),
    };
    super::events::check_event(name, data)?;
    let name = name.trim();
    sim::publish_as(&shared, &id, name, data).map_err(|r| refused(&id, r))?;
    Ok(Json(json!({"ok": true})))
}

pub(crate) async fn online(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let online = super::json_object(&body)?
        .get("online")
        .and_then(Value::as_bool)
        .ok_or_else(|| ApiError::bad_request("Expected {\"online\": true or false}"))?;
    sim::set_online(&shared, &id, online).map_err(|r| refused(&id, r))?;
    Ok(Json(json!({"ok": true, "online": online})))
}

/// The device's log: `{"lines": [...]}`, or with `Accept: text/event-stream` the lines so far and
/// then each new one as an unnamed SSE message.
pub(crate) async fn log(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let live = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    // Subscribe before reading the history so no line falls between the two.
    let receiver = shared.events.logs.subscribe();
    let lines: Vec<String> = {
        let cloud = crate::lock(&shared);
        let device = cloud
            .devices
            .iter()
            .find(|d| d.id == id)
            .ok_or_else(|| ApiError::not_found(format!("Device {id} was not found")))?;
        device.sim.log.iter().cloned().collect()
    };
    if !live {
        return Ok(Json(json!({"lines": lines})).into_response());
    }
    let history = Bytes::from(lines.iter().map(|l| message(l)).collect::<String>());
    Ok(crate::sse::response(
        &shared,
        receiver,
        history,
        move |entry: &Arc<(String, String)>| {
            (entry.0 == id).then(|| Bytes::from(message(&entry.1)))
        },
    ))
}

/// One log line as an SSE message (a line never holds a newline, but be safe).
fn message(line: &str) -> String {
    let data: String = line.lines().map(|l| format!("data: {l}\n")).collect();
    format!("{data}\n")
}
