//! The webhook engine, the event streams and the `_sim` endpoints against a second round of hostile
//! use: templates that cost seconds to render, event names that forge stream frames, another
//! user's device pulled into a product, `_sim` on a public host without a token, and one
//! account's failing server putting another's deliveries to sleep.

use std::time::Duration;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use eventsource_stream::{Event as SseEvent, Eventsource};
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};

use super::{
    App, call, check_error, get, quiet, send_json, sign_in, sign_in_with_mfa,
    webhooks::{Learner, P2, Target, next_event},
};
use crate::Settings;

/// Sections nested `depth` deep around `inner`.
fn nested(name: &str, depth: usize, inner: &str) -> String {
    format!(
        "{}{inner}{}",
        format!("{{{{#{name}}}}}").repeat(depth),
        format!("{{{{/{name}}}}}").repeat(depth)
    )
}

/// A `_sim` request with an optional token.
fn sim(method: &str, path: &str, bearer: Option<&str>, body: Value) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(bearer) = bearer {
        request = request.header(header::AUTHORIZATION, bearer);
    }
    request.body(Body::from(body.to_string())).expect("request")
}

/// Templates the engine has rendered so far.
fn renders(app: &App) -> u64 {
    app.sandbox
        .shared()
        .throttle
        .lock()
        .expect("the throttle's lock")
        .renders
}

/// Reads `count` events, each the `deep` integrations' hook-error.
async fn hook_errors(events: &mut (impl Stream<Item = SseEvent> + Unpin), count: usize) {
    for _ in 0..count {
        let (name, _) = next_event(events).await;
        assert_eq!(name, "hook-error/deep/0");
    }
}

