//! Where sessions live. The handlers only need to open a session and find one by its id or by its
//! hook token; that narrow trait is what a shared store (several relay instances behind a load
//! balancer serving one session) would implement. `MemoryStore` keeps them in this process.

use std::{
    collections::HashMap,
    fmt::Write,
    net::IpAddr,
    sync::{Arc, RwLock},
    time::Duration,
};

use tokio::time::Instant;

use crate::{
    Limits,
    session::{Budget, Session},
};

/// Why a session was not opened.
#[derive(Debug, PartialEq, Eq)]
pub enum OpenRefused {
    /// The store holds as many sessions as it may.
    Full,
    /// This client holds as many sessions as one client may.
    ClientFull,
}

/// Who opens a session, for the per-client cap: an IPv4 address, or the /64 network an IPv6 address
/// belongs to (one host is routinely given a whole /64, so single IPv6 addresses would be free for
/// the asking). Clients without a known address share one allowance.
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
}

pub trait SessionStore: Send + Sync + 'static {
    /// A new session with a fresh 128-bit random id and a distinct 128-bit random hook token.
    fn open(&self, client: Client, now: Instant) -> Result<Arc<Session>, OpenRefused>;
    /// The live session with this id; `None` when it never existed or has expired.
    fn find(&self, id: &str, now: Instant) -> Option<Arc<Session>>;
    /// The live session whose hook URL carries this token.
    fn find_hook(&self, token: &str, now: Instant) -> Option<Arc<Session>>;
    /// Sessions currently held.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Expired sessions are swept this often while the store is used (and whenever it is full).
const SWEEP_EVERY: Duration = Duration::from_secs(60);

pub struct MemoryStore {
    limits: Arc<Limits>,
    budget: Arc<Budget>,
    sessions: RwLock<Sessions>,
    last_sweep: std::sync::Mutex<Instant>,
}

/// Every session, reachable by its id, by its hook token and by its client.
#[derive(Default)]
struct Sessions {
    by_id: HashMap<Arc<str>, Arc<Session>>,
    by_hook: HashMap<Arc<str>, Arc<Session>>,
    /// Kept only when the per-client cap is on, so a client at its cap is checked by looking at
    /// its own few sessions rather than at every session.
    by_client: HashMap<Client, Vec<Arc<Session>>>,
}

impl Sessions {
    fn remove(&mut self, session: &Arc<Session>) {
        self.by_id.remove(&session.id);
        self.by_hook.remove(&session.hook_token);
        if let Some(held) = self.by_client.get_mut(&session.client) {
            held.retain(|other| !Arc::ptr_eq(other, session));
            if held.is_empty() {
                self.by_client.remove(&session.client);
            }
        }
    }

    /// Forgets the expired sessions among one client's, or among all.
    fn remove_expired(&mut self, among: Option<Client>, now: Instant) {
        let candidates: Box<dyn Iterator<Item = &Arc<Session>>> = match among {
            Some(client) => Box::new(self.by_client.get(&client).into_iter().flatten()),
            None => Box::new(self.by_id.values()),
        };
        let expired: Vec<Arc<Session>> = candidates
            .filter(|session| session.expired(now))
            .cloned()
            .collect();
        for session in &expired {
            self.remove(session);
        }
    }

    fn held_by(&self, client: Client) -> usize {
        self.by_client.get(&client).map_or(0, Vec::len)
    }
}

impl MemoryStore {
    pub fn new(limits: Limits) -> MemoryStore {
        MemoryStore {
            budget: Budget::new(limits.max_total_buffer_bytes),
            limits: Arc::new(limits),
            sessions: RwLock::default(),
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

impl SessionStore for MemoryStore {
    fn open(&self, client: Client, now: Instant) -> Result<Arc<Session>, OpenRefused> {
        self.sweep_if_due(now);
        let mut sessions = self.write();
        let per_client = self.limits.max_sessions_per_client;
        if per_client > 0 {
            if sessions.held_by(client) >= per_client {
                sessions.remove_expired(Some(client), now);
            }
            if sessions.held_by(client) >= per_client {
                return Err(OpenRefused::ClientFull);
            }
        }
        if sessions.by_id.len() >= self.limits.max_sessions {
            self.sweep(&mut sessions, now);
        }
        if sessions.by_id.len() >= self.limits.max_sessions {
            return Err(OpenRefused::Full);
        }
        let id: Arc<str> = random_id().into();
        let hook_token: Arc<str> = random_id().into();
        let session = Arc::new(Session::new(
            (Arc::clone(&id), Arc::clone(&hook_token)),
            client,
            Arc::clone(&self.limits),
            Arc::clone(&self.budget),
            now,
        ));
        sessions.by_id.insert(id, Arc::clone(&session));
        sessions.by_hook.insert(hook_token, Arc::clone(&session));
        if per_client > 0 {
            sessions
                .by_client
                .entry(client)
                .or_default()
                .push(Arc::clone(&session));
        }
        Ok(session)
    }

    fn find(&self, id: &str, now: Instant) -> Option<Arc<Session>> {
        self.live(|sessions| sessions.by_id.get(id), now)
    }

    fn find_hook(&self, token: &str, now: Instant) -> Option<Arc<Session>> {
        self.live(|sessions| sessions.by_hook.get(token), now)
    }

    fn len(&self) -> usize {
        self.read().by_id.len()
    }
}

/// 128 random bits from the operating system, as 32 hex digits.
fn random_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    bytes
        .iter()
        .fold(String::with_capacity(32), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}
