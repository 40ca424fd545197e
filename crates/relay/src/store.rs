//! Where sessions live. The handlers open a session and find one by its id or by its hook token,
//! then work through `SessionRef`. Two stores exist, a closed set: `MemoryStore` keeps sessions in
//! this process (a learner's laptop, one instance) and `RedisStore` keeps everything a session is
//! in Redis, so any number of instances behind a load balancer serve any session. An enum rather
//! than a trait object: the memory store's calls stay direct (no boxed future per call), which is
//! what keeps its latency where the benches hold it.
use std::{
    collections::HashMap,
    fmt::Write,
    net::IpAddr,
    sync::{Arc, RwLock},
    time::Duration,
};

use tokio::time::Instant;

use tokio::sync::futures::Notified;
use webhook_demo_core::wire::PageAnswer;

pub use crate::redis_store::RedisStore;
use crate::{
    Limits,
    error::RelayError,
    redis_store::{self, RedisSession},
    session::{self, Answer, Batch, Event, Session, Waiting, id_key, response_event_size},
    share::{Account, Budget, NetworkAccount, Over, Reservation},
};

/// Why a session was not opened.
#[derive(Debug, PartialEq, Eq)]
pub enum OpenRefused {
    /// The store holds as many sessions as it may.
    Full,
    /// This client holds as many sessions as one client may.
    ClientFull,
    /// This client's network holds as many sessions as one network may.
    NetworkFull,
}

/// Who opens a session, for the per-client shares: an IPv4 address, or the /64 network an IPv6
/// address belongs to (one host is routinely given a whole /64, so single IPv6 addresses would be
/// free for the asking). Clients without a known address share one allowance. Its `network` is
/// the wider prefix one site holds: an IPv6 /48 (what a site is assigned, 65,536 /64s) or an IPv4
/// /24 (the smallest block routed on its own, so the smallest an operator or a cloud hands out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Client(Option<IpAddr>);

impl Client {
    pub fn new(address: Option<IpAddr>) -> Client {
        Client(address.map(|address| match address {
            IpAddr::V4(_) => address,
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
            },
        }))
    }

    /// The network the client belongs to: its IPv4 /24 or IPv6 /48.
    pub(crate) fn network(self) -> Client {
        Client(self.0.map(|address| match address {
            IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) & 0xffff_ff00).into()),
            IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & !((1u128 << 80) - 1)).into()),
        }))
    }

    /// The client as the Redis store names it: the address, or nothing for clients without one.
    pub(crate) fn key(&self) -> String {
        self.0
            .map(|address| address.to_string())
            .unwrap_or_default()
    }
}

/// The store behind a relay (`--store`).
pub enum Store {
    Memory(MemoryStore),
    Redis(RedisStore),
}

impl Store {
    /// A new session with a fresh 128-bit random id and a distinct 128-bit random hook token.
    pub(crate) async fn open(&self, client: Client, now: Instant) -> Result<SessionRef, Refused> {
        match self {
            Store::Memory(store) => store
                .open(client, now)
                .map(SessionRef::Memory)
                .map_err(Refused::Open),
            Store::Redis(store) => store.open(client, now).await,
        }
    }

    /// The live session with this id; `None` when it never existed or has expired.
    pub(crate) async fn find(
        &self,
        id: &str,
        now: Instant,
    ) -> Result<Option<SessionRef>, StoreError> {
        match self {
            Store::Memory(store) => Ok(store.find(id, now).map(SessionRef::Memory)),
            Store::Redis(store) => store.find(id, now).await,
        }
    }

    /// Wakes every stream of this instance, to look at what changed (the relay closing).
    pub(crate) fn wake_all(&self) {
        match self {
            Store::Memory(store) => {
                for session in store.read().by_id.values() {
                    session.wake();
                }
            }
            Store::Redis(store) => store.wake_all(),
        }
    }

    /// Sessions held and the bytes they keep, for the metrics.
    pub(crate) async fn stats(&self) -> Result<(usize, usize), StoreError> {
        match self {
            Store::Memory(store) => Ok((store.len(), store.budget.used())),
            Store::Redis(store) => store.stats().await,
        }
    }

