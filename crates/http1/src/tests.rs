//! The connection on real sockets, driven by a raw TCP client so every byte on the wire is ours:
//! header case, framing, keep-alive and pipelining, `100 Continue`, malformed requests, streamed
//! responses, clients that leave, graceful shutdown, and what a client may hold (slow heads and
//! bodies, connections per address). Other clients connect from other loopback addresses.

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Extension, Router,
    body::Body,
    extract::{Request, State},
    http::StatusCode,
    routing::{any, get, post},
};
use bytes::Bytes;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpSocket, TcpStream},
    sync::{Notify, mpsc, oneshot},
};

use crate::{Options, OriginalHeaders, serve};

/// What the test routes share with the test: a streamed body's frames and its drop signal, and a
/// gate that holds the `/slow` answer.
#[derive(Clone, Default)]
struct Shared {
    stream: Arc<Mutex<Option<StreamParts>>>,
    gate: Arc<Notify>,
    entered: Arc<Notify>,
    /// Every body `/limited` read to its end.
    complete_bodies: Arc<Mutex<Vec<Bytes>>>,
}

/// The frames `/stream` sends and where it signals being dropped.
type StreamParts = (mpsc::Receiver<Bytes>, oneshot::Sender<()>);

/// Signals when the streamed body is dropped (the connection let go of the response).
struct DropSignal(Option<oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(signal) = self.0.take() {
            let _ = signal.send(());
        }
    }
}

async fn echo(Extension(original): Extension<OriginalHeaders>, request: Request) -> String {
    let (parts, body) = request.into_parts();
    let mut text = format!("{} {}\n", parts.method, parts.uri);
    for (name, value) in &original.0 {
        text.push_str(&format!("{name}: {}\n", value.to_str().unwrap_or("?")));
    }
    match axum::body::to_bytes(body, usize::MAX).await {
        Ok(body) => text.push_str(&format!("body: {}", String::from_utf8_lossy(&body))),
        Err(error) => text.push_str(&format!("body error: {error}")),
    }
    text
}

async fn stream(State(shared): State<Shared>) -> Body {
    let (frames, dropped) = shared.stream.lock().unwrap().take().expect("one stream");
    let state = (frames, DropSignal(Some(dropped)));
    Body::from_stream(futures_util::stream::unfold(
        state,
        |(mut frames, signal)| async move {
            let frame = frames.recv().await?;
            Some((Ok::<_, std::io::Error>(frame), (frames, signal)))
        },
    ))
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/echo", any(echo))
        .route("/hello", get(|| async { "hello" }))
        .route(
            "/refuse",
            post(|| async { (StatusCode::PAYLOAD_TOO_LARGE, "too large") }),
        )
        .route(
            "/limited",
            // As the relay reads a hook: at most a few bytes, any body error answered 413.
            post(|State(shared): State<Shared>, body: Body| async move {
                match axum::body::to_bytes(body, 8).await {
                    Ok(body) => {
                        shared.complete_bodies.lock().unwrap().push(body);
                        (StatusCode::OK, "read")
                    }
                    Err(_) => (StatusCode::PAYLOAD_TOO_LARGE, "body larger than 8 bytes"),
                }
            }),
        )
        .route("/stream", get(stream))
        .route(
            "/bye",
            get(|| async { (StatusCode::NO_CONTENT, [("connection", "close")]) }),
        )
        .route(
            "/slow",
            get(|State(shared): State<Shared>| async move {
                shared.entered.notify_one();
                shared.gate.notified().await;
                "done"
            }),
        )
        .with_state(shared)
}

struct TestServer {
    addr: String,
    shared: Shared,
    stop: Option<oneshot::Sender<()>>,
    stopped: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

async fn start(options: Options) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address").to_string();
    let shared = Shared::default();
    let (stop, stopping) = oneshot::channel::<()>();
    let app = router(shared.clone());
    let stopped = tokio::spawn(serve(listener, app, options, async move {
        let _ = stopping.await;
    }));
    TestServer {
        addr,
        shared,
        stop: Some(stop),
        stopped: Some(stopped),
    }
}

impl TestServer {
    async fn connect(&self) -> Client {
        Client {
            stream: TcpStream::connect(&self.addr).await.expect("connect"),
            buf: Vec::new(),
        }
    }

