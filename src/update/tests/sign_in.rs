//! Sign-in tests: the server's configuration, every way of signing in, MFA, sign-out, restoring a
//! saved session, and what an expired token does anywhere.

use webhook_demo_core::wire::Config;

use super::{check, expired_token, failure, sandbox_state, signed_in, signed_in_with_lists};
use crate::{
    failure::{ApiFailure, describe},
    lists::Msg as L,
    msg::{Effect, Msg},
    sign_in::{Auth, Msg as S, PARTICLE_API},
    state::{Devices, ServerConfig},
    update::update,
};

#[test]
fn a_server_with_a_sandbox_offers_it() {
    let config = Config {
        sandbox: Some("/sandbox".into()),
        relay: "/relay/".into(),
        public_url: None,
        sandbox_idle_minutes: None,
        sandbox_keepalive_ms: None,
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
        sandbox_idle_minutes: None,
        sandbox_keepalive_ms: None,
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

#[test]
fn sandbox_sign_in_asks_for_a_token_then_checks_it_then_loads_devices() {
    let mut state = sandbox_state();
    let effects = update(&mut state, Msg::SignIn(S::SandboxSignIn));
    assert_eq!(
        effects,
        vec![Effect::RequestToken {
            base: "/sandbox".into(),
            username: "sandbox@example.com".into(),
            password: "sandbox".into()
        }]
    );
    assert_eq!(
        state.sign_in.auth,
        Auth::SignedOut {
            error: None,
            busy: true
        }
    );
    let granted = Msg::SignIn(S::TokenGranted {
        base: "/sandbox".into(),
        result: Ok("t0k".into()),
    });
    assert_eq!(
        update(&mut state, granted),
        vec![Effect::CheckToken {
            base: "/sandbox".into(),
            token: "t0k".into(),
            created_here: true
        }]
    );
    signed_in(&mut state, true);
    assert_eq!(state.lists.devices, Devices::Loading);
    assert_eq!(
        state.session().map(|s| s.username.as_str()),
        Some("sandbox@example.com")
    );
}

#[test]
fn no_sandbox_button_without_a_sandbox() {
    let (mut state, _) = crate::update::init();
    assert_eq!(
        update(&mut state, Msg::SignIn(S::SandboxSignIn)),
        Vec::new()
    );
    assert_eq!(
        state.sign_in.auth,
        Auth::SignedOut {
            error: None,
            busy: false
        }
    );
}

#[test]
fn token_sign_in_uses_the_real_cloud_and_never_revokes() {
    let mut state = sandbox_state();
    assert_eq!(
        update(&mut state, Msg::SignIn(S::TokenSignIn("  abc \n".into()))),
        vec![Effect::CheckToken {
            base: PARTICLE_API.into(),
            token: "abc".into(),
            created_here: false
        }]
    );
    signed_in(&mut state, false);
    assert_eq!(
        update(&mut state, Msg::SignIn(S::SignOut)),
        vec![Effect::ForgetSession],
        "a pasted token belongs to the learner: forgotten here, not revoked"
    );
    assert_eq!(state.lists.devices, Devices::NotLoaded);
}

#[test]
fn empty_inputs_are_refused_with_a_message() {
    let mut state = sandbox_state();
    assert_eq!(
        update(&mut state, Msg::SignIn(S::TokenSignIn(" ".into()))),
        Vec::new()
    );
    assert_eq!(
        state.sign_in.auth,
        Auth::SignedOut {
            error: Some("Paste an access token first.".into()),
            busy: false
        }
    );
    let msg = Msg::SignIn(S::PasswordSignIn {
        username: "a@b.c".into(),
        password: String::new(),
    });
    assert_eq!(update(&mut state, msg), Vec::new());
    assert_eq!(
        state.sign_in.auth,
        Auth::SignedOut {
            error: Some("Enter your email and password.".into()),
            busy: false
        }
    );
}

#[test]
fn mfa_asks_for_the_code_and_keeps_asking_when_it_is_wrong() {
    let mut state = sandbox_state();
    update(
        &mut state,
        Msg::SignIn(S::PasswordSignIn {
            username: "mfa@example.com".into(),
            password: "pw".into(),
        }),
    );
    let mut needs_mfa = failure(403, "mfa_required", "Multi-factor authentication required");
    needs_mfa.mfa_token = Some("m1".into());
    update(
        &mut state,
        Msg::SignIn(S::TokenGranted {
            base: PARTICLE_API.into(),
            result: Err(needs_mfa),
        }),
    );
    assert!(
        matches!(&state.sign_in.auth, Auth::AwaitingOtp { mfa_token, error: None, .. } if mfa_token == "m1")
    );
    assert_eq!(
        update(&mut state, Msg::SignIn(S::OtpSignIn(" 000000 ".into()))),
        vec![Effect::RequestOtpToken {
            base: PARTICLE_API.into(),
            mfa_token: "m1".into(),
            otp: "000000".into()
        }]
    );
    let wrong = failure(400, "invalid_grant", "The one-time password is incorrect");
    update(
        &mut state,
        Msg::SignIn(S::TokenGranted {
            base: PARTICLE_API.into(),
            result: Err(wrong),
        }),
    );
    assert!(matches!(&state.sign_in.auth,
        Auth::AwaitingOtp { error: Some(e), busy: false, .. } if e == "The one-time password is incorrect (HTTP 400)."));
}

#[test]
fn an_expired_token_returns_to_sign_in_and_other_failures_stay_in_the_panel() {
    let mut state = sandbox_state();
    signed_in(&mut state, true);
    update(
        &mut state,
        Msg::Lists(L::DevicesLoaded(Err(failure(
            500,
            "server_error",
            "Something broke",
        )))),
    );
    assert_eq!(
        state.lists.devices,
        Devices::Failed("Something broke (HTTP 500).".into())
    );
    assert!(state.session().is_some());
    let expired = expired_token();
    assert_eq!(
        update(&mut state, Msg::Lists(L::DevicesLoaded(Err(expired)))),
        vec![Effect::ForgetSession]
    );
    let expected = "The access token is invalid or has expired. Sign in again.";
    assert_eq!(
        state.sign_in.auth,
        Auth::SignedOut {
            error: Some(expected.into()),
            busy: false
        }
    );
}

#[test]
fn sign_out_revokes_a_token_the_page_created() {
    let mut state = sandbox_state();
    signed_in(&mut state, true);
    assert_eq!(
        update(&mut state, Msg::SignIn(S::SignOut)),
        vec![
            Effect::RevokeToken {
                base: "/sandbox".into(),
                token: "t0k".into()
            },
            Effect::ForgetSession
        ]
    );
    assert_eq!(state.session(), None);
}

#[test]
fn a_saved_session_is_checked_again_after_a_reload() {
    let mut state = sandbox_state();
    let restore = Msg::SignIn(S::Restore {
        base: "/sandbox".into(),
        token: "t0k".into(),
        created_here: true,
    });
    assert_eq!(
        update(&mut state, restore),
        vec![Effect::CheckToken {
            base: "/sandbox".into(),
            token: "t0k".into(),
            created_here: true
        }]
    );
    assert_eq!(
        state.sign_in.auth,
        Auth::SignedOut {
            error: None,
            busy: true
        }
    );
    let refused = Msg::SignIn(S::UserLoaded {
        base: "/sandbox".into(),
        token: "t0k".into(),
        created_here: true,
        result: Err(failure(
            401,
            "invalid_token",
            "The access token provided is invalid.",
        )),
    });
    assert_eq!(update(&mut state, refused), vec![Effect::ForgetSession]);
    let offline = Msg::SignIn(S::UserLoaded {
        base: "/sandbox".into(),
        token: "t0k".into(),
        created_here: true,
        result: Err(failure(0, "network", "Failed to fetch")),
    });
    assert_eq!(
        update(&mut state, offline),
        Vec::new(),
        "kept: the network may come back"
    );
}

#[test]
fn remember_me_keeps_the_session_in_the_browser() {
    let mut state = sandbox_state();
    update(&mut state, Msg::SignIn(S::SetRemember(true)));
    let msg = Msg::SignIn(S::UserLoaded {
        base: "/sandbox".into(),
        token: "t0k".into(),
        created_here: false,
        result: Ok("me@example.com".into()),
    });
    let effects = update(&mut state, msg);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::SaveSession { remember: true, .. })),
        "{effects:?}"
    );
}