    /// The live session whose hook URL carries this token and, with `admit`, the hook admitted
    /// under its rate limit (with Redis, both in one round trip).
    pub(crate) async fn admit_hook(
        &self,
        token: &str,
        now: Instant,
        admit: bool,
    ) -> Result<Option<(SessionRef, Option<Admission>)>, StoreError> {
        match self {
            Store::Memory(store) => Ok(store.find_hook(token, now).map(|session| {
                let admission = admit.then(|| session.admit_hook(now));
                (SessionRef::Memory(session), admission)
            })),
            Store::Redis(store) => store.admit_hook(token, now, admit).await,
        }
    }
}

/// A hook admitted under its session's rate limit, with its id and the answer settings to use;
/// or how long until the next one would be.
pub(crate) type Admission = Result<(u64, Answer), Duration>;

/// Why a session was not opened: a bound, or a store that cannot be reached.
#[derive(Debug)]
pub(crate) enum Refused {
    Open(OpenRefused),
    Store(StoreError),
}

/// The shared store failed (unreachable, or answered something unexpected); already logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreError;

/// A session found in a store. The memory variant is the session itself; the Redis one is this
/// instance's handle on a session that lives in Redis.
#[derive(Clone)]
pub(crate) enum SessionRef {
    Memory(Arc<Session>),
    Redis(Arc<RedisSession>),
}

impl SessionRef {
    pub(crate) fn id(&self) -> &str {
        match self {
            SessionRef::Memory(session) => session.id(),
            SessionRef::Redis(session) => session.id(),
        }
    }

    pub(crate) fn hook_token(&self) -> &str {
        match self {
            SessionRef::Memory(session) => session.hook_token(),
            SessionRef::Redis(session) => session.hook_token(),
        }
    }

    /// The id of the newest event appended (0 before the first).
    pub(crate) async fn newest_id(&self) -> Result<u64, StoreError> {
        match self {
            SessionRef::Memory(session) => Ok(session.newest_id()),
            SessionRef::Redis(session) => session.newest_id().await,
        }
    }

    /// Events after `after`, at most `max` of them.
    pub(crate) async fn read_after(&self, after: u64, max: usize) -> Result<Batch, StoreError> {
        match self {
            SessionRef::Memory(session) => Ok(session.read_after(after, max)),
            // Boxed: every idle stream's future has room for this await's, and the Redis read's
            // is far larger than the memory store's nothing.
            SessionRef::Redis(session) => Box::pin(session.read_after(after, max)).await,
        }
    }

    /// Completes at the next append after it is enabled; enable it before `read_after`.
    pub(crate) fn appended(&self) -> Notified<'_> {
        match self {
            SessionRef::Memory(session) => session.appended(),
            SessionRef::Redis(session) => session.appended(),
        }
    }

    /// Marks a stream as attached until the returned guard is dropped.
    pub(crate) async fn attach(&self) -> Result<Attached, StoreError> {
        match self {
            SessionRef::Memory(session) => Ok(Attached::Memory {
                _hold: session.attach(),
            }),
            SessionRef::Redis(session) => {
                let hold = session.attach().await?;
                Ok(Attached::Redis { _hold: hold })
            }
        }
    }

    pub(crate) async fn answer(&self) -> Result<Answer, StoreError> {
        match self {
            SessionRef::Memory(session) => Ok(session.answer()),
            SessionRef::Redis(session) => session.answer().await,
        }
    }

    /// Sets the answer, its bytes charged to the budget first.
    pub(crate) async fn set_answer(&self, answer: Answer) -> Result<(), RelayError> {
        match self {
            SessionRef::Memory(session) => {
                let reserved = session
                    .reserve(answer.heap_bytes())
                    .ok_or(RelayError::MemoryFull)?;
                session.set_answer(answer, reserved);
                Ok(())
            }
            SessionRef::Redis(session) => session.set_answer(answer).await,
        }
    }

    /// Logs a hook, with the bytes of its answer (at most `response_size`) reserved so the answer
    /// is always logged too; with `wait`, the hook is registered as waiting for the page before
    /// the page can see it, so an instant answer is never missed.
    pub(crate) async fn log_hook(
        &self,
        hook_id: u64,
        hook: Event,
        response_size: usize,
        wait: bool,
    ) -> Result<Pending, RelayError> {
        match self {
            SessionRef::Memory(session) => {
                let reserve = |bytes| session.reserve(bytes).ok_or(RelayError::MemoryFull);
                let hook_bytes = reserve(hook.size())?;
                let response_bytes = reserve(response_size)?;
                let waiting = wait.then(|| session.wait_for_page(hook_id));
                session.append(hook, hook_bytes);
                Ok(Pending::Memory {
                    session: Arc::clone(session),
                    response_bytes,
                    waiting,
                })
            }
            SessionRef::Redis(session) => session
                .log_hook(hook_id, hook, response_size, wait)
                .await
                .map(Pending::Redis),
        }
    }

    /// Logs a hook answered at once (no page to wait for, no delay) and its answer together.
    pub(crate) async fn log_answered(
        &self,
        hook: Event,
        response: Event,
    ) -> Result<(), RelayError> {
        match self {
            SessionRef::Memory(session) => {
                let reserve = |bytes| session.reserve(bytes).ok_or(RelayError::MemoryFull);
                let hook_bytes = reserve(hook.size())?;
                let response_bytes = reserve(response.size())?;
                session.append(hook, hook_bytes);
                session.append(response, response_bytes);
                Ok(())
            }
            SessionRef::Redis(session) => session.log_answered(hook, response).await,
        }
    }

    /// Hands the page's answer to a waiting hook (on whichever instance holds it); false when it
    /// is not waiting (any more).
    pub(crate) async fn answer_from_page(
        &self,
        hook_id: u64,
        answer: PageAnswer,
    ) -> Result<bool, RelayError> {
        match self {
            SessionRef::Memory(session) => {
                // The hook logs this answer; its bytes are reserved now, so a full relay refuses
                // it here and the hook gets the default answer it reserved for when it arrived.
                let reserved = session
                    .reserve(response_event_size(&answer.content_type, &answer.body))
                    .ok_or(RelayError::MemoryFull)?;
                Ok(session.answer_from_page(hook_id, answer, reserved))
            }
            SessionRef::Redis(session) => session.answer_from_page(hook_id, answer).await,
        }
    }
}