    /// A connection from another client: `127.0.0.<last>`, still loopback.
    async fn connect_from(&self, last: u8) -> Client {
        let socket = TcpSocket::new_v4().expect("socket");
        let from = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, last)), 0);
        socket.bind(from).expect("bind a loopback source address");
        let to: SocketAddr = self.addr.parse().expect("address");
        Client {
            stream: socket.connect(to).await.expect("connect"),
            buf: Vec::new(),
        }
    }

    /// Sends `request` on a new connection; asserts the connection answers it with `status` and
    /// `message` itself, then closes.
    async fn refused(&self, request: &[u8], status: u16, message: &str) {
        let mut client = self.connect().await;
        client.send(request).await;
        let answer = client.answer().await;
        assert_eq!(
            (answer.status, answer.text()),
            (status, format!("{message}\n")),
            "{}",
            String::from_utf8_lossy(request)
        );
        assert_eq!(answer.header("connection"), Some("close"));
        client.closed().await;
    }

    /// Starts a graceful shutdown; `finished` waits for `serve` to return.
    fn shut_down(&mut self) {
        let _ = self.stop.take().expect("running").send(());
    }

    async fn finished(&mut self) {
        self.stopped
            .take()
            .expect("running")
            .await
            .expect("serve task")
            .expect("serve");
    }
}

/// A response as read off the wire.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("UTF-8 body")
    }
}

struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    async fn more(&mut self) -> usize {
        let mut chunk = [0u8; 4096];
        let read = self.stream.read(&mut chunk).await.expect("read");
        self.buf.extend_from_slice(&chunk[..read]);
        read
    }

    /// Reads one response head, then its body as it is framed. `bodyless` for answers to HEAD.
    async fn answer_to(&mut self, bodyless: bool) -> Answer {
        let (status, headers, length) = loop {
            let mut fields = [httparse::EMPTY_HEADER; 64];
            let mut parsed = httparse::Response::new(&mut fields);
            if let httparse::Status::Complete(length) = parsed.parse(&self.buf).expect("valid") {
                let headers = parsed
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_owned(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect::<Vec<_>>();
                break (parsed.code.expect("status"), headers, length);
            }
            assert!(self.more().await > 0, "connection closed before a response");
        };
        self.buf.drain(..length);
        let mut answer = Answer {
            status,
            headers,
            body: Vec::new(),
        };
        if bodyless || status == 100 || status == 204 {
            return answer;
        }
        if answer.header("transfer-encoding") == Some("chunked") {
            loop {
                let size = loop {
                    if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                        let line = String::from_utf8(self.buf[..end].to_vec()).expect("size");
                        self.buf.drain(..end + 2);
                        break usize::from_str_radix(&line, 16).expect("hex size");
                    }
                    assert!(self.more().await > 0, "closed inside a chunked body");
                };
                while self.buf.len() < size + 2 {
                    assert!(self.more().await > 0, "closed inside a chunk");
                }
                answer.body.extend(self.buf.drain(..size));
                assert_eq!(self.buf.drain(..2).collect::<Vec<_>>(), b"\r\n");
                if size == 0 {
                    return answer;
                }
            }
        }
        let length: usize = answer
            .header("content-length")
            .expect("a length or chunked")
            .parse()
            .expect("numeric length");
        while self.buf.len() < length {
            assert!(self.more().await > 0, "closed inside the body");
        }
        answer.body = self.buf.drain(..length).collect();
        answer
    }

    async fn answer(&mut self) -> Answer {
        self.answer_to(false).await
    }

    /// Reads a response head, leaving its body unread (for streamed answers).
    async fn head_only(&mut self) -> String {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                self.buf.drain(..end + 4);
                return head;
            }
            assert!(self.more().await > 0, "closed before a response head");
        }
    }

    /// Reads one chunk of a chunked body as it arrives.
    async fn chunk(&mut self) -> Vec<u8> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let size =
                    usize::from_str_radix(std::str::from_utf8(&self.buf[..end]).expect("size"), 16)
                        .expect("hex");
                if self.buf.len() >= end + 2 + size + 2 {
                    let chunk = self.buf[end + 2..end + 2 + size].to_vec();
                    self.buf.drain(..end + 2 + size + 2);
                    return chunk;
                }
            }
            assert!(self.more().await > 0, "closed inside a chunked body");
        }
    }

    /// Asks for `/hello` and checks the answer: the connection serves requests.
    async fn hello(&mut self) {
        self.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert_eq!(self.answer().await.text(), "hello");
    }

    /// Sends `bytes` one at a time, `every` apart, until the server answers or closes.
    async fn trickle(&mut self, bytes: &[u8], every: Duration) {
        for byte in bytes {
            if self.stream.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::select! {
                _ = self.stream.readable() => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    }

    /// Asserts the server closes the connection with nothing more to say.
    async fn closed(&mut self) {
        assert_eq!(self.more().await, 0, "expected the connection to close");
        assert!(self.buf.is_empty(), "left over: {:?}", self.buf);
    }
}

#[tokio::test]
async fn header_names_keep_their_case_and_order() {
    let server = start(Options::default()).await;
    let mut client = server.connect().await;
    client
        .send(
            b"POST /echo?a=1&b=%20 HTTP/1.1\r\nHost: x\r\nX-Particle-Event: t\r\n\
              content-TYPE: text/plain\r\nx-particle-event: second\r\nContent-Length: 5\r\n\r\nhello",
        )
        .await;
    let answer = client.answer().await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.text(),
        "POST /echo?a=1&b=%20\nHost: x\nX-Particle-Event: t\ncontent-TYPE: text/plain\n\
         x-particle-event: second\nContent-Length: 5\nbody: hello"
    );
    assert!(answer.header("date").is_some());
}

