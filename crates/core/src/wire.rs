//! Types that cross a process boundary.
//!
//! A `derive(Serialize)` here is a protocol: the page and the servers agree on these shapes, so a
//! change to a field is an API change and must stay backwards compatible or be versioned.

use serde::{Deserialize, Serialize};

/// `GET /config.json`: what the server that hosts the page offers it.
///
/// When the page is hosted as plain static files there is no such document; the page then talks to
/// the real Particle cloud and asks the learner for a relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Config {
    /// Base path of the built-in Particle cloud emulator, or `None` when it is switched off.
    pub sandbox: Option<String>,
    /// Base path (or URL) of the webhook relay, ending in `/`.
    pub relay: String,
    /// The base URL the Particle cloud can reach this server on, when the operator gave one.
    pub public_url: Option<String>,
}

#[cfg(test)]
mod tests;
