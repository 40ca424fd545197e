//! The templates and the `Action` enum agree: every `data-action` the page renders, in every
//! state a learner can reach, names an action, and every action is rendered by some state.

use std::collections::BTreeSet;

use serde_json::json;

use crate::{
    action::Action,
    cleanup::Msg as C,
    firmware::Msg as F,
    lists::Msg as L,
    msg::Msg,
    render::Renderer,
    sign_in::Auth,
    state::State,
    update::demo::tests::{relay, sample_hook, started},
    update::{
        tests::{sandbox_state, signed_in_with_lists},
        update,
    },
};

/// Every `data-action="…"` value in `html`.
fn actions_in(html: &str) -> Vec<String> {
    html.split("data-action=\"")
        .skip(1)
        .map(|rest| rest.split_once('"').expect("closing quote").0.to_owned())
        .collect()
}

/// The states whose pages together show every control: signed out, waiting for a one-time code,
/// signed in with lists, a run with a request in it (stopped too), and cleanup asking to confirm
/// for a product with another integration.
fn representative_states() -> Vec<(&'static str, State)> {
    let signed_out = sandbox_state();
    let mut awaiting_otp = signed_out.clone();
    awaiting_otp.sign_in.auth = Auth::AwaitingOtp {
        base: "/sandbox".into(),
        mfa_token: "m".into(),
        error: None,
        busy: false,
    };
    let mut with_request = started();
    let start = json!({"sessionId": "ab", "hookUrl": "http://127.0.0.1:8080/relay/hook/ab",
        "controlUrl": "http://h/c", "resumed": false});
    relay(&mut with_request, 1, "start", start);
    let hook = serde_json::to_value(sample_hook()).expect("serializes");
    relay(&mut with_request, 1, "hook", hook);
    update(
        &mut with_request,
        Msg::Demo(crate::demo::Msg::WebhookSaved(Ok("w".into()))),
    );
    let mut checked = with_request.clone();
    let run = crate::check::Msg::Run {
        url: "http://localhost:3000/webhook".into(),
        now_ms: 1_765_000_000_000,
    };
    update(&mut checked, Msg::Check(run));
    for index in 0..crate::check::Probe::ALL.len() {
        let outcome = crate::check::Outcome::Failed("TypeError: Failed to fetch".into());
        let probed = crate::check::Msg::Probed {
            run: 1,
            index,
            outcome,
        };
        update(&mut checked, Msg::Check(probed));
    }
    let mut asking_sign_out = with_request.clone();
    update(
        &mut asking_sign_out,
        Msg::SignIn(crate::sign_in::Msg::SignOut),
    );
    let mut stopped = with_request.clone();
    update(&mut stopped, Msg::Demo(crate::demo::Msg::Stop));
    let mut picked = signed_in_with_lists();
    update(&mut picked, Msg::Lists(L::SelectProduct(30001)));
    update(&mut picked, Msg::Firmware(F::SerialSupported(true)));
    let mut confirming = picked.clone();
    update(&mut confirming, Msg::Cleanup(C::Ask));
    let other = crate::cleanup::OtherIntegration {
        id: "i1".into(),
        event: "Other".into(),
        url: Some("https://example.com/".into()),
    };
    update(
        &mut confirming,
        Msg::Cleanup(C::Checked {
            product_id: 30001,
            result: Ok(vec![other]),
        }),
    );
    vec![
        ("signed out", signed_out),
        ("awaiting a one-time code", awaiting_otp),
        ("signed in", signed_in_with_lists()),
        ("device and product picked", picked),
        ("a run with a request", with_request),
        ("a stopped run", stopped),
        ("cleanup asking", confirming),
        ("a server checked", checked),
        ("asking before signing out mid-run", asking_sign_out),
    ]
}

#[test]
fn every_rendered_action_parses_and_every_action_is_rendered() {
    let renderer = Renderer::new();
    let mut rendered = BTreeSet::new();
    for (name, state) in representative_states() {
        let page = renderer.page(&state).expect("page renders");
        for action in actions_in(&page) {
            assert!(
                Action::parse(&action).is_some(),
                "{name}: the page renders data-action=\"{action}\", which no Action names"
            );
            rendered.insert(action);
        }
    }
    let never: Vec<&str> = Action::ALL
        .into_iter()
        .map(Action::name)
        .filter(|name| !rendered.contains(*name))
        .collect();
    assert!(never.is_empty(), "actions no state renders: {never:?}");
}

#[test]
fn names_are_unique_and_parse_back() {
    let names: BTreeSet<&str> = Action::ALL.into_iter().map(Action::name).collect();
    assert_eq!(names.len(), Action::ALL.len(), "one name per action");
    for action in Action::ALL {
        assert_eq!(Action::parse(action.name()), Some(action));
    }
    for unknown in ["", "cleanup-all", "Sign-out", "start-demo ", "other"] {
        assert_eq!(Action::parse(unknown), None, "{unknown:?}");
    }
}

/// The check above is only as good as its scan: a template naming an action the page does not
/// have is found.
#[test]
fn an_unknown_action_in_markup_is_found() {
    let html = r#"<button data-action="sign-out">x</button><a data-action="sing-out">y</a>"#;
    let unknown: Vec<String> = actions_in(html)
        .into_iter()
        .filter(|action| Action::parse(action).is_none())
        .collect();
    assert_eq!(unknown, ["sing-out"]);
}
