//! `GET /metrics`: the relay's metrics for the operator's Prometheus, and who may read them.
//!
//! Metrics say how busy the relay is and how often it refuses, which is the operator's business,
//! not the public's. So `/metrics` is served on its own listener when `--metrics-addr` is given
//! (the main listener then answers 404 for it), and asks for `Authorization: Bearer TOKEN` when
//! `--metrics-token` is given. A public server (`--public-url`) with neither answers only clients
//! on its own host that did not come through a proxy: a proxy in front connects from loopback
//! too, but says whom it forwards for. On a laptop `/metrics` answers anyone, as before.

use std::{fmt, str::FromStr};

use axum::{
    Extension, Router,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use subtle::ConstantTimeEq;
use webhook_demo_http::PeerAddr;
use webhook_demo_relay::Relay;

/// The `--metrics-token` a scraper must present. Its `Debug` leaves the token out, so printing
/// the options never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsToken(String);

impl FromStr for MetricsToken {
    type Err = String;

    /// Visible ASCII only (what a `Bearer` credential may hold), and long enough not to guess.
    fn from_str(text: &str) -> Result<MetricsToken, String> {
        if text.len() < MIN_TOKEN_LENGTH {
            return Err(format!(
                "a metrics token must be at least {MIN_TOKEN_LENGTH} characters long"
            ));
        }
        if !text.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err("a metrics token may hold only visible ASCII characters".to_owned());
        }
        Ok(MetricsToken(text.to_owned()))
    }
}

/// Sixteen random characters are beyond guessing at any rate a server answers.
const MIN_TOKEN_LENGTH: usize = 16;

impl fmt::Debug for MetricsToken {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("MetricsToken(…)")
    }
}

/// Who a listener shows `/metrics` to.
#[derive(Clone, Debug)]
pub(crate) enum Access {
    /// Everyone (a laptop, or the operator's own metrics listener).
    Anyone,
    /// Clients on this host, not through a proxy (a public server with neither flag).
    Local,
    /// Clients presenting the token.
    Token(MetricsToken),
    /// No one: the metrics have a listener of their own.
    Elsewhere,
}

impl Access {
    /// Who the main listener shows `/metrics` to.
    pub(crate) fn main(token: Option<&MetricsToken>, own_listener: bool, public: bool) -> Access {
        match (own_listener, token) {
            (true, _) => Access::Elsewhere,
            (false, Some(token)) => Access::Token(token.clone()),
            (false, None) if public => Access::Local,
            (false, None) => Access::Anyone,
        }
    }

    /// Who the metrics listener (`--metrics-addr`) shows them to: the operator chose where it
    /// listens.
    pub(crate) fn own_listener(token: Option<&MetricsToken>) -> Access {
        token.map_or(Access::Anyone, |token| Access::Token(token.clone()))
    }
}

/// The `/metrics` route, for `access`.
pub(crate) fn router(relay: Relay, access: Access) -> Router {
    Router::new().route("/metrics", get(metrics).with_state((relay, access)))
}

/// The router of the metrics listener: `/metrics` and nothing else.
pub(crate) fn listener_router(relay: Relay, access: Access) -> Router {
    router(relay, access).fallback(|| async { not_found() })
}

async fn metrics(
    State((relay, access)): State<(Relay, Access)>,
    peer: Option<Extension<PeerAddr>>,
    headers: HeaderMap,
) -> Response {
    match &access {
        Access::Anyone => {}
        Access::Elsewhere => return not_found(),
        Access::Local if is_local(peer.map(|Extension(peer)| peer), &headers) => {}
        Access::Local => {
            return (
                StatusCode::FORBIDDEN,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "/metrics answers only this host on a public server; scrape it from elsewhere \
                 with --metrics-addr or --metrics-token\n",
            )
                .into_response();
        }
        Access::Token(token) if presents(&headers, token) => {}
        Access::Token(_) => {
            return (
                StatusCode::UNAUTHORIZED,
                [
                    (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                    (header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\""),
                ],
                "/metrics needs Authorization: Bearer with the server's --metrics-token\n",
            )
                .into_response();
        }
    }
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    (
        [(header::CONTENT_TYPE, content_type)],
        relay.metrics().await,
    )
        .into_response()
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Not found\n",
    )
        .into_response()
}

/// A client on this host that came straight here: a proxy on this host connects from loopback
/// too, but names the client it forwards for.
fn is_local(peer: Option<PeerAddr>, headers: &HeaderMap) -> bool {
    let forwarded = ["forwarded", "x-forwarded-for", "x-real-ip"]
        .iter()
        .any(|name| headers.contains_key(*name));
    peer.is_some_and(|PeerAddr(peer)| peer.ip().to_canonical().is_loopback()) && !forwarded
}

/// Whether the request's one `Authorization` field is `Bearer` with `token`, compared in constant
/// time so the answer's timing tells nothing of how much of a guess was right.
fn presents(headers: &HeaderMap, token: &MetricsToken) -> bool {
    let mut fields = headers.get_all(header::AUTHORIZATION).iter();
    let (Some(field), None) = (fields.next(), fields.next()) else {
        return false;
    };
    let Some((scheme, credentials)) = field.as_bytes().split_first_chunk::<7>() else {
        return false;
    };
    scheme.eq_ignore_ascii_case(b"Bearer ") && bool::from(credentials.ct_eq(token.0.as_bytes()))
}
