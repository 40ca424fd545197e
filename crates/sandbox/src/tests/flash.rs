//! Restoring Tinker: flashing an app by name (`{"app": "tinker"}`, which particle-api-js 12
//! removed) is refused in Particle's error shape, and the supported way, as particle-cli and the
//! tutorial's cleanup do it, works: a product device is marked as a development device, then
//! Tinker's binary is uploaded with `file_type=binary`, and the device runs Tinker.

use std::time::Duration;

use axum::http::{StatusCode, header};
use serde_json::{Value, json};

use super::{
    call, check_error, get, send_json,
    webhooks::{Learner, P2},
};

/// The start of a Particle user-part module for the P2, as particle-cli's `tinker-5.0.0-p2.bin`
/// begins: start and end addresses, flags, module version 6, platform 32, function 5 (user part).
fn tinker_p2() -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend(0x085F_C000_u32.to_le_bytes());
    bytes.extend(0x0860_81FC_u32.to_le_bytes());
    bytes.extend([0, 0]);
    bytes.extend(6_u16.to_le_bytes());
    bytes.extend(32_u16.to_le_bytes());
    bytes.extend([5, 1]);
    bytes.resize(512, 0xFF);
    bytes
}

#[tokio::test]
async fn flashing_an_app_by_name_is_refused() {
    let learner = Learner::new().await;
    let path = format!("/v1/devices/{P2}");
    for app in ["tinker", "doom"] {
        check_error(
            learner.send("PUT", &path, json!({ "app": app })).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &format!(
                "Flashing an app by name ({app:?}) is not supported: upload its binary as the \
                 multipart field file with file_type=binary"
            ),
        );
    }
    // As a form, as particle-api-js once sent it, too.
    let refused = learner
        .app
        .client
        .put(learner.app.url(&path))
        .header(header::AUTHORIZATION, &learner.bearer)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("app=tinker")
        .send()
        .await
        .expect("an answer");
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    // The device still runs the demo, and renaming through the same route still works.
    let (_, device) = get(&learner.app, &path, Some(&learner.bearer)).await;
    assert_eq!(device["variables"], json!({"WebhookDemo01": "int32"}));
    let (status, renamed) = send_json(
        &learner.app,
        "PUT",
        &path,
        &learner.bearer,
        json!({"name": "p2"}),
    )
    .await;
    assert_eq!((status, &renamed["name"]), (StatusCode::OK, &json!("p2")));
}

#[tokio::test]
async fn a_development_device_flashed_with_tinkers_binary_runs_tinker() {
    let learner = Learner::new().await;
    let device_path = format!("/v1/devices/{P2}");
    let device = || async {
        get(&learner.app, &device_path, Some(&learner.bearer))
            .await
            .1
    };
    assert_eq!(device().await["development"], json!(false));
    let (status, marked) = learner
        .send(
            "PUT",
            &format!("/v1/products/{}/devices/{P2}", learner.product),
            json!({"development": true}),
        )
        .await;
    assert_eq!(
        (status, &marked["development"]),
        (StatusCode::OK, &json!(true))
    );
    assert_eq!(device().await["development"], json!(true), "GET shows it");

    // particle-api-js's flashDevice: a multipart file; `file_type=binary` says it is one, whatever
    // its name.
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(tinker_p2()).file_name("firmware"),
        )
        .text("file_type", "binary");
    let started = learner
        .app
        .client
        .put(learner.app.url(&device_path))
        .header(header::AUTHORIZATION, &learner.bearer)
        .multipart(form)
        .send()
        .await
        .expect("an answer");
    assert_eq!(started.status(), StatusCode::OK);
    let started: Value = started.json().await.expect("JSON");
    assert_eq!(
        (&started["status"], &started["firmware"]),
        (&json!("Update started"), &json!("Tinker"))
    );
    let tinker = json!(["digitalread", "digitalwrite", "analogread", "analogwrite"]);
    let mut shown = Value::Null;
    for _ in 0..200 {
        shown = device().await;
        if shown["functions"] == tinker && shown["online"] == json!(true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        (
            &shown["functions"],
            &shown["variables"],
            &shown["development"]
        ),
        (&tinker, &json!({}), &json!(true)),
        "the device runs Tinker and stays a development device"
    );
    // Tinker answers its functions.
    let request = axum::http::Request::post(format!("{device_path}/digitalwrite"))
        .header(header::AUTHORIZATION, &learner.bearer)
        .header(header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(r#"{"arg":"D7,HIGH"}"#))
        .expect("a request");
    let (status, answer) = call(&learner.app, request).await;
    assert_eq!(
        (status, &answer["return_value"]),
        (StatusCode::OK, &json!(1))
    );
}
