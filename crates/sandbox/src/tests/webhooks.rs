//! The sandbox's moving parts on real sockets: publishing and event streams, integrations, product
//! devices, the webhook engine (against a test HTTP server) and the simulated devices.

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    body::{Body, Bytes},
    http::{HeaderMap, Method, Request, StatusCode, header},
    routing::any,
};
use eventsource_stream::{Event as SseEvent, Eventsource};
use futures_util::{Stream, StreamExt};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc};

use super::{App, call, check_error, get, send_json, sign_in, sign_in_with_mfa};
use crate::Settings;

pub(super) const P2: &str = "e00fce680000000000000001";
const BORON: &str = "e00fce680000000000000002";
const ARGON: &str = "e00fce680000000000000003";

/// One request the test webhook server received.
#[derive(Debug)]
pub(super) struct Received {
    pub(super) method: Method,
    pub(super) uri: String,
    headers: HeaderMap,
    /// Header names as they were written on the wire, in order.
    names: Vec<String>,
    pub(super) body: String,
}

/// What the test webhook server answers: status, body, and whether to never answer at all.
#[derive(Clone)]
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) body: String,
    pub(super) hang: bool,
}

/// A webhook server on a loopback port that reports every request and answers as told.
pub(super) struct Target {
    pub(super) url: String,
    pub(super) received: mpsc::UnboundedReceiver<Received>,
    pub(super) answer: Arc<Mutex<Answer>>,
}

