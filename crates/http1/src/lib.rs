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
//! terminates), upgrades, `CONNECT` (501: it is not a proxy), and HTTP/1.0 keep-alive (1.0
//! connections close after one response).
//!
//! # What a client may hold
//!
//! A request head must arrive whole within [`Options::head_timeout`] of its first byte, and a body
//! may not pause for longer than [`Options::read_timeout`] nor fall below
//! [`Options::min_body_rate`] on average; a head sent a byte at a time (slowloris) is therefore
//! cut off however steadily it trickles. One client address may hold at most
//! [`Options::max_connections_per_client`] connections, and the server at most
//! [`Options::max_connections`], three quarters of its open-file limit by default, which leaves
//! descriptors to refuse the rest with a `503` instead of failing to accept them. Refused
//! connections get their answer at once, without a head being read. A chunked body may have at
//! most 4096 chunks and 4096 bytes of chunk extensions and padding in all (413 beyond), each
//! chunk-size line at most 4096 bytes (400): its data is the service's to bound.
//!
//! # Behind a reverse proxy
//!
//! Every connection then comes from the proxy's address (and so does [`PeerAddr`]), so the
//! per-client cap becomes a cap on the proxy: raise [`Options::max_connections_per_client`] above
//! the proxy's own connection limit (or set it to 0) and let the proxy bound each client instead
//! (nginx's `limit_conn`, a `src_conn_cur` check in HAProxy). A proxy that reads whole request
//! heads (and, buffering, whole bodies) before passing them on also takes slow clients on itself,
//! so this server's timeouts then guard only against the proxy misbehaving.

mod body;
mod chunked;
mod clients;
mod conn;
pub mod forwarded;
mod head;

use std::{convert::Infallible, future::Future, io, sync::Arc, time::Duration};

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use tokio::{net::TcpListener, sync::watch};
use tower_service::Service;

pub use body::{BodyError, RequestBody};
pub use clients::counted_address;

use crate::clients::Clients;

/// A request's header fields as they arrived: names in their original case, in order, repeated
/// names kept apart. The server puts it in every request's extensions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginalHeaders(pub Vec<(String, HeaderValue)>);

/// The address of the client at the other end of the connection. The server puts it in every
/// request's extensions, so services can bound what one client may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub std::net::SocketAddr);

/// Bounds on what a client may send, how long it may take, and how much it may hold.
#[derive(Debug, Clone)]
pub struct Options {
    /// Longest request line plus header fields (431 beyond).
    pub max_head_bytes: usize,
    /// How long a kept-alive connection may wait for its next request.
    pub idle_timeout: Duration,
    /// How long a request head may take in all, from its first byte to its blank line; the
    /// connection closes when it is not complete by then.
    pub head_timeout: Duration,
    /// The longest pause in a request head or body (a body that pauses longer is answered 408).
    pub read_timeout: Duration,
    /// The slowest average a request body may arrive at, in bytes per second, after a first
    /// `read_timeout` of grace (408 below it; 0: no minimum). Only time spent waiting for the
    /// client counts, not time the service takes to read.
    pub min_body_rate: u64,
    /// Most connections one client address (an IPv6 /64) may hold open; more are answered 503
    /// and closed (0: no cap). Behind a reverse proxy every client shares the proxy's address.
    pub max_connections_per_client: usize,
    /// Most connections open at once; more are answered 503 and closed (0: no cap). By default
    /// three quarters of the open-file limit, so descriptors remain to refuse the rest and to
    /// read files.
    pub max_connections: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            max_head_bytes: 64 * 1024,
            idle_timeout: Duration::from_secs(120),
            // A head is a few hundred bytes that any client sends at once; 20 s is what Apache's
            // mod_reqtimeout allows before its rate extension.
            head_timeout: Duration::from_secs(20),
            read_timeout: Duration::from_secs(30),
            // Apache's mod_reqtimeout minimum: a modem's pace, far below any real uploader.
            min_body_rate: 500,
            // A learner's page holds a few streams and Particle's webhooks come from a few
            // addresses, each with many requests in flight: far below this.
            max_connections_per_client: 128,
            max_connections: open_file_limit().map_or(0, |limit| limit / 4 * 3),
        }
    }
}

/// The process's soft limit on open files, when it has a finite one.
fn open_file_limit() -> Option<usize> {
    #[cfg(unix)]
    {
        let (soft, _hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).ok()?;
        (soft != rlimit::INFINITY)
            .then(|| usize::try_from(soft).ok())
            .flatten()
    }
    #[cfg(not(unix))]
    {
        None
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
    let clients = Clients::new(options.max_connections_per_client, options.max_connections);
    let options = Arc::new(options);
    // Every connection holds a receiver: `closing` tells them to stop, and `closed()` on the
    // sender completes once the last of them has ended.
    let (closing, closing_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
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
        let ticket = match clients.admit(peer.ip()) {
            Ok(ticket) => ticket,
            Err(refusal) => {
                tracing::debug!(%peer, reason = refusal.message, "refusing a connection");
                tokio::spawn(conn::refuse(stream, refusal));
                continue;
            }
        };
        tokio::spawn(conn::serve_connection(
            stream,
            peer,
            ticket,
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
mod fuzz;
#[cfg(test)]
mod tests;
