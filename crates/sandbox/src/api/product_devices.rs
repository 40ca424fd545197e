//! A product's devices: list (paginated), get, add (an id as JSON or form, or a multipart `file`
//! with one id or serial number per line), update (`name`, `notes`, `development`, `groups`,
//! `desired_firmware_version`) and remove.

use std::collections::HashMap;

use axum::{
    Json,
    body::Bytes,
    extract::{FromRequest, Path, Query, Request},
    http::{HeaderMap, StatusCode},
};
use serde_json::{Value, json};

use crate::{
    Shared,
    auth::{self, Caller},
    cloud::{Cloud, Device},
    error::ApiError,
    worlds::World,
};

/// Particle's default page size for product device lists.
const PER_PAGE: usize = 25;
/// The largest device import file accepted.
const MAX_IMPORT_BYTES: usize = 1024 * 1024;

type Ids = Path<(String, String)>;

/// The caller's product id for the path's product, or the error.
fn product(shared: &Shared, id: &str, username: &str) -> Result<(u32, u32), ApiError> {
    let cloud = crate::lock(shared);
    let product = super::products::owned(&cloud, id, username)?;
    Ok((product.id, product.platform_id))
}

/// The device `device` (id or name) of `product`, to change.
fn member<'a>(
    cloud: &'a mut Cloud,
    product: u32,
    device: &str,
) -> Result<&'a mut Device, ApiError> {
    let index = member_index(cloud, product, device)?;
    Ok(&mut cloud.devices[index])
}

/// Where the device `device` (id or name) of `product` is in the cloud's list.
fn member_index(cloud: &Cloud, product: u32, device: &str) -> Result<usize, ApiError> {
    cloud
        .devices
        .iter()
        .position(|d| d.product_id == product && (d.id == device || d.name == device))
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Device {device} was not found in product {product}"
            ))
        })
}

pub(crate) async fn list(
    World(shared): World,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    Caller(username): Caller,
) -> Result<Json<Value>, ApiError> {
    let (product, _) = product(&shared, &id, &username)?;
    let number = |name: &str, default: usize| -> Result<usize, ApiError> {
        query.get(name).map_or(Ok(default), |text| {
            text.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ApiError::bad_request(format!("{name} must be a positive number")))
        })
    };
    let (page, per_page) = (number("page", 1)?, number("per_page", PER_PAGE)?.min(100));
    let wanted_id = query.get("deviceId").map(|s| s.to_ascii_lowercase());
    let wanted_name = query.get("deviceName");
    let cloud = crate::lock(&shared);
    let members: Vec<&Device> = cloud
        .devices
        .iter()
        .filter(|d| d.product_id == product)
        .filter(|d| wanted_id.as_ref().is_none_or(|w| d.id.contains(w.as_str())))
        .filter(|d| wanted_name.is_none_or(|w| d.name.contains(w.as_str())))
        .collect();
    let total_pages = members.len().div_ceil(per_page).max(1);
    let devices: Vec<serde_json::Value> = members
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(Device::shown)
        .collect();
    Ok(Json(json!({
        "devices": devices,
        "customers": [],
        "meta": {"total_pages": total_pages},
    })))
}

pub(crate) async fn get(
    World(shared): World,
    Path((id, device)): Ids,
    Caller(username): Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (product, _) = product(&shared, &id, &username)?;
    // Read only: a lookup is no change to save.
    let cloud = crate::lock(&shared);
    let index = member_index(&cloud, product, &device)?;
    Ok(Json(cloud.devices[index].shown()))
}

