//! Grading: the outcomes of a run's probes, turned into the six rows the panel shows, each with
//! its status, what was sent, what came back, and one sentence on why it matters (and, for a ✗,
//! how to fix it). Pure, so every row's every verdict is tested natively.

use webhook_demo_core::webhook::{CHUNK_BYTES, MAX_RESPONSE_BYTES, response_chunks};

use super::{LIMIT_MS, Outcome, Probe, Target};

/// The checks, in the order shown: each one's `data-check`.
pub const CHECKS: [&str; 6] = [
    "answers",
    "secret",
    "in-time",
    "repeat",
    "odd-bodies",
    "chunks",
];

/// A row's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    /// Not known: the server did not answer, or kept back what the check needs to see.
    Unknown,
}

impl Status {
    /// Its `data-status`.
    pub fn name(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Unknown => "unknown",
        }
    }

    /// The mark shown beside the row.
    pub fn mark(self) -> &'static str {
        match self {
            Status::Pass => "✓",
            Status::Fail => "✗",
            Status::Unknown => "?",
        }
    }
}

/// One check's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub check: &'static str,
    pub title: &'static str,
    pub status: Status,
    pub sent: String,
    pub got: String,
    pub why: String,
}

/// The rows of a finished run, in `CHECKS` order.
pub fn rows(target: &Target, outcomes: &[Option<Outcome>]) -> Vec<Row> {
    let of = |probe: Probe| outcomes.get(probe.index()).cloned().flatten();
    let first = of(Probe::Answers);
    let reached = matches!(first, Some(Outcome::Answered { .. }));
    let mut rows = vec![
        answers(first.as_ref()),
        secret(reached, of(Probe::NoSecret), of(Probe::WrongSecret)),
        in_time(first.as_ref()),
        repeat(
            target,
            first.as_ref(),
            of(Probe::Repeat),
            of(Probe::Records),
        ),
        odd_bodies(
            reached,
            [
                of(Probe::EmptyData),
                of(Probe::NonJson),
                of(Probe::LongValue),
            ],
        ),
        chunks(first.as_ref()),
    ];
    for (row, check) in rows.iter_mut().zip(CHECKS) {
        row.check = check;
    }
    rows
}

/// An outcome in a few words: `HTTP 200 in 12 ms`.
pub fn said(outcome: Option<&Outcome>) -> String {
    match outcome {
        Some(Outcome::Answered { status, ms, .. }) => format!("HTTP {status} in {ms} ms"),
        Some(Outcome::Redirected) => "a redirect (3xx), not followed".to_owned(),
        Some(Outcome::TimedOut) => format!("no answer within {} s", LIMIT_MS / 1000),
        Some(Outcome::Failed(reason)) => format!("no answer ({reason})"),
        None => "nothing yet".to_owned(),
    }
}

fn status_of(outcome: Option<&Outcome>) -> Option<u16> {
    match outcome {
        Some(Outcome::Answered { status, .. }) => Some(*status),
        _ => None,
    }
}

fn ok(status: u16) -> bool {
    (200..300).contains(&status)
}

fn row(title: &'static str, status: Status, sent: &str, got: String, why: &str) -> Row {
    Row {
        check: "",
        title,
        status,
        sent: sent.to_owned(),
        got,
        why: why.to_owned(),
    }
}

const UNREACHED: &str = "Not checked: your server did not answer the first request.";

