//! A relay that drops its streams loses no hook.

use std::time::Duration;

use anyhow::{Result, ensure};
use webhook_demo_server::Options;

use crate::support::{Browser, Server, page::*, start_server};

/// On a server whose relay ends every stream after a second, hooks sent across several drops
/// all reach the data table, once each.
pub async fn run(browser: &Browser, _server: &Server) -> Result<()> {
    let server = start_server(Options {
        relay_limits: webhook_demo_relay::Limits {
            max_stream_age: Some(Duration::from_secs(1)),
            ..webhook_demo_relay::Limits::default()
        },
        ..Options::default()
    })
    .await?;
    open(browser, &server.url).await?;
    click(browser, "sandboxSignIn").await?;
    wait_for_state(browser, "select-product", "no-product").await?;
    click(browser, "createNewProductButton").await?;
    wait_for_state(browser, "start", "ready").await?;
    // The relay typed in by the learner (here the server's own, by its full address).
    let relay = format!("{}/relay", server.url.trim_end_matches('/'));
    type_into(browser, "relayUrlInput", &relay).await?;
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;
    let sent = in_page(
        browser,
        "const hook = document.querySelector('.webhookUrlSpan').textContent; \
         for (let n = 0; n < 30; n++) { \
           await fetch(hook, {method: 'POST', body: JSON.stringify({n})}); \
           await new Promise(r => setTimeout(r, 100)); \
         } return 30;",
    )
    .await?;
    ensure!(sent == 30, "sent {sent}");
    wait_for(
        browser,
        "#webhookDemoDataTable tbody tr:nth-child(30)",
        "hooks were lost across stream drops",
    )
    .await?;
    let column = texts(browser, "#webhookDemoDataTable thead th").await?;
    ensure!(column == ["n"], "columns {column:?}");
    let mut seen: Vec<u32> = texts(browser, "#webhookDemoDataTable tbody td")
        .await?
        .iter()
        .map(|n| n.parse().unwrap_or(u32::MAX))
        .collect();
    seen.sort_unstable();
    ensure!(seen == (0..30).collect::<Vec<_>>(), "rows {seen:?}");
    click(browser, "startDemo").await?;
    sign_out(browser).await?;
    no_app_errors(browser).await
}
