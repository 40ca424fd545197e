//! The journey's views: the diagram's hops, the failed hop's reason, the request list's cells.

use serde_json::Value;

use super::{list::attempt_text, *};
use crate::demo::timeline::{Timeline, tests::timed_out};

const AT: &str = "2026-11-28T10:00:00.100Z";

fn hops(cycle: &Cycle) -> Vec<(String, String, String)> {
    let view = diagram(cycle, false);
    view["hops"]
        .as_array()
        .expect("hops")
        .iter()
        .filter(|hop| hop["wait"].is_null())
        .map(|hop| {
            let text = |name: &str| match &hop[name] {
                Value::String(text) => text.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (
                text("hop"),
                text("status"),
                format!("{} {} {}", text("time"), text("gapText"), text("note")),
            )
        })
        .collect()
}

#[test]
fn each_hop_has_its_time_and_the_gap_since_the_one_before() {
    let mut timeline = Timeline::default();
    timeline.published("api", AT);
    timeline.webhook_event(
        "hook-sent/WebhookDemo01",
        "undefined",
        "2026-11-28T10:00:00.120Z",
    );
    let ms =
        webhook_demo_core::time::parse_iso8601_millis("2026-11-28T10:00:00.160Z").expect("a time");
    timeline.request(&("api".into(), AT.into()), 1, ms, false);
    timeline.response(1, ms, 200, 20);
    let cycle = &timeline.cycles[0];
    assert_eq!(
        hops(cycle),
        [
            ("publish".into(), "done".into(), "10:00:00.100  ".into()),
            (
                "hook-sent".into(),
                "done".into(),
                "10:00:00.120 +20 ms ".into()
            ),
            (
                "request".into(),
                "done".into(),
                "10:00:00.160 +40 ms ".into()
            ),
            (
                "response".into(),
                "done".into(),
                "10:00:00.160 +<1 ms ".into()
            ),
            (
                "hook-response".into(),
                "waiting".into(),
                "  waiting…".into()
            ),
        ]
    );
    assert_eq!(
        diagram(cycle, false)["title"],
        "Test from this page at 10:00:00.100 UTC"
    );
    // The server's answer says its status on its arrow.
    assert_eq!(diagram(cycle, false)["hops"][3]["name"], "response 200");
    assert_eq!(
        (latency_text(cycle), size_text(cycle), answer_text(cycle)),
        ("<1 ms".into(), "20 B".into(), "200".into())
    );
}

#[test]
fn a_failed_last_hop_says_why_and_the_missing_ones_never_happened() {
    let mut timeline = Timeline::default();
    timeline.published("e00f", AT);
    timeline.webhook_event(
        "e00f/hook-error/WebhookDemo01/0",
        "Sleeping, too many errors",
        AT,
    );
    let cycle = &timeline.cycles[0];
    let drawn = hops(cycle);
    assert_eq!(drawn[4].0, "hook-error");
    assert_eq!(drawn[4].1, "failed");
    assert!(drawn[4].2.contains("Sleeping, too many errors"));
    assert!(drawn[2].2.contains("not in time"));
    assert_eq!(outcome(cycle), "throttled");
    assert_eq!(
        (latency_text(cycle), size_text(cycle)),
        ("—".into(), "—".into())
    );
}

#[test]
fn keys_round_trip_through_the_page() {
    let key = ("e00f".to_owned(), AT.to_owned());
    assert_eq!(parse_key(&key_text(&key)), Some(key));
}

#[test]
fn an_answer_after_the_cloud_gave_up_is_drawn_late_and_the_cycle_timed_out() {
    for order in [["error", "answer"], ["answer", "error"]] {
        let cycle = timed_out(order);
        let drawn = hops(&cycle);
        let names: Vec<&str> = drawn.iter().map(|h| h.0.as_str()).collect();
        assert_eq!(
            names,
            ["publish", "hook-sent", "request", "hook-error", "response"],
            "{order:?}: the answer is drawn after the hook-error"
        );
        assert_eq!(drawn[3].1, "failed");
        assert!(drawn[3].2.starts_with("10:00:20.160 "), "{:?}", drawn[3]);
        assert_eq!(drawn[4].1, "late");
        assert!(
            drawn[4].2.contains("+1000 ms")
                && drawn[4]
                    .2
                    .contains("1 s after the cloud stopped waiting; the cloud never saw it"),
            "{:?}",
            drawn[4]
        );
        assert_eq!(
            diagram(&cycle, false)["hops"][4]["name"],
            "response 200, too late"
        );
        assert_eq!(outcome(&cycle), "timeout");
        assert_eq!(answer_text(&cycle), "200, too late");
    }
}

#[test]
fn a_late_answers_card_says_the_cloud_never_saw_it_and_follows_the_hook_error() {
    let mut demo = Demo::default();
    let cycle = timed_out(["error", "answer"]);
    demo.timeline.cycles.push(cycle);
    let key = demo.timeline.cycles[0].key.clone();
    let response = webhook_demo_core::wire::HookResponse {
        hook_id: 3,
        status_code: 200,
        content_type: "application/json".into(),
        body: "{\"ok\":true}".into(),
        responded_at: 0,
        source: webhook_demo_core::wire::AnswerSource::Page,
    };
    let cycle = demo.timeline.cycle(&key);
    cycle.card(
        Slot::ServerResponse,
        0,
        crate::demo::explain::explain_response(&response),
    );
    let mut view = crate::json::Object::default();
    set_view(&demo, false, "http://page", &mut view);
    let view: Value = view.into();
    let cards = view["cards"].as_array().expect("cards");
    let slots: Vec<&str> = cards.iter().filter_map(|c| c["slot"].as_str()).collect();
    assert_eq!(
        slots,
        [
            "event",
            "hook-sent",
            "hook-received",
            "hook-data",
            "outcome",
            "server-response"
        ]
    );
    let answered = &cards[5];
    assert_eq!(answered["title"], "Your webhook server answered too late");
    let text = answered["text"].as_str().expect("a text");
    assert!(
        text.contains("HTTP 200 1 s after the cloud stopped waiting; the cloud never saw it")
            && !text.contains("A success"),
        "{text}"
    );
    assert_eq!(view["requests"][0]["status"], "timeout");
    assert_eq!(view["requests"][0]["answer"], "200, too late");
    assert_eq!(view["deliveries"][0]["status"], "timeout");
    assert_eq!(view["deliveries"][0]["answerStatus"], "200, too late");
}

/// A test event whose first attempt was answered 500 and whose retry, 30 s later, 200.
fn rescued() -> Cycle {
    let mut timeline = Timeline::default();
    let ms = |text: &str| webhook_demo_core::time::parse_iso8601_millis(text).expect("a time");
    let key = ("api".to_owned(), AT.to_owned());
    timeline.published("api", AT);
    timeline.webhook_event("hook-sent/WebhookDemo01", "undefined", AT);
    timeline.request(&key, 1, ms("2026-11-28T10:00:00.150Z"), false);
    timeline.response(1, ms("2026-11-28T10:00:00.160Z"), 500, 12);
    timeline.webhook_event(
        "api/hook-error/WebhookDemo01/0",
        "error status 500 from 127.0.0.1",
        "2026-11-28T10:00:00.170Z",
    );
    timeline.webhook_event(
        "hook-sent/WebhookDemo01",
        "undefined",
        "2026-11-28T10:00:30.170Z",
    );
    timeline.request(&key, 2, ms("2026-11-28T10:00:30.180Z"), false);
    timeline.response(2, ms("2026-11-28T10:00:30.190Z"), 200, 20);
    timeline.webhook_event(
        "api/hook-response/WebhookDemo01/0",
        "{}",
        "2026-11-28T10:00:30.200Z",
    );
    timeline.cycles.remove(0)
}

#[test]
fn a_retried_cycle_draws_each_attempt_and_the_wait_between() {
    let cycle = rescued();
    let view = diagram(&cycle, false);
    let rows: Vec<(String, String, String)> = view["hops"]
        .as_array()
        .expect("hops")
        .iter()
        .map(|hop| {
            let text = |name: &str| hop[name].as_str().unwrap_or_default().to_owned();
            let attempt = hop["attempt"].as_u64().map(|n| n.to_string());
            (
                if hop["wait"].is_null() {
                    text("hop")
                } else {
                    format!("wait:{}", text("wait"))
                },
                text("status"),
                attempt.unwrap_or_default(),
            )
        })
        .collect();
    let expected = [
        ("publish", "done", ""),
        ("hook-sent", "done", "1"),
        ("request", "done", "1"),
        ("response", "done", "1"),
        ("hook-error", "failed", "1"),
        ("wait:retry", "done", ""),
        ("hook-sent", "done", "2"),
        ("request", "done", "2"),
        ("response", "done", "2"),
        ("hook-response", "done", "2"),
    ]
    .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()));
    assert_eq!(rows, expected);
    let wait = &view["hops"][5];
    assert_eq!(wait["name"], "The cloud tries again: attempt 2 of 3");
    assert_eq!(
        wait["note"],
        "Particle waits 30 seconds after a failed attempt"
    );
    assert_eq!(wait["gapText"], "after 30 s");
    // The newest attempt's hops take the ids the cards link to; the first attempt's are numbered.
    assert_eq!(view["hops"][4]["id"], "hop-outcome-1");
    assert_eq!(view["hops"][9]["id"], "hop-outcome");
    assert_eq!(view["retries"], true);
    assert_eq!(outcome(&cycle), "response");
    assert_eq!(attempt_text(&cycle).as_deref(), Some("2 of 3"));
    assert_eq!(answer_text(&cycle), "200");
}

