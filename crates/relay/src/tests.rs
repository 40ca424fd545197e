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
use webhook_demo_http::PeerAddr;

use crate::{Limits, Relay, Settings};

type Events = Pin<Box<dyn Stream<Item = Event> + Send>>;

fn relay(limits: Limits) -> Router {
    Relay::new(Settings {
        public_url: Some("https://relay.example".into()),
        limits,
        ..Settings::default()
    })
    .router()
}

async fn send(
    app: &Router,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let response = app.clone().oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    // An event stream never ends: only its head is of interest here.
    let body = if parts.headers.get(header::CONTENT_TYPE)
        == Some(&header::HeaderValue::from_static("text/event-stream"))
    {
        Vec::new()
    } else {
        body.collect().await.expect("body").to_bytes().to_vec()
    };
    (parts.status, parts.headers, body)
}

async fn post_json(app: &Router, uri: &str, body: Value) -> (StatusCode, Value) {
    let request = Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()));
    let (status, _, body) = send(app, request.expect("request")).await;
    (status, serde_json::from_slice(&body).expect("JSON answer"))
}

async fn open(app: &Router, uri: &str) -> (RelayStart, Events) {
    open_with(app, get(uri)).await
}

/// Opens (or resumes) a stream with this request and reads its `start` event.
async fn open_with(app: &Router, request: Request<Body>) -> (RelayStart, Events) {
    let response = app.clone().oneshot(request).await.expect("ok");
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

/// The hook URL's path relative to the relay: `/hook/<token>`.
fn hook_path(start: &RelayStart) -> String {
    let path = start
        .hook_url
        .strip_prefix("https://relay.example")
        .expect("hook URLs use the public URL");
    path.to_owned()
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("request")
}

fn post(uri: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri).body(body.into()).expect("request")
}

/// The request as the server's connection would hand it over from a client at `address`.
fn from(address: &str, mut request: Request<Body>) -> Request<Body> {
    let address = address.parse().expect("a socket address");
    request.extensions_mut().insert(PeerAddr(address));
    request
}

