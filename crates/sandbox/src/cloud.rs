//! The emulated cloud's state: users, access tokens, devices. Starts from the same fixture on every
//! start, which tests and the page's "Try the sandbox" rely on (DESIGN.md lists it).
//!
//! Everything a client can make it keep is bounded by `Limits`: tokens, second factors and
//! binaries by evicting the oldest (after pruning the expired), products and integrations by
//! refusing more (their handlers check).

use std::{
    collections::{HashMap, VecDeque},
    fmt::Write,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::time::Instant;

use crate::Limits;

pub(crate) mod clock;
pub(crate) mod firmware_facts;

/// How long a token lives when the client does not say (Particle's default: 90 days).
pub(crate) const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(7_776_000);
/// How long an MFA token from a `mfa_required` answer may be exchanged for an access token.
const MFA_TOKEN_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// How long a compiled binary may be downloaded (the compile answer's `expires_at`).
pub(crate) const BINARY_LIFETIME: Duration = Duration::from_secs(24 * 3600);

#[derive(Serialize, Deserialize)]
pub(crate) struct User {
    pub username: String,
    pub password: String,
    /// The one-time code this user's second factor accepts, when MFA is on.
    pub otp: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Token {
    pub username: String,
    #[serde(with = "crate::snapshot::instant")]
    pub issued_at: Instant,
    #[serde(with = "crate::snapshot::instant")]
    pub expires_at: Instant,
}

/// A pending second factor: whose, until when, and how many wrong codes it has seen.
pub(crate) struct MfaToken {
    pub username: String,
    pub issued_at: Instant,
    pub expires_at: Instant,
    pub wrong_codes: u32,
}

/// A compiled binary, downloadable by its owner until it expires.
pub(crate) struct Binary {
    pub owner: String,
    pub bytes: Vec<u8>,
    pub issued_at: Instant,
    pub expires_at: Instant,
}

/// What the eviction below needs of each kind of kept credential.
trait Kept {
    fn owner(&self) -> &str;
    fn issued_at(&self) -> Instant;
}

impl Kept for Token {
    fn owner(&self) -> &str {
        &self.username
    }
    fn issued_at(&self) -> Instant {
        self.issued_at
    }
}

impl Kept for MfaToken {
    fn owner(&self) -> &str {
        &self.username
    }
    fn issued_at(&self) -> Instant {
        self.issued_at
    }
}

impl Kept for Binary {
    fn owner(&self) -> &str {
        &self.owner
    }
    fn issued_at(&self) -> Instant {
        self.issued_at
    }
}

/// Makes room for one more of `owner`'s in `kept` (what has expired already pruned): drops the
/// owner's oldest while they hold `per_user`, then anyone's oldest while all hold `total`. A scan per
/// insertion: the maps are a few thousand entries at most, and sign-in is not a hot path.
fn make_room<T: Kept>(kept: &mut HashMap<String, T>, owner: &str, per_user: usize, total: usize) {
    let oldest = |kept: &HashMap<String, T>, mine: bool| {
        kept.iter()
            .filter(|(_, k)| !mine || k.owner() == owner)
            .min_by_key(|(_, k)| k.issued_at())
            .map(|(key, _)| key.clone())
    };
    while kept.values().filter(|k| k.owner() == owner).count() >= per_user.max(1) {
        let Some(key) = oldest(kept, true) else { break };
        kept.remove(&key);
    }
    while kept.len() >= total.max(1) {
        let Some(key) = oldest(kept, false) else {
            break;
        };
        kept.remove(&key);
    }
}

/// A device: what `GET /v1/devices` shows of it (`Device::shown`), whose it is, and what its
/// simulation keeps (kept apart in a world's snapshot, so that showing a device never copies its
/// log).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Device {
    pub id: String,
    pub name: String,
    pub platform_id: u32,
    /// Equals `platform_id` while the device is not in a product, as in the real API.
    pub product_id: u32,
    pub serial_number: String,
    pub online: bool,
    pub connected: bool,
    pub cellular: bool,
    pub notes: Option<String>,
    pub system_firmware_version: String,
    pub last_ip_address: String,
    pub status: String,
    /// Product devices only: development devices keep the firmware flashed to them.
    pub development: bool,
    pub groups: Vec<String>,
    /// The `PRODUCT_VERSION` of the firmware the device runs (product firmware only).
    pub firmware_version: Option<u32>,
    pub owner: String,
    /// Shown as the `functions` and `variables` its firmware registers.
    #[serde(skip)]
    pub sim: SimDevice,
}

impl Device {
    /// The device as the API shows it: its fields but its owner, and what its firmware registers
    /// with the cloud (`functions` by name, `variables` name → type) rather than the rest of the
    /// simulation, which is the sandbox's own business.
    pub(crate) fn shown(&self) -> Value {
        let mut shown = serde_json::to_value(self).expect("a device is plain data");
        if let Value::Object(fields) = &mut shown {
            fields.remove("owner");
            fields.insert(
                "functions".into(),
                firmware_facts::functions(&self.sim).into(),
            );
            let variables: serde_json::Map<String, Value> = firmware_facts::variables(&self.sim)
                .iter()
                .map(|(name, kind)| ((*name).to_owned(), (*kind).into()))
                .collect();
            fields.insert("variables".into(), variables.into());
        }
        shown
    }
}

/// What the simulated device runs and remembers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct SimDevice {
    /// True when it runs the demo firmware (publishes `WebhookDemo01`, logs its hook responses);
    /// false for Tinker, which publishes nothing.
    pub demo_firmware: bool,
    /// The next `id` it publishes (seeded at random on first connect, like the firmware).
    pub sequence: u32,
    /// The last simulated temperature, °C.
    pub temperature: Option<i32>,
    /// The log lines it wrote to USB serial, oldest first, bounded in lines and bytes.
    pub log: VecDeque<String>,
    /// The bytes of `log`'s lines.
    pub log_bytes: usize,
    /// When it last connected to the cloud, in milliseconds since the Unix epoch; `None` if it
    /// has not since the sandbox started.
    pub handshake_ms: Option<u64>,
}

