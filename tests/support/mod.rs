//! What the browser tests and the page benchmark share: the real server on `127.0.0.1:0`, one
//! headless Chromium driven over WebDriver, what the checks do in the page (`page.rs`) and the
//! sandbox's fixture (`fixture.rs`).

pub mod fixture;
pub mod lb;
pub mod page;
pub mod proxy;

use std::{process::Stdio, time::Duration};

use anyhow::{Context, Result, bail};
use axum::http::Method;
use fantoccini::{Client, ClientBuilder, wd::WebDriverCompatibleCommand};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    net::TcpListener,
    process::{Child, Command},
    sync::oneshot,
};
use webhook_demo_server::Options;

/// The server, running in this process until dropped.
pub struct Server {
    pub url: String,
    _stop: oneshot::Sender<()>,
}

pub async fn start_server(options: Options) -> Result<Server> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the server")?;
    let url = format!("http://{}/", listener.local_addr()?);
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async move { drop(stopped.await) };
        if let Err(error) = webhook_demo_server::run(listener, &options, shutdown).await {
            panic!("the server failed: {error}");
        }
    });
    Ok(Server { url, _stop: stop })
}

/// One headless Chromium, reused by every check in a run.
pub struct Browser {
    pub client: Client,
    driver: Child,
}

impl Browser {
    pub async fn launch() -> Result<Browser> {
        let chromedriver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let mut driver = Command::new(&chromedriver)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {chromedriver} (cargo xtask test installs it)"))?;
        let stdout = driver.stdout.take().context("chromedriver's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        // chromedriver announces its port ("… started successfully on port 41234.") once it listens.
        let port = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    return Ok::<_, anyhow::Error>(
                        rest.trim_end_matches('.').trim().parse::<u16>()?,
                    );
                }
            }
            bail!("chromedriver exited before listening")
        })
        .await
        .context("waiting for chromedriver to listen")??;
        // Keep draining its stdout so it never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-quic", "--no-first-run", "--window-size=1280,1000",
                ],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("an object literal")
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .context("opening a WebDriver session in Chromium")?;
        Ok(Browser { client, driver })
    }

    /// Console messages logged at error level since the last call (Chromium clears them on read).
    pub async fn console_errors(&self) -> Result<Vec<String>> {
        let entries = self
            .client
            .issue_cmd(BrowserLog)
            .await
            .context("reading the browser log")?;
        Ok(entries
            .as_array()
            .into_iter()
            .flatten()
            .filter(|entry| entry["level"] == "SEVERE")
            .map(|entry| entry["message"].as_str().unwrap_or_default().to_owned())
            .collect())
    }

    /// Runs a DevTools command in the page (chromedriver's `goog/cdp/execute`): what WebDriver
    /// cannot do, such as emulating a phone's viewport or a dark colour scheme.
    pub async fn cdp(&self, cmd: &'static str, params: Value) -> Result<Value> {
        self.client
            .issue_cmd(Cdp { cmd, params })
            .await
            .with_context(|| format!("DevTools {cmd}"))
    }

    pub async fn close(mut self) -> Result<()> {
        self.client.close().await.context("closing the browser")?;
        self.driver.kill().await.context("stopping chromedriver")
    }
}

/// chromedriver's `POST /session/{id}/goog/cdp/execute`: one DevTools command.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _url: &url::Url) -> (Method, Option<String>) {
        let body = json!({"cmd": self.cmd, "params": self.params});
        (Method::POST, Some(body.to_string()))
    }
}

/// chromedriver's `POST /session/{id}/se/log`: the page's console, which W3C WebDriver lacks.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _url: &url::Url) -> (Method, Option<String>) {
        (Method::POST, Some(json!({"type": "browser"}).to_string()))
    }
}
