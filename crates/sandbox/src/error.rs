//! Errors in Particle's shape: `{"error": "<code>", "error_description": "<sentence>"}` with the
//! status codes the real API uses, including the answers axum gives itself (a body over the
//! limit, an unreadable path), which `particle_shape` rewrites.

use std::time::Duration;

use axum::{
    Json,
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};

/// The most a request body may hold: axum's own default, stated here so the refusal can say it.
/// Integrations are at most 64 KiB and events a kilobyte; only firmware comes near it.
pub(crate) const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    status: StatusCode,
    error: &'static str,
    description: String,
    /// Extra fields Particle adds to some errors (`mfa_token`).
    extra: Map<String, Value>,
    /// When to try again (`Retry-After`), for refusals that pass.
    retry_after: Option<Duration>,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        error: &'static str,
        description: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            error,
            description: description.into(),
            extra: Map::new(),
            retry_after: None,
        }
    }

    /// The same refusal, saying when to try again.
    pub(crate) fn retry_after(mut self, wait: Duration) -> ApiError {
        self.retry_after = Some(wait);
        self
    }

    pub(crate) fn bad_request(description: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub(crate) fn invalid_grant(description: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    pub(crate) fn invalid_client() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        )
    }

    pub(crate) fn invalid_token() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "The access token provided is invalid.",
        )
    }

    pub(crate) fn forbidden(description: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, "forbidden", description)
    }

    pub(crate) fn mfa_required(mfa_token: String) -> ApiError {
        let mut error = ApiError::new(
            StatusCode::FORBIDDEN,
            "mfa_required",
            "Multi-factor authentication required",
        );
        error
            .extra
            .insert("mfa_token".to_owned(), Value::String(mfa_token));
        error
    }

    pub(crate) fn rate_limited(description: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", description)
    }

    /// The sandbox as a whole holds all it may of something: not this client's doing, so not a
    /// 4xx; it passes as others delete or expire theirs.
    pub(crate) fn unavailable(description: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            description,
        )
        .retry_after(Duration::from_secs(60))
    }

    pub(crate) fn not_found(description: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", description)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({"error": self.error, "error_description": self.description});
        if let Value::Object(fields) = &mut body {
            fields.extend(self.extra);
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(wait) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds(wait)));
        }
        response
    }
}

/// A wait in whole seconds, rounded up and at least one: trying again a moment early would only
/// be refused again.
pub(crate) fn seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

/// Rewrites the error answers that are not Particle's JSON (axum's own rejections, plain text)
/// into Particle's shape with the same status, so every refusal reads the same to a client.
pub(crate) async fn particle_shape(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let mut error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        _ => {
            // axum's rejections are a sentence; anything longer is not one of them.
            let text = axum::body::to_bytes(body, 1024).await.unwrap_or_default();
            let code = match status {
                StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
                status if status.is_server_error() => "server_error",
                _ => "invalid_request",
            };
            ApiError::new(
                status,
                code,
                String::from_utf8_lossy(&text).trim().to_owned(),
            )
        }
    }
    .into_response();
    // The rest of the answer (CORS, the sandboxing policy) stays as it was.
    let mut headers = parts.headers;
    headers.remove(header::CONTENT_TYPE);
    headers.remove(header::CONTENT_LENGTH);
    for (name, value) in &headers {
        error.headers_mut().append(name.clone(), value.clone());
    }
    error
}

/// The refusal of a body over `MAX_BODY_BYTES`.
pub(crate) fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "request_too_large",
        format!(
            "The request body is larger than the sandbox accepts ({} MiB)",
            MAX_BODY_BYTES / (1024 * 1024)
        ),
    )
}

/// Refuses a body that says it is over the limit before any handler looks at the request, so
/// every route answers it alike, whatever it checks first (a chunked body over the limit is cut
/// off where the handler reads it, and `particle_shape` words that refusal).
pub(crate) async fn body_limit(request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return too_large().into_response();
    }
    next.run(request).await
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("This endpoint is not emulated by the sandbox")
}

/// A path the sandbox knows, asked with a method it does not emulate there.
pub(crate) async fn method_not_allowed(method: axum::http::Method) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not emulated on this path by the sandbox"),
    )
}
