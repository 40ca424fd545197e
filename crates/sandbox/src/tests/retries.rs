//! Retries of failed and skipped webhook deliveries (Particle's webhook reference, "Limits":
//! skipped events are retried after 30 seconds and 1 minute before being dropped), on a paused
//! clock: the sandbox in process, the webhook server on a loopback socket.

use std::time::Duration;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use eventsource_stream::{Event as SseEvent, Eventsource};
use futures_util::{Stream, StreamExt};
use serde_json::json;
use tokio::time::Instant;

use super::{
    App, get,
    webhooks::{Learner, Target, next_event},
};
use crate::Settings;

/// Fails the test instead of waiting for ever: on a paused clock a wait that nothing ends
/// jumps to this deadline at once.
async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(3600), future)
        .await
        .unwrap_or_else(|_| panic!("{what} never happened"))
}

/// A learner on an in-process sandbox, with an integration for `retry` sending to `target`.
async fn integrated(settings: Settings, target: &Target) -> Learner {
    let learner = Learner::on(App::in_process_with(settings)).await;
    learner
        .integrate(json!({"event": "retry", "url": target.url}))
        .await;
    learner
}

/// The learner's product stream of webhook events (`hook-sent`, `hook-response`, `hook-error`).
async fn hook_events(learner: &Learner) -> impl Stream<Item = SseEvent> + Unpin + use<> {
    let request = Request::get(format!("/v1/products/{}/events/hook", learner.product))
        .header(header::AUTHORIZATION, &learner.bearer)
        .body(Body::empty())
        .expect("request");
    let response = tower::ServiceExt::oneshot(learner.app.router.clone(), request)
        .await
        .expect("infallible");
    Box::pin(
        response
            .into_body()
            .into_data_stream()
            .map(|chunk| Ok::<_, std::convert::Infallible>(chunk.expect("bytes")))
            .eventsource()
            .map(|event| event.expect("well-formed SSE")),
    )
}

