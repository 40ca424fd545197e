//! The sandbox: an offline Particle cloud, mounted by the server at `/sandbox`.
//!
//! It speaks the same paths and JSON shapes as `https://api.particle.io`, including Particle's error
//! shape `{"error", "error_description"}` and status codes, so clients work against it by changing
//! only the base URL. State lives in memory and starts from the fixture in `cloud.rs` every time
//! (a hosted sandbox's worlds, one per sign-in, are also saved in Redis when several instances
//! share them: `redis_worlds.rs`).
//! Each emulated endpoint is one file in `api/` and one line in its route table; published events
//! go through `events.rs`, which hands them to the streams (written by `sse.rs`), to the webhook
//! engine (`engine.rs`) and to the simulated devices (`sim.rs`).

mod api;
mod attempts;
mod auth;
mod cloud;
mod engine;
mod error;
mod events;
mod firmware;
mod origin;
mod redis_worlds;
mod sim;
mod snapshot;
mod sse;
mod targets;
mod tinker;
mod worlds;

use std::{
    ops::{Deref, DerefMut},
    sync::{Arc, Mutex, MutexGuard, PoisonError, atomic::AtomicUsize},
    time::Duration,
};

use axum::{
    Router,
    extract::DefaultBodyLimit,
    http::{HeaderValue, header},
    middleware,
};
use tokio::sync::watch;
use tower_http::set_header::SetResponseHeaderLayer;

pub use reqwest::Url;

use crate::cloud::Cloud;
pub use crate::{
    redis_worlds::SharedWorlds,
    targets::{HostPattern, OwnRelay, WebhookTargets},
    worlds::{WorldLimits, WorldsMode},
};

/// How the sandbox behaves where the real cloud has no knob.
#[derive(Debug, Clone)]
pub struct Settings {
    /// How often each online simulated device publishes `WebhookDemo01` (`None`: only on connect
    /// and on a MODE click).
    pub sim_publish_interval: Option<Duration>,
    /// Longest silence on an event stream before the cloud's keepalive newline (Particle: a
    /// newline every 9 to 13 s, which particle-api-js's 15 s idle timeout relies on; see
    /// `sse.rs`). The page is told it (`/config.json`), so it knows how long a healthy stream of
    /// the sandbox stays quiet.
    pub keepalive: Duration,
    /// How long a webhook server may take to answer (Particle: 20 s).
    pub hook_timeout: Duration,
    /// How long a failed or skipped delivery waits before each retry (Particle: 30 s, then 60 s;
    /// empty: no retries). After the last retry the delivery is dropped.
    pub retry_delays: Vec<Duration>,
    /// How long flashing a simulated device takes (then it reboots for half as long).
    pub flash_time: Duration,
    /// API publishes per second each user may make, after a burst of ten (0: no limit); beyond
    /// it, publishing answers 429 as Particle's rate limit does.
    pub publishes_per_second: u32,
    /// Whether deliveries are held to the per-integration and per-account rates (the "Sleeping"
    /// throttle for a host's errors always applies). Off only for benchmarks, which measure one
    /// delivery after another as fast as the engine goes.
    pub delivery_rates: bool,
    /// Where webhooks may be sent: anywhere on a learner's machine, only the server's own relay
    /// (and hosts the operator names) on a public host.
    pub webhook_targets: WebhookTargets,
    /// The host (and port) of `--public-url`: besides IP addresses and `localhost`, the only
    /// `Host` the `_sim` control endpoints answer (DNS rebinding).
    pub public_host: Option<String>,
    /// Believe a proxy's `X-Forwarded-For` / `Forwarded` for the client's address (what sign-in
    /// attempts are counted against); otherwise the connection's peer address is the client.
    pub trust_forwarded: bool,
    /// How much the cloud holds and how fast sign-in may be guessed.
    pub limits: Limits,
    /// One world for everyone (a learner's machine) or a world per sign-in (a hosted sandbox).
    pub worlds: WorldsMode,
    /// How many worlds there may be, how much each holds, and how long one lasts unused.
    pub world_limits: WorldLimits,
    /// Where the worlds are kept when several instances serve them (`--store redis://…`, with a
    /// world per sign-in); `None`: in this process only.
    pub shared_worlds: Option<SharedWorlds>,
}

