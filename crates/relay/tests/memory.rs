//! What the relay holds in memory against what it accounts: the process's resident memory
//! while the memory store is filled to its byte bound with the costliest hooks (bodies of
//! control bytes, six times their size once JSON-escaped) stays within a stated factor of the
//! bytes it reports holding. Alone in its test binary, so no other test's memory is counted.

use axum::{
    body::Body,
    http::{Request, StatusCode},
};
use futures_util::StreamExt;
use http_body_util::BodyExt;
use tower::ServiceExt;
use webhook_demo_relay::{Limits, Relay, Settings};

/// Resident growth may be at most this many times what was accounted. Measured here: 1.31 to
/// 1.40 (frames kept at their exact size, each event's bookkeeping charged); 1.53 with frames
/// grown by `format!`. The rest is the allocator's: with several threads, glibc keeps an arena
/// per thread, and the freed buffers of hooks in flight stay resident in them.
const FACTOR: f64 = 1.75;

/// Resident set size of this process, in bytes (Linux).
fn rss() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: f64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .expect("resident pages");
    pages * 4096.0
}

/// H2 (accounting): the probe's process held 563 MB with 256 MiB accounted, 2.2 times.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn resident_memory_stays_within_a_factor_of_what_is_accounted() {
    let total = 96 * 1024 * 1024;
    let relay = Relay::new(Settings {
        public_url: Some("https://relay.example".into()),
        limits: Limits {
            max_total_buffer_bytes: total,
            hooks_per_second: 0,
            // One client here (no address): its shares would stop it before the bound.
            max_sessions_per_client: 0,
            client_bytes_percent: 0,
            network_bytes_percent: 0,
            ..Limits::default()
        },
        ..Settings::default()
    });
    let app = relay.router();
    let before = rss();
    let mut streams = Vec::new();
    let mut refused = 0;
    while refused < 4 {
        let response = app
            .clone()
            .oneshot(
                Request::get("/stream")
                    .body(Body::empty())
                    .expect("request"),
            )
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
        let mut body = response.into_body().into_data_stream();
        let start = body.next().await.expect("start").expect("data");
        let text = String::from_utf8_lossy(&start).into_owned();
        let token = text
            .split("/hook/")
            .nth(1)
            .and_then(|rest| rest.get(..32))
            .expect("a hook URL")
            .to_owned();
        streams.push(body);
        // Both hooks at once, on the runtime's threads, as a server would take them.
        let hooks: Vec<_> = (0..2)
            .map(|_| {
                let app = app.clone();
                let hook = Request::post(format!("/hook/{token}"))
                    .body(Body::from(vec![1u8; 1024 * 1024]))
                    .expect("request");
                tokio::spawn(async move {
                    let response = app.oneshot(hook).await.expect("infallible");
                    let status = response.status();
                    response.into_body().collect().await.expect("answer");
                    status
                })
            })
            .collect();
        for hook in hooks {
            if hook.await.expect("hook") != StatusCode::OK {
                refused += 1;
            }
        }
    }
    let held: f64 = relay
        .metrics()
        .await
        .lines()
        .find_map(|line| line.strip_prefix("relay_bytes_held ")?.parse().ok())
        .expect("relay_bytes_held");
    let grown = rss() - before;
    eprintln!(
        "accounted {:.1} MiB, resident growth {:.1} MiB ({:.2}x)",
        held / 1048576.0,
        grown / 1048576.0,
        grown / held
    );
    assert!(held > total as f64 * 0.9, "filled: {held}");
    assert!(
        grown <= held * FACTOR,
        "resident growth {grown} is more than {FACTOR} times the {held} bytes accounted"
    );
}
