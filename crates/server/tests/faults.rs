//! The relay on Redis with real parts, as an operator runs it: `webhook-demo serve --store
//! redis://…` in processes of their own, on Debian's `redis-server`. An instance killed with
//! SIGKILL while a page streams from it loses the page nothing and shows it nothing twice; ten
//! thousand idle streams on one instance cost no more Redis connections than one.

use std::{
    collections::HashMap,
    process::Stdio,
    sync::{Arc, Mutex},
};

use eventsource_stream::Eventsource;
use futures_util::{Stream, StreamExt};
use serde_json::Value;
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
    process::{Child, Command},
};

#[path = "../../relay/tests/support/redis.rs"]
mod redis;

use redis::RedisServer;

/// `webhook-demo serve` in its own process; killed with SIGKILL when dropped.
struct Instance {
    /// `http://ADDR`, without a trailing slash.
    url: String,
    addr: String,
    child: Child,
}

impl Instance {
    async fn start(redis: &RedisServer, flags: &[&str]) -> Instance {
        let mut child = Command::new(env!("CARGO_BIN_EXE_webhook-demo"))
            .args(["serve", "--addr", "127.0.0.1:0", "--no-sandbox", "--store"])
            .arg(redis.url())
            .args(flags)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("starting webhook-demo");
        let stdout = child.stdout.take().expect("piped");
        // It prints its address once it listens.
        let line = BufReader::new(stdout)
            .lines()
            .next_line()
            .await
            .expect("reading its output")
            .expect("an address line");
        let url = line
            .rsplit(' ')
            .next()
            .expect("a URL")
            .trim_end_matches('/')
            .to_owned();
        let addr = url.trim_start_matches("http://").to_owned();
        Instance { url, addr, child }
    }

    /// SIGKILL: no shutdown, no goodbye to Redis or to any client.
    async fn kill(mut self) {
        self.child.start_kill().expect("SIGKILL");
        self.child.wait().await.expect("reaped");
    }
}

type Events = std::pin::Pin<Box<dyn Stream<Item = eventsource_stream::Event> + Send>>;

async fn stream(client: &reqwest::Client, url: &str, last_event_id: Option<&str>) -> Events {
    let mut request = client.get(url);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    let response = request.send().await.expect("stream opens");
    assert_eq!(response.status(), 200);
    Box::pin(
        response
            .bytes_stream()
            .eventsource()
            .scan((), |(), event| std::future::ready(event.ok())),
    )
}

#[tokio::test]
async fn an_instance_killed_mid_stream_loses_the_page_nothing() {
    let redis = RedisServer::start();
    let a = Instance::start(&redis, &["--relay-hook-rate", "0"]).await;
    let b = Instance::start(&redis, &["--relay-hook-rate", "0"]).await;
    let client = reqwest::Client::new();
    let mut events = stream(&client, &format!("{}/relay/stream", a.url), None).await;
    let start: Value =
        serde_json::from_str(&events.next().await.expect("start").data).expect("start data");
    let session = start["sessionId"].as_str().expect("sessionId").to_owned();
    let path = start["hookUrl"]
        .as_str()
        .and_then(|url| url.split_once("/relay/"))
        .expect("hookUrl")
        .1
        .to_owned();

    // Hooks go to both instances in turn, one after the other, the whole time; a hook whose
    // instance is gone is not sent again (its sender was never answered).
    let answered: Arc<Mutex<Vec<u64>>> = Arc::default();
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let sender = tokio::spawn({
        let (client, answered) = (client.clone(), Arc::clone(&answered));
        let bases = [a.url.clone(), b.url.clone()];
        async move {
            let mut n = 0u64;
            loop {
                let base = &bases[(n % 2) as usize];
                let sent = client
                    .post(format!("{base}/relay/{path}"))
                    .body(n.to_string())
                    .send()
                    .await;
                if sent.is_ok_and(|r| r.status().is_success()) {
                    answered.lock().expect("not poisoned").push(n);
                }
                n += 1;
                if stopped.try_recv().is_ok() {
                    return;
                }
            }
        }
    });

    // The page reads from A until it has seen 50 hooks; then A is killed mid-stream.
    let mut seen: Vec<u64> = Vec::new();
    let mut last_id = String::from("0");
    while seen.len() < 50 {
        let event = events.next().await.expect("an event from A");
        read(event, &mut seen, &mut last_id);
    }
    a.kill().await;
    // What A had sent before it died, up to where the stream broke off.
    while let Some(event) = events.next().await {
        read(event, &mut seen, &mut last_id);
    }
    // The sender goes on with B alone for 50 more hooks, then stops.
    let sent_before = answered.lock().expect("not poisoned").len();
    let mut resumed = stream(
        &client,
        &format!("{}/relay/stream?session={session}", b.url),
        Some(&last_id),
    )
    .await;
    let start = resumed.next().await.expect("start on B");
    assert_eq!(start.event, "start");
    loop {
        let total = answered.lock().expect("not poisoned").len();
        if total >= sent_before + 50 {
            break;
        }
        let event = resumed.next().await.expect("an event from B");
        read(event, &mut seen, &mut last_id);
    }
    stop.send(()).expect("the sender runs");
    sender.await.expect("the sender");
    let answered = answered.lock().expect("not poisoned").clone();
    let last = *answered.last().expect("hooks answered");
    while !seen.contains(&last) {
        let event = resumed.next().await.expect("an event from B");
        read(event, &mut seen, &mut last_id);
    }

    let mut counts: HashMap<u64, usize> = HashMap::new();
    for n in &seen {
        *counts.entry(*n).or_default() += 1;
    }
    let duplicated: Vec<_> = counts.iter().filter(|(_, c)| **c > 1).collect();
    assert!(duplicated.is_empty(), "seen twice: {duplicated:?}");
    let lost: Vec<_> = answered
        .iter()
        .filter(|n| !counts.contains_key(n))
        .collect();
    assert!(lost.is_empty(), "answered 2xx, never seen: {lost:?}");
    assert!(
        answered.len() >= 100 && answered.iter().any(|n| n % 2 == 0),
        "hooks went to both instances: {answered:?}"
    );
    drop(b);
}

