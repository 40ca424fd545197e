//! Signing in and out: the sandbox button, a pasted token, email and password with their MFA code,
//! the answers the cloud gives to each and a saved session put back. What the session's coming
//! and going does to the rest of the page is the root's (`update.rs`).

use super::Context;
use crate::{
    failure::{ApiFailure, describe},
    msg::Effect,
    sign_in::{Auth, Msg, SANDBOX_USER, Session, SignIn},
};

/// One arm per message, each a field set or a call.
pub(super) fn update(state: &mut SignIn, context: &Context, msg: Msg) -> Vec<Effect> {
    if let Msg::SandboxSignIn | Msg::TokenSignIn(_) | Msg::PasswordSignIn { .. } = msg {
        state.restored = false;
    }
    match msg {
        Msg::SandboxSignIn => return sandbox(state, context),
        Msg::TokenSignIn(pasted) => return token(state, context, &pasted),
        Msg::PasswordSignIn {
            username,
            password: typed,
        } => return password(state, context, &username, typed),
        Msg::OtpSignIn(code) => return otp(state, &code),
        Msg::TokenGranted { base, result } => return token_granted(state, base, result),
        Msg::UserLoaded {
            base,
            token,
            created_here,
            result,
        } => return user_loaded(state, base, token, created_here, result),
        Msg::Restore {
            base,
            token,
            created_here,
        } => return restore(state, base, token, created_here),
        Msg::SignOut | Msg::SignOutAnyway => return sign_out(state),
        Msg::KeepSignedIn => state.asking_sign_out = false,
        Msg::SetRemember(remember) => state.remember = remember,
        Msg::UseSandbox(sandbox) => state.use_sandbox = sandbox,
    }
    Vec::new()
}

fn sandbox(state: &mut SignIn, context: &Context) -> Vec<Effect> {
    let Some(base) = context.server.sandbox() else {
        return Vec::new();
    };
    let (username, password) = SANDBOX_USER;
    let effect = Effect::RequestToken {
        base: base.to_owned(),
        username: username.into(),
        password: password.into(),
    };
    state.auth = Auth::SignedOut {
        error: None,
        busy: true,
    };
    vec![effect]
}

fn token(state: &mut SignIn, context: &Context, token: &str) -> Vec<Effect> {
    let token = token.trim().to_owned();
    if token.is_empty() {
        state.auth = Auth::SignedOut {
            error: Some("Paste an access token first.".into()),
            busy: false,
        };
        return Vec::new();
    }
    state.auth = Auth::SignedOut {
        error: None,
        busy: true,
    };
    vec![Effect::CheckToken {
        base: context.server.api_base(state.use_sandbox),
        token,
        created_here: false,
    }]
}

fn password(
    state: &mut SignIn,
    context: &Context,
    username: &str,
    password: String,
) -> Vec<Effect> {
    if username.trim().is_empty() || password.is_empty() {
        let error = Some("Enter your email and password.".into());
        state.auth = Auth::SignedOut { error, busy: false };
        return Vec::new();
    }
    state.auth = Auth::SignedOut {
        error: None,
        busy: true,
    };
    vec![Effect::RequestToken {
        base: context.server.api_base(state.use_sandbox),
        username: username.trim().into(),
        password,
    }]
}

fn otp(state: &mut SignIn, otp: &str) -> Vec<Effect> {
    let Auth::AwaitingOtp {
        base,
        mfa_token,
        error,
        busy,
    } = &mut state.auth
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
fn token_granted(
    state: &mut SignIn,
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
    state.auth = match (failure.mfa_token.clone(), &state.auth) {
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
fn user_loaded(
    state: &mut SignIn,
    base: String,
    token: String,
    created_here: bool,
    result: Result<String, ApiFailure>,
) -> Vec<Effect> {
    let username = match result {
        Ok(username) => username,
        Err(failure) => {
            state.auth = Auth::SignedOut {
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
        remember: state.remember,
    };
    state.auth = Auth::SignedIn(session);
    vec![settings, load, products, save]
}

/// A session saved in the browser: tried as if the learner had pasted its token.
fn restore(state: &mut SignIn, base: String, token: String, created_here: bool) -> Vec<Effect> {
    state.restored = true;
    state.auth = Auth::SignedOut {
        error: None,
        busy: true,
    };
    vec![Effect::CheckToken {
        base,
        token,
        created_here,
    }]
}

/// Signs out: the token is revoked when the page created it, and the saved session forgotten.
fn sign_out(state: &mut SignIn) -> Vec<Effect> {
    state.asking_sign_out = false;
    let revoke = state
        .session()
        .filter(|session| session.created_here)
        .map(|session| Effect::RevokeToken {
            base: session.base.clone(),
            token: session.token.clone(),
        });
    state.auth = Auth::SignedOut {
        error: None,
        busy: false,
    };
    revoke.into_iter().chain([Effect::ForgetSession]).collect()
}