/// What the sandbox holds for its users and how often they may guess; everything a client can make
/// it keep is capped per account and in all, and what expires is pruned, so a flood is refused
/// at these bounds instead of growing the process.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Products one account owns (Particle's own plans cap them too).
    pub products_per_user: usize,
    /// Products of every account together.
    pub products: usize,
    /// Integrations one account holds over its products and its own list (each product holds at
    /// most 100 besides).
    pub integrations_per_user: usize,
    /// Bytes of integration settings one account holds: an integration is kept, listed and
    /// rendered at each delivery, so its size is memory and time.
    pub integration_bytes_per_user: usize,
    /// Integrations, and their bytes, of every account together.
    pub integrations: usize,
    pub integration_bytes: usize,
    /// Live access tokens per account: signing in once more signs out the oldest (refusing would
    /// let a flood of sign-ins lock a shared account out for the tokens' 90 days).
    pub tokens_per_user: usize,
    /// Live access tokens of every account together (the oldest go first).
    pub tokens: usize,
    /// Pending second factors per account and in all (the oldest go first).
    pub mfa_tokens_per_user: usize,
    pub mfa_tokens: usize,
    /// Wrong one-time codes an MFA token survives: the last one ends it, and the learner signs in
    /// again, so a code cannot be guessed through one token.
    pub wrong_codes_per_mfa_token: u32,
    /// Compiled binaries per account and in all (the oldest go first); each expires after
    /// `BINARY_LIFETIME` as the compile answer says.
    pub binaries_per_user: usize,
    pub binaries: usize,
    /// Failed sign-ins (password or one-time code) one client address may make at once, and
    /// then one more per `failure_refill`. Beyond them every attempt is answered 429 with
    /// `Retry-After`, even with the right password, so guessing cannot go on between refusals.
    pub failures_per_client: u32,
    /// Failed sign-ins one account may see at once, from every address together (an attacker
    /// with many addresses), then one more per `failure_refill`.
    pub failures_per_account: u32,
    /// How long a client or an account waits for one more failure to be allowed.
    pub failure_refill: Duration,
    /// Deliveries waiting to be retried, per world and in all: a failing server must not make
    /// the sandbox hold more and more of them. Beyond either bound a failed delivery is dropped
    /// at once instead of retried.
    pub retries_per_world: usize,
    pub retries: usize,
    /// Requests to open an event stream one client address may make per `stream_open_window`
    /// (Particle: 100 per 5 minutes per public IP address), and streams it may hold open at once
    /// (Particle: 100); beyond either, 529.
    pub stream_opens_per_client: usize,
    pub stream_open_window: Duration,
    pub open_streams_per_client: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            products_per_user: 20,
            products: 2_000,
            integrations_per_user: 500,
            integration_bytes_per_user: 8 * 1024 * 1024,
            integrations: 20_000,
            integration_bytes: 64 * 1024 * 1024,
            tokens_per_user: 100,
            tokens: 20_000,
            mfa_tokens_per_user: 10,
            mfa_tokens: 2_000,
            wrong_codes_per_mfa_token: 5,
            binaries_per_user: 10,
            binaries: 2_000,
            failures_per_client: 10,
            failures_per_account: 20,
            failure_refill: Duration::from_secs(6),
            retries_per_world: 1_000,
            retries: 20_000,
            stream_opens_per_client: 100,
            stream_open_window: Duration::from_secs(5 * 60),
            open_streams_per_client: 100,
        }
    }
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            sim_publish_interval: Some(Duration::from_secs(60)),
            keepalive: Duration::from_secs(9),
            hook_timeout: Duration::from_secs(webhook_demo_core::webhook::TIMEOUT_SECS),
            retry_delays: vec![Duration::from_secs(30), Duration::from_secs(60)],
            flash_time: firmware::FLASH_TIME,
            publishes_per_second: 1,
            delivery_rates: true,
            webhook_targets: WebhookTargets::Anywhere,
            public_host: None,
            trust_forwarded: false,
            limits: Limits::default(),
            worlds: WorldsMode::Shared,
            world_limits: WorldLimits::default(),
            shared_worlds: None,
        }
    }
}

