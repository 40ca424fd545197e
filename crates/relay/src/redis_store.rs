//! `RedisStore`: every session lives in Redis, so any instance serves any request of any session
//! (hook on one, stream on another, control and respond on a third, resume on a fourth).
//!
//! What a session is, in Redis (all keys under `wd:`):
//! - `s:<id>`, a hash: its hook token, client, answer settings (the JSON `control` answers with),
//!   event and hook counters, the rate limiter's bucket, and what its expiry is computed from;
//! - `t:<token>`, the hook token's session id;
//! - `e:<id>`, a Redis Stream: the event log, one entry per event, holding the SSE frame ready to
//!   send. Entry `N-0` is event `N`, so `Last-Event-ID` resumes on any instance with one `XRANGE`;
//!   it is trimmed to the same bounds as the memory store's log (events and bytes);
//! - `w:<id>`, the hooks waiting for the page, each with the instance that holds its request;
//! - `live`, a sorted set of every session by the time it expires: its size is what
//!   `--relay-max-sessions` bounds, and it finds the expired ones to forget. `c:<client>` lists a
//!   client's sessions for the per-client cap. `held` and `total` are the bytes each session and
//!   all of them keep, for the shared memory bound. Keys also carry TTLs past their expiry, so
//!   nothing outlives a session even if no instance is left to forget it.
//!
//! Every change is one Lua script (atomic, one round trip). The scripts name keys they build
//! themselves, which a single Redis (or a primary with replicas) allows and Redis Cluster does not.
//!
//! Streams are woken without a connection or a blocking read each: every instance holds one
//! subscription (to `wd:appended`, which carries each append's session, first event id and
//! frames, and to its own `wd:answers:<instance>`, which carries page answers for the hooks it
//! holds) and wakes its local streams of that session. Ten thousand idle streams cost what one
//! does. An instance keeps a session's newest announced events (`Recent`, a suffix of the log
//! with no gap), so a stream that is caught up sends them without reading Redis; a stream
//! further behind, or after a gap in the announcements, reads the log. When the subscription
//! drops or comes back, the kept events are forgotten and every local stream reads again, so no
//! append is missed.
//!
//! Expiry counts from when the last stream left. An instance renews a lease on the sessions it
//! streams every few seconds; when it dies, its sessions start their idle clock when their lease
//! runs out, exactly as if their streams had ended then.

