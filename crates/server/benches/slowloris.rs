//! The slowloris benchmark, run by `cargo xtask bench` against the release server in its own
//! process on loopback: while a thousand clients hold request heads open, sending a byte a
//! second, how long does `/healthz` take for someone else? One JSON object per line on stdout.
//!
//! Two shapes: the thousand from one address (the per-client cap refuses all but 128 with a 503,
//! and they come back a second later, as an attacker would), and the thousand spread over ten
//! addresses, under the cap, so every one of them holds its connection. Health checks come
//! from yet another address, each on a new connection as a load balancer's probe would.

// Printing the measures is this program's output.
#![allow(clippy::print_stdout)]

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::{
        Arc,
        atomic::{AtomicI64, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};

// Each benchmark uses part of what the shared support module offers.
#[allow(dead_code)]
mod support;

use support::{Pinning, Server, percentile, report};

/// Clients holding heads open.
const SLOW_CLIENTS: usize = 1000;
/// Time for the slow clients to connect and be refused or held before probing starts.
const WARM_UP: Duration = Duration::from_secs(3);
/// Health checks per second, and for how long: 500 samples.
const PROBES_PER_SECOND: u64 = 50;
const PROBING: Duration = Duration::from_secs(10);
/// Where the health checks come from: not one of the slow clients' addresses.
const PROBE_SOURCE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

fn main() -> Result<()> {
    Pinning::pin_load_generator();
    let runtime = tokio::runtime::Runtime::new().context("a tokio runtime")?;
    runtime.block_on(async {
        let descriptors = open_file_limit();
        if descriptors.is_some_and(|limit| limit < SLOW_CLIENTS as u64 + 200) {
            bail!(
                "this process may open only {descriptors:?} files; raise `ulimit -n` above {}",
                SLOW_CLIENTS + 200
            );
        }
        let one_address = [Ipv4Addr::new(127, 0, 0, 1)];
        let ten_addresses: Vec<Ipv4Addr> = (10..20)
            .map(|last| Ipv4Addr::new(127, 0, 0, last))
            .collect();
        for (measure, sources, shape) in [
            (
                "slowloris_healthz_p99_ms",
                &one_address[..],
                "from 127.0.0.1",
            ),
            (
                "slowloris_spread_healthz_p99_ms",
                &ten_addresses[..],
                "spread over 127.0.0.10-19 (100 each, under the per-client cap)",
            ),
        ] {
            // A fresh server each time, so neither run sees the other's closing sockets.
            let server = Server::start(&["--no-sandbox"]).await?;
            slowloris(&server, measure, sources, shape, descriptors).await?;
        }
        Ok(())
    })
}

/// What the slow clients met.
#[derive(Default)]
struct Tally {
    /// Connections open and not refused right now.
    holding: AtomicI64,
    /// Answered 503 before sending a whole head.
    refused: AtomicU64,
    /// Closed without an answer (the head timeout).
    cut_off: AtomicU64,
}

async fn slowloris(
    server: &Server,
    measure: &str,
    sources: &[Ipv4Addr],
    shape: &str,
    descriptors: Option<u64>,
) -> Result<()> {
    let addr: SocketAddr = server.addr.parse().context("the server's address")?;
    let tally = Arc::new(Tally::default());
    let clients: Vec<_> = (0..SLOW_CLIENTS)
        .map(|n| {
            let source = sources[n % sources.len()];
            tokio::spawn(slow_client(addr, source, Arc::clone(&tally)))
        })
        .collect();
    tokio::time::sleep(WARM_UP).await;
    let held_at_start = tally.holding.load(Ordering::Relaxed);

    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / PROBES_PER_SECOND as f64));
    let mut probes = Vec::new();
    for _ in 0..PROBES_PER_SECOND * PROBING.as_secs() {
        ticker.tick().await;
        probes.push(tokio::spawn(probe(addr)));
    }
    let mut samples = Vec::with_capacity(probes.len());
    let mut failed = 0;
    for probe in probes {
        match probe.await? {
            Ok(ms) => samples.push(ms),
            Err(error) => {
                failed += 1;
                eprintln!("a health check failed: {error:#}");
            }
        }
    }
    let held_at_end = tally.holding.load(Ordering::Relaxed);
    for client in clients {
        client.abort();
    }
    if samples.is_empty() {
        bail!("no health check succeeded");
    }
    samples.sort_by(f64::total_cmp);
    let seconds = (WARM_UP + PROBING).as_secs();
    let detail = format!(
        "{SLOW_CLIENTS} clients {shape} each sending a request head a byte a second and coming \
         back a second after being closed; {held_at_start} held at the start of probing and \
         {held_at_end} at its end, {} answered 503 and {} cut off in {seconds} s; {} GET /healthz \
         from {PROBE_SOURCE} at {PROBES_PER_SECOND}/s, each on a new connection, connect to \
         last byte; p50 {:.3} ms, max {:.3} ms, {failed} failed; {}; open-file limit {}",
        tally.refused.load(Ordering::Relaxed),
        tally.cut_off.load(Ordering::Relaxed),
        samples.len() + failed,
        percentile(&samples, 0.5),
        samples[samples.len() - 1],
        Pinning::get().describe(),
        descriptors.map_or("unknown".to_owned(), |limit| limit.to_string()),
    );
    report(
        measure,
        percentile(&samples, 0.99),
        "ms",
        Some(10.0),
        "lower",
        &detail,
    );
    Ok(())
}

async fn connect_from(source: Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
    socket.connect(to).await
}

/// One attacker's connection after another, each trickling a head a byte a second until the
/// server answers or closes it; aborted when the measure is done.
async fn slow_client(addr: SocketAddr, source: Ipv4Addr, tally: Arc<Tally>) {
    loop {
        if let Ok(mut stream) = connect_from(source, addr).await {
            tally.holding.fetch_add(1, Ordering::Relaxed);
            let refused = trickle(&mut stream).await;
            tally.holding.fetch_sub(1, Ordering::Relaxed);
            match refused {
                true => tally.refused.fetch_add(1, Ordering::Relaxed),
                false => tally.cut_off.fetch_add(1, Ordering::Relaxed),
            };
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Sends the start of a head, then a byte a second; true when the server answered 503.
async fn trickle(stream: &mut TcpStream) -> bool {
    let mut answer = [0u8; 64];
    if stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .is_err()
    {
        return false;
    }
    loop {
        tokio::select! {
            read = stream.read(&mut answer) => {
                return matches!(read, Ok(read) if answer[..read].starts_with(b"HTTP/1.1 503"));
            }
            () = tokio::time::sleep(Duration::from_secs(1)) => {
                if stream.write_all(b"s").await.is_err() {
                    return false;
                }
            }
        }
    }
}

/// One health check on a new connection: milliseconds from connecting to the answer's end.
async fn probe(addr: SocketAddr) -> Result<f64> {
    let started = Instant::now();
    let mut stream = tokio::time::timeout(Duration::from_secs(5), async {
        let mut stream = connect_from(PROBE_SOURCE, addr).await?;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await?;
        Ok::<_, std::io::Error>(stream)
    })
    .await
    .context("connecting timed out")??;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
        .await
        .context("the answer timed out")??;
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    if !answer.starts_with(b"HTTP/1.1 200") {
        bail!(
            "answered {:?}",
            String::from_utf8_lossy(&answer[..answer.len().min(40)])
        );
    }
    Ok(elapsed)
}

/// This process's soft limit on open files, from `/proc` (the benchmarks run on Linux).
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}
