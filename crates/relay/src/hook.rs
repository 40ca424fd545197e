//! `ANY hook/{session}[/…]`: a webhook request arriving for a session.
//!
//! The request is recorded exactly (method, URL, headers, raw body), streamed to the page as a
//! `hook` event, answered (session default, the page's own answer, or the default on timeout), and
//! the answer is streamed as `hookResponse`.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use axum::{
    extract::{OriginalUri, Path, Request, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};
use base64::Engine;
use tokio::time::Instant;
use webhook_demo_core::wire::{AnswerSource, HookRequest, HookResponse};
use webhook_demo_http::OriginalHeaders;

use crate::{Shared, error::RelayError, session::Answer};

const UNAUTHORIZED_BODY: &str = r#"{"ok":false,"error":"unauthorized"}"#;

pub(crate) async fn receive(
    State(shared): State<Arc<Shared>>,
    Path(params): Path<HashMap<String, String>>,
    OriginalUri(uri): OriginalUri,
    request: Request,
) -> Result<Response, RelayError> {
    let (mut parts, body) = request.into_parts();
    let headers = parts.headers;
    let now = Instant::now();
    let session_id = params
        .get("session")
        .map(String::as_str)
        .unwrap_or_default();
    let session = shared
        .store
        .find(session_id, now)
        .ok_or(RelayError::UnknownHookSession)?;
    let limit = shared.settings.limits.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(RelayError::BodyTooLarge { limit });
    }
    let (hook_id, answer) = session
        .admit_hook(now)
        .map_err(|wait| RelayError::RateLimited {
            retry_after_secs: wait.as_secs_f64().ceil().max(1.0) as u64,
        })?;
    let body = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| RelayError::BodyTooLarge { limit })?;

    let (text, base64) = match std::str::from_utf8(&body) {
        Ok(text) => (Some(text.to_owned()), None),
        Err(_) => (
            None,
            Some(base64::engine::general_purpose::STANDARD.encode(&body)),
        ),
    };
    let request = HookRequest {
        hook_id,
        received_at: epoch_millis(),
        method: parts.method.to_string(),
        original_url: uri
            .path_and_query()
            .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned()),
        query: uri.query().unwrap_or_default().to_owned(),
        headers: recorded_headers(parts.extensions.remove(), &headers),
        body: text,
        body_base64: base64,
    };
    let authorized = answer.authorization.as_deref().is_none_or(|expected| {
        headers
            .get(header::AUTHORIZATION)
            .is_some_and(|got| got.as_bytes() == expected.as_bytes())
    });

    // Register the wait before the page can see the hook, so an instant answer is never missed.
    let waiting = (authorized && answer.page_answers).then(|| session.wait_for_page(hook_id));
    session.append("hook", &request);

    let (status, content_type, body, source) = if !authorized {
        (
            401,
            "application/json".to_owned(),
            UNAUTHORIZED_BODY.to_owned(),
            AnswerSource::Default,
        )
    } else if let Some(waiting) = waiting {
        match waiting.answer(answer.deadline).await {
            Some(page) => (
                page.status,
                page.content_type,
                page.body,
                AnswerSource::Page,
            ),
            None => default_answer(&answer, hook_id, AnswerSource::Timeout),
        }
    } else {
        if !answer.delay.is_zero() {
            tokio::time::sleep(answer.delay).await;
        }
        default_answer(&answer, hook_id, AnswerSource::Default)
    };
    let response = HookResponse {
        hook_id,
        status_code: status,
        content_type: content_type.clone(),
        body: body.clone(),
        responded_at: epoch_millis(),
        source,
    };
    session.append("hookResponse", &response);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    Ok((status, [(header::CONTENT_TYPE, content_type)], body).into_response())
}

/// The header fields as they arrived: from the server's connection, which keeps names in their
/// case and order; lower-cased from the parsed headers when the relay runs on another server.
fn recorded_headers(
    original: Option<OriginalHeaders>,
    headers: &HeaderMap,
) -> Vec<(String, String)> {
    let text =
        |value: &axum::http::HeaderValue| String::from_utf8_lossy(value.as_bytes()).into_owned();
    match original {
        Some(OriginalHeaders(fields)) => fields
            .into_iter()
            .map(|(name, value)| (name, text(&value)))
            .collect(),
        None => headers
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), text(value)))
            .collect(),
    }
}

fn default_answer(
    answer: &Answer,
    hook_id: u64,
    source: AnswerSource,
) -> (u16, String, String, AnswerSource) {
    let body = answer
        .body
        .clone()
        .unwrap_or_else(|| format!(r#"{{"ok":true,"hookId":{hook_id}}}"#));
    (answer.status, answer.content_type.to_string(), body, source)
}

pub(crate) fn epoch_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