/// A webhook integration: its settings as the client sent them (echoed back as they are) and parsed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Integration {
    pub id: String,
    /// The bytes of settings it was given, charged to its owner's and the sandbox's limits.
    pub size: usize,
    /// `None` for a user-level integration (`/v1/integrations`).
    pub product_id: Option<u32>,
    pub owner: String,
    pub created_at: String,
    pub raw: serde_json::Map<String, serde_json::Value>,
    pub settings: webhook_demo_core::webhook::WebhookSettings,
}

/// One webhook request the engine made, for `GET /_sim/webhooks`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Delivery {
    pub integration_id: String,
    pub event: String,
    pub outcome: Outcome,
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub status: Option<u16>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    /// Milliseconds since the Unix epoch.
    pub sent_at: u64,
    pub duration_ms: Option<f64>,
    pub chunks: usize,
    /// Which attempt this is (1, then each retry) of the `attempts` a delivery may have.
    pub attempt: usize,
    pub attempts: usize,
}

/// How a delivery went, as the delivery log names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Outcome {
    /// On its way.
    Sent,
    /// Answered 2xx.
    Response,
    /// Any failure.
    Error,
    /// Skipped: its host is sleeping.
    Throttled,
}

impl Delivery {
    /// The bytes it holds, roughly: its variable-length fields.
    pub(crate) fn size(&self) -> usize {
        let text = |text: &Option<String>| text.as_ref().map_or(0, String::len);
        self.integration_id.len()
            + self.event.len()
            + self.method.len()
            + self.url.len()
            + self
                .headers
                .iter()
                .map(|(name, value)| name.len() + value.len())
                .sum::<usize>()
            + text(&self.body)
            + text(&self.response_body)
            + text(&self.error)
    }
}