/// A stream's hold on its session; dropping it starts the idle clock.
pub(crate) enum Attached {
    Memory { _hold: session::Attached },
    Redis { _hold: redis_store::Attached },
}

/// A hook that was logged and is still to be answered.
pub(crate) enum Pending {
    Memory {
        session: Arc<Session>,
        response_bytes: Reservation,
        waiting: Option<Waiting>,
    },
    Redis(redis_store::Pending),
}

impl Pending {
    /// The page's answer, or `None` when `deadline` passes first (or the hook does not wait).
    pub(crate) async fn page_answer(&mut self, deadline: Duration) -> Option<PageAnswer> {
        match self {
            Pending::Memory {
                response_bytes,
                waiting,
                ..
            } => {
                let (answer, reserved) = waiting.take()?.answer(deadline).await?;
                *response_bytes = reserved;
                Some(answer)
            }
            Pending::Redis(pending) => pending.page_answer(deadline).await,
        }
    }

    /// Logs the answer the hook got.
    pub(crate) async fn finish(self, response: Event) -> Result<(), StoreError> {
        match self {
            Pending::Memory {
                session,
                response_bytes,
                ..
            } => {
                session.append(response, response_bytes);
                Ok(())
            }
            Pending::Redis(pending) => pending.finish(response).await,
        }
    }
}

/// Expired sessions are swept this often while the store is used (and whenever it is full).
const SWEEP_EVERY: Duration = Duration::from_secs(60);

pub struct MemoryStore {
    limits: Arc<Limits>,
    budget: Arc<Budget>,
    sessions: Arc<Registry>,
    last_sweep: std::sync::Mutex<Instant>,
}

/// The memory store's sessions, where room is made when a share or the bound is reached.
pub(crate) type Registry = RwLock<Sessions>;

/// Every session, reachable by its id, by its hook token, by its client and by its network.
#[derive(Default)]
pub(crate) struct Sessions {
    /// Keyed by `session::id_key`: a number rather than a shared string per key.
    by_id: HashMap<u128, Arc<Session>>,
    by_hook: HashMap<u128, Arc<Session>>,
    /// A client's sessions and the account their bytes are charged to, so a client at its cap
    /// is checked by looking at its own few sessions rather than at every session.
    by_client: HashMap<Client, ClientEntry>,
    by_network: HashMap<Client, NetworkEntry>,
}

struct ClientEntry {
    account: Arc<Account>,
    sessions: Vec<Arc<Session>>,
}

struct NetworkEntry {
    account: Arc<NetworkAccount>,
    sessions: usize,
    clients: Vec<Client>,
}

