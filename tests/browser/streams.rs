//! The product's event stream as Particle asks a client to keep it: a stream that goes silent
//! (no ping) is noticed, said and reopened without showing an event twice, and a 529 is waited
//! out for as long as the sandbox asks.

use std::time::Duration;

use anyhow::{Result, ensure};
use webhook_demo_sandbox::{Limits, Settings};
use webhook_demo_server::Options;

use crate::support::{Browser, Server, fixture::*, page::*, start_server};

/// Keeps, in `window.opens`, each answer to the page's product event stream requests (when,
/// status, `Retry-After`), and in `window.said` each announcement with its time.
const RECORD: &str = "window.opens = []; const original = window.fetch; \
    window.fetch = async (input, init) => { \
      const request = new Request(input, init); \
      const response = await original(request); \
      if (/^\\/sandbox\\/v1\\/products\\/\\d+\\/events$/.test(new URL(request.url).pathname)) { \
        window.opens.push([Date.now(), response.status, response.headers.get('Retry-After')]); \
      } \
      return response; }; \
    window.said = []; const region = document.getElementById('announce'); \
    new MutationObserver(() => window.said.push([Date.now(), region.textContent])) \
      .observe(region, {childList: true, characterData: true, subtree: true}); \
    return true;";

/// Asks to open the user's event stream from this process (the same address as the page's), and
/// closes it: the status.
async fn open_stream(server: &Server, token: &str) -> Result<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let mut socket = tokio::net::TcpStream::connect(host).await?;
    let request = format!(
        "GET /sandbox/v1/events HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Connection: close\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await?;
    let mut head = [0u8; 12];
    socket.read_exact(&mut head).await?;
    let status = std::str::from_utf8(&head[9..12])?.parse()?;
    Ok(status)
}

/// The product events' state, as the page shows it next to the run.
const EVENTS: &str = "#streamStates li[data-stream=events]";

/// Makes the sandbox's streams open now go silent for a minute; when it was asked (page clock).
async fn silence(browser: &Browser) -> Result<f64> {
    let asked = in_page(
        browser,
        "const at = Date.now(); const r = await fetch('/sandbox/_sim/streams/silence', \
         {method: 'POST', headers: {'Content-Type': 'application/json'}, \
          body: JSON.stringify({seconds: 60})}); return r.status === 200 ? at : r.status;",
    )
    .await?;
    asked
        .as_f64()
        .filter(|_| asked.as_u64() != Some(404))
        .ok_or_else(|| anyhow::anyhow!("the silence was refused: {asked}"))
}

/// On a server whose sandbox pings every 2 s and lets a client open 30 streams per 12 s.
pub async fn run(browser: &Browser, _server: &Server) -> Result<()> {
    let server = start_server(Options {
        sandbox: Settings {
            keepalive: Duration::from_secs(2),
            limits: Limits {
                stream_opens_per_client: 30,
                stream_open_window: Duration::from_secs(12),
                ..Limits::default()
            },
            ..Settings::default()
        },
        ..Options::default()
    })
    .await?;
    open(browser, &server.url).await?;
    set_up_with(browser, P2).await?;
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;
    wait_for(
        browser,
        &format!("{EVENTS}[data-status=live]"),
        "the event stream is live",
    )
    .await?;
    ensure!(in_page(browser, RECORD).await? == true, "recording");

    // Silent: no ping, no event. The page says so once the ping is overdue (3 s after the last
    // byte, which came at most 2 s before the silence), long before the silence ends, and reopens
    // the stream.
    let asked = silence(browser).await?;
    let resumed = wait_for(
        browser,
        &format!("{EVENTS}[data-status=resumed]"),
        "the stalled stream was not noticed and reopened",
    )
    .await?;
    let words = resumed.text().await?;
    ensure!(
        words == "Product events: stalled and reconnected: events may have been missed",
        "{words}"
    );
    let said = in_page(browser, "return window.said;").await?;
    let stalled_at = said
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s[1].as_str().is_some_and(|t| t.contains("stalled (no ping)")))
        .and_then(|s| s[0].as_f64())
        .ok_or_else(|| anyhow::anyhow!("the stall was not announced: {said}"))?;
    let after = stalled_at - asked;
    ensure!(
        (1_000.0..15_000.0).contains(&after),
        "the stall was said {after} ms after the stream went silent"
    );
    ensure!(
        said.to_string()
            .contains("Product events: stalled and reconnected"),
        "{said}"
    );

    // The reopened stream delivers, each event once.
    click(browser, "testWebhookButton").await?;
    wait_for(browser, "#testEventData", "the test event was sent").await?;
    let data = text_of(browser, "testEventData").await?;
    let id = data
        .split("\"id\":")
        .nth(1)
        .and_then(|rest| rest.trim_start().split(|c: char| !c.is_ascii_digit()).next())
        .unwrap_or_default()
        .to_owned();
    ensure!(!id.is_empty(), "test data {data}");
    wait_for_xpath(
        browser,
        &format!("//table[@id='eventsTable']//td[contains(., '\"id\":{id}')]"),
        "the test event reached the event log",
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rows = texts(browser, "#eventsTable tbody tr").await?;
    let shown = rows
        .iter()
        .filter(|row| row.contains("WebhookDemo01") && row.contains(&format!("\"id\":{id}")))
        .count();
    ensure!(shown == 1, "the test event is shown {shown} times: {rows:?}");

    // Too many streams opened from this address: the next reopening is refused with 529 and
    // waits the Retry-After the sandbox gives before it tries again.
    let token = sandbox_token(browser, SANDBOX_USER).await?;
    let mut opened = 0;
    while open_stream(&server, &token).await? != 529 {
        opened += 1;
        ensure!(opened <= 40, "never refused");
    }
    silence(browser).await?;
    let waiting = wait_for(
        browser,
        &format!("{EVENTS}[data-status=waiting]"),
        "the refusal is shown",
    )
    .await?;
    wait_for_xpath(
        browser,
        "//li[@data-stream='events'][contains(., 'HTTP 529')]",
        "the refusal is said in words",
    )
    .await?;
    drop(waiting);
    wait_for(
        browser,
        &format!("{EVENTS}[data-status=resumed]"),
        "the stream came back after the wait",
    )
    .await?;
    let opens = in_page(browser, "return window.opens;").await?;
    let opens = opens.as_array().cloned().unwrap_or_default();
    let refused: Vec<usize> = (0..opens.len())
        .filter(|i| opens[*i][1] == 529)
        .collect();
    ensure!(refused.len() == 1, "one refusal, then a wait: {opens:?}");
    let at = refused[0];
    let retry_after: f64 = opens[at][2]
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no Retry-After: {opens:?}"))?;
    let next = opens
        .get(at + 1)
        .ok_or_else(|| anyhow::anyhow!("no request after the refusal: {opens:?}"))?;
    ensure!(next[1] == 200, "{opens:?}");
    let waited = next[0].as_f64().unwrap_or(0.0) - opens[at][0].as_f64().unwrap_or(0.0);
    ensure!(
        waited >= retry_after * 1000.0 - 100.0,
        "retried {waited} ms after a 529 asking for {retry_after} s"
    );

    click(browser, "startDemo").await?;
    sign_out(browser).await?;
    no_app_errors(browser).await
}
