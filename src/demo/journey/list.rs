//! The request list's words for a cycle: one row per cycle (its outcome in a word, the server's
//! answer, latency, size and which of the cloud's attempts it is), also read by the testing
//! panel's delivery log.

use serde_json::Value;

use super::{clock_of, key_text};
use crate::{
    demo::timeline::{ATTEMPTS, Cycle, OUTCOME, REQUEST, RESPONSE, SENT},
    json::Object,
};

/// One request list row.
pub(super) fn row(cycle: &Cycle, selected: bool) -> Value {
    let mut view = Object::default();
    view.set("key", key_text(&cycle.key).into());
    view.set("time", clock_of(&cycle.key.1).into());
    view.set("device", cycle.device.as_str().into());
    view.set("status", outcome(cycle).into());
    view.set(
        "attempt",
        attempt_text(cycle).unwrap_or_else(|| "1".to_owned()).into(),
    );
    view.set("answer", answer_text(cycle).into());
    view.set("latency", latency_text(cycle).into());
    view.set("size", size_text(cycle).into());
    view.set("selected", selected.into());
    view.into()
}

/// What came of a cycle, in a word: of its newest attempt by the cloud.
pub(crate) fn outcome(cycle: &Cycle) -> &'static str {
    let attempt = cycle.delivery();
    match (&attempt.failure, attempt.at[OUTCOME], attempt.at[SENT]) {
        (Some(reason), _, _) if reason.starts_with("Sleeping") => "throttled",
        (Some(_), _, _) if attempt.gave_up() => "timeout",
        (Some(_), _, _) => "error",
        (None, Some(_), _) => "response",
        (None, None, _) if cycle.away_for(cycle.attempts.iter().rposition(|a| !a.replay)) => {
            "not seen"
        }
        (None, None, Some(_)) => "sent",
        (None, None, None) => "published",
    }
}

/// Which of the cloud's tries the newest is ("2 of 3", in the request list's Attempt column),
/// once there is more than one or one failed and the cloud will try again; `None` for a delivery
/// that took one try.
pub(crate) fn attempt_text(cycle: &Cycle) -> Option<String> {
    let tries = cycle.cloud_attempts();
    (tries > 1 || cycle.retry_due()).then(|| format!("{tries} of {ATTEMPTS}"))
}

/// The server's answer: its status, and whether it came too late for the cloud to see it.
pub(crate) fn answer_text(cycle: &Cycle) -> String {
    let attempt = cycle.delivery();
    match attempt.answer {
        None => "—".to_owned(),
        Some((status, _)) if attempt.late() => format!("{status}, too late"),
        Some((status, _)) => status.to_string(),
    }
}

/// From the request reaching your server to its answer.
pub(crate) fn latency_text(cycle: &Cycle) -> String {
    let attempt = cycle.delivery();
    match (attempt.at[REQUEST], attempt.at[RESPONSE]) {
        (Some(received), Some(answered)) => match answered.saturating_sub(received) {
            0 => "<1 ms".to_owned(),
            ms => format!("{ms} ms"),
        },
        _ => "—".to_owned(),
    }
}

pub(crate) fn size_text(cycle: &Cycle) -> String {
    cycle
        .delivery()
        .answer
        .map_or_else(|| "—".to_owned(), |(_, size)| format!("{size} B"))
}