/// Notes a streamed event: a hook's number (its body), and the id to resume after.
fn read(event: eventsource_stream::Event, seen: &mut Vec<u64>, last_id: &mut String) {
    if event.event == "hook" {
        let data: Value = serde_json::from_str(&event.data).expect("hook data");
        seen.push(data["body"].as_str().expect("text").parse().expect("n"));
    }
    *last_id = event.id;
}

/// Sends one command to Redis (inline form) and returns its reply, a bulk string or a number.
async fn redis_command(port: u16, command: &str) -> String {
    let mut socket = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("Redis");
    socket
        .write_all(format!("{command}\r\n").as_bytes())
        .await
        .expect("write");
    let mut reply = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        let read = socket.read(&mut chunk).await.expect("read");
        assert!(read > 0, "Redis closed the connection");
        reply.extend_from_slice(&chunk[..read]);
        // `$LEN\r\n` then LEN bytes and `\r\n`.
        let text = String::from_utf8_lossy(&reply);
        if let Some((head, body)) = text.split_once("\r\n") {
            if let Some(number) = head.strip_prefix(':') {
                return number.to_owned();
            }
            let length: usize = head.trim_start_matches('$').parse().expect("a bulk reply");
            if body.len() >= length + 2 {
                return body[..length].to_owned();
            }
        }
    }
}

/// Redis's clients other than the one asking, as `CLIENT LIST` shows them.
async fn redis_clients(port: u16) -> Vec<String> {
    redis_command(port, "CLIENT LIST")
        .await
        .lines()
        .filter(|line| !line.contains("cmd=client|list"))
        .map(str::to_owned)
        .collect()
}

/// Opens a raw SSE stream and reads until its `start` event; the socket stays open until dropped.
async fn raw_stream(addr: &str) -> TcpStream {
    let mut socket = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET /relay/stream HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    socket.write_all(request.as_bytes()).await.expect("write");
    let mut buffer = vec![0u8; 2048];
    let mut read = 0;
    while !buffer[..read].windows(12).any(|w| w == b"event: start") {
        let n = socket.read(&mut buffer[read..]).await.expect("read");
        assert!(n > 0, "stream closed before start");
        read += n;
    }
    socket
}

/// Ten thousand streams: this process holds one socket each and the instance another, each
/// within the open-file limit of 20,000 that the test machine gives a process (the instance
/// refuses connections past three quarters of its limit, 15,000).
const IDLE_STREAMS: usize = 10_000;

#[tokio::test]
async fn ten_thousand_idle_streams_cost_no_more_redis_connections_than_one() {
    let redis = RedisServer::start();
    let instance = Instance::start(
        &redis,
        &[
            "--max-connections-per-client",
            "0",
            "--relay-sessions-per-client",
            "0",
        ],
    )
    .await;
    let one = raw_stream(&instance.addr).await;
    let with_one = redis_clients(redis.port).await;
    assert!(
        !with_one.is_empty() && with_one.len() <= 2,
        "one stream: {with_one:#?}"
    );
    let mut streams = vec![one];
    // Opened 100 at a time, each waiting for its `start` (its session is in Redis by then).
    while streams.len() < IDLE_STREAMS {
        let batch: Vec<_> = (0..100).map(|_| raw_stream(&instance.addr)).collect();
        streams.extend(futures_util::future::join_all(batch).await);
    }
    let with_all = redis_clients(redis.port).await;
    let sessions = redis_command(redis.port, "ZCARD wd:live").await;
    assert_eq!(
        with_all.len(),
        with_one.len(),
        "{} streams ({sessions} sessions): {with_all:#?}",
        streams.len()
    );
    drop(streams);
    instance.kill().await;
}
