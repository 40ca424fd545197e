//! `update` tests, by area, and the states they start from (the cleanup tests start from them too).

mod lists;
mod sign_in;

use webhook_demo_core::wire::Config;

use crate::{
    failure::ApiFailure,
    lists::Msg as L,
    msg::{Effect, Msg},
    sign_in::{Msg as S, Session},
    state::{Device, Product, ServerConfig, State},
    update::update,
};

fn check(msg: Msg, expected: ServerConfig, expected_sandbox: Option<&str>) {
    let (mut state, effects) = crate::update::init();
    assert_eq!(effects, vec![Effect::FetchConfig]);
    assert_eq!(state.server, ServerConfig::Loading);
    assert_eq!(update(&mut state, msg), Vec::new());
    assert_eq!(state.server, expected);
    assert_eq!(state.sandbox(), expected_sandbox);
}

pub(crate) fn sandbox_state() -> State {
    let (mut state, _) = crate::update::init();
    let config = Config {
        sandbox: Some("/sandbox".into()),
        relay: "/relay/".into(),
        public_url: None,
        sandbox_idle_minutes: None,
        sandbox_keepalive_ms: None,
    };
    update(&mut state, Msg::ConfigLoaded(Ok(config)));
    state
}

pub(crate) fn failure(status: u16, error: &str, description: &str) -> ApiFailure {
    ApiFailure {
        status,
        error: error.into(),
        description: description.into(),
        mfa_token: None,
    }
}

/// Particle's answer to a revoked or expired token.
pub(crate) fn expired_token() -> ApiFailure {
    failure(
        401,
        "invalid_token",
        "The access token provided is invalid.",
    )
}

pub(crate) fn signed_in(state: &mut State, created_here: bool) {
    let msg = Msg::SignIn(S::UserLoaded {
        base: "/sandbox".into(),
        token: "t0k".into(),
        created_here,
        result: Ok("sandbox@example.com".into()),
    });
    let session = Session {
        base: "/sandbox".into(),
        token: "t0k".into(),
        username: "sandbox@example.com".into(),
        created_here,
    };
    assert_eq!(
        update(state, msg),
        vec![
            Effect::LoadSettings("sandbox@example.com".into()),
            Effect::LoadDevices {
                base: "/sandbox".into(),
                token: "t0k".into()
            },
            Effect::LoadProducts {
                base: "/sandbox".into(),
                token: "t0k".into()
            },
            Effect::SaveSession {
                session,
                remember: false
            }
        ]
    );
    // Nothing saved for this user yet.
    assert_eq!(
        update(state, Msg::Lists(L::SettingsLoaded(None))),
        Vec::new()
    );
}

pub(crate) fn product(id: u32, name: &str, platform_id: u32) -> Product {
    Product {
        id,
        name: name.into(),
        platform_id,
    }
}

pub(crate) fn p2(id: &str, product_id: u32) -> Device {
    Device {
        id: id.into(),
        name: Some(id.into()),
        platform_id: 32,
        product_id,
        serial_number: None,
        online: true,
    }
}

/// Signed in to the sandbox with device `a` (a P2) and product 30001 (for P2s) loaded.
pub(crate) fn signed_in_with_lists() -> State {
    let mut state = sandbox_state();
    signed_in(&mut state, true);
    update(
        &mut state,
        Msg::Lists(L::DevicesLoaded(Ok(vec![p2("a", 32)]))),
    );
    let products = vec![product(30001, "one", 32)];
    update(&mut state, Msg::Lists(L::ProductsLoaded(Ok(products))));
    state
}

/// Signed in with the lists, product 30001 picked and device `a` in it.
pub(crate) fn device_in_product() -> State {
    let mut state = signed_in_with_lists();
    update(&mut state, Msg::Lists(L::SelectProduct(30001)));
    update(
        &mut state,
        L::DevicesLoaded(Ok(vec![p2("a", 30001)])).into(),
    );
    state
}
