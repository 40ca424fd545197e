//! The summary counts the learner's own run, and appears only once cleanup has finished.

use serde_json::json;
use webhook_demo_core::wire::{AnswerSource, HookRequest, HookResponse, ParticleEvent};

use crate::{
    cleanup::{CleanupStep, Progress},
    json::Object,
    state::State,
};

fn summary(state: &State) -> serde_json::Value {
    let mut view = Object::default();
    super::view(state, &mut view);
    serde_json::Value::from(view)["summary"].clone()
}

fn event(name: &str, coreid: &str) -> ParticleEvent {
    ParticleEvent {
        name: name.into(),
        data: String::new(),
        published_at: String::new(),
        coreid: coreid.into(),
    }
}

#[test]
fn the_summary_counts_the_learners_own_run_once_cleanup_is_done() {
    let (mut state, _) = crate::update::init();
    let history = &mut state.demo.history;
    history.events = vec![
        event("WebhookDemo01", "api"),
        event("WebhookDemo01", "e00fce680000000000000001"),
        event(
            "e00fce680000000000000001/hook-response/WebhookDemo01/0",
            "particle-internal",
        ),
        event(
            "e00fce680000000000000001/hook-error/WebhookDemo01/0",
            "particle-internal",
        ),
    ];
    let response = |status_code| HookResponse {
        hook_id: 1,
        status_code,
        content_type: String::new(),
        body: String::new(),
        responded_at: 0,
        source: AnswerSource::Default,
    };
    history.responses = vec![response(200), response(500), response(500)];
    assert!(summary(&state).is_null(), "a summary before the end");
    state.cleanup.progress = vec![Progress {
        step: CleanupStep::Webhook,
        outcome: Some(Ok(Vec::new())),
    }];
    let shown = summary(&state);
    assert_eq!(shown["events"], json!(2));
    assert_eq!(shown["fromPage"], json!(1));
    assert_eq!(shown["fromDevice"], json!(1));
    assert_eq!(shown["answers"], json!("200 ×1, 500 ×2"));
    assert_eq!(shown["responses"], json!(1));
    assert_eq!(shown["errors"], json!(1));
    assert_eq!(shown["removed"], json!("the webhook deleted"));
}

#[test]
fn a_request_repeating_an_earlier_body_is_a_retry_and_requests_count_events_after_a_reload() {
    let (mut state, _) = crate::update::init();
    let hook = |id, body: &str| HookRequest {
        hook_id: id,
        body: Some(body.into()),
        ..crate::update::demo::tests::sample_hook()
    };
    // As after a reload: three requests replayed, no event seen on Particle's stream.
    state.demo.history.hooks = vec![
        hook(1, "{\"t\":1}"),
        hook(2, "{\"t\":1}"),
        hook(3, "{\"t\":2}"),
    ];
    state.cleanup.progress = vec![Progress {
        step: CleanupStep::Webhook,
        outcome: Some(Ok(Vec::new())),
    }];
    let shown = summary(&state);
    assert_eq!(shown["events"], json!(2));
    assert_eq!(shown["split"], json!(false));
    assert_eq!(shown["requests"], json!(3));
    assert_eq!(shown["retries"], json!(1));
}