/// What every world shares: the settings, the sign-in attempts, the HTTP client, the shutdown.
pub(crate) struct Common {
    pub settings: Settings,
    /// Failed sign-ins per client address and per account: its own lock, and kept across
    /// `_sim/reset`, which anyone who may guess may also ask for.
    pub attempts: Mutex<attempts::Attempts>,
    pub client: reqwest::Client,
    /// Deliveries of every world waiting to be retried (`Limits::retries`).
    pub retries: Arc<AtomicUsize>,
    /// Event streams opened lately and open now, per client address (`sse.rs`): shared by the
    /// worlds, since Particle's limits are the address's whoever it signs in as.
    pub streams: Mutex<sse::Clients>,
    /// Becomes true when the server shuts down: streams end and the simulation stops.
    pub closed: watch::Sender<bool>,
}

/// One world: a cloud (users, devices, products, integrations, tokens, logs), its streams and its
/// webhook engine's memory. On a learner's machine there is one; on a hosted sandbox, one per
/// sign-in (`worlds.rs`). What the worlds share is reached through it (`Deref` to `Common`).
pub(crate) struct Inner {
    pub cloud: Mutex<Cloud>,
    pub events: events::Bus,
    /// The webhook engine's memory of recent deliveries (per host, integration and user): its own
    /// lock, so the cloud's state knows nothing of the engine and delivering never waits on an
    /// API handler's field updates.
    pub throttle: Mutex<engine::Throttle>,
    /// The streams `_sim` told to go silent (`sse.rs`).
    pub silences: sse::Silences,
    /// Whose world it is and when it was last used.
    pub life: worlds::Life,
    pub common: Arc<Common>,
}

impl Deref for Inner {
    type Target = Common;

    fn deref(&self) -> &Common {
        &self.common
    }
}

/// The world a request acts on.
pub(crate) type Shared = Arc<Inner>;

/// What the routes are built with: what the worlds share, and the worlds.
#[derive(Clone)]
pub(crate) struct Root {
    pub common: Arc<Common>,
    pub worlds: Arc<worlds::Worlds>,
}

impl Deref for Root {
    type Target = Common;

    fn deref(&self) -> &Common {
        &self.common
    }
}

/// A locked cloud. Dropping it settles what the cloud holds with the budget all worlds share, so
/// no path that changes a cloud can forget to.
pub(crate) struct Locked<'a>(MutexGuard<'a, Cloud>);

impl Deref for Locked<'_> {
    type Target = Cloud;

    fn deref(&self) -> &Cloud {
        &self.0
    }
}

impl DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut Cloud {
        self.0.changes = self.0.changes.wrapping_add(1);
        &mut self.0
    }
}

impl Locked<'_> {
    /// The cloud, to change only what its snapshot leaves out (publish allowances, compiled
    /// binaries): not counted as a change, so no save to a shared store follows.
    pub(crate) fn untracked(&mut self) -> &mut Cloud {
        &mut self.0
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        self.0.settle();
    }
}

/// The cloud, locked. Handlers hold it for a few field updates and never across an `.await`; a
/// panic in another handler cannot leave it half-updated, so a poisoned lock is still usable.
pub(crate) fn lock(shared: &Shared) -> Locked<'_> {
    Locked(shared.cloud.lock().unwrap_or_else(PoisonError::into_inner))
}

