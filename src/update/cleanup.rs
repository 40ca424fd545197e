//! The cleanup panel's update: choosing the steps, checking the product's integrations before
//! the confirmation, running the steps (the demo stops first) and, once every step has finished,
//! loading the lists again.

use super::lists::reload_lists;
use crate::{
    cleanup::{CleanupStep, Msg, Progress},
    demo::WebhookState,
    msg::Effect,
    state::{ProductChoice, State},
};

pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Choose { step, on } => {
            state.cleanup.tick(step, on);
            state.cleanup.confirming = false;
        }
        Msg::Ask => {
            let (Some(session), Some(product_id)) = (state.session(), state.lists.selected_product)
            else {
                return Vec::new();
            };
            if state.cleanup.running() || state.cleanup.checking {
                return Vec::new();
            }
            // The question names what the product holds besides the demo's webhook: only a
            // fresh list can say whether the product can go.
            let check = Effect::CleanupCheck {
                base: session.base.clone(),
                token: session.token.clone(),
                product_id,
            };
            state.cleanup.checking = true;
            state.cleanup.confirming = false;
            return vec![check];
        }
        Msg::Checked { product_id, result } => {
            if !state.cleanup.checking || state.lists.selected_product != Some(product_id) {
                return Vec::new();
            }
            state.cleanup.checking = false;
            // Without the list, the question leaves them out; the product's deletion then says
            // what the cloud refuses.
            state.cleanup.others = result.ok().map(|others| (product_id, others));
            state.cleanup.confirming = !state.cleanup_steps().is_empty();
        }
        Msg::Cancel => state.cleanup.confirming = false,
        Msg::Confirm => return confirm(state),
        Msg::StepDone { step, result } => {
            let deleted = step == CleanupStep::Product && result.is_ok();
            if let Some(entry) = state.cleanup.progress.iter_mut().find(|p| p.step == step) {
                entry.outcome = Some(result);
            }
            if step == CleanupStep::Webhook {
                // Gone from the product: the panels stop showing it and the test sent to it.
                state.demo.webhook = WebhookState::Waiting;
                state.demo.test_sent = None;
            }
            if state.cleanup.running() {
                return Vec::new();
            }
            // Done: the lists change (devices left the product, the product may be gone), and
            // what the check found is out of date.
            state.cleanup.others = None;
            if deleted {
                state.lists.selected_product = None;
                state.lists.product_choice = ProductChoice::New;
            }
            if let Some(session) = state.session() {
                return reload_lists(session);
            }
        }
    }
    Vec::new()
}

/// Runs the chosen steps, once the learner has been asked.
fn confirm(state: &mut State) -> Vec<Effect> {
    let (Some(session), Some(product_id)) = (state.session(), state.lists.selected_product) else {
        return Vec::new();
    };
    if !state.cleanup.confirming || state.cleanup.running() {
        return Vec::new();
    }
    let steps = state.cleanup_steps();
    let effect = Effect::Cleanup {
        base: session.base.clone(),
        token: session.token.clone(),
        product_id,
        steps: steps.clone(),
    };
    state.cleanup.confirming = false;
    state.cleanup.progress = steps
        .into_iter()
        .map(|step| Progress {
            step,
            outcome: None,
        })
        .collect();
    // The demo's streams and webhook go first.
    let stop = std::mem::take(&mut state.demo.running).then_some(Effect::CloseStreams);
    stop.into_iter().chain([effect]).collect()
}