use bytes::Bytes;
use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex, PoisonError, Weak},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use redis::{
    PushInfo, PushKind, Script, Value,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use serde::{Deserialize, Serialize};
use tokio::{
    sync::{Notify, futures::Notified, oneshot},
    time::Instant,
};
use webhook_demo_core::wire::PageAnswer;

use crate::{
    Limits,
    admission::{Admission, OpenRefused, Refused, StoreError},
    client::Client,
    error::RelayError,
    session::{Answer, Batch, Event, random_id, response_event_size},
};

/// How long a stream's attachment counts after its instance last renewed it.
const LEASE: Duration = Duration::from_secs(30);
/// How often an instance renews its streams' leases, and pings Redis on its subscription so a
/// lost connection is noticed (and re-made) within a second.
const RENEW_EVERY: Duration = Duration::from_secs(10);
const PING_EVERY: Duration = Duration::from_secs(1);
/// The channel naming the session of every append.
const APPENDED: &str = "wd:appended";

/// Functions every script shares; see the module documentation for the keys.
const PRELUDE: &str = r"
local P = 'wd:'
-- When a session expires, from its lease, idle_since and in_use (the score `live` holds).
local function expires(lease, idle_since, in_use, idle, unused)
  local base = math.max(tonumber(lease), tonumber(idle_since))
  if in_use == '1' then return base + idle end
  return base + math.min(unused, idle)
end
local function expiry_of(s, idle, unused)
  local f = redis.call('HMGET', s, 'lease', 'idle_since', 'in_use')
  return expires(f[1], f[2], f[3], idle, unused)
end
local function touch(id, now, idle, unused)
  local s = P .. 's:' .. id
  local at = expiry_of(s, idle, unused)
  redis.call('ZADD', P .. 'live', at, id)
  local ttl = math.max(at - now, 0) + 60000
  redis.call('PEXPIRE', s, ttl)
  redis.call('PEXPIRE', P .. 't:' .. redis.call('HGET', s, 'token'), ttl)
  redis.call('PEXPIRE', P .. 'e:' .. id, ttl)
  redis.call('PEXPIRE', P .. 'w:' .. id, ttl)
end
-- Charges `bytes` (negative: gives them back) to a session, its client, its network and the
-- total; a client or network holding nothing is forgotten.
local function charge(id, bytes)
  local f = redis.call('HMGET', P .. 's:' .. id, 'client', 'network')
  redis.call('INCRBY', P .. 'total', bytes)
  redis.call('HINCRBY', P .. 'held', id, bytes)
  if f[1] and tonumber(redis.call('HINCRBY', P .. 'cb', f[1], bytes)) <= 0 then
    redis.call('HDEL', P .. 'cb', f[1])
  end
  if f[2] and tonumber(redis.call('ZINCRBY', P .. 'nb', bytes, f[2])) <= 0 then
    redis.call('ZREM', P .. 'nb', f[2])
  end
end
local function forget(id)
  local s = P .. 's:' .. id
  local f = redis.call('HMGET', s, 'token', 'client', 'network')
  local held = tonumber(redis.call('HGET', P .. 'held', id) or '0')
  if held ~= 0 then charge(id, -held) end
  redis.call('HDEL', P .. 'held', id)
  redis.call('ZREM', P .. 'live', id)
  if f[1] then redis.call('DEL', P .. 't:' .. f[1]) end
  if f[2] then redis.call('ZREM', P .. 'c:' .. f[2], id) end
  if f[3] and redis.call('ZREM', P .. 'n:' .. f[3], id) == 1 then
    if tonumber(redis.call('ZINCRBY', P .. 'ns', -1, f[3])) <= 0 then
      redis.call('ZREM', P .. 'ns', f[3])
    end
  end
  redis.call('DEL', s, P .. 'e:' .. id, P .. 'w:' .. id)
end
local function live(id, now)
  local at = redis.call('ZSCORE', P .. 'live', id)
  if not at then return false end
  if tonumber(at) <= now then forget(id) return false end
  return true
end
-- Evicts a session's oldest events (the newest too if need be) until `wanted` bytes are freed
-- or its log is empty; returns the bytes freed. Readers are told what they missed.
local function evict(id, wanted)
  local e = P .. 'e:' .. id
  local freed, ids, after = 0, {}, '-'
  while freed < wanted do
    local batch = redis.call('XRANGE', e, after, '+', 'COUNT', 64)
    if #batch == 0 then break end
    for _, entry in ipairs(batch) do
      if freed >= wanted then break end
      table.insert(ids, entry[1])
      freed, after = freed + #entry[2][2], '(' .. entry[1]
    end
  end
  for i = 1, #ids, 100 do
    redis.call('XDEL', e, unpack(ids, i, math.min(i + 99, #ids)))
  end
  if freed > 0 then
    redis.call('HINCRBY', P .. 's:' .. id, 'log_bytes', -freed)
    charge(id, -freed)
  end
  return freed
end
-- Of these sessions, the one holding the most bytes.
local function largest(ids)
  local best, most = nil, 0
  for _, other in ipairs(ids) do
    local held = tonumber(redis.call('HGET', P .. 'held', other) or '0')
    if held > most then best, most = other, held end
  end
  return best
end
-- Makes room for session `id` to take `bytes` more (`shares`: {total, client, network} bounds):
-- within its client's or network's share, that holder's own largest log gives its oldest
-- events; at the total, the network holding the most bytes gives them, provided it holds more
-- than this session's network (the largest holder is refused instead).
-- Returns false when the bytes cannot be made to fit.
local function room(id, bytes, shares)
  local f = redis.call('HMGET', P .. 's:' .. id, 'client', 'network')
  if not f[1] then return false end
  for _ = 1, 8 do
    local c = tonumber(redis.call('HGET', P .. 'cb', f[1]) or '0')
    local n = tonumber(redis.call('ZSCORE', P .. 'nb', f[2]) or '0')
    local t = tonumber(redis.call('GET', P .. 'total') or '0')
    local victim, wanted
    if c + bytes > shares[2] then
      victim, wanted = largest(redis.call('ZRANGE', P .. 'c:' .. f[1], 0, -1)), c + bytes - shares[2]
    elseif n + bytes > shares[3] then
      victim, wanted = largest(redis.call('ZRANGE', P .. 'n:' .. f[2], 0, -1)), n + bytes - shares[3]
    elseif t + bytes > shares[1] then
      local top = redis.call('ZREVRANGE', P .. 'nb', 0, 0, 'WITHSCORES')
      if #top == 0 or tonumber(top[2]) <= n then return false end
      victim, wanted = largest(redis.call('ZRANGE', P .. 'n:' .. top[1], 0, -1)), t + bytes - shares[1]
    else
      return true
    end
    if not victim or evict(victim, wanted) == 0 then return false end
  end
  return false
end
-- The byte bounds: the total, and the client's and network's shares, every script's last two
-- arguments.
local function shares_of(total, argv)
  return {tonumber(total), tonumber(argv[#argv - 1]), tonumber(argv[#argv])}
end
local function frame_of(n, name, json)
  return 'id: ' .. n .. '\nevent: ' .. name .. '\ndata: ' .. json .. '\n\n'
end
-- A session's log counters ({next_event, log_bytes}), or nil when the session is gone.
local function log_of(id)
  local f = redis.call('HMGET', P .. 's:' .. id, 'next_event', 'log_bytes')
  if not f[1] then return nil end
  return f
end
-- Appends events ({name, json} pairs) to a session's log (`log` from `log_of`), then evicts its
-- oldest events (never the newest) until it is within both bounds; each counter is written
-- once, however many.
local function append(id, log, events, max_events, max_bytes)
  local s = P .. 's:' .. id
  local e = P .. 'e:' .. id
  local n = tonumber(log[1])
  local added, sizes, frames = 0, {}, {}
  for i, event in ipairs(events) do
    local frame = frame_of(n + i, event[1], event[2])
    redis.call('XADD', e, (n + i) .. '-0', 'f', frame)
    added = added + #frame
    sizes[i], frames[i] = #frame, frame
  end
  local bytes = tonumber(log[2]) + added
  local len = redis.call('XLEN', e)
  local evicted, freed, after = {}, 0, '-'
  while len > 1 and (len > max_events or bytes > max_bytes) do
    local batch = redis.call('XRANGE', e, after, '+', 'COUNT', math.max(len - max_events, 1))
    if #batch == 0 then break end
    for _, entry in ipairs(batch) do
      if len <= 1 or (len <= max_events and bytes <= max_bytes) then break end
      local size = #entry[2][2]
      table.insert(evicted, entry[1])
      bytes, freed, len, after = bytes - size, freed + size, len - 1, '(' .. entry[1]
    end
  end
  for i = 1, #evicted, 100 do
    redis.call('XDEL', e, unpack(evicted, i, math.min(i + 99, #evicted)))
  end
  redis.call('HSET', s, 'next_event', n + #events, 'log_bytes', bytes)
  charge(id, added - freed)
  -- Every instance learns the new events themselves, so its streams of this session send them
  -- without reading them back: '<session> <first id> <sizes...>\n' and the frames.
  redis.call('PUBLISH', P .. 'appended',
    id .. ' ' .. (n + 1) .. ' ' .. table.concat(sizes, ' ') .. '\n' .. table.concat(frames))
  return n + #events
end
";

/// The scripts, loaded once (`EVALSHA`, falling back to `EVAL` after a Redis restart).
struct Scripts {
    open: Script,
    find: Script,
    admit: Script,
    read: Script,
    attach: Script,
    detach: Script,
    renew: Script,
    set_answer: Script,
    log_hook: Script,
    log_answered: Script,
    finish: Script,
    respond: Script,
    release: Script,
}

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}{body}"))
}

impl Scripts {
    fn new() -> Scripts {
        Scripts {
            // ARGV: id, token, client, now, max sessions, per client, idle, unused, answer,
            // tokens, lease, network, per network. Returns 0 (opened), 1 (full), 2 (client
            // full) or 3 (network full). When full, the network holding the most sessions gives
            // up its least used one (never received a hook, no stream, idle longest) to a
            // client of a network holding at least two fewer; its streams are told.
            open: script(
                r"
local id, token, client = ARGV[1], ARGV[2], ARGV[3]
local now = tonumber(ARGV[4])
for _, old in ipairs(redis.call('ZRANGEBYSCORE', P .. 'live', '-inf', now, 'LIMIT', 0, 100)) do
  forget(old)
end
local per_client = tonumber(ARGV[6])
local network = ARGV[12]
local ck, nk = P .. 'c:' .. client, P .. 'n:' .. network
-- How many of these sessions are live; the expired are forgotten on the way.
local function count_live(key)
  local count = 0
  for _, other in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    if live(other, now) then count = count + 1 else redis.call('ZREM', key, other) end
  end
  return count
end
if per_client > 0 then
  if redis.call('ZCARD', ck) >= per_client and count_live(ck) >= per_client then return 2 end
  local per_network = tonumber(ARGV[13])
  if redis.call('ZCARD', nk) >= per_network and count_live(nk) >= per_network then return 3 end
end
if redis.call('ZCARD', P .. 'live') >= tonumber(ARGV[5]) then
  local top = redis.call('ZREVRANGE', P .. 'ns', 0, 0, 'WITHSCORES')
  if #top == 0 or tonumber(top[2]) < redis.call('ZCARD', nk) + 2 then return 1 end
  local victim, least
  for _, other in ipairs(redis.call('ZRANGE', P .. 'n:' .. top[1], 0, -1)) do
    local g = redis.call('HMGET', P .. 's:' .. other, 'in_use', 'lease', 'idle_since')
    if g[1] then
      -- A lease still running means a stream is attached somewhere.
      local rank = (g[1] == '1' and 2 or 0) + (tonumber(g[2]) > now and 1 or 0)
      local key = rank * 1e15 + tonumber(g[3])
      if not least or key < least then victim, least = other, key end
    end
  end
  if not victim then return 1 end
  forget(victim)
  -- An announcement with no events: the victim's streams read, find it gone and end.
  redis.call('PUBLISH', P .. 'appended', victim .. ' 0\n')
end
redis.call('HSET', P .. 's:' .. id, 'token', token, 'client', client, 'network', network,
  'answer', ARGV[9],
  'answer_bytes', 0, 'next_event', 0, 'next_hook', 0, 'log_bytes', 0, 'tokens', ARGV[10],
  'refilled', now, 'in_use', 0, 'was_attached', 0, 'lease', now + tonumber(ARGV[11]),
  'idle_since', now)
redis.call('SET', P .. 't:' .. token, id)
redis.call('ZADD', ck, now, id)
redis.call('ZADD', nk, now, id)
redis.call('ZINCRBY', P .. 'ns', 1, network)
touch(id, now, tonumber(ARGV[7]), tonumber(ARGV[8]))
return 0
",
            ),
            // ARGV: id, now. Returns the hook token of a live session, or nil.
            find: script(
                r"
if not live(ARGV[1], tonumber(ARGV[2])) then return false end
return redis.call('HGET', P .. 's:' .. ARGV[1], 'token')
",
            ),
            // ARGV: id, after, max. Returns {newest, oldest, frames...} after `after`, or {-1}
            // when the session is gone.
            read: script(
                r"
local e = P .. 'e:' .. ARGV[1]
local next_event = redis.call('HGET', P .. 's:' .. ARGV[1], 'next_event')
if not next_event then return {-1} end
local newest = tonumber(next_event)
local first = redis.call('XRANGE', e, '-', '+', 'COUNT', 1)[1]
local oldest = newest + 1
if first then oldest = tonumber(string.match(first[1], '^(%d+)')) end
local out = {newest, oldest}
local start = math.max(tonumber(ARGV[2]), oldest - 1)
if tonumber(ARGV[3]) > 0 and start < newest then
  for _, entry in ipairs(redis.call('XRANGE', e, (start + 1) .. '-0', '+', 'COUNT', ARGV[3])) do
    table.insert(out, entry[2][2])
  end
end
return out
",
            ),
            // ARGV: id, now, lease, idle, unused. Returns 1, or 0 when the session is gone.
            attach: script(
                r"
local s = P .. 's:' .. ARGV[1]
if redis.call('EXISTS', s) == 0 then return 0 end
local now = tonumber(ARGV[2])
if redis.call('HGET', s, 'was_attached') == '1' then redis.call('HSET', s, 'in_use', 1) end
redis.call('HSET', s, 'was_attached', 1, 'lease', now + tonumber(ARGV[3]))
touch(ARGV[1], now, tonumber(ARGV[4]), tonumber(ARGV[5]))
return 1
",
            ),
            // ARGV: id, now, idle, unused.
            detach: script(
                r"
local s = P .. 's:' .. ARGV[1]
if redis.call('EXISTS', s) == 0 then return 0 end
redis.call('HSET', s, 'lease', ARGV[2], 'idle_since', ARGV[2])
touch(ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
return 1
",
            ),
            // ARGV: now, lease, idle, unused, ids...
            renew: script(
                r"
local now = tonumber(ARGV[1])
for i = 5, #ARGV do
  local s = P .. 's:' .. ARGV[i]
  if redis.call('EXISTS', s) == 1 then
    redis.call('HSET', s, 'lease', now + tonumber(ARGV[2]))
    touch(ARGV[i], now, tonumber(ARGV[3]), tonumber(ARGV[4]))
  end
end
return 1
",
            ),
            // ARGV: token, now, rate, burst, idle, unused, admit (1, or 0 to only find the
            // session). The session with this hook token, and the hook admitted under its rate
            // limit with an id and the answer settings, in one round trip. Returns {-1} (no live
            // session), {2, id} (found, not admitted), {0, id, seconds to wait} or
            // {1, id, hook id, answer}.
            admit: script(
                r"
local id = redis.call('GET', P .. 't:' .. ARGV[1])
if not id then return {-1} end
local s = P .. 's:' .. id
local now = tonumber(ARGV[2])
local f = redis.call('HMGET', s, 'tokens', 'refilled', 'in_use', 'answer', 'lease', 'idle_since')
if not f[5] then return {-1} end
-- Live, as `live` would say (its score is this expiry), without reading it.
if expires(f[5], f[6], f[3], tonumber(ARGV[5]), tonumber(ARGV[6])) <= now then
  forget(id)
  return {-1}
end
if ARGV[7] ~= '1' then return {2, id} end
local rate = tonumber(ARGV[3])
if rate > 0 then
  local elapsed = math.max(0, now - tonumber(f[2])) / 1000
  local tokens = math.min(tonumber(f[1]) + elapsed * rate, math.max(1, tonumber(ARGV[4])))
  if tokens < 1 then
    redis.call('HSET', s, 'tokens', tostring(tokens), 'refilled', now)
    return {0, id, tostring((1 - tokens) / rate)}
  end
  redis.call('HSET', s, 'tokens', tostring(tokens - 1), 'refilled', now)
end
local hook = redis.call('HINCRBY', s, 'next_hook', 1)
if f[3] ~= '1' then
  redis.call('HSET', s, 'in_use', 1)
  touch(id, now, tonumber(ARGV[5]), tonumber(ARGV[6]))
end
return {1, id, hook, f[4]}
",
            ),
            // ARGV: id, answer, its bytes, max total, client share, network share. Returns 1,
            // 0 (gone) or -2 (memory full).
            set_answer: script(
                r"
local s = P .. 's:' .. ARGV[1]
if redis.call('EXISTS', s) == 0 then return 0 end
local delta = tonumber(ARGV[3]) - tonumber(redis.call('HGET', s, 'answer_bytes'))
if delta > 0 and not room(ARGV[1], delta, shares_of(ARGV[4], ARGV)) then return -2 end
charge(ARGV[1], delta)
redis.call('HSET', s, 'answer', ARGV[2], 'answer_bytes', ARGV[3])
return 1
",
            ),
            // ARGV: id, name, json, response reserve, max total, max events, max bytes, hook id,
            // waiting instance (empty: not waiting), client share, network share. Returns 1, 0
            // (gone) or -2 (memory full).
            log_hook: script(
                r"
local id = ARGV[1]
if not log_of(id) then return 0 end
local reserve = tonumber(ARGV[4])
local size = #frame_of(0, ARGV[2], ARGV[3]) + 20 + reserve
if not room(id, size, shares_of(ARGV[5], ARGV)) then return -2 end
charge(id, reserve)
if ARGV[9] ~= '' then redis.call('HSET', P .. 'w:' .. id, ARGV[8], ARGV[9]) end
-- Read after making room, which may have evicted from this very log.
append(id, log_of(id), {{ARGV[2], ARGV[3]}}, tonumber(ARGV[6]), tonumber(ARGV[7]))
return 1
",
            ),
            // ARGV: id, hook's name, its json, answer's name, its json, max total, max events,
            // max bytes, client share, network share. A hook answered at once: it and its answer logged together, announced
            // once. Returns 1, 0 (gone) or -2 (memory full).
            log_answered: script(
                r"
local id = ARGV[1]
if not log_of(id) then return 0 end
local size = #frame_of(0, ARGV[2], ARGV[3]) + #frame_of(0, ARGV[4], ARGV[5]) + 40
if not room(id, size, shares_of(ARGV[6], ARGV)) then return -2 end
append(id, log_of(id), {{ARGV[2], ARGV[3]}, {ARGV[4], ARGV[5]}}, tonumber(ARGV[7]),
  tonumber(ARGV[8]))
return 1
",
            ),
            // ARGV: id, name, json, reserved, max events, max bytes, hook id.
            finish: script(
                r"
local id = ARGV[1]
redis.call('HDEL', P .. 'w:' .. id, ARGV[7])
local log = log_of(id)
if not log then return 0 end
charge(id, -tonumber(ARGV[4]))
append(id, log, {{ARGV[2], ARGV[3]}}, tonumber(ARGV[5]), tonumber(ARGV[6]))
return 1
",
            ),
            // ARGV: id, hook id, reserve, max total, message, client share, network share.
            // Returns 1 (handed over), 0 (not waiting, or its instance is gone) or -2 (memory
            // full).
            respond: script(
                r"
local w = P .. 'w:' .. ARGV[1]
local instance = redis.call('HGET', w, ARGV[2])
if not instance then return 0 end
if not room(ARGV[1], tonumber(ARGV[3]), shares_of(ARGV[4], ARGV)) then return -2 end
redis.call('HDEL', w, ARGV[2])
-- Nobody subscribed: the instance holding the hook is gone, and so is its sender's connection.
if redis.call('PUBLISH', P .. 'answers:' .. instance, ARGV[5]) == 0 then return 0 end
charge(ARGV[1], tonumber(ARGV[3]))
return 1
",
            ),
            // ARGV: id, hook id, reserved: a hook that ended without being answered.
            release: script(
                r"
redis.call('HDEL', P .. 'w:' .. ARGV[1], ARGV[2])
if redis.call('EXISTS', P .. 's:' .. ARGV[1]) == 1 then charge(ARGV[1], -tonumber(ARGV[3])) end
return 1
",
            ),
        }
    }
}

/// A page answer on its way to the instance holding the hook.
#[derive(Serialize, Deserialize)]
struct AnswerMessage {
    session: String,
    hook: u64,
    answer: PageAnswer,
}

/// At most this many of a session's newest events are kept on an instance for its streams
/// there (and never more than the log keeps), so a stream that is caught up sends new events
/// from the subscription's message without reading them from Redis.
const RECENT_EVENTS: usize = 128;
const RECENT_BYTES: usize = 64 * 1024;

/// This instance's part of a session with a handle here: its streams' wake-up and its newest
/// events as announced.
#[derive(Default)]
struct SessionLocal {
    appended: Notify,
    recent: Mutex<Recent>,
}

/// A session's newest events as the subscription delivered them: frames `first`, `first + 1`,
/// … with no gap, always a suffix of the session's log (trimmed by the same rule to smaller
/// bounds). Emptied when announcements may have been missed.
#[derive(Default)]
struct Recent {
    first: u64,
    frames: VecDeque<Bytes>,
    bytes: usize,
}

impl Recent {
    /// Events after `after` (at most `max`), when this holds every one of them; `None` sends
    /// the stream to Redis.
    fn after(&self, after: u64, max: usize) -> Option<Batch> {
        let newest = (self.first + self.frames.len() as u64).checked_sub(1)?;
        if self.frames.is_empty() || after + 1 < self.first || after > newest {
            return None;
        }
        let skip = usize::try_from(after + 1 - self.first).ok()?;
        let take = self.frames.len().saturating_sub(skip).min(max);
        let frames = match take {
            0 => Bytes::new(),
            1 => self.frames[skip].clone(),
            _ => {
                let chosen = self.frames.range(skip..skip + take);
                let mut joined = Vec::with_capacity(chosen.clone().map(Bytes::len).sum());
                for frame in chosen {
                    joined.extend_from_slice(frame);
                }
                joined.into()
            }
        };
        Some(Batch {
            dropped: None,
            frames,
            last_id: after + take as u64,
            ended: false,
        })
    }

    /// Adds announced frames starting at event `first`; a gap (an announcement missed) starts
    /// over from these. Then drops the oldest (never the newest) beyond the bounds.
    fn add(&mut self, first: u64, frames: Vec<Bytes>, (max_events, max_bytes): (usize, usize)) {
        if self.frames.is_empty() || first != self.first + self.frames.len() as u64 {
            self.clear();
            self.first = first;
        }
        for frame in frames {
            self.bytes += frame.len();
            self.frames.push_back(frame);
        }
        while self.frames.len() > 1 && (self.frames.len() > max_events || self.bytes > max_bytes) {
            let Some(oldest) = self.frames.pop_front() else {
                break;
            };
            self.bytes -= oldest.len();
            self.first += 1;
        }
    }

    fn clear(&mut self) {
        self.frames.clear();
        self.bytes = 0;
    }
}

/// Parses an append's announcement, `<session> <first id> <sizes...>\n<frames>`.
fn announced(payload: Vec<u8>) -> Option<(String, u64, Vec<Bytes>)> {
    let payload = Bytes::from(payload);
    let end = payload.iter().position(|&byte| byte == b'\n')?;
    let head = std::str::from_utf8(&payload[..end]).ok()?;
    let mut words = head.split(' ');
    let session = words.next()?.to_owned();
    let first = words.next()?.parse().ok()?;
    let mut at = end + 1;
    let mut frames = Vec::new();
    for size in words {
        let size: usize = size.parse().ok()?;
        let end = at.checked_add(size).filter(|&end| end <= payload.len())?;
        frames.push(payload.slice(at..end));
        at = end;
    }
    Some((session, first, frames))
}

/// What this instance holds locally: the wake-ups and newest events of its streams' sessions,
/// and its waiting hooks.
struct Local {
    /// Sessions with a handle on this instance (streams wait on these), by id.
    sessions: Mutex<HashMap<String, Weak<SessionLocal>>>,
    /// The bounds of each session's `Recent`.
    recent_bounds: (usize, usize),
    /// Streams attached on this instance, by session: their leases are renewed.
    attached: Mutex<HashMap<String, usize>>,
    /// Hooks whose HTTP request this instance holds, waiting for the page.
    waiting: Mutex<HashMap<(String, u64), oneshot::Sender<PageAnswer>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every update under these locks is a single map operation; a poisoned lock is still whole.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Local {
    fn new(limits: &Limits) -> Local {
        Local {
            sessions: Mutex::default(),
            recent_bounds: (
                RECENT_EVENTS.min(limits.max_events),
                RECENT_BYTES.min(limits.max_buffer_bytes),
            ),
            attached: Mutex::default(),
            waiting: Mutex::default(),
        }
    }

    /// An append announced: its events join the session's recent ones here, and its streams
    /// here wake.
    fn appended(&self, payload: Vec<u8>) {
        let Some((id, first, frames)) = announced(payload) else {
            tracing::warn!("the relay's Redis store announced an append it cannot read");
            self.wake_all();
            return;
        };
        let Some(session) = lock(&self.sessions).get(&id).and_then(Weak::upgrade) else {
            return;
        };
        lock(&session.recent).add(first, frames, self.recent_bounds);
        session.appended.notify_waiters();
    }

    /// Announcements may have been missed: every stream reads from Redis again.
    fn wake_all(&self) {
        let all: Vec<Arc<SessionLocal>> = lock(&self.sessions)
            .values()
            .filter_map(Weak::upgrade)
            .collect();
        for session in all {
            lock(&session.recent).clear();
            session.appended.notify_waiters();
        }
    }

    /// Handles what the subscription delivers. Runs on the connection's task: it must not block.
    fn push(&self, info: PushInfo) {
        match info.kind {
            PushKind::Message => {
                let mut data = info.data.into_iter();
                let (Some(Value::BulkString(channel)), Some(Value::BulkString(payload))) =
                    (data.next(), data.next())
                else {
                    return;
                };
                if channel == APPENDED.as_bytes() {
                    self.appended(payload);
                } else if let Ok(message) = serde_json::from_slice::<AnswerMessage>(&payload) {
                    let waiting = lock(&self.waiting).remove(&(message.session, message.hook));
                    if let Some(sender) = waiting {
                        let _ = sender.send(message.answer);
                    }
                }
            }
            // The subscription dropped or came back: appends may have gone unannounced, so
            // every stream reads again (and ends with an error while Redis is away).
            PushKind::Disconnection | PushKind::Subscribe => self.wake_all(),
            _ => {}
        }
    }
}

/// A Redis address, `redis://HOST:PORT[/DB]`, checked when parsed.
#[derive(Debug, Clone)]
pub struct RedisUrl(redis::ConnectionInfo);

impl std::str::FromStr for RedisUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<RedisUrl, String> {
        if !text.starts_with("redis://") {
            return Err(format!(
                "a Redis address is redis://HOST:PORT[/DB], got {text:?}"
            ));
        }
        redis::IntoConnectionInfo::into_connection_info(text)
            .map(RedisUrl)
            .map_err(|error| format!("{text:?} is not a Redis address: {error}"))
    }
}

impl RedisUrl {
    /// The address, for another user of the same Redis (the sandbox's worlds).
    pub fn connection_info(&self) -> &redis::ConnectionInfo {
        &self.0
    }
}

/// Sessions in Redis, shared by every instance pointed at the same Redis.
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    commands: ConnectionManager,
    /// The subscription; RESP3 pushes arrive at `Local::push`.
    subscription: ConnectionManager,
    limits: Arc<Limits>,
    /// This instance's name, where page answers for its hooks are published.
    instance: String,
    local: Arc<Local>,
    scripts: Scripts,
    /// The bytes one client and one network may hold (`Limits::byte_shares`).
    shares: (usize, usize),
    /// The clock every instance shares: Unix milliseconds, read through tokio's clock (so tests
    /// with a paused clock control expiry and rates as with the memory store).
    origin: (Instant, u64),
}

fn failed(error: &redis::RedisError) -> StoreError {
    tracing::warn!(%error, "the relay's Redis store failed");
    StoreError
}

fn unavailable(error: redis::RedisError) -> RelayError {
    failed(&error);
    RelayError::StoreUnavailable
}

impl RedisStore {
    /// A store on the Redis at `url`. Connections are made lazily and re-made after Redis
    /// restarts, so this works while Redis is down (requests then get 503). Spawns this
    /// instance's subscription and lease renewal on the current tokio runtime.
    pub fn new(url: &RedisUrl, limits: Limits) -> RedisStore {
        // RESP3 delivers the subscription's messages as pushes on a connection that the
        // connection manager re-makes and re-subscribes after a Redis restart.
        let info = url.0.clone();
        let resp3 = info
            .redis_settings()
            .clone()
            .set_protocol(redis::ProtocolVersion::RESP3);
        let client = redis::Client::open(info.set_redis_settings(resp3))
            .expect("a parsed address opens a client");
        // A request fails fast while Redis is away (a hook gets 503 at once rather than after
        // a long series of retries); the next request tries to reconnect.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(10))
            .set_max_delay(Duration::from_millis(100))
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(2)));
        let commands = ConnectionManager::new_lazy_with_config(client.clone(), config.clone())
            .expect("a lazy connection needs no server");
        let local = Arc::new(Local::new(&limits));
        let pushes = Arc::clone(&local);
        let subscription = ConnectionManager::new_lazy_with_config(
            client,
            config
                .set_push_sender(move |info| {
                    pushes.push(info);
                    Ok::<(), std::convert::Infallible>(())
                })
                .set_automatic_resubscription(),
        )
        .expect("RESP3 with a push sender may resubscribe");
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(0));
        let shares = limits.byte_shares();
        let inner = Arc::new(Inner {
            commands,
            subscription,
            limits: Arc::new(limits),
            instance: random_id(),
            local,
            scripts: Scripts::new(),
            shares,
            origin: (Instant::now(), epoch),
        });
        tokio::spawn(maintain(Arc::downgrade(&inner)));
        RedisStore { inner }
    }

    pub(crate) async fn open(
        &self,
        client: Client,
        now: Instant,
    ) -> Result<Arc<RedisSession>, Refused> {
        let inner = &self.inner;
        let limits = &inner.limits;
        let id = random_id();
        let token = random_id();
        let answer = serde_json::to_string(&Answer::initial(limits)).expect("answers serialize");
        let opened: i64 = inner
            .scripts
            .open
            .arg(&id)
            .arg(&token)
            .arg(client.key())
            .arg(inner.millis(now))
            .arg(limits.max_sessions)
            .arg(limits.max_sessions_per_client)
            .arg(millis(limits.idle_expiry))
            .arg(millis(limits.unused_expiry))
            .arg(answer)
            .arg(limits.hook_burst)
            .arg(millis(LEASE))
            .arg(client.network().key())
            .arg(limits.sessions_per_network())
            .invoke_async(&mut inner.commands.clone())
            .await
            .map_err(|error| Refused::Store(failed(&error)))?;
        match opened {
            0 => Ok(inner.handle(id, token)),
            1 => Err(Refused::Open(OpenRefused::Full)),
            3 => Err(Refused::Open(OpenRefused::NetworkFull)),
            _ => Err(Refused::Open(OpenRefused::ClientFull)),
        }
    }

    /// Wakes every stream on this instance.
    pub(crate) fn wake_all(&self) {
        self.inner.local.wake_all();
    }

    pub(crate) async fn find(
        &self,
        id: &str,
        now: Instant,
    ) -> Result<Option<Arc<RedisSession>>, StoreError> {
        let token = self.lookup(&self.inner.scripts.find, id, now).await?;
        Ok(token.map(|token| self.inner.handle(id.to_owned(), token)))
    }

    /// The live session with this hook token and, with `admit`, the hook admitted under its
    /// rate limit (an id and the answer settings) or the wait before another is: one round trip.
    pub(crate) async fn admit_hook(
        &self,
        token: &str,
        now: Instant,
        admit: bool,
    ) -> Result<Option<(Arc<RedisSession>, Option<Admission>)>, StoreError> {
        let inner = &self.inner;
        let limits = &inner.limits;
        let values: Vec<Value> = inner
            .scripts
            .admit
            .arg(token)
            .arg(inner.millis(now))
            .arg(limits.hooks_per_second)
            .arg(limits.hook_burst)
            .arg(millis(limits.idle_expiry))
            .arg(millis(limits.unused_expiry))
            .arg(u8::from(admit))
            .invoke_async(&mut inner.commands.clone())
            .await
            .map_err(|error| failed(&error))?;
        let text = |value: Option<&Value>| match value {
            Some(Value::BulkString(bytes)) => std::str::from_utf8(bytes).ok().map(str::to_owned),
            _ => None,
        };
        let Some(Value::Int(found)) = values.first() else {
            return Err(StoreError);
        };
        if *found < 0 {
            return Ok(None);
        }
        let id = text(values.get(1)).ok_or(StoreError)?;
        let session = inner.handle(id, token.to_owned());
        let admission = match (found, values.get(2)) {
            (2, _) => None,
            (1, Some(Value::Int(hook_id))) => {
                let answer = text(values.get(3))
                    .and_then(|json| serde_json::from_str(&json).ok())
                    .ok_or(StoreError)?;
                Some(Ok((
                    u64::try_from(*hook_id).map_err(|_| StoreError)?,
                    answer,
                )))
            }
            (0, wait) => {
                let seconds: f64 = text(wait).and_then(|s| s.parse().ok()).unwrap_or(1.0);
                Some(Err(Duration::from_secs_f64(seconds.max(0.0))))
            }
            _ => return Err(StoreError),
        };
        Ok(Some((session, admission)))
    }

    /// Sessions alive (expired ones not yet forgotten included) and the bytes all keep.
    pub(crate) async fn stats(&self) -> Result<(usize, usize), StoreError> {
        let (sessions, bytes): (usize, Option<usize>) = redis::pipe()
            .cmd("ZCARD")
            .arg("wd:live")
            .cmd("GET")
            .arg("wd:total")
            .query_async(&mut self.inner.commands.clone())
            .await
            .map_err(|error| failed(&error))?;
        Ok((sessions, bytes.unwrap_or(0)))
    }

    /// The other half of a live session's (id, token) pair, found from one half by `script`.
    async fn lookup(
        &self,
        script: &Script,
        key: &str,
        now: Instant,
    ) -> Result<Option<String>, StoreError> {
        script
            .arg(key)
            .arg(self.inner.millis(now))
            .invoke_async(&mut self.inner.commands.clone())
            .await
            .map_err(|error| failed(&error))
    }
}

/// Subscribes (again, until it succeeds), pings the subscription so a lost connection is re-made,
/// and renews the leases of the sessions streamed here; ends with the store.
async fn maintain(inner: Weak<Inner>) {
    let mut subscribed = false;
    let mut since_renewal = Duration::ZERO;
    loop {
        let Some(inner) = inner.upgrade() else {
            return;
        };
        let mut subscription = inner.subscription.clone();
        if subscribed {
            let pinged: Result<String, _> = redis::cmd("PING").query_async(&mut subscription).await;
            // Appends may go unannounced until the subscription is back: every stream reads
            // now, and ends with an error event if Redis is still away.
            if pinged.is_err() {
                inner.local.wake_all();
            }
        } else {
            let answers = format!("wd:answers:{}", inner.instance);
            subscribed = subscription.subscribe(&[APPENDED, &answers]).await.is_ok();
            if subscribed {
                inner.local.wake_all();
            }
        }
        since_renewal += PING_EVERY;
        if since_renewal >= RENEW_EVERY {
            since_renewal = Duration::ZERO;
            inner.renew().await;
        }
        drop(inner);
        tokio::time::sleep(PING_EVERY).await;
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl Inner {
    fn millis(&self, now: Instant) -> u64 {
        self.origin.1 + millis(now.saturating_duration_since(self.origin.0))
    }

    /// This instance's handle on a session, sharing the wake-up of its other handles here.
    fn handle(self: &Arc<Self>, id: String, token: String) -> Arc<RedisSession> {
        let mut sessions = lock(&self.local.sessions);
        let local = match sessions.get(&id).and_then(Weak::upgrade) {
            Some(local) => local,
            None => {
                let local = Arc::new(SessionLocal::default());
                sessions.insert(id.clone(), Arc::downgrade(&local));
                local
            }
        };
        Arc::new(RedisSession {
            id,
            hook_token: token,
            store: Arc::clone(self),
            local,
        })
    }

    async fn renew(&self) {
        let ids: Vec<String> = lock(&self.local.attached).keys().cloned().collect();
        if ids.is_empty() {
            return;
        }
        let mut invocation = self.scripts.renew.prepare_invoke();
        invocation
            .arg(self.millis(Instant::now()))
            .arg(millis(LEASE))
            .arg(millis(self.limits.idle_expiry))
            .arg(millis(self.limits.unused_expiry));
        for id in &ids {
            invocation.arg(id);
        }
        let renewed: Result<i64, _> = invocation.invoke_async(&mut self.commands.clone()).await;
        if let Err(error) = renewed {
            failed(&error);
        }
    }
}

/// This instance's handle on one session in Redis.
pub(crate) struct RedisSession {
    id: String,
    hook_token: String,
    store: Arc<Inner>,
    /// Shared by this instance's handles on the session; fed by the subscription.
    local: Arc<SessionLocal>,
}

impl Drop for RedisSession {
    fn drop(&mut self) {
        let mut sessions = lock(&self.store.local.sessions);
        // The last handle here (the map's entry is weak): forget the entry.
        if Arc::strong_count(&self.local) == 1 {
            sessions.remove(&self.id);
        }
    }
}

impl RedisSession {
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    pub(crate) fn hook_token(&self) -> &str {
        &self.hook_token
    }

    fn connection(&self) -> ConnectionManager {
        self.store.commands.clone()
    }

    pub(crate) async fn newest_id(&self) -> Result<u64, StoreError> {
        Ok(self.read_after(0, 0).await?.last_id)
    }

    pub(crate) async fn read_after(&self, after: u64, max: usize) -> Result<Batch, StoreError> {
        // A stream that is caught up sends what the subscription announced; one that is behind
        // (or whose session's announcements were missed) reads from Redis.
        if max > 0
            && let Some(batch) = lock(&self.local.recent).after(after, max)
        {
            return Ok(batch);
        }
        let values: Vec<Value> = self
            .store
            .scripts
            .read
            .arg(&self.id)
            .arg(after.min(i64::MAX as u64))
            .arg(max)
            .invoke_async(&mut self.connection())
            .await
            .map_err(|error| failed(&error))?;
        if let Some(Value::Int(-1)) = values.first() {
            // The session is gone (it gave its slot to another, or expired): nothing more comes.
            return Ok(Batch {
                dropped: None,
                frames: Bytes::new(),
                last_id: after,
                ended: true,
            });
        }
        let number = |value: Option<&Value>| match value {
            Some(Value::Int(n)) => u64::try_from(*n).ok(),
            _ => None,
        };
        let (Some(newest), Some(oldest)) = (number(values.first()), number(values.get(1))) else {
            tracing::warn!("the relay's Redis store answered a read with {values:?}");
            return Err(StoreError);
        };
        if max == 0 {
            return Ok(Batch {
                dropped: None,
                frames: bytes::Bytes::new(),
                last_id: newest,
                ended: false,
            });
        }
        let dropped = (after < oldest - 1).then(|| (oldest - 1 - after, oldest));
        let start = after.max(oldest - 1);
        let mut frames = Vec::new();
        let mut last_id = start;
        for value in &values[2..] {
            if let Value::BulkString(frame) = value {
                frames.extend_from_slice(frame);
                last_id += 1;
            }
        }
        Ok(Batch {
            dropped,
            frames: frames.into(),
            last_id,
            ended: false,
        })
    }

    pub(crate) fn appended(&self) -> Notified<'_> {
        self.local.appended.notified()
    }

    pub(crate) async fn attach(self: &Arc<Self>) -> Result<Attached, StoreError> {
        let store = &self.store;
        let attached: i64 = store
            .scripts
            .attach
            .arg(&self.id)
            .arg(store.millis(Instant::now()))
            .arg(millis(LEASE))
            .arg(millis(store.limits.idle_expiry))
            .arg(millis(store.limits.unused_expiry))
            .invoke_async(&mut self.connection())
            .await
            .map_err(|error| failed(&error))?;
        if attached == 0 {
            return Err(StoreError);
        }
        *lock(&store.local.attached)
            .entry(self.id.clone())
            .or_default() += 1;
        Ok(Attached(Arc::clone(self)))
    }

    pub(crate) async fn answer(&self) -> Result<Answer, StoreError> {
        let json: Option<String> = redis::cmd("HGET")
            .arg(format!("wd:s:{}", self.id))
            .arg("answer")
            .query_async(&mut self.connection())
            .await
            .map_err(|error| failed(&error))?;
        json.and_then(|json| serde_json::from_str(&json).ok())
            .ok_or(StoreError)
    }

    pub(crate) async fn set_answer(&self, answer: Answer) -> Result<(), RelayError> {
        let json = serde_json::to_string(&answer).expect("answers serialize");
        let set: i64 = self
            .store
            .scripts
            .set_answer
            .arg(&self.id)
            .arg(json)
            .arg(answer.heap_bytes())
            .arg(self.store.limits.max_total_buffer_bytes)
            .arg(self.store.shares.0)
            .arg(self.store.shares.1)
            .invoke_async(&mut self.connection())
            .await
            .map_err(unavailable)?;
        match set {
            1 => Ok(()),
            -2 => Err(RelayError::MemoryFull),
            _ => Err(RelayError::UnknownSession),
        }
    }

    pub(crate) async fn log_hook(
        self: &Arc<Self>,
        hook_id: u64,
        hook: Event,
        response_size: usize,
        wait: bool,
    ) -> Result<Pending, RelayError> {
        let store = &self.store;
        let limits = &store.limits;
        // Registered before the hook is logged, so an answer given the instant the page sees
        // the hook finds it.
        let receiver = wait.then(|| {
            let (sender, receiver) = oneshot::channel();
            lock(&store.local.waiting).insert((self.id.clone(), hook_id), sender);
            receiver
        });
        let mut pending = Pending {
            session: Arc::clone(self),
            hook_id,
            reserved: 0,
            receiver,
            done: false,
        };
        let logged: i64 = store
            .scripts
            .log_hook
            .arg(&self.id)
            .arg(hook.name)
            .arg(&hook.json)
            .arg(response_size)
            .arg(limits.max_total_buffer_bytes)
            .arg(limits.max_events)
            .arg(limits.max_buffer_bytes)
            .arg(hook_id)
            .arg(if wait { store.instance.as_str() } else { "" })
            .arg(store.shares.0)
            .arg(store.shares.1)
            .invoke_async(&mut self.connection())
            .await
            .map_err(unavailable)?;
        match logged {
            1 => {
                pending.reserved = response_size;
                Ok(pending)
            }
            -2 => Err(RelayError::MemoryFull),
            _ => Err(RelayError::UnknownHookSession),
        }
    }

    /// Logs a hook and the answer it gets at once, together (one round trip, one wake-up).
    pub(crate) async fn log_answered(
        &self,
        hook: Event,
        response: Event,
    ) -> Result<(), RelayError> {
        let limits = &self.store.limits;
        let logged: i64 = self
            .store
            .scripts
            .log_answered
            .arg(&self.id)
            .arg(hook.name)
            .arg(&hook.json)
            .arg(response.name)
            .arg(&response.json)
            .arg(limits.max_total_buffer_bytes)
            .arg(limits.max_events)
            .arg(limits.max_buffer_bytes)
            .arg(self.store.shares.0)
            .arg(self.store.shares.1)
            .invoke_async(&mut self.connection())
            .await
            .map_err(unavailable)?;
        match logged {
            1 => Ok(()),
            -2 => Err(RelayError::MemoryFull),
            _ => Err(RelayError::UnknownHookSession),
        }
    }

    pub(crate) async fn answer_from_page(
        &self,
        hook_id: u64,
        answer: PageAnswer,
    ) -> Result<bool, RelayError> {
        let reserve = response_event_size(&answer.content_type, &answer.body);
        let message = AnswerMessage {
            session: self.id.clone(),
            hook: hook_id,
            answer,
        };
        let handed: i64 = self
            .store
            .scripts
            .respond
            .arg(&self.id)
            .arg(hook_id)
            .arg(reserve)
            .arg(self.store.limits.max_total_buffer_bytes)
            .arg(serde_json::to_string(&message).expect("answers serialize"))
            .arg(self.store.shares.0)
            .arg(self.store.shares.1)
            .invoke_async(&mut self.connection())
            .await
            .map_err(unavailable)?;
        match handed {
            1 => Ok(true),
            -2 => Err(RelayError::MemoryFull),
            _ => Ok(false),
        }
    }
}

/// A stream's hold on its session; when this instance's last stream of it ends, the session's
/// idle clock starts.
pub(crate) struct Attached(Arc<RedisSession>);

impl Drop for Attached {
    fn drop(&mut self) {
        let session = Arc::clone(&self.0);
        let store = &session.store;
        let mut attached = lock(&store.local.attached);
        let Some(count) = attached.get_mut(&session.id) else {
            return;
        };
        *count -= 1;
        if *count > 0 {
            return;
        }
        attached.remove(&session.id);
        drop(attached);
        let now = store.millis(Instant::now());
        // Drop cannot wait; without a runtime (shutting down) the lease runs out by itself.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let store = &session.store;
                let detached: Result<i64, _> = store
                    .scripts
                    .detach
                    .arg(&session.id)
                    .arg(now)
                    .arg(millis(store.limits.idle_expiry))
                    .arg(millis(store.limits.unused_expiry))
                    .invoke_async(&mut session.connection())
                    .await;
                if let Err(error) = detached {
                    failed(&error);
                }
            });
        }
    }
}

/// A hook logged in Redis and not yet answered.
pub(crate) struct Pending {
    session: Arc<RedisSession>,
    hook_id: u64,
    /// Bytes charged for its answer: the default's, plus the page's once it answered.
    reserved: usize,
    receiver: Option<oneshot::Receiver<PageAnswer>>,
    done: bool,
}

impl Pending {
    pub(crate) async fn page_answer(&mut self, deadline: Duration) -> Option<PageAnswer> {
        let receiver = self.receiver.take()?;
        let answer = tokio::time::timeout(deadline, receiver).await.ok()?.ok()?;
        self.reserved += response_event_size(&answer.content_type, &answer.body);
        Some(answer)
    }

    pub(crate) async fn finish(mut self, response: Event) -> Result<(), StoreError> {
        self.done = true;
        let session = &self.session;
        let limits = &session.store.limits;
        let finished: Result<i64, _> = session
            .store
            .scripts
            .finish
            .arg(&session.id)
            .arg(response.name)
            .arg(&response.json)
            .arg(self.reserved)
            .arg(limits.max_events)
            .arg(limits.max_buffer_bytes)
            .arg(self.hook_id)
            .invoke_async(&mut session.connection())
            .await;
        finished.map(drop).map_err(|error| failed(&error))
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        let session = &self.session;
        lock(&session.store.local.waiting).remove(&(session.id.clone(), self.hook_id));
        if self.done {
            return;
        }
        // The hook's sender left before it was answered: give back what was charged for its
        // answer and stop waiting for the page.
        let session = Arc::clone(session);
        let (hook_id, reserved) = (self.hook_id, self.reserved);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let released: Result<i64, _> = session
                    .store
                    .scripts
                    .release
                    .arg(&session.id)
                    .arg(hook_id)
                    .arg(reserved)
                    .invoke_async(&mut session.connection())
                    .await;
                if let Err(error) = released {
                    failed(&error);
                }
            });
        }
    }
}

#[cfg(test)]
mod recent_tests {
    use super::*;

    fn frame(n: u64) -> Bytes {
        Bytes::from(format!("id: {n}\nevent: hook\ndata: {{}}\n\n"))
    }

    #[test]
    fn an_announcement_is_read_back_as_its_frames() {
        let (a, b) = (frame(7), frame(8));
        let mut payload = format!("abc 7 {} {}\n", a.len(), b.len()).into_bytes();
        payload.extend_from_slice(&a);
        payload.extend_from_slice(&b);
        let (session, first, frames) = announced(payload).expect("readable");
        assert_eq!((session.as_str(), first), ("abc", 7));
        assert_eq!(frames, vec![a, b]);
        assert!(announced(b"abc 7 99\nshort".to_vec()).is_none());
    }

    #[test]
    fn recent_events_serve_only_a_stream_they_cover_in_full() {
        let mut recent = Recent::default();
        assert!(recent.after(0, 10).is_none(), "nothing announced yet");
        recent.add(3, vec![frame(3), frame(4)], (3, 1 << 20));
        // Before event 3 the stream may have missed events 1 and 2: Redis says.
        assert!(recent.after(1, 10).is_none());
        let batch = recent.after(2, 10).expect("covered");
        assert_eq!((batch.last_id, batch.frames.len()), (4, 2 * frame(3).len()));
        let batch = recent.after(4, 10).expect("caught up");
        assert_eq!((batch.last_id, batch.frames.len()), (4, 0));
        assert!(recent.after(5, 10).is_none(), "past what was announced");
        // At most `max`, and the bound on events drops the oldest.
        recent.add(5, vec![frame(5), frame(6)], (3, 1 << 20));
        assert_eq!(recent.first, 4);
        assert!(recent.after(2, 10).is_none());
        assert_eq!(recent.after(3, 2).expect("covered").last_id, 5);
        // A gap (an announcement missed) starts over.
        recent.add(9, vec![frame(9)], (3, 1 << 20));
        assert!(recent.after(6, 10).is_none());
        assert_eq!(recent.after(8, 10).expect("covered").frames, frame(9));
        // The bound on bytes keeps the newest however large.
        recent.add(10, vec![frame(10), frame(11)], (3, 1));
        assert_eq!((recent.first, recent.frames.len()), (11, 1));
        recent.clear();
        assert!(recent.after(11, 10).is_none());
    }
}
