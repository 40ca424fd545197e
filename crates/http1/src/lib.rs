//! The server's HTTP/1.1 connections, serving any `tower` service (the axum router) on a listener.
//!
//! Why not hyper's server: the relay must show the learner each webhook request exactly as it
//! arrived, header names in their original case and order, and hyper lower-cases names and keeps
//! the originals only in a private extension. And a relay holds thousands of idle event streams:
//! hyper keeps two 8 KiB buffers per connection for its whole life, while here a connection that
//! is streaming a response holds no buffer at all (about a kilobyte in all, mostly the response's
//! own state). The parsing is `httparse`'s; this crate adds the framing (Content-Length, chunked,
//! `Expect: 100-continue`), keep-alive, pipelining, timeouts and graceful shutdown.
//!
//! What it does not do: HTTP/2 (browsers speak it only over TLS, which a proxy in front
//! terminates), upgrades, and HTTP/1.0 keep-alive (1.0 connections close after one response).

mod body;
mod conn;
mod head;

use std::{convert::Infallible, future::Future, io, sync::Arc, time::Duration};

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use tokio::{net::TcpListener, sync::watch};
use tower_service::Service;

pub use body::{BodyError, RequestBody};

/// A request's header fields as they arrived: names in their original case, in order, repeated
/// names kept apart. The server puts it in every request's extensions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginalHeaders(pub Vec<(String, HeaderValue)>);

/// Bounds on what a client may send and how long it may take.
#[derive(Debug, Clone)]
pub struct Options {
    /// Longest request line plus header fields (431 beyond).
    pub max_head_bytes: usize,
    /// How long a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// How long a started request head, or a pause in a request body, may take.
    pub read_timeout: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_head_bytes: 64 * 1024,
            idle_timeout: Duration::from_secs(120),
            read_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves `service` on `listener` until `shutdown` completes; then stops accepting, closes idle
/// connections, lets the requests in flight finish and returns when every connection has ended.
///
/// Long responses (event streams) must be ended by whoever produces them; `shutdown` is the place
/// to tell them.
pub async fn serve<S, B>(
    listener: TcpListener,
    service: S,
    options: Options,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()>
where
    S: Service<Request<RequestBody>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: std::fmt::Display + Send,
{
    let options = Arc::new(options);
    // Every connection holds a receiver: `closing` tells them to stop, and `closed()` on the
    // sender completes once the last of them has ended.
    let (closing, closing_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Event streams write small frames that must leave at once.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        tokio::spawn(conn::serve_connection(
            stream,
            service.clone(),
            Arc::clone(&options),
            closing_rx.clone(),
        ));
    }
    drop(listener);
    closing.send_replace(true);
    drop(closing_rx);
    closing.closed().await;
    Ok(())
}

#[cfg(test)]
mod tests;
