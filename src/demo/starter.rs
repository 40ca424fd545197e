//! Starter code for the learner's own webhook server: short, runnable servers in Node (Express),
//! Python (Flask) and Rust (axum) that do what the page's server does with the current answer
//! settings — refuse a request without the webhook's `Authorization` header, wait, then answer the
//! chosen status and body — and print what they received. Each also answers the browser's CORS
//! preflight and allows the page's origin (only that one), so the page can forward hooks to it.
//!
//! The settings are the learner's own text, so every value goes into the code as a string literal
//! of that language (JSON's escapes are valid in JavaScript and Python; Rust gets a raw string
//! with enough `#`s), never spliced in as code.

use super::Answer;

/// One server, ready to copy into a file and run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Starter {
    /// What the learner picks it by: "Node (Express)".
    pub language: &'static str,
    /// The file to save it as.
    pub file: &'static str,
    /// How to install and run it, one shell line.
    pub run: &'static str,
    pub code: String,
}

/// The port every starter listens on, the one the page's "Forward to my server" suggests.
pub const PORT: u16 = 3000;

/// The starters for `answer`, with the webhook's `secret`, allowing the page at `origin`
/// (`http://127.0.0.1:8080`) to call them: Node, Python, Rust.
pub fn starters(answer: &Answer, secret: &str, origin: &str) -> Vec<Starter> {
    let body = answer_body(answer);
    let content_type = if serde_json::from_str::<serde_json::Value>(&body).is_ok() {
        "application/json"
    } else {
        "text/plain"
    };
    let auth = answer.require_auth.then(|| format!("Bearer {secret}"));
    let served = Served {
        status: answer.status,
        delay_ms: answer.delay_ms,
        body: &body,
        content_type,
        auth: auth.as_deref(),
        origin,
    };
    vec![node(&served), python(&served), rust(&served)]
}

/// The body the starters answer with: the learner's, or one that says whether the status is a
/// success (the page's own server adds the hook's number, which a standalone server has not).
fn answer_body(answer: &Answer) -> String {
    if !answer.body.is_empty() {
        return answer.body.clone();
    }
    if (200..300).contains(&answer.status) {
        r#"{"ok":true}"#.to_owned()
    } else {
        format!(r#"{{"ok":false,"status":{}}}"#, answer.status)
    }
}

/// What a starter answers, and to whom.
struct Served<'a> {
    status: u16,
    delay_ms: u32,
    body: &'a str,
    content_type: &'a str,
    /// The `Authorization` value required, if one is.
    auth: Option<&'a str>,
    /// The page's origin, the one origin allowed to call the server from a browser.
    origin: &'a str,
}

/// The CORS headers every answer carries: the page's origin may send a POST with the webhook's
/// headers (`Authorization` is never covered by a `*`).
const ALLOW_HEADERS: &str = "Authorization, Content-Type";