/// Back to the fixture, as on a fresh start: the cloud's state and the engine's throttle. A
/// world of its own keeps its tokens and publish allowances: a reset neither signs its learner
/// out of the world nor refills a rate limit.
pub(crate) fn reset(shared: &Shared) {
    {
        let mut cloud = lock(shared);
        let mut fresh = Cloud::fixture_in(cloud.bounds.clone());
        if shared.life.is_own() {
            fresh.tokens = std::mem::take(&mut cloud.tokens);
            fresh.publish_allowance = std::mem::take(&mut cloud.publish_allowance);
        }
        *cloud = fresh;
    }
    *shared
        .throttle
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = engine::Throttle::default();
}

/// One emulated cloud (or one per sign-in): its routes, and its simulation running in the
/// background.
#[derive(Clone)]
pub struct Sandbox {
    root: Root,
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
        let common = Arc::new(Common {
            settings,
            attempts: Mutex::default(),
            client,
            retries: Arc::default(),
            streams: Mutex::default(),
            closed: watch::Sender::new(false),
        });
        let worlds = Arc::new(worlds::Worlds::new(&common));
        let root = Root { common, worlds };
        if tokio::runtime::Handle::try_current().is_ok() {
            tokio::spawn(sim::run(root.clone()));
            if let worlds::Worlds::PerSignIn(_) = &*root.worlds {
                tokio::spawn(worlds::sweep(root.clone()));
                tokio::spawn(worlds::maintain(root.clone()));
            }
        }
        Sandbox { root }
    }

    /// The live worlds (tests look inside them).
    #[cfg(test)]
    pub(crate) fn worlds(&self) -> Vec<Shared> {
        self.root.worlds.all()
    }

    /// The one world of a sandbox that has one (tests look inside it).
    #[cfg(test)]
    pub(crate) fn shared(&self) -> Shared {
        match &*self.root.worlds {
            worlds::Worlds::Shared(world) => world.clone(),
            worlds::Worlds::PerSignIn(_) => panic!("a sandbox of worlds has no one world"),
        }
    }

    /// The sandbox's routes, relative to where the server mounts them.
    pub fn router(&self) -> Router {
        // Who may call (`origin.rs`): the control endpoints no other origin at all, the API
        // loopback origins and the public host, and every route only requests addressed to
        // this server.
        let root = &self.root;
        let sim = bounded(root, api::sim_routes())
            .method_not_allowed_fallback(error::method_not_allowed)
            .layer(middleware::from_fn_with_state(
                root.clone(),
                origin::own_pages_only,
            ));
        bounded(root, api::routes())
            .method_not_allowed_fallback(error::method_not_allowed)
            .layer(origin::api_cors(root.settings.public_host.clone()))
            .merge(sim)
            .fallback(error::not_found)
            .layer(middleware::from_fn_with_state(
                root.clone(),
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
            .with_state(root.clone())
    }

    /// Ends every event stream and stops the simulation (the server is shutting down).
    pub fn close(&self) {
        self.root.closed.send_replace(true);
    }

    /// After [`Sandbox::close`], once no request is left: with worlds in a shared store, saves
    /// every world this instance holds and ends its lease, so that the next request for each, on
    /// any instance, takes it over at once.
    pub async fn hand_over(&self) {
        worlds::hand_over(&self.root).await;
    }
}

/// Routes whose bodies are bounded and whose every refusal is in Particle's shape, inside CORS so
/// that a page is allowed to read the refusal too; each request finds its world first.
fn bounded(root: &Root, routes: Router<Root>) -> Router<Root> {
    routes
        .layer(middleware::from_fn_with_state(
            root.clone(),
            worlds::resolve,
        ))
        .layer(middleware::from_fn(error::particle_shape))
        .layer(DefaultBodyLimit::max(error::MAX_BODY_BYTES))
        .layer(middleware::from_fn(error::body_limit))
}

/// The routes of a fresh sandbox with default settings.
pub fn router() -> Router {
    Sandbox::new(Settings::default()).router()
}

#[cfg(test)]
mod tests;
