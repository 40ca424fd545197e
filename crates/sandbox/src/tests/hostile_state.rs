//! The sandbox's state against hostile clients: floods of products, integrations, tokens, MFA
//! tokens and binaries (H3), guessing passwords and one-time codes (L1), refresh tokens used as
//! access tokens (L2), oversized bodies (L3) and origins that only start like loopback ones.

use std::{net::SocketAddr, time::Duration};

use axum::{
    body::Body,
    http::{Method, Request, StatusCode, header},
};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use webhook_demo_http::PeerAddr;

use super::{App, CLIENT, call, check_error, get, oauth, quiet, send_json, sign_in};
use crate::cloud::Cloud;

const PASSWORD_GRANT: &str = "grant_type=password&username=sandbox%40example.com";

/// What the cloud holds, counted: objects of each kind and the bytes of their variable parts.
#[derive(Debug, PartialEq, Eq)]
struct Held {
    products: usize,
    integrations: usize,
    integration_bytes: usize,
    tokens: usize,
    mfa_tokens: usize,
    binaries: usize,
}

fn held(app: &App) -> Held {
    let shared = app.sandbox.shared();
    let cloud: &Cloud = &crate::lock(&shared);
    Held {
        products: cloud.products.len(),
        integrations: cloud.integrations.len(),
        integration_bytes: cloud
            .integrations
            .iter()
            .map(|i| Value::Object(i.raw.clone()).to_string().len())
            .sum(),
        tokens: cloud.tokens.len(),
        mfa_tokens: cloud.mfa.len(),
        binaries: cloud.binaries.len(),
    }
}

/// The probe's flood: products as fast as they are created, each filled with integrations of
/// 62 KB. Creates until refused (or far past any sane cap) and returns how many of each it made.
async fn flood(app: &App, bearer: &str) -> (usize, usize, Value, Value) {
    let mut products = Vec::new();
    let mut refusal = Value::Null;
    for n in 0..60 {
        let body = json!({"product": {"name": format!("flood {n}"), "platform_id": 32}});
        let (status, created) = send_json(app, "POST", "/v1/user/products", bearer, body).await;
        if status != StatusCode::OK {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{created}");
            refusal = created;
            break;
        }
        products.push(created["product"]["id"].as_u64().expect("an id"));
    }
    let webhook = json!({"event": "e", "url": "http://127.0.0.1:9/", "body": "x".repeat(62_000)});
    let (mut integrations, mut integration_refusal) = (0, Value::Null);
    'products: for product in &products {
        for _ in 0..100 {
            let path = format!("/v1/products/{product}/integrations");
            let (status, created) = send_json(app, "POST", &path, bearer, webhook.clone()).await;
            if status != StatusCode::OK {
                integration_refusal = created;
                break 'products;
            }
            integrations += 1;
        }
    }
    (products.len(), integrations, refusal, integration_refusal)
}

/// H3: 47 products and 4,632 integrations of 62 KB took the sandbox from 20 to 589 MB. Now an
/// account owns at most 20 products and 8 MiB of integration settings, each refusal in Particle's
/// shape, and what the cloud holds stays under those bounds.
#[tokio::test]
async fn h3_a_flood_of_products_and_integrations_stops_at_its_caps() {
    let app = App::serve().await;
    let bearer = format!("Bearer {}", sign_in(&app).await);
    let (products, integrations, refusal, integration_refusal) = flood(&app, &bearer).await;
    assert_eq!(products, 20, "{refusal}");
    assert_eq!(refusal["error"], "invalid_request");
    assert_eq!(
        refusal["error_description"],
        "An account owns at most 20 products; delete one first"
    );
    assert_eq!(integration_refusal["error"], "invalid_request");
    assert!(
        integration_refusal["error_description"]
            .as_str()
            .unwrap()
            .contains("at most 8192 KiB of integration settings"),
        "{integration_refusal}"
    );
    let held = held(&app);
    assert_eq!(held.integrations, integrations);
    assert!(held.integration_bytes <= 8 * 1024 * 1024, "{held:?}");
}

