//! The relay on a real socket: real HTTP requests to hook URLs, real SSE streams read by a client.
//! Every check runs twice, once on each store: in memory, and on a real Redis.

use std::pin::Pin;

use eventsource_stream::{Event, Eventsource};
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};
use webhook_demo_core::wire::{HookRequest, HookResponse, RelayStart};
use webhook_demo_relay::Settings;

mod support;

use support::redis::RedisServer;

/// Each protocol check, once per store.
macro_rules! on_both_stores {
    ($($check:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $check() {
                    super::$check(super::serve(None).await).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test]
                async fn $check() {
                    let redis = super::RedisServer::start();
                    super::$check(super::serve(Some(&redis.url())).await).await;
                }
            )*
        }
    };
}

on_both_stores!(
    hooks_arrive_intact_whatever_their_shape,
    header_case_and_order_survive_the_relay,
    authorization_mismatch_is_401_and_still_shown,
    reconnect_replays_exactly_what_was_missed,
    hooks_before_the_page_connects_are_replayed,
    sessions_never_see_each_other,
    unknown_session_is_200_not_ok,
    mounted_answers_are_inert,
);

/// The log's bounds, checked on both stores with small bounds (and no rate limit).
mod bounds {
    fn settings() -> webhook_demo_relay::Settings {
        let mut settings = webhook_demo_relay::Settings::default();
        settings.limits.max_events = 10;
        settings.limits.max_buffer_bytes = 4096;
        settings.limits.hooks_per_second = 0;
        settings
    }

    #[tokio::test]
    async fn memory() {
        super::the_log_keeps_its_bounds_and_says_what_it_dropped(
            super::serve_with(None, settings()).await,
        )
        .await;
    }

    #[tokio::test]
    async fn redis() {
        let redis = super::RedisServer::start();
        super::the_log_keeps_its_bounds_and_says_what_it_dropped(
            super::serve_with(Some(&redis.url()), settings()).await,
        )
        .await;
    }
}

type Events = Pin<Box<dyn Stream<Item = Event> + Send>>;

/// The relay mounted at `/relay` on `127.0.0.1:0`, with the memory store or on the Redis at
/// `redis`; returns its base URL.
async fn serve(redis: Option<&str>) -> String {
    serve_with(redis, Settings::default()).await
}

/// `serve` with these settings.
async fn serve_with(redis: Option<&str>, settings: Settings) -> String {
    support::serve(redis, settings).await
}

async fn open(
    client: &reqwest::Client,
    url: &str,
    last_event_id: Option<u64>,
) -> (RelayStart, Events) {
    let mut request = client.get(url);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id.to_string());
    }
    let response = request.send().await.expect("stream opens");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let mut events: Events = Box::pin(
        response
            .bytes_stream()
            .eventsource()
            .map(|e| e.expect("valid SSE")),
    );
    let start = events.next().await.expect("start");
    assert_eq!(start.event, "start");
    (
        serde_json::from_str(&start.data).expect("start data"),
        events,
    )
}

async fn next<T: serde::de::DeserializeOwned>(events: &mut Events, name: &str) -> (u64, T) {
    let event = events.next().await.expect("another event");
    assert_eq!(event.event, name, "{}", event.data);
    (
        event.id.parse().expect("numeric id"),
        serde_json::from_str(&event.data).expect("event data"),
    )
}

/// Sends a hook and checks that the stream shows it exactly and that the answer matches `hookResponse`.
async fn round_trip(events: &mut Events, request: reqwest::RequestBuilder) -> HookRequest {
    let response = request.send().await.expect("hook answered");
    let status = response.status().as_u16();
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let body = response.text().await.expect("body");
    let (_, hook) = next::<HookRequest>(events, "hook").await;
    let (_, answer) = next::<HookResponse>(events, "hookResponse").await;
    assert_eq!(
        (
            answer.hook_id,
            answer.status_code,
            answer.content_type,
            answer.body
        ),
        (hook.hook_id, status, content_type, body)
    );
    hook
}

