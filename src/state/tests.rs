//! `update` tests: each message's effect on the state.

use webhook_demo_core::wire::Config;

use crate::state::{
    ApiFailure, Auth, Device, Devices, Effect, Msg, PARTICLE_API, Product, ProductChoice,
    ServerConfig, Session, Settings, State, describe, update,
};

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

fn sandbox_state() -> State {
    let (mut state, _) = State::new();
    let config = Config {
        sandbox: Some("/sandbox".into()),
        relay: "/relay/".into(),
        public_url: None,
    };
    update(&mut state, Msg::ConfigLoaded(Ok(config)));
    state
}

fn failure(status: u16, error: &str, description: &str) -> ApiFailure {
    ApiFailure {
        status,
        error: error.into(),
        description: description.into(),
        mfa_token: None,
    }
}

/// Particle's answer to a revoked or expired token.
fn expired_token() -> ApiFailure {
    failure(
        401,
        "invalid_token",
        "The access token provided is invalid.",
    )
}

fn signed_in(state: &mut State, created_here: bool) {
    let msg = Msg::UserLoaded {
        base: "/sandbox".into(),
        token: "t0k".into(),
        created_here,
        result: Ok("sandbox@example.com".into()),
    };
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
    assert_eq!(update(state, Msg::SettingsLoaded(None)), Vec::new());
}

#[test]
fn sandbox_sign_in_asks_for_a_token_then_checks_it_then_loads_devices() {
    let mut state = sandbox_state();
    let effects = update(&mut state, Msg::SandboxSignIn);
    assert_eq!(
        effects,
        vec![Effect::RequestToken {
            base: "/sandbox".into(),
            username: "sandbox@example.com".into(),
            password: "sandbox".into()
        }]
    );
    assert_eq!(
        state.auth,
        Auth::SignedOut {
            error: None,
            busy: true
        }
    );
    let granted = Msg::TokenGranted {
        base: "/sandbox".into(),
        result: Ok("t0k".into()),
    };
    assert_eq!(
        update(&mut state, granted),
        vec![Effect::CheckToken {
            base: "/sandbox".into(),
            token: "t0k".into(),
            created_here: true
        }]
    );
    signed_in(&mut state, true);
    assert_eq!(state.devices, Devices::Loading);
    assert_eq!(
        state.session().map(|s| s.username.as_str()),
        Some("sandbox@example.com")
    );
}

#[test]
fn no_sandbox_button_without_a_sandbox() {
    let (mut state, _) = State::new();
    assert_eq!(update(&mut state, Msg::SandboxSignIn), Vec::new());
    assert_eq!(
        state.auth,
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
        update(&mut state, Msg::TokenSignIn("  abc \n".into())),
        vec![Effect::CheckToken {
            base: PARTICLE_API.into(),
            token: "abc".into(),
            created_here: false
        }]
    );
    signed_in(&mut state, false);
    assert_eq!(
        update(&mut state, Msg::SignOut),
        vec![Effect::ForgetSession],
        "a pasted token belongs to the learner: forgotten here, not revoked"
    );
    assert_eq!(state.devices, Devices::NotLoaded);
}

#[test]
fn empty_inputs_are_refused_with_a_message() {
    let mut state = sandbox_state();
    assert_eq!(update(&mut state, Msg::TokenSignIn(" ".into())), Vec::new());
    assert_eq!(
        state.auth,
        Auth::SignedOut {
            error: Some("Paste an access token first.".into()),
            busy: false
        }
    );
    let msg = Msg::PasswordSignIn {
        username: "a@b.c".into(),
        password: String::new(),
    };
    assert_eq!(update(&mut state, msg), Vec::new());
    assert_eq!(
        state.auth,
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
        Msg::PasswordSignIn {
            username: "mfa@example.com".into(),
            password: "pw".into(),
        },
    );
    let mut needs_mfa = failure(403, "mfa_required", "Multi-factor authentication required");
    needs_mfa.mfa_token = Some("m1".into());
    update(
        &mut state,
        Msg::TokenGranted {
            base: PARTICLE_API.into(),
            result: Err(needs_mfa),
        },
    );
    assert!(
        matches!(&state.auth, Auth::AwaitingOtp { mfa_token, error: None, .. } if mfa_token == "m1")
    );
    assert_eq!(
        update(&mut state, Msg::OtpSignIn(" 000000 ".into())),
        vec![Effect::RequestOtpToken {
            base: PARTICLE_API.into(),
            mfa_token: "m1".into(),
            otp: "000000".into()
        }]
    );
    let wrong = failure(400, "invalid_grant", "The one-time password is incorrect");
    update(
        &mut state,
        Msg::TokenGranted {
            base: PARTICLE_API.into(),
            result: Err(wrong),
        },
    );
    assert!(matches!(&state.auth,
        Auth::AwaitingOtp { error: Some(e), busy: false, .. } if e == "The one-time password is incorrect (HTTP 400)."));
}

