//! The Particle Cloud API client: every request the page makes to the real cloud or the sandbox.
//!
//! The learner's token goes in the `Authorization` header, built in one place ([`authorization`]),
//! and never into a URL. Replies are parsed once into a `serde_json::Value` and read with
//! `core::wire`'s small readers (ARCHITECTURE.md: derived decoders cost the page kilobytes each);
//! the JSON bodies it sends are `Serialize` structs (355 bytes of the page in brotli, against
//! building them as `serde_json::Value`s). Every failure becomes an `ApiFailure` the learner's
//! panel can describe.

use gloo_net::http::Response;
use serde::Serialize;
use serde_json::Value;
use wasm_bindgen::JsValue;
use web_sys::{Blob, FormData};
use webhook_demo_core::wire::{self, ApiErrorBody, Product};

use super::fetch::{self, Request};
use crate::{
    cleanup::{self, Body, CleanupStep, OtherIntegration},
    demo::webhook::find_webhook,
    failure::{ApiFailure, describe},
};

/// The `Authorization` header's value for `token`: the only way the token leaves the page.
pub(super) fn authorization(token: &str) -> String {
    format!("Bearer {token}")
}

/// A reply's status and its JSON (`null` for `204 No Content`).
type Reply = (u16, Value);

/// Sends a request to the API, with the token when given, and parses its JSON reply; Particle's
/// error (or the network's) as an `ApiFailure`.
async fn call(
    method: &str,
    url: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Option<&JsValue>,
) -> Result<Reply, ApiFailure> {
    let authorization = token.map(authorization);
    let mut headers = Vec::with_capacity(2);
    if let Some(authorization) = &authorization {
        headers.push(("Authorization", authorization.as_str()));
    }
    if let Some(content_type) = content_type {
        headers.push(("Content-Type", content_type));
    }
    let request = Request {
        method,
        url,
        headers: &headers,
        body,
        signal: None,
    };
    let response = fetch::send(&request).await.map_err(unreachable)?;
    let status = response.status();
    if !response.ok() {
        let body = json_of(&response).await.unwrap_or(Value::Null);
        let error = ApiErrorBody::from_json(&body);
        return Err(ApiFailure {
            status,
            error: error.error,
            description: error.error_description,
            mfa_token: error.mfa_token,
        });
    }
    let value = if status == 204 {
        Value::Null
    } else {
        json_of(&response).await.map_err(unreachable)?
    };
    Ok((status, value))
}

async fn json_of(response: &Response) -> Result<Value, String> {
    let text = fetch::text(response).await?;
    // Where the JSON broke would tell the learner nothing, and formatting serde_json's errors
    // would cost the page a kilobyte.
    serde_json::from_str(&text).map_err(|_| "the answer was not JSON".to_owned())
}

/// `GET {base}{path}` with the token.
async fn get(base: &str, path: &str, token: &str) -> Result<Reply, ApiFailure> {
    call("GET", &format!("{base}{path}"), Some(token), None, None).await
}

/// `method {base}{path}` with the token and a JSON body (or none).
async fn send_json(
    method: &str,
    base: &str,
    path: &str,
    token: &str,
    body: Option<&str>,
) -> Result<Reply, ApiFailure> {
    let body = body.map(JsValue::from_str);
    let content_type = body.is_some().then_some("application/json");
    call(
        method,
        &format!("{base}{path}"),
        Some(token),
        content_type,
        body.as_ref(),
    )
    .await
}

/// What `read` finds in a reply; a reply of another shape is a failure too.
fn read<T>(reply: Reply, read: fn(&Value) -> Option<T>) -> Result<T, ApiFailure> {
    let (status, value) = reply;
    read(&value).ok_or_else(|| unexpected(status))
}

fn unexpected(status: u16) -> ApiFailure {
    ApiFailure {
        status,
        error: "unexpected_reply".into(),
        description: "The cloud's answer was not in the shape this tutorial expects".into(),
        mfa_token: None,
    }
}

fn unreachable(description: String) -> ApiFailure {
    ApiFailure {
        status: 0,
        error: "network".into(),
        description,
        mfa_token: None,
    }
}

/// `POST {base}/oauth/token` as Particle's own web tools do: form-encoded, client `particle`.
pub(super) async fn request_token(
    base: &str,
    fields: &[(&str, &str)],
) -> Result<String, ApiFailure> {
    let mut form = String::from("client_id=particle&client_secret=particle");
    for (name, value) in fields {
        form.push_str(&format!("&{name}={}", js_sys::encode_uri_component(value)));
    }
    let url = format!("{base}/oauth/token");
    let content_type = Some("application/x-www-form-urlencoded");
    let reply = call("POST", &url, None, content_type, Some(&form.into())).await?;
    read(reply, wire::access_token)
}

