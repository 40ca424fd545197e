//! The `webhook-demo serve` server: the tutorial page, `/config.json`, `/healthz`, the relay under
//! `/relay` and the sandbox Particle cloud under `/sandbox`, all on one listener.

mod assets;

use std::{future::Future, path::PathBuf, time::Duration};

use axum::{Json, Router, routing::get};
use hyper::server::conn::http1;
use hyper_util::{rt::TokioIo, server::graceful::GracefulShutdown, service::TowerToHyperService};
use tokio::net::TcpListener;
use webhook_demo_core::wire::Config;
use webhook_demo_relay::{Limits, Relay, Settings};
use webhook_demo_sandbox::Sandbox;

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
    /// How the sandbox behaves (`--sim-publish-interval`).
    pub sandbox: webhook_demo_sandbox::Settings,
}

/// Builds the whole application.
pub fn app(options: &Options) -> Router {
    build(options).0
}

/// What must be told when the server shuts down: their streams never end by themselves.
struct Streams {
    relay: Relay,
    sandbox: Option<Sandbox>,
}

/// The application and what in it holds streams open.
fn build(options: &Options) -> (Router, Streams) {
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
    let sandbox = (!options.no_sandbox).then(|| Sandbox::new(options.sandbox.clone()));
    if let Some(sandbox) = &sandbox {
        app = app.nest("/sandbox", sandbox.router());
    }
    (
        app.merge(assets::router(options.assets.clone())),
        Streams { relay, sandbox },
    )
}

/// Serves the application on `listener` until `shutdown` completes, then lets open requests finish.
///
/// Connections speak HTTP/1.1 only, through hyper's HTTP/1 connection directly rather than the
/// auto-detecting HTTP/1 + HTTP/2 server: browsers use HTTP/2 only over TLS, which a proxy in front
/// terminates, and the lean connection costs a fraction of the memory per idle relay stream.
pub async fn run(
    listener: TcpListener,
    options: &Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (app, streams) = build(options);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors and similar: back off instead of spinning.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    // Relay and sandbox streams never end by themselves; end them so open requests can finish.
    streams.relay.close();
    if let Some(sandbox) = &streams.sandbox {
        sandbox.close();
    }
    graceful.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests;
