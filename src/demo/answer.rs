//! Answers that teach failure: the presets beside the answer form, each with the one sentence
//! that says what the learner will see, the page's answer to each attempt when it fails the first,
//! and the starter servers (Express, Flask, axum) that answer as the page's own server does now.
//!
//! Failing the first attempt needs an answer per request, so the page answers each one itself
//! (the relay's page-answers mode). Which attempt a request is comes from its event: every
//! attempt carries the same body, whose `deviceId` and `ts` are the event's device and
//! `published_at`, so the first request of that pair is the first attempt and any later one a
//! retry. The relay's hook ids differ per attempt and a stream that resumes can bring a request
//! twice, so they name the request, never the event; the relay's order per event says which
//! attempt it is (`timeline::Timeline::request`).

use webhook_demo_core::wire::{ANSWER_STATUS, MAX_DELAY_MS};

use super::{Answer, forward::page_answer};

/// How long the timeout preset waits: the longest delay the relay takes, past Particle's 20 s,
/// so the cloud gives up first.
pub const TIMEOUT_DELAY_MS: u32 = MAX_DELAY_MS;

/// An answer the relay takes, or why not in the learner's words: the relay's own limits, so the
/// learner meets them here rather than as the relay's refusal.
pub fn check(answer: &Answer) -> Result<(), String> {
    if !ANSWER_STATUS.contains(&answer.status) {
        return Err(format!(
            "A status is a number from {} to {}.",
            ANSWER_STATUS.start(),
            ANSWER_STATUS.end()
        ));
    }
    if answer.delay_ms > MAX_DELAY_MS {
        return Err(format!(
            "Wait at most {},{:03} ms: Particle gives up on a webhook after 20 seconds.",
            MAX_DELAY_MS / 1000,
            MAX_DELAY_MS % 1000
        ));
    }
    Ok(())
}

/// One click on the answer form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    Ok,
    BadRequest,
    Unauthorized,
    NotFound,
    ServerError,
    Timeout,
    /// The first attempt fails (500); the cloud's retry succeeds.
    FailFirst,
}

impl Preset {
    pub const ALL: [Preset; 7] = [
        Preset::Ok,
        Preset::BadRequest,
        Preset::Unauthorized,
        Preset::NotFound,
        Preset::ServerError,
        Preset::Timeout,
        Preset::FailFirst,
    ];

    /// Its `data-preset`.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Ok => "ok",
            Preset::BadRequest => "bad-request",
            Preset::Unauthorized => "unauthorized",
            Preset::NotFound => "not-found",
            Preset::ServerError => "server-error",
            Preset::Timeout => "timeout",
            Preset::FailFirst => "fail-first",
        }
    }

    pub fn from_name(name: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The button's label.
    pub fn label(self) -> &'static str {
        match self {
            Preset::Ok => "200 OK",
            Preset::BadRequest => "400 Bad request",
            Preset::Unauthorized => "401 Wrong secret",
            Preset::NotFound => "404 Not found",
            Preset::ServerError => "500 Server error",
            Preset::Timeout => "Time out",
            Preset::FailFirst => "Fail, then succeed",
        }
    }

    /// What the learner will see.
    pub fn sentence(self) -> &'static str {
        match self {
            Preset::Ok => {
                "Your server accepts the data: the cloud publishes its answer as a hook-response event."
            }
            Preset::BadRequest => {
                "Your server rejects the data with 400: the cloud publishes a hook-error instead of a hook-response."
            }
            Preset::Unauthorized => {
                "Your server expects a different secret than the webhook sends, so it answers 401 and the cloud publishes a hook-error."
            }
            Preset::NotFound => {
                "The address has no handler (404): a hook-error, as when the webhook's URL has a typo."
            }
            Preset::ServerError => {
                "Your code crashed (500): a hook-error; many in a row and the cloud pauses sending (\"Sleeping, too many errors\")."
            }
            Preset::Timeout => {
                "Your server takes longer than Particle's 20 s: the cloud gives up and publishes a hook-error (ETIMEDOUT)."
            }
            Preset::FailFirst => {
                "Your server fails the first attempt (500) and accepts the next: the cloud sends the same event again after 30 s, and the retry's hook-response rescues the delivery."
            }
        }
    }

    /// The answer it sets.
    pub fn answer(self) -> Answer {
        let status = match self {
            Preset::Ok | Preset::Timeout | Preset::FailFirst => 200,
            Preset::BadRequest => 400,
            Preset::Unauthorized => 401,
            Preset::NotFound => 404,
            Preset::ServerError => 500,
        };
        Answer {
            status,
            body: String::new(),
            require_auth: true,
            delay_ms: if self == Preset::Timeout {
                TIMEOUT_DELAY_MS
            } else {
                0
            },
            wrong_secret: self == Preset::Unauthorized,
            fail_first: self == Preset::FailFirst,
        }
    }
}

