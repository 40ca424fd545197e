//! Who may call the sandbox, and from which pages.
//!
//! Its sign-in is public (`sandbox@example.com` / `sandbox`) and on a learner's machine its
//! webhooks may reach anything on localhost, so a web site the learner happens to visit must not
//! be able to drive it through their browser. Three rules keep it to the tutorial and the
//! learner's own tools:
//!
//! - **Host.** Every request must be addressed to this server: by IP address, as `localhost`, or by
//!   the host of `--public-url`. A page whose DNS name an attacker re-points at 127.0.0.1 (DNS
//!   rebinding) would be same-origin with the sandbox; its requests name that host and are refused.
//! - **CORS.** The Particle API is offered to pages on this server's own origin and on loopback
//!   origins (a learner's own page on `localhost:3000`), not to every origin as Particle's real
//!   API is: a page elsewhere can neither read a token nor send a preflighted request.
//! - **`/_sim/…`** answers no other origin at all: no CORS, and a request whose `Origin` or
//!   `Sec-Fetch-Site` says it comes from another site's page is refused, so even a request that
//!   needs no preflight (a form posting to `_sim/reset`) does nothing.
//!
//! A client with no `Host` (a test driving the router in process) cannot be rebound and passes.

use std::net::IpAddr;

use axum::{
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header, request::Parts},
    middleware::Next,
    response::{IntoResponse, Response},
};
use reqwest::Url;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

use crate::{Root, error::ApiError};

/// Refuses a request addressed to a host name that is not this server's.
pub(crate) async fn own_host_only(
    State(shared): State<Root>,
    request: Request,
    next: Next,
) -> Response {
    let host = host(&request);
    match host.filter(|host| !is_own_host(host, shared.settings.public_host.as_deref())) {
        None => next.run(request).await,
        Some(host) => forbidden(format!(
            "The sandbox answers only requests addressed to this server by IP address, \
             localhost or its public URL, not {host:?}"
        )),
    }
}

/// Refuses a request to a control endpoint that another site's page sent.
pub(crate) async fn own_pages_only(
    State(shared): State<Root>,
    request: Request,
    next: Next,
) -> Response {
    match foreign_page(&request, shared.settings.public_host.as_deref()) {
        None => next.run(request).await,
        Some(why) => forbidden(why),
    }
}

/// Why the request comes from another site's page, if it does.
fn foreign_page(request: &Request, public_host: Option<&str>) -> Option<String> {
    let text = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    };
    if matches!(text("sec-fetch-site"), Some("cross-site" | "same-site")) {
        return Some("The sandbox's control endpoints answer only this server's own pages".into());
    }
    let origin = text(header::ORIGIN.as_str())?;
    let authority = parse_origin(origin).map(|url| authority(&url));
    let own = |host: Option<&str>| {
        host.zip(authority.as_deref())
            .is_some_and(|(host, authority)| host.eq_ignore_ascii_case(authority))
    };
    // A proxy in front may rewrite `Host`; the public URL's host is this server's too.
    (!own(host(request)) && !own(public_host)).then(|| {
        format!(
            "The sandbox's control endpoints answer only this server's own pages, not {origin:?}"
        )
    })
}

/// CORS for the Particle API: the methods and headers Particle's clients use, for pages on
/// loopback origins and on the public URL's host.
pub(crate) fn api_cors(public_host: Option<String>) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(
            move |origin: &HeaderValue, _: &Parts| {
                let Some(origin) = origin.to_str().ok().and_then(parse_origin) else {
                    return false;
                };
                is_loopback(&origin)
                    || public_host
                        .as_deref()
                        .is_some_and(|public| public.eq_ignore_ascii_case(&authority(&origin)))
            },
        ))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
        .allow_headers(AllowHeaders::list([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
        ]))
}

fn forbidden(why: impl Into<String>) -> Response {
    ApiError::new(StatusCode::FORBIDDEN, "forbidden", why).into_response()
}

fn host(request: &Request) -> Option<&str> {
    request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()))
}

/// An `http://` or `https://` origin, parsed: scheme, host and port and nothing else. Matching
/// its text instead would take `http://127.0.0.1:8080.evil.example` for a loopback origin.
fn parse_origin(origin: &str) -> Option<Url> {
    let url = Url::parse(origin).ok()?;
    (matches!(url.scheme(), "http" | "https")
        && url
            .origin()
            .ascii_serialization()
            .eq_ignore_ascii_case(origin))
    .then_some(url)
}

/// `host[:port]` (a `Host` header), parsed as a URL's authority would be: `None` unless it is
/// exactly a host and an optional numeric port.
fn parse_host(host: &str) -> Option<Url> {
    if host.is_empty() || host.contains(['/', '?', '#', '@', '\\']) {
        return None;
    }
    Url::parse(&format!("http://{host}/")).ok()
}

/// `host[:port]` of a parsed origin, the port only when it is not the scheme's default.
fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// An IP literal, `localhost`, or the public URL's host: names an attacker's DNS cannot point at
/// this server behind the browser's back.
pub(crate) fn is_own_host(host: &str, public_host: Option<&str>) -> bool {
    public_host.is_some_and(|public| public.eq_ignore_ascii_case(host))
        || parse_host(host).is_some_and(|url| is_localhost(&url) || ip(&url).is_some())
}

/// `localhost` or a loopback address, with any port.
fn is_loopback(url: &Url) -> bool {
    is_localhost(url) || ip(url).is_some_and(|ip| ip.is_loopback())
}

fn is_localhost(url: &Url) -> bool {
    url.host_str() == Some("localhost")
}

/// The URL's host when it is an IP address (the URL parser has already normalised it).
fn ip(url: &Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    host.strip_prefix('[')
        .and_then(|bracketed| bracketed.strip_suffix(']'))
        .unwrap_or(host)
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_hosts_are_addresses_localhost_and_the_public_host() {
        for own in [
            "127.0.0.1:8080",
            "localhost",
            "LOCALHOST:1",
            "[::1]:8080",
            "192.0.2.7",
        ] {
            assert!(is_own_host(own, None), "{own}");
        }
        for foreign in [
            "evil.example",
            "evil.example:8080",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "[evil]:80",
            "127.0.0.1:18500.evil.example",
            "127.0.0.1/evil",
        ] {
            assert!(!is_own_host(foreign, None), "{foreign}");
        }
        assert!(is_own_host(
            "Tutorial.example.com",
            Some("tutorial.example.com")
        ));
    }

    #[test]
    fn loopback_origins_are_loopback_addresses_and_localhost() {
        let loopback = |origin: &str| parse_origin(origin).is_some_and(|url| is_loopback(&url));
        assert!(loopback("http://localhost:3000"));
        assert!(loopback("http://127.0.0.2:9"));
        assert!(loopback("https://[::1]:5173"));
        assert!(!loopback("http://192.0.2.7:80"));
        assert!(!loopback("http://evil.example"));
        assert!(!loopback("http://127.0.0.1:18500.evil.example"));
        assert!(!loopback("http://localhost:3000@evil.example"));
        assert!(!loopback("file://localhost"));
    }
}
