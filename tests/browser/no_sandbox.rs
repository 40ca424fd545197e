//! A server without a sandbox offers no sandbox button.

use anyhow::{Result, ensure};
use fantoccini::Locator;
use webhook_demo_server::Options;

use crate::support::{Browser, Server, page::*, start_server};

pub async fn run(browser: &Browser, _server: &Server) -> Result<()> {
    let server = start_server(Options {
        no_sandbox: true,
        ..Options::default()
    })
    .await?;
    open(browser, &server.url).await?;
    // The page reads the same config.json; once it is read, the button must not be there.
    let config: serde_json::Value = browser
        .client
        .execute_async(
            "fetch('config.json').then(r => r.json()).then(arguments[0])",
            vec![],
        )
        .await?;
    ensure!(
        config["sandbox"].is_null(),
        "config.json still offers a sandbox: {config}"
    );
    browser.client.find(Locator::Id("tokenInput")).await?;
    ensure!(
        browser
            .client
            .find(Locator::Id("sandboxSignIn"))
            .await
            .is_err(),
        "a sandbox button without a sandbox"
    );
    Ok(())
}
