//! A kept run goes into storage and back unchanged, and resumes only once signed in with its
//! product picked: on the same relay session, with the same webhook, secret and answer.

use super::{decode, encode, resume};
use crate::{
    demo::WebhookState,
    msg::{Effect, Msg},
    update::{demo::tests::relay, update},
};

/// A run on the relay with its webhook saved and a 500 chosen.
fn running() -> crate::state::State {
    let mut state = crate::update::demo::tests::started();
    let start = serde_json::json!({"sessionId": "ab", "hookUrl": "http://h/relay/hook/cd",
        "controlUrl": "http://h/relay/control/ab", "resumed": false});
    relay(&mut state, 1, "start", start);
    update(
        &mut state,
        Msg::Demo(crate::demo::Msg::WebhookSaved(Ok("w1".into()))),
    );
    state.demo.answer.status = 500;
    state
}

#[test]
fn a_running_relay_demo_is_kept_and_read_back() {
    let state = running();
    let kept = encode(&state).expect("a running demo is kept");
    let back = decode(&kept).expect("reads back");
    assert_eq!(back.relay.session_id, "ab");
    assert_eq!(back.webhook_id, "w1");
    assert_eq!(back.answer.status, 500);
    assert_eq!(back.secret, state.demo.secret);
    let mut stopped = state.clone();
    stopped.demo.running = false;
    assert_eq!(encode(&stopped), None);
    assert_eq!(decode("{}"), None);
}

#[test]
fn after_a_reload_the_run_resumes_on_the_same_session_once_its_product_is_picked() {
    let state = running();
    let kept = encode(&state).expect("kept");
    let mut reloaded = state.clone();
    reloaded.demo = crate::demo::Demo::default();
    reloaded.resume = decode(&kept);
    // The picks are not back yet: nothing happens.
    reloaded.lists.restoring = Some(Default::default());
    assert_eq!(resume(&mut reloaded), []);
    reloaded.lists.restoring = None;
    let effects = resume(&mut reloaded);
    assert!(reloaded.demo.running && reloaded.resume.is_none());
    assert_eq!(reloaded.demo.webhook, WebhookState::Saved("w1".into()));
    assert_eq!(reloaded.demo.answer.status, 500);
    assert!(
        effects.contains(&Effect::OpenRelay {
            run: reloaded.demo.run,
            url: "http://h/relay/stream?session=ab".into(),
        }),
        "{effects:?}"
    );
    // Another product picked: the kept run is forgotten.
    let mut other = state;
    other.demo = crate::demo::Demo::default();
    other.resume = decode(&kept);
    other.lists.selected_product = Some(1);
    assert_eq!(resume(&mut other), []);
    assert!(other.resume.is_none() && !other.demo.running);
}