/// The hook token: the last segment of the hook URL.
fn token(start: &RelayStart) -> &str {
    start.hook_url.rsplit('/').next().expect("a hook URL")
}

fn header<'a>(hook: &'a HookRequest, name: &str) -> Option<&'a str> {
    hook.headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

async fn hooks_arrive_intact_whatever_their_shape(base: String) {
    let client = reqwest::Client::new();
    let (start, mut events) = open(&client, &format!("{base}stream"), None).await;
    assert!(
        start.hook_url.starts_with(&format!("{base}hook/")),
        "{}",
        start.hook_url
    );
    assert_eq!(start.session_id.len(), 32);
    let hook_url = start.hook_url.clone();

    let json_body = "{ \"deviceId\":\"e00fce68\",  \"sensor\":{\"t\":25} }";
    let hook = round_trip(
        &mut events,
        client
            .post(&hook_url)
            .header("Content-Type", "application/json")
            .header("Authorization", "Bearer x")
            .body(json_body),
    )
    .await;
    assert_eq!(
        (hook.hook_id, hook.method.as_str(), hook.body.as_deref()),
        (1, "POST", Some(json_body))
    );
    assert_eq!(header(&hook, "authorization"), Some("Bearer x"));

    let form = "event=WebhookDemo01&data=%7B%22t%22%3A25%7D&coreid=api";
    let hook = round_trip(
        &mut events,
        client
            .put(format!("{hook_url}/sub/path"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form),
    )
    .await;
    assert_eq!(
        (hook.method.as_str(), hook.body.as_deref()),
        ("PUT", Some(form))
    );
    assert_eq!(
        hook.original_url,
        format!("/relay/hook/{}/sub/path", token(&start))
    );

    let binary = vec![0u8, 159, 146, 150, 255];
    let hook = round_trip(&mut events, client.post(&hook_url).body(binary)).await;
    assert_eq!(
        (hook.body, hook.body_base64.as_deref()),
        (None, Some("AJ+Slv8="))
    );

    let hook = round_trip(&mut events, client.delete(&hook_url)).await;
    assert_eq!(
        (hook.method.as_str(), hook.body.as_deref()),
        ("DELETE", Some(""))
    );

    let hook = round_trip(&mut events, client.get(format!("{hook_url}?a=1&b=x%20y"))).await;
    assert_eq!(
        (hook.method.as_str(), hook.query.as_str()),
        ("GET", "a=1&b=x%20y")
    );
    assert_eq!(
        hook.original_url,
        format!("/relay/hook/{}?a=1&b=x%20y", token(&start))
    );
    assert_eq!(hook.hook_id, 5);
}

/// Issue 4: header names reach the page in the case and order they were sent, repeats kept apart,
/// and a chunked body arrives whole. Sent over a raw socket, since HTTP clients normalise names.
async fn header_case_and_order_survive_the_relay(base: String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let client = reqwest::Client::new();
    let (start, mut events) = open(&client, &format!("{base}stream"), None).await;
    let address = base
        .trim_start_matches("http://")
        .trim_end_matches("/relay/");
    let mut socket = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let request = format!(
        "POST /relay/hook/{}/x?y=1 HTTP/1.1\r\nHost: {address}\r\nUser-Agent: ParticleBot/1.0\r\n\
         X-Particle-Event: one\r\nCONTENT-type: application/json\r\nx-particle-event: two\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         4\r\n{{\"a\"\r\n3\r\n:1}}\r\n0\r\n\r\n",
        token(&start)
    );
    socket.write_all(request.as_bytes()).await.expect("send");
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.expect("answer");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");

    let (_, hook) = next::<HookRequest>(&mut events, "hook").await;
    let names: Vec<&str> = hook.headers.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Host",
            "User-Agent",
            "X-Particle-Event",
            "CONTENT-type",
            "x-particle-event",
            "Transfer-Encoding",
            "Connection"
        ]
    );
    assert_eq!(
        (hook.headers[2].1.as_str(), hook.headers[4].1.as_str()),
        ("one", "two")
    );
    assert_eq!(hook.body.as_deref(), Some("{\"a\":1}"));
    assert_eq!(
        hook.original_url,
        format!("/relay/hook/{}/x?y=1", token(&start))
    );
}

