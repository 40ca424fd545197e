//! The report a learner keeps: the address checked (any secret in it masked), when, and each
//! row's mark, title, answer and sentence, as plain text to copy or download.

use super::grade::{Row, Status};
use crate::demo::SECRET_MASK;

/// The file the report downloads as.
pub const FILE: &str = "server-check.txt";

/// `url` with what may be a secret masked: a password in it, every query value, and the
/// webhook's own secret wherever it appears.
pub fn masked_url(url: &str, secret: &str) -> String {
    let (rest, query) = match url.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (url, None),
    };
    let mut out = match rest.split_once("://") {
        Some((scheme, after)) => {
            let (authority, path) = after.split_at(after.find('/').unwrap_or(after.len()));
            let authority = match authority.rsplit_once('@') {
                Some((user, host)) => {
                    let user = user.split(':').next().unwrap_or_default();
                    format!("{user}:{SECRET_MASK}@{host}")
                }
                None => authority.to_owned(),
            };
            format!("{scheme}://{authority}{path}")
        }
        None => rest.to_owned(),
    };
    if let Some(query) = query {
        let fields: Vec<String> = query
            .split('&')
            .map(|field| match field.split_once('=') {
                Some((name, _)) => format!("{name}={SECRET_MASK}"),
                None => field.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&fields.join("&"));
    }
    hide(&out, secret)
}

/// `text` with the webhook's secret masked wherever it appears.
fn hide(text: &str, secret: &str) -> String {
    if secret.is_empty() {
        text.to_owned()
    } else {
        text.replace(secret, SECRET_MASK)
    }
}

/// The report of `rows`, checked at `when` (Particle's ISO form, UTC).
pub fn text(url: &str, secret: &str, when: &str, rows: &[Row]) -> String {
    let passed = rows.iter().filter(|row| row.status == Status::Pass).count();
    let mut text = format!(
        "Webhook server check\nServer: {}\nChecked: {when}\nPassed: {passed} of {}\n",
        masked_url(url, secret),
        rows.len()
    );
    for row in rows {
        text.push_str(&format!(
            "\n{} {} ({})\n  Sent: {}\n  Got: {}\n  {}\n",
            row.status.mark(),
            row.title,
            row.check,
            row.sent,
            hide(&row.got, secret),
            row.why
        ));
    }
    text
}