#[tokio::test]
async fn keep_alive_and_pipelined_requests_are_answered_in_order() {
    let server = start(Options::default()).await;
    let mut client = server.connect().await;
    client
        .send(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\none\
              GET /hello HTTP/1.1\r\nHost: x\r\n\r\n\
              POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\ntwo",
        )
        .await;
    assert!(client.answer().await.text().ends_with("body: one"));
    assert_eq!(client.answer().await.text(), "hello");
    assert!(client.answer().await.text().ends_with("body: two"));
    // The connection is still usable, request after request.
    client.hello().await;
}

#[tokio::test]
async fn a_body_may_arrive_in_pieces() {
    let server = start(Options::default()).await;
    let mut client = server.connect().await;
    client
        .send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhel")
        .await;
    tokio::task::yield_now().await;
    client.send(b"lo ").await;
    client.send(b"world").await;
    assert!(client.answer().await.text().ends_with("body: hello world"));
}

#[tokio::test]
async fn chunked_bodies_with_extensions_and_trailers() {
    let server = start(Options::default()).await;
    let mut client = server.connect().await;
    client
        .send(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
              5;name=value\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n\
              GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .await;
    assert!(
        client
            .answer()
            .await
            .text()
            .ends_with("body: hello 0123456789")
    );
    assert_eq!(client.answer().await.text(), "hello");
}

#[tokio::test]
async fn continue_is_sent_once_the_service_reads_the_body() {
    let server = start(Options::default()).await;
    let mut client = server.connect().await;
    client
        .send(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
        )
        .await;
    let interim = client.answer().await;
    assert_eq!(interim.status, 100);
    client.send(b"data").await;
    assert!(client.answer().await.text().ends_with("body: data"));
}

#[tokio::test]
async fn a_body_refused_on_its_headers_is_never_asked_for() {
    let server = start(Options::default()).await;
    let mut client = server.connect().await;
    client
        .send(b"POST /refuse HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 99999999\r\n\r\n")
        .await;
    let answer = client.answer().await;
    assert_eq!(answer.status, 413);
    assert_eq!(answer.text(), "too large");
    // The body was never read, so the connection cannot carry another request.
    assert_eq!(answer.header("connection"), Some("close"));
    client.closed().await;
}

#[tokio::test]
async fn a_truncated_body_is_an_error_to_the_service_not_a_short_body() {
    let server = start(Options::default()).await;
    let mut client = server.connect().await;
    client
        .send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf")
        .await;
    client.stream.shutdown().await.expect("half close");
    let answer = client.answer().await;
    assert!(
        answer
            .text()
            .ends_with("body error: the client closed the connection before the body ended"),
        "{}",
        answer.text()
    );
}

#[tokio::test]
async fn malformed_requests_get_a_clear_status_and_the_connection_closes() {
    let server = start(Options {
        max_head_bytes: 2048,
        ..Options::default()
    })
    .await;
    let many_fields: String = (0..101).map(|i| format!("X-{i}: v\r\n")).collect();
    let long_field = format!("X-Long: {}\r\n", "v".repeat(4096));
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (b"NOT HTTP\r\n\r\n".to_vec(), 400, "malformed request head"),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                .to_vec(),
            400,
            "both Content-Length and Transfer-Encoding",
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n".to_vec(),
            400,
            "conflicting Content-Length values",
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\n".to_vec(),
            400,
            "invalid Content-Length",
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n".to_vec(),
            501,
            "only the chunked transfer coding is supported",
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n".to_vec(),
            400,
            "Transfer-Encoding must end with chunked",
        ),
        (
            format!("GET /hello HTTP/1.1\r\nHost: x\r\n{many_fields}\r\n").into_bytes(),
            431,
            "too many header fields",
        ),
        (
            format!("GET /hello HTTP/1.1\r\nHost: x\r\n{long_field}").into_bytes(),
            431,
            "request head too large",
        ),
    ];
    for (request, status, message) in cases {
        server.refused(&request, status, message).await;
    }
}

