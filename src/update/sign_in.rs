//! Signing in and out: the sandbox button, a pasted token, email and password with their MFA code,
//! the answers the cloud gives to each, a saved session put back, and losing the session to a
//! token the cloud no longer takes.

use crate::{
    cleanup::Cleanup,
    demo::Demo,
    failure::{ApiFailure, describe},
    msg::Effect,
    state::{Auth, Devices, Products, SANDBOX_USER, Session, Settings, State},
};

pub(super) fn sandbox(state: &mut State) -> Vec<Effect> {
    let Some(base) = state.sandbox() else {
        return Vec::new();
    };
    let (username, password) = SANDBOX_USER;
    let effect = Effect::RequestToken {
        base: base.to_owned(),
        username: username.into(),
        password: password.into(),
    };
    state.sign_in.auth = Auth::SignedOut {
        error: None,
        busy: true,
    };
    vec![effect]
}

pub(super) fn token(state: &mut State, token: &str) -> Vec<Effect> {
    let token = token.trim().to_owned();
    if token.is_empty() {
        state.sign_in.auth = Auth::SignedOut {
            error: Some("Paste an access token first.".into()),
            busy: false,
        };
        return Vec::new();
    }
    state.sign_in.auth = Auth::SignedOut {
        error: None,
        busy: true,
    };
    vec![Effect::CheckToken {
        base: state.api_base(),
        token,
        created_here: false,
    }]
}

pub(super) fn password(state: &mut State, username: &str, password: String) -> Vec<Effect> {
    if username.trim().is_empty() || password.is_empty() {
        let error = Some("Enter your email and password.".into());
        state.sign_in.auth = Auth::SignedOut { error, busy: false };
        return Vec::new();
    }
    state.sign_in.auth = Auth::SignedOut {
        error: None,
        busy: true,
    };
    vec![Effect::RequestToken {
        base: state.api_base(),
        username: username.trim().into(),
        password,
    }]
}

pub(super) fn otp(state: &mut State, otp: &str) -> Vec<Effect> {
    let Auth::AwaitingOtp {
        base,
        mfa_token,
        error,
        busy,
    } = &mut state.sign_in.auth
    else {
        return Vec::new();
    };
    *error = None;
    *busy = true;
    vec![Effect::RequestOtpToken {
        base: base.clone(),
        mfa_token: mfa_token.clone(),
        otp: otp.trim().into(),
    }]
}

/// The answer to a token request: check the token, or ask for the MFA code, or say why not.
pub(super) fn token_granted(
    state: &mut State,
    base: String,
    result: Result<String, ApiFailure>,
) -> Vec<Effect> {
    let failure = match result {
        Ok(token) => {
            return vec![Effect::CheckToken {
                base,
                token,
                created_here: true,
            }];
        }
        Err(failure) => failure,
    };
    state.sign_in.auth = match (failure.mfa_token.clone(), &state.sign_in.auth) {
        (Some(mfa_token), _) => Auth::AwaitingOtp {
            base,
            mfa_token,
            error: None,
            busy: false,
        },
        (
            None,
            Auth::AwaitingOtp {
                base, mfa_token, ..
            },
        ) => Auth::AwaitingOtp {
            base: base.clone(),
            mfa_token: mfa_token.clone(),
            error: Some(describe(&failure)),
            busy: false,
        },
        (None, _) => Auth::SignedOut {
            error: Some(describe(&failure)),
            busy: false,
        },
    };
    Vec::new()
}

/// The answer to `GET /v1/user` for a token being tried: signed in, with the lists and the saved
/// picks on their way, or back to sign-in saying why.
pub(super) fn user_loaded(
    state: &mut State,
    base: String,
    token: String,
    created_here: bool,
    result: Result<String, ApiFailure>,
) -> Vec<Effect> {
    let username = match result {
        Ok(username) => username,
        Err(failure) => {
            state.sign_in.auth = Auth::SignedOut {
                error: Some(describe(&failure)),
                busy: false,
            };
            // A saved token the cloud refuses is of no further use; a network failure may pass.
            return if failure.status == 401 {
                vec![Effect::ForgetSession]
            } else {
                Vec::new()
            };
        }
    };
    let session = Session {
        base,
        token,
        username,
        created_here,
    };
    let load = Effect::LoadDevices {
        base: session.base.clone(),
        token: session.token.clone(),
    };
    let products = Effect::LoadProducts {
        base: session.base.clone(),
        token: session.token.clone(),
    };
    let settings = Effect::LoadSettings(session.username.clone());
    let save = Effect::SaveSession {
        session: session.clone(),
        remember: state.sign_in.remember,
    };
    state.sign_in.auth = Auth::SignedIn(session);
    state.lists.devices = Devices::Loading;
    state.lists.products = Products::Loading;
    // Nothing is saved for this user until their saved picks have been looked up.
    state.sign_in.restoring = Some(Settings::default());
    vec![settings, load, products, save]
}

/// A session saved in the browser: tried as if the learner had pasted its token.
pub(super) fn restore(
    state: &mut State,
    base: String,
    token: String,
    created_here: bool,
) -> Vec<Effect> {
    state.sign_in.auth = Auth::SignedOut {
        error: None,
        busy: true,
    };
    vec![Effect::CheckToken {
        base,
        token,
        created_here,
    }]
}

/// Signs out: the token is revoked when the page created it, the demo stops and everything the
/// session loaded is forgotten (its run number kept, so its streams stay stale).
pub(super) fn sign_out(state: &mut State) -> Vec<Effect> {
    let revoke = state
        .session()
        .filter(|session| session.created_here)
        .map(|session| Effect::RevokeToken {
            base: session.base.clone(),
            token: session.token.clone(),
        });
    state.sign_in.auth = Auth::SignedOut {
        error: None,
        busy: false,
    };
    state.lists.devices = Devices::NotLoaded;
    state.lists.selected_device = None;
    state.lists.products = Products::NotLoaded;
    state.lists.platform = None;
    state.lists.selected_product = None;
    state.lists.product_error = None;
    state.lists.add_device_error = None;
    state.sign_in.restoring = None;
    let stop = state.demo.running.then_some(Effect::CloseStreams);
    state.cleanup = Cleanup::default();
    state.demo = Demo {
        run: state.demo.run,
        ..Demo::default()
    };
    revoke
        .into_iter()
        .chain(stop)
        .chain([Effect::ForgetSession])
        .collect()
}

/// The token expired or was revoked elsewhere: back to sign-in, saying why. The learner's picks
/// stay saved, so signing in again puts them back.
pub(crate) fn signed_out_by(state: &mut State, failure: &ApiFailure) -> Vec<Effect> {
    state.sign_in.auth = Auth::SignedOut {
        error: Some(describe(failure)),
        busy: false,
    };
    state.lists.devices = Devices::NotLoaded;
    state.lists.products = Products::NotLoaded;
    state.sign_in.restoring = None;
    // A running demo stops with the session.
    let stop = std::mem::take(&mut state.demo.running).then_some(Effect::CloseStreams);
    stop.into_iter().chain([Effect::ForgetSession]).collect()
}
