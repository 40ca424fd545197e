//! The server on a real socket: the relay mounted at `/relay`, and a graceful shutdown that ends
//! open relay streams instead of waiting on them forever; `/metrics` on a listener of its own.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::{net::TcpListener, sync::oneshot};
use webhook_demo_server::{Options, run, run_with_metrics};

#[tokio::test]
async fn shutdown_ends_open_relay_streams() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        run(
            listener,
            &Options::default(),
            async move { drop(stopped.await) },
        )
        .await
    });

    let response = reqwest::get(format!("{base}/relay/stream"))
        .await
        .expect("stream opens");
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let start = body.next().await.expect("a first chunk").expect("bytes");
    let start = String::from_utf8_lossy(&start).into_owned();
    assert!(start.contains("event: start"), "{start}");
    assert!(
        start.contains(&format!("\"hookUrl\":\"{base}/relay/hook/")),
        "{start}"
    );

    stop.send(()).expect("server still running");
    // The stream ends (no more chunks) and the server returns, both well before any keepalive.
    let rest = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(chunk) = body.next().await {
            chunk.expect("a clean end, not a broken connection");
        }
    });
    rest.await.expect("the stream ended at shutdown");
    let finished = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("server stopped");
    finished.expect("server task").expect("server returned Ok");
}

/// With `--metrics-addr`, `/metrics` is served on that listener only (and nothing else there);
/// the main listener answers 404 for it. Both stop at shutdown.
#[tokio::test]
async fn metrics_on_their_own_listener() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let metrics = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let metrics_base = format!("http://{}", metrics.local_addr().expect("address"));
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        run_with_metrics(listener, Some(metrics), &Options::default(), async move {
            drop(stopped.await)
        })
        .await
    });
    let client = reqwest::Client::new();
    let status = |url: String| {
        let client = client.clone();
        async move { client.get(url).send().await.expect("answered").status() }
    };
    assert_eq!(status(format!("{base}/metrics")).await, 404);
    assert_eq!(status(format!("{base}/healthz")).await, 200);
    let scraped = client
        .get(format!("{metrics_base}/metrics"))
        .send()
        .await
        .expect("answered");
    assert_eq!(scraped.status(), 200);
    let text = scraped.text().await.expect("text");
    assert!(
        text.lines().any(|line| line == "relay_sessions 0"),
        "{text}"
    );
    assert_eq!(status(format!("{metrics_base}/healthz")).await, 404);
    assert_eq!(status(format!("{metrics_base}/relay/stream")).await, 404);

    stop.send(()).expect("server still running");
    let finished = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("server stopped");
    finished.expect("server task").expect("server returned Ok");
}
