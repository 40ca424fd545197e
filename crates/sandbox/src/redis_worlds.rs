//! Worlds kept in Redis (`--store redis://…`), so that any instance serves any learner's world and
//! none is lost when an instance restarts or dies.
//!
//! A world is owned by one instance at a time, which holds it in memory exactly as a single
//! server does (its cloud, its streams, its webhook engine, its simulated devices), so everything
//! a world does happens once, in one place. What the owner changes is saved to Redis as a
//! snapshot (`snapshot.rs`) before the request that changed it is answered, and within
//! `SAVE_EVERY` for what changes by itself (deliveries, device logs). Another instance that
//! receives a request for the world forwards it to the owner over HTTP (one hop, streams
//! included); when the owner is gone (its lease in Redis ran out: a crash, a kill, a restart),
//! the first instance to receive a request for the world takes it over from its snapshot.
//!
//! Keys (all under `sbx:`):
//! - `w:<token>`: a hash with the world's `owner` (an instance id, empty: nobody), its `client`
//!   and its `snap`; it expires a little after the world's idle time, refreshed while it is used;
//! - `seen:<token>`: that a world existed, so its learner is told it expired, not that the token
//!   is wrong;
//! - `all` and `c:<client>`: sorted sets of live worlds scored by when each expires, for the
//!   caps in all and per client address;
//! - `inst:<id>`: an instance's URL for its peers, alive while its lease is renewed;
//! - `mfa:<token>`: the instance holding a pending second factor (its lobby);
//! - `peer-secret`: what a forwarded request carries to show it comes from a peer.

use std::{
    net::{IpAddr, SocketAddr},
    sync::{Mutex, PoisonError},
    time::Duration,
};

use axum::{
    body::Body,
    http::{HeaderMap, HeaderName, HeaderValue, request::Parts},
    response::{IntoResponse, Response},
};
use redis::{
    Script,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use tokio::{sync::OnceCell, time::Instant};

use crate::{
    attempts::Client,
    cloud::{clock::now_ms, random_hex},
    error::ApiError,
};

/// Where a sandbox keeps its worlds when they are shared by several instances.
#[derive(Debug, Clone)]
pub struct SharedWorlds {
    /// The Redis every instance uses (the relay's `--store`).
    pub redis: redis::ConnectionInfo,
    /// How the other instances reach this one (`http://host:port`, no path).
    pub peer_url: String,
}

/// How long an instance's lease lasts unless renewed: how long its worlds wait for it after a
/// crash before another instance takes them over.
const LEASE: Duration = Duration::from_secs(5);
/// How often the lease is renewed.
pub(crate) const RENEW_EVERY: Duration = Duration::from_secs(1);
/// How often changes a world made by itself (deliveries, device logs) are saved.
pub(crate) const SAVE_EVERY: Duration = Duration::from_millis(250);
/// How long a pending second factor is remembered (the MFA token's own lifetime).
const MFA_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// How long an expired world's token is recognised as one.
const SEEN_FOR: Duration = Duration::from_secs(24 * 3600);
/// The header a forwarded request carries the peer secret in, and the client's address.
const PEER: &str = "x-sandbox-peer";
const CLIENT: &str = "x-sandbox-client";

/// Where a request's world is.
pub(crate) enum Route {
    /// Nowhere: the token never made a world.
    Unknown,
    /// It expired or its learner signed out.
    Expired,
    /// Another live instance holds it, at this URL.
    Peer(String),
    /// Nobody holds it now, and this instance has just taken it: its snapshot and client.
    Taken { snapshot: String, client: String },
}

/// Why a new world was refused.
pub(crate) enum Refusal {
    /// The client holds as many as it may; the soonest of them expires at this Unix time (ms).
    Client { held: usize, soonest: Option<u64> },
    /// The sandbox holds as many as it may.
    Full { soonest: Option<u64> },
}

/// Redis did not answer.
#[derive(Debug)]
pub(crate) struct StoreError;

impl From<redis::RedisError> for StoreError {
    fn from(error: redis::RedisError) -> StoreError {
        tracing::warn!(%error, "the sandbox's Redis store failed");
        StoreError
    }
}

impl From<StoreError> for ApiError {
    fn from(_: StoreError) -> ApiError {
        ApiError::unavailable("The sandbox cannot reach its store right now; try again in a moment")
            .retry_after(Duration::from_secs(1))
    }
}

struct Scripts {
    create: Script,
    route: Script,
    save: Script,
    touch: Script,
    forget: Script,
}

const PRELUDE: &str = "local P = 'sbx:'\n";

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}{body}"))
}

