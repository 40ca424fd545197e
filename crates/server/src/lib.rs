//! The `webhook-demo serve` server: the tutorial page, `/config.json`, `/healthz`, the relay under
//! `/relay` and the sandbox Particle cloud under `/sandbox`, all on one listener.

mod assets;

use std::{future::Future, path::PathBuf};

use axum::{Json, Router, routing::get};
use tokio::net::TcpListener;
use webhook_demo_core::wire::Config;
use webhook_demo_relay::{Limits, Relay, Settings};

/// How the server was asked to run (the `serve` command's flags).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Base URL the Particle cloud can reach this server on; hook URLs are built from it.
    pub public_url: Option<String>,
    /// Leave the sandbox Particle cloud out (`--no-sandbox`).
    pub no_sandbox: bool,
    /// Serve the page from this directory instead of the copy embedded at build time.
    pub assets: Option<PathBuf>,
    /// The relay's bounds (`--relay-*` flags).
    pub relay_limits: Limits,
}

/// Builds the whole application.
pub fn app(options: &Options) -> Router {
    build(options).0
}

/// The application and the relay inside it (whose streams must be ended at shutdown).
fn build(options: &Options) -> (Router, Relay) {
    let public_url = options
        .public_url
        .as_ref()
        .map(|url| url.trim_end_matches('/').to_owned());
    let config = Config {
        sandbox: (!options.no_sandbox).then(|| "/sandbox".to_owned()),
        relay: "/relay/".to_owned(),
        public_url: public_url.clone(),
    };
    let relay = Relay::new(Settings {
        public_url,
        limits: options.relay_limits.clone(),
    });
    let mut app = Router::new()
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"ok": true})) }),
        )
        .route("/config.json", get(move || async move { Json(config) }))
        .nest("/relay", relay.router());
    if !options.no_sandbox {
        app = app.nest("/sandbox", webhook_demo_sandbox::router());
    }
    (app.merge(assets::router(options.assets.clone())), relay)
}

/// Serves `app` on `listener` until `shutdown` completes, then lets open requests finish.
pub async fn run(
    listener: TcpListener,
    options: &Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(options))
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests;
