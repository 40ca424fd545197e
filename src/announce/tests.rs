//! What the status region says as the state changes.

use super::Before;
use crate::{
    cleanup::{CleanupStep, Progress},
    firmware::Flash,
    msg::Effect,
    sign_in::{Auth, Session},
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
fn start_is_announced_and_test_is_the_next_action() {
    check(
        |state| state.demo.running = true,
        &[
            Effect::Announce("Demo started: your webhook server is listening".into()),
            Effect::Reveal("testWebhookButton"),
        ],
    );
}

/// The control revealed when `change` finishes a step begun by `begin` on a fresh state.
fn next(begin: impl FnOnce(&mut State), change: impl FnOnce(&mut State)) -> Vec<Effect> {
    let (mut state, _) = crate::update::init();
    begin(&mut state);
    let before = Before::of(&state);
    change(&mut state);
    before.changes(&state)
}

#[test]
fn each_setup_step_reveals_the_next_action() {
    let session = || {
        Auth::SignedIn(Session {
            base: "/sandbox".into(),
            token: "t".into(),
            username: "sandbox@example.com".into(),
            created_here: true,
        })
    };
    let signed_in = |state: &mut State| state.sign_in.auth = session();
    assert_eq!(next(|_| {}, signed_in), [Effect::Reveal("deviceSelect")]);
    // A session that came back by itself after a reload moves nothing.
    assert_eq!(next(|state| state.sign_in.restored = true, signed_in), []);
    // Created without a device to add: Start is next.
    assert_eq!(
        next(
            |state| {
                signed_in(state);
                state.lists.creating_product = true;
            },
            |state| state.lists.creating_product = false,
        ),
        [Effect::Reveal("startDemo")]
    );
    assert_eq!(
        next(
            |state| {
                signed_in(state);
                state.lists.adding_device = true;
            },
            |state| state.lists.adding_device = false,
        ),
        [Effect::Reveal("startDemo")]
    );
    // A failed add leaves the learner where they are, with the error.
    assert_eq!(
        next(
            |state| state.lists.adding_device = true,
            |state| {
                state.lists.adding_device = false;
                state.lists.add_device_error = Some("no".into());
            },
        ),
        []
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
