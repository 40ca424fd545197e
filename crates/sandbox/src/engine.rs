//! The webhook engine: for each published event, every integration it triggers sends a real HTTP
//! request built by `webhook_demo_core::webhook`, and the outcome is published the way the Particle
//! cloud publishes it: `hook-sent/<event>`, then the response in 512-byte chunks on
//! `<responseTopic>/<index>`, or one `<errorResponseTopic>/0` with an error text in Particle's words.
//!
//! Like the real cloud, a host whose errors outnumber its successes is put to sleep for a few
//! seconds: attempts meanwhile are skipped with "Sleeping, too many errors, please wait and try
//! again" instead of being sent. The record is kept per owner and host, so one account's failing
//! server never puts another's deliveries to sleep (on a public server they all go to one relay).
//!
//! Every check comes before any work: a delivery is admitted (host, integration and user) before
//! a template is rendered, renderings take turns per owner and look again when their turn comes,
//! and a rendering that fails or spends its whole budget counts as an error, for the host and for
//! the owner's renderings. So a hundred integrations whose templates each spend their budget cost
//! a few renderings, not a hundred, and a skipped delivery renders nothing (at most its
//! `errorResponseTopic`, and not while its owner's renderings are asleep). The same sleep guards against loops: an integration that fires
//! more than [`INTEGRATION_RATE`] times a second (or a user's integrations, [`USER_RATE`]) is
//! asleep for a while. A webhook whose target publishes the event that triggers it again (its own
//! server, or the sandbox's `_sim` publish) would otherwise run as fast as the machine allows;
//! skipping a delivery breaks the chain, so no configuration makes an unbounded storm.
//!
//! A delivery that fails or is skipped is tried again after each of `Settings::retry_delays`
//! (Particle: 30 s, then 60 s), then dropped. Retries wait without holding their world, are
//! bounded per world and in all (`Limits::retries_per_world`, `Limits::retries`), and go with a
//! world that is forgotten.