/// A product, as the products endpoints show it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Product {
    pub id: u32,
    pub name: String,
    pub slug: String,
    pub platform_id: u32,
    pub description: String,
    /// The owner's username.
    pub user: String,
    pub settings: serde_json::Map<String, serde_json::Value>,
    pub groups: Vec<String>,
    pub device_count: usize,
}

/// How much one cloud's logs may hold, and the byte budget every world's cloud shares (a global
/// bound: on a hosted sandbox thousands of worlds each below their own bound could still add up).
#[derive(Debug)]
pub(crate) struct Bounds {
    /// Bytes of requests and answers the delivery log keeps.
    pub delivery_bytes: usize,
    /// Bytes of log lines each simulated device keeps.
    pub log_bytes: usize,
    /// Bytes all clouds together may hold in logs and integrations (`usize::MAX`: no budget).
    pub bytes: usize,
    /// What they hold now, as each cloud last settled it.
    used: AtomicUsize,
}

impl Bounds {
    /// One shared world on a learner's machine: the logs' own bounds, no shared budget.
    pub(crate) fn single() -> Bounds {
        Bounds::new(DELIVERY_BYTES, usize::MAX, usize::MAX)
    }

    pub(crate) fn new(delivery_bytes: usize, log_bytes: usize, bytes: usize) -> Bounds {
        Bounds {
            delivery_bytes,
            log_bytes,
            bytes,
            used: AtomicUsize::new(0),
        }
    }

    /// The bytes all clouds hold together.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// True when `more` bytes would take the clouds past their shared budget.
    pub(crate) fn exceeded_by(&self, more: usize) -> bool {
        self.used().saturating_add(more) > self.bytes
    }

    fn budgeted(&self) -> bool {
        self.bytes != usize::MAX
    }
}

pub(crate) struct Cloud {
    pub users: Vec<User>,
    pub products: Vec<Product>,
    /// Product ids are above 100 (below that, a `product_id` is a platform id).
    pub next_product_id: u32,
    pub tokens: HashMap<String, Token>,
    /// Pending second factors by MFA token.
    pub mfa: HashMap<String, MfaToken>,
    pub devices: Vec<Device>,
    pub integrations: Vec<Integration>,
    /// Every webhook request sent, oldest first, bounded by count and by bytes.
    pub deliveries: VecDeque<Delivery>,
    /// The bytes the kept deliveries hold (their `Delivery::size`).
    pub delivery_bytes: usize,
    /// API publish allowance per user: (tokens left, when last counted).
    pub publish_allowance: HashMap<String, (f64, Instant)>,
    /// Compiled binaries by id.
    pub binaries: HashMap<String, Binary>,
    pub bounds: Arc<Bounds>,
    /// The bytes this cloud last charged to `bounds`' budget.
    charged: usize,
    /// How often it was locked for a change: a world kept in a shared store is saved there again
    /// when this moves (`snapshot.rs`).
    pub changes: u64,
}

impl Drop for Cloud {
    fn drop(&mut self) {
        self.bounds.used.fetch_sub(self.charged, Ordering::Relaxed);
    }
}

/// How many log lines a simulated device keeps, and how many deliveries the cloud keeps (and, in
/// bytes, `Bounds`).
pub(crate) const LOG_LINES: usize = 1000;
pub(crate) const DELIVERIES: usize = 1000;
/// Bytes of requests and answers the delivery log keeps: a request may be a megabyte and an answer
/// another, so the count alone would let the log grow to gigabytes.
pub(crate) const DELIVERY_BYTES: usize = 16 * 1024 * 1024;
/// API publishes a user may make at once before the per-second rate applies.
const PUBLISH_BURST: f64 = 10.0;

impl Cloud {
    /// The fixture of a learner's machine: one world, bounded by its own logs' bounds.
    pub(crate) fn fixture() -> Cloud {
        Cloud::fixture_in(Arc::new(Bounds::single()))
    }

