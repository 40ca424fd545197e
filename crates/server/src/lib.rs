//! The `webhook-demo serve` server: the tutorial page, `/config.json`, `/healthz`, the relay under
//! `/relay` and the sandbox Particle cloud under `/sandbox`, all on one listener, and `/metrics`
//! on it or on a listener of its own.

mod assets;
mod metrics;

use std::{future::Future, net::SocketAddr, path::PathBuf};

use axum::{Json, Router, routing::get};
use tokio::{net::TcpListener, sync::watch};
use webhook_demo_core::wire::Config;
use webhook_demo_relay::{Limits, RedisStore, RedisUrl, Relay, Settings, Store};
use webhook_demo_sandbox::{HostPattern, OwnRelay, Sandbox, WebhookTargets, WorldsMode};

pub use metrics::MetricsToken;

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
    /// Believe a proxy's forwarding headers (`--trust-forwarded`).
    pub trust_forwarded: bool,
    /// How the sandbox behaves (`--sim-publish-interval`).
    pub sandbox: webhook_demo_sandbox::Settings,
    /// Hosts the sandbox may send webhooks to besides the server's own relay, when it serves the
    /// public (`--sandbox-webhook-allow`).
    pub sandbox_webhook_allow: Vec<HostPattern>,
    /// One sandbox world or one per sign-in (`--sandbox-worlds`); unset: one per sign-in when
    /// serving the public (`--public-url`), one on a learner's machine.
    pub sandbox_worlds: Option<WorldsMode>,
    /// The connections' bounds (`--max-connections-per-client`).
    pub http: webhook_demo_http::Options,
    /// Where relay sessions live (`--store`): in this process, or in Redis, shared by every
    /// instance pointed at it. Needs a tokio runtime to build the app with Redis.
    pub store: Option<RedisUrl>,
    /// The token `/metrics` asks for (`--metrics-token`); without it, a public server shows its
    /// metrics only to its own host.
    pub metrics_token: Option<MetricsToken>,
    /// How the other instances on the same Redis reach this one (`--peer-url`), to forward a
    /// request for a sandbox world this one holds; unset: the address it listens on.
    pub peer_url: Option<String>,
}

/// Builds the whole application.
pub fn app(options: &Options) -> Router {
    build(options, None, false).0
}

/// What must be told when the server shuts down: their streams never end by themselves.
struct Streams {
    relay: Relay,
    sandbox: Option<Sandbox>,
}

/// The application and what in it holds streams open; `local` is the address it listens on, and
/// `metrics_listener` whether `/metrics` has a listener of its own.
fn build(
    options: &Options,
    local: Option<SocketAddr>,
    metrics_listener: bool,
) -> (Router, Streams) {
    let public_url = options
        .public_url
        .as_ref()
        .map(|url| url.trim_end_matches('/').to_owned());
    let sandbox_settings =
        (!options.no_sandbox).then(|| sandbox_settings(options, public_url.as_deref(), local));
    let config = Config {
        sandbox: sandbox_settings.as_ref().map(|_| "/sandbox".to_owned()),
        relay: "/relay/".to_owned(),
        public_url: public_url.clone(),
        sandbox_idle_minutes: sandbox_settings
            .as_ref()
            .filter(|settings| settings.worlds == WorldsMode::PerSignIn)
            .map(|settings| settings.world_limits.idle.as_secs() / 60),
        sandbox_keepalive_ms: sandbox_settings
            .as_ref()
            .map(|settings| u32::try_from(settings.keepalive.as_millis()).unwrap_or(u32::MAX)),
    };
    let settings = Settings {
        public_url: public_url.clone(),
        trust_forwarded: options.trust_forwarded,
        limits: options.relay_limits.clone(),
    };
    let relay = match &options.store {
        None => Relay::new(settings),
        Some(url) => {
            let store = RedisStore::new(url, options.relay_limits.clone());
            Relay::with_store(settings, Store::Redis(store))
        }
    };
    let mut app = Router::new()
        .route(
            "/healthz",
            get(|| async { Json(serde_json::json!({"ok": true})) }),
        )
        .route("/config.json", get(move || async move { Json(config) }))
        .merge(metrics::router(
            relay.clone(),
            metrics::Access::main(
                options.metrics_token.as_ref(),
                metrics_listener,
                public_url.is_some(),
            ),
        ))
        .nest("/relay", relay.router());
    let sandbox = sandbox_settings.map(Sandbox::new);
    if let Some(sandbox) = &sandbox {
        app = app.nest("/sandbox", sandbox.router());
    }
    (
        app.merge(assets::router(options.assets.clone())),
        Streams { relay, sandbox },
    )
}

