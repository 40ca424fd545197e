//! `/_sim/…`: the sandbox's own control endpoints (they exist only here). Reset to the fixture,
//! read the webhook requests the engine sent, click a device's MODE button, make a device publish
//! any event, take a device online or offline, read a device's log (JSON, or a live SSE
//! stream), and make the caller's event streams go silent for a while.
//!
//! On a learner's laptop they need no token; `origin.rs` keeps other sites' pages away from them.
//! On a public host they act only with a token, and only on what its user owns ([`Reach`]).
//! Publishing through them (a MODE click, a publish, going online) takes from the same publish
//! allowance as the API, so they are no way around its rate limit.

use std::{collections::HashSet, sync::Arc};

use axum::{
    Json,
    body::Bytes,
    extract::{FromRequestParts, Path},
    http::{HeaderMap, header, request::Parts},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use crate::{
    Root, Shared, auth,
    cloud::Cloud,
    error::ApiError,
    sim::{self, Refusal},
    sse,
    worlds::{World, Worlds},
};

/// What a `_sim` request may act on. The one place that decides it: every handler here asks it
/// which devices and deliveries the caller reaches and what a reset resets.
pub(crate) enum Reach {
    /// A learner's laptop: the sandbox is theirs, and its tools and tests need no token.
    Everything,
    /// A hosted sandbox of worlds: everything in the token's world (the request's world is the
    /// token's, `worlds.rs`), and nothing else. Publishes count against the token's allowance.
    World { token: String },
    /// A public host: what the token's user owns. Publishes count against the token's own
    /// allowance, as its API publishes do.
    Owner { user: String, token: String },
}

impl FromRequestParts<Root> for Reach {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, root: &Root) -> Result<Reach, ApiError> {
        let per_sign_in = matches!(&*root.worlds, Worlds::PerSignIn(_));
        if root.settings.public_host.is_none() && !per_sign_in {
            return Ok(Reach::Everything);
        }
        let World(shared) = World::from_request_parts(parts, root).await?;
        let (user, token) = auth::caller(&shared, &parts.headers, &parts.uri, None)?;
        Ok(if per_sign_in {
            Reach::World { token }
        } else {
            Reach::Owner { user, token }
        })
    }
}

impl Reach {
    /// The id of the device `id` names, with whose publish allowance it publishes; 404 unknown,
    /// and on a public host 403 for another user's (as `GET /v1/devices/{id}` answers).
    fn device(&self, cloud: &Cloud, id: &str) -> Result<(String, String), ApiError> {
        match self {
            Reach::Everything => cloud
                .devices
                .iter()
                .find(|d| d.id == id)
                .map(|d| (d.id.clone(), d.owner.clone()))
                .ok_or_else(|| refused(id, Refusal::Unknown)),
            Reach::World { token } => cloud
                .devices
                .iter()
                .find(|d| d.id == id)
                .map(|d| (d.id.clone(), token.clone()))
                .ok_or_else(|| refused(id, Refusal::Unknown)),
            Reach::Owner { user, token } => {
                let device = super::devices::owned(cloud, id, user)?;
                Ok((device.id.clone(), token.clone()))
            }
        }
    }

    /// Whose event streams a silence reaches: every stream of the world, or the user's.
    fn streams(&self) -> Option<String> {
        match self {
            Reach::Everything | Reach::World { .. } => None,
            Reach::Owner { user, .. } => Some(user.clone()),
        }
    }

    /// The integrations whose deliveries the caller may read (`None`: all of them).
    fn integrations<'a>(&self, cloud: &'a Cloud) -> Option<HashSet<&'a str>> {
        match self {
            Reach::Everything | Reach::World { .. } => None,
            Reach::Owner { user, .. } => Some(
                cloud
                    .integrations
                    .iter()
                    .filter(|i| i.owner == *user)
                    .map(|i| i.id.as_str())
                    .collect(),
            ),
        }
    }
}

pub(crate) async fn reset(World(shared): World, reach: Reach) -> Json<Value> {
    match reach {
        Reach::Everything | Reach::World { .. } => crate::reset(&shared),
        Reach::Owner { user, .. } => reset_owned(&mut crate::lock(&shared), &user),
    }
    Json(json!({"ok": true}))
}

