//! The pure `update`: what each message does to the `State`, and the effects it asks for.
//!
//! The root hands each feature's message to that feature's update, which changes only the
//! feature's own part of the state and reads the rest through a [`Context`]: signing in and out in
//! `update/sign_in.rs`, the lists and the learner's picks in `update/lists.rs`, the firmware panel
//! in `update/firmware.rs`, the live demo in `update/demo.rs` and the cleanup panel in
//! `update/cleanup.rs`. Where what happens in one feature changes another, the root does it here
//! once the feature has returned: signing in loads the lists, signing out forgets what the session
//! loaded, a token the cloud refuses signs out, picking another device clears the flash shown, the
//! demo's event stream reports a flash's progress, and a cleanup stops the demo, takes the deleted
//! webhook out of it and loads the lists again.
//! Nothing here touches the browser, so every message is unit-tested natively.

mod check;
mod cleanup;
pub(crate) mod demo;
mod firmware;
pub(crate) mod lists;
pub(crate) mod sign_in;

use crate::{
    cleanup::CleanupStep,
    demo::{Demo, WebhookState},
    failure::{ApiFailure, describe},
    firmware::{FLASH_STATUS, Flash},
    msg::{Effect, Msg},
    sign_in::{Auth, Session},
    state::{Devices, Lists, ProductChoice, Products, ServerConfig, Settings, State},
};

/// What a feature's update reads of the state it does not own: the hosting server's
/// configuration, the signed-in session and the lists with the learner's picks. The root builds
/// one for each message; a feature never reads its own part through it.
pub struct Context<'a> {
    pub server: &'a ServerConfig,
    pub session: Option<&'a Session>,
    pub lists: &'a Lists,
}

impl<'a> Context<'a> {
    /// What a feature reads of the state's other parts, borrowed field by field so the feature's
    /// own part stays free to change.
    fn of(server: &'a ServerConfig, sign_in: &'a crate::sign_in::SignIn, lists: &'a Lists) -> Self {
        Context {
            server,
            session: sign_in.session(),
            lists,
        }
    }
}

/// The state a fresh page starts in, and the effects that get it going.
pub fn init() -> (State, Vec<Effect>) {
    (State::default(), vec![Effect::FetchConfig])
}

/// Applies `msg` to `state` and says what to do next; saves the signed-in user's picks when they
/// change (once their saved picks, if any, have been restored).
pub fn update(state: &mut State, msg: Msg) -> Vec<Effect> {
    let before = state.lists.settings();
    let mut effects = apply(state, msg);
    let (resumed, restore) = crate::resume::resume(state);
    effects.extend(resumed);
    if let Some(restore) = restore {
        effects.extend(demo_msg(state, restore));
    }
    let after = state.lists.settings();
    if let (Some(session), None) = (state.session(), &state.lists.restoring) {
        if after != before {
            effects.push(Effect::SaveSettings {
                username: session.username.clone(),
                settings: after.encode(),
            });
        }
    }
    effects
}

/// One arm per message: the root's own few, and each feature's handed to its update.
fn apply(state: &mut State, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::ConfigLoaded(Ok(config)) => state.server = ServerConfig::Loaded(config),
        Msg::ConfigLoaded(Err(reason)) => state.server = ServerConfig::Unavailable(reason),
        Msg::PageOrigin(origin) => state.page_origin = origin,
        Msg::RevealSecret(shown) => state.secret_revealed = shown,
        Msg::Resume { run, events } => {
            state.resume = crate::resume::decode(&run, events.as_deref());
        }
        Msg::SignIn(msg) => return sign_in_msg(state, msg),
        Msg::Lists(msg) => return lists_msg(state, msg),
        Msg::Firmware(msg) => {
            let context = Context::of(&state.server, &state.sign_in, &state.lists);
            return firmware::update(&mut state.firmware, &context, msg);
        }
        Msg::Demo(msg) => return demo_msg(state, msg),
        Msg::Cleanup(msg) => return cleanup_msg(state, msg),
        Msg::Check(msg) => {
            let context = Context::of(&state.server, &state.sign_in, &state.lists);
            // The probes carry the demo's webhook secret, as the cloud's requests do.
            return check::update(&mut state.check, &context, &state.demo.secret, msg);
        }
    }
    Vec::new()
}

/// Signing in or out, and what the session's coming or going does to the rest: signed in, the
/// lists load; signed out, what the session loaded is forgotten.
fn sign_in_msg(state: &mut State, msg: crate::sign_in::Msg) -> Vec<Effect> {
    // Signing out stops a running demo and leaves its product and webhook in the account: the
    // page asks first (`SignOutAnyway` is the learner's yes).
    if msg == crate::sign_in::Msg::SignOut && state.demo.running {
        state.sign_in.asking_sign_out = true;
        return Vec::new();
    }
    let had_session = state.session().is_some();
    // Sign-in reads only the server's configuration; the session it is about to change is lent as
    // it was.
    let session = state.session().cloned();
    let context = Context {
        server: &state.server,
        session: session.as_ref(),
        lists: &state.lists,
    };
    let mut effects = sign_in::update(&mut state.sign_in, &context, msg);
    match (had_session, state.session().is_some()) {
        (false, true) => {
            state.lists.devices = Devices::Loading;
            state.lists.products = Products::Loading;
            // Nothing is saved for this user until their saved picks have been looked up.
            state.lists.restoring = Some(Settings::default());
        }
        (true, false) => effects.extend(signed_out(state)),
        (false, false) | (true, true) => {}
    }
    effects
}

