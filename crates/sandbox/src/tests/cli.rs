//! What Particle's CLI needs beyond the tutorial's calls (issue 18): its OAuth clients, the legacy
//! webhook API, and the simulated devices' cloud functions and variables. The CLI itself runs
//! against a real server in `crates/server/tests/particle_cli.rs`.

use std::collections::HashMap;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use serde_json::{Value, json};

use super::{
    App, call, check_error, get, oauth, send_json, sign_in, sign_in_with_mfa,
    webhooks::{Learner, P2, Target},
};

const ARGON: &str = "e00fce680000000000000003";

/// A form POST with the token in the `Authorization` header, as particle-cli sends them.
async fn post_form(app: &App, uri: &str, bearer: &str, form: &str) -> (StatusCode, Value) {
    let request = Request::post(uri)
        .header(header::AUTHORIZATION, bearer)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .expect("request");
    call(app, request).await
}

async fn set_online(app: &App, device: &str, online: bool) {
    let request = Request::put(format!("/_sim/devices/{device}/online"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"online": online}).to_string()))
        .expect("request");
    assert_eq!(call(app, request).await.0, StatusCode::OK);
}

/// A failed device call in Particle's shape: `{"ok": false, "error": …}`.
fn check_failed(actual: (StatusCode, Value), status: StatusCode, error: &str) {
    assert_eq!(actual.0, status, "{}", actual.1);
    assert_eq!(
        (&actual.1["ok"], actual.1["error"].as_str()),
        (&json!(false), Some(error)),
        "{}",
        actual.1
    );
    assert!(actual.1["error_description"].is_string(), "{}", actual.1);
}

