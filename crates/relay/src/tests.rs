//! In-process relay tests driven through the `Router`, with tokio's paused clock for every rule
//! that involves time (page-answer deadlines, rate limit, idle expiry).

use std::{pin::Pin, time::Duration};

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use eventsource_stream::{Event, Eventsource};
use futures_util::{Stream, StreamExt};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use webhook_demo_core::wire::RelayStart;

use crate::{Limits, Relay, Settings};

type Events = Pin<Box<dyn Stream<Item = Event> + Send>>;

fn relay(limits: Limits) -> Router {
    Relay::new(Settings {
        public_url: Some("https://relay.example".into()),
        limits,
    })
    .router()
}

async fn send(
    app: &Router,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.expect("body").to_bytes().to_vec(),
    )
}

async fn post_json(app: &Router, uri: &str, body: Value) -> (StatusCode, Value) {
    let request = Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()));
    let (status, _, body) = send(app, request.expect("request")).await;
    (status, serde_json::from_slice(&body).expect("JSON answer"))
}

async fn open(app: &Router, uri: &str) -> (RelayStart, Events) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("ok");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    let mut events: Events = Box::pin(
        response
            .into_body()
            .into_data_stream()
            .eventsource()
            .map(|event| event.expect("valid SSE")),
    );
    let start = events.next().await.expect("a start event");
    assert_eq!(start.event, "start");
    (
        serde_json::from_str(&start.data).expect("start data"),
        events,
    )
}

async fn next(events: &mut Events) -> (String, Value) {
    let event = events.next().await.expect("another event");
    (
        event.event,
        serde_json::from_str(&event.data).expect("JSON data"),
    )
}

fn hook_path(start: &RelayStart) -> String {
    format!("/hook/{}", start.session_id)
}

