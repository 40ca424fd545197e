//! The emulated endpoints: one file each, one line each in the route table below.

mod devices;
mod oauth;
mod products;
mod user;

use axum::{
    Router,
    routing::{delete, get, post},
};

use crate::Shared;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/oauth/token", post(oauth::token))
        .route("/v1/access_tokens/current", delete(oauth::revoke_current))
        .route("/v1/user", get(user::get))
        .route("/v1/devices", get(devices::list))
        .route("/v1/devices/{id}", get(devices::get))
        .route(
            "/v1/user/products",
            get(products::list).post(products::create),
        )
        .route(
            "/v1/user/products/",
            get(products::list).post(products::create),
        )
        .route(
            "/v1/products/{id}",
            get(products::get).delete(products::delete),
        )
}
