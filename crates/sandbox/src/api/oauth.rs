//! `POST /oauth/token` (password grant and the MFA second step) and
//! `DELETE /v1/access_tokens/current` (sign-out).

use std::{collections::HashMap, time::Duration};

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, Uri, header},
};
use base64::Engine;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::{Shared, auth, cloud::DEFAULT_TOKEN_LIFETIME, error::ApiError};

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
    State(cloud): State<Shared>,
    headers: HeaderMap,
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
    let now = Instant::now();
    let mut cloud = crate::lock(&cloud);
    let username = match field("grant_type")?.as_str() {
        "password" => {
            let (username, password) = (field("username")?, field("password")?);
            let user = cloud
                .user(username)
                .filter(|user| &user.password == password)
                .ok_or_else(|| ApiError::invalid_grant("User credentials are invalid"))?;
            if user.otp.is_some() {
                let username = user.username.clone();
                return Err(ApiError::mfa_required(
                    cloud.issue_mfa_token(&username, now),
                ));
            }
            user.username.clone()
        }
        "urn:custom:mfa-otp" => {
            let (mfa_token, otp) = (field("mfa_token")?, field("otp")?);
            let username = match cloud.mfa.get(mfa_token) {
                Some((username, expires_at)) if *expires_at > now => username.clone(),
                _ => {
                    return Err(ApiError::invalid_grant(
                        "The MFA token is invalid or has expired; sign in again",
                    ));
                }
            };
            if cloud.user(&username).and_then(|u| u.otp.as_deref()) != Some(otp.as_str()) {
                return Err(ApiError::invalid_grant(
                    "The one-time password is incorrect",
                ));
            }
            cloud.mfa.remove(mfa_token);
            username
        }
        other => {
            return Err(ApiError::bad_request(format!(
                "Unsupported grant_type {other:?}"
            )));
        }
    };
    let access_token = cloud.issue_token(&username, lifetime, now);
    let refresh_token = cloud.issue_token(&username, lifetime, now);
    Ok(Json(json!({
        "token_type": "bearer",
        "access_token": access_token,
        "expires_in": lifetime.as_secs(),
        "refresh_token": refresh_token,
    })))
}

pub(crate) async fn revoke_current(
    State(cloud): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let form = super::fields(&headers, &body).ok();
    let (_, token) = auth::caller(&cloud, &headers, &uri, form.as_ref())?;
    crate::lock(&cloud).tokens.remove(&token);
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