fn answers(first: Option<&Outcome>) -> Row {
    let sent = "POST with the webhook's headers (Content-Type, Authorization: Bearer and the secret) and its body";
    let title = "Answers the webhook's request with 2xx";
    let got = said(first);
    let (status, why) = match first {
        Some(Outcome::Answered { status, .. }) if ok(*status) => (
            Status::Pass,
            "Particle counts only a 2xx as delivered; your server accepts the webhook as it is sent.",
        ),
        Some(Outcome::Answered {
            status: 401 | 403, ..
        }) => (
            Status::Fail,
            "Your server refused the webhook's own secret: start it with WEBHOOK_SECRET set to the secret in the webhook settings above.",
        ),
        Some(Outcome::Answered { .. }) => (
            Status::Fail,
            "Any answer but 2xx is a hook-error, and many in a row put the webhook to sleep: answer 200 once you have read the data.",
        ),
        Some(Outcome::Redirected) => (
            Status::Fail,
            "Particle does not follow redirects, so a 3xx is an error: give the webhook your server's final address.",
        ),
        Some(Outcome::TimedOut) => (
            Status::Fail,
            "Your server kept the request past 20 s, so the cloud gives up: answer first, then do slow work.",
        ),
        Some(Outcome::Failed(_)) | None => (
            Status::Fail,
            "The page could not reach your server: is it running at this address, and does it allow this page's origin (CORS), as the starter servers do?",
        ),
    };
    row(title, status, sent, got, why)
}

fn secret(reached: bool, none: Option<Outcome>, wrong: Option<Outcome>) -> Row {
    let title = "Refuses a request without the right secret (401 or 403)";
    let sent = "the same request without Authorization, then with a wrong secret";
    let got = format!(
        "without: {}; wrong: {}",
        said(none.as_ref()),
        said(wrong.as_ref())
    );
    let refused =
        |outcome: &Option<Outcome>| matches!(status_of(outcome.as_ref()), Some(401 | 403));
    let (status, why) = if !reached {
        (Status::Unknown, UNREACHED)
    } else if refused(&none) && refused(&wrong) {
        (
            Status::Pass,
            "Anyone who learns your server's address could send it data; the secret is what tells the webhook apart.",
        )
    } else {
        (
            Status::Fail,
            "Anyone who learns your address can send your server data: compare Authorization with \"Bearer \" and your WEBHOOK_SECRET, and answer 401 when they differ.",
        )
    };
    row(title, status, sent, got, why)
}

fn in_time(first: Option<&Outcome>) -> Row {
    let title = "Answers within the cloud's 20 s";
    let sent = "the webhook's request, timed";
    let (status, got, why) = match first {
        Some(Outcome::Answered { ms, .. }) if *ms < LIMIT_MS => (
            Status::Pass,
            format!("{ms} ms of the {} s Particle waits", LIMIT_MS / 1000),
            "Particle waits 20 s for an answer, then counts the delivery as failed (ETIMEDOUT) and sends it again.",
        ),
        Some(Outcome::Answered { .. } | Outcome::TimedOut) => (
            Status::Fail,
            format!("no answer within {} s", LIMIT_MS / 1000),
            "Past 20 s Particle gives up (ETIMEDOUT) and retries: answer at once and do slow work (a database, another API) after answering.",
        ),
        Some(Outcome::Redirected | Outcome::Failed(_)) | None => {
            (Status::Unknown, said(first), UNREACHED)
        }
    };
    row(title, status, sent, got, why)
}