/// The attacker's report: malformed chunked framing was answered by the service as if the body
/// were too large (413), or accepted. It is the connection's to refuse, 400, whatever the service
/// would have said, and the service never gets such a body as if it were whole.
#[tokio::test]
async fn malformed_chunked_bodies_are_refused_400_by_the_connection() {
    let server = start(Options::default()).await;
    let long_trailer = format!("0\r\nX-Long: {}\r\n\r\n", "v".repeat(4096));
    let cases: Vec<(&[u8], &str)> = vec![
        (b"zz\r\nhello\r\n0\r\n\r\n", INVALID_SIZE),
        (b"-5\r\nhello\r\n0\r\n\r\n", INVALID_SIZE),
        (b"0x5\r\nhello\r\n0\r\n\r\n", INVALID_SIZE),
        (b"+5\r\nhello\r\n0\r\n\r\n", INVALID_SIZE),
        (b" 5\r\nhello\r\n0\r\n\r\n", INVALID_SIZE),
        (b"5 \r\nhello\r\n0\r\n\r\n", INVALID_SIZE),
        (
            b"5\r\nhello world\r\n0\r\n\r\n",
            "chunk data longer than its chunk-size (no CRLF after it)",
        ),
        (
            long_trailer.as_bytes(),
            "trailer section larger than 4096 bytes",
        ),
        (b"5\nhello\r\n0\r\n\r\n", BARE_LF),
        (b"5\r\nhello\n0\r\n\r\n", BARE_LF),
        (b"5\r\nhello\r\n0\n\n", BARE_LF),
        (b"5\r\nhello\r\n0\r\n\n", BARE_LF),
        (b"5;a\rb\r\nhello\r\n0\r\n\r\n", "invalid chunk extension"),
        (b"5;=b\r\nhello\r\n0\r\n\r\n", "invalid chunk extension"),
        (
            b"5\r\nhello\r\n0\r\nno field\r\n\r\n",
            "invalid trailer field",
        ),
    ];
    for (body, message) in cases {
        let mut request =
            b"POST /limited HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        request.extend_from_slice(body);
        server.refused(&request, 400, message).await;
    }
    assert_eq!(
        *server.shared.complete_bodies.lock().unwrap(),
        [] as [Bytes; 0]
    );
    // A well-formed body still reaches the service, extensions, trailers and all...
    let mut client = server.connect().await;
    client
        .send(
            b"POST /limited HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
              3 ; a = b ; c=\"d \\\" e\"\r\nabc\r\n0;last\r\nX-T: 1\r\nY:\r\n\r\n",
        )
        .await;
    assert_eq!(client.answer().await.text(), "read");
    assert_eq!(*server.shared.complete_bodies.lock().unwrap(), ["abc"]);
    // ...and one larger than the service takes is still the service's 413.
    let mut client = server.connect().await;
    client
        .send(
            b"POST /limited HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
              9\r\n123456789\r\n0\r\n\r\n",
        )
        .await;
    let answer = client.answer().await;
    assert_eq!(
        (answer.status, answer.text()),
        (413, "body larger than 8 bytes".to_owned())
    );
}

