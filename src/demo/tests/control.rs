//! The relay control body at every field's bounds, through both ends: what the page checks and
//! writes, and what the relay (its router, in-process, with its default limits) takes. Each end
//! states the limits once (`core::wire`), so this is where a drift between them shows.

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode},
};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use webhook_demo_core::{
    sse::SseParser,
    wire::{MAX_DEADLINE_MS, MAX_DELAY_MS, RelayControl},
};
use webhook_demo_relay::{Relay, Settings};

use crate::demo::{Answer, answer, forward, webhook::control_body};

/// The secret the page's webhook sends in these cases.
const SECRET: &str = "s3cret";

/// One value of one field. `learner` is the answer form that leads to it, for the fields the
/// learner sets (status, delay, the secret, forwarding); the page sends that only when
/// `answer::check` passes. The other values (deadline, content type, an empty authorization)
/// are never chosen in the page: it always writes the same deadline and no content type, so for
/// them the page's end is its serializer, and the test holds the value it does write to one the
/// relay takes.
struct Case {
    name: &'static str,
    control: RelayControl,
    learner: Option<Answer>,
    accepted: bool,
}

fn learner(name: &'static str, answer: Answer, forward: bool, accepted: bool) -> Case {
    Case {
        name,
        control: control_body(&answer, SECRET, forward),
        learner: Some(answer),
        accepted,
    }
}

fn written(name: &'static str, control: RelayControl, accepted: bool) -> Case {
    Case {
        name,
        control,
        learner: None,
        accepted,
    }
}

fn status(status: u16) -> Answer {
    Answer {
        status,
        ..Answer::default()
    }
}

fn delay(delay_ms: u32) -> Answer {
    Answer {
        delay_ms,
        ..Answer::default()
    }
}

fn cases() -> Vec<Case> {
    let secret = |require_auth, wrong_secret| Answer {
        require_auth,
        wrong_secret,
        ..Answer::default()
    };
    let deadline = |ms: u32| RelayControl {
        deadline_ms: Some(ms.into()),
        ..RelayControl::default()
    };
    let content_type = |text: &str| RelayControl {
        content_type: Some(text.to_owned()),
        ..RelayControl::default()
    };
    let authorization = |value: Option<&str>| RelayControl {
        authorization: Some(value.map(str::to_owned)),
        ..RelayControl::default()
    };
    vec![
        learner("status 199", status(199), false, false),
        learner("status 200", status(200), false, true),
        learner("status 599", status(599), false, true),
        learner("status 600", status(600), false, false),
        learner("delay 0", delay(0), false, true),
        learner("delay at the limit", delay(MAX_DELAY_MS), false, true),
        learner(
            "delay past the limit",
            delay(MAX_DELAY_MS + 1),
            false,
            false,
        ),
        learner("no secret required", secret(false, false), false, true),
        learner("the webhook's secret", secret(true, false), false, true),
        learner("a wrong secret", secret(true, true), false, true),
        learner("the page answers", Answer::default(), true, true),
        learner("the relay answers", Answer::default(), false, true),
        written("deadline 0", deadline(0), true),
        written("deadline at the limit", deadline(MAX_DEADLINE_MS), true),
        written(
            "deadline past the limit",
            deadline(MAX_DEADLINE_MS + 1),
            false,
        ),
        written(
            "a media type",
            content_type("text/plain; charset=utf-8"),
            true,
        ),
        written("no subtype", content_type("text/"), false),
        written("a line break", content_type("text/plain\r\nX: y"), false),
        written("authorization null", authorization(None), true),
        written("authorization empty", authorization(Some("")), true),
        written("authorization set", authorization(Some("Bearer x")), true),
    ]
}

#[tokio::test]
async fn control_bounds_agree_between_page_and_relay() {
    // What the page writes for the fields the learner never sets is within the relay's limits.
    let written = control_body(&Answer::default(), SECRET, true);
    assert_eq!(written.deadline_ms, Some(forward::DEADLINE_MS.into()));
    assert_eq!(written.content_type, None);

    let app = Relay::new(Settings {
        public_url: Some("https://relay.example".into()),
        ..Settings::default()
    })
    .router();
    let session = open_session(&app).await;
    for case in cases() {
        let name = case.name;
        if let Some(answer) = &case.learner {
            assert_eq!(answer::check(answer).is_ok(), case.accepted, "page: {name}");
        }
        // The page's serializer writes the value exactly, as the relay's reader reads it.
        let body = serde_json::to_vec(&case.control).expect("serializes");
        let value: Value = serde_json::from_slice(&body).expect("JSON");
        let read = RelayControl::from_json(&value);
        assert_eq!(read, Ok(case.control.clone()), "serializer: {name}");

        let (status, answer) = control(&app, &session, body).await;
        let accepted = status == StatusCode::OK && answer["ok"] == true;
        assert_eq!(accepted, case.accepted, "relay: {name}: {status} {answer}");
        if accepted {
            check_settings(&case.control, &answer["settings"], name);
        } else {
            assert_eq!(status, StatusCode::BAD_REQUEST, "relay: {name}: {answer}");
        }
    }
}

/// An accepted body is the session's answer from then on, field by field.
fn check_settings(control: &RelayControl, settings: &Value, name: &str) {
    if let Some(status) = control.status {
        assert_eq!(settings["status"], status, "{name}");
    }
    if let Some(delay) = control.delay_ms {
        assert_eq!(settings["delayMs"], delay, "{name}");
    }
    if let Some(deadline) = control.deadline_ms {
        assert_eq!(settings["deadlineMs"], deadline, "{name}");
    }
    if let Some(content_type) = &control.content_type {
        assert_eq!(settings["contentType"], content_type.as_str(), "{name}");
    }
    if let Some(on) = control.page_answers {
        assert_eq!(settings["pageAnswers"], on, "{name}");
    }
    if let Some(authorization) = &control.authorization {
        // `null` and `""` both mean any authorization is taken.
        let expected = authorization.as_deref().filter(|text| !text.is_empty());
        assert_eq!(settings["authorization"], json!(expected), "{name}");
    }
}

/// Opens a stream and reads the session id from its `start` event.
async fn open_session(app: &Router) -> String {
    let request = Request::get("/stream")
        .body(Body::empty())
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    let mut body = response.into_body();
    let mut parser = SseParser::new();
    loop {
        let frame = body.frame().await.expect("a start event").expect("frame");
        let Some(data) = frame.data_ref() else {
            continue;
        };
        if let Some(start) = parser.feed(data).into_iter().find(|e| e.event == "start") {
            let start: Value = serde_json::from_str(&start.data).expect("start data");
            return start["sessionId"]
                .as_str()
                .expect("a session id")
                .to_owned();
        }
    }
}

async fn control(app: &Router, session: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let request = Request::post(format!("/control/{session}"))
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        serde_json::from_slice(&body).expect("a JSON answer"),
    )
}