/// `DELETE {base}/v1/access_tokens/current`: best effort, the learner is signed out either way.
pub(super) async fn revoke(base: &str, token: &str) {
    let _ = send_json("DELETE", base, "/v1/access_tokens/current", token, None).await;
}

/// `GET {base}/v1/user`: whose the token is.
pub(super) async fn user_name(base: &str, token: &str) -> Result<String, ApiFailure> {
    read(get(base, "/v1/user", token).await?, wire::user_name)
}

pub(super) async fn devices(base: &str, token: &str) -> Result<Vec<wire::Device>, ApiFailure> {
    read(
        get(base, "/v1/devices", token).await?,
        wire::Device::list_from_json,
    )
}

pub(super) async fn products(base: &str, token: &str) -> Result<Vec<Product>, ApiFailure> {
    read(
        get(base, "/v1/user/products", token).await?,
        Product::list_from_json,
    )
}

/// The body creating a product: `{"product": {"name", "platform_id"}}`.
#[derive(Serialize)]
struct NewProduct<'a> {
    product: ProductFields<'a>,
}

#[derive(Serialize)]
struct ProductFields<'a> {
    name: &'a str,
    platform_id: u32,
}

/// The body adding a device to a product.
#[derive(Serialize)]
struct DeviceId<'a> {
    id: &'a str,
}

/// The body publishing an event.
#[derive(Serialize)]
struct Event<'a> {
    name: &'a str,
    data: &'a str,
}

/// `body` as JSON text. Strings and numbers always serialize, so the error is never seen (and
/// not unwrapped: a panic's message would bring serde_json's error formatting into the page).
fn json(body: &impl Serialize) -> String {
    serde_json::to_string(body).unwrap_or_default()
}

/// `POST {base}/v1/user/products` with `{"product": {"name", "platform_id"}}`.
pub(super) async fn create_product(
    base: &str,
    token: &str,
    name: &str,
    platform_id: u32,
) -> Result<Product, ApiFailure> {
    let body = json(&NewProduct {
        product: ProductFields { name, platform_id },
    });
    let reply = send_json("POST", base, "/v1/user/products", token, Some(&body)).await?;
    read(reply, Product::created_from_json)
}

/// `POST {base}/v1/products/{product_id}/devices` with `{"id": device_id}`: how many devices moved.
pub(super) async fn add_device(
    base: &str,
    token: &str,
    product_id: u32,
    device_id: &str,
) -> Result<u32, ApiFailure> {
    let path = format!("/v1/products/{product_id}/devices");
    let body = json(&DeviceId { id: device_id });
    let reply = send_json("POST", base, &path, token, Some(&body)).await?;
    read(reply, wire::devices_added)
}

/// Creates the demo's webhook in the product, or updates it when one exists: its integration id.
pub(super) async fn save_webhook(
    base: &str,
    token: &str,
    product_id: u32,
    settings: &str,
) -> Result<String, ApiFailure> {
    let path = format!("/v1/products/{product_id}/integrations");
    let existing = find_webhook(&get(base, &path, token).await?.1);
    let read_id = |reply: &Value| reply.get("id")?.as_str().map(str::to_owned);
    let reply = match existing {
        Some(id) => send_json("PUT", base, &format!("{path}/{id}"), token, Some(settings)).await?,
        None => send_json("POST", base, &path, token, Some(settings)).await?,
    };
    read(reply, read_id)
}

/// `POST {base}/v1/products/{product_id}/events`: the event, as a device would publish it.
pub(super) async fn publish(
    base: &str,
    token: &str,
    product_id: u32,
    name: &str,
    data: &str,
) -> Result<(), ApiFailure> {
    let path = format!("/v1/products/{product_id}/events");
    let body = json(&Event { name, data });
    send_json("POST", base, &path, token, Some(&body))
        .await
        .map(drop)
}

/// The product's integrations other than the demo's webhook, which cleanup lists before asking.
pub(super) async fn other_integrations(
    base: &str,
    token: &str,
    product_id: u32,
) -> Result<Vec<OtherIntegration>, ApiFailure> {
    let path = format!("/v1/products/{product_id}/integrations");
    read(get(base, &path, token).await?, cleanup::others)
}

