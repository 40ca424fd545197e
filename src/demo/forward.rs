//! Forward to my server: each request the relay delivers is passed on by the page to the
//! learner's own server (same method, headers and body), and that server's answer becomes the
//! webhook's answer through the relay's page-answers mode. When the learner's server cannot be
//! reached (down, or no CORS headers, which the browser reports the same way), the page answers
//! with its own answer and says why.

use webhook_demo_core::wire::{self, HookRequest, PageAnswer};

use super::{Answer, requests::replay_headers};

/// How long the relay waits for the page's answer while forwarding: the learner's server gets
/// most of Particle's 20 s, and the relay still answers before the cloud gives up.
pub const DEADLINE_MS: u32 = wire::MAX_DEADLINE_MS;

/// The address the learner typed, checked: `None` turns forwarding off.
pub fn check(typed: &str) -> Result<Option<String>, String> {
    let url = typed.trim();
    if url.is_empty() {
        Ok(None)
    } else if url.starts_with("http://") || url.starts_with("https://") {
        Ok(Some(url.to_owned()))
    } else {
        Err("Your server's address starts with http:// or https://, e.g. http://localhost:3000/webhook.".into())
    }
}

/// Where the page answers request `hook_id`: the relay's `respond` URL beside its control URL.
pub fn respond_url(control_url: &str, hook_id: u64) -> Option<String> {
    let (base, session) = control_url.rsplit_once("/control/")?;
    Some(format!("{base}/respond/{session}/{hook_id}"))
}

/// The headers passed on: the request's own, less those the browser sets itself.
pub fn headers(hook: &HookRequest) -> Vec<(String, String)> {
    replay_headers(hook)
        .into_iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("user-agent"))
        .collect()
}

/// The body of a `respond` request: the answer the relay sends to the cloud.
pub fn page_answer(status: u16, content_type: &str, body: &str) -> String {
    let answer = PageAnswer {
        status,
        content_type: content_type.to_owned(),
        body: body.to_owned(),
    };
    // Serializing these fields cannot fail; an error would need a map with non-string keys.
    serde_json::to_string(&answer).unwrap_or_default()
}

/// The page's own answer, used when the learner's server cannot be reached.
pub fn fallback(answer: &Answer, hook_id: u64) -> String {
    let body = if answer.body.is_empty() {
        let ok = (200..300).contains(&answer.status);
        format!(r#"{{"ok":{ok},"hookId":{hook_id},"forwarded":false}}"#)
    } else {
        answer.body.clone()
    };
    page_answer(answer.status, "application/json", &body)
}

/// Why forwarding failed, and what the learner can do about it.
pub fn failure(url: &str, reason: &str) -> String {
    format!(
        "The page could not pass the request on to {url} ({reason}), so it answered with its own \
         answer instead. Is your server running, and does it send the CORS headers (see \"What \
         your server must send\")? The browser refuses an answer without them."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_answers() {
        assert_eq!(check("  "), Ok(None));
        assert_eq!(
            check(" http://localhost:3000/webhook "),
            Ok(Some("http://localhost:3000/webhook".into()))
        );
        assert!(check("localhost:3000").is_err());
        assert_eq!(
            respond_url("http://h:8080/relay/control/abc", 7).as_deref(),
            Some("http://h:8080/relay/respond/abc/7")
        );
        assert_eq!(respond_url("", 7), None);
        let answer = Answer {
            status: 500,
            ..Answer::default()
        };
        // What the relay reads it as.
        let sent: PageAnswer = serde_json::from_str(&fallback(&answer, 3)).expect("an answer");
        assert_eq!(
            sent,
            PageAnswer {
                status: 500,
                content_type: "application/json".into(),
                body: r#"{"ok":false,"hookId":3,"forwarded":false}"#.into(),
            }
        );
        assert!(failure("http://x", "TypeError: Failed to fetch").contains("CORS headers"));
    }
}
