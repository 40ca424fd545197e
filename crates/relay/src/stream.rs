//! `GET stream`: the page's Server-Sent Events stream of a session.
//!
//! A stream pulls ready-made frames from the session's log at its own pace. New sessions start at
//! the beginning; `?session=ID` resumes one, from `Last-Event-ID` (header, or `lastEventId` query
//! parameter for `EventSource`, which cannot set headers) or from the oldest kept event.

use std::{convert::Infallible, sync::Arc};

use axum::{
    Extension,
    body::Body,
    extract::{OriginalUri, Query, State},
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use serde::Deserialize;
use tokio::time::Instant;
use webhook_demo_core::wire::{Dropped, RelayStart};
use webhook_demo_http::PeerAddr;

use crate::{
    Shared,
    admission::{OpenRefused, Refused},
    client::Client,
    error::RelayError,
    forwarded,
    metrics::OpenStream,
    store::{Attached, SessionRef},
};

/// How long the browser waits before reconnecting a dropped stream.
const RETRY_MS: u32 = 2000;
/// Events sent per write; bounds the memory one wake-up of one stream may take.
const BATCH: usize = 256;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StreamQuery {
    session: Option<String>,
    last_event_id: Option<String>,
}

pub(crate) async fn open(
    State(shared): State<Arc<Shared>>,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<StreamQuery>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
) -> Result<Response, RelayError> {
    let now = Instant::now();
    // The whole request is checked before a session is opened, so a refused one holds no slot.
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .or(query.last_event_id.as_deref())
        .map(|text| {
            text.trim().parse::<u64>().map_err(|_| {
                RelayError::BadRequest(format!("Last-Event-ID must be a number, got {text:?}"))
            })
        })
        .transpose()?
        .unwrap_or(0);
    let trust_forwarded = shared.settings.trust_forwarded;
    let base = forwarded::relay_base(
        shared.settings.public_url.as_deref(),
        trust_forwarded,
        &shared.settings.limits.hosts,
        &headers,
        uri.path(),
    )?;
    let (session, resumed) = match &query.session {
        Some(id) => (
            shared
                .store
                .find(id, now)
                .await
                .map_err(|_| RelayError::StoreUnavailable)?
                .ok_or(RelayError::UnknownSession)?,
            true,
        ),
        None => {
            let address = forwarded::client_address(
                &headers,
                peer.map(|Extension(peer)| peer),
                trust_forwarded,
            );
            let opened = shared.store.open(Client::new(address), now).await;
            let session = opened.map_err(|refused| match refused {
                Refused::Open(OpenRefused::Full) => RelayError::TooManySessions,
                Refused::Open(OpenRefused::ClientFull) => RelayError::TooManySessionsForClient {
                    limit: shared.settings.limits.max_sessions_per_client,
                },
                Refused::Open(OpenRefused::NetworkFull) => RelayError::TooManySessionsForNetwork {
                    limit: shared.settings.limits.sessions_per_network(),
                },
                Refused::Store(_) => RelayError::StoreUnavailable,
            })?;
            (session, false)
        }
    };

    // An id past the newest (a page's mistake, or `u64::MAX`) resumes at the newest.
    let unavailable = |_| RelayError::StoreUnavailable;
    let last_event_id = last_event_id.min(session.newest_id().await.map_err(unavailable)?);
    let start = RelayStart {
        session_id: session.id().to_owned(),
        hook_url: format!("{base}hook/{}", session.hook_token()),
        control_url: format!("{base}control/{}", session.id()),
        resumed,
    };
    let start = serde_json::to_string(&start).expect("start serializes");
    let first = Bytes::from(format!(
        "retry: {RETRY_MS}\nid: {last_event_id}\nevent: start\ndata: {start}\n\n"
    ));

    let reader = Reader {
        open: OpenStream::new(&shared),
        _attached: session.attach().await.map_err(unavailable)?,
        session,
        after: last_event_id,
        ends_at: shared.settings.limits.max_stream_age.map(|age| now + age),
        first: Some(Box::new(first)),
        closed: false,
    };
    let body = Body::from_stream(futures_util::stream::unfold(reader, Reader::next));
    Ok((
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
            // Tells nginx-style proxies not to buffer the stream.
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        body,
    )
        .into_response())
}

struct Reader {
    /// Counts the stream in the metrics while it lives.
    open: OpenStream,
    session: SessionRef,
    /// Held for its `Drop`: the session counts as attached while the stream lives.
    _attached: Attached,
    after: u64,
    /// When this stream ends by itself (`Limits::max_stream_age`).
    ends_at: Option<Instant>,
    /// The `start` frame, boxed: it is sent at once, and a pointer takes a quarter of the
    /// room `Bytes` would keep in every idle stream for as long as it lives.
    first: Option<Box<Bytes>>,
    /// The stream has sent its last frame.
    closed: bool,
}

/// The last frame of a stream whose session was ended to make room for others.
const ENDED: &[u8] =
    b"event: error\ndata: {\"error\":\"the relay ended this session to make room for \
others; start a new one\"}\n\n";

/// The last frame of a stream whose store cannot be reached.
const STORE_ERROR: &[u8] =
    b"event: error\ndata: {\"error\":\"the relay cannot reach its store; reconnect shortly\"}\n\n";

impl Reader {
    async fn next(mut self) -> Option<(Result<Bytes, Infallible>, Reader)> {
        if let Some(first) = self.first.take() {
            return Some((Ok(*first), self));
        }
        if self.closed {
            return None;
        }
        loop {
            // Listen before reading, so an append racing with the read still wakes us; and
            // before looking at `closing`, since closing wakes the streams this same way (one
            // wake-up to wait on rather than two keeps an idle stream smaller).
            let session = self.session.clone();
            let appended = session.appended();
            let mut appended = std::pin::pin!(appended);
            appended.as_mut().enable();
            let shared = self.open.shared();
            if *shared.closing.borrow() || self.ends_at.is_some_and(|end| Instant::now() >= end) {
                return None;
            }
            let keepalive = shared.settings.limits.keepalive;
            let Ok(batch) = self.session.read_after(self.after, BATCH).await else {
                // The store cannot be reached: say so and end; the page resumes from its last
                // id once the store is back, missing nothing.
                self.closed = true;
                self.open.store_failed();
                return Some((Ok(Bytes::from_static(STORE_ERROR)), self));
            };
            if batch.ended {
                // The session gave its slot to another: say so and end; resuming it finds no
                // session, and the page starts a new one.
                self.closed = true;
                return Some((Ok(Bytes::from_static(ENDED)), self));
            }
            if batch.dropped.is_some() || !batch.frames.is_empty() {
                let mut chunk = Vec::with_capacity(batch.frames.len() + 96);
                if let Some((count, resumes_at)) = batch.dropped {
                    let data =
                        serde_json::to_string(&Dropped { count, resumes_at }).expect("serializes");
                    let id = resumes_at - 1;
                    chunk.extend_from_slice(
                        format!("id: {id}\nevent: dropped\ndata: {data}\n\n").as_bytes(),
                    );
                }
                chunk.extend_from_slice(&batch.frames);
                self.after = batch.last_id;
                return Some((Ok(Bytes::from(chunk)), self));
            }
            let quiet = match self.ends_at {
                Some(end) => keepalive.min(end.saturating_duration_since(Instant::now())),
                None => keepalive,
            };
            tokio::select! {
                () = appended => {}
                // One timer for both the keepalive and the stream's end, as cheap as before there
                // was an end.
                () = tokio::time::sleep(quiet) => {
                    if self.ends_at.is_some_and(|end| Instant::now() >= end) {
                        return None;
                    }
                    return Some((Ok(Bytes::from_static(b": keepalive\n\n")), self));
                }
            }
        }
    }
}