/// H3: after `_sim/reset` the cloud holds what a fresh one does, and filling it again to its caps
/// holds no more than the first time: nothing accumulates across fill-and-reset cycles.
#[tokio::test]
async fn h3_fill_and_reset_cycles_hold_the_same_each_time() {
    let app = App::serve().await;
    let fresh = held(&app);
    let mut filled = Vec::new();
    for _ in 0..3 {
        let bearer = format!("Bearer {}", sign_in(&app).await);
        flood(&app, &bearer).await;
        let now = held(&app);
        assert!(now.integration_bytes <= 8 * 1024 * 1024, "{now:?}");
        assert!(now.products <= 20, "{now:?}");
        filled.push(now);
        let reset = app
            .client
            .post(app.url("/_sim/reset"))
            .send()
            .await
            .unwrap();
        assert_eq!(reset.status(), StatusCode::OK);
        assert_eq!(held(&app), fresh);
    }
    assert!(
        filled.windows(2).all(|pair| pair[0] == pair[1]),
        "{filled:?}"
    );
}

/// H3: access tokens, MFA tokens and binaries were never pruned: each sign-in or compile held
/// more. Now an account holds at most 100 access tokens (the oldest signed out first), 10 pending
/// second factors and 10 binaries, and the newest of each still works.
#[tokio::test]
async fn h3_tokens_mfa_tokens_and_binaries_are_capped_per_account() {
    let app = App::serve().await;
    let first = sign_in(&app).await;
    let mut last = String::new();
    for _ in 0..150 {
        last = sign_in(&app).await;
    }
    assert_eq!(held(&app).tokens, 100);
    assert_eq!(
        get(&app, "/v1/user", Some(&format!("Bearer {first}")))
            .await
            .0,
        StatusCode::UNAUTHORIZED,
        "the oldest token was signed out"
    );
    let bearer = format!("Bearer {last}");
    assert_eq!(get(&app, "/v1/user", Some(&bearer)).await.0, StatusCode::OK);
    let mfa = format!("{CLIENT}&grant_type=password&username=mfa%40example.com&password=sandbox");
    let mut mfa_token = String::new();
    for _ in 0..30 {
        let (status, body) = oauth(&app, &mfa).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        mfa_token = body["mfa_token"].as_str().unwrap().to_owned();
    }
    assert_eq!(held(&app).mfa_tokens, 10);
    let second =
        format!("{CLIENT}&grant_type=urn%3Acustom%3Amfa-otp&mfa_token={mfa_token}&otp=123456");
    assert_eq!(oauth(&app, &second).await.0, StatusCode::OK);
    let mut binary = String::new();
    for _ in 0..30 {
        let source = reqwest::multipart::Part::text("void setup() {}\nvoid loop() {}\n")
            .file_name("app.cpp");
        let form = reqwest::multipart::Form::new()
            .part("file", source)
            .text("platform_id", "32");
        let response = app
            .client
            .post(app.url("/v1/binaries"))
            .header(header::AUTHORIZATION, &bearer)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let compiled: Value = response.json().await.unwrap();
        binary = compiled["binary_url"].as_str().unwrap().to_owned();
    }
    assert_eq!(held(&app).binaries, 10);
    let download = app
        .client
        .get(app.url(&binary))
        .header(header::AUTHORIZATION, &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), StatusCode::OK);
}

/// H3: expired access tokens, MFA tokens and binaries were kept for ever. Each is pruned once
/// it has expired (tokens at their lifetime, second factors after 5 minutes, binaries after the
/// 24 hours their `expires_at` promises).
#[tokio::test(start_paused = true)]
async fn h3_expired_tokens_mfa_tokens_and_binaries_are_pruned() {
    let app = App::in_process_with(quiet());
    for _ in 0..5 {
        oauth(
            &app,
            &format!("{CLIENT}&{PASSWORD_GRANT}&password=sandbox&expires_in=60"),
        )
        .await;
        let mfa =
            format!("{CLIENT}&grant_type=password&username=mfa%40example.com&password=sandbox");
        oauth(&app, &mfa).await;
    }
    let token = sign_in(&app).await;
    let form = "--X\r\nContent-Disposition: form-data; name=\"file\"; filename=\"app.cpp\"\r\n\r\n\
                void setup() {}\nvoid loop() {}\n\r\n--X\r\n\
                Content-Disposition: form-data; name=\"platform_id\"\r\n\r\n32\r\n--X--\r\n";
    let compile = Request::post("/v1/binaries")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=X")
        .body(Body::from(form))
        .unwrap();
    let (status, compiled) = call(&app, compile).await;
    assert_eq!(status, StatusCode::OK, "{compiled}");
    assert_eq!(
        (
            held(&app).tokens,
            held(&app).mfa_tokens,
            held(&app).binaries
        ),
        (6, 5, 1)
    );
    tokio::time::advance(Duration::from_secs(25 * 3600)).await;
    // Any sign-in prunes what has expired.
    sign_in(&app).await;
    assert_eq!(
        (
            held(&app).tokens,
            held(&app).mfa_tokens,
            held(&app).binaries
        ),
        (2, 0, 0)
    );
    assert_eq!(
        get(&app, "/v1/user", Some(&format!("Bearer {token}")))
            .await
            .0,
        StatusCode::OK
    );
}

