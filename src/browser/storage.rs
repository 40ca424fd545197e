//! What the page keeps in the browser: the signed-in session, in `sessionStorage` (this tab) or,
//! when the learner asks to be remembered, `localStorage` (this browser), never in a URL; and each
//! user's picks, in `localStorage`; a running demo, in `sessionStorage`, so a reload resumes it.
//! Plain strings, one key each: no serializer is needed for them.

use web_sys::Storage;

use crate::sign_in::Session;

/// Where a signed-in session is kept.
const SESSION_KEYS: [&str; 3] = [
    "webhook-demo:base",
    "webhook-demo:token",
    "webhook-demo:created-here",
];

/// The part of a session worth keeping; the user name is asked for again on restore.
pub(super) struct SavedSession {
    pub base: String,
    pub token: String,
    pub created_here: bool,
    /// Found in `localStorage`.
    pub remembered: bool,
}

/// `sessionStorage` (`false`) or `localStorage` (`true`); `None` where storage is disabled.
fn storage(remembered: bool) -> Option<Storage> {
    let window = web_sys::window()?;
    let storage = if remembered {
        window.local_storage()
    } else {
        window.session_storage()
    };
    storage.ok().flatten()
}

pub(super) fn load_session() -> Option<SavedSession> {
    [false, true].into_iter().find_map(|remembered| {
        let storage = storage(remembered)?;
        let [base, token, created_here] =
            SESSION_KEYS.map(|key| storage.get_item(key).ok().flatten());
        Some(SavedSession {
            base: base?,
            token: token?,
            created_here: created_here? == "true",
            remembered,
        })
    })
}

pub(super) fn save_session(session: &Session, remember: bool) {
    // Only one place holds it: ticking "remember me" or not moves it.
    forget_session();
    if let Some(storage) = storage(remember) {
        let values = [
            session.base.as_str(),
            session.token.as_str(),
            if session.created_here {
                "true"
            } else {
                "false"
            },
        ];
        for (key, value) in SESSION_KEYS.iter().zip(values) {
            // Storage can be full or disabled; the learner then signs in again after a reload.
            let _ = storage.set_item(key, value);
        }
    }
}

pub(super) fn forget_session() {
    for storage in [false, true].into_iter().filter_map(storage) {
        for key in SESSION_KEYS {
            let _ = storage.remove_item(key);
        }
    }
}

/// Where a user's picks are kept, in `localStorage`: one key per user, so another user's picks
/// are never applied.
fn settings_key(username: &str) -> String {
    format!("webhook-demo:settings:{username}")
}

/// The user's saved picks (`Settings::encode`), if any.
pub(super) fn load_settings(username: &str) -> Option<String> {
    storage(true)?.get_item(&settings_key(username)).ok()?
}

pub(super) fn save_settings(username: &str, settings: &str) {
    if let Some(storage) = storage(true) {
        let _ = storage.set_item(&settings_key(username), settings);
    }
}

/// Where a running demo is kept (`resume::encode`), in this tab's `sessionStorage`: a reload takes
/// the run up again; another tab starts its own.
const RUN_KEY: &str = "webhook-demo:run";
/// Where its events are kept (`resume::encode_events`): apart, as they change far less often than
/// the rest and are far longer.
const RUN_EVENTS_KEY: &str = "webhook-demo:run-events";

pub(super) fn load_run() -> Option<String> {
    storage(false)?.get_item(RUN_KEY).ok()?
}

pub(super) fn load_run_events() -> Option<String> {
    storage(false)?.get_item(RUN_EVENTS_KEY).ok()?
}

/// Keeps the running demo, or forgets it and its events (`None`: stopped, signed out).
pub(super) fn keep_run(run: Option<&str>) {
    if let Some(storage) = storage(false) {
        let _ = match run {
            Some(run) => storage.set_item(RUN_KEY, run),
            None => storage
                .remove_item(RUN_KEY)
                .and(storage.remove_item(RUN_EVENTS_KEY)),
        };
    }
}

/// Keeps the running demo's events.
pub(super) fn keep_run_events(events: &str) {
    if let Some(storage) = storage(false) {
        let _ = storage.set_item(RUN_EVENTS_KEY, events);
    }
}
