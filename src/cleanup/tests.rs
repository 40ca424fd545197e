//! Cleanup tests: choosing, checking, confirming and reporting the steps, and what each step asks
//! of the Particle API.

use serde_json::{Value, json};

use crate::{
    action::Action,
    cleanup::{
        Body, Call, CleanupStep,
        CleanupStep::{Devices, Integrations, Product, Tinker, Webhook},
        Method, Msg as C, OtherIntegration, Plan,
    },
    msg::{Effect, Msg},
    render::Renderer,
    state::State,
    update::{
        tests::{device_in_product, signed_in_with_lists},
        update,
    },
};

fn done(state: &mut State, step: CleanupStep) -> Vec<Effect> {
    update(
        state,
        Msg::Cleanup(C::StepDone {
            step,
            result: Ok(Vec::new()),
        }),
    )
}

/// Ticks or unticks the box of `step`.
fn choose(state: &mut State, step: CleanupStep, on: bool) {
    update(state, Msg::Cleanup(C::Choose { step, on }));
}

/// Clicks Clean up and answers the check with `others`: the product's other integrations.
fn ask(state: &mut State, others: Vec<OtherIntegration>) -> Vec<Effect> {
    let check = update(state, Msg::Cleanup(C::Ask));
    assert_eq!(
        check,
        [Effect::CleanupCheck {
            base: "/sandbox".into(),
            token: "t0k".into(),
            product_id: 30001
        }],
        "Clean up lists the product's integrations first"
    );
    assert!(state.cleanup.checking && !state.cleanup.confirming);
    update(
        state,
        Msg::Cleanup(C::Checked {
            product_id: 30001,
            result: Ok(others),
        }),
    )
}

fn other(id: &str, event: &str) -> OtherIntegration {
    OtherIntegration {
        id: id.into(),
        event: event.into(),
        url: Some("https://example.com/hook".into()),
    }
}

#[test]
fn cleanup_asks_first_then_runs_the_chosen_steps_and_reloads() {
    let mut state = device_in_product();
    let product = Some(30001);
    // The product can go only with its webhook and devices.
    choose(&mut state, Devices, false);
    assert_eq!(
        state.cleanup.chosen(product, 0, 0),
        [Webhook, Product],
        "no devices to remove"
    );
    assert_eq!(state.cleanup.chosen(product, 1, 0), [Webhook]);
    choose(&mut state, Devices, true);
    assert_eq!(
        state.cleanup.chosen(product, 1, 0),
        [Webhook, Devices, Product]
    );
    choose(&mut state, Webhook, false);
    assert_eq!(
        state.cleanup.chosen(product, 1, 0),
        [Devices],
        "the product needs its webhook gone"
    );
    choose(&mut state, Webhook, true);
    assert!(
        update(&mut state, Msg::Cleanup(C::Confirm)).is_empty(),
        "not asked yet"
    );
    ask(&mut state, Vec::new());
    assert!(state.cleanup.confirming);
    update(&mut state, Msg::Cleanup(C::Cancel));
    assert!(!state.cleanup.confirming);
    ask(&mut state, Vec::new());
    assert_eq!(
        update(&mut state, Msg::Cleanup(C::Confirm)),
        vec![Effect::Cleanup {
            base: "/sandbox".into(),
            token: "t0k".into(),
            product_id: 30001,
            steps: vec![Webhook, Tinker, Devices, Product],
        }]
    );
    assert!(state.cleanup.running());
    state.demo.test_sent = Some("{}".into());
    assert!(done(&mut state, Webhook).is_empty());
    assert_eq!(
        state.demo.test_sent, None,
        "the test sent to a deleted webhook is not shown"
    );
    done(&mut state, Tinker);
    done(&mut state, Devices);
    let reload = done(&mut state, Product);
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
    assert_eq!(state.lists.selected_product, None, "the product is gone");
    assert!(!state.cleanup.running());
}