/// A sign-in request from `peer` (none: a client whose address the server does not know).
async fn sign_in_from(
    app: &App,
    peer: Option<&str>,
    form: &str,
) -> (StatusCode, Option<u64>, Value) {
    let mut request = Request::post("/oauth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap();
    if let Some(peer) = peer {
        let address: SocketAddr = peer.parse().unwrap();
        request.extensions_mut().insert(PeerAddr(address));
    }
    let response = app.router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .map(|value| value.to_str().unwrap().parse().unwrap());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, retry_after, serde_json::from_slice(&body).unwrap())
}

/// L1: 1,101 password attempts a second were answered. Now ten failures from one client address
/// and twenty on one account are the most a burst may try; beyond them every attempt, even with
/// the right password, is answered 429 in Particle's shape with `Retry-After`, until it passes.
#[tokio::test(start_paused = true)]
async fn l1_password_guessing_is_limited_per_client_and_per_account() {
    let app = App::in_process_with(quiet());
    let wrong = format!("{CLIENT}&{PASSWORD_GRANT}&password=guess");
    let right = format!("{CLIENT}&{PASSWORD_GRANT}&password=sandbox");
    for _ in 0..10 {
        let (status, _, body) = sign_in_from(&app, Some("127.0.0.2:5000"), &wrong).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
    let (status, retry_after, body) = sign_in_from(&app, Some("127.0.0.2:5001"), &right).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"], "rate_limited");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("Too many failed sign-in attempts from this address"),
        "{body}"
    );
    assert!(retry_after.is_some_and(|seconds| seconds > 0));
    // Another client is not held back by the first one's failures...
    let (status, _, body) = sign_in_from(&app, Some("127.0.0.3:5000"), &right).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for _ in 0..10 {
        sign_in_from(&app, Some("127.0.0.3:5000"), &wrong).await;
    }
    // The account has now seen twenty failures. A client that never failed still signs in (the
    // fixture's password is public: a guesser must not keep learners out)...
    let (status, _, body) = sign_in_from(&app, Some("127.0.0.4:5000"), &right).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // ...but one that fails once is then held back by the account's allowance, right or wrong.
    let (status, _, body) = sign_in_from(&app, Some("127.0.0.4:5000"), &wrong).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, retry_after, body) = sign_in_from(&app, Some("127.0.0.4:5000"), &right).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("Too many failed sign-in attempts on this account"),
        "{body}"
    );
    tokio::time::advance(Duration::from_secs(retry_after.unwrap())).await;
    let (status, _, body) = sign_in_from(&app, Some("127.0.0.4:5000"), &right).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Requests without an address count as one client.
    for _ in 0..10 {
        sign_in_from(
            &app,
            None,
            &format!("{CLIENT}&grant_type=password&username=nobody&password=x"),
        )
        .await;
    }
    let (status, _, _) = sign_in_from(&app, None, &right).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

