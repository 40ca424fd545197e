//! What the benchmark programs share: the release server in its own process, percentiles, and
//! the one-JSON-object-per-line report format `cargo xtask bench` prints.

use std::process::Stdio;

use anyhow::{Context, Result};
use serde_json::json;
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
    _child: Child,
}

impl Server {
    /// Starts `webhook-demo serve` on a free loopback port with these extra flags.
    pub async fn start(flags: &[&str]) -> Result<Server> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_webhook-demo"))
            .args(["serve", "--addr", "127.0.0.1:0"])
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
            _child: child,
        })
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

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}
