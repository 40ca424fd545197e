//! Sandbox worlds on several instances: two `webhook-demo serve` processes on one Redis behind a
//! round-robin nginx, each learner in a world of their own. Requests land on either instance and
//! reach the world wherever it is held (streams and webhooks included); killing the instance that
//! holds a learner's world loses none of it: the other takes it over from Redis.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use axum::{Router, routing::post};
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde_json::{Value, json};

#[path = "support/nginx.rs"]
mod nginx;
// The benchmarks' server process (and Redis); its measures' printing is not used here.
#[path = "../benches/support/mod.rs"]
#[allow(dead_code, clippy::print_stdout)]
mod support;

use nginx::Nginx;
use support::{Server, redis, redis::RedisServer};

/// The fixture's online P2.
const P2: &str = "e00fce680000000000000001";
/// How long a learner waits for their world after its instance died: the dead instance's lease
/// (5 s) and a margin.
const TAKEOVER: Duration = Duration::from_secs(20);

async fn instance(redis: &str) -> Result<Server> {
    Server::start(&[
        "--store",
        redis,
        "--sandbox-worlds",
        "per-sign-in",
        "--trust-forwarded",
        "--sim-publish-interval",
        "0",
        "--sandbox-retry-delays",
        "",
    ])
    .await
}

/// A webhook server on loopback answering every request `{"ok": true}`.
async fn webhook_server() -> Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let app = Router::new().route("/hook", post(|| async { axum::Json(json!({"ok": true})) }));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(format!("http://{address}/hook"))
}

/// A learner of the sandbox behind the balancer: their token and product.
struct Learner {
    api: String,
    bearer: String,
    token: String,
    product: u64,
    client: reqwest::Client,
}

impl Learner {
    /// Signs in, creates a product named `name`, adds the P2 and a webhook to `target`.
    async fn start(api: &str, name: &str, target: &str) -> Result<Learner> {
        let client = reqwest::Client::new();
        let token = support::sandbox_token(&client, api).await?;
        let mut learner = Learner {
            api: api.to_owned(),
            bearer: format!("Bearer {token}"),
            token,
            product: 0,
            client,
        };
        let created = learner
            .send(
                reqwest::Method::POST,
                "/v1/user/products",
                Some(json!({"product": {"name": name, "platform_id": 32}})),
            )
            .await?;
        learner.product = created["product"]["id"].as_u64().context("a product")?;
        let product = learner.product;
        learner
            .send(
                reqwest::Method::POST,
                &format!("/v1/products/{product}/devices"),
                Some(json!({"id": P2})),
            )
            .await?;
        learner
            .send(
                reqwest::Method::POST,
                &format!("/v1/products/{product}/integrations"),
                Some(
                    json!({"event": "WebhookDemo01", "url": target, "noDefaults": true,
                            "json": format!("{{\"from\":\"{name}\"}}")}),
                ),
            )
            .await?;
        Ok(learner)
    }

    /// One API call through the balancer; its JSON, or the status and body as an error.
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.api))
            .header("Authorization", &self.bearer);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        ensure!(status.is_success(), "{path}: {status}: {text}");
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The names of the products this learner sees.
    async fn products(&self) -> Result<Vec<String>> {
        let listed = self
            .send(reqwest::Method::GET, "/v1/user/products", None)
            .await?;
        Ok(listed["products"]
            .as_array()
            .context("products")?
            .iter()
            .filter_map(|product| product["name"].as_str().map(str::to_owned))
            .collect())
    }

    /// Publishes `WebhookDemo01` to the product and waits for its `hook-response` on a stream
    /// opened through the balancer; the response's data.
    async fn cycle(&self) -> Result<String> {
        let product = self.product;
        let stream = self
            .client
            .get(format!(
                "{}/v1/products/{product}/events/hook-response",
                self.api
            ))
            .header("Authorization", &self.bearer)
            .send()
            .await?;
        ensure!(stream.status().is_success(), "stream: {}", stream.status());
        let mut events = stream.bytes_stream().eventsource();
        self.send(
            reqwest::Method::POST,
            &format!("/v1/products/{product}/events"),
            Some(json!({"name": "WebhookDemo01", "data": "21"})),
        )
        .await?;
        loop {
            let event = tokio::time::timeout(Duration::from_secs(10), events.next())
                .await
                .context("no hook-response in time")?
                .context("the stream ended")??;
            if event.event.starts_with("hook-response/") {
                let data: Value = serde_json::from_str(&event.data)?;
                return Ok(data["data"].as_str().unwrap_or_default().to_owned());
            }
        }
    }

    /// Retries `products` until the world answers again (its instance died: the lease has to
    /// run out before another takes it over); how the learner's products read then.
    async fn products_after_takeover(&self) -> Result<Vec<String>> {
        let deadline = tokio::time::Instant::now() + TAKEOVER;
        loop {
            match self.products().await {
                Ok(products) => return Ok(products),
                Err(error) if tokio::time::Instant::now() < deadline => {
                    let _ = error;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(error) => return Err(error.context("the world was not taken over")),
            }
        }
    }
}