/// H1: a hundred integrations whose 64-deep sections each spend the whole rendering budget, then
/// one anonymous `_sim` publish, cost 14.8 s of CPU: every template rendered before the throttle
/// looked, and failed renders never counted. Now the engine decides first, renders one at a time
/// per account, and counts a failed render as an error, so the probe's shape renders a handful of
/// templates and a publish the throttle refuses renders none.
#[tokio::test]
async fn h1_the_probes_templates_render_a_bounded_number_of_times_and_never_when_refused() {
    let learner = Learner::new().await;
    let target = Target::start(StatusCode::OK, "ok").await;
    let deep = nested("a", 64, "x");
    for _ in 0..100 {
        learner
            .integrate(json!({"event": "deep", "url": target.url, "body": deep}))
            .await;
    }
    let mut events = learner
        .stream(&format!(
            "/v1/products/{}/events/hook-error",
            learner.product
        ))
        .await;
    let publish = || {
        call(
            &learner.app,
            sim(
                "POST",
                &format!("/_sim/devices/{P2}/publish"),
                None,
                json!({"name": "deep", "data": r#"{"a":[1,1]}"#}),
            ),
        )
    };
    assert_eq!(publish().await.0, StatusCode::OK);
    hook_errors(&mut events, 100).await;
    let first = renders(&learner.app);
    assert!(
        (1..=crate::engine::RENDER_MIN_ERRORS as u64).contains(&first),
        "{first} templates rendered for one publish to a hundred integrations"
    );
    assert_eq!(publish().await.0, StatusCode::OK);
    hook_errors(&mut events, 100).await;
    assert_eq!(
        renders(&learner.app),
        first,
        "a publish the throttle refuses renders nothing"
    );
    let (_, log) = get(&learner.app, "/_sim/webhooks", None).await;
    let log = log["webhooks"].as_array().expect("deliveries");
    assert_eq!(log.len(), 200);
    let rendered = log
        .iter()
        .filter(|d| d["error"].as_str().is_some_and(|e| e.contains("rendering")))
        .count();
    assert_eq!(rendered as u64, first, "every other delivery was skipped");
}

/// H1: `_sim` publishes had no rate limit; they now share the device owner's allowance, the same
/// as API publishes (a burst of ten, then one a second), MODE clicks included.
#[tokio::test(start_paused = true)]
async fn h1_sim_publishes_share_the_owners_publish_allowance() {
    let app = App::in_process_with(quiet());
    let publish = || {
        call(
            &app,
            sim(
                "POST",
                &format!("/_sim/devices/{P2}/publish"),
                None,
                json!({"name": "n"}),
            ),
        )
    };
    for _ in 0..9 {
        assert_eq!(publish().await.0, StatusCode::OK);
    }
    let button = sim(
        "POST",
        &format!("/_sim/devices/{P2}/button"),
        None,
        json!({}),
    );
    assert_eq!(call(&app, button).await.0, StatusCode::OK);
    check_error(
        publish().await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "Too many events published; the limit is 1 per second after a burst of ten",
    );
    let button = sim(
        "POST",
        &format!("/_sim/devices/{P2}/button"),
        None,
        json!({}),
    );
    assert_eq!(call(&app, button).await.0, StatusCode::TOO_MANY_REQUESTS);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(publish().await.0, StatusCode::OK);
}

/// M1: an event name holding a newline arrived in another stream as a separate, forged
/// `hook-response` event, and `\r\nid: 99` injected an `id:` line. Names with control characters
/// are now refused on every publish path, in Particle's shape.
#[tokio::test]
async fn m1_event_names_with_control_characters_are_refused_on_every_publish_path() {
    let learner = Learner::new().await;
    let forged = "x\n\nevent: hook-response/a/0\ndata: {\"data\":\"FORGED\"}";
    let refused = |actual: (StatusCode, Value)| {
        check_error(
            actual,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Event names cannot hold control characters such as line breaks",
        );
    };
    for name in [forged, "x\r\nid: 99", "x\ry", "x\u{0}y", "x\u{85}y"] {
        let body = json!({"name": name, "data": "d"});
        refused(
            learner
                .send("POST", "/v1/devices/events", body.clone())
                .await,
        );
        let product = format!("/v1/products/{}/events", learner.product);
        refused(learner.send("POST", &product, body.clone()).await);
        let path = format!("/_sim/devices/{P2}/publish");
        refused(call(&learner.app, sim("POST", &path, None, body)).await);
    }
    // A form body too.
    let request = Request::post("/v1/devices/events")
        .header(header::AUTHORIZATION, &learner.bearer)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("name=x%0D%0Aid%3A%2099&data=d"))
        .expect("request");
    refused(call(&learner.app, request).await);
}

/// M1, in depth: a name the API never accepted can still reach a stream (a webhook's response
/// topic rendered from event data), and a device log line can hold a lone carriage return. Every
/// `event:` and `data:` line the sandbox writes keeps line breaks out, whatever their source.
#[tokio::test]
async fn m1_stream_fields_never_carry_a_line_break_whatever_the_source() {
    let learner = Learner::new().await;
    let target = Target::start(StatusCode::OK, "answer").await;
    learner
        .integrate(json!({"event": "topic", "url": target.url,
            "responseTopic": "{{{PARTICLE_EVENT_VALUE}}}"}))
        .await;
    let mut events = learner
        .stream(&format!("/v1/products/{}/events", learner.product))
        .await;
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
    // A lone carriage return ends a line in SSE as a newline does.
    let data = "x\rid: 99\n\nevent: hook-response/a\ndata: {\"data\":\"FORGED\"}\n\nevent: y";
    let path = format!("/_sim/devices/{P2}/publish");
    let body = json!({"name": "topic", "data": data});
    assert_eq!(
        call(&learner.app, sim("POST", &path, None, body)).await.0,
        StatusCode::OK
    );
    loop {
        let event = events.next().await.expect("the stream stays open");
        assert_eq!(event.id, "", "no id line was injected: {event:?}");
        assert!(!event.event.starts_with("hook-response/a"), "{event:?}");
        let fields: Value = serde_json::from_str(&event.data).expect("JSON event data");
        if fields["data"] == "answer" {
            assert!(event.event.starts_with("x"), "{event:?}");
            break;
        }
    }
    let line = lines.next().await.expect("a line").expect("SSE");
    assert_eq!(line.id, "", "{line:?}");
    assert!(line.data.starts_with("published topic x"), "{line:?}");
    assert!(line.data.contains("id: 99"), "{line:?}");
}

/// M2: a second user added the first user's device to their own product, then renamed it and
/// read its events there, while `GET /v1/devices/{id}` answered them 403. Adding another user's
/// device is now refused with the same 403, and the device stays where it was.
#[tokio::test]
async fn m2_another_users_device_cannot_join_my_product() {
    let app = App::serve().await;
    let owner = format!("Bearer {}", sign_in(&app).await);
    let other = format!("Bearer {}", sign_in_with_mfa(&app).await);
    let body = json!({"product": {"name": "mine", "platform_id": 32}});
    let (_, created) = send_json(&app, "POST", "/v1/user/products", &other, body).await;
    let product = created["product"]["id"].as_u64().expect("a product id");
    let path = format!("/v1/products/{product}/devices");
    check_error(
        send_json(&app, "POST", &path, &other, json!({"id": P2})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        &format!("Device {P2} belongs to another user"),
    );
    // An import file reports it as it reports an unknown id.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::text(format!("{P2}\n")).file_name("ids.txt"),
    );
    let imported: Value = app
        .client
        .post(app.url(&path))
        .header(header::AUTHORIZATION, &other)
        .multipart(form)
        .send()
        .await
        .expect("the sandbox answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(
        (&imported["updated"], &imported["invalidDeviceIds"]),
        (&json!(0), &json!([P2]))
    );
    let (_, members) = get(&app, &path, Some(&other)).await;
    assert_eq!(members["devices"], json!([]));
    let (_, device) = get(&app, &format!("/v1/devices/{P2}"), Some(&owner)).await;
    assert_eq!(device["product_id"], 32, "{device}");
}

/// M3: on a public host, anyone could read every learner's webhook secrets, URLs, bodies and
/// answers from `GET /_sim/webhooks`, and revoke every token and integration with
/// `POST /_sim/reset`, without a token. There `_sim` now needs a token and acts only on what its
/// user owns.
#[tokio::test]
async fn m3_on_a_public_host_sim_needs_a_token_and_acts_only_on_what_it_owns() {
    let settings = Settings {
        public_host: Some("tutorial.example.com".to_owned()),
        ..quiet()
    };
    let learner = Learner::on(App::serve_with(settings).await).await;
    let app = &learner.app;
    let mut target = Target::start(StatusCode::OK, "answer").await;
    let integration = learner
        .integrate(json!({"event": "e", "url": target.url,
            "headers": {"Authorization": "Bearer secret"}}))
        .await;
    let mut answers = learner
        .stream(&format!(
            "/v1/products/{}/events/hook-response",
            learner.product
        ))
        .await;
    learner.publish("e", "d").await;
    target.next().await;
    assert_eq!(next_event(&mut answers).await.0, "hook-response/e/0");
    let other = format!("Bearer {}", sign_in_with_mfa(app).await);
    let mine = Some(learner.bearer.as_str());

    // Nothing without a token.
    let unauthorized = |actual: (StatusCode, Value)| {
        check_error(
            actual,
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "The access token provided is invalid.",
        );
    };
    unauthorized(get(app, "/_sim/webhooks", None).await);
    unauthorized(call(app, sim("POST", "/_sim/reset", None, json!({}))).await);
    let button = format!("/_sim/devices/{P2}/button");
    unauthorized(call(app, sim("POST", &button, None, json!({}))).await);
    unauthorized(get(app, &format!("/_sim/devices/{P2}/log"), None).await);

    // Another user sees none of it and touches none of it.
    let (status, theirs) = get(app, "/_sim/webhooks", Some(&other)).await;
    assert_eq!((status, theirs), (StatusCode::OK, json!({"webhooks": []})));
    let forbidden = format!("Device {P2} belongs to another user");
    for request in [
        sim("POST", &button, Some(&other), json!({})),
        sim(
            "POST",
            &format!("/_sim/devices/{P2}/publish"),
            Some(&other),
            json!({"name": "n"}),
        ),
        sim(
            "PUT",
            &format!("/_sim/devices/{P2}/online"),
            Some(&other),
            json!({"online": false}),
        ),
        sim(
            "GET",
            &format!("/_sim/devices/{P2}/log"),
            Some(&other),
            json!({}),
        ),
    ] {
        check_error(
            call(app, request).await,
            StatusCode::FORBIDDEN,
            "forbidden",
            &forbidden,
        );
    }
    let (status, _) = call(app, sim("POST", "/_sim/reset", Some(&other), json!({}))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get(app, "/v1/user", mine).await;
    assert_eq!(status, StatusCode::OK, "another's reset revoked no token");
    let path = format!(
        "/v1/products/{}/integrations/{integration}",
        learner.product
    );
    assert_eq!(get(app, &path, mine).await.0, StatusCode::OK);

    // The owner reads their own deliveries and acts on their own devices.
    let (_, log) = get(app, "/_sim/webhooks", mine).await;
    assert_eq!(log["webhooks"][0]["integrationId"], integration.as_str());
    assert_eq!(log["webhooks"].as_array().map(Vec::len), Some(1));
    let (status, _) = call(app, sim("POST", &button, mine, json!({}))).await;
    assert_eq!(status, StatusCode::OK);

    // Their reset takes their own objects back to the fixture and keeps their sign-in.
    let (status, _) = call(app, sim("POST", "/_sim/reset", mine, json!({}))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, products) = get(app, "/v1/user/products", mine).await;
    assert_eq!(
        (status, products),
        (StatusCode::OK, json!({"products": []}))
    );
    let (_, device) = get(app, &format!("/v1/devices/{P2}"), mine).await;
    assert_eq!(device["product_id"], 32, "{device}");
    let (_, log) = get(app, "/_sim/webhooks", mine).await;
    assert_eq!(log, json!({"webhooks": []}));
}

/// M5: on a public host every webhook goes to the server's own relay, and the "Sleeping" throttle
/// was keyed by host alone, so one account's failing server made another's deliveries sleep. It
/// is now keyed by the integration's owner and host.
#[tokio::test]
async fn m5_one_accounts_failing_server_does_not_put_anothers_to_sleep() {
    let learner = Learner::new().await;
    let app = &learner.app;
    let mut failing = Target::start(StatusCode::INTERNAL_SERVER_ERROR, "broken").await;
    let mut working = Target::start(StatusCode::OK, "fine").await;
    learner
        .integrate(json!({"event": "e", "url": failing.url}))
        .await;
    let other = format!("Bearer {}", sign_in_with_mfa(app).await);
    let (status, _) = send_json(
        app,
        "POST",
        "/v1/integrations",
        &other,
        json!({"event": "e", "url": working.url}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut errors = learner
        .stream(&format!(
            "/v1/products/{}/events/hook-error",
            learner.product
        ))
        .await;
    for _ in 0..crate::engine::THROTTLE_MIN_ERRORS {
        learner.publish("e", "d").await;
        failing.next().await;
        next_event(&mut errors).await;
    }
    learner.publish("e", "d").await;
    let (_, asleep) = next_event(&mut errors).await;
    assert_eq!(
        asleep["data"],
        crate::engine::SLEEPING,
        "the failing host sleeps"
    );

    let others = Learner {
        app: app.clone(),
        bearer: other,
        product: 0,
    };
    let mut outcomes = others.stream("/v1/devices/events/hook-").await;
    let (status, _) = others
        .send(
            "POST",
            "/v1/devices/events",
            json!({"name": "e", "data": "d"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (sent, _) = next_event(&mut outcomes).await;
    assert_eq!(sent, "hook-sent/e", "the other account's delivery was sent");
    let (name, answer) = next_event(&mut outcomes).await;
    assert_eq!(
        (name.as_str(), &answer["data"]),
        ("hook-response/e/0", &json!("fine")),
        "and answered"
    );
    working.next().await;
}