use std::{
    collections::{HashMap, VecDeque},
    sync::{
        Arc, MutexGuard, PoisonError,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::{sync::Semaphore, time::Instant};
use webhook_demo_core::webhook::{
    self, BuildError, EventContext, WebhookRequest, build_request, error_topic, response_chunks,
    response_data, response_topic,
};

use crate::{
    Shared,
    cloud::{Delivery, Integration, Outcome},
    events::{self, Event, INTERNAL},
};

/// The largest response body the engine reads; the cloud forwards at most 100 KB of it anyway.
const MAX_RESPONSE_READ: usize = 1024 * 1024;
/// How far back an owner's outcomes with a host count towards putting them to sleep.
const THROTTLE_WINDOW: Duration = Duration::from_secs(60);
/// Errors within the window before a host can be put to sleep.
pub(crate) const THROTTLE_MIN_ERRORS: usize = 5;
/// Failed renderings within the window before an owner's renderings are put to sleep. Fewer
/// than a host's errors: a failed rendering is the sandbox's own CPU (one that spent its whole
/// step budget costs milliseconds), and a template that failed twice will fail again.
pub(crate) const RENDER_MIN_ERRORS: usize = 2;
/// How long a sleeping host is left alone after its last error.
const THROTTLE_SLEEP: Duration = Duration::from_secs(5);
pub(crate) const SLEEPING: &str = "Sleeping, too many errors, please wait and try again";
/// Deliveries per second one integration may make, after a burst of twice as many. A device
/// publishes about once a second; ten a second is a loop or a test gone wild.
pub(crate) const INTEGRATION_RATE: f64 = 10.0;
/// Deliveries per second all of one user's integrations may make together, after a burst.
pub(crate) const USER_RATE: f64 = 20.0;
/// Entries a throttle map holds before the idle ones are dropped: integrations and hosts come
/// and go, and a forgotten one is indistinguishable from a fresh one once it is idle.
const PRUNE_ABOVE: usize = 4096;

/// Whose outcomes a record holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Subject {
    /// One owner's deliveries to one host. Keyed by owner as well as host: on a public server
    /// every webhook goes to the same relay host, and one account's failing server must not put
    /// another's deliveries to sleep.
    Host { owner: String, host: String },
    /// One owner's template renderings: a template that spends its whole budget is an error like
    /// a failed request, so the account's broken templates stop costing CPU after a few tries.
    Renders { owner: String },
}

/// Recent outcomes per owner and host (and per owner's renderings), the delivery allowance of
/// each integration and user, and each owner's rendering turn.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    outcomes: HashMap<Subject, VecDeque<(Instant, bool)>>,
    integrations: HashMap<String, Allowance>,
    users: HashMap<String, Allowance>,
    /// One rendering at a time per owner: the check that may skip a delivery sees the outcome
    /// of every rendering before it, and one account's templates use at most one core.
    turns: HashMap<String, Arc<Semaphore>>,
    /// Templates rendered since the start: what the engine spent, for tests to count.
    pub(crate) renders: u64,
    /// This world's deliveries waiting to be retried (`Limits::retries_per_world`).
    retries: Arc<AtomicUsize>,
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

    /// Full again and awake: forgetting it changes nothing.
    fn is_idle(&self, now: Instant) -> bool {
        now.duration_since(self.counted) > THROTTLE_WINDOW
            && self.asleep_until.is_none_or(|until| until <= now)
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
    /// The owner's errors with the target host outnumber their successes.
    HostErrors,
    /// The owner's template renderings fail more often than they succeed.
    Renders,
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
            Skip::Renders => format!(
                "{SLEEPING} (this account's webhook templates keep failing to render: \
                 see the errors before this one)"
            ),
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
    /// Counts one delivery of `integration` (owned by `owner`, sent to `host`), or says why it
    /// must be skipped. Called before anything is rendered.
    pub(crate) fn admit(
        &mut self,
        integration: &str,
        owner: &str,
        host: &str,
        rates: bool,
        now: Instant,
    ) -> Result<(), Skip> {
        if self.is_sleeping(&host_subject(owner, host), now) {
            return Err(Skip::HostErrors);
        }
        if self.is_sleeping(&renders_subject(owner), now) {
            return Err(Skip::Renders);
        }
        if !rates {
            return Ok(());
        }
        if self.integrations.len() > PRUNE_ABOVE {
            self.integrations
                .retain(|_, allowance| !allowance.is_idle(now));
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
        if self.users.len() > PRUNE_ABOVE {
            self.users.retain(|_, allowance| !allowance.is_idle(now));
        }
        let fresh = Allowance {
            tokens: 2.0 * USER_RATE,
            ..fresh
        };
        if !self
            .users
            .entry(owner.to_owned())
            .or_insert(fresh)
            .take(USER_RATE, now)
        {
            return Err(Skip::User);
        }
        Ok(())
    }

    fn is_sleeping(&mut self, subject: &Subject, now: Instant) -> bool {
        let Some(outcomes) = self.outcomes.get_mut(subject) else {
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
        let min_errors = match subject {
            Subject::Renders { .. } => RENDER_MIN_ERRORS,
            Subject::Host { .. } => THROTTLE_MIN_ERRORS,
        };
        errors >= min_errors
            && errors > outcomes.len() - errors
            && last_error.is_some_and(|at| now.duration_since(at) < THROTTLE_SLEEP)
    }

    fn record(&mut self, subject: Subject, ok: bool, now: Instant) {
        if self.outcomes.len() > PRUNE_ABOVE {
            self.outcomes.retain(|_, outcomes| {
                outcomes
                    .back()
                    .is_some_and(|(at, _)| now.duration_since(*at) <= THROTTLE_WINDOW)
            });
        }
        let outcomes = self.outcomes.entry(subject).or_default();
        outcomes.push_back((now, ok));
        if outcomes.len() > 256 {
            outcomes.pop_front();
        }
    }

    /// `owner`'s rendering turn: one permit, shared by all of their deliveries.
    fn turn(&mut self, owner: &str) -> Arc<Semaphore> {
        if self.turns.len() > PRUNE_ABOVE {
            // Nobody waits on a turn only the map holds.
            self.turns.retain(|_, turn| Arc::strong_count(turn) > 1);
        }
        self.turns
            .entry(owner.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(1)))
            .clone()
    }
}

fn host_subject(owner: &str, host: &str) -> Subject {
    Subject::Host {
        owner: owner.to_owned(),
        host: host.to_owned(),
    }
}

fn renders_subject(owner: &str) -> Subject {
    Subject::Renders {
        owner: owner.to_owned(),
    }
}

/// Renders templates for `owner` in their turn, unless their renderings (or, for a request,
/// their errors with `host`) have put them to sleep meanwhile; the outcome counts towards both.
async fn render<T: Send + 'static>(
    shared: &Shared,
    owner: &str,
    host: Option<&str>,
    rendering: impl FnOnce() -> Result<T, BuildError> + Send + 'static,
) -> Result<Result<T, BuildError>, Skip> {
    let turn = throttle(shared).turn(owner);
    let _turn = turn
        .acquire_owned()
        .await
        .expect("a rendering turn is never closed");
    {
        let mut throttle = throttle(shared);
        let now = Instant::now();
        if host.is_some_and(|host| throttle.is_sleeping(&host_subject(owner, host), now)) {
            return Err(Skip::HostErrors);
        }
        if throttle.is_sleeping(&renders_subject(owner), now) {
            return Err(Skip::Renders);
        }
        throttle.renders += 1;
    }
    let rendered = off_the_runtime(rendering).await;
    let mut throttle = throttle(shared);
    let now = Instant::now();
    throttle.record(renders_subject(owner), rendered.is_ok(), now);
    if let (Some(host), Err(_)) = (host, &rendered) {
        throttle.record(host_subject(owner, host), false, now);
    }
    Ok(rendered)
}

/// Whether a topic or response template is set; unset ones need no rendering.
fn is_set(template: Option<&String>) -> bool {
    template.is_some_and(|template| !template.is_empty())
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

/// Delivers `event` to `integration`: the first attempt and, while attempts fail or are skipped,
/// a retry after each of `Settings::retry_delays`, each counted from the end of the attempt
/// before. Particle's webhook reference, "Limits": "Events that were skipped will retried after
/// 30 seconds and 1 minute before being dropped"; an earlier wording of the same page, now
/// commented out (particle-iot/docs `src/content/reference/cloud-apis/webhooks.md`), says
/// failed or skipped. A retry is a new attempt in every way: rendered again from the event's
/// data and the integration as it is then (deleted: the retry is dropped), admitted by the
/// throttle like any delivery (a skipped retry is that attempt, skipped), logged as a row of its
/// own, and published with its own `hook-sent` and `hook-response` or `hook-error`: Particle's
/// documents do not say which events a retry publishes, so the sandbox shows each attempt.
async fn deliver(
    shared: Shared,
    event: Arc<Event>,
    integration: Integration,
    context: EventContext,
) {
    let delays = shared.settings.retry_delays.clone();
    let attempts = delays.len() + 1;
    let (mut shared, mut integration) = (shared, integration);
    // Taken before the first wait and held until the delivery is done with, sent or dropped.
    let mut slot = None;
    for (number, delay) in (1..=attempts).zip(delays.into_iter().map(Some).chain([None])) {
        let retry = deliver_once(&shared, &event, &integration, &context, number, attempts).await;
        let Some(delay) = delay.filter(|_| retry) else {
            return;
        };
        if slot.is_none() {
            slot = Slot::take(&shared);
            if slot.is_none() {
                return;
            }
        }
        let Some(world) = wait(shared, delay).await else {
            return;
        };
        shared = world;
        let current = crate::lock(&shared)
            .integrations
            .iter()
            .find(|i| i.id == integration.id)
            .cloned();
        let Some(current) = current else {
            return;
        };
        integration = current;
    }
}

/// Waits `delay` without keeping the world alive: the world again, or `None` when it was
/// forgotten (idle too long, or its learner signed out) or the sandbox closed meanwhile.
async fn wait(shared: Shared, delay: Duration) -> Option<Shared> {
    let world = Arc::downgrade(&shared);
    let mut gone = shared.life.gone.subscribe();
    let mut closed = shared.closed.subscribe();
    drop(shared);
    tokio::select! {
        () = tokio::time::sleep(delay) => world.upgrade(),
        _ = gone.wait_for(|gone| *gone) => None,
        _ = closed.wait_for(|closed| *closed) => None,
    }
}

/// A place among the deliveries waiting to be retried, counted in its world and in all worlds;
/// given back when dropped.
struct Slot([Arc<AtomicUsize>; 2]);

impl Slot {
    /// A place, unless the world or the sandbox already holds as many retries as it may.
    fn take(shared: &Shared) -> Option<Slot> {
        let limits = &shared.settings.limits;
        let world = throttle(shared).retries.clone();
        let claim = |count: &AtomicUsize, bound: usize| {
            count
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < bound).then_some(n + 1)
                })
                .is_ok()
        };
        if !claim(&world, limits.retries_per_world) {
            return None;
        }
        if !claim(&shared.retries, limits.retries) {
            world.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        Some(Slot([world, shared.retries.clone()]))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        for count in &self.0 {
            count.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

/// The retries waiting in `shared`'s world (tests look).
#[cfg(test)]
pub(crate) fn pending_retries(shared: &Shared) -> usize {
    throttle(shared).retries.load(Ordering::Acquire)
}

/// One attempt, logged; whether it is to be retried: it failed or was skipped, and no server
/// answered it with success (a response template that fails after a 2xx is the cloud's own
/// failure, and sending the request again would not mend it).
async fn deliver_once(
    shared: &Shared,
    event: &Event,
    integration: &Integration,
    context: &EventContext,
    number: usize,
    attempts: usize,
) -> bool {
    let mut delivery = Delivery {
        integration_id: integration.id.clone(),
        event: context.name.clone(),
        outcome: Outcome::Error,
        method: String::new(),
        url: integration.settings.url.clone(),
        headers: Vec::new(),
        body: None,
        status: None,
        response_body: None,
        error: None,
        sent_at: events::now_ms(),
        duration_ms: None,
        chunks: 0,
        attempt: number,
        attempts,
    };
    let publish = |name: String, data: String| {
        events::publish(
            shared,
            Event::new(&name, &data, INTERNAL, &event.owner, event.product_id),
        );
    };
    let failed = match attempt(shared, integration, context, &mut delivery, &publish).await {
        Ok(()) => false,
        Err(shown) => {
            let topic = failure_topic(shared, integration, context).await;
            publish(format!("{topic}/0"), shown);
            true
        }
    };
    let answered = delivery.status.is_some_and(|s| (200..300).contains(&s));
    crate::lock(shared).record(delivery);
    failed && !answered
}

/// Where a failed delivery's hook-error goes: the integration's `errorResponseTopic` rendered,
/// or Particle's default when it has none, it fails, or its owner's renderings are asleep.
async fn failure_topic(
    shared: &Shared,
    integration: &Integration,
    context: &EventContext,
) -> String {
    let default = format!("hook-error/{}", context.name);
    if !is_set(integration.settings.error_response_topic.as_ref()) {
        return default;
    }
    let (settings, owned_context) = (integration.settings.clone(), context.clone());
    match render(shared, &integration.owner, None, move || {
        error_topic(&settings, &owned_context)
    })
    .await
    {
        Ok(Ok(topic)) => topic,
        Ok(Err(_)) | Err(_) => default,
    }
}

/// One delivery: admitted first, then rendered, sent and answered. Fills in the log entry; an
/// error is the text the learner's hook-error shows.
async fn attempt(
    shared: &Shared,
    integration: &Integration,
    context: &EventContext,
    delivery: &mut Delivery,
    publish: &impl Fn(String, String),
) -> Result<(), String> {
    let settings = &integration.settings;
    let owner = integration.owner.as_str();
    // The host as the integration writes it: known before anything is rendered, and the same
    // for every delivery of the integration.
    let host = host_of(&settings.url);
    let skipped = |delivery: &mut Delivery, skip: Skip| {
        delivery.outcome = Outcome::Throttled;
        delivery.error = Some(skip.explain());
        SLEEPING.to_owned()
    };
    let rates = shared.settings.delivery_rates;
    let admitted = throttle(shared).admit(&integration.id, owner, &host, rates, Instant::now());
    if let Err(skip) = admitted {
        return Err(skipped(delivery, skip));
    }
    let (owned_settings, owned_context) = (settings.clone(), context.clone());
    let rendered = render(shared, owner, Some(&host), move || {
        build_request(&owned_settings, &owned_context)
    })
    .await;
    let request = match rendered {
        Err(skip) => return Err(skipped(delivery, skip)),
        Ok(Err(error)) => {
            let text = format!("error rendering the {error}");
            delivery.error = Some(text.clone());
            return Err(text);
        }
        Ok(Ok(request)) => request,
    };
    delivery.method.clone_from(&request.method);
    delivery.url.clone_from(&request.url);
    delivery.headers.clone_from(&request.headers);
    delivery.body.clone_from(&request.body);
    let target = shared
        .settings
        .webhook_targets
        .resolve(&request.url)
        .inspect_err(|text| delivery.error = Some(text.clone()))?;

    publish(
        format!("hook-sent/{}", context.name),
        "undefined".to_owned(),
    );
    let started = Instant::now();
    let result = send(&shared.client, &request, target).await;
    delivery.duration_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
    let ok = matches!(&result, Ok((status, _)) if (200..300).contains(status));
    throttle(shared).record(host_subject(owner, &host), ok, Instant::now());
    let (status, body) = result.inspect_err(|text| delivery.error = Some(text.clone()))?;
    delivery.status = Some(status);
    delivery.response_body = Some(body.clone());
    if !ok {
        let text = format!("error status {status} from {}", host_of(&request.url));
        delivery.error = Some(text.clone());
        return Err(text);
    }
    delivery.outcome = Outcome::Response;
    if body.is_empty() {
        return Ok(());
    }
    let answer = if is_set(settings.response_topic.as_ref())
        || is_set(settings.response_template.as_ref())
    {
        let (settings, context) = (settings.clone(), context.clone());
        render(shared, owner, None, move || {
            Ok((
                response_topic(&settings, &context)?,
                response_data(&settings, &context, &body)?,
            ))
        })
        .await
    } else {
        Ok(Ok((format!("hook-response/{}", context.name), body)))
    };
    let failed = |delivery: &mut Delivery, text: String| {
        delivery.outcome = Outcome::Error;
        delivery.error = Some(text.clone());
        Err(text)
    };
    match answer {
        Ok(Ok((topic, data))) => {
            let chunks = response_chunks(&data);
            delivery.chunks = chunks.len();
            for (index, chunk) in chunks.into_iter().enumerate() {
                publish(format!("{topic}/{index}"), chunk.to_owned());
            }
            Ok(())
        }
        Ok(Err(error)) => failed(delivery, format!("error rendering the {error}")),
        Err(skip) => {
            let explained = skip.explain();
            failed(delivery, explained).map_err(|_| SLEEPING.to_owned())
        }
    }
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
        let h = host_subject("owner", "h");
        for i in 0..4 {
            throttle.record(h.clone(), false, start + Duration::from_millis(i));
        }
        assert!(
            !throttle.is_sleeping(&h, start),
            "four errors are not enough"
        );
        throttle.record(h.clone(), false, start);
        assert!(throttle.is_sleeping(&h, start + Duration::from_secs(1)));
        assert!(!throttle.is_sleeping(&host_subject("owner", "other"), start));
        assert!(
            !throttle.is_sleeping(&host_subject("someone else", "h"), start),
            "another owner's deliveries to the same host stay awake"
        );
        assert!(!throttle.is_sleeping(&h, start + THROTTLE_SLEEP + Duration::from_millis(1)));
        // Successes outnumbering the errors keep the host awake.
        let mut healthy = Throttle::default();
        for i in 0..13 {
            healthy.record(h.clone(), i % 2 == 0, start);
        }
        assert!(!healthy.is_sleeping(&h, start));
    }
}