/// Takes what `user` owns back to the fixture: their products and integrations (and those
/// integrations' deliveries) go, their binaries go, their devices are as the fixture has them.
/// Tokens and allowances stay: a reset neither signs anyone out nor refills a rate limit.
fn reset_owned(cloud: &mut Cloud, user: &str) {
    let products: HashSet<u32> = cloud
        .products
        .iter()
        .filter(|p| p.user == user)
        .map(|p| p.id)
        .collect();
    let gone: HashSet<String> = cloud
        .integrations
        .iter()
        .filter(|i| i.owner == user || i.product_id.is_some_and(|p| products.contains(&p)))
        .map(|i| i.id.clone())
        .collect();
    cloud.integrations.retain(|i| !gone.contains(&i.id));
    cloud.products.retain(|p| !products.contains(&p.id));
    cloud
        .deliveries
        .retain(|d| !gone.contains(&d.integration_id));
    cloud.delivery_bytes = cloud.deliveries.iter().map(|d| d.size()).sum();
    cloud.binaries.retain(|_, binary| binary.owner != user);
    let fixture = Cloud::fixture();
    for device in cloud.devices.iter_mut().filter(|d| d.owner == user) {
        if let Some(original) = fixture.devices.iter().find(|f| f.id == device.id) {
            *device = original.clone();
        }
    }
}

pub(crate) async fn webhooks(World(shared): World, reach: Reach) -> Json<Value> {
    let cloud = crate::lock(&shared);
    let readable = reach.integrations(&cloud);
    let shown: Vec<_> = cloud
        .deliveries
        .iter()
        .filter(|d| {
            readable
                .as_ref()
                .is_none_or(|ids| ids.contains(d.integration_id.as_str()))
        })
        .collect();
    Json(json!({"webhooks": shown}))
}

/// `POST /_sim/streams/silence` `{"seconds": N}`: the caller's event streams (every one of the
/// world on a laptop) send nothing for N seconds, at most `sse::MAX_SILENCE`: no keepalive, and
/// the events published meanwhile never reach them, as on a connection that stopped carrying
/// packets. Streams opened meanwhile are not silenced; `0` ends a silence.
pub(crate) async fn silence(
    World(shared): World,
    reach: Reach,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let most = sse::MAX_SILENCE.as_secs();
    let seconds = super::json_object(&body)?
        .get("seconds")
        .and_then(Value::as_u64)
        .filter(|seconds| *seconds <= most)
        .ok_or_else(|| ApiError::bad_request(format!("Expected {{\"seconds\": 0 to {most}}}")))?;
    let until = tokio::time::Instant::now() + std::time::Duration::from_secs(seconds);
    shared.silences.silence(reach.streams(), until);
    Ok(Json(json!({"ok": true, "seconds": seconds})))
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

/// The device `id` names, if the caller reaches it, with a publish taken from its allowance.
fn publishing(shared: &Shared, reach: &Reach, id: &str) -> Result<String, ApiError> {
    let (device, allowance) = reach.device(&crate::lock(shared), id)?;
    super::events::allow(shared, &allowance)?;
    Ok(device)
}

pub(crate) async fn button(
    World(shared): World,
    reach: Reach,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let device = publishing(&shared, &reach, &id)?;
    sim::publish_reading(&shared, &device).map_err(|r| refused(&id, r))?;
    Ok(Json(json!({"ok": true})))
}

/// `POST /_sim/devices/{id}/publish` `{"name", "data"}`: the device publishes this event.
pub(crate) async fn publish(
    World(shared): World,
    reach: Reach,
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
    let device = publishing(&shared, &reach, &id)?;
    sim::publish_as(&shared, &device, name, data).map_err(|r| refused(&id, r))?;
    Ok(Json(json!({"ok": true})))
}

pub(crate) async fn online(
    World(shared): World,
    reach: Reach,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let online = super::json_object(&body)?
        .get("online")
        .and_then(Value::as_bool)
        .ok_or_else(|| ApiError::bad_request("Expected {\"online\": true or false}"))?;
    // Connecting publishes (`spark/status` and the firmware's first reading), so it takes from
    // the allowance; disconnecting does not.
    let device = if online {
        publishing(&shared, &reach, &id)?
    } else {
        reach.device(&crate::lock(&shared), &id)?.0
    };
    sim::set_online(&shared, &device, online).map_err(|r| refused(&id, r))?;
    Ok(Json(json!({"ok": true, "online": online})))
}

/// The device's log: `{"lines": [...]}`, or with `Accept: text/event-stream` the lines so far and
/// then each new one as an unnamed SSE message.
pub(crate) async fn log(
    World(shared): World,
    reach: Reach,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let live = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    // Subscribe before reading the history so no line falls between the two.
    let receiver = shared.events.logs();
    let lines: Vec<String> = {
        let cloud = crate::lock(&shared);
        let (device, _) = reach.device(&cloud, &id)?;
        cloud
            .devices
            .iter()
            .find(|d| d.id == device)
            .map(|d| d.sim.log.iter().cloned().collect())
            .unwrap_or_default()
    };
    if !live {
        return Ok(Json(json!({"lines": lines})).into_response());
    }
    let history = Bytes::from(lines.iter().map(|l| sse::message(l)).collect::<String>());
    Ok(sse::response(
        &shared,
        receiver,
        history,
        None,
        move |entry: &Arc<(String, String)>| {
            (entry.0 == id).then(|| Bytes::from(sse::message(&entry.1)))
        },
    ))
}
