//! One relay session: its bounded event log, how it answers hooks, and the hooks waiting for the page.
//!
//! The log is the only buffer. Streams pull from it at their own pace (a stalled reader costs
//! nothing beyond the log's bound), and a reconnecting page resumes from any id still in it. The
//! mutex is a plain `std` one: it is held for a few pointer moves and never across an `.await`.
//!
//! Every byte a session keeps (its log as stored, JSON-escaped; its answer) is charged to the
//! store's `Budget`, so the bound holds across sessions and not only per session: a body of control
//! characters grows sixfold when escaped, and many sessions full of them would otherwise add up to
//! far more than the machine has.

use std::{
    borrow::Cow,
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::Duration,
};

use std::fmt::Write;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::{
    sync::{Notify, futures::Notified, oneshot},
    time::Instant,
};
use webhook_demo_core::wire::PageAnswer;

use crate::{
    Limits,
    client::Client,
    share::{Account, Reservation},
};

/// How a session answers hooks, as set by `POST control/{session}`. Read back from JSON by the
/// Redis store, which keeps it as the page sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Answer {
    /// The `Authorization` value hooks must carry; `None` accepts any.
    pub authorization: Option<String>,
    pub status: u16,
    pub content_type: Cow<'static, str>,
    /// The default body; `None` means `{"ok":true,"hookId":N}`.
    pub body: Option<String>,
    #[serde(
        rename = "delayMs",
        serialize_with = "millis",
        deserialize_with = "from_millis"
    )]
    pub delay: Duration,
    pub page_answers: bool,
    #[serde(
        rename = "deadlineMs",
        serialize_with = "millis",
        deserialize_with = "from_millis"
    )]
    pub deadline: Duration,
}

impl Answer {
    /// The bytes this answer keeps beyond its fixed size, charged to the budget.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.authorization.as_ref().map_or(0, String::len)
            + self.content_type.len()
            + self.body.as_ref().map_or(0, String::len)
    }
}

fn millis<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

fn from_millis<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    u64::deserialize(deserializer).map(Duration::from_millis)
}

impl Answer {
    /// What a new session answers.
    pub(crate) fn initial(limits: &Limits) -> Answer {
        Answer {
            authorization: None,
            status: 200,
            content_type: Cow::Borrowed("application/json"),
            body: None,
            delay: Duration::ZERO,
            page_answers: false,
            deadline: limits.default_deadline,
        }
    }
}

/// An event serialized and ready to be logged; its id is given when it is appended.
pub(crate) struct Event {
    pub(crate) name: &'static str,
    pub(crate) json: String,
}

/// The frame's bytes besides the name and the data, with room for the longest id.
const FRAME_OVERHEAD: usize = "id: \nevent: \ndata: \n\n".len() + 20;
/// What keeping a frame costs beyond its bytes: its slot in the log (id and `Bytes`), the
/// `Bytes`' shared header and the allocator's own header. Charged with every event, so a log of
/// many small events is counted as what it takes, not only as its text.
pub(crate) const EVENT_OVERHEAD: usize = 24 + 32 + 16;

impl Event {
    pub(crate) fn new(name: &'static str, data: &impl Serialize) -> Event {
        let json = serde_json::to_string(data).expect("relay events serialize");
        Event { name, json }
    }

    /// The most the event takes in the log once framed: what to reserve before appending it.
    pub(crate) fn size(&self) -> usize {
        self.name.len() + self.json.len() + FRAME_OVERHEAD + EVENT_OVERHEAD
    }
}

/// The most a `hookResponse` event with this content type and body takes in the log, counted
/// without serializing the body into memory: a hook reserves it before it is answered.
pub(crate) fn response_event_size(content_type: &str, body: &str) -> usize {
    // Everything but the two strings: names, punctuation, the longest numbers and source.
    const FIXED: usize =
        r#"{"hookId":,"statusCode":,"contentType":,"body":,"respondedAt":,"source":"timeout"}"#
            .len()
            + 20
            + 3
            + 20;
    "hookResponse".len()
        + FRAME_OVERHEAD
        + EVENT_OVERHEAD
        + FIXED
        + json_len(content_type)
        + json_len(body)
}

/// The length of `text` as a JSON string, escapes included.
fn json_len(text: &str) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, text).expect("a string serializes");
    count.0
}

/// What a stream gets when it asks for events after an id.
pub(crate) struct Batch {
    /// Events evicted before this reader saw them: `(count, first id still available)`.
    pub dropped: Option<(u64, u64)>,
    /// Ready-to-send SSE frames, concatenated.
    pub frames: Bytes,
    /// The id of the last event in `frames` (or the reader's position when there are none).
    pub last_id: u64,
    /// The session was ended (its slot given to another); nothing more will come.
    pub ended: bool,
}