/// One cleanup step: what it lists first, then each request it sends (`CleanupStep` decides
/// both), in order, stopping at the first failure; what is gone already counts as removed.
/// What the step leaves for the learner to do by hand, when it is done.
pub(super) async fn clean(
    base: &str,
    token: &str,
    product_id: u32,
    step: CleanupStep,
) -> Result<Vec<String>, ApiFailure> {
    let (status, listed) = match step.listing(product_id) {
        Some(path) => get(base, &path, token).await?,
        None => (0, Value::Null),
    };
    let plan = step
        .plan(product_id, &listed)
        .ok_or_else(|| unexpected(status))?;
    for call in plan.calls {
        let method = call.method.as_str();
        let sent = match &call.body {
            Body::None => send_json(method, base, &call.path, token, None).await,
            Body::Json(json) => send_json(method, base, &call.path, token, Some(json)).await,
            Body::Binary(file) => send_binary(method, base, &call.path, token, file).await,
        };
        match sent {
            Ok(_) => {}
            Err(failure) if call.done_by(failure.status) => {}
            Err(failure) => return Err(failure),
        }
    }
    Ok(plan.notes)
}

/// `method {base}{path}` with the page's own `file` (a Tinker binary) as the multipart field
/// `file` and `file_type=binary`, as particle-api-js's `flashDevice` and Particle's OTA guide
/// send a binary.
async fn send_binary(
    method: &str,
    base: &str,
    path: &str,
    token: &str,
    file: &str,
) -> Result<Reply, ApiFailure> {
    // From the page's own server, without the token.
    let response = fetch::send(&Request::get(file))
        .await
        .map_err(unreachable)?;
    if !response.ok() {
        return Err(ApiFailure {
            status: 0,
            error: "no_binary".into(),
            description: format!(
                "This server has no {file} (HTTP {}): build the page with `cargo xtask build`, \
                 which fetches Particle's Tinker binaries",
                response.status()
            ),
            mfa_token: None,
        });
    }
    let bytes = response
        .binary()
        .await
        .map_err(|_| unreachable(format!("{file} could not be read")))?;
    let form =
        FormData::new().map_err(|_| unreachable("The browser cannot build a form.".into()))?;
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes.as_slice()));
    let blob = Blob::new_with_u8_array_sequence(&parts)
        .map_err(|_| unreachable("The browser cannot hold the binary.".into()))?;
    let name = file.rsplit('/').next().unwrap_or(file);
    let appended = form
        .append_with_blob_and_filename("file", &blob, name)
        .and_then(|()| form.append_with_str("file_type", "binary"));
    appended.map_err(|_| unreachable("The browser cannot build a form.".into()))?;
    call(
        method,
        &format!("{base}{path}"),
        Some(token),
        None,
        Some(&form),
    )
    .await
}

/// `PUT {base}/v1/devices/{id}` with the sources as multipart files, as the CLI sends them: what the
/// cloud said, or the compiler's error lines (or why it refused).
pub(super) async fn flash(
    base: &str,
    token: &str,
    device_id: &str,
    sources: &[(String, String)],
) -> Result<String, Vec<String>> {
    let words = |failure: ApiFailure| vec![describe(&failure)];
    let form = FormData::new().map_err(|_| vec!["The browser cannot build a form.".to_owned()])?;
    for (index, (path, text)) in sources.iter().enumerate() {
        let parts = js_sys::Array::of1(&JsValue::from_str(text));
        let Ok(blob) = Blob::new_with_str_sequence(&parts) else {
            continue;
        };
        let field = if index == 0 {
            "file".to_owned()
        } else {
            format!("file{index}")
        };
        let _ = form.append_with_blob_and_filename(&field, &blob, path);
    }
    let authorization = authorization(token);
    let request = Request {
        method: "PUT",
        url: &format!("{base}/v1/devices/{device_id}"),
        headers: &[("Authorization", &authorization)],
        body: Some(&form),
        signal: None,
    };
    let response = fetch::send(&request)
        .await
        .map_err(|e| words(unreachable(e)))?;
    let body = json_of(&response).await.unwrap_or(Value::Null);
    if response.ok() {
        return Ok(body
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("update started")
            .to_owned());
    }
    if let Some(errors) = body.get("errors").and_then(Value::as_array) {
        return Err(errors
            .iter()
            .filter_map(|e| e.as_str().map(str::to_owned))
            .collect());
    }
    let error = ApiErrorBody::from_json(&body);
    Err(words(ApiFailure {
        status: response.status(),
        error: error.error,
        description: error.error_description,
        mfa_token: None,
    }))
}
