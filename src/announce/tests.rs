//! What the status region says as the state changes.

use super::Before;
use crate::{
    cleanup::{CleanupStep, Progress},
    firmware::Flash,
    msg::Effect,
    state::State,
};

/// The effects announcing what `change` does to a fresh state.
fn check(change: impl FnOnce(&mut State), expected: &[Effect]) {
    let (mut state, _) = crate::update::init();
    let before = Before::of(&state);
    change(&mut state);
    assert_eq!(before.changes(&state), expected);
}

#[test]
fn start_and_stop_are_announced() {
    check(
        |state| state.demo.running = true,
        &[Effect::Announce(
            "Demo started: your webhook server is listening".into(),
        )],
    );
}

#[test]
fn a_sent_test_is_announced_and_the_view_moves_to_its_result() {
    check(
        |state| state.demo.test_sent = Some("{\"t\": 25}".into()),
        &[
            Effect::Announce("Test event sent; its hops appear under What happened".into()),
            Effect::Reveal("explainer-title"),
        ],
    );
}

#[test]
fn flash_progress_and_each_finished_cleanup_step_are_announced() {
    check(
        |state| state.firmware.flash = Flash::Started("success".into()),
        &[Effect::Announce("Flashing: success".into())],
    );
    let (mut state, _) = crate::update::init();
    state.cleanup.progress = vec![
        Progress {
            step: CleanupStep::Webhook,
            outcome: Some(Ok(Vec::new())),
        },
        Progress {
            step: CleanupStep::Product,
            outcome: None,
        },
    ];
    let before = Before::of(&state);
    state.cleanup.progress[1].outcome = Some(Err("no".into()));
    let label = CleanupStep::Product.label();
    assert_eq!(
        before.changes(&state),
        [Effect::Announce(format!("{label}: failed"))]
    );
}

#[test]
fn nothing_changed_nothing_said() {
    check(|_| {}, &[]);
}
