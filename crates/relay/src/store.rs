//! Where sessions live. The handlers open a session and find one by its id or by its hook token,
//! then work through `SessionRef`. Two stores exist, a closed set: `MemoryStore` keeps sessions in
//! this process (a learner's laptop, one instance) and `RedisStore` keeps everything a session is
//! in Redis, so any number of instances behind a load balancer serve any session. An enum rather
//! than a trait object: the memory store's calls stay direct (no boxed future per call), which is
//! what keeps its latency where the benches hold it.
use std::{sync::Arc, time::Duration};

use tokio::{sync::futures::Notified, time::Instant};
use webhook_demo_core::wire::PageAnswer;

pub use crate::redis_store::RedisStore;
use crate::{
    admission::{Admission, Refused, StoreError},
    client::Client,
    error::RelayError,
    memory_store::MemoryStore,
    redis_store::{self, RedisSession},
    session::{self, Answer, Batch, Event, Session, Waiting, response_event_size},
    share::Reservation,
};

/// The store behind a relay (`--store`).
pub enum Store {
    Memory(MemoryStore),
    Redis(RedisStore),
}

impl Store {
    /// A new session with a fresh 128-bit random id and a distinct 128-bit random hook token.
    pub(crate) async fn open(&self, client: Client, now: Instant) -> Result<SessionRef, Refused> {
        match self {
            Store::Memory(store) => store
                .open(client, now)
                .map(SessionRef::Memory)
                .map_err(Refused::Open),
            Store::Redis(store) => store.open(client, now).await.map(SessionRef::Redis),
        }
    }

    /// The live session with this id; `None` when it never existed or has expired.
    pub(crate) async fn find(
        &self,
        id: &str,
        now: Instant,
    ) -> Result<Option<SessionRef>, StoreError> {
        match self {
            Store::Memory(store) => Ok(store.find(id, now).map(SessionRef::Memory)),
            Store::Redis(store) => Ok(store.find(id, now).await?.map(SessionRef::Redis)),
        }
    }

    /// Wakes every stream of this instance, to look at what changed (the relay closing).
    pub(crate) fn wake_all(&self) {
        match self {
            Store::Memory(store) => store.wake_all(),
            Store::Redis(store) => store.wake_all(),
        }
    }

    /// Sessions held and the bytes they keep, for the metrics.
    pub(crate) async fn stats(&self) -> Result<(usize, usize), StoreError> {
        match self {
            Store::Memory(store) => Ok((store.len(), store.bytes())),
            Store::Redis(store) => store.stats().await,
        }
    }

    /// The live session whose hook URL carries this token and, with `admit`, the hook admitted
    /// under its rate limit (with Redis, both in one round trip).
    pub(crate) async fn admit_hook(
        &self,
        token: &str,
        now: Instant,
        admit: bool,
    ) -> Result<Option<(SessionRef, Option<Admission>)>, StoreError> {
        match self {
            Store::Memory(store) => Ok(store.find_hook(token, now).map(|session| {
                let admission = admit.then(|| session.admit_hook(now));
                (SessionRef::Memory(session), admission)
            })),
            Store::Redis(store) => Ok(store
                .admit_hook(token, now, admit)
                .await?
                .map(|(session, admission)| (SessionRef::Redis(session), admission))),
        }
    }
}

/// A session found in a store. The memory variant is the session itself; the Redis one is this
/// instance's handle on a session that lives in Redis.
#[derive(Clone)]
pub(crate) enum SessionRef {
    Memory(Arc<Session>),
    Redis(Arc<RedisSession>),
}

impl SessionRef {
    pub(crate) fn id(&self) -> &str {
        match self {
            SessionRef::Memory(session) => session.id(),
            SessionRef::Redis(session) => session.id(),
        }
    }

    pub(crate) fn hook_token(&self) -> &str {
        match self {
            SessionRef::Memory(session) => session.hook_token(),
            SessionRef::Redis(session) => session.hook_token(),
        }
    }

    /// The id of the newest event appended (0 before the first).
    pub(crate) async fn newest_id(&self) -> Result<u64, StoreError> {
        match self {
            SessionRef::Memory(session) => Ok(session.newest_id()),
            SessionRef::Redis(session) => session.newest_id().await,
        }
    }

    /// Events after `after`, at most `max` of them.
    pub(crate) async fn read_after(&self, after: u64, max: usize) -> Result<Batch, StoreError> {
        match self {
            SessionRef::Memory(session) => Ok(session.read_after(after, max)),
            // Boxed: every idle stream's future has room for this await's, and the Redis read's
            // is far larger than the memory store's nothing.
            SessionRef::Redis(session) => Box::pin(session.read_after(after, max)).await,
        }
    }

