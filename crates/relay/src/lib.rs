//! The webhook relay, mounted by the server at `/relay`.
//!
//! A page opens `GET stream` and receives a session: a secret session id (for its stream, control
//! and answers) and a public hook URL carrying a distinct token. Every request to
//! `hook/{token}[/…]` is recorded, streamed to the page as a `hook` event and answered (by default,
//! by the page, or by a timeout), and the answer is streamed as `hookResponse`. Events carry ids and
//! are kept in a bounded per-session log, so a page that reconnects with `Last-Event-ID` misses
//! nothing, and hooks that arrive while no page is connected are replayed. The protocol is described
//! for operators in `docs/relay-protocol.md`.

mod admission;
mod client;
mod control;
mod error;
mod forwarded;
mod hook;
mod memory_store;
mod metrics;
mod redis_store;
mod session;
mod share;
mod store;
mod stream;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    extract::State,
    http::{HeaderName, HeaderValue, Method, header},
    response::Response,
    routing::{any, get, post},
};
use tokio::sync::watch;
use tower_http::cors::{Any, CorsLayer};
use webhook_demo_core::wire;

pub use admission::{OpenRefused, StoreError};
pub use client::Client;
pub use memory_store::MemoryStore;
pub use redis_store::RedisUrl;
pub use store::{RedisStore, Store};

/// How the relay builds the URLs it hands out, and its limits.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Base URL the Particle cloud can reach (`--public-url`); without it the request's origin is used.
    pub public_url: Option<String>,
    /// Believe the forwarding headers (`X-Forwarded-Proto`, `X-Forwarded-Host`, `X-Forwarded-For`,
    /// `Forwarded`) for the hook URL's origin and the client's address. Only behind a proxy that
    /// sets them: otherwise any client chooses them.
    pub trust_forwarded: bool,
    pub limits: Limits,
}

/// Every bound the relay enforces. Each is answered with a clear status and message when exceeded.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Hosts (`name` or `name:port`, as in a `Host` header) hook URLs may be built on when there
    /// is no public URL, besides loopback ones (`localhost`, 127.0.0.0/8, `[::1]`); a stream
    /// requested under any other host is refused (421), so hook URLs name only hosts the
    /// operator chose.
    pub hosts: Vec<String>,
    /// Largest hook body (and page body: control, respond) accepted (413 beyond).
    pub max_body_bytes: usize,
    /// Events kept per session for replay; the oldest are evicted first.
    pub max_events: usize,
    /// Bytes of events kept per session for replay, counted as stored (JSON-escaped).
    pub max_buffer_bytes: usize,
    /// Bytes all sessions together may hold (their events as stored and their answers); hooks
    /// beyond it are answered 503 until events are evicted or sessions expire.
    pub max_total_buffer_bytes: usize,
    /// Sustained hooks per second per session (429 beyond); 0 turns the limit off.
    pub hooks_per_second: u32,
    /// Hooks a session may receive at once before the rate applies.
    pub hook_burst: u32,
    /// A session with no stream attached for this long is forgotten.
    pub idle_expiry: Duration,
    /// How soon a session is forgotten once its stream ends, when it never received a hook and no
    /// page came back to it (at most `idle_expiry`).
    pub unused_expiry: Duration,
    /// Sessions alive at once (503 on `stream` beyond).
    pub max_sessions: usize,
    /// Sessions one client address (an IPv6 /64) may hold at once (429 on `stream` beyond), so no
    /// client takes every slot; 0 turns the limit off, and the network's below with it.
    pub max_sessions_per_client: usize,
    /// The part of `max_sessions` one network (an IPv4 /24, an IPv6 /48) may hold, in percent
    /// (429 on `stream` beyond; never fewer than one client's); 0 turns the limit off. When the
    /// relay is full, the network holding the most sessions gives up its least used one to a
    /// client of a network holding fewer.
    pub network_sessions_percent: u8,
    /// The part of `max_total_buffer_bytes` the sessions of one client address may hold, in
    /// percent; beyond it their own oldest events give way. 0 turns the share off.
    pub client_bytes_percent: u8,
    /// The same for the sessions of one network (an IPv4 /24, an IPv6 /48).
    pub network_bytes_percent: u8,
    /// Longest silence on a stream before a keepalive comment.
    pub keepalive: Duration,
    /// How long a hook waits for the page's answer unless the page says otherwise.
    pub default_deadline: Duration,
    /// Upper bound for the page-answer deadline and for the answer delay: well under the 20 s after
    /// which Particle gives up on a webhook request.
    pub max_wait: Duration,
    /// Upper bound for the answer delay: one second past Particle's 20 s, so a learner can make
    /// their webhook time out on purpose and watch the cloud's `hook-error`.
    pub max_delay: Duration,
    /// End each stream after this long; the page reconnects to the same session and misses
    /// nothing. Useful behind proxies that cut long responses at a time of their choosing.
    pub max_stream_age: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            hosts: Vec::new(),
            max_body_bytes: 1024 * 1024,
            max_events: 1000,
            max_buffer_bytes: 16 * 1024 * 1024,
            // Sixteen full sessions; most sessions hold a few kilobytes.
            max_total_buffer_bytes: 256 * 1024 * 1024,
            // Particle delivers a device's events far slower than this; more means a loop somewhere.
            hooks_per_second: 100,
            hook_burst: 200,
            idle_expiry: Duration::from_secs(30 * 60),
            // Long enough for a page to reconnect after a network change.
            unused_expiry: Duration::from_secs(2 * 60),
            max_sessions: 20_000,
            // A class of learners behind one NAT, each with a tab or two.
            max_sessions_per_client: 32,
            // 1,000 of 20,000: a school or a cloud's /24 fits; a flood from one prefix does not
            // crowd out the rest of the world.
            network_sessions_percent: 5,
            // 32 MiB and 64 MiB of 256: two full sessions per address, four per network, far
            // beyond what a class of learners keeps; at least four networks are needed to fill
            // the relay, and then the largest give way to the rest.
            client_bytes_percent: 12,
            network_bytes_percent: 25,
            keepalive: Duration::from_secs(15),
            default_deadline: Duration::from_secs(5),
            // The limits the page checks an answer against before sending it, stated once.
            max_wait: Duration::from_millis(wire::MAX_DEADLINE_MS.into()),
            max_delay: Duration::from_millis(wire::MAX_DELAY_MS.into()),
            max_stream_age: None,
        }
    }
}

