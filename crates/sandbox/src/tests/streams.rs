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

/// The next bytes a stream writes, and how long after `since` they came (the clock is paused, so
/// the time is the sandbox's own schedule).
async fn next_write(body: &mut Body, since: tokio::time::Instant) -> (Vec<u8>, Duration) {
    use http_body_util::BodyExt;
    let frame = body
        .frame()
        .await
        .expect("the stream goes on")
        .expect("a frame");
    let bytes = frame.into_data().expect("data");
    (bytes.to_vec(), since.elapsed())
}

/// Publishes `name` as the signed-in user.
async fn publish(app: &App, bearer: &str, name: &str) {
    let (status, body) = super::send_json(
        app,
        "POST",
        "/v1/devices/events",
        bearer,
        serde_json::json!({"name": name, "data": "x"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(start_paused = true)]
async fn a_quiet_stream_hears_the_clouds_newline_after_each_keepalive_interval() {
    let app = app(Limits::default());
    let bearer = format!("Bearer {}", sign_in(&app).await);
    let start = tokio::time::Instant::now();
    let mut body = open(&app, &bearer, "192.0.2.1:1").await.into_body();
    assert_eq!(next_write(&mut body, start).await.0, b":ok\n\n");
    // Particle's keepalive is a bare newline after 9 s without a write, not an SSE comment.
    let (keepalive, after) = next_write(&mut body, start).await;
    assert_eq!(
        (keepalive.as_slice(), after),
        (&b"\n"[..], Duration::from_secs(9))
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    publish(&app, &bearer, "note").await;
    let (frame, _) = next_write(&mut body, start).await;
    assert!(frame.starts_with(b"event: note\n"), "{frame:?}");
    // An event restarts the quiet interval.
    let (keepalive, after) = next_write(&mut body, start).await;
    assert_eq!(
        (keepalive.as_slice(), after),
        (&b"\n"[..], Duration::from_secs(22))
    );
}

#[tokio::test(start_paused = true)]
async fn a_silenced_stream_sends_nothing_and_loses_what_is_published_meanwhile() {
    let app = app(Limits::default());
    let bearer = format!("Bearer {}", sign_in(&app).await);
    let start = tokio::time::Instant::now();
    let mut body = open(&app, &bearer, "192.0.2.1:1").await.into_body();
    assert_eq!(next_write(&mut body, start).await.0, b":ok\n\n");
    let silence = |seconds: u64| {
        super::send_json(
            &app,
            "POST",
            "/_sim/streams/silence",
            &bearer,
            serde_json::json!({"seconds": seconds}),
        )
    };
    assert_eq!(silence(30).await.0, StatusCode::OK);
    publish(&app, &bearer, "lost").await;
    // A stream opened during the silence is not silenced.
    let mut fresh = open(&app, &bearer, "192.0.2.1:2").await.into_body();
    assert_eq!(next_write(&mut fresh, start).await.0, b":ok\n\n");
    publish(&app, &bearer, "seen").await;
    assert!(
        next_write(&mut fresh, start)
            .await
            .0
            .starts_with(b"event: seen\n")
    );
    // Nothing for 30 s, then a whole keepalive interval, then the newline; the events published
    // during the silence never come.
    let (keepalive, after) = next_write(&mut body, start).await;
    assert_eq!(
        (keepalive.as_slice(), after),
        (&b"\n"[..], Duration::from_secs(39))
    );
    publish(&app, &bearer, "after").await;
    assert!(
        next_write(&mut body, start)
            .await
            .0
            .starts_with(b"event: after\n")
    );
    // Bounded: five minutes at most; and 0 ends a silence.
    assert_eq!(silence(301).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(silence(300).await.0, StatusCode::OK);
    assert_eq!(silence(0).await.0, StatusCode::OK);
    publish(&app, &bearer, "again").await;
    assert!(
        next_write(&mut body, start)
            .await
            .0
            .starts_with(b"event: again\n")
    );
}

#[tokio::test(start_paused = true)]
async fn on_a_public_host_a_silence_reaches_only_the_callers_streams() {
    let app = App::in_process_with(Settings {
        public_host: Some("tutorial.example.com".to_owned()),
        ..super::quiet()
    });
    let bearer = format!("Bearer {}", sign_in(&app).await);
    let other = format!("Bearer {}", super::sign_in_with_mfa(&app).await);
    let start = tokio::time::Instant::now();
    let mut theirs = open(&app, &other, "192.0.2.2:1").await.into_body();
    assert_eq!(next_write(&mut theirs, start).await.0, b":ok\n\n");
    let mut mine = open(&app, &bearer, "192.0.2.1:1").await.into_body();
    assert_eq!(next_write(&mut mine, start).await.0, b":ok\n\n");
    let (status, body) = super::send_json(
        &app,
        "POST",
        "/_sim/streams/silence",
        &bearer,
        serde_json::json!({"seconds": 60}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (keepalive, after) = next_write(&mut theirs, start).await;
    assert_eq!(
        (keepalive.as_slice(), after),
        (&b"\n"[..], Duration::from_secs(9))
    );
    let (keepalive, after) = next_write(&mut mine, start).await;
    assert_eq!(
        (keepalive.as_slice(), after),
        (&b"\n"[..], Duration::from_secs(69))
    );
}
