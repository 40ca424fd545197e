//! The timeline: hops matched to their cycle and attempt whatever order the streams bring them in.

use super::*;

const AT: &str = "2026-11-28T10:00:00.100Z";

fn key(device: &str, at: &str) -> (String, String) {
    (device.to_owned(), at.to_owned())
}

#[test]
fn hops_find_their_cycle_whichever_stream_brings_them_first() {
    let mut timeline = Timeline::default();
    let ms = |text: &str| parse_iso8601_millis(text).expect("a time");
    // The request overtakes its event.
    timeline.request(&key("api", AT), 7, ms("2026-11-28T10:00:00.160Z"), false);
    assert!(!timeline.published("api", AT), "the request made the cycle");
    let sent = timeline.webhook_event("hook-sent/WebhookDemo01", "undefined", AT);
    assert_eq!(sent, Some(((key("api", AT), 0), false)));
    assert_eq!(
        timeline.response(7, ms("2026-11-28T10:00:00.170Z"), 200, 1300),
        Some((key("api", AT), 0))
    );
    for (part, later) in [(0, false), (1, true), (2, true)] {
        let name = format!("api/hook-response/WebhookDemo01/{part}");
        assert_eq!(
            timeline.webhook_event(&name, "{}", AT),
            Some(((key("api", AT), 0), later))
        );
    }
    let cycle = &timeline.cycles[0];
    assert!(cycle.finished());
    assert_eq!(
        (cycle.latest().chunks, cycle.latest().answer),
        (3, Some((200, 1300)))
    );
}

#[test]
fn a_request_without_an_event_takes_no_cloud_hop() {
    let mut timeline = Timeline::default();
    // A request sent by hand: its cycle never sees an event.
    timeline.request(&key("api", "2026-01-01T00:00:00.000Z"), 1, 1, false);
    timeline.published("api", AT);
    assert_eq!(
        timeline.webhook_event("hook-sent/WebhookDemo01", "undefined", AT),
        Some(((key("api", AT), 0), false))
    );
    assert_eq!(
        timeline.webhook_event("api/hook-error/WebhookDemo01/0", "error status 400", AT),
        Some(((key("api", AT), 0), false))
    );
    assert!(!timeline.cycles[0].finished());
}

#[test]
fn interleaved_devices_keep_their_own_outcomes() {
    let mut timeline = Timeline::default();
    let (a, b) = ("2026-11-28T10:00:00.100Z", "2026-11-28T10:00:00.105Z");
    timeline.published("e00a", a);
    timeline.published("e00b", b);
    assert_eq!(
        timeline.webhook_event("hook-sent/WebhookDemo01", "undefined", a),
        Some(((key("e00a", a), 0), false))
    );
    assert_eq!(
        timeline.webhook_event("hook-sent/WebhookDemo01", "undefined", b),
        Some(((key("e00b", b), 0), false))
    );
    // The second device's answer comes first.
    assert_eq!(
        timeline.webhook_event("e00b/hook-error/WebhookDemo01/0", "error status 500", b),
        Some(((key("e00b", b), 0), false))
    );
    assert_eq!(
        timeline.webhook_event("e00a/hook-response/WebhookDemo01/0", "{}", a),
        Some(((key("e00a", a), 0), false))
    );
    assert!(timeline.cycles[0].latest().at[OUTCOME].is_some());
    assert_eq!(
        timeline.cycles[1].latest().failure.as_deref(),
        Some("error status 500")
    );
}

#[test]
fn silence_fails_the_last_hop_and_only_the_newest_cycles_are_kept() {
    let mut timeline = Timeline::default();
    let first = key("e00f", "2026-11-28T10:01:00.000Z");
    timeline.published(&first.0, &first.1);
    timeline.give_up(&first);
    assert_eq!(
        timeline.cycles[0].latest().failure.as_deref(),
        Some("no answer within 20 s: Particle gave up")
    );
    for n in 0..(CYCLES + 3) {
        timeline.published(
            "api",
            &format!("2026-11-28T10:{:02}:{:02}.000Z", n / 60, n % 60),
        );
    }
    // The newest by publish time: the first cycle, published last, stays; the oldest go.
    assert_eq!(timeline.cycles.len(), CYCLES);
    assert_eq!(timeline.cycles[0].key.1, "2026-11-28T10:00:04.000Z");
    assert_eq!(timeline.cycles[CYCLES - 1].key, first);
}

