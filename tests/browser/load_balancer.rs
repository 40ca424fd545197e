//! The tutorial through a real load balancer: two instances sharing one Redis behind nginx,
//! round-robin, nothing pinned (the sandbox's worlds live in Redis too). Test is pressed while
//! the instance the page's relay stream comes from is killed and started again: every hook
//! reaches the data table once.

use anyhow::{Context, Result, ensure};
use fantoccini::Locator;

use crate::support::{
    Browser, Server,
    lb::Balanced,
    page::*,
};

/// Times Test is pressed: before the kill, while the instance is down, after its restart.
const PRESSES: [usize; 3] = [2, 2, 2];

pub async fn run(browser: &Browser, _server: &Server) -> Result<()> {
    // Redis lives as long as `_redis`.
    let Balanced {
        redis: _redis,
        mut instances,
        nginx,
        url,
    } = Balanced::start()?;

    open(browser, &url).await?;
    click(browser, "sandboxSignIn").await?;
    wait_for_state(browser, "select-product", "no-product").await?;
    click(browser, "createNewProductButton").await?;
    wait_for_state(browser, "start", "ready").await?;
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;
    let shown = texts(browser, ".webhookUrlSpan").await?;
    ensure!(
        shown
            .iter()
            .all(|u| u.starts_with(&format!("{url}relay/hook/"))),
        "the hook URL is the balancer's: {shown:?}"
    );

    let mut rows = 0;
    let mut killed = None;
    for (round, presses) in PRESSES.into_iter().enumerate() {
        if round == 1 {
            // Kill the instance holding the page's stream, so the page must resume elsewhere.
            let mut streaming = None;
            for (i, instance) in instances.iter().enumerate() {
                if instance.metric("relay_open_streams").await? >= 1.0 {
                    streaming = Some(i);
                }
            }
            let i = streaming.context("no instance holds the page's stream")?;
            instances[i].kill();
            killed = Some(i);
        }
        if round == 2 {
            let i = killed.context("an instance was killed")?;
            instances[i].restart()?;
        }
        for _ in 0..presses {
            click(browser, "testWebhookButton").await?;
            rows += 1;
            wait_for(
                browser,
                &format!("#webhookDemoDataTable tbody tr:nth-child({rows})"),
                &format!("hook {rows} never reached the data table (round {round})"),
            )
            .await?;
        }
    }
    // Each press published once; each row is one delivery, told apart by its publish time.
    let mut seen = Vec::new();
    for row in browser
        .client
        .find_all(Locator::Css("#webhookDemoDataTable tbody tr"))
        .await?
    {
        seen.push(row.text().await?);
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    ensure!(
        seen.len() == rows && unique.len() == rows,
        "{rows} presses, rows {seen:#?}"
    );
    click(browser, "startDemo").await?;
    sign_out(browser).await?;
    drop(nginx);
    no_app_errors(browser).await
}
