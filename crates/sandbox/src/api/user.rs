//! `GET /v1/user`: the signed-in account.

use axum::Json;
use serde_json::{Value, json};

use crate::{auth::Caller, error::ApiError, worlds::World};

pub(crate) async fn get(
    World(cloud): World,
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
