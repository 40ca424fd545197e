//! A relay answer cannot script the tutorial.

use anyhow::{Context, Result, ensure};

use crate::support::{Browser, Server};

/// Issue 3: whoever holds a relay session chooses what its hook URL answers, `text/html` with a
/// script included, and the hook URL is on the tutorial's own origin. Opened in the browser, that
/// answer must neither run nor reach the origin's `localStorage`, where "Remember me" keeps the
/// learner's token.
pub async fn run(browser: &Browser, server: &Server) -> Result<()> {
    use axum::body::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper_util::{client::legacy::Client, rt::TokioExecutor};

    browser.client.goto(&server.url).await?;
    browser
        .client
        .execute(
            "localStorage.setItem('relayProbe', 'remembered-token');",
            Vec::new(),
        )
        .await?;

    // A session opened over HTTP, as any client of the relay could.
    let http = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let stream =
        axum::http::Request::get(format!("{}relay/stream", server.url)).body(Full::default())?;
    let mut stream = http.request(stream).await?.into_body();
    let mut head = Vec::new();
    while !head.ends_with(b"\n\n") {
        let frame = stream
            .frame()
            .await
            .context("the stream ended before start")??;
        head.extend_from_slice(frame.data_ref().map_or(&[][..], |data| &data[..]));
    }
    let head = String::from_utf8(head)?;
    let data = head
        .lines()
        .find_map(|line| line.strip_prefix("data: "))
        .context("no start data")?;
    let start: serde_json::Value = serde_json::from_str(data)?;
    let (hook_url, control_url) = (
        start["hookUrl"].as_str().context("no hookUrl")?,
        start["controlUrl"].as_str().context("no controlUrl")?,
    );
    let page = "<!doctype html><title>inert</title><script>\
        try { document.title = 'ran: ' + localStorage.getItem('relayProbe'); \
              localStorage.setItem('relayProbe', 'stolen'); } \
        catch (e) { document.title = 'ran: ' + e.name; }</script>";
    let control = axum::http::Request::post(control_url)
        .header("content-type", "application/json")
        .body(Full::from(
            serde_json::json!({"contentType": "text/html", "body": page}).to_string(),
        ))?;
    let status = http.request(control).await?.status();
    ensure!(status == 200, "control answered {status}");

    browser.client.goto(hook_url).await?;
    let title = browser.client.title().await?;
    ensure!(
        title == "inert",
        "the hook's page ran its script: title {title:?}"
    );
    // Chromium logs the script it blocked; read it here so later checks start with a clean log.
    browser.console_errors().await?;
    browser.client.goto(&server.url).await?;
    let kept = browser
        .client
        .execute(
            "const kept = localStorage.getItem('relayProbe'); \
             localStorage.removeItem('relayProbe'); return kept;",
            Vec::new(),
        )
        .await?;
    ensure!(
        kept == "remembered-token",
        "the tutorial's localStorage was reached: {kept}"
    );
    drop(stream);
    Ok(())
}
