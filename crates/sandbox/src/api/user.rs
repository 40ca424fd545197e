//! `GET /v1/user`: the signed-in account.

use axum::{
    Json,
    extract::State,
    http::{HeaderMap, Uri},
};
use serde_json::{Value, json};

use crate::{Shared, auth, error::ApiError};

pub(crate) async fn get(
    State(cloud): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let (username, _) = auth::caller(&cloud, &headers, &uri, None)?;
    let mfa = crate::lock(&cloud)
        .user(&username)
        .is_some_and(|user| user.otp.is_some());
    Ok(Json(json!({
        "username": username,
        "subscription_ids": [],
        "account_info": {"first_name": "Sandbox", "last_name": "Learner", "business_account": false},
        "scim_provisioned": false,
        "mfa": {"enabled": mfa},
    })))
}
