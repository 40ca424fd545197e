//! `GET /v1/devices` and `GET /v1/devices/{id}`: the devices claimed by the signed-in user.

use axum::{Json, extract::Path};
use serde_json::Value;

use crate::{
    auth::Caller,
    cloud::{Cloud, Device},
    error::ApiError,
    worlds::World,
};

pub(crate) async fn list(
    World(cloud): World,
    Caller(username): Caller,
) -> Result<Json<Vec<Value>>, ApiError> {
    let cloud = crate::lock(&cloud);
    Ok(Json(
        cloud
            .devices
            .iter()
            .filter(|device| device.owner == username)
            .map(Device::shown)
            .collect(),
    ))
}

pub(crate) async fn get(
    World(cloud): World,
    Path(id): Path<String>,
    Caller(username): Caller,
) -> Result<Json<Value>, ApiError> {
    let cloud = crate::lock(&cloud);
    Ok(Json(owned(&cloud, &id, &username)?.shown()))
}

/// The device with this id (or name) if the caller owns it: 404 unknown, 403 someone else's.
pub(super) fn owned<'a>(
    cloud: &'a Cloud,
    id: &str,
    username: &str,
) -> Result<&'a Device, ApiError> {
    // Particle also finds devices by name; ids are 24 hex digits.
    let device = cloud
        .devices
        .iter()
        .find(|device| device.id == id || (device.name == id && device.owner == username))
        .ok_or_else(|| ApiError::not_found(format!("Device {id} was not found")))?;
    if device.owner != username {
        return Err(ApiError::forbidden(format!(
            "Device {id} belongs to another user"
        )));
    }
    Ok(device)
}
