//! Several relay instances on one real Redis, as behind a load balancer: any instance serves any
//! request of any session, and the faults an operator meets (Redis away, an instance killed)
//! have the outcomes `docs/relay-protocol.md` promises. Each instance runs on its own tokio
//! runtime, so killing one (shutting its runtime down) drops its connections and its
//! subscription at once, as a killed process would.

use std::pin::Pin;

use eventsource_stream::{Event, Eventsource};
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};
use webhook_demo_core::wire::{HookRequest, HookResponse, RelayStart};
use webhook_demo_relay::{RedisStore, Relay, Settings, Store};

mod support;

use support::redis::RedisServer;

/// A stream's events, ending where the stream ends or breaks off.
type Events = Pin<Box<dyn Stream<Item = Event> + Send>>;

/// One relay instance on its own runtime, mounted at `/relay` on `127.0.0.1:0`.
struct Instance {
    /// `http://ADDR/relay/`.
    base: String,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Instance {
    fn start(redis: &RedisServer) -> Instance {
        let url = redis.url().parse().expect("a Redis address");
        // A runtime cannot be entered from inside the test's own: set it up on a thread of its own.
        let (runtime, base) = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("a runtime");
            let base = runtime.block_on(Instance::serve(url));
            (runtime, base)
        })
        .join()
        .expect("the instance starts");
        Instance {
            base,
            runtime: Some(runtime),
        }
    }

    async fn serve(url: webhook_demo_relay::RedisUrl) -> String {
        {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            let base = format!("http://{}/relay/", listener.local_addr().expect("address"));
            let store = RedisStore::new(&url, Settings::default().limits);
            let relay = Relay::with_store(Settings::default(), Store::Redis(store));
            let app = axum::Router::new().nest("/relay", relay.router());
            let options = webhook_demo_http::Options::default();
            tokio::spawn(async move {
                webhook_demo_http::serve(listener, app, options, std::future::pending())
                    .await
                    .expect("serve")
            });
            base
        }
    }

    /// Ends the instance abruptly: every task, connection and subscription goes at once.
    fn kill(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn open(
    client: &reqwest::Client,
    url: &str,
    last_event_id: Option<&str>,
) -> (RelayStart, Events) {
    let mut request = client.get(url);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    let response = request.send().await.expect("stream opens");
    assert_eq!(response.status(), 200);
    let mut events: Events = Box::pin(
        response
            .bytes_stream()
            .eventsource()
            .scan((), |(), event| std::future::ready(event.ok())),
    );
    let start = events.next().await.expect("start");
    assert_eq!(start.event, "start");
    (
        serde_json::from_str(&start.data).expect("start data"),
        events,
    )
}

/// The next event, which must be `name`: its id and data.
async fn next<T: serde::de::DeserializeOwned>(events: &mut Events, name: &str) -> (String, T) {
    let event = events.next().await.expect("another event");
    assert_eq!(event.event, name, "{}", event.data);
    (
        event.id,
        serde_json::from_str(&event.data).expect("event data"),
    )
}

/// Sets a session's answer with `POST control/…`.
async fn control(client: &reqwest::Client, url: &str, settings: Value) {
    let answered = client.post(url).json(&settings).send().await;
    assert_eq!(answered.expect("control").status(), 200);
}

/// `url` with the scheme and host of `instance`: the same path, another instance.
fn on(instance: &Instance, url: &str) -> String {
    let path = url.split_once("/relay/").expect("a relay URL").1;
    format!("{}{path}", instance.base)
}

#[tokio::test]
async fn any_instance_serves_any_request() {
    let redis = RedisServer::start();
    let [a, b, c, d, e] = [(); 5].map(|()| Instance::start(&redis));
    let client = reqwest::Client::new();

    // Stream on B, control on C, hook on A, respond on D.
    let (start, mut events) = open(&client, &format!("{}stream", b.base), None).await;
    control(
        &client,
        &on(&c, &start.control_url),
        json!({"pageAnswers": true}),
    )
    .await;
    let hook = tokio::spawn(client.post(on(&a, &start.hook_url)).body("from A").send());
    let (_, request) = next::<HookRequest>(&mut events, "hook").await;
    assert_eq!(request.body.as_deref(), Some("from A"));
    let respond = format!("{}respond/{}/{}", d.base, start.session_id, request.hook_id);
    let answered = client
        .post(&respond)
        .json(&json!({"status": 202, "contentType": "text/plain", "body": "from D"}))
        .send()
        .await
        .expect("respond");
    assert_eq!(answered.status(), 200);
    let hook = hook.await.expect("hook task").expect("hook answered");
    assert_eq!(hook.status(), 202);
    assert_eq!(hook.text().await.expect("body"), "from D");
    let (last_seen, response) = next::<Value>(&mut events, "hookResponse").await;
    assert_eq!(
        (&response["source"], &response["body"]),
        (&json!("page"), &json!("from D"))
    );

    // The page goes away; two hooks arrive on A with the default answer; it resumes on E.
    drop(events);
    control(
        &client,
        &on(&c, &start.control_url),
        json!({"pageAnswers": false}),
    )
    .await;
    for body in ["two", "three"] {
        let hook = client.post(on(&a, &start.hook_url)).body(body).send().await;
        assert_eq!(hook.expect("hook").status(), 200);
    }
    let resume = format!("{}stream?session={}", e.base, start.session_id);
    let (again, mut events) = open(&client, &resume, Some(&last_seen)).await;
    assert!(again.resumed);
    let mut seen = Vec::new();
    for _ in 0..4 {
        let event = events.next().await.expect("replayed");
        seen.push((event.id, event.event));
    }
    let expected = [
        ("3", "hook"),
        ("4", "hookResponse"),
        ("5", "hook"),
        ("6", "hookResponse"),
    ];
    assert_eq!(
        seen,
        expected.map(|(id, name)| (id.to_owned(), name.to_owned()))
    );
}

#[tokio::test]
async fn a_killed_instance_s_page_resumes_on_another_losing_nothing() {
    let redis = RedisServer::start();
    let mut a = Instance::start(&redis);
    let b = Instance::start(&redis);
    let client = reqwest::Client::new();
    let (start, mut events) = open(&client, &format!("{}stream", a.base), None).await;
    let mut received = Vec::new();
    let mut last_id = String::new();
    for n in 0..10 {
        let hook = client
            .post(on(&b, &start.hook_url))
            .body(n.to_string())
            .send()
            .await;
        assert_eq!(hook.expect("hook").status(), 200);
    }
    for _ in 0..5 {
        let (_, hook) = next::<HookRequest>(&mut events, "hook").await;
        received.push(hook.body.expect("text"));
        (last_id, _) = next::<HookResponse>(&mut events, "hookResponse").await;
    }
    a.kill();
    // The stream from A breaks off without a word, as after SIGKILL (a chunked body cut short).
    while events.next().await.is_some() {}
    for n in 10..15 {
        let hook = client
            .post(on(&b, &start.hook_url))
            .body(n.to_string())
            .send()
            .await;
        assert_eq!(hook.expect("hook").status(), 200);
    }
    let resume = format!("{}stream?session={}", b.base, start.session_id);
    let (_, mut events) = open(&client, &resume, Some(&last_id)).await;
    for _ in 5..15 {
        let (_, hook) = next::<HookRequest>(&mut events, "hook").await;
        received.push(hook.body.expect("text"));
        next::<HookResponse>(&mut events, "hookResponse").await;
    }
    let expected: Vec<String> = (0..15).map(|n: i32| n.to_string()).collect();
    assert_eq!(received, expected, "every hook once, in order");
}

#[tokio::test]
async fn a_hook_waiting_on_a_killed_instance_sees_its_connection_drop() {
    let redis = RedisServer::start();
    let mut a = Instance::start(&redis);
    let b = Instance::start(&redis);
    let client = reqwest::Client::new();
    let (start, mut events) = open(&client, &format!("{}stream", b.base), None).await;
    control(
        &client,
        &on(&b, &start.control_url),
        json!({"pageAnswers": true}),
    )
    .await;
    let hook = tokio::spawn(client.post(on(&a, &start.hook_url)).body("x").send());
    let (_, request) = next::<HookRequest>(&mut events, "hook").await;
    a.kill();
    let dropped = hook.await.expect("hook task");
    assert!(
        dropped.is_err(),
        "the sender was never answered: {dropped:?}"
    );
    // Nobody holds the hook any more, so the page's answer is refused rather than lost quietly.
    let respond = format!("{}respond/{}/{}", b.base, start.session_id, request.hook_id);
    let answered = client
        .post(&respond)
        .json(&json!({"body": "late"}))
        .send()
        .await;
    assert_eq!(answered.expect("respond").status(), 409);
}

#[tokio::test]
async fn redis_away_means_503_and_an_error_event_then_the_page_resumes() {
    let mut redis = RedisServer::start();
    let relay = Instance::start(&redis);
    let client = reqwest::Client::new();
    let (start, mut events) = open(&client, &format!("{}stream", relay.base), None).await;
    let hook = client.post(&start.hook_url).body("before").send().await;
    assert_eq!(hook.expect("hook").status(), 200);
    next::<HookRequest>(&mut events, "hook").await;
    let (last_id, _) = next::<HookResponse>(&mut events, "hookResponse").await;

    redis.stop();
    let (_, error) = next::<Value>(&mut events, "error").await;
    assert!(
        error["error"].as_str().is_some_and(|e| e.contains("store")),
        "{error}"
    );
    assert!(
        events.next().await.is_none(),
        "the stream ends after its error event"
    );
    let refused = client.post(&start.hook_url).body("while away").send().await;
    let refused = refused.expect("answered");
    assert_eq!(refused.status(), 503);
    assert!(refused.headers().contains_key("retry-after"));

    redis.restart();
    let resume = format!("{}stream?session={}", relay.base, start.session_id);
    let mut events = resume_when_back(&client, &resume, &last_id).await;
    let hook = client.post(&start.hook_url).body("after").send().await;
    assert_eq!(hook.expect("hook").status(), 200);
    let (_, hook) = next::<HookRequest>(&mut events, "hook").await;
    assert_eq!(
        hook.body.as_deref(),
        Some("after"),
        "nothing in between, nothing again"
    );
}

/// Opens `resume` from `last_id` as the page does once Redis is back: it retries (`503` while
/// the relay cannot reach Redis yet) until the stream opens; returns it after its `start`.
async fn resume_when_back(client: &reqwest::Client, resume: &str, last_id: &str) -> Events {
    loop {
        let response = client
            .get(resume)
            .header("Last-Event-ID", last_id)
            .send()
            .await
            .expect("answered");
        if response.status() == 200 {
            let mut stream: Events = Box::pin(
                response
                    .bytes_stream()
                    .eventsource()
                    .scan((), |(), event| std::future::ready(event.ok())),
            );
            next::<RelayStart>(&mut stream, "start").await;
            return stream;
        }
        assert_eq!(response.status(), 503);
        // The page's own backoff between attempts.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn no_hook_answered_2xx_is_lost_when_redis_goes_away_mid_flight() {
    let mut redis = RedisServer::start();
    let relay = Instance::start(&redis);
    let client = reqwest::Client::new();
    let (start, events) = open(&client, &format!("{}stream", relay.base), None).await;
    drop(events);
    // Hooks one after another, the whole time; every answer is reported.
    let (answers, mut answered) = tokio::sync::mpsc::unbounded_channel::<(u64, u16)>();
    let sender = tokio::spawn({
        let (client, hook_url) = (client.clone(), start.hook_url.clone());
        async move {
            for n in 0u64.. {
                let sent = client.post(&hook_url).body(n.to_string()).send().await;
                let status = sent.map_or(0, |r| r.status().as_u16());
                if answers.send((n, status)).is_err() {
                    return;
                }
            }
        }
    });
    let mut statuses = Vec::new();
    let mut next_answer = async || answered.recv().await.expect("the sender runs");
    while statuses.len() < 20 {
        statuses.push(next_answer().await);
    }
    redis.stop();
    // Hooks in flight when Redis went away, and after: refused with 503 until it is back.
    loop {
        let (n, status) = next_answer().await;
        statuses.push((n, status));
        if status == 503 {
            break;
        }
    }
    redis.restart();
    let back = statuses.len();
    while statuses[back..].iter().filter(|(_, s)| *s == 200).count() < 20 {
        statuses.push(next_answer().await);
    }
    drop(answered);
    sender.abort();
    let _ = sender.await;
    for (_, status) in &statuses {
        assert!(
            [200, 503].contains(status),
            "a hook is answered 2xx or 503 with Retry-After: {statuses:?}"
        );
    }
    let last = client.post(&start.hook_url).body("last").send().await;
    assert_eq!(last.expect("hook").status(), 200);

    // The page replays the whole session: every hook answered 2xx, once.
    let resume = format!("{}stream?session={}", relay.base, start.session_id);
    let mut events = resume_when_back(&client, &resume, "0").await;
    let mut seen = Vec::new();
    loop {
        let event = events.next().await.expect("replayed");
        if event.event != "hook" {
            continue;
        }
        let hook: HookRequest = serde_json::from_str(&event.data).expect("hook data");
        match hook.body.as_deref() {
            Some("last") => break,
            body => seen.push(body.and_then(|b| b.parse::<u64>().ok()).expect("a number")),
        }
    }
    let answered_2xx: Vec<u64> = statuses
        .iter()
        .filter(|(_, status)| *status == 200)
        .map(|(n, _)| *n)
        .collect();
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(unique, seen, "no hook twice");
    let lost: Vec<_> = answered_2xx.iter().filter(|n| !seen.contains(n)).collect();
    assert!(lost.is_empty(), "answered 2xx, never logged: {lost:?}");
    assert!(statuses.iter().any(|(_, status)| *status == 503));
}