/// The status that fails a first attempt: a server error, which the cloud retries.
pub const FIRST_ATTEMPT_STATUS: u16 = 500;

/// The page's answer (a `PageAnswer` body) to request `hook_id`, the cloud's attempt `number`
/// (`None`: a request the cloud did not send, such as a replay): the first attempt fails, the
/// others get the answer set.
pub fn by_attempt(answer: &Answer, hook_id: u64, number: Option<usize>) -> String {
    let status = if number == Some(1) {
        FIRST_ATTEMPT_STATUS
    } else {
        answer.status
    };
    let body = if answer.body.is_empty() || status != answer.status {
        let ok = (200..300).contains(&status);
        format!(r#"{{"ok":{ok},"hookId":{hook_id}}}"#)
    } else {
        answer.body.clone()
    };
    page_answer(status, "application/json", &body)
}

/// The Express starter: `AUTH`, `STATUS` and `BODY` are filled in.
const EXPRESS: &str = r#"// npm install express; WEBHOOK_SECRET=… node server.js
const express = require('express');
const app = express();
// Particle sends a failed event again: each is handled once, by its device id and published_at.
const handled = new Set();
FAILED_SET// CORS, so the tutorial page (and only it) can forward requests here.
app.use((req, res, next) => {
  res.set({'Access-Control-Allow-Origin': PAGE_ORIGIN, 'Access-Control-Allow-Headers': 'authorization, content-type'});
  req.method === 'OPTIONS' ? res.sendStatus(204) : next();
});
// After CORS, so even the 400 Express gives a body that is not JSON reaches the page.
app.use(express.json());
app.post('/webhook', (req, res) => {
AUTH  const event = `${req.body.deviceId} ${req.body.ts}`;
  if (!handled.has(event)) {  // a repeat of an event (Particle's retry) is answered, not handled again
FAIL_ONCE    handled.add(event);
    console.log(req.body);
  }
  res.status(STATUS).type('application/json').send(BODY);
});
// The events handled, for the tutorial's "Check your server" (GET on the same address).
app.get('/webhook', (req, res) => res.json([...handled]));
app.listen(3000, () => console.log('listening on http://localhost:3000/webhook'));
"#;
const EXPRESS_FAILED: &str =
    "const failed = new Set();  // events whose first attempt failed on purpose\n";
const EXPRESS_FAIL: &str = "    if (!failed.has(event)) { failed.add(event); return res.status(500).json({ok: false}); }\n";
const EXPRESS_AUTH: &str = r#"  if (req.get('Authorization') !== `Bearer ${process.env.WEBHOOK_SECRET}`) {
    return res.status(401).json({ok: false});
  }
"#;

const FLASK: &str = r#"# pip install flask; WEBHOOK_SECRET=… flask --app server run --port 3000
import os
from flask import Flask, request

app = Flask(__name__)
handled = set()  # Particle sends a failed event again: each is handled once, by device id and published_at
FAILED_SET
@app.after_request
def cors(response):  # so the tutorial page (and only it) can forward requests here
    response.headers['Access-Control-Allow-Origin'] = PAGE_ORIGIN
    response.headers['Access-Control-Allow-Headers'] = 'authorization, content-type'
    return response

@app.route('/webhook', methods=['POST', 'OPTIONS'])
def webhook():
    if request.method == 'OPTIONS':
        return '', 204
AUTH    data = request.get_json(silent=True) or {}
    event = (data.get('deviceId'), data.get('ts'))
    if event not in handled:  # a repeat of an event (Particle's retry) is answered, not handled again
FAIL_ONCE        handled.add(event)
        print(data)
    return BODY, STATUS, {'Content-Type': 'application/json'}

@app.route('/webhook', methods=['GET'])
def handled_events():  # the events handled, for the tutorial's "Check your server"
    return [list(event) for event in handled]
"#;
const FLASK_FAILED: &str = "failed = set()  # events whose first attempt failed on purpose\n";
const FLASK_FAIL: &str = "        if event not in failed:\n            failed.add(event)\n            return {'ok': False}, 500\n";
const FLASK_AUTH: &str = r#"    if request.headers.get('Authorization') != 'Bearer ' + os.environ['WEBHOOK_SECRET']:
        return {'ok': False}, 401
"#;

const AXUM: &str = r#"// cargo add axum serde_json tokio -F tokio/full; WEBHOOK_SECRET=… cargo run
use axum::{http::{header, HeaderMap, HeaderName, StatusCode}, routing::post, Router};
use std::{collections::HashSet, sync::Mutex};

