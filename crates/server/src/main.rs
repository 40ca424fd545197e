//! The `webhook-demo` binary: parses the command line, sets up logging, binds and serves.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use webhook_demo_relay::{Limits, RedisUrl};
use webhook_demo_sandbox::{WorldLimits, WorldsMode};
use webhook_demo_server::{MetricsToken, Options};

#[derive(Parser)]
#[command(
    name = "webhook-demo",
    version,
    about = "Interactive Particle webhook tutorial"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the tutorial page, the webhook relay and the sandbox Particle cloud.
    Serve {
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Base URL the Particle cloud can reach this server on (used to build hook URLs).
        #[arg(long)]
        public_url: Option<String>,
        /// Do not offer the built-in sandbox Particle cloud.
        #[arg(long)]
        no_sandbox: bool,
        /// Serve a built `pkg/` directory from disk instead of the embedded copy.
        #[arg(long)]
        assets: Option<PathBuf>,
        /// Hooks per second one relay session accepts before answering 429 (0: no limit).
        #[arg(long, default_value_t = Limits::default().hooks_per_second)]
        relay_hook_rate: u32,
        /// Relay sessions alive at once before `stream` answers 503.
        #[arg(long, default_value_t = Limits::default().max_sessions)]
        relay_max_sessions: usize,
        /// Relay sessions one client address may hold at once before `stream` answers 429 (0: no
        /// cap).
        #[arg(long, default_value_t = Limits::default().max_sessions_per_client)]
        relay_sessions_per_client: usize,
        /// Mebibytes all relay sessions together may hold; hooks beyond it are answered 503.
        #[arg(long, default_value_t = Limits::default().max_total_buffer_bytes / (1024 * 1024))]
        relay_max_buffer_mb: usize,
        /// Percent of all relay sessions one network (IPv4 /24, IPv6 /48) may hold; when the
        /// relay is full, the network holding the most gives up its least-used session first.
        #[arg(long, default_value_t = Limits::default().network_sessions_percent)]
        relay_network_sessions_percent: u8,
        /// Percent of the relay's bytes one client address (IPv4, IPv6 /64) may hold; beyond it
        /// that client's own oldest events are evicted.
        #[arg(long, default_value_t = Limits::default().client_bytes_percent)]
        relay_client_bytes_percent: u8,
        /// Percent of the relay's bytes one network (IPv4 /24, IPv6 /48) may hold.
        #[arg(long, default_value_t = Limits::default().network_bytes_percent)]
        relay_network_bytes_percent: u8,
        /// Without --public-url, a host name besides loopback ones that may name hook URLs (the
        /// relay answers 421 to any other `Host`); repeat, or separate with commas.
        #[arg(long, value_delimiter = ',')]
        relay_allow_host: Vec<String>,
        /// End each relay stream after this many seconds (the page resumes it; 0: never).
        #[arg(long, default_value_t = 0)]
        relay_stream_max_age: u64,
        /// Seconds between the sandbox's simulated devices' publishes (0: only on connect and on
        /// a MODE click).
        #[arg(long, default_value_t = 60)]
        sim_publish_interval: u64,
        /// API publishes per second each sandbox user may make after a burst of ten (0: no limit).
        #[arg(long, default_value_t = webhook_demo_sandbox::Settings::default().publishes_per_second)]
        sandbox_publish_rate: u32,
        /// Seconds a failed or skipped sandbox webhook delivery waits before each retry, comma
        /// separated (Particle: 30, then 60); an empty list turns retries off.
        #[arg(long, default_value = "30,60")]
        sandbox_retry_delays: String,
        /// Requests to open a sandbox event stream one client address may make per 5 minutes
        /// (Particle: 100); beyond it, 529.
        #[arg(long, default_value_t = webhook_demo_sandbox::Limits::default().stream_opens_per_client)]
        sandbox_stream_opens: usize,
        /// Sandbox event streams one client address may hold open at once (Particle: 100);
        /// beyond it, 529.
        #[arg(long, default_value_t = webhook_demo_sandbox::Limits::default().open_streams_per_client)]
        sandbox_open_streams: usize,
        /// Lift the sandbox's per-integration and per-account delivery rates (the "Sleeping"
        /// throttle for a host's errors stays). For benchmarks only: a webhook that triggers
        /// itself then runs as fast as the machine allows.
        #[arg(long, hide = true)]
        sandbox_unthrottled_deliveries: bool,
        /// With --public-url, a host the sandbox's webhooks may reach besides this server's own
        /// relay: `example.com`, `example.com:8443` or `*.example.com` (repeat, or separate with
        /// commas). Without --public-url webhooks go anywhere.
        #[arg(long, value_delimiter = ',')]
        sandbox_webhook_allow: Vec<webhook_demo_sandbox::HostPattern>,
        /// `per-sign-in`: every sandbox sign-in gets a world of its own (the default with
        /// --public-url); `shared`: one world for everyone (the default on a learner's machine).
        #[arg(long, value_parser = parse_worlds)]
        sandbox_worlds: Option<WorldsMode>,
        /// Sandbox worlds one client address may hold at once.
        #[arg(long, default_value_t = WorldLimits::default().per_client)]
        sandbox_worlds_per_client: usize,
        /// Sandbox worlds of all clients together.
        #[arg(long, default_value_t = WorldLimits::default().worlds)]
        sandbox_max_worlds: usize,
        /// Megabytes all sandbox worlds together may hold in logs and integrations.
        #[arg(long, default_value_t = WorldLimits::default().bytes / (1024 * 1024))]
        sandbox_max_world_mb: usize,
        /// Minutes a sandbox world lasts without use.
        #[arg(long, default_value_t = WorldLimits::default().idle.as_secs() / 60)]
        sandbox_world_idle_minutes: u64,
        /// Connections one client address may hold open before more are answered 503 (0: no
        /// cap). Behind a reverse proxy every client shares the proxy's address: raise it, or
        /// let the proxy bound each client.
        #[arg(long, default_value_t = webhook_demo_http::Options::default().max_connections_per_client)]
        max_connections_per_client: usize,
        /// Believe `X-Forwarded-Proto`, `X-Forwarded-Host`, `X-Forwarded-For` and `Forwarded`
        /// (for hook URLs and client addresses). Only behind a proxy that sets them; otherwise
        /// any client would choose them.
        #[arg(long)]
        trust_forwarded: bool,
        /// Where relay sessions live: `memory` (this process) or `redis://HOST:PORT[/DB]`,
        /// shared by every instance pointed at the same Redis, so any of them serves any request.
        #[arg(long, default_value = "memory", value_parser = parse_store)]
        store: StoreFlag,
        /// With --store redis://…, the URL the other instances reach this one at
        /// (`http://HOST:PORT`), to forward requests for the sandbox worlds it holds. Default: the
        /// listen address, which must then be one they can reach (not 0.0.0.0).
        #[arg(long)]
        peer_url: Option<String>,
        /// Serve `/metrics` on this address instead (say 127.0.0.1:9100, or a private address
        /// Prometheus reaches); the main address then answers 404 for it.
        #[arg(long)]
        metrics_addr: Option<SocketAddr>,
        /// Answer `/metrics` only to `Authorization: Bearer TOKEN` (at least 16 visible ASCII
        /// characters). Without it or --metrics-addr, a server with --public-url shows its
        /// metrics only to clients on its own host that did not come through a proxy. Prefer the
        /// environment variable: a command line is visible to every user of the host.
        #[arg(long, env = "WEBHOOK_DEMO_METRICS_TOKEN", hide_env_values = true)]
        metrics_token: Option<MetricsToken>,
    },
}