#[test]
fn failures_become_sentences() {
    let mut state = sandbox_state();
    update(
        &mut state,
        Msg::PasswordSignIn {
            username: "a@b.c".into(),
            password: "x".into(),
        },
    );
    let wrong = failure(400, "invalid_grant", "User credentials are invalid");
    update(
        &mut state,
        Msg::TokenGranted {
            base: PARTICLE_API.into(),
            result: Err(wrong),
        },
    );
    let expected = "That email and password do not match a Particle account.";
    assert_eq!(
        state.auth,
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
fn an_expired_token_returns_to_sign_in_and_other_failures_stay_in_the_panel() {
    let mut state = sandbox_state();
    signed_in(&mut state, true);
    update(
        &mut state,
        Msg::DevicesLoaded(Err(failure(500, "server_error", "Something broke"))),
    );
    assert_eq!(
        state.devices,
        Devices::Failed("Something broke (HTTP 500).".into())
    );
    assert!(state.session().is_some());
    let expired = expired_token();
    assert_eq!(
        update(&mut state, Msg::DevicesLoaded(Err(expired))),
        vec![Effect::ForgetSession]
    );
    let expected = "The access token is invalid or has expired. Sign in again.";
    assert_eq!(
        state.auth,
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
        update(&mut state, Msg::SignOut),
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
fn the_pick_survives_a_refresh_and_falls_back_to_the_first() {
    let mut state = sandbox_state();
    signed_in(&mut state, true);
    let device = |id: &str| Device {
        id: id.into(),
        name: None,
        platform_id: 12,
        product_id: 12,
        serial_number: None,
        online: true,
    };
    update(
        &mut state,
        Msg::DevicesLoaded(Ok(vec![device("a"), device("b")])),
    );
    assert_eq!(state.selected_device.as_deref(), Some("a"));
    update(&mut state, Msg::SelectDevice("b".into()));
    update(
        &mut state,
        Msg::DevicesLoaded(Ok(vec![device("a"), device("b")])),
    );
    assert_eq!(state.device().map(|d| d.id.as_str()), Some("b"));
    update(&mut state, Msg::DevicesLoaded(Ok(vec![device("c")])));
    assert_eq!(
        state.selected_device.as_deref(),
        Some("c"),
        "the picked device is gone"
    );
    update(&mut state, Msg::SignOut);
    assert_eq!(state.selected_device, None);
}

#[test]
fn a_saved_session_is_checked_again_after_a_reload() {
    let mut state = sandbox_state();
    let restore = Msg::Restore {
        base: "/sandbox".into(),
        token: "t0k".into(),
        created_here: true,
    };
    assert_eq!(
        update(&mut state, restore),
        vec![Effect::CheckToken {
            base: "/sandbox".into(),
            token: "t0k".into(),
            created_here: true
        }]
    );
    assert_eq!(
        state.auth,
        Auth::SignedOut {
            error: None,
            busy: true
        }
    );
    let refused = Msg::UserLoaded {
        base: "/sandbox".into(),
        token: "t0k".into(),
        created_here: true,
        result: Err(failure(
            401,
            "invalid_token",
            "The access token provided is invalid.",
        )),
    };
    assert_eq!(update(&mut state, refused), vec![Effect::ForgetSession]);
    let offline = Msg::UserLoaded {
        base: "/sandbox".into(),
        token: "t0k".into(),
        created_here: true,
        result: Err(failure(0, "network", "Failed to fetch")),
    };
    assert_eq!(
        update(&mut state, offline),
        Vec::new(),
        "kept: the network may come back"
    );
}

fn product(id: u32, name: &str, platform_id: u32) -> Product {
    Product {
        id,
        name: name.into(),
        platform_id,
    }
}

#[test]
fn the_platform_follows_the_picked_device_and_products_are_filtered_by_it() {
    let mut state = sandbox_state();
    signed_in(&mut state, true);
    let device = |id: &str, platform_id| Device {
        id: id.into(),
        name: None,
        platform_id,
        product_id: platform_id,
        serial_number: None,
        online: true,
    };
    update(
        &mut state,
        Msg::DevicesLoaded(Ok(vec![device("p2", 32), device("boron", 13)])),
    );
    assert_eq!(
        state.platform,
        Some(32),
        "preselected from the first device"
    );
    let products = vec![
        product(201, "fleet", 32),
        product(202, "webhook-demo-photon2p2-1", 32),
        product(203, "b", 13),
    ];
    update(&mut state, Msg::ProductsLoaded(Ok(products)));
    let names: Vec<&str> = state
        .products_for_platform()
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["webhook-demo-photon2p2-1", "fleet"],
        "demo-named first, this platform only"
    );
    assert_eq!(
        state.suggested_product_name(),
        "webhook-demo-photon2p2-2",
        "the first free name"
    );
    update(&mut state, Msg::SelectProduct(201));
    assert_eq!(
        (state.selected_product, state.product_choice),
        (Some(201), ProductChoice::Existing)
    );
    update(&mut state, Msg::SelectProduct(203));
    assert_eq!(
        state.selected_product,
        Some(201),
        "a product of another platform is not selectable"
    );
    update(&mut state, Msg::SelectDevice("boron".into()));
    assert_eq!(
        (state.platform, state.selected_product),
        (Some(13), None),
        "a new platform clears the pick"
    );
}

#[test]
fn creating_a_product_selects_it() {
    let mut state = sandbox_state();
    signed_in(&mut state, true);
    update(&mut state, Msg::ProductsLoaded(Ok(Vec::new())));
    assert_eq!(
        update(&mut state, Msg::CreateProduct("x".into())),
        Vec::new(),
        "no platform chosen yet"
    );
    update(&mut state, Msg::SelectPlatform(12));
    assert_eq!(
        update(&mut state, Msg::CreateProduct("  ".into())),
        Vec::new()
    );
    assert_eq!(
        state.product_error.as_deref(),
        Some("Give the new product a name.")
    );
    assert_eq!(
        update(&mut state, Msg::CreateProduct(" demo ".into())),
        vec![Effect::CreateProduct {
            base: "/sandbox".into(),
            token: "t0k".into(),
            name: "demo".into(),
            platform_id: 12
        }]
    );
    assert!(state.creating_product && state.product_error.is_none());
    let taken = ApiFailure {
        status: 400,
        error: "invalid_request".into(),
        description: "A product named \"demo\" already exists".into(),
        mfa_token: None,
    };
    update(&mut state, Msg::ProductCreated(Err(taken)));
    assert_eq!(
        state.product_error.as_deref(),
        Some("A product named \"demo\" already exists (HTTP 400).")
    );
    update(
        &mut state,
        Msg::ProductCreated(Ok(product(301, "demo2", 12))),
    );
    assert_eq!(
        (state.selected_product, state.creating_product),
        (Some(301), false)
    );
    assert_eq!(state.products_for_platform().len(), 1);
}

#[test]
fn settings_round_trip_and_refuse_garbage() {
    let all = Settings {
        device: Some("e00fce68".into()),
        platform: Some(32),
        product: Some(30001),
    };
    assert_eq!(all.encode(), "e00fce68|32|30001");
    assert_eq!(Settings::decode(&all.encode()), Some(all));
    assert_eq!(Settings::decode("||"), Some(Settings::default()));
    assert_eq!(Settings::decode("a|b"), None);
    assert_eq!(Settings::decode("a|1|2|3"), None);
}

fn p2(id: &str, product_id: u32) -> Device {
    Device {
        id: id.into(),
        name: Some(id.into()),
        platform_id: 32,
        product_id,
        serial_number: None,
        online: true,
    }
}

#[test]
fn saved_picks_come_back_after_sign_in_and_changes_are_saved() {
    let mut state = sandbox_state();
    let msg = Msg::UserLoaded {
        base: "/sandbox".into(),
        token: "t0k".into(),
        created_here: true,
        result: Ok("sandbox@example.com".into()),
    };
    update(&mut state, msg);
    assert_eq!(
        update(&mut state, Msg::SettingsLoaded(Some("b|32|30002".into()))),
        Vec::new(),
        "nothing is saved while restoring"
    );
    let devices = vec![p2("a", 32), p2("b", 32)];
    assert_eq!(
        update(&mut state, Msg::DevicesLoaded(Ok(devices))),
        Vec::new()
    );
    assert_eq!(state.selected_device.as_deref(), Some("b"));
    let products = vec![product(30001, "one", 32), product(30002, "two", 32)];
    update(&mut state, Msg::ProductsLoaded(Ok(products)));
    assert_eq!(state.selected_product, Some(30002));
    assert_eq!(state.restoring, None);
    // From now on every change of pick is saved for this user.
    assert_eq!(
        update(&mut state, Msg::SelectProduct(30001)),
        vec![Effect::SaveSettings {
            username: "sandbox@example.com".into(),
            settings: "b|32|30001".into()
        }]
    );
    assert_eq!(
        update(&mut state, Msg::RefreshDevices).len(),
        1,
        "no save: nothing changed"
    );
}

/// Signed in to the sandbox with device `a` (a P2) and product 30001 (for P2s) loaded.
fn signed_in_with_lists() -> State {
    let mut state = sandbox_state();
    signed_in(&mut state, true);
    update(&mut state, Msg::DevicesLoaded(Ok(vec![p2("a", 32)])));
    let products = vec![product(30001, "one", 32)];
    update(&mut state, Msg::ProductsLoaded(Ok(products)));
    state
}

#[test]
fn saved_picks_that_no_longer_exist_are_ignored() {
    let mut state = signed_in_with_lists();
    // Here the saved picks arrive after the lists: a vanished device or product is not restored.
    update(
        &mut state,
        Msg::SettingsLoaded(Some("gone|32|39999".into())),
    );
    assert_eq!(state.selected_device.as_deref(), Some("a"));
    assert_eq!(state.selected_product, None);
}

#[test]
fn remember_me_keeps_the_session_in_the_browser() {
    let mut state = sandbox_state();
    update(&mut state, Msg::SetRemember(true));
    let msg = Msg::UserLoaded {
        base: "/sandbox".into(),
        token: "t0k".into(),
        created_here: false,
        result: Ok("me@example.com".into()),
    };
    let effects = update(&mut state, msg);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::SaveSession { remember: true, .. })),
        "{effects:?}"
    );
}

