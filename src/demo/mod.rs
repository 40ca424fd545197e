//! The live demo, as pure state: a run (Start to Stop), the relay or smee.io channel it reads, the
//! webhook the page creates, the in-page server's answer, the data table's columns, and the run's
//! bounded history of requests, answers and events.
//!
//! Streams deliver their events as `Msg`s tagged with the run they belong to (every Start begins a
//! new run); its update (`update/demo.rs`) ignores anything from another run, so a stopped stream
//! that still delivers never duplicates a row. Table rows and explainer entries leave as
//! `Effect`s: the browser layer appends them, so a table is never re-rendered whole.
//! `webhook.rs` is the integration and its preview, `explain.rs` what each event becomes in the
//! explainer and the event log, `timeline.rs` the run's cycles, `requests.rs` replaying, copying
//! and exporting requests.

pub mod answer;
/// How the webhook's secret is shown until the learner reveals it, wherever it appears: the
/// webhook's settings, the requests' headers, `curl` and "edit and resend".
pub const SECRET_MASK: &str = "••••••••";

pub mod explain;
pub mod forward;
pub mod journey;
pub mod requests;
pub mod stream_state;
pub mod timeline;
pub mod webhook;

use serde_json::Value;
use webhook_demo_core::wire::{HookRequest, HookResponse, ParticleEvent, RelayStart};

use crate::failure::ApiFailure;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookState {
    /// The hook URL is not known yet.
    Waiting,
    Saving,
    /// The integration's id.
    Saved(String),
    Failed(String),
}

/// How the in-page webhook server answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// Empty: the relay's default, `{"ok":true,"hookId":N}` (`"ok":false` for an error status).
    pub body: String,
    /// Refuse (401) requests without the session's `Authorization` header.
    pub require_auth: bool,
    /// Wait this long before answering (at most 21 s: past Particle's 20 s only on purpose).
    pub delay_ms: u32,
    /// Expect a wrong `Authorization` value, so the webhook's own is refused (401).
    pub wrong_secret: bool,
    /// Answer an event's first attempt with 500 and its retries as set: the page answers each
    /// request itself (`answer::by_attempt`).
    pub fail_first: bool,
}

impl Default for Answer {
    fn default() -> Answer {
        Answer {
            status: 200,
            body: String::new(),
            require_auth: true,
            delay_ms: 0,
            wrong_secret: false,
            fail_first: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Demo {
    pub running: bool,
    /// Increases with every Start.
    pub run: u32,
    pub relay: Option<RelayStart>,
    /// The `Authorization` secret of this run: random, never hard-coded.
    pub secret: String,
    pub webhook: WebhookState,
    pub test_sent: Option<String>,
    pub test_error: Option<String>,
    /// What the relay said it lost while the page was away, in words.
    pub stream_error: Option<String>,
    /// Each stream's state, and the events it showed lately (`stream_state.rs`).
    pub streams: stream_state::Streams,
    /// The data table's columns, in first-seen order.
    pub columns: Vec<String>,
    pub answer: Answer,
    pub answer_error: Option<String>,
    /// What the learner looks at: the pinned cycle and slow motion.
    pub inspector: Inspector,
    /// Passing each request on to the learner's own server.
    pub forwarding: Forwarding,
    /// Why Start did nothing.
    pub start_error: Option<String>,
    /// The relay address the learner typed (empty: the hosting server's).
    pub relay_typed: String,
    /// The smee.io channel the learner chose (empty: a relay is used).
    pub smee_typed: String,
    /// Requests received from the smee.io channel in this run (smee numbers none).
    pub smee_count: u64,
    /// What the template preview shows: the last `WebhookDemo01` seen, or data the learner typed.
    pub preview: Option<ParticleEvent>,
    /// The event data the learner typed for the preview.
    pub preview_typed: String,
    pub timeline: crate::demo::timeline::Timeline,
    /// The run's requests, answers and events, for replay and export.
    pub history: History,
}

/// How the learner looks at the run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inspector {
    /// The cycle the learner picked in the request list (or froze with Pause); `None`: the
    /// explainer follows the newest cycle.
    pub pinned: Option<(String, String)>,
    /// Cycles that began since the view was pinned.
    pub unseen: u32,
    /// Slow motion: the in-page server waits `SLOW_MS`, and the diagram draws each hop in.
    pub slow: bool,
}

/// The learner's own server each request is passed on to (`forward.rs`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forwarding {
    /// The address requests go to, when set.
    pub to: Option<String>,
    /// The address typed in the forward field.
    pub typed: String,
    /// Why the last forward failed (the page answered itself), or a bad address.
    pub error: Option<String>,
}

/// A run's requests, answers and events, newest last, each list bounded by `KEPT`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    pub hooks: Vec<HookRequest>,
    pub responses: Vec<HookResponse>,
    pub events: Vec<ParticleEvent>,
    /// Events kept in the run so far, the dropped included: a change of it says `events`
    /// changed (what a reload keeps is written again only then).
    pub events_seen: u64,
}