/// The delivery log's rows: attempt, attempts and outcome.
async fn log(app: &App) -> Vec<(u64, u64, String)> {
    let (_, log) = get(app, "/_sim/webhooks", None).await;
    log["webhooks"]
        .as_array()
        .expect("deliveries")
        .iter()
        .map(|d| {
            (
                d["attempt"].as_u64().unwrap_or_default(),
                d["attempts"].as_u64().unwrap_or_default(),
                d["outcome"].as_str().expect("an outcome").to_owned(),
            )
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_failed_delivery_is_retried_after_thirty_seconds_with_the_same_data() {
    let mut target = Target::start(StatusCode::INTERNAL_SERVER_ERROR, "broken").await;
    let learner = integrated(super::quiet(), &target).await;
    let mut events = hook_events(&learner).await;
    learner.publish("retry", "42").await;
    let first = within("the first request", target.next()).await;
    let failed = Instant::now();
    assert_eq!(next_event(&mut events).await.0, "hook-sent/retry");
    let (name, error) = next_event(&mut events).await;
    assert_eq!(
        (name.as_str(), &error["data"]),
        (
            "hook-error/retry/0",
            &json!("error status 500 from 127.0.0.1")
        )
    );

    *target.answer.lock().await = super::webhooks::Answer {
        status: StatusCode::OK,
        body: "thanks".to_owned(),
        hang: false,
    };
    let second = within("the retry", target.next()).await;
    assert!(
        failed.elapsed() >= Duration::from_secs(30),
        "{:?}",
        failed.elapsed()
    );
    assert_eq!(second.body, first.body, "a retry sends the same event data");
    assert!(second.body.contains("&data=42&"), "{}", second.body);
    assert_eq!(next_event(&mut events).await.0, "hook-sent/retry");
    let (name, response) = next_event(&mut events).await;
    assert_eq!(
        (name.as_str(), &response["data"]),
        ("hook-response/retry/0", &json!("thanks"))
    );

    // A success ends the delivery: no third request, however long one waits.
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(target.received.try_recv().is_err(), "one retry, then done");
    assert_eq!(
        log(&learner.app).await,
        [(1, 3, "error".to_owned()), (2, 3, "response".to_owned())]
    );
}

#[tokio::test(start_paused = true)]
async fn a_delivery_that_keeps_failing_is_tried_three_times_then_dropped() {
    let mut target = Target::start(StatusCode::INTERNAL_SERVER_ERROR, "broken").await;
    let learner = integrated(super::quiet(), &target).await;
    let mut events = hook_events(&learner).await;
    learner.publish("retry", "42").await;
    let mut times = Vec::new();
    for _ in 0..3 {
        within("an attempt", target.next()).await;
        times.push(Instant::now());
        assert_eq!(next_event(&mut events).await.0, "hook-sent/retry");
        assert_eq!(next_event(&mut events).await.0, "hook-error/retry/0");
    }
    assert!(times[1] - times[0] >= Duration::from_secs(30));
    assert!(times[2] - times[1] >= Duration::from_secs(60));
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(
        target.received.try_recv().is_err(),
        "dropped after the third"
    );
    let failed = |n| (n, 3, "error".to_owned());
    assert_eq!(log(&learner.app).await, [failed(1), failed(2), failed(3)]);
    assert_eq!(
        crate::engine::pending_retries(&learner.app.sandbox.shared()),
        0,
        "a dropped delivery gives its place back"
    );
}

#[tokio::test(start_paused = true)]
async fn a_skipped_delivery_is_retried() {
    let mut target = Target::start(StatusCode::OK, "").await;
    let settings = Settings {
        publishes_per_second: 0,
        ..super::quiet()
    };
    let learner = integrated(settings, &target).await;
    // An integration may fire twenty times at once (`INTEGRATION_RATE`'s burst); the 21st is
    // skipped as "Sleeping", and retried.
    let count = 2 * crate::engine::INTEGRATION_RATE as usize + 1;
    for n in 0..count {
        learner.publish("retry", &n.to_string()).await;
    }
    let mut data: Vec<usize> = Vec::new();
    for _ in 0..count {
        let received = within("a request", target.next()).await;
        let field = received
            .body
            .split('&')
            .find_map(|f| f.strip_prefix("data="));
        data.push(
            field
                .and_then(|n| n.parse().ok())
                .expect("the event's data"),
        );
    }
    data.sort_unstable();
    let expected: Vec<usize> = (0..count).collect();
    assert_eq!(data, expected, "every event reaches the server once");
    // The last row is written once its answer is read, just after the server has the request.
    let rows = within("the retry's row", async {
        loop {
            let rows = log(&learner.app).await;
            if rows.len() > count {
                break rows;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    let skipped = rows.iter().filter(|row| row.2 == "throttled").count();
    let retried = rows.iter().filter(|row| row.0 == 2).collect::<Vec<_>>();
    assert_eq!(
        (skipped, retried),
        (1, vec![&(2, 3, "response".to_owned())]),
        "{rows:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn retries_are_bounded_and_can_be_turned_off() {
    let mut target = Target::start(StatusCode::INTERNAL_SERVER_ERROR, "broken").await;
    let mut settings = Settings {
        publishes_per_second: 0,
        ..super::quiet()
    };
    settings.limits.retries_per_world = 1;
    let learner = integrated(settings, &target).await;
    learner.publish("retry", "a").await;
    learner.publish("retry", "b").await;
    within("a request", target.next()).await;
    within("a request", target.next()).await;
    // Only one of the two fits among the pending retries.
    within("the retry", target.next()).await;
    within("the retry's retry", target.next()).await;
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(target.received.try_recv().is_err(), "the other was dropped");

    let mut target = Target::start(StatusCode::INTERNAL_SERVER_ERROR, "broken").await;
    let settings = Settings {
        retry_delays: Vec::new(),
        ..super::quiet()
    };
    let learner = integrated(settings, &target).await;
    learner.publish("retry", "a").await;
    within("a request", target.next()).await;
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(target.received.try_recv().is_err(), "no retries");
    assert_eq!(log(&learner.app).await, [(1, 1, "error".to_owned())]);
}
