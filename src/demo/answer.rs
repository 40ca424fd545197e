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
