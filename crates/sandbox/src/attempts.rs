//! How often sign-in may fail: per client address and per account, so that neither one address
//! nor many addresses against one account can guess passwords or one-time codes at speed
//! (Particle locks an address out after repeated failures; the sandbox, whose passwords are
//! public, only slows guessing down rather than locking learners out for half an hour).
//!
//! Each client and account has an allowance of failures: a burst, refilled at one per
//! `Limits::failure_refill`. Only failures spend it, but an empty allowance refuses every
//! attempt, right or wrong, until it refills: otherwise an attacker would learn from each refusal
//! whether the guess was right.
//!
//! The client's address is the connection's peer (`PeerAddr`, which the server's connections
//! attach), or what a trusted proxy reports in `X-Forwarded-For` / `Forwarded`; requests without
//! either count as one client (`webhook_demo_http::forwarded`, shared with the relay). IPv6
//! addresses count by their /64, which one host is usually given whole.

use std::{collections::HashMap, net::IpAddr, time::Duration};

use axum::http::HeaderMap;
use tokio::time::Instant;
use webhook_demo_http::{PeerAddr, counted_address, forwarded};

use crate::Limits;

/// Clients remembered at once; beyond it, new addresses share the allowance of clients without
/// an address, so rotating addresses cannot grow this map or escape the limit.
const CLIENTS: usize = 10_000;

/// Who a failure is counted against: an address (IPv6 by its /64), or `None` for clients whose
/// address is unknown (and those beyond `CLIENTS`).
pub(crate) type Client = Option<IpAddr>;

/// A burst of failures, refilled at one per `refill`.
#[derive(Debug, Clone, Copy)]
struct Allowance {
    left: f64,
    since: Instant,
}

impl Allowance {
    fn full(burst: u32, now: Instant) -> Allowance {
        Allowance {
            left: f64::from(burst),
            since: now,
        }
    }

    /// Refills up to `burst`; the time until one failure is allowed again, if none is now.
    fn wait(&mut self, burst: u32, refill: Duration, now: Instant) -> Option<Duration> {
        let refilled = now.duration_since(self.since).as_secs_f64() / refill.as_secs_f64();
        self.left = (self.left + refilled).min(f64::from(burst));
        self.since = now;
        (self.left < 1.0).then(|| refill.mul_f64(1.0 - self.left))
    }

    fn spend(&mut self) {
        self.left = (self.left - 1.0).max(0.0);
    }

    fn is_full(&self, burst: u32, refill: Duration, now: Instant) -> bool {
        self.left + now.duration_since(self.since).as_secs_f64() / refill.as_secs_f64()
            >= f64::from(burst)
    }
}

/// Why an attempt is refused, and for how long.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    Client(Duration),
    Account(Duration),
}

#[derive(Default)]
pub(crate) struct Attempts {
    clients: HashMap<Client, Allowance>,
    /// Only accounts that exist: counting failures on any name a client makes up would grow
    /// this map without bound.
    accounts: HashMap<String, Allowance>,
}

impl Attempts {
    /// Whether `client` may try to sign in to `account` (when the account exists) now.
    pub(crate) fn check(
        &mut self,
        client: Client,
        account: Option<&str>,
        limits: &Limits,
        now: Instant,
    ) -> Result<(), Refused> {
        let refill = limits.failure_refill;
        if let Some(wait) = self
            .clients
            .get_mut(&client)
            .and_then(|a| a.wait(limits.failures_per_client, refill, now))
        {
            return Err(Refused::Client(wait));
        }
        // An account's empty allowance holds back only clients that have failed themselves
        // lately: the fixture accounts' passwords are public, so refusing everyone would let one
        // guesser keep every learner out. A guesser with many addresses still gets one failure
        // per fresh address, and then waits like everyone else who failed.
        let failed_lately = self
            .clients
            .get(&client)
            .is_some_and(|a| !a.is_full(limits.failures_per_client, refill, now));
        if !failed_lately {
            return Ok(());
        }
        if let Some(wait) = account
            .and_then(|account| self.accounts.get_mut(account))
            .and_then(|a| a.wait(limits.failures_per_account, refill, now))
        {
            return Err(Refused::Account(wait));
        }
        Ok(())
    }

    /// Counts a failed attempt against `client` and `account` (when the account exists).
    pub(crate) fn failed(
        &mut self,
        client: Client,
        account: Option<&str>,
        limits: &Limits,
        now: Instant,
    ) {
        let refill = limits.failure_refill;
        if !self.clients.contains_key(&client) && self.clients.len() >= CLIENTS {
            // Forget the clients whose allowance has refilled; if none has, share.
            self.clients
                .retain(|_, a| !a.is_full(limits.failures_per_client, refill, now));
        }
        let client = if self.clients.len() < CLIENTS {
            client
        } else {
            None
        };
        self.clients
            .entry(client)
            .or_insert_with(|| Allowance::full(limits.failures_per_client, now))
            .spend();
        if let Some(account) = account {
            self.accounts
                .entry(account.to_owned())
                .or_insert_with(|| Allowance::full(limits.failures_per_account, now))
                .spend();
        }
    }
}

/// The client a request comes from: a trusted proxy's report, else the connection's peer; IPv6
/// by its /64.
pub(crate) fn client(headers: &HeaderMap, peer: Option<PeerAddr>, trust_forwarded: bool) -> Client {
    forwarded::client_address(headers, peer, trust_forwarded).map(counted_address)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(peer: Option<&str>, headers: &[(&'static str, &str)], trust: bool) -> Client {
        let peer = peer.map(|peer| PeerAddr(peer.parse().unwrap()));
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(*name, value.parse().unwrap());
        }
        client(&map, peer, trust)
    }

    #[test]
    fn the_client_is_the_peer_unless_a_trusted_proxy_says_otherwise() {
        let forwarded = [("x-forwarded-for", "192.0.2.1, 127.0.0.9")];
        assert_eq!(
            from(Some("127.0.0.2:1"), &forwarded, false),
            Some("127.0.0.2".parse().unwrap())
        );
        assert_eq!(
            from(Some("127.0.0.2:1"), &forwarded, true),
            Some("127.0.0.9".parse().unwrap())
        );
        assert_eq!(
            from(None, &[("forwarded", "for=\"[2001:db8::1]:80\"")], true),
            Some("2001:db8::".parse().unwrap()),
            "IPv6 counts by its /64"
        );
        assert_eq!(from(None, &forwarded, false), None);
    }
}
