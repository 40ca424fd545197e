//! The check's probes and grading: each row's pass, fail and unknown, from answers alone.

use webhook_demo_core::{
    webhook::{self, EventContext, WebhookSettings},
    wire::ParticleEvent,
};

use super::{
    Outcome, Probe, Target,
    grade::{CHECKS, Status, rows},
    report,
};

fn target() -> Target {
    Target {
        url: "http://localhost:3000/webhook".into(),
        secret: "s3cret".into(),
        device_id: "0123456789abcdef01234567".into(),
        started_ms: 1_765_000_000_000,
    }
}

fn answered(status: u16, body: &str) -> Option<Outcome> {
    Some(Outcome::Answered {
        status,
        ms: 12,
        body: body.into(),
    })
}

/// The outcomes of a server that does everything right, records included.
fn good(target: &Target) -> Vec<Option<Outcome>> {
    let ts = Probe::Answers.published_at(target);
    let records = format!(r#"[["{}","{ts}"]]"#, target.device_id);
    vec![
        answered(200, r#"{"ok":true}"#),
        answered(401, ""),
        answered(401, ""),
        answered(200, r#"{"ok":true}"#),
        answered(200, &records),
        answered(400, ""),
        answered(200, ""),
        answered(200, ""),
    ]
}

/// Checks the statuses of every row for `outcomes`, by `data-check`.
fn check(outcomes: &[Option<Outcome>], expected: [Status; 6]) {
    let rows = rows(&target(), outcomes);
    let got: Vec<(&str, Status)> = rows.iter().map(|row| (row.check, row.status)).collect();
    let want: Vec<(&str, Status)> = CHECKS.into_iter().zip(expected).collect();
    assert_eq!(got, want, "{rows:#?}");
    for row in rows {
        assert!(!row.why.is_empty() && !row.sent.is_empty() && !row.got.is_empty());
    }
}

use Status::{Fail, Pass, Unknown};

#[test]
fn a_good_server_passes_every_check() {
    check(&good(&target()), [Pass; 6]);
}

#[test]
fn each_check_fails_on_its_own() {
    let target = target();
    let with = |index: Probe, outcome: Option<Outcome>| {
        let mut outcomes = good(&target);
        outcomes[index.index()] = outcome;
        outcomes
    };
    let ts = Probe::Answers.published_at(&target);
    check(
        &with(Probe::Answers, answered(500, "")),
        [Fail, Pass, Pass, Unknown, Pass, Unknown],
    );
    check(
        &with(Probe::WrongSecret, answered(200, "")),
        [Pass, Fail, Pass, Pass, Pass, Pass],
    );
    check(
        &with(Probe::NoSecret, answered(200, "")),
        [Pass, Fail, Pass, Pass, Pass, Pass],
    );
    check(
        &with(Probe::Answers, Some(Outcome::TimedOut)),
        [Fail, Unknown, Fail, Unknown, Unknown, Unknown],
    );
    check(
        &with(Probe::Records, answered(200, &format!("{ts} {ts}"))),
        [Pass, Pass, Pass, Fail, Pass, Pass],
    );
    check(
        &with(Probe::Repeat, answered(409, "")),
        [Pass, Pass, Pass, Fail, Pass, Pass],
    );
    check(
        &with(Probe::NonJson, answered(500, "")),
        [Pass, Pass, Pass, Pass, Fail, Pass],
    );
    check(
        &with(Probe::LongValue, Some(Outcome::Failed("TypeError".into()))),
        [Pass, Pass, Pass, Pass, Fail, Pass],
    );
    check(
        &with(Probe::Answers, answered(200, &"x".repeat(513))),
        [Pass, Pass, Pass, Pass, Pass, Fail],
    );
}

#[test]
fn what_the_check_cannot_see_is_unknown() {
    let target = target();
    let mut outcomes = good(&target);
    outcomes[Probe::Records.index()] = answered(404, "");
    check(&outcomes, [Pass, Pass, Pass, Unknown, Pass, Pass]);
    outcomes[Probe::Records.index()] = answered(200, "[]");
    check(&outcomes, [Pass, Pass, Pass, Unknown, Pass, Pass]);
    let unreachable = vec![Some(Outcome::Failed("TypeError: Failed to fetch".into())); 8];
    check(
        &unreachable,
        [Fail, Unknown, Unknown, Unknown, Unknown, Unknown],
    );
    let redirected = vec![Some(Outcome::Redirected); 8];
    check(
        &redirected,
        [Fail, Unknown, Unknown, Unknown, Unknown, Unknown],
    );
}

#[test]
fn the_chunks_row_counts_the_devices_events() {
    let target = target();
    let mut outcomes = good(&target);
    outcomes[0] = answered(200, &"x".repeat(1300));
    let rows = rows(&target, &outcomes);
    assert!(rows[5].got.contains("3 chunks"), "{}", rows[5].got);
    outcomes[0] = answered(200, "");
    assert_eq!(rows_of(&target, &outcomes)[5].status, Pass);
}

fn rows_of(target: &Target, outcomes: &[Option<Outcome>]) -> Vec<super::grade::Row> {
    rows(target, outcomes)
}

/// The probe is the request the cloud sends for the demo's webhook: the same headers (less the
/// User-Agent a browser sets itself) and, byte for byte, the same body.
#[test]
fn the_first_probe_is_the_webhooks_request() {
    let target = target();
    let probe = Probe::Answers.request(&target);
    let settings: WebhookSettings = serde_json::from_value(crate::demo::webhook::webhook_settings(
        &target.url,
        &target.secret,
    ))
    .expect("the demo's settings");
    let event = ParticleEvent {
        name: crate::demo::webhook::EVENT_NAME.into(),
        data: super::DATA.into(),
        published_at: Probe::Answers.published_at(&target),
        coreid: target.device_id.clone(),
    };
    let context = EventContext {
        name: event.name.clone(),
        data: event.data.clone(),
        published_at: event.published_at.clone(),
        coreid: event.coreid.clone(),
        event_id: "1".into(),
        product_id: Some(1),
        product_user_id: None,
        product_version: None,
    };
    let sent = webhook::build_request(&settings, &context).expect("the webhook's request");
    assert_eq!(probe.method, sent.method);
    assert_eq!(probe.url, sent.url);
    assert_eq!(probe.body, sent.body);
    let mut headers: Vec<(String, String)> = sent
        .headers
        .into_iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("user-agent"))
        .collect();
    headers.sort();
    let mut ours = probe.headers.clone();
    ours.sort();
    assert_eq!(ours, headers);
    // A retry is the same request; the others are events of their own.
    assert_eq!(Probe::Repeat.request(&target), probe);
    assert_ne!(Probe::NoSecret.request(&target).body, probe.body);
    assert!(
        !Probe::NoSecret
            .request(&target)
            .headers
            .iter()
            .any(|(name, _)| name == "Authorization")
    );
    let long = Probe::LongValue.request(&target).body.expect("a body");
    assert!(long.contains(&format!("\"{}\"", "x".repeat(998))));
}

#[test]
fn the_report_masks_secrets() {
    let target = target();
    let rows = rows(&target, &good(&target));
    let text = report::text(
        "http://me:pw@localhost:3000/webhook?key=s3cret&x=1",
        "s3cret",
        "2026-12-07T23:20:29.123Z",
        &rows,
    );
    assert!(!text.contains("s3cret") && !text.contains("pw@"), "{text}");
    assert!(text.contains("http://me:••••••••@localhost:3000/webhook?key=••••••••&x=••••••••"));
    assert!(text.contains("Passed: 6 of 6") && text.contains("2026-12-07T23:20:29.123Z"));
    assert_eq!(text.matches("✓").count(), 6);
    assert_eq!(
        report::masked_url("http://localhost:3000/webhook", ""),
        "http://localhost:3000/webhook"
    );
}

/// Check needs the demo's secret and an address typed; answers of an earlier run are ignored,
/// and the result is announced when the last probe is back.
#[test]
fn a_run_sends_every_probe_and_keeps_only_its_own_answers() {
    use crate::{
        check::Msg,
        msg::{Effect, Msg as Root},
        update::{tests::signed_in_with_lists, update},
    };
    let mut state = signed_in_with_lists();
    let run = |url: &str| {
        Root::Check(Msg::Run {
            url: url.into(),
            now_ms: 1_765_000_000_000,
        })
    };
    assert!(update(&mut state, run("http://localhost:3000/webhook")).is_empty());
    assert!(
        state
            .check
            .error
            .as_deref()
            .is_some_and(|e| e.contains("Start the demo"))
    );
    state.demo.secret = "s3cret".into();
    assert!(update(&mut state, run("localhost:3000")).is_empty());
    assert!(
        state
            .check
            .error
            .as_deref()
            .is_some_and(|e| e.contains("http://"))
    );
    let effects = update(&mut state, run("http://localhost:3000/webhook"));
    let Some(Effect::CheckServer { run: 1, requests }) = effects.last() else {
        panic!("{effects:?}");
    };
    assert_eq!(requests.len(), Probe::ALL.len());
    assert!(
        requests
            .iter()
            .all(|r| r.url == "http://localhost:3000/webhook")
    );
    let probed = |run, index| {
        Root::Check(Msg::Probed {
            run,
            index,
            outcome: Outcome::Failed("TypeError".into()),
        })
    };
    update(&mut state, probed(0, 0));
    assert!(state.check.outcomes.iter().all(Option::is_none));
    for index in 0..Probe::ALL.len() - 1 {
        assert!(update(&mut state, probed(1, index)).is_empty());
    }
    assert!(state.check.running());
    let effects = update(&mut state, probed(1, Probe::ALL.len() - 1));
    assert!(state.check.done());
    assert!(
        matches!(&effects[..], [Effect::Announce(said)] if said.contains("0 of 6")),
        "{effects:?}"
    );
}
