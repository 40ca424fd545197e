//! Signing in, as pure state: who the page talks to the Particle API as (`Auth`, the `Session`),
//! how the learner wants the session kept, and the sign-in form's messages (`Msg`).
//!
//! Its update is `update/sign_in.rs`; what signing in or out does to the other parts of the page
//! (the lists loading, the demo stopping) is the root's, in `update.rs`.

use crate::failure::ApiFailure;

/// The real Particle cloud, used unless the learner picks the sandbox.
pub const PARTICLE_API: &str = "https://api.particle.io";
/// The sandbox's fixture user, signed in by "Try the sandbox".
pub const SANDBOX_USER: (&str, &str) = ("sandbox@example.com", "sandbox");

/// Who the page talks to the Particle API as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    SignedOut {
        /// Why the last attempt failed, in words for the learner.
        error: Option<String>,
        busy: bool,
    },
    /// The account has MFA: the password was right, the one-time code is needed.
    AwaitingOtp {
        base: String,
        mfa_token: String,
        error: Option<String>,
        busy: bool,
    },
    SignedIn(Session),
}

/// A signed-in Particle session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The API base URL: the real cloud or the sandbox.
    pub base: String,
    pub token: String,
    pub username: String,
    /// True when the page created the token (password sign-in) and so revokes it on sign-out.
    pub created_here: bool,
}

/// Signing in: where it stands, and how the learner wants it kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    pub auth: Auth,
    /// Keep the session in `localStorage` (this browser) rather than `sessionStorage` (this tab).
    pub remember: bool,
    /// The token and password forms sign in to the sandbox rather than the Particle cloud.
    pub use_sandbox: bool,
    /// The session came back from the browser's storage (a reload) rather than from the learner
    /// signing in just now.
    pub restored: bool,
    /// Sign-out was asked for while the demo runs: the page asks first.
    pub asking_sign_out: bool,
}

impl Default for SignIn {
    fn default() -> SignIn {
        SignIn {
            auth: Auth::SignedOut {
                error: None,
                busy: false,
            },
            remember: false,
            use_sandbox: false,
            restored: false,
            asking_sign_out: false,
        }
    }
}

impl SignIn {
    pub fn session(&self) -> Option<&Session> {
        match &self.auth {
            Auth::SignedIn(session) => Some(session),
            Auth::SignedOut { .. } | Auth::AwaitingOtp { .. } => None,
        }
    }
}

/// The sign-in panel's messages, and the cloud's answers to what it asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    SandboxSignIn,
    TokenSignIn(String),
    PasswordSignIn {
        username: String,
        password: String,
    },
    OtpSignIn(String),
    /// The answer to `POST /oauth/token` (a token, or why not).
    TokenGranted {
        base: String,
        result: Result<String, ApiFailure>,
    },
    /// The answer to `GET /v1/user` for a token being tried.
    UserLoaded {
        base: String,
        token: String,
        created_here: bool,
        result: Result<String, ApiFailure>,
    },
    /// A session saved in this tab (page reload): check it is still valid.
    Restore {
        base: String,
        token: String,
        created_here: bool,
    },
    SignOut,
    /// Sign out although the demo runs (the answer to the page's question).
    SignOutAnyway,
    /// Keep the session and the running demo (the other answer).
    KeepSignedIn,
    /// The "remember me" box.
    SetRemember(bool),
    /// Which cloud the token and password forms sign in to: the sandbox (`true`) or Particle's.
    UseSandbox(bool),
}