impl Sessions {
    fn remove(&mut self, session: &Arc<Session>) {
        let (id, hook) = session.keys();
        if self.by_id.remove(&id).is_none() {
            return;
        }
        self.by_hook.remove(&hook);
        let client = session.client();
        let Some(entry) = self.by_client.get_mut(&client) else {
            return;
        };
        entry.sessions.retain(|other| !Arc::ptr_eq(other, session));
        let client_gone = entry.sessions.is_empty();
        if client_gone {
            self.by_client.remove(&client);
        }
        let network = client.network();
        if let Some(entry) = self.by_network.get_mut(&network) {
            entry.sessions -= 1;
            if client_gone {
                entry.clients.retain(|other| *other != client);
            }
            if entry.sessions == 0 {
                self.by_network.remove(&network);
            }
        }
    }

    /// A client's sessions.
    fn of_client(&self, client: Client) -> impl Iterator<Item = &Arc<Session>> {
        self.by_client
            .get(&client)
            .into_iter()
            .flat_map(|entry| &entry.sessions)
    }

    /// A network's sessions.
    fn in_network(&self, network: Client) -> impl Iterator<Item = &Arc<Session>> {
        self.by_network
            .get(&network)
            .into_iter()
            .flat_map(|entry| &entry.clients)
            .flat_map(|client| self.of_client(*client))
    }

    /// Forgets the expired sessions among these, or among all.
    fn remove_expired(&mut self, among: Option<Vec<Arc<Session>>>, now: Instant) {
        let expired: Vec<Arc<Session>> = match among {
            Some(among) => among,
            None => self.by_id.values().cloned().collect(),
        }
        .into_iter()
        .filter(|session| session.expired(now))
        .collect();
        for session in &expired {
            self.remove(session);
        }
    }

    fn held_by(&self, client: Client) -> usize {
        self.by_client
            .get(&client)
            .map_or(0, |entry| entry.sessions.len())
    }

    fn held_in(&self, network: Client) -> usize {
        self.by_network
            .get(&network)
            .map_or(0, |entry| entry.sessions)
    }

    /// The client's account (and its network's), made with its first session.
    fn account(&mut self, client: Client, budget: &Arc<Budget>) -> Arc<Account> {
        if let Some(entry) = self.by_client.get(&client) {
            return Arc::clone(&entry.account);
        }
        let network = self
            .by_network
            .entry(client.network())
            .or_insert_with(|| NetworkEntry {
                account: NetworkAccount::new(Arc::clone(budget)),
                sessions: 0,
                clients: Vec::new(),
            });
        network.clients.push(client);
        let account = Account::new(client, Arc::clone(&network.account));
        self.by_client.insert(
            client,
            ClientEntry {
                account: Arc::clone(&account),
                sessions: Vec::new(),
            },
        );
        account
    }

    fn insert(&mut self, session: Arc<Session>) {
        let client = session.client();
        let (id, hook) = session.keys();
        self.by_id.insert(id, Arc::clone(&session));
        self.by_hook.insert(hook, Arc::clone(&session));
        if let Some(network) = self.by_network.get_mut(&client.network()) {
            network.sessions += 1;
        }
        if let Some(entry) = self.by_client.get_mut(&client) {
            entry.sessions.push(session);
        }
    }

    /// The session that gives its slot to a client of `network` when the store is full: one of
    /// the network holding the most sessions, provided it holds at least two more than
    /// `network` does (so it still holds as many once both changed), the least used of them.
    fn slot_to_give(&self, network: Client) -> Option<Arc<Session>> {
        let mine = self.held_in(network);
        let (largest, entry) = self
            .by_network
            .iter()
            .max_by_key(|(_, entry)| entry.sessions)?;
        if entry.sessions < mine + 2 {
            return None;
        }
        self.in_network(*largest)
            .min_by_key(|session| session.keep_rank())
            .cloned()
    }
}