/// Kept small: a closed stream's session stays resumable until it expires, so the relay holds
/// thousands of them (hence the shared `Limits`, the one `Notify` rather than a channel).
pub struct Session {
    /// The secret id (streams, control and respond) and then the public token in the hook URL
    /// (which opens nothing but the hook), 32 hex digits each, kept inline: two shared strings
    /// would cost two allocations per session.
    ids: [u8; 64],
    /// Who opened the session: its bytes are charged to this account, its client's.
    pub(crate) account: Arc<Account>,
    limits: Arc<Limits>,
    inner: Mutex<Inner>,
    /// Woken on every append; streams wait on it.
    appended: Notify,
}

struct Inner {
    next_event_id: u64,
    next_hook_id: u64,
    log: VecDeque<(u64, Bytes)>,
    /// The log's bytes, held against the budget.
    log_bytes: Reservation,
    /// `None` until the page sets one: most sessions keep the initial answer, and thousands of
    /// idle sessions need not each hold a copy of it.
    answer: Option<Box<Answer>>,
    /// The answer's bytes, held against the budget.
    answer_bytes: Reservation,
    /// Hooks waiting for the page: a few at a time, so a list (an idle session's is empty and
    /// costs three words, a map's six).
    waiting: Vec<(u64, oneshot::Sender<(PageAnswer, Reservation)>)>,
    /// Token bucket for the hook rate: tokens available as of `refilled`.
    tokens: f64,
    refilled: Instant,
    attached: usize,
    /// A stream has been attached before (the one that opened the session).
    was_attached: bool,
    /// The session received a hook or a page came back to it: it keeps the long idle expiry.
    in_use: bool,
    /// Ended to make room for others: streams end, and nothing more is logged.
    ended: bool,
    idle_since: Instant,
}