#[test]
fn a_failed_attempt_says_a_retry_is_due_and_three_failures_drop_the_event() {
    let mut timeline = Timeline::default();
    timeline.published("api", AT);
    timeline.webhook_event("hook-sent/WebhookDemo01", "undefined", AT);
    timeline.webhook_event("api/hook-error/WebhookDemo01/0", "error status 500", AT);
    let cycle = &timeline.cycles[0];
    let view = diagram(cycle, false);
    let last = view["hops"]
        .as_array()
        .and_then(|h| h.last())
        .expect("rows");
    assert_eq!(last["wait"], "retry-due");
    assert_eq!(
        last["name"],
        "The cloud tries again after 30 seconds: attempt 2 of 3"
    );
    assert_eq!(attempt_text(cycle).as_deref(), Some("1 of 3"));
    for _ in 1..3 {
        timeline.webhook_event("hook-sent/WebhookDemo01", "undefined", AT);
        timeline.webhook_event("api/hook-error/WebhookDemo01/0", "error status 500", AT);
    }
    let view = diagram(&timeline.cycles[0], false);
    let last = view["hops"]
        .as_array()
        .and_then(|h| h.last())
        .expect("rows");
    assert_eq!(last["wait"], "dropped");
    assert_eq!(attempt_text(&timeline.cycles[0]).as_deref(), Some("3 of 3"));
    // A delivery that took one try says nothing of attempts.
    let mut once = Timeline::default();
    once.published("api", AT);
    once.webhook_event("hook-sent/WebhookDemo01", "undefined", AT);
    once.webhook_event("api/hook-response/WebhookDemo01/0", "{}", AT);
    assert_eq!(attempt_text(&once.cycles[0]), None);
    assert_eq!(diagram(&once.cycles[0], false)["retries"], false);
}

#[test]
fn the_request_list_and_the_explainer_teach_the_retry() {
    let mut demo = Demo::default();
    demo.timeline.cycles.push(rescued());
    let mut view = crate::json::Object::default();
    set_view(&demo, false, "http://page", &mut view);
    let view: Value = view.into();
    assert_eq!(view["requests"][0]["attempt"], "2 of 3");
    assert_eq!(view["requests"][0]["status"], "response");
    assert_eq!(view["cycle"]["retries"], true);
}
