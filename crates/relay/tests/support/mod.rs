//! What the relay's integration tests share.

pub mod redis;

use webhook_demo_relay::{RedisStore, Relay, Settings, Store};

/// The relay mounted at `/relay` on `127.0.0.1:0`, with the memory store or on the Redis at
/// `redis`, and its metrics at `/metrics`; returns the relay's base URL.
#[allow(dead_code, reason = "each test binary uses the support it needs")]
pub async fn serve(redis: Option<&str>, settings: Settings) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}/relay/", listener.local_addr().expect("address"));
    let relay = match redis {
        None => Relay::new(settings),
        Some(url) => {
            let url = url.parse().expect("a Redis address");
            let store = RedisStore::new(&url, settings.limits.clone());
            Relay::with_store(settings, Store::Redis(store))
        }
    };
    let metrics = relay.clone();
    let app = axum::Router::new().nest("/relay", relay.router()).route(
        "/metrics",
        axum::routing::get(move || {
            let relay = metrics.clone();
            async move { relay.metrics().await }
        }),
    );
    let options = webhook_demo_http::Options::default();
    let forever = std::future::pending();
    tokio::spawn(async move {
        webhook_demo_http::serve(listener, app, options, forever)
            .await
            .expect("serve")
    });
    base
}
