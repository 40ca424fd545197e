//! Worlds: on a hosted sandbox every sign-in has a world of its own. Two learners run through
//! every endpoint family side by side (the same fixture ids in both, and ids guessed from the
//! other's world) and neither reads, changes, streams or triggers anything of the other's; the
//! bounds on worlds (per client, in all, bytes, idle time) answer in Particle's shape.

use std::time::Duration;

use axum::http::StatusCode;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{
    App, CLIENT, call, get, oauth, quiet, sign_in, sign_in_with_mfa,
    webhooks::{Learner, P2, Target, next_event},
};
use crate::{Settings, WorldLimits, WorldsMode};

const ARGON: &str = "e00fce680000000000000003";

fn worlds() -> Settings {
    Settings {
        worlds: WorldsMode::PerSignIn,
        ..quiet()
    }
}

async fn post_sim(learner: &Learner, path: &str, body: Value) -> (StatusCode, Value) {
    learner.send("POST", path, body).await
}

/// Everything a learner's world shows of itself, for comparing before and after the other acts.
async fn view(learner: &Learner) -> Value {
    let bearer = Some(learner.bearer.as_str());
    let app = &learner.app;
    let product = learner.product;
    json!({
        "devices": get(app, "/v1/devices", bearer).await.1,
        "products": get(app, "/v1/user/products", bearer).await.1,
        "product_devices": get(app, &format!("/v1/products/{product}/devices"), bearer).await.1,
        "integrations": get(app, &format!("/v1/products/{product}/integrations"), bearer).await.1,
        "user_integrations": get(app, "/v1/integrations", bearer).await.1,
        "webhooks": get(app, "/v1/webhooks", bearer).await.1,
        "deliveries": get(app, "/_sim/webhooks", bearer).await.1,
        "log": get(app, &format!("/_sim/devices/{P2}/log"), bearer).await.1,
    })
}

