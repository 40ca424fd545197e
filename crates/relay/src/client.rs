//! Who opens a session: the address the relay's per-client and per-network shares count by.

use std::net::IpAddr;

/// Who opens a session, for the per-client shares: an IPv4 address, or the /64 network an IPv6
/// address belongs to (one host is routinely given a whole /64, so single IPv6 addresses would be
/// free for the asking). Clients without a known address share one allowance. Its `network` is
/// the wider prefix one site holds: an IPv6 /48 (what a site is assigned, 65,536 /64s) or an IPv4
/// /24 (the smallest block routed on its own, so the smallest an operator or a cloud hands out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Client(Option<IpAddr>);

impl Client {
    pub fn new(address: Option<IpAddr>) -> Client {
        Client(address.map(webhook_demo_http::counted_address))
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
