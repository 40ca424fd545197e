//! The webhook engine: for each published event, every integration it triggers sends a real HTTP
//! request built by `webhook_demo_core::webhook`, and the outcome is published the way the Particle
//! cloud publishes it: `hook-sent/<event>`, then the response in 512-byte chunks on
//! `<responseTopic>/<index>`, or one `<errorResponseTopic>/0` with an error text in Particle's words.
//!
//! Like the real cloud, a host whose errors outnumber its successes is put to sleep for a few
//! seconds: attempts meanwhile are skipped with "Sleeping, too many errors, please wait and try
//! again" instead of being sent. The same sleep guards against loops: an integration that fires
//! more than [`INTEGRATION_RATE`] times a second (or a user's integrations, [`USER_RATE`]) is
//! asleep for a while. A webhook whose target publishes the event that triggers it again (its own
//! server, or the sandbox's `_sim` publish) would otherwise run as fast as the machine allows;
//! skipping a delivery breaks the chain, so no configuration makes an unbounded storm.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, MutexGuard, PoisonError},
    time::Duration,
};

use tokio::time::Instant;
use webhook_demo_core::webhook::{
    self, EventContext, WebhookRequest, build_request, error_topic, response_chunks, response_data,
    response_topic,
};

use crate::{
    Shared,
    cloud::{Delivery, Integration},
    events::{self, Event, INTERNAL},
};

/// The largest response body the engine reads; the cloud forwards at most 100 KB of it anyway.
const MAX_RESPONSE_READ: usize = 1024 * 1024;
/// How far back a host's outcomes count towards putting it to sleep.
const THROTTLE_WINDOW: Duration = Duration::from_secs(60);
/// Errors within the window before a host can be put to sleep.
const THROTTLE_MIN_ERRORS: usize = 5;
/// How long a sleeping host is left alone after its last error.
const THROTTLE_SLEEP: Duration = Duration::from_secs(5);
pub(crate) const SLEEPING: &str = "Sleeping, too many errors, please wait and try again";
/// Deliveries per second one integration may make, after a burst of twice as many. A device
/// publishes about once a second; ten a second is a loop or a test gone wild.
pub(crate) const INTEGRATION_RATE: f64 = 10.0;
/// Deliveries per second all of one user's integrations may make together, after a burst.
pub(crate) const USER_RATE: f64 = 20.0;

/// Recent outcomes per target host, and the delivery allowance of each integration and user.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    hosts: HashMap<String, VecDeque<(Instant, bool)>>,
    integrations: HashMap<String, Allowance>,
    users: HashMap<String, Allowance>,
}

/// A token bucket that, once empty, stays shut for [`THROTTLE_SLEEP`]: Particle's "sleeping".
#[derive(Debug, Clone, Copy)]
struct Allowance {
    tokens: f64,
    counted: Instant,
    asleep_until: Option<Instant>,
}

impl Allowance {
    fn take(&mut self, rate: f64, now: Instant) -> bool {
        if self.asleep_until.is_some_and(|until| now < until) {
            return false;
        }
        self.asleep_until = None;
        let elapsed = now.duration_since(self.counted).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(2.0 * rate);
        self.counted = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            self.asleep_until = Some(now + THROTTLE_SLEEP);
            false
        }
    }
}

/// The engine's throttle, locked for one count. Like the cloud's lock, never held across an
/// `.await`, and still usable after a panic elsewhere (a count is never left half-made).
fn throttle(shared: &Shared) -> MutexGuard<'_, Throttle> {
    shared
        .throttle
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// Why a delivery was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skip {
    /// The target host's errors outnumber its successes.
    HostErrors,
    /// The integration fired faster than [`INTEGRATION_RATE`].
    Integration,
    /// The user's integrations together fired faster than [`USER_RATE`].
    User,
}

impl Skip {
    /// What the delivery log says, beside the hook-error's Particle text.
    fn explain(self) -> String {
        match self {
            Skip::HostErrors => SLEEPING.to_owned(),
            Skip::Integration => format!(
                "{SLEEPING} (this webhook fired more than {INTEGRATION_RATE} times a second: \
                 does its target publish the event that triggers it?)"
            ),
            Skip::User => format!(
                "{SLEEPING} (this account's webhooks fired more than {USER_RATE} times a second)"
            ),
        }
    }
}

impl Throttle {
    /// Counts one delivery of `integration` (owned by `user`, sent to `host`), or says why it
    /// must be skipped.
    pub(crate) fn admit(
        &mut self,
        integration: &str,
        user: &str,
        host: &str,
        now: Instant,
    ) -> Result<(), Skip> {
        if self.is_sleeping(host, now) {
            return Err(Skip::HostErrors);
        }
        let fresh = Allowance {
            tokens: 2.0 * INTEGRATION_RATE,
            counted: now,
            asleep_until: None,
        };
        if !self
            .integrations
            .entry(integration.to_owned())
            .or_insert(fresh)
            .take(INTEGRATION_RATE, now)
        {
            return Err(Skip::Integration);
        }
        let fresh = Allowance {
            tokens: 2.0 * USER_RATE,
            ..fresh
        };
        if !self
            .users
            .entry(user.to_owned())
            .or_insert(fresh)
            .take(USER_RATE, now)
        {
            return Err(Skip::User);
        }
        Ok(())
    }

