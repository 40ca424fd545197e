//! The server on a real socket: the relay mounted at `/relay`, and a graceful shutdown that ends
//! open relay streams instead of waiting on them forever.

use std::time::Duration;

use futures_util::StreamExt;
use tokio::{net::TcpListener, sync::oneshot};
use webhook_demo_server::{Options, run};

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
