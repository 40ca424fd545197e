//! A smee.io channel can stand in for the relay.

use anyhow::{Result, ensure};

use crate::support::{Browser, Server, fixture::*, page::*};

pub async fn run(browser: &Browser, server: &Server) -> Result<()> {
    let channel = fake_smee().await?;
    open(browser, &server.url).await?;
    sandbox_sign_in_to_devices(browser).await?;
    choose(browser, "deviceSelect", P2).await?;
    wait_for(browser, "section[data-panel=\"select-product\"]:is([data-state=\"no-product\"], [data-state=\"selected\"])", "products never loaded").await?;
    if state_of(browser, "select-product").await? == "no-product" {
        click(browser, "createNewProductButton").await?;
    }
    wait_for_state(browser, "start", "ready").await?;
    // "New channel" makes one up on smee.io; this check types its stand-in's instead.
    click_css(browser, "button[data-action=\"new-smee\"]").await?;
    let made_up = value_of(browser, "smeeUrlInput").await?;
    ensure!(
        made_up.starts_with("https://smee.io/") && made_up.len() == 32,
        "made-up channel {made_up:?}"
    );
    type_into(browser, "smeeUrlInput", &channel).await?;
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;
    ensure!(
        texts(browser, ".webhookUrlSpan")
            .await?
            .iter()
            .all(|url| *url == channel),
        "the hook URL is not the channel"
    );
    let rows_before = texts(browser, "#webhookDemoDataTable tbody tr")
        .await?
        .len();
    click(browser, "testWebhookButton").await?;
    wait_for(
        browser,
        &format!(
            "#webhookDemoDataTable tbody tr:nth-child({})",
            rows_before + 1
        ),
        "the channel's request never reached the data table",
    )
    .await?;
    wait_for(
        browser,
        "#explainer [data-kind=\"hook-response\"]",
        "smee's own answer never came back",
    )
    .await?;
    click(browser, "startDemo").await?;
    sign_out(browser).await?;
    no_app_errors(browser).await
}

/// A stand-in for smee.io on loopback, speaking its protocol: `GET /<channel>` streams `ready`,
/// then each request `POST`ed to the channel as one unnamed message holding its headers, `body`,
/// `query` and `timestamp`; the `POST` itself is answered `200 Ok`.
async fn fake_smee() -> Result<String> {
    use axum::{
        body::{Body, Bytes},
        http::{HeaderMap, header},
        routing::get,
    };
    let (sender, _) = tokio::sync::broadcast::channel::<String>(64);
    let posts = sender.clone();
    let router = axum::Router::new().route(
        "/{channel}",
        get(move || {
            let receiver = sender.subscribe();
            async move {
                let ready = futures_util::stream::once(async {
                    Ok::<_, std::convert::Infallible>(Bytes::from("event: ready\ndata: {}\n\n"))
                });
                let messages = futures_util::stream::unfold(receiver, |mut receiver| async move {
                    let message = receiver.recv().await.ok()?;
                    Some((Ok(Bytes::from(format!("data: {message}\n\n"))), receiver))
                });
                (
                    [
                        (header::CONTENT_TYPE, "text/event-stream"),
                        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
                    ],
                    Body::from_stream(futures_util::StreamExt::chain(ready, messages)),
                )
            }
        })
        .post(move |headers: HeaderMap, body: String| {
            let posts = posts.clone();
            async move {
                let mut message = serde_json::Map::new();
                for (name, value) in &headers {
                    message.insert(
                        name.as_str().to_owned(),
                        value.to_str().unwrap_or_default().into(),
                    );
                }
                let body = serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body));
                message.insert("body".into(), body);
                message.insert("query".into(), serde_json::json!({}));
                message.insert("timestamp".into(), 1_700_000_000_000u64.into());
                let _ = posts.send(serde_json::Value::Object(message).to_string());
                "Ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/webhook-demo-test", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });
    Ok(url)
}
