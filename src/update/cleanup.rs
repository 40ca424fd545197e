//! The cleanup panel's update: choosing the steps, checking the product's integrations before
//! the confirmation and running the steps. What a cleanup does to the other features (the demo
//! stops before the steps run, a deleted webhook leaves the demo, the lists load again once every
//! step has finished, a deleted product is unpicked) is the root's, in `update.rs`.

use super::Context;
use crate::{
    cleanup::{Cleanup, CleanupStep, Msg, Progress},
    msg::Effect,
};

/// One arm per message; `context` gives the session and the lists (the product picked, its
/// devices) the steps are chosen from.
pub(super) fn update(state: &mut Cleanup, context: &Context, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Choose { step, on } => {
            state.tick(step, on);
            state.confirming = false;
        }
        Msg::Ask => {
            let (Some(session), Some(product_id)) =
                (context.session, context.lists.selected_product)
            else {
                return Vec::new();
            };
            if state.running() || state.checking {
                return Vec::new();
            }
            // The question names what the product holds besides the demo's webhook: only a
            // fresh list can say whether the product can go.
            let check = Effect::CleanupCheck {
                base: session.base.clone(),
                token: session.token.clone(),
                product_id,
            };
            state.checking = true;
            state.confirming = false;
            return vec![check];
        }
        Msg::Checked { product_id, result } => {
            if !state.checking || context.lists.selected_product != Some(product_id) {
                return Vec::new();
            }
            state.checking = false;
            // Without the list, the question leaves them out; the product's deletion then says
            // what the cloud refuses.
            state.others = result.ok().map(|others| (product_id, others));
            state.confirming = !steps(state, context).is_empty();
        }
        Msg::Cancel => state.confirming = false,
        Msg::Confirm => return confirm(state, context),
        Msg::StepDone { step, result } => {
            if let Some(entry) = state.progress.iter_mut().find(|p| p.step == step) {
                entry.outcome = Some(result);
            }
            if !state.running() {
                // Done: what the check found is out of date (devices left the product, the
                // product may be gone).
                state.others = None;
            }
        }
    }
    Vec::new()
}

/// The steps the learner chose that apply to the product picked.
fn steps(state: &Cleanup, context: &Context) -> Vec<CleanupStep> {
    let lists = context.lists;
    state.chosen(
        lists.selected_product,
        lists.devices_in_product(),
        lists.online_in_product(),
    )
}

/// Runs the chosen steps, once the learner has been asked.
fn confirm(state: &mut Cleanup, context: &Context) -> Vec<Effect> {
    let (Some(session), Some(product_id)) = (context.session, context.lists.selected_product)
    else {
        return Vec::new();
    };
    if !state.confirming || state.running() {
        return Vec::new();
    }
    let steps = steps(state, context);
    let effect = Effect::Cleanup {
        base: session.base.clone(),
        token: session.token.clone(),
        product_id,
        steps: steps.clone(),
    };
    state.confirming = false;
    state.progress = steps
        .into_iter()
        .map(|step| Progress {
            step,
            outcome: None,
        })
        .collect();
    vec![effect]
}
