//! Two server instances on one Redis behind a real load balancer: Debian's nginx, started with a
//! generated configuration that sends requests to the instances in turn (round-robin), as a
//! deployment would. A page streams, sets its answer and answers hooks through the balancer
//! while the hooks land on both instances.

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use webhook_demo_server::{Options, run};

#[path = "support/nginx.rs"]
mod nginx;
#[path = "../../relay/tests/support/redis.rs"]
mod redis;

use nginx::Nginx;
use redis::RedisServer;

/// A server instance on the Redis at `url`, trusting the balancer's forwarding headers.
async fn instance(url: &str) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    let options = Options {
        no_sandbox: true,
        trust_forwarded: true,
        store: Some(url.parse().expect("a Redis address")),
        ..Options::default()
    };
    tokio::spawn(async move { run(listener, &options, std::future::pending()).await });
    address
}

/// A counter's value in an instance's `/metrics`.
async fn counter(client: &reqwest::Client, address: std::net::SocketAddr, name: &str) -> u64 {
    let text = client
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_page_works_through_a_round_robin_balancer() {
    let redis = RedisServer::start();
    let upstreams = [instance(&redis.url()).await, instance(&redis.url()).await];
    let nginx = Nginx::start(&upstreams, &[]);
    let base = format!("http://127.0.0.1:{}", nginx.port);
    let client = reqwest::Client::new();

    let response = client.get(format!("{base}/relay/stream")).send().await;
    let mut events = response.expect("stream").bytes_stream().eventsource();
    let start: Value =
        serde_json::from_str(&events.next().await.expect("start").expect("SSE").data)
            .expect("start data");
    let hook_url = start["hookUrl"].as_str().expect("hookUrl").to_owned();
    assert!(
        hook_url.starts_with(&format!("{base}/relay/hook/")),
        "{hook_url}"
    );
    let control = start["controlUrl"].as_str().expect("controlUrl");
    let set = client
        .post(control)
        .json(&json!({"status": 202}))
        .send()
        .await;
    assert_eq!(set.expect("control").status(), 200);

    for n in 0..10 {
        let sent = client.post(&hook_url).body(n.to_string()).send().await;
        assert_eq!(
            sent.expect("hook").status(),
            202,
            "the answer set through the balancer"
        );
    }
    let mut bodies = Vec::new();
    while bodies.len() < 10 {
        let event = events.next().await.expect("an event").expect("SSE");
        if event.event == "hook" {
            let data: Value = serde_json::from_str(&event.data).expect("hook data");
            bodies.push(data["body"].as_str().expect("text").to_owned());
        }
    }
    let expected: Vec<String> = (0..10).map(|n: i32| n.to_string()).collect();
    assert_eq!(bodies, expected);
    for upstream in upstreams {
        let received = counter(&client, upstream, "relay_hooks_received_total").await;
        assert!(received > 0, "round-robin sent no hook to {upstream}");
    }
}
