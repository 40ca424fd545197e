//! The cycles of a run: for each `WebhookDemo01` event, its publish and each attempt the cloud
//! made to deliver it — hook-sent, request received, response sent, hook-response or hook-error —
//! with the explainer card of each of its slots.
//!
//! The hops reach the page on two streams (Particle's events, the relay's requests), in any order:
//! the request can overtake its event, and Particle's `hook-response` can overtake the relay's
//! request. Each card therefore goes into its cycle's fixed `Slot`, never after whatever came
//! before it. How a cycle is drawn and listed is `journey.rs`.
//!
//! Particle tries a failed or skipped delivery again, twice (after 30 s and 1 minute), with the
//! same event: every attempt's request carries the same body, so the body's `deviceId` and `ts`
//! (the event's device and `published_at`) name the cycle, and the relay's hook id names the
//! attempt. Which attempt a hop belongs to is read from the state of the cycle's attempts rather
//! than counted, so a late stream cannot shift every later hop by one: a request goes to the
//! first attempt without one that reached a server, `hook-sent` to the first not yet sent, an
//! outcome to the first still open (one in flight before one not sent yet).

use webhook_demo_core::time::parse_iso8601_millis;

use super::explain::{Entry, EntryKind};

/// Cycles kept (the newest), for the request list and the delivery log.
pub const CYCLES: usize = 50;
/// The device part of the key of a request that is not the demo's (a curl of the learner's own):
/// `("request", "#<hook id>")`.
pub const HAND_MADE: &str = "request";
/// How long Particle waits for a webhook server; a cycle without its last hop by then failed.
pub const GIVE_UP_MS: u64 = 20_000;
/// Why a cycle failed when no outcome came in `GIVE_UP_MS`.
const GAVE_UP: &str = "no answer within 20 s: Particle gave up";
/// How many times Particle tries to deliver one event: the first attempt and two retries.
pub const ATTEMPTS: usize = 3;
/// The attempts a cycle keeps (a replayed request is an attempt of its own).
const KEPT_ATTEMPTS: usize = 12;

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

/// One attempt of the cloud to deliver a cycle's event (or a request this page replayed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attempt {
    /// Milliseconds since the epoch of each hop of the attempt, once it happened: hook-sent,
    /// request, response, outcome (`journey::HOPS` after the publish).
    pub at: [Option<u64>; 4],
    /// The relay's id of this attempt's request, to match its response.
    pub hook_id: Option<u64>,
    /// Sent again by this page (Replay, edit and resend), not by the cloud: no cloud event
    /// belongs to it, and it is not counted among the cloud's attempts.
    pub replay: bool,
    /// The last hop failed: Particle's error text, or why it never came.
    pub failure: Option<String>,
    /// When the cloud published the `hook-error`, if it said.
    pub failed_at: Option<u64>,
    /// What the in-page server answered: status and body size.
    pub answer: Option<(u16, usize)>,
    /// `hook-response` chunks received.
    pub chunks: u32,
    /// The explainer card of each `Slot` after the event's, once its hop arrived.
    pub cards: [Option<Entry>; 5],
}

/// The hops of an attempt, as indices of `Attempt::at`.
pub const SENT: usize = 0;
pub const REQUEST: usize = 1;
pub const RESPONSE: usize = 2;
pub const OUTCOME: usize = 3;

impl Attempt {
    /// Whether the attempt is over: its hook-response came, or it failed.
    pub fn done(&self) -> bool {
        self.at[OUTCOME].is_some() || self.failure.is_some()
    }

    /// Whether the attempt delivered the event: the cloud published its hook-response.
    pub fn succeeded(&self) -> bool {
        self.at[OUTCOME].is_some() && self.failure.is_none()
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
        let (answered, failed) = self.at[RESPONSE].zip(self.failed_at)?;
        (self.late() && answered >= failed).then(|| answered - failed)
    }

