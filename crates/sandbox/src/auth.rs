//! Finding the caller's access token the ways Particle accepts it: `Authorization: Bearer …`
//! (including the doubled `Authorization: Authorization: Bearer …` some clients send), the
//! `access_token` query parameter, or an `access_token` form field.

use std::collections::HashMap;

use axum::{
    extract::FromRequestParts,
    http::{HeaderMap, Uri, header, request::Parts},
};
use tokio::time::Instant;

use crate::{Root, Shared, error::ApiError, worlds::World};

/// The token the request carries, if any.
pub(crate) fn token(
    headers: &HeaderMap,
    uri: &Uri,
    form: Option<&HashMap<String, String>>,
) -> Option<String> {
    let from_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| {
            value
                .rsplit_once("Bearer ")
                .map(|(_, token)| token.trim().to_owned())
        });
    let from_query = || {
        let fields: HashMap<String, String> = serde_urlencoded::from_str(uri.query()?).ok()?;
        fields.get("access_token").cloned()
    };
    let from_form = || form.and_then(|fields| fields.get("access_token").cloned());
    from_header
        .or_else(from_query)
        .or_else(from_form)
        .filter(|token| !token.is_empty())
}

/// The signed-in user, or Particle's 401.
pub(crate) fn caller(
    cloud: &Shared,
    headers: &HeaderMap,
    uri: &Uri,
    form: Option<&HashMap<String, String>>,
) -> Result<(String, String), ApiError> {
    let token = token(headers, uri, form).ok_or_else(ApiError::invalid_token)?;
    let cloud = crate::lock(cloud);
    let user = cloud
        .user_of(&token, Instant::now())
        .ok_or_else(ApiError::invalid_token)?
        .to_owned();
    Ok((user, token))
}

/// The signed-in user's name, for handlers that take the token from the header or the query
/// (those that also accept it as a form field call `caller` with the form).
pub(crate) struct Caller(pub String);

impl FromRequestParts<Root> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, root: &Root) -> Result<Caller, ApiError> {
        let World(shared) = World::from_request_parts(parts, root).await?;
        let (username, _) = caller(&shared, &parts.headers, &parts.uri, None)?;
        Ok(Caller(username))
    }
}