#[tokio::test(start_paused = true)]
async fn page_answer_deadline_sends_the_default() {
    let app = relay(Limits::default());
    let (start, mut events) = open(&app, "/stream").await;
    assert_eq!(
        start.hook_url,
        format!("https://relay.example/hook/{}", start.session_id)
    );
    let control = format!("/control/{}", start.session_id);
    let (status, answer) = post_json(
        &app,
        &control,
        json!({"pageAnswers": true, "deadlineMs": 3000}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["settings"]["pageAnswers"], true);

    let before = tokio::time::Instant::now();
    let (status, _, body) = send(
        &app,
        Request::post(hook_path(&start))
            .body(Body::from("{}"))
            .expect("request"),
    )
    .await;
    assert_eq!(
        before.elapsed(),
        Duration::from_secs(3),
        "the hook waited exactly the deadline"
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, br#"{"ok":true,"hookId":1}"#);
    assert_eq!(next(&mut events).await.0, "hook");
    let (name, response) = next(&mut events).await;
    assert_eq!(name, "hookResponse");
    assert_eq!(response["source"], "timeout");
    assert_eq!(response["statusCode"], 200);
}

#[tokio::test(start_paused = true)]
async fn page_answer_is_sent_to_the_hook() {
    let app = relay(Limits::default());
    let (start, mut events) = open(&app, "/stream").await;
    post_json(
        &app,
        &format!("/control/{}", start.session_id),
        json!({"pageAnswers": true}),
    )
    .await;
    let hook = tokio::spawn({
        let app = app.clone();
        let path = hook_path(&start);
        async move {
            send(
                &app,
                Request::post(path).body(Body::from("x")).expect("request"),
            )
            .await
        }
    });
    let (name, request) = next(&mut events).await;
    assert_eq!(
        (name.as_str(), request["hookId"].as_u64()),
        ("hook", Some(1))
    );
    let respond = format!("/respond/{}/1", start.session_id);
    let (status, _) = post_json(
        &app,
        &respond,
        json!({"status": 202, "contentType": "text/plain", "body": "thanks"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, headers, body) = hook.await.expect("hook task");
    assert_eq!(
        (
            status,
            headers[header::CONTENT_TYPE].to_str().ok(),
            body.as_slice()
        ),
        (StatusCode::ACCEPTED, Some("text/plain"), &b"thanks"[..])
    );
    let (_, response) = next(&mut events).await;
    assert_eq!(response["source"], "page");
    assert_eq!(response["body"], "thanks");
    let (status, error) = post_json(&app, &respond, json!({"body": "again"})).await;
    assert_eq!(
        (status, error["error"].as_str()),
        (
            StatusCode::CONFLICT,
            Some("hook 1 is not waiting for an answer")
        )
    );
}

#[tokio::test(start_paused = true)]
async fn rate_limit_answers_429_with_retry_after() {
    let app = relay(Limits {
        hooks_per_second: 2,
        hook_burst: 2,
        ..Limits::default()
    });
    let (start, _events) = open(&app, "/stream").await;
    let hook = || {
        Request::post(hook_path(&start))
            .body(Body::empty())
            .expect("request")
    };
    for _ in 0..2 {
        assert_eq!(send(&app, hook()).await.0, StatusCode::OK);
    }
    let (status, headers, body) = send(&app, hook()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers[header::RETRY_AFTER], "1");
    assert!(String::from_utf8_lossy(&body).contains("too many hooks"));
    tokio::time::advance(Duration::from_millis(500)).await;
    assert_eq!(
        send(&app, hook()).await.0,
        StatusCode::OK,
        "the bucket refills at the rate"
    );
}

#[tokio::test(start_paused = true)]
async fn idle_session_expires_and_then_is_unknown() {
    let app = relay(Limits::default());
    let (start, events) = open(&app, "/stream").await;
    tokio::time::advance(Duration::from_secs(3600)).await;
    let (status, _, body) = send(
        &app,
        Request::post(hook_path(&start))
            .body(Body::empty())
            .expect("r"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).expect("json")["ok"],
        true,
        "attached: never expires"
    );
    drop(events);
    tokio::time::advance(Duration::from_secs(29 * 60)).await;
    assert_eq!(
        send(
            &app,
            Request::post(hook_path(&start))
                .body(Body::empty())
                .expect("r")
        )
        .await
        .0,
        StatusCode::OK
    );
    tokio::time::advance(Duration::from_secs(60)).await;
    let (status, _, body) = send(
        &app,
        Request::post(hook_path(&start))
            .body(Body::empty())
            .expect("r"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).expect("json"),
        json!({"ok": false, "error": "unknown session"})
    );
    let resume = format!("/stream?session={}", start.session_id);
    let response = app
        .clone()
        .oneshot(Request::get(resume).body(Body::empty()).expect("r"))
        .await
        .expect("ok");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn session_cap_answers_503() {
    let app = relay(Limits {
        max_sessions: 2,
        ..Limits::default()
    });
    let _first = open(&app, "/stream").await;
    let _second = open(&app, "/stream").await;
    let (status, _, body) = send(
        &app,
        Request::get("/stream").body(Body::empty()).expect("r"),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(String::from_utf8_lossy(&body).contains("too many sessions"));
}

#[tokio::test]
async fn oversize_body_answers_413() {
    let app = relay(Limits {
        max_body_bytes: 1024,
        ..Limits::default()
    });
    let (start, _events) = open(&app, "/stream").await;
    let (status, _, body) = send(
        &app,
        Request::post(hook_path(&start))
            .body(Body::from(vec![b'x'; 1025]))
            .expect("r"),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).expect("json")["error"],
        "body larger than 1024 bytes"
    );
    let (status, _, _) = send(
        &app,
        Request::post(hook_path(&start))
            .body(Body::from(vec![b'x'; 1024]))
            .expect("r"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "exactly the limit is accepted");
}

#[tokio::test]
async fn buffer_bound_evicts_oldest_and_says_how_many() {
    let app = relay(Limits {
        max_events: 4,
        ..Limits::default()
    });
    let (start, events) = open(&app, "/stream").await;
    drop(events);
    for _ in 0..5 {
        send(
            &app,
            Request::post(hook_path(&start))
                .body(Body::empty())
                .expect("r"),
        )
        .await;
    }
    // Ten events were logged (a hook and its response each); the four newest are kept.
    let (_, mut events) = open(&app, &format!("/stream?session={}", start.session_id)).await;
    let (name, dropped) = next(&mut events).await;
    assert_eq!(
        (name.as_str(), dropped),
        ("dropped", json!({"count": 6, "resumesAt": 7}))
    );
    let mut ids = Vec::new();
    for _ in 0..4 {
        let event = events.next().await.expect("event");
        ids.push(event.id);
    }
    assert_eq!(ids, ["7", "8", "9", "10"]);
}

#[tokio::test]
async fn control_rejects_bad_settings() {
    let app = relay(Limits::default());
    let (start, _events) = open(&app, "/stream").await;
    let control = format!("/control/{}", start.session_id);
    for (body, message) in [
        (
            json!({"delayMs": 20_000}),
            "delayMs must be a number of milliseconds from 0 to 15000",
        ),
        (
            json!({"status": 99}),
            "status must be an HTTP status from 200 to 599, got 99",
        ),
        (json!({"colour": "red"}), "unknown setting \"colour\""),
        (json!([1]), "the body must be a JSON object"),
        (
            json!({"authorization": 5}),
            "authorization must be a string or null",
        ),
    ] {
        let (status, answer) = post_json(&app, &control, body).await;
        assert_eq!(
            (status, answer["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some(message))
        );
    }
    let request = Request::post(&control)
        .body(Body::from("{not json"))
        .expect("request");
    let (status, _, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("malformed JSON"));
    let (status, _) = post_json(&app, "/control/0123", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let reference = json!({"op": "hookResponse", "authorization": "Bearer s3cret"});
    let (status, answer) = post_json(&app, &control, reference).await;
    assert_eq!(
        (status, &answer["settings"]["authorization"]),
        (StatusCode::OK, &json!("Bearer s3cret"))
    );
    let (_, answer) = post_json(&app, &control, json!({"authorization": ""})).await;
    assert_eq!(
        answer["settings"]["authorization"],
        Value::Null,
        "empty removes the requirement"
    );
}

#[tokio::test(start_paused = true)]
async fn idle_stream_gets_keepalive_comments() {
    let app = relay(Limits::default());
    let response = app
        .clone()
        .oneshot(Request::get("/stream").body(Body::empty()).expect("r"))
        .await
        .expect("ok");
    let mut body = response.into_body();
    let first = body
        .frame()
        .await
        .expect("frame")
        .expect("data")
        .into_data()
        .expect("data");
    assert!(
        first.starts_with(b"retry: 2000\nid: 0\nevent: start\n"),
        "{first:?}"
    );
    let before = tokio::time::Instant::now();
    let second = body
        .frame()
        .await
        .expect("frame")
        .expect("data")
        .into_data()
        .expect("data");
    assert_eq!(&second[..], b": keepalive\n\n");
    assert_eq!(before.elapsed(), Duration::from_secs(15));
}

#[tokio::test(start_paused = true)]
async fn streams_end_at_their_max_age_and_resume_without_a_gap() {
    let app = relay(Limits {
        max_stream_age: Some(Duration::from_secs(60)),
        ..Limits::default()
    });
    let (start, mut events) = open(&app, "/stream").await;
    let hook = || {
        Request::post(hook_path(&start))
            .body(Body::from("{}"))
            .expect("r")
    };
    send(&app, hook()).await;
    let (kind, first) = next(&mut events).await;
    assert_eq!((kind.as_str(), &first["hookId"]), ("hook", &json!(1)));
    let (kind, _) = next(&mut events).await;
    assert_eq!(kind, "hookResponse");
    tokio::time::advance(Duration::from_secs(61)).await;
    assert!(events.next().await.is_none(), "the stream ended at its age");
    // A hook while no stream is attached is kept, and the resumed stream replays it.
    send(&app, hook()).await;
    let resume = format!("/stream?session={}&lastEventId=2", start.session_id);
    let (resumed, mut events) = open(&app, &resume).await;
    assert!(resumed.resumed);
    let (kind, second) = next(&mut events).await;
    assert_eq!((kind.as_str(), &second["hookId"]), ("hook", &json!(2)));
}