#[tokio::test(start_paused = true)]
async fn page_answer_deadline_sends_the_default() {
    let app = relay(Limits::default());
    let (start, mut events) = open(&app, "/stream").await;
    assert!(
        start.hook_url.starts_with("https://relay.example/hook/"),
        "{}",
        start.hook_url
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

/// Issue 14: a 500 with no body set said `{"ok":true}`; the default body follows the status.
#[tokio::test]
async fn the_default_body_follows_the_status() {
    let app = relay(Limits::default());
    let (start, _events) = open(&app, "/stream").await;
    let control = format!("/control/{}", start.session_id);
    for (status, expected) in [
        (500, r#"{"ok":false,"hookId":1,"error":"HTTP 500"}"#),
        (404, r#"{"ok":false,"hookId":2,"error":"HTTP 404"}"#),
        (201, r#"{"ok":true,"hookId":3}"#),
    ] {
        let (set, answer) = post_json(&app, &control, json!({"status": status})).await;
        assert_eq!(set, StatusCode::OK, "{answer}");
        let (sent, _, body) = send(&app, post(&hook_path(&start), "{}")).await;
        assert_eq!(sent.as_u16(), status);
        assert_eq!(String::from_utf8_lossy(&body), expected);
    }
    // Past Particle's 20 s by a second is allowed, so a webhook can be made to time out.
    let (set, answer) = post_json(&app, &control, json!({"delayMs": 21_000})).await;
    assert_eq!(set, StatusCode::OK, "{answer}");
}

#[tokio::test]
async fn control_rejects_bad_settings() {
    let app = relay(Limits::default());
    let (start, _events) = open(&app, "/stream").await;
    let control = format!("/control/{}", start.session_id);
    for (body, message) in [
        (
            json!({"delayMs": 21_001}),
            "delayMs must be a number of milliseconds from 0 to 21000",
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

/// Issue 3: an answer of the relay must never run as a page of the tutorial's origin, whatever
/// content type the learner (or anyone holding a session) chose for it.
#[tokio::test(start_paused = true)]
async fn every_answer_is_inert_in_a_browser() {
    let app = relay(Limits::default());
    let (start, _events) = open(&app, "/stream").await;
    let control = format!("/control/{}", start.session_id);
    let html = json!({"contentType": "text/html", "body": "<script>alert(1)</script>"});
    let (status, answer) = post_json(&app, &control, html).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let requests = [
        ("stream", get("/stream")),
        ("hook", post(&hook_path(&start), "{}")),
        ("control", post(&control, "{}")),
        ("bad control", post(&control, "[")),
        (
            "respond",
            post(&format!("/respond/{}/9", start.session_id), "{}"),
        ),
        ("unknown session", post("/control/00", "{}")),
        ("unknown hook session", post("/hook/00", "{}")),
        ("no such endpoint", get("/nothing/here")),
        ("wrong method", get(&control)),
    ];
    for (what, request) in requests {
        let (status, headers, _) = send(&app, request).await;
        let inert = ["content-security-policy", "x-content-type-options"]
            .map(|name| headers.get(name).and_then(|v| v.to_str().ok()));
        let expected = [Some("sandbox; default-src 'none'"), Some("nosniff")];
        assert_eq!(inert, expected, "{what} ({status})");
    }
}

/// Issue 3: `contentType` goes into every hook's answer head, so it must be a media type and
/// nothing more; a line break once made every later hook answer 500.
#[tokio::test(start_paused = true)]
async fn content_types_must_be_media_types() {
    let app = relay(Limits::default());
    let (start, mut events) = open(&app, "/stream").await;
    let control = format!("/control/{}", start.session_id);
    let long = format!("text/{}", "x".repeat(300));
    for bad in [
        "text/html\r\nX-Injected: 1",
        "text/html\n",
        "text/\u{7f}html",
        "text/html; charset=\"a\u{1}\"",
        "texthtml",
        "tëxt/html",
        long.as_str(),
    ] {
        let (status, answer) = post_json(&app, &control, json!({"contentType": bad})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?} was accepted");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(
            error.starts_with("contentType must be a media type"),
            "{error}"
        );
    }
    let (status, _, _) = send(&app, post(&hook_path(&start), "{}")).await;
    assert_eq!(status, StatusCode::OK, "hooks still answer");
    next(&mut events).await;
    next(&mut events).await;

    let page_answers = json!({"pageAnswers": true, "contentType": "text/plain; charset=utf-8"});
    let (status, answer) = post_json(&app, &control, page_answers).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let hook = tokio::spawn({
        let app = app.clone();
        let path = hook_path(&start);
        async move { send(&app, post(&path, "x")).await }
    });
    let (_, request) = next(&mut events).await;
    let respond = format!("/respond/{}/{}", start.session_id, request["hookId"]);
    let injected = json!({"status": 200, "contentType": "a/b\r\nX-Injected: 1", "body": ""});
    let (status, answer) = post_json(&app, &respond, injected).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let plain = json!({"status": 200, "contentType": "text/plain; charset=utf-8", "body": "ok"});
    assert_eq!(post_json(&app, &respond, plain).await.0, StatusCode::OK);
    let (status, headers, _) = hook.await.expect("hook task");
    assert_eq!(
        (status, headers[header::CONTENT_TYPE].to_str().ok()),
        (StatusCode::OK, Some("text/plain; charset=utf-8"))
    );
}

/// Issue 6: the hook URL is public (the Particle console shows it), so its token must open
/// nothing but the hook itself.
#[tokio::test(start_paused = true)]
async fn the_hook_token_opens_nothing_but_the_hook() {
    let app = relay(Limits::default());
    let (start, mut events) = open(&app, "/stream").await;
    let token = hook_path(&start)
        .strip_prefix("/hook/")
        .expect("a hook path")
        .to_owned();
    assert_eq!(token.len(), 32);
    assert_ne!(token, start.session_id);
    assert!(!start.control_url.contains(&token), "{}", start.control_url);
    for uri in [
        format!("/stream?session={token}"),
        format!("/stream?session={token}&lastEventId=0"),
    ] {
        let (status, _, body) = send(&app, get(&uri)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert!(String::from_utf8_lossy(&body).contains("unknown session"));
    }
    let (status, answer) =
        post_json(&app, &format!("/control/{token}"), json!({"status": 500})).await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown session"))
    );
    let respond = format!("/respond/{token}/1");
    assert_eq!(
        post_json(&app, &respond, json!({})).await.0,
        StatusCode::NOT_FOUND
    );

    let (status, _, body) = send(&app, post(&hook_path(&start), "{}")).await;
    assert_eq!(
        (status, body.as_slice()),
        (StatusCode::OK, &br#"{"ok":true,"hookId":1}"#[..])
    );
    let (name, hook) = next(&mut events).await;
    assert_eq!((name.as_str(), &hook["hookId"]), ("hook", &json!(1)));
    let (_, _, body) = send(&app, post(&format!("/hook/{}", start.session_id), "{}")).await;
    assert_eq!(
        serde_json::from_slice::<Value>(&body).expect("json"),
        json!({"ok": false, "error": "unknown session"}),
        "the session id is no hook token"
    );
}

/// An id past anything the session sent (here `u64::MAX`, which once overflowed) resumes at the
/// newest event rather than failing or skipping what comes next.
#[tokio::test(start_paused = true)]
async fn an_out_of_range_last_event_id_resumes_at_the_newest() {
    let app = relay(Limits::default());
    let (start, events) = open(&app, "/stream").await;
    drop(events);
    send(&app, post(&hook_path(&start), "one")).await;
    let resume = Request::get(format!("/stream?session={}", start.session_id))
        .header("last-event-id", u64::MAX.to_string())
        .body(Body::empty())
        .expect("request");
    let (_, mut events) = open_with(&app, resume).await;
    send(&app, post(&hook_path(&start), "two")).await;
    let (name, hook) = next(&mut events).await;
    assert_eq!((name.as_str(), &hook["body"]), ("hook", &json!("two")));
}

/// Issue 9: a request refused for what it says must not take a session slot on its way out.
#[tokio::test(start_paused = true)]
async fn a_refused_stream_request_opens_no_session() {
    let app = relay(Limits {
        max_sessions: 1,
        ..Limits::default()
    });
    let bad_header = Request::get("/stream")
        .header("last-event-id", "x")
        .body(Body::empty())
        .expect("request");
    for request in [get("/stream?lastEventId=abc"), bad_header] {
        let (status, _, body) = send(&app, request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(String::from_utf8_lossy(&body).contains("Last-Event-ID must be a number"));
    }
    let (start, _events) = open(&app, "/stream").await;
    assert!(!start.resumed);
}

/// Issue 9: streams that came and went without a hook gave up their slots only after 30 minutes,
/// and the refusal said nothing of when to come back.
#[tokio::test(start_paused = true)]
async fn streams_that_come_and_go_free_their_slots_soon() {
    let app = relay(Limits {
        max_sessions: 5,
        ..Limits::default()
    });
    for _ in 0..5 {
        drop(open(&app, "/stream").await);
    }
    let (status, headers, _) = send(&app, get("/stream")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(headers.contains_key(header::RETRY_AFTER), "{headers:?}");
    tokio::time::advance(Duration::from_secs(2 * 60)).await;
    let (start, _events) = open(&app, "/stream").await;
    assert!(!start.resumed);
}

/// Issue 9: what keeps a session for the long expiry: a hook, or a page that came back to it.
#[tokio::test(start_paused = true)]
async fn sessions_in_use_keep_the_long_expiry() {
    let app = relay(Limits::default());
    let (hooked, events) = open(&app, "/stream").await;
    send(&app, post(&hook_path(&hooked), "{}")).await;
    drop(events);
    let (resumed, events) = open(&app, "/stream").await;
    drop(events);
    let resume = format!("/stream?session={}", resumed.session_id);
    drop(open(&app, &resume).await);
    let (unused, events) = open(&app, "/stream").await;
    drop(events);
    tokio::time::advance(Duration::from_secs(10 * 60)).await;
    for start in [&hooked, &resumed] {
        let resume = format!("/stream?session={}", start.session_id);
        let (status, _, _) = send(&app, get(&resume)).await;
        assert_eq!(status, StatusCode::OK, "{resume}");
    }
    let resume = format!("/stream?session={}", unused.session_id);
    assert_eq!(send(&app, get(&resume)).await.0, StatusCode::NOT_FOUND);
}

/// Issue 9: one client address holds at most 32 sessions, so it cannot take every slot; other
/// clients still get theirs.
#[tokio::test(start_paused = true)]
async fn one_client_holds_at_most_its_share_of_sessions() {
    let app = relay(Limits::default());
    let mut held = Vec::new();
    for port in 0..32 {
        let response = app
            .clone()
            .oneshot(from(&format!("192.0.2.1:{}", 1000 + port), get("/stream")))
            .await
            .expect("infallible");
        assert_eq!(response.status(), StatusCode::OK);
        held.push(response);
    }
    let (status, headers, body) = send(&app, from("192.0.2.1:2000", get("/stream"))).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.contains_key(header::RETRY_AFTER), "{headers:?}");
    assert!(String::from_utf8_lossy(&body).contains("too many sessions from your address"));
    let (status, _, _) = send(&app, from("192.0.2.2:2000", get("/stream"))).await;
    assert_eq!(status, StatusCode::OK, "another client is not refused");
}

/// Without being told to trust them, a client's forwarding headers do not choose the hook URL.
#[tokio::test]
async fn forwarded_headers_are_ignored_unless_trusted() {
    let app = Relay::new(Settings {
        limits: Limits {
            hosts: vec!["tutorial.example:8080".into()],
            ..Limits::default()
        },
        ..Settings::default()
    })
    .router();
    let request = Request::get("/stream")
        .header(header::HOST, "tutorial.example:8080")
        .header("x-forwarded-proto", "https")
        .header("x-forwarded-host", "elsewhere.example")
        .header("forwarded", "proto=https;host=elsewhere.example")
        .body(Body::empty())
        .expect("request");
    let (start, _events) = open_with(&app, request).await;
    assert!(
        start
            .hook_url
            .starts_with("http://tutorial.example:8080/hook/"),
        "{}",
        start.hook_url
    );
}

/// Issue 8: every session together holds at most `max_total_buffer_bytes`, counted as stored:
/// a body of control characters takes six times its size once JSON-escaped. The bytes come back
/// when events are evicted and when sessions expire.
#[tokio::test(start_paused = true)]
async fn memory_is_bounded_across_sessions() {
    // One client here, so its shares are turned off: this is the bound itself.
    let app = relay(Limits {
        max_total_buffer_bytes: 1024 * 1024,
        max_body_bytes: 128 * 1024,
        max_events: 4,
        client_bytes_percent: 0,
        network_bytes_percent: 0,
        ..Limits::default()
    });
    // 100 KiB sent, 600 KiB stored: `\u0001` for each byte.
    let big = || vec![1u8; 100 * 1024];
    let (first, first_events) = open(&app, "/stream").await;
    let (second, second_events) = open(&app, "/stream").await;
    assert_eq!(
        send(&app, post(&hook_path(&first), big())).await.0,
        StatusCode::OK
    );
    for start in [&first, &second] {
        let (status, headers, body) = send(&app, post(&hook_path(start), big())).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(headers.contains_key(header::RETRY_AFTER), "{headers:?}");
        assert!(String::from_utf8_lossy(&body).contains("holds as much as it may"));
    }
    // Two small hooks push the big one out of the first session's four events.
    for _ in 0..2 {
        assert_eq!(
            send(&app, post(&hook_path(&first), "{}")).await.0,
            StatusCode::OK
        );
    }
    assert_eq!(
        send(&app, post(&hook_path(&second), big())).await.0,
        StatusCode::OK
    );

    let (third, _third_events) = open(&app, "/stream").await;
    assert_eq!(
        send(&app, post(&hook_path(&third), big())).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    drop((first_events, second_events));
    tokio::time::advance(Limits::default().idle_expiry).await;
    assert_eq!(
        send(&app, post(&hook_path(&third), big())).await.0,
        StatusCode::OK,
        "expired sessions gave their bytes back"
    );
}

/// Issue 8: an answer body is kept too, so it is charged like events.
#[tokio::test(start_paused = true)]
async fn answers_count_against_the_memory_bound() {
    let app = relay(Limits {
        max_total_buffer_bytes: 64 * 1024,
        ..Limits::default()
    });
    let (start, _events) = open(&app, "/stream").await;
    let control = format!("/control/{}", start.session_id);
    let body = "x".repeat(80 * 1024);
    let (status, answer) = post_json(&app, &control, json!({"body": body})).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    let (status, _) = post_json(&app, &control, json!({"body": "x".repeat(1024)})).await;
    assert_eq!(status, StatusCode::OK);
}

/// Behind a proxy the operator trusts, the proxy's forwarding headers choose the hook URL's
/// origin and name the client; only their last entry counts, the one the proxy wrote.
#[tokio::test]
async fn forwarded_headers_are_believed_when_trusted() {
    let app = Relay::new(Settings {
        trust_forwarded: true,
        limits: Limits {
            max_sessions_per_client: 1,
            ..Limits::default()
        },
        ..Settings::default()
    })
    .router();
    let stream = |forwarded: &[(&str, &str)]| {
        let mut request = Request::get("/stream").header(header::HOST, "10.0.0.5:8080");
        for (name, value) in forwarded {
            request = request.header(*name, *value);
        }
        from(
            "10.0.0.1:5000",
            request.body(Body::empty()).expect("request"),
        )
    };
    let proxied = [
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "hooks.example"),
        ("x-forwarded-for", "203.0.113.9, 198.51.100.1"),
    ];
    let (start, _events) = open_with(&app, stream(&proxied)).await;
    assert!(
        start.hook_url.starts_with("https://hooks.example/hook/"),
        "{}",
        start.hook_url
    );
    let forged = [("x-forwarded-for", "198.51.100.1, 198.51.100.2")];
    assert_eq!(send(&app, stream(&forged)).await.0, StatusCode::OK);
    let same = [("x-forwarded-for", "203.0.113.7, 198.51.100.1")];
    assert_eq!(
        send(&app, stream(&same)).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );

    let standard = [(
        "forwarded",
        "for=192.0.2.1, for=\"[2001:db8::1]:4711\";proto=https;host=h.example",
    )];
    let (start, _events) = open_with(&app, stream(&standard)).await;
    assert!(
        start.hook_url.starts_with("https://h.example/hook/"),
        "{}",
        start.hook_url
    );
    // The same /64: one host's addresses.
    let neighbour = [("forwarded", "for=\"[2001:db8::2]\"")];
    assert_eq!(
        send(&app, stream(&neighbour)).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// The metrics follow a session through a page-answered hook.
#[tokio::test(start_paused = true)]
async fn metrics_follow_sessions_streams_and_hooks() {
    let relay = Relay::new(Settings {
        public_url: Some("https://relay.example".into()),
        ..Settings::default()
    });
    let app = relay.router();
    let (start, mut events) = open(&app, "/stream").await;
    let control = format!("/control/{}", start.session_id);
    post_json(&app, &control, json!({"pageAnswers": true})).await;
    let hook = tokio::spawn({
        let app = app.clone();
        let path = hook_path(&start);
        async move { send(&app, post(&path, "x")).await }
    });
    next(&mut events).await;
    tokio::time::advance(Duration::from_millis(3)).await;
    let respond = format!("/respond/{}/1", start.session_id);
    post_json(&app, &respond, json!({"status": 201})).await;
    assert_eq!(hook.await.expect("hook").0, StatusCode::CREATED);
    let text = relay.metrics().await;
    let value = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("{name} missing from:\n{text}"))
            .to_owned()
    };
    assert_eq!(value("relay_sessions"), "1");
    assert_eq!(value("relay_open_streams"), "1");
    assert_eq!(value("relay_hooks_received_total"), "1");
    assert_eq!(value("relay_hooks_answered_total{status=\"201\"}"), "1");
    assert_eq!(value("relay_page_answer_seconds_count"), "1");
    assert_eq!(value("relay_page_answer_seconds_sum"), "0.003");
    assert_ne!(value("relay_bytes_held"), "0");
    drop(events);
    assert!(relay.metrics().await.contains("relay_open_streams 0\n"));
}

/// L3: a control or respond body over the bound got axum's `413 text/plain` ("Failed to buffer
/// the request body") rather than the relay's own JSON error.
#[tokio::test]
async fn oversize_control_bodies_get_the_relay_s_json_413() {
    let app = relay(Limits {
        max_body_bytes: 1024,
        ..Limits::default()
    });
    let (start, _events) = open(&app, "/stream").await;
    let big = json!({"body": "x".repeat(4 * 1024 * 1024)}).to_string();
    for uri in [
        format!("/control/{}", start.session_id),
        format!("/respond/{}/1", start.session_id),
    ] {
        let (status, headers, body) = send(&app, post(&uri, big.clone())).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{uri}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{uri}");
        let answer: Value = serde_json::from_slice(&body).expect("the relay's JSON error");
        assert_eq!(answer["ok"], false);
        assert!(
            answer["error"]
                .as_str()
                .is_some_and(|error| error.starts_with("body larger than")),
            "{answer}"
        );
    }
}

/// Info finding: without a public URL the relay built hook URLs from any `Host`, so a page
/// reached under another name (DNS rebinding, a LAN address) was handed hook URLs on that name.
/// Loopback hosts and configured ones are used; any other is refused with a message saying what
/// to configure.
#[tokio::test]
async fn without_a_public_url_only_loopback_or_configured_hosts_name_hook_urls() {
    let app = Relay::new(Settings {
        limits: Limits {
            hosts: vec!["tutorial.example:8080".into()],
            ..Limits::default()
        },
        ..Settings::default()
    })
    .router();
    let with_host = |host: &str| {
        Request::get("/stream")
            .header(header::HOST, host)
            .body(Body::empty())
            .expect("request")
    };
    for host in [
        "localhost:8080",
        "127.0.0.1:8080",
        "127.3.4.5",
        "[::1]:9000",
        "LocalHost",
        "tutorial.example:8080",
    ] {
        let (start, _events) = open_with(&app, with_host(host)).await;
        assert_eq!(
            start.hook_url,
            format!(
                "http://{host}/hook/{}",
                start.hook_url.rsplit('/').next().unwrap_or_default()
            ),
        );
    }
    for host in [
        "evil.example",
        "192.168.1.20:8080",
        "tutorial.example:9090",
        "localhost.evil.example",
    ] {
        let (status, _, body) = send(&app, with_host(host)).await;
        assert_eq!(status, StatusCode::MISDIRECTED_REQUEST, "{host}");
        let answer: Value = serde_json::from_slice(&body).expect("JSON");
        assert!(
            answer["error"]
                .as_str()
                .is_some_and(|e| e.contains("--public-url")),
            "{answer}"
        );
    }
}
