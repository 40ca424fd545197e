//! Device and product list tests: picks, platforms, creating a product, adding the device, and the
//! learner's saved picks.

use super::{expired_token, p2, product, sandbox_state, signed_in, signed_in_with_lists};
use crate::{
    failure::ApiFailure,
    firmware::Msg as F,
    lists::Msg as L,
    msg::{Effect, Msg},
    sign_in::{Auth, Msg as S},
    state::{Device, ProductChoice},
    update::update,
};

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
        Msg::Lists(L::DevicesLoaded(Ok(vec![device("a"), device("b")]))),
    );
    assert_eq!(state.lists.selected_device.as_deref(), Some("a"));
    update(&mut state, Msg::Lists(L::SelectDevice("b".into())));
    update(
        &mut state,
        Msg::Lists(L::DevicesLoaded(Ok(vec![device("a"), device("b")]))),
    );
    assert_eq!(state.lists.device().map(|d| d.id.as_str()), Some("b"));
    update(
        &mut state,
        Msg::Lists(L::DevicesLoaded(Ok(vec![device("c")]))),
    );
    assert_eq!(
        state.lists.selected_device.as_deref(),
        Some("c"),
        "the picked device is gone"
    );
    update(&mut state, Msg::SignIn(S::SignOut));
    assert_eq!(state.lists.selected_device, None);
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
        Msg::Lists(L::DevicesLoaded(Ok(vec![
            device("p2", 32),
            device("boron", 13),
        ]))),
    );
    assert_eq!(
        state.lists.platform,
        Some(32),
        "preselected from the first device"
    );
    let products = vec![
        product(201, "fleet", 32),
        product(202, "webhook-demo-photon2p2-1", 32),
        product(203, "b", 13),
    ];
    update(&mut state, Msg::Lists(L::ProductsLoaded(Ok(products))));
    let names: Vec<&str> = state
        .lists
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
        state.lists.suggested_product_name(),
        "webhook-demo-photon2p2-2",
        "the first free name"
    );
    update(&mut state, Msg::Lists(L::SelectProduct(201)));
    assert_eq!(
        (state.lists.selected_product, state.lists.product_choice),
        (Some(201), ProductChoice::Existing)
    );
    update(&mut state, Msg::Lists(L::SelectProduct(203)));
    assert_eq!(
        state.lists.selected_product,
        Some(201),
        "a product of another platform is not selectable"
    );
    update(&mut state, Msg::Lists(L::SelectDevice("boron".into())));
    assert_eq!(
        (state.lists.platform, state.lists.selected_product),
        (Some(13), None),
        "a new platform clears the pick"
    );
}

#[test]
fn creating_a_product_selects_it() {
    let mut state = sandbox_state();
    signed_in(&mut state, true);
    update(&mut state, Msg::Lists(L::ProductsLoaded(Ok(Vec::new()))));
    assert_eq!(
        update(&mut state, Msg::Lists(L::CreateProduct("x".into()))),
        Vec::new(),
        "no platform chosen yet"
    );
    update(&mut state, Msg::Lists(L::SelectPlatform(12)));
    assert_eq!(
        update(&mut state, Msg::Lists(L::CreateProduct("  ".into()))),
        Vec::new()
    );
    assert_eq!(
        state.lists.product_error.as_deref(),
        Some("Give the new product a name.")
    );
    assert_eq!(
        update(&mut state, Msg::Lists(L::CreateProduct(" demo ".into()))),
        vec![Effect::CreateProduct {
            base: "/sandbox".into(),
            token: "t0k".into(),
            name: "demo".into(),
            platform_id: 12
        }]
    );
    assert!(state.lists.creating_product && state.lists.product_error.is_none());
    let taken = ApiFailure {
        status: 400,
        error: "invalid_request".into(),
        description: "A product named \"demo\" already exists".into(),
        mfa_token: None,
    };
    update(&mut state, Msg::Lists(L::ProductCreated(Err(taken))));
    assert_eq!(
        state.lists.product_error.as_deref(),
        Some("A product named \"demo\" already exists (HTTP 400).")
    );
    update(
        &mut state,
        Msg::Lists(L::ProductCreated(Ok(product(301, "demo2", 12)))),
    );
    assert_eq!(
        (state.lists.selected_product, state.lists.creating_product),
        (Some(301), false)
    );
    assert_eq!(state.lists.products_for_platform().len(), 1);
}