// Particle sends a failed event again: each is handled once, by its device id and published_at.
static HANDLED: Mutex<Option<HashSet<String>>> = Mutex::new(None);
FAILED_SET
// CORS, so the tutorial page can forward requests here.
const CORS: [(HeaderName, &str); 2] = [
    (header::ACCESS_CONTROL_ALLOW_ORIGIN, PAGE_ORIGIN),
    (header::ACCESS_CONTROL_ALLOW_HEADERS, "authorization, content-type"),
];

async fn webhook(headers: HeaderMap, body: String) -> (StatusCode, [(HeaderName, &'static str); 3], String) {
    let [origin, allowed] = CORS;
    let json = [origin, allowed, (header::CONTENT_TYPE, "application/json")];
AUTH    let event: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let event = format!("{} {}", event["deviceId"], event["ts"]);
    let mut handled = HANDLED.lock().unwrap();
    // A repeat of an event (Particle's retry) is answered, not handled again.
    if !handled.get_or_insert_with(HashSet::new).contains(&event) {
FAIL_ONCE        handled.get_or_insert_with(HashSet::new).insert(event);
        println!("{body}");
    }
    (StatusCode::from_u16(STATUS).unwrap(), json, BODY.to_owned())
}

// The events handled, for the tutorial's "Check your server" (GET on the same address).
async fn handled() -> ([(HeaderName, &'static str); 3], String) {
    let [origin, allowed] = CORS;
    let events: Vec<String> = HANDLED.lock().unwrap().iter().flatten().cloned().collect();
    ([origin, allowed, (header::CONTENT_TYPE, "application/json")], serde_json::to_string(&events).unwrap())
}

#[tokio::main]
async fn main() {
    let app = Router::new()
        .route("/webhook", post(webhook).get(handled).options(|| async { (StatusCode::NO_CONTENT, CORS) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
"#;
const AXUM_FAILED: &str = "static FAILED: Mutex<Option<HashSet<String>>> = Mutex::new(None);  // first attempts failed on purpose\n";
const AXUM_FAIL: &str = "        if FAILED.lock().unwrap().get_or_insert_with(HashSet::new).insert(event.clone()) {\n            return (StatusCode::INTERNAL_SERVER_ERROR, json, r#\"{\"ok\":false}\"#.to_owned());\n        }\n";
const AXUM_AUTH: &str = r##"    let secret = format!("Bearer {}", std::env::var("WEBHOOK_SECRET").unwrap_or_default());
    if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(secret.as_str()) {
        return (StatusCode::UNAUTHORIZED, json, r#"{"ok":false}"#.to_owned());
    }
"##;

/// Servers that answer as the page's server does now (check the Bearer secret, then answer
/// `answer`'s status and body), for the learner to run themselves: Express, Flask and axum, each
/// as (name, file name, source). The secret comes from the environment, never from the page;
/// CORS allows the page at `origin` only, not every site the learner's browser visits.
pub fn starters(answer: &Answer, origin: &str) -> [(&'static str, &'static str, String); 3] {
    let ok = (200..300).contains(&answer.status);
    let body = if answer.body.is_empty() {
        format!(r#"{{"ok":{ok}}}"#)
    } else {
        answer.body.clone()
    };
    let quoted = serde_json::Value::String(body).to_string();
    // A string literal in all three languages (an origin holds no quote or backslash).
    let origin = serde_json::Value::from(if origin.is_empty() { "*" } else { origin }).to_string();
    // The learner's body goes in last, so nothing in it is taken for a placeholder.
    let fill = |template: &str, auth: &str, [failed, fail]: [&str; 2]| {
        let [failed, fail] = if answer.fail_first {
            [failed, fail]
        } else {
            ["", ""]
        };
        template
            .replace("AUTH", if answer.require_auth { auth } else { "" })
            .replace("FAILED_SET", failed)
            .replace("FAIL_ONCE", fail)
            .replace("STATUS", &answer.status.to_string())
            .replace("PAGE_ORIGIN", &origin)
            .replace("BODY", &quoted)
    };
    [
        (
            "Node (Express)",
            "server.js",
            fill(EXPRESS, EXPRESS_AUTH, [EXPRESS_FAILED, EXPRESS_FAIL]),
        ),
        (
            "Python (Flask)",
            "server.py",
            fill(FLASK, FLASK_AUTH, [FLASK_FAILED, FLASK_FAIL]),
        ),
        (
            "Rust (axum)",
            "main.rs",
            fill(AXUM, AXUM_AUTH, [AXUM_FAILED, AXUM_FAIL]),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "http://127.0.0.1:8080";

    /// What the page checks an answer against is what the relay it ships with takes: its default
    /// limits are the ones `core::wire` states.
    #[test]
    fn the_limits_checked_are_the_relays() {
        use std::time::Duration;
        use webhook_demo_core::wire::MAX_DEADLINE_MS;

        let relay = webhook_demo_relay::Limits::default();
        assert_eq!(relay.max_delay, Duration::from_millis(MAX_DELAY_MS.into()));
        assert_eq!(
            relay.max_wait,
            Duration::from_millis(MAX_DEADLINE_MS.into())
        );
        let answer = |status, delay_ms| Answer {
            status,
            delay_ms,
            ..Answer::default()
        };
        assert_eq!(check(&answer(200, MAX_DELAY_MS)), Ok(()));
        assert_eq!(check(&answer(599, 0)), Ok(()));
        for refused in [
            answer(199, 0),
            answer(600, 0),
            answer(200, MAX_DELAY_MS + 1),
        ] {
            assert!(check(&refused).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn starters_allow_the_page_and_only_it() {
        for (name, _, source) in starters(&Preset::Ok.answer(), PAGE) {
            assert!(
                source.contains(r#""http://127.0.0.1:8080""#),
                "{name}: {source}"
            );
            assert!(
                !source.contains("'*'") && !source.contains(r#""*""#),
                "{name}: {source}"
            );
            assert!(!source.contains("PAGE_ORIGIN"), "{name}: {source}");
        }
    }

    #[test]
    fn starters_answer_with_the_current_status_and_body() {
        let answer = Answer {
            body: r#"{"hello":"it's"}"#.into(),
            ..Preset::ServerError.answer()
        };
        for (_, _, source) in starters(&answer, PAGE) {
            assert!(source.contains("500"), "{source}");
            assert!(source.contains(r#""{\"hello\":\"it's\"}""#), "{source}");
            assert!(source.contains("WEBHOOK_SECRET"), "{source}");
        }
        let open = Answer {
            require_auth: false,
            ..Preset::Ok.answer()
        };
        for (_, _, source) in starters(&open, PAGE) {
            assert!(source.contains(r#""{\"ok\":true}""#), "{source}");
            assert!(!source.contains("401"), "{source}");
        }
    }

    /// Express answers a body that is not JSON 400 from `express.json()`: after the CORS
    /// middleware, that answer carries the headers the page needs to read it.
    #[test]
    fn express_parses_bodies_after_cors() {
        let [(_, _, express), _, _] = starters(&Preset::Ok.answer(), PAGE);
        let cors = express.find("Access-Control-Allow-Origin").expect("CORS");
        let json = express
            .find("app.use(express.json())")
            .expect("a JSON parser");
        assert!(cors < json, "{express}");
    }

    /// "Check your server" reads what a starter handled with a GET on the same address.
    #[test]
    fn starters_list_the_events_they_handled() {
        for (name, _, source) in starters(&Preset::Ok.answer(), PAGE) {
            assert!(
                source.contains("app.get('/webhook'")
                    || source.contains("methods=['GET']")
                    || source.contains(".get(handled)"),
                "{name}: {source}"
            );
        }
    }

    #[test]
    fn every_preset_has_its_name_and_answer() {
        for preset in Preset::ALL {
            assert_eq!(Preset::from_name(preset.name()), Some(preset));
        }
        assert_eq!(Preset::Timeout.answer().delay_ms, TIMEOUT_DELAY_MS);
        assert!(Preset::Unauthorized.answer().wrong_secret);
        assert_eq!(Preset::NotFound.answer().status, 404);
    }

    #[test]
    fn fail_first_fails_only_the_first_attempt() {
        let answer = Preset::FailFirst.answer();
        assert!(answer.fail_first && answer.status == 200);
        let status = |number| {
            let sent: webhook_demo_core::wire::PageAnswer =
                serde_json::from_str(&by_attempt(&answer, 7, number)).expect("an answer");
            (sent.status, sent.body)
        };
        assert_eq!(status(Some(1)), (500, r#"{"ok":false,"hookId":7}"#.into()));
        assert_eq!(status(Some(2)), (200, r#"{"ok":true,"hookId":7}"#.into()));
        assert_eq!(status(None), (200, r#"{"ok":true,"hookId":7}"#.into()));
    }

    #[test]
    fn starters_handle_a_repeated_event_once_and_say_so() {
        for answer in [Preset::Ok.answer(), Preset::FailFirst.answer()] {
            for (name, _, source) in starters(&answer, PAGE) {
                let said = source.to_lowercase();
                assert!(
                    said.contains("particle sends a failed event again")
                        && said.contains("a repeat of an event (particle's retry) is answered"),
                    "{name}: {source}"
                );
                assert!(
                    source.contains("deviceId") && source.contains("ts"),
                    "{name}"
                );
                assert!(
                    !source.contains("FAIL_ONCE") && !source.contains("FAILED_SET"),
                    "{name}: {source}"
                );
                // Failing first, the first attempt of each event is answered 500.
                assert_eq!(
                    source.contains("500") || source.contains("INTERNAL_SERVER_ERROR"),
                    answer.fail_first,
                    "{name}: {source}"
                );
            }
        }
    }
}
