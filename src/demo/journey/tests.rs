//! The journey's views: the diagram's hops, the failed hop's reason, the request list's cells.

use serde_json::Value;

use super::*;
use crate::demo::timeline::Timeline;

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
