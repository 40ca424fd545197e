//! The demo's two streams as the learner sees them (the product's Particle events, and the
//! requests the webhook server receives), and the rules by which the page keeps them open.
//!
//! Particle's API reference asks three things of a client of its event streams: notice a stream
//! that stopped delivering by "the 60 second ping" it no longer gets, and reconnect; "beware of
//! excessively reconnecting", since opening is limited to 100 requests per 5 minutes per public
//! IP address; and after a 529, "wait before retrying the connection or you will never be able
//! to successfully connect again". So a stream quiet for its ping interval and half again is
//! called stalled and reopened; reopening waits 1 s, then twice as long each time up to 60 s,
//! each wait ±25 % at random (two pages that lost the network together do not come back in step),
//! and the wait starts again from 1 s only after a stream stayed open a minute (a server that
//! answers and ends at once is not hammered); a 529 waits its `Retry-After`, else the whole
//! 5-minute window. A stream that fails at once thus opens at most 12 times in 5 minutes, one
//! that lives a minute or more at most 5 times: the page's two streams stay far below 100.
//!
//! Particle's streams have no `Last-Event-ID`: what was published while a stream was down is
//! lost, which the state says, and nothing is replayed; should a stream deliver an event again
//! (the same name and data, which hold its time and device), the page shows it once (`Streams::
//! first_time`).

use webhook_demo_core::wire::Config;

/// Particle's documented ping interval on its event streams.
pub const PARTICLE_PING_MS: u32 = 60_000;
/// The relay's keepalive: a comment after 15 s of silence (docs/relay-protocol.md).
pub const RELAY_PING_MS: u32 = 15_000;
/// The first wait before reopening a stream, and the longest.
pub const FIRST_RETRY_MS: u32 = 1_000;
pub const LAST_RETRY_MS: u32 = 60_000;
/// How long a stream must stay open for the next failure to wait only `FIRST_RETRY_MS` again.
pub const HEALTHY_MS: u32 = 60_000;
/// The wait after a 529 without `Retry-After`: Particle's whole window of 100 opens.
pub const REFUSED_MS: u32 = 5 * 60_000;
/// The longest `Retry-After` believed (a larger one is waited this long, then tried).
pub const LONGEST_REFUSAL_MS: u32 = 60 * 60_000;
/// How many recent events of the Particle stream are remembered to show none twice.
const RECENT: usize = 64;

/// How long the page lets a stream whose server pings every `ping_ms` stay quiet before it calls
/// it stalled: the interval and half again, for a ping late on a busy network or server.
pub fn stall_ms(ping_ms: u32) -> u32 {
    ping_ms.saturating_add(ping_ms / 2)
}

/// The ping interval of the Particle event stream at `base`: the sandbox's own (from the
/// server's config) when `base` is the sandbox, else Particle's documented 60 s.
pub fn particle_ping_ms(config: Option<&Config>, base: &str) -> u32 {
    config
        .filter(|config| config.sandbox.as_deref() == Some(base))
        .and_then(|config| config.sandbox_keepalive_ms)
        .unwrap_or(PARTICLE_PING_MS)
}

/// The demo's streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// The product's Particle events.
    Events,
    /// The requests the webhook server receives (the relay's stream or a smee.io channel).
    Requests,
}

impl Feed {
    pub fn label(self) -> &'static str {
        match self {
            Feed::Events => "Product events",
            Feed::Requests => "Webhook requests",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Feed::Events => "events",
            Feed::Requests => "requests",
        }
    }
}

/// Why a stream stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The server ended it.
    Ended,
    /// The connection failed or dropped, or the server answered an error: in words.
    Failed(String),
    /// Nothing came for longer than its ping interval and a margin.
    Stalled,
    /// HTTP 529: too many streams opened or open from this address.
    Refused { retry_after_secs: Option<u32> },
}

/// A stream's state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Status {
    /// Opening, the first time.
    #[default]
    Connecting,
    Live,
    /// Open again after it stopped: what was published meanwhile was lost to it (a Particle
    /// stream replays nothing). `stalled`: it had gone quiet rather than dropped.
    Resumed {
        stalled: bool,
    },
    /// Down, and reopened in `secs` seconds.
    Waiting {
        secs: u32,
        ended: Ended,
    },
    /// Down, and opening again now.
    Reconnecting,
}

