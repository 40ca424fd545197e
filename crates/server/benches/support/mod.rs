//! What the benchmark programs share: the release server in its own process, signing in to its
//! sandbox, percentiles, and the one-JSON-object-per-line report format `cargo xtask bench`
//! prints.

use std::process::Stdio;

use anyhow::{Context, Result};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
};

pub fn report(
    measure: &str,
    value: f64,
    unit: &str,
    budget: Option<f64>,
    better: &str,
    detail: &str,
) {
    let mut line = json!({
        "measure": measure,
        "value": (value * 1000.0).round() / 1000.0,
        "unit": unit,
        "better": better,
        "detail": detail,
    });
    if let Some(budget) = budget {
        line["budget"] = json!(budget);
    }
    println!("{line}");
}

/// The release `webhook-demo serve` in its own process.
pub struct Server {
    /// `http://ADDR`, without a trailing slash.
    pub url: String,
    pub addr: String,
    pub pid: u32,
    child: Child,
}

impl Server {
    /// Starts `webhook-demo serve` on a free loopback port with these extra flags.
    pub async fn start(flags: &[&str]) -> Result<Server> {
        Server::start_at("127.0.0.1:0", flags).await
    }

    /// Starts `webhook-demo serve` on `addr` (an instance started again on its port).
    pub async fn start_at(addr: &str, flags: &[&str]) -> Result<Server> {
        let binary = env!("CARGO_BIN_EXE_webhook-demo");
        // The server gets its own core (its runtime then runs one worker), the load generator
        // the other, so neither's threads queue behind the other's on a shared core.
        let mut command = match Pinning::get() {
            Pinning::Pinned => {
                let mut command = Command::new("taskset");
                command.args(["--cpu-list", SERVER_CPU, binary]);
                command
            }
            Pinning::Unpinned => Command::new(binary),
        };
        let mut child = command
            .args(["serve", "--addr", addr])
            .args(flags)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting webhook-demo")?;
        let stdout = child.stdout.take().context("stdout")?;
        let line = BufReader::new(stdout)
            .lines()
            .next_line()
            .await?
            .context("no address printed")?;
        let url = line
            .rsplit(' ')
            .next()
            .context("a URL")?
            .trim_end_matches('/')
            .to_owned();
        let addr = url.trim_start_matches("http://").to_owned();
        let pid = child.id().context("a pid")?;
        Ok(Server {
            url,
            addr,
            pid,
            child,
        })
    }

    /// Stops the server as systemd would (SIGTERM: open requests finish) and waits for it.
    pub async fn stop(mut self) -> Result<()> {
        let signalled = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await?;
        anyhow::ensure!(signalled.success(), "kill -TERM {} failed", self.pid);
        self.child.wait().await?;
        Ok(())
    }

    /// Kills the server at once (SIGKILL: nothing is saved or handed over) and waits for it.
    pub async fn kill(mut self) -> Result<()> {
        self.child.kill().await?;
        Ok(())
    }

    pub fn rss_mb(&self) -> Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))?;
        let kb: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .context("VmRSS")?;
        Ok(kb / 1024.0)
    }
}

/// A real Redis on a free loopback port, shared with the relay's tests.
#[path = "../../../relay/tests/support/redis.rs"]
pub mod redis;

/// The core the server runs on; the load generator runs on the others.
const SERVER_CPU: &str = "0";

/// Whether the server and the load generator run on cores of their own.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Pinning {
    Pinned,
    Unpinned,
}

impl Pinning {
    /// Pins this process (every thread it starts from now on) away from the server's core, when
    /// the machine has another core and `taskset` is there; call before starting the runtime.
    pub fn pin_load_generator() -> Pinning {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let pinned = cores > 1
            && std::process::Command::new("taskset")
                .args(["--all-tasks", "--cpu-list", "--pid"])
                .arg(format!("1-{}", cores - 1))
                .arg(std::process::id().to_string())
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|status| status.success());
        let pinning = if pinned {
            Pinning::Pinned
        } else {
            Pinning::Unpinned
        };
        PINNING.set(pinning).ok();
        pinning
    }

    pub fn get() -> Pinning {
        PINNING.get().copied().unwrap_or(Pinning::Unpinned)
    }

    /// How the measure's `detail` describes it.
    pub fn describe(self) -> &'static str {
        match self {
            Pinning::Pinned => "server pinned to one core, load generator to the other",
            Pinning::Unpinned => "server and load generator share the cores (taskset unavailable)",
        }
    }
}

static PINNING: std::sync::OnceLock<Pinning> = std::sync::OnceLock::new();

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Signs in to the sandbox at `api` as the fixture's user; the access token.
pub async fn sandbox_token(client: &reqwest::Client, api: &str) -> Result<String> {
    let token: Value = client
        .post(format!("{api}/oauth/token"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(
            "client_id=particle&client_secret=particle&grant_type=password\
             &username=sandbox%40example.com&password=sandbox",
        )
        .send()
        .await?
        .json()
        .await?;
    Ok(token["access_token"]
        .as_str()
        .context("a token")?
        .to_owned())
}