#[tokio::test]
async fn two_learners_share_nothing_but_the_fixture() {
    let app = App::serve_with(worlds()).await;
    let (a, b) = (
        Learner::on(app.clone()).await,
        Learner::on(app.clone()).await,
    );
    // The same fixture in both: same device ids, and the same first product id.
    assert_eq!(a.product, b.product);
    assert_ne!(a.bearer, b.bearer);
    let before = view(&b).await;

    // A does the whole tutorial and more: a webhook that fires, a user integration, a renamed
    // device, a device taken online, a compiled binary, events on its streams.
    let mut target = Target::start(StatusCode::OK, "{\"ok\":true}").await;
    let integration = a.integrate(a.demo_webhook(&target.url)).await;
    let hook = json!({"integration_type": "Webhook", "event": "mine", "url": target.url});
    let (status, user_hook) = a.send("POST", "/v1/integrations", hook).await;
    assert_eq!(status, StatusCode::OK, "{user_hook}");
    let mut a_stream = a.stream("/v1/devices/events").await;
    let mut b_stream = b.stream("/v1/devices/events").await;
    let (status, _) = a
        .send("PUT", &format!("/v1/devices/{P2}"), json!({"name": "a-p2"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = post_sim(&a, &format!("/_sim/devices/{P2}/button"), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(target.next().await.uri, "/hook");
    let request = a
        .app
        .client
        .put(a.app.url(&format!("/_sim/devices/{ARGON}/online")))
        .header("authorization", &a.bearer)
        .json(&json!({"online": true}));
    assert_eq!(
        request.send().await.expect("answer").status(),
        StatusCode::OK
    );
    // A's stream sees A's events; B's stream, opened before them, sees B's marker first and
    // nothing of A's (a shared bus would have carried A's, published earlier, before it).
    let (name, _) = next_event(&mut a_stream).await;
    assert!(
        name.starts_with("WebhookDemo01") || name.starts_with("spark/"),
        "{name}"
    );
    let path = format!("/v1/products/{}/events", b.product);
    let (status, _) = b
        .send("POST", &path, json!({"name": "b-marker", "data": "x"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let marker = b_stream.next().await.expect("B's stream stays open");
    assert_eq!(marker.event, "b-marker");

    // B publishes the event A's webhook listens to: A's webhook does not fire for it.
    b.publish("WebhookDemo01", "{\"t\":1}").await;
    let (_, deliveries) = get(&a.app, "/_sim/webhooks", Some(&a.bearer)).await;
    let sent = deliveries["webhooks"].as_array().expect("a list").len();
    assert!(sent >= 1, "{deliveries}");

    // Nothing of A's shows in B's world, with the same ids or A's own.
    let after = view(&b).await;
    let b_deliveries = after["deliveries"]["webhooks"].as_array().expect("a list");
    assert!(b_deliveries.is_empty(), "{after}");
    assert_eq!(after["devices"], before["devices"]);
    assert_eq!(after["products"], before["products"]);
    assert_eq!(after["product_devices"], before["product_devices"]);
    assert_eq!(after["user_integrations"], json!([]));
    assert_eq!(after["webhooks"], json!([]));
    assert_eq!(after["integrations"], json!([]));
    for guessed in [
        format!("/v1/products/{}/integrations/{integration}", b.product),
        format!(
            "/v1/integrations/{}",
            user_hook["id"].as_str().expect("an id")
        ),
    ] {
        let (status, body) = get(&b.app, &guessed, Some(&b.bearer)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{guessed}: {body}");
        let (status, _) = b.send("DELETE", &guessed, json!({})).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{guessed}");
    }
    // B's argon is still offline, B's P2 keeps its name.
    let (_, argon) = get(&b.app, &format!("/v1/devices/{ARGON}"), Some(&b.bearer)).await;
    assert_eq!(argon["online"], false);

    // B's reset resets B's world alone; B's sign-out ends B's world alone.
    let (status, _) = post_sim(&b, "/_sim/reset", json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, products) = get(&a.app, "/v1/user/products", Some(&a.bearer)).await;
    assert_eq!(products["products"].as_array().map(Vec::len), Some(1));
    let (status, _) = b
        .send("DELETE", "/v1/access_tokens/current", json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get(&a.app, "/v1/user", Some(&a.bearer)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get(&b.app, "/v1/user", Some(&b.bearer)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sim_controls_need_a_token_and_act_on_its_world_only() {
    let app = App::serve_with(worlds()).await;
    let (a, b) = (
        Learner::on(app.clone()).await,
        Learner::on(app.clone()).await,
    );
    let (status, body) = get(&app, "/_sim/webhooks", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let request = axum::http::Request::post(format!("/_sim/devices/{P2}/button"))
        .body(axum::body::Body::empty())
        .expect("request");
    assert_eq!(call(&app, request).await.0, StatusCode::UNAUTHORIZED);
    // A's button: a line in A's P2 log, none in B's.
    let (status, _) = post_sim(&a, &format!("/_sim/devices/{P2}/button"), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let log = |learner: &Learner| {
        let (app, bearer) = (learner.app.clone(), learner.bearer.clone());
        async move {
            get(&app, &format!("/_sim/devices/{P2}/log"), Some(&bearer))
                .await
                .1["lines"]
                .as_array()
                .map_or(0, Vec::len)
        }
    };
    assert_eq!(log(&a).await, 1);
    assert_eq!(log(&b).await, 0);
}

#[tokio::test]
async fn every_sign_in_makes_a_world_mfa_and_tokens_in_forms_included() {
    let app = App::serve_with(worlds()).await;
    let (first, mfa) = (sign_in(&app).await, sign_in_with_mfa(&app).await);
    let (status, user) = get(&app, "/v1/user", Some(&format!("Bearer {mfa}"))).await;
    assert_eq!(
        (status, &user["username"]),
        (StatusCode::OK, &json!("mfa@example.com"))
    );
    // A token in a form body finds its world too.
    let request = axum::http::Request::post("/v1/devices/events")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(format!(
            "name=hello&data=x&access_token={first}"
        )))
        .expect("request");
    let (status, body) = call(&app, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = get(&app, "/v1/user", Some("Bearer 0123456789abcdef")).await;
    assert_eq!(
        (status, &body["error"]),
        (StatusCode::UNAUTHORIZED, &json!("invalid_token"))
    );
}

fn limited(limits: WorldLimits) -> Settings {
    Settings {
        world_limits: limits,
        ..worlds()
    }
}

async fn try_sign_in(app: &App) -> (StatusCode, Value) {
    oauth(
        app,
        &format!("{CLIENT}&grant_type=password&username=sandbox%40example.com&password=sandbox"),
    )
    .await
}

#[tokio::test]
async fn a_client_holds_at_most_its_worlds_and_is_told_when_to_return() {
    let app = App::in_process_with(limited(WorldLimits {
        per_client: 2,
        ..WorldLimits::default()
    }));
    sign_in(&app).await;
    sign_in(&app).await;
    let form =
        format!("{CLIENT}&grant_type=password&username=sandbox%40example.com&password=sandbox");
    let request = axum::http::Request::post("/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(form))
        .expect("request");
    let response = app
        .router
        .clone()
        .oneshot(request)
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((1..=1800).contains(&wait), "{wait}");
}

#[tokio::test]
async fn the_sandbox_holds_at_most_its_worlds() {
    let app = App::in_process_with(limited(WorldLimits {
        worlds: 1,
        ..WorldLimits::default()
    }));
    sign_in(&app).await;
    let (status, body) = try_sign_in(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(
        body["error_description"],
        "The sandbox is full right now; try again in a minute"
    );
}

#[tokio::test]
async fn a_world_signed_out_of_frees_its_clients_place() {
    let app = App::in_process_with(limited(WorldLimits {
        per_client: 1,
        ..WorldLimits::default()
    }));
    let token = sign_in(&app).await;
    assert_eq!(try_sign_in(&app).await.0, StatusCode::TOO_MANY_REQUESTS);
    let request = axum::http::Request::delete("/v1/access_tokens/current")
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .expect("request");
    assert_eq!(call(&app, request).await.0, StatusCode::OK);
    sign_in(&app).await;
    assert_eq!(try_sign_in(&app).await.0, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(start_paused = true)]
async fn expired_worlds_make_room_for_their_client_and_the_sandbox() {
    for (limits, refusal) in [
        (
            WorldLimits {
                per_client: 1,
                ..WorldLimits::default()
            },
            StatusCode::TOO_MANY_REQUESTS,
        ),
        (
            WorldLimits {
                worlds: 1,
                ..WorldLimits::default()
            },
            StatusCode::SERVICE_UNAVAILABLE,
        ),
    ] {
        let app = App::in_process_with(limited(limits));
        let first = format!("Bearer {}", sign_in(&app).await);
        assert_eq!(try_sign_in(&app).await.0, refusal);
        // Expired, whether or not the sweeper has been by yet.
        tokio::time::advance(Duration::from_secs(30 * 60)).await;
        sign_in(&app).await;
        let (status, body) = get(&app, "/v1/user", Some(&first)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(app.sandbox.worlds().len(), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn an_idle_world_is_forgotten_and_its_token_says_so() {
    let app = App::in_process_with(worlds());
    let token = format!("Bearer {}", sign_in(&app).await);
    tokio::time::advance(Duration::from_secs(29 * 60)).await;
    // Used within the half hour: it lasts another.
    assert_eq!(get(&app, "/v1/user", Some(&token)).await.0, StatusCode::OK);
    tokio::time::advance(Duration::from_secs(29 * 60)).await;
    assert_eq!(get(&app, "/v1/user", Some(&token)).await.0, StatusCode::OK);
    tokio::time::advance(Duration::from_secs(30 * 60)).await;
    let (status, body) = get(&app, "/v1/user", Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body["error_description"],
        "This sandbox expired after 30 minutes without use; sign in again to start a new one"
    );
}

#[tokio::test(start_paused = true)]
async fn an_idle_world_is_swept_away_even_if_nobody_asks() {
    let app = App::in_process_with(Settings {
        sim_publish_interval: Some(Duration::from_secs(60)),
        ..worlds()
    });
    sign_in(&app).await;
    let world = std::sync::Arc::downgrade(&app.sandbox.worlds()[0]);
    tokio::time::sleep(Duration::from_secs(31 * 60)).await;
    // Forgotten and dropped: its devices publish no more, so its webhooks stop.
    assert!(app.sandbox.worlds().is_empty());
    assert!(world.upgrade().is_none());
}

#[tokio::test]
async fn a_worlds_logs_are_bounded_in_bytes() {
    let app = App::serve_with(limited(WorldLimits {
        log_bytes: 4 * 1024,
        delivery_bytes: 8 * 1024,
        ..WorldLimits::default()
    }))
    .await;
    let learner = Learner::on(app.clone()).await;
    let mut target = Target::start(StatusCode::OK, &"y".repeat(1000)).await;
    learner
        .integrate(json!({"integration_type": "Webhook", "event": "big", "url": target.url}))
        .await;
    let data = "x".repeat(900);
    for _ in 0..20 {
        let (status, body) = post_sim(
            &learner,
            &format!("/_sim/devices/{P2}/publish"),
            json!({"name": "big", "data": data}),
        )
        .await;
        // The publish allowance refills at one a second after ten; wait out a refusal.
        if status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
        assert_eq!(status, StatusCode::OK, "{body}");
        target.next().await;
    }
    let (_, log) = get(
        &app,
        &format!("/_sim/devices/{P2}/log"),
        Some(&learner.bearer),
    )
    .await;
    let log_bytes: usize = log["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| l.as_str().map_or(0, str::len))
        .sum();
    assert!((1..=4 * 1024).contains(&log_bytes), "{log_bytes}");
    let shared = app.sandbox.worlds()[0].clone();
    let cloud = crate::lock(&shared);
    assert!(cloud.delivery_bytes <= 8 * 1024, "{}", cloud.delivery_bytes);
    assert!(cloud.deliveries.len() >= 2);
}

#[tokio::test]
async fn all_worlds_together_are_bounded_in_bytes() {
    let app = App::serve_with(limited(WorldLimits {
        bytes: 370 * 1024,
        delivery_bytes: 8 * 1024,
        log_bytes: 4 * 1024,
        ..WorldLimits::default()
    }))
    .await;
    let learner = Learner::on(app.clone()).await;
    // Integrations of 60 KB each: the seventh would take every world past 370 KB.
    let big = |n: usize| {
        json!({"integration_type": "Webhook", "event": format!("e{n}"), "url": "http://127.0.0.1:9/",
               "json": format!("{{\"pad\":\"{}\"}}", "p".repeat(60_000))})
    };
    for n in 0..6 {
        let path = format!("/v1/products/{}/integrations", learner.product);
        let (status, body) = learner.send("POST", &path, big(n)).await;
        assert_eq!(status, StatusCode::OK, "{n}: {body}");
    }
    let path = format!("/v1/products/{}/integrations", learner.product);
    let (status, body) = learner.send("POST", &path, big(6)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    // And no new world while they lack room for one more world's logs.
    let (status, _) = try_sign_in(&app).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}