impl Status {
    /// The state in words, as the page shows it next to the run.
    pub fn words(&self) -> String {
        match self {
            Status::Connecting => "connecting".to_owned(),
            Status::Live => "live".to_owned(),
            Status::Resumed { stalled: true } => {
                "stalled and reconnected: events may have been missed".to_owned()
            }
            Status::Resumed { stalled: false } => {
                "reconnected after a break: events may have been missed".to_owned()
            }
            Status::Reconnecting => "reconnecting…".to_owned(),
            Status::Waiting { secs, ended } => {
                let wait = duration(*secs);
                match ended {
                    Ended::Ended => format!("ended by the server: reconnecting in {wait}"),
                    Ended::Failed(reason) => format!("{reason}: reconnecting in {wait}"),
                    Ended::Stalled => format!("stalled (no ping): reconnecting in {wait}"),
                    Ended::Refused { .. } => format!(
                        "refused with HTTP 529 (too many streams opened): waiting {wait} \
                         before trying again, as Particle asks"
                    ),
                }
            }
        }
    }

    /// The kind of state, for the page's `data-status` and for telling a new state from a tick.
    pub fn kind(&self) -> &'static str {
        match self {
            Status::Connecting => "connecting",
            Status::Live => "live",
            Status::Resumed { .. } => "resumed",
            Status::Waiting { .. } => "waiting",
            Status::Reconnecting => "reconnecting",
        }
    }

    /// What the status region says when a stream goes from `before` to this state: that it went
    /// down, and that it is back; nothing for the first opening, a countdown's tick, or another
    /// failed attempt of a stream already down.
    pub fn announcement(&self, before: &Status) -> Option<String> {
        let down =
            |status: &Status| matches!(status, Status::Waiting { .. } | Status::Reconnecting);
        let says = match self {
            Status::Waiting { .. } => !down(before),
            Status::Live | Status::Resumed { .. } => down(before),
            Status::Connecting | Status::Reconnecting => false,
        };
        says.then(|| self.words())
    }
}

/// A number of seconds in words: `45 s`, `5 min`, `4 min 30 s`.
fn duration(secs: u32) -> String {
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s} s"),
        (m, 0) => format!("{m} min"),
        (m, s) => format!("{m} min {s} s"),
    }
}

/// The demo's streams: each one's state, and the events recently shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Streams {
    pub events: Status,
    pub requests: Status,
    /// The latest Particle events shown (name and data), newest last.
    recent: Vec<(String, String)>,
}

impl Streams {
    pub fn get(&self, feed: Feed) -> &Status {
        match feed {
            Feed::Events => &self.events,
            Feed::Requests => &self.requests,
        }
    }

    pub fn set(&mut self, feed: Feed, status: Status) {
        match feed {
            Feed::Events => self.events = status,
            Feed::Requests => self.requests = status,
        }
    }

    /// Whether the Particle event `name` with `data` is new: not one of the latest shown. The
    /// data holds the event's time (to the millisecond) and device, so two real events are never
    /// the same.
    pub fn first_time(&mut self, name: &str, data: &str) -> bool {
        if self.recent.iter().any(|(n, d)| n == name && d == data) {
            return false;
        }
        if self.recent.len() == RECENT {
            self.recent.remove(0);
        }
        self.recent.push((name.to_owned(), data.to_owned()));
        true
    }
}

/// How long to wait before reopening a stream, over a run of reopenings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    next_ms: u32,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            next_ms: FIRST_RETRY_MS,
        }
    }
}

impl Backoff {
    /// The wait before reopening a stream that stopped as `ended` after staying open `lived_ms`
    /// (0: it never opened); `random` in `[0, 1)` spreads the wait.
    pub fn wait_ms(&mut self, ended: &Ended, lived_ms: u32, random: f64) -> u32 {
        if lived_ms >= HEALTHY_MS {
            self.next_ms = FIRST_RETRY_MS;
        }
        if let Ended::Refused { retry_after_secs } = ended {
            // Never earlier than asked: the spread only adds (up to a tenth). The next failure
            // waits the longest backoff.
            self.next_ms = LAST_RETRY_MS;
            let wait = retry_after_secs
                .map_or(REFUSED_MS, |secs| secs.saturating_mul(1000))
                .clamp(FIRST_RETRY_MS, LONGEST_REFUSAL_MS);
            return wait + (f64::from(wait) * 0.1 * random) as u32;
        }
        let base = self.next_ms;
        self.next_ms = base.saturating_mul(2).min(LAST_RETRY_MS);
        (f64::from(base) * (0.75 + 0.5 * random)) as u32
    }
}

#[cfg(test)]
mod tests;