async fn authorization_mismatch_is_401_and_still_shown(base: String) {
    let client = reqwest::Client::new();
    let (start, mut events) = open(&client, &format!("{base}stream"), None).await;
    let control = client
        .post(&start.control_url)
        .json(&json!({"authorization": "Bearer right"}))
        .send()
        .await
        .expect("control");
    assert_eq!(control.status(), 200);
    let wrong = client
        .post(&start.hook_url)
        .header("Authorization", "Bearer wrong")
        .body("{}");
    let response = wrong.send().await.expect("answered");
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.text().await.expect("body"),
        r#"{"ok":false,"error":"unauthorized"}"#
    );
    let (_, hook) = next::<HookRequest>(&mut events, "hook").await;
    assert_eq!(header(&hook, "authorization"), Some("Bearer wrong"));
    let (_, answer) = next::<HookResponse>(&mut events, "hookResponse").await;
    assert_eq!(answer.status_code, 401);
    let right = round_trip(
        &mut events,
        client
            .post(&start.hook_url)
            .header("Authorization", "Bearer right"),
    )
    .await;
    assert_eq!(right.hook_id, 2);
}

async fn reconnect_replays_exactly_what_was_missed(base: String) {
    let client = reqwest::Client::new();
    let (start, mut events) = open(&client, &format!("{base}stream"), None).await;
    client
        .post(&start.hook_url)
        .body("one")
        .send()
        .await
        .expect("hook 1");
    let (id, _) = next::<HookRequest>(&mut events, "hook").await;
    assert_eq!(id, 1);
    drop(events);
    for body in ["two", "three"] {
        client
            .post(&start.hook_url)
            .body(body)
            .send()
            .await
            .expect("hook while away");
    }
    let resume = format!("{base}stream?session={}", start.session_id);
    let (again, mut events) = open(&client, &resume, Some(id)).await;
    assert!(again.resumed);
    assert_eq!(again.hook_url, start.hook_url);
    let mut seen = Vec::new();
    for _ in 0..5 {
        let event = events.next().await.expect("replayed");
        seen.push((event.id, event.event));
    }
    let expected = [
        ("2", "hookResponse"),
        ("3", "hook"),
        ("4", "hookResponse"),
        ("5", "hook"),
        ("6", "hookResponse"),
    ];
    assert_eq!(
        seen,
        expected.map(|(id, name)| (id.to_owned(), name.to_owned()))
    );
    // Nothing else is pending: the next event is a new hook, not a duplicate.
    client
        .post(&start.hook_url)
        .body("four")
        .send()
        .await
        .expect("hook 4");
    let (id, hook) = next::<HookRequest>(&mut events, "hook").await;
    assert_eq!((id, hook.body.as_deref()), (7, Some("four")));
}

async fn hooks_before_the_page_connects_are_replayed(base: String) {
    let client = reqwest::Client::new();
    let (start, events) = open(&client, &format!("{base}stream"), None).await;
    drop(events);
    client
        .post(&start.hook_url)
        .body("early")
        .send()
        .await
        .expect("hook");
    let (_, mut events) = open(
        &client,
        &format!("{base}stream?session={}&lastEventId=0", start.session_id),
        None,
    )
    .await;
    let (_, hook) = next::<HookRequest>(&mut events, "hook").await;
    assert_eq!(hook.body.as_deref(), Some("early"));
}