impl Scripts {
    fn new() -> Scripts {
        Scripts {
            // token, client, now, ttl, per client, worlds, owner, snapshot, seen for.
            // Returns {1} or {-1, held, soonest} (the client's cap) or {-2, 0, soonest} (full).
            create: script(
                r"
local all, mine = P .. 'all', P .. 'c:' .. ARGV[2]
redis.call('ZREMRANGEBYSCORE', all, '-inf', ARGV[3])
redis.call('ZREMRANGEBYSCORE', mine, '-inf', ARGV[3])
local held = redis.call('ZCARD', mine)
if held >= tonumber(ARGV[5]) then
  local soonest = redis.call('ZRANGE', mine, 0, 0, 'WITHSCORES')
  return {-1, held, soonest[2] or ''}
end
if redis.call('ZCARD', all) >= tonumber(ARGV[6]) then
  local soonest = redis.call('ZRANGE', all, 0, 0, 'WITHSCORES')
  return {-2, 0, soonest[2] or ''}
end
local expiry = tonumber(ARGV[3]) + tonumber(ARGV[4])
redis.call('ZADD', all, expiry, ARGV[1])
redis.call('ZADD', mine, expiry, ARGV[1])
redis.call('PEXPIRE', mine, ARGV[4])
local w = P .. 'w:' .. ARGV[1]
redis.call('HSET', w, 'owner', ARGV[7], 'client', ARGV[2], 'snap', ARGV[8])
redis.call('PEXPIRE', w, ARGV[4])
redis.call('SET', P .. 'seen:' .. ARGV[1], 1, 'PX', ARGV[9])
return {1}
",
            ),
            // token, this instance. Returns {'unknown'}, {'expired'}, {'peer', url} or
            // {'taken', snapshot, client} (this instance owns it now).
            route: script(
                r"
local w = P .. 'w:' .. ARGV[1]
local owner = redis.call('HGET', w, 'owner')
if not owner then
  if redis.call('EXISTS', P .. 'seen:' .. ARGV[1]) == 1 then return {'expired'} end
  return {'unknown'}
end
if owner ~= ARGV[2] and owner ~= '' then
  local url = redis.call('GET', P .. 'inst:' .. owner)
  if url then return {'peer', url} end
end
redis.call('HSET', w, 'owner', ARGV[2])
return {'taken', redis.call('HGET', w, 'snap'), redis.call('HGET', w, 'client')}
",
            ),
            // token, this instance, snapshot, ttl. Returns 1, or 0 when another owns it now.
            save: script(
                r"
local w = P .. 'w:' .. ARGV[1]
if redis.call('HGET', w, 'owner') ~= ARGV[2] then return 0 end
redis.call('HSET', w, 'snap', ARGV[3])
redis.call('PEXPIRE', w, ARGV[4])
return 1
",
            ),
            // token, this instance, now, ttl. Returns 1, or 0 when another owns it now.
            touch: script(
                r"
local w = P .. 'w:' .. ARGV[1]
if redis.call('HGET', w, 'owner') ~= ARGV[2] then return 0 end
local expiry = tonumber(ARGV[3]) + tonumber(ARGV[4])
local client = redis.call('HGET', w, 'client')
redis.call('PEXPIRE', w, ARGV[4])
redis.call('ZADD', P .. 'all', 'XX', expiry, ARGV[1])
redis.call('ZADD', P .. 'c:' .. client, 'XX', expiry, ARGV[1])
redis.call('PEXPIRE', P .. 'c:' .. client, ARGV[4])
return 1
",
            ),
            // token, this instance: forgets the world if this instance owns it.
            forget: script(
                r"
local w = P .. 'w:' .. ARGV[1]
if redis.call('HGET', w, 'owner') ~= ARGV[2] then return 0 end
local client = redis.call('HGET', w, 'client')
redis.call('DEL', w)
redis.call('ZREM', P .. 'all', ARGV[1])
redis.call('ZREM', P .. 'c:' .. client, ARGV[1])
return 1
",
            ),
        }
    }
}

