//! Particle's event-stream wire format, and the one `text/event-stream` body every stream of the
//! sandbox is written with: its first bytes, then frames, a keepalive comment after each quiet
//! interval, and the end when the sandbox closes.

use std::{borrow::Cow, convert::Infallible, sync::Arc, time::Duration};

use axum::{
    body::{Body, Bytes},
    http::header,
    response::{IntoResponse, Response},
};
use futures_util::stream;
use serde_json::json;
use tokio::{
    sync::{broadcast, watch},
    time::Instant,
};

use crate::{
    Shared,
    events::{Event, Scope},
};

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

/// An open event stream: `:ok`, then every event in scope whose name starts with `prefix`, in
/// Particle's format.
pub(crate) fn stream(shared: &Shared, scope: Scope, prefix: Option<String>) -> Response {
    let prefix = prefix.unwrap_or_default();
    response(
        shared,
        shared.events.events(),
        Bytes::from_static(b":ok\n\n"),
        move |event: &Arc<Event>| {
            (scope.shows(event) && event.name.starts_with(prefix.as_str())).then(|| frame(event))
        },
    )
}

/// A `text/event-stream` response: `first`, then `frame` of each broadcast item it accepts, with a
/// keepalive comment after each quiet keepalive interval, until the sandbox closes or the world is forgotten. A reader that
/// falls more than the backlog behind skips what it missed rather than being buffered for.
pub(crate) fn response<T, F>(
    shared: &Shared,
    receiver: broadcast::Receiver<T>,
    first: Bytes,
    frame: F,
) -> Response
where
    T: Clone + Send + 'static,
    F: Fn(&T) -> Option<Bytes> + Send + 'static,
{
    enum Step<T> {
        Item(Result<T, broadcast::error::RecvError>),
        Quiet,
        Closed,
    }
    struct Feed<T, F> {
        receiver: broadcast::Receiver<T>,
        closed: watch::Receiver<bool>,
        /// The world is forgotten (idle too long, or its learner signed out).
        gone: watch::Receiver<bool>,
        keepalive: Duration,
        first: Option<Bytes>,
        frame: F,
    }
    let feed = Feed {
        receiver,
        closed: shared.closed.subscribe(),
        gone: shared.life.gone.subscribe(),
        keepalive: shared.settings.keepalive,
        first: Some(first),
        frame,
    };
    let body = stream::unfold(feed, |mut feed| async move {
        if let Some(first) = feed.first.take() {
            return Some((Ok::<_, Infallible>(first), feed));
        }
        let quiet_until = Instant::now() + feed.keepalive;
        loop {
            let step = tokio::select! {
                next = feed.receiver.recv() => Step::Item(next),
                () = tokio::time::sleep_until(quiet_until) => Step::Quiet,
                _ = feed.closed.wait_for(|closed| *closed) => Step::Closed,
                _ = feed.gone.wait_for(|gone| *gone) => Step::Closed,
            };
            match step {
                Step::Quiet => return Some((Ok(Bytes::from_static(b":\n\n")), feed)),
                Step::Closed | Step::Item(Err(broadcast::error::RecvError::Closed)) => return None,
                Step::Item(Ok(item)) => {
                    if let Some(frame) = (feed.frame)(&item) {
                        return Some((Ok(frame), feed));
                    }
                }
                Step::Item(Err(broadcast::error::RecvError::Lagged(_))) => {}
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
