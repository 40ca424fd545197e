//! Request bodies: the body the service reads, and the feed that fills it from the connection.
//!
//! The connection reads the body from the socket only as fast as the service takes it (a channel
//! of one frame), and sends `100 Continue` only once the service first asks for the body, so a
//! request the service refuses on its headers alone (a too-large `Content-Length`) is never
//! uploaded.

use std::{
    fmt,
    pin::Pin,
    task::{Context, Poll},
};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use tokio::sync::{mpsc, oneshot};

/// The body of a request, as the service sees it.
pub struct RequestBody {
    kind: Kind,
}

enum Kind {
    Empty,
    Streamed {
        frames: mpsc::Receiver<Result<Bytes, BodyError>>,
        /// Told when the service first polls the body.
        wanted: Option<oneshot::Sender<()>>,
        length: Option<u64>,
    },
}

/// Why a request body could not be read to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyError {
    message: &'static str,
    cause: Cause,
}

/// What went wrong, which decides what the connection answers in the service's place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    /// The client left: there is no one to answer.
    Closed,
    /// The chunked framing broke the rules: 400.
    Malformed,
    /// The chunked framing went beyond the server's bounds (too many chunks, too many bytes of
    /// extensions): 413.
    TooLarge,
    /// The client paused too long or sent too slowly: 408.
    Slow,
}

impl BodyError {
    pub(crate) const CLOSED: BodyError = BodyError {
        message: "the client closed the connection before the body ended",
        cause: Cause::Closed,
    };
    pub(crate) const TIMED_OUT: BodyError = BodyError {
        message: "the client stopped sending the body",
        cause: Cause::Slow,
    };
    pub(crate) const TOO_SLOW: BodyError = BodyError {
        message: "the request body arrived too slowly",
        cause: Cause::Slow,
    };

    /// A chunked body that breaks RFC 9112's framing, for the reason given.
    pub(crate) fn malformed(message: &'static str) -> BodyError {
        BodyError {
            message,
            cause: Cause::Malformed,
        }
    }

    /// A chunked body whose framing is beyond the decoder's bounds, for the reason given.
    pub(crate) fn too_large(message: &'static str) -> BodyError {
        BodyError {
            message,
            cause: Cause::TooLarge,
        }
    }

    pub(crate) fn cause(self) -> Cause {
        self.cause
    }

    pub(crate) fn message(self) -> &'static str {
        self.message
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.message)
    }
}

impl std::error::Error for BodyError {}

impl RequestBody {
    pub(crate) fn empty() -> RequestBody {
        RequestBody { kind: Kind::Empty }
    }

    /// A body fed through the returned `Feed`; `length` is known unless the body is chunked.
    pub(crate) fn channel(length: Option<u64>) -> (RequestBody, Feed) {
        let (sender, frames) = mpsc::channel(1);
        let (wanted, asked) = oneshot::channel();
        (
            RequestBody {
                kind: Kind::Streamed {
                    frames,
                    wanted: Some(wanted),
                    length,
                },
            },
            Feed {
                sender,
                asked: Some(asked),
            },
        )
    }
}

impl http_body::Body for RequestBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match &mut self.kind {
            Kind::Empty => Poll::Ready(None),
            Kind::Streamed { frames, wanted, .. } => {
                if let Some(wanted) = wanted.take() {
                    let _ = wanted.send(());
                }
                frames
                    .poll_recv(cx)
                    .map(|frame| frame.map(|data| data.map(Frame::data)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.kind, Kind::Empty)
    }

    fn size_hint(&self) -> SizeHint {
        match self.kind {
            Kind::Empty => SizeHint::with_exact(0),
            Kind::Streamed {
                length: Some(length),
                ..
            } => SizeHint::with_exact(length),
            Kind::Streamed { length: None, .. } => SizeHint::default(),
        }
    }
}

/// The connection's side of a request body.
pub(crate) struct Feed {
    sender: mpsc::Sender<Result<Bytes, BodyError>>,
    asked: Option<oneshot::Receiver<()>>,
}

/// Feeding stopped before the end of the body. Either way the connection closes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Stopped {
    /// The service dropped the body (or never asked for it).
    Dropped,
    /// The body could not be read, and the service was told why.
    Failed(BodyError),
}

impl Feed {
    /// Waits until the service asks for the body; `Stopped` when it drops the body unread.
    pub(crate) async fn asked(&mut self) -> Result<(), Stopped> {
        match self.asked.take() {
            Some(asked) => asked.await.map_err(|_| Stopped::Dropped),
            None => Ok(()),
        }
    }

    pub(crate) async fn send(&self, data: Bytes) -> Result<(), Stopped> {
        self.sender
            .send(Ok(data))
            .await
            .map_err(|_| Stopped::Dropped)
    }

    /// Tells the service the body is broken, so a truncated body never looks complete.
    pub(crate) async fn fail(&self, error: BodyError) -> Stopped {
        let _ = self.sender.send(Err(error)).await;
        Stopped::Failed(error)
    }
}