#[test]
fn adding_the_device_then_reloads_both_lists() {
    let mut state = signed_in_with_lists();
    assert_eq!(
        update(&mut state, Msg::AddDevice),
        Vec::new(),
        "no product yet"
    );
    update(&mut state, Msg::SelectProduct(30001));
    assert_eq!(
        update(&mut state, Msg::AddDevice),
        vec![Effect::AddDevice {
            base: "/sandbox".into(),
            token: "t0k".into(),
            product_id: 30001,
            device_id: "a".into()
        }]
    );
    assert!(state.adding_device);
    let reload = update(&mut state, Msg::DeviceAdded(Ok(1)));
    assert_eq!(
        reload,
        vec![
            Effect::LoadDevices {
                base: "/sandbox".into(),
                token: "t0k".into()
            },
            Effect::LoadProducts {
                base: "/sandbox".into(),
                token: "t0k".into()
            }
        ]
    );
    assert!(!state.adding_device);
    update(&mut state, Msg::AddDevice);
    let expired = expired_token();
    assert_eq!(
        update(&mut state, Msg::DeviceAdded(Err(expired))),
        vec![Effect::ForgetSession]
    );
    assert!(matches!(state.auth, Auth::SignedOut { error: Some(_), .. }));
    assert_eq!(
        state.selected_product,
        Some(30001),
        "the picks are kept for signing in again"
    );
}