/// This instance's view of the worlds in Redis.
pub(crate) struct RedisWorlds {
    commands: ConnectionManager,
    scripts: Scripts,
    /// This instance's id (fresh at every start) and the URL its peers reach it at.
    instance: String,
    peer_url: String,
    /// Until when this instance's lease is known to hold: past it, its worlds may have been
    /// taken over, so it serves none from memory before renewing.
    leased_until: Mutex<Option<Instant>>,
    /// The secret forwarded requests carry, the same for every instance on this Redis.
    secret: OnceCell<String>,
    /// The HTTP client that forwards requests to peers: no total timeout (streams last).
    peers: reqwest::Client,
    /// How long a world lasts unused, and how long its keys live in Redis (a little longer, so
    /// that Redis never forgets a world its owner still holds).
    idle: Duration,
    ttl: Duration,
    /// How often a world in use has its expiry moved in Redis.
    pub(crate) touch_every: Duration,
}

fn millis(span: Duration) -> u64 {
    u64::try_from(span.as_millis()).unwrap_or(u64::MAX)
}

/// A client address as Redis keys name it.
fn client_key(client: Client) -> String {
    client.map_or_else(|| "unknown".to_owned(), |address| address.to_string())
}

impl RedisWorlds {
    pub(crate) fn new(shared: &SharedWorlds, idle: Duration) -> Result<RedisWorlds, String> {
        let client = redis::Client::open(shared.redis.clone())
            .map_err(|error| format!("not a Redis address: {error}"))?;
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(10))
            .set_max_delay(Duration::from_millis(100))
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(2)));
        let commands = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|error| format!("Redis: {error}"))?;
        let peers = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| format!("an HTTP client for peers: {error}"))?;
        Ok(RedisWorlds {
            commands,
            scripts: Scripts::new(),
            instance: random_hex(12),
            peer_url: shared.peer_url.trim_end_matches('/').to_owned(),
            leased_until: Mutex::new(None),
            secret: OnceCell::new(),
            peers,
            idle,
            ttl: idle + touch_every(idle) * 4 + LEASE,
            touch_every: touch_every(idle),
        })
    }

    fn connection(&self) -> ConnectionManager {
        self.commands.clone()
    }

    /// True while this instance's lease holds, so the worlds in its memory are still its own.
    pub(crate) fn leased(&self) -> bool {
        self.leased_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|until| Instant::now() < until)
    }

    /// Renews this instance's lease. `Ok(false)`: it had run out (Redis was away longer than a
    /// lease), so its worlds may belong to others now and must be dropped from memory; the lease
    /// is taken afresh.
    pub(crate) async fn renew(&self) -> Result<bool, StoreError> {
        let mut connection = self.connection();
        let key = format!("sbx:inst:{}", self.instance);
        let started = Instant::now();
        let held: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(&self.peer_url)
            .arg("XX")
            .arg("PX")
            .arg(millis(LEASE))
            .query_async(&mut connection)
            .await?;
        let first = self
            .leased_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none();
        if held.is_none() {
            let () = redis::cmd("SET")
                .arg(&key)
                .arg(&self.peer_url)
                .arg("PX")
                .arg(millis(LEASE))
                .query_async(&mut connection)
                .await?;
        }
        *self
            .leased_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(started + LEASE - RENEW_EVERY);
        Ok(held.is_some() || first)
    }

    /// Ends this instance's lease at once (a graceful shutdown, after saving every world): its
    /// worlds are taken over by the next request for each, without waiting for the lease.
    pub(crate) async fn resign(&self) -> Result<(), StoreError> {
        *self
            .leased_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        let () = redis::cmd("DEL")
            .arg(format!("sbx:inst:{}", self.instance))
            .query_async(&mut self.connection())
            .await?;
        Ok(())
    }

    /// Records a new world (its token, client and first snapshot) as this instance's, within the
    /// caps per client and in all.
    pub(crate) async fn create(
        &self,
        token: &str,
        client: Client,
        snapshot: &str,
        per_client: usize,
        worlds: usize,
    ) -> Result<Result<(), Refusal>, StoreError> {
        let answer: Vec<redis::Value> = self
            .scripts
            .create
            .arg(token)
            .arg(client_key(client))
            .arg(now_ms())
            .arg(millis(self.ttl))
            .arg(per_client)
            .arg(worlds)
            .arg(&self.instance)
            .arg(snapshot)
            .arg(millis(SEEN_FOR))
            .invoke_async(&mut self.connection())
            .await?;
        let number = |index: usize| -> Option<i64> {
            match answer.get(index)? {
                redis::Value::Int(n) => Some(*n),
                redis::Value::BulkString(bytes) => std::str::from_utf8(bytes).ok()?.parse().ok(),
                redis::Value::SimpleString(text) => text.parse().ok(),
                _ => None,
            }
        };
        // Scores are Unix milliseconds plus the keys' ttl; the world itself ends `idle` after use.
        let soonest = number(2)
            .and_then(|score| u64::try_from(score).ok())
            .map(|score| score.saturating_sub(millis(self.ttl.saturating_sub(self.idle))));
        Ok(match number(0) {
            Some(-1) => Err(Refusal::Client {
                held: number(1).and_then(|n| usize::try_from(n).ok()).unwrap_or(0),
                soonest,
            }),
            Some(-2) => Err(Refusal::Full { soonest }),
            _ => Ok(()),
        })
    }

    /// Where the world of `token` is, taking it over when nobody holds it.
    pub(crate) async fn route(&self, token: &str) -> Result<Route, StoreError> {
        let answer: Vec<String> = self
            .scripts
            .route
            .arg(token)
            .arg(&self.instance)
            .invoke_async(&mut self.connection())
            .await?;
        let mut answer = answer.into_iter();
        Ok(
            match (answer.next().as_deref(), answer.next(), answer.next()) {
                (Some("peer"), Some(url), _) => Route::Peer(url),
                (Some("taken"), Some(snapshot), client) => Route::Taken {
                    snapshot,
                    client: client.unwrap_or_default(),
                },
                (Some("expired"), ..) => Route::Expired,
                _ => Route::Unknown,
            },
        )
    }

    /// Saves a world's snapshot. `Ok(false)`: another instance owns the world now.
    pub(crate) async fn save(&self, token: &str, snapshot: String) -> Result<bool, StoreError> {
        let saved: i64 = self
            .scripts
            .save
            .arg(token)
            .arg(&self.instance)
            .arg(snapshot)
            .arg(millis(self.ttl))
            .invoke_async(&mut self.connection())
            .await?;
        Ok(saved == 1)
    }

    /// Moves a world's expiry on (it was used). `Ok(false)`: another instance owns it now.
    pub(crate) async fn touch(&self, token: &str) -> Result<bool, StoreError> {
        let touched: i64 = self
            .scripts
            .touch
            .arg(token)
            .arg(&self.instance)
            .arg(now_ms())
            .arg(millis(self.ttl))
            .invoke_async(&mut self.connection())
            .await?;
        Ok(touched == 1)
    }

    /// Forgets a world this instance owns (it expired, or its learner signed out).
    pub(crate) async fn forget(&self, token: &str) -> Result<(), StoreError> {
        let _: i64 = self
            .scripts
            .forget
            .arg(token)
            .arg(&self.instance)
            .invoke_async(&mut self.connection())
            .await?;
        Ok(())
    }

    /// Notes that this instance holds a pending second factor, so that the code's request is
    /// forwarded here whichever instance receives it.
    pub(crate) async fn hold_mfa(&self, mfa_token: &str) -> Result<(), StoreError> {
        let () = redis::cmd("SET")
            .arg(format!("sbx:mfa:{mfa_token}"))
            .arg(&self.instance)
            .arg("PX")
            .arg(millis(MFA_LIFETIME))
            .query_async(&mut self.connection())
            .await?;
        Ok(())
    }

    /// The URL of the live peer holding a pending second factor, if another does.
    pub(crate) async fn mfa_peer(&self, mfa_token: &str) -> Result<Option<String>, StoreError> {
        let mut connection = self.connection();
        let holder: Option<String> = redis::cmd("GET")
            .arg(format!("sbx:mfa:{mfa_token}"))
            .query_async(&mut connection)
            .await?;
        let Some(holder) = holder.filter(|holder| *holder != self.instance) else {
            return Ok(None);
        };
        Ok(redis::cmd("GET")
            .arg(format!("sbx:inst:{holder}"))
            .query_async(&mut connection)
            .await?)
    }

    /// The secret shared by every instance on this Redis (made by the first to ask).
    async fn secret(&self) -> Result<&str, StoreError> {
        self.secret
            .get_or_try_init(|| async {
                let mut connection = self.connection();
                let () = redis::cmd("SET")
                    .arg("sbx:peer-secret")
                    .arg(random_hex(32))
                    .arg("NX")
                    .query_async::<Option<String>>(&mut connection)
                    .await
                    .map(drop)?;
                let secret: String = redis::cmd("GET")
                    .arg("sbx:peer-secret")
                    .query_async(&mut connection)
                    .await?;
                Ok::<String, StoreError>(secret)
            })
            .await
            .map(String::as_str)
    }

    /// Whether a request was forwarded by a peer: `Some(client)` with the address its peer
    /// received it from, after the request's headers are made as the client sent them; `None`
    /// for a request from anyone else. A request claiming to be forwarded with a wrong secret is
    /// refused.
    pub(crate) async fn received(&self, parts: &mut Parts) -> Result<Option<Client>, ApiError> {
        let Some(claimed) = parts.headers.remove(PEER) else {
            return Ok(None);
        };
        let secret = self.secret().await?;
        if claimed.as_bytes() != secret.as_bytes() {
            return Err(ApiError::forbidden("Not a request from another instance"));
        }
        let client = parts
            .headers
            .remove(CLIENT)
            .and_then(|value| value.to_str().ok()?.parse::<IpAddr>().ok());
        // The client is who the forwarding instance said; the forwarding headers it passed on
        // were read there already.
        parts.headers.remove("x-forwarded-for");
        parts.headers.remove(axum::http::header::FORWARDED);
        parts.extensions.remove::<webhook_demo_http::PeerAddr>();
        if let Some(address) = client {
            parts
                .extensions
                .insert(webhook_demo_http::PeerAddr(SocketAddr::new(address, 0)));
        }
        Ok(Some(client))
    }

    /// Forwards a request to the instance that holds its world, and streams its answer back.
    pub(crate) async fn forward(
        &self,
        peer_url: &str,
        parts: Parts,
        body: Body,
        client: Client,
    ) -> Response {
        let secret = match self.secret().await {
            Ok(secret) => secret,
            Err(error) => return ApiError::from(error).into_response(),
        };
        let path = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or(&parts.uri, |original| &original.0)
            .path_and_query()
            .map_or("/", |path| path.as_str());
        let mut headers = HeaderMap::new();
        for (name, value) in &parts.headers {
            if !is_hop_by_hop(name) {
                headers.append(name.clone(), value.clone());
            }
        }
        headers.insert(
            HeaderName::from_static(PEER),
            HeaderValue::from_str(secret).expect("hex is a header value"),
        );
        if let Some(address) = client {
            headers.insert(
                HeaderName::from_static(CLIENT),
                HeaderValue::from_str(&address.to_string()).expect("an address is a header value"),
            );
        }
        let sent = self
            .peers
            .request(parts.method, format!("{peer_url}{path}"))
            .headers(headers)
            .body(reqwest::Body::wrap_stream(body.into_data_stream()))
            .send()
            .await;
        let answer = match sent {
            Ok(answer) => answer,
            Err(error) => {
                tracing::warn!(%error, peer_url, "a sandbox peer did not answer");
                return ApiError::unavailable(
                    "The sandbox is moving your world between its servers; try again in a moment",
                )
                .retry_after(Duration::from_secs(1))
                .into_response();
            }
        };
        let mut response = Response::builder().status(answer.status());
        for (name, value) in answer.headers() {
            // CORS is this instance's to answer, as for any request it serves.
            if !is_hop_by_hop(name) && !name.as_str().starts_with("access-control-") {
                response = response.header(name, value);
            }
        }
        response
            .body(Body::from_stream(answer.bytes_stream()))
            .unwrap_or_else(|_| {
                ApiError::unavailable("A peer's answer was malformed").into_response()
            })
    }
}

fn touch_every(idle: Duration) -> Duration {
    (idle / 20).clamp(Duration::from_millis(50), Duration::from_secs(30))
}

/// Header fields that describe one connection, not the request.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "content-length"
    )
}
