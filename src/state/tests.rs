//! `update` tests: each message's effect on the state.

use webhook_demo_core::wire::Config;

use crate::state::{Effect, Msg, ServerConfig, State, update};

fn check(msg: Msg, expected: ServerConfig, expected_sandbox: Option<&str>) {
    let (mut state, effects) = State::new();
    assert_eq!(effects, vec![Effect::FetchConfig]);
    assert_eq!(state.server, ServerConfig::Loading);
    assert_eq!(update(&mut state, msg), Vec::new());
    assert_eq!(state.server, expected);
    assert_eq!(state.sandbox(), expected_sandbox);
}

#[test]
fn a_server_with_a_sandbox_offers_it() {
    let config = Config {
        sandbox: Some("/sandbox".into()),
        relay: "/relay/".into(),
        public_url: None,
    };
    check(
        Msg::ConfigLoaded(Ok(config.clone())),
        ServerConfig::Loaded(config),
        Some("/sandbox"),
    );
}

#[test]
fn a_server_without_a_sandbox_offers_none() {
    let config = Config {
        sandbox: None,
        relay: "/relay/".into(),
        public_url: None,
    };
    check(
        Msg::ConfigLoaded(Ok(config.clone())),
        ServerConfig::Loaded(config),
        None,
    );
}

#[test]
fn static_hosting_means_no_sandbox() {
    let reason = "config.json answered 404".to_owned();
    check(
        Msg::ConfigLoaded(Err(reason.clone())),
        ServerConfig::Unavailable(reason),
        None,
    );
}
