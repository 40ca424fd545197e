//! What the status region (`#announce`) says when something the learner set off changes where
//! they may not be looking: the demo starting or stopping, the test event sent, a flash's
//! progress, each cleanup step, a demo stream going down or coming back. Found by comparing the state before and after a message, so
//! every way of reaching a change announces it, and nothing is announced twice.
//!
//! The same comparison finds the setup step the learner just finished, and reveals the next
//! action: signed in → the device list; a product created → Add (or Start, when the device is in
//! it already); the device added → Start; the demo started → Test, once the webhook is saved.

use crate::{
    demo::stream_state::{Feed, Status},
    firmware::Flash,
    msg::Effect,
    panel::{Panel, panel_state},
    sign_in::Auth,
    state::State,
};

/// What the announcements compare: the few parts of the state they speak about.
pub struct Before {
    running: bool,
    test_sent: Option<String>,
    flash: Flash,
    cleanup_finished: usize,
    /// The product events' and the webhook requests' stream states.
    streams: [Status; 2],
    signed_in: bool,
    creating_product: bool,
    adding_device: bool,
    finished: bool,
    asking_sign_out: bool,
}

impl Before {
    pub fn of(state: &State) -> Before {
        Before {
            running: state.demo.running,
            test_sent: state.demo.test_sent.clone(),
            flash: state.firmware.flash.clone(),
            cleanup_finished: finished(state),
            streams: [
                state.demo.streams.events.clone(),
                state.demo.streams.requests.clone(),
            ],
            signed_in: signed_in(state),
            creating_product: state.lists.creating_product,
            adding_device: state.lists.adding_device,
            finished: crate::summary::finished(state),
            asking_sign_out: state.sign_in.asking_sign_out,
        }
    }

    /// The effects that tell the learner what changed since: one announcement (the parts joined),
    /// and after a test event is sent, the view moving to its result. (Built with `push_str`
    /// rather than `format!` and `join`: the page's size counts.)
    pub fn changes(&self, state: &State) -> Vec<Effect> {
        let mut said = String::new();
        let mut effects = Vec::new();
        let demo = &state.demo;
        if demo.running != self.running {
            say(
                &mut said,
                &[if demo.running {
                    "Demo started: your webhook server is listening"
                } else {
                    "Demo stopped"
                }],
            );
        }
        if demo.test_sent.is_some() && demo.test_sent != self.test_sent {
            say(
                &mut said,
                &["Test event sent; its hops appear under What happened"],
            );
            effects.push(Effect::Reveal("explainer-title"));
        }
        if state.firmware.flash != self.flash {
            match &state.firmware.flash {
                Flash::Flashing => say(&mut said, &["Flashing the firmware…"]),
                Flash::Started(status) => say(&mut said, &["Flashing: ", status]),
                Flash::Failed(_) => say(&mut said, &["The firmware did not compile"]),
                Flash::Idle => {}
            }
        }
        for (feed, before) in [Feed::Events, Feed::Requests]
            .into_iter()
            .zip(&self.streams)
        {
            if let Some(words) = demo.streams.get(feed).announcement(before) {
                say(&mut said, &[feed.label(), ": ", &words]);
            }
        }
        // A new cleanup run starts counting again.
        let seen = if finished(state) < self.cleanup_finished {
            0
        } else {
            self.cleanup_finished
        };
        let progress = &state.cleanup.progress;
        for step in progress.iter().filter(|p| p.outcome.is_some()).skip(seen) {
            let outcome = match &step.outcome {
                Some(Ok(_)) => ": done",
                Some(Err(_)) | None => ": failed",
            };
            say(&mut said, &[step.step.label(), outcome]);
        }
        if !said.is_empty() {
            effects.insert(0, Effect::Announce(said));
        }
        effects.extend(self.next_action(state).map(Effect::Reveal));
        // Cleaned up: the tutorial's end, the learner's own summary, is what to read next.
        if !self.finished && crate::summary::finished(state) {
            effects.push(Effect::Reveal("summary-title"));
        }
        effects
    }

    /// The control to go on with when a setup step has just been done.
    fn next_action(&self, state: &State) -> Option<&'static str> {
        let lists = &state.lists;
        // A session that came back by itself (a reload) finished no step just now.
        // Asked whether to sign out mid-run: the answer that keeps the run is at hand.
        if !self.asking_sign_out && state.sign_in.asking_sign_out {
            return Some("signOutCancel");
        }
        if !self.signed_in && signed_in(state) && !state.sign_in.restored {
            return Some("deviceSelect");
        }
        if self.creating_product && !lists.creating_product && lists.product_error.is_none() {
            return Some(match panel_state(state, Panel::AddDevice) {
                "can-add" | "other-product" => "addDeviceButton",
                _ => "startDemo",
            });
        }
        if self.adding_device && !lists.adding_device && lists.add_device_error.is_none() {
            return Some("startDemo");
        }
        // Test appears once the webhook is saved: the page reveals it when it does.
        (!self.running && state.demo.running).then_some("testWebhookButton")
    }
}

fn signed_in(state: &State) -> bool {
    matches!(state.sign_in.auth, Auth::SignedIn(_))
}

/// Adds one part (`pieces` run together) to what is said.
fn say(said: &mut String, pieces: &[&str]) {
    if !said.is_empty() {
        said.push_str(" · ");
    }
    for piece in pieces {
        said.push_str(piece);
    }
}

/// How many cleanup steps have finished.
fn finished(state: &State) -> usize {
    let progress = &state.cleanup.progress;
    progress.iter().filter(|p| p.outcome.is_some()).count()
}

#[cfg(test)]
mod tests;
