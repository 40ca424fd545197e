//! Sandbox tests: every endpoint's success shape and its errors, in Particle's
//! `{"error", "error_description"}` form. They run against a sandbox on a real socket, except the
//! few that move a paused clock, which drive the `Router` in process. The webhook engine, events
//! and the simulation are tested in `tests/webhooks.rs`.

mod cli;
mod flash;
mod hostile;
mod hostile_engine;
mod hostile_state;
mod retries;
mod streams;
mod webhooks;
mod worlds;

use std::time::Duration;

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::{Sandbox, Settings};

const CLIENT: &str = "client_id=particle&client_secret=particle";

/// A sandbox under test: its router, and the base URL it listens on when it is on a socket.
#[derive(Clone)]
struct App {
    sandbox: Sandbox,
    router: Router,
    base: Option<String>,
    client: reqwest::Client,
}

impl App {
    /// A sandbox with these settings, served on a fresh loopback port until the test ends.
    async fn serve_with(settings: Settings) -> App {
        let mut app = App::in_process_with(settings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        app.base = Some(format!(
            "http://{}",
            listener.local_addr().expect("address")
        ));
        let router = app.router.clone();
        tokio::spawn(async move { axum::serve(listener, router).await });
        app
    }

    /// A sandbox whose devices publish only when told to.
    async fn serve() -> App {
        App::serve_with(quiet()).await
    }

    /// Driven in process, for tests that move a paused clock.
    fn in_process_with(settings: Settings) -> App {
        let sandbox = Sandbox::new(settings);
        App {
            router: sandbox.router(),
            sandbox,
            base: None,
            client: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base.as_deref().expect("a served sandbox"))
    }
}

/// Settings for tests: no periodic publishing.
fn quiet() -> Settings {
    Settings {
        sim_publish_interval: None,
        flash_time: Duration::from_millis(10),
        ..Settings::default()
    }
}

async fn call(app: &App, request: Request<Body>) -> (StatusCode, Value) {
    let (status, body) = match &app.base {
        None => {
            let response = app
                .router
                .clone()
                .oneshot(request)
                .await
                .expect("infallible");
            let status = response.status();
            (
                status,
                response
                    .into_body()
                    .collect()
                    .await
                    .expect("body")
                    .to_bytes(),
            )
        }
        Some(base) => {
            let (parts, body) = request.into_parts();
            let body = body.collect().await.expect("body").to_bytes();
            let response = app
                .client
                .request(parts.method, format!("{base}{}", parts.uri))
                .headers(parts.headers)
                .body(body)
                .send()
                .await
                .expect("the sandbox answers");
            let status = response.status();
            (status, response.bytes().await.expect("body"))
        }
    };
    if body.is_empty() {
        return (status, Value::Null);
    }
    (
        status,
        serde_json::from_slice(&body).unwrap_or_else(|_| panic!("JSON body: {body:?}")),
    )
}

async fn oauth(app: &App, form: &str) -> (StatusCode, Value) {
    let request = Request::post("/oauth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .expect("request");
    call(app, request).await
}

async fn sign_in(app: &App) -> String {
    let (status, body) = oauth(
        app,
        &format!("{CLIENT}&grant_type=password&username=sandbox%40example.com&password=sandbox"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().expect("a token").to_owned()
}

/// The second fixture user's token, through both MFA steps.
async fn sign_in_with_mfa(app: &App) -> String {
    let form = format!("{CLIENT}&grant_type=password&username=mfa%40example.com&password=sandbox");
    let (_, first) = oauth(app, &form).await;
    let mfa_token = first["mfa_token"].as_str().expect("an mfa_token");
    let form =
        format!("{CLIENT}&grant_type=urn%3Acustom%3Amfa-otp&mfa_token={mfa_token}&otp=123456");
    let (status, second) = oauth(app, &form).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    second["access_token"].as_str().expect("a token").to_owned()
}

async fn get(app: &App, uri: &str, authorization: Option<&str>) -> (StatusCode, Value) {
    let mut request = Request::get(uri);
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    call(app, request.body(Body::empty()).expect("request")).await
}

fn check_error(actual: (StatusCode, Value), status: StatusCode, error: &str, description: &str) {
    assert_eq!(actual.0, status, "{}", actual.1);
    assert_eq!(actual.1["error"], error, "{}", actual.1);
    assert_eq!(actual.1["error_description"], description, "{}", actual.1);
}

#[tokio::test]
async fn password_grant_gives_a_token_in_particles_shape() {
    let app = App::serve().await;
    let (status, body) = oauth(
        &app,
        &format!("{CLIENT}&grant_type=password&username=sandbox%40example.com&password=sandbox"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (body["token_type"].as_str(), body["expires_in"].as_u64()),
        (Some("bearer"), Some(7_776_000))
    );
    assert_eq!(body["access_token"].as_str().map(str::len), Some(40));
    assert!(body["refresh_token"].is_string());

    // The client may also authenticate with HTTP Basic (particle-api-js's client id this time).
    let request = Request::post("/oauth/token")
        .header(
            header::AUTHORIZATION,
            "Basic cGFydGljbGUtYXBpOnBhcnRpY2xlLWFwaQ==",
        )
        .body(Body::from(
            "grant_type=password&username=sandbox%40example.com&password=sandbox",
        ))
        .expect("request");
    assert_eq!(call(&app, request).await.0, StatusCode::OK);
}

#[tokio::test]
async fn oauth_errors() {
    let app = App::serve().await;
    let grant = "grant_type=password&username=sandbox%40example.com";
    check_error(
        oauth(&app, &format!("{CLIENT}&{grant}&password=wrong")).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "User credentials are invalid",
    );
    check_error(
        oauth(
            &app,
            &format!("{CLIENT}&grant_type=password&username=nobody%40example.com&password=sandbox"),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "User credentials are invalid",
    );
    check_error(
        oauth(
            &app,
            &format!("client_id=particle&client_secret=nope&{grant}&password=sandbox"),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "Client authentication failed",
    );
    check_error(
        oauth(&app, &format!("{CLIENT}&{grant}")).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "The password parameter is required",
    );
    check_error(
        oauth(&app, &format!("{CLIENT}&grant_type=magic")).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Unsupported grant_type \"magic\"",
    );
    let request = Request::post("/oauth/token")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"grant_type\":"))
        .expect("request");
    let (status, body) = call(&app, request).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.starts_with("Malformed JSON body"))
    );
}

#[tokio::test]
async fn mfa_flow() {
    let app = App::serve().await;
    let (status, body) = oauth(
        &app,
        &format!("{CLIENT}&grant_type=password&username=mfa%40example.com&password=sandbox"),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("mfa_required"))
    );
    assert_eq!(
        body["error_description"],
        "Multi-factor authentication required"
    );
    let mfa_token = body["mfa_token"].as_str().expect("an mfa_token").to_owned();
    let second = |otp: &str| {
        format!("{CLIENT}&grant_type=urn%3Acustom%3Amfa-otp&mfa_token={mfa_token}&otp={otp}")
    };
    check_error(
        oauth(&app, &second("000000")).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "The one-time password is incorrect",
    );
    let (status, body) = oauth(&app, &second("123456")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().expect("token");
    let (_, user) = get(&app, "/v1/user", Some(&format!("Bearer {token}"))).await;
    assert_eq!(
        (user["username"].as_str(), &user["mfa"]["enabled"]),
        (Some("mfa@example.com"), &json!(true))
    );
    check_error(
        oauth(&app, &second("123456")).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
        "The MFA token is invalid or has expired; sign in again",
    );
}

#[tokio::test]
async fn tokens_are_accepted_in_every_place_particle_accepts_them() {
    let app = App::serve().await;
    let token = sign_in(&app).await;
    for (uri, authorization) in [
        ("/v1/user".to_owned(), Some(format!("Bearer {token}"))),
        (
            "/v1/user".to_owned(),
            Some(format!("Authorization: Bearer {token}")),
        ),
        (format!("/v1/user?access_token={token}"), None),
    ] {
        let (status, user) = get(&app, &uri, authorization.as_deref()).await;
        assert_eq!(
            (status, user["username"].as_str()),
            (StatusCode::OK, Some("sandbox@example.com")),
            "{uri}"
        );
    }
    let invalid = "The access token provided is invalid.";
    check_error(
        get(&app, "/v1/user", None).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        invalid,
    );
    check_error(
        get(&app, "/v1/user", Some("Bearer 0000")).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        invalid,
    );
}

#[tokio::test]
async fn sign_out_revokes_the_token() {
    let app = App::serve().await;
    let token = sign_in(&app).await;
    let request = Request::delete("/v1/access_tokens/current")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("access_token={token}")))
        .expect("request");
    assert_eq!(
        call(&app, request).await,
        (StatusCode::OK, json!({"ok": true}))
    );
    let (status, _) = get(&app, "/v1/user", Some(&format!("Bearer {token}"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(start_paused = true)]
async fn tokens_expire() {
    let app = App::in_process_with(quiet());
    let (_, body) = oauth(&app, &format!("{CLIENT}&grant_type=password&username=sandbox%40example.com&password=sandbox&expires_in=60")).await;
    assert_eq!(body["expires_in"], 60);
    let bearer = format!("Bearer {}", body["access_token"].as_str().expect("token"));
    assert_eq!(get(&app, "/v1/user", Some(&bearer)).await.0, StatusCode::OK);
    tokio::time::advance(Duration::from_secs(61)).await;
    check_error(
        get(&app, "/v1/user", Some(&bearer)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "The access token provided is invalid.",
    );
}

#[tokio::test]
async fn devices_are_the_fixture() {
    let app = App::serve().await;
    let bearer = format!("Bearer {}", sign_in(&app).await);
    let (status, devices) = get(&app, "/v1/devices", Some(&bearer)).await;
    assert_eq!(status, StatusCode::OK);
    let summary: Vec<(String, u64, bool)> = devices
        .as_array()
        .expect("an array")
        .iter()
        .map(|d| {
            let id = d["id"].as_str().expect("id");
            assert!(
                id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()),
                "{id}"
            );
            assert_eq!(d["product_id"], d["platform_id"], "not in a product yet");
            (
                d["name"].as_str().expect("name").to_owned(),
                d["platform_id"].as_u64().expect("platform"),
                d["online"] == true,
            )
        })
        .collect();
    let expected = [
        ("sandbox-p2", 32, true),
        ("sandbox-boron", 13, true),
        ("sandbox-argon", 12, false),
    ];
    assert_eq!(
        summary,
        expected.map(|(name, platform, online)| (name.to_owned(), platform, online))
    );

    let id = devices[1]["id"].as_str().expect("id");
    let (status, device) = get(&app, &format!("/v1/devices/{id}"), Some(&bearer)).await;
    assert_eq!(
        (status, device["name"].as_str()),
        (StatusCode::OK, Some("sandbox-boron"))
    );
    let (_, by_name) = get(&app, "/v1/devices/sandbox-boron", Some(&bearer)).await;
    assert_eq!(by_name["id"], id);
    check_error(
        get(&app, "/v1/devices/000000000000000000000000", Some(&bearer)).await,
        StatusCode::NOT_FOUND,
        "not_found",
        "Device 000000000000000000000000 was not found",
    );
}

#[tokio::test]
async fn another_users_device_is_forbidden() {
    let app = App::serve().await;
    let owner = format!("Bearer {}", sign_in(&app).await);
    let (_, devices) = get(&app, "/v1/devices", Some(&owner)).await;
    let id = devices[0]["id"].as_str().expect("id").to_owned();
    let other = format!("Bearer {}", sign_in_with_mfa(&app).await);
    let (_, theirs) = get(&app, "/v1/devices", Some(&other)).await;
    assert_eq!(theirs, json!([]));
    check_error(
        get(&app, &format!("/v1/devices/{id}"), Some(&other)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        &format!("Device {id} belongs to another user"),
    );
}

#[tokio::test]
async fn unknown_endpoints_answer_in_particles_shape() {
    let app = App::serve().await;
    check_error(
        get(&app, "/v1/nothing-here", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
        "This endpoint is not emulated by the sandbox",
    );
}

async fn send_json(
    app: &App,
    method: &str,
    uri: &str,
    bearer: &str,
    body: Value,
) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, bearer)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    call(app, request).await
}

#[tokio::test]
async fn products_are_created_listed_fetched_and_deleted() {
    let app = App::serve().await;
    let bearer = format!("Bearer {}", sign_in(&app).await);
    assert_eq!(
        get(&app, "/v1/user/products", Some(&bearer)).await,
        (StatusCode::OK, json!({"products": []}))
    );

    let body = json!({"product": {"name": "webhook-demo P2 7f3a", "platform_id": 32}});
    let (status, created) = send_json(&app, "POST", "/v1/user/products/", &bearer, body).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["ok"], true);
    let product = &created["product"];
    let id = product["id"].as_u64().expect("numeric id");
    assert!(id > 100, "product ids never collide with platform ids");
    assert_eq!(product["slug"], format!("webhook-demo-p2-7f3a-v{id}"));
    assert_eq!(
        (
            product["platform_id"].as_u64(),
            product["device_count"].as_u64()
        ),
        (Some(32), Some(0))
    );

    let (_, listed) = get(&app, "/v1/user/products", Some(&bearer)).await;
    assert_eq!(listed["products"][0]["id"], id);
    let (status, fetched) = get(&app, &format!("/v1/products/{id}"), Some(&bearer)).await;
    assert_eq!(
        (status, &fetched["product"]["name"]),
        (StatusCode::OK, &json!("webhook-demo P2 7f3a"))
    );

    let (status, deleted) = send_json(
        &app,
        "DELETE",
        &format!("/v1/products/{id}"),
        &bearer,
        json!({}),
    )
    .await;
    assert_eq!((status, deleted), (StatusCode::OK, json!({"ok": true})));
    check_error(
        get(&app, &format!("/v1/products/{id}"), Some(&bearer)).await,
        StatusCode::NOT_FOUND,
        "not_found",
        &format!("Product {id} was not found"),
    );
}

#[tokio::test]
async fn product_creation_errors() {
    let app = App::serve().await;
    let bearer = format!("Bearer {}", sign_in(&app).await);
    let create = |body: Value| send_json(&app, "POST", "/v1/user/products", &bearer, body);
    let blank = create(json!({"product": {"name": "  ", "platform_id": 12}})).await;
    check_error(
        blank,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Product name can't be blank",
    );
    let retired = create(json!({"product": {"name": "x", "platform_id": 14}})).await;
    check_error(
        retired,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Products cannot be created for platform Xenon",
    );
    let (status, malformed) = create(json!({"name": "flat"})).await;
    assert_eq!(
        (status, malformed["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    assert_eq!(
        create(json!({"product": {"name": "Mine", "platform_id": 12}}))
            .await
            .0,
        StatusCode::OK
    );
    let taken = create(json!({"product": {"name": "mine", "platform_id": 13}})).await;
    check_error(
        taken,
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "A product named \"mine\" already exists",
    );
    check_error(
        get(&app, "/v1/user/products", None).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
        "The access token provided is invalid.",
    );
}

#[tokio::test]
async fn another_users_product_is_forbidden() {
    let app = App::serve().await;
    let owner = format!("Bearer {}", sign_in(&app).await);
    let body = json!({"product": {"name": "owned", "platform_id": 32}});
    let (_, created) = send_json(&app, "POST", "/v1/user/products", &owner, body).await;
    let id = created["product"]["id"].as_u64().expect("id");
    let other = format!("Bearer {}", sign_in_with_mfa(&app).await);
    check_error(
        get(&app, &format!("/v1/products/{id}"), Some(&other)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        &format!("You do not have access to product {id}"),
    );
    let (status, _) = send_json(
        &app,
        "DELETE",
        &format!("/v1/products/{id}"),
        &other,
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        get(&app, "/v1/user/products", Some(&other)).await.1,
        json!({"products": []})
    );
}
