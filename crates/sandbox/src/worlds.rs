//! Worlds: on a hosted sandbox every sign-in gets a cloud of its own, so that learners sharing a
//! server never see, change or trigger each other's products, webhooks, streams or devices.
//!
//! A world is a whole `Inner` (cloud, streams, the engine's memory) built from the same fixture,
//! so the fixture's names and ids hold in every world. A token belongs to the world its sign-in
//! made; [`resolve`] finds the world of each request by its token before any handler runs, and a
//! request without a live world's token reaches none. On a learner's machine there is one world
//! for everyone, as before.
//!
//! Worlds are bounded: per client address and in all (refused with 429 and 503 and
//! `Retry-After`), in bytes each (the delivery log and the device logs, `Bounds`) and together
//! (the budget `Bounds` keeps), and in time: a world untouched for `idle` is forgotten, its
//! streams end, and its devices stop publishing (so its webhooks stop); its token then says so.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use axum::{
    body::Body,
    extract::{FromRequestParts, Request, State},
    http::request::Parts,
    middleware::Next,
    response::{IntoResponse, Response},
};
use tokio::{sync::watch, time::Instant};

use crate::{
    Common, Inner, Root, Shared,
    attempts::Client,
    auth,
    cloud::{Bounds, Cloud},
    error::{self, ApiError},
    events,
};

/// Whether the sandbox is one world or one per sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WorldsMode {
    /// One world for everyone: a learner's own machine.
    #[default]
    Shared,
    /// A world per sign-in: a sandbox many learners share.
    PerSignIn,
}

/// How many worlds there may be, how much each holds, and how long one lasts unused.
#[derive(Debug, Clone)]
pub struct WorldLimits {
    /// Worlds one client address (IPv6: its /64) holds at once. A classroom behind one NAT shares
    /// an address, so this is a few dozen rather than one.
    pub per_client: usize,
    /// Worlds of every client together.
    pub worlds: usize,
    /// Bytes a world's delivery log keeps (the oldest go first).
    pub delivery_bytes: usize,
    /// Bytes each simulated device's log keeps (the oldest go first).
    pub log_bytes: usize,
    /// Bytes all worlds together hold in logs and integrations: beyond it logs keep only their
    /// newest entry, and new integrations and worlds are refused until some go.
    pub bytes: usize,
    /// How long a world lasts without a request.
    pub idle: Duration,
}

impl Default for WorldLimits {
    fn default() -> WorldLimits {
        WorldLimits {
            per_client: 20,
            worlds: 5_000,
            delivery_bytes: 256 * 1024,
            log_bytes: 32 * 1024,
            bytes: 512 * 1024 * 1024,
            idle: Duration::from_secs(30 * 60),
        }
    }
}

/// The fixture's devices, each with a log.
const FIXTURE_DEVICES: usize = 3;
/// Tokens of forgotten worlds remembered, so that their learners are told why rather than only
/// that the token is wrong. Bounded: one beyond forgets the oldest.
const FORGOTTEN_TOKENS: usize = 10_000;
/// Events a world's stream may fall behind by: a learner's world publishes a few a second.
const WORLD_BACKLOG: usize = 256;
/// Events the one shared world's streams may fall behind by (as the real cloud, a slow stream
/// loses events rather than the cloud buffering without bound).
const SHARED_BACKLOG: usize = 4096;

/// Whose world it is and when it was last used.
pub(crate) struct Life {
    /// Its sign-in's token; empty for the one shared world.
    token: String,
    /// The address that signed in.
    client: Client,
    last_used: Mutex<Instant>,
    /// Becomes true when the world is forgotten: its streams end.
    pub gone: watch::Sender<bool>,
}

impl Life {
    fn new(token: String, client: Client, now: Instant) -> Life {
        Life {
            token,
            client,
            last_used: Mutex::new(now),
            gone: watch::Sender::new(false),
        }
    }

    /// True for a world of one sign-in's own (false for the one shared world).
    pub(crate) fn is_own(&self) -> bool {
        !self.token.is_empty()
    }