    /// Completes at the next append after it is enabled; enable it before `read_after`.
    pub(crate) fn appended(&self) -> Notified<'_> {
        match self {
            SessionRef::Memory(session) => session.appended(),
            SessionRef::Redis(session) => session.appended(),
        }
    }

    /// Marks a stream as attached until the returned guard is dropped.
    pub(crate) async fn attach(&self) -> Result<Attached, StoreError> {
        match self {
            SessionRef::Memory(session) => Ok(Attached::Memory {
                _hold: session.attach(),
            }),
            SessionRef::Redis(session) => {
                let hold = session.attach().await?;
                Ok(Attached::Redis { _hold: hold })
            }
        }
    }

    pub(crate) async fn answer(&self) -> Result<Answer, StoreError> {
        match self {
            SessionRef::Memory(session) => Ok(session.answer()),
            SessionRef::Redis(session) => session.answer().await,
        }
    }

    /// Sets the answer, its bytes charged to the budget first.
    pub(crate) async fn set_answer(&self, answer: Answer) -> Result<(), RelayError> {
        match self {
            SessionRef::Memory(session) => {
                let reserved = session
                    .reserve(answer.heap_bytes())
                    .ok_or(RelayError::MemoryFull)?;
                session.set_answer(answer, reserved);
                Ok(())
            }
            SessionRef::Redis(session) => session.set_answer(answer).await,
        }
    }

    /// Logs a hook, with the bytes of its answer (at most `response_size`) reserved so the answer
    /// is always logged too; with `wait`, the hook is registered as waiting for the page before
    /// the page can see it, so an instant answer is never missed.
    pub(crate) async fn log_hook(
        &self,
        hook_id: u64,
        hook: Event,
        response_size: usize,
        wait: bool,
    ) -> Result<Pending, RelayError> {
        match self {
            SessionRef::Memory(session) => {
                let reserve = |bytes| session.reserve(bytes).ok_or(RelayError::MemoryFull);
                let hook_bytes = reserve(hook.size())?;
                let response_bytes = reserve(response_size)?;
                let waiting = wait.then(|| session.wait_for_page(hook_id));
                session.append(hook, hook_bytes);
                Ok(Pending::Memory {
                    session: Arc::clone(session),
                    response_bytes,
                    waiting,
                })
            }
            SessionRef::Redis(session) => session
                .log_hook(hook_id, hook, response_size, wait)
                .await
                .map(Pending::Redis),
        }
    }

    /// Logs a hook answered at once (no page to wait for, no delay) and its answer together.
    pub(crate) async fn log_answered(
        &self,
        hook: Event,
        response: Event,
    ) -> Result<(), RelayError> {
        match self {
            SessionRef::Memory(session) => {
                let reserve = |bytes| session.reserve(bytes).ok_or(RelayError::MemoryFull);
                let hook_bytes = reserve(hook.size())?;
                let response_bytes = reserve(response.size())?;
                session.append(hook, hook_bytes);
                session.append(response, response_bytes);
                Ok(())
            }
            SessionRef::Redis(session) => session.log_answered(hook, response).await,
        }
    }

    /// Hands the page's answer to a waiting hook (on whichever instance holds it); false when it
    /// is not waiting (any more).
    pub(crate) async fn answer_from_page(
        &self,
        hook_id: u64,
        answer: PageAnswer,
    ) -> Result<bool, RelayError> {
        match self {
            SessionRef::Memory(session) => {
                // The hook logs this answer; its bytes are reserved now, so a full relay refuses
                // it here and the hook gets the default answer it reserved for when it arrived.
                let reserved = session
                    .reserve(response_event_size(&answer.content_type, &answer.body))
                    .ok_or(RelayError::MemoryFull)?;
                Ok(session.answer_from_page(hook_id, answer, reserved))
            }
            SessionRef::Redis(session) => session.answer_from_page(hook_id, answer).await,
        }
    }
}

/// A stream's hold on its session; dropping it starts the idle clock.
pub(crate) enum Attached {
    Memory { _hold: session::Attached },
    Redis { _hold: redis_store::Attached },
}

/// A hook that was logged and is still to be answered.
pub(crate) enum Pending {
    Memory {
        session: Arc<Session>,
        response_bytes: Reservation,
        waiting: Option<Waiting>,
    },
    Redis(redis_store::Pending),
}

impl Pending {
    /// The page's answer, or `None` when `deadline` passes first (or the hook does not wait).
    pub(crate) async fn page_answer(&mut self, deadline: Duration) -> Option<PageAnswer> {
        match self {
            Pending::Memory {
                response_bytes,
                waiting,
                ..
            } => {
                let (answer, reserved) = waiting.take()?.answer(deadline).await?;
                *response_bytes = reserved;
                Some(answer)
            }
            Pending::Redis(pending) => pending.page_answer(deadline).await,
        }
    }

    /// Logs the answer the hook got.
    pub(crate) async fn finish(self, response: Event) -> Result<(), StoreError> {
        match self {
            Pending::Memory {
                session,
                response_bytes,
                ..
            } => {
                session.append(response, response_bytes);
                Ok(())
            }
            Pending::Redis(pending) => pending.finish(response).await,
        }
    }
}
