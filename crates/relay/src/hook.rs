//! `ANY hook/{token}[/…]`: a webhook request arriving for the session with this hook token.
//!
//! The request is recorded exactly (method, URL, headers, raw body), streamed to the page as a
//! `hook` event, answered (session default, the page's own answer, or the default on timeout), and
//! the answer is streamed as `hookResponse`. Both events' bytes are reserved before the hook is
//! logged, so a hook the relay takes is always logged with its answer, within the memory bound.

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

use crate::{
    Shared,
    error::RelayError,
    session::{Answer, Event, response_event_size},
};

const UNAUTHORIZED_BODY: &str = r#"{"ok":false,"error":"unauthorized"}"#;

pub(crate) async fn receive(
    State(shared): State<Arc<Shared>>,
    Path(params): Path<HashMap<String, String>>,
    OriginalUri(uri): OriginalUri,
    request: Request,
) -> Response {
    shared.metrics.hooks_received.inc();
    let response = answer(&shared, &params, uri, request).await.into_response();
    let status = response.status().as_u16().to_string();
    shared
        .metrics
        .hooks_answered
        .get_or_create(&vec![("status", status)])
        .inc();
    response
}

async fn answer(
    shared: &Shared,
    params: &HashMap<String, String>,
    uri: axum::http::Uri,
    request: Request,
) -> Result<Response, RelayError> {
    let (mut parts, body) = request.into_parts();
    let headers = parts.headers;
    let now = Instant::now();
    let token = params.get("token").map(String::as_str).unwrap_or_default();
    let limit = shared.settings.limits.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    let too_large = declared.is_some_and(|length| length > limit);
    // Found and admitted together (one round trip with Redis); an oversize hook is only found,
    // so it takes no hook id and no rate-limit token.
    let (session, admission) = shared
        .store
        .admit_hook(token, now, !too_large)
        .await
        .map_err(|_| RelayError::StoreUnavailable)?
        .ok_or(RelayError::UnknownHookSession)?;
    let (hook_id, answer) = admission
        .ok_or(RelayError::BodyTooLarge { limit })?
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
    let mut response = if authorized {
        default_response(&answer, hook_id)
    } else {
        HookResponse {
            hook_id,
            status_code: 401,
            content_type: "application/json".to_owned(),
            body: UNAUTHORIZED_BODY.to_owned(),
            responded_at: 0,
            source: AnswerSource::Default,
        }
    };
    let hook = Event::new("hook", &request);
    let waits = authorized && answer.page_answers;
    let delays = authorized && !answer.delay.is_zero();
    if !waits && !delays {
        // Answered at once: the hook and its answer are logged together (one round trip with
        // Redis, one wake-up for the streams), before the answer is sent.
        response.responded_at = epoch_millis();
        session
            .log_answered(hook, Event::new("hookResponse", &response))
            .await?;
        return Ok(reply(&response));
    }
    let response_size = response_event_size(&response.content_type, &response.body);
    let mut pending = session
        .log_hook(hook_id, hook, response_size, waits)
        .await?;

    if waits {
        let waited = Instant::now();
        let page = pending.page_answer(answer.deadline).await;
        if page.is_some() {
            let seconds = waited.elapsed().as_secs_f64();
            shared.metrics.page_answer_seconds.observe(seconds);
        }
        match page {
            Some(page) => {
                response.status_code = page.status;
                response.content_type = page.content_type;
                response.body = page.body;
                response.source = AnswerSource::Page;
            }
            None => response.source = AnswerSource::Timeout,
        }
    } else if authorized && !answer.delay.is_zero() {
        tokio::time::sleep(answer.delay).await;
    }
    response.responded_at = epoch_millis();
    let answer = reply(&response);
    // The hook was logged, so its answer is logged too; should the store fail right now, the
    // sender still gets the answer it was due, and the log misses only this `hookResponse`.
    if pending
        .finish(Event::new("hookResponse", &response))
        .await
        .is_err()
    {
        tracing::warn!(
            hook_id,
            "could not log a hook's answer: the store is unreachable"
        );
    }
    Ok(answer)
}

/// The HTTP answer a hook gets.
fn reply(response: &HookResponse) -> Response {
    let status = StatusCode::from_u16(response.status_code).unwrap_or(StatusCode::OK);
    (
        status,
        [(header::CONTENT_TYPE, response.content_type.clone())],
        response.body.clone(),
    )
        .into_response()
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

/// The session's default answer to this hook; `responded_at` is set when it is sent.
fn default_response(answer: &Answer, hook_id: u64) -> HookResponse {
    let body = answer
        .body
        .clone()
        .unwrap_or_else(|| default_body(answer.status, hook_id));
    HookResponse {
        hook_id,
        status_code: answer.status,
        content_type: answer.content_type.to_string(),
        body,
        responded_at: 0,
        source: AnswerSource::Default,
    }
}

/// The body of an answer the page left empty: it follows the status, so an error status never
/// says `"ok":true`.
fn default_body(status: u16, hook_id: u64) -> String {
    if (200..300).contains(&status) {
        format!(r#"{{"ok":true,"hookId":{hook_id}}}"#)
    } else {
        format!(r#"{{"ok":false,"hookId":{hook_id},"error":"HTTP {status}"}}"#)
    }
}

pub(crate) fn epoch_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