#[test]
fn cycles_keep_the_order_the_page_first_heard_of_them() {
    let mut timeline = Timeline::default();
    let at = |text: &str| parse_iso8601_millis(text).expect("a time");
    timeline.published("api", "2026-11-28T10:00:10.000Z");
    // A request of an older event (a relay replaying after a reload) takes its place by arrival.
    let old = key("api", "2026-11-28T10:00:05.000Z");
    timeline.request(&old, 1, at("2026-11-28T10:00:05.100Z"), false);
    // A request edited by hand to an old time but sent now is the newest.
    let edited = key("api", "2026-01-01T00:00:00.000Z");
    timeline.request(&edited, 2, at("2026-11-28T10:00:20.000Z"), true);
    let order: Vec<&str> = timeline.cycles.iter().map(|c| c.key.1.as_str()).collect();
    assert_eq!(
        order,
        [
            "2026-11-28T10:00:05.000Z",
            "2026-11-28T10:00:10.000Z",
            "2026-01-01T00:00:00.000Z"
        ]
    );
}

/// A cycle of the timeout preset (hook 3): published at `AT`, its request received 60 ms
/// later; the cloud's `ETIMEDOUT` at 20 s and the server's answer at 21 s, brought in `order`.
pub(crate) fn timed_out(order: [&str; 2]) -> Cycle {
    let mut timeline = Timeline::default();
    let ms = |text: &str| parse_iso8601_millis(text).expect("a time");
    timeline.published("api", AT);
    timeline.webhook_event("hook-sent/WebhookDemo01", "undefined", AT);
    timeline.request(&key("api", AT), 3, ms("2026-11-28T10:00:00.160Z"), false);
    for what in order {
        if what == "error" {
            timeline.webhook_event(
                "api/hook-error/WebhookDemo01/0",
                "ETIMEDOUT",
                "2026-11-28T10:00:20.160Z",
            );
        } else {
            timeline.response(3, ms("2026-11-28T10:00:21.160Z"), 200, 12);
        }
    }
    timeline.cycles.remove(0)
}

#[test]
fn an_answer_after_the_cloud_gave_up_is_late_whichever_stream_brings_it_first() {
    for order in [["error", "answer"], ["answer", "error"]] {
        let cycle = timed_out(order);
        let attempt = cycle.latest();
        assert!(attempt.gave_up(), "{order:?}");
        assert!(attempt.late(), "{order:?}");
        assert_eq!(attempt.late_by_ms(), Some(1000), "{order:?}");
        assert_eq!(
            attempt.at[OUTCOME], None,
            "{order:?}: no hook-response came of it"
        );
    }
}

#[test]
fn an_answer_that_made_the_hook_error_is_not_late() {
    let mut timeline = Timeline::default();
    timeline.published("api", AT);
    timeline.request(&key("api", AT), 4, 1, false);
    timeline.response(4, 2, 400, 12);
    timeline.webhook_event("api/hook-error/WebhookDemo01/0", "error status 400", AT);
    let attempt = timeline.cycles[0].latest();
    assert!(!attempt.gave_up() && !attempt.late());
    // Silence past Particle's time is giving up, and an answer after it is late too.
    let silent = key("e00f", AT);
    timeline.published(&silent.0, &silent.1);
    timeline.request(&silent, 5, 1, false);
    timeline.give_up(&silent);
    timeline.response(5, 21_000, 200, 12);
    let attempt = timeline.find(&silent).expect("the cycle").latest();
    assert!(attempt.late());
    assert_eq!(
        attempt.late_by_ms(),
        None,
        "the page's clock gave up, at no known time"
    );
}

/// The hops of a delivery that failed once and was retried: `hook-sent`, request, answer and
/// outcome, for attempt 1 (500) and attempt 2 (200).
fn retried(order: &[&str]) -> Timeline {
    let mut timeline = Timeline::default();
    let ms = |text: &str| parse_iso8601_millis(text).expect("a time");
    let cycle = key("api", AT);
    for what in order {
        match *what {
            "publish" => {
                timeline.published("api", AT);
            }
            "sent1" => {
                timeline.webhook_event("hook-sent/WebhookDemo01", "undefined", AT);
            }
            "request1" => {
                timeline.request(&cycle, 1, ms("2026-11-28T10:00:00.160Z"), false);
            }
            "answer1" => {
                timeline.response(1, ms("2026-11-28T10:00:00.170Z"), 500, 12);
            }
            "error1" => {
                timeline.webhook_event(
                    "api/hook-error/WebhookDemo01/0",
                    "error status 500 from localhost",
                    "2026-11-28T10:00:00.180Z",
                );
            }
            "sent2" => {
                timeline.webhook_event(
                    "hook-sent/WebhookDemo01",
                    "undefined",
                    "2026-11-28T10:00:30.180Z",
                );
            }
            "request2" => {
                timeline.request(&cycle, 2, ms("2026-11-28T10:00:30.200Z"), false);
            }
            "answer2" => {
                timeline.response(2, ms("2026-11-28T10:00:30.210Z"), 200, 12);
            }
            "response2" => {
                timeline.webhook_event(
                    "api/hook-response/WebhookDemo01/0",
                    "{}",
                    "2026-11-28T10:00:30.220Z",
                );
            }
            other => panic!("no hop {other}"),
        }
    }
    timeline
}

