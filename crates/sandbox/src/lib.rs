//! The sandbox: an offline Particle cloud, mounted by the server at `/sandbox`.
//!
//! It speaks the same paths and JSON shapes as `https://api.particle.io`, including Particle's error
//! shape `{"error", "error_description"}` and status codes, so clients work against it by changing
//! only the base URL. State lives in memory and starts from the fixture in `cloud.rs` every time.
//! Each emulated endpoint is one file in `api/` and one line in its route table; published events
//! go through `events.rs`, which hands them to the streams (written by `sse.rs`), to the webhook
//! engine (`engine.rs`) and to the simulated devices (`sim.rs`).

mod api;
mod auth;
mod cloud;
mod engine;
mod error;
mod events;
mod firmware;
mod origin;
mod sim;
mod sse;
mod targets;
mod tinker;

use std::{
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::Duration,
};

use axum::{
    Router,
    http::{HeaderValue, header},
    middleware,
};
use tokio::sync::watch;
use tower_http::set_header::SetResponseHeaderLayer;

pub use reqwest::Url;

use crate::cloud::Cloud;
pub use crate::targets::{HostPattern, OwnRelay, WebhookTargets};

/// How the sandbox behaves where the real cloud has no knob.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How often each online simulated device publishes `WebhookDemo01` (`None`: only on connect
    /// and on a MODE click).
    pub sim_publish_interval: Option<Duration>,
    /// Longest silence on an event stream before a keepalive comment (particle-api-js gives up
    /// after 13 s of silence).
    pub keepalive: Duration,
    /// How long a webhook server may take to answer (Particle: 20 s).
    pub hook_timeout: Duration,
    /// How long flashing a simulated device takes (then it reboots for half as long).
    pub flash_time: Duration,
    /// API publishes per second each user may make, after a burst of ten (0: no limit); beyond
    /// it, publishing answers 429 as Particle's rate limit does.
    pub publishes_per_second: u32,
    /// Where webhooks may be sent: anywhere on a learner's machine, only the server's own relay
    /// (and hosts the operator names) on a public host.
    pub webhook_targets: WebhookTargets,
    /// The host (and port) of `--public-url`: besides IP addresses and `localhost`, the only
    /// `Host` the `_sim` control endpoints answer (DNS rebinding).
    pub public_host: Option<String>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            sim_publish_interval: Some(Duration::from_secs(60)),
            keepalive: Duration::from_secs(9),
            hook_timeout: Duration::from_secs(webhook_demo_core::webhook::TIMEOUT_SECS),
            flash_time: firmware::FLASH_TIME,
            publishes_per_second: 1,
            webhook_targets: WebhookTargets::Anywhere,
            public_host: None,
        }
    }
}

/// Everything the handlers share.
pub(crate) struct Inner {
    pub cloud: Mutex<Cloud>,
    pub settings: Settings,
    pub events: events::Bus,
    /// The webhook engine's memory of recent deliveries (per host, integration and user): its own
    /// lock, so the cloud's state knows nothing of the engine and delivering never waits on an
    /// API handler's field updates.
    pub throttle: Mutex<engine::Throttle>,
    pub client: reqwest::Client,
    /// Becomes true when the server shuts down: streams end and the simulation stops.
    pub closed: watch::Sender<bool>,
}

pub(crate) type Shared = Arc<Inner>;

/// The cloud, locked. Handlers hold it for a few field updates and never across an `.await`; a
/// panic in another handler cannot leave it half-updated, so a poisoned lock is still usable.
pub(crate) fn lock(shared: &Shared) -> MutexGuard<'_, Cloud> {
    shared.cloud.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Back to the fixture, as on a fresh start: the cloud's state and the engine's throttle.
pub(crate) fn reset(shared: &Shared) {
    *lock(shared) = Cloud::fixture();
    *shared
        .throttle
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = engine::Throttle::default();
}

/// One emulated cloud: its routes, and its simulation running in the background.
#[derive(Clone)]
pub struct Sandbox {
    shared: Shared,
}

impl Sandbox {
    /// A fresh fixture. Inside a Tokio runtime the simulated devices start publishing; outside one
    /// (a router built for inspection only) they stay quiet.
    pub fn new(settings: Settings) -> Sandbox {
        let client = reqwest::Client::builder()
            .timeout(settings.hook_timeout)
            // Particle's webhooks name their fields `Content-Type`, `Authorization`, `User-Agent`,
            // and the relay shows names as they arrive; HTTP clients otherwise send lower case.
            .http1_title_case_headers()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client without TLS always builds");
        let shared = Arc::new(Inner {
            cloud: Mutex::new(Cloud::fixture()),
            settings,
            events: events::Bus::new(),
            throttle: Mutex::default(),
            client,
            closed: watch::Sender::new(false),
        });
        if tokio::runtime::Handle::try_current().is_ok() {
            tokio::spawn(sim::run(shared.clone()));
        }
        Sandbox { shared }
    }

    /// The sandbox's routes, relative to where the server mounts them.
    pub fn router(&self) -> Router {
        // Who may call (`origin.rs`): the control endpoints no other origin at all, the API
        // loopback origins and the public host, and every route only requests addressed to
        // this server.
        let sim = api::sim_routes()
            .method_not_allowed_fallback(error::method_not_allowed)
            .layer(middleware::from_fn_with_state(
                self.shared.clone(),
                origin::own_pages_only,
            ));
        api::routes()
            .method_not_allowed_fallback(error::method_not_allowed)
            .layer(origin::api_cors(self.shared.settings.public_host.clone()))
            .merge(sim)
            .fallback(error::not_found)
            .layer(middleware::from_fn_with_state(
                self.shared.clone(),
                origin::own_host_only,
            ))
            // Answers are JSON and event streams: nothing a browser should ever run or sniff.
            .layer(SetResponseHeaderLayer::overriding(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("sandbox; default-src 'none'"),
            ))
            .layer(SetResponseHeaderLayer::overriding(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ))
            .with_state(self.shared.clone())
    }

    /// Ends every event stream and stops the simulation (the server is shutting down).
    pub fn close(&self) {
        self.shared.closed.send_replace(true);
    }
}

/// The routes of a fresh sandbox with default settings.
pub fn router() -> Router {
    Sandbox::new(Settings::default()).router()
}

#[cfg(test)]
mod tests;
