//! The end of the tutorial: once cleanup has finished, a summary of the learner's own run (the
//! events sent, the requests their server received, the answers and hook errors, retries, what
//! was made and removed) for `templates/cleanup.hbs`, with the next steps beside it.
//!
//! Counted from the run's history (`demo::History`), which Stop and cleanup leave in place: the
//! figures are the learner's, not a description of what could have happened.

use webhook_demo_core::wire::HookResponse;

use crate::{
    demo::{History, webhook::EVENT_NAME},
    json::Object,
    state::State,
};

/// Whether every cleanup step the learner asked for has finished well.
pub fn finished(state: &State) -> bool {
    let progress = &state.cleanup.progress;
    !progress.is_empty() && progress.iter().all(|p| matches!(p.outcome, Some(Ok(_))))
}

/// `summary` for the template: `null` until the tutorial is finished.
pub(crate) fn view(state: &State, view: &mut Object) {
    if !finished(state) {
        view.set("summary", serde_json::Value::Null);
        return;
    }
    let history = &state.demo.history;
    let sent = history.events.iter().filter(|e| e.name == EVENT_NAME);
    let (from_page, from_device) = sent.fold((0, 0), |(page, device), event| {
        if event.coreid == "api" || event.coreid.is_empty() {
            (page + 1, device)
        } else {
            (page, device + 1)
        }
    });
    let back = |kind: &str| {
        history
            .events
            .iter()
            .filter(|e| e.name.contains(kind))
            .count()
    };
    let requests = history.hooks.len();
    // After a reload the relay replays every request, but of Particle's stream the page has
    // only what it kept and what came since (nothing published while it was away): an event is
    // known by its request too.
    let events = distinct_bodies(history).max(from_page + from_device);
    let mut summary = Object::default();
    summary.set("events", events.into());
    summary.set("split", (events == from_page + from_device).into());
    summary.set("fromPage", from_page.into());
    summary.set("fromDevice", from_device.into());
    summary.set("requests", requests.into());
    summary.set("answers", answers(&history.responses).into());
    summary.set("responses", back("hook-response").into());
    summary.set("errors", back("hook-error").into());
    // A retry carries the same body as the request it repeats (the same event, the same time).
    summary.set(
        "retries",
        requests.saturating_sub(distinct_bodies(history)).into(),
    );
    summary.set("starts", state.demo.run.into());
    let removed: Vec<&str> = state
        .cleanup
        .progress
        .iter()
        .map(|p| p.step.done_text())
        .collect();
    summary.set("removed", removed.join(", ").into());
    view.set("summary", summary.into());
}

/// The answers the learner's server gave, by status: "200 ×3, 500 ×1", or "none".
fn answers(responses: &[HookResponse]) -> String {
    let mut counts: Vec<(u16, usize)> = Vec::new();
    for response in responses {
        match counts.iter_mut().find(|(s, _)| *s == response.status_code) {
            Some((_, n)) => *n += 1,
            None => counts.push((response.status_code, 1)),
        }
    }
    if counts.is_empty() {
        return "none".into();
    }
    let parts: Vec<String> = counts.iter().map(|(s, n)| format!("{s} ×{n}")).collect();
    parts.join(", ")
}

/// How many different bodies the requests carried: one per event delivered.
fn distinct_bodies(history: &History) -> usize {
    let mut seen: Vec<&Option<String>> = Vec::new();
    for hook in &history.hooks {
        if !seen.contains(&&hook.body) {
            seen.push(&hook.body);
        }
    }
    seen.len()
}

#[cfg(test)]
mod tests;
