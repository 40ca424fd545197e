//! The relay's error answers: every bound and every client mistake gets its status and a message.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

/// The wait suggested when sessions or memory run out. Both free up as sessions expire (unused
/// ones within minutes) or their logs evict, which no single figure predicts; a minute keeps
/// clients from hammering without keeping them away long.
const RETRY_LATER_SECS: u64 = 60;
/// The wait suggested while the store is unreachable: a Redis restart or failover takes seconds,
/// and Particle retries a webhook answered 503 soon after.
const STORE_RETRY_SECS: u64 = 2;

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
    /// The client holds `limit` sessions already (`Limits::max_sessions_per_client`).
    TooManySessionsForClient {
        limit: usize,
    },
    /// The client's network holds `limit` sessions already (`Limits::network_sessions_percent`).
    TooManySessionsForNetwork {
        limit: usize,
    },
    /// The sessions together hold `Limits::max_total_buffer_bytes`.
    MemoryFull,
    /// The shared store (Redis) cannot be reached; nothing was recorded.
    StoreUnavailable,
    BadRequest(String),
    /// A stream asked for under a host hook URLs may not be built on (no public URL configured).
    ForeignHost {
        host: String,
    },
    NotWaiting {
        hook_id: u64,
    },
    NoSuchEndpoint,
}

impl IntoResponse for RelayError {
    fn into_response(self) -> Response {
        let (status, message, retry_after) = match &self {
            RelayError::UnknownHookSession => (StatusCode::OK, "unknown session".to_owned(), None),
            RelayError::UnknownSession => {
                (StatusCode::NOT_FOUND, "unknown session".to_owned(), None)
            }
            RelayError::BodyTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("body larger than {limit} bytes"),
                None,
            ),
            RelayError::RateLimited { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many hooks for this session; retry in {retry_after_secs} s"),
                Some(*retry_after_secs),
            ),
            RelayError::TooManySessions => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the relay has too many sessions; try again later".to_owned(),
                Some(RETRY_LATER_SECS),
            ),
            RelayError::TooManySessionsForClient { limit } => (
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "too many sessions from your address (at most {limit}); resume one of them \
                     with stream?session=, or try again later"
                ),
                Some(RETRY_LATER_SECS),
            ),
            RelayError::TooManySessionsForNetwork { limit } => (
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "too many sessions from your network (at most {limit}); resume one of them \
                     with stream?session=, or try again later"
                ),
                Some(RETRY_LATER_SECS),
            ),
            RelayError::MemoryFull => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the relay holds as much as it may for now; try again later".to_owned(),
                Some(RETRY_LATER_SECS),
            ),
            RelayError::StoreUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "the relay cannot reach its store; try again shortly".to_owned(),
                Some(STORE_RETRY_SECS),
            ),
            RelayError::BadRequest(message) => (StatusCode::BAD_REQUEST, message.clone(), None),
            RelayError::ForeignHost { host } => (
                StatusCode::MISDIRECTED_REQUEST,
                format!(
                    "this relay has no public URL, so it makes hook URLs only for localhost, \
                     127.0.0.1 and [::1], not {host:?}; open the page on one of those, or start \
                     the server with --public-url set to the address the Particle cloud reaches"
                ),
                None,
            ),
            RelayError::NotWaiting { hook_id } => (
                StatusCode::CONFLICT,
                format!("hook {hook_id} is not waiting for an answer"),
                None,
            ),
            RelayError::NoSuchEndpoint => (
                StatusCode::NOT_FOUND,
                "no such relay endpoint".to_owned(),
                None,
            ),
        };
        let mut response = (status, Json(json!({"ok": false, "error": message}))).into_response();
        if self == RelayError::StoreUnavailable {
            response.extensions_mut().insert(StoreFailed);
        }
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// Marks an answer that failed because the store could not be reached, for the metrics.
#[derive(Clone, Copy)]
pub(crate) struct StoreFailed;

pub(crate) async fn not_found() -> RelayError {
    RelayError::NoSuchEndpoint
}