/// Whose the sandbox's worlds are unless `--sandbox-worlds` says (`chosen`): a world per sign-in
/// on a public host (`public`, a `--public-url`), one shared world on a learner's machine.
pub fn worlds_mode(chosen: Option<WorldsMode>, public: bool) -> WorldsMode {
    chosen.unwrap_or(if public {
        WorldsMode::PerSignIn
    } else {
        WorldsMode::Shared
    })
}

/// The sandbox's settings for this server. Serving the public (`--public-url`), its webhooks go
/// only to this server's own relay (over loopback) and the hosts the operator allows, and its
/// control endpoints answer the public host's name; on a learner's machine they go anywhere.
fn sandbox_settings(
    options: &Options,
    public_url: Option<&str>,
    local: Option<SocketAddr>,
) -> webhook_demo_sandbox::Settings {
    let mut settings = options.sandbox.clone();
    // The sandbox counts failed sign-ins and worlds per client, by the same address the relay
    // believes.
    settings.trust_forwarded = options.trust_forwarded;
    settings.worlds = worlds_mode(options.sandbox_worlds, public_url.is_some());
    // An unspecified listen address (0.0.0.0) is reached over loopback.
    let reachable = local.map(|mut addr| {
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        addr
    });
    // Worlds of their own live in the relay's Redis too, so that any instance serves them.
    if settings.worlds == WorldsMode::PerSignIn
        && let Some(store) = &options.store
    {
        let peer_url = options
            .peer_url
            .clone()
            .or_else(|| reachable.map(|addr| format!("http://{addr}")));
        settings.shared_worlds = peer_url.map(|peer_url| webhook_demo_sandbox::SharedWorlds {
            redis: store.connection_info().clone(),
            peer_url,
        });
    }
    let Some(public_url) = public_url else {
        return settings;
    };
    let public = format!("{public_url}/relay/hook/")
        .parse::<webhook_demo_sandbox::Url>()
        .ok();
    settings.public_host = public.as_ref().and_then(|url| {
        Some(format!(
            "{}{}",
            url.host_str()?,
            url.port().map(|p| format!(":{p}")).unwrap_or_default()
        ))
    });
    let relay = public.map(|public| {
        let local = reachable.map(|addr| {
            format!("http://{addr}/relay/hook/")
                .parse()
                .expect("an address makes a URL")
        });
        OwnRelay {
            local: local.unwrap_or_else(|| public.clone()),
            public,
        }
    });
    settings.webhook_targets = WebhookTargets::Only {
        relay,
        hosts: options.sandbox_webhook_allow.clone(),
    };
    settings
}

/// Serves the application on `listener` until `shutdown` completes, then lets open requests finish.
///
/// Connections are `webhook_demo_http`'s HTTP/1.1: it keeps each hook's header names as they
/// arrived and costs about a kilobyte per idle relay stream. Browsers use HTTP/2 only over TLS,
/// which a proxy in front terminates.
pub async fn run(
    listener: TcpListener,
    options: &Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    run_with_metrics(listener, None, options, shutdown).await
}

/// [`run`], with `/metrics` served on `metrics` (`--metrics-addr`) instead of `listener`, which
/// then answers 404 for it. Both stop at `shutdown`.
pub async fn run_with_metrics(
    listener: TcpListener,
    metrics: Option<TcpListener>,
    options: &Options,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (app, streams) = build(options, listener.local_addr().ok(), metrics.is_some());
    let relay = streams.relay.clone();
    let sandbox = streams.sandbox.clone();
    let (stopped, stopping) = watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        // Relay and sandbox streams never end by themselves; end them so open requests can finish.
        streams.relay.close();
        if let Some(sandbox) = &streams.sandbox {
            sandbox.close();
        }
        stopped.send_replace(true);
    };
    // Once no request is left, the sandbox hands its worlds over to the other instances.
    let main = async move {
        let served = webhook_demo_http::serve(listener, app, options.http.clone(), shutdown).await;
        if let Some(sandbox) = &sandbox {
            sandbox.hand_over().await;
        }
        served
    };
    let Some(metrics) = metrics else {
        return main.await;
    };
    let access = metrics::Access::own_listener(options.metrics_token.as_ref());
    let metrics = webhook_demo_http::serve(
        metrics,
        metrics::listener_router(relay, access),
        options.http.clone(),
        async move {
            let mut stopping = stopping;
            // Ends too when the main listener stopped without a shutdown (its sender dropped).
            let _ = stopping.wait_for(|stopped| *stopped).await;
        },
    );
    tokio::try_join!(main, metrics).map(|((), ())| ())
}

#[cfg(test)]
mod tests;
