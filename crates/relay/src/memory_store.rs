//! `MemoryStore`: the relay's sessions in this process (a learner's laptop, one instance), found
//! by id, by hook token, by client and by network, and where room is made when a client's, a
//! network's or the store's share of the byte bound is reached (`make_room`).

use std::{
    collections::HashMap,
    sync::{Arc, RwLock, Weak},
    time::Duration,
};

use tokio::time::Instant;

use crate::{
    Limits,
    admission::OpenRefused,
    client::Client,
    session::{Session, id_key, random_id},
    share::{Account, Budget, MakeRoom, NetworkAccount, Over},
};

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
fn make_room(registry: &Registry, account: &Account, over: Over, bytes: usize) -> bool {
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

impl MakeRoom for Registry {
    fn make_room(&self, requester: &Account, over: Over, bytes: usize) -> bool {
        make_room(self, requester, over, bytes)
    }
}

impl MemoryStore {
    pub fn new(limits: Limits) -> MemoryStore {
        let sessions = Arc::new(Registry::default());
        MemoryStore {
            budget: Budget::new(
                limits.max_total_buffer_bytes,
                limits.byte_shares(),
                Arc::downgrade(&sessions) as Weak<dyn MakeRoom>,
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

    /// The bytes all sessions hold together.
    pub(crate) fn bytes(&self) -> usize {
        self.budget.used()
    }

    /// Wakes every stream, to look at what changed (the relay closing).
    pub(crate) fn wake_all(&self) {
        for session in self.read().by_id.values() {
            session.wake();
        }
    }
}
