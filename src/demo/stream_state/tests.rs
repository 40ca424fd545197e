//! The streams' reopening rules (how often a learner's page may open a stream, whatever the
//! server does) and their states in words.

use super::*;

/// The most streams opened in any 5 minutes by a page whose stream lives `lived_ms` each time
/// and then fails as `ended`, with the shortest waits the spread allows, over an hour.
fn most_opens_in_five_minutes(ended: &Ended, lived_ms: u32) -> usize {
    let mut backoff = Backoff::default();
    let mut opens = Vec::new();
    let mut now = 0u64;
    while now < 3_600_000 {
        opens.push(now);
        now += u64::from(lived_ms);
        now += u64::from(backoff.wait_ms(ended, lived_ms, 0.0));
    }
    opens
        .iter()
        .map(|start| {
            opens
                .iter()
                .filter(|t| **t >= *start && **t < start + 300_000)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn a_page_stays_far_below_particles_100_opens_per_5_minutes() {
    let ended = [
        Ended::Ended,
        Ended::Failed("the connection failed".into()),
        Ended::Stalled,
    ];
    for ended in &ended {
        for lived_ms in [0, 100, 1_000, 10_000, 59_999, 60_000, 300_000] {
            let most = most_opens_in_five_minutes(ended, lived_ms);
            assert!(most <= 12, "{ended:?} after {lived_ms} ms: {most} opens");
        }
    }
    // The page's two streams together, failing at once forever: a quarter of the allowance.
    assert!(2 * most_opens_in_five_minutes(&Ended::Ended, 0) <= 25);
}

#[test]
fn waits_double_to_a_minute_with_a_spread_and_start_again_only_after_a_healthy_stream() {
    let mut backoff = Backoff::default();
    let waits: Vec<u32> = (0..9)
        .map(|_| backoff.wait_ms(&Ended::Ended, 2_000, 0.5))
        .collect();
    assert_eq!(
        waits,
        [
            1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000
        ]
    );
    // Events delivered do not count: only a stream that stayed open a minute starts again.
    assert_eq!(backoff.wait_ms(&Ended::Stalled, 59_000, 0.5), 60_000);
    assert_eq!(backoff.wait_ms(&Ended::Stalled, 60_000, 0.5), 1_000);
    // ±25 %.
    let mut spread = Backoff::default();
    assert_eq!(spread.wait_ms(&Ended::Ended, 0, 0.0), 750);
    let mut spread = Backoff::default();
    assert_eq!(spread.wait_ms(&Ended::Ended, 0, 0.999_999), 1_249);
}

#[test]
fn a_529_waits_its_retry_after_or_the_whole_window_and_never_less() {
    let refused = |retry_after_secs| Ended::Refused { retry_after_secs };
    let mut backoff = Backoff::default();
    assert_eq!(backoff.wait_ms(&refused(Some(42)), 0, 0.0), 42_000);
    // The spread only adds.
    assert_eq!(backoff.wait_ms(&refused(Some(42)), 0, 0.5), 44_100);
    assert_eq!(backoff.wait_ms(&refused(None), 0, 0.0), 300_000);
    assert_eq!(backoff.wait_ms(&refused(Some(0)), 0, 0.0), 1_000);
    assert_eq!(backoff.wait_ms(&refused(Some(86_400)), 0, 0.0), 3_600_000);
    // After a refusal the next failure waits the longest backoff, not a second.
    assert_eq!(backoff.wait_ms(&Ended::Ended, 0, 0.5), 60_000);
}

#[test]
fn a_stream_is_stalled_after_its_ping_interval_and_half_again() {
    assert_eq!(stall_ms(PARTICLE_PING_MS), 90_000);
    assert_eq!(stall_ms(2_000), 3_000);
    let sandbox = Config {
        sandbox: Some("/sandbox".into()),
        relay: "/relay/".into(),
        public_url: None,
        sandbox_idle_minutes: None,
        sandbox_keepalive_ms: Some(9_000),
    };
    assert_eq!(particle_ping_ms(Some(&sandbox), "/sandbox"), 9_000);
    assert_eq!(
        particle_ping_ms(Some(&sandbox), "https://api.particle.io"),
        PARTICLE_PING_MS
    );
    assert_eq!(particle_ping_ms(None, "/sandbox"), PARTICLE_PING_MS);
}

#[test]
fn states_in_words_are_announced_when_a_stream_goes_down_and_comes_back() {
    let waiting = |secs| Status::Waiting {
        secs,
        ended: Ended::Stalled,
    };
    assert_eq!(waiting(4).words(), "stalled (no ping): reconnecting in 4 s");
    let refused = Status::Waiting {
        secs: 270,
        ended: Ended::Refused {
            retry_after_secs: None,
        },
    };
    assert!(
        refused.words().contains("waiting 4 min 30 s"),
        "{}",
        refused.words()
    );
    let resumed = Status::Resumed { stalled: true };
    assert_eq!(
        resumed.words(),
        "stalled and reconnected: events may have been missed"
    );
    let steps = [
        (Status::Connecting, Status::Live, None),
        (Status::Live, waiting(2), Some(waiting(2).words())),
        (waiting(2), waiting(1), None),
        (waiting(1), Status::Reconnecting, None),
        (Status::Reconnecting, waiting(4), None),
        (waiting(4), Status::Reconnecting, None),
        (Status::Reconnecting, resumed.clone(), Some(resumed.words())),
        (Status::Reconnecting, Status::Live, Some("live".to_owned())),
    ];
    for (before, after, said) in steps {
        assert_eq!(after.announcement(&before), said, "{before:?} → {after:?}");
    }
}

#[test]
fn an_event_delivered_again_is_shown_once() {
    let mut streams = Streams::default();
    let data = r#"{"data":"1","ttl":60,"published_at":"2024-01-01T00:00:00.000Z","coreid":"a"}"#;
    assert!(streams.first_time("WebhookDemo01", data));
    assert!(!streams.first_time("WebhookDemo01", data));
    assert!(streams.first_time("other", data));
    for n in 0..RECENT {
        assert!(streams.first_time("n", &n.to_string()));
    }
    // Only the latest are remembered.
    assert!(streams.first_time("WebhookDemo01", data));
}
