//! The page's static files: embedded in the binary at build time, or read from `--assets DIR`.
//!
//! Responses carry their MIME type (`application/wasm` matters: browsers refuse to stream-compile a
//! module served as anything else), a Content-Security-Policy that lets the wasm module run but no
//! inline script, and gzip or brotli compression negotiated by `Accept-Encoding`. From a folder,
//! only files whose real path lies inside it are served: no `..`, and no symbolic link out.

use std::{
    hash::{DefaultHasher, Hash, Hasher},
    path::{Component, Path, PathBuf},
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use tower_http::{
    CompressionLevel, compression::CompressionLayer, set_header::SetResponseHeaderLayer,
};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

/// Scripts only from this origin, and `wasm-unsafe-eval` so `WebAssembly.instantiateStreaming` may
/// compile the app. `connect-src` stays open: the page talks to the Particle cloud and to whichever
/// relay the learner picks.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self' https: http:; object-src 'none'; \
     base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

/// Where the files come from.
#[derive(Clone)]
enum Source {
    Embedded,
    Dir(PathBuf),
}

pub(crate) fn router(dir: Option<PathBuf>) -> Router {
    let source = dir.map_or(Source::Embedded, Source::Dir);
    Router::new()
        .fallback(serve)
        .with_state(source)
        // Brotli at its default level for browsers that take it; gzip at its best level otherwise,
        // which is cheap for gzip and keeps the page small for every client. The gzip layer leaves
        // responses the brotli layer already encoded alone.
        .layer(CompressionLayer::new().no_gzip().no_deflate().no_zstd())
        .layer(
            CompressionLayer::new()
                .no_br()
                .no_deflate()
                .no_zstd()
                .quality(CompressionLevel::Best),
        )
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
}

async fn serve(State(source): State<Source>, uri: Uri, headers: HeaderMap) -> Response {
    let name = match uri.path().trim_start_matches('/') {
        "" => "index.html",
        other => other,
    };
    let mime = mime_guess::from_path(name).first_or_octet_stream();
    // The page's file names are not content-hashed, so the browser must revalidate each load.
    let common = [
        (header::CONTENT_TYPE, mime.as_ref()),
        (header::CACHE_CONTROL, "no-cache"),
    ];
    // Brotli beats gzip; where the build left no compressed sibling, the layer compresses.
    let accepts = |coding: &str| {
        headers
            .get_all(header::ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|value| {
                value.split(',').any(|part| {
                    let mut fields = part.split(';').map(str::trim);
                    fields.next() == Some(coding) && !fields.any(|f| f == "q=0" || f == "q=0.0")
                })
            })
    };
    // The build's own `.br` sibling (brotli at its best) for clients that take brotli, its `.gz`
    // sibling for those that take only gzip: smaller than compressing per request, and free.
    let sibling = if accepts("br") {
        Some(("br", "br"))
    } else if accepts("gzip") {
        Some(("gzip", "gz"))
    } else {
        None
    };
    if let Some((coding, extension)) = sibling {
        if let Some(compressed) = read(&source, &format!("{name}.{extension}")).await {
            let encoding = [
                (header::CONTENT_ENCODING, coding),
                (header::VARY, "accept-encoding"),
            ];
            return (common, encoding, validated(compressed, &headers)).into_response();
        }
    }
    let Some(bytes) = read(&source, name).await else {
        return not_found(&source, name);
    };
    (common, validated(bytes, &headers)).into_response()
}

/// `bytes` with a validator, or `304 Not Modified` when the browser already holds them: the page
/// is revalidated on every load (`no-cache`), and without a validator every revalidation would
/// download the module again. The tag is weak: where the build left no compressed sibling, the
/// compression layer encodes the bytes it names.
fn validated(bytes: Bytes, request: &HeaderMap) -> Response {
    let mut hasher = DefaultHasher::new();
    bytes.hash(&mut hasher);
    let tag = format!("W/\"{:016x}\"", hasher.finish());
    let held = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|candidate| {
            let candidate = candidate.trim();
            candidate == "*" || candidate.trim_start_matches("W/") == tag.trim_start_matches("W/")
        });
    if held {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response();
    }
    ([(header::ETAG, tag)], Body::from(bytes)).into_response()
}

async fn read(source: &Source, name: &str) -> Option<Bytes> {
    match source {
        Source::Embedded => embedded::EMBEDDED
            .iter()
            .find(|(file, _)| *file == name)
            .map(|(_, bytes)| Bytes::from_static(bytes)),
        Source::Dir(dir) => {
            // Only plain relative paths: no `..`, no absolute paths, no drive prefixes.
            let relative = Path::new(name);
            if !relative
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
            {
                return None;
            }
            // A symbolic link may lead anywhere: serve only what really lies inside the folder
            // (the folder itself may be a link, say to the current release).
            let (dir, path) = tokio::try_join!(
                tokio::fs::canonicalize(dir),
                tokio::fs::canonicalize(dir.join(relative)),
            )
            .ok()?;
            if !path.starts_with(&dir) {
                tracing::debug!(?path, "refusing an asset outside the assets folder");
                return None;
            }
            tokio::fs::read(path).await.ok().map(Bytes::from)
        }
    }
}

fn not_found(source: &Source, name: &str) -> Response {
    let message = match source {
        Source::Embedded if embedded::EMBEDDED.is_empty() => {
            "This server was built without the page. Run `cargo xtask build` (or `cargo xtask serve`), \
             or pass `--assets DIR` with a built pkg/ directory.\n"
                .to_owned()
        }
        _ => format!("Not found: /{name}\n"),
    };
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}
