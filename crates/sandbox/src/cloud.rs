//! The emulated cloud's state: users, access tokens, devices. Starts from the same fixture on every
//! start, which tests and the page's "Try the sandbox" rely on (DESIGN.md lists it).

use std::{collections::HashMap, fmt::Write, time::Duration};

use serde::Serialize;
use tokio::time::Instant;

/// How long a token lives when the client does not say (Particle's default: 90 days).
pub(crate) const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(7_776_000);
/// How long an MFA token from a `mfa_required` answer may be exchanged for an access token.
const MFA_TOKEN_LIFETIME: Duration = Duration::from_secs(5 * 60);

pub(crate) struct User {
    pub username: String,
    pub password: String,
    /// The one-time code this user's second factor accepts, when MFA is on.
    pub otp: Option<String>,
}

pub(crate) struct Token {
    pub username: String,
    pub expires_at: Instant,
}

/// A device as `GET /v1/devices` shows it.
#[derive(Debug, Clone, Serialize)]
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
    #[serde(skip)]
    pub owner: String,
}

/// A product, as the products endpoints show it.
#[derive(Debug, Clone, Serialize)]
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

pub(crate) struct Cloud {
    pub users: Vec<User>,
    pub products: Vec<Product>,
    /// Product ids are above 100 (below that, a `product_id` is a platform id).
    pub next_product_id: u32,
    pub tokens: HashMap<String, Token>,
    /// Pending second factors: MFA token → (username, expiry).
    pub mfa: HashMap<String, (String, Instant)>,
    pub devices: Vec<Device>,
}

impl Cloud {
    pub(crate) fn fixture() -> Cloud {
        let owner = "sandbox@example.com";
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
                    owner: owner.to_owned(),
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
        }
    }

    /// Issues an access token for `username`.
    pub(crate) fn issue_token(
        &mut self,
        username: &str,
        lifetime: Duration,
        now: Instant,
    ) -> String {
        let token = random_hex(20);
        self.tokens.insert(
            token.clone(),
            Token {
                username: username.to_owned(),
                expires_at: now + lifetime,
            },
        );
        token
    }

    /// Starts a second-factor exchange for `username`.
    pub(crate) fn issue_mfa_token(&mut self, username: &str, now: Instant) -> String {
        let token = random_hex(16);
        self.mfa.insert(
            token.clone(),
            (username.to_owned(), now + MFA_TOKEN_LIFETIME),
        );
        token
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
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).expect("the operating system provides random bytes");
    buffer
        .iter()
        .fold(String::with_capacity(bytes * 2), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}
