//! Particle's event-stream wire format, and the one `text/event-stream` body every stream of the
//! sandbox is written with: its first bytes, then frames, the cloud's keepalive (a newline) after
//! each quiet interval, and the end when the sandbox closes.
//!
//! Particle limits event streams per public IP address (Cloud API reference, "Server-sent
//! events"): "a limit of 100 requests to open an SSE connection in each 5 minute period", past
//! which "you will get a 529 error and you must wait before retrying the connection or you will
//! never be able to successfully connect again", and "a limit of 100 simultaneous SSE
//! connections". `Clients` counts both per client address (`attempts::client`: IPv6 by its
//! /64). Every request to open counts, a refused one too: that is what makes retrying too soon
//! keep a client out, as Particle warns. The status beyond the simultaneous limit is not
//! documented; the sandbox answers 529 there as well.
//!
//! The keepalive: Particle's API reference tells clients to detect a dead stream by "the 60
//! second ping", without saying what it looks like. What the cloud sends is a newline: Particle's
//! own client (particle-api-js pull request 216, which set `this.timeout = 15000` in
//! `src/EventStream.ts`) says "Server sends a newline every 9-13 seconds", and Particle's old
//! self-hosted cloud (spark-server, `views/EventViews001.js`) wrote `"\n"` after 9 s without a
//! write. So the sandbox writes `\n` after each `Settings::keepalive` (9 s) of silence: it
//! keeps particle-api-js's 15 s idle timer from firing, and a reader that waits the documented
//! 60 s (the page, on the real cloud) hears it long before. A newline after a complete message
//! is an empty line with nothing to dispatch, so every SSE reader ignores it.
//!
//! `Silences` makes streams go quiet on purpose (`POST /_sim/streams/silence`): no keepalive,
//! and the events published meanwhile lost to them, as on a connection that stopped carrying
//! packets, so a client's detection of a stalled stream can be tried.

