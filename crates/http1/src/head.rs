//! A request head: parsed by `httparse`, checked, and turned into an `http::Request` plus what the
//! connection must know about it (how the body is framed, whether the connection may be reused).

use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, Uri, Version};

use crate::OriginalHeaders;

/// More header fields than this is answered 431, as hyper does.
const MAX_HEADERS: usize = 100;

/// How the request body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    Empty,
    Length(u64),
    Chunked,
}

pub(crate) struct Head {
    pub request: Request<()>,
    pub framing: Framing,
    /// The client allows another request on this connection afterwards.
    pub keep_alive: bool,
    /// The client waits for `100 Continue` before sending the body.
    pub expect_continue: bool,
}

/// A request the connection answers itself, then closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub status: StatusCode,
    pub message: &'static str,
    /// Seconds to wait before trying again, sent as `Retry-After`.
    pub retry_after: Option<u32>,
}

pub(crate) fn reject(status: StatusCode, message: &'static str) -> Rejection {
    Rejection {
        status,
        message,
        retry_after: None,
    }
}

fn bad(message: &'static str) -> Rejection {
    reject(StatusCode::BAD_REQUEST, message)
}

/// Parses the head at the start of `buf`: the head and its length, or `None` while incomplete.
pub(crate) fn parse(buf: &[u8]) -> Result<Option<(Head, usize)>, Rejection> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut fields);
    let length = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(reject(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "too many header fields",
            ));
        }
        Err(_) => return Err(bad("malformed request head")),
    };
    let method = Method::from_bytes(parsed.method.unwrap_or_default().as_bytes())
        .map_err(|_| bad("invalid method"))?;
    if method == Method::CONNECT {
        // A tunnel is a proxy's business; a server that passed CONNECT on would hand it to the
        // file router as if it were a page request.
        return Err(reject(
            StatusCode::NOT_IMPLEMENTED,
            "CONNECT is not supported: this server is not a proxy",
        ));
    }
    let uri = target(parsed.path.unwrap_or_default(), &method)?;
    let version = match parsed.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };

    let mut headers = HeaderMap::with_capacity(parsed.headers.len());
    let mut original = Vec::with_capacity(parsed.headers.len());
    for field in parsed.headers.iter() {
        let name = HeaderName::from_bytes(field.name.as_bytes())
            .map_err(|_| bad("invalid header name"))?;
        let value =
            HeaderValue::from_bytes(field.value).map_err(|_| bad("invalid header value"))?;
        original.push((field.name.to_owned(), value.clone()));
        headers.append(name, value);
    }

    if version == Version::HTTP_11 {
        host(&headers)?;
    }
    let framing = framing(&headers, version)?;
    let keep_alive = match version {
        // HTTP/1.0 keep-alive is rare enough that such connections simply close after one answer.
        Version::HTTP_10 => false,
        _ => !has_token(&headers, http::header::CONNECTION, "close"),
    };
    let expect_continue = version == Version::HTTP_11
        && framing != Framing::Empty
        && headers
            .get(http::header::EXPECT)
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"100-continue"));

    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = version;
    *request.headers_mut() = headers;
    request.extensions_mut().insert(OriginalHeaders(original));
    Ok(Some((
        Head {
            request,
            framing,
            keep_alive,
            expect_continue,
        },
        length,
    )))
}

/// The request target in one of the forms a server answers (RFC 9112 section 3.2): origin-form
/// (`/path?query`), absolute-form (`http://host/path`, which proxies send), or `*` for `OPTIONS`.
/// Authority-form (`host:port`) belongs to CONNECT alone, refused above.
fn target(text: &str, method: &Method) -> Result<Uri, Rejection> {
    let uri: Uri = text.parse().map_err(|_| bad("invalid request target"))?;
    let asterisk = text == "*";
    if asterisk && method != Method::OPTIONS {
        return Err(bad("the * request target is only for OPTIONS"));
    }
    if !asterisk && !text.starts_with('/') && uri.scheme().is_none() {
        return Err(bad(
            "invalid request target: expected a path starting with / or an absolute URL",
        ));
    }
    Ok(uri)
}

/// RFC 9112 section 3.2: an HTTP/1.1 request carries exactly one `Host` field, whose value is a
/// host and optional port (empty only when the target has no authority). Two of them, or one a
/// proxy and a server could read differently, is how a request reaches the wrong virtual host.
fn host(headers: &HeaderMap) -> Result<(), Rejection> {
    let mut values = headers.get_all(http::header::HOST).iter();
    let Some(value) = values.next() else {
        return Err(bad("an HTTP/1.1 request needs a Host header field"));
    };
    if values.next().is_some() {
        return Err(bad("more than one Host header field"));
    }
    let value = value.as_bytes();
    let valid = value.is_empty()
        || (!value.contains(&b'@') && http::uri::Authority::try_from(value).is_ok());
    if !valid {
        return Err(bad("invalid Host header field"));
    }
    Ok(())
}

/// The body framing of RFC 9112 section 6.3, refusing what request smuggling relies on: both
/// `Content-Length` and `Transfer-Encoding`, disagreeing lengths, codings other than `chunked`.
///
/// A `Transfer-Encoding` field counts even when its value is empty: a front end that ignores an
/// empty field and one that does not would disagree on where this request ends.
fn framing(headers: &HeaderMap, version: Version) -> Result<Framing, Rejection> {
    if headers.contains_key(http::header::TRANSFER_ENCODING) {
        if version == Version::HTTP_10 {
            return Err(bad("Transfer-Encoding is not allowed in HTTP/1.0"));
        }
        if headers.contains_key(http::header::CONTENT_LENGTH) {
            return Err(bad("both Content-Length and Transfer-Encoding"));
        }
        let codings: Vec<&[u8]> = headers
            .get_all(http::header::TRANSFER_ENCODING)
            .iter()
            .flat_map(|value| value.as_bytes().split(|byte| *byte == b','))
            .map(<[u8]>::trim_ascii)
            .filter(|coding| !coding.is_empty())
            .collect();
        let chunked = |coding: &&[u8]| coding.eq_ignore_ascii_case(b"chunked");
        return match codings.as_slice() {
            [only] if chunked(only) => Ok(Framing::Chunked),
            [] => Err(bad("empty Transfer-Encoding")),
            [.., last] if !chunked(last) => Err(bad("Transfer-Encoding must end with chunked")),
            [first @ .., _] if first.iter().any(chunked) => {
                Err(bad("chunked may be applied only once"))
            }
            _ => Err(reject(
                StatusCode::NOT_IMPLEMENTED,
                "only the chunked transfer coding is supported",
            )),
        };
    }
    let mut length = None;
    for value in headers.get_all(http::header::CONTENT_LENGTH) {
        for item in value.as_bytes().split(|byte| *byte == b',') {
            let item = item.trim_ascii();
            let parsed = (!item.is_empty() && item.iter().all(u8::is_ascii_digit))
                .then(|| std::str::from_utf8(item).ok()?.parse::<u64>().ok())
                .flatten()
                .ok_or_else(|| bad("invalid Content-Length"))?;
            if length.is_some_and(|known| known != parsed) {
                return Err(bad("conflicting Content-Length values"));
            }
            length = Some(parsed);
        }
    }
    Ok(match length {
        None | Some(0) => Framing::Empty,
        Some(length) => Framing::Length(length),
    })
}

/// True when a comma-separated header (such as `Connection`) lists `token`.
pub(crate) fn has_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value
            .as_bytes()
            .split(|byte| *byte == b',')
            .any(|item| item.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    })
}