    fn last_used(&self) -> Instant {
        *self
            .last_used
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn touch(&self, now: Instant) {
        *self
            .last_used
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = now;
    }
}

/// The worlds of a sandbox.
pub(crate) enum Worlds {
    Shared(Shared),
    PerSignIn(Box<Registry>),
}

impl Worlds {
    pub(crate) fn new(common: &Arc<Common>) -> Worlds {
        let settings = &common.settings;
        match settings.worlds {
            WorldsMode::Shared => Worlds::Shared(world(
                common,
                Cloud::fixture(),
                Life::new(String::new(), None, Instant::now()),
                SHARED_BACKLOG,
            )),
            WorldsMode::PerSignIn => {
                let limits = settings.world_limits.clone();
                let bounds = Arc::new(Bounds::new(
                    limits.delivery_bytes,
                    limits.log_bytes,
                    limits.bytes,
                ));
                Worlds::PerSignIn(Box::new(Registry {
                    lobby: Mutex::new(Cloud::fixture_in(bounds.clone())),
                    limits,
                    bounds,
                    index: Mutex::default(),
                }))
            }
        }
    }

    /// Every live world, for the simulation's ticks.
    pub(crate) fn all(&self) -> Vec<Shared> {
        match self {
            Worlds::Shared(world) => vec![world.clone()],
            Worlds::PerSignIn(registry) => registry.index().worlds.values().cloned().collect(),
        }
    }
}

fn world(common: &Arc<Common>, cloud: Cloud, life: Life, backlog: usize) -> Shared {
    Arc::new(Inner {
        cloud: Mutex::new(cloud),
        events: events::Bus::new(backlog),
        throttle: Mutex::default(),
        life,
        common: common.clone(),
    })
}

/// The worlds of a hosted sandbox, found by their tokens.
pub(crate) struct Registry {
    /// The fixture's users, for checking passwords and holding second factors before a world
    /// exists (a world is made when a sign-in succeeds).
    pub lobby: Mutex<Cloud>,
    limits: WorldLimits,
    bounds: Arc<Bounds>,
    index: Mutex<Index>,
}

/// The worlds by token, and what a sign-in checks against them. Every request takes its lock to
/// find its world, so nothing done under it looks at every world, save the sweeper's pass (once
/// a minute at most) and a full sandbox's (once a second at most).
#[derive(Default)]
struct Index {
    /// Live worlds by their token.
    worlds: HashMap<String, Shared>,
    /// The tokens of each client's live worlds: the per-client cap counts them, and a client at
    /// its cap has only its own worlds looked at.
    by_client: HashMap<Client, HashSet<String>>,
    /// When every world was last looked through for idle ones.
    swept: Option<Instant>,
    /// When the soonest of the worlds left then expires: the earliest a full sandbox may have
    /// room (a lower bound, as worlds used since expire later).
    next_expiry: Option<Instant>,
    /// Tokens of forgotten worlds, oldest first.
    forgotten: HashSet<String>,
    forgotten_order: VecDeque<String>,
}

/// How often a full sandbox looks through every world for idle ones between the sweeper's
/// passes, so that a crowd refused at the door costs one pass a second rather than one each.
const FULL_RESWEEP: Duration = Duration::from_secs(1);

impl Registry {
    fn index(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new world for `username`, signed in from `client`, with its token; refused while the
    /// client or the sandbox holds all the worlds it may.
    pub(crate) fn create(
        &self,
        common: &Arc<Common>,
        client: Client,
        username: &str,
        lifetime: Duration,
        now: Instant,
    ) -> Result<(Shared, String), ApiError> {
        let mut index = self.index();
        // Idle worlds are the sweeper's to forget; a client at its cap, or a full sandbox, first
        // has them forgotten now, so nobody is refused for a world that has already expired.
        if mine(&index, client) >= self.limits.per_client {
            self.forget_idle_of(&mut index, client, now);
            let mine = mine(&index, client);
            if mine >= self.limits.per_client {
                let soonest = index.by_client.get(&client).and_then(|tokens| {
                    tokens
                        .iter()
                        .filter_map(|token| index.worlds.get(token))
                        .map(|world| world.life.last_used() + self.limits.idle)
                        .min()
                });
                return Err(ApiError::rate_limited(format!(
                    "This address already has {mine} sandboxes, as many as it may; one is \
                     forgotten after {} minutes without use, or sign out of one",
                    self.limits.idle.as_secs() / 60
                ))
                .retry_after(until(soonest, now)));
            }
        }
        // A new world needs room in the shared budget for what its logs may hold.
        let room = self.limits.delivery_bytes + FIXTURE_DEVICES * self.limits.log_bytes;
        let full_now = |index: &Index| {
            index.worlds.len() >= self.limits.worlds || self.bounds.exceeded_by(room)
        };
        if full_now(&index) {
            if index
                .swept
                .is_none_or(|at| now.duration_since(at) >= FULL_RESWEEP)
            {
                self.forget_idle(&mut index, now);
            }
            if full_now(&index) {
                return Err(full().retry_after(until(index.next_expiry, now)));
            }
        }
        let mut cloud = Cloud::fixture_in(self.bounds.clone());
        let limits = &common.settings.limits;
        let token = cloud.issue_token(username, lifetime, now, limits);
        let world = world(
            common,
            cloud,
            Life::new(token.clone(), client, now),
            WORLD_BACKLOG,
        );
        index.worlds.insert(token.clone(), world.clone());
        index
            .by_client
            .entry(client)
            .or_default()
            .insert(token.clone());
        Ok((world, token))
    }

    /// The live world of `token`, marked as used now.
    fn find(&self, token: &str, now: Instant) -> Result<Shared, ApiError> {
        let mut index = self.index();
        let Some(world) = index.worlds.get(token).cloned() else {
            return Err(if index.forgotten.contains(token) {
                expired(self.limits.idle)
            } else {
                ApiError::invalid_token()
            });
        };
        if now.duration_since(world.life.last_used()) >= self.limits.idle {
            forget(&mut index, token);
            return Err(expired(self.limits.idle));
        }
        world.life.touch(now);
        Ok(world)
    }

    /// Forgets a world now (its learner signed out).
    pub(crate) fn sign_out(&self, world: &Shared) {
        forget(&mut self.index(), &world.life.token);
    }

    /// Forgets every idle world (a pass over all of them: the sweeper's, or a full sandbox's),
    /// and notes when the soonest of the others expires.
    fn forget_idle(&self, index: &mut Index, now: Instant) {
        let mut idle = Vec::new();
        let mut next_expiry = None::<Instant>;
        for (token, world) in &index.worlds {
            let expiry = world.life.last_used() + self.limits.idle;
            if expiry <= now {
                idle.push(token.clone());
            } else {
                next_expiry = Some(next_expiry.map_or(expiry, |soonest| soonest.min(expiry)));
            }
        }
        for token in idle {
            forget(index, &token);
        }
        index.swept = Some(now);
        index.next_expiry = next_expiry;
    }

    /// Forgets the idle worlds of one client (a pass over its worlds only).
    fn forget_idle_of(&self, index: &mut Index, client: Client, now: Instant) {
        let Some(tokens) = index.by_client.get(&client) else {
            return;
        };
        let idle: Vec<String> = tokens
            .iter()
            .filter(|token| {
                index.worlds.get(*token).is_some_and(|world| {
                    now.duration_since(world.life.last_used()) >= self.limits.idle
                })
            })
            .cloned()
            .collect();
        for token in idle {
            forget(index, &token);
        }
    }
}

/// How many live worlds `client` holds.
fn mine(index: &Index, client: Client) -> usize {
    index.by_client.get(&client).map_or(0, HashSet::len)
}

/// How long until `at` (a minute when nothing says: the refusals' "try again in a minute").
fn until(at: Option<Instant>, now: Instant) -> Duration {
    at.map_or(Duration::from_secs(60), |at| {
        at.saturating_duration_since(now)
    })
}

/// Forgets the world of `token`: its streams end, and its token is remembered as expired.
fn forget(index: &mut Index, token: &str) {
    if let Some(world) = index.worlds.remove(token) {
        world.life.gone.send_replace(true);
        let client = world.life.client;
        if let Some(tokens) = index.by_client.get_mut(&client) {
            tokens.remove(token);
            if tokens.is_empty() {
                index.by_client.remove(&client);
            }
        }
    }
    if index.forgotten.insert(token.to_owned()) {
        index.forgotten_order.push_back(token.to_owned());
    }
    while index.forgotten_order.len() > FORGOTTEN_TOKENS {
        if let Some(oldest) = index.forgotten_order.pop_front() {
            index.forgotten.remove(&oldest);
        }
    }
}

/// The sandbox holds all the worlds (or bytes) it may.
pub(crate) fn full() -> ApiError {
    ApiError::unavailable("The sandbox is full right now; try again in a minute")
}

fn expired(idle: Duration) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::UNAUTHORIZED,
        "invalid_token",
        format!(
            "This sandbox expired after {} minutes without use; sign in again to start a new one",
            idle.as_secs() / 60
        ),
    )
}

