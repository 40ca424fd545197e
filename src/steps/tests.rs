//! The step list as a learner goes through the tutorial.

use super::{Status, statuses, view};
use crate::{
    cleanup::{CleanupStep, Progress},
    firmware::Flash,
    json::Object,
    sign_in::{Auth, Session},
    state::{Device, Devices, Product, Products, State},
};

/// The steps' statuses in `state`, as the page writes them in `data-status`.
fn check(state: &State, expected: [&str; 9]) {
    let names: Vec<&str> = statuses(state).into_iter().map(Status::name).collect();
    assert_eq!(names, expected);
}

fn signed_in() -> State {
    let (mut state, _) = crate::update::init();
    state.sign_in.auth = Auth::SignedIn(Session {
        base: "/sandbox".into(),
        token: "t".into(),
        username: "sandbox@example.com".into(),
        created_here: true,
    });
    state
}

fn device(product_id: u32) -> Device {
    Device {
        id: "e00fce680000000000000001".into(),
        name: Some("sandbox-p2".into()),
        platform_id: 32,
        product_id,
        serial_number: None,
        online: true,
    }
}

/// Runs "Check your server" to its end (every probe failing: the step is done once checked).
fn server_checked(state: &mut State) {
    use crate::{check, msg::Msg, update::update};
    state.demo.secret = "secret".into();
    let run = check::Msg::Run {
        url: "http://localhost:3000/webhook".into(),
        now_ms: 1_765_000_000_000,
    };
    update(state, Msg::Check(run));
    for index in 0..check::Probe::ALL.len() {
        let outcome = check::Outcome::Failed("TypeError: Failed to fetch".into());
        let run = state.check.run;
        update(
            state,
            Msg::Check(check::Msg::Probed {
                run,
                index,
                outcome,
            }),
        );
    }
    assert!(state.check.done(), "the check ran to its end");
}

/// The one line a phone shows.
fn now(state: &State) -> String {
    let mut object = Object::default();
    view(state, &mut object);
    let value = serde_json::Value::from(object);
    value["stepNow"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn the_path_follows_the_learner() {
    let (state, _) = crate::update::init();
    check(
        &state,
        [
            "current", "locked", "locked", "locked", "locked", "locked", "locked", "locked",
            "locked",
        ],
    );
    assert_eq!(now(&state), "Step 1 of 9 · Sign in");

    let mut state = signed_in();
    state.lists.devices = Devices::Loaded(vec![device(32)]);
    check(
        &state,
        [
            "done", "current", "locked", "locked", "locked", "locked", "locked", "locked", "locked",
        ],
    );
    state.lists.selected_device = Some(device(32).id);
    state.lists.products = Products::Loaded(vec![Product {
        id: 30001,
        name: "webhook-demo-p2-1".into(),
        platform_id: 32,
    }]);
    check(
        &state,
        [
            "done", "done", "current", "locked", "locked", "locked", "locked", "locked", "locked",
        ],
    );
    state.lists.selected_product = Some(30001);
    check(
        &state,
        [
            "done", "done", "done", "current", "locked", "locked", "locked", "locked", "locked",
        ],
    );
    state.lists.devices = Devices::Loaded(vec![device(30001)]);
    check(
        &state,
        [
            "done", "done", "done", "done", "current", "locked", "locked", "locked", "locked",
        ],
    );
    assert_eq!(now(&state), "Step 5 of 9 · Start the demo");
    state.demo.running = true;
    check(
        &state,
        [
            "done", "done", "done", "done", "done", "current", "locked", "locked", "locked",
        ],
    );
    state.demo.test_sent = Some("{\"t\": 25}".into());
    check(
        &state,
        [
            "done", "done", "done", "done", "done", "done", "current", "locked", "locked",
        ],
    );
    state.firmware.flash = Flash::Started("success".into());
    check(
        &state,
        [
            "done", "done", "done", "done", "done", "done", "done", "current", "locked",
        ],
    );
    server_checked(&mut state);
    check(
        &state,
        [
            "done", "done", "done", "done", "done", "done", "done", "done", "current",
        ],
    );
    // Stopping the demo makes Start the step to do again, and Test one to do after it; the
    // flashed firmware and the checked server stay done.
    state.demo.running = false;
    check(
        &state,
        [
            "done", "done", "done", "done", "current", "locked", "done", "done", "locked",
        ],
    );
    state.demo.running = true;
    state.cleanup.progress = vec![Progress {
        step: CleanupStep::Webhook,
        outcome: Some(Ok(Vec::new())),
    }];
    check(&state, ["done"; 9]);
    assert_eq!(now(&state), "Every step done");
    // As cleanup leaves it: the demo stopped and the product gone; the tutorial stays finished.
    state.demo.running = false;
    state.lists.selected_product = None;
    check(&state, ["done"; 9]);
}

#[test]
fn without_a_device_the_device_steps_are_done_by_themselves() {
    let mut state = signed_in();
    state.lists.devices = Devices::Loaded(Vec::new());
    state.lists.products = Products::Loaded(vec![Product {
        id: 30001,
        name: "webhook-demo-p2-1".into(),
        platform_id: 32,
    }]);
    state.lists.selected_product = Some(30001);
    check(
        &state,
        [
            "done", "done", "done", "done", "current", "locked", "done", "locked", "locked",
        ],
    );
}

#[test]
fn a_failed_cleanup_step_is_not_done() {
    let mut state = signed_in();
    state.cleanup.progress = vec![Progress {
        step: CleanupStep::Product,
        outcome: Some(Err("still has devices".into())),
    }];
    assert_eq!(statuses(&state)[8], Status::Locked);
}
