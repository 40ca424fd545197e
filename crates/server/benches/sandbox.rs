//! Sandbox benchmark, run by `cargo xtask bench` against the release server in its own process on
//! loopback: the webhook engine's own latency, from an API publish to the `hook-response` event on
//! the product's event stream, minus the time the webhook server (here, in this process) spent
//! answering. Then two hostile shapes a public server must shrug off: one simulated publish that
//! fires a hundred integrations of deeply nested templates (the CPU it costs), and a client filling
//! an account with products and large integrations until refused (the memory it leaves). Then a
//! hosted sandbox's worlds: the memory of an idle one, and crowds of learners doing the tutorial
//! at the same time, each in a world of its own: people, who arrive over a few seconds and think
//! between clicks, not a flood of requests sent back to back (whose p99 would be the length of
//! the server's queue rather than what a learner waits). Every step has a deadline, past which it
//! is reported as failed instead of hanging. Last, worlds kept in Redis by two instances behind
//! nginx while each restarts in turn under a crowd of learners: what is lost. One JSON object
//! per line on stdout.

// Printing the measures is this program's output.
#![allow(clippy::print_stdout)]

// The load balancer the worlds' restart runs behind.
#[path = "../tests/support/nginx.rs"]
mod nginx;
// Shared with the relay benchmark, which also measures memory.
#[allow(dead_code)]
mod support;

use support::redis;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, Result, ensure};
use axum::{Router, routing::post};
use eventsource_stream::Eventsource;
use futures_util::{FutureExt, StreamExt};
use serde_json::{Value, json};
use support::{Server, percentile, report};

/// Sequential publish → hook-response cycles measured.
const CYCLES: usize = 1000;

/// How long any one step may take before it is reported as failed rather than left hanging.
const STEP_DEADLINE: Duration = Duration::from_secs(240);

fn main() -> Result<()> {
    support::Pinning::pin_load_generator();
    let runtime = tokio::runtime::Runtime::new().context("a tokio runtime")?;
    runtime.block_on(async {
        let mut failed = Vec::new();
        // `cargo bench --bench sandbox -- WORD` runs only the steps whose names contain WORD.
        let only: Vec<String> = std::env::args()
            .skip(1)
            .filter(|arg| !arg.starts_with('-'))
            .collect();
        for (name, step) in [
            ("hook_cycle", hook_cycle().boxed()),
            (
                "nested_templates_publish",
                nested_templates_publish().boxed(),
            ),
            ("flood", flood().boxed()),
            ("idle_worlds", idle_worlds().boxed()),
            ("learners", learners().boxed()),
            ("worlds_restart", worlds_restart().boxed()),
        ] {
            if !only.is_empty() && !only.iter().any(|word| name.contains(word.as_str())) {
                continue;
            }
            match tokio::time::timeout(STEP_DEADLINE, step).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => failed.push(format!("{name}: {error:#}")),
                Err(_) => failed.push(format!(
                    "{name}: not done within {} s",
                    STEP_DEADLINE.as_secs()
                )),
            }
        }
        ensure!(
            failed.is_empty(),
            "sandbox bench steps failed: {}",
            failed.join("; ")
        );
        Ok(())
    })
}

/// Flags for a server of worlds the bench's learners, all from 127.0.0.1, may fill (each
/// learner stands for a client of its own: one address's bounds are lifted).
const WORLDS: [&str; 14] = [
    "--sandbox-worlds",
    "per-sign-in",
    "--sandbox-worlds-per-client",
    "100000",
    "--sandbox-max-worlds",
    "100000",
    "--sandbox-stream-opens",
    "1000000",
    "--sandbox-open-streams",
    "1000000",
    "--max-connections-per-client",
    "0",
    "--sim-publish-interval",
    "0",
];

/// A thousand sign-ins, each a world left idle: the server's extra memory per world.
async fn idle_worlds() -> Result<()> {
    const COUNT: usize = 1000;
    let server = Server::start(&WORLDS).await?;
    let api = format!("{}/sandbox", server.url);
    let client = reqwest::Client::new();
    // One world first, so what every world shares is already there.
    sign_in(&client, &api).await?;
    let before = server.rss_mb()?;
    for _ in 0..COUNT {
        sign_in(&client, &api).await?;
    }
    let after = server.rss_mb()?;
    report(
        "sandbox_world_idle_kb",
        (after - before) * 1024.0 / COUNT as f64,
        "KB",
        Some(64.0),
        "lower",
        &format!("server RSS growth over {COUNT} sign-ins, each a world of its own, left idle"),
    );
    server.stop().await
}

