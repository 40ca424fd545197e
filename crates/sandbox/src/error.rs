//! Errors in Particle's shape: `{"error": "<code>", "error_description": "<sentence>"}` with the
//! status codes the real API uses.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};

#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    error: &'static str,
    description: String,
    /// Extra fields Particle adds to some errors (`mfa_token`).
    extra: Map<String, Value>,
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
        }
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
        (self.status, Json(body)).into_response()
    }
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