#[test]
fn saved_picks_come_back_after_sign_in_and_changes_are_saved() {
    let mut state = sandbox_state();
    let msg = Msg::SignIn(S::UserLoaded {
        base: "/sandbox".into(),
        token: "t0k".into(),
        created_here: true,
        result: Ok("sandbox@example.com".into()),
    });
    update(&mut state, msg);
    assert_eq!(
        update(
            &mut state,
            Msg::Lists(L::SettingsLoaded(Some("b|32|30002".into())))
        ),
        Vec::new(),
        "nothing is saved while restoring"
    );
    let devices = vec![p2("a", 32), p2("b", 32)];
    assert_eq!(
        update(&mut state, Msg::Lists(L::DevicesLoaded(Ok(devices)))),
        Vec::new()
    );
    assert_eq!(state.lists.selected_device.as_deref(), Some("b"));
    let products = vec![product(30001, "one", 32), product(30002, "two", 32)];
    update(&mut state, Msg::Lists(L::ProductsLoaded(Ok(products))));
    assert_eq!(state.lists.selected_product, Some(30002));
    assert_eq!(state.lists.restoring, None);
    // From now on every change of pick is saved for this user.
    assert_eq!(
        update(&mut state, Msg::Lists(L::SelectProduct(30001))),
        vec![Effect::SaveSettings {
            username: "sandbox@example.com".into(),
            settings: "b|32|30001".into()
        }]
    );
    assert_eq!(
        update(&mut state, Msg::Lists(L::RefreshDevices)).len(),
        1,
        "no save: nothing changed"
    );
}

#[test]
fn saved_picks_that_no_longer_exist_are_ignored() {
    let mut state = signed_in_with_lists();
    // Here the saved picks arrive after the lists: a vanished device or product is not restored.
    update(
        &mut state,
        Msg::Lists(L::SettingsLoaded(Some("gone|32|39999".into()))),
    );
    assert_eq!(state.lists.selected_device.as_deref(), Some("a"));
    assert_eq!(state.lists.selected_product, None);
}

#[test]
fn adding_the_device_then_reloads_both_lists() {
    let mut state = signed_in_with_lists();
    assert_eq!(
        update(&mut state, Msg::Lists(L::AddDevice)),
        Vec::new(),
        "no product yet"
    );
    update(&mut state, Msg::Lists(L::SelectProduct(30001)));
    assert_eq!(
        update(&mut state, Msg::Lists(L::AddDevice)),
        vec![Effect::AddDevice {
            base: "/sandbox".into(),
            token: "t0k".into(),
            product_id: 30001,
            device_id: "a".into()
        }]
    );
    assert!(state.lists.adding_device);
    let reload = update(&mut state, Msg::Lists(L::DeviceAdded(Ok(1))));
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
    assert!(!state.lists.adding_device);
    update(&mut state, Msg::Lists(L::AddDevice));
    let expired = expired_token();
    assert_eq!(
        update(&mut state, Msg::Lists(L::DeviceAdded(Err(expired)))),
        vec![Effect::ForgetSession]
    );
    assert!(matches!(
        state.sign_in.auth,
        Auth::SignedOut { error: Some(_), .. }
    ));
    assert_eq!(
        state.lists.selected_product,
        Some(30001),
        "the picks are kept for signing in again"
    );
}

/// A hosted sandbox's `_sim` acts only for the token's owner, so the device log is opened with
/// the learner's token (it went without one, and a hosted server answered 401).
#[test]
fn the_device_log_is_opened_with_the_learners_token() {
    let mut state = signed_in_with_lists();
    let effects = update(&mut state, Msg::Firmware(F::ShowDeviceLog));
    let token = state.session().expect("signed in").token.clone();
    assert_eq!(
        effects,
        [Effect::OpenDeviceLog {
            url: "/sandbox/_sim/devices/a/log".into(),
            token,
        }]
    );
}
