//! Two learners do the tutorial side by side on a hosted sandbox: two instances on one Redis
//! behind a round-robin nginx, nothing pinned, each learner in a world of their own (one tab
//! each). The instance holding one learner's world is killed midway; the other instance takes
//! the world over from Redis, and both learners finish with their own product, webhook and rows,
//! neither seeing the other's.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use fantoccini::{Locator, wd::WindowHandle};
use serde_json::Value;

use crate::support::{
    Browser, Server,
    lb::{Balanced, redis::RedisServer},
    page::*,
};

/// How long a killed instance's worlds wait before another may take them: its lease, and a
/// margin for the page's reconnection.
const TAKEOVER: Duration = Duration::from_secs(30);

/// One learner's tab: its window and the hook URL its run was given.
struct Learner {
    window: WindowHandle,
    hook_url: String,
}

pub async fn run(browser: &Browser, _server: &Server) -> Result<()> {
    let Balanced {
        redis,
        mut instances,
        nginx,
        url,
    } = Balanced::start()?;

    let first = browser.client.window().await?;
    let ada = begin(browser, first, &url).await?;
    let second = browser.client.new_window(true).await?.handle;
    let bob = begin(browser, second, &url).await?;
    ensure!(ada.hook_url != bob.hook_url, "each learner has a hook URL of their own");

    // Kill the instance holding ada's world, midway through her run.
    let held = holder(&redis, &ada.hook_url)?;
    let index = instances
        .iter()
        .position(|instance| format!("http://{}", instance.addr) == held)
        .with_context(|| format!("ada's world is held by {held}, not by an instance"))?;
    instances[index].kill();
    let survivor = format!("http://{}", instances[1 - index].addr);
    let deadline = tokio::time::Instant::now() + TAKEOVER;
    // The page's own requests (its event stream reconnecting) take the world over once the
    // dead instance's lease has run out.
    while holder(&redis, &ada.hook_url)? != survivor {
        ensure!(
            tokio::time::Instant::now() < deadline,
            "ada's world was not taken over"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    for learner in [&ada, &bob] {
        browser.client.switch_to_window(learner.window.clone()).await?;
        test_once(browser, 2).await?;
    }
    for learner in [&ada, &bob] {
        browser.client.switch_to_window(learner.window.clone()).await?;
        let rows = texts(browser, "#webhookDemoDataTable tbody tr").await?;
        let mut unique = rows.clone();
        unique.sort();
        unique.dedup();
        ensure!(rows.len() == 2 && unique.len() == 2, "rows {rows:#?}");
        // Each world holds one product and one webhook, to this learner's hook URL only.
        let world = snapshot(&redis, &learner.hook_url)?;
        let hooks: Vec<&str> = world["integrations"]
            .as_array()
            .context("integrations")?
            .iter()
            .filter_map(|hook| hook["raw"]["url"].as_str())
            .collect();
        ensure!(hooks == [learner.hook_url.as_str()], "webhooks {hooks:?}");
        let products = world["products"].as_array().context("products")?.len();
        ensure!(products == 1, "{products} products in one learner's world");
        click(browser, "startDemo").await?;
        sign_out(browser).await?;
    }
    browser.client.switch_to_window(bob.window).await?;
    browser.client.close_window().await?;
    browser.client.switch_to_window(ada.window).await?;
    drop(nginx);
    no_app_errors(browser).await
}

/// In tab `window`: opens the page, signs in to the sandbox, creates a product, starts the demo
/// and presses Test once.
async fn begin(browser: &Browser, window: WindowHandle, url: &str) -> Result<Learner> {
    browser.client.switch_to_window(window.clone()).await?;
    open(browser, url).await?;
    click(browser, "sandboxSignIn").await?;
    wait_for_state(browser, "select-product", "no-product").await?;
    click(browser, "createNewProductButton").await?;
    wait_for_state(browser, "start", "ready").await?;
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;
    let hook_url = texts(browser, ".webhookUrlSpan")
        .await?
        .into_iter()
        .next()
        .context("a hook URL")?;
    test_once(browser, 1).await?;
    Ok(Learner { window, hook_url })
}

/// Presses Test and waits for the data table's row `row`.
async fn test_once(browser: &Browser, row: usize) -> Result<()> {
    click(browser, "testWebhookButton").await?;
    wait_for(
        browser,
        &format!("#webhookDemoDataTable tbody tr:nth-child({row})"),
        &format!("hook {row} never reached the data table"),
    )
    .await?;
    ensure!(
        browser
            .client
            .find_all(Locator::Css("#webhookDemoDataTable tbody tr"))
            .await?
            .len()
            == row,
        "one row per press"
    );
    Ok(())
}

/// `redis-cli` on the test's Redis.
fn redis_cli(redis: &RedisServer, args: &[&str]) -> Result<String> {
    let output = std::process::Command::new("redis-cli")
        .args(["-u", &redis.url(), "--raw"])
        .args(args)
        .output()?;
    Ok(String::from_utf8(output.stdout)?.trim_end().to_owned())
}

/// The key of the world whose webhook goes to `hook_url`.
fn world_key(redis: &RedisServer, hook_url: &str) -> Result<String> {
    for key in redis_cli(redis, &["KEYS", "sbx:w:*"])?.lines() {
        if redis_cli(redis, &["HGET", key, "snap"])?.contains(hook_url) {
            return Ok(key.to_owned());
        }
    }
    anyhow::bail!("no world has a webhook to {hook_url}")
}

/// The world whose webhook goes to `hook_url`, as saved in Redis.
fn snapshot(redis: &RedisServer, hook_url: &str) -> Result<Value> {
    let key = world_key(redis, hook_url)?;
    Ok(serde_json::from_str(&redis_cli(redis, &["HGET", &key, "snap"])?)?)
}

/// The URL of the instance holding the world whose webhook goes to `hook_url`.
fn holder(redis: &RedisServer, hook_url: &str) -> Result<String> {
    let key = world_key(redis, hook_url)?;
    let owner = redis_cli(redis, &["HGET", &key, "owner"])?;
    redis_cli(redis, &["GET", &format!("sbx:inst:{owner}")])
}
