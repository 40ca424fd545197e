//! Cleanup tests: choosing, confirming and reporting the steps, and what each step asks of the
//! Particle API.

use serde_json::json;

use crate::{
    action::Action,
    cleanup::{
        Call, CleanupStep,
        CleanupStep::{Devices, Product, Webhook},
        Method, Msg as C,
    },
    msg::{Effect, Msg},
    update::{tests::device_in_product, update},
};

#[test]
fn cleanup_asks_first_then_runs_the_chosen_steps_and_reloads() {
    let mut state = device_in_product();
    // The product can go only with its webhook and devices.
    update(
        &mut state,
        Msg::Cleanup(C::Choose {
            step: CleanupStep::Devices,
            on: false,
        }),
    );
    assert_eq!(
        state.cleanup.chosen(0, 0),
        [Webhook, Product],
        "no devices to remove"
    );
    assert_eq!(state.cleanup.chosen(1, 0), [Webhook]);
    update(
        &mut state,
        Msg::Cleanup(C::Choose {
            step: CleanupStep::Devices,
            on: true,
        }),
    );
    assert_eq!(state.cleanup.chosen(1, 0), [Webhook, Devices, Product]);
    update(
        &mut state,
        Msg::Cleanup(C::Choose {
            step: CleanupStep::Webhook,
            on: false,
        }),
    );
    assert_eq!(
        state.cleanup.chosen(1, 0),
        [Devices],
        "the product needs its webhook gone"
    );
    update(
        &mut state,
        Msg::Cleanup(C::Choose {
            step: CleanupStep::Webhook,
            on: true,
        }),
    );
    assert!(
        update(&mut state, Msg::Cleanup(C::Confirm)).is_empty(),
        "not asked yet"
    );
    update(&mut state, Msg::Cleanup(C::Ask));
    assert!(state.cleanup.confirming);
    update(&mut state, Msg::Cleanup(C::Cancel));
    assert!(!state.cleanup.confirming);
    update(&mut state, Msg::Cleanup(C::Ask));
    assert_eq!(
        update(&mut state, Msg::Cleanup(C::Confirm)),
        vec![Effect::Cleanup {
            base: "/sandbox".into(),
            token: "t0k".into(),
            product_id: 30001,
            steps: CleanupStep::ALL.to_vec()
        }]
    );
    assert!(state.cleanup.running());
    state.demo.test_sent = Some("{}".into());
    assert!(
        update(
            &mut state,
            Msg::Cleanup(C::StepDone {
                step: CleanupStep::Webhook,
                result: Ok(())
            })
        )
        .is_empty()
    );
    assert_eq!(
        state.demo.test_sent, None,
        "the test sent to a deleted webhook is not shown"
    );
    update(
        &mut state,
        Msg::Cleanup(C::StepDone {
            step: CleanupStep::Tinker,
            result: Ok(()),
        }),
    );
    update(
        &mut state,
        Msg::Cleanup(C::StepDone {
            step: CleanupStep::Devices,
            result: Ok(()),
        }),
    );
    let reload = update(
        &mut state,
        Msg::Cleanup(C::StepDone {
            step: CleanupStep::Product,
            result: Ok(()),
        }),
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
    assert_eq!(state.lists.selected_product, None, "the product is gone");
    assert!(!state.cleanup.running());
}

#[test]
fn a_failed_cleanup_step_is_reported_and_keeps_the_product() {
    let mut state = device_in_product();
    update(&mut state, Msg::Cleanup(C::Ask));
    update(&mut state, Msg::Cleanup(C::Confirm));
    update(
        &mut state,
        Msg::Cleanup(C::StepDone {
            step: CleanupStep::Webhook,
            result: Ok(()),
        }),
    );
    update(
        &mut state,
        Msg::Cleanup(C::StepDone {
            step: CleanupStep::Tinker,
            result: Ok(()),
        }),
    );
    update(
        &mut state,
        Msg::Cleanup(C::StepDone {
            step: CleanupStep::Devices,
            result: Ok(()),
        }),
    );
    let refused = Err("Product 30001 still has 1 integration(s) (HTTP 400).".to_owned());
    update(
        &mut state,
        Msg::Cleanup(C::StepDone {
            step: CleanupStep::Product,
            result: refused.clone(),
        }),
    );
    assert_eq!(state.cleanup.progress[3].outcome, Some(refused));
    assert_eq!(state.lists.selected_product, Some(30001));
}

/// A step exists only as one of the four variants: a name the page does not know (a typo in a
/// template, an old action) is no step at all, rather than falling through to another step's
/// action, as `_ => delete the product` once did. Regression test for issue 16.
#[test]
fn a_step_the_page_does_not_know_cannot_be_asked_for() {
    let names: Vec<&str> = CleanupStep::ALL.iter().map(|step| step.name()).collect();
    assert_eq!(names, ["webhook", "tinker", "devices", "product"]);
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

/// Each step reads and changes only what is its own: the webhook step deletes the demo's webhook
/// and no other integration, Tinker goes to the online devices only, the devices step removes the
/// devices from the product (and deletes nothing else), and only the product step deletes the
/// product.
#[test]
fn each_step_calls_exactly_its_own_api() {
    let delete = |path: &str| Call {
        method: Method::Delete,
        path: path.into(),
        body: None,
    };
    let integrations = json!([
        {"id": "other", "event": "SomethingElse"},
        {"id": "w1", "event": "WebhookDemo01"}
    ]);
    let devices = json!({"devices": [
        {"id": "a", "online": true},
        {"id": "b", "online": false}
    ]});
    let check =
        |step: CleanupStep, listing: Option<&str>, listed: &serde_json::Value, calls: Vec<Call>| {
            assert_eq!(step.listing(30001).as_deref(), listing, "{step:?} reads");
            assert_eq!(step.calls(30001, listed), Some(calls), "{step:?} sends");
        };
    check(
        Webhook,
        Some("/v1/products/30001/integrations"),
        &integrations,
        vec![delete("/v1/products/30001/integrations/w1")],
    );
    check(
        Webhook,
        Some("/v1/products/30001/integrations"),
        &json!([{"id": "other", "event": "SomethingElse"}]),
        Vec::new(),
    );
    check(
        CleanupStep::Tinker,
        Some("/v1/products/30001/devices?per_page=100"),
        &devices,
        vec![Call {
            method: Method::Put,
            path: "/v1/devices/a".into(),
            body: Some(r#"{"app":"tinker"}"#),
        }],
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
        &serde_json::Value::Null,
        vec![delete("/v1/products/30001")],
    );
    // A device list in another shape is a failure of the step, not an empty list.
    assert_eq!(
        Devices.calls(30001, &json!({"devices": [{"online": true}]})),
        None
    );
    assert_eq!(CleanupStep::Tinker.calls(30001, &json!([])), None);
}

/// What is gone already (a 404 to a deletion) is removed, as the learner asked: the webhook, a
/// device or the product deleted elsewhere does not fail the cleanup. Any other failure does,
/// and a 404 to Tinker's flash (which removes nothing) is still a failure.
#[test]
fn an_object_already_gone_counts_as_removed() {
    let listed = json!([{"id": "w1", "event": "WebhookDemo01"}]);
    let devices = json!({"devices": [{"id": "a", "online": true}]});
    for (step, listed) in [
        (Webhook, &listed),
        (Devices, &devices),
        (Product, &serde_json::Value::Null),
    ] {
        for call in step.calls(30001, listed).expect("calls") {
            assert!(call.done_by(204) && call.done_by(200), "{call:?}");
            assert!(call.done_by(404), "{call:?}: gone already is done");
            for status in [400, 401, 403, 500] {
                assert!(!call.done_by(status), "{call:?} {status}");
            }
        }
    }
    for call in CleanupStep::Tinker.calls(30001, &devices).expect("calls") {
        assert!(!call.done_by(404), "{call:?}");
    }
}