/// How a crowd of learners arrives: evenly over this ramp. Shorter than the quickest learner's
/// walk through the loop (nine think times of at least 0.75 s), so every learner of the crowd
/// is in the loop at once for a while.
const RAMP: Duration = Duration::from_secs(5);
/// How long a learner takes between one step's answer and the next step (reading, clicking):
/// this times a factor spread evenly over 1 ± `JITTER`, so learners drift out of step.
const THINK: Duration = Duration::from_secs(1);
const JITTER: f64 = 0.25;
/// Crowds tried for the most learners at once.
const CROWDS: [usize; 5] = [1000, 2000, 3000, 4000, 5000];
/// The API step p99 a crowd must stay within to count towards the most learners at once.
const CROWD_P99_MS: f64 = 100.0;
/// How long a learner waits for a hook-response before its crowd is reported as failed.
const HOOK_WAIT: Duration = Duration::from_secs(30);

/// The tutorial's API steps, each an HTTP request and its answer.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    SignIn,
    ListDevices,
    CreateProduct,
    OpenStream,
    AddDevice,
    CreateWebhook,
    Publish,
    DeleteWebhook,
}

impl Step {
    const ALL: [Step; 8] = [
        Step::SignIn,
        Step::ListDevices,
        Step::CreateProduct,
        Step::OpenStream,
        Step::AddDevice,
        Step::CreateWebhook,
        Step::Publish,
        Step::DeleteWebhook,
    ];

    fn name(self) -> &'static str {
        match self {
            Step::SignIn => "sign in",
            Step::ListDevices => "list devices",
            Step::CreateProduct => "create product",
            Step::OpenStream => "open stream",
            Step::AddDevice => "add device",
            Step::CreateWebhook => "create webhook",
            Step::Publish => "publish",
            Step::DeleteWebhook => "delete webhook",
        }
    }
}

/// One timed API step: which, when it started (since the crowd began), how long it took (ms).
struct Timed {
    step: Step,
    at: Duration,
    ms: f64,
}

/// A crowd of learners as people doing the tutorial at the same time: they arrive evenly over
/// `RAMP`, and each goes once through the tutorial's API loop in a world of its own (sign in,
/// list devices, create a product, open the product's `hook-response` stream and keep it open
/// to the end, add the P2, create a webhook, three publishes each awaited as a hook-response on
/// that stream, delete the webhook), thinking `THINK` ± `JITTER` between steps. Measured: every
/// API step's time and every publish → hook-response time. At 1,000 learners the p99 of one API
/// step; then the most learners (a fresh server each) whose p99 stays within 100 ms.
async fn learners() -> Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let target = format!("http://{}/hook", listener.local_addr()?);
    let answer = Router::new().route("/hook", post(|| async { "{\"ok\":true}" }));
    tokio::spawn(async move { axum::serve(listener, answer).await });
    let mut most = None;
    let mut stopped = String::new();
    for count in CROWDS {
        let server = Server::start(&WORLDS).await?;
        let crowd = crowd(&server, &target, count).await;
        server.stop().await?;
        let crowd = match crowd {
            Ok(crowd) => crowd,
            // A crowd the server cannot serve at all is past the limit too (the first must pass).
            Err(error) if count > CROWDS[0] => {
                stopped = format!("; {count} failed: {error:#}");
                break;
            }
            Err(error) => return Err(error),
        };
        let p99 = percentile(&crowd.steps, 0.99);
        if count == CROWDS[0] {
            report(
                "sandbox_learners_p99_ms",
                p99,
                "ms",
                Some(50.0),
                "lower",
                &crowd.describe(count),
            );
            report(
                "sandbox_learners_hook_p99_ms",
                percentile(&crowd.cycles, 0.99),
                "ms",
                None,
                "lower",
                "publish (API) → hook-response on the learner's stream, the webhook target's \
                 answer included, in the same crowd",
            );
        }
        if p99 > CROWD_P99_MS {
            stopped = format!("; {count}: p99 {p99:.1} ms ({})", crowd.describe(count));
            break;
        }
        most = Some((count, crowd.describe(count)));
    }
    let (value, detail) = most.map_or((0, String::from("none")), |(count, detail)| {
        // The largest crowd tried passing says only that the server holds at least that many.
        let bound = if stopped.is_empty() {
            " (the largest tried: at least this many)"
        } else {
            ""
        };
        (count, format!("{count}{bound}: {detail}"))
    });
    report(
        "sandbox_learners_max",
        value as f64,
        "learners",
        Some(2000.0),
        "higher",
        &format!(
            "the largest crowd (tried {}) whose API step p99 stayed within {CROWD_P99_MS} ms, \
             each on a fresh server; passed: {detail}{stopped}",
            CROWDS.map(|c| c.to_string()).join(", ")
        ),
    );
    Ok(())
}

