//! The sandbox against hostile input (issue 13): templates nested to overflow the stack or
//! rendered to gigabytes, oversized events, a webhook that calls the sandbox back in a loop,
//! webhooks aimed at private listeners on a public host, other sites reaching the `_sim`
//! endpoints through a learner's browser, and malformed sign-in requests.

use std::time::Duration;

use axum::{
    body::Body,
    http::{Method, Request, StatusCode, header},
};
use serde_json::{Value, json};

use super::{
    App, CLIENT, call, check_error, get, oauth, quiet,
    webhooks::{Learner, P2, Target, next_event},
};
use crate::{OwnRelay, Settings, WebhookTargets};

fn nested(open: &str, depth: usize, inner: &str) -> String {
    let close = format!("{{{{/{}}}}}", &open[3..open.len() - 2]);
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

/// `{{^x}}` ten thousand deep aborted the whole server with a stack overflow when it rendered;
/// now such nesting is refused when the integration is created, and when it is edited in.
#[tokio::test]
async fn templates_nested_too_deep_are_refused_on_create_and_edit() {
    let learner = Learner::new().await;
    let path = format!("/v1/products/{}/integrations", learner.product);
    // The report's templates were 10,000 and 100,000 deep; both are now also over the size cap,
    // so these stay under it (60 KB) to reach the nesting check.
    for body in [nested("{{^x}}", 5_000, ""), nested("{{#x}}", 5_000, "")] {
        let webhook = json!({"event": "deep", "url": "http://127.0.0.1:9/", "body": body});
        check_error(
            learner.send("POST", &path, webhook).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Invalid webhook template in `body`: sections are nested more than 64 deep (at character 385)",
        );
    }
    let id = learner
        .integrate(json!({"event": "deep", "url": "http://127.0.0.1:9/"}))
        .await;
    let webhook = json!({"event": "deep", "url": "http://127.0.0.1:9/",
        "json": {"a": [nested("{{#x}}", 65, "")]}});
    let (status, error) = learner.send("PUT", &format!("{path}/{id}"), webhook).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert!(
        error["error_description"]
            .as_str()
            .unwrap()
            .contains("`json`")
    );
    // The server is still there, and a template at the limit is accepted.
    let webhook = json!({"event": "deep", "url": "http://127.0.0.1:9/",
        "body": nested("{{^x}}", 64, "x")});
    learner.integrate(webhook).await;
}

/// 31 bytes of event data and eight nested sections rendered a 100 MB request; now the delivery
/// fails with a `hook-error` that explains the limit, and nothing is sent.
#[tokio::test]
async fn a_body_rendering_past_the_limit_becomes_a_hook_error() {
    let learner = Learner::new().await;
    let mut target = Target::start(StatusCode::OK, "ok").await;
    let sections = nested("{{#a}}", 8, "xxxxxxxxxx");
    learner
        .integrate(json!({"event": "big", "url": target.url, "body": sections}))
        .await;
    learner
        .integrate(json!({"event": "big", "url": target.url, "body": "small"}))
        .await;
    let mut events = learner
        .stream(&format!("/v1/products/{}/events", learner.product))
        .await;
    learner
        .publish("big", r#"{"a":[1,1,1,1,1,1,1,1,1,1]}"#)
        .await;
    let mut error = None;
    while error.is_none() {
        let (name, event) = next_event(&mut events).await;
        if name.starts_with("hook-error/big") {
            error = event["data"].as_str().map(str::to_owned);
        }
    }
    let error = error.unwrap();
    assert!(
        error.contains("larger than 1048576 bytes, the most a webhook may send"),
        "{error}"
    );
    // Only the small integration's request was sent.
    assert_eq!(target.next().await.body, "small");
    let (_, log) = get(&learner.app, "/_sim/webhooks", None).await;
    let outcomes: Vec<&str> = log["webhooks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["error"].as_str())
        .collect();
    assert!(outcomes.iter().any(|e| e.contains("larger than")), "{log}");
}

/// The `_sim` publish had no size limit (1.5 MB of data was accepted), and the API took a
/// number as an event name.
#[tokio::test]
async fn events_over_particles_limits_are_refused_everywhere() {
    let learner = Learner::new().await;
    let sim = |body: Value| {
        Request::post(format!("/_sim/devices/{P2}/publish"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let big = "x".repeat(1025);
    check_error(
        call(&learner.app, sim(json!({"name": "n", "data": big}))).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Event data is at most 1024 bytes",
    );
    check_error(
        call(&learner.app, sim(json!({"name": "n".repeat(65)}))).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Event names are at most 64 characters",
    );
    check_error(
        call(&learner.app, sim(json!({"name": "n", "data": 5}))).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Expected {\"name\": …, \"data\": …}",
    );
    let (status, _) = call(
        &learner.app,
        sim(json!({"name": "n", "data": "x".repeat(1024)})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let path = format!("/v1/products/{}/events", learner.product);
    check_error(
        learner
            .send("POST", &path, json!({"name": 5, "data": "x"}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "The name parameter must be a string",
    );
    check_error(
        learner
            .send("POST", &path, json!({"name": "n", "data": big}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Event data is at most 1024 bytes",
    );
}

/// A webhook whose URL is the sandbox's own `_sim` publish, on the event it publishes, ran at
/// about 12,000 requests a second until deleted. Now the integration is put to sleep, which
/// breaks the chain, and the learner sees why.
#[tokio::test]
async fn a_webhook_that_triggers_itself_is_throttled_to_a_stop() {
    // `_sim` publishes are rate limited like the API's; without that limit, the engine's own
    // throttle is what must stop the loop.
    let settings = Settings {
        publishes_per_second: 0,
        ..quiet()
    };
    let learner = Learner::on(App::serve_with(settings).await).await;
    let url = learner.app.url(&format!("/_sim/devices/{P2}/publish"));
    learner
        .integrate(
            json!({"event": "loop", "url": url, "json": {"name": "loop"}, "noDefaults": true}),
        )
        .await;
    let mut events = learner
        .stream(&format!("/v1/products/{}/events", learner.product))
        .await;
    learner.publish("loop", "").await;
    loop {
        let (name, event) = next_event(&mut events).await;
        if name.starts_with("hook-error/loop") {
            assert_eq!(event["data"], crate::engine::SLEEPING);
            break;
        }
    }
    let (_, log) = get(&learner.app, "/_sim/webhooks", None).await;
    let deliveries = log["webhooks"].as_array().unwrap();
    let sent = deliveries
        .iter()
        .filter(|d| d["outcome"] == "response")
        .count();
    let throttled: Vec<&Value> = deliveries
        .iter()
        .filter(|d| d["outcome"] == "throttled")
        .collect();
    // The burst of twice the per-second rate, and what the rate refilled while it ran.
    assert!(
        (15..=40).contains(&sent),
        "{sent} deliveries before the sleep"
    );
    assert_eq!(throttled.len(), 1, "the skipped delivery ends the chain");
    assert!(
        throttled[0]["error"]
            .as_str()
            .unwrap()
            .contains("does its target publish the event that triggers it?")
    );
    // The chain is broken: nothing more is delivered, and the server answers at once.
    let (status, _) = get(&learner.app, "/v1/user", Some(&learner.bearer)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, later) = get(&learner.app, "/_sim/webhooks", None).await;
    assert_eq!(
        later["webhooks"].as_array().unwrap().len(),
        deliveries.len()
    );
}

/// Started for the public, the sandbox sent webhooks to any host and port and published the
/// answer (a private listener's body came back as `hook-response`). Now it sends only to the
/// server's own relay, over loopback, and to the hosts the operator allows.
#[tokio::test]
async fn on_a_public_host_webhooks_reach_only_the_own_relay_and_allowed_hosts() {
    let mut private = Target::start(StatusCode::OK, "secret").await;
    let mut relay = Target::start(StatusCode::OK, "relayed").await;
    let relay_base = relay.url.trim_end_matches("/hook").to_owned();
    let settings = Settings {
        webhook_targets: WebhookTargets::Only {
            relay: Some(OwnRelay {
                public: "https://hooks.example.com/relay/hook/".parse().unwrap(),
                local: format!("{relay_base}/relay/hook/").parse().unwrap(),
            }),
            hosts: vec!["127.0.0.3:9".parse().unwrap()],
        },
        ..quiet()
    };
    let learner = Learner::on(App::serve_with(settings).await).await;
    learner
        .integrate(json!({"event": "private", "url": private.url, "requestType": "GET"}))
        .await;
    learner
        .integrate(
            json!({"event": "relay", "url": "https://hooks.example.com/relay/hook/tok?a=1",
            "body": "{{{PARTICLE_EVENT_VALUE}}}"}),
        )
        .await;
    let mut events = learner
        .stream(&format!("/v1/products/{}/events", learner.product))
        .await;
    learner.publish("private", "x").await;
    let (name, event) = next_event(&mut events).await;
    assert_eq!(name, "private");
    let (name, event_error) = next_event(&mut events).await;
    assert_eq!(name, "hook-error/private/0", "{event}");
    assert!(
        event_error["data"]
            .as_str()
            .unwrap()
            .contains("only to its own relay (https://hooks.example.com/relay/hook/…)"),
        "{event_error}"
    );
    learner.publish("relay", "to the relay").await;
    let received = relay.next().await;
    assert_eq!(
        (received.uri.as_str(), received.body.as_str()),
        ("/relay/hook/tok?a=1", "to the relay")
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(100), private.next())
            .await
            .is_err(),
        "the private listener was never called"
    );
}

/// `/_sim/*` answered any origin with `Access-Control-Allow-Origin: *`, so any site a learner
/// visited could read every delivery (with its `Authorization` header) or reset the sandbox.
#[tokio::test]
async fn sim_endpoints_answer_only_this_servers_own_pages() {
    let settings = Settings {
        public_host: Some("tutorial.example.com".to_owned()),
        ..quiet()
    };
    let app = App::serve_with(settings).await;
    // On a public host `_sim` also needs a token; this is about where requests come from.
    let bearer = format!("Bearer {}", super::sign_in(&app).await);
    let send = |method: Method, headers: &[(&str, &str)]| {
        let mut request = app
            .client
            .request(method, app.url("/_sim/webhooks"))
            .header(header::AUTHORIZATION, &bearer);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    let own = app
        .base
        .as_deref()
        .unwrap()
        .trim_start_matches("http://")
        .to_owned();
    let refused = [
        vec![("Origin", "https://evil.example")],
        vec![("Origin", "null")],
        vec![("Sec-Fetch-Site", "cross-site")],
        vec![("Host", "evil.example:8080")],
        vec![("Host", "localhost.evil.example")],
    ];
    for headers in refused {
        let response = send(Method::GET, &headers).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{headers:?}");
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "forbidden", "{headers:?}");
    }
    let origin = format!("http://{own}");
    for headers in [
        vec![],
        vec![
            ("Origin", origin.as_str()),
            ("Sec-Fetch-Site", "same-origin"),
        ],
        vec![("Host", "localhost:8080")],
        vec![("Host", "[::1]:8080")],
        vec![("Host", "tutorial.example.com")],
    ] {
        let response = send(Method::GET, &headers).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{headers:?}");
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none()
        );
    }
    // No preflight succeeds, so no other page can even send a JSON reset.
    let preflight = send(
        Method::OPTIONS,
        &[
            ("Origin", "https://evil.example"),
            ("Access-Control-Request-Method", "POST"),
        ],
    )
    .await
    .unwrap();
    assert!(
        preflight
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    // Behind a proxy that rewrites Host, the page's origin is the public host.
    let response = send(
        Method::GET,
        &[
            ("Origin", "https://tutorial.example.com"),
            ("Host", "127.0.0.1:8080"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// With the sandbox's public sign-in, a page on any site could sign in, create an integration
/// aimed at the learner's localhost and read the answer from the event stream. The Particle API
/// now offers CORS to loopback origins and the public host only, and no route answers a `Host`
/// that DNS rebinding would send.
#[tokio::test]
async fn the_api_answers_only_loopback_pages_and_the_public_host() {
    let settings = Settings {
        public_host: Some("tutorial.example.com".to_owned()),
        ..quiet()
    };
    let app = App::serve_with(settings).await;
    let preflight = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, app.url("/v1/user/products"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization,content-type",
            )
            .send()
    };
    for origin in [
        "http://localhost:3000",
        "http://127.0.0.1:5173",
        "https://tutorial.example.com",
    ] {
        let response = preflight(origin).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{origin}");
        assert_eq!(response.headers()["access-control-allow-origin"], origin);
        let allowed = response.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap();
        assert!(allowed.contains("authorization"), "{allowed}");
    }
    for origin in ["https://evil.example", "http://192.0.2.7:8080", "null"] {
        let response = preflight(origin).await.unwrap();
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none(),
            "{origin}"
        );
    }
    let token = app
        .client
        .post(app.url("/oauth/token"))
        .header("Origin", "https://evil.example")
        .body(format!(
            "{CLIENT}&grant_type=password&username=sandbox%40example.com&password=sandbox"
        ))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert!(
        token.headers().get("access-control-allow-origin").is_none(),
        "another site's page cannot read the token"
    );
    let rebound = app
        .client
        .get(app.url("/v1/user"))
        .header("Host", "evil.example:8080")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), StatusCode::FORBIDDEN);
    let body: Value = rebound.json().await.unwrap();
    assert_eq!(body["error"], "forbidden");
}

/// Every answer is inert in a browser, whatever it holds.
#[tokio::test]
async fn answers_carry_a_sandboxing_policy_and_nosniff() {
    let app = App::serve().await;
    for path in ["/v1/user", "/_sim/webhooks", "/nowhere"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(
            response.headers()["content-security-policy"],
            "sandbox; default-src 'none'",
            "{path}"
        );
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    }
}

/// `expires_in=18446744073709551615` panicked the handler (an `Instant` overflow), and `GET
/// /oauth/token` answered 405 with an empty body.
#[tokio::test]
async fn sign_in_refuses_absurd_lifetimes_and_wrong_methods_in_particles_shape() {
    let app = App::serve().await;
    let grant = "grant_type=password&username=sandbox%40example.com&password=sandbox";
    for lifetime in ["18446744073709551615", "3153600001", "-1"] {
        let (status, body) = oauth(&app, &format!("{CLIENT}&{grant}&expires_in={lifetime}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{lifetime}: {body}");
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .starts_with("expires_in must be")
        );
    }
    let (status, _) = oauth(&app, &format!("{CLIENT}&{grant}&expires_in=3153600000")).await;
    assert_eq!(status, StatusCode::OK);
    check_error(
        get(&app, "/oauth/token", None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "GET is not emulated on this path by the sandbox",
    );
}

/// A 2 MB integration was accepted (a hundred of them took 425 MB, and listing them 810 MB and
/// 19 s); now a configuration is at most 64 KiB and a product holds at most 100 integrations.
#[tokio::test]
async fn integrations_are_bounded_in_size_and_number() {
    let learner = Learner::new().await;
    let path = format!("/v1/products/{}/integrations", learner.product);
    let webhook = |body: String| json!({"event": "e", "url": "http://127.0.0.1:9/", "body": body});
    check_error(
        learner
            .send("POST", &path, webhook("x".repeat(64 * 1024)))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Webhook settings are at most 65536 bytes",
    );
    for _ in 0..100 {
        learner.integrate(webhook("x".repeat(60 * 1024))).await;
    }
    let (status, error) = learner.send("POST", &path, webhook(String::new())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error["error_description"]
            .as_str()
            .unwrap()
            .contains("at most 100 integrations")
    );
    // The user's own list is a scope of its own.
    let (status, created) = learner
        .send("POST", "/v1/integrations", webhook(String::new()))
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
}

/// The delivery log kept 1,000 deliveries whatever their size: with megabyte requests and
/// answers, gigabytes. It is bounded by bytes too, the oldest going first.
#[test]
fn the_delivery_log_is_bounded_by_bytes_as_well_as_count() {
    use crate::cloud::{Cloud, DELIVERIES, DELIVERY_BYTES, Delivery};
    let delivery = |n: usize, bytes: usize| Delivery {
        integration_id: n.to_string(),
        event: "e".to_owned(),
        outcome: crate::cloud::Outcome::Response,
        method: "POST".to_owned(),
        url: "http://127.0.0.1:9/".to_owned(),
        headers: Vec::new(),
        body: Some("b".repeat(bytes / 2)),
        status: Some(200),
        response_body: Some("r".repeat(bytes / 2)),
        error: None,
        sent_at: 0,
        duration_ms: None,
        chunks: 0,
        attempt: 1,
        attempts: 1,
    };
    let mut cloud = Cloud::fixture();
    for n in 0..100 {
        cloud.record(delivery(n, 1024 * 1024));
    }
    let kept = cloud.deliveries.len();
    assert!(
        (15..=16).contains(&kept),
        "{kept} one-megabyte deliveries kept"
    );
    assert!(cloud.delivery_bytes <= DELIVERY_BYTES);
    assert_eq!(
        cloud.delivery_bytes,
        cloud.deliveries.iter().map(Delivery::size).sum::<usize>()
    );
    assert_eq!(
        cloud.deliveries.back().unwrap().integration_id,
        "99",
        "the newest stay"
    );
    for n in 0..2 * DELIVERIES {
        cloud.record(delivery(n, 10));
    }
    assert_eq!(cloud.deliveries.len(), DELIVERIES);
}

/// The delivery rates hold back a burst of publishes on one integration; the switch meant for
/// benchmarks lifts them (and only them), so a benchmark's back-to-back cycles each get their
/// `hook-response` instead of waiting for one the throttle skipped.
#[tokio::test]
async fn delivery_rates_hold_a_burst_back_unless_a_benchmark_lifts_them() {
    for rates in [true, false] {
        let settings = Settings {
            publishes_per_second: 0,
            delivery_rates: rates,
            ..quiet()
        };
        let learner = Learner::on(App::serve_with(settings).await).await;
        let mut target = Target::start(StatusCode::OK, "ok").await;
        learner.integrate(learner.demo_webhook(&target.url)).await;
        let mut events = learner
            .stream(&format!("/v1/products/{}/events", learner.product))
            .await;
        let mut answered = 0;
        for _ in 0..40 {
            learner.publish("WebhookDemo01", "{}").await;
            loop {
                let (name, _) = next_event(&mut events).await;
                // The demo webhook's topics start with the device: `<device>/hook-…`.
                if name.contains("/hook-response/") {
                    target.next().await;
                    answered += 1;
                    break;
                }
                if name.contains("/hook-error/") {
                    break;
                }
            }
        }
        if rates {
            assert!(answered < 40, "the integration's rate skipped some");
        } else {
            assert_eq!(answered, 40, "every cycle answered");
        }
    }
}