/// Makes room for `requester` to reserve `bytes` past the bound `over`: within a client's or a
/// network's share, that holder's own largest log gives its oldest events; at the store's bound,
/// the network holding the most bytes gives them, provided it holds more than the requester's
/// network (so no one is pushed out by a larger holder, and the largest holder is refused
/// instead). False when nothing could be freed.
pub(crate) fn make_room(
    registry: &Registry,
    requester: &Session,
    over: Over,
    bytes: usize,
) -> bool {
    let account = &requester.account;
    let largest = |among: &mut dyn Iterator<Item = &Arc<Session>>| {
        among.max_by_key(|session| session.log_bytes()).cloned()
    };
    let (victim, wanted) = {
        let sessions = registry
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match over {
            Over::Client => (
                largest(&mut sessions.of_client(account.client)),
                account.over_by(bytes),
            ),
            Over::Network => (
                largest(&mut sessions.in_network(account.client.network())),
                account.network.over_by(bytes),
            ),
            Over::Total => {
                let Some((network, entry)) = sessions
                    .by_network
                    .iter()
                    .max_by_key(|(_, entry)| entry.account.bytes())
                else {
                    return false;
                };
                if entry.account.bytes() <= account.network.bytes() {
                    return false;
                }
                (
                    largest(&mut sessions.in_network(*network)),
                    account.budget().over_by(bytes),
                )
            }
        }
    };
    victim.is_some_and(|victim| victim.evict(wanted.max(1)) > 0)
}

impl MemoryStore {
    pub fn new(limits: Limits) -> MemoryStore {
        let sessions = Arc::new(Registry::default());
        MemoryStore {
            budget: Budget::new(
                limits.max_total_buffer_bytes,
                limits.byte_shares(),
                Arc::downgrade(&sessions),
            ),
            limits: Arc::new(limits),
            sessions,
            last_sweep: std::sync::Mutex::new(Instant::now()),
        }
    }

    fn sweep(&self, sessions: &mut Sessions, now: Instant) {
        sessions.remove_expired(None, now);
        *self.last_sweep() = now;
    }

    fn last_sweep(&self) -> std::sync::MutexGuard<'_, Instant> {
        self.last_sweep
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sweeps when the last sweep is `SWEEP_EVERY` old, so expired sessions give their memory
    /// back even while nobody opens a session.
    fn sweep_if_due(&self, now: Instant) {
        if now.duration_since(*self.last_sweep()) >= SWEEP_EVERY {
            let mut sessions = self.write();
            self.sweep(&mut sessions, now);
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Sessions> {
        self.sessions
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Sessions> {
        self.sessions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The session from `pick`, unless it has expired, in which case it is forgotten.
    fn live(
        &self,
        pick: impl Fn(&Sessions) -> Option<&Arc<Session>>,
        now: Instant,
    ) -> Option<Arc<Session>> {
        self.sweep_if_due(now);
        let session = pick(&self.read()).cloned()?;
        if session.expired(now) {
            self.write().remove(&session);
            return None;
        }
        Some(session)
    }
}

impl MemoryStore {
    pub fn open(&self, client: Client, now: Instant) -> Result<Arc<Session>, OpenRefused> {
        self.sweep_if_due(now);
        let mut sessions = self.write();
        let limits = &self.limits;
        let per_client = limits.max_sessions_per_client;
        let network = client.network();
        if per_client > 0 {
            if sessions.held_by(client) >= per_client {
                let own = sessions.of_client(client).cloned().collect();
                sessions.remove_expired(Some(own), now);
            }
            if sessions.held_by(client) >= per_client {
                return Err(OpenRefused::ClientFull);
            }
            let per_network = limits.sessions_per_network();
            if sessions.held_in(network) >= per_network {
                let own = sessions.in_network(network).cloned().collect();
                sessions.remove_expired(Some(own), now);
            }
            if sessions.held_in(network) >= per_network {
                return Err(OpenRefused::NetworkFull);
            }
        }
        if sessions.by_id.len() >= limits.max_sessions {
            self.sweep(&mut sessions, now);
        }
        if sessions.by_id.len() >= limits.max_sessions {
            let victim = sessions.slot_to_give(network).ok_or(OpenRefused::Full)?;
            sessions.remove(&victim);
            victim.end();
        }
        let account = sessions.account(client, &self.budget);
        let session = Arc::new(Session::new(
            (&random_id(), &random_id()),
            account,
            Arc::clone(&self.limits),
            now,
        ));
        sessions.insert(Arc::clone(&session));
        Ok(session)
    }

    pub fn find(&self, id: &str, now: Instant) -> Option<Arc<Session>> {
        let key = id_key(id)?;
        self.live(|sessions| sessions.by_id.get(&key), now)
    }

    pub fn find_hook(&self, token: &str, now: Instant) -> Option<Arc<Session>> {
        let key = id_key(token)?;
        self.live(|sessions| sessions.by_hook.get(&key), now)
    }

    /// Sessions currently held.
    pub fn len(&self) -> usize {
        self.read().by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// 128 random bits from the operating system, as 32 hex digits.
pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    bytes
        .iter()
        .fold(String::with_capacity(32), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}