#[test]
fn a_failed_cleanup_step_is_reported_and_keeps_the_product() {
    let mut state = device_in_product();
    ask(&mut state, Vec::new());
    update(&mut state, Msg::Cleanup(C::Confirm));
    done(&mut state, Webhook);
    done(&mut state, Tinker);
    done(&mut state, Devices);
    let refused = Err("Product 30001 still has 1 integration(s) (HTTP 400).".to_owned());
    update(
        &mut state,
        Msg::Cleanup(C::StepDone {
            step: Product,
            result: refused.clone(),
        }),
    );
    assert_eq!(state.cleanup.progress[3].outcome, Some(refused));
    assert_eq!(state.lists.selected_product, Some(30001));
}

/// A step exists only as one of the variants: a name the page does not know (a typo in a
/// template, an old action) is no step at all, rather than falling through to another step's
/// action, as `_ => delete the product` once did. Regression test for issue 16.
#[test]
fn a_step_the_page_does_not_know_cannot_be_asked_for() {
    let names: Vec<&str> = CleanupStep::ALL.iter().map(|step| step.name()).collect();
    assert_eq!(
        names,
        ["webhook", "integrations", "tinker", "devices", "product"]
    );
    for step in CleanupStep::ALL {
        let action = format!("cleanup-{}", step.name());
        assert_eq!(step.action(), action);
        assert_eq!(Action::parse(&action), Some(Action::CleanupChoose(step)));
    }
    for unknown in [
        "cleanup-products",
        "cleanup-",
        "cleanup-Product",
        "product",
        "cleanup-all",
    ] {
        assert_eq!(Action::parse(unknown), None, "{unknown}");
    }
}

fn delete(path: &str) -> Call {
    Call {
        method: Method::Delete,
        path: path.into(),
        body: Body::None,
    }
}

fn plan(calls: Vec<Call>) -> Option<Plan> {
    Some(Plan {
        calls,
        notes: Vec::new(),
    })
}

