//! One relay session: its bounded event log, how it answers hooks, and the hooks waiting for the page.
//!
//! The log is the only buffer. Streams pull from it at their own pace (a stalled reader costs
//! nothing beyond the log's bound), and a reconnecting page resumes from any id still in it. The
//! mutex is a plain `std` one: it is held for a few pointer moves and never across an `.await`.

use std::{
    borrow::Cow,
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use bytes::Bytes;
use serde::Serialize;
use tokio::{
    sync::{Notify, futures::Notified, oneshot},
    time::Instant,
};
use webhook_demo_core::wire::PageAnswer;

use crate::Limits;

/// How a session answers hooks, as set by `POST control/{session}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Answer {
    /// The `Authorization` value hooks must carry; `None` accepts any.
    pub authorization: Option<String>,
    pub status: u16,
    pub content_type: Cow<'static, str>,
    /// The default body; `None` means `{"ok":true,"hookId":N}`.
    pub body: Option<String>,
    #[serde(rename = "delayMs", serialize_with = "millis")]
    pub delay: Duration,
    pub page_answers: bool,
    #[serde(rename = "deadlineMs", serialize_with = "millis")]
    pub deadline: Duration,
}

fn millis<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}

/// What a stream gets when it asks for events after an id.
pub(crate) struct Batch {
    /// Events evicted before this reader saw them: `(count, first id still available)`.
    pub dropped: Option<(u64, u64)>,
    /// Ready-to-send SSE frames, concatenated.
    pub frames: Bytes,
    /// The id of the last event in `frames` (or the reader's position when there are none).
    pub last_id: u64,
}

/// Kept small: a closed stream's session stays resumable until it expires, so the relay holds
/// thousands of them (hence the shared `Limits`, the one `Notify` rather than a channel).
pub struct Session {
    pub(crate) id: Arc<str>,
    limits: Arc<Limits>,
    inner: Mutex<Inner>,
    /// Woken on every append; streams wait on it.
    appended: Notify,
}

struct Inner {
    next_event_id: u64,
    next_hook_id: u64,
    log: VecDeque<(u64, Bytes)>,
    log_bytes: usize,
    answer: Answer,
    waiting: HashMap<u64, oneshot::Sender<PageAnswer>>,
    /// Token bucket for the hook rate: tokens available as of `refilled`.
    tokens: f64,
    refilled: Instant,
    attached: usize,
    idle_since: Instant,
}

impl Session {
    pub(crate) fn new(id: Arc<str>, limits: Arc<Limits>, now: Instant) -> Session {
        let answer = Answer {
            authorization: None,
            status: 200,
            content_type: Cow::Borrowed("application/json"),
            body: None,
            delay: Duration::ZERO,
            page_answers: false,
            deadline: limits.default_deadline,
        };
        let inner = Inner {
            next_event_id: 1,
            next_hook_id: 1,
            log: VecDeque::new(),
            log_bytes: 0,
            answer,
            waiting: HashMap::new(),
            tokens: f64::from(limits.hook_burst),
            refilled: now,
            attached: 0,
            idle_since: now,
        };
        Session {
            id,
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

    /// Appends an event to the log, evicting the oldest beyond the bounds, and wakes the streams.
    pub(crate) fn append(&self, event: &str, data: &impl Serialize) -> u64 {
        let json = serde_json::to_string(data).expect("relay events serialize");
        let mut inner = self.lock();
        let id = inner.next_event_id;
        inner.next_event_id += 1;
        let frame = Bytes::from(format!("id: {id}\nevent: {event}\ndata: {json}\n\n"));
        inner.log_bytes += frame.len();
        inner.log.push_back((id, frame));
        while inner.log.len() > 1
            && (inner.log.len() > self.limits.max_events
                || inner.log_bytes > self.limits.max_buffer_bytes)
        {
            if let Some((_, evicted)) = inner.log.pop_front() {
                inner.log_bytes -= evicted.len();
            }
        }
        drop(inner);
        self.appended.notify_waiters();
        id
    }

    /// Events after `after`, at most `max` of them.
    pub(crate) fn read_after(&self, after: u64, max: usize) -> Batch {
        let inner = self.lock();
        let oldest = inner.log.front().map_or(inner.next_event_id, |(id, _)| *id);
        let dropped = (after + 1 < oldest).then(|| (oldest - after - 1, oldest));
        let start = after.max(oldest.saturating_sub(1));
        let skip = usize::try_from((start + 1).saturating_sub(oldest)).unwrap_or(usize::MAX);
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
        }
    }

    /// Completes at the next append after it is enabled (`Notified::enable`) or first polled;
    /// enable it before `read_after` and no append is missed.
    pub(crate) fn appended(&self) -> Notified<'_> {
        self.appended.notified()
    }

    /// Marks a stream as attached until the returned guard is dropped.
    pub(crate) fn attach(self: &Arc<Self>) -> Attached {
        self.lock().attached += 1;
        Attached(Arc::clone(self))
    }

    /// True when no stream is attached and none has been for `limits.idle_expiry`.
    pub(crate) fn expired(&self, now: Instant) -> bool {
        let inner = self.lock();
        inner.attached == 0 && now.duration_since(inner.idle_since) >= self.limits.idle_expiry
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
        Ok((hook_id, inner.answer.clone()))
    }

    pub(crate) fn answer(&self) -> Answer {
        self.lock().answer.clone()
    }

    pub(crate) fn set_answer(&self, answer: Answer) {
        self.lock().answer = answer;
    }

    /// Registers a hook as waiting for the page; the receiver gets the page's answer.
    pub(crate) fn wait_for_page(self: &Arc<Self>, hook_id: u64) -> Waiting {
        let (sender, receiver) = oneshot::channel();
        self.lock().waiting.insert(hook_id, sender);
        Waiting {
            session: Arc::clone(self),
            hook_id,
            receiver: Some(receiver),
        }
    }

    /// Hands the page's answer to a waiting hook; false when it is not waiting (any more).
    pub(crate) fn answer_from_page(&self, hook_id: u64, answer: PageAnswer) -> bool {
        let sender = self.lock().waiting.remove(&hook_id);
        sender.is_some_and(|sender| sender.send(answer).is_ok())
    }
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
    receiver: Option<oneshot::Receiver<PageAnswer>>,
}

impl Waiting {
    /// The page's answer, or `None` when `deadline` passes first.
    pub(crate) async fn answer(mut self, deadline: Duration) -> Option<PageAnswer> {
        let receiver = self.receiver.take()?;
        tokio::time::timeout(deadline, receiver)
            .await
            .ok()
            .and_then(Result::ok)
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.session.lock().waiting.remove(&self.hook_id);
    }
}
