//! The webhook relay, mounted by the server at `/relay`.
//!
//! A page opens a stream and receives a hook URL; every request to that URL is recorded, streamed to
//! the page and answered. The protocol is described in `docs/relay-protocol.md`.

use axum::{Json, Router, http::StatusCode};

/// How the relay builds the URLs it hands out.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Base URL the Particle cloud can reach (`--public-url`); without it the request's origin is used.
    pub public_url: Option<String>,
}

/// The relay's routes, relative to where the server mounts them.
pub fn router(_settings: Settings) -> Router {
    Router::new().fallback(|| async {
        (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"ok": false, "error": "no such relay endpoint"})),
        )
    })
}