/// How long the in-page server waits in slow motion, so each hop can be watched.
pub const SLOW_MS: u32 = 1500;

/// How many requests, answers and events a run keeps for replay and export.
pub const KEPT: usize = 500;

/// Appends to a bounded history.
pub fn keep<T>(list: &mut Vec<T>, item: T) {
    if list.len() == KEPT {
        list.remove(0);
    }
    list.push(item);
}

impl Default for Demo {
    fn default() -> Demo {
        Demo {
            running: false,
            run: 0,
            relay: None,
            secret: String::new(),
            webhook: WebhookState::Waiting,
            test_sent: None,
            test_error: None,
            stream_error: None,
            streams: stream_state::Streams::default(),
            columns: Vec::new(),
            answer: Answer::default(),
            answer_error: None,
            inspector: Inspector::default(),
            forwarding: Forwarding::default(),
            start_error: None,
            relay_typed: String::new(),
            smee_typed: String::new(),
            smee_count: 0,
            preview: None,
            preview_typed: String::new(),
            timeline: crate::demo::timeline::Timeline::default(),
            history: History::default(),
        }
    }
}

impl Demo {
    /// A stream message of run `run` belongs to the run that is going on, not to a stopped or
    /// earlier one.
    pub fn current(&self, run: u32) -> bool {
        self.running && run == self.run
    }

    /// A new run, going on, with its own secret; the data table's columns and the answer settings
    /// carry over from the run before.
    pub fn next_run(&mut self, secret: String) -> Demo {
        Demo {
            running: true,
            run: self.run + 1,
            secret,
            columns: std::mem::take(&mut self.columns),
            answer: self.answer.clone(),
            inspector: Inspector {
                slow: self.inspector.slow,
                ..Inspector::default()
            },
            forwarding: Forwarding {
                to: self.forwarding.to.clone(),
                typed: std::mem::take(&mut self.forwarding.typed),
                error: None,
            },
            ..Demo::default()
        }
    }

    /// The relay control body for this run's answer settings.
    pub fn control(&self) -> String {
        let control =
            webhook::control_body(&self.answer, &self.secret, self.forwarding.to.is_some());
        // Serializing these fields cannot fail; an error would need a map with non-string keys.
        serde_json::to_string(&control).unwrap_or_default()
    }

    /// The cycle the explainer and the diagram show: the pinned one, else the newest.
    pub fn shown(&self) -> Option<&crate::demo::timeline::Cycle> {
        match &self.inspector.pinned {
            Some(key) => self.timeline.find(key),
            None => self.timeline.cycles.last(),
        }
    }

    /// A data table row for a hook body: the columns it adds and the cells of every column.
    pub fn data_row(&mut self, body: &str) -> Option<Vec<String>> {
        let value: Value = serde_json::from_str(body).ok()?;
        let pairs = flatten(&value);
        for (key, _) in &pairs {
            if !self.columns.contains(key) {
                self.columns.push(key.clone());
            }
        }
        Some(
            self.columns
                .iter()
                .map(|column| {
                    pairs
                        .iter()
                        .find(|(key, _)| key == column)
                        .map(|(_, text)| text.clone())
                        .unwrap_or_default()
                })
                .collect(),
        )
    }
}