#[test]
fn token_and_password_can_sign_in_to_the_sandbox() {
    let mut state = sandbox_state();
    update(&mut state, Msg::UseSandbox(true));
    assert_eq!(
        update(&mut state, Msg::TokenSignIn("abc".into())),
        vec![Effect::CheckToken {
            base: "/sandbox".into(),
            token: "abc".into(),
            created_here: false
        }]
    );
    let password = Msg::PasswordSignIn {
        username: "mfa@example.com".into(),
        password: "sandbox".into(),
    };
    assert!(
        matches!(&update(&mut state, password)[..], [Effect::RequestToken { base, .. }] if base == "/sandbox")
    );
    // Without a sandbox on offer the choice has no effect.
    let (mut plain, _) = State::new();
    update(&mut plain, Msg::UseSandbox(true));
    assert_eq!(plain.api_base(), PARTICLE_API);
}

#[test]
fn a_401_from_any_call_returns_to_sign_in() {
    let failures: [fn(ApiFailure) -> Msg; 4] = [
        |f| Msg::DevicesLoaded(Err(f)),
        |f| Msg::ProductsLoaded(Err(f)),
        |f| Msg::ProductCreated(Err(f)),
        |f| Msg::DeviceAdded(Err(f)),
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
            state.auth,
            Auth::SignedOut {
                error: Some("The access token is invalid or has expired. Sign in again.".into()),
                busy: false
            },
            "{msg:?}"
        );
        assert!(!state.creating_product && !state.adding_device);
    }
    // Other failures stay in their panel.
    let mut state = signed_in_with_lists();
    let limited = failure(429, "rate_limited", "Too many requests");
    update(&mut state, Msg::ProductCreated(Err(limited)));
    assert!(state.session().is_some());
    assert_eq!(
        state.product_error.as_deref(),
        Some("The Particle cloud is rate-limiting requests. Wait a minute, then try again.")
    );
}

