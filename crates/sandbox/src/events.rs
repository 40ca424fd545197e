//! Published events: who may see them, how they are written on Particle's event streams, and the
//! one place every event goes through ([`publish`]) on its way to streams, webhooks and devices.

use std::{
    convert::Infallible,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    body::{Body, Bytes},
    http::header,
    response::{IntoResponse, Response},
};
use futures_util::stream;
use serde_json::json;
use tokio::{
    sync::{broadcast, watch},
    time::Instant,
};
use webhook_demo_core::time::iso8601_millis;

use crate::{Shared, engine, sim};

/// Events a slow stream reader may fall behind by before it misses some (as on the real cloud, a
/// stream that cannot keep up loses events rather than the cloud buffering without bound).
const BACKLOG: usize = 4096;
/// `coreid` of events published through the API.
pub(crate) const API: &str = "api";
/// `coreid` of the events webhooks publish.
pub(crate) const INTERNAL: &str = "particle-internal";

#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub name: String,
    pub data: String,
    pub ttl: u32,
    pub published_ms: u64,
    pub coreid: String,
    /// The product it was published in (a product device's event, or an API publish to it).
    pub product_id: Option<u32>,
    /// The user whose streams show it.
    pub owner: String,
}

impl Event {
    pub(crate) fn new(
        name: &str,
        data: &str,
        coreid: &str,
        owner: &str,
        product_id: Option<u32>,
    ) -> Event {
        Event {
            name: name.to_owned(),
            data: data.to_owned(),
            ttl: 60,
            published_ms: now_ms(),
            coreid: coreid.to_owned(),
            product_id,
            owner: owner.to_owned(),
        }
    }

    pub(crate) fn published_at(&self) -> String {
        iso8601_millis(self.published_ms)
    }

    /// The event as one SSE message in Particle's format.
    fn frame(&self) -> Bytes {
        let data = json!({
            "data": self.data,
            "ttl": self.ttl,
            "published_at": self.published_at(),
            "coreid": self.coreid,
        });
        Bytes::from(format!("event: {}\ndata: {data}\n\n", self.name))
    }
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Live events and device log lines, fanned out to whoever listens.
pub(crate) struct Bus {
    pub events: broadcast::Sender<Arc<Event>>,
    /// (device id, line).
    pub logs: broadcast::Sender<Arc<(String, String)>>,
}

impl Bus {
    pub(crate) fn new() -> Bus {
        Bus {
            events: broadcast::Sender::new(BACKLOG),
            logs: broadcast::Sender::new(BACKLOG),
        }
    }
}

/// Publishes an event: to every stream that may see it, to the webhooks it triggers and to the
/// simulated devices subscribed to it.
pub(crate) fn publish(shared: &Shared, event: Event) {
    let event = Arc::new(event);
    // No receivers is fine: nobody is watching.
    let _ = shared.events.events.send(event.clone());
    sim::deliver(shared, &event);
    engine::dispatch(shared, &event);
}

/// Which events a stream shows.
#[derive(Debug, Clone)]
pub(crate) enum Scope {
    /// The caller's events (`/v1/events`, `/v1/devices/events`).
    User(String),
    /// One device's (`/v1/devices/:id/events`).
    Device(String),
    /// One product's (`/v1/products/:id/events`).
    Product(u32),
}

impl Scope {
    fn shows(&self, event: &Event) -> bool {
        match self {
            Scope::User(user) => event.owner == *user,
            Scope::Device(id) => event.coreid == *id,
            Scope::Product(id) => event.product_id == Some(*id),
        }
    }
}

/// An open event stream: `:ok`, then every event in scope whose name starts with `prefix`, in
/// Particle's format.
pub(crate) fn stream(shared: &Shared, scope: Scope, prefix: Option<String>) -> Response {
    let prefix = prefix.unwrap_or_default();
    sse(
        shared,
        shared.events.events.subscribe(),
        Bytes::from_static(b":ok\n\n"),
        move |event: &Arc<Event>| {
            (scope.shows(event) && event.name.starts_with(prefix.as_str())).then(|| event.frame())
        },
    )
}

/// A `text/event-stream` response: `first`, then `frame` of each broadcast item it accepts, with a
/// keepalive comment after each quiet keepalive interval, until the sandbox closes. A reader that
/// falls more than the backlog behind skips what it missed rather than being buffered for.
pub(crate) fn sse<T, F>(
    shared: &Shared,
    receiver: broadcast::Receiver<T>,
    first: Bytes,
    frame: F,
) -> Response
where
    T: Clone + Send + 'static,
    F: Fn(&T) -> Option<Bytes> + Send + 'static,
{
    enum Step<T> {
        Item(Result<T, broadcast::error::RecvError>),
        Quiet,
        Closed,
    }
    struct Feed<T, F> {
        receiver: broadcast::Receiver<T>,
        closed: watch::Receiver<bool>,
        keepalive: Duration,
        first: Option<Bytes>,
        frame: F,
    }
    let feed = Feed {
        receiver,
        closed: shared.closed.subscribe(),
        keepalive: shared.settings.keepalive,
        first: Some(first),
        frame,
    };
    let body = stream::unfold(feed, |mut feed| async move {
        if let Some(first) = feed.first.take() {
            return Some((Ok::<_, Infallible>(first), feed));
        }
        let quiet_until = Instant::now() + feed.keepalive;
        loop {
            let step = tokio::select! {
                next = feed.receiver.recv() => Step::Item(next),
                () = tokio::time::sleep_until(quiet_until) => Step::Quiet,
                _ = feed.closed.wait_for(|closed| *closed) => Step::Closed,
            };
            match step {
                Step::Quiet => return Some((Ok(Bytes::from_static(b":\n\n")), feed)),
                Step::Closed | Step::Item(Err(broadcast::error::RecvError::Closed)) => return None,
                Step::Item(Ok(item)) => {
                    if let Some(frame) = (feed.frame)(&item) {
                        return Some((Ok(frame), feed));
                    }
                }
                Step::Item(Err(broadcast::error::RecvError::Lagged(_))) => {}
            }
        }
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(body),
    )
        .into_response()
}
