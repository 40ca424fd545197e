//! Where sessions live. The handlers only need to open a session and find one by id; that narrow
//! trait is what a shared store (several relay instances behind a load balancer serving one session)
//! would implement. `MemoryStore` keeps them in this process.

use std::{
    collections::HashMap,
    fmt::Write,
    sync::{Arc, RwLock},
    time::Duration,
};

use tokio::time::Instant;

use crate::{Limits, session::Session};

/// The store holds as many sessions as it may.
#[derive(Debug, PartialEq, Eq)]
pub struct StoreFull;

pub trait SessionStore: Send + Sync + 'static {
    /// A new session with a fresh 128-bit random id.
    fn open(&self, now: Instant) -> Result<Arc<Session>, StoreFull>;
    /// The live session with this id; `None` when it never existed or has expired.
    fn find(&self, id: &str, now: Instant) -> Option<Arc<Session>>;
    /// Sessions currently held.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Expired sessions are swept at most this often (and whenever the store is full).
const SWEEP_EVERY: Duration = Duration::from_secs(60);

pub struct MemoryStore {
    limits: Arc<Limits>,
    sessions: RwLock<HashMap<Arc<str>, Arc<Session>>>,
    last_sweep: std::sync::Mutex<Instant>,
}

impl MemoryStore {
    pub fn new(limits: Limits) -> MemoryStore {
        MemoryStore {
            limits: Arc::new(limits),
            sessions: RwLock::default(),
            last_sweep: std::sync::Mutex::new(Instant::now()),
        }
    }

    fn sweep(&self, sessions: &mut HashMap<Arc<str>, Arc<Session>>, now: Instant) {
        sessions.retain(|_, session| !session.expired(now));
        *self
            .last_sweep
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = now;
    }
}

impl SessionStore for MemoryStore {
    fn open(&self, now: Instant) -> Result<Arc<Session>, StoreFull> {
        let mut sessions = self
            .sessions
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let due = now.duration_since(
            *self
                .last_sweep
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        ) >= SWEEP_EVERY;
        if due || sessions.len() >= self.limits.max_sessions {
            self.sweep(&mut sessions, now);
        }
        if sessions.len() >= self.limits.max_sessions {
            return Err(StoreFull);
        }
        let id: Arc<str> = random_id().into();
        let session = Arc::new(Session::new(Arc::clone(&id), Arc::clone(&self.limits), now));
        sessions.insert(id, Arc::clone(&session));
        Ok(session)
    }

    fn find(&self, id: &str, now: Instant) -> Option<Arc<Session>> {
        let session = self
            .sessions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .cloned()?;
        if session.expired(now) {
            self.sessions
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(id);
            return None;
        }
        Some(session)
    }

    fn len(&self) -> usize {
        self.sessions
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
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
