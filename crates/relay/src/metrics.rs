//! What the relay tells operators at `GET /metrics` (OpenMetrics text, which Prometheus reads):
//! sessions, open streams, hooks received and answered by status, bytes held, how long hooks
//! wait for the page's answer, and store errors. `prometheus-client` does the exposition, so the
//! format's escaping and naming rules are its, not ours.

use std::sync::Arc;

use prometheus_client::{
    encoding::text::encode,
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

/// The relay's metrics on this instance. Sessions and bytes held are read from the store when
/// scraped (with Redis: those of every instance together).
pub(crate) struct Metrics {
    registry: Registry,
    sessions: Gauge,
    bytes_held: Gauge,
    pub(crate) open_streams: Gauge,
    pub(crate) hooks_received: Counter,
    pub(crate) hooks_answered: Family<Vec<(&'static str, String)>, Counter>,
    pub(crate) page_answer_seconds: Histogram,
    pub(crate) store_errors: Counter,
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let mut metrics = Metrics {
            registry: Registry::with_prefix("relay"),
            sessions: Gauge::default(),
            bytes_held: Gauge::default(),
            open_streams: Gauge::default(),
            hooks_received: Counter::default(),
            hooks_answered: Family::default(),
            // 0.1 ms to 13 s: a page on loopback answers in well under a millisecond, and no
            // hook waits past 15 s.
            page_answer_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 18)),
            store_errors: Counter::default(),
        };
        let registry = &mut metrics.registry;
        registry.register(
            "sessions",
            "Sessions alive (in the shared store: on every instance)",
            metrics.sessions.clone(),
        );
        registry.register(
            "bytes_held",
            "Bytes all sessions keep (events as stored and answers)",
            metrics.bytes_held.clone(),
        );
        registry.register(
            "open_streams",
            "Event streams open on this instance",
            metrics.open_streams.clone(),
        );
        registry.register(
            "hooks_received",
            "Hook requests received by this instance",
            metrics.hooks_received.clone(),
        );
        registry.register(
            "hooks_answered",
            "Hook requests answered by this instance, by status",
            metrics.hooks_answered.clone(),
        );
        registry.register(
            "page_answer_seconds",
            "How long hooks waited for the page's answer",
            metrics.page_answer_seconds.clone(),
        );
        registry.register(
            "store_errors",
            "Requests and streams that failed because the store could not be reached",
            metrics.store_errors.clone(),
        );
        metrics
    }

    /// The exposition, with the store's figures as of now.
    pub(crate) fn encode(&self, sessions: usize, bytes_held: usize) -> String {
        self.sessions
            .set(i64::try_from(sessions).unwrap_or(i64::MAX));
        self.bytes_held
            .set(i64::try_from(bytes_held).unwrap_or(i64::MAX));
        let mut text = String::new();
        encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}

/// Counts a stream as open on this instance while it lives.
pub(crate) struct OpenStream(Arc<crate::Shared>);

impl OpenStream {
    pub(crate) fn new(shared: &Arc<crate::Shared>) -> OpenStream {
        shared.metrics.open_streams.inc();
        OpenStream(Arc::clone(shared))
    }

    pub(crate) fn shared(&self) -> &Arc<crate::Shared> {
        &self.0
    }

    pub(crate) fn store_failed(&self) {
        self.0.metrics.store_errors.inc();
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        self.0.metrics.open_streams.dec();
    }
}
