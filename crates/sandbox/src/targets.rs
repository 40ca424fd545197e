//! Where the sandbox's webhooks may go.
//!
//! On a learner's laptop a webhook goes wherever its integration says: their own server on
//! localhost is the point. On a public host that would let anyone with a sandbox account make the
//! server fetch any address it can reach (its loopback, its private network) and read the answer
//! back as `hook-response`. Started for the public, the sandbox therefore sends webhooks only to
//! this server's own relay, delivered over loopback, plus the hosts the operator names.
//!
//! URLs are compared after parsing, so `..` segments, percent-encoded dots, user-info and default
//! ports cannot make one URL look like another.

use reqwest::Url;

/// The webhook destinations a sandbox allows.
#[derive(Debug, Clone, Default)]
pub enum WebhookTargets {
    /// Any `http://` URL (a learner's own machine).
    #[default]
    Anywhere,
    /// Only the server's own relay and the hosts listed.
    Only {
        relay: Option<OwnRelay>,
        hosts: Vec<HostPattern>,
    },
}

/// The server's own relay: hook URLs as the public sees them, and where the sandbox sends them
/// instead (the server's own listener, so neither TLS nor the public network is involved).
#[derive(Debug, Clone)]
pub struct OwnRelay {
    /// `https://hooks.example.com/relay/hook/`
    pub public: Url,
    /// `http://127.0.0.1:8080/relay/hook/`
    pub local: Url,
}

/// An allowed host: `example.com` (any port), `example.com:8443`, or `*.example.com` (any
/// subdomain, not the domain itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    host: String,
    wildcard: bool,
    port: Option<u16>,
}

impl std::str::FromStr for HostPattern {
    type Err = String;

    fn from_str(text: &str) -> Result<HostPattern, String> {
        let text = text.trim().to_ascii_lowercase();
        let (host, port) = match text.rsplit_once(':') {
            // A bare IPv6 address: its colons are not a port.
            Some((before, _)) if !before.ends_with(']') && before.contains(':') => {
                (text.as_str(), None)
            }
            Some((host, port)) => (
                host,
                Some(
                    port.parse::<u16>()
                        .map_err(|_| format!("{text:?}: the port must be a number"))?,
                ),
            ),
            None => (text.as_str(), None),
        };
        let (host, wildcard) = match host.strip_prefix("*.") {
            Some(rest) => (rest, true),
            None => (host, false),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() || host.contains(['/', '*', '@', '?', '#', ' ']) {
            return Err(format!(
                "{text:?} is not a host pattern (example.com, example.com:8443 or *.example.com)"
            ));
        }
        Ok(HostPattern {
            host: host.to_owned(),
            wildcard,
            port,
        })
    }
}

impl HostPattern {
    fn matches(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host_matches = if self.wildcard {
            host.strip_suffix(&self.host)
                .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.'))
        } else {
            host == self.host
        };
        host_matches
            && self
                .port
                .is_none_or(|port| url.port_or_known_default() == Some(port))
    }
}

impl WebhookTargets {
    /// The URL to send a webhook for `url` to, or why it may not be sent, in the words the
    /// learner sees as the `hook-error`.
    pub(crate) fn resolve(&self, url: &str) -> Result<Url, String> {
        let parsed =
            Url::parse(url).map_err(|error| format!("error invalid URL {url:?}: {error}"))?;
        let WebhookTargets::Only { relay, hosts } = self else {
            return Ok(parsed);
        };
        if let Some(relay) = relay {
            if let Some(rest) = under(&parsed, &relay.public) {
                let mut local = relay.local.clone();
                local.set_path(&format!("{}{rest}", relay.local.path()));
                local.set_query(parsed.query());
                return Ok(local);
            }
        }
        if hosts.iter().any(|pattern| pattern.matches(&parsed)) {
            return Ok(parsed);
        }
        Err(format!(
            "error this sandbox sends webhooks only to its own relay{}; the server's operator can \
             allow more hosts with --sandbox-webhook-allow",
            relay
                .as_ref()
                .map(|relay| format!(" ({}…)", relay.public))
                .unwrap_or_default()
        ))
    }
}

/// The rest of `url`'s path when it lies under `prefix` (same scheme, host and port).
fn under<'a>(url: &'a Url, prefix: &Url) -> Option<&'a str> {
    if url.scheme() != prefix.scheme()
        || url.host() != prefix.host()
        || url.port_or_known_default() != prefix.port_or_known_default()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return None;
    }
    url.path().strip_prefix(prefix.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(hosts: &[&str]) -> WebhookTargets {
        WebhookTargets::Only {
            relay: Some(OwnRelay {
                public: Url::parse("https://hooks.example.com/relay/hook/").unwrap(),
                local: Url::parse("http://127.0.0.1:8080/relay/hook/").unwrap(),
            }),
            hosts: hosts.iter().map(|h| h.parse().unwrap()).collect(),
        }
    }

    #[test]
    fn anywhere_sends_as_written() {
        let url = WebhookTargets::Anywhere
            .resolve("http://127.0.0.1:9/x")
            .unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:9/x");
    }

    #[test]
    fn the_own_relay_is_reached_over_loopback() {
        let url = only(&[])
            .resolve("https://hooks.example.com/relay/hook/abc/more?x=1")
            .unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8080/relay/hook/abc/more?x=1"
        );
        let url = only(&[])
            .resolve("https://HOOKS.example.com:443/relay/hook/abc")
            .unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/relay/hook/abc");
    }

    #[test]
    fn everything_else_is_refused_however_it_is_spelled() {
        let targets = only(&[]);
        for url in [
            "http://127.0.0.1:8080/relay/hook/abc",
            "https://hooks.example.com/relay/hook/../../sandbox/_sim/reset",
            "https://hooks.example.com/relay/hook/%2e%2e/%2e%2e/sandbox/_sim/reset",
            "https://hooks.example.com/relay/hooks/abc",
            "https://hooks.example.com:8443/relay/hook/abc",
            "http://hooks.example.com/relay/hook/abc",
            "https://user@hooks.example.com/relay/hook/abc",
            "https://hooks.example.com.evil.test/relay/hook/abc",
            "http://127.0.0.2:9/",
        ] {
            let error = targets.resolve(url).unwrap_err();
            assert!(error.contains("only to its own relay"), "{url}: {error}");
        }
    }

    #[test]
    fn host_patterns_allow_what_they_name() {
        let targets = only(&["api.example.org", "*.example.net", "127.0.0.3:9000"]);
        for allowed in [
            "http://api.example.org/x",
            "http://api.example.org:81/x",
            "http://a.example.net/",
            "http://a.b.example.net/",
            "http://127.0.0.3:9000/",
        ] {
            assert!(targets.resolve(allowed).is_ok(), "{allowed}");
        }
        for refused in [
            "http://example.net/",
            "http://xexample.net/",
            "http://other.example.org/",
            "http://127.0.0.3:9001/",
        ] {
            assert!(targets.resolve(refused).is_err(), "{refused}");
        }
        assert!("*/x".parse::<HostPattern>().is_err());
        assert!("host:port".parse::<HostPattern>().is_err());
        assert_eq!(
            "[::1]:80".parse::<HostPattern>(),
            Ok(HostPattern {
                host: "::1".to_owned(),
                wildcard: false,
                port: Some(80)
            })
        );
    }
}