/// L4: a hook sent as a million one-byte chunks, or as kilobytes of chunk extensions around a
/// little data, cost the server a frame per chunk and a read of every byte while only the data
/// was bounded. The chunks, and the bytes of chunk-size lines beyond the size, are bounded per
/// body, and a body beyond them is answered 413 by the connection, never handed on whole.
#[tokio::test]
async fn chunked_bodies_beyond_the_framing_bounds_are_refused_413_by_the_connection() {
    let server = start(Options::default()).await;
    let chunks = |count: usize, line: &dyn Fn(usize) -> String| {
        let mut body = String::new();
        for at in 0..count {
            body.push_str(&format!("{}\r\nx\r\n", line(at)));
        }
        body.push_str("0\r\n\r\n");
        body
    };
    let request = |body: &str| {
        format!("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{body}")
            .into_bytes()
    };
    let too_many = chunks(4097, &|_| "1".to_owned());
    // Lines of 2 KiB each, well under the line bound, but over 4 KiB together.
    let extensions = chunks(3, &|at| format!("1;e{at}={}", "v".repeat(2000)));
    let zeros = chunks(3, &|_| format!("{}1", "0".repeat(2000)));
    let cases = [
        (&too_many, "request body in more than 4096 chunks"),
        (
            &extensions,
            "chunk extensions and padding over 4096 bytes in all",
        ),
        (
            &zeros,
            "chunk extensions and padding over 4096 bytes in all",
        ),
    ];
    for (body, message) in cases {
        server.refused(&request(body), 413, message).await;
    }
    // At the bounds, a body still reaches the service whole.
    // 4096 chunks, and 2047 + 2047 + 2 bytes beyond their sizes.
    let at_the_bounds = chunks(4096, &|at| match at {
        0 | 1 => format!("1;e={}", "v".repeat(2044)),
        2 => "1;a".to_owned(),
        _ => "1".to_owned(),
    });
    let mut client = server.connect().await;
    client.send(&request(&at_the_bounds)).await;
    let answer = client.answer().await;
    assert_eq!(answer.status, 200);
    assert!(
        answer
            .text()
            .ends_with(&format!("body: {}", "x".repeat(4096)))
    );
}

const INVALID_SIZE: &str = "invalid chunk-size: expected hex digits (no sign, no 0x, no spaces)";
const BARE_LF: &str = "a line in the chunked body ends in LF without CR";

#[tokio::test]
async fn an_empty_transfer_encoding_beside_a_content_length_is_refused() {
    let server = start(Options::default()).await;
    for request in [
        &b"POST /limited HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\nContent-Length: 5\r\n\r\nhello"[..],
        b"POST /limited HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: \r\n\r\nhello",
    ] {
        server
            .refused(request, 400, "both Content-Length and Transfer-Encoding")
            .await;
    }
    server
        .refused(
            b"POST /limited HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ,\r\n\r\n",
            400,
            "empty Transfer-Encoding",
        )
        .await;
    server
        .refused(
            b"POST /limited HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\
              Transfer-Encoding: chunked\r\n\r\n",
            400,
            "chunked may be applied only once",
        )
        .await;
    assert_eq!(
        *server.shared.complete_bodies.lock().unwrap(),
        [] as [Bytes; 0]
    );
}

/// RFC 9112 section 3.2: exactly one valid `Host` in HTTP/1.1; HTTP/1.0 may omit it.
#[tokio::test]
async fn http_1_1_requests_need_exactly_one_valid_host() {
    let server = start(Options::default()).await;
    let cases: [(&[u8], &str); 4] = [
        (
            b"GET /hello HTTP/1.1\r\n\r\n",
            "an HTTP/1.1 request needs a Host header field",
        ),
        (
            b"GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            "more than one Host header field",
        ),
        (
            b"GET /hello HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n",
            "more than one Host header field",
        ),
        (
            b"GET /hello HTTP/1.1\r\nHost: user@evil\r\n\r\n",
            "invalid Host header field",
        ),
    ];
    for (request, message) in cases {
        server.refused(request, 400, message).await;
    }
    for request in [
        &b"GET /hello HTTP/1.1\r\nHost: example.com:8080\r\n\r\n"[..],
        b"GET /hello HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
        b"GET /hello HTTP/1.1\r\nHost:\r\n\r\n",
        b"GET /hello HTTP/1.0\r\n\r\n",
    ] {
        let mut client = server.connect().await;
        client.send(request).await;
        assert_eq!(
            client.answer().await.text(),
            "hello",
            "{}",
            String::from_utf8_lossy(request)
        );
    }
}