use std::{
    borrow::Cow,
    collections::{HashMap, VecDeque},
    convert::Infallible,
    sync::{Arc, PoisonError},
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use futures_util::stream;
use serde_json::json;
use tokio::{
    sync::{broadcast, watch},
    time::Instant,
};

use crate::{
    Common, Limits, Shared,
    attempts::Client,
    error::ApiError,
    events::{Event, Scope},
};

/// Client addresses remembered at once; beyond it, new addresses share the count of clients
/// without an address, so rotating addresses can neither grow the map nor escape the limits.
const CLIENTS: usize = 10_000;

/// Longest silence `_sim` may ask for: long enough to outlast any client's stall detection
/// (the documented ping plus a margin), short enough that a forgotten one ends by itself.
pub(crate) const MAX_SILENCE: Duration = Duration::from_secs(300);

/// Streams told to go silent until a moment: those opened by one user, or (`None`) every stream
/// of the world, among the streams open when it was asked. Each stream watches it, so a silence
/// reaches streams already open, and one opened later (a client reconnecting) is left alone.
#[derive(Debug)]
pub(crate) struct Silences(watch::Sender<Asked>);

/// The silences asked for, each numbered, with how many were ever asked.
#[derive(Debug, Default)]
struct Asked {
    count: u64,
    /// Whose streams, by the silence's number and its end.
    silences: HashMap<Option<String>, (u64, Instant)>,
}

impl Default for Silences {
    fn default() -> Silences {
        Silences(watch::Sender::new(Asked::default()))
    }
}

impl Silences {
    /// Silences the open streams of `user` (`None`: every stream of the world) until `until`; a
    /// moment already past ends their silence. Ended silences are forgotten, so the map holds at
    /// most one entry per user of the world.
    pub(crate) fn silence(&self, user: Option<String>, until: Instant) {
        let now = Instant::now();
        self.0.send_modify(|asked| {
            asked.count += 1;
            let number = asked.count;
            asked.silences.retain(|_, (_, end)| *end > now);
            if until > now {
                asked.silences.insert(user, (number, until));
            } else {
                asked.silences.remove(&user);
            }
        });
    }

    /// What a stream opened now by `user` watches.
    fn watch(&self, user: String) -> Silenced {
        let receiver = self.0.subscribe();
        let opened_after = receiver.borrow().count;
        Silenced {
            receiver,
            user: Some(user),
            opened_after,
        }
    }
}

/// A stream's view of the world's silences: whether it is silent now, and until when.
pub(crate) struct Silenced {
    receiver: watch::Receiver<Asked>,
    /// The user who opened the stream, as the silences are keyed.
    user: Option<String>,
    /// How many silences had been asked for when the stream opened: those reach it no more.
    opened_after: u64,
}

impl Silenced {
    fn until(&self, now: Instant) -> Option<Instant> {
        let asked = self.receiver.borrow();
        [asked.silences.get(&None), asked.silences.get(&self.user)]
            .into_iter()
            .flatten()
            .filter(|(number, end)| *number > self.opened_after && *end > now)
            .map(|(_, end)| *end)
            .max()
    }
}

/// Particle's status for too many streams: 529, which is no standard code.
fn too_many(description: String) -> ApiError {
    ApiError::new(
        StatusCode::from_u16(529).expect("529 is a valid status code"),
        "rate_limited",
        description,
    )
}

/// Event streams opened lately and open now, per client address.
#[derive(Debug, Default)]
pub(crate) struct Clients {
    clients: HashMap<Client, Opened>,
}

#[derive(Debug, Default)]
struct Opened {
    /// When the latest requests to open were made: at most the limit's worth, newest last.
    opens: VecDeque<Instant>,
    /// Streams open now.
    open: usize,
}

impl Clients {
    /// Counts a request from `client` to open a stream; the address to count the open stream
    /// against, or the refusal.
    fn open(&mut self, client: Client, limits: &Limits, now: Instant) -> Result<Client, ApiError> {
        let window = limits.stream_open_window;
        let recent = |opened: &Opened| {
            opened
                .opens
                .back()
                .is_some_and(|at| now.duration_since(*at) < window)
        };
        if !self.clients.contains_key(&client) && self.clients.len() >= CLIENTS {
            self.clients
                .retain(|_, opened| opened.open > 0 || recent(opened));
        }
        let client = if self.clients.contains_key(&client) || self.clients.len() < CLIENTS {
            client
        } else {
            None
        };
        let opened = self.clients.entry(client).or_default();
        while opened
            .opens
            .front()
            .is_some_and(|at| now.duration_since(*at) >= window)
        {
            opened.opens.pop_front();
        }
        let limit = limits.stream_opens_per_client;
        let over_rate = opened.opens.len() >= limit;
        opened.opens.push_back(now);
        while opened.opens.len() > limit {
            opened.opens.pop_front();
        }
        if over_rate {
            let oldest = opened.opens.front().copied().unwrap_or(now);
            let wait = window.saturating_sub(now.duration_since(oldest));
            return Err(too_many(format!(
                "Too many requests to open an event stream: at most {limit} every {} seconds \
                 from one address. Wait before trying again: every request counts.",
                window.as_secs()
            ))
            .retry_after(wait));
        }
        if opened.open >= limits.open_streams_per_client {
            return Err(too_many(format!(
                "Too many event streams open: at most {} at once from one address",
                limits.open_streams_per_client
            )));
        }
        opened.open += 1;
        Ok(client)
    }
}

/// An open stream, counted against its client address until it is dropped with the stream.
struct Held {
    common: Arc<Common>,
    client: Client,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut clients = self
            .common
            .streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(opened) = clients.clients.get_mut(&self.client) {
            opened.open = opened.open.saturating_sub(1);
        }
    }
}

/// An event as one SSE message in Particle's format. The API refuses names with line breaks, but
/// a name can come from elsewhere (a webhook's response topic rendered from event data), so the
/// `event:` line escapes them whatever the source; the `data:` line is JSON, which has none.
fn frame(event: &Event) -> Bytes {
    let data = json!({
        "data": event.data,
        "ttl": event.ttl,
        "published_at": event.published_at(),
        "coreid": event.coreid,
    });
    Bytes::from(format!(
        "event: {}\ndata: {data}\n\n",
        one_line(&event.name)
    ))
}

/// `text` for a one-line SSE field: CR and LF (each of which ends a line in SSE) written as `\r`
/// and `\n`, so nothing after them becomes a field of its own.
fn one_line(text: &str) -> Cow<'_, str> {
    if !text.contains(['\r', '\n']) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.replace('\r', "\\r").replace('\n', "\\n"))
}

/// `text` as one unnamed SSE message: a `data:` line for each of its lines, broken at CRLF, LF or
/// a lone CR (all three end a line in SSE; `str::lines` misses the lone CR), which a reader joins
/// back with newlines.
pub(crate) fn message(text: &str) -> String {
    let mut message = String::with_capacity(text.len() + 8);
    for line in text.split("\r\n").flat_map(|line| line.split(['\r', '\n'])) {
        message.push_str("data: ");
        message.push_str(line);
        message.push('\n');
    }
    message.push('\n');
    message
}

