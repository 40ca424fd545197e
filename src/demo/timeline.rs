//! The cycles of a run: for each `WebhookDemo01` event, when each hop happened — publish,
//! hook-sent, request received, response sent, hook-response or hook-error — and the explainer
//! card of each of its slots.
//!
//! The hops reach the page on two streams (Particle's events, the relay's requests), in any order:
//! the request can overtake its event, and Particle's `hook-response` can overtake the relay's
//! request. Each card therefore goes into its cycle's fixed `Slot`, never after whatever came
//! before it. How a cycle is drawn and listed is `journey.rs`.

use webhook_demo_core::time::parse_iso8601_millis;

use super::explain::{Entry, EntryKind};

/// Cycles kept (the newest), for the request list and the delivery log.
pub const CYCLES: usize = 50;
/// How long Particle waits for a webhook server; a cycle without its last hop by then failed.
pub const GIVE_UP_MS: u64 = 20_000;
/// Why a cycle failed when no outcome came in `GIVE_UP_MS`.
const GAVE_UP: &str = "no answer within 20 s: Particle gave up";

/// A cycle's place for each explainer card, in the order things happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// `event-api` or `event-device`.
    Event,
    HookSent,
    HookReceived,
    HookData,
    ServerResponse,
    /// `hook-response` or `hook-error`.
    Outcome,
}

impl Slot {
    pub const ALL: [Slot; 6] = [
        Slot::Event,
        Slot::HookSent,
        Slot::HookReceived,
        Slot::HookData,
        Slot::ServerResponse,
        Slot::Outcome,
    ];

    /// The slot an entry of `kind` goes in.
    pub fn of(kind: EntryKind) -> Slot {
        match kind {
            EntryKind::EventApi | EntryKind::EventDevice => Slot::Event,
            EntryKind::HookSent => Slot::HookSent,
            EntryKind::HookReceived => Slot::HookReceived,
            EntryKind::HookData => Slot::HookData,
            EntryKind::ServerResponse => Slot::ServerResponse,
            EntryKind::HookResponse | EntryKind::HookError => Slot::Outcome,
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// The slot's name in the page (`data-slot`, and the card's id `card-<name>`).
    pub fn name(self) -> &'static str {
        match self {
            Slot::Event => "event",
            Slot::HookSent => "hook-sent",
            Slot::HookReceived => "hook-received",
            Slot::HookData => "hook-data",
            Slot::ServerResponse => "server-response",
            Slot::Outcome => "outcome",
        }
    }

    /// What an empty slot tells the learner it is waiting for.
    pub fn waiting(self) -> &'static str {
        match self {
            Slot::Event => "Waiting for the event to reach this page's event stream…",
            Slot::HookSent => "Waiting for the cloud to send the webhook (hook-sent)…",
            Slot::HookReceived => "Waiting for the request to reach your webhook server…",
            Slot::HookData => "Waiting for the data your server receives…",
            Slot::ServerResponse => "Waiting for your server's answer…",
            Slot::Outcome => "Waiting for the cloud's hook-response or hook-error event…",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    /// The publishing device (or `api`) and the event's `published_at`.
    pub key: (String, String),
    /// The device's name, when known.
    pub device: String,
    /// Milliseconds since the epoch of each hop (`journey::HOPS` order), once it happened.
    pub at: [Option<u64>; 5],
    /// The relay's id of this cycle's request, to match its response.
    pub hook_id: Option<u64>,
    /// The last hop failed: Particle's error text, or why it never came.
    pub failure: Option<String>,
    /// When the cloud published the `hook-error`, if it said.
    pub failed_at: Option<u64>,
    /// What the in-page server answered: status and body size.
    pub answer: Option<(u16, usize)>,
    /// `hook-response` chunks received.
    pub chunks: u32,
    /// The explainer card of each `Slot`, once its hop arrived.
    pub cards: [Option<Entry>; 6],
}

impl Cycle {
    fn new(key: (String, String)) -> Cycle {
        Cycle {
            device: key.0.clone(),
            key,
            at: [None; 5],
            hook_id: None,
            failure: None,
            failed_at: None,
            answer: None,
            chunks: 0,
            cards: Default::default(),
        }
    }

    /// Whether every hop has happened (or the last failed).
    pub fn finished(&self) -> bool {
        self.at[4].is_some() || self.failure.is_some()
    }

    /// Whether the cloud stopped waiting for the server: its `hook-error` says the request timed
    /// out (`ETIMEDOUT`, `ESOCKETTIMEDOUT`), or no outcome came in Particle's 20 s.
    pub fn gave_up(&self) -> bool {
        self.failure
            .as_deref()
            .is_some_and(|reason| reason.contains("TIMEDOUT") || reason == GAVE_UP)
    }

    /// Whether the server's answer lost the race with the cloud's clock: it came after the cloud
    /// had stopped waiting, so the cloud never saw it, whichever stream brought it to this page
    /// first.
    pub fn late(&self) -> bool {
        self.answer.is_some() && self.gave_up()
    }

    /// How long after the cloud stopped waiting a late answer came, when both times are known.
    pub fn late_by_ms(&self) -> Option<u64> {
        let (answered, failed) = self.at[3].zip(self.failed_at)?;
        (self.late() && answered >= failed).then(|| answered - failed)
    }

    /// Puts `entry` in `slot`.
    pub fn card(&mut self, slot: Slot, entry: Entry) {
        self.cards[slot.index()] = Some(entry);
    }
}

/// The cycles of the run, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    pub cycles: Vec<Cycle>,
}

impl Timeline {
    /// The cycle for `key`, made (and the oldest dropped) when it is new.
    pub fn cycle(&mut self, key: &(String, String)) -> &mut Cycle {
        if let Some(index) = self.cycles.iter().position(|c| &c.key == key) {
            return &mut self.cycles[index];
        }
        if self.cycles.len() == CYCLES {
            self.cycles.remove(0);
        }
        self.cycles.push(Cycle::new(key.clone()));
        self.cycles.last_mut().expect("just pushed")
    }