impl Session {
    pub(crate) fn new(
        (id, hook_token): (&str, &str),
        account: Arc<Account>,
        limits: Arc<Limits>,
        now: Instant,
    ) -> Session {
        let inner = Inner {
            next_event_id: 1,
            next_hook_id: 1,
            log: VecDeque::new(),
            log_bytes: account.empty(),
            answer: None,
            answer_bytes: account.empty(),
            waiting: Vec::new(),
            tokens: f64::from(limits.hook_burst),
            refilled: now,
            attached: 0,
            was_attached: false,
            in_use: false,
            ended: false,
            idle_since: now,
        };
        let mut ids = [0; 64];
        ids[..32].copy_from_slice(id.as_bytes());
        ids[32..].copy_from_slice(hook_token.as_bytes());
        Session {
            ids,
            account,
            limits,
            inner: Mutex::new(inner),
            appended: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the log half-written (every update is a few
        // field assignments), so a poisoned lock is still safe to use.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn id(&self) -> &str {
        std::str::from_utf8(&self.ids[..32]).expect("ids are hex")
    }

    pub(crate) fn hook_token(&self) -> &str {
        std::str::from_utf8(&self.ids[32..]).expect("ids are hex")
    }

    /// The session's keys in the store's maps.
    pub(crate) fn keys(&self) -> (u128, u128) {
        let key = |text| id_key(text).expect("ids are hex");
        (key(self.id()), key(self.hook_token()))
    }

    pub(crate) fn client(&self) -> Client {
        self.account.client
    }

    /// Takes `bytes` from the client's share, its network's and the store's. When one is
    /// reached, room is made as `memory_store::make_room` decides (the holder's own oldest events, or
    /// a larger holder's); `None` when none can be.
    pub(crate) fn reserve(&self, bytes: usize) -> Option<Reservation> {
        // Each round evicts what the reservation lacks, so a second round is the common worst
        // case; the bound only keeps concurrent reservations from chasing each other forever.
        for _ in 0..8 {
            match self.account.try_reserve(bytes) {
                Ok(reservation) => return Some(reservation),
                Err(over) => {
                    let room = self.account.budget().sessions.upgrade()?;
                    if !room.make_room(&self.account, over, bytes) {
                        return None;
                    }
                }
            }
        }
        None
    }

    /// Appends an event to the log, its bytes taken over from `reservation` (made for
    /// `event.size()`), evicts the oldest beyond the bounds, and wakes the streams.
    pub(crate) fn append(&self, event: Event, mut reservation: Reservation) -> u64 {
        let mut inner = self.lock();
        let id = inner.next_event_id;
        inner.next_event_id += 1;
        // Built at its exact size: a frame grown by `format!` keeps up to twice its length
        // allocated, which the budget would not see.
        let mut frame = String::with_capacity(event.size() - EVENT_OVERHEAD);
        let _ = write!(frame, "id: {id}\nevent: {}\ndata: ", event.name);
        frame.push_str(&event.json);
        frame.push_str("\n\n");
        let frame = Bytes::from(frame.into_bytes().into_boxed_slice());
        reservation.resize(frame.len() + EVENT_OVERHEAD);
        inner.log_bytes.absorb(reservation);
        inner.log.push_back((id, frame));
        while inner.log.len() > 1
            && (inner.log.len() > self.limits.max_events
                || inner.log_bytes.bytes() > self.limits.max_buffer_bytes)
        {
            inner.evict_oldest();
        }
        drop(inner);
        self.appended.notify_waiters();
        id
    }

    /// Evicts the oldest events (the newest too if need be) until `wanted` bytes are freed or
    /// the log is empty; returns the bytes freed. Readers are told what they missed.
    pub(crate) fn evict(&self, wanted: usize) -> usize {
        let mut inner = self.lock();
        let mut freed = 0;
        while freed < wanted {
            let Some(bytes) = inner.evict_oldest() else {
                break;
            };
            freed += bytes;
        }
        freed
    }

    /// The bytes the log holds.
    pub(crate) fn log_bytes(&self) -> usize {
        self.lock().log_bytes.bytes()
    }

    /// How willingly the session gives up its slot, least first: one that never received a
    /// hook and has no stream, one that never received a hook, one without a stream, then the
    /// rest; among equals the one idle longest.
    pub(crate) fn keep_rank(&self) -> (bool, bool, Instant) {
        let inner = self.lock();
        (inner.in_use, inner.attached > 0, inner.idle_since)
    }

    /// Wakes the session's streams without an append.
    pub(crate) fn wake(&self) {
        self.appended.notify_waiters();
    }

    /// Ends the session to give its slot to another: its streams end, its events are freed.
    pub(crate) fn end(&self) {
        let mut inner = self.lock();
        inner.ended = true;
        while inner.evict_oldest().is_some() {}
        inner.answer_bytes.resize(0);
        drop(inner);
        self.appended.notify_waiters();
    }

    /// The id of the newest event appended (0 before the first).
    pub(crate) fn newest_id(&self) -> u64 {
        self.lock().next_event_id - 1
    }

    /// Events after `after`, at most `max` of them.
    pub(crate) fn read_after(&self, after: u64, max: usize) -> Batch {
        let inner = self.lock();
        // Ids start at 1, so `oldest - 1` is the id before the oldest kept; no arithmetic on
        // `after` itself, which the page chooses.
        let oldest = inner.log.front().map_or(inner.next_event_id, |(id, _)| *id);
        let dropped = (after < oldest - 1).then(|| (oldest - 1 - after, oldest));
        let start = after.max(oldest - 1);
        let skip = usize::try_from(start - (oldest - 1)).unwrap_or(usize::MAX);
        let mut frames = Vec::new();
        let mut last_id = start;
        for (id, frame) in inner.log.iter().skip(skip).take(max) {
            frames.extend_from_slice(frame);
            last_id = *id;
        }
        Batch {
            dropped,
            frames: Bytes::from(frames),
            last_id,
            ended: inner.ended,
        }
    }

    /// Completes at the next append after it is enabled (`Notified::enable`) or first polled;
    /// enable it before `read_after` and no append is missed.
    pub(crate) fn appended(&self) -> Notified<'_> {
        self.appended.notified()
    }

    /// Marks a stream as attached until the returned guard is dropped.
    pub(crate) fn attach(self: &Arc<Self>) -> Attached {
        let mut inner = self.lock();
        inner.attached += 1;
        // A page coming back to its session is using it; the first stream proves nothing.
        inner.in_use |= inner.was_attached;
        inner.was_attached = true;
        drop(inner);
        Attached(Arc::clone(self))
    }

    /// True when no stream is attached and none has been for `limits.idle_expiry`, or for
    /// `limits.unused_expiry` when the session never received a hook and no page came back to it:
    /// such a session is most likely a tab closed early or a client holding slots.
    pub(crate) fn expired(&self, now: Instant) -> bool {
        let inner = self.lock();
        let expiry = if inner.in_use {
            self.limits.idle_expiry
        } else {
            self.limits.unused_expiry.min(self.limits.idle_expiry)
        };
        inner.attached == 0 && now.duration_since(inner.idle_since) >= expiry
    }

    /// Admits a hook under the rate limit and gives it an id and the answer settings to use.
    pub(crate) fn admit_hook(&self, now: Instant) -> Result<(u64, Answer), Duration> {
        let mut inner = self.lock();
        let rate = f64::from(self.limits.hooks_per_second);
        if rate > 0.0 {
            let elapsed = now.duration_since(inner.refilled).as_secs_f64();
            inner.tokens =
                (inner.tokens + elapsed * rate).min(f64::from(self.limits.hook_burst.max(1)));
            inner.refilled = now;
            if inner.tokens < 1.0 {
                return Err(Duration::from_secs_f64((1.0 - inner.tokens) / rate));
            }
            inner.tokens -= 1.0;
        }
        let hook_id = inner.next_hook_id;
        inner.next_hook_id += 1;
        inner.in_use = true;
        Ok((hook_id, self.current_answer(&inner)))
    }

    pub(crate) fn answer(&self) -> Answer {
        self.current_answer(&self.lock())
    }

    fn current_answer(&self, inner: &Inner) -> Answer {
        inner
            .answer
            .as_deref()
            .cloned()
            .unwrap_or_else(|| Answer::initial(&self.limits))
    }

    /// Sets the answer, its bytes held by `reservation` (made for `answer.heap_bytes()`).
    pub(crate) fn set_answer(&self, answer: Answer, reservation: Reservation) {
        let mut inner = self.lock();
        inner.answer = Some(Box::new(answer));
        inner.answer_bytes = reservation;
    }

    /// Registers a hook as waiting for the page; the receiver gets the page's answer.
    pub(crate) fn wait_for_page(self: &Arc<Self>, hook_id: u64) -> Waiting {
        let (sender, receiver) = oneshot::channel();
        self.lock().waiting.push((hook_id, sender));
        Waiting {
            session: Arc::clone(self),
            hook_id,
            receiver: Some(receiver),
        }
    }

    /// Hands the page's answer, with the bytes reserved for logging it, to a waiting hook; false
    /// when it is not waiting (any more).
    pub(crate) fn answer_from_page(
        &self,
        hook_id: u64,
        answer: PageAnswer,
        reservation: Reservation,
    ) -> bool {
        let sender = self.lock().take_waiting(hook_id);
        sender.is_some_and(|sender| sender.send((answer, reservation)).is_ok())
    }
}

impl Inner {
    fn take_waiting(&mut self, hook_id: u64) -> Option<oneshot::Sender<(PageAnswer, Reservation)>> {
        let at = self.waiting.iter().position(|(id, _)| *id == hook_id)?;
        Some(self.waiting.swap_remove(at).1)
    }