    /// Whether the failure says no request reached a server: the cloud skipped it (throttled)
    /// or could not connect.
    fn unreached(&self) -> bool {
        self.failure.as_deref().is_some_and(|reason| {
            reason.starts_with("Sleeping")
                || reason.contains("ECONNREFUSED")
                || reason.contains("ENOTFOUND")
        })
    }

    /// The card in `slot` (never `Slot::Event`, which is the cycle's).
    pub fn card(&self, slot: Slot) -> Option<&Entry> {
        slot.index()
            .checked_sub(1)
            .and_then(|index| self.cards[index].as_ref())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    /// The publishing device (or `api`) and the event's `published_at`.
    pub key: (String, String),
    /// The device's name, when known.
    pub device: String,
    /// When the event was published (milliseconds since the epoch), once seen.
    pub published: Option<u64>,
    /// The event's card.
    pub event: Option<Entry>,
    /// The attempts to deliver it, in order; never empty.
    pub attempts: Vec<Attempt>,
    /// When the page first heard of the cycle (ms since the epoch): its publish, or its first
    /// request's arrival; the timeline keeps its cycles in this order.
    pub since: Option<u64>,
    /// The cycle began before the page reloaded; its events came back from the tab's keeping
    /// (`resume.rs`).
    pub restored: bool,
    /// This page was away (reloading) for part of the cycle: what Particle's event stream
    /// published meanwhile never reached it, as the stream does not replay what a page missed.
    /// The publish and the first `away` attempts may have missed hops; attempts after them (a
    /// retry that came later) were watched live. 0: the page saw the whole cycle.
    pub away: usize,
}

impl Cycle {
    fn new(key: (String, String)) -> Cycle {
        Cycle {
            device: key.0.clone(),
            key,
            published: None,
            event: None,
            attempts: vec![Attempt::default()],
            since: None,
            restored: false,
            away: 0,
        }
    }

    /// The page was away when the cloud published what it lacks of this cycle: after a
    /// reload, once the cloud's wait is over, one from before the reload still unfinished, or
    /// one whose publish never came (a request made up by hand has none to come).
    pub fn mark_away(&mut self) {
        let made_by_hand = self.key.0 == HAND_MADE;
        if self.published.is_none() && !made_by_hand || self.restored && !self.finished() {
            self.away = self.attempts.len();
        }
    }

    /// Whether a missing hop of attempt `index` (`None`: the publish) is one the page was away
    /// for.
    pub fn away_for(&self, index: Option<usize>) -> bool {
        index.map_or(self.away > 0, |index| index < self.away)
    }

    /// The newest attempt: the one the explainer shows.
    pub fn latest(&self) -> &Attempt {
        self.attempts.last().expect("a cycle has an attempt")
    }

    /// The attempt a delivery's outcome is read from: the cloud's newest, else the newest.
    pub fn delivery(&self) -> &Attempt {
        self.attempts
            .iter()
            .rev()
            .find(|a| !a.replay)
            .unwrap_or_else(|| self.latest())
    }

    /// The number of the cloud's attempt `index` (1 for the first), or `None` for a replay.
    pub fn number(&self, index: usize) -> Option<usize> {
        let attempt = self.attempts.get(index)?;
        (!attempt.replay).then(|| self.attempts[..=index].iter().filter(|a| !a.replay).count())
    }

    /// The cloud's attempts so far.
    pub fn cloud_attempts(&self) -> usize {
        self.attempts.iter().filter(|a| !a.replay).count()
    }

    /// Whether the event was delivered: one of the cloud's attempts got its hook-response.
    pub fn delivered(&self) -> bool {
        self.attempts.iter().any(|a| !a.replay && a.succeeded())
    }

    /// Whether the cloud will try again: its last attempt failed (not the page's giving up, which
    /// is a guess), the event was not delivered and it has tries left.
    pub fn retry_due(&self) -> bool {
        let last = self.attempts.iter().rev().find(|a| !a.replay);
        self.published.is_some()
            && !self.delivered()
            && self.cloud_attempts() < ATTEMPTS
            && last.is_some_and(|a| a.failure.as_deref().is_some_and(|f| f != GAVE_UP))
    }

