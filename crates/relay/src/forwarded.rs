//! Where a request came from: the origin hook URLs are built on, and the client address sessions
//! are counted against. Both come from the request itself (its `Host` header, the connection's
//! peer) unless the operator says a proxy in front sets the forwarding headers
//! (`Settings::trust_forwarded`): otherwise any client could pick them, to make the hook URLs it is
//! handed point elsewhere or to escape the per-client session cap.
//!
//! A trusted proxy appends to these headers (or replaces them), so the relay reads the last entry,
//! the one the proxy wrote (`webhook_demo_http::forwarded`, which the sandbox reads too).

use std::net::IpAddr;

use axum::http::{HeaderMap, header, uri::Authority};
use webhook_demo_http::forwarded::{last_entry, parameter};

use crate::error::RelayError;

/// The client's address: what the proxy reports when trusted, else the connection's peer.
pub(crate) use webhook_demo_http::forwarded::client_address;

/// The URL prefix the relay is reachable at, ending in `/`: the public URL when the operator gave
/// one, else the origin the request came to (`http://` and its `Host`, or what a trusted proxy
/// reports), plus the path the relay is mounted at. Without a public URL or a trusted proxy, the
/// `Host` must be a loopback one or one of `hosts`: any page could otherwise be handed hook URLs
/// on a name of its choosing (a rebound DNS name, an address on the learner's network that the
/// cloud cannot reach), so any other is refused, saying how to serve it.
pub(crate) fn relay_base(
    public_url: Option<&str>,
    trust_forwarded: bool,
    hosts: &[String],
    headers: &HeaderMap,
    path: &str,
) -> Result<String, RelayError> {
    let mount = path.strip_suffix("stream").unwrap_or("/");
    let origin = match public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let reported = |name, key| {
                trust_forwarded
                    .then(|| last_entry(headers, name).or_else(|| parameter(headers, key)))
                    .flatten()
            };
            let host = reported("x-forwarded-host", "host")
                .filter(|host| is_host(host))
                .or_else(|| {
                    let host = headers.get(header::HOST)?.to_str().ok()?;
                    is_host(host).then_some(host)
                })
                .unwrap_or("localhost");
            let allowed = trust_forwarded
                || is_loopback(host)
                || hosts
                    .iter()
                    .any(|allowed| allowed.eq_ignore_ascii_case(host));
            if !allowed {
                return Err(RelayError::ForeignHost {
                    host: host.to_owned(),
                });
            }
            let scheme = reported("x-forwarded-proto", "proto")
                .filter(|proto| *proto == "https" || *proto == "http")
                .unwrap_or("http");
            format!("{scheme}://{host}")
        }
    };
    Ok(format!("{origin}{mount}"))
}

/// `localhost`, an address in 127.0.0.0/8 or `[::1]`, with or without a port.
fn is_loopback(host: &str) -> bool {
    let Ok(authority) = host.parse::<Authority>() else {
        return false;
    };
    let name = authority.host();
    name.eq_ignore_ascii_case("localhost")
        || name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

/// A host and optional port, nothing that would change the URL's shape (no user, path or space).
fn is_host(text: &str) -> bool {
    !text.contains('@') && text.parse::<Authority>().is_ok()
}
