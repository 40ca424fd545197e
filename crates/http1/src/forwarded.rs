//! What a reverse proxy in front reports about a request: the client's address (`X-Forwarded-For`
//! or RFC 7239's `Forwarded`) and the other forwarding parameters. Believed only when the
//! operator says a proxy sets them; otherwise any client could pick them, to escape a per-client
//! bound. A trusted proxy appends to these headers (or replaces them), so the last entry is the
//! one it wrote, and anything a client sent before it is ignored. Hand-written rather than a
//! crate: reading the last entry of a header is a few lines, and no small, kept crate does only
//! that.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;

use crate::PeerAddr;

/// The client's address: what the proxy reports when trusted, else the connection's peer; `None`
/// on a server that records no peer.
pub fn client_address(
    headers: &HeaderMap,
    peer: Option<PeerAddr>,
    trust_forwarded: bool,
) -> Option<IpAddr> {
    let reported = trust_forwarded
        .then(|| last_entry(headers, "x-forwarded-for").or_else(|| parameter(headers, "for")))
        .flatten()
        .and_then(ip);
    reported.or(peer.map(|PeerAddr(address)| address.ip()))
}

/// The last comma-separated entry over every field of the header `name`: the one the proxy
/// wrote.
pub fn last_entry<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let field = headers.get_all(name).iter().next_back()?.to_str().ok()?;
    let entry = field.rsplit(',').next()?.trim();
    (!entry.is_empty()).then_some(entry)
}

/// A parameter (`for`, `host`, `proto`) of the last element of RFC 7239's `Forwarded`.
pub fn parameter<'a>(headers: &'a HeaderMap, key: &str) -> Option<&'a str> {
    last_entry(headers, "forwarded")?
        .split(';')
        .find_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case(key)
                .then(|| value.trim().trim_matches('"'))
        })
}

/// An address as proxies write it: bare, with a port, or bracketed IPv6 with or without one.
fn ip(text: &str) -> Option<IpAddr> {
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .or_else(|| text.strip_prefix('[')?.strip_suffix(']')?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(peer: Option<&str>, headers: &[(&'static str, &str)], trust: bool) -> Option<IpAddr> {
        let peer = peer.map(|peer| PeerAddr(peer.parse().expect("a socket address")));
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(*name, value.parse().expect("a header value"));
        }
        client_address(&map, peer, trust)
    }

    fn addr(text: &str) -> Option<IpAddr> {
        Some(text.parse().expect("an address"))
    }

    #[test]
    fn the_client_is_the_peer_unless_a_trusted_proxy_says_otherwise() {
        let peer = Some("127.0.0.9:4000");
        let forwarded_for = [("x-forwarded-for", "192.0.2.1, 198.51.100.7")];
        assert_eq!(from(peer, &forwarded_for, false), addr("127.0.0.9"));
        assert_eq!(from(peer, &forwarded_for, true), addr("198.51.100.7"));
        let rfc = [(
            "forwarded",
            "for=192.0.2.1, for=\"[2001:db8::1]:80\";proto=https",
        )];
        assert_eq!(from(peer, &rfc, true), addr("2001:db8::1"));
        // X-Forwarded-For wins over Forwarded; an unreadable report falls back to the peer.
        let both = [
            ("forwarded", "for=192.0.2.1"),
            ("x-forwarded-for", "203.0.113.5"),
        ];
        assert_eq!(from(peer, &both, true), addr("203.0.113.5"));
        assert_eq!(
            from(peer, &[("x-forwarded-for", "nonsense")], true),
            addr("127.0.0.9")
        );
        assert_eq!(from(None, &[], true), None);
    }

    #[test]
    fn the_last_entry_over_every_field_is_the_proxys() {
        let mut map = HeaderMap::new();
        map.append("x-forwarded-for", "192.0.2.1".parse().unwrap());
        map.append("x-forwarded-for", "192.0.2.2, 192.0.2.3 ".parse().unwrap());
        assert_eq!(last_entry(&map, "x-forwarded-for"), Some("192.0.2.3"));
        map.append("x-forwarded-for", "192.0.2.4,".parse().unwrap());
        assert_eq!(
            last_entry(&map, "x-forwarded-for"),
            None,
            "an empty last entry"
        );
    }
}