/// CONNECT reached the file router and was answered 200; targets only CONNECT may use are
/// refused too, and the forms a server must take still reach the service.
#[tokio::test]
async fn connect_and_authority_form_targets_are_refused_by_the_connection() {
    let server = start(Options::default()).await;
    let connect = "CONNECT is not supported: this server is not a proxy";
    let cases: [(&[u8], u16, &str); 4] = [
        (
            b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
            501,
            connect,
        ),
        (b"CONNECT /hello HTTP/1.1\r\nHost: x\r\n\r\n", 501, connect),
        (
            b"GET example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n",
            400,
            "invalid request target: expected a path starting with / or an absolute URL",
        ),
        (
            b"GET * HTTP/1.1\r\nHost: x\r\n\r\n",
            400,
            "the * request target is only for OPTIONS",
        ),
    ];
    for (request, status, message) in cases {
        server.refused(request, status, message).await;
    }
    let mut client = server.connect().await;
    client
        .send(
            b"GET http://x/hello HTTP/1.1\r\nHost: x\r\n\r\nOPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .await;
    assert_eq!(client.answer().await.text(), "hello");
    // Not the connection's refusal: the service had its say (the router knows no `*`).
    let options = client.answer().await;
    assert_eq!(options.status, 404);
    assert_eq!(options.header("connection"), None);
}

#[tokio::test]
async fn head_answers_carry_the_length_but_no_body() {
    let server = start(Options::default()).await;
    let mut client = server.connect().await;
    client
        .send(b"HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let head = client.answer_to(true).await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("5"));
    // The very next bytes are the second answer: the HEAD answer had no body.
    assert_eq!(client.answer().await.text(), "hello");
}

#[tokio::test]
async fn http_1_0_connections_close_after_one_answer() {
    let server = start(Options::default()).await;
    let mut client = server.connect().await;
    client.send(b"GET /hello HTTP/1.0\r\n\r\n").await;
    let answer = client.answer().await;
    assert_eq!(answer.text(), "hello");
    assert_eq!(answer.header("connection"), Some("close"));
    client.closed().await;
}

#[tokio::test]
async fn connection_close_is_honoured() {
    let server = start(Options::default()).await;
    let mut client = server.connect().await;
    client
        .send(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    assert_eq!(client.answer().await.text(), "hello");
    client.closed().await;
}

#[tokio::test]
async fn an_answer_saying_connection_close_closes_it_even_without_a_body() {
    let server = start(Options::default()).await;
    let mut client = server.connect().await;
    client.send(b"GET /bye HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let answer = client.answer().await;
    assert_eq!(answer.status, 204);
    assert_eq!(answer.header("connection"), Some("close"));
    // Closed at once, not after the two-minute idle timeout.
    tokio::time::timeout(Duration::from_secs(5), client.closed())
        .await
        .expect("the connection closed after the answer");
}

#[tokio::test]
async fn a_streamed_answer_goes_out_frame_by_frame_and_stops_when_the_client_leaves() {
    let server = start(Options::default()).await;
    let (frames, receiver) = mpsc::channel(4);
    let (dropped, body_dropped) = oneshot::channel();
    *server.shared.stream.lock().unwrap() = Some((receiver, dropped));
    let mut client = server.connect().await;
    client
        .send(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    frames.send(Bytes::from_static(b"first")).await.unwrap();
    // The head and the first frame arrive before there is a second frame.
    let head = client.head_only().await;
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert_eq!(client.chunk().await, b"first");
    frames.send(Bytes::from_static(b"second")).await.unwrap();
    assert_eq!(client.chunk().await, b"second");
    // The client goes away while the stream is idle: the response is dropped without a write.
    drop(client);
    tokio::time::timeout(Duration::from_secs(10), body_dropped)
        .await
        .expect("the connection noticed the client leaving")
        .expect("signal");
}

#[tokio::test]
async fn graceful_shutdown_closes_idle_connections_and_finishes_requests_in_flight() {
    let mut server = start(Options::default()).await;
    let mut idle = server.connect().await;
    idle.hello().await;
    let mut busy = server.connect().await;
    busy.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n").await;
    server.shared.entered.notified().await;

    server.shut_down();
    idle.closed().await;
    // New connections are no longer accepted once the listener is gone...
    server.shared.gate.notify_one();
    // ...and the request in flight still gets its whole answer, then the connection closes.
    let answer = busy.answer().await;
    assert_eq!(answer.text(), "done");
    assert_eq!(answer.header("connection"), Some("close"));
    busy.closed().await;
    server.finished().await;
    assert!(TcpStream::connect(&server.addr).await.is_err());
}

#[tokio::test]
async fn an_idle_connection_times_out() {
    let server = start(Options {
        idle_timeout: Duration::from_millis(100),
        ..Options::default()
    })
    .await;
    let mut client = server.connect().await;
    client.hello().await;
    client.closed().await;
}

#[tokio::test]
async fn a_request_pipelined_behind_a_stream_is_answered_when_the_stream_ends() {
    let server = start(Options::default()).await;
    let (frames, receiver) = mpsc::channel(4);
    let (dropped, _body_dropped) = oneshot::channel();
    *server.shared.stream.lock().unwrap() = Some((receiver, dropped));
    let mut client = server.connect().await;
    client
        .send(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    frames.send(Bytes::from_static(b"first")).await.unwrap();
    client.head_only().await;
    assert_eq!(client.chunk().await, b"first");
    // The next request arrives while the stream waits for its next frame: the connection keeps
    // it and answers it once the stream ends.
    client.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n").await;
    frames.send(Bytes::from_static(b"last")).await.unwrap();
    drop(frames);
    assert_eq!(client.chunk().await, b"last");
    assert_eq!(client.chunk().await, b"");
    assert_eq!(client.answer().await.text(), "hello");
}

#[tokio::test]
async fn a_stalled_request_head_times_out() {
    let server = start(Options {
        read_timeout: Duration::from_millis(100),
        ..Options::default()
    })
    .await;
    let mut client = server.connect().await;
    client.send(b"GET /hello HTTP/1.1\r\nHost: exa").await;
    client.closed().await;
}

#[tokio::test]
async fn large_bodies_pass_whole_in_both_directions() {
    let server = start(Options::default()).await;
    let mut client = server.connect().await;
    let body: Vec<u8> = (0..1024 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
    let head = format!(
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let (mut read, mut write) = client.stream.split();
    // Send and read at once: neither side may wait for the other to finish.
    let sending = async {
        write.write_all(head.as_bytes()).await.expect("head");
        write.write_all(&body).await.expect("body");
    };
    let mut received = Vec::new();
    let receiving = async {
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = read.read(&mut chunk).await.expect("read");
            received.extend_from_slice(&chunk[..n]);
            if n == 0 || received.ends_with(&body[body.len() - 64..]) {
                break;
            }
        }
    };
    tokio::join!(sending, receiving);
    client.buf = received;
    let answer = client.answer().await;
    assert_eq!(answer.status, 200);
    assert!(answer.body.ends_with(&body), "the echoed body differs");
}

/// Slowloris: the per-read timeout let a head sent a byte at a time hold a connection for as long
/// as the client liked. The whole head now has `head_timeout` from its first byte.
#[tokio::test]
async fn a_head_trickled_a_byte_at_a_time_is_cut_off_at_the_head_timeout() {
    let server = start(Options {
        head_timeout: Duration::from_millis(300),
        read_timeout: Duration::from_secs(10),
        ..Options::default()
    })
    .await;
    let mut client = server.connect().await;
    let head = format!(
        "GET /hello HTTP/1.1\r\nHost: x\r\nX-Pad: {}\r\n\r\n",
        "p".repeat(40)
    );
    let started = Instant::now();
    // About three seconds in all, a byte every 50 ms: each pause far below the read timeout.
    tokio::time::timeout(Duration::from_secs(2), async {
        client
            .trickle(head.as_bytes(), Duration::from_millis(50))
            .await;
        client.closed().await;
    })
    .await
    .expect("the connection closed before the head was complete");
    assert!(started.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn the_head_timeout_starts_at_the_first_byte_not_while_idle() {
    let server = start(Options {
        head_timeout: Duration::from_millis(200),
        ..Options::default()
    })
    .await;
    let mut client = server.connect().await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    client.hello().await;
    // Kept alive and idle for longer than a head may take: still served.
    tokio::time::sleep(Duration::from_millis(400)).await;
    client.hello().await;
}

/// A body that never pauses for long but arrives far below the minimum rate was read for as long
/// as the client liked; the connection now answers 408 in the service's place.
#[tokio::test]
async fn a_body_trickled_below_the_minimum_rate_is_answered_408() {
    let server = start(Options {
        read_timeout: Duration::from_millis(300),
        min_body_rate: 100,
        ..Options::default()
    })
    .await;
    let mut client = server.connect().await;
    client
        .send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        .await;
    // Ten bytes a second against a minimum of a hundred, each pause a third of the read timeout.
    let answer = tokio::time::timeout(Duration::from_secs(3), async {
        client
            .trickle(&[b'b'; 100], Duration::from_millis(100))
            .await;
        client.answer().await
    })
    .await
    .expect("answered before the body was complete");
    assert_eq!(
        (answer.status, answer.text()),
        (408, "the request body arrived too slowly\n".to_owned())
    );
    assert_eq!(answer.header("connection"), Some("close"));
}

/// A body that stops was an error only the service saw (and the relay called it too large).
#[tokio::test]
async fn a_body_that_stops_is_answered_408_by_the_connection() {
    let server = start(Options {
        read_timeout: Duration::from_millis(200),
        ..Options::default()
    })
    .await;
    server
        .refused(
            b"POST /limited HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhel",
            408,
            "the client stopped sending the body",
        )
        .await;
}

/// Slowloris from one address: each connection it holds is one descriptor fewer for everyone.
/// Beyond the cap it is refused at once, before any head, and others are not.
#[tokio::test]
async fn connections_beyond_the_per_client_cap_are_refused_at_once_with_503() {
    let server = start(Options {
        max_connections_per_client: 2,
        ..Options::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut client = server.connect().await;
        client.hello().await;
        held.push(client);
    }
    let mut refused = server.connect().await;
    let answer = tokio::time::timeout(Duration::from_secs(5), refused.answer())
        .await
        .expect("refused without sending a request");
    assert_eq!(
        (answer.status, answer.text()),
        (
            503,
            "too many open connections from your address; close some and retry\n".to_owned()
        )
    );
    assert_eq!(answer.header("retry-after"), Some("5"));
    assert_eq!(answer.header("connection"), Some("close"));
    refused.closed().await;
    // Another address is another client.
    let mut other = server.connect_from(2).await;
    other.hello().await;
    // A connection closed gives its place back.
    drop(held.pop());
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let mut client = server.connect().await;
            client.send(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n").await;
            if client.answer().await.status == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("a place freed");
}

#[tokio::test]
async fn connections_beyond_the_total_cap_are_refused_with_503() {
    let server = start(Options {
        max_connections: 2,
        max_connections_per_client: 0,
        ..Options::default()
    })
    .await;
    let mut held = Vec::new();
    for last in [2, 3] {
        let mut client = server.connect_from(last).await;
        client.hello().await;
        held.push(client);
    }
    let mut refused = server.connect_from(4).await;
    let answer = tokio::time::timeout(Duration::from_secs(5), refused.answer())
        .await
        .expect("refused without sending a request");
    assert_eq!(
        (answer.status, answer.text()),
        (
            503,
            "the server has too many open connections; retry later\n".to_owned()
        )
    );
    refused.closed().await;
}

/// A client is an IPv4 address or an IPv6 /64, however it is written.
#[test]
fn clients_are_counted_by_ipv4_address_or_ipv6_64() {
    let clients = crate::clients::Clients::new(1, 0);
    let ip = |text: &str| text.parse::<IpAddr>().expect("an address");
    let first = clients.admit(ip("2001:db8::1")).expect("first of its /64");
    assert!(clients.admit(ip("2001:db8::ffff:2")).is_err(), "same /64");
    let _other = clients.admit(ip("2001:db8:0:1::1")).expect("another /64");
    let _v4 = clients
        .admit(ip("127.0.0.1"))
        .expect("first from 127.0.0.1");
    assert!(
        clients.admit(ip("::ffff:127.0.0.1")).is_err(),
        "IPv4 mapped into IPv6 is the same client"
    );
    drop(first);
    clients
        .admit(ip("2001:db8::3"))
        .expect("a place given back");
}