#[tokio::test]
async fn particle_clis_oauth_clients_sign_in_with_and_without_mfa() {
    let app = App::serve().await;
    let password = "grant_type=password&password=sandbox&username=";
    for client in [
        "client_id=particle-cli&client_secret=particle-cli",
        "client_id=CLI2&client_secret=client_secret_here",
    ] {
        let (status, body) =
            oauth(&app, &format!("{client}&{password}sandbox%40example.com")).await;
        assert_eq!(status, StatusCode::OK, "{client}: {body}");
        let (status, first) = oauth(&app, &format!("{client}&{password}mfa%40example.com")).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{first}");
        let mfa_token = first["mfa_token"].as_str().expect("an mfa_token");
        let second =
            format!("{client}&grant_type=urn%3Acustom%3Amfa-otp&mfa_token={mfa_token}&otp=123456");
        let (status, body) = oauth(&app, &second).await;
        assert_eq!(status, StatusCode::OK, "{client}: {body}");
        assert!(body["access_token"].is_string());
    }
    check_error(
        oauth(
            &app,
            &format!("client_id=CLI2&client_secret=particle-cli&{password}sandbox%40example.com"),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "Client authentication failed",
    );
}

#[tokio::test]
async fn legacy_webhooks_are_integrations_in_the_old_shapes() {
    let app = App::serve().await;
    let bearer = format!("Bearer {}", sign_in(&app).await);
    let mut target = Target::start(StatusCode::OK, "thanks").await;
    let hook = json!({"event": "cli-test", "url": target.url, "requestType": "POST"});
    let (status, created) = send_json(&app, "POST", "/v1/webhooks", &bearer, hook).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let id = created["id"].as_str().expect("an id").to_owned();
    assert_eq!(
        (
            &created["ok"],
            &created["event"],
            &created["url"],
            &created["mydevices"]
        ),
        (
            &json!(true),
            &json!("cli-test"),
            &json!(target.url),
            &json!(true)
        )
    );
    assert!(created["created_at"].is_string());
    assert!(created.get("integration_type").is_none());

    // Both APIs list it, each in its own shape.
    let (_, legacy) = get(&app, "/v1/webhooks", Some(&bearer)).await;
    assert_eq!(legacy.as_array().map(Vec::len), Some(1));
    assert_eq!(legacy[0]["id"], id.as_str());
    let (_, integrations) = get(&app, "/v1/integrations", Some(&bearer)).await;
    assert_eq!(
        (&integrations[0]["id"], &integrations[0]["integration_type"]),
        (&json!(id), &json!("Webhook"))
    );
    let one = format!("/v1/webhooks/{id}");
    let (status, fetched) = get(&app, &one, Some(&bearer)).await;
    assert_eq!(
        (status, &fetched["ok"], &fetched["webhook"]["id"]),
        (StatusCode::OK, &json!(true), &json!(id))
    );

    // It fires like any other.
    let (status, _) = post_form(
        &app,
        "/v1/devices/events",
        &bearer,
        "name=cli-test&data=hello",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let received = target.next().await;
    let form: HashMap<String, String> =
        serde_urlencoded::from_str(&received.body).expect("Particle's default form");
    assert_eq!(
        (form["event"].as_str(), form["data"].as_str()),
        ("cli-test", "hello")
    );

    let (status, deleted) = send_json(&app, "DELETE", &one, &bearer, json!({})).await;
    assert_eq!((status, deleted), (StatusCode::OK, json!({"ok": true})));
    assert_eq!(
        get(&app, "/v1/integrations", Some(&bearer)).await.1,
        json!([])
    );
    check_error(
        get(&app, &one, Some(&bearer)).await,
        StatusCode::NOT_FOUND,
        "not_found",
        &format!("Integration {id} was not found"),
    );
    // Another user sees none of it.
    let other = format!("Bearer {}", sign_in_with_mfa(&app).await);
    assert_eq!(get(&app, "/v1/webhooks", Some(&other)).await.1, json!([]));
}

#[tokio::test]
async fn legacy_product_webhooks_name_their_device_as_deviceid() {
    let learner = Learner::new().await;
    let path = format!("/v1/products/{}/webhooks", learner.product);
    let hook = json!({"event": "e", "url": "http://127.0.0.1:9/x", "deviceid": P2});
    let (status, created) = learner.send("POST", &path, hook).await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(
        (
            &created["deviceID"],
            &created["product_id"],
            created.get("deviceid")
        ),
        (&json!(P2), &json!(learner.product), None)
    );
    let integrations = format!("/v1/products/{}/integrations", learner.product);
    let (_, listed) = get(&learner.app, &integrations, Some(&learner.bearer)).await;
    assert_eq!(listed[0]["id"], created["id"]);
    // The user's own list is a different scope.
    let (_, mine) = get(&learner.app, "/v1/webhooks", Some(&learner.bearer)).await;
    assert_eq!(mine, json!([]));
}

#[tokio::test]
async fn devices_list_what_their_firmware_registers_and_answer_calls_and_reads() {
    let app = App::serve().await;
    let bearer = format!("Bearer {}", sign_in(&app).await);
    let other = format!("Bearer {}", sign_in_with_mfa(&app).await);
    let (_, devices) = get(&app, "/v1/devices", Some(&bearer)).await;
    let registered: Vec<(&Value, &Value)> = devices
        .as_array()
        .expect("an array")
        .iter()
        .map(|d| (&d["functions"], &d["variables"]))
        .collect();
    let tinker = json!(["digitalread", "digitalwrite", "analogread", "analogwrite"]);
    let (none, no_variables) = (json!([]), json!({}));
    let demo_variables = json!({"WebhookDemo01": "int32"});
    assert_eq!(
        registered,
        [
            (&none, &demo_variables),
            (&none, &demo_variables),
            (&tinker, &no_variables)
        ],
        "the P2 and the Boron run the demo, the Argon Tinker"
    );

    let function = |device: &str, name: &str| format!("/v1/devices/{device}/{name}");
    check_failed(
        post_form(
            &app,
            &function(ARGON, "digitalwrite"),
            &bearer,
            "arg=D7%2CHIGH",
        )
        .await,
        StatusCode::BAD_REQUEST,
        "Device is offline",
    );
    check_failed(
        get(&app, &function(ARGON, "temperature"), Some(&bearer)).await,
        StatusCode::BAD_REQUEST,
        "Device is offline",
    );
    set_online(&app, ARGON, true).await;
    let (status, answer) = post_form(
        &app,
        &function("sandbox-argon", "digitalwrite"),
        &bearer,
        "arg=D7%2CHIGH",
    )
    .await;
    assert_eq!(
        (status, answer),
        (
            StatusCode::OK,
            json!({"id": ARGON, "name": "sandbox-argon", "connected": true, "return_value": 1})
        )
    );
    for (name, arg, expected) in [
        ("digitalwrite", json!({"arg": "D99,HIGH"}), -1),
        ("digitalwrite", json!({"arg": "D7,ON"}), -2),
        ("digitalread", json!({"args": "D7"}), 0),
        ("analogwrite", json!({"arg": "A0,300"}), -2),
    ] {
        let (status, answer) = send_json(&app, "POST", &function(ARGON, name), &bearer, arg).await;
        assert_eq!(
            (status, &answer["return_value"]),
            (StatusCode::OK, &json!(expected)),
            "{name}"
        );
    }
    let (_, reading) = send_json(
        &app,
        "POST",
        &function(ARGON, "analogread"),
        &bearer,
        json!({"arg": "A0"}),
    )
    .await;
    assert!(
        reading["return_value"]
            .as_i64()
            .is_some_and(|r| (0..4096).contains(&r)),
        "{reading}"
    );

    // The demo firmware registers no function, and one variable: its version. Tinker registers
    // no variable.
    check_failed(
        post_form(
            &app,
            &function(P2, "digitalwrite"),
            &bearer,
            "arg=D7%2CHIGH",
        )
        .await,
        StatusCode::NOT_FOUND,
        "Function not found",
    );
    for device in [P2, "sandbox-p2"] {
        let (status, read) = get(&app, &function(device, "WebhookDemo01"), Some(&bearer)).await;
        assert_eq!(status, StatusCode::OK, "{read}");
        let info = &read["coreInfo"];
        assert_eq!(
            (
                &read["cmd"],
                &read["name"],
                &read["result"],
                &info["name"],
                &info["deviceID"],
                &info["connected"]
            ),
            (
                &json!("VarReturn"),
                &json!("WebhookDemo01"),
                &json!(1),
                &json!("sandbox-p2"),
                &json!(P2),
                &json!(true)
            ),
            "{read}"
        );
        let handshake = info["last_handshake_at"].as_str().unwrap_or_default();
        assert!(handshake.ends_with('Z'), "{read}");
    }
    for (device, name) in [
        (P2, "webhookdemo01"),
        (P2, "temperature"),
        (ARGON, "WebhookDemo01"),
    ] {
        check_failed(
            get(&app, &function(device, name), Some(&bearer)).await,
            StatusCode::NOT_FOUND,
            &format!("Unknown Variable: {name}"),
        );
    }
    set_online(&app, P2, false).await;
    check_failed(
        get(&app, &function(P2, "WebhookDemo01"), Some(&bearer)).await,
        StatusCode::BAD_REQUEST,
        "Device is offline",
    );
    check_error(
        get(&app, &function(ARGON, "WebhookDemo01"), Some(&other)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        &format!("Device {ARGON} belongs to another user"),
    );
    check_error(
        post_form(&app, &function(ARGON, "digitalread"), &other, "arg=D7").await,
        StatusCode::FORBIDDEN,
        "forbidden",
        &format!("Device {ARGON} belongs to another user"),
    );
}

#[test]
fn the_simulation_registers_what_the_demo_firmware_declares() {
    // A device running the demo lists no function and one variable holding the firmware's
    // version (`sim.rs`); when the firmware declares another, or another version, the simulation
    // must follow.
    let source = include_str!("../../../../firmware/webhook-demo/src/webhook-demo.cpp");
    assert!(
        !source.contains("Particle.function("),
        "the demo firmware now has a function"
    );
    let variables: Vec<&str> = source
        .split("Particle.variable(")
        .skip(1)
        .map(|rest| rest.split(')').next().unwrap_or_default())
        .collect();
    assert_eq!(variables, [r#""WebhookDemo01", FIRMWARE_VERSION"#]);
    let version = format!(
        "const int FIRMWARE_VERSION = {};",
        crate::cloud::firmware_facts::DEMO_VERSION
    );
    assert!(
        source.contains(&version),
        "the demo firmware's version is not {version}"
    );
    assert!(source.contains("PRODUCT_VERSION(FIRMWARE_VERSION);"));

    let demo = crate::cloud::SimDevice {
        demo_firmware: true,
        ..Default::default()
    };
    assert!(crate::cloud::firmware_facts::functions(&demo).is_empty());
    assert_eq!(
        crate::cloud::firmware_facts::variables(&demo),
        [("WebhookDemo01", "int32")]
    );
    let tinker = crate::cloud::SimDevice::default();
    assert!(crate::cloud::firmware_facts::variables(&tinker).is_empty());
}