impl Target {
    pub(super) async fn start(status: StatusCode, body: &str) -> Target {
        let (sender, received) = mpsc::unbounded_channel();
        let answer = Arc::new(Mutex::new(Answer {
            status,
            body: body.to_owned(),
            hang: false,
        }));
        let shared = answer.clone();
        let router = Router::new().fallback(any(move |request: Request<Body>| {
            let (sender, answer) = (sender.clone(), shared.clone());
            async move {
                let (parts, body) = request.into_parts();
                let body = body.collect().await.expect("body").to_bytes();
                let names = parts
                    .extensions
                    .get::<webhook_demo_http::OriginalHeaders>()
                    .map(|original| original.0.iter().map(|(name, _)| name.clone()).collect())
                    .unwrap_or_default();
                let _ = sender.send(Received {
                    method: parts.method,
                    uri: parts.uri.to_string(),
                    headers: parts.headers,
                    names,
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
                let answer = answer.lock().await.clone();
                if answer.hang {
                    std::future::pending::<()>().await;
                }
                (answer.status, answer.body)
            }
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!("http://{}/hook", listener.local_addr().expect("address"));
        // The server's own connections, which report header names as they were sent.
        let options = webhook_demo_http::Options::default();
        tokio::spawn(webhook_demo_http::serve(
            listener,
            router,
            options,
            std::future::pending(),
        ));
        Target {
            url,
            received,
            answer,
        }
    }

    pub(super) async fn next(&mut self) -> Received {
        self.received.recv().await.expect("the target server runs")
    }
}

/// A signed-in learner with a P2 product, the P2 in it.
pub(super) struct Learner {
    pub(super) app: App,
    pub(super) bearer: String,
    pub(super) product: u64,
}

impl Learner {
    pub(super) async fn new() -> Learner {
        Learner::on(App::serve().await).await
    }

    pub(super) async fn on(app: App) -> Learner {
        let bearer = format!("Bearer {}", sign_in(&app).await);
        let body = json!({"product": {"name": "demo", "platform_id": 32}});
        let (_, created) = send_json(&app, "POST", "/v1/user/products", &bearer, body).await;
        let product = created["product"]["id"].as_u64().expect("a product id");
        let (status, added) = send_json(
            &app,
            "POST",
            &format!("/v1/products/{product}/devices"),
            &bearer,
            json!({"id": P2}),
        )
        .await;
        assert_eq!((status, &added["updated"]), (StatusCode::OK, &json!(1)));
        Learner {
            app,
            bearer,
            product,
        }
    }

    pub(super) async fn send(&self, method: &str, path: &str, body: Value) -> (StatusCode, Value) {
        send_json(&self.app, method, path, &self.bearer, body).await
    }

    pub(super) async fn integrate(&self, settings: Value) -> String {
        let path = format!("/v1/products/{}/integrations", self.product);
        let (status, created) = self.send("POST", &path, settings).await;
        assert_eq!(status, StatusCode::OK, "{created}");
        created["id"]
            .as_str()
            .expect("an integration id")
            .to_owned()
    }

    pub(super) async fn publish(&self, name: &str, data: &str) {
        let path = format!("/v1/products/{}/events", self.product);
        let (status, body) = self
            .send("POST", &path, json!({"name": name, "data": data}))
            .await;
        assert_eq!((status, body), (StatusCode::OK, json!({"ok": true})));
    }

    /// A request to the sandbox on its socket, with the learner's token.
    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.app
            .client
            .request(method, self.app.url(path))
            .header(header::AUTHORIZATION, &self.bearer)
    }

    /// The raw bytes of an event stream.
    async fn raw_stream(&self, path: &str) -> impl Stream<Item = Bytes> + Unpin + use<> {
        let response = self
            .request(Method::GET, path)
            .send()
            .await
            .expect("the stream opens");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "text/event-stream"
        );
        Box::pin(
            response
                .bytes_stream()
                .map(|chunk| chunk.expect("stream bytes")),
        )
    }

    /// An event stream, parsed; returns once the stream is open (its `:ok` has arrived).
    pub(super) async fn stream(&self, path: &str) -> impl Stream<Item = SseEvent> + Unpin + use<> {
        let mut raw = self.raw_stream(path).await;
        let first = raw.next().await.expect("the opening comment");
        assert_eq!(&first[..], b":ok\n\n");
        Box::pin(
            raw.map(Ok::<_, std::convert::Infallible>)
                .eventsource()
                .map(|event| event.expect("well-formed SSE")),
        )
    }

    pub(super) fn demo_webhook(&self, url: &str) -> Value {
        json!({
            "integration_type": "Webhook",
            "event": "WebhookDemo01",
            "url": url,
            "requestType": "POST",
            "noDefaults": true,
            "json": "{\"deviceId\":\"{{{PARTICLE_DEVICE_ID}}}\",\"ts\":\"{{{PARTICLE_PUBLISHED_AT}}}\",\"sensor\":{{{PARTICLE_EVENT_VALUE}}}}",
            "headers": {"Content-Type": "application/json", "Authorization": "Bearer per-session-secret"},
            "responseTopic": "{{{PARTICLE_DEVICE_ID}}}/hook-response/{{{PARTICLE_EVENT_NAME}}}",
            "errorResponseTopic": "{{{PARTICLE_DEVICE_ID}}}/hook-error/{{{PARTICLE_EVENT_NAME}}}",
        })
    }
}

/// A MODE click on a simulated device.
async fn press(app: &App, device: &str) -> (StatusCode, Value) {
    let request = Request::post(format!("/_sim/devices/{device}/button"))
        .body(Body::empty())
        .expect("request");
    call(app, request).await
}

pub(super) async fn next_event(
    stream: &mut (impl Stream<Item = SseEvent> + Unpin),
) -> (String, Value) {
    let event = stream.next().await.expect("the stream stays open");
    let data: Value = serde_json::from_str(&event.data).expect("JSON event data");
    (event.event, data)
}

#[tokio::test]
async fn a_published_event_fires_the_webhook_and_its_answer_comes_back_in_chunks() {
    let learner = Learner::new().await;
    let answer = format!("{{\"echo\":\"{}\"}}", "x".repeat(1289));
    assert_eq!(answer.len(), 1300);
    let mut target = Target::start(StatusCode::OK, &answer).await;
    let integration = learner.integrate(learner.demo_webhook(&target.url)).await;
    let mut events = learner
        .stream(&format!("/v1/products/{}/events", learner.product))
        .await;

    learner
        .publish("WebhookDemo01", r#"{"id":42,"t":25}"#)
        .await;

    let request = target.next().await;
    assert_eq!(
        (request.method, request.uri.as_str()),
        (Method::POST, "/hook")
    );
    assert_eq!(request.headers["content-type"], "application/json");
    assert_eq!(
        request.headers["authorization"],
        "Bearer per-session-secret"
    );
    assert_eq!(
        request.headers["user-agent"],
        "ParticleBot/1.1 (https://docs.particle.io/webhooks)"
    );
    // Named as Particle writes them, which the relay shows the learner as they arrive.
    for name in ["Content-Type", "Authorization", "User-Agent"] {
        assert!(
            request.names.iter().any(|n| n == name),
            "{:?}",
            request.names
        );
    }
    let body: Value = serde_json::from_str(&request.body).expect("a JSON body");
    assert_eq!(body["deviceId"], "api");
    assert_eq!(body["sensor"], json!({"id": 42, "t": 25}));

    let (name, published) = next_event(&mut events).await;
    assert_eq!(name, "WebhookDemo01");
    assert_eq!(published["data"], r#"{"id":42,"t":25}"#);
    assert_eq!(
        (published["coreid"].as_str(), published["ttl"].as_u64()),
        (Some("api"), Some(60))
    );
    let at = published["published_at"].as_str().expect("a timestamp");
    assert!(
        webhook_demo_core::time::parse_iso8601_millis(at).is_some() && at.len() == 24,
        "{at}"
    );
    assert_eq!(body["ts"], at);

    let (name, sent) = next_event(&mut events).await;
    assert_eq!(name, "hook-sent/WebhookDemo01");
    assert_eq!(
        (sent["data"].as_str(), sent["coreid"].as_str()),
        (Some("undefined"), Some("particle-internal"))
    );
    let mut chunks = Vec::new();
    for index in 0..3 {
        let (name, chunk) = next_event(&mut events).await;
        assert_eq!(name, format!("api/hook-response/WebhookDemo01/{index}"));
        chunks.push(chunk["data"].as_str().expect("chunk text").to_owned());
    }
    assert_eq!(
        chunks.iter().map(String::len).collect::<Vec<_>>(),
        [512, 512, 276]
    );
    assert_eq!(chunks.concat(), answer);

    let (_, log) = get(&learner.app, "/_sim/webhooks", None).await;
    let delivery = &log["webhooks"][0];
    assert_eq!(delivery["integrationId"], integration.as_str());
    assert_eq!(
        (delivery["outcome"].as_str(), delivery["status"].as_u64()),
        (Some("response"), Some(200))
    );
    assert_eq!(delivery["chunks"], 3);
    assert_eq!(delivery["body"], request.body.as_str());
    assert_eq!(delivery["responseBody"], answer.as_str());
}

#[tokio::test]
async fn a_failing_server_gives_hook_error_and_then_puts_the_host_to_sleep() {
    let learner = Learner::new().await;
    let mut target = Target::start(StatusCode::INTERNAL_SERVER_ERROR, "broken").await;
    learner.integrate(learner.demo_webhook(&target.url)).await;
    let mut events = learner
        .stream(&format!(
            "/v1/products/{}/events/api/hook-error",
            learner.product
        ))
        .await;
    for _ in 0..5 {
        learner.publish("WebhookDemo01", "{}").await;
        target.next().await;
        let (name, error) = next_event(&mut events).await;
        assert_eq!(name, "api/hook-error/WebhookDemo01/0");
        assert_eq!(error["data"], "error status 500 from 127.0.0.1");
    }
    // Five errors and no success: the next attempt is skipped, not sent.
    learner.publish("WebhookDemo01", "{}").await;
    let (name, error) = next_event(&mut events).await;
    assert_eq!(name, "api/hook-error/WebhookDemo01/0");
    assert_eq!(error["data"], crate::engine::SLEEPING);
    let (_, log) = get(&learner.app, "/_sim/webhooks", None).await;
    let outcomes: Vec<&str> = log["webhooks"]
        .as_array()
        .expect("deliveries")
        .iter()
        .map(|d| d["outcome"].as_str().expect("an outcome"))
        .collect();
    assert_eq!(
        outcomes,
        ["error", "error", "error", "error", "error", "throttled"]
    );
    assert!(
        target.received.try_recv().is_err(),
        "a sleeping host gets no request"
    );
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_times_out_after_twenty_seconds() {
    let app = App::in_process_with(super::quiet());
    let bearer = format!("Bearer {}", sign_in(&app).await);
    let (_, created) = send_json(
        &app,
        "POST",
        "/v1/user/products",
        &bearer,
        json!({"product": {"name": "t", "platform_id": 32}}),
    )
    .await;
    let product = created["product"]["id"].as_u64().expect("an id");
    let target = Target::start(StatusCode::OK, "").await;
    target.answer.lock().await.hang = true;
    let settings = json!({"event": "slow", "url": target.url, "noDefaults": true});
    let path = format!("/v1/products/{product}/integrations");
    assert_eq!(
        send_json(&app, "POST", &path, &bearer, settings).await.0,
        StatusCode::OK
    );

    let stream = Request::get(format!("/v1/products/{product}/events/hook-error"))
        .header(header::AUTHORIZATION, &bearer)
        .body(Body::empty())
        .expect("request");
    let response = tower::ServiceExt::oneshot(app.router.clone(), stream)
        .await
        .expect("infallible");
    let mut events = Box::pin(
        response
            .into_body()
            .into_data_stream()
            .map(|chunk| Ok::<_, std::convert::Infallible>(chunk.expect("bytes")))
            .eventsource()
            .map(|event| event.expect("well-formed SSE")),
    );
    let started = tokio::time::Instant::now();
    let path = format!("/v1/products/{product}/events");
    assert_eq!(
        send_json(&app, "POST", &path, &bearer, json!({"name": "slow"}))
            .await
            .0,
        StatusCode::OK
    );
    let (name, error) = next_event(&mut events).await;
    assert_eq!(
        (name.as_str(), error["data"].as_str()),
        ("hook-error/slow/0", Some("ETIMEDOUT"))
    );
    assert!(
        started.elapsed() >= Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn webhook_events_never_trigger_webhooks() {
    let learner = Learner::new().await;
    let mut demo = Target::start(StatusCode::OK, "pong").await;
    let mut other = Target::start(StatusCode::OK, "").await;
    learner.integrate(learner.demo_webhook(&demo.url)).await;
    for event in ["hook-response", "hook", "api/hook-response", "zz"] {
        learner
            .integrate(json!({"event": event, "url": other.url}))
            .await;
    }
    let mut events = learner
        .stream(&format!("/v1/products/{}/events", learner.product))
        .await;
    learner.publish("WebhookDemo01", "{}").await;
    demo.next().await;
    let mut names = Vec::new();
    for _ in 0..3 {
        names.push(next_event(&mut events).await.0);
    }
    assert_eq!(
        names,
        [
            "WebhookDemo01",
            "hook-sent/WebhookDemo01",
            "api/hook-response/WebhookDemo01/0"
        ]
    );
    // Events are handled in order: once `zz` reaches the other server, everything before it has
    // been dispatched, and none of it went there.
    learner.publish("zz", "done").await;
    let first = other.next().await;
    assert!(first.body.contains("event=zz"), "{}", first.body);
    assert!(other.received.try_recv().is_err());
}

#[tokio::test]
async fn streams_show_only_their_scope_and_prefix_and_keep_alive() {
    let app = App::serve_with(Settings {
        keepalive: Duration::from_millis(50),
        ..super::quiet()
    })
    .await;
    let learner = Learner::on(app).await;
    let mut device = learner
        .stream(&format!("/v1/devices/{P2}/events/Webhook"))
        .await;
    let mut mine = learner.stream("/v1/devices/events").await;
    let (status, _) = learner
        .send(
            "POST",
            "/v1/devices/events",
            json!({"name": "note", "data": "hi"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (name, event) = next_event(&mut mine).await;
    assert_eq!(
        (name.as_str(), event["data"].as_str()),
        ("note", Some("hi"))
    );
    // The P2 runs the demo firmware: a MODE click publishes on its own stream.
    assert_eq!(press(&learner.app, P2).await.0, StatusCode::OK);
    let (name, event) = next_event(&mut device).await;
    assert_eq!(
        (name.as_str(), event["coreid"].as_str()),
        ("WebhookDemo01", Some(P2))
    );
    let reading: Value = serde_json::from_str(event["data"].as_str().expect("data")).expect("JSON");
    assert!(reading["id"].is_u64() && reading["t"].is_i64(), "{reading}");

    let mut raw = learner.raw_stream("/v1/events/nothing-matches").await;
    assert_eq!(&raw.next().await.expect("opening")[..], b":ok\n\n");
    assert_eq!(&raw.next().await.expect("keepalive")[..], b"\n");

    // Someone else's device and product streams are forbidden; no token is 401.
    let other = format!("Bearer {}", sign_in_with_mfa(&learner.app).await);
    check_error(
        get(
            &learner.app,
            &format!("/v1/devices/{P2}/events"),
            Some(&other),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
        &format!("Device {P2} belongs to another user"),
    );
    let product = format!("/v1/products/{}/events", learner.product);
    assert_eq!(
        get(&learner.app, &product, Some(&other)).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&learner.app, &product, None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn publishing_checks_its_input() {
    let learner = Learner::new().await;
    let path = format!("/v1/products/{}/events", learner.product);
    for (body, description) in [
        (json!({"data": "x"}), "The name parameter is required"),
        (
            json!({"name": "x".repeat(65)}),
            "Event names are at most 64 characters",
        ),
        (
            json!({"name": "n", "data": "x".repeat(1025)}),
            "Event data is at most 1024 bytes",
        ),
    ] {
        check_error(
            learner.send("POST", &path, body).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            description,
        );
    }
    let malformed = Request::post(&path)
        .header(header::AUTHORIZATION, &learner.bearer)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .expect("request");
    let (status, error) = call(&learner.app, malformed).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error["error_description"]
            .as_str()
            .expect("text")
            .starts_with("Malformed JSON body")
    );
    // Form bodies are accepted too.
    let form = Request::post(&path)
        .header(header::AUTHORIZATION, &learner.bearer)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("name=formed&data=1"))
        .expect("request");
    assert_eq!(
        call(&learner.app, form).await,
        (StatusCode::OK, json!({"ok": true}))
    );
    check_error(
        learner
            .send("POST", "/v1/products/99999/events", json!({"name": "n"}))
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
        "Product 99999 was not found",
    );
    let other = format!("Bearer {}", sign_in_with_mfa(&learner.app).await);
    let (status, _) = send_json(&learner.app, "POST", &path, &other, json!({"name": "n"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send_json(
        &learner.app,
        "POST",
        &path,
        "Bearer nope",
        json!({"name": "n"}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn integrations_are_created_listed_edited_and_deleted() {
    let learner = Learner::new().await;
    let base = format!("/v1/products/{}/integrations", learner.product);
    let settings = learner.demo_webhook("http://127.0.0.1:9/hook");
    let (status, created) = learner.send("POST", &base, settings.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let id = created["id"].as_str().expect("an id").to_owned();
    for (field, value) in settings.as_object().expect("an object") {
        assert_eq!(&created[field], value, "{field} is echoed");
    }
    assert_eq!(created["product_id"], learner.product);
    assert!(created["created_at"].is_string());

    let (_, listed) = get(&learner.app, &base, Some(&learner.bearer)).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(listed[0]["id"], id.as_str());
    let one = format!("{base}/{id}");
    let (status, edited) = learner
        .send("PUT", &one, json!({"event": "Other", "url": "http://h/"}))
        .await;
    assert_eq!(
        (status, &edited["event"], &edited["id"]),
        (StatusCode::OK, &json!("Other"), &json!(id))
    );
    assert!(
        edited.get("json").is_none(),
        "an edit replaces the configuration"
    );
    assert_eq!(
        get(&learner.app, &one, Some(&learner.bearer)).await.1["url"],
        "http://h/"
    );

    // A product with an integration cannot be deleted, even once it has no devices.
    let device = format!("/v1/products/{}/devices/{P2}", learner.product);
    assert_eq!(
        learner.send("DELETE", &device, json!({})).await.0,
        StatusCode::NO_CONTENT
    );
    let product = format!("/v1/products/{}", learner.product);
    check_error(
        learner.send("DELETE", &product, json!({})).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        &format!(
            "Product {} still has 1 integration(s); delete them first",
            learner.product
        ),
    );

    assert_eq!(
        learner.send("DELETE", &one, json!({})).await.0,
        StatusCode::NO_CONTENT
    );
    check_error(
        get(&learner.app, &one, Some(&learner.bearer)).await,
        StatusCode::NOT_FOUND,
        "not_found",
        &format!("Integration {id} was not found"),
    );

    // The user-level routes keep their own list.
    let (status, mine) = learner
        .send(
            "POST",
            "/v1/integrations",
            json!({"event": "e", "url": "http://h/"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, listed) = get(&learner.app, "/v1/integrations", Some(&learner.bearer)).await;
    assert_eq!(listed[0]["id"], mine["id"]);
    assert!(listed[0].get("product_id").is_none());
    let (_, product_list) = get(&learner.app, &base, Some(&learner.bearer)).await;
    assert_eq!(product_list, json!([]));
}

#[tokio::test]
async fn integration_input_errors() {
    let learner = Learner::new().await;
    let base = format!("/v1/products/{}/integrations", learner.product);
    for (body, description) in [
        (
            json!({"url": "http://h/"}),
            "Invalid webhook settings: missing field `event`",
        ),
        (
            json!({"event": " ", "url": "http://h/"}),
            "The event parameter is required",
        ),
        (
            json!({"event": "e", "url": "ftp://h/"}),
            "The url parameter must be an http:// or https:// URL",
        ),
        (
            json!({"event": "e", "url": "http://h/", "requestType": "PATCH"}),
            "requestType must be GET, POST, PUT or DELETE, not \"PATCH\"",
        ),
        (
            json!({"event": "e", "url": "http://h/", "json": {}, "body": "x"}),
            "Give at most one of json, form and body",
        ),
        (
            json!({"event": "e", "url": "http://h/", "integration_type": "AzureIotHub"}),
            "integration_type \"AzureIotHub\" is not emulated by the sandbox; use \"Webhook\"",
        ),
        (
            json!({"event": "e", "url": "http://h/", "headers": ["x"]}),
            "Invalid webhook settings: invalid type: sequence, expected a map",
        ),
        (
            json!(["not", "an", "object"]),
            "The JSON body must be an object",
        ),
    ] {
        check_error(
            learner.send("POST", &base, body).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            description,
        );
    }
    check_error(
        learner
            .send(
                "PUT",
                &format!("{base}/0123"),
                json!({"event": "e", "url": "http://h/"}),
            )
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
        "Integration 0123 was not found",
    );
    let other = format!("Bearer {}", sign_in_with_mfa(&learner.app).await);
    assert_eq!(
        get(&learner.app, &base, Some(&other)).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&learner.app, &base, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    // Another user's user-level integration is not found for this one.
    let (_, theirs) = send_json(
        &learner.app,
        "POST",
        "/v1/integrations",
        &other,
        json!({"event": "e", "url": "http://h/"}),
    )
    .await;
    let theirs = format!("/v1/integrations/{}", theirs["id"].as_str().expect("an id"));
    assert_eq!(
        get(&learner.app, &theirs, Some(&learner.bearer)).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn product_devices_are_added_listed_updated_and_removed() {
    let learner = Learner::new().await;
    let devices = format!("/v1/products/{}/devices", learner.product);
    let (_, listed) = get(&learner.app, &devices, Some(&learner.bearer)).await;
    assert_eq!(listed["devices"][0]["id"], P2);
    assert_eq!(listed["devices"][0]["product_id"], learner.product);
    assert_eq!(listed["meta"]["total_pages"], 1);

    // Adding again, or a device of another platform, or an unknown id changes nothing.
    let (_, again) = learner.send("POST", &devices, json!({"id": P2})).await;
    assert_eq!(again["existingDeviceIds"], json!([P2]));
    assert_eq!(again["updated"], 0);
    let form = Request::post(&devices)
        .header(header::AUTHORIZATION, &learner.bearer)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("id={BORON}")))
        .expect("request");
    let (status, wrong_platform) = call(&learner.app, form).await;
    assert_eq!(
        (status, &wrong_platform["invalidDeviceIds"]),
        (StatusCode::OK, &json!([BORON]))
    );

    // A multipart import, one id or serial per line.
    let file = reqwest::multipart::Part::text(format!("{ARGON}\nnot-a-device\nP2SANDBOX000001\n"))
        .file_name("devices.txt");
    let form = reqwest::multipart::Form::new().part("file", file);
    let imported: Value = learner
        .request(Method::POST, &devices)
        .multipart(form)
        .send()
        .await
        .expect("an answer")
        .json()
        .await
        .expect("JSON");
    assert_eq!(imported["invalidDeviceIds"], json!([ARGON, "not-a-device"]));
    assert_eq!(imported["existingDeviceIds"], json!([P2]));

    let one = format!("{devices}/{P2}");
    let (status, updated) = learner
        .send(
            "PUT",
            &one,
            json!({"name": "renamed", "development": true, "groups": ["lab"], "notes": "n"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    let (_, fetched) = get(&learner.app, &one, Some(&learner.bearer)).await;
    assert_eq!(
        (
            &fetched["name"],
            &fetched["development"],
            &fetched["groups"],
            &fetched["notes"]
        ),
        (
            &json!("renamed"),
            &json!(true),
            &json!(["lab"]),
            &json!("n")
        )
    );
    check_error(
        learner.send("PUT", &one, json!({"groups": [1]})).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "groups must be an array of names",
    );
    check_error(
        learner
            .send("PUT", &one, json!({"development": "maybe"}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "development cannot be \"maybe\"",
    );
    check_error(
        learner.send("POST", &devices, json!({})).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Give the device to add as id, or a file of ids",
    );

    assert_eq!(
        learner.send("DELETE", &one, json!({})).await.0,
        StatusCode::NO_CONTENT
    );
    check_error(
        get(&learner.app, &one, Some(&learner.bearer)).await,
        StatusCode::NOT_FOUND,
        "not_found",
        &format!("Device {P2} was not found in product {}", learner.product),
    );
    let (_, device) = get(
        &learner.app,
        &format!("/v1/devices/{P2}"),
        Some(&learner.bearer),
    )
    .await;
    assert_eq!(
        (&device["product_id"], &device["development"]),
        (&json!(32), &json!(false))
    );
    let (_, empty) = get(
        &learner.app,
        &format!("{devices}?page=1&per_page=5"),
        Some(&learner.bearer),
    )
    .await;
    assert_eq!(empty["devices"], json!([]));
    check_error(
        get(
            &learner.app,
            &format!("{devices}?page=0"),
            Some(&learner.bearer),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "page must be a positive number",
    );
}

#[tokio::test]
async fn product_device_lists_are_paginated() {
    let learner = Learner::new().await;
    let devices = format!("/v1/products/{}/devices?per_page=1&page=2", learner.product);
    let (_, page) = get(&learner.app, &devices, Some(&learner.bearer)).await;
    assert_eq!(
        (&page["devices"], &page["meta"]["total_pages"]),
        (&json!([]), &json!(1))
    );
    let devices = format!("/v1/products/{}/devices?per_page=1", learner.product);
    let (_, page) = get(&learner.app, &devices, Some(&learner.bearer)).await;
    assert_eq!(page["devices"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn the_simulated_device_receives_its_hook_response_and_logs_it() {
    let learner = Learner::new().await;
    let mut target = Target::start(StatusCode::OK, r#"{"ok":true}"#).await;
    learner.integrate(learner.demo_webhook(&target.url)).await;
    let log = learner
        .app
        .client
        .get(learner.app.url(&format!("/_sim/devices/{P2}/log")))
        .header(header::ACCEPT, "text/event-stream")
        .send()
        .await
        .expect("the log stream opens");
    let mut lines = Box::pin(
        log.bytes_stream()
            .map(|c| Ok::<_, std::convert::Infallible>(c.expect("bytes")))
            .eventsource(),
    );
    assert_eq!(press(&learner.app, P2).await.0, StatusCode::OK);
    let request = target.next().await;
    assert!(
        request.body.contains(&format!("\"deviceId\":\"{P2}\"")),
        "{}",
        request.body
    );
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.starts_with("hook response")) {
        seen.push(lines.next().await.expect("a line").expect("SSE").data);
    }
    assert!(
        seen[0].starts_with("published WebhookDemo01 {\"id\":"),
        "{seen:?}"
    );
    assert_eq!(
        seen.last().map(String::as_str),
        Some(format!("hook response {P2}/hook-response/WebhookDemo01/0: {{\"ok\":true}}").as_str())
    );
    let (_, json_log) = get(&learner.app, &format!("/_sim/devices/{P2}/log"), None).await;
    assert_eq!(json_log["lines"].as_array().map(Vec::len), Some(seen.len()));
}

#[tokio::test]
async fn devices_go_offline_and_online_and_publish_on_connect() {
    let learner = Learner::new().await;
    let mut events = learner.stream(&format!("/v1/devices/{P2}/events")).await;
    let online = |value: bool| {
        Request::put(format!("/_sim/devices/{P2}/online"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({"online": value}).to_string()))
            .expect("request")
    };
    assert_eq!(call(&learner.app, online(false)).await.0, StatusCode::OK);
    let (name, event) = next_event(&mut events).await;
    assert_eq!(
        (name.as_str(), event["data"].as_str()),
        ("spark/status", Some("offline"))
    );
    check_error(
        press(&learner.app, P2).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        &format!("Device {P2} is offline; take it online first"),
    );
    assert_eq!(call(&learner.app, online(true)).await.0, StatusCode::OK);
    let (name, event) = next_event(&mut events).await;
    assert_eq!(
        (name.as_str(), event["data"].as_str()),
        ("spark/status", Some("online"))
    );
    let (name, _) = next_event(&mut events).await;
    assert_eq!(name, "WebhookDemo01");
    let (_, device) = get(
        &learner.app,
        &format!("/v1/devices/{P2}"),
        Some(&learner.bearer),
    )
    .await;
    assert_eq!(device["online"], true);

    let bad = Request::put(format!("/_sim/devices/{P2}/online"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"online\": \"yes\"}"))
        .expect("request");
    check_error(
        call(&learner.app, bad).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Expected {\"online\": true or false}",
    );
    check_error(
        press(&learner.app, "ffff").await,
        StatusCode::NOT_FOUND,
        "not_found",
        "Device ffff was not found",
    );
}

#[tokio::test]
async fn the_simulation_publishes_on_its_interval() {
    let app = App::serve_with(Settings {
        sim_publish_interval: Some(Duration::from_millis(20)),
        ..super::quiet()
    })
    .await;
    let learner = Learner::on(app).await;
    let mut events = learner.stream("/v1/devices/events/WebhookDemo01").await;
    // The two online devices publish every interval; the offline Argon never does.
    let mut sources = std::collections::BTreeSet::new();
    while sources.len() < 2 {
        let (_, event) = next_event(&mut events).await;
        assert_ne!(event["coreid"], ARGON);
        sources.insert(event["coreid"].as_str().expect("coreid").to_owned());
    }
    assert_eq!(sources.into_iter().collect::<Vec<_>>(), [P2, BORON]);
}

#[tokio::test]
async fn reset_returns_to_the_fixture() {
    let learner = Learner::new().await;
    let reset = Request::post("/_sim/reset")
        .body(Body::empty())
        .expect("request");
    assert_eq!(
        call(&learner.app, reset).await,
        (StatusCode::OK, json!({"ok": true}))
    );
    assert_eq!(
        get(&learner.app, "/v1/user", Some(&learner.bearer)).await.0,
        StatusCode::UNAUTHORIZED
    );
    let bearer = format!("Bearer {}", sign_in(&learner.app).await);
    assert_eq!(
        get(&learner.app, "/v1/user/products", Some(&bearer))
            .await
            .1,
        json!({"products": []})
    );
    assert_eq!(
        get(&learner.app, "/_sim/webhooks", None).await.1,
        json!({"webhooks": []})
    );
}

#[tokio::test]
async fn closing_the_sandbox_ends_its_streams() {
    let learner = Learner::new().await;
    let mut raw = learner.raw_stream("/v1/devices/events").await;
    assert_eq!(&raw.next().await.expect("opening")[..], b":ok\n\n");
    learner.app.sandbox.close();
    assert!(raw.next().await.is_none(), "the stream ends");
}

/// A multipart form of files, as the CLI and the page send sources.
fn files(files: &[(&str, &str)]) -> reqwest::multipart::Form {
    files
        .iter()
        .fold(reqwest::multipart::Form::new(), |form, (name, text)| {
            let part = reqwest::multipart::Part::text(text.to_string()).file_name(name.to_string());
            form.part(name.to_string(), part)
        })
}

const DEMO_SOURCE: &str = include_str!("../../../../firmware/webhook-demo/src/webhook-demo.cpp");

#[tokio::test]
async fn cloud_compile_returns_a_binary_or_the_errors_with_file_and_line() {
    let learner = Learner::new().await;
    let compile = |form: reqwest::multipart::Form| {
        learner
            .request(Method::POST, "/v1/binaries")
            .multipart(form)
            .send()
    };
    let form = files(&[
        ("src/webhook-demo.cpp", DEMO_SOURCE),
        ("project.properties", "name=webhook-demo\n"),
    ])
    .text("platform_id", "32");
    let response = compile(form).await.expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    let compiled: Value = response.json().await.expect("JSON");
    assert_eq!(compiled["ok"], true);
    let url = compiled["binary_url"].as_str().expect("a binary URL");
    assert_eq!(
        url,
        format!(
            "/v1/binaries/{}",
            compiled["binary_id"].as_str().expect("an id")
        )
    );
    let binary = learner
        .request(Method::GET, url)
        .send()
        .await
        .expect("the binary");
    assert_eq!(binary.status(), StatusCode::OK);
    assert!(!binary.bytes().await.expect("bytes").is_empty());

    let broken = files(&[(
        "src/app.cpp",
        "void setup() {\n  Log.info(\"x\";\n}\nvoid loop() {}\n",
    )])
    .text("platform_id", "32");
    let response = compile(broken).await.expect("an answer");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let failed: Value = response.json().await.expect("JSON");
    assert_eq!(failed["ok"], false);
    assert_eq!(
        failed["errors"],
        json!(["src/app.cpp:3:1: error: expected ')' before '}' token"])
    );

    let no_platform = files(&[("a.cpp", "void setup(){}\nvoid loop(){}\n")]);
    let response = compile(no_platform).await.expect("an answer");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let error: Value = response.json().await.expect("JSON");
    assert_eq!(
        error["error_description"],
        "The platform_id parameter is required"
    );
    let other = format!("Bearer {}", sign_in_with_mfa(&learner.app).await);
    assert_eq!(
        get(&learner.app, url, Some(&other)).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get(&learner.app, "/v1/binaries/nope", Some(&learner.bearer))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn flashing_switches_what_the_simulated_device_runs() {
    let learner = Learner::new().await;
    let mut events = learner.stream(&format!("/v1/devices/{P2}/events")).await;
    let flash = |form: reqwest::multipart::Form| {
        learner
            .request(Method::PUT, &format!("/v1/devices/{P2}"))
            .multipart(form)
            .send()
    };
    // Tinker (any binary that is not a sandbox build) stops the demo's publishing.
    let tinker =
        reqwest::multipart::Part::bytes(b"\x7fELF tinker".to_vec()).file_name("tinker.bin");
    let response = flash(reqwest::multipart::Form::new().part("file", tinker))
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    let started: Value = response.json().await.expect("JSON");
    assert_eq!(started["status"], "Update started");
    let mut seen = Vec::new();
    for _ in 0..4 {
        let (name, event) = next_event(&mut events).await;
        seen.push(format!("{name} {}", event["data"].as_str().expect("data")));
    }
    assert_eq!(
        seen,
        [
            "spark/flash/status started",
            "spark/flash/status success",
            "spark/status offline",
            "spark/status online"
        ]
    );
    check_error(
        press(&learner.app, P2).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        &format!("Device {P2} runs Tinker, which publishes nothing; flash the demo firmware first"),
    );
    // What it runs shows in what the API lists: Tinker has no product version and no variable.
    let running = || async {
        let (_, device) = get(
            &learner.app,
            &format!("/v1/devices/{P2}"),
            Some(&learner.bearer),
        )
        .await;
        (
            device["firmware_version"].clone(),
            device["variables"].clone(),
        )
    };
    assert_eq!(running().await, (Value::Null, json!({})));

    // The demo's sources bring it back; it publishes as soon as it reconnects.
    let response = flash(files(&[("src/webhook-demo.cpp", DEMO_SOURCE)]))
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    let mut names = Vec::new();
    for _ in 0..5 {
        names.push(next_event(&mut events).await.0);
    }
    assert_eq!(
        names,
        [
            "spark/flash/status",
            "spark/flash/status",
            "spark/status",
            "spark/status",
            "WebhookDemo01"
        ]
    );
    assert_eq!(press(&learner.app, P2).await.0, StatusCode::OK);
    assert_eq!(
        running().await,
        (json!(1), json!({"WebhookDemo01": "int32"}))
    );

    // Sources that do not compile are not flashed; an offline device cannot be flashed.
    let response = flash(files(&[("a.cpp", "void setup() {")]))
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let failed: Value = response.json().await.expect("JSON");
    assert_eq!(
        failed["errors"][0],
        "a.cpp:1:14: error: expected '}' at end of input (to match this '{')"
    );
    let offline = learner
        .request(Method::PUT, &format!("/v1/devices/{ARGON}"))
        .multipart(files(&[("src/webhook-demo.cpp", DEMO_SOURCE)]))
        .send()
        .await
        .expect("an answer");
    assert_eq!(offline.status(), StatusCode::NOT_FOUND);
    // A binary that is not a sandbox build (Tinker's, as particle-cli and the tutorial's cleanup
    // upload it), marked by `file_type=binary` rather than by its name.
    let tinker = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"\x00\x01 Tinker".to_vec()).file_name("firmware"),
        )
        .text("file_type", "binary");
    let started = flash(tinker).await.expect("an answer");
    assert_eq!(started.status(), StatusCode::OK);
    let started: Value = started.json().await.expect("JSON");
    assert_eq!(started["status"], json!("Update started"));
    // The MODE click above published first.
    let mut names = Vec::new();
    for _ in 0..5 {
        names.push(next_event(&mut events).await.0);
    }
    assert_eq!(
        names,
        [
            "WebhookDemo01",
            "spark/flash/status",
            "spark/flash/status",
            "spark/status",
            "spark/status"
        ]
    );
    assert_eq!(
        press(&learner.app, P2).await.0,
        StatusCode::BAD_REQUEST,
        "Tinker publishes nothing"
    );
    // The same call renames a device.
    let (status, renamed) = learner
        .send(
            "PUT",
            &format!("/v1/devices/{P2}"),
            json!({"name": "kitchen"}),
        )
        .await;
    assert_eq!(
        (status, &renamed["name"]),
        (StatusCode::OK, &json!("kitchen"))
    );
}

#[tokio::test(start_paused = true)]
async fn publishing_too_fast_is_rate_limited() {
    let app = App::in_process_with(super::quiet());
    let bearer = format!("Bearer {}", sign_in(&app).await);
    let publish = || {
        send_json(
            &app,
            "POST",
            "/v1/devices/events",
            &bearer,
            json!({"name": "n"}),
        )
    };
    for _ in 0..10 {
        assert_eq!(publish().await.0, StatusCode::OK);
    }
    check_error(
        publish().await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "Too many events published; the limit is 1 per second after a burst of ten",
    );
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(publish().await.0, StatusCode::OK);
    assert_eq!(publish().await.0, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn sim_endpoints_refuse_unknown_devices_and_bad_bodies() {
    let app = App::serve().await;
    check_error(
        get(&app, "/_sim/devices/ffff/log", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
        "Device ffff was not found",
    );
    let online = |id: &str, body: &str| {
        Request::put(format!("/_sim/devices/{id}/online"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .expect("request")
    };
    check_error(
        call(&app, online("ffff", r#"{"online":true}"#)).await,
        StatusCode::NOT_FOUND,
        "not_found",
        "Device ffff was not found",
    );
    let (status, error) = call(&app, online(P2, "{not json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error["error_description"]
            .as_str()
            .expect("text")
            .starts_with("Malformed JSON body")
    );
    let (_, log) = get(&app, &format!("/_sim/devices/{ARGON}/log"), None).await;
    assert_eq!(
        log,
        json!({"lines": []}),
        "the offline Argon has logged nothing"
    );
}

#[tokio::test]
async fn a_device_publishes_any_event_on_request() {
    let learner = Learner::new().await;
    let mut events = learner
        .stream(&format!("/v1/products/{}/events", learner.product))
        .await;
    let publish = |id: &str, body: Value| {
        Request::post(format!("/_sim/devices/{id}/publish"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request")
    };
    let (status, _) = call(
        &learner.app,
        publish(P2, json!({"name": "custom", "data": "<b>x</b>"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (name, event) = next_event(&mut events).await;
    assert_eq!(
        (
            name.as_str(),
            event["data"].as_str(),
            event["coreid"].as_str()
        ),
        ("custom", Some("<b>x</b>"), Some(P2))
    );
    check_error(
        call(&learner.app, publish(ARGON, json!({"name": "n"}))).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        &format!("Device {ARGON} is offline; take it online first"),
    );
    check_error(
        call(&learner.app, publish(P2, json!({"data": "x"}))).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Expected {\"name\": …, \"data\": …}",
    );
}