/// L1: 3,000 wrong one-time codes on one MFA token, then the right one was still accepted. Now
/// the fifth wrong code ends the MFA token: even the right code is refused, and the learner signs
/// in again.
#[tokio::test]
async fn l1_an_mfa_token_dies_after_five_wrong_codes() {
    let app = App::serve().await;
    let mfa = format!("{CLIENT}&grant_type=password&username=mfa%40example.com&password=sandbox");
    let (_, body) = oauth(&app, &mfa).await;
    let mfa_token = body["mfa_token"].as_str().unwrap().to_owned();
    let code = |otp: &str| {
        format!("{CLIENT}&grant_type=urn%3Acustom%3Amfa-otp&mfa_token={mfa_token}&otp={otp}")
    };
    for _ in 0..4 {
        check_error(
            oauth(&app, &code("000000")).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "The one-time password is incorrect",
        );
    }
    check_error(
        oauth(&app, &code("000000")).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "The one-time password is incorrect, and that was the last try for this MFA token; sign in again",
    );
    check_error(
        oauth(&app, &code("123456")).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "The MFA token is invalid or has expired; sign in again",
    );
    let (_, body) = oauth(&app, &mfa).await;
    let fresh = body["mfa_token"].as_str().unwrap();
    let (status, body) = oauth(
        &app,
        &format!("{CLIENT}&grant_type=urn%3Acustom%3Amfa-otp&mfa_token={fresh}&otp=123456"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// L2: a refresh token opened the API like an access token, before and after sign-out. It is no
/// bearer token at all now.
#[tokio::test]
async fn l2_a_refresh_token_is_not_a_bearer_token() {
    let app = App::serve().await;
    let (_, body) = oauth(&app, &format!("{CLIENT}&{PASSWORD_GRANT}&password=sandbox")).await;
    let access = format!("Bearer {}", body["access_token"].as_str().unwrap());
    let refresh = format!("Bearer {}", body["refresh_token"].as_str().unwrap());
    let invalid = "The access token provided is invalid.";
    check_error(
        get(&app, "/v1/user", Some(&refresh)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        invalid,
    );
    let sign_out = Request::delete("/v1/access_tokens/current")
        .header(header::AUTHORIZATION, &access)
        .body(Body::empty())
        .unwrap();
    assert_eq!(call(&app, sign_out).await.0, StatusCode::OK);
    for bearer in [&access, &refresh] {
        check_error(
            get(&app, "/v1/user", Some(bearer)).await,
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            invalid,
        );
    }
}

/// L3: a body over the 2 MiB every route buffers was answered `413 text/plain` ("Failed to
/// buffer the request body..."). Every route now answers it in Particle's shape.
#[tokio::test]
async fn l3_oversized_bodies_are_refused_in_particles_shape_on_every_route() {
    let app = App::serve().await;
    let bearer = format!("Bearer {}", sign_in(&app).await);
    let body = json!({"product": {"name": "big", "platform_id": 32}});
    let (_, created) = send_json(&app, "POST", "/v1/user/products", &bearer, body).await;
    let product = created["product"]["id"].as_u64().unwrap();
    let device = "e00fce680000000000000001";
    let routes = [
        (Method::POST, "/oauth/token".to_owned()),
        (Method::DELETE, "/v1/access_tokens/current".to_owned()),
        (Method::POST, "/v1/user/products".to_owned()),
        (Method::POST, format!("/v1/products/{product}/integrations")),
        (Method::POST, "/v1/integrations".to_owned()),
        (Method::POST, "/v1/webhooks".to_owned()),
        (Method::POST, format!("/v1/products/{product}/devices")),
        (Method::POST, format!("/v1/products/{product}/events")),
        (Method::POST, "/v1/devices/events".to_owned()),
        (Method::PUT, format!("/v1/devices/{device}")),
        (Method::POST, format!("/v1/devices/{device}/digitalread")),
        (Method::POST, "/v1/binaries".to_owned()),
        (Method::POST, format!("/_sim/devices/{device}/publish")),
        (Method::PUT, format!("/_sim/devices/{device}/online")),
    ];
    for (method, path) in routes {
        let response = app
            .client
            .request(method.clone(), app.url(&path))
            .header(header::AUTHORIZATION, &bearer)
            .header(header::CONTENT_TYPE, "application/json")
            .body(vec![b' '; 2 * 1024 * 1024 + 1])
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "{method} {path}"
        );
        let body: Value = response
            .json()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON: {e}"));
        assert_eq!(
            body,
            json!({"error": "request_too_large",
                "error_description": "The request body is larger than the sandbox accepts (2 MiB)"}),
            "{method} {path}"
        );
    }
}

/// Info: the CORS check matched `http://127.0.0.1:18500.evil.example` as a loopback origin (its
/// text up to the last `:` is `127.0.0.1`). Origins are now parsed: scheme, host and port.
#[tokio::test]
async fn cors_origins_are_parsed_not_prefix_matched() {
    let app = App::serve().await;
    for (origin, allowed) in [
        ("http://127.0.0.1:18500", true),
        ("http://[::1]:5173", true),
        ("http://localhost", true),
        ("http://127.0.0.1:18500.evil.example", false),
        ("http://[::1]:80.evil.example", false),
        ("http://localhost:3000@evil.example", false),
        ("http://127.0.0.1:18500/path", false),
        ("ftp://127.0.0.1:21", false),
    ] {
        let response = app
            .client
            .request(Method::OPTIONS, app.url("/v1/user"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "GET")
            .send()
            .await
            .unwrap();
        assert_eq!(
            response
                .headers()
                .contains_key("access-control-allow-origin"),
            allowed,
            "{origin}"
        );
    }
}
