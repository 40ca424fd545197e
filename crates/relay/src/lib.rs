//! The webhook relay, mounted by the server at `/relay`.
//!
//! A page opens `GET stream` and receives a session with a public hook URL. Every request to
//! `hook/{session}[/…]` is recorded, streamed to the page as a `hook` event and answered (by default,
//! by the page, or by a timeout), and the answer is streamed as `hookResponse`. Events carry ids and
//! are kept in a bounded per-session log, so a page that reconnects with `Last-Event-ID` misses
//! nothing, and hooks that arrive while no page is connected are replayed. The protocol is described
//! for operators in `docs/relay-protocol.md`.

mod control;
mod error;
mod hook;
mod session;
mod store;
mod stream;

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    http::{HeaderName, Method, header},
    routing::{any, get, post},
};
use tokio::sync::watch;
use tower_http::cors::{Any, CorsLayer};

pub use store::{MemoryStore, SessionStore, StoreFull};

/// How the relay builds the URLs it hands out, and its limits.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Base URL the Particle cloud can reach (`--public-url`); without it the request's origin is used.
    pub public_url: Option<String>,
    pub limits: Limits,
}

/// Every bound the relay enforces. Each is answered with a clear status and message when exceeded.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest hook body accepted (413 beyond).
    pub max_body_bytes: usize,
    /// Events kept per session for replay; the oldest are evicted first.
    pub max_events: usize,
    /// Bytes of events kept per session for replay.
    pub max_buffer_bytes: usize,
    /// Sustained hooks per second per session (429 beyond); 0 turns the limit off.
    pub hooks_per_second: u32,
    /// Hooks a session may receive at once before the rate applies.
    pub hook_burst: u32,
    /// A session with no stream attached for this long is forgotten.
    pub idle_expiry: Duration,
    /// Sessions alive at once (503 on `stream` beyond).
    pub max_sessions: usize,
    /// Longest silence on a stream before a keepalive comment.
    pub keepalive: Duration,
    /// How long a hook waits for the page's answer unless the page says otherwise.
    pub default_deadline: Duration,
    /// Upper bound for the page-answer deadline and for the answer delay: well under the 20 s after
    /// which Particle gives up on a webhook request.
    pub max_wait: Duration,
    /// End each stream after this long; the page reconnects to the same session and misses
    /// nothing. Useful behind proxies that cut long responses at a time of their choosing.
    pub max_stream_age: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_body_bytes: 1024 * 1024,
            max_events: 1000,
            max_buffer_bytes: 16 * 1024 * 1024,
            // Particle delivers a device's events far slower than this; more means a loop somewhere.
            hooks_per_second: 100,
            hook_burst: 200,
            idle_expiry: Duration::from_secs(30 * 60),
            max_sessions: 20_000,
            keepalive: Duration::from_secs(15),
            default_deadline: Duration::from_secs(5),
            max_wait: Duration::from_secs(15),
            max_stream_age: None,
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
    store: Box<dyn SessionStore>,
    closing: watch::Sender<bool>,
}

impl Relay {
    pub fn new(settings: Settings) -> Relay {
        let store = MemoryStore::new(settings.limits.clone());
        Relay::with_store(settings, Box::new(store))
    }

    pub fn with_store(settings: Settings, store: Box<dyn SessionStore>) -> Relay {
        let (closing, _) = watch::channel(false);
        Relay {
            shared: Arc::new(Shared {
                settings,
                store,
                closing,
            }),
        }
    }

    /// The relay's routes, relative to where the server mounts them.
    pub fn router(&self) -> Router {
        // The session id in the path is the capability; no cookies, so any origin may call these.
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
            .route("/hook/{session}", any(hook::receive))
            .route("/hook/{session}/{*rest}", any(hook::receive))
            .merge(page)
            .fallback(error::not_found)
            .with_state(Arc::clone(&self.shared))
    }

    /// Ends every open stream cleanly, so a graceful shutdown does not wait on them forever.
    pub fn close(&self) {
        self.shared.closing.send_replace(true);
    }
}

#[cfg(test)]
mod tests;