#[test]
fn token_and_password_can_sign_in_to_the_sandbox() {
    let mut state = sandbox_state();
    update(&mut state, Msg::SignIn(S::UseSandbox(true)));
    assert_eq!(
        update(&mut state, Msg::SignIn(S::TokenSignIn("abc".into()))),
        vec![Effect::CheckToken {
            base: "/sandbox".into(),
            token: "abc".into(),
            created_here: false
        }]
    );
    let password = Msg::SignIn(S::PasswordSignIn {
        username: "mfa@example.com".into(),
        password: "sandbox".into(),
    });
    assert!(
        matches!(&update(&mut state, password)[..], [Effect::RequestToken { base, .. }] if base == "/sandbox")
    );
    // Without a sandbox on offer the choice has no effect.
    let (mut plain, _) = crate::update::init();
    update(&mut plain, Msg::SignIn(S::UseSandbox(true)));
    assert_eq!(
        plain.server.api_base(plain.sign_in.use_sandbox),
        PARTICLE_API
    );
}

#[test]
fn a_401_from_any_call_returns_to_sign_in() {
    let failures: [fn(ApiFailure) -> Msg; 4] = [
        |f| Msg::Lists(L::DevicesLoaded(Err(f))),
        |f| Msg::Lists(L::ProductsLoaded(Err(f))),
        |f| Msg::Lists(L::ProductCreated(Err(f))),
        |f| Msg::Lists(L::DeviceAdded(Err(f))),
    ];
    for failed in failures {
        let mut state = signed_in_with_lists();
        let msg = failed(expired_token());
        assert_eq!(
            update(&mut state, msg.clone()),
            vec![Effect::ForgetSession],
            "{msg:?}"
        );
        assert_eq!(
            state.sign_in.auth,
            Auth::SignedOut {
                error: Some("The access token is invalid or has expired. Sign in again.".into()),
                busy: false
            },
            "{msg:?}"
        );
        assert!(!state.lists.creating_product && !state.lists.adding_device);
    }
    // Other failures stay in their panel.
    let mut state = signed_in_with_lists();
    let limited = failure(429, "rate_limited", "Too many requests");
    update(&mut state, Msg::Lists(L::ProductCreated(Err(limited))));
    assert!(state.session().is_some());
    assert_eq!(
        state.lists.product_error.as_deref(),
        Some("The Particle cloud is rate-limiting requests. Wait a minute, then try again.")
    );
}