/// A JavaScript or Python string literal holding `text`.
fn quoted(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// A Rust raw string literal holding `text`, with one `#` more than any run of them in it.
fn raw(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '#' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let hashes = "#".repeat(longest + 1);
    format!("r{hashes}\"{text}\"{hashes}")
}

fn node(served: &Served) -> Starter {
    let check = match served.auth {
        Some(auth) => format!(
            "  if (req.get('Authorization') !== {}) {{\n    return res.status(401).json({{ ok: false, error: 'wrong or missing Authorization' }});\n  }}\n",
            quoted(auth)
        ),
        None => String::new(),
    };
    let wait = if served.delay_ms > 0 {
        format!(
            "  await new Promise((resolve) => setTimeout(resolve, {}));\n",
            served.delay_ms
        )
    } else {
        String::new()
    };
    let code = format!(
        "// server.js: a webhook server for the Particle webhook demo.\n\
         const express = require('express');\n\
         const app = express();\n\
         app.use(express.text({{ type: '*/*' }}));\n\
         // Let the tutorial's page (and only it) call this server from the browser.\n\
         app.use((req, res, next) => {{\n\
         \x20 res.set({{\n\
         \x20   'Access-Control-Allow-Origin': {origin},\n\
         \x20   'Access-Control-Allow-Methods': 'POST',\n\
         \x20   'Access-Control-Allow-Headers': {allow},\n\
         \x20 }});\n\
         \x20 if (req.method === 'OPTIONS') return res.sendStatus(204);\n\
         \x20 next();\n\
         }});\n\
         \n\
         app.post('/webhook', async (req, res) => {{\n\
         {check}  console.log(req.method, req.path, req.body);\n\
         {wait}  res.status({status}).type({content_type}).send({body});\n\
         }});\n\
         \n\
         app.listen({PORT}, () => console.log('listening on http://localhost:{PORT}/webhook'));\n",
        status = served.status,
        content_type = quoted(served.content_type),
        body = quoted(served.body),
        origin = quoted(served.origin),
        allow = quoted(ALLOW_HEADERS),
    );
    Starter {
        language: "Node (Express)",
        file: "server.js",
        run: "npm install express && node server.js",
        code,
    }
}

fn python(served: &Served) -> Starter {
    let check = match served.auth {
        Some(auth) => format!(
            "    if request.headers.get(\"Authorization\") != {}:\n        return {{\"ok\": False, \"error\": \"wrong or missing Authorization\"}}, 401\n",
            quoted(auth)
        ),
        None => String::new(),
    };
    let wait = if served.delay_ms > 0 {
        format!("    time.sleep({})\n", f64::from(served.delay_ms) / 1000.0)
    } else {
        String::new()
    };
    let code = format!(
        "# server.py: a webhook server for the Particle webhook demo.\n\
         import time\n\
         \n\
         from flask import Flask, request\n\
         \n\
         app = Flask(__name__)\n\
         \n\
         \n\
         # Let the tutorial's page (and only it) call this server from the browser.\n\
         @app.after_request\n\
         def allow_the_page(response):\n\
         \x20   response.headers[\"Access-Control-Allow-Origin\"] = {origin}\n\
         \x20   response.headers[\"Access-Control-Allow-Methods\"] = \"POST\"\n\
         \x20   response.headers[\"Access-Control-Allow-Headers\"] = {allow}\n\
         \x20   return response\n\
         \n\
         \n\
         @app.route(\"/webhook\", methods=[\"POST\", \"OPTIONS\"])\n\
         def webhook():\n\
         \x20   if request.method == \"OPTIONS\":\n\
         \x20       return \"\", 204\n\
         {check}    print(request.method, request.path, request.get_data(as_text=True))\n\
         {wait}    return {body}, {status}, {{\"Content-Type\": {content_type}}}\n\
         \n\
         \n\
         if __name__ == \"__main__\":\n\
         \x20   app.run(port={PORT})\n",
        status = served.status,
        content_type = quoted(served.content_type),
        body = quoted(served.body),
        origin = quoted(served.origin),
        allow = quoted(ALLOW_HEADERS),
    );
    Starter {
        language: "Python (Flask)",
        file: "server.py",
        run: "pip install flask && python server.py",
        code,
    }
}

fn rust(served: &Served) -> Starter {
    let check = match served.auth {
        Some(auth) => format!(
            "    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());\n    \
             if authorization != Some({}) {{\n        \
             return (StatusCode::UNAUTHORIZED, [(header::CONTENT_TYPE, \"application/json\")], \
             r#\"{{\"ok\":false,\"error\":\"wrong or missing Authorization\"}}\"#);\n    }}\n",
            raw(auth)
        ),
        None => "    let _ = headers;\n".to_owned(),
    };
    let wait = if served.delay_ms > 0 {
        format!(
            "    tokio::time::sleep(std::time::Duration::from_millis({})).await;\n",
            served.delay_ms
        )
    } else {
        String::new()
    };
    let code = format!(
        "// src/main.rs: a webhook server for the Particle webhook demo.\n\
         use axum::{{\n\
         \x20   Router,\n\
         \x20   http::{{HeaderMap, HeaderValue, StatusCode, header}},\n\
         \x20   response::Response,\n\
         \x20   routing::post,\n\
         }};\n\
         \n\
         // Let the tutorial's page (and only it) call this server from the browser.\n\
         async fn allow_the_page(mut response: Response) -> Response {{\n\
         \x20   let headers = response.headers_mut();\n\
         \x20   headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static({origin}));\n\
         \x20   headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(\"POST\"));\n\
         \x20   headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static({allow}));\n\
         \x20   response\n\
         }}\n\
         \n\
         async fn webhook(headers: HeaderMap, body: String) -> (StatusCode, [(header::HeaderName, &'static str); 1], &'static str) {{\n\
         {check}    println!(\"POST /webhook {{body}}\");\n\
         {wait}    (StatusCode::from_u16({status}).unwrap(), [(header::CONTENT_TYPE, {content_type})], {body})\n\
         }}\n\
         \n\
         #[tokio::main]\n\
         async fn main() {{\n\
         \x20   let app = Router::new()\n\
         \x20       .route(\"/webhook\", post(webhook).options(|| async {{ StatusCode::NO_CONTENT }}))\n\
         \x20       .layer(axum::middleware::map_response(allow_the_page));\n\
         \x20   let listener = tokio::net::TcpListener::bind(\"127.0.0.1:{PORT}\").await.unwrap();\n\
         \x20   println!(\"listening on http://localhost:{PORT}/webhook\");\n\
         \x20   axum::serve(listener, app).await.unwrap();\n\
         }}\n",
        status = served.status,
        content_type = raw(served.content_type),
        body = raw(served.body),
        origin = raw(served.origin),
        allow = raw(ALLOW_HEADERS),
    );
    Starter {
        language: "Rust (axum)",
        file: "src/main.rs",
        run: "cargo new webhook-server (this file is its src/main.rs), then: cargo add axum tokio --features tokio/full && cargo run",
        code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "http://127.0.0.1:8080";

    #[test]
    fn each_starter_allows_the_page_and_only_it() {
        for starter in starters(&answer(200, "", true, 0), "s3cret", ORIGIN) {
            assert!(
                starter.code.contains("Access-Control-Allow-Origin")
                    || starter.code.contains("ACCESS_CONTROL_ALLOW_ORIGIN"),
                "{}",
                starter.language
            );
            assert!(starter.code.contains(ORIGIN), "{}", starter.language);
            assert!(
                starter.code.contains("Authorization, Content-Type"),
                "{}",
                starter.language
            );
            assert!(
                starter.code.contains("OPTIONS") || starter.code.contains(".options("),
                "{}",
                starter.language
            );
            assert!(!starter.code.contains("'*'") && !starter.code.contains("\"*\""));
        }
    }

    fn answer(status: u16, body: &str, require_auth: bool, delay_ms: u32) -> Answer {
        Answer {
            status,
            body: body.to_owned(),
            require_auth,
            delay_ms,
        }
    }

    #[test]
    fn each_starter_answers_the_chosen_status_and_body() {
        for starter in starters(&answer(201, r#"{"saved":1}"#, false, 0), "s3cret", ORIGIN) {
            assert!(starter.code.contains("201"), "{}", starter.language);
            assert!(
                starter.code.contains(r#"{\"saved\":1}"#)
                    || starter.code.contains(r#"{"saved":1}"#),
                "{}: {}",
                starter.language,
                starter.code
            );
            assert!(starter.code.contains("application/json"));
            assert!(
                !starter.code.contains("Authorization\")") || starter.language.contains("Rust")
            );
            assert!(!starter.code.contains("s3cret"), "no check, no secret");
        }
    }

    #[test]
    fn the_secret_check_is_there_only_when_required() {
        let with = starters(&answer(200, "", true, 0), "s3cret", ORIGIN);
        for starter in &with {
            assert!(
                starter.code.contains("Bearer s3cret"),
                "{}",
                starter.language
            );
            assert!(starter.code.contains("401") || starter.code.contains("UNAUTHORIZED"));
        }
        for starter in starters(&answer(200, "", false, 0), "s3cret", ORIGIN) {
            assert!(!starter.code.contains("Bearer"), "{}", starter.language);
        }
    }

    #[test]
    fn an_empty_body_follows_the_status() {
        let ok = starters(&answer(200, "", false, 0), "x", ORIGIN);
        assert!(ok[0].code.contains(r#"{\"ok\":true}"#));
        let failed = starters(&answer(500, "", false, 0), "x", ORIGIN);
        assert!(failed[0].code.contains(r#"{\"ok\":false,\"status\":500}"#));
        assert!(
            failed[2]
                .code
                .contains(r##"r#"{"ok":false,"status":500}"#"##)
        );
    }

    #[test]
    fn a_plain_body_is_sent_as_text() {
        for starter in starters(&answer(200, "thanks", false, 0), "x", ORIGIN) {
            assert!(starter.code.contains("text/plain"), "{}", starter.language);
        }
    }

    #[test]
    fn the_delay_is_waited() {
        let code: Vec<String> = starters(&answer(200, "", false, 1500), "x", ORIGIN)
            .into_iter()
            .map(|s| s.code)
            .collect();
        assert!(code[0].contains("setTimeout(resolve, 1500)"));
        assert!(code[1].contains("time.sleep(1.5)"));
        assert!(code[2].contains("from_millis(1500)"));
    }

    #[test]
    fn hostile_settings_stay_inside_their_literals() {
        // A body that would end each language's literal and run code if spliced in.
        let body = "\"); process.exit(1); (\"\n'''\"\"\" \"# \"## \\";
        let secret = "a\"b'c\\d\n#\"##";
        // In JavaScript and Python the text appears only escaped…
        for starter in &starters(&answer(200, body, true, 0), secret, ORIGIN)[..2] {
            assert!(
                !starter.code.contains("process.exit(1); (\"\n"),
                "{}",
                starter.language
            );
        }
        // …and in Rust inside a raw string whose fence is longer than any `#` run in it.
        let rust = &starters(&answer(200, body, true, 0), secret, ORIGIN)[2].code;
        assert!(rust.contains(&format!("r###\"{body}\"###")), "{rust}");
        let js = &starters(&answer(200, body, true, 0), secret, ORIGIN)[0].code;
        assert!(js.contains(&quoted(body)));
        assert_eq!(
            serde_json::from_str::<String>(&quoted(body)).unwrap(),
            body,
            "the literal reads back as the text"
        );
    }

    #[test]
    fn raw_strings_outlast_any_hash_run() {
        assert_eq!(raw("a"), "r#\"a\"#");
        assert_eq!(raw("\"#"), "r##\"\"#\"##");
        assert_eq!(raw("x\"###y"), "r####\"x\"###y\"####");
    }
}
