//! A failed Particle API call, and how the page says it: in words a learner can act on.

/// A failed Particle API call: the HTTP status (0 when there was no answer) and Particle's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    pub status: u16,
    pub error: String,
    pub description: String,
    /// Present on `mfa_required`.
    pub mfa_token: Option<String>,
}

/// A failure in words a learner can act on.
pub fn describe(failure: &ApiFailure) -> String {
    match (failure.status, failure.error.as_str()) {
        (0, _) => format!(
            "Could not reach the Particle cloud ({}). Check your connection and try again.",
            failure.description
        ),
        (_, "invalid_grant") if failure.description == "User credentials are invalid" => {
            "That email and password do not match a Particle account.".to_owned()
        }
        (401, _) if failure.description.starts_with("This sandbox expired") => {
            // "This sandbox expired after N minutes without use; …": the server's own figure.
            let minutes = failure
                .description
                .split_whitespace()
                .find_map(|word| word.parse::<u64>().ok());
            match minutes {
                Some(minutes) => format!(
                    "Your sandbox expired after {minutes} minutes without use; press Try the \
                     sandbox to start again."
                ),
                None => "Your sandbox expired; press Try the sandbox to start again.".to_owned(),
            }
        }
        (401, _) => "The access token is invalid or has expired. Sign in again.".to_owned(),
        (503, _) if failure.description.starts_with("The sandbox is full") => {
            "The sandbox is full right now; try again in a minute.".to_owned()
        }
        (429, _) => "The Particle cloud is rate-limiting requests. Wait a minute, then try again."
            .to_owned(),
        (_, _) if !failure.description.is_empty() => format!(
            "{} (HTTP {}).",
            failure.description.trim_end_matches('.'),
            failure.status
        ),
        (status, _) => format!("The Particle cloud answered HTTP {status}."),
    }
}