    /// The fixture, its logs bounded by `bounds` and its bytes charged to their budget.
    pub(crate) fn fixture_in(bounds: Arc<Bounds>) -> Cloud {
        let owner = "sandbox@example.com";
        // The online devices connected as the sandbox started.
        let started_ms = clock::now_ms();
        let device =
            |n: u32, name: &str, platform_id: u32, serial: &str, online: bool, cellular: bool| {
                Device {
                    id: format!("e00fce68{n:016x}"),
                    name: name.to_owned(),
                    platform_id,
                    product_id: platform_id,
                    serial_number: serial.to_owned(),
                    online,
                    connected: online,
                    cellular,
                    notes: None,
                    system_firmware_version: "6.2.1".to_owned(),
                    last_ip_address: "192.0.2.10".to_owned(),
                    status: "normal".to_owned(),
                    development: false,
                    groups: Vec::new(),
                    // The online devices run the demo firmware; the offline one Tinker, so that
                    // flashing it is what makes it publish.
                    firmware_version: online.then_some(firmware_facts::DEMO_VERSION),
                    owner: owner.to_owned(),
                    sim: SimDevice {
                        demo_firmware: online,
                        handshake_ms: online.then_some(started_ms),
                        ..SimDevice::default()
                    },
                }
            };
        Cloud {
            users: vec![
                User {
                    username: owner.to_owned(),
                    password: "sandbox".to_owned(),
                    otp: None,
                },
                User {
                    username: "mfa@example.com".to_owned(),
                    password: "sandbox".to_owned(),
                    otp: Some("123456".to_owned()),
                },
            ],
            products: Vec::new(),
            next_product_id: 30_001,
            tokens: HashMap::new(),
            mfa: HashMap::new(),
            devices: vec![
                device(1, "sandbox-p2", 32, "P2SANDBOX000001", true, false),
                device(2, "sandbox-boron", 13, "B40SANDBOX00002", true, true),
                device(3, "sandbox-argon", 12, "ARGSANDBOX00003", false, false),
            ],
            integrations: Vec::new(),
            deliveries: VecDeque::new(),
            delivery_bytes: 0,
            binaries: HashMap::new(),
            publish_allowance: HashMap::new(),
            bounds,
            charged: 0,
            changes: 0,
        }
    }

    /// The bytes it holds that a client chose the size of: logs and integrations.
    fn held(&self) -> usize {
        self.delivery_bytes
            + self.integrations.iter().map(|i| i.size).sum::<usize>()
            + self.devices.iter().map(|d| d.sim.log_bytes).sum::<usize>()
    }

    /// Brings the shared budget up to date with what this cloud holds (after every lock).
    pub(crate) fn settle(&mut self) {
        if !self.bounds.budgeted() {
            return;
        }
        let held = self.held();
        if held > self.charged {
            self.bounds
                .used
                .fetch_add(held - self.charged, Ordering::Relaxed);
        } else {
            self.bounds
                .used
                .fetch_sub(self.charged - held, Ordering::Relaxed);
        }
        self.charged = held;
    }

    /// Issues an access token for `username`, signing out their oldest beyond the limits.
    pub(crate) fn issue_token(
        &mut self,
        username: &str,
        lifetime: Duration,
        now: Instant,
        limits: &Limits,
    ) -> String {
        self.prune(now);
        make_room(
            &mut self.tokens,
            username,
            limits.tokens_per_user,
            limits.tokens,
        );
        let token = random_hex(20);
        self.tokens.insert(
            token.clone(),
            Token {
                username: username.to_owned(),
                issued_at: now,
                expires_at: now + lifetime,
            },
        );
        token
    }

