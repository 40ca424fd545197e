//! The journey's views: the diagram's hops, the failed hop's reason, the request list's cells.

use serde_json::Value;

use super::*;
use crate::demo::timeline::{Timeline, tests::timed_out};

const AT: &str = "2026-11-28T10:00:00.100Z";

fn hops(cycle: &Cycle) -> Vec<(String, String, String)> {
    let view = diagram(cycle, false);
    view["hops"]
        .as_array()
        .expect("hops")
        .iter()
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
    timeline.request(&("api".into(), AT.into()), 1, ms);
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
