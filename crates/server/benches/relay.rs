//! Relay benchmarks, run by `cargo xtask bench` against the release server in its own process on
//! loopback: hook → stream latency under open-loop load, throughput with concurrent senders, and
//! memory with many idle streams and after stream churn; then the same with the Redis store, two
//! instances on one Redis, and a rolling restart. One JSON object per line on stdout.

// Printing the measures is this program's output.
#![allow(clippy::print_stdout)]

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

// Each benchmark uses part of what the shared support module offers.
#[allow(dead_code)]
mod support;

use support::{Pinning, Server, percentile, redis::RedisServer, report};

/// The relay alone, with its per-session rate limit off and room for the idle-stream measure,
/// whose 10,000 streams all come from one loopback address (the per-client caps off).
const RELAY_FLAGS: &[&str] = &[
    "--no-sandbox",
    "--relay-hook-rate",
    "0",
    "--relay-max-sessions",
    "40000",
    "--max-connections-per-client",
    "0",
    "--relay-sessions-per-client",
    "0",
];

type Arrivals = Arc<Mutex<HashMap<u64, Instant>>>;

/// How the Redis measures' Redis is set up, for their details (empty for the memory store's).
static REDIS_NOTE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn redis_note() -> &'static str {
    REDIS_NOTE.get().map_or("", String::as_str)
}

fn main() -> Result<()> {
    Pinning::pin_load_generator();
    let runtime = tokio::runtime::Runtime::new().context("a tokio runtime")?;
    runtime.block_on(async {
        // `RELAY_BENCH=redis` measures only the Redis store (to iterate on it).
        if std::env::var("RELAY_BENCH").as_deref() == Ok("redis") {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(64)
                .build()?;
            return on_redis(&client).await;
        }
        // Memory on a fresh server of its own, then the load measures on another fresh one, so
        // neither sees what the other left behind (kept sessions, closing sockets).
        let server = Server::start(RELAY_FLAGS).await?;
        idle_streams(&server).await?;
        churn(&server).await?;
        drop(server);
        // `RELAY_BENCH=memory` measures only memory (to iterate on it).
        if std::env::var("RELAY_BENCH").as_deref() == Ok("memory") {
            return Ok(());
        }
        let server = Server::start(RELAY_FLAGS).await?;
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()?;
        let latency_runs = [
            (500, 10, "relay_latency_p99_ms", 1.0),
            (2000, 5, "relay_burst_p99_ms", 2.0),
        ];
        for (rate, seconds, measure, budget) in latency_runs {
            latency(
                (&server, &server),
                &client,
                rate,
                Duration::from_secs(seconds),
                measure,
                budget,
            )
            .await?;
        }
        throughput(&[&server], &client, 1, "relay_throughput_hooks_per_s").await?;
        throughput(
            &[&server],
            &client,
            100,
            "relay_throughput_100_sessions_hooks_per_s",
        )
        .await?;
        drop(server);
        on_redis(&client).await
    })
}

/// The same measures with the Redis store: two instances on one Redis.
async fn on_redis(client: &reqwest::Client) -> Result<()> {
    let redis = RedisServer::start();
    // Redis as deploy/redis.conf sets it up: every write reaches the kernel before Redis answers,
    // and the disk once a second (`everysec`). `RELAY_BENCH_FSYNC=always` measures with a disk
    // sync before every answer instead (the test support's setting).
    let fsync = std::env::var("RELAY_BENCH_FSYNC").unwrap_or_else(|_| "everysec".to_owned());
    redis_command(redis.port, &format!("CONFIG SET appendfsync {fsync}")).await?;
    REDIS_NOTE
        .set(format!("; Redis with appendonly yes, appendfsync {fsync}"))
        .ok();
    let url = redis.url();
    let flags = [RELAY_FLAGS, &["--store", &url]].concat();
    let a = Server::start(&flags).await?;
    idle_stream_kb(&a).await?;
    drop(a);
    let (a, b) = (Server::start(&flags).await?, Server::start(&flags).await?);
    latency(
        (&a, &b),
        client,
        500,
        Duration::from_secs(10),
        "relay_redis_latency_p99_ms",
        2.0,
    )
    .await?;
    answer_latency((&a, &b), client).await?;
    let profile = Some((&redis, [a.pid, b.pid]));
    throughput_profiled(
        &[&a, &b],
        client,
        1,
        "relay_redis_throughput_hooks_per_s",
        profile,
    )
    .await?;
    throughput_profiled(
        &[&a, &b],
        client,
        100,
        "relay_redis_throughput_100_sessions_hooks_per_s",
        profile,
    )
    .await?;
    rolling_restart(client, &flags, [a, b]).await
}

