//! Answers that teach failure: the presets beside the answer form, each with the one sentence
//! that says what the learner will see, and the starter servers (Express, Flask, axum) that answer
//! as the page's own server does now.

use super::Answer;

/// How long the timeout preset waits: past Particle's 20 s, so the cloud gives up first.
pub const TIMEOUT_DELAY_MS: u32 = 21_000;

/// One click on the answer form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    Ok,
    BadRequest,
    Unauthorized,
    NotFound,
    ServerError,
    Timeout,
}

impl Preset {
    pub const ALL: [Preset; 6] = [
        Preset::Ok,
        Preset::BadRequest,
        Preset::Unauthorized,
        Preset::NotFound,
        Preset::ServerError,
        Preset::Timeout,
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
        }
    }

    /// The answer it sets.
    pub fn answer(self) -> Answer {
        let status = match self {
            Preset::Ok | Preset::Timeout => 200,
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
        }
    }
}

/// Servers that answer as the page's server does now (check the Bearer secret, then answer
/// `answer`'s status and body), for the learner to run themselves: Express, Flask and axum, each
/// as (name, file name, source). The secret comes from the environment, never from the page.
pub fn starters(answer: &Answer) -> [(&'static str, &'static str, String); 3] {
    let status = answer.status;
    let ok = (200..300).contains(&status);
    let body = if answer.body.is_empty() {
        format!(r#"{{"ok":{ok}}}"#)
    } else {
        answer.body.clone()
    };
    let quoted = serde_json::Value::String(body).to_string();
    let check = answer.require_auth;
    let express = format!(
        "// npm install express; WEBHOOK_SECRET=… node server.js\n\
const express = require('express');\n\
const app = express();\n\
app.use(express.json());\n\
// CORS, so the tutorial page can forward requests here.\n\
app.use((req, res, next) => {{\n\
  res.set({{'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Headers': 'authorization, content-type'}});\n\
  req.method === 'OPTIONS' ? res.sendStatus(204) : next();\n\
}});\n\
app.post('/webhook', (req, res) => {{\n\
{auth}  console.log(req.body);\n\
  res.status({status}).type('application/json').send({quoted});\n\
}});\n\
app.listen(3000, () => console.log('listening on http://localhost:3000/webhook'));\n",
        auth = if check {
            "  if (req.get('Authorization') !== `Bearer ${process.env.WEBHOOK_SECRET}`) {\n    return res.status(401).json({ok: false});\n  }\n"
        } else {
            ""
        },
    );
    let flask = format!(
        "# pip install flask; WEBHOOK_SECRET=… flask --app server run --port 3000\n\
import os\n\
from flask import Flask, request\n\
\n\
app = Flask(__name__)\n\
\n\
@app.after_request\n\
def cors(response):  # so the tutorial page can forward requests here\n\
    response.headers['Access-Control-Allow-Origin'] = '*'\n\
    response.headers['Access-Control-Allow-Headers'] = 'authorization, content-type'\n\
    return response\n\
\n\
@app.route('/webhook', methods=['POST', 'OPTIONS'])\n\
def webhook():\n\
    if request.method == 'OPTIONS':\n\
        return '', 204\n\
{auth}    print(request.get_json(silent=True))\n\
    return {quoted}, {status}, {{'Content-Type': 'application/json'}}\n",
        auth = if check {
            "    if request.headers.get('Authorization') != 'Bearer ' + os.environ['WEBHOOK_SECRET']:\n        return {'ok': False}, 401\n"
        } else {
            ""
        },
    );
    let axum = format!(
        "// cargo add axum tokio -F tokio/full; WEBHOOK_SECRET=… cargo run\n\
use axum::{{http::{{HeaderMap, StatusCode, header}}, routing::post, Router}};\n\
\n\
// CORS, so the tutorial page can forward requests here.\n\
const CORS: [(header::HeaderName, &str); 2] = [\n\
    (header::ACCESS_CONTROL_ALLOW_ORIGIN, \"*\"),\n\
    (header::ACCESS_CONTROL_ALLOW_HEADERS, \"authorization, content-type\"),\n\
];\n\
\n\
async fn webhook(headers: HeaderMap, body: String) -> (StatusCode, [(header::HeaderName, &'static str); 3], String) {{\n\
    let json = [CORS[0].clone(), CORS[1].clone(), (header::CONTENT_TYPE, \"application/json\")];\n\
{auth}    println!(\"{{body}}\");\n\
    (StatusCode::from_u16({status}).unwrap(), json, {quoted}.to_owned())\n\
}}\n\
\n\
#[tokio::main]\n\
async fn main() {{\n\
    let app = Router::new().route(\"/webhook\", post(webhook).options(|| async {{ (StatusCode::NO_CONTENT, CORS) }}));\n\
    let listener = tokio::net::TcpListener::bind(\"127.0.0.1:3000\").await.unwrap();\n\
    axum::serve(listener, app).await.unwrap();\n\
}}\n",
        auth = if check {
            "    let secret = format!(\"Bearer {}\", std::env::var(\"WEBHOOK_SECRET\").unwrap_or_default());\n    if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(secret.as_str()) {\n        return (StatusCode::UNAUTHORIZED, json, r#\"{\"ok\":false}\"#.to_owned());\n    }\n"
        } else {
            ""
        },
    );
    [
        ("Node (Express)", "server.js", express),
        ("Python (Flask)", "server.py", flask),
        ("Rust (axum)", "main.rs", axum),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starters_answer_with_the_current_status_and_body() {
        let answer = Answer {
            body: r#"{"hello":"it's"}"#.into(),
            ..Preset::ServerError.answer()
        };
        for (_, _, source) in starters(&answer) {
            assert!(source.contains("500"), "{source}");
            assert!(source.contains(r#""{\"hello\":\"it's\"}""#), "{source}");
            assert!(source.contains("WEBHOOK_SECRET"), "{source}");
        }
        let open = Answer {
            require_auth: false,
            ..Preset::Ok.answer()
        };
        for (_, _, source) in starters(&open) {
            assert!(source.contains(r#""{\"ok\":true}""#), "{source}");
            assert!(!source.contains("401"), "{source}");
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
}