    /// Whether every attempt has happened (or the last failed) and no retry is due.
    pub fn finished(&self) -> bool {
        self.latest().done() && !self.retry_due()
    }

    /// The cards of the shown attempt, in slot order: the event's, then the newest attempt's.
    pub fn cards(&self) -> [Option<&Entry>; 6] {
        Slot::ALL.map(|slot| match slot {
            Slot::Event => self.event.as_ref(),
            slot => self.latest().card(slot),
        })
    }

    /// Puts `entry` in `slot` of attempt `attempt` (the event's slot is the cycle's).
    pub fn card(&mut self, slot: Slot, attempt: usize, entry: Entry) {
        match slot.index().checked_sub(1) {
            None => self.event = Some(entry),
            Some(index) => {
                if let Some(attempt) = self.attempts.get_mut(attempt) {
                    attempt.cards[index] = Some(entry);
                }
            }
        }
    }

    /// The index of the cloud's attempt that the first of `wanted` picks, in order of
    /// preference: each says whether an attempt fits. None fits: a new attempt, when a retry is
    /// due.
    fn pick(&mut self, wanted: &[&dyn Fn(&Attempt) -> bool]) -> Option<usize> {
        for fits in wanted {
            if let Some(index) = self.attempts.iter().position(|a| !a.replay && fits(a)) {
                return Some(index);
            }
        }
        self.retry_due().then(|| self.push(false))
    }

    /// A new attempt at the end; the oldest give way beyond `KEPT_ATTEMPTS`.
    fn push(&mut self, replay: bool) -> usize {
        if self.attempts.len() == KEPT_ATTEMPTS {
            self.attempts.remove(usize::from(self.attempts[0].replay));
        }
        self.attempts.push(Attempt {
            replay,
            ..Attempt::default()
        });
        self.attempts.len() - 1
    }

    /// The attempt `hook-sent` belongs to: the first not yet sent and still open.
    fn sent_attempt(&mut self) -> Option<usize> {
        if self.published.is_none() || self.delivered() {
            return None;
        }
        self.pick(&[&|a| a.at[SENT].is_none() && !a.done()])
    }

    /// Whether `hook-sent` would start this cycle's first attempt (rather than a retry).
    fn fresh(&self) -> bool {
        self.attempts
            .iter()
            .filter(|a| !a.replay)
            .all(|a| a.at[SENT].is_none() && !a.done())
    }

    /// The attempt an outcome belongs to: the first open one in flight, else the first open one,
    /// else (a skip, which sends nothing) a retry.
    fn outcome_attempt(&mut self) -> Option<usize> {
        if self.published.is_none() || self.delivered() {
            return None;
        }
        let guessed = |a: &Attempt| a.failure.as_deref() == Some(GAVE_UP);
        self.pick(&[
            &|a| guessed(a) || (a.at[SENT].is_some() && !a.done()),
            &|a| !a.done(),
        ])
    }

    /// How readily an outcome belongs to this cycle now, lower first: 0 an attempt in flight
    /// (sent, or given up on by this page only), 1 an attempt not sent yet, 2 a retry due (a
    /// skipped retry sends nothing before its `hook-error`); `None` it cannot.
    fn openness(&self) -> Option<u8> {
        if self.published.is_none() || self.delivered() {
            return None;
        }
        let cloud = || self.attempts.iter().filter(|a| !a.replay);
        let guessed = |a: &Attempt| a.failure.as_deref() == Some(GAVE_UP);
        let level = if cloud().any(|a| guessed(a) || (a.at[SENT].is_some() && !a.done())) {
            Some(0)
        } else if cloud().any(|a| !a.done()) {
            Some(1)
        } else {
            self.retry_due().then_some(2)
        };
        // A cycle from before a reload may have had its outcome while the page was away: any
        // cycle followed live takes an outcome first.
        level.map(|level| if self.restored { level + 3 } else { level })
    }
}

/// The cycles of the run, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timeline {
    pub cycles: Vec<Cycle>,
}

