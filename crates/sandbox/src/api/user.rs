//! `GET /v1/user`: the signed-in account.

use axum::{Json, extract::State};
use serde_json::{Value, json};

use crate::{Shared, auth::Caller, error::ApiError};

pub(crate) async fn get(
    State(cloud): State<Shared>,
    Caller(username): Caller,
) -> Result<Json<Value>, ApiError> {
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
