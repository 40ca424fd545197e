//! Published events and who may see them, and the one place every event goes through
//! ([`publish`]) on its way to streams, webhooks and devices. How streams write them is `sse.rs`.

use std::sync::{Arc, OnceLock};

use tokio::sync::broadcast;
use webhook_demo_core::time::iso8601_millis;

use crate::{Shared, engine, sim};

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
}

/// Events are stamped by the cloud's clock.
pub(crate) use crate::cloud::clock::now_ms;

/// Live events and device log lines, fanned out to whoever listens. Each channel is made when
/// its first listener comes: a channel holds its whole backlog from the start, and most worlds of
/// a hosted sandbox are never streamed from, or not for long.
pub(crate) struct Bus {
    /// Events a slow reader may fall behind by before it misses some (as on the real cloud, a
    /// stream that cannot keep up loses events rather than the cloud buffering without bound).
    backlog: usize,
    events: OnceLock<broadcast::Sender<Arc<Event>>>,
    /// (device id, line).
    logs: OnceLock<broadcast::Sender<Arc<(String, String)>>>,
}

impl Bus {
    pub(crate) fn new(backlog: usize) -> Bus {
        Bus {
            backlog,
            events: OnceLock::new(),
            logs: OnceLock::new(),
        }
    }

    pub(crate) fn events(&self) -> broadcast::Receiver<Arc<Event>> {
        self.events
            .get_or_init(|| broadcast::Sender::new(self.backlog))
            .subscribe()
    }

    pub(crate) fn logs(&self) -> broadcast::Receiver<Arc<(String, String)>> {
        self.logs
            .get_or_init(|| broadcast::Sender::new(self.backlog))
            .subscribe()
    }

    /// Sends an event to the streams listening (none: nobody is watching).
    pub(crate) fn send_event(&self, event: Arc<Event>) {
        if let Some(sender) = self.events.get() {
            let _ = sender.send(event);
        }
    }

    pub(crate) fn send_log(&self, line: Arc<(String, String)>) {
        if let Some(sender) = self.logs.get() {
            let _ = sender.send(line);
        }
    }
}

/// Publishes an event: to every stream that may see it, to the webhooks it triggers and to the
/// simulated devices subscribed to it.
pub(crate) fn publish(shared: &Shared, event: Event) {
    let event = Arc::new(event);
    shared.events.send_event(event.clone());
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
    pub(crate) fn shows(&self, event: &Event) -> bool {
        match self {
            Scope::User(user) => event.owner == *user,
            Scope::Device(id) => event.coreid == *id,
            Scope::Product(id) => event.product_id == Some(*id),
        }
    }
}
