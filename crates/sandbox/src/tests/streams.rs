//! Particle's limits on event streams, per client address (Cloud API reference, "Server-sent
//! events"): 100 requests to open per 5 minutes and 100 streams open at once, 529 beyond.

use std::time::Duration;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
    response::Response,
};
use webhook_demo_http::PeerAddr;

use super::{App, sign_in};
use crate::{Limits, Settings};

fn app(limits: Limits) -> App {
    App::in_process_with(Settings {
        limits,
        ..super::quiet()
    })
}

/// Opens the caller's event stream from `peer`.
async fn open(app: &App, bearer: &str, peer: &str) -> Response {
    let mut request = Request::get("/v1/events")
        .header(header::AUTHORIZATION, bearer)
        .body(Body::empty())
        .expect("request");
    request
        .extensions_mut()
        .insert(PeerAddr(peer.parse().expect("a socket address")));
    tower::ServiceExt::oneshot(app.router.clone(), request)
        .await
        .expect("infallible")
}

async fn refusal(response: Response) -> (StatusCode, Option<String>, serde_json::Value) {
    let status = response.status();
    let retry = response
        .headers()
        .get(header::RETRY_AFTER)
        .map(|v| v.to_str().expect("ASCII").to_owned());
    let body = axum::body::to_bytes(response.into_body(), 4096)
        .await
        .expect("body");
    (status, retry, serde_json::from_slice(&body).expect("JSON"))
}

#[tokio::test(start_paused = true)]
async fn opening_too_many_streams_per_window_is_answered_529() {
    let app = app(Limits {
        stream_opens_per_client: 3,
        ..Limits::default()
    });
    let bearer = format!("Bearer {}", sign_in(&app).await);
    for _ in 0..3 {
        // Each opens and closes at once (dropped): only the opening counts here.
        assert_eq!(
            open(&app, &bearer, "192.0.2.1:1").await.status(),
            StatusCode::OK
        );
    }
    let (status, retry, body) = refusal(open(&app, &bearer, "192.0.2.1:2").await).await;
    assert_eq!(status.as_u16(), 529, "{body}");
    assert_eq!(body["error"], "rate_limited");
    assert!(body["error_description"].is_string());
    assert_eq!(retry.as_deref(), Some("300"));
    // Another address has its own allowance; the same /64 of IPv6 is one client.
    assert_eq!(
        open(&app, &bearer, "192.0.2.2:1").await.status(),
        StatusCode::OK
    );
    for _ in 0..3 {
        assert_eq!(
            open(&app, &bearer, "[2001:db8::1]:1").await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(
        open(&app, &bearer, "[2001:db8::2]:1")
            .await
            .status()
            .as_u16(),
        529
    );
    // Every request counts, a refused one too; after a quiet window the client is let in.
    tokio::time::sleep(Duration::from_secs(300)).await;
    assert_eq!(
        open(&app, &bearer, "192.0.2.1:3").await.status(),
        StatusCode::OK
    );
}

#[tokio::test(start_paused = true)]
async fn holding_too_many_streams_open_is_answered_529() {
    let app = app(Limits {
        open_streams_per_client: 2,
        ..Limits::default()
    });
    let bearer = format!("Bearer {}", sign_in(&app).await);
    let first = open(&app, &bearer, "192.0.2.1:1").await;
    let second = open(&app, &bearer, "192.0.2.1:2").await;
    assert_eq!(
        (first.status(), second.status()),
        (StatusCode::OK, StatusCode::OK)
    );
    let (status, _, body) = refusal(open(&app, &bearer, "192.0.2.1:3").await).await;
    assert_eq!(
        (status.as_u16(), &body["error"]),
        (529, &serde_json::json!("rate_limited"))
    );
    assert_eq!(
        open(&app, &bearer, "192.0.2.9:1").await.status(),
        StatusCode::OK
    );
    // Closing one makes room for another.
    drop(first);
    assert_eq!(
        open(&app, &bearer, "192.0.2.1:4").await.status(),
        StatusCode::OK
    );
}