    pub fn find(&self, key: &(String, String)) -> Option<&Cycle> {
        self.cycles.iter().find(|c| &c.key == key)
    }

    /// The demo event was published. True when it starts a new cycle.
    pub fn published(&mut self, coreid: &str, published_at: &str) -> bool {
        let key = (coreid.to_owned(), published_at.to_owned());
        let new = !self.cycles.iter().any(|c| c.key == key);
        self.cycle(&key).at[0] = parse_iso8601_millis(published_at);
        new
    }

    /// The server received the cycle's request (its body names the device and `ts`).
    pub fn request(&mut self, key: &(String, String), hook_id: u64, received_at: u64) {
        let cycle = self.cycle(key);
        cycle.at[2] = Some(received_at);
        cycle.hook_id = Some(hook_id);
    }

    /// The server answered request `hook_id` with `status` and a body of `size` bytes: the key
    /// of the cycle it answered.
    pub fn response(
        &mut self,
        hook_id: u64,
        responded_at: u64,
        status: u16,
        size: usize,
    ) -> Option<(String, String)> {
        let cycle = self
            .cycles
            .iter_mut()
            .rev()
            .find(|c| c.hook_id == Some(hook_id))?;
        cycle.at[3] = Some(responded_at);
        cycle.answer = Some((status, size));
        Some(cycle.key.clone())
    }

