//! One connection: read a head, run the service while feeding it the body, write the response,
//! and again while the client keeps the connection alive.
//!
//! Memory is the point of this module. The read buffer exists only while a head or body is being
//! read and is released when it empties; a response waiting on its body (an event stream) holds
//! no write buffer either. While a response streams, the socket is still watched for reading, so
//! a client that goes away ends the response at once instead of at the next failed write.

use std::{
    cell::RefCell,
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::Poll,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use bytes::{Buf, BytesMut};
use http::{HeaderValue, Method, Request, Response, StatusCode, Version, header};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        TcpStream,
        tcp::{ReadHalf, WriteHalf},
    },
    sync::watch,
};
use tower_service::Service;

use crate::{
    Options, PeerAddr,
    body::{BodyError, Cause, Feed, RequestBody, Stopped},
    chunked::{self, Step},
    clients::Ticket,
    head::{self, Framing, Head, Rejection},
};

/// Most body bytes read from the socket at once.
const MAX_READ: usize = 64 * 1024;
/// Response bytes gathered before a write while the body keeps producing frames.
const WRITE_BATCH: usize = 64 * 1024;
/// After answering a client that is still sending, how long to read and discard its bytes before
/// closing, so the kernel does not reset the connection and destroy the answer in flight.
const LINGER: Duration = Duration::from_secs(1);

pub(crate) async fn serve_connection<S, B>(
    mut stream: TcpStream,
    peer: SocketAddr,
    // Held until the connection is closed: its place among the client's open connections.
    _ticket: Ticket,
    mut service: S,
    options: Arc<Options>,
    closing: watch::Receiver<bool>,
) where
    S: Service<Request<RequestBody>, Response = Response<B>, Error = Infallible>,
    B: http_body::Body<Data = bytes::Bytes>,
    B::Error: std::fmt::Display,
{
    let (read, write) = stream.split();
    let mut connection = Connection {
        input: Input {
            read,
            buf: BytesMut::new(),
            pace: Pace::new(options.read_timeout, options.min_body_rate),
        },
        write,
        peer,
        options,
        closing,
    };
    let linger = connection.run(&mut service).await;
    let _ = connection.write.shutdown().await;
    if linger {
        connection.input.discard().await;
    }
}

/// Answers a connection the server will not serve (too many open), without reading a request.
pub(crate) async fn refuse(mut stream: TcpStream, refusal: Rejection) {
    let (read, mut write) = stream.split();
    let _ = write.write_all(&refusal_bytes(&refusal)).await;
    let _ = write.shutdown().await;
    // The client has likely sent its request already; closing with it unread would reset the
    // connection and could destroy the answer before the client reads it.
    Input {
        read,
        buf: BytesMut::new(),
        pace: Pace::new(Duration::ZERO, 0),
    }
    .discard()
    .await;
}

struct Connection<'a> {
    input: Input<'a>,
    write: WriteHalf<'a>,
    peer: SocketAddr,
    options: Arc<Options>,
    closing: watch::Receiver<bool>,
}

/// Why a response ended the connection.
enum After {
    /// The connection may carry another request.
    KeepAlive,
    Close,
    /// The client may still be sending: read before closing.
    CloseAndLinger,
}