    /// Evicts the oldest event; its bytes, or `None` when the log is empty.
    fn evict_oldest(&mut self) -> Option<usize> {
        let (_, evicted) = self.log.pop_front()?;
        let bytes = evicted.len() + EVENT_OVERHEAD;
        let left = self.log_bytes.bytes() - bytes;
        self.log_bytes.resize(left);
        Some(bytes)
    }
}

/// An id or hook token as the store's maps key it: exactly 32 lower-case hex digits (what
/// `random_id` makes), so no other spelling of the same number finds a session.
pub(crate) fn id_key(text: &str) -> Option<u128> {
    let hex = text.len() == 32
        && text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte));
    hex.then(|| u128::from_str_radix(text, 16).ok()).flatten()
}

/// A stream's hold on its session; releasing it starts the idle clock.
pub(crate) struct Attached(Arc<Session>);

impl Drop for Attached {
    fn drop(&mut self) {
        let mut inner = self.0.lock();
        inner.attached -= 1;
        inner.idle_since = Instant::now();
    }
}

/// A hook waiting for the page's answer; dropping it (answered, timed out or the sender hung up)
/// forgets the wait.
pub(crate) struct Waiting {
    session: Arc<Session>,
    hook_id: u64,
    receiver: Option<oneshot::Receiver<(PageAnswer, Reservation)>>,
}

impl Waiting {
    /// The page's answer and the bytes reserved for logging it, or `None` when `deadline` passes
    /// first.
    pub(crate) async fn answer(mut self, deadline: Duration) -> Option<(PageAnswer, Reservation)> {
        let receiver = self.receiver.take()?;
        tokio::time::timeout(deadline, receiver)
            .await
            .ok()
            .and_then(Result::ok)
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.session.lock().take_waiting(self.hook_id);
    }
}

/// 128 random bits from the operating system, as 32 hex digits.
pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
    bytes
        .iter()
        .fold(String::with_capacity(32), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}
