//! `POST /oauth/token` (password grant and the MFA second step) and
//! `DELETE /v1/access_tokens/current` (sign-out). Failed attempts are counted (`attempts.rs`),
//! and an MFA token survives only a few wrong codes.

use std::{collections::HashMap, sync::PoisonError, time::Duration};

use axum::{
    Extension, Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, Uri, header},
};
use base64::Engine;
use serde_json::{Value, json};
use tokio::time::Instant;
use webhook_demo_http::PeerAddr;

use crate::{
    Limits, Locked, Root,
    attempts::{self, Refused},
    auth,
    cloud::{Cloud, DEFAULT_TOKEN_LIFETIME, random_hex},
    error::{self, ApiError},
    worlds::{World, Worlds},
};

/// The longest token lifetime: a century, which is "never" for a sandbox. A lifetime is added to
/// the clock, so an unbounded one would overflow it.
const LONGEST_TOKEN_LIFETIME: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// The OAuth clients Particle's own tools use: the docs' `particle`, particle-api-js's
/// `particle-api`, and particle-cli's. The CLI has two: `particle-cli` for the calls it makes
/// through particle-api-js, and `CLI2` with the placeholder secret `client_secret_here` for
/// `particle login` and its `--otp` step (`src/lib/api-client.js` in particle-cli 3.43.1).
const CLIENTS: [(&str, &str); 4] = [
    ("particle", "particle"),
    ("particle-api", "particle-api"),
    ("particle-cli", "particle-cli"),
    ("CLI2", "client_secret_here"),
];

pub(crate) async fn token(
    State(root): State<Root>,
    headers: HeaderMap,
    peer: Option<Extension<PeerAddr>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let fields = super::fields(&headers, &body)?;
    check_client(&headers, &fields)?;
    let field = |name: &str| {
        fields
            .get(name)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| ApiError::bad_request(format!("The {name} parameter is required")))
    };
    let lifetime = match fields.get("expires_in") {
        None => DEFAULT_TOKEN_LIFETIME,
        Some(text) => match text.parse::<u64>() {
            // Particle treats 0 as "never expires"; a century is never for a sandbox.
            Ok(0) => LONGEST_TOKEN_LIFETIME,
            Ok(seconds) if seconds <= LONGEST_TOKEN_LIFETIME.as_secs() => {
                Duration::from_secs(seconds)
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "expires_in must be a number of seconds from 0 (never) to {}",
                    LONGEST_TOKEN_LIFETIME.as_secs()
                )));
            }
        },
    };
    let grant = match field("grant_type")?.as_str() {
        "password" => Grant::Password {
            username: field("username")?,
            password: field("password")?,
        },
        "urn:custom:mfa-otp" => Grant::Otp {
            mfa_token: field("mfa_token")?,
            otp: field("otp")?,
        },
        other => {
            return Err(ApiError::bad_request(format!(
                "Unsupported grant_type {other:?}"
            )));
        }
    };
    let peer = peer.map(|Extension(peer)| peer);
    let client = attempts::client(&headers, peer, root.settings.trust_forwarded);
    let now = Instant::now();
    let access_token = match check(&root, grant, client, lifetime, now)? {
        Passed::Token(token) => token,
        Passed::Fully(username) => {
            let Worlds::PerSignIn(registry) = &*root.worlds else {
                unreachable!("the one world issues its tokens as it checks");
            };
            registry
                .create(&root.common, client, &username, lifetime, now)
                .await?
                .1
        }
        Passed::Password(mfa_token) => {
            // With worlds in a shared store, the code may reach another instance: it is
            // forwarded here, where the second factor waits.
            if let Worlds::PerSignIn(registry) = &*root.worlds
                && let Some(redis) = &registry.redis
            {
                redis.hold_mfa(&mfa_token).await?;
            }
            return Err(ApiError::mfa_required(mfa_token));
        }
    };
    // The sandbox has no refresh grant: the refresh token is there because clients expect the
    // field, and it is kept nowhere, so it opens nothing and dies with nothing to revoke.
    let refresh_token = random_hex(20);
    Ok(Json(json!({
        "token_type": "bearer",
        "access_token": access_token,
        "expires_in": lifetime.as_secs(),
        "refresh_token": refresh_token,
    })))
}

/// How far a sign-in got.
enum Passed {
    /// Signed in to the one world: its new token.
    Token(String),
    /// Signed in, with a world of its own to make: the user.
    Fully(String),
    /// The password is right and a second factor is to come: its MFA token.
    Password(String),
}

