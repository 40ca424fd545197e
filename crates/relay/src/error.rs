//! The relay's error answers: every bound and every client mistake gets its status and a message.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RelayError {
    /// A hook for a session that does not exist (or expired). Answered 200: Particle throttles a
    /// host whose errors outnumber its successes, and the relay's host is shared by every learner.
    UnknownHookSession,
    /// A page endpoint (`stream?session=`, `control`, `respond`) for a session that does not exist.
    UnknownSession,
    BodyTooLarge {
        limit: usize,
    },
    RateLimited {
        retry_after_secs: u64,
    },
    TooManySessions,
    BadRequest(String),
    NotWaiting {
        hook_id: u64,
    },
    NoSuchEndpoint,
}

impl IntoResponse for RelayError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            RelayError::UnknownHookSession => (StatusCode::OK, "unknown session".to_owned()),
            RelayError::UnknownSession => (StatusCode::NOT_FOUND, "unknown session".to_owned()),
            RelayError::BodyTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("body larger than {limit} bytes"),
            ),
            RelayError::RateLimited { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many hooks for this session; retry in {retry_after_secs} s"),
            ),
            RelayError::TooManySessions => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the relay has too many sessions; try again later".to_owned(),
            ),
            RelayError::BadRequest(message) => (StatusCode::BAD_REQUEST, message.clone()),
            RelayError::NotWaiting { hook_id } => (
                StatusCode::CONFLICT,
                format!("hook {hook_id} is not waiting for an answer"),
            ),
            RelayError::NoSuchEndpoint => {
                (StatusCode::NOT_FOUND, "no such relay endpoint".to_owned())
            }
        };
        let mut response = (status, Json(json!({"ok": false, "error": message}))).into_response();
        if let RelayError::RateLimited { retry_after_secs } = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

pub(crate) async fn not_found() -> RelayError {
    RelayError::NoSuchEndpoint
}
