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
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
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
    redis_worlds::{RedisWorlds, Refusal, Route},
    snapshot,
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
    /// In a shared store: the cloud's `changes` when it was last saved there, and when its
    /// expiry there was last moved on.
    saved: AtomicU64,
    touched: Mutex<Instant>,
}

impl Life {
    fn new(token: String, client: Client, now: Instant) -> Life {
        Life {
            token,
            client,
            last_used: Mutex::new(now),
            gone: watch::Sender::new(false),
            saved: AtomicU64::new(0),
            touched: Mutex::new(now),
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
                let redis = settings.shared_worlds.as_ref().map(|shared| {
                    RedisWorlds::new(shared, limits.idle)
                        .expect("the server checked the Redis address")
                });
                Worlds::PerSignIn(Box::new(Registry {
                    lobby: Mutex::new(Cloud::fixture_in(bounds.clone())),
                    limits,
                    bounds,
                    index: Mutex::default(),
                    redis,
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
        silences: crate::sse::Silences::default(),
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
    /// Where the worlds are kept when several instances share them (`--store redis://…`).
    pub redis: Option<RedisWorlds>,
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
    /// client or the sandbox holds all the worlds it may (counted in the shared store, when the
    /// worlds are kept in one).
    pub(crate) async fn create(
        &self,
        common: &Arc<Common>,
        client: Client,
        username: &str,
        lifetime: Duration,
        now: Instant,
    ) -> Result<(Shared, String), ApiError> {
        let Some(redis) = &self.redis else {
            return self.create_here(common, client, username, lifetime, now);
        };
        if self.bounds.exceeded_by(self.room()) {
            return Err(full().retry_after(Duration::from_secs(60)));
        }
        let mut cloud = Cloud::fixture_in(self.bounds.clone());
        let token = cloud.issue_token(username, lifetime, now, &common.settings.limits);
        let admitted = redis
            .create(
                &token,
                client,
                &snapshot::save(&cloud),
                self.limits.per_client,
                self.limits.worlds,
            )
            .await?;
        let unix_now = crate::cloud::clock::now_ms();
        let wait = |soonest: Option<u64>| {
            soonest.map_or(Duration::from_secs(60), |at| {
                Duration::from_millis(at.saturating_sub(unix_now))
            })
        };
        match admitted {
            Err(Refusal::Client { held, soonest }) => {
                return Err(self.client_full(held).retry_after(wait(soonest)));
            }
            Err(Refusal::Full { soonest }) => return Err(full().retry_after(wait(soonest))),
            Ok(()) => {}
        }
        let world = saved_world(common, cloud, token.clone(), client, now);
        self.insert(&token, &world);
        Ok((world, token))
    }

    /// [`Registry::create`] for worlds kept in this process only.
    fn create_here(
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
                return Err(self.client_full(mine).retry_after(until(soonest, now)));
            }
        }
        // A new world needs room in the shared budget for what its logs may hold.
        let room = self.room();
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
        drop(index);
        let mut cloud = Cloud::fixture_in(self.bounds.clone());
        let limits = &common.settings.limits;
        let token = cloud.issue_token(username, lifetime, now, limits);
        let world = saved_world(common, cloud, token.clone(), client, now);
        self.insert(&token, &world);
        Ok((world, token))
    }

    /// What a new world needs of the shared budget: room for all its logs may hold.
    fn room(&self) -> usize {
        self.limits.delivery_bytes + FIXTURE_DEVICES * self.limits.log_bytes
    }

    /// A client holding `held` worlds, as many as it may.
    fn client_full(&self, held: usize) -> ApiError {
        ApiError::rate_limited(format!(
            "This address already has {held} sandboxes, as many as it may; one is \
             forgotten after {} minutes without use, or sign out of one",
            self.limits.idle.as_secs() / 60
        ))
    }

    /// Adds a world to this process's index.
    fn insert(&self, token: &str, world: &Shared) {
        index_world(&mut self.index(), token, world);
    }

    /// What this process knows of the world of `token`, marked as used now when it is here.
    fn find_here(&self, token: &str, now: Instant) -> Here {
        let mut index = self.index();
        let Some(world) = index.worlds.get(token).cloned() else {
            return if index.forgotten.contains(token) {
                Here::Gone { just_now: false }
            } else {
                Here::Elsewhere
            };
        };
        if now.duration_since(world.life.last_used()) >= self.limits.idle {
            forget(&mut index, token);
            return Here::Gone { just_now: true };
        }
        if self.redis.as_ref().is_some_and(|redis| !redis.leased()) {
            return Here::Elsewhere;
        }
        world.life.touch(now);
        Here::Live(world)
    }

    /// The live world of `token`, wherever it is: here, or (worlds in a shared store) taken over
    /// from the store, or held by a peer (its URL).
    async fn find(
        &self,
        common: &Arc<Common>,
        token: &str,
        now: Instant,
    ) -> Result<Found, ApiError> {
        match self.find_here(token, now) {
            Here::Live(world) => return Ok(Found::Here(world)),
            Here::Gone { just_now } => {
                // A world that expires here is forgotten in the shared store too, so that no
                // other instance takes it over again.
                if let (true, Some(redis)) = (just_now, &self.redis) {
                    let _ = redis.forget(token).await;
                }
                return Err(expired(self.limits.idle));
            }
            Here::Elsewhere => {}
        }
        let Some(redis) = &self.redis else {
            return Err(ApiError::invalid_token());
        };
        match redis.route(token).await? {
            Route::Unknown => Err(ApiError::invalid_token()),
            Route::Expired => Err(expired(self.limits.idle)),
            Route::Peer(url) => Ok(Found::Peer(url)),
            Route::Taken { snapshot, client } => self
                .adopt(common, token, &snapshot, &client, now)
                .map(Found::Here),
        }
    }

    /// A world taken over from the shared store, as its snapshot there says.
    fn adopt(
        &self,
        common: &Arc<Common>,
        token: &str,
        saved: &str,
        client: &str,
        now: Instant,
    ) -> Result<Shared, ApiError> {
        // Already here (taken over by another request, or held while the lease was in doubt):
        // no snapshot to read.
        if let Some(world) = self.index().worlds.get(token) {
            return Ok(world.clone());
        }
        let cloud = snapshot::load(saved, self.bounds.clone()).map_err(|error| {
            tracing::error!(%error, "a sandbox world's snapshot does not load");
            ApiError::unavailable("This sandbox could not be loaded; sign in again")
        })?;
        let mut index = self.index();
        // Two requests may take the same world over at once: the first one's copy is the one.
        if let Some(world) = index.worlds.get(token) {
            return Ok(world.clone());
        }
        let world = saved_world(common, cloud, token.to_owned(), client.parse().ok(), now);
        index_world(&mut index, token, &world);
        Ok(world)
    }

    /// Saves a world to the shared store if it changed since it was last saved, and moves its
    /// expiry there on if it was used since `touch_every`; a world another instance owns now is
    /// dropped from this one.
    pub(crate) async fn save(&self, world: &Shared) {
        let Some(redis) = &self.redis else {
            return;
        };
        let life = &world.life;
        let (changes, text) = {
            let cloud = world.cloud.lock().unwrap_or_else(PoisonError::into_inner);
            let changes = cloud.changes;
            let text =
                (changes != life.saved.load(Ordering::Relaxed)).then(|| snapshot::save(&cloud));
            (changes, text)
        };
        let now = Instant::now();
        let stale = {
            let touched = *life.touched.lock().unwrap_or_else(PoisonError::into_inner);
            life.last_used() > touched && now.duration_since(touched) >= redis.touch_every
        };
        let kept = match text {
            Some(text) => redis.save(&life.token, text).await.inspect(|kept| {
                if *kept {
                    life.saved.store(changes, Ordering::Relaxed);
                }
            }),
            None if stale => redis.touch(&life.token).await,
            None => return,
        };
        match kept {
            Ok(true) => *life.touched.lock().unwrap_or_else(PoisonError::into_inner) = now,
            Ok(false) => self.drop_here(&life.token),
            Err(_) => {}
        }
    }

    /// Drops a world from this process without forgetting it (another instance owns it now):
    /// its streams end, and their clients reconnect to wherever it is.
    fn drop_here(&self, token: &str) {
        remove(&mut self.index(), token);
    }

    /// Drops every world from this process (its lease ran out: others may own them now).
    fn drop_all_here(&self) {
        let tokens: Vec<String> = self.index().worlds.keys().cloned().collect();
        for token in tokens {
            self.drop_here(&token);
        }
    }

    /// True when this process's lobby holds the pending second factor `mfa_token`.
    fn holds_mfa(&self, mfa_token: &str) -> bool {
        self.lobby
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .mfa
            .contains_key(mfa_token)
    }

    /// Forgets a world now (its learner signed out), here and in the shared store.
    pub(crate) async fn sign_out(&self, world: &Shared) {
        forget(&mut self.index(), &world.life.token);
        if let Some(redis) = &self.redis {
            let _ = redis.forget(&world.life.token).await;
        }
    }

    /// Forgets every idle world (a pass over all of them: the sweeper's, or a full sandbox's),
    /// and notes when the soonest of the others expires; returns the tokens of those forgotten.
    fn forget_idle(&self, index: &mut Index, now: Instant) -> Vec<String> {
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
        for token in &idle {
            forget(index, token);
        }
        index.swept = Some(now);
        index.next_expiry = next_expiry;
        idle
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

/// A new world of `cloud` for `token`, counted as saved as it is: a shared store holds this
/// very snapshot (or there is none).
fn saved_world(
    common: &Arc<Common>,
    cloud: Cloud,
    token: String,
    client: Client,
    now: Instant,
) -> Shared {
    let changes = cloud.changes;
    let world = world(common, cloud, Life::new(token, client, now), WORLD_BACKLOG);
    world.life.saved.store(changes, Ordering::Relaxed);
    world
}

/// How long until `at` (a minute when nothing says: the refusals' "try again in a minute").
fn until(at: Option<Instant>, now: Instant) -> Duration {
    at.map_or(Duration::from_secs(60), |at| {
        at.saturating_duration_since(now)
    })
}

/// Takes the world of `token` out of this process: its streams end.
fn remove(index: &mut Index, token: &str) {
    if let Some(world) = index.worlds.remove(token) {
        world.life.gone.send_replace(true);
        unindex(index, token, world.life.client);
    }
}

/// Forgets the world of `token`: its streams end, and its token is remembered as expired.
fn forget(index: &mut Index, token: &str) {
    remove(index, token);
    if index.forgotten.insert(token.to_owned()) {
        index.forgotten_order.push_back(token.to_owned());
    }
    while index.forgotten_order.len() > FORGOTTEN_TOKENS {
        if let Some(oldest) = index.forgotten_order.pop_front() {
            index.forgotten.remove(&oldest);
        }
    }
}

/// What this process knows of a token's world.
enum Here {
    /// It holds the world and may serve it.
    Live(Shared),
    /// The world is gone; `just_now` when it expired at this very request.
    Gone { just_now: bool },
    /// It does not hold the world (or, worlds in a shared store, holds it without a lease).
    Elsewhere,
}

/// Adds a world to the index, under its token and its client's.
fn index_world(index: &mut Index, token: &str, world: &Shared) {
    index.worlds.insert(token.to_owned(), world.clone());
    index
        .by_client
        .entry(world.life.client)
        .or_default()
        .insert(token.to_owned());
}

/// Takes a removed world's token out of its client's.
fn unindex(index: &mut Index, token: &str, client: Client) {
    if let Some(tokens) = index.by_client.get_mut(&client) {
        tokens.remove(token);
        if tokens.is_empty() {
            index.by_client.remove(&client);
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
            _ = ticker.tick() => {}
            _ = closed.wait_for(|closed| *closed) => return,
        }
        let forgotten = registry.forget_idle(&mut registry.index(), Instant::now());
        if let Some(redis) = &registry.redis {
            for token in forgotten {
                let _ = redis.forget(&token).await;
            }
        }
    }
}

/// Worlds in a shared store: renews this instance's lease and saves what changed in its worlds
/// by itself (deliveries, device logs) until the sandbox closes.
pub(crate) async fn maintain(root: Root) {
    let Worlds::PerSignIn(registry) = &*root.worlds else {
        return;
    };
    let Some(redis) = &registry.redis else {
        return;
    };
    let mut closed = root.closed.subscribe();
    let mut ticker = tokio::time::interval(crate::redis_worlds::SAVE_EVERY);
    let mut renewed: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = closed.wait_for(|closed| *closed) => return,
        }
        let now = Instant::now();
        if renewed.is_none_or(|at| now.duration_since(at) >= crate::redis_worlds::RENEW_EVERY) {
            match redis.renew().await {
                Ok(true) => renewed = Some(now),
                Ok(false) => {
                    tracing::warn!("the sandbox's lease ran out: its worlds are left to others");
                    registry.drop_all_here();
                    renewed = Some(now);
                }
                Err(_) => {}
            }
        }
        registry.save_all().await;
    }
}

impl Registry {
    /// Saves every world this process holds that changed (see [`Registry::save`]).
    pub(crate) async fn save_all(&self) {
        let worlds: Vec<Shared> = self.index().worlds.values().cloned().collect();
        for world in worlds {
            self.save(&world).await;
        }
    }
}

/// Saves every world and hands them over (the server is stopping): the next request for each,
/// on any instance, takes it over at once.
pub(crate) async fn hand_over(root: &Root) {
    if let Worlds::PerSignIn(registry) = &*root.worlds
        && let Some(redis) = &registry.redis
    {
        registry.save_all().await;
        let _ = redis.resign().await;
    }
}

/// Where a request's world is.
enum Found {
    Here(Shared),
    Peer(String),
}

/// What a request found of its world: the world, or why not (a handler that needs one answers
/// with the reason).
#[derive(Clone)]
struct Unresolved(ApiError);

/// Finds the request's world before its handler runs: the one world, or the world of the
/// request's token wherever Particle accepts it (a header, the query, or a form or JSON body,
/// which is read here, within the body limit, and handed on). With worlds in a shared store, a
/// request for a world another instance holds is forwarded there, and a world changed by a
/// request is saved before the request is answered.
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
    // A request a peer forwarded is for a world it found here: it is not forwarded again.
    let forwarded = match &registry.redis {
        Some(redis) => match redis.received(&mut parts).await {
            Ok(client) => client.is_some(),
            Err(refused) => return refused.into_response(),
        },
        None => false,
    };
    let mut token = auth::token(&parts.headers, &parts.uri, None);
    let mut mfa_token = None;
    let body = if token.is_none() && has_fields(&parts) {
        let Ok(bytes) = axum::body::to_bytes(body, error::MAX_BODY_BYTES).await else {
            return error::too_large().into_response();
        };
        if let Ok(mut fields) = crate::api::fields(&parts.headers, &bytes) {
            token = fields.remove("access_token");
            mfa_token = fields.remove("mfa_token");
        }
        Body::from(bytes)
    } else {
        body
    };
    let client = || {
        let peer = parts
            .extensions
            .get::<webhook_demo_http::PeerAddr>()
            .copied();
        crate::attempts::client(&parts.headers, peer, root.settings.trust_forwarded)
    };
    let Some(token) = token else {
        // A second factor is checked where its first was (that instance's lobby).
        if let (Some(redis), Some(mfa_token), false) = (&registry.redis, mfa_token, forwarded)
            && !registry.holds_mfa(&mfa_token)
            && let Ok(Some(peer)) = redis.mfa_peer(&mfa_token).await
        {
            let client = client();
            return redis.forward(&peer, parts, body, client).await;
        }
        return next.run(Request::from_parts(parts, body)).await;
    };
    let world = match registry.find(&root.common, &token, Instant::now()).await {
        Ok(Found::Here(world)) => world,
        Ok(Found::Peer(url)) => {
            let Some(redis) = registry.redis.as_ref().filter(|_| !forwarded) else {
                return ApiError::unavailable(
                    "The sandbox is moving your world between its servers; try again in a moment",
                )
                .retry_after(Duration::from_secs(1))
                .into_response();
            };
            let client = client();
            return redis.forward(&url, parts, body, client).await;
        }
        Err(why) => {
            parts.extensions.insert(Unresolved(why));
            return next.run(Request::from_parts(parts, body)).await;
        }
    };
    parts.extensions.insert(world.clone());
    let response = next.run(Request::from_parts(parts, body)).await;
    registry.save(&world).await;
    response
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
