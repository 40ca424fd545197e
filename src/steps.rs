//! The guided path: the tutorial's steps in order, and whether each is done, the one to do now,
//! or still locked (`nav#steps`, `templates/steps.hbs`).
//!
//! The path is linear: the current step is the first one not done, and every step after it that
//! is not done yet is locked. A step can be done ahead of the current one (a device already in
//! the product), so a learner coming back sees what still holds; Test is done only while the
//! demo runs, since a stopped demo's test is not one the learner can see work again.

use serde_json::Value;

use crate::{
    firmware::Flash,
    json::Object,
    panel::{Panel, panel_state},
    sign_in::Auth,
    state::{Devices, State},
};

/// The steps, each named by the panel it starts at (its `data-step` and the anchor
/// `#<panel>-title`), with the label the step list shows.
pub const STEPS: [(Panel, &str); 9] = [
    (Panel::SignIn, "Sign in"),
    (Panel::SelectDevice, "Pick a device"),
    (Panel::SelectProduct, "Pick a product"),
    (Panel::AddDevice, "Add the device"),
    (Panel::Start, "Start the demo"),
    (Panel::Test, "Test the webhook"),
    (Panel::Firmware, "Device firmware"),
    (Panel::CheckServer, "Check your server"),
    (Panel::Cleanup, "Clean up"),
];

/// Where a step stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Done,
    Current,
    Locked,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Done => "done",
            Status::Current => "current",
            Status::Locked => "locked",
        }
    }
}

/// Whether the step starting at `panel` is done.
fn done(state: &State, panel: Panel) -> bool {
    if !matches!(state.sign_in.auth, Auth::SignedIn(_)) {
        return false;
    }
    let demo = &state.demo;
    // An account without devices goes on without one: the device's own steps are done.
    let no_devices = matches!(&state.lists.devices, Devices::Loaded(devices) if devices.is_empty());
    match panel {
        Panel::SignIn => true,
        Panel::SelectDevice => no_devices || state.lists.device().is_some(),
        Panel::SelectProduct => state.product().is_some(),
        Panel::AddDevice => no_devices || panel_state(state, panel) == "in-product",
        Panel::Start => demo.running,
        Panel::Test => {
            demo.running && (demo.test_sent.is_some() || !demo.timeline.cycles.is_empty())
        }
        Panel::Firmware => no_devices || matches!(state.firmware.flash, Flash::Started(_)),
        Panel::Cleanup => {
            let progress = &state.cleanup.progress;
            !progress.is_empty() && progress.iter().all(|p| matches!(p.outcome, Some(Ok(_))))
        }
        Panel::CheckServer => panel_state(state, panel) == "done",
        Panel::Webhook | Panel::Explainer | Panel::DataTable | Panel::Events | Panel::Testing => {
            true
        }
    }
}

/// Each step's status, in order.
pub fn statuses(state: &State) -> Vec<Status> {
    // Cleaned up, the tutorial is over: what cleanup removed (the product, the running demo)
    // does not make its steps the ones to do again.
    if done(state, Panel::Cleanup) {
        return vec![Status::Done; STEPS.len()];
    }
    let mut current_seen = false;
    STEPS
        .iter()
        .map(|&(panel, _)| {
            if done(state, panel) {
                Status::Done
            } else if current_seen {
                Status::Locked
            } else {
                current_seen = true;
                Status::Current
            }
        })
        .collect()
}

/// What `templates/steps.hbs` sees: `steps` (one entry per step) and `stepNow` (the one line a
/// phone shows: "Step 5 of 9 · Start the demo").
pub(crate) fn view(state: &State, view: &mut Object) {
    let statuses = statuses(state);
    let now = statuses.iter().position(|&s| s == Status::Current);
    let steps: Vec<Value> = STEPS
        .iter()
        .zip(&statuses)
        .map(|(&(panel, label), status)| {
            let mut step = Object::default();
            step.set("step", panel.name().into());
            step.set("label", label.into());
            step.set("status", status.name().into());
            step.set("current", (*status == Status::Current).into());
            step.into()
        })
        .collect();
    view.set("steps", steps.into());
    // Nine steps: one digit each (`push_str` rather than `format!`: the page's size counts).
    let line = match now {
        Some(index) => {
            let mut line = String::from("Step ");
            line.push(char::from(b'1' + index as u8));
            line.push_str(" of 9 · ");
            line.push_str(STEPS[index].1);
            line
        }
        None => "Every step done".to_owned(),
    };
    view.set("stepNow", line.into());
}

#[cfg(test)]
mod tests;