/// A cycle's key and one of its attempts: where a hop goes.
pub type Spot = ((String, String), usize);

impl Timeline {
    /// The cycle for `key`, made (and the oldest dropped) when it is new.
    pub fn cycle(&mut self, key: &(String, String)) -> &mut Cycle {
        self.cycle_since(key, None)
    }

    /// The cycle for `key`, made when it is new as first heard of at `since` (ms since the
    /// epoch: its publish, or its first request's arrival). Cycles stay in that order, so one
    /// whose news comes late (a relay replaying a run after a reload) takes its place rather than
    /// the newest's; one made without a time goes last.
    fn cycle_since(&mut self, key: &(String, String), since: Option<u64>) -> &mut Cycle {
        if let Some(index) = self.cycles.iter().position(|c| &c.key == key) {
            return &mut self.cycles[index];
        }
        if self.cycles.len() == CYCLES {
            self.cycles.remove(0);
        }
        let later = |time: u64| move |c: &Cycle| c.since.is_some_and(|other| other > time);
        let index = since
            .and_then(|time| self.cycles.iter().position(later(time)))
            .unwrap_or(self.cycles.len());
        let cycle = Cycle {
            since,
            ..Cycle::new(key.clone())
        };
        self.cycles.insert(index, cycle);
        &mut self.cycles[index]
    }

    /// Whether a request of cycle `key` that arrived at `received_at` has a place: a cycle
    /// kept, or a new one no older than every cycle of a full timeline (a relay replaying a long
    /// run after a reload sends its oldest requests first, which must not push out the cycles
    /// the page saw).
    pub fn admits(&self, key: &(String, String), received_at: u64) -> bool {
        if self.cycles.len() < CYCLES || self.find(key).is_some() {
            return true;
        }
        let oldest = self.cycles.iter().filter_map(|c| c.since).min();
        oldest.is_none_or(|oldest| received_at >= oldest)
    }

    pub fn find(&self, key: &(String, String)) -> Option<&Cycle> {
        self.cycles.iter().find(|c| &c.key == key)
    }

    /// The demo event was published. True when it starts a new cycle.
    pub fn published(&mut self, coreid: &str, published_at: &str) -> bool {
        let key = (coreid.to_owned(), published_at.to_owned());
        let new = !self.cycles.iter().any(|c| c.key == key);
        let at = parse_iso8601_millis(published_at);
        self.cycle_since(&key, at).published = at;
        new
    }

    /// The server received request `hook_id` of the cycle `key` (its body names the device and
    /// `ts`): the attempt it belongs to. The same request seen again (a stream that resumed) is
    /// the same attempt; a replay is an attempt of its own; otherwise it is the cloud's first
    /// attempt without a request that did not fail before reaching a server, or a new one.
    pub fn request(
        &mut self,
        key: &(String, String),
        hook_id: u64,
        received_at: u64,
        replay: bool,
    ) -> usize {
        let cycle = self.cycle_since(key, Some(received_at));
        let known = cycle
            .attempts
            .iter()
            .position(|a| a.hook_id == Some(hook_id));
        let index = known.unwrap_or_else(|| {
            // A replay takes an attempt nothing has happened in yet (a request made up by hand
            // has no cloud attempt), else comes after the others.
            let free = cycle.attempts.iter().position(|a| {
                if replay {
                    *a == Attempt::default()
                } else {
                    !a.replay && a.hook_id.is_none() && !a.unreached()
                }
            });
            free.unwrap_or_else(|| cycle.push(replay))
        });
        let attempt = &mut cycle.attempts[index];
        attempt.replay |= replay;
        attempt.at[REQUEST] = Some(received_at);
        attempt.hook_id = Some(hook_id);
        index
    }