/// Each attempt as (hook id, status answered, failed, hook-response came).
fn attempts(timeline: &Timeline) -> Vec<(Option<u64>, Option<u16>, bool, bool)> {
    timeline.cycles[0]
        .attempts
        .iter()
        .map(|a| {
            (
                a.hook_id,
                a.answer.map(|(status, _)| status),
                a.failure.is_some(),
                a.at[OUTCOME].is_some(),
            )
        })
        .collect()
}

#[test]
fn a_retry_is_a_second_attempt_of_the_same_cycle_whatever_the_order() {
    let expected = vec![
        (Some(1), Some(500), true, false),
        (Some(2), Some(200), false, true),
    ];
    for order in [
        // Particle's order, with the relay's request just behind each hook-sent.
        &[
            "publish",
            "sent1",
            "request1",
            "answer1",
            "error1",
            "sent2",
            "request2",
            "answer2",
            "response2",
        ][..],
        // The relay far ahead of Particle's stream.
        &[
            "request1",
            "answer1",
            "request2",
            "answer2",
            "publish",
            "sent1",
            "error1",
            "sent2",
            "response2",
        ],
        // Particle's stream far ahead of the relay's.
        &[
            "publish",
            "sent1",
            "error1",
            "sent2",
            "response2",
            "request1",
            "answer1",
            "request2",
            "answer2",
        ],
    ] {
        let timeline = retried(order);
        assert_eq!(timeline.cycles.len(), 1, "{order:?}");
        assert_eq!(attempts(&timeline), expected, "{order:?}");
        let cycle = &timeline.cycles[0];
        assert!(cycle.delivered() && cycle.finished(), "{order:?}");
        assert_eq!(cycle.cloud_attempts(), 2, "{order:?}");
        assert_eq!(
            cycle.attempts[1].at[SENT],
            parse_iso8601_millis("2026-11-28T10:00:30.180Z"),
            "{order:?}"
        );
    }
}

#[test]
fn a_failed_attempt_waits_for_its_retry_and_other_events_keep_their_own() {
    let mut timeline = retried(&["publish", "sent1", "request1", "answer1", "error1"]);
    let cycle = &timeline.cycles[0];
    assert!(cycle.retry_due() && !cycle.finished());
    // Another event meanwhile: its hook-sent is its own, not the retry's.
    let other = "2026-11-28T10:00:10.000Z";
    timeline.published("api", other);
    assert_eq!(
        timeline.webhook_event("hook-sent/WebhookDemo01", "undefined", other),
        Some(((key("api", other), 0), false))
    );
    assert_eq!(
        timeline.webhook_event("api/hook-response/WebhookDemo01/0", "{}", other),
        Some(((key("api", other), 0), false))
    );
    // Then the retry's.
    assert_eq!(
        timeline.webhook_event("hook-sent/WebhookDemo01", "undefined", AT),
        Some(((key("api", AT), 1), false))
    );
    // A request seen again (a resumed stream) stays the attempt it was; a replay is its own.
    assert_eq!(timeline.request(&key("api", AT), 1, 5, false), 0);
    assert_eq!(timeline.request(&key("api", AT), 9, 6, true), 2);
    assert_eq!(timeline.cycles[0].number(2), None);
    assert_eq!(timeline.request(&key("api", AT), 2, 7, false), 1);
    assert_eq!(timeline.cycles[0].number(1), Some(2));
}

#[test]
fn the_third_failure_drops_the_event() {
    let mut timeline = retried(&["publish"]);
    for _ in 0..ATTEMPTS {
        assert!(!timeline.cycles[0].finished());
        timeline.webhook_event("hook-sent/WebhookDemo01", "undefined", AT);
        timeline.webhook_event("api/hook-error/WebhookDemo01/0", "error status 500", AT);
    }
    let cycle = &timeline.cycles[0];
    assert_eq!(cycle.cloud_attempts(), ATTEMPTS);
    assert!(cycle.finished() && !cycle.retry_due() && !cycle.delivered());
    // A skipped attempt (throttled) sends nothing, yet is an attempt.
    let mut skipped = retried(&["publish", "sent1", "error1"]);
    skipped.webhook_event(
        "api/hook-error/WebhookDemo01/0",
        "Sleeping, too many errors",
        AT,
    );
    assert_eq!(skipped.cycles[0].cloud_attempts(), 2);
}