/// Forgets idle worlds every so often until the sandbox closes, so an abandoned world's devices
/// stop publishing (and its webhooks stop) even if nobody signs in again.
pub(crate) async fn sweep(root: Root) {
    let Worlds::PerSignIn(registry) = &*root.worlds else {
        return;
    };
    let mut closed = root.closed.subscribe();
    let every = (registry.limits.idle / 30).clamp(Duration::from_secs(1), Duration::from_secs(60));
    let mut ticker = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = ticker.tick() => registry.forget_idle(&mut registry.index(), Instant::now()),
            _ = closed.wait_for(|closed| *closed) => return,
        }
    }
}

/// What a request found of its world: the world, or why not (a handler that needs one answers
/// with the reason).
#[derive(Clone)]
struct Unresolved(ApiError);

/// Finds the request's world before its handler runs: the one world, or the world of the
/// request's token wherever Particle accepts it (a header, the query, or a form or JSON body,
/// which is read here, within the body limit, and handed on).
pub(crate) async fn resolve(State(root): State<Root>, request: Request, next: Next) -> Response {
    let registry = match &*root.worlds {
        Worlds::Shared(world) => {
            let mut request = request;
            request.extensions_mut().insert(world.clone());
            return next.run(request).await;
        }
        Worlds::PerSignIn(registry) => registry,
    };
    let (mut parts, body) = request.into_parts();
    let mut token = auth::token(&parts.headers, &parts.uri, None);
    let body = if token.is_none() && has_fields(&parts) {
        let Ok(bytes) = axum::body::to_bytes(body, error::MAX_BODY_BYTES).await else {
            return error::too_large().into_response();
        };
        if let Ok(fields) = crate::api::fields(&parts.headers, &bytes) {
            token = fields.get("access_token").cloned();
        }
        Body::from(bytes)
    } else {
        body
    };
    if let Some(token) = token {
        match registry.find(&token, Instant::now()) {
            Ok(world) => {
                parts.extensions.insert(world);
            }
            Err(why) => {
                parts.extensions.insert(Unresolved(why));
            }
        }
    }
    next.run(Request::from_parts(parts, body)).await
}

/// A body Particle reads an `access_token` from.
fn has_fields(parts: &Parts) -> bool {
    crate::api::is_json(&parts.headers)
        || parts
            .headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// The world a request acts on, found by [`resolve`]; without one, the reason (most often
/// Particle's 401 for a missing or unknown token).
pub(crate) struct World(pub Shared);

impl FromRequestParts<Root> for World {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &Root) -> Result<World, ApiError> {
        if let Some(world) = parts.extensions.get::<Shared>() {
            return Ok(World(world.clone()));
        }
        Err(parts
            .extensions
            .get::<Unresolved>()
            .map_or_else(ApiError::invalid_token, |Unresolved(why)| why.clone()))
    }
}