    /// The server answered request `hook_id` with `status` and a body of `size` bytes: the
    /// attempt it answered.
    pub fn response(
        &mut self,
        hook_id: u64,
        responded_at: u64,
        status: u16,
        size: usize,
    ) -> Option<Spot> {
        self.cycles.iter_mut().rev().find_map(|cycle| {
            let index = cycle
                .attempts
                .iter()
                .position(|a| a.hook_id == Some(hook_id))?;
            let attempt = &mut cycle.attempts[index];
            attempt.at[RESPONSE] = Some(responded_at);
            attempt.answer = Some((status, size));
            Some((cycle.key.clone(), index))
        })
    }

    /// A webhook event (`hook-sent/…`, `<device>/hook-response/…/N`, `<device>/hook-error/…`):
    /// the cycle and attempt it belongs to, and whether it is a later part of a response.
    ///
    /// These come on Particle's stream after their event, so only a cycle whose event was seen
    /// can take them (a request made up by hand, which no event precedes, never does).
    /// `hook-sent` names no device: it goes to the oldest cycle whose first attempt is not sent
    /// yet (the cloud sends in publish order), else to the oldest one due a retry. Responses and
    /// errors name their device in the topic, so they go to that device's oldest open cycle; a
    /// later part of a response goes to the device's newest cycle that has its first part.
    pub fn webhook_event(
        &mut self,
        name: &str,
        data: &str,
        published_at: &str,
    ) -> Option<(Spot, bool)> {
        let at = parse_iso8601_millis(published_at);
        if name.starts_with("hook-sent") {
            let cycle = self.sent_cycle()?;
            let index = cycle.sent_attempt()?;
            cycle.attempts[index].at[SENT] = at;
            return Some(((cycle.key.clone(), index), false));
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
                .find(|c| c.key.0 == device && c.delivered())?;
            let index = cycle.attempts.iter().rposition(Attempt::succeeded)?;
            cycle.attempts[index].chunks += 1;
            return Some(((cycle.key.clone(), index), true));
        }
        // The device's own cycles before any other's, each by how readily it takes an outcome,
        // the oldest first.
        let position = (0..self.cycles.len())
            .filter_map(|index| {
                let cycle = &self.cycles[index];
                let level = cycle.openness()?;
                Some(((cycle.key.0 != device, level), index))
            })
            .min()
            .map(|(_, index)| index)?;
        let cycle = &mut self.cycles[position];
        let index = cycle.outcome_attempt()?;
        let attempt = &mut cycle.attempts[index];
        if response {
            attempt.at[OUTCOME] = at;
            attempt.failure = None;
            attempt.chunks = 1;
        } else {
            attempt.failure = Some(data.to_owned());
            attempt.failed_at = at;
        }
        Some(((cycle.key.clone(), index), false))
    }

    /// The cycle a `hook-sent` goes to: the oldest whose first attempt is not sent yet, else the
    /// oldest due a retry (or whose retry's request came first); every cycle followed live
    /// before any from before a reload.
    fn sent_cycle(&mut self) -> Option<&mut Cycle> {
        // An attempt the page was away for was sent while it was away, if ever: only a retry
        // of that cycle is sent now.
        let fits = |c: &Cycle| {
            c.published.is_some()
                && !c.delivered()
                && (c.retry_due()
                    || c.attempts.iter().enumerate().any(|(index, a)| {
                        !a.replay && a.at[SENT].is_none() && !a.done() && !c.away_for(Some(index))
                    }))
        };
        // A cycle from before a reload comes after every cycle followed live.
        let index = [false, true]
            .into_iter()
            .flat_map(|restored| [(true, restored), (false, restored)])
            .find_map(|(fresh, restored)| {
                self.cycles
                    .iter()
                    .position(|c| fits(c) && c.restored == restored && (!fresh || c.fresh()))
            })?;
        Some(&mut self.cycles[index])
    }

    /// Particle's time for the cycle `key`'s first attempt is up: if it is still open, it failed.
    pub fn give_up(&mut self, key: &(String, String)) {
        if let Some(cycle) = self.cycles.iter_mut().find(|c| &c.key == key) {
            if let Some(first) = cycle.attempts.iter_mut().find(|a| !a.replay) {
                if !first.done() {
                    first.failure = Some(GAVE_UP.to_owned());
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
