//! The live demo: Start, Test, every hop explained and drawn, the answer settings, replay and export.

use anyhow::{Context, Result, ensure};
use fantoccini::Locator;

use crate::support::{Browser, Server, fixture::*, page::*};

pub async fn run(browser: &Browser, server: &Server) -> Result<()> {
    open(browser, &server.url).await?;
    set_up_with(browser, P2).await?;
    let product = selected_product(browser).await?;

    // Start: the relay session opens and the webhook is created with the hook URL.
    expect_state(browser, "test", "stopped", "before Start").await?;
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;
    let urls = texts(browser, ".webhookUrlSpan").await?;
    let hook_url = urls.first().cloned().unwrap_or_default();
    ensure!(
        hook_url.starts_with(&format!("{}/relay/hook/", server.url.trim_end_matches('/')))
            && urls.iter().all(|u| *u == hook_url),
        "hook URLs {urls:?}"
    );
    let webhook = product_webhook(browser, &product).await?;
    ensure!(
        webhook["url"] == hook_url.as_str(),
        "webhook url {}",
        webhook["url"]
    );
    ensure!(
        webhook["requestType"] == "POST"
            && webhook["noDefaults"] == true
            && webhook["headers"]["Content-Type"] == "application/json"
            && webhook["headers"]["Authorization"]
                .as_str()
                .is_some_and(|a| a.starts_with("Bearer ") && a.len() > 30)
            && webhook["body"]
                == "{\"deviceId\":\"{{{PARTICLE_DEVICE_ID}}}\",\"ts\":\"{{{PARTICLE_PUBLISHED_AT}}}\",\"sensor\":{{{PARTICLE_EVENT_VALUE}}}}"
            && webhook["responseTopic"]
                == "{{{PARTICLE_DEVICE_ID}}}/hook-response/{{{PARTICLE_EVENT_NAME}}}",
        "webhook settings {webhook}"
    );
    let shown = text_of(browser, "webhookSource").await?;
    ensure!(
        !shown.contains(webhook["headers"]["Authorization"].as_str().unwrap_or("?")),
        "the secret is shown"
    );

    // Test: every hop shows up in the event log, the explainer and the data table.
    click(browser, "testWebhookButton").await?;
    let sent = wait_for(browser, "#testEventData", "the sent data is not shown")
        .await?
        .text()
        .await?;
    ensure!(sent.contains("\"t\": 25"), "sent {sent}");
    for name in [
        "WebhookDemo01",
        "hook-sent/WebhookDemo01",
        "api/hook-response/WebhookDemo01/0",
    ] {
        logged(browser, name).await?;
    }
    wait_for(
        browser,
        "#explainer [data-kind=\"hook-response\"]",
        "no hook-response entry",
    )
    .await?;
    let kinds = attrs(browser, "#explainer .entry", "data-kind").await?;
    for kind in [
        "event-api",
        "hook-sent",
        "hook-received",
        "hook-data",
        "server-response",
        "hook-response",
    ] {
        ensure!(
            kinds.iter().any(|k| k == kind),
            "explainer kinds {kinds:?} lack {kind}"
        );
    }
    let columns = texts(browser, "#webhookDemoDataTable thead th").await?;
    let cells = texts(browser, "#webhookDemoDataTable tbody tr:first-child td").await?;
    let cell = |name: &str| {
        columns
            .iter()
            .position(|c| c == name)
            .and_then(|i| cells.get(i))
            .cloned()
    };
    ensure!(
        cell("deviceId").as_deref() == Some("api") && cell("sensor.t").as_deref() == Some("25"),
        "data table {columns:?} {cells:?}"
    );

    // The timeline of that cycle has all five hops, in order, with non-negative gaps.
    wait_for(
        browser,
        "#timeline figure:first-of-type [data-hop=\"hook-response\"][data-status=\"done\"]",
        "the timeline never completed",
    )
    .await?;
    let hops = attrs(
        browser,
        "#timeline figure:first-of-type [data-hop]",
        "data-hop",
    )
    .await?;
    ensure!(
        hops == [
            "publish",
            "hook-sent",
            "request",
            "response",
            "hook-response"
        ],
        "hops {hops:?}"
    );
    let gaps = attrs(
        browser,
        "#timeline figure:first-of-type [data-hop]",
        "data-gap",
    )
    .await?;
    ensure!(
        gaps[0].is_empty() && gaps[1..].iter().all(|g| g.parse::<u64>().is_ok()),
        "gaps {gaps:?}"
    );

    // The preview renders typed data, flags a body that is not JSON, and shows exactly what the
    // sandbox then sends.
    type_into(browser, "previewData", "abc").await?;
    click(browser, "previewButton").await?;
    wait_for(
        browser,
        "section[data-panel=\"webhook\"] [role=\"alert\"]",
        "a non-JSON body is not flagged",
    )
    .await?;
    type_into(browser, "previewData", "{\"t\":1}").await?;
    click(browser, "previewButton").await?;
    let shown = text_of(browser, "templatePreview").await?;
    ensure!(
        shown
            == "{\"deviceId\":\"api\",\"ts\":\"(the time the cloud receives it)\",\"sensor\":{\"t\":1}}",
        "preview {shown}"
    );
    click(browser, "previewPublish").await?;
    wait_for_xpath(
        browser,
        "//pre[@id='templatePreview'][contains(text(), '\"ts\":\"20')]",
        "the preview never showed the published event",
    )
    .await?;
    let shown = text_of(browser, "templatePreview").await?;
    // The sandbox records the delivery once the relay has answered it: wait for that answer.
    wait_for_xpath(
        browser,
        "//div[@id='explainer']//div[@data-kind='server-response']",
        "the published preview got no answer",
    )
    .await?;
    let mut sent = None;
    for _ in 0..100 {
        let log = in_page(
            browser,
            "return await (await fetch('/sandbox/_sim/webhooks')).json();",
        )
        .await?;
        sent = log["webhooks"]
            .as_array()
            .into_iter()
            .flatten()
            .rev()
            .filter_map(|w| w["body"].as_str().map(str::to_owned))
            .find(|body| body.contains("\"sensor\":{\"t\":1}"));
        if sent.is_some() {
            break;
        }
    }
    ensure!(
        sent.as_deref() == Some(shown.as_str()),
        "sent {sent:?} but previewed {shown}"
    );

    // The secret is masked in the explainer until revealed, as in the webhook's settings.
    let masked = browser
        .client
        .find(Locator::Css("#explainer pre.curl"))
        .await?
        .text()
        .await?;
    ensure!(
        masked.contains("Authorization: Bearer ••••••••'"),
        "the curl command shows the secret: {masked}"
    );
    click_css(browser, "#revealSecretCurl").await?;
    wait_for(
        browser,
        "#revealSecretCurl[aria-pressed=\"true\"]",
        "Reveal never revealed",
    )
    .await?;
    // A request copied as curl and run against the relay arrives identical; Replay re-sends it.
    let command = browser
        .client
        .find(Locator::Css("#explainer pre.curl"))
        .await?
        .text()
        .await?;
    ensure!(!command.contains('•'), "revealed, the secret shows: {command}");
    let rows = texts(browser, "#webhookDemoDataTable tbody tr")
        .await?
        .len();
    let ran = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{command} -s -o /dev/null -w '%{{http_code}}'"))
        .output()
        .context("running curl (cargo xtask test installs it)")?;
    ensure!(
        String::from_utf8_lossy(&ran.stdout) == "200",
        "curl: {ran:?}"
    );
    // To the server it is the same event again, as a retry would be: the event keeps its one
    // data row, which the repeat takes.
    wait_for(
        browser,
        "#webhookDemoDataTable tbody tr[data-attempt=\"2\"]",
        "the curl request never arrived",
    )
    .await?;
    let now = texts(browser, "#webhookDemoDataTable tbody tr").await?.len();
    ensure!(now == rows, "the repeated event added a row: {rows} → {now}");
    click_css(browser, "#exportSession").await?;
    let link = browser.client.find(Locator::Id("downloadLink")).await?;
    ensure!(
        link.attr("download").await?.as_deref() == Some("webhook-demo-session.json"),
        "the export is offered as webhook-demo-session.json"
    );
    let href = link
        .attr("href")
        .await?
        .unwrap_or_default();
    let exported: serde_json::Value = serde_json::from_str(&percent_decode(
        href.strip_prefix("data:application/json;charset=utf-8,")
            .unwrap_or_default(),
    ))
    .context("the export is JSON")?;
    let hooks = exported["hooks"].as_array().context("hooks")?;
    let same = |hook: &serde_json::Value| {
        let mut headers: Vec<String> = hook["headers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|pair| {
                format!(
                    "{}: {}",
                    pair[0].as_str().unwrap_or_default().to_ascii_lowercase(),
                    pair[1].as_str().unwrap_or_default()
                )
            })
            .collect();
        headers.sort();
        (
            hook["method"].clone(),
            hook["originalUrl"].clone(),
            hook["body"].clone(),
            headers,
        )
    };
    ensure!(hooks.len() >= 2, "exported {} hooks", hooks.len());
    let (original, copy) = (&hooks[hooks.len() - 2], &hooks[hooks.len() - 1]);
    ensure!(
        same(original) == same(copy),
        "curl sent {copy} for {original}"
    );
    click_css(browser, "#explainer button[data-action=\"replay\"]").await?;
    wait_for_xpath(
        browser,
        "//div[@id='explainer']//h3[text()='Your webhook server received a replayed request']",
        "the replay never arrived",
    )
    .await?;

    // The device's own publish starts a device cycle and adds a row.
    press_mode(browser, P2).await?;
    wait_for(
        browser,
        "#explainer [data-kind=\"event-device\"]",
        "no device cycle",
    )
    .await?;
    wait_for(
        browser,
        "#webhookDemoDataTable tbody tr:nth-child(2)",
        "no second data row",
    )
    .await?;

    // The in-page server answers 500: the cloud publishes hook-error.
    type_into(browser, "answerStatus", "500").await?;
    click(browser, "answerApply").await?;
    click(browser, "testWebhookButton").await?;
    wait_for(
        browser,
        "#explainer [data-kind=\"hook-error\"]",
        "a 500 gave no hook-error",
    )
    .await?;
    wait_for(
        browser,
        "#timeline figure:first-of-type [data-hop=\"hook-error\"][data-status=\"failed\"]",
        "the timeline does not draw the error",
    )
    .await?;
    // The delivery log has one row per attempt (per WebhookDemo01 event), the newest an error.
    wait_for(
        browser,
        "#deliveryLog tbody tr:first-child[data-status=\"error\"]",
        "the delivery log does not show the error",
    )
    .await?;
    let attempts = texts(browser, "#eventsTable tbody td:nth-child(2)")
        .await?
        .iter()
        .filter(|name| *name == "WebhookDemo01")
        .count();
    let rows = texts(browser, "#deliveryLog tbody tr").await?.len();
    ensure!(
        rows == attempts,
        "{rows} delivery rows for {attempts} attempts"
    );
    let answered = texts(browser, "#deliveryLog tbody tr:first-child td").await?;
    ensure!(
        answered.get(3).map(String::as_str) == Some("500"),
        "error row {answered:?}"
    );
    logged(browser, "api/hook-error/WebhookDemo01/0").await?;

    // Stop, then Start again: one more Test adds exactly one row, nothing is duplicated.
    click(browser, "startDemo").await?;
    wait_for_state(browser, "start", "ready").await?;
    let rows_before = texts(browser, "#webhookDemoDataTable tbody tr")
        .await?
        .len();
    let tests_before = texts(browser, "#eventsTable tbody td:nth-child(2)")
        .await?
        .iter()
        .filter(|n| *n == "WebhookDemo01")
        .count();
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;
    wait_for_state(browser, "test", "ready").await?;
    click(browser, "testWebhookButton").await?;
    wait_for(
        browser,
        "#explainer [data-kind=\"hook-error\"]",
        "no hook-error after restart",
    )
    .await?;
    let rows_after = texts(browser, "#webhookDemoDataTable tbody tr")
        .await?
        .len();
    let tests_after = texts(browser, "#eventsTable tbody td:nth-child(2)")
        .await?
        .iter()
        .filter(|n| *n == "WebhookDemo01")
        .count();
    ensure!(
        rows_after == rows_before + 1,
        "data rows {rows_before} → {rows_after}"
    );
    ensure!(
        tests_after == tests_before + 1,
        "test events {tests_before} → {tests_after}"
    );

    // Hostile text published by a device, and in a request header, stays text.
    let hostile = "</td><script>alert(1)</script>";
    let token_js = "const token = sessionStorage.getItem('webhook-demo:token') || localStorage.getItem('webhook-demo:token');";
    let published = in_page(
        browser,
        &format!(
            "const r = await fetch('/sandbox/_sim/devices/{P2}/publish', {{method: 'POST', \
             headers: {{'Content-Type': 'application/json'}}, \
             body: JSON.stringify({{name: 'WebhookDemo01', data: {hostile:?}}})}}); return r.status;"
        ),
    )
    .await?;
    ensure!(published == 200, "publishing answered {published}");
    wait_for_xpath(
        browser,
        &format!("//table[@id='eventsTable']//td[text()={hostile:?}]"),
        "the hostile event data is not shown as text",
    )
    .await?;
    let header = "<img src=x onerror=alert(1)>";
    // The restart above opened a new relay session, with a new hook URL.
    let hook_url = texts(browser, ".webhookUrlSpan")
        .await?
        .first()
        .cloned()
        .unwrap_or_default();
    let sent = in_page(
        browser,
        &format!("return (await fetch({hook_url:?}, {{method: 'POST', headers: {{'X-Note': {header:?}}}, body: 'hi'}})).status;"),
    )
    .await?;
    ensure!(sent == 401, "a hook without the secret answered {sent}");
    wait_for_xpath(
        browser,
        &format!("//div[@id='explainer']//td[text()={header:?}]"),
        "the hostile header is not shown as text",
    )
    .await?;
    ensure!(
        browser
            .client
            .find_all(Locator::Css("#app img, #app script"))
            .await?
            .is_empty(),
        "hostile text became elements"
    );

    // Cleanup removes the webhook, the device from the product and the product.
    click(browser, "startDemo").await?;
    wait_for_state(browser, "start", "ready").await?;
    click(browser, "cleanupButton").await?;
    // The question comes once the product's integrations are listed.
    wait_for_state(browser, "cleanup", "confirming").await?;
    let question = text_of(browser, "cleanupQuestion").await?;
    ensure!(
        question.contains("delete the webhook WebhookDemo01")
            && question.contains("restore Tinker on the product's online devices")
            && question.contains("remove 1 device from the product")
            && question.contains(&format!("({product})")),
        "confirmation: {question}"
    );
    click(browser, "cleanupConfirm").await?;
    wait_for_state(browser, "cleanup", "done").await?;
    let outcomes = attrs(browser, "#cleanupProgress li", "data-outcome").await?;
    ensure!(
        outcomes == ["done", "done", "done", "done"],
        "cleanup steps {outcomes:?}"
    );
    let after = in_page(
        browser,
        &format!(
            "{token_js} const h = {{headers: {{Authorization: 'Bearer ' + token}}}}; \
             const product = (await fetch('/sandbox/v1/products/{product}', h)).status; \
             const device = await (await fetch('/sandbox/v1/devices/{P2}', h)).json(); \
             return [product, device.product_id];"
        ),
    )
    .await?;
    ensure!(
        after == serde_json::json!([404, 32]),
        "after cleanup: {after}"
    );
    // The P2 was flashed with Tinker: its log says so once it has restarted.
    click(browser, "deviceLogButton").await?;
    wait_for_xpath(
        browser,
        "//pre[@id='deviceLog']/div[text()='restarted running Tinker']",
        "the P2 never restarted running Tinker",
    )
    .await?;
    sign_out(browser).await?;
    no_app_errors(browser).await
}

/// `%XX` escapes decoded (what `encodeURIComponent` wrote).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
