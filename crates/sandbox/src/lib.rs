//! The sandbox: an offline Particle cloud, mounted by the server at `/sandbox`.
//!
//! It speaks the same paths and JSON shapes as `https://api.particle.io`, including Particle's error
//! shape `{"error", "error_description"}`, so clients work against it by changing the base URL.

use axum::{Json, Router, http::StatusCode};

/// The sandbox's routes, relative to where the server mounts them.
pub fn router() -> Router {
    Router::new().fallback(|| async {
        (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({
                "error": "not_found",
                "error_description": "This endpoint is not emulated by the sandbox",
            })),
        )
    })
}