impl Connection<'_> {
    /// Serves requests until the connection ends; true when unread input may remain.
    async fn run<S, B>(&mut self, service: &mut S) -> bool
    where
        S: Service<Request<RequestBody>, Response = Response<B>, Error = Infallible>,
        B: http_body::Body<Data = bytes::Bytes>,
        B::Error: std::fmt::Display,
    {
        loop {
            // Ready before the request is read, so no request is held across this wait.
            let Ok(()) = std::future::poll_fn(|cx| service.poll_ready(cx)).await;
            let mut head = match self.read_head().await {
                Some(Ok(head)) => head,
                Some(Err(rejection)) => {
                    self.reject(&rejection).await;
                    return true;
                }
                None => return false,
            };
            head.request.extensions_mut().insert(PeerAddr(self.peer));
            let (response, exchange) = start(service, head);
            match self.exchange(response, exchange).await {
                After::KeepAlive => {}
                After::Close => return false,
                After::CloseAndLinger => return true,
            }
            if self.input.buf.is_empty() {
                // Nothing pipelined (a body was read after the head): give the buffer back until
                // the next request arrives.
                self.input.buf = BytesMut::new();
            }
        }
    }

    /// The next request head; `None` when the connection should just close (the client left,
    /// idled out or took too long, or the server is shutting down between requests).
    async fn read_head(&mut self) -> Option<Result<Head, Rejection>> {
        // Set at the head's first byte: the whole head must arrive by then, however steadily it
        // trickles (a per-read timeout alone lets a byte a second hold the connection forever).
        let mut deadline = None;
        // How far the buffer has been searched for a line end: a head sent a byte at a time is
        // parsed once per line, not once per byte.
        let mut searched = 0;
        loop {
            if !self.input.buf.is_empty() {
                deadline.get_or_insert_with(|| Instant::now() + self.options.head_timeout);
                let new_line = self.input.buf[searched..].contains(&b'\n');
                searched = self.input.buf.len();
                match new_line.then(|| head::parse(&self.input.buf)) {
                    Some(Ok(Some((head, length)))) => {
                        self.input.buf.advance(length);
                        if self.input.buf.is_empty() {
                            // Nothing more has arrived: a response that streams for hours
                            // should not hold a buffer it will not use.
                            self.input.buf = BytesMut::new();
                        }
                        return Some(Ok(head));
                    }
                    Some(Err(rejection)) => return Some(Err(rejection)),
                    Some(Ok(None)) | None => {}
                }
                if self.input.buf.len() >= self.options.max_head_bytes {
                    return Some(Err(head::reject(
                        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                        "request head too large",
                    )));
                }
            }
            if deadline.is_none() && *self.closing.borrow() {
                return None;
            }
            let wait = match deadline {
                None => self.options.idle_timeout,
                Some(deadline) => self
                    .options
                    .read_timeout
                    .min(deadline.saturating_duration_since(Instant::now())),
            };
            self.input.buf.reserve(1024);
            tokio::select! {
                read = self.input.read.read_buf(&mut self.input.buf) => {
                    if !matches!(read, Ok(read) if read > 0) {
                        return None;
                    }
                }
                _ = self.closing.changed(), if deadline.is_none() => return None,
                () = tokio::time::sleep(wait) => return None,
            }
        }
    }

    /// Waits for the service's response while feeding it the request body, then writes it.
    async fn exchange<F, B>(&mut self, response: Pin<Box<F>>, exchange: Exchange) -> After
    where
        F: Future<Output = Result<Response<B>, Infallible>>,
        B: http_body::Body<Data = bytes::Bytes>,
        B::Error: std::fmt::Display,
    {
        let Exchange {
            feed,
            framing,
            keep_alive,
            expect_continue,
            is_head,
            version,
        } = exchange;
        let (response, body_read) = match feed {
            None => (response.await, true),
            Some(feed) => {
                let mut response = response;
                let mut feeding = Box::pin(self.feed(feed, framing, expect_continue));
                let mut fed = None;
                let outcome = loop {
                    tokio::select! {
                        biased;
                        done = &mut feeding, if fed.is_none() => {
                            match done.as_ref().err().and_then(body_answer) {
                                Some(answer) => break Err(answer),
                                None => fed = Some(done),
                            }
                        }
                        response = &mut response => break Ok(response),
                    }
                };
                drop(feeding);
                let response = match outcome {
                    Ok(response) => response,
                    Err(answer) => {
                        // The request was malformed, too slow or beyond the chunked framing's
                        // bounds: whatever the service would say about it (it saw the error, and
                        // might call it something else) is beside the point, so the connection
                        // answers in its place.
                        self.reject(&answer).await;
                        return After::CloseAndLinger;
                    }
                };
                (response, matches!(fed, Some(Ok(()))))
            }
        };
        let Ok(response) = response;
        let keep_alive = keep_alive && body_read && !*self.closing.borrow();
        // The head is built and the response's headers freed before the body starts: an event
        // stream keeps nothing but its body while it waits.
        let (out, body, framing, keep_alive) =
            response_head(response, is_head, version, keep_alive);
        let complete = match framing {
            None => self.write.write_all(&out).await.is_ok(),
            Some(framing) => self.write_body(body, out, framing).await,
        };
        match complete && keep_alive {
            true => After::KeepAlive,
            false if body_read => After::Close,
            false => After::CloseAndLinger,
        }
    }

    /// Reads the request body from the socket into the service's body.
    async fn feed(
        &mut self,
        mut feed: Feed,
        framing: Framing,
        expect_continue: bool,
    ) -> Result<(), Stopped> {
        if expect_continue {
            feed.asked().await?;
            if self
                .write
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await
                .is_err()
            {
                return Err(feed.fail(BodyError::CLOSED).await);
            }
        }
        let input = &mut self.input;
        input.pace.restart();
        match framing {
            Framing::Empty => Ok(()),
            Framing::Length(length) => input.forward(length, &feed).await,
            Framing::Chunked => {
                // Trailer fields are checked and dropped: nothing here reads them.
                let mut decoder = chunked::Decoder::new();
                loop {
                    match decoder.step(&mut input.buf) {
                        Ok(Step::Data(data)) => feed.send(data).await?,
                        Ok(Step::More(want)) => input.fill(&feed, want).await?,
                        Ok(Step::Done) => return Ok(()),
                        Err(chunked::Refused::Malformed(message)) => {
                            return Err(feed.fail(BodyError::malformed(message)).await);
                        }
                        Err(chunked::Refused::TooLarge(message)) => {
                            return Err(feed.fail(BodyError::too_large(message)).await);
                        }
                    }
                }
            }
        }
    }

    /// Writes the body after the head in `out`; false when it ended early or the client left.
    async fn write_body<B>(&mut self, body: B, mut out: Vec<u8>, framing: BodyFraming) -> bool
    where
        B: http_body::Body<Data = bytes::Bytes>,
        B::Error: std::fmt::Display,
    {
        let BodyFraming { length, chunked } = framing;
        let mut body = std::pin::pin!(body);
        let mut remaining = length;
        // Watch for the client leaving while waiting for the body, unless it keeps sending.
        let mut watch_input = true;
        loop {
            // Take what is ready now; before waiting, send what has been gathered.
            let ready = std::future::poll_fn(|cx| match body.as_mut().poll_frame(cx) {
                Poll::Ready(frame) => Poll::Ready(Some(frame)),
                Poll::Pending => Poll::Ready(None),
            })
            .await;
            let frame = match ready {
                Some(frame) => frame,
                None => {
                    if self.write.write_all(&out).await.is_err() {
                        return false;
                    }
                    // An idle stream keeps no buffer.
                    out = Vec::new();
                    loop {
                        tokio::select! {
                            frame = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)) => break frame,
                            readable = self.input.read.readable(), if watch_input => {
                                if readable.is_err() {
                                    return false;
                                }
                                match self.input.peek_while_busy(self.options.max_head_bytes) {
                                    Some(true) => {}
                                    Some(false) => watch_input = false,
                                    None => return false,
                                }
                            }
                        }
                    }
                }
            };
            match frame {
                None => break,
                Some(Err(error)) => {
                    tracing::debug!(%error, "response body failed");
                    return false;
                }
                Some(Ok(frame)) => {
                    // Trailers are not sent: nothing here produces them and browsers ignore them.
                    let Ok(mut data) = frame.into_data() else {
                        continue;
                    };
                    if let Some(left) = remaining.as_mut() {
                        if data.len() as u64 > *left {
                            tracing::debug!("response body longer than its Content-Length");
                            data.truncate(usize::try_from(*left).unwrap_or(usize::MAX));
                        }
                        *left -= data.len() as u64;
                    }
                    if data.is_empty() {
                        continue;
                    }
                    if chunked {
                        out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
                        out.extend_from_slice(&data);
                        out.extend_from_slice(b"\r\n");
                    } else {
                        out.extend_from_slice(&data);
                    }
                    if out.len() >= WRITE_BATCH {
                        if self.write.write_all(&out).await.is_err() {
                            return false;
                        }
                        out.clear();
                    }
                }
            }
        }
        if chunked {
            out.extend_from_slice(b"0\r\n\r\n");
        }
        if self.write.write_all(&out).await.is_err() {
            return false;
        }
        // A body shorter than its Content-Length leaves the client waiting: close to end it.
        remaining.is_none_or(|left| left == 0)
    }

    async fn reject(&mut self, rejection: &Rejection) {
        let _ = self.write.write_all(&refusal_bytes(rejection)).await;
    }
}