    fn is_sleeping(&mut self, host: &str, now: Instant) -> bool {
        let Some(outcomes) = self.hosts.get_mut(host) else {
            return false;
        };
        while outcomes
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > THROTTLE_WINDOW)
        {
            outcomes.pop_front();
        }
        let errors = outcomes.iter().filter(|(_, ok)| !ok).count();
        let last_error = outcomes.iter().rev().find(|(_, ok)| !ok).map(|(at, _)| *at);
        errors >= THROTTLE_MIN_ERRORS
            && errors > outcomes.len() - errors
            && last_error.is_some_and(|at| now.duration_since(at) < THROTTLE_SLEEP)
    }

    fn record(&mut self, host: &str, ok: bool, now: Instant) {
        let outcomes = self.hosts.entry(host.to_owned()).or_default();
        outcomes.push_back((now, ok));
        if outcomes.len() > 256 {
            outcomes.pop_front();
        }
    }
}

/// Starts a delivery for every integration `event` triggers. Returns at once; each delivery runs
/// as its own task.
pub(crate) fn dispatch(shared: &Shared, event: &Arc<Event>) {
    // No chaining: neither the special names nor a webhook's own (possibly custom-topic) events
    // trigger anything.
    if webhook::is_webhook_event(&event.name) || event.coreid == INTERNAL {
        return;
    }
    let deliveries: Vec<(Integration, EventContext)> = {
        let cloud = crate::lock(shared);
        let product_user = event.product_id.and_then(|id| {
            cloud
                .products
                .iter()
                .find(|p| p.id == id)
                .map(|p| p.user.clone())
        });
        let product_version = cloud
            .devices
            .iter()
            .find(|d| d.id == event.coreid)
            .and_then(|d| d.firmware_version);
        cloud
            .integrations
            .iter()
            .filter(|i| match i.product_id {
                Some(product) => event.product_id == Some(product),
                None => i.owner == event.owner && event.product_id.is_none(),
            })
            .filter(|i| webhook::triggers(&i.settings, &event.name, &event.coreid))
            .map(|i| {
                let context = EventContext {
                    name: event.name.clone(),
                    data: event.data.clone(),
                    published_at: event.published_at(),
                    coreid: event.coreid.clone(),
                    event_id: format!("{:x}{}", event.published_ms, i.id),
                    product_id: event.product_id,
                    product_user_id: product_user.clone(),
                    product_version,
                };
                (i.clone(), context)
            })
            .collect()
    };
    for (integration, context) in deliveries {
        tokio::spawn(deliver(shared.clone(), event.clone(), integration, context));
    }
}

async fn deliver(
    shared: Shared,
    event: Arc<Event>,
    integration: Integration,
    context: EventContext,
) {
    let settings = &integration.settings;
    let publish = |name: String, data: String| {
        events::publish(
            &shared,
            Event::new(&name, &data, INTERNAL, &event.owner, event.product_id),
        );
    };
    let error_topic =
        error_topic(settings, &context).unwrap_or_else(|_| format!("hook-error/{}", context.name));
    let mut delivery = Delivery {
        integration_id: integration.id.clone(),
        event: context.name.clone(),
        outcome: "error",
        method: String::new(),
        url: settings.url.clone(),
        headers: Vec::new(),
        body: None,
        status: None,
        response_body: None,
        error: None,
        sent_at: events::now_ms(),
        duration_ms: None,
        chunks: 0,
    };
    // A delivery that ends before its request is sent: the learner's hook-error, and the log entry.
    let give_up = |mut delivery: Delivery, outcome: &'static str, shown: String, logged: String| {
        publish(format!("{error_topic}/0"), shown);
        delivery.outcome = outcome;
        delivery.error = Some(logged);
        crate::lock(&shared).record(delivery);
    };
    let (owned_settings, owned_context) = (settings.clone(), context.clone());
    let rendered = off_the_runtime(move || build_request(&owned_settings, &owned_context)).await;
    let request = match rendered {
        Ok(request) => request,
        Err(error) => {
            let text = format!("error rendering the {error}");
            return give_up(delivery, "error", text.clone(), text);
        }
    };
    delivery.method.clone_from(&request.method);
    delivery.url.clone_from(&request.url);
    delivery.headers.clone_from(&request.headers);
    delivery.body.clone_from(&request.body);
    let target = match shared.settings.webhook_targets.resolve(&request.url) {
        Ok(target) => target,
        Err(text) => return give_up(delivery, "error", text.clone(), text),
    };
    let host = host_of(&request.url);
    let admitted =
        throttle(&shared).admit(&integration.id, &integration.owner, &host, Instant::now());
    if let Err(skip) = admitted {
        return give_up(delivery, "throttled", SLEEPING.to_owned(), skip.explain());
    }

    publish(
        format!("hook-sent/{}", context.name),
        "undefined".to_owned(),
    );
    let started = Instant::now();
    let result = send(&shared.client, &request, target).await;
    delivery.duration_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
    let ok = matches!(&result, Ok((status, _)) if (200..300).contains(status));
    throttle(&shared).record(&host, ok, Instant::now());
    match result {
        Ok((status, body)) if ok => {
            delivery.outcome = "response";
            delivery.status = Some(status);
            if !body.is_empty() {
                let topic = response_topic(settings, &context);
                let (settings, context, body) = (settings.clone(), context.clone(), body.clone());
                let data = off_the_runtime(move || response_data(&settings, &context, &body)).await;
                match (topic, data) {
                    (Ok(topic), Ok(data)) => {
                        let chunks = response_chunks(&data);
                        delivery.chunks = chunks.len();
                        for (index, chunk) in chunks.into_iter().enumerate() {
                            publish(format!("{topic}/{index}"), chunk.to_owned());
                        }
                    }
                    (Err(error), _) | (_, Err(error)) => {
                        let text = format!("error rendering the {error}");
                        publish(format!("{error_topic}/0"), text.clone());
                        delivery.outcome = "error";
                        delivery.error = Some(text);
                    }
                }
            }
            delivery.response_body = Some(body);
        }
        Ok((status, body)) => {
            let text = format!("error status {status} from {host}");
            publish(format!("{error_topic}/0"), text.clone());
            delivery.status = Some(status);
            delivery.response_body = Some(body);
            delivery.error = Some(text);
        }
        Err(text) => {
            publish(format!("{error_topic}/0"), text.clone());
            delivery.error = Some(text);
        }
    }
    crate::lock(&shared).record(delivery);
}