/// What a crowd measured.
struct Crowd {
    /// Every API step's time, sorted, ms.
    steps: Vec<f64>,
    /// The p99 of each kind of step, ms.
    by_step: Vec<(Step, f64)>,
    /// Every publish → hook-response time, sorted, ms.
    cycles: Vec<f64>,
    /// The most learners in the loop at the same moment.
    peak_learners: usize,
    /// Requests started in the busiest second, and on average over the crowd's time.
    peak_rate: usize,
    mean_rate: f64,
    /// The share of one core the server and this process (learners and webhook target) used.
    server_cpu: f64,
    generator_cpu: f64,
    wall: Duration,
}

impl Crowd {
    /// The `detail` of a measure on this crowd: exactly what the load was.
    fn describe(&self, count: usize) -> String {
        let by_step: Vec<String> = self
            .by_step
            .iter()
            .map(|(step, p99)| format!("{} {p99:.1}", step.name()))
            .collect();
        format!(
            "{count} learners arriving evenly over {} s, each once through the tutorial's API \
             loop in a world of its own (sign in, list devices, create product, open its \
             hook-response stream (kept open to the end), add the P2, create webhook, 3 × publish \
             awaited as hook-response, delete webhook: {} API steps in all) thinking {} s ± {:.0}% \
             (uniform) between steps; at most {} learners in the loop at once; requests {} /s in \
             the busiest second, {:.0} /s on average over {:.1} s; p99 by step (ms): {}; publish → \
             hook-response p99 {:.1} ms; CPU: server {:.0}% of its core, load generator (with \
             the webhook target) {:.0}% of its; one keep-alive HTTP/1.1 client (reqwest) shared \
             by all; {}",
            RAMP.as_secs(),
            self.steps.len(),
            THINK.as_secs_f64(),
            JITTER * 100.0,
            self.peak_learners,
            self.peak_rate,
            self.mean_rate,
            self.wall.as_secs_f64(),
            by_step.join(", "),
            percentile(&self.cycles, 0.99),
            self.server_cpu * 100.0,
            self.generator_cpu * 100.0,
            support::Pinning::get().describe()
        )
    }
}

/// Learners in the loop now, and the most at once.
#[derive(Default)]
struct Present {
    now: AtomicUsize,
    peak: AtomicUsize,
}

/// One learner in the loop, until dropped.
struct Presence(Arc<Present>);

