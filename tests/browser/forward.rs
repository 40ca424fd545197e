//! Forward to my server (issue 14): the page passes each request on to a server of the learner's
//! on loopback (one this check starts, with CORS), whose answer comes back as the hook-response;
//! with that server gone, the page says why and answers itself.

use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, ensure};
use axum::{
    Router,
    http::{HeaderMap, StatusCode, header},
    routing::post,
};
use webhook_demo_server::Options;

use crate::support::{Browser, Server, fixture::*, page::*, start_server};

const CORS: [(header::HeaderName, &str); 2] = [
    (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
    (
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        "authorization, content-type",
    ),
];

pub async fn run(browser: &Browser, _shared: &Server) -> Result<()> {
    let mut options = Options::default();
    options.sandbox.sim_publish_interval = None;
    let server = start_server(options).await?;

    // The learner's server: answers 201 with its own JSON, remembering the Authorization it got.
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let heard = Arc::clone(&seen);
    let router = Router::new().route(
        "/webhook",
        post(move |headers: HeaderMap, body: String| {
            let heard = Arc::clone(&heard);
            async move {
                let auth = headers
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                heard
                    .lock()
                    .expect("not poisoned")
                    .push(format!("{auth} {body}"));
                (
                    StatusCode::CREATED,
                    [CORS[0].clone(), CORS[1].clone(), (header::CONTENT_TYPE, "application/json")],
                    r#"{"from":"my own server"}"#,
                )
            }
        })
        .options(|| async { (StatusCode::NO_CONTENT, CORS) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mine = format!("http://{}/webhook", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move { drop(stopped.await) })
            .await
    });

    open(browser, &server.url).await?;
    sandbox_sign_in_to_devices(browser).await?;
    choose(browser, "deviceSelect", P2).await?;
    wait_for_state(browser, "select-product", "no-product").await?;
    click(browser, "createNewProductButton").await?;
    wait_for_state(browser, "start", "ready").await?;
    click(browser, "startDemo").await?;
    wait_for_state(browser, "webhook", "created").await?;

    type_into(browser, "forwardUrl", &mine).await?;
    click(browser, "forwardApply").await?;
    wait_for_xpath(
        browser,
        "//section[@data-panel='data-table']//p[contains(., 'Each request goes on to')]",
        "forwarding was not applied",
    )
    .await?;
    click(browser, "testWebhookButton").await?;
    let card = wait_for(
        browser,
        "#explainer [data-slot=outcome][data-kind=hook-response]",
        "no hook-response from the forwarded request",
    )
    .await?
    .text()
    .await?;
    ensure!(
        card.contains("my own server"),
        "the hook-response is not my server's answer: {card}"
    );
    let answered = text_of(browser, "card-server-response").await?;
    ensure!(answered.contains("HTTP 201"), "the answer card says {answered}");
    let heard = seen.lock().expect("not poisoned").clone();
    ensure!(
        heard.len() == 1 && heard[0].starts_with("Bearer ") && heard[0].contains("\"deviceId\""),
        "my server heard {heard:?}"
    );

    // The learner's server goes away: the page says so and answers itself.
    stop.send(()).ok();
    serving.await.context("my server's task")??;
    click(browser, "testWebhookButton").await?;
    let alert = wait_for(browser, "#forwardError", "a refused forward is not explained")
        .await?
        .text()
        .await?;
    ensure!(
        alert.contains(&mine) && alert.contains("CORS headers"),
        "the refusal says {alert}"
    );
    wait_for_xpath(
        browser,
        "//div[@id='explainer']//div[@data-kind='hook-response'][contains(., 'forwarded')]",
        "the page's own answer did not stand in",
    )
    .await?;
    click(browser, "startDemo").await?;
    browser.console_errors().await?;
    no_app_errors(browser).await
}