fn repeat(
    target: &Target,
    first: Option<&Outcome>,
    again: Option<Outcome>,
    records: Option<Outcome>,
) -> Row {
    let title = "Handles a repeated event once";
    let sent = "the first request again (same deviceId and ts, as a retry sends it), then GET on the same address for the events your server handled";
    let ts = Probe::Repeat.published_at(target);
    let seen = match &records {
        Some(Outcome::Answered { status, body, .. }) if ok(*status) => {
            Some(body.matches(&ts).count())
        }
        _ => None,
    };
    let got = match seen {
        Some(times) => format!(
            "{}; its records show the event {times} time{}",
            said(again.as_ref()),
            if times == 1 { "" } else { "s" }
        ),
        None => format!(
            "{}; its records: {}",
            said(again.as_ref()),
            said(records.as_ref())
        ),
    };
    let (status, why) = match (status_of(first), status_of(again.as_ref()), seen) {
        (Some(first), _, _) if !ok(first) => (
            Status::Unknown,
            "Not checked: the first request was not answered with 2xx.",
        ),
        (None, _, _) => (Status::Unknown, UNREACHED),
        (_, Some(again), _) if !ok(again) => (
            Status::Fail,
            "A retry your server refuses is a hook-error and is sent again: answer a repeated event 2xx without handling it again.",
        ),
        (_, None, _) => (
            Status::Fail,
            "A retry that gets no answer fails again: answer a repeated event 2xx without handling it again.",
        ),
        (_, Some(_), Some(1)) => (
            Status::Pass,
            "Particle sends an event again when an answer fails or is late, so a server that handles it once keeps one row per event.",
        ),
        (_, Some(_), Some(0)) => (
            Status::Unknown,
            "It answered the repeat, but its records do not show the event, so the check cannot tell whether it was handled twice.",
        ),
        (_, Some(_), Some(_)) => (
            Status::Fail,
            "It handled the retry as a new event: keep the deviceId and ts of each event handled and answer a repeat 2xx without handling it again.",
        ),
        (_, Some(_), None) => (
            Status::Unknown,
            "It answered the repeat, but the check could not see its records (the starter servers list them for GET on the same address), so it cannot tell whether the event was handled twice.",
        ),
    };
    row(title, status, sent, got, why)
}

fn odd_bodies(reached: bool, answers: [Option<Outcome>; 3]) -> Row {
    let title = "Survives bodies it did not expect";
    let sent =
        "the webhook's request with empty data, with non-JSON data, and with a 1,000-byte value";
    let names = ["empty", "non-JSON", "1,000 bytes"];
    let got = names
        .iter()
        .zip(&answers)
        .map(|(name, outcome)| format!("{name}: {}", said(outcome.as_ref())))
        .collect::<Vec<_>>()
        .join("; ");
    let crashed = answers.iter().any(|outcome| match outcome {
        Some(Outcome::Answered { status, .. }) => *status >= 500,
        Some(Outcome::Redirected) => false,
        Some(Outcome::TimedOut | Outcome::Failed(_)) | None => true,
    });
    let (status, why) = if !reached {
        (Status::Unknown, UNREACHED)
    } else if crashed {
        (
            Status::Fail,
            "Particle passes on whatever a device publishes, and a 5xx (or a crash) is a hook-error that is retried: parse the body without trusting it and answer 400 when it makes no sense (with your CORS headers, or this page cannot read the answer).",
        )
    } else {
        (
            Status::Pass,
            "A device can publish empty, non-JSON or long data, and the webhook's body then is not what your code expects; your server answers without crashing.",
        )
    };
    row(title, status, sent, got, why)
}

fn chunks(first: Option<&Outcome>) -> Row {
    let title = "Its answer fits the device's hook-response";
    let sent = "the webhook's request; the answer's body is cut as the cloud cuts it";
    let (status, got, why) = match first {
        Some(Outcome::Answered { status, body, .. }) if ok(*status) => {
            let count = response_chunks(body).len();
            let got = format!(
                "{} bytes: {count} chunk{} of at most {CHUNK_BYTES} bytes",
                body.len(),
                if count == 1 { "" } else { "s" }
            );
            if body.len() > MAX_RESPONSE_BYTES {
                (
                    Status::Fail,
                    got,
                    "The cloud publishes only the first 100 KB of an answer: the device never gets the rest. Answer only what the device needs.",
                )
            } else if count > 1 {
                (
                    Status::Fail,
                    got,
                    "Your device gets this answer as separate hook-response events /0, /1, … that may arrive out of order: keep the answer under 512 bytes (only what the device needs), or join the parts in the firmware.",
                )
            } else {
                (
                    Status::Pass,
                    got,
                    "The cloud publishes an answer to the device in 512-byte hook-response chunks; yours arrives whole, in one event (none if empty).",
                )
            }
        }
        _ => (
            Status::Unknown,
            said(first),
            "Not checked: only a 2xx answer comes back to the device as hook-response events.",
        ),
    };
    row(title, status, sent, got, why)
}