/// The `--store` flag: `None` for the memory store.
#[derive(Clone)]
struct StoreFlag(Option<RedisUrl>);

fn parse_store(text: &str) -> Result<StoreFlag, String> {
    match text {
        "memory" => Ok(StoreFlag(None)),
        url => url.parse().map(|url| StoreFlag(Some(url))),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let Command::Serve {
        addr,
        public_url,
        no_sandbox,
        assets,
        relay_hook_rate,
        relay_max_sessions,
        relay_sessions_per_client,
        relay_max_buffer_mb,
        relay_network_sessions_percent,
        relay_client_bytes_percent,
        relay_network_bytes_percent,
        relay_allow_host,
        relay_stream_max_age,
        sim_publish_interval,
        sandbox_publish_rate,
        sandbox_retry_delays,
        sandbox_stream_opens,
        sandbox_open_streams,
        sandbox_unthrottled_deliveries,
        sandbox_webhook_allow,
        sandbox_worlds,
        sandbox_worlds_per_client,
        sandbox_max_worlds,
        sandbox_max_world_mb,
        sandbox_world_idle_minutes,
        max_connections_per_client,
        trust_forwarded,
        store,
        metrics_addr,
        metrics_token,
        peer_url,
    } = Cli::parse().command;
    if let Some(url) = &public_url {
        anyhow::ensure!(
            url.starts_with("http://") || url.starts_with("https://"),
            "--public-url must start with http:// or https://, got {url:?}"
        );
    }
    let retry_delays = retry_delays(&sandbox_retry_delays)?;
    if let Some(url) = &peer_url {
        anyhow::ensure!(
            url.starts_with("http://") && !url.trim_start_matches("http://").contains('/'),
            "--peer-url must be http://HOST:PORT, got {url:?}"
        );
    } else if store.0.is_some()
        && !no_sandbox
        && webhook_demo_server::worlds_mode(sandbox_worlds, public_url.is_some())
            == WorldsMode::PerSignIn
        && addr.ip().is_unspecified()
    {
        anyhow::bail!(
            "with --store redis://… the other instances forward sandbox requests to this one: \
             give --peer-url http://HOST:PORT (an address they reach), or listen on one"
        );
    }
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {addr}"))?;
    let bound = listener.local_addr().context("reading the bound address")?;
    let metrics_listener = match metrics_addr {
        None => None,
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding --metrics-addr {addr}"))?,
        ),
    };
    // The URL goes to stdout so scripts (and `cargo xtask serve`) can read the port that was picked.
    #[allow(clippy::print_stdout)]
    {
        println!("Webhook demo listening on http://{bound}/");
        if let Some(metrics) = &metrics_listener {
            let metrics = metrics
                .local_addr()
                .context("reading the metrics address")?;
            println!("Metrics on http://{metrics}/metrics");
        }
    }
    let relay_limits = Limits {
        hooks_per_second: relay_hook_rate,
        hook_burst: Limits::default()
            .hook_burst
            .max(relay_hook_rate.saturating_mul(2)),
        max_sessions: relay_max_sessions,
        max_sessions_per_client: relay_sessions_per_client,
        max_total_buffer_bytes: relay_max_buffer_mb.saturating_mul(1024 * 1024),
        network_sessions_percent: relay_network_sessions_percent,
        client_bytes_percent: relay_client_bytes_percent,
        network_bytes_percent: relay_network_bytes_percent,
        hosts: relay_allow_host,
        max_stream_age: (relay_stream_max_age > 0)
            .then(|| Duration::from_secs(relay_stream_max_age)),
        ..Limits::default()
    };
    let options = Options {
        public_url,
        no_sandbox,
        assets,
        relay_limits,
        trust_forwarded,
        sandbox: webhook_demo_sandbox::Settings {
            sim_publish_interval: (sim_publish_interval > 0)
                .then(|| Duration::from_secs(sim_publish_interval)),
            publishes_per_second: sandbox_publish_rate,
            delivery_rates: !sandbox_unthrottled_deliveries,
            retry_delays,
            limits: webhook_demo_sandbox::Limits {
                stream_opens_per_client: sandbox_stream_opens,
                open_streams_per_client: sandbox_open_streams,
                ..webhook_demo_sandbox::Limits::default()
            },
            world_limits: WorldLimits {
                per_client: sandbox_worlds_per_client,
                worlds: sandbox_max_worlds,
                bytes: sandbox_max_world_mb.saturating_mul(1024 * 1024),
                idle: Duration::from_secs(sandbox_world_idle_minutes.saturating_mul(60)),
                ..WorldLimits::default()
            },
            ..webhook_demo_sandbox::Settings::default()
        },
        sandbox_worlds,
        sandbox_webhook_allow,
        http: webhook_demo_http::Options {
            max_connections_per_client,
            ..webhook_demo_http::Options::default()
        },
        store: store.0,
        metrics_token,
        peer_url,
    };
    webhook_demo_server::run_with_metrics(listener, metrics_listener, &options, shutdown_signal())
        .await
        .context("serving")
}

/// Ctrl-C, or SIGTERM (what systemd and container runtimes send to stop a service): open requests
/// finish, so a rolling restart behind a load balancer answers every hook it took.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM; stop the server with Ctrl-C");
                std::future::pending::<()>().await;
            }
        }
    };
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C; stop the server with a signal");
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

fn parse_worlds(text: &str) -> Result<WorldsMode, String> {
    match text {
        "per-sign-in" => Ok(WorldsMode::PerSignIn),
        "shared" => Ok(WorldsMode::Shared),
        other => Err(format!("expected per-sign-in or shared, not {other:?}")),
    }
}

/// `--sandbox-retry-delays`: seconds, comma separated; empty for none.
fn retry_delays(text: &str) -> anyhow::Result<Vec<Duration>> {
    text.split(',')
        .map(str::trim)
        .filter(|seconds| !seconds.is_empty())
        .map(|seconds| {
            seconds
                .parse::<u64>()
                .map(Duration::from_secs)
                .with_context(|| {
                    format!(
                        "--sandbox-retry-delays takes seconds separated by commas, not {seconds:?}"
                    )
                })
        })
        .collect()
}
