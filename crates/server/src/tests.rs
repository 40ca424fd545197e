//! In-process tests of the server's own routes: health, config, static files and their headers.

use std::{fs, path::PathBuf, time::Duration};

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use webhook_demo_sandbox::WorldsMode;

use crate::{Options, app};

async fn get(
    app: &Router,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let (parts, body) = response.into_parts();
    (
        parts.status,
        parts.headers,
        body.collect().await.expect("body").to_bytes().to_vec(),
    )
}

/// A directory of assets unique to this test, removed on drop.
struct Assets(PathBuf);

impl Assets {
    fn new(name: &str) -> Assets {
        let dir =
            std::env::temp_dir().join(format!("webhook-demo-assets-{name}-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("temp dir");
        fs::write(dir.join("index.html"), "<!doctype html><title>t</title>").expect("write");
        fs::write(dir.join("app_bg.wasm"), b"\0asm\x01\0\0\0").expect("write");
        fs::write(dir.join("app.js"), "export default 1;\n".repeat(200)).expect("write");
        Assets(dir)
    }
}

impl Drop for Assets {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn healthz_answers() {
    let (status, _, body) = get(&app(&Options::default()), "/healthz", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).expect("json"),
        json!({"ok": true})
    );
}

#[tokio::test]
async fn config_offers_sandbox_relay_public_url_and_the_sandboxs_keepalive() {
    let options = Options {
        public_url: Some("https://hooks.example.com/".into()),
        ..Options::default()
    };
    let (status, _, body) = get(&app(&options), "/config.json", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).expect("json"),
        json!({"sandbox": "/sandbox", "relay": "/relay/", "publicUrl": "https://hooks.example.com",
               "sandboxIdleMinutes": 30, "sandboxKeepaliveMs": 9000})
    );
}

/// On a laptop the sandbox is one world, which does not expire; asked for worlds of their own,
/// the page is told how long one lasts.
#[tokio::test]
async fn config_says_how_long_a_world_of_ones_own_lasts() {
    let config = |options: &Options| {
        let app = app(options);
        async move {
            let (_, _, body) = get(&app, "/config.json", &[]).await;
            serde_json::from_slice::<Value>(&body).expect("json")["sandboxIdleMinutes"].clone()
        }
    };
    assert_eq!(config(&Options::default()).await, Value::Null);
    let mut options = Options {
        sandbox_worlds: Some(WorldsMode::PerSignIn),
        ..Options::default()
    };
    options.sandbox.world_limits.idle = Duration::from_secs(5 * 60);
    assert_eq!(config(&options).await, json!(5));
}

#[tokio::test]
async fn no_sandbox_removes_it_from_config_and_routes() {
    let app = app(&Options {
        no_sandbox: true,
        ..Options::default()
    });
    let (_, _, body) = get(&app, "/config.json", &[]).await;
    assert_eq!(
        serde_json::from_slice::<Value>(&body).expect("json"),
        json!({"sandbox": null, "relay": "/relay/", "publicUrl": null, "sandboxIdleMinutes": null})
    );
    let (status, _, _) = get(&app, "/sandbox/v1/user", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn assets_have_mime_types_and_a_csp() {
    let assets = Assets::new("mime");
    let app = app(&Options {
        assets: Some(assets.0.clone()),
        ..Options::default()
    });
    for (path, mime) in [
        ("/", "text/html"),
        ("/app_bg.wasm", "application/wasm"),
        ("/app.js", "text/javascript"),
    ] {
        let (status, headers, _) = get(&app, path, &[]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(headers[header::CONTENT_TYPE], mime, "{path}");
        let csp = headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .expect("ascii");
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval';"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");
    }
}

#[tokio::test]
async fn assets_are_compressed_as_asked() {
    let assets = Assets::new("compress");
    let app = app(&Options {
        assets: Some(assets.0.clone()),
        ..Options::default()
    });
    let (_, plain_headers, plain) = get(&app, "/app.js", &[]).await;
    assert!(plain_headers.get(header::CONTENT_ENCODING).is_none());
    // A browser that takes both gets brotli, encoded once (not gzip on top of it).
    for (accepted, encoding) in [("gzip", "gzip"), ("br", "br"), ("gzip, deflate, br", "br")] {
        let (status, headers, body) = get(&app, "/app.js", &[("accept-encoding", accepted)]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            headers
                .get_all(header::CONTENT_ENCODING)
                .iter()
                .collect::<Vec<_>>(),
            [encoding]
        );
        assert!(
            body.len() < plain.len() / 4,
            "{encoding}: {} of {} bytes",
            body.len(),
            plain.len()
        );
    }
}

#[tokio::test]
async fn asset_paths_cannot_leave_the_directory() {
    let assets = Assets::new("traversal");
    let app = app(&Options {
        assets: Some(assets.0.join("sub")),
        ..Options::default()
    });
    fs::create_dir_all(assets.0.join("sub")).expect("sub dir");
    for path in ["/../index.html", "/%2e%2e/index.html", "/missing.js"] {
        let (status, _, _) = get(&app, path, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}

/// A symbolic link in `--assets DIR` that leads out of it, to a file or through a folder, serves
/// nothing (the finding: it served whatever it pointed at); one that stays inside still serves.
#[cfg(unix)]
#[tokio::test]
async fn asset_symlinks_cannot_leave_the_directory() {
    let assets = Assets::new("symlinks");
    let outside = Assets::new("symlinks-outside");
    fs::write(outside.0.join("secret.txt"), "outside").expect("write");
    fs::write(outside.0.join("secret.txt.gz"), "outside").expect("write");
    let link = |target: &std::path::Path, name: &str| {
        std::os::unix::fs::symlink(target, assets.0.join(name)).expect("symlink");
    };
    link(&outside.0.join("secret.txt"), "leak.txt");
    link(&outside.0.join("secret.txt.gz"), "index.js.gz");
    link(&outside.0, "out");
    link(&assets.0.join("app.js"), "alias.js");
    let app = app(&Options {
        assets: Some(assets.0.clone()),
        ..Options::default()
    });
    for path in ["/leak.txt", "/out/secret.txt"] {
        let (status, _, body) = get(&app, path, &[]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(!body.starts_with(b"outside"), "{path}");
    }
    // A compressed sibling that leads out is not sent either.
    let (_, _, body) = get(&app, "/index.js", &[("accept-encoding", "gzip")]).await;
    assert!(!body.starts_with(b"outside"));
    let (status, _, body) = get(&app, "/alias.js", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with(b"export default 1;"));
}

#[tokio::test]
async fn a_precompressed_sibling_is_sent_to_gzip_only_clients() {
    let assets = Assets::new("precompressed");
    fs::write(assets.0.join("app.js.gz"), b"pretend-zopfli-output").expect("write");
    let app = app(&Options {
        assets: Some(assets.0.clone()),
        ..Options::default()
    });
    let (status, headers, body) = get(&app, "/app.js", &[("accept-encoding", "gzip")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    assert_eq!(headers[header::CONTENT_TYPE], "text/javascript");
    assert_eq!(body, b"pretend-zopfli-output");
    // Brotli wins when offered; gzip refused with q=0 is not sent.
    let (_, headers, _) = get(&app, "/app.js", &[("accept-encoding", "gzip, br")]).await;
    assert_eq!(headers[header::CONTENT_ENCODING], "br");
    // With a `.br` sibling, brotli clients get it as the build made it.
    fs::write(assets.0.join("app.js.br"), b"pretend-brotli-output").expect("write");
    let (_, headers, body) = get(&app, "/app.js", &[("accept-encoding", "gzip, br")]).await;
    assert_eq!(headers[header::CONTENT_ENCODING], "br");
    assert_eq!(body, b"pretend-brotli-output");
    let (_, headers, body) = get(&app, "/app.js", &[("accept-encoding", "gzip")]).await;
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
    assert_eq!(body, b"pretend-zopfli-output");
    let (_, headers, body) = get(&app, "/app.js", &[("accept-encoding", "gzip;q=0")]).await;
    assert!(headers.get(header::CONTENT_ENCODING).is_none());
    assert!(body.starts_with(b"export default 1;"));
}

#[tokio::test]
async fn a_returning_browser_revalidates_without_downloading_again() {
    let assets = Assets::new("revalidate");
    fs::write(assets.0.join("app.js.br"), b"pretend-brotli-output").expect("write");
    let app = app(&Options {
        assets: Some(assets.0.clone()),
        ..Options::default()
    });
    for accepted in ["br", ""] {
        let (status, headers, _) = get(&app, "/app.js", &[("accept-encoding", accepted)]).await;
        assert_eq!(status, StatusCode::OK);
        let tag = headers[header::ETAG].to_str().expect("a tag").to_owned();
        let (status, headers, body) = get(
            &app,
            "/app.js",
            &[("accept-encoding", accepted), ("if-none-match", &tag)],
        )
        .await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{accepted:?}");
        assert_eq!(headers[header::ETAG], tag.as_str());
        assert!(body.is_empty());
    }
    // Another representation's tag, or an old one, gets the file.
    let (_, plain, _) = get(&app, "/app.js", &[]).await;
    let (_, brotli, _) = get(&app, "/app.js", &[("accept-encoding", "br")]).await;
    assert_ne!(plain[header::ETAG], brotli[header::ETAG]);
    let stale = [("accept-encoding", "br"), ("if-none-match", "W/\"0\"")];
    let (status, _, body) = get(&app, "/app.js", &stale).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"pretend-brotli-output");
}

/// Shutdown on a real socket: the relay's and the sandbox's event streams, which never end by
/// themselves, are ended cleanly (the chunked body's last chunk), and `run` returns.
#[tokio::test]
async fn shutdown_ends_open_event_streams_and_returns() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let (stop, stopping) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let options = Options::default();
        crate::run(listener, &options, async move {
            let _ = stopping.await;
        })
        .await
    });

    let token: Value = reqwest::Client::new()
        .post(format!("http://{address}/sandbox/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("client_id=particle&client_secret=particle&grant_type=password&username=sandbox%40example.com&password=sandbox")
        .send()
        .await
        .expect("sign in")
        .json()
        .await
        .expect("a token");
    let token = token["access_token"].as_str().expect("a token");
    let events = format!("/sandbox/v1/events?access_token={token}");
    let mut streams = Vec::new();
    for path in ["/relay/stream", events.as_str()] {
        let mut socket = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\n\r\n");
        socket.write_all(request.as_bytes()).await.expect("send");
        streams.push((path, socket));
    }
    // Both streams have answered before the shutdown begins.
    for (path, socket) in &mut streams {
        let mut head = vec![0u8; 1024];
        let read = socket.read(&mut head).await.expect("read");
        let head = String::from_utf8_lossy(&head[..read]);
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{path}: {head}");
        assert!(head.contains("text/event-stream"), "{path}: {head}");
    }
    stop.send(()).expect("server running");
    for (path, mut socket) in streams {
        let mut rest = Vec::new();
        // A stream nobody ends would hang here: fail instead.
        tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut rest))
            .await
            .unwrap_or_else(|_| panic!("{path} was not ended by the shutdown"))
            .expect("read to the end");
        assert!(
            rest.ends_with(b"0\r\n\r\n"),
            "{path} did not end with the last chunk: {}",
            String::from_utf8_lossy(&rest)
        );
    }
    server
        .await
        .expect("server task")
        .expect("run returns without error");
}

/// Issue 13: served for the public, the sandbox's webhooks reach only this server's own relay
/// (over the listener's loopback address) and the hosts the operator allows; on a learner's
/// machine they go anywhere.
#[test]
fn a_public_server_confines_the_sandboxs_webhooks() {
    let laptop = crate::sandbox_settings(&Options::default(), None, None);
    assert!(matches!(
        laptop.webhook_targets,
        webhook_demo_sandbox::WebhookTargets::Anywhere
    ));
    let options = Options {
        sandbox_webhook_allow: vec!["api.example.org".parse().expect("a pattern")],
        ..Options::default()
    };
    let public = crate::sandbox_settings(
        &options,
        Some("https://hooks.example.com:8443"),
        Some("0.0.0.0:8080".parse().expect("an address")),
    );
    assert_eq!(
        public.public_host.as_deref(),
        Some("hooks.example.com:8443")
    );
    let webhook_demo_sandbox::WebhookTargets::Only { relay, hosts } = public.webhook_targets else {
        panic!("a public sandbox is confined");
    };
    let relay = relay.expect("the own relay");
    assert_eq!(
        relay.public.as_str(),
        "https://hooks.example.com:8443/relay/hook/"
    );
    assert_eq!(relay.local.as_str(), "http://127.0.0.1:8080/relay/hook/");
    assert_eq!(hosts, options.sandbox_webhook_allow);
}

/// `/metrics` counts what the relay did, in the text format Prometheus scrapes.
#[tokio::test]
async fn metrics_count_what_the_relay_did() {
    let app = app(&Options::default());
    let hook = Request::post("/relay/hook/0123456789abcdef")
        .body(Body::from("{}"))
        .expect("request");
    let answered = app.clone().oneshot(hook).await.expect("infallible");
    assert_eq!(answered.status(), StatusCode::OK);
    let (status, headers, body) = get(&app, "/metrics", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .is_ok_and(|t| t.starts_with("application/openmetrics-text")),
        "{headers:?}"
    );
    let text = String::from_utf8(body).expect("text");
    for line in [
        "relay_sessions 0",
        "relay_open_streams 0",
        "relay_hooks_received_total 1",
        "relay_hooks_answered_total{status=\"200\"} 1",
        "relay_page_answer_seconds_count 0",
        "relay_store_errors_total 0",
        "relay_bytes_held 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line:?} missing from:\n{text}"
        );
    }
}

/// `GET /metrics` on `app` from `peer` (none: a request without a client address), with
/// `headers`: its status and `WWW-Authenticate`.
async fn metrics_from(
    app: &Router,
    peer: Option<&str>,
    headers: &[(&str, &str)],
) -> (StatusCode, Option<String>) {
    let mut request = Request::get("/metrics");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut request = request.body(Body::empty()).expect("request");
    if let Some(peer) = peer {
        let peer = peer.parse().expect("a socket address");
        request
            .extensions_mut()
            .insert(webhook_demo_http::PeerAddr(peer));
    }
    let response = app.clone().oneshot(request).await.expect("infallible");
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|value| value.to_str().expect("ascii").to_owned());
    (response.status(), challenge)
}

/// `/metrics` answered anyone, on a public server too. Serving the public (`--public-url`) without
/// `--metrics-addr` or `--metrics-token`, it answers only clients on this host that did not come
/// through a proxy (one that sets forwarding headers); on a laptop it still answers anyone.
#[tokio::test]
async fn a_public_server_shows_metrics_only_to_local_clients() {
    let public = app(&Options {
        public_url: Some("https://hooks.example.com".into()),
        ..Options::default()
    });
    for (peer, headers, expected) in [
        (Some("127.0.0.1:5000"), &[][..], StatusCode::OK),
        (Some("[::1]:5000"), &[], StatusCode::OK),
        (Some("[::ffff:127.0.0.1]:5000"), &[], StatusCode::OK),
        (Some("203.0.113.7:5000"), &[], StatusCode::FORBIDDEN),
        (Some("[2001:db8::7]:5000"), &[], StatusCode::FORBIDDEN),
        (None, &[], StatusCode::FORBIDDEN),
        (
            Some("127.0.0.1:5000"),
            &[("x-forwarded-for", "203.0.113.7")],
            StatusCode::FORBIDDEN,
        ),
        (
            Some("127.0.0.1:5000"),
            &[("forwarded", "for=203.0.113.7")],
            StatusCode::FORBIDDEN,
        ),
        (
            Some("127.0.0.1:5000"),
            &[("x-real-ip", "203.0.113.7")],
            StatusCode::FORBIDDEN,
        ),
    ] {
        let (status, _) = metrics_from(&public, peer, headers).await;
        assert_eq!(status, expected, "{peer:?} {headers:?}");
    }
    let laptop = app(&Options::default());
    let (status, _) = metrics_from(&laptop, Some("203.0.113.7:5000"), &[]).await;
    assert_eq!(status, StatusCode::OK);
}

const TOKEN: &str = "s3cret-metrics-token";

/// With `--metrics-token`, `/metrics` asks every client for `Authorization: Bearer TOKEN`, on a
/// laptop or a public server, from this host or not.
#[tokio::test]
async fn metrics_need_the_token_when_one_is_set() {
    for public_url in [None, Some("https://hooks.example.com".to_owned())] {
        let app = app(&Options {
            public_url,
            metrics_token: Some(TOKEN.parse().expect("a valid token")),
            ..Options::default()
        });
        let bearer = format!("Bearer {TOKEN}");
        let lower = format!("bearer {TOKEN}");
        let longer = format!("Bearer {TOKEN}x");
        let prefix = format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]);
        let unauthorized = (
            StatusCode::UNAUTHORIZED,
            Some("Bearer realm=\"metrics\"".to_owned()),
        );
        for (peer, headers, expected) in [
            (
                "203.0.113.7:5000",
                vec![("authorization", bearer.as_str())],
                (StatusCode::OK, None),
            ),
            (
                "127.0.0.1:5000",
                vec![("authorization", lower.as_str())],
                (StatusCode::OK, None),
            ),
            ("127.0.0.1:5000", vec![], unauthorized.clone()),
            ("203.0.113.7:5000", vec![], unauthorized.clone()),
            (
                "203.0.113.7:5000",
                vec![("authorization", longer.as_str())],
                unauthorized.clone(),
            ),
            (
                "203.0.113.7:5000",
                vec![("authorization", prefix.as_str())],
                unauthorized.clone(),
            ),
            (
                "203.0.113.7:5000",
                vec![("authorization", TOKEN)],
                unauthorized.clone(),
            ),
            (
                "203.0.113.7:5000",
                vec![("authorization", "Basic czNjcmV0LW1ldHJpY3MtdG9rZW4=")],
                unauthorized.clone(),
            ),
            (
                "203.0.113.7:5000",
                vec![
                    ("authorization", "Bearer wrong"),
                    ("authorization", bearer.as_str()),
                ],
                unauthorized.clone(),
            ),
        ] {
            let got = metrics_from(&app, Some(peer), &headers).await;
            assert_eq!(got, expected, "{peer} {headers:?}");
        }
    }
}

/// A metrics token is long enough not to guess and fits in a header; printing the options never
/// shows it.
#[test]
fn metrics_tokens_are_checked_and_never_printed() {
    for bad in [
        "",
        "short",
        "has a space in it..",
        "tab\tinside-the-token",
        "naïve-but-long-enough",
    ] {
        assert!(bad.parse::<crate::MetricsToken>().is_err(), "{bad:?}");
    }
    let options = Options {
        metrics_token: Some(TOKEN.parse().expect("a valid token")),
        ..Options::default()
    };
    let printed = format!("{options:?}");
    assert!(!printed.contains(TOKEN), "{printed}");
}
