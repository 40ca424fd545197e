//! A reordering proxy in front of the server, on another loopback address (`127.0.0.2`): it
//! forwards every request as it is (its `Host` included, so the relay builds hook URLs that come
//! back through the proxy) and streams every answer back at once, except what the event streams
//! whose path contains a held pattern send, which waits, in order, until the check releases it.
//! The page's two streams can so be made to deliver their news in any order a network could.

use std::sync::Arc;

use anyhow::{Context, Result};
use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use http_body_util::BodyExt;
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

/// The proxy, serving until dropped (dropping it also ends the streams it holds back).
pub struct Proxy {
    /// The page's address through the proxy (`http://127.0.0.2:<port>/`).
    pub url: String,
    held: watch::Sender<Vec<String>>,
    serving: JoinHandle<()>,
}

/// What each proxied request needs.
struct Forward {
    client: Client<HttpConnector, Body>,
    /// `http://127.0.0.1:<port>`, the server's address without a trailing slash.
    upstream: String,
    held: watch::Receiver<Vec<String>>,
}

impl Proxy {
    /// Starts a proxy to the server at `upstream` (`http://127.0.0.1:<port>/`).
    pub async fn start(upstream: &str) -> Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.2:0")
            .await
            .context("binding the proxy on 127.0.0.2")?;
        let url = format!("http://{}/", listener.local_addr()?);
        let (held, watching) = watch::channel(Vec::new());
        let forward = Arc::new(Forward {
            client: Client::builder(TokioExecutor::new()).build_http(),
            upstream: upstream.trim_end_matches('/').to_owned(),
            held: watching,
        });
        let app = Router::new().fallback(forward_one).with_state(forward);
        let serving = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                panic!("the proxy failed: {error}");
            }
        });
        Ok(Proxy { url, held, serving })
    }

    /// From now on, what the event streams whose path contains `path` send waits until
    /// `release(path)`; streams opened later are held back too.
    pub fn hold(&self, path: &str) {
        self.held.send_modify(|held| held.push(path.to_owned()));
    }

    /// Sends on what was held back for `path`, in the order it came, and holds nothing more.
    pub fn release(&self, path: &str) {
        self.held.send_modify(|held| held.retain(|p| p != path));
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.serving.abort();
    }
}

/// Forwards one request to the server and streams its answer back, an event stream's chunks each
/// waiting while its path is held.
async fn forward_one(State(forward): State<Arc<Forward>>, mut request: Request) -> Response {
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let Ok(uri) = format!("{}{path}", forward.upstream).parse::<Uri>() else {
        return (StatusCode::BAD_REQUEST, "not a path").into_response();
    };
    *request.uri_mut() = uri;
    hop_by_hop(request.headers_mut());
    let response = match forward.client.request(request).await {
        Ok(response) => response,
        Err(error) => return (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    };
    let (mut parts, body) = response.into_parts();
    hop_by_hop(&mut parts.headers);
    let streams = parts
        .headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"text/event-stream"));
    if !streams {
        return Response::from_parts(parts, Body::new(body));
    }
    // One chunk at a time: read it, wait while the path is held, pass it on. Order is kept
    // because nothing is read past a chunk that waits.
    let chunks =
        futures_util::stream::unfold((body, forward.held.clone()), move |(mut body, mut held)| {
            let path = path.clone();
            async move {
                let chunk = loop {
                    match body.frame().await? {
                        Ok(frame) => match frame.into_data() {
                            Ok(data) => break Ok(data),
                            Err(_trailers) => continue,
                        },
                        Err(error) => break Err(error),
                    }
                };
                // The proxy gone (its sender dropped), the stream ends.
                let open = held
                    .wait_for(|held| !held.iter().any(|p| path.contains(p.as_str())))
                    .await
                    .is_ok();
                if !open {
                    return None;
                }
                Some((chunk, (body, held)))
            }
        });
    Response::from_parts(parts, Body::from_stream(chunks))
}

/// Drops the headers that describe one connection, not the message.
fn hop_by_hop(headers: &mut HeaderMap) {
    for name in [
        header::CONNECTION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
        header::PROXY_AUTHORIZATION,
    ] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}