/// A JSON value flattened into `(key, text)` pairs: nested keys joined with `.` (`sensor.t`), array
/// elements as `key[i]`; `null` vanishes; strings keep their text, other leaves their JSON.
pub fn flatten(value: &Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
        match value {
            Value::Null => {}
            Value::Object(fields) => {
                for (key, value) in fields {
                    let key = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&key, value, out);
                }
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    walk(&format!("{prefix}[{index}]"), item, out);
                }
            }
            Value::String(text) => out.push((prefix.to_owned(), text.clone())),
            other => out.push((prefix.to_owned(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    walk("", value, &mut out);
    out
}

/// The events of the demo's request stream: the relay's (docs/relay-protocol.md), and the
/// requests a smee.io channel passes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayEvent {
    /// The session: its hook URL and control URL.
    Start,
    /// A request the hook URL received.
    Hook,
    /// What the relay answered to it.
    HookResponse,
    /// Requests the relay could not keep while the page was away.
    Dropped,
    /// A request from a smee.io channel, in smee's own shape.
    SmeeRequest,
}

impl RelayEvent {
    /// The relay event named `name`; `None` for any other name, which the page does not read.
    pub fn from_name(name: &str) -> Option<RelayEvent> {
        match name {
            "start" => Some(RelayEvent::Start),
            "hook" => Some(RelayEvent::Hook),
            "hookResponse" => Some(RelayEvent::HookResponse),
            "dropped" => Some(RelayEvent::Dropped),
            _ => None,
        }
    }
}

/// The live demo's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// Start the live demo, with a fresh random secret for the webhook's `Authorization` header.
    Start {
        secret: String,
        /// The relay the learner typed (a base URL ending in `/`), or empty for the hosting
        /// server's own.
        relay: String,
        /// A smee.io channel URL to use instead of a relay, or empty.
        smee: String,
    },
    /// A fresh smee.io channel was made up for the learner.
    SmeeChannel(String),
    Stop,
    /// An event of the relay stream (or smee.io channel) of run `run` (`data` is its JSON).
    RelayEvent {
        run: u32,
        event: RelayEvent,
        data: String,
    },
    /// An event of the product's event stream of run `run` (`data` is its JSON).
    ParticleEvent {
        run: u32,
        name: String,
        data: String,
    },
    /// A stream of run `run` is in a new state (down and reopened in n s, live again, …).
    Stream {
        run: u32,
        feed: stream_state::Feed,
        status: stream_state::Status,
    },
    /// The demo's webhook was created or updated: its integration id.
    WebhookSaved(Result<String, ApiFailure>),
    /// Publish a test event with this id.
    Test {
        id: u32,
    },
    /// The test event was published (its data), or why not.
    TestPublished(Result<String, ApiFailure>),
    /// Preview the webhook's body for this event data (as if published from this page).
    PreviewData(String),
    /// Publish this data as `WebhookDemo01`, to see the previewed body sent for real.
    PublishData(String),
    /// Particle's time for the cycle `key` of run `run` is up: a missing last hop failed.
    GiveUp {
        run: u32,
        key: (String, String),
    },
    /// Run `run` resumed after a reload: the events of Particle's stream the tab kept from
    /// before it (`resume.rs`), oldest first.
    Restore {
        run: u32,
        events: Vec<ParticleEvent>,
    },
    /// Long enough after run `run` resumed for whatever the cloud published while the page was
    /// away to be past: a cycle whose publish never came, or one from before the reload still
    /// unfinished, had hops then that the page cannot see.
    AwayOver {
        run: u32,
    },
    /// Send request `hook_id` to the hook URL again, marked as a replay.
    Replay(u64),
    /// Make the in-page server answer like this.
    ApplyAnswer(Answer),
    /// Answer as this preset says, at once.
    Preset(answer::Preset),
    /// Show this cycle (a row of the request list) and stay on it.
    SelectCycle((String, String)),
    /// Pause the view on the cycle shown, or (paused) follow the newest again.
    TogglePause,
    /// Send request `hook_id` again with these headers (`Name: value` lines) and body.
    ReplayEdited {
        hook_id: u64,
        headers: String,
        body: String,
    },
    /// Copy this text to the clipboard.
    Copy(String),
    /// Slow motion: the in-page server waits 1.5 s, and the diagram draws hop by hop.
    SlowMotion(bool),
    /// Pass each request on to this address (empty: stop forwarding).
    ApplyForward(String),
    /// The learner's server answered request `hook_id` with this status, or could not be
    /// reached (the page answered itself).
    Forwarded {
        hook_id: u64,
        result: Result<u16, String>,
    },
    AnswerApplied(Result<(), String>),
    /// Offer the run as one JSON document to download.
    Export,
}

impl Msg {
    /// The failure this message carries, when it is an answer of the cloud that failed.
    pub fn failure(&self) -> Option<&ApiFailure> {
        match self {
            Msg::WebhookSaved(Err(failure)) | Msg::TestPublished(Err(failure)) => Some(failure),
            Msg::WebhookSaved(Ok(_))
            | Msg::TestPublished(Ok(_))
            | Msg::Start { .. }
            | Msg::SmeeChannel(_)
            | Msg::Stop
            | Msg::RelayEvent { .. }
            | Msg::ParticleEvent { .. }
            | Msg::Stream { .. }
            | Msg::Test { .. }
            | Msg::PreviewData(_)
            | Msg::PublishData(_)
            | Msg::GiveUp { .. }
            | Msg::Restore { .. }
            | Msg::AwayOver { .. }
            | Msg::Replay(_)
            | Msg::ApplyAnswer(_)
            | Msg::Preset(_)
            | Msg::SelectCycle(_)
            | Msg::TogglePause
            | Msg::ReplayEdited { .. }
            | Msg::Copy(_)
            | Msg::SlowMotion(_)
            | Msg::ApplyForward(_)
            | Msg::Forwarded { .. }
            | Msg::AnswerApplied(_)
            | Msg::Export => None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