/// Checks a sign-in against the one world's users, or (a world per sign-in) the lobby's, within
/// the failures a client and an account may make.
fn check(
    root: &Root,
    grant: Grant<'_>,
    client: attempts::Client,
    lifetime: Duration,
    now: Instant,
) -> Result<Passed, ApiError> {
    let limits = &root.settings.limits;
    let mut cloud = match &*root.worlds {
        Worlds::Shared(world) => crate::lock(world),
        Worlds::PerSignIn(registry) => Locked(
            registry
                .lobby
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        ),
    };
    // The account the attempt is on, when it exists (an MFA token names its own).
    let account = match &grant {
        Grant::Password { username, .. } => cloud.user(username).map(|u| u.username.clone()),
        Grant::Otp { mfa_token, .. } => cloud.mfa.get(*mfa_token).map(|t| t.username.clone()),
    };
    let mut attempts = root.attempts.lock().unwrap_or_else(PoisonError::into_inner);
    attempts
        .check(client, account.as_deref(), limits, now)
        .map_err(refused)?;
    let outcome = match grant {
        Grant::Password { username, password } => {
            match cloud
                .user(username)
                .filter(|user| user.password == password)
            {
                None => Err(ApiError::invalid_grant("User credentials are invalid")),
                Some(user) if user.otp.is_some() => {
                    let username = user.username.clone();
                    return Ok(Passed::Password(
                        cloud.issue_mfa_token(&username, now, limits),
                    ));
                }
                Some(user) => Ok(user.username.clone()),
            }
        }
        Grant::Otp { mfa_token, otp } => second_factor(&mut cloud, mfa_token, otp, limits, now),
    };
    match outcome {
        Err(error) => {
            attempts.failed(client, account.as_deref(), limits, now);
            Err(error)
        }
        Ok(username) => Ok(match &*root.worlds {
            Worlds::Shared(_) => Passed::Token(cloud.issue_token(&username, lifetime, now, limits)),
            Worlds::PerSignIn(_) => Passed::Fully(username),
        }),
    }
}

/// What a sign-in request offers.
enum Grant<'a> {
    Password {
        username: &'a str,
        password: &'a str,
    },
    Otp {
        mfa_token: &'a str,
        otp: &'a str,
    },
}

/// The second step of an MFA sign-in: the user, or why not. A wrong code counts against the MFA
/// token, which the last allowed wrong code ends.
fn second_factor(
    cloud: &mut Cloud,
    mfa_token: &str,
    otp: &str,
    limits: &Limits,
    now: Instant,
) -> Result<String, ApiError> {
    let Some(pending) = cloud.mfa.get(mfa_token).filter(|t| t.expires_at > now) else {
        return Err(ApiError::invalid_grant(
            "The MFA token is invalid or has expired; sign in again",
        ));
    };
    let username = pending.username.clone();
    if cloud.user(&username).and_then(|u| u.otp.as_deref()) == Some(otp) {
        cloud.mfa.remove(mfa_token);
        return Ok(username);
    }
    let pending = cloud.mfa.get_mut(mfa_token).expect("found above");
    pending.wrong_codes += 1;
    if pending.wrong_codes < limits.wrong_codes_per_mfa_token {
        return Err(ApiError::invalid_grant(
            "The one-time password is incorrect",
        ));
    }
    cloud.mfa.remove(mfa_token);
    Err(ApiError::invalid_grant(
        "The one-time password is incorrect, and that was the last try for this MFA token; \
         sign in again",
    ))
}

/// Too many failures: Particle's 429, saying whose and when to try again.
fn refused(refusal: Refused) -> ApiError {
    let (whose, wait) = match refusal {
        Refused::Client(wait) => ("from this address", wait),
        Refused::Account(wait) => ("on this account", wait),
    };
    ApiError::rate_limited(format!(
        "Too many failed sign-in attempts {whose}; try again in {} seconds",
        error::seconds(wait)
    ))
    .retry_after(wait)
}

pub(crate) async fn revoke_current(
    State(root): State<Root>,
    World(cloud): World,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let form = super::fields(&headers, &body).ok();
    let (_, token) = auth::caller(&cloud, &headers, &uri, form.as_ref())?;
    crate::lock(&cloud).tokens.remove(&token);
    // A world of its own ends with its sign-in's token: nobody can reach it any more.
    if let (Worlds::PerSignIn(registry), true) = (&*root.worlds, cloud.life.is_own()) {
        registry.sign_out(&cloud).await;
    }
    Ok(Json(json!({"ok": true})))
}

/// The client id and secret, from the form or from HTTP Basic authentication.
fn check_client(headers: &HeaderMap, fields: &HashMap<String, String>) -> Result<(), ApiError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok()?.strip_prefix("Basic "))
        .and_then(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
        })
        .and_then(|decoded| String::from_utf8(decoded).ok());
    let (id, secret) = match &basic {
        Some(pair) => pair.split_once(':').ok_or_else(ApiError::invalid_client)?,
        None => (
            fields.get("client_id").map_or("", String::as_str),
            fields.get("client_secret").map_or("", String::as_str),
        ),
    };
    if CLIENTS.contains(&(id, secret)) {
        Ok(())
    } else {
        Err(ApiError::invalid_client())
    }
}