/// Extra server memory per idle stream with the Redis store (each its own session).
async fn idle_stream_kb(server: &Server) -> Result<()> {
    const STREAMS: usize = 10_000;
    let before = server.rss_mb()?;
    let streams = open_streams(&server.addr, STREAMS).await?;
    let with = server.rss_mb()?;
    drop(streams);
    let kb = (with - before) * 1024.0 / STREAMS as f64;
    let detail = format!(
        "server RSS growth with {STREAMS} idle SSE streams open, Redis store, each its own TCP \
         connection and session ({before:.1} -> {with:.1} MB); the memory store's figure is in \
         relay_idle_sessions_rss_mb's detail"
    );
    report(
        "relay_redis_idle_stream_kb",
        kb,
        "KB",
        Some(6.2),
        "lower",
        &detail,
    );
    Ok(())
}

/// Hooks at 200/s through two instances while each is restarted in turn (SIGTERM, then a new
/// process on the same Redis), the page's stream resuming on the other with `Last-Event-ID`.
/// A hook whose instance is gone is sent again to the other, as a load balancer would; counted
/// are hooks answered 2xx that never reached the page, and hooks the page saw twice.
async fn rolling_restart(
    client: &reqwest::Client,
    flags: &[&str],
    servers: [Server; 2],
) -> Result<()> {
    let [a, b] = servers;
    let bases = Arc::new(Mutex::new(vec![a.url.clone(), b.url.clone()]));
    let first = format!("{}/relay/", a.url);
    let start: Value = {
        let response = client.get(format!("{first}stream")).send().await?;
        let mut events = response.bytes_stream().eventsource();
        serde_json::from_str(&events.next().await.context("start")??.data)?
    };
    let session = start["sessionId"].as_str().context("sessionId")?.to_owned();
    let hook_path = start["hookUrl"]
        .as_str()
        .and_then(|url| url.split_once("/relay/"))
        .context("hookUrl")?
        .1
        .to_owned();
    // The page: reads the stream from whichever instance is up, resuming after the last id.
    let seen: Arc<Mutex<HashMap<u64, u32>>> = Arc::default();
    let page = tokio::spawn({
        let (client, bases, seen, session) = (
            client.clone(),
            Arc::clone(&bases),
            Arc::clone(&seen),
            session.clone(),
        );
        async move {
            let mut last_id = String::from("0");
            loop {
                let candidates = bases.lock().expect("not poisoned").clone();
                for base in candidates {
                    let request = client
                        .get(format!("{base}/relay/stream?session={session}"))
                        .header("Last-Event-ID", &last_id);
                    let Ok(response) = request.send().await else {
                        continue;
                    };
                    if !response.status().is_success() {
                        continue;
                    }
                    let mut events = response.bytes_stream().eventsource();
                    while let Some(Ok(event)) = events.next().await {
                        if event.event == "hook" {
                            let data: Value = serde_json::from_str(&event.data).unwrap_or_default();
                            let n = data["body"]
                                .as_str()
                                .and_then(|b| b.parse().ok())
                                .unwrap_or(u64::MAX);
                            *seen.lock().expect("not poisoned").entry(n).or_default() += 1;
                        }
                        if !event.id.is_empty() && event.event != "start" {
                            last_id = event.id;
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });
    // The sender: 200 hooks/s, each to the next instance that is up.
    let answered: Arc<Mutex<Vec<u64>>> = Arc::default();
    let sender = tokio::spawn({
        let (client, bases, answered) = (client.clone(), Arc::clone(&bases), Arc::clone(&answered));
        async move {
            let mut ticker = tokio::time::interval(Duration::from_millis(5));
            let mut n = 0u64;
            loop {
                ticker.tick().await;
                let candidates = bases.lock().expect("not poisoned").clone();
                for (i, _) in candidates.iter().enumerate() {
                    let base = &candidates[(n as usize + i) % candidates.len()];
                    let sent = client
                        .post(format!("{base}/relay/{hook_path}"))
                        .body(n.to_string())
                        .send()
                        .await;
                    if sent.is_ok_and(|r| r.status().is_success()) {
                        answered.lock().expect("not poisoned").push(n);
                        break;
                    }
                }
                n += 1;
            }
        }
    });
    let mut servers = vec![a, b];
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let old = servers.remove(0);
        bases
            .lock()
            .expect("not poisoned")
            .retain(|base| *base != old.url);
        old.stop().await?;
        let new = Server::start(flags).await?;
        bases.lock().expect("not poisoned").push(new.url.clone());
        servers.push(new);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    sender.abort();
    // Let the page read what the last answered hooks logged.
    tokio::time::sleep(Duration::from_millis(500)).await;
    page.abort();
    let answered = answered.lock().expect("not poisoned").clone();
    let seen = seen.lock().expect("not poisoned").clone();
    let lost = answered.iter().filter(|n| !seen.contains_key(n)).count();
    let duplicated: u32 = seen.values().map(|count| count - 1).sum();
    let detail = format!(
        "two instances on one Redis, hooks at 200/s for about 6 s while each instance in turn is \
         stopped with SIGTERM and started again; {} hooks answered 2xx, {lost} of them never \
         reached the page, {duplicated} reached it twice",
        answered.len()
    );
    report(
        "relay_rolling_restart_lost",
        (lost + duplicated as usize) as f64,
        "hooks",
        Some(0.0),
        "lower",
        &detail,
    );
    Ok(())
}

/// Opens a session; records, per sequence number `n` in the hook bodies, when its event arrived.
async fn watch_session(client: &reqwest::Client, base: &str) -> Result<(String, Arrivals)> {
    let response = client.get(format!("{base}stream")).send().await?;
    let mut events = response.bytes_stream().eventsource();
    let start = events.next().await.context("start")??;
    let start: Value = serde_json::from_str(&start.data)?;
    let hook_url = start["hookUrl"].as_str().context("hookUrl")?.to_owned();
    let arrivals = Arrivals::default();
    let sink = Arc::clone(&arrivals);
    tokio::spawn(async move {
        while let Some(Ok(event)) = events.next().await {
            if event.event != "hook" {
                continue;
            }
            let now = Instant::now();
            let data: Value = serde_json::from_str(&event.data).unwrap_or_default();
            let body: Value = data["body"]
                .as_str()
                .and_then(|b| serde_json::from_str(b).ok())
                .unwrap_or_default();
            if let Some(n) = body["n"].as_u64() {
                sink.lock().expect("not poisoned").insert(n, now);
            }
        }
    });
    Ok((hook_url, arrivals))
}

/// Hooks sent to `server`, read from a stream on `stream` (the same server, or another instance
/// on the same Redis).
async fn latency(
    (server, stream): (&Server, &Server),
    client: &reqwest::Client,
    rate: u64,
    length: Duration,
    measure: &str,
    budget: f64,
) -> Result<()> {
    let (hook_url, arrivals) = watch_session(client, &format!("{}/relay/", stream.url)).await?;
    let path = hook_url
        .strip_prefix(&stream.url)
        .context("the hook URL is on the server")?
        .to_owned();
    // Hooks go out on raw keep-alive connections, opened beforehand, each sending the next hook
    // it is handed once the previous one is answered: the generator's own cost stays far below
    // the relay's, and connection set-up is not measured.
    let total = rate * length.as_secs();
    let sent: Arrivals = Arrivals::default();
    let mut senders = Vec::new();
    let mut workers = Vec::new();
    for _ in 0..SENDERS {
        let socket = TcpStream::connect(&server.addr).await?;
        socket.set_nodelay(true)?;
        let (jobs, queue) = tokio::sync::mpsc::unbounded_channel();
        senders.push(jobs);
        let request = HookSender {
            socket,
            head: format!(
                "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n",
                server.addr
            ),
            sent: Arc::clone(&sent),
        };
        workers.push(tokio::spawn(request.run(queue)));
    }
    let steal = Steal::start();
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for n in 0..total {
        ticker.tick().await;
        senders[n as usize % SENDERS]
            .send(n)
            .context("a sender stopped early")?;
    }
    drop(senders);
    let mut failed = 0;
    let mut answered = Vec::with_capacity(total as usize);
    for worker in workers {
        let (worker_failed, times) = worker.await??;
        failed += worker_failed;
        answered.extend(times);
    }
    answered.sort_by(f64::total_cmp);
    let steal = steal.percent();
    // Every request has been answered; its event was pushed before the answer. Let the reader drain.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = sent.lock().expect("not poisoned");
    let arrivals = arrivals.lock().expect("not poisoned");
    let mut samples: Vec<f64> = sent
        .iter()
        .filter_map(|(n, at)| Some(arrivals.get(n)?.duration_since(*at).as_secs_f64() * 1000.0))
        .collect();
    if samples.is_empty() {
        bail!("no hook reached the stream");
    }
    samples.sort_by(f64::total_cmp);
    let unseen = total as usize - samples.len();
    let detail = format!(
        "open loop {rate} hooks/s for {} s on one session, hook POST sent -> hook event read by an SSE \
         client, load generator in a second process, {}; p50 {:.3} ms, p90 {:.3} ms, \
         max {:.3} ms, {failed} failed, {unseen} not seen; {steal}{}",
        length.as_secs(),
        Pinning::get().describe(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.9),
        samples[samples.len() - 1],
        redis_note()
    );
    report(
        measure,
        percentile(&samples, 0.99),
        "ms",
        Some(budget),
        "lower",
        &detail,
    );
    report(
        &measure.replace("p99", "p50"),
        percentile(&samples, 0.5),
        "ms",
        None,
        "lower",
        &detail,
    );
    // The floor this machine allows: the same hooks' own request -> answer round trip, which
    // involves no stream at all. A stream latency tail no longer than this one is the machine's.
    report(
        &measure.replace("p99", "hook_answer_p99"),
        percentile(&answered, 0.99),
        "ms",
        None,
        "lower",
        &format!(
            "the same run's hook POSTs, request written -> answer read (no stream involved); \
             p50 {:.3} ms, p90 {:.3} ms, max {:.3} ms",
            percentile(&answered, 0.5),
            percentile(&answered, 0.9),
            answered[answered.len() - 1]
        ),
    );
    Ok(())
}

/// CPU time the hypervisor took from this machine during a measure (`steal` in `/proc/stat`):
/// on a virtual machine it explains tail latencies the relay did not cause.
struct Steal(Option<Vec<u64>>);

impl Steal {
    fn read() -> Option<Vec<u64>> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let line = stat.lines().find(|line| line.starts_with("cpu "))?;
        line.split_whitespace()
            .skip(1)
            .map(|field| field.parse().ok())
            .collect()
    }

    fn start() -> Steal {
        Steal(Steal::read())
    }

    /// How the detail reports it.
    fn percent(self) -> String {
        let (Some(before), Some(after)) = (self.0, Steal::read()) else {
            return "CPU steal unknown".to_owned();
        };
        let spent: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
        let total: u64 = spent.iter().sum();
        let steal = spent.get(7).copied().unwrap_or(0);
        format!(
            "CPU steal {:.1}% of the run",
            100.0 * steal as f64 / total.max(1) as f64
        )
    }
}

/// Connections the open-loop latency measures send hooks on.
const SENDERS: usize = 64;

/// One keep-alive connection to the relay, sending hook `{"n":N}` for each `N` it is handed.
struct HookSender {
    socket: TcpStream,
    /// The request line and fields up to the body's length.
    head: String,
    sent: Arrivals,
}

impl HookSender {
    /// Sends until the queue closes; returns how many hooks were not answered with a 2xx, and
    /// each hook's round trip (sent -> answer read) in milliseconds.
    async fn run(
        mut self,
        mut queue: tokio::sync::mpsc::UnboundedReceiver<u64>,
    ) -> Result<(u64, Vec<f64>)> {
        let mut failed = 0;
        let mut answered = Vec::new();
        let mut buf = Vec::with_capacity(1024);
        while let Some(n) = queue.recv().await {
            let body = format!("{{\"n\":{n}}}");
            let request = format!("{}Content-Length: {}\r\n\r\n{body}", self.head, body.len());
            self.sent
                .lock()
                .expect("not poisoned")
                .insert(n, Instant::now());
            let sent = Instant::now();
            self.socket.write_all(request.as_bytes()).await?;
            if !(200..300).contains(&read_answer(&mut self.socket, &mut buf).await?) {
                failed += 1;
            }
            answered.push(sent.elapsed().as_secs_f64() * 1000.0);
        }
        Ok((failed, answered))
    }
}

/// Reads one response with a Content-Length body off `socket`; returns its status.
async fn read_answer(socket: &mut TcpStream, buf: &mut Vec<u8>) -> Result<u16> {
    loop {
        let parsed = {
            let mut fields = [httparse::EMPTY_HEADER; 32];
            let mut response = httparse::Response::new(&mut fields);
            match response.parse(buf)? {
                httparse::Status::Complete(head) => {
                    let length = response
                        .headers
                        .iter()
                        .find(|field| field.name.eq_ignore_ascii_case("content-length"))
                        .and_then(|field| {
                            std::str::from_utf8(field.value).ok()?.parse::<usize>().ok()
                        })
                        .context("a Content-Length")?;
                    Some((head + length, response.code.context("a status")?))
                }
                httparse::Status::Partial => None,
            }
        };
        if let Some((end, status)) = parsed.filter(|(end, _)| buf.len() >= *end) {
            buf.drain(..end);
            return Ok(status);
        }
        let mut chunk = [0u8; 1024];
        let read = socket.read(&mut chunk).await?;
        if read == 0 {
            bail!("the relay closed a hook connection");
        }
        buf.extend_from_slice(&chunk[..read]);
    }
}

/// Hooks per second from 32 senders in closed loop, spread over `servers` (instances on one
/// Redis, or a single server).
async fn throughput(
    servers: &[&Server],
    client: &reqwest::Client,
    sessions: usize,
    measure: &str,
) -> Result<()> {
    throughput_profiled(servers, client, sessions, measure, None).await
}

/// `throughput`, saying where the time went when given the Redis and the instances' processes.
async fn throughput_profiled(
    servers: &[&Server],
    client: &reqwest::Client,
    sessions: usize,
    measure: &str,
    profile: Option<(&RedisServer, [u32; 2])>,
) -> Result<()> {
    let mut urls = Vec::new();
    for i in 0..sessions {
        let server = servers[i % servers.len()];
        let url = watch_session(client, &format!("{}/relay/", server.url))
            .await?
            .0;
        // Each session's hooks go to every instance in turn.
        for other in servers {
            urls.push(url.replace(&server.url, &other.url));
        }
    }
    let urls = Arc::new(urls);
    let profiling = match profile {
        Some((redis, pids)) => Some(Profile::start(redis, pids).await?),
        None => None,
    };
    let done = Arc::new(AtomicU64::new(0));
    let length = Duration::from_secs(10);
    let deadline = Instant::now() + length;
    let mut senders = Vec::new();
    for sender in 0..32usize {
        let (client, urls, done) = (client.clone(), Arc::clone(&urls), Arc::clone(&done));
        senders.push(tokio::spawn(async move {
            let mut i = sender;
            while Instant::now() < deadline {
                let url = &urls[i % urls.len()];
                i += 32;
                let sent = client.post(url).body("{\"n\":0}").send().await;
                if sent.is_ok_and(|r| r.status().is_success()) {
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for sender in senders {
        sender.await?;
    }
    let rate = done.load(Ordering::Relaxed) as f64 / length.as_secs_f64();
    let budget = match (sessions, servers.len()) {
        // DESIGN.md's budget table: raised as the relay met the older ones.
        (1, 1) => Some(40_000.0),
        (1, _) => Some(20_000.0),
        _ => None,
    };
    let hooks = done.load(Ordering::Relaxed);
    let spent = match profiling {
        Some(profiling) => profiling.finish(hooks).await?,
        None => String::new(),
    };
    let detail = format!(
        "{sessions} session(s), 32 concurrent senders in closed loop for 10 s, a stream reading each \
         session, {} instance(s); {}{spent}{}",
        servers.len(),
        Pinning::get().describe(),
        redis_note()
    );
    report(measure, rate, "hooks/s", budget, "higher", &detail);
    Ok(())
}

/// Opens a raw SSE stream and reads until its `start` event; the socket stays open until dropped.
async fn raw_stream(addr: &str) -> Result<TcpStream> {
    let mut socket = TcpStream::connect(addr).await?;
    let request = format!("GET /relay/stream HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    socket.write_all(request.as_bytes()).await?;
    let mut buffer = vec![0u8; 4096];
    let mut read = 0;
    while !buffer[..read].windows(12).any(|w| w == b"event: start") {
        let n = socket.read(&mut buffer[read..]).await?;
        if n == 0 {
            bail!("stream closed before start");
        }
        read += n;
    }
    Ok(socket)
}

async fn open_streams(addr: &str, count: usize) -> Result<Vec<TcpStream>> {
    let mut streams = Vec::with_capacity(count);
    for _ in 0..count {
        streams.push(raw_stream(addr).await?);
    }
    Ok(streams)
}

async fn idle_streams(server: &Server) -> Result<()> {
    let before = server.rss_mb()?;
    let streams = open_streams(&server.addr, 10_000).await?;
    let with = server.rss_mb()?;
    drop(streams);
    let detail = format!(
        "server RSS with 10,000 idle SSE streams open, each its own TCP connection \
         ({before:.1} MB before opening them, {:.1} KB per stream)",
        (with - before) * 1024.0 / 10_000.0
    );
    report(
        "relay_idle_sessions_rss_mb",
        with,
        "MB",
        Some(40.0),
        "lower",
        &detail,
    );
    Ok(())
}

async fn churn(server: &Server) -> Result<()> {
    // One cycle first, so allocator pools sized by the first burst are not counted as growth.
    drop(open_streams(&server.addr, 2000).await?);
    let before = server.rss_mb()?;
    for _ in 0..5 {
        drop(open_streams(&server.addr, 2000).await?);
    }
    let after = server.rss_mb()?;
    let detail = format!(
        "server RSS after 5 cycles of opening and closing 2,000 streams, minus before ({before:.1} -> \
         {after:.1} MB); closed sessions stay resumable until their 30-minute idle expiry"
    );
    report(
        "relay_churn_growth_mb",
        after - before,
        "MB",
        Some(5.0),
        "lower",
        &detail,
    );
    Ok(())
}

/// Where a Redis run's time goes: CPU seconds of Redis, of the instances and of this load
/// generator (from `/proc`), and Redis's own count of commands and the time it spent in them
/// (`INFO commandstats`, reset when the run starts).
struct Profile {
    port: u16,
    /// Redis, then the two instances, then this process.
    pids: [u32; 4],
    cpu: [f64; 4],
    started: Instant,
}

impl Profile {
    async fn start(redis: &RedisServer, instances: [u32; 2]) -> Result<Profile> {
        let info = redis_command(redis.port, "INFO server").await?;
        let redis_pid = info
            .lines()
            .find_map(|line| line.strip_prefix("process_id:")?.trim().parse().ok())
            .context("Redis's process_id")?;
        redis_command(redis.port, "CONFIG RESETSTAT").await?;
        let pids = [redis_pid, instances[0], instances[1], std::process::id()];
        Ok(Profile {
            port: redis.port,
            pids,
            cpu: pids.map(cpu_seconds),
            started: Instant::now(),
        })
    }

    /// The detail's account of the run: per hook, and as shares of the machine's cores.
    async fn finish(self, hooks: u64) -> Result<String> {
        let wall = self.started.elapsed().as_secs_f64();
        let spent: Vec<f64> = self
            .pids
            .iter()
            .zip(self.cpu)
            .map(|(pid, before)| cpu_seconds(*pid) - before)
            .collect();
        let stats = redis_command(self.port, "INFO commandstats").await?;
        // Commands a script runs are counted too, each under its own name; a script's time
        // includes theirs. Round trips are the scripts and the commands sent on their own.
        let (mut calls, mut scripts, mut script_usec) = (0.0, 0.0, 0.0);
        for line in stats.lines() {
            let Some((name, fields)) = line.split_once(':') else {
                continue;
            };
            let field = |key: &str| -> f64 {
                fields
                    .split(',')
                    .find_map(|f| f.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
                    .unwrap_or(0.0)
            };
            match name {
                "cmdstat_evalsha" | "cmdstat_eval" => {
                    scripts += field("calls");
                    script_usec += field("usec");
                }
                "cmdstat_info" | "cmdstat_config|resetstat" => {}
                _ => calls += field("calls"),
            }
        }
        let hooks = hooks.max(1) as f64;
        // This process is pinned to one core: count the machine's from /proc/stat.
        let cores = std::fs::read_to_string("/proc/stat").map_or(1, |stat| {
            stat.lines()
                .filter(|line| line.starts_with("cpu") && !line.starts_with("cpu "))
                .count()
        });
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let load = load.split_whitespace().next().unwrap_or("?");
        let share = |seconds: f64| 100.0 * seconds / wall;
        let per_hook = |seconds: f64| 1e6 * seconds / hooks;
        let total: f64 = spent.iter().sum();
        Ok(format!(
            "; where the time goes, per hook: {:.2} Lua scripts (EVALSHA, one round trip each), \
             Redis busy {:.1} us in them ({:.1} commands run inside); CPU per hook: Redis {:.0} us, \
             instances {:.0} us together, load generator {:.0} us, {:.0} us in all, so this \
             machine's {cores} cores would manage about {:.0} hooks/s given to this alone; over \
             the run these processes had {:.0}% of one core (Redis {:.0}%, instances {:.0}% + \
             {:.0}%, load generator {:.0}%; load average {load} with whatever else runs here)",
            scripts / hooks,
            script_usec / hooks,
            calls / hooks,
            per_hook(spent[0]),
            per_hook(spent[1] + spent[2]),
            per_hook(spent[3]),
            per_hook(total),
            cores as f64 * hooks / total.max(1e-9),
            share(total),
            share(spent[0]),
            share(spent[1]),
            share(spent[2]),
            share(spent[3]),
        ))
    }
}

/// User and system CPU seconds a process has used (all its threads), from `/proc/PID/stat`.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces): state is the 3rd, utime the 14th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    // Linux counts in USER_HZ, 100 on every architecture it runs on here.
    ticks(11)
        .zip(ticks(12))
        .map_or(0.0, |(u, s)| (u + s) / 100.0)
}

/// One command to Redis (inline form); its reply, a bulk string or a status line.
async fn redis_command(port: u16, command: &str) -> Result<String> {
    let mut socket = TcpStream::connect(("127.0.0.1", port)).await?;
    socket
        .write_all(format!("{command}\r\n").as_bytes())
        .await?;
    let mut reply = Vec::new();
    let mut chunk = [0u8; 16384];
    loop {
        let read = socket.read(&mut chunk).await?;
        if read == 0 {
            bail!("Redis closed the connection");
        }
        reply.extend_from_slice(&chunk[..read]);
        let text = String::from_utf8_lossy(&reply);
        let Some((head, body)) = text.split_once("\r\n") else {
            continue;
        };
        if let Some(status) = head.strip_prefix('+') {
            return Ok(status.to_owned());
        }
        let length: usize = head
            .strip_prefix('$')
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("Redis answered {head}"))?;
        if body.len() >= length + 2 {
            return Ok(body[..length].to_owned());
        }
    }
}

/// How long the page's answer takes to reach the instance holding the hook: a hook sent to A
/// waits for the page (`pageAnswers`), the page streams from B and answers there; measured from
/// the `respond` POST sent to B until the hook's sender has read its answer from A.
async fn answer_latency((a, b): (&Server, &Server), client: &reqwest::Client) -> Result<()> {
    const HOOKS: usize = 500;
    let response = client.get(format!("{}/relay/stream", b.url)).send().await?;
    let mut events = response.bytes_stream().eventsource();
    let start: Value = serde_json::from_str(&events.next().await.context("start")??.data)?;
    let session = start["sessionId"].as_str().context("sessionId")?.to_owned();
    let hook_url = start["hookUrl"]
        .as_str()
        .context("hookUrl")?
        .replace(&b.url, &a.url);
    let control = start["controlUrl"].as_str().context("controlUrl")?;
    let set = client
        .post(control)
        .body(r#"{"pageAnswers":true}"#)
        .send()
        .await?;
    anyhow::ensure!(
        set.status().is_success(),
        "control answered {}",
        set.status()
    );
    let mut samples = Vec::with_capacity(HOOKS);
    for n in 0..HOOKS {
        let hook = tokio::spawn(client.post(&hook_url).body(n.to_string()).send());
        let hook_id = loop {
            let event = events.next().await.context("the stream ended")??;
            if event.event == "hook" {
                let data: Value = serde_json::from_str(&event.data)?;
                break data["hookId"].as_u64().context("hookId")?;
            }
        };
        let respond = format!("{}/relay/respond/{session}/{hook_id}", b.url);
        let sent = Instant::now();
        let answered = client
            .post(respond)
            .body(r#"{"status":202,"body":"page"}"#)
            .send();
        let (answered, hook) = tokio::join!(answered, async {
            let hook = hook.await??;
            let at = sent.elapsed();
            anyhow::Ok((hook.status(), at))
        });
        anyhow::ensure!(answered?.status().is_success(), "respond failed");
        let (status, at) = hook?;
        anyhow::ensure!(
            status == 202,
            "the hook got {status}, not the page's answer"
        );
        samples.push(at.as_secs_f64() * 1000.0);
    }
    samples.sort_by(f64::total_cmp);
    let detail = format!(
        "{HOOKS} hooks one at a time, each sent to instance A and waiting for the page, which \
         streams from instance B and answers there: respond POST sent to B -> the hook's 202 read \
         from A (B's respond is one Redis script that publishes the answer on A's channel; A's \
         subscription hands it to the waiting request); p50 {:.3} ms, p90 {:.3} ms, max {:.3} ms; {}{}",
        percentile(&samples, 0.5),
        percentile(&samples, 0.9),
        samples[samples.len() - 1],
        Pinning::get().describe(),
        redis_note()
    );
    report(
        "relay_redis_answer_p99_ms",
        percentile(&samples, 0.99),
        "ms",
        None,
        "lower",
        &detail,
    );
    Ok(())
}