    /// A webhook event (`hook-sent/…`, `<device>/hook-response/…/N`, `<device>/hook-error/…`):
    /// the key of the cycle it belongs to and whether it is a later part of a response.
    ///
    /// These come on Particle's stream after their event, so only a cycle whose event was seen
    /// can take them (a request made up by hand, which no event precedes, never does).
    /// `hook-sent` names no device: it goes to the oldest unfinished cycle still without one
    /// (the cloud sends in publish order). Responses and errors name their device in the topic,
    /// so they go to that device's oldest unfinished cycle without an outcome; a later part of
    /// a response goes to the device's newest cycle that has its first part.
    pub fn webhook_event(
        &mut self,
        name: &str,
        data: &str,
        published_at: &str,
    ) -> Option<((String, String), bool)> {
        let at = parse_iso8601_millis(published_at);
        if name.starts_with("hook-sent") {
            let cycle = self
                .cycles
                .iter_mut()
                .find(|c| c.at[0].is_some() && c.at[1].is_none() && !c.finished())?;
            cycle.at[1] = at;
            return Some((cycle.key.clone(), false));
        }
        let (device, rest) = name.split_once('/')?;
        let response = rest.starts_with("hook-response");
        if !response && !rest.starts_with("hook-error") {
            return None;
        }
        if response && !rest.ends_with("/0") {
            let cycle = self
                .cycles
                .iter_mut()
                .rev()
                .find(|c| c.key.0 == device && c.at[4].is_some())?;
            cycle.chunks += 1;
            return Some((cycle.key.clone(), true));
        }
        let open = |c: &Cycle| c.at[0].is_some() && c.at[4].is_none() && c.failure.is_none();
        let index = self
            .cycles
            .iter()
            .position(|c| c.key.0 == device && open(c))
            .or_else(|| self.cycles.iter().position(open))?;
        let cycle = &mut self.cycles[index];
        if response {
            cycle.at[4] = at;
            cycle.chunks = 1;
        } else {
            cycle.failure = Some(data.to_owned());
            cycle.failed_at = at;
        }
        Some((cycle.key.clone(), false))
    }

