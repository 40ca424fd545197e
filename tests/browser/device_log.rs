//! The device log reads like a log: each line with the time it arrived, following the newest
//! line until the learner scrolls up to read an older one, and downloaded a line each with its
//! time. A simulated device publishing every second keeps lines coming.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use webhook_demo_server::Options;

use crate::support::{Browser, Server, fixture::*, page::*, start_server};

pub async fn run(browser: &Browser, _shared: &Server) -> Result<()> {
    let mut options = Options::default();
    options.sandbox.sim_publish_interval = Some(Duration::from_secs(1));
    let server = start_server(options).await?;
    open(browser, &server.url).await?;
    sandbox_sign_in_to_devices(browser).await?;
    choose(browser, "deviceSelect", P2).await?;
    click(browser, "deviceLogButton").await?;
    // A short log, so a few lines overflow it, left at its newest line as a growing log is.
    in_page(
        browser,
        "const log = document.getElementById('deviceLog'); log.style.maxHeight = '3em'; \
         log.scrollTop = log.scrollHeight; return null;",
    )
    .await?;
    let count = "return document.querySelectorAll('#deviceLog > div').length;";
    let lines_after = |n: u64| format!("//pre[@id='deviceLog'][count(div) >= {n}]");
    let before = in_page(browser, count).await?.as_u64().context("a count")?;
    wait_for_xpath(browser, &lines_after(before.max(4) + 2), "the device logged too little").await?;
    let at_bottom = "const log = document.getElementById('deviceLog'); \
                     return log.scrollHeight > log.clientHeight && \
                     log.scrollTop + log.clientHeight >= log.scrollHeight - 2;";
    let geometry = "const log = document.getElementById('deviceLog'); \
                    return [log.scrollTop, log.clientHeight, log.scrollHeight];";
    ensure!(
        in_page(browser, at_bottom).await? == true,
        "the log does not follow its newest line: {}",
        in_page(browser, geometry).await?
    );

    // Scrolled up to read, the learner stays where they are while lines keep coming.
    in_page(browser, "document.getElementById('deviceLog').scrollTop = 0; return null;").await?;
    let seen = in_page(browser, count).await?.as_u64().context("a count")?;
    wait_for_xpath(browser, &lines_after(seen + 2), "no more lines came").await?;
    let top = in_page(browser, "return document.getElementById('deviceLog').scrollTop;").await?;
    ensure!(top == 0, "the log scrolled away from what the learner reads (scrollTop {top})");

    let times = attrs(browser, "#deviceLog > div", "data-time").await?;
    let clock = |t: &str| {
        t.len() == 8
            && t.char_indices()
                .all(|(i, c)| if i == 2 || i == 5 { c == ':' } else { c.is_ascii_digit() })
    };
    ensure!(
        !times.is_empty() && times.iter().all(|t| clock(t)),
        "lines without a time: {times:?}"
    );

    click(browser, "deviceLogDownload").await?;
    let href = in_page(
        browser,
        "return decodeURIComponent(document.getElementById('downloadLink').href);",
    )
    .await?;
    let text = href
        .as_str()
        .and_then(|href| href.strip_prefix("data:text/plain;charset=utf-8,"))
        .context("the device log is offered as text")?;
    let first = text.lines().next().unwrap_or_default();
    ensure!(
        text.lines().count() >= 8 && clock(&first[..8.min(first.len())]),
        "the downloaded log is not a line each with its time: {text:?}"
    );
    no_app_errors(browser).await
}