/// The instance whose lease holds the world of `token`, read from Redis.
fn owner_url(redis: &RedisServer, token: &str) -> Result<String> {
    let cli = |args: &[&str]| -> Result<String> {
        let output = std::process::Command::new("redis-cli")
            .args(["-u", &redis.url()])
            .args(args)
            .output()?;
        Ok(String::from_utf8(output.stdout)?.trim().to_owned())
    };
    let owner = cli(&["HGET", &format!("sbx:w:{token}"), "owner"])?;
    cli(&["GET", &format!("sbx:inst:{owner}")])
}

#[tokio::test]
async fn learners_keep_their_own_worlds_across_instances_and_a_killed_one() -> Result<()> {
    let redis = RedisServer::start();
    let target = webhook_server().await?;
    let mut instances = vec![instance(&redis.url()).await?, instance(&redis.url()).await?];
    let upstreams: Vec<std::net::SocketAddr> = instances
        .iter()
        .map(|server| server.addr.parse().expect("an address"))
        .collect();
    let nginx = Nginx::start(&upstreams, &[]);
    let api = format!("http://127.0.0.1:{}/sandbox", nginx.port);

    let ada = Learner::start(&api, "ada", &target).await?;
    let bob = Learner::start(&api, "bob", &target).await?;
    // Every request alternates between the instances: each world answers from both.
    for _ in 0..4 {
        assert_eq!(ada.products().await?, ["ada"]);
        assert_eq!(bob.products().await?, ["bob"]);
    }
    // Streams and webhooks run where the world is, whichever instance a request reached.
    assert_eq!(ada.cycle().await?, r#"{"ok":true}"#);
    assert_eq!(bob.cycle().await?, r#"{"ok":true}"#);
    // Each learner's product has the same id (the fixture's numbering), never the other's.
    assert_eq!(ada.product, bob.product);

    let held = owner_url(&redis, &ada.token)?;
    let index = instances
        .iter()
        .position(|server| server.url == held)
        .context("ada's world is held by one of the instances")?;
    instances.remove(index).kill().await?;

    assert_eq!(ada.products_after_takeover().await?, ["ada"]);
    assert_eq!(bob.products_after_takeover().await?, ["bob"]);
    let hooks = ada
        .send(
            reqwest::Method::GET,
            &format!("/v1/products/{}/integrations", ada.product),
            None,
        )
        .await?;
    assert_eq!(hooks.as_array().map(Vec::len), Some(1), "{hooks}");
    assert_eq!(ada.cycle().await?, r#"{"ok":true}"#);
    assert_eq!(bob.cycle().await?, r#"{"ok":true}"#);
    let survivor = &instances[0];
    assert_eq!(owner_url(&redis, &ada.token)?, survivor.url);
    Ok(())
}

/// Signs in at `origin` as client `client` (an address the instances believe from
/// `X-Forwarded-For`); the answer's status and `Retry-After`, and the token when there is one.
async fn sign_in_from(origin: &str, client: &str) -> Result<(u16, Option<String>, Option<String>)> {
    let response = reqwest::Client::new()
        .post(format!("{origin}/sandbox/oauth/token"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("X-Forwarded-For", client)
        .body(
            "client_id=particle&client_secret=particle&grant_type=password\
             &username=sandbox%40example.com&password=sandbox",
        )
        .send()
        .await?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body: Value = response.json().await?;
    Ok((
        status,
        retry_after,
        body["access_token"].as_str().map(str::to_owned),
    ))
}

#[tokio::test]
async fn the_world_caps_count_every_instance() -> Result<()> {
    let redis = RedisServer::start();
    let url = redis.url();
    let flags = [
        "--store",
        url.as_str(),
        "--sandbox-worlds",
        "per-sign-in",
        "--trust-forwarded",
        "--sim-publish-interval",
        "0",
        "--sandbox-worlds-per-client",
        "2",
        "--sandbox-max-worlds",
        "4",
    ];
    let (a, b) = (Server::start(&flags).await?, Server::start(&flags).await?);

    // One client, two worlds, one on each instance: a third is refused on either.
    let (ok, _, first) = sign_in_from(&a.url, "127.0.0.2").await?;
    assert_eq!(ok, 200);
    assert_eq!(sign_in_from(&b.url, "127.0.0.2").await?.0, 200);
    let (refused, retry_after, _) = sign_in_from(&a.url, "127.0.0.2").await?;
    assert_eq!(refused, 429);
    let wait: u64 = retry_after.context("Retry-After")?.parse()?;
    assert!(wait > 0 && wait <= 30 * 60, "{wait}");
    // Signing out of one, on the other instance, makes room.
    let signed_out = reqwest::Client::new()
        .delete(format!("{}/sandbox/v1/access_tokens/current", b.url))
        .bearer_auth(first.context("a token")?)
        .send()
        .await?;
    assert!(signed_out.status().is_success(), "{}", signed_out.status());
    assert_eq!(sign_in_from(&b.url, "127.0.0.2").await?.0, 200);

    // Four worlds in all, whichever instance each was made on: a fifth is refused.
    assert_eq!(sign_in_from(&a.url, "127.0.0.3").await?.0, 200);
    assert_eq!(sign_in_from(&b.url, "127.0.0.4").await?.0, 200);
    let (full, retry_after, _) = sign_in_from(&a.url, "127.0.0.5").await?;
    assert_eq!(full, 503);
    assert!(retry_after.is_some());
    Ok(())
}
