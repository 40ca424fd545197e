//! Who holds what of the memory store's byte bound: every byte a session keeps is charged to its
//! client's `Account` (an IPv4 address or IPv6 /64), to that client's network's (an IPv4 /24 or
//! IPv6 /48) and to the store's `Budget`, each with its own bound. The store decides who gives way
//! when one is reached (`memory_store::make_room`, behind `MakeRoom`); this module only counts.
//!
//! Three atomic counters rather than one map under a lock: a reservation is made or resized for
//! every event logged, and a lock there would be shared by every session of the relay.

use std::sync::{
    Arc, Weak,
    atomic::{AtomicUsize, Ordering},
};

use crate::client::Client;

/// The bytes every session of a store may hold together (`Limits::max_total_buffer_bytes`), and
/// the shares one client and one network may hold of them.
pub(crate) struct Budget {
    used: AtomicUsize,
    max: usize,
    client_max: usize,
    network_max: usize,
    /// The store's sessions, where room is made when a bound is reached.
    pub(crate) sessions: Weak<dyn MakeRoom>,
}

/// Where room is made when a bound is reached: the memory store's sessions. A trait, so that this
/// module, which every session's account uses, does not depend on the store that holds them.
pub(crate) trait MakeRoom: Send + Sync {
    /// Frees room for `requester` to take `bytes` past the bound `over`; false when nothing
    /// could be freed.
    fn make_room(&self, requester: &Account, over: Over, bytes: usize) -> bool;
}

impl Budget {
    pub(crate) fn new(
        max: usize,
        (client_max, network_max): (usize, usize),
        sessions: Weak<dyn MakeRoom>,
    ) -> Arc<Budget> {
        Arc::new(Budget {
            used: AtomicUsize::new(0),
            max,
            client_max,
            network_max,
            sessions,
        })
    }

    /// The bytes taken.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    /// How far `bytes` more would pass the bound.
    pub(crate) fn over_by(&self, bytes: usize) -> usize {
        (self.used() + bytes).saturating_sub(self.max)
    }
}

/// A network's bytes (IPv4 /24, IPv6 /48).
pub(crate) struct NetworkAccount {
    bytes: AtomicUsize,
    budget: Arc<Budget>,
}

impl NetworkAccount {
    pub(crate) fn new(budget: Arc<Budget>) -> Arc<NetworkAccount> {
        Arc::new(NetworkAccount {
            bytes: AtomicUsize::new(0),
            budget,
        })
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }

    /// How far `bytes` more would pass the network's share.
    pub(crate) fn over_by(&self, bytes: usize) -> usize {
        (self.bytes() + bytes).saturating_sub(self.budget.network_max)
    }
}

/// One client's bytes; its sessions share it.
pub(crate) struct Account {
    bytes: AtomicUsize,
    pub(crate) client: Client,
    pub(crate) network: Arc<NetworkAccount>,
}

/// The bound a reservation would pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Over {
    Client,
    Network,
    Total,
}

/// Adds `bytes` to `counter` if it stays within `max`.
fn take(counter: &AtomicUsize, bytes: usize, max: usize) -> bool {
    counter
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
            used.checked_add(bytes).filter(|total| *total <= max)
        })
        .is_ok()
}

impl Account {
    pub(crate) fn new(client: Client, network: Arc<NetworkAccount>) -> Arc<Account> {
        Arc::new(Account {
            bytes: AtomicUsize::new(0),
            client,
            network,
        })
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }

    pub(crate) fn budget(&self) -> &Arc<Budget> {
        &self.network.budget
    }

    /// How far `bytes` more would pass the client's share.
    pub(crate) fn over_by(&self, bytes: usize) -> usize {
        (self.bytes() + bytes).saturating_sub(self.budget().client_max)
    }

    /// Takes `bytes` from the client's share, its network's and the store's, if they fit in all
    /// three; otherwise takes nothing and says which bound they would pass.
    pub(crate) fn try_reserve(self: &Arc<Self>, bytes: usize) -> Result<Reservation, Over> {
        let budget = self.budget();
        if !take(&self.bytes, bytes, budget.client_max) {
            return Err(Over::Client);
        }
        if !take(&self.network.bytes, bytes, budget.network_max) {
            self.bytes.fetch_sub(bytes, Ordering::AcqRel);
            return Err(Over::Network);
        }
        if !take(&budget.used, bytes, budget.max) {
            self.bytes.fetch_sub(bytes, Ordering::AcqRel);
            self.network.bytes.fetch_sub(bytes, Ordering::AcqRel);
            return Err(Over::Total);
        }
        Ok(Reservation {
            account: Arc::clone(self),
            bytes,
        })
    }

    pub(crate) fn empty(self: &Arc<Self>) -> Reservation {
        Reservation {
            account: Arc::clone(self),
            bytes: 0,
        }
    }

    fn add(&self, bytes: usize) {
        self.bytes.fetch_add(bytes, Ordering::AcqRel);
        self.network.bytes.fetch_add(bytes, Ordering::AcqRel);
        self.budget().used.fetch_add(bytes, Ordering::AcqRel);
    }

    fn sub(&self, bytes: usize) {
        self.bytes.fetch_sub(bytes, Ordering::AcqRel);
        self.network.bytes.fetch_sub(bytes, Ordering::AcqRel);
        self.budget().used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// Bytes taken from an `Account`; given back when dropped.
pub(crate) struct Reservation {
    account: Arc<Account>,
    bytes: usize,
}

impl Reservation {
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Makes the reservation exactly `bytes`. Used to turn an estimate into what was stored, so
    /// growing takes the difference even past the bound: it is a few bytes of an event that was
    /// admitted on its estimate.
    pub(crate) fn resize(&mut self, bytes: usize) {
        if bytes > self.bytes {
            self.account.add(bytes - self.bytes);
        } else {
            self.account.sub(self.bytes - bytes);
        }
        self.bytes = bytes;
    }

    /// Takes over what `other` holds (both are charged to the same account).
    pub(crate) fn absorb(&mut self, mut other: Reservation) {
        self.bytes += std::mem::take(&mut other.bytes);
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.account.sub(self.bytes);
    }
}
