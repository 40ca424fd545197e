//! The page's side channel: `POST control/{session}` sets how the session answers hooks, and
//! `POST respond/{session}/{hook}` answers one waiting hook.

use std::{sync::Arc, time::Duration};

use axum::{
    Json,
    body::{Body, Bytes},
    extract::{Path, State},
    http::StatusCode,
};
use serde_json::{Map, Value, json};
use tokio::time::Instant;
use webhook_demo_core::wire::PageAnswer;

use crate::{
    Shared,
    error::RelayError,
    session::Answer,
    store::{SessionRef, StoreError},
};

/// Applies the fields present in the body (all optional) and answers with the resulting settings.
/// The reference relay's `{"op":"hookResponse","authorization":"…"}` is one such body.
pub(crate) async fn control(
    State(shared): State<Arc<Shared>>,
    Path(session_id): Path<String>,
    body: Body,
) -> Result<Json<Value>, RelayError> {
    let body = read_body(&shared, body).await?;
    let session = find(&shared, &session_id).await?;
    let fields = parse_object(&body)?;
    let current = session.answer().await.map_err(unavailable)?;
    let limits = &shared.settings.limits;
    let answer = apply(current, &fields, limits.max_wait, limits.max_delay)?;
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

fn parse_object(body: &[u8]) -> Result<Map<String, Value>, RelayError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err(RelayError::BadRequest(
            "the body must be a JSON object".to_owned(),
        )),
        Err(e) => Err(RelayError::BadRequest(format!("malformed JSON: {e}"))),
    }
}

fn apply(
    mut answer: Answer,
    fields: &Map<String, Value>,
    max_wait: Duration,
    max_delay: Duration,
) -> Result<Answer, RelayError> {
    let bad =
        |field: &str, expected: &str| RelayError::BadRequest(format!("{field} must be {expected}"));
    for (field, value) in fields {
        match (field.as_str(), value) {
            ("op", Value::String(op)) if op == "hookResponse" => {}
            ("op", _) => return Err(bad("op", "\"hookResponse\" when present")),
            ("authorization", Value::Null) => answer.authorization = None,
            ("authorization", Value::String(text)) => {
                answer.authorization = (!text.is_empty()).then(|| text.clone());
            }
            ("authorization", _) => return Err(bad("authorization", "a string or null")),
            ("status", value) => {
                let status = value
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok())
                    .ok_or_else(|| bad("status", "a number"))?;
                check_status(status)?;
                answer.status = status;
            }
            ("contentType", Value::String(text)) => {
                check_media_type(text)?;
                answer.content_type = std::borrow::Cow::Owned(text.clone());
            }
            ("contentType", _) => return Err(media_type_expected()),
            ("body", Value::Null) => answer.body = None,
            ("body", Value::String(text)) => answer.body = Some(text.clone()),
            ("body", _) => return Err(bad("body", "a string or null")),
            ("delayMs", value) => {
                answer.delay =
                    millis(value, max_delay).ok_or_else(|| bad("delayMs", &limit(max_delay)))?
            }
            ("deadlineMs", value) => {
                answer.deadline =
                    millis(value, max_wait).ok_or_else(|| bad("deadlineMs", &limit(max_wait)))?;
            }
            ("pageAnswers", Value::Bool(on)) => answer.page_answers = *on,
            ("pageAnswers", _) => return Err(bad("pageAnswers", "true or false")),
            (other, _) => return Err(RelayError::BadRequest(format!("unknown setting {other:?}"))),
        }
    }
    Ok(answer)
}

fn millis(value: &Value, max: Duration) -> Option<Duration> {
    let duration = Duration::from_millis(value.as_u64()?);
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
        Ok(_) if (200..=599).contains(&status) => Ok(()),
        _ => Err(RelayError::BadRequest(format!(
            "status must be an HTTP status from 200 to 599, got {status}"
        ))),
    }
}