    /// Particle's time for the cycle `key` is up: if it is still unfinished, it failed.
    pub fn give_up(&mut self, key: &(String, String)) {
        if let Some(cycle) = self.cycles.iter_mut().find(|c| &c.key == key) {
            if !cycle.finished() {
                cycle.failure = Some(GAVE_UP.to_owned());
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const AT: &str = "2026-11-28T10:00:00.100Z";

    fn key(device: &str, at: &str) -> (String, String) {
        (device.to_owned(), at.to_owned())
    }

    #[test]
    fn hops_find_their_cycle_whichever_stream_brings_them_first() {
        let mut timeline = Timeline::default();
        let ms = |text: &str| parse_iso8601_millis(text).expect("a time");
        // The request overtakes its event.
        timeline.request(&key("api", AT), 7, ms("2026-11-28T10:00:00.160Z"));
        assert!(!timeline.published("api", AT), "the request made the cycle");
        let sent = timeline.webhook_event("hook-sent/WebhookDemo01", "undefined", AT);
        assert_eq!(sent, Some((key("api", AT), false)));
        assert_eq!(
            timeline.response(7, ms("2026-11-28T10:00:00.170Z"), 200, 1300),
            Some(key("api", AT))
        );
        for (part, later) in [(0, false), (1, true), (2, true)] {
            let name = format!("api/hook-response/WebhookDemo01/{part}");
            assert_eq!(
                timeline.webhook_event(&name, "{}", AT),
                Some((key("api", AT), later))
            );
        }
        let cycle = &timeline.cycles[0];
        assert!(cycle.finished());
        assert_eq!((cycle.chunks, cycle.answer), (3, Some((200, 1300))));
    }

    #[test]
    fn a_request_without_an_event_takes_no_cloud_hop() {
        let mut timeline = Timeline::default();
        // A request sent by hand: its cycle never sees an event.
        timeline.request(&key("api", "2026-01-01T00:00:00.000Z"), 1, 1);
        timeline.published("api", AT);
        assert_eq!(
            timeline.webhook_event("hook-sent/WebhookDemo01", "undefined", AT),
            Some((key("api", AT), false))
        );
        assert_eq!(
            timeline.webhook_event("api/hook-error/WebhookDemo01/0", "error status 400", AT),
            Some((key("api", AT), false))
        );
        assert!(!timeline.cycles[0].finished());
    }

    #[test]
    fn interleaved_devices_keep_their_own_outcomes() {
        let mut timeline = Timeline::default();
        let (a, b) = ("2026-11-28T10:00:00.100Z", "2026-11-28T10:00:00.105Z");
        timeline.published("e00a", a);
        timeline.published("e00b", b);
        assert_eq!(
            timeline.webhook_event("hook-sent/WebhookDemo01", "undefined", a),
            Some((key("e00a", a), false))
        );
        assert_eq!(
            timeline.webhook_event("hook-sent/WebhookDemo01", "undefined", b),
            Some((key("e00b", b), false))
        );
        // The second device's answer comes first.
        assert_eq!(
            timeline.webhook_event("e00b/hook-error/WebhookDemo01/0", "error status 500", b),
            Some((key("e00b", b), false))
        );
        assert_eq!(
            timeline.webhook_event("e00a/hook-response/WebhookDemo01/0", "{}", a),
            Some((key("e00a", a), false))
        );
        assert!(timeline.cycles[0].at[4].is_some());
        assert_eq!(
            timeline.cycles[1].failure.as_deref(),
            Some("error status 500")
        );
    }

    #[test]
    fn silence_fails_the_last_hop_and_only_the_newest_cycles_are_kept() {
        let mut timeline = Timeline::default();
        let first = key("e00f", "2026-11-28T10:01:00.000Z");
        timeline.published(&first.0, &first.1);
        timeline.give_up(&first);
        assert_eq!(
            timeline.cycles[0].failure.as_deref(),
            Some("no answer within 20 s: Particle gave up")
        );
        for n in 0..(CYCLES + 3) {
            timeline.published(
                "api",
                &format!("2026-11-28T10:{:02}:{:02}.000Z", n / 60, n % 60),
            );
        }
        assert_eq!(timeline.cycles.len(), CYCLES);
        assert_eq!(timeline.cycles[0].key.1, "2026-11-28T10:00:03.000Z");
    }

    /// A cycle of the timeout preset (hook 3): published at `AT`, its request received 60 ms
    /// later; the cloud's `ETIMEDOUT` at 20 s and the server's answer at 21 s, brought in `order`.
    pub(crate) fn timed_out(order: [&str; 2]) -> Cycle {
        let mut timeline = Timeline::default();
        let ms = |text: &str| parse_iso8601_millis(text).expect("a time");
        timeline.published("api", AT);
        timeline.webhook_event("hook-sent/WebhookDemo01", "undefined", AT);
        timeline.request(&key("api", AT), 3, ms("2026-11-28T10:00:00.160Z"));
        for what in order {
            if what == "error" {
                timeline.webhook_event(
                    "api/hook-error/WebhookDemo01/0",
                    "ETIMEDOUT",
                    "2026-11-28T10:00:20.160Z",
                );
            } else {
                timeline.response(3, ms("2026-11-28T10:00:21.160Z"), 200, 12);
            }
        }
        timeline.cycles.remove(0)
    }

    #[test]
    fn an_answer_after_the_cloud_gave_up_is_late_whichever_stream_brings_it_first() {
        for order in [["error", "answer"], ["answer", "error"]] {
            let cycle = timed_out(order);
            assert!(cycle.gave_up(), "{order:?}");
            assert!(cycle.late(), "{order:?}");
            assert_eq!(cycle.late_by_ms(), Some(1000), "{order:?}");
            assert_eq!(cycle.at[4], None, "{order:?}: no hook-response came of it");
        }
    }

    #[test]
    fn an_answer_that_made_the_hook_error_is_not_late() {
        let mut timeline = Timeline::default();
        timeline.published("api", AT);
        timeline.request(&key("api", AT), 4, 1);
        timeline.response(4, 2, 400, 12);
        timeline.webhook_event("api/hook-error/WebhookDemo01/0", "error status 400", AT);
        let cycle = &timeline.cycles[0];
        assert!(!cycle.gave_up() && !cycle.late());
        // Silence past Particle's time is giving up, and an answer after it is late too.
        let silent = key("e00f", AT);
        timeline.published(&silent.0, &silent.1);
        timeline.request(&silent, 5, 1);
        timeline.give_up(&silent);
        timeline.response(5, 21_000, 200, 12);
        let cycle = timeline.find(&silent).expect("the cycle");
        assert!(cycle.late());
        assert_eq!(
            cycle.late_by_ms(),
            None,
            "the page's clock gave up, at no known time"
        );
    }
}
