//! The firmware panel: the sources shown, downloaded and flashed.

use anyhow::{Context, Result, ensure};
use fantoccini::Locator;

use crate::support::{Browser, Server, fixture::*, page::*};

pub async fn run(browser: &Browser, server: &Server) -> Result<()> {
    open(browser, &server.url).await?;
    let files = texts(browser, "#firmwareFiles button").await?;
    ensure!(
        files == ["src/webhook-demo.cpp", "project.properties", "README.md"],
        "files {files:?}"
    );
    wait_for(
        browser,
        "#firmwareSource pre[data-file=\"src/webhook-demo.cpp\"]:not([hidden]) span.k",
        "the source is not shown highlighted",
    )
    .await?;
    browser
        .client
        .find(Locator::Css(
            "#firmwareFiles button[data-file=\"project.properties\"]",
        ))
        .await?
        .click()
        .await?;
    wait_for(
        browser,
        "#firmwareSource pre[data-file=\"project.properties\"]:not([hidden])",
        "the file list does not switch files",
    )
    .await?;
    ensure!(
        browser
            .client
            .find_all(Locator::Css("#firmwareSource pre:not([hidden])"))
            .await?
            .len()
            == 1,
        "more than one file shown"
    );

    // The zip holds exactly the project's files.
    let bytes = in_page(
        browser,
        "const r = await fetch(document.getElementById('firmwareDownload').href); \
         return Array.from(new Uint8Array(await r.arrayBuffer()));",
    )
    .await?;
    let bytes: Vec<u8> = bytes
        .as_array()
        .context("zip bytes")?
        .iter()
        .map(|b| b.as_u64().unwrap_or(0) as u8)
        .collect();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).context("a zip")?;
    let project = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware/webhook-demo");
    let mut names = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index)?;
        let mut content = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut content)?;
        let name = entry.name().to_owned();
        let path = name
            .strip_prefix("webhook-demo/")
            .context("inside webhook-demo/")?;
        ensure!(
            content == std::fs::read(project.join(path))?,
            "{name} differs from the project"
        );
        names.push(name);
    }
    ensure!(names.len() == 3, "zip entries {names:?}");

    // Flashing the offline Argon is refused with a reason; once online it can be flashed.
    sandbox_sign_in_to_devices(browser).await?;
    choose(browser, "deviceSelect", ARGON).await?;
    wait_for_state(browser, "firmware", "offline").await?;
    // The Argon joins a product of its own, and the demo runs, so its publishes reach the page.
    wait_for_state(browser, "select-product", "no-product").await?;
    click(browser, "createNewProductButton").await?;
    wait_for_state(browser, "add-device", "can-add").await?;
    click(browser, "addDeviceButton").await?;
    wait_for_state(browser, "add-device", "in-product").await?;
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;
    let online = in_page(
        browser,
        &format!("return (await fetch('/sandbox/_sim/devices/{ARGON}/online', {{method: 'PUT', \
                  headers: {{'Content-Type': 'application/json'}}, body: '{{\"online\":true}}'}})).status;"),
    )
    .await?;
    ensure!(online == 200, "taking the Argon online answered {online}");
    click(browser, "refreshDevices").await?;
    wait_for_state(browser, "firmware", "ready").await?;

    // A deliberate compile error comes back with its file and line.
    break_firmware(browser).await?;
    click(browser, "firmwareFlash").await?;
    wait_for_state(browser, "firmware", "error").await?;
    let errors = texts(browser, "#flashErrors li").await?;
    ensure!(
        errors
            .iter()
            .any(|e| e.starts_with("src/webhook-demo.cpp:")
                && e.ends_with("error: #error try again")),
        "compile errors {errors:?}"
    );

    // The real sources flash; the device restarts running the demo, and its log shows it publishing.
    fix_firmware(browser).await?;
    click(browser, "deviceLogButton").await?;
    click(browser, "firmwareFlash").await?;
    wait_for_state(browser, "firmware", "flashed").await?;
    wait_for_xpath(
        browser,
        "//strong[@id='flashStatus'][text()='success']",
        "the flash's progress never reached success",
    )
    .await?;
    wait_for_xpath(
        browser,
        "//pre[@id='deviceLog']/div[starts-with(text(), 'published WebhookDemo01')]",
        "the flashed Argon never published",
    )
    .await?;
    // Its event reaches the event log and its request the data table; its log shows the answer.
    wait_for_xpath(
        browser,
        "//table[@id='eventsTable']//tr[td[2]='WebhookDemo01' and td[4]='sandbox-argon']",
        "the Argon's event is not in the event log",
    )
    .await?;
    wait_for_xpath(
        browser,
        &format!("//table[@id='webhookDemoDataTable']//td[text()='{ARGON}']"),
        "the Argon's request is not in the data table",
    )
    .await?;
    wait_for_xpath(
        browser,
        &format!("//pre[@id='deviceLog']/div[starts-with(text(), 'hook response {ARGON}/hook-response/WebhookDemo01/0')]"),
        "the Argon never logged its hook response",
    )
    .await?;
    click(browser, "startDemo").await?;
    sign_out(browser).await?;
    no_app_errors(browser).await
}
