//! The sandbox: an offline Particle cloud, mounted by the server at `/sandbox`.
//!
//! It speaks the same paths and JSON shapes as `https://api.particle.io`, including Particle's error
//! shape `{"error", "error_description"}` and status codes, so clients work against it by changing
//! only the base URL. State lives in memory and starts from the fixture in `cloud.rs` every time.
//! Each emulated endpoint is one file in `api/` and one line in its route table.

mod api;
mod auth;
mod cloud;
mod error;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;

use crate::cloud::Cloud;

/// What every handler sees: the one emulated cloud.
pub(crate) type Shared = Arc<Mutex<Cloud>>;

/// The cloud, locked. Handlers hold it for a few field updates and never across an `.await`; a
/// panic in another handler cannot leave it half-updated, so a poisoned lock is still usable.
pub(crate) fn lock(cloud: &Shared) -> MutexGuard<'_, Cloud> {
    cloud.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The sandbox's routes, relative to where the server mounts them, over a fresh fixture.
pub fn router() -> Router {
    let cloud: Shared = Arc::new(Mutex::new(Cloud::fixture()));
    api::routes().fallback(error::not_found).with_state(cloud)
}

#[cfg(test)]
mod tests;