    /// Starts a second-factor exchange for `username`, ending their oldest beyond the limits.
    pub(crate) fn issue_mfa_token(
        &mut self,
        username: &str,
        now: Instant,
        limits: &Limits,
    ) -> String {
        self.prune(now);
        make_room(
            &mut self.mfa,
            username,
            limits.mfa_tokens_per_user,
            limits.mfa_tokens,
        );
        let token = random_hex(16);
        self.mfa.insert(
            token.clone(),
            MfaToken {
                username: username.to_owned(),
                issued_at: now,
                expires_at: now + MFA_TOKEN_LIFETIME,
                wrong_codes: 0,
            },
        );
        token
    }

    /// Keeps a compiled binary for `owner`, dropping their oldest beyond the limits.
    pub(crate) fn keep_binary(
        &mut self,
        id: String,
        owner: &str,
        bytes: Vec<u8>,
        now: Instant,
        limits: &Limits,
    ) {
        self.prune(now);
        make_room(
            &mut self.binaries,
            owner,
            limits.binaries_per_user,
            limits.binaries,
        );
        self.binaries.insert(
            id,
            Binary {
                owner: owner.to_owned(),
                bytes,
                issued_at: now,
                expires_at: now + BINARY_LIFETIME,
            },
        );
    }

    /// Forgets every token, second factor and binary that has expired. Done at each issue, so
    /// what has expired never outnumbers what the limits allow.
    fn prune(&mut self, now: Instant) {
        self.tokens.retain(|_, t| t.expires_at > now);
        self.mfa.retain(|_, t| t.expires_at > now);
        self.binaries.retain(|_, b| b.expires_at > now);
    }

    /// The user a live token belongs to.
    pub(crate) fn user_of(&self, token: &str, now: Instant) -> Option<&str> {
        self.tokens
            .get(token)
            .filter(|t| t.expires_at > now)
            .map(|t| t.username.as_str())
    }

    pub(crate) fn user(&self, username: &str) -> Option<&User> {
        self.users.iter().find(|u| u.username == username)
    }

    /// The device with this id, if any.
    pub(crate) fn device_mut(&mut self, id: &str) -> Option<&mut Device> {
        self.devices.iter_mut().find(|d| d.id == id)
    }

    /// Appends a line to a simulated device's log, dropping the oldest beyond the bounds (and,
    /// while all worlds together hold more than their budget, all but the newest).
    pub(crate) fn device_log(&mut self, id: &str, line: String) {
        let bounds = self.bounds.clone();
        let Some(device) = self.device_mut(id) else {
            return;
        };
        let log = &mut device.sim;
        log.log_bytes += line.len();
        log.log.push_back(line);
        while log.log.len() > 1
            && (log.log.len() > LOG_LINES
                || log.log_bytes > bounds.log_bytes
                || bounds.exceeded_by(0))
        {
            let Some(oldest) = log.log.pop_front() else {
                break;
            };
            log.log_bytes -= oldest.len();
        }
    }

    /// Takes one API publish from `user`'s allowance: a burst of `PUBLISH_BURST`, refilled at
    /// `per_second`. False when it is used up.
    pub(crate) fn allow_publish(&mut self, user: &str, per_second: u32, now: Instant) -> bool {
        if per_second == 0 {
            return true;
        }
        let (tokens, since) = self
            .publish_allowance
            .entry(user.to_owned())
            .or_insert((PUBLISH_BURST, now));
        *tokens = (*tokens + now.duration_since(*since).as_secs_f64() * f64::from(per_second))
            .min(PUBLISH_BURST);
        *since = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    pub(crate) fn record(&mut self, delivery: Delivery) {
        self.delivery_bytes += delivery.size();
        self.deliveries.push_back(delivery);
        while self.deliveries.len() > DELIVERIES
            || self.delivery_bytes > self.bounds.delivery_bytes
            || (self.deliveries.len() > 1 && self.bounds.exceeded_by(0))
        {
            let Some(oldest) = self.deliveries.pop_front() else {
                break;
            };
            self.delivery_bytes -= oldest.size();
        }
    }
}

pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).expect("the operating system provides random bytes");
    buffer
        .iter()
        .fold(String::with_capacity(bytes * 2), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}
