//! Flashing Tinker by name (`{"app": "tinker"}`), which particle-api-js 12 removed: refused when
//! `Settings::refuse_app_field` says so, in Particle's error shape.

use axum::http::StatusCode;
use serde_json::json;

use super::{App, check_error, send_json, sign_in, webhooks::P2};
use crate::Settings;

#[tokio::test]
async fn flashing_an_app_by_name_can_be_refused() {
    let app = App::serve_with(Settings {
        refuse_app_field: true,
        ..super::quiet()
    })
    .await;
    let bearer = format!("Bearer {}", sign_in(&app).await);
    let path = format!("/v1/devices/{P2}");
    check_error(
        send_json(&app, "PUT", &path, &bearer, json!({"app": "tinker"})).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Flashing an app by name (\"tinker\") is not supported: upload its binary as the \
         multipart field file with file_type=binary",
    );
    // Renaming through the same route still works.
    let (status, renamed) = send_json(&app, "PUT", &path, &bearer, json!({"name": "p2"})).await;
    assert_eq!((status, &renamed["name"]), (StatusCode::OK, &json!("p2")));
}