#[test]
fn failures_become_sentences() {
    let mut state = sandbox_state();
    update(
        &mut state,
        Msg::SignIn(S::PasswordSignIn {
            username: "a@b.c".into(),
            password: "x".into(),
        }),
    );
    let wrong = failure(400, "invalid_grant", "User credentials are invalid");
    update(
        &mut state,
        Msg::SignIn(S::TokenGranted {
            base: PARTICLE_API.into(),
            result: Err(wrong),
        }),
    );
    let expected = "That email and password do not match a Particle account.";
    assert_eq!(
        state.sign_in.auth,
        Auth::SignedOut {
            error: Some(expected.into()),
            busy: false
        }
    );
    assert_eq!(
        describe(&failure(0, "network", "TypeError: Failed to fetch")),
        "Could not reach the Particle cloud (TypeError: Failed to fetch). Check your connection and try again."
    );
    assert_eq!(
        describe(&failure(429, "", "")),
        "The Particle cloud is rate-limiting requests. Wait a minute, then try again."
    );
}

#[test]
fn a_hosted_sandboxs_refusals_become_sentences_with_a_way_forward() {
    assert_eq!(
        describe(&failure(
            401,
            "invalid_token",
            "This sandbox expired after 30 minutes without use; sign in again to start a new one"
        )),
        "Your sandbox expired after 30 minutes without use; press Try the sandbox to start again."
    );
    // The server's own figure, whatever it was started with.
    assert_eq!(
        describe(&failure(
            401,
            "invalid_token",
            "This sandbox expired after 5 minutes without use; sign in again to start a new one"
        )),
        "Your sandbox expired after 5 minutes without use; press Try the sandbox to start again."
    );
    assert_eq!(
        describe(&failure(
            503,
            "service_unavailable",
            "The sandbox is full right now; try again in a minute"
        )),
        "The sandbox is full right now; try again in a minute."
    );
}

#[test]
fn signing_out_mid_run_asks_first_and_no_keeps_the_run() {
    let mut state = crate::update::demo::tests::started();
    assert_eq!(update(&mut state, Msg::SignIn(S::SignOut)), []);
    assert!(state.sign_in.asking_sign_out && state.demo.running && state.session().is_some());
    update(&mut state, Msg::SignIn(S::KeepSignedIn));
    assert!(!state.sign_in.asking_sign_out && state.demo.running && state.session().is_some());
    update(&mut state, Msg::SignIn(S::SignOut));
    update(&mut state, Msg::SignIn(S::SignOutAnyway));
    assert!(!state.sign_in.asking_sign_out && !state.demo.running && state.session().is_none());
}