#[test]
fn cleanup_asks_first_then_runs_the_chosen_steps_and_reloads() {
    let mut state = signed_in_with_lists();
    update(&mut state, Msg::SelectProduct(30001));
    // Device `a` is in the product.
    update(&mut state, Msg::DevicesLoaded(Ok(vec![p2("a", 30001)])));
    // The product can go only with its webhook and devices.
    update(
        &mut state,
        Msg::CleanupChoice {
            step: "devices",
            on: false,
        },
    );
    assert_eq!(
        state.cleanup.chosen(0, 0),
        ["webhook", "product"],
        "no devices to remove"
    );
    assert_eq!(state.cleanup.chosen(1, 0), ["webhook"]);
    update(
        &mut state,
        Msg::CleanupChoice {
            step: "devices",
            on: true,
        },
    );
    assert_eq!(
        state.cleanup.chosen(1, 0),
        ["webhook", "devices", "product"]
    );
    update(
        &mut state,
        Msg::CleanupChoice {
            step: "webhook",
            on: false,
        },
    );
    assert_eq!(
        state.cleanup.chosen(1, 0),
        ["devices"],
        "the product needs its webhook gone"
    );
    update(
        &mut state,
        Msg::CleanupChoice {
            step: "webhook",
            on: true,
        },
    );
    assert!(
        update(&mut state, Msg::CleanupConfirm).is_empty(),
        "not asked yet"
    );
    update(&mut state, Msg::CleanupAsk);
    assert!(state.cleanup.confirming);
    update(&mut state, Msg::CleanupCancel);
    assert!(!state.cleanup.confirming);
    update(&mut state, Msg::CleanupAsk);
    assert_eq!(
        update(&mut state, Msg::CleanupConfirm),
        vec![Effect::Cleanup {
            base: "/sandbox".into(),
            token: "t0k".into(),
            product_id: 30001,
            steps: vec!["webhook", "tinker", "devices", "product"]
        }]
    );
    assert!(state.cleanup.running());
    assert!(
        update(
            &mut state,
            Msg::CleanupStepDone {
                step: "webhook",
                result: Ok(())
            }
        )
        .is_empty()
    );
    update(
        &mut state,
        Msg::CleanupStepDone {
            step: "tinker",
            result: Ok(()),
        },
    );
    update(
        &mut state,
        Msg::CleanupStepDone {
            step: "devices",
            result: Ok(()),
        },
    );
    let reload = update(
        &mut state,
        Msg::CleanupStepDone {
            step: "product",
            result: Ok(()),
        },
    );
    assert!(
        reload.contains(&Effect::LoadProducts {
            base: "/sandbox".into(),
            token: "t0k".into()
        }),
        "the lists are loaded again: {reload:?}"
    );
    assert!(
        reload.contains(&Effect::SaveSettings {
            username: "sandbox@example.com".into(),
            settings: "a|32|".into()
        }),
        "the deleted product is no longer a saved pick"
    );
    assert_eq!(state.selected_product, None, "the product is gone");
    assert!(!state.cleanup.running());
}

#[test]
fn a_failed_cleanup_step_is_reported_and_keeps_the_product() {
    let mut state = signed_in_with_lists();
    update(&mut state, Msg::SelectProduct(30001));
    // Device `a` is in the product.
    update(&mut state, Msg::DevicesLoaded(Ok(vec![p2("a", 30001)])));
    update(&mut state, Msg::CleanupAsk);
    update(&mut state, Msg::CleanupConfirm);
    update(
        &mut state,
        Msg::CleanupStepDone {
            step: "webhook",
            result: Ok(()),
        },
    );
    update(
        &mut state,
        Msg::CleanupStepDone {
            step: "tinker",
            result: Ok(()),
        },
    );
    update(
        &mut state,
        Msg::CleanupStepDone {
            step: "devices",
            result: Ok(()),
        },
    );
    let refused = Err("Product 30001 still has 1 integration(s) (HTTP 400).".to_owned());
    update(
        &mut state,
        Msg::CleanupStepDone {
            step: "product",
            result: refused.clone(),
        },
    );
    assert_eq!(state.cleanup.steps[3].outcome, Some(refused));
    assert_eq!(state.selected_product, Some(30001));
}
