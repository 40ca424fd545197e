//! The check of the learner's own server: Check starts a run of probes (sent in order by the
//! browser layer), each answer is kept in its place, and the report is copied or downloaded.
//! The webhook's secret is the demo's, which the root lends with the message.

use webhook_demo_core::time::iso8601_millis;

use super::Context;
use crate::{
    check::{Check, Msg, NO_DEVICE, Probe, Target, check_url, grade, report},
    msg::Effect,
};

pub fn update(check: &mut Check, context: &Context, secret: &str, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Run { url, now_ms } => {
            check.typed = url.clone();
            if check.running() {
                return Vec::new();
            }
            match check_url(&url) {
                Ok(url) if !secret.is_empty() => start(check, context, secret, url, now_ms),
                Ok(_) => {
                    check.error = Some(
                        "Start the demo first: the check sends your webhook's secret, as the cloud does."
                            .to_owned(),
                    );
                    Vec::new()
                }
                Err(reason) => {
                    check.error = Some(reason);
                    Vec::new()
                }
            }
        }
        Msg::Probed {
            run,
            index,
            outcome,
        } => {
            if run != check.run {
                return Vec::new();
            }
            if let Some(slot) = check.outcomes.get_mut(index) {
                *slot = Some(outcome);
            }
            match (&check.target, check.done()) {
                (Some(target), true) => {
                    let rows = grade::rows(target, &check.outcomes);
                    let passed = rows
                        .iter()
                        .filter(|row| row.status == grade::Status::Pass)
                        .count();
                    vec![Effect::Announce(format!(
                        "Server check done: {passed} of {} checks passed.",
                        rows.len()
                    ))]
                }
                _ => Vec::new(),
            }
        }
        Msg::CopyReport => report_text(check)
            .map(Effect::CopyText)
            .into_iter()
            .collect(),
        Msg::DownloadReport => report_text(check)
            .map(|text| Effect::OfferDownload {
                file: report::FILE,
                mime: "text/plain",
                text,
            })
            .into_iter()
            .collect(),
    }
}

fn start(
    check: &mut Check,
    context: &Context,
    secret: &str,
    url: String,
    now_ms: u64,
) -> Vec<Effect> {
    check.error = None;
    check.run += 1;
    let target = Target {
        url,
        secret: secret.to_owned(),
        device_id: context
            .lists
            .selected_device
            .clone()
            .unwrap_or_else(|| NO_DEVICE.to_owned()),
        started_ms: now_ms,
    };
    let requests = Probe::ALL.map(|probe| probe.request(&target)).to_vec();
    check.outcomes = vec![None; requests.len()];
    check.target = Some(target);
    vec![
        Effect::Announce("Checking your server…".to_owned()),
        Effect::CheckServer {
            run: check.run,
            requests,
        },
    ]
}

/// The report of the run shown, once it is done.
fn report_text(check: &Check) -> Option<String> {
    let target = check.target.as_ref().filter(|_| check.done())?;
    let rows = grade::rows(target, &check.outcomes);
    let when = iso8601_millis(target.started_ms);
    Some(report::text(&target.url, &target.secret, &when, &rows))
}