async fn sessions_never_see_each_other(base: String) {
    let client = reqwest::Client::new();
    let (first, mut first_events) = open(&client, &format!("{base}stream"), None).await;
    let (second, mut second_events) = open(&client, &format!("{base}stream"), None).await;
    assert_ne!(first.session_id, second.session_id);
    client
        .post(&first.hook_url)
        .body("for first")
        .send()
        .await
        .expect("hook");
    client
        .post(&second.hook_url)
        .body("for second")
        .send()
        .await
        .expect("hook");
    let (_, hook) = next::<HookRequest>(&mut first_events, "hook").await;
    assert_eq!(hook.body.as_deref(), Some("for first"));
    next::<HookResponse>(&mut first_events, "hookResponse").await;
    let (_, hook) = next::<HookRequest>(&mut second_events, "hook").await;
    assert_eq!(hook.body.as_deref(), Some("for second"));
    // The first stream's next event is its own next hook, not the second session's.
    client
        .post(&first.hook_url)
        .body("first again")
        .send()
        .await
        .expect("hook");
    let (_, hook) = next::<HookRequest>(&mut first_events, "hook").await;
    assert_eq!(hook.body.as_deref(), Some("first again"));
}

async fn unknown_session_is_200_not_ok(base: String) {
    let response = reqwest::Client::new()
        .post(format!("{base}hook/0123456789abcdef"))
        .body("{}")
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body, json!({"ok": false, "error": "unknown session"}));
}

/// Issue 3: mounted under `/relay` on the server's own connections, even an unknown path answers
/// as something a browser will not run.
async fn mounted_answers_are_inert(base: String) {
    let client = reqwest::Client::new();
    for (method, path) in [
        ("GET", "nothing/here"),
        ("GET", "stream"),
        ("POST", "hook/00"),
    ] {
        let request = client.request(method.parse().expect("a method"), format!("{base}{path}"));
        let response = request.send().await.expect("answered");
        let inert = ["content-security-policy", "x-content-type-options"]
            .map(|name| response.headers().get(name).and_then(|v| v.to_str().ok()));
        let expected = [Some("sandbox; default-src 'none'"), Some("nosniff")];
        assert_eq!(inert, expected, "{path}: {}", response.status());
    }
}

/// A session's log keeps its newest events within both bounds (10 events, 4 KiB here), and a
/// page resuming from before them is told how many it missed, then sees the rest once each.
async fn the_log_keeps_its_bounds_and_says_what_it_dropped(base: String) {
    let client = reqwest::Client::new();
    let (start, events) = open(&client, &format!("{base}stream"), None).await;
    drop(events);
    // Ten hooks are twenty events: the first ten are evicted by the count bound.
    for n in 0..10 {
        let hook = client
            .post(&start.hook_url)
            .body(n.to_string())
            .send()
            .await;
        assert_eq!(hook.expect("hook").status(), 200);
    }
    let resume = format!("{base}stream?session={}", start.session_id);
    let (_, mut events) = open(&client, &resume, Some(0)).await;
    let dropped = events.next().await.expect("dropped");
    assert_eq!(dropped.event, "dropped");
    let dropped: Value = serde_json::from_str(&dropped.data).expect("dropped data");
    assert_eq!(dropped, json!({"count": 10, "resumesAt": 11}));
    for id in 11..=20 {
        let event = events.next().await.expect("kept");
        assert_eq!(event.id, id.to_string());
    }
    drop(events);
    // Three hooks of 1,500 bytes are more than 4 KiB: the oldest go, by bytes this time.
    let big = "x".repeat(1500);
    for _ in 0..3 {
        let hook = client.post(&start.hook_url).body(big.clone()).send().await;
        assert_eq!(hook.expect("hook").status(), 200);
    }
    let (_, mut events) = open(&client, &resume, Some(20)).await;
    let dropped = events.next().await.expect("dropped");
    assert_eq!(dropped.event, "dropped", "{}", dropped.data);
    let dropped: Value = serde_json::from_str(&dropped.data).expect("dropped data");
    let resumes_at = dropped["resumesAt"].as_u64().expect("resumesAt");
    assert_eq!(dropped["count"].as_u64(), Some(resumes_at - 21));
    // At least the first big hook went; at least the last one and its answer stay.
    assert!((22..=25).contains(&resumes_at), "{dropped}");
    for id in resumes_at..=26 {
        let event = events.next().await.expect("kept");
        assert_eq!(event.id, id.to_string());
        if id == 25 {
            let hook: HookRequest = serde_json::from_str(&event.data).expect("hook");
            assert_eq!(hook.body.as_deref(), Some(big.as_str()));
        }
    }
}