/// Each step reads and changes only what is its own: the webhook step deletes the demo's webhook
/// and no other integration, the integrations step the others and not the demo's, Tinker goes to
/// the online devices only, the devices step removes the devices from the product (and deletes
/// nothing else), and only the product step deletes the product.
#[test]
fn each_step_calls_exactly_its_own_api() {
    let integrations = json!([
        {"id": "other", "event": "SomethingElse"},
        {"id": "w1", "event": "WebhookDemo01"}
    ]);
    let devices = json!({"devices": [
        {"id": "a", "name": "a", "platform_id": 32, "online": true},
        {"id": "b", "name": "b", "platform_id": 32, "online": false}
    ]});
    let check = |step: CleanupStep, listing: Option<&str>, listed: &Value, calls: Vec<Call>| {
        assert_eq!(step.listing(30001).as_deref(), listing, "{step:?} reads");
        assert_eq!(
            step.plan(30001, listed).map(|plan| plan.calls),
            Some(calls),
            "{step:?} sends"
        );
    };
    let integrations_path = Some("/v1/products/30001/integrations");
    check(
        Webhook,
        integrations_path,
        &integrations,
        vec![delete("/v1/products/30001/integrations/w1")],
    );
    check(
        Webhook,
        integrations_path,
        &json!([{"id": "other", "event": "SomethingElse"}]),
        Vec::new(),
    );
    check(
        Integrations,
        integrations_path,
        &integrations,
        vec![delete("/v1/products/30001/integrations/other")],
    );
    check(
        Tinker,
        Some("/v1/products/30001/devices?per_page=100"),
        &devices,
        vec![
            Call {
                method: Method::Put,
                path: "/v1/products/30001/devices/a".into(),
                body: Body::Json(r#"{"development":true}"#),
            },
            Call {
                method: Method::Put,
                path: "/v1/devices/a".into(),
                body: Body::Binary("tinker/p2.bin".into()),
            },
        ],
    );
    check(
        Devices,
        Some("/v1/products/30001/devices?per_page=100"),
        &devices,
        vec![
            delete("/v1/products/30001/devices/a"),
            delete("/v1/products/30001/devices/b"),
        ],
    );
    check(
        Product,
        None,
        &Value::Null,
        vec![delete("/v1/products/30001")],
    );
    // A reply in another shape is a failure of the step, not an empty list.
    assert_eq!(
        Devices.plan(30001, &json!({"devices": [{"online": true}]})),
        None
    );
    assert_eq!(Tinker.plan(30001, &json!([])), None);
    assert_eq!(Integrations.plan(30001, &json!({"integrations": []})), None);
    assert_eq!(
        Product.plan(30001, &Value::Null),
        plan(vec![delete("/v1/products/30001")])
    );
}

/// Tinker goes back as particle-cli puts it back (`particle flash <device> tinker`): each online
/// product device is marked as a development device, then sent Particle's Tinker binary for its
/// platform; nothing asks the API to flash an app by name (`{"app": "tinker"}`, removed from
/// particle-api-js 12). A device whose platform has no Tinker binary, or that is offline, is
/// named with what to do instead.
#[test]
fn tinker_is_flashed_as_particle_cli_does_and_never_by_name() {
    let devices = json!({"devices": [
        {"id": "b1", "name": "boron", "platform_id": 13, "online": true},
        {"id": "m1", "name": "msom", "platform_id": 35, "online": true},
        {"id": "p1", "name": "sleepy", "platform_id": 32, "online": false},
        {"id": "p2", "platform_id": 32, "online": true}
    ]});
    let plan = Tinker.plan(30001, &devices).expect("a plan");
    for call in &plan.calls {
        if let Body::Json(json) = call.body {
            assert!(!json.contains("\"app\""), "{call:?} flashes an app by name");
        }
    }
    let sent: Vec<(&str, &str, &Body)> = plan
        .calls
        .iter()
        .map(|call| (call.method.as_str(), call.path.as_str(), &call.body))
        .collect();
    let development = Body::Json(r#"{"development":true}"#);
    assert_eq!(
        sent,
        [
            ("PUT", "/v1/products/30001/devices/b1", &development),
            (
                "PUT",
                "/v1/devices/b1",
                &Body::Binary("tinker/boron.bin".into())
            ),
            ("PUT", "/v1/products/30001/devices/p2", &development),
            (
                "PUT",
                "/v1/devices/p2",
                &Body::Binary("tinker/p2.bin".into())
            ),
        ]
    );
    assert_eq!(
        plan.notes,
        [
            "msom keeps the demo firmware: Particle ships no Tinker binary for M-SoM. Flash your \
             own firmware to it instead (Particle Workbench, or `particle flash m1 <your \
             project>`).",
            "sleepy is offline and keeps the demo firmware: once it is online, `particle flash \
             p1 tinker` restores Tinker.",
        ]
    );
    // The notes show in the step's line once it is done.
    let mut state = device_in_product();
    ask(&mut state, Vec::new());
    update(&mut state, Msg::Cleanup(C::Confirm));
    update(
        &mut state,
        Msg::Cleanup(C::StepDone {
            step: Tinker,
            result: Ok(plan.notes.clone()),
        }),
    );
    let page = Renderer::new().page(&state).expect("renders");
    assert!(
        page.contains("Particle ships no Tinker binary for M-SoM"),
        "the note is in the progress list"
    );
}

/// A product with integrations the tutorial did not make: Clean up lists them, the box to delete
/// them too is off, and the product then stays, saying why; ticked, they go before the product.
#[test]
fn other_integrations_are_listed_and_deleted_only_when_chosen() {
    let mut state = signed_in_with_lists();
    update(
        &mut state,
        Msg::Lists(crate::lists::Msg::SelectProduct(30001)),
    );
    ask(&mut state, vec![other("i1", "Mine"), other("i2", "Yours")]);
    assert!(state.cleanup.confirming);
    assert!(!state.cleanup.integrations, "off by default");
    let product = Some(30001);
    assert_eq!(state.cleanup.chosen(product, 0, 0), [Webhook]);
    assert_eq!(
        state.cleanup.product_kept_because(product, 0).as_deref(),
        Some("it still has 2 other integrations")
    );
    let page = Renderer::new().page(&state).expect("renders");
    for shown in [
        "id=\"cleanupIntegrations\"",
        "<code>Mine</code>",
        "<code>Yours</code>",
        "The product stays: it still has 2 other integrations, and Particle deletes no product \
         that still has integrations or devices.",
        "This will delete the webhook WebhookDemo01. Go ahead?",
    ] {
        assert!(page.contains(shown), "{shown}");
    }
    choose(&mut state, Integrations, true);
    assert_eq!(
        state.cleanup.chosen(product, 0, 0),
        [Webhook, Integrations, Product]
    );
    assert_eq!(state.cleanup.product_kept_because(product, 0), None);
    // What the check found is for its product only.
    assert_eq!(state.cleanup.chosen(Some(30002), 0, 0), [Webhook, Product]);
    update(&mut state, Msg::Cleanup(C::Ask));
    update(
        &mut state,
        Msg::Cleanup(C::Checked {
            product_id: 30001,
            result: Ok(vec![other("i1", "Mine")]),
        }),
    );
    let page = Renderer::new().page(&state).expect("renders");
    assert!(
        page.contains(
            "This will delete the webhook WebhookDemo01, delete the product&#x27;s other \
             integration and delete the product one (30001). Go ahead?"
        ),
        "{page}"
    );
    let steps = update(&mut state, Msg::Cleanup(C::Confirm));
    assert!(
        matches!(&steps[..], [Effect::Cleanup { steps, .. }] if steps == &[Webhook, Integrations, Product]),
        "{steps:?}"
    );
    // A check that answers for another product, or after the question, changes nothing.
    let before = state.cleanup.clone();
    update(
        &mut state,
        Msg::Cleanup(C::Checked {
            product_id: 30002,
            result: Ok(Vec::new()),
        }),
    );
    assert_eq!(state.cleanup, before);
}

/// What is gone already (a 404 to a deletion) is removed, as the learner asked: the webhook, an
/// integration, a device or the product deleted elsewhere does not fail the cleanup. Any other
/// failure does, and a 404 to Tinker's calls (which remove nothing) is still a failure.
#[test]
fn an_object_already_gone_counts_as_removed() {
    let listed = json!([{"id": "w1", "event": "WebhookDemo01"}, {"id": "i1", "event": "X"}]);
    let devices = json!({"devices": [{"id": "a", "platform_id": 32, "online": true}]});
    for (step, listed) in [
        (Webhook, &listed),
        (Integrations, &listed),
        (Devices, &devices),
        (Product, &Value::Null),
    ] {
        let calls = step.plan(30001, listed).expect("calls").calls;
        assert!(!calls.is_empty(), "{step:?}");
        for call in calls {
            assert!(call.done_by(204) && call.done_by(200), "{call:?}");
            assert!(call.done_by(404), "{call:?}: gone already is done");
            for status in [400, 401, 403, 500] {
                assert!(!call.done_by(status), "{call:?} {status}");
            }
        }
    }
    for call in Tinker.plan(30001, &devices).expect("calls").calls {
        assert!(!call.done_by(404), "{call:?}");
    }
}

#[test]
fn once_cleanup_deleted_the_webhook_its_address_is_shown_no_more() {
    let mut state = device_in_product();
    update(
        &mut state,
        Msg::Demo(crate::demo::Msg::Start {
            secret: "s".into(),
            relay: String::new(),
            smee: String::new(),
        }),
    );
    let start = json!({"sessionId": "ab", "hookUrl": "http://h/relay/hook/cd",
        "controlUrl": "http://h/relay/control/ab", "resumed": false});
    let run = state.demo.run;
    crate::update::demo::tests::relay(&mut state, run, "start", start);
    update(
        &mut state,
        Msg::Demo(crate::demo::Msg::WebhookSaved(Ok("w1".into()))),
    );
    let shown = |state: &State| crate::render::view::view(state)["hookUrl"].clone();
    assert_eq!(shown(&state), json!("http://h/relay/hook/cd"));
    // Stopped, the webhook is still in the product, pointing there.
    update(&mut state, Msg::Demo(crate::demo::Msg::Stop));
    assert_eq!(shown(&state), json!("http://h/relay/hook/cd"));
    ask(&mut state, Vec::new());
    update(&mut state, Msg::Cleanup(C::Confirm));
    done(&mut state, Webhook);
    assert_eq!(
        shown(&state),
        Value::Null,
        "the deleted webhook's address is still shown"
    );
}