impl Limits {
    /// The bytes one client and one network may hold (`client_bytes_percent` and
    /// `network_bytes_percent` of `max_total_buffer_bytes`; 0 is no share).
    pub(crate) fn byte_shares(&self) -> (usize, usize) {
        let share = |percent: u8| match percent {
            0 => usize::MAX,
            percent => self.max_total_buffer_bytes / 100 * usize::from(percent.min(100)),
        };
        (
            share(self.client_bytes_percent),
            share(self.network_bytes_percent),
        )
    }

    /// Sessions one network may hold (`network_sessions_percent` of `max_sessions`).
    pub(crate) fn sessions_per_network(&self) -> usize {
        match self.network_sessions_percent {
            0 => usize::MAX,
            percent => (self.max_sessions / 100 * usize::from(percent.min(100)))
                .max(self.max_sessions_per_client),
        }
    }
}

/// A running relay: its router and a way to end its streams at shutdown.
#[derive(Clone)]
pub struct Relay {
    shared: Arc<Shared>,
}

/// What every handler sees.
struct Shared {
    settings: Settings,
    store: Store,
    closing: watch::Sender<bool>,
    metrics: metrics::Metrics,
}

impl Relay {
    pub fn new(settings: Settings) -> Relay {
        let store = MemoryStore::new(settings.limits.clone());
        Relay::with_store(settings, Store::Memory(store))
    }

    pub fn with_store(settings: Settings, store: Store) -> Relay {
        let (closing, _) = watch::channel(false);
        Relay {
            shared: Arc::new(Shared {
                settings,
                store,
                closing,
                metrics: metrics::Metrics::new(),
            }),
        }
    }

    /// The relay's routes, relative to where the server mounts them.
    pub fn router(&self) -> Router {
        // The session id is the capability; no cookies, so any origin may call these.
        let cors = CorsLayer::new()
            .allow_origin(Any)
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::CONTENT_TYPE,
                header::ACCEPT,
                HeaderName::from_static("last-event-id"),
            ]);
        let page = Router::new()
            .route("/stream", get(stream::open))
            .route("/control/{session}", post(control::control))
            .route("/respond/{session}/{hook}", post(control::respond))
            .layer(cors);
        Router::new()
            .route("/hook/{token}", any(hook::receive))
            .route("/hook/{token}/{*rest}", any(hook::receive))
            .merge(page)
            .fallback(error::not_found)
            .layer(axum::middleware::map_response_with_state(
                Arc::clone(&self.shared),
                count_store_errors,
            ))
            .layer(axum::middleware::map_response(inert))
            .with_state(Arc::clone(&self.shared))
    }

    /// The relay's metrics in the OpenMetrics text format (`GET /metrics`), which Prometheus
    /// reads.
    pub async fn metrics(&self) -> String {
        let shared = &self.shared;
        let (sessions, bytes) = match shared.store.stats().await {
            Ok(stats) => stats,
            Err(_) => {
                shared.metrics.store_errors.inc();
                (0, 0)
            }
        };
        shared.metrics.encode(sessions, bytes)
    }

    /// Ends every open stream cleanly, so a graceful shutdown does not wait on them forever.
    pub fn close(&self) {
        self.shared.closing.send_replace(true);
        // Streams wait only on their session's wake-up: wake them all to see `closing`.
        self.shared.store.wake_all();
    }
}

/// Counts the answers that failed because the store could not be reached.
async fn count_store_errors(State(shared): State<Arc<Shared>>, response: Response) -> Response {
    if response.extensions().get::<error::StoreFailed>().is_some() {
        shared.metrics.store_errors.inc();
    }
    response
}

/// Every relay answer is data for a program, never a page. A hook's answer carries whatever
/// content type the session chose, `text/html` included, from the tutorial's own origin; opened in
/// a browser it must not run script or read that origin's storage (where the page may keep the
/// learner's token). `sandbox` gives the document an opaque origin, `default-src 'none'` loads
/// nothing, `nosniff` stops a browser guessing HTML from a body.
async fn inert(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests;
