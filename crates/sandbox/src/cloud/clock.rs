//! The sandbox's clock: milliseconds since the Unix epoch, the time every stamp the cloud keeps or
//! sends is in (events, deliveries, tokens' and binaries' dates).

use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