/// A plain-text answer the connection gives itself, then closes.
fn refusal_bytes(rejection: &Rejection) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(
        format!(
            "HTTP/1.1 {} {}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n\
             connection: close\r\n",
            rejection.status.as_str(),
            rejection.status.canonical_reason().unwrap_or(""),
            rejection.message.len() + 1,
        )
        .as_bytes(),
    );
    if let Some(seconds) = rejection.retry_after {
        push_field(&mut out, "retry-after", &HeaderValue::from(seconds));
    }
    push_date(&mut out);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(rejection.message.as_bytes());
    out.push(b'\n');
    out
}

/// What the connection answers itself when reading a body failed; nothing when the client left.
fn body_answer(stopped: &Stopped) -> Option<Rejection> {
    let Stopped::Failed(error) = stopped else {
        return None;
    };
    let status = match error.cause() {
        Cause::Closed => return None,
        Cause::Malformed => StatusCode::BAD_REQUEST,
        Cause::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Cause::Slow => StatusCode::REQUEST_TIMEOUT,
    };
    Some(head::reject(status, error.message()))
}

/// A request handed to the service, and what the connection must remember about it.
struct Exchange {
    feed: Option<Feed>,
    framing: Framing,
    keep_alive: bool,
    expect_continue: bool,
    is_head: bool,
    version: Version,
}