/// An open event stream for `client`, opened by `user`: `:ok`, then every event in scope whose
/// name starts with `prefix`, in Particle's format; or 529 when the client has opened or holds
/// too many.
pub(crate) fn stream(
    shared: &Shared,
    client: Client,
    user: String,
    scope: Scope,
    prefix: Option<String>,
) -> Result<Response, ApiError> {
    let client = shared
        .streams
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .open(client, &shared.settings.limits, Instant::now())?;
    let held = Held {
        common: shared.common.clone(),
        client,
    };
    let prefix = prefix.unwrap_or_default();
    Ok(response(
        shared,
        shared.events.events(),
        Bytes::from_static(b":ok\n\n"),
        Some(shared.silences.watch(user)),
        move |event: &Arc<Event>| {
            // The stream's count is given back when the body, and this closure with it, is
            // dropped: when the client goes away or the stream ends.
            let _held = &held;
            (scope.shows(event) && event.name.starts_with(prefix.as_str())).then(|| frame(event))
        },
    ))
}

/// A `text/event-stream` response: `first`, then `frame` of each broadcast item it accepts, with a
/// keepalive newline after each quiet keepalive interval, until the sandbox closes or the world is
/// forgotten. A reader that falls more than the backlog behind skips what it missed rather than
/// being buffered for. While `silenced` says so, the stream sends nothing and drops what comes.
pub(crate) fn response<T, F>(
    shared: &Shared,
    receiver: broadcast::Receiver<T>,
    first: Bytes,
    silenced: Option<Silenced>,
    frame: F,
) -> Response
where
    T: Clone + Send + 'static,
    F: Fn(&T) -> Option<Bytes> + Send + 'static,
{
    enum Step<T> {
        Item(Result<T, broadcast::error::RecvError>),
        Quiet,
        /// The silences changed: look again.
        Silences,
        Closed,
    }
    struct Feed<T, F> {
        receiver: broadcast::Receiver<T>,
        closed: watch::Receiver<bool>,
        /// The world is forgotten (idle too long, or its learner signed out).
        gone: watch::Receiver<bool>,
        keepalive: Duration,
        first: Option<Bytes>,
        silenced: Option<Silenced>,
        frame: F,
    }
    let feed = Feed {
        receiver,
        closed: shared.closed.subscribe(),
        gone: shared.life.gone.subscribe(),
        keepalive: shared.settings.keepalive,
        first: Some(first),
        silenced,
        frame,
    };
    let body = stream::unfold(feed, |mut feed| async move {
        if let Some(first) = feed.first.take() {
            return Some((Ok::<_, Infallible>(first), feed));
        }
        let mut quiet_until = Instant::now() + feed.keepalive;
        loop {
            let silent_until = feed
                .silenced
                .as_ref()
                .and_then(|silenced| silenced.until(Instant::now()));
            // While silent, nothing is written: the keepalive waits for the silence to end (and
            // then a whole interval), and what arrives is dropped.
            let wake = match silent_until {
                Some(until) => {
                    quiet_until = until + feed.keepalive;
                    until
                }
                None => quiet_until,
            };
            let watching = feed.silenced.as_mut().map(|s| &mut s.receiver);
            let silences = async move {
                match watching {
                    Some(receiver) => receiver.changed().await.is_ok(),
                    None => std::future::pending().await,
                }
            };
            let step = tokio::select! {
                next = feed.receiver.recv() => Step::Item(next),
                () = tokio::time::sleep_until(wake) => {
                    if silent_until.is_some() { Step::Silences } else { Step::Quiet }
                }
                open = silences => if open { Step::Silences } else { Step::Closed },
                _ = feed.closed.wait_for(|closed| *closed) => Step::Closed,
                _ = feed.gone.wait_for(|gone| *gone) => Step::Closed,
            };
            match step {
                Step::Quiet => return Some((Ok(Bytes::from_static(b"\n")), feed)),
                Step::Silences | Step::Item(Err(broadcast::error::RecvError::Lagged(_))) => {}
                Step::Closed | Step::Item(Err(broadcast::error::RecvError::Closed)) => return None,
                Step::Item(Ok(item)) => {
                    if silent_until.is_some() {
                        continue;
                    }
                    if let Some(frame) = (feed.frame)(&item) {
                        return Some((Ok(frame), feed));
                    }
                }
            }
        }
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Body::from_stream(body),
    )
        .into_response()
}