pub(crate) async fn add(
    World(shared): World,
    Path(id): Path<String>,
    request: Request,
) -> Result<Json<Value>, ApiError> {
    let headers = request.headers().clone();
    let (username, _) = auth::caller(&shared, &headers, request.uri(), None)?;
    let (product, platform) = product(&shared, &id, &username)?;
    let from_file = super::is_multipart(&headers);
    let wanted: Vec<String> = if from_file {
        import_file(request).await?
    } else {
        let body = Bytes::from_request(request, &())
            .await
            .map_err(|e| ApiError::bad_request(format!("Unreadable body: {e}")))?;
        let fields = super::fields(&headers, &body)?;
        let id = fields
            .get("id")
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                ApiError::bad_request("Give the device to add as id, or a file of ids")
            })?;
        vec![id]
    };
    let mut cloud = crate::lock(&shared);
    let (mut updated, mut existing, mut invalid) = (Vec::new(), Vec::new(), Vec::new());
    for wanted in wanted {
        let device = cloud.devices.iter_mut().find(|d| {
            d.id.eq_ignore_ascii_case(&wanted) || d.serial_number.eq_ignore_ascii_case(&wanted)
        });
        match device {
            // Only the owner's devices join the owner's product: a product shows its devices'
            // events and lets its owner rename them, so anyone else's would be theirs to read
            // and change. One device asked for by id gets the 403 `GET /v1/devices/{id}` gives
            // (Particle answers a device the caller cannot act on 403 too, and the device's
            // existence is no secret there); an import reports it among the ids it could not use,
            // as it does an unknown one.
            Some(device) if device.owner != username => {
                if !from_file {
                    return Err(ApiError::forbidden(format!(
                        "Device {wanted} belongs to another user"
                    )));
                }
                invalid.push(wanted);
            }
            Some(device) if device.product_id == product => existing.push(device.id.clone()),
            Some(device) if device.platform_id == platform => {
                device.product_id = product;
                device.development = false;
                device.groups.clear();
                updated.push(device.id.clone());
            }
            _ => invalid.push(wanted),
        }
    }
    Ok(Json(json!({
        "updated": updated.len(),
        "updatedDeviceIds": updated,
        "existingDeviceIds": existing,
        "nonmemberDeviceIds": [],
        "invalidDeviceIds": invalid,
    })))
}

/// The ids in a multipart `file` field, one per line (the first column of a CSV line).
async fn import_file(request: Request) -> Result<Vec<String>, ApiError> {
    let parts = super::multipart(request, MAX_IMPORT_BYTES).await?;
    let file = parts
        .iter()
        .find(|p| p.field == "file")
        .ok_or_else(|| ApiError::bad_request("The multipart body has no file field"))?;
    let ids: Vec<String> = String::from_utf8_lossy(&file.bytes)
        .lines()
        .map(|line| line.split(',').next().unwrap_or_default().trim().to_owned())
        .filter(|id| !id.is_empty())
        .collect();
    if ids.is_empty() {
        return Err(ApiError::bad_request("The import file lists no devices"));
    }
    Ok(ids)
}

pub(crate) async fn update(
    World(shared): World,
    Path((id, device)): Ids,
    Caller(username): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let (product, _) = product(&shared, &id, &username)?;
    let fields = if super::is_json(&headers) {
        super::json_object(&body)?
    } else {
        super::fields(&headers, &body)?
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect()
    };
    let mut cloud = crate::lock(&shared);
    let device = member(&mut cloud, product, &device)?;
    let mut changed = device.clone();
    for (name, value) in &fields {
        match (name.as_str(), value) {
            ("name", Value::String(new)) => {
                let new = new.trim();
                if new.is_empty() || new.len() > 63 {
                    return Err(ApiError::bad_request(
                        "A device name has 1 to 63 characters",
                    ));
                }
                changed.name = new.to_owned();
            }
            ("notes", Value::String(notes)) => changed.notes = Some(notes.clone()),
            ("notes", Value::Null) => changed.notes = None,
            ("development", Value::Bool(on)) => changed.development = *on,
            ("development", Value::String(on)) if on == "true" || on == "false" => {
                changed.development = on == "true";
            }
            ("groups", Value::Array(groups)) => {
                changed.groups = groups
                    .iter()
                    .map(|g| g.as_str().map(str::to_owned))
                    .collect::<Option<_>>()
                    .ok_or_else(|| ApiError::bad_request("groups must be an array of names"))?;
            }
            ("desired_firmware_version", Value::Number(_) | Value::Null) => {}
            ("name" | "notes" | "development" | "groups" | "desired_firmware_version", other) => {
                return Err(ApiError::bad_request(format!("{name} cannot be {other}")));
            }
            _ => {}
        }
    }
    *device = changed;
    Ok(Json(json!({
        "id": device.id,
        "name": device.name,
        "notes": device.notes,
        "development": device.development,
        "groups": device.groups,
        "desired_firmware_version": Value::Null,
        "updated_at": webhook_demo_core::time::iso8601_millis(crate::events::now_ms()),
    })))
}

pub(crate) async fn remove(
    World(shared): World,
    Path((id, device)): Ids,
    Caller(username): Caller,
) -> Result<StatusCode, ApiError> {
    let (product, _) = product(&shared, &id, &username)?;
    let mut cloud = crate::lock(&shared);
    let device = member(&mut cloud, product, &device)?;
    device.product_id = device.platform_id;
    device.development = false;
    device.groups.clear();
    Ok(StatusCode::NO_CONTENT)
}
