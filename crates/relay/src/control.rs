//! The page's side channel: `POST control/{session}` sets how the session answers hooks, and
//! `POST respond/{session}/{hook}` answers one waiting hook.

use std::{sync::Arc, time::Duration};

use axum::{
    Json,
    body::{Body, Bytes},
    extract::{Path, State},
    http::StatusCode,
};
use serde_json::{Value, json};
use tokio::time::Instant;
use webhook_demo_core::wire::{ANSWER_STATUS, PageAnswer, RelayControl};

use crate::{Shared, admission::StoreError, error::RelayError, session::Answer, store::SessionRef};

/// Applies the fields present in the body (all optional) and answers with the resulting settings.
/// The reference relay's `{"op":"hookResponse","authorization":"…"}` is one such body.
pub(crate) async fn control(
    State(shared): State<Arc<Shared>>,
    Path(session_id): Path<String>,
    body: Body,
) -> Result<Json<Value>, RelayError> {
    let body = read_body(&shared, body).await?;
    let session = find(&shared, &session_id).await?;
    let control = parse_control(&body)?;
    let current = session.answer().await.map_err(unavailable)?;
    let limits = &shared.settings.limits;
    let answer = apply(current, control, limits.max_wait, limits.max_delay)?;
    let settings = json!({"ok": true, "settings": answer});
    session.set_answer(answer).await?;
    Ok(Json(settings))
}

pub(crate) async fn respond(
    State(shared): State<Arc<Shared>>,
    Path((session_id, hook_id)): Path<(String, String)>,
    body: Body,
) -> Result<Json<Value>, RelayError> {
    let body = read_body(&shared, body).await?;
    let session = find(&shared, &session_id).await?;
    let hook_id: u64 = hook_id.parse().map_err(|_| {
        RelayError::BadRequest(format!("hook id must be a number, got {hook_id:?}"))
    })?;
    let answer: PageAnswer = serde_json::from_slice(&body)
        .map_err(|e| RelayError::BadRequest(format!("invalid answer: {e}")))?;
    check_status(answer.status)?;
    check_media_type(&answer.content_type)?;
    if session.answer_from_page(hook_id, answer).await? {
        Ok(Json(json!({"ok": true})))
    } else {
        Err(RelayError::NotWaiting { hook_id })
    }
}

/// The body, read here rather than by axum's `Bytes` extractor, so a body over the bound gets
/// the relay's own JSON error (413) rather than axum's plain text. Page bodies are held to the
/// same bound as hooks: an answer's body is at most what a hook's may be.
async fn read_body(shared: &Shared, body: Body) -> Result<Bytes, RelayError> {
    let limit = shared.settings.limits.max_body_bytes;
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| RelayError::BodyTooLarge { limit })
}

async fn find(shared: &Shared, session_id: &str) -> Result<SessionRef, RelayError> {
    shared
        .store
        .find(session_id, Instant::now())
        .await
        .map_err(unavailable)?
        .ok_or(RelayError::UnknownSession)
}

fn unavailable(_: StoreError) -> RelayError {
    RelayError::StoreUnavailable
}

/// The control body, typed by `core::wire` (the page writes it with the same type).
fn parse_control(body: &[u8]) -> Result<RelayControl, RelayError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(RelayControl::default());
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| RelayError::BadRequest(format!("malformed JSON: {e}")))?;
    RelayControl::from_json(&value).map_err(|e| RelayError::BadRequest(e.to_string()))
}

fn apply(
    mut answer: Answer,
    control: RelayControl,
    max_wait: Duration,
    max_delay: Duration,
) -> Result<Answer, RelayError> {
    let out_of_range = |field: &str, max: Duration| {
        RelayError::BadRequest(format!("{field} must be {}", limit(max)))
    };
    if let Some(authorization) = control.authorization {
        answer.authorization = authorization.filter(|text| !text.is_empty());
    }
    if let Some(status) = control.status {
        check_status(status)?;
        answer.status = status;
    }
    if let Some(content_type) = control.content_type {
        check_media_type(&content_type)?;
        answer.content_type = std::borrow::Cow::Owned(content_type);
    }
    if let Some(body) = control.body {
        answer.body = body;
    }
    if let Some(delay) = control.delay_ms {
        answer.delay =
            millis(delay, max_delay).ok_or_else(|| out_of_range("delayMs", max_delay))?;
    }
    if let Some(deadline) = control.deadline_ms {
        answer.deadline =
            millis(deadline, max_wait).ok_or_else(|| out_of_range("deadlineMs", max_wait))?;
    }
    if let Some(on) = control.page_answers {
        answer.page_answers = on;
    }
    Ok(answer)
}

fn millis(value: u64, max: Duration) -> Option<Duration> {
    let duration = Duration::from_millis(value);
    (duration <= max).then_some(duration)
}

fn limit(max: Duration) -> String {
    format!("a number of milliseconds from 0 to {}", max.as_millis())
}

/// Longest content type accepted: far longer than any real one, and it is repeated in every
/// answer's head.
const MAX_CONTENT_TYPE: usize = 256;

/// A content type goes into the head of every answer, so it must be one media type and nothing
/// else: a line break would split the head (and once made every later hook answer 500), and
/// characters outside ASCII have no agreed meaning there. `mime` parses `type/subtype;
/// parameters` as RFC 9110 writes it and refuses control characters.
fn check_media_type(text: &str) -> Result<(), RelayError> {
    let valid = text.len() <= MAX_CONTENT_TYPE
        && text
            .bytes()
            .all(|byte| byte.is_ascii() && !byte.is_ascii_control())
        && text
            .parse::<mime::Mime>()
            .is_ok_and(|media| !media.subtype().as_str().is_empty());
    if valid {
        Ok(())
    } else {
        Err(media_type_expected())
    }
}

fn media_type_expected() -> RelayError {
    RelayError::BadRequest(format!(
        "contentType must be a media type such as \"text/plain; charset=utf-8\": ASCII, no \
         control characters, at most {MAX_CONTENT_TYPE} characters"
    ))
}

fn check_status(status: u16) -> Result<(), RelayError> {
    match StatusCode::from_u16(status) {
        Ok(_) if ANSWER_STATUS.contains(&status) => Ok(()),
        _ => Err(RelayError::BadRequest(format!(
            "status must be an HTTP status from {} to {}, got {status}",
            ANSWER_STATUS.start(),
            ANSWER_STATUS.end()
        ))),
    }
}