/// The lists and the picks; picking another device clears the flash shown, and a token the cloud
/// refuses signs out.
fn lists_msg(state: &mut State, msg: crate::lists::Msg) -> Vec<Effect> {
    let refused = refused(msg.failure());
    let picked = if let crate::lists::Msg::SelectDevice(id) = &msg {
        Some(id.clone())
    } else {
        None
    };
    // The lists read only the session; the lists they are about to change are lent as they were.
    let lists = state.lists.clone();
    let context = Context {
        server: &state.server,
        session: state.sign_in.session(),
        lists: &lists,
    };
    let mut effects = lists::update(&mut state.lists, &context, msg);
    if picked.is_some() && picked == state.lists.selected_device {
        state.firmware.flash = Flash::Idle;
    }
    if let Some(failure) = refused {
        effects.extend(session_refused(state, &failure));
    }
    effects
}

/// The live demo; its product event stream also reports a flash's progress, and a token the cloud
/// refuses signs out.
fn demo_msg(state: &mut State, msg: crate::demo::Msg) -> Vec<Effect> {
    let refused = refused(msg.failure());
    let flash_event = if let crate::demo::Msg::ParticleEvent { run, name, data } = &msg {
        let flashing = state.demo.current(*run) && name == FLASH_STATUS;
        flashing.then(|| data.clone())
    } else {
        None
    };
    let context = Context::of(&state.server, &state.sign_in, &state.lists);
    let mut effects = demo::update(&mut state.demo, &context, msg);
    if let Some(data) = flash_event {
        firmware::flash_progress(&mut state.firmware, &state.lists, &data);
    }
    if let Some(failure) = refused {
        effects.extend(session_refused(state, &failure));
    }
    effects
}

/// The cleanup panel, and what its steps do to the rest: the demo's streams close before the steps
/// run, a deleted webhook is gone from the demo, and once every step has finished the lists load
/// again (without the product, when it was deleted).
fn cleanup_msg(state: &mut State, msg: crate::cleanup::Msg) -> Vec<Effect> {
    use crate::cleanup::Msg as M;
    let confirmed = matches!(msg, M::Confirm);
    let done = match &msg {
        M::StepDone { step, result } => Some((*step, result.is_ok())),
        M::Choose { .. } | M::Ask | M::Checked { .. } | M::Cancel | M::Confirm => None,
    };
    let context = Context::of(&state.server, &state.sign_in, &state.lists);
    let mut effects = cleanup::update(&mut state.cleanup, &context, msg);
    if confirmed && !effects.is_empty() && std::mem::take(&mut state.demo.running) {
        // The demo's streams and webhook go before the steps run.
        effects.insert(0, Effect::CloseStreams);
    }
    let Some((step, succeeded)) = done else {
        return effects;
    };
    if step == CleanupStep::Webhook {
        // Gone from the product: the panels stop showing it and the test sent to it.
        state.demo.webhook = WebhookState::Waiting;
        state.demo.test_sent = None;
    }
    if state.cleanup.running() {
        return effects;
    }
    // Done: the lists change (devices left the product, the product may be gone).
    if step == CleanupStep::Product && succeeded {
        state.lists.selected_product = None;
        state.lists.product_choice = ProductChoice::New;
    }
    match state.session() {
        Some(session) => lists::reload_lists(session),
        None => effects,
    }
}

/// The failure, when it says the cloud no longer takes the token.
fn refused(failure: Option<&ApiFailure>) -> Option<ApiFailure> {
    failure.filter(|failure| failure.status == 401).cloned()
}

/// Signed out by the learner: everything the session loaded is forgotten, the demo stops (its run
/// number kept, so its streams stay stale) and the cleanup panel starts afresh.
fn signed_out(state: &mut State) -> Vec<Effect> {
    let lists = &mut state.lists;
    lists.devices = Devices::NotLoaded;
    lists.selected_device = None;
    lists.products = Products::NotLoaded;
    lists.platform = None;
    lists.selected_product = None;
    lists.product_error = None;
    lists.add_device_error = None;
    lists.restoring = None;
    let stop = state.demo.running.then_some(Effect::CloseStreams);
    state.cleanup = crate::cleanup::Cleanup::default();
    state.demo = Demo {
        run: state.demo.run,
        ..Demo::default()
    };
    stop.into_iter().collect()
}

/// The token expired or was revoked elsewhere, whichever feature's request found out: back to
/// sign-in, saying why, and a running demo stops. The learner's picks stay saved, so signing in
/// again puts them back.
fn session_refused(state: &mut State, failure: &ApiFailure) -> Vec<Effect> {
    state.sign_in.auth = Auth::SignedOut {
        error: Some(describe(failure)),
        busy: false,
    };
    state.lists.devices = Devices::NotLoaded;
    state.lists.products = Products::NotLoaded;
    state.lists.restoring = None;
    let stop = std::mem::take(&mut state.demo.running).then_some(Effect::CloseStreams);
    stop.into_iter().chain([Effect::ForgetSession]).collect()
}

#[cfg(test)]
pub(crate) mod tests;
