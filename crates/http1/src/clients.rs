//! Who is connected: open connections counted per client address and in all, so that one client
//! holding sockets open (a slowloris attack: many heads sent a byte at a time) cannot take every
//! file descriptor and leave nothing for anyone else, a health check or a webhook sender.
//!
//! A client is an IPv4 address, or an IPv6 /64: one host is usually given a whole /64, so
//! counting single IPv6 addresses would let it open as many connections as it has addresses.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv6Addr},
    sync::{Arc, Mutex, PoisonError},
};

use http::StatusCode;

use crate::head::Rejection;

/// Open connections, counted per client and in all.
pub(crate) struct Clients {
    /// Most connections one client may hold; 0: no cap.
    per_client: usize,
    /// Most connections in all; 0: no cap.
    total: usize,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_client: HashMap<IpAddr, usize>,
}

/// A connection's place among the open ones, given back when it is dropped.
pub(crate) struct Ticket {
    clients: Arc<Clients>,
    client: IpAddr,
}

/// How long a refused client is asked to wait, in seconds: long enough for a burst to pass.
const RETRY_AFTER_SECONDS: u32 = 5;

impl Clients {
    pub(crate) fn new(per_client: usize, total: usize) -> Arc<Clients> {
        Arc::new(Clients {
            per_client,
            total,
            open: Mutex::default(),
        })
    }

    /// Counts a new connection from `peer`, or says why it is refused.
    pub(crate) fn admit(self: &Arc<Clients>, peer: IpAddr) -> Result<Ticket, Rejection> {
        let client = counted_address(peer);
        // The lock is held for a few map operations, never across an await.
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if self.total != 0 && open.total >= self.total {
            return Err(busy(
                "the server has too many open connections; retry later",
            ));
        }
        let count = open.by_client.entry(client).or_default();
        if self.per_client != 0 && *count >= self.per_client {
            return Err(busy(
                "too many open connections from your address; close some and retry",
            ));
        }
        *count += 1;
        open.total += 1;
        Ok(Ticket {
            clients: Arc::clone(self),
            client,
        })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut open = self
            .clients
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        open.total -= 1;
        if let Some(count) = open.by_client.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                open.by_client.remove(&self.client);
            }
        }
    }
}

fn busy(message: &'static str) -> Rejection {
    Rejection {
        status: StatusCode::SERVICE_UNAVAILABLE,
        message,
        retry_after: Some(RETRY_AFTER_SECONDS),
    }
}

/// The address a client is counted under, here and by every per-client bound of the server's
/// services: IPv4 (also when mapped into IPv6), or the IPv6 /64.
pub fn counted_address(peer: IpAddr) -> IpAddr {
    match peer.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
        v4 => v4,
    }
}