/// Calls the service with the request (synchronously, so the request is never part of the
/// connection's long-lived state).
fn start<S, B>(service: &mut S, head: Head) -> (Pin<Box<S::Future>>, Exchange)
where
    S: Service<Request<RequestBody>, Response = Response<B>, Error = Infallible>,
{
    let Head {
        request,
        framing,
        keep_alive,
        expect_continue,
    } = head;
    let (body, feed) = match framing {
        Framing::Empty => (RequestBody::empty(), None),
        Framing::Length(length) => {
            let (body, feed) = RequestBody::channel(Some(length));
            (body, Some(feed))
        }
        Framing::Chunked => {
            let (body, feed) = RequestBody::channel(None);
            (body, Some(feed))
        }
    };
    let exchange = Exchange {
        feed,
        framing,
        keep_alive,
        expect_continue,
        is_head: request.method() == Method::HEAD,
        version: request.version(),
    };
    (Box::pin(service.call(request.map(|()| body))), exchange)
}

/// How a response body goes on the wire.
#[derive(Clone, Copy)]
struct BodyFraming {
    length: Option<u64>,
    chunked: bool,
}

/// The response head, ready to send, the body with its framing (`None`: no body is sent), and
/// whether the connection stays open after it (not when the response says `Connection: close`
/// or its body is delimited by closing the connection).
fn response_head<B: http_body::Body>(
    response: Response<B>,
    is_head: bool,
    version: Version,
    mut keep_alive: bool,
) -> (Vec<u8>, B, Option<BodyFraming>, bool) {
    let (parts, body) = response.into_parts();
    let status = parts.status;
    let bodiless = status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    if head::has_token(&parts.headers, header::CONNECTION, "close") {
        keep_alive = false;
    }
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    let length = declared.or(body.size_hint().exact());
    let chunked = !bodiless && length.is_none() && version == Version::HTTP_11;
    if !bodiless && !is_head && length.is_none() && !chunked {
        // HTTP/1.0 and no length: the end of the connection ends the body.
        keep_alive = false;
    }

    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in &parts.headers {
        // Framing is this connection's business.
        if name == header::CONNECTION
            || name == header::TRANSFER_ENCODING
            || name == header::CONTENT_LENGTH
        {
            continue;
        }
        push_field(&mut out, name.as_str(), value);
    }
    if !parts.headers.contains_key(header::DATE) {
        push_date(&mut out);
    }
    if !bodiless {
        if let Some(length) = length {
            push_field(&mut out, "content-length", &HeaderValue::from(length));
        } else if chunked {
            out.extend_from_slice(b"transfer-encoding: chunked\r\n");
        }
    }
    if !keep_alive {
        out.extend_from_slice(b"connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    let framing = (!bodiless && !is_head).then_some(BodyFraming { length, chunked });
    (out, body, framing, keep_alive)
}

/// The reading side of the connection and what has been read but not yet used.
struct Input<'a> {
    read: ReadHalf<'a>,
    buf: BytesMut,
    pace: Pace,
}

/// How long a request body may keep the connection waiting on the client: no single pause
/// longer than `pause`, and in all no longer than `pause` plus what the bytes received so far
/// earn at `min_rate`, as Apache's mod_reqtimeout reckons it. Only waiting on the socket counts:
/// a service that reads slowly holds the client back, which is not the client's fault.
struct Pace {
    pause: Duration,
    /// Bytes per second; 0: no minimum.
    min_rate: u64,
    waited: Duration,
    received: u64,
}

impl Pace {
    fn new(pause: Duration, min_rate: u64) -> Pace {
        Pace {
            pause,
            min_rate,
            waited: Duration::ZERO,
            received: 0,
        }
    }

    /// A new body starts with the whole grace again.
    fn restart(&mut self) {
        self.waited = Duration::ZERO;
        self.received = 0;
    }

    /// How long the next read may wait, and the error when it waits that long in vain.
    fn next_wait(&self) -> (Duration, BodyError) {
        if self.min_rate == 0 {
            return (self.pause, BodyError::TIMED_OUT);
        }
        let earned =
            self.pause + Duration::from_secs_f64(self.received as f64 / self.min_rate as f64);
        match earned.saturating_sub(self.waited) {
            left if left < self.pause => (left, BodyError::TOO_SLOW),
            _ => (self.pause, BodyError::TIMED_OUT),
        }
    }
}

impl Input<'_> {
    /// Reads more into the buffer, telling the body's reader when the client leaves or stalls.
    async fn fill(&mut self, feed: &Feed, want: usize) -> Result<(), Stopped> {
        self.buf.reserve(want.clamp(1024, MAX_READ));
        let (wait, slow) = self.pace.next_wait();
        let started = Instant::now();
        let read = tokio::time::timeout(wait, self.read.read_buf(&mut self.buf)).await;
        self.pace.waited += started.elapsed();
        match read {
            Ok(Ok(read)) if read > 0 => {
                self.pace.received += read as u64;
                Ok(())
            }
            Ok(_) => Err(feed.fail(BodyError::CLOSED).await),
            Err(_) => Err(feed.fail(slow).await),
        }
    }

    /// Passes the next `length` body bytes to the service.
    async fn forward(&mut self, mut length: u64, feed: &Feed) -> Result<(), Stopped> {
        while length > 0 {
            if self.buf.is_empty() {
                self.fill(feed, usize::try_from(length).unwrap_or(usize::MAX))
                    .await?;
            }
            let take = self
                .buf
                .len()
                .min(usize::try_from(length).unwrap_or(usize::MAX));
            feed.send(self.buf.split_to(take).freeze()).await?;
            length -= take as u64;
        }
        Ok(())
    }

    /// After `readable`, keeps what a client sends while its response is being written (the next
    /// pipelined request). `Some(false)`: stop watching, enough is waiting. `None`: the client left.
    fn peek_while_busy(&mut self, max: usize) -> Option<bool> {
        let mut scratch = [0u8; 1024];
        match self.read.try_read(&mut scratch) {
            Ok(0) => None,
            Ok(read) => {
                self.buf.extend_from_slice(&scratch[..read]);
                Some(self.buf.len() < max)
            }
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => Some(true),
            Err(_) => None,
        }
    }

    /// Reads and drops what the client still sends, for a moment, before the connection closes.
    async fn discard(&mut self) {
        let mut budget: usize = 1024 * 1024;
        let _ = tokio::time::timeout(LINGER, async {
            loop {
                self.buf.clear();
                self.buf.reserve(4096);
                match self.read.read_buf(&mut self.buf).await {
                    Ok(read) if read > 0 && read <= budget => budget -= read,
                    _ => break,
                }
            }
        })
        .await;
    }
}

fn push_field(out: &mut Vec<u8>, name: &str, value: &HeaderValue) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// The `date` field, formatted once per second per thread.
fn push_date(out: &mut Vec<u8>) {
    thread_local! {
        static DATE: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = SystemTime::now();
    let second = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    DATE.with_borrow_mut(|(cached, text)| {
        if *cached != second {
            *cached = second;
            *text = httpdate::fmt_http_date(now);
        }
        out.extend_from_slice(b"date: ");
        out.extend_from_slice(text.as_bytes());
        out.extend_from_slice(b"\r\n");
    });
}
