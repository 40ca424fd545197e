//! Fair shares of the relay's global bounds, on both stores: the probe's floods (bytes from one
//! address, from one IPv6 /48 across many /64s and from many networks; sessions from many
//! addresses in one prefix and from many prefixes) never make another address's session or hook
//! fail. Clients are named by `X-Forwarded-For` (the relay trusts it here), so one loopback test
//! client stands for many addresses.

use std::net::IpAddr;

use webhook_demo_core::wire::RelayStart;
use webhook_demo_relay::{Limits, Settings};

mod support;

use support::redis::RedisServer;

/// Small bounds, so a flood is a few hundred requests: 1 MiB in all, 8 KiB bodies (48 KiB once
/// a body of control bytes is escaped), 200 sessions, 8 per address.
fn settings() -> Settings {
    Settings {
        trust_forwarded: true,
        limits: Limits {
            max_total_buffer_bytes: 1024 * 1024,
            max_body_bytes: 8 * 1024,
            hooks_per_second: 0,
            max_sessions: 200,
            max_sessions_per_client: 8,
            ..Limits::default()
        },
        ..Settings::default()
    }
}

/// Opens a session for a client at `address` and returns its start, or the refusal's status.
async fn open(client: &reqwest::Client, base: &str, address: IpAddr) -> Result<RelayStart, u16> {
    let response = client
        .get(format!("{base}stream"))
        .header("x-forwarded-for", address.to_string())
        .send()
        .await
        .expect("the relay answers");
    if response.status() != 200 {
        return Err(response.status().as_u16());
    }
    // The start event is the first frame; the stream is dropped once it is read.
    let mut response = response;
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = response.chunk().await.expect("a frame").expect("not ended");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    let data = text
        .lines()
        .find_map(|line| line.strip_prefix("data: "))
        .expect("start data");
    Ok(serde_json::from_str(data).expect("start"))
}

/// Sends a hook of `size` control bytes (six times that once escaped) to this session.
async fn hook(client: &reqwest::Client, start: &RelayStart, size: usize) -> u16 {
    let path = start.hook_url.split_once("/relay/").expect("mounted").1;
    let base = start.control_url.split_once("/relay/").expect("mounted").0;
    client
        .post(format!("{base}/relay/{path}"))
        .body(vec![1u8; size])
        .send()
        .await
        .expect("the relay answers")
        .status()
        .as_u16()
}

/// Fills the relay from these addresses: two sessions per entry (as many as an address may
/// hold once it repeats), four full hooks each.
async fn fill_bytes(client: &reqwest::Client, base: &str, addresses: &[IpAddr]) {
    for address in addresses {
        for _ in 0..2 {
            let Ok(start) = open(client, base, *address).await else {
                break;
            };
            for _ in 0..4 {
                hook(client, &start, 8 * 1024).await;
            }
        }
    }
}

/// After the flood, a learner at another address gets a session and its full hook is taken.
async fn a_newcomer_is_served(client: &reqwest::Client, base: &str) {
    let newcomer: IpAddr = "203.0.113.9".parse().expect("address");
    let start = open(client, base, newcomer)
        .await
        .expect("a session for the newcomer");
    assert_eq!(
        hook(client, &start, 8 * 1024).await,
        200,
        "the newcomer's hook is taken"
    );
    let bytes = metric(client, base, "relay_bytes_held").await;
    assert!(bytes <= 1024.0 * 1024.0, "the global bound holds: {bytes}");
}

/// A metric's value, from `GET /metrics` beside the relay.
async fn metric(client: &reqwest::Client, base: &str, name: &str) -> f64 {
    let url = format!("{}metrics", base.trim_end_matches("relay/"));
    let text = client
        .get(url)
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from:\n{text}"))
}

fn one_address() -> Vec<IpAddr> {
    vec!["198.51.100.7".parse().expect("address"); 8]
}

fn one_slash_48() -> Vec<IpAddr> {
    (0..64)
        .map(|n| format!("2001:db8:1:{n:x}::1").parse().expect("address"))
        .collect()
}

fn many_networks() -> Vec<IpAddr> {
    (0..64)
        .map(|n| format!("198.18.{n}.1").parse().expect("address"))
        .collect()
}

/// H2: one address, one /48 across many /64s, or many networks fill the byte bound; another
/// address's hook is still taken.
async fn byte_floods_leave_room_for_a_newcomer(base: String, flood: Vec<IpAddr>) {
    let client = reqwest::Client::new();
    fill_bytes(&client, &base, &flood).await;
    a_newcomer_is_served(&client, &base).await;
}

/// M4: sessions opened from many addresses of one prefix, or from many prefixes, until the relay
/// refuses; a new address still gets a session.
async fn session_floods_leave_room_for_a_newcomer(base: String, flood: Vec<IpAddr>) {
    let client = reqwest::Client::new();
    let mut refused = 0;
    'flood: for address in &flood {
        for _ in 0..8 {
            if open(&client, &base, *address).await.is_err() {
                refused += 1;
                if refused > 64 {
                    break 'flood;
                }
            }
        }
    }
    assert!(refused > 0, "the flood reached a bound");
    let newcomer: IpAddr = "203.0.113.9".parse().expect("address");
    assert!(
        open(&client, &base, newcomer).await.is_ok(),
        "the newcomer gets a session"
    );
}

fn many_prefixes() -> Vec<IpAddr> {
    (0..40)
        .map(|n| format!("198.19.{n}.1").parse().expect("address"))
        .collect()
}

fn many_addresses_in_one_prefix() -> Vec<IpAddr> {
    (0..40)
        .map(|n| format!("2001:db8:2:{n:x}::1").parse().expect("address"))
        .collect()
}

macro_rules! on_both_stores {
    ($($name:ident: $check:ident($flood:ident)),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $name() {
                    let base = super::support::serve(None, super::settings()).await;
                    super::$check(base, super::$flood()).await;
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test]
                async fn $name() {
                    let redis = super::RedisServer::start();
                    let base = super::support::serve(Some(&redis.url()), super::settings()).await;
                    super::$check(base, super::$flood()).await;
                }
            )*
        }
    };
}

on_both_stores!(
    h2_bytes_from_one_address: byte_floods_leave_room_for_a_newcomer(one_address),
    h2_bytes_from_one_slash_48: byte_floods_leave_room_for_a_newcomer(one_slash_48),
    h2_bytes_from_many_networks: byte_floods_leave_room_for_a_newcomer(many_networks),
    m4_sessions_from_one_prefix: session_floods_leave_room_for_a_newcomer(many_addresses_in_one_prefix),
    m4_sessions_from_many_prefixes: session_floods_leave_room_for_a_newcomer(many_prefixes),
);