impl Presence {
    fn enter(present: &Arc<Present>) -> Presence {
        let now = present.now.fetch_add(1, Ordering::Relaxed) + 1;
        present.peak.fetch_max(now, Ordering::Relaxed);
        Presence(present.clone())
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        self.0.now.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `count` learners through the loop on `server`.
async fn crowd(server: &Server, target: &str, count: usize) -> Result<Crowd> {
    let api = format!("{}/sandbox", server.url);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(count)
        .build()?;
    let present = Arc::new(Present::default());
    let (server_cpu, generator_cpu) = (cpu_seconds(server.pid)?, cpu_seconds(std::process::id())?);
    let start = Instant::now();
    let runs: Vec<_> = (0..count)
        .map(|n| {
            let arrival = start + RAMP.mul_f64(n as f64 / count as f64);
            tokio::spawn(learner(
                client.clone(),
                api.clone(),
                target.to_owned(),
                n,
                (start, arrival),
                present.clone(),
            ))
        })
        .collect();
    let (mut timed, mut cycles) = (Vec::new(), Vec::new());
    for run in runs {
        let (mine, hooks) = run.await??;
        timed.extend(mine);
        cycles.extend(hooks);
    }
    let wall = start.elapsed();
    let cpu =
        |pid, before: f64| -> Result<f64> { Ok((cpu_seconds(pid)? - before) / wall.as_secs_f64()) };
    let mut per_second = vec![0; wall.as_secs() as usize + 1];
    for step in &timed {
        per_second[step.at.as_secs() as usize] += 1;
    }
    let by_step = Step::ALL
        .iter()
        .map(|kind| {
            let mut mine: Vec<f64> = timed
                .iter()
                .filter(|t| t.step == *kind)
                .map(|t| t.ms)
                .collect();
            mine.sort_by(f64::total_cmp);
            (*kind, percentile(&mine, 0.99))
        })
        .collect();
    let mut steps: Vec<f64> = timed.iter().map(|t| t.ms).collect();
    steps.sort_by(f64::total_cmp);
    cycles.sort_by(f64::total_cmp);
    Ok(Crowd {
        mean_rate: steps.len() as f64 / wall.as_secs_f64(),
        steps,
        by_step,
        cycles,
        peak_learners: present.peak.load(Ordering::Relaxed),
        peak_rate: per_second.into_iter().max().unwrap_or(0),
        server_cpu: cpu(server.pid, server_cpu)?,
        generator_cpu: cpu(std::process::id(), generator_cpu)?,
        wall,
    })
}

/// A learner's think time before its `step`th step: `THINK` times a factor spread evenly over
/// 1 ± `JITTER`, drawn from (learner, step) by splitmix64 (a spread, not a secret: no generator
/// to share between tasks or crate to add).
fn think(n: usize, step: usize) -> Duration {
    let mut x = ((n as u64) << 32 | step as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    let unit = (x >> 11) as f64 / (1u64 << 53) as f64;
    THINK.mul_f64(1.0 - JITTER + 2.0 * JITTER * unit)
}

/// One learner's walk through the loop, arriving at `arrival`: each API step timed (from `start`,
/// the crowd's beginning), and each publish → hook-response time (ms).
async fn learner(
    client: reqwest::Client,
    api: String,
    target: String,
    n: usize,
    (start, arrival): (Instant, Instant),
    present: Arc<Present>,
) -> Result<(Vec<Timed>, Vec<f64>)> {
    tokio::time::sleep_until(arrival.into()).await;
    let _present = Presence::enter(&present);
    let mut timed = Vec::with_capacity(10);
    let mut done = 0;
    // Thinks before every step but the first, sends it and reads the whole answer (a stream's
    // step ends with its head, and its answer is handed back to be read); also when it was sent.
    let mut step = async |step: Step,
                          request: reqwest::RequestBuilder|
           -> Result<(Value, Option<reqwest::Response>, Instant)> {
        if done > 0 {
            tokio::time::sleep(think(n, done)).await;
        }
        done += 1;
        let started = Instant::now();
        let response = request.send().await?;
        let status = response.status();
        let (body, stream) = if step == Step::OpenStream {
            (Default::default(), Some(response))
        } else {
            (response.bytes().await?, None)
        };
        timed.push(Timed {
            step,
            at: started - start,
            ms: started.elapsed().as_secs_f64() * 1000.0,
        });
        ensure!(
            status.is_success(),
            "{}: {status}: {}",
            step.name(),
            String::from_utf8_lossy(&body)
        );
        Ok((
            serde_json::from_slice(&body).unwrap_or(Value::Null),
            stream,
            started,
        ))
    };
    let (token, ..) = step(
        Step::SignIn,
        client
            .post(format!("{api}/oauth/token"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(
                "client_id=particle&client_secret=particle&grant_type=password\
                 &username=sandbox%40example.com&password=sandbox",
            ),
    )
    .await?;
    let bearer = format!(
        "Bearer {}",
        token["access_token"].as_str().context("a token")?
    );
    step(
        Step::ListDevices,
        client
            .get(format!("{api}/v1/devices"))
            .header("Authorization", &bearer),
    )
    .await?;
    let (created, ..) = step(
        Step::CreateProduct,
        client
            .post(format!("{api}/v1/user/products"))
            .header("Authorization", &bearer)
            .json(&json!({"product": {"name": format!("learner-{n}"), "platform_id": 32}})),
    )
    .await?;
    let product = created["product"]["id"].as_u64().context("a product")?;
    let (_, stream, _) = step(
        Step::OpenStream,
        client
            .get(format!("{api}/v1/products/{product}/events/hook-response"))
            .header("Authorization", &bearer),
    )
    .await?;
    let mut events = stream.context("a stream")?.bytes_stream().eventsource();
    step(
        Step::AddDevice,
        client
            .post(format!("{api}/v1/products/{product}/devices"))
            .header("Authorization", &bearer)
            .json(&json!({"id": P2})),
    )
    .await?;
    let (hook, ..) = step(
        Step::CreateWebhook,
        client
            .post(format!("{api}/v1/products/{product}/integrations"))
            .header("Authorization", &bearer)
            .json(
                &json!({"event": "WebhookDemo01", "url": target, "noDefaults": true,
                          "json": "{\"t\":{{{PARTICLE_EVENT_VALUE}}}}"}),
            ),
    )
    .await?;
    let hook = hook["id"].as_str().context("an integration id")?.to_owned();
    let mut cycles = Vec::with_capacity(3);
    for _ in 0..3 {
        let (.., started) = step(
            Step::Publish,
            client
                .post(format!("{api}/v1/products/{product}/events"))
                .header("Authorization", &bearer)
                .json(&json!({"name": "WebhookDemo01", "data": "21"})),
        )
        .await?;
        let event = tokio::time::timeout(HOOK_WAIT, events.next())
            .await
            .context("no hook-response in time")?
            .context("the stream ended")??;
        ensure!(
            event.event.starts_with("hook-response/"),
            "unexpected {}",
            event.event
        );
        cycles.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    step(
        Step::DeleteWebhook,
        client
            .delete(format!("{api}/v1/products/{product}/integrations/{hook}"))
            .header("Authorization", &bearer),
    )
    .await?;
    drop(events);
    Ok((timed, cycles))
}

/// The fixture's online P2.
const P2: &str = "e00fce680000000000000001";

/// Signs in as the fixture's user; the `Authorization` value.
async fn sign_in(client: &reqwest::Client, api: &str) -> Result<String> {
    Ok(format!(
        "Bearer {}",
        support::sandbox_token(client, api).await?
    ))
}

/// Creates a P2 product; its id, or `None` once the sandbox refuses.
async fn create_product(
    client: &reqwest::Client,
    api: &str,
    bearer: &str,
    name: &str,
) -> Result<Option<u64>> {
    let created = client
        .post(format!("{api}/v1/user/products"))
        .header("Authorization", bearer)
        .json(&json!({"product": {"name": name, "platform_id": 32}}))
        .send()
        .await?;
    if !created.status().is_success() {
        return Ok(None);
    }
    let created: Value = created.json().await?;
    Ok(created["product"]["id"].as_u64())
}

/// CPU seconds the process has used (user and system, its finished threads included).
fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("a stat line")?
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>()? + fields[12].parse::<f64>()?;
    // Linux reports both in clock ticks of 1/100 s (USER_HZ) on every architecture it runs on.
    Ok(ticks / 100.0)
}

/// A hundred integrations on one event, each a template of sections 64 deep over an array, then
/// one unauthenticated `_sim` publish on a laptop server: the server's CPU from the publish until
/// everything it set off has settled. Before deliveries were checked before rendering, this cost
/// seconds; the budget is 50 ms.
async fn nested_templates_publish() -> Result<()> {
    let server = Server::start(&["--sim-publish-interval", "0"]).await?;
    let api = format!("{}/sandbox", server.url);
    let client = reqwest::Client::new();
    let bearer = sign_in(&client, &api).await?;
    let product = create_product(&client, &api, &bearer, "nest")
        .await?
        .context("a product")?;
    let added = client
        .post(format!("{api}/v1/products/{product}/devices"))
        .header("Authorization", &bearer)
        .json(&json!({"id": P2}))
        .send()
        .await?;
    ensure!(added.status().is_success(), "adding the P2 failed");
    let template = format!("{}x{}", "{{#a}}".repeat(64), "{{/a}}".repeat(64));
    let mut created = 0;
    for _ in 0..100 {
        let integration = client
            .post(format!("{api}/v1/products/{product}/integrations"))
            .header("Authorization", &bearer)
            .json(&json!({
                "event": "Nest", "url": "http://127.0.0.1:9/", "noDefaults": true,
                "body": template,
            }))
            .send()
            .await?;
        if integration.status().is_success() {
            created += 1;
        }
    }
    let data = format!("{{\"a\":[{}]}}", vec!["1"; 100].join(","));
    let before = cpu_seconds(server.pid)?;
    let published = client
        .post(format!("{api}/_sim/devices/{P2}/publish"))
        .json(&json!({"name": "Nest", "data": data}))
        .send()
        .await?;
    ensure!(
        published.status().is_success(),
        "the _sim publish failed: {}",
        published.status()
    );
    // The deliveries run after the publish answers: let them settle (a refused one costs
    // nothing more later; one still rendering would show as CPU here).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let spent = (cpu_seconds(server.pid)? - before) * 1000.0;
    report(
        "sandbox_nested_publish_cpu_ms",
        spent,
        "ms",
        Some(50.0),
        "lower",
        &format!(
            "server CPU (user + system, 10 ms ticks) over the 3 s after one _sim publish firing \
             {created} integrations whose templates nest sections 64 deep over a 100-item array"
        ),
    );
    server.stop().await
}

/// One client creates products, then integrations of 62 KB in them, until the sandbox refuses
/// both: the server's resident memory afterwards (budget 100 MB).
async fn flood() -> Result<()> {
    let server = Server::start(&["--sim-publish-interval", "0"]).await?;
    let api = format!("{}/sandbox", server.url);
    let client = reqwest::Client::new();
    let bearer = sign_in(&client, &api).await?;
    let mut products = Vec::new();
    while products.len() < 200 {
        let name = format!("flood-{}", products.len());
        match create_product(&client, &api, &bearer, &name).await? {
            Some(id) => products.push(id),
            None => break,
        }
    }
    let padding = "x".repeat(62 * 1024);
    let mut integrations = 0;
    'products: for product in &products {
        for n in 0..100 {
            let created = client
                .post(format!("{api}/v1/products/{product}/integrations"))
                .header("Authorization", &bearer)
                .json(&json!({
                    "event": format!("Flood{n}"), "url": "http://127.0.0.1:9/",
                    "noDefaults": true, "body": padding,
                }))
                .send()
                .await?;
            if !created.status().is_success() {
                // A full product (100 each) moves on to the next; a refusal of a product's
                // first integration is the account's or the sandbox's cap.
                if n == 0 {
                    break 'products;
                }
                continue 'products;
            }
            integrations += 1;
        }
    }
    report(
        "sandbox_flood_rss_mb",
        server.rss_mb()?,
        "MB",
        Some(100.0),
        "lower",
        &format!(
            "server RSS after one account created products and 62 KB integrations until refused: \
             {} products, {integrations} integrations accepted",
            products.len()
        ),
    );
    server.stop().await
}

async fn hook_cycle() -> Result<()> {
    let server =
        // Back-to-back cycles on one integration run far past the delivery rates, which would
        // skip deliveries (and leave a cycle waiting for a hook-response that never comes).
        Server::start(&[
            "--sim-publish-interval",
            "0",
            "--sandbox-publish-rate",
            "0",
            "--sandbox-unthrottled-deliveries",
        ])
        .await?;
    let api = format!("{}/sandbox", server.url);
    let client = reqwest::Client::new();

    // The webhook server: answers at once, and notes how long each answer took it.
    let answering: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let spent = Arc::clone(&answering);
    let target = Router::new().route(
        "/hook",
        post(move |body: String| {
            let spent = Arc::clone(&spent);
            async move {
                let started = Instant::now();
                let answer = format!("{{\"received\":{}}}", body.len());
                spent.lock().expect("not poisoned").push(started.elapsed());
                answer
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let target_url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, target).await });

    let bearer = sign_in(&client, &api).await?;
    let created: Value = client
        .post(format!("{api}/v1/user/products"))
        .header("Authorization", &bearer)
        .json(&json!({"product": {"name": "bench", "platform_id": 32}}))
        .send()
        .await?
        .json()
        .await?;
    let product = created["product"]["id"].as_u64().context("a product")?;
    let integration = client
        .post(format!("{api}/v1/products/{product}/integrations"))
        .header("Authorization", &bearer)
        .json(&json!({
            "event": "Bench", "url": target_url, "noDefaults": true,
            "json": "{\"sensor\":{{{PARTICLE_EVENT_VALUE}}}}",
        }))
        .send()
        .await?;
    ensure!(
        integration.status().is_success(),
        "creating the integration failed"
    );

    let stream = client
        .get(format!("{api}/v1/products/{product}/events/hook-response"))
        .header("Authorization", &bearer)
        .send()
        .await?;
    let mut events = stream.bytes_stream().eventsource();
    let publish = format!("{api}/v1/products/{product}/events");
    let mut cycles = Vec::with_capacity(CYCLES);
    for n in 0..CYCLES {
        let started = Instant::now();
        let published = client
            .post(&publish)
            .header("Authorization", &bearer)
            .json(&json!({"name": "Bench", "data": format!("{{\"n\":{n}}}")}))
            .send()
            .await?;
        ensure!(published.status().is_success(), "publishing failed");
        let event = events.next().await.context("the stream ended")??;
        ensure!(
            event.event == "hook-response/Bench/0",
            "unexpected {}",
            event.event
        );
        cycles.push(started.elapsed());
    }
    let spent = answering.lock().expect("not poisoned").clone();
    ensure!(
        spent.len() == CYCLES,
        "the target saw {} requests",
        spent.len()
    );
    let mut engine: Vec<f64> = cycles
        .iter()
        .zip(&spent)
        .map(|(cycle, target)| cycle.saturating_sub(*target).as_secs_f64() * 1000.0)
        .collect();
    engine.sort_by(f64::total_cmp);
    let detail = format!(
        "{CYCLES} sequential cycles: API publish (HTTP) → webhook POST to a server on loopback → \
         hook-response/…/0 read from the product event stream; the server's own answering time \
         subtracted; {}",
        support::Pinning::get().describe()
    );
    report(
        "sandbox_hook_p99_ms",
        percentile(&engine, 0.99),
        "ms",
        Some(1.0),
        "lower",
        &detail,
    );
    report(
        "sandbox_hook_p50_ms",
        percentile(&engine, 0.50),
        "ms",
        None,
        "lower",
        &detail,
    );
    Ok(())
}

/// Learners busy in their worlds while each of two instances restarts.
const RESTART_LEARNERS: usize = 200;
/// How long a learner waits between webhooks it adds.
const RESTART_THINK: Duration = Duration::from_millis(500);

/// What one learner made, and what it was refused on the way.
#[derive(Default)]
struct Made {
    bearer: String,
    product: u64,
    hooks: usize,
    refused: usize,
}

/// Two instances on one Redis behind nginx, worlds per sign-in; 200 learners each sign in,
/// create a product and keep adding webhooks while each instance in turn stops (SIGTERM) and
/// starts again on its port. Afterwards every learner's world is read back: any world, product
/// or webhook missing is lost.
async fn worlds_restart() -> Result<()> {
    let redis = redis::RedisServer::start();
    let store = redis.url();
    let flags: Vec<&str> = WORLDS
        .iter()
        .copied()
        .chain(["--store", &store, "--trust-forwarded"])
        .collect();
    let mut instances = vec![Server::start(&flags).await?, Server::start(&flags).await?];
    let nginx = nginx::Nginx::start(
        &[instances[0].addr.parse()?, instances[1].addr.parse()?],
        &[],
    );
    let api = format!("http://127.0.0.1:{}/sandbox", nginx.port);
    let target = "http://127.0.0.1:9/never-called".to_owned();
    let client = reqwest::Client::new();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let ready = Arc::new(AtomicUsize::new(0));
    let learners: Vec<_> = (0..RESTART_LEARNERS)
        .map(|n| {
            let (client, api, target) = (client.clone(), api.clone(), target.clone());
            let (stop, ready) = (stop.clone(), ready.clone());
            tokio::spawn(async move { busy_learner(client, api, target, n, stop, ready).await })
        })
        .collect();
    while ready.load(Ordering::Relaxed) < RESTART_LEARNERS {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let started = Instant::now();
    for i in 0..instances.len() {
        let addr = instances[i].addr.clone();
        let old = instances.remove(i);
        old.stop().await?;
        instances.insert(i, Server::start_at(&addr, &flags).await?);
        // The learners go on with both instances up before the next restarts.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let restarts = started.elapsed();
    let mut lost = 0;
    let (mut hooks, mut refused) = (0, 0);
    for learner in learners {
        let made = learner.await??;
        hooks += made.hooks;
        refused += made.refused;
        lost += missing(&client, &api, &made).await?;
    }
    let snapshots = std::process::Command::new("redis-cli")
        .args(["-u", &store, "--raw", "EVAL"])
        .arg(
            "local bytes, worlds = 0, 0 \
             for _, key in ipairs(redis.call('KEYS', 'sbx:w:*')) do \
               bytes = bytes + redis.call('HSTRLEN', key, 'snap'); worlds = worlds + 1 \
             end return {bytes, worlds}",
        )
        .arg("0")
        .output()?;
    let snapshots = String::from_utf8(snapshots.stdout)?;
    let mut numbers = snapshots
        .lines()
        .filter_map(|line| line.parse::<f64>().ok());
    let (bytes, worlds) = (numbers.next().unwrap_or(0.0), numbers.next().unwrap_or(1.0));
    report(
        "sandbox_worlds_restart_lost",
        lost as f64,
        "objects",
        Some(0.0),
        "lower",
        &format!(
            "{RESTART_LEARNERS} learners, each in a world of its own on two instances sharing \
             Redis behind nginx, adding a webhook every {} ms while each instance stopped \
             (SIGTERM) and started again in turn ({:.1} s): worlds, products and webhooks \
             missing afterwards, of {RESTART_LEARNERS} worlds, {RESTART_LEARNERS} products and \
             {hooks} webhooks; {refused} requests refused during the restarts and sent again; \
             a world's snapshot in Redis {:.0} bytes on average",
            RESTART_THINK.as_millis(),
            restarts.as_secs_f64(),
            bytes / worlds.max(1.0)
        ),
    );
    for instance in instances {
        instance.stop().await?;
    }
    Ok(())
}

/// Sends a request until it is answered 2xx (a learner tries again after a refusal); how many
/// refusals it met.
async fn until_done(request: impl Fn() -> reqwest::RequestBuilder) -> Result<(Value, usize)> {
    let mut refused = 0;
    loop {
        match request().send().await {
            Ok(response) if response.status().is_success() => {
                return Ok((response.json().await.unwrap_or(Value::Null), refused));
            }
            Ok(response) if response.status().is_client_error() => {
                anyhow::bail!("{}: {}", response.status(), response.text().await?);
            }
            _ => {
                refused += 1;
                ensure!(refused < 100, "refused 100 times in a row");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// One learner: signs in, creates a product, then adds a webhook every `RESTART_THINK` until
/// told to stop.
async fn busy_learner(
    client: reqwest::Client,
    api: String,
    target: String,
    n: usize,
    stop: Arc<std::sync::atomic::AtomicBool>,
    ready: Arc<AtomicUsize>,
) -> Result<Made> {
    let mut made = Made {
        bearer: sign_in(&client, &api).await?,
        ..Made::default()
    };
    let (created, refused) = until_done(|| {
        client
            .post(format!("{api}/v1/user/products"))
            .header("Authorization", &made.bearer)
            .json(&json!({"product": {"name": format!("learner-{n}"), "platform_id": 32}}))
    })
    .await?;
    made.refused += refused;
    made.product = created["product"]["id"].as_u64().context("a product")?;
    ready.fetch_add(1, Ordering::Relaxed);
    while !stop.load(Ordering::Relaxed) {
        let event = format!("Restart{}", made.hooks);
        let (_, refused) = until_done(|| {
            client
                .post(format!("{api}/v1/products/{}/integrations", made.product))
                .header("Authorization", &made.bearer)
                .json(&json!({"event": event, "url": target}))
        })
        .await?;
        made.refused += refused;
        made.hooks += 1;
        tokio::time::sleep(RESTART_THINK).await;
    }
    Ok(made)
}

/// What of a learner's world is missing: the world itself (its token no longer signs in: it
/// counts with everything in it), its product, or webhooks it added.
async fn missing(client: &reqwest::Client, api: &str, made: &Made) -> Result<usize> {
    let everything = 2 + made.hooks;
    let products = client
        .get(format!("{api}/v1/user/products"))
        .header("Authorization", &made.bearer)
        .send()
        .await?;
    if !products.status().is_success() {
        return Ok(everything);
    }
    let products: Value = products.json().await?;
    let has_product = products["products"]
        .as_array()
        .is_some_and(|all| all.iter().any(|p| p["id"].as_u64() == Some(made.product)));
    if !has_product {
        return Ok(1 + made.hooks);
    }
    let hooks: Value = client
        .get(format!("{api}/v1/products/{}/integrations", made.product))
        .header("Authorization", &made.bearer)
        .send()
        .await?
        .json()
        .await?;
    let kept = hooks.as_array().map_or(0, Vec::len);
    Ok(made.hooks.saturating_sub(kept))
}
