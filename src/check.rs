//! "Check your server": a fixed list of requests the page sends to the learner's own webhook
//! server, shaped as the demo's webhook sends them, and what each answer says about how that
//! server will fare when Particle's cloud calls it.
//!
//! The page sends the probes itself, straight to the address the learner typed (the same path
//! forwarding takes: the server must allow the page's origin, as the starter servers do), one
//! after another, never following a redirect. This module holds the check's state, its
//! messages, the probes (`probes`); `check/grade.rs` turns the answers into the six rows the
//! panel shows, `check/report.rs` the text a learner keeps, `check/view.rs` what the template
//! sees. All of it is plain Rust, tested natively.

pub mod grade;
pub mod report;
pub mod view;

use webhook_demo_core::{time::iso8601_millis, wire::ParticleEvent};

use crate::demo::webhook::{EVENT_NAME, preview};

/// Particle's cloud gives up on a webhook after this long; so does each probe.
pub const LIMIT_MS: u32 = webhook_demo_core::webhook::TIMEOUT_SECS as u32 * 1000;

/// The device the probes name when no device is picked: 24 hex digits, as an id has.
pub const NO_DEVICE: &str = "000000000000000000000000";

/// The event data of a well-formed probe, as the demo firmware publishes it.
pub const DATA: &str = r#"{"temp":21.5,"hum":40}"#;

/// The check's part of the state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Check {
    /// What the learner typed in `#checkServerUrl` (empty: the forward address is offered).
    pub typed: String,
    /// The run going on or shown: messages of another run are ignored.
    pub run: u32,
    /// The probes of the run: the target they were sent to and each one's outcome so far.
    pub target: Option<Target>,
    pub outcomes: Vec<Option<Outcome>>,
    /// Why the check could not start, in words.
    pub error: Option<String>,
}

impl Check {
    pub fn running(&self) -> bool {
        self.target.is_some() && self.outcomes.iter().any(Option::is_none)
    }

    pub fn done(&self) -> bool {
        self.target.is_some() && !self.running()
    }
}

/// Whom the probes go to and what they carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    /// The demo's webhook secret, sent as `Authorization: Bearer …` as the webhook does.
    pub secret: String,
    pub device_id: String,
    /// When the check started (ms since the epoch): each probe's `published_at` is made from it.
    pub started_ms: u64,
}

/// One request of the check, in the order sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The webhook's request, exactly: the same headers and the body of its template.
    Answers,
    NoSecret,
    WrongSecret,
    /// The first request again, as the cloud's retry sends it.
    Repeat,
    /// `GET` on the same address: the starter servers list the events they handled.
    Records,
    EmptyData,
    NonJson,
    LongValue,
}

impl Probe {
    pub const ALL: [Probe; 8] = [
        Probe::Answers,
        Probe::NoSecret,
        Probe::WrongSecret,
        Probe::Repeat,
        Probe::Records,
        Probe::EmptyData,
        Probe::NonJson,
        Probe::LongValue,
    ];

    /// Its place in a run's outcomes.
    pub fn index(self) -> usize {
        Probe::ALL
            .iter()
            .position(|&p| p == self)
            .unwrap_or_default()
    }

    /// The event data it publishes: Particle passes whatever a device sent.
    fn data(self) -> String {
        match self {
            Probe::EmptyData => String::new(),
            Probe::NonJson => "on, 21.5 C".to_owned(),
            // A JSON string of exactly 1,000 bytes, near Particle's 1,024-byte limit.
            Probe::LongValue => format!("\"{}\"", "x".repeat(998)),
            Probe::Answers
            | Probe::NoSecret
            | Probe::WrongSecret
            | Probe::Repeat
            | Probe::Records => DATA.to_owned(),
        }
    }

    /// The `published_at` it carries: the repeat carries the first probe's, as a retry does; every
    /// other probe is an event of its own.
    pub fn published_at(self, target: &Target) -> String {
        let offset = match self {
            Probe::Answers | Probe::Repeat | Probe::Records => 0,
            Probe::NoSecret => 1,
            Probe::WrongSecret => 2,
            Probe::EmptyData => 3,
            Probe::NonJson => 4,
            Probe::LongValue => 5,
        };
        iso8601_millis(target.started_ms + offset)
    }

    /// The request it sends to `target`.
    pub fn request(self, target: &Target) -> Request {
        let authorization = match self {
            Probe::NoSecret => None,
            Probe::WrongSecret => Some("Bearer not-the-secret".to_owned()),
            _ => Some(format!("Bearer {}", target.secret)),
        };
        let mut headers = Vec::new();
        if self != Probe::Records {
            headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
        }
        headers.extend(authorization.map(|value| ("Authorization".to_owned(), value)));
        let body = (self != Probe::Records).then(|| {
            let event = ParticleEvent {
                name: EVENT_NAME.to_owned(),
                data: self.data(),
                published_at: self.published_at(target),
                coreid: target.device_id.clone(),
            };
            preview(&event).0
        });
        Request {
            method: if self == Probe::Records {
                "GET"
            } else {
                "POST"
            },
            url: target.url.clone(),
            headers,
            body,
        }
    }
}

/// A probe's request, as the browser layer sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// What came of one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An answer: its status, how long it took, and its body (at most `MAX_BODY` bytes kept).
    Answered { status: u16, ms: u32, body: String },
    /// A 3xx: the page does not follow it, and neither does Particle's cloud.
    Redirected,
    /// No answer within `LIMIT_MS`.
    TimedOut,
    /// No answer at all: why, as the browser says it.
    Failed(String),
}

/// How much of an answer's body is kept: the most the cloud publishes as `hook-response`
/// chunks, and one byte more to tell that it was cut.
pub const MAX_BODY: usize = webhook_demo_core::webhook::MAX_RESPONSE_BYTES + 1;

/// The check's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// Check was pressed with this address typed, at `now_ms`.
    Run {
        url: String,
        now_ms: u64,
    },
    /// Probe number `index` of run `run` came back.
    Probed {
        run: u32,
        index: usize,
        outcome: Outcome,
    },
    CopyReport,
    DownloadReport,
}

/// The address to check, or why not, in words: the learner's own typing, checked as forwarding
/// checks it. Nothing else is ever sent to.
pub fn check_url(typed: &str) -> Result<String, String> {
    match crate::demo::forward::check(typed)? {
        Some(url) => Ok(url),
        None => Err(
            "Type your server's address, e.g. http://localhost:3000/webhook, then press Check."
                .to_owned(),
        ),
    }
}

#[cfg(test)]
mod tests;