/// Runs a rendering on a blocking thread: a template may spend its whole budget, a few hundred
/// milliseconds, and the async workers must keep serving meanwhile.
async fn off_the_runtime<T: Send + 'static>(render: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(render)
        .await
        .expect("rendering never panics")
}

/// Sends the request; the answer's status and body (as text), or the error in Particle's words.
/// `target` is where it goes: the request's own URL, or the server's own relay over loopback.
async fn send(
    client: &reqwest::Client,
    request: &WebhookRequest,
    target: reqwest::Url,
) -> Result<(u16, String), String> {
    if target.scheme() != "http" {
        return Err(format!(
            "error the sandbox sends webhooks over plain http:// only, not to {}",
            request.url
        ));
    }
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|_| format!("error invalid request type {}", request.method))?;
    let mut builder = client.request(method, target);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    if let Some(body) = &request.body {
        builder = builder.body(body.clone());
    }
    let mut response = builder.send().await.map_err(describe)?;
    let status = response.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(describe)? {
        body.extend_from_slice(&chunk);
        if body.len() >= MAX_RESPONSE_READ {
            body.truncate(MAX_RESPONSE_READ);
            break;
        }
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// A failed request in the words Particle's cloud uses (Node.js error codes).
fn describe(error: reqwest::Error) -> String {
    if error.is_timeout() {
        "ETIMEDOUT".to_owned()
    } else if error.is_connect() {
        "ECONNREFUSED".to_owned()
    } else if error.is_builder() {
        format!("error invalid request: {error}")
    } else {
        "ECONNRESET".to_owned()
    }
}

/// The host (without port) a URL names; throttling is per host, whatever the port.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if let Some(bracketed) = authority.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or_default().to_owned();
    }
    authority.split(':').next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_ignore_scheme_port_credentials_and_path() {
        assert_eq!(host_of("http://127.0.0.1:8080/relay/hook/x?y"), "127.0.0.1");
        assert_eq!(host_of("https://u:p@example.com/p"), "example.com");
        assert_eq!(host_of("http://[::1]:9/"), "::1");
        assert_eq!(host_of("http://h"), "h");
    }

    #[test]
    fn a_host_sleeps_when_errors_outnumber_successes_and_wakes_after_quiet() {
        let mut throttle = Throttle::default();
        let start = Instant::now();
        for i in 0..4 {
            throttle.record("h", false, start + Duration::from_millis(i));
        }
        assert!(
            !throttle.is_sleeping("h", start),
            "four errors are not enough"
        );
        throttle.record("h", false, start);
        assert!(throttle.is_sleeping("h", start + Duration::from_secs(1)));
        assert!(!throttle.is_sleeping("other", start));
        assert!(!throttle.is_sleeping("h", start + THROTTLE_SLEEP + Duration::from_millis(1)));
        // Successes outnumbering the errors keep the host awake.
        let mut healthy = Throttle::default();
        for i in 0..13 {
            healthy.record("h", i % 2 == 0, start);
        }
        assert!(!healthy.is_sleeping("h", start));
    }
}
