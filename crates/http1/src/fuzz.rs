//! Property tests (`fuzz_…`, run longer by `cargo xtask fuzz`): the head parser and the chunked
//! decoder against reference readings written here from RFC 9112 alone, on heads and bodies
//! generated from the grammar and then mutated byte by byte, and read in random pieces.
//!
//! The references are deliberately plain (whole input at once, no `httparse`, no shared helpers)
//! so that agreeing with them means something. Where the real parser may legitimately go either
//! way (characters in a target that RFC 3986 forbids but `http::Uri` lets through, as browsers
//! send them), the reference says so instead of guessing.

use bytes::BytesMut;
use http::Version;
use proptest::{prelude::*, sample::select};

use crate::{
    chunked::{self, Decoder, Step},
    head::{self, Framing},
};

// ---------------------------------------------------------------------------------------------
// Request heads.

/// What a strict reading of a request head makes of it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reading {
    /// No blank line yet.
    Incomplete,
    Refused(u16),
    /// The parser may accept or refuse with 400 (a lenient target or Host character); if it
    /// accepts, the reading must be this one.
    Either(Box<Request>),
    /// Refused with this status, or with 400 for a lenient target or Host character.
    RefusedOr400(u16),
    Accepted(Box<Request>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Request {
    method: String,
    target: String,
    version: Version,
    fields: Vec<(String, Vec<u8>)>,
    framing: Framing,
    keep_alive: bool,
    head_length: usize,
}

fn tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

/// How RFC 3986 rates a character in a path, query or host: allowed, only tolerated (some
/// clients send it raw and `http::Uri` passes it), or never allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rating {
    Strict,
    Lenient,
    Invalid,
}

fn rate_uri_bytes(text: &[u8], extra: &[u8]) -> Rating {
    let mut rating = Rating::Strict;
    let mut at = 0;
    while at < text.len() {
        let byte = text[at];
        let this = if byte.is_ascii_alphanumeric()
            || b"-._~!$&'()*+,;=:@".contains(&byte)
            || extra.contains(&byte)
        {
            Rating::Strict
        } else if byte == b'%' {
            match (text.get(at + 1), text.get(at + 2)) {
                (Some(a), Some(b)) if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() => {
                    at += 2;
                    Rating::Strict
                }
                _ => Rating::Lenient,
            }
        } else if (0x21..=0x7e).contains(&byte) || byte >= 0x80 {
            Rating::Lenient
        } else {
            Rating::Invalid
        };
        rating = rating.max(this);
        at += 1;
    }
    rating
}

/// How the target rates, or the status refusing it: origin-form, absolute-form, or `*` for
/// OPTIONS; authority-form and anything else is not a target this server takes.
fn rate_target(target: &[u8], method: &str) -> Result<Rating, u16> {
    if target == b"*" {
        return if method == "OPTIONS" {
            Ok(Rating::Strict)
        } else {
            Err(400)
        };
    }
    if target.first() == Some(&b'/') {
        return match rate_uri_bytes(target, b"/?") {
            Rating::Invalid => Err(400),
            rating => Ok(rating),
        };
    }
    let lower = target.to_ascii_lowercase();
    for scheme in [&b"http://"[..], b"https://"] {
        if let Some(rest) = lower.strip_prefix(scheme) {
            let end = rest.iter().position(|b| *b == b'/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(end);
            let host_ok = !authority.is_empty()
                && authority
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || b".-".contains(b));
            return Ok(if host_ok && !path.is_empty() {
                rate_uri_bytes(path, b"/?").max(Rating::Strict)
            } else {
                Rating::Lenient
            });
        }
    }
    // Anything else with a scheme-like start is the URI parser's call; the rest (authority-form,
    // a bare word) is never a target this server takes.
    if lower.windows(3).any(|w| w == b"://") {
        return Ok(Rating::Lenient);
    }
    Err(400)
}

fn rate_host(value: &[u8]) -> Rating {
    if value.is_empty() {
        return Rating::Strict;
    }
    if value.contains(&b'@') || value.iter().any(|b| !(0x21..=0x7e).contains(b)) {
        return Rating::Invalid;
    }
    let (host, port) = match value.iter().rposition(|b| *b == b':') {
        Some(colon) if !value.starts_with(b"[") || value[..colon].ends_with(b"]") => {
            (&value[..colon], Some(&value[colon + 1..]))
        }
        _ => (value, None),
    };
    let port_ok = port.is_none_or(|port| {
        !port.is_empty() && port.len() <= 4 && port.iter().all(u8::is_ascii_digit)
    });
    let host_ok = if let Some(literal) = host.strip_prefix(b"[") {
        literal.strip_suffix(b"]").is_some_and(|inner| {
            inner.contains(&b':')
                && inner
                    .iter()
                    .all(|b| b.is_ascii_hexdigit() || b":.".contains(b))
        })
    } else {
        !host.is_empty() && rate_uri_bytes(host, b"") == Rating::Strict && !host.contains(&b':')
    };
    if host_ok && port_ok {
        Rating::Strict
    } else if value.iter().any(|b| b"/?#".contains(b)) {
        Rating::Invalid
    } else {
        Rating::Lenient
    }
}

/// A head's lines, and its length with the blank line.
type Lines<'a> = (Vec<&'a [u8]>, usize);

/// The lines of a head: each without its line ending, which is CRLF or a bare LF (RFC 9112
/// section 2.2 lets a recipient take LF alone); `None` while there is no blank line.
fn head_lines(bytes: &[u8]) -> Option<Result<Lines<'_>, u16>> {
    let mut lines = Vec::new();
    let mut at = 0;
    // Blank lines before the request line are skipped (section 2.2).
    loop {
        if bytes[at..].starts_with(b"\r\n") {
            at += 2;
        } else if bytes[at..].starts_with(b"\n") {
            at += 1;
        } else {
            break;
        }
    }
    loop {
        let rest = &bytes[at..];
        let newline = rest.iter().position(|b| *b == b'\n');
        // A CR anywhere but right before LF is malformed, even before the head is complete.
        let scanned = &rest[..newline.unwrap_or(rest.len())];
        if let Some(cr) = scanned.iter().position(|b| *b == b'\r') {
            if cr + 1 < scanned.len() {
                return Some(Err(400));
            }
        }
        let newline = newline?;
        let line = rest[..newline]
            .strip_suffix(b"\r")
            .unwrap_or(&rest[..newline]);
        at += newline + 1;
        if line.is_empty() {
            return Some(Ok((lines, at)));
        }
        lines.push(line);
    }
}

/// The strict reading, in the order a server must check things: syntax, the method, the target,
/// Host, then the body's framing (RFC 9112 sections 3, 5, 6.3).
fn reference_head(bytes: &[u8]) -> Reading {
    let mut rating = Rating::Strict;
    match strict_reading(bytes, &mut rating) {
        Reading::Refused(status) if rating == Rating::Lenient => Reading::RefusedOr400(status),
        Reading::Accepted(request) if rating == Rating::Lenient => Reading::Either(request),
        reading => reading,
    }
}

/// The reading; `rating` says whether a lenient character was met on the way.
fn strict_reading(bytes: &[u8], rating: &mut Rating) -> Reading {
    let (lines, head_length) = match head_lines(bytes) {
        None => return Reading::Incomplete,
        Some(Err(status)) => return Reading::Refused(status),
        Some(Ok(found)) => found,
    };
    let Some((request_line, field_lines)) = lines.split_first() else {
        return Reading::Incomplete;
    };
    let parts: Vec<&[u8]> = request_line.split(|b| *b == b' ').collect();
    let [method, target, version] = parts[..] else {
        return Reading::Refused(400);
    };
    if method.is_empty() || !method.iter().all(|b| tchar(*b)) || target.is_empty() {
        return Reading::Refused(400);
    }
    // Raw bytes above ASCII pass only as UTF-8 (which `httparse` hands over as text).
    if target.iter().any(|b| *b < 0x21 || *b == 0x7f) || std::str::from_utf8(target).is_err() {
        return Reading::Refused(400);
    }
    let version = match version {
        b"HTTP/1.1" => Version::HTTP_11,
        b"HTTP/1.0" => Version::HTTP_10,
        _ => return Reading::Refused(400),
    };
    let mut fields = Vec::new();
    for line in field_lines {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            return Reading::Refused(400);
        };
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if name.is_empty() || !name.iter().all(|b| tchar(*b)) {
            return Reading::Refused(400);
        }
        // OWS is spaces and tabs only (not every ASCII whitespace byte, as `trim_ascii` has it).
        let ows = |b: &u8| matches!(b, b' ' | b'\t');
        let start = value.iter().position(|b| !ows(b)).unwrap_or(value.len());
        let end = value
            .iter()
            .rposition(|b| !ows(b))
            .map_or(start, |last| last + 1);
        let value = &value[start..end];
        if value
            .iter()
            .any(|b| !matches!(b, b' ' | b'\t' | 0x21..=0x7e | 0x80..=0xff))
        {
            return Reading::Refused(400);
        }
        fields.push((
            String::from_utf8(name.to_vec()).expect("tchars"),
            value.to_vec(),
        ));
    }
    if fields.len() > 100 {
        return Reading::Refused(431);
    }
    let method = String::from_utf8(method.to_vec()).expect("tchars");
    if method == "CONNECT" {
        return Reading::Refused(501);
    }
    *rating = match rate_target(target, &method) {
        Ok(rating) => rating,
        Err(status) => return Reading::Refused(status),
    };
    // The values of the fields named so, in order.
    let named = |wanted: &'static str| {
        fields
            .iter()
            .filter(move |(name, _)| name.eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value.as_slice())
    };
    if version == Version::HTTP_11 {
        let hosts: Vec<&[u8]> = named("host").collect();
        let [host] = hosts[..] else {
            return Reading::Refused(400);
        };
        match rate_host(host) {
            Rating::Invalid => return Reading::Refused(400),
            host => *rating = (*rating).max(host),
        }
    }
    let list = |name: &'static str| -> Vec<Vec<u8>> {
        named(name)
            .flat_map(|value| value.split(|b| *b == b','))
            .map(|item| item.trim_ascii().to_vec())
            .collect()
    };
    let framing = if named("transfer-encoding").next().is_some() {
        if version == Version::HTTP_10 || named("content-length").next().is_some() {
            return Reading::Refused(400);
        }
        let codings: Vec<Vec<u8>> = list("transfer-encoding")
            .into_iter()
            .filter(|coding| !coding.is_empty())
            .collect();
        let is_chunked = |coding: &Vec<u8>| coding.eq_ignore_ascii_case(b"chunked");
        match codings.split_last() {
            None => return Reading::Refused(400),
            Some((last, _)) if !is_chunked(last) => return Reading::Refused(400),
            Some((_, before)) if before.iter().any(is_chunked) => return Reading::Refused(400),
            Some((_, [])) => Framing::Chunked,
            Some(_) => return Reading::Refused(501),
        }
    } else {
        let mut length: Option<u64> = None;
        for item in list("content-length") {
            if item.is_empty() || item.len() > 19 || !item.iter().all(u8::is_ascii_digit) {
                return Reading::Refused(400);
            }
            let value: u64 = std::str::from_utf8(&item)
                .expect("digits")
                .parse()
                .expect("at most 19 digits");
            if length.is_some_and(|known| known != value) {
                return Reading::Refused(400);
            }
            length = Some(value);
        }
        match length {
            None | Some(0) => Framing::Empty,
            Some(length) => Framing::Length(length),
        }
    };
    let close = list("connection")
        .iter()
        .any(|token| token.eq_ignore_ascii_case(b"close"));
    let request = Box::new(Request {
        method,
        target: String::from_utf8_lossy(target).into_owned(),
        version,
        fields,
        framing,
        keep_alive: version == Version::HTTP_11 && !close,
        head_length,
    });
    Reading::Accepted(request)
}

/// What the real parser makes of the same bytes, in the reference's terms.
fn real_head(bytes: &[u8]) -> Reading {
    match head::parse(bytes) {
        Ok(None) => Reading::Incomplete,
        Err(rejection) => Reading::Refused(rejection.status.as_u16()),
        Ok(Some((head, head_length))) => {
            let fields = head
                .request
                .extensions()
                .get::<crate::OriginalHeaders>()
                .expect("original headers")
                .0
                .iter()
                .map(|(name, value)| (name.clone(), value.as_bytes().to_vec()))
                .collect();
            Reading::Accepted(Box::new(Request {
                method: head.request.method().as_str().to_owned(),
                target: head.request.uri().to_string(),
                version: head.request.version(),
                fields,
                framing: head.framing,
                keep_alive: head.keep_alive,
                head_length,
            }))
        }
    }
}

/// Compares the parser with the reference on `bytes`.
fn check_head(bytes: &[u8]) -> Result<(), TestCaseError> {
    let reference = reference_head(bytes);
    let real = real_head(bytes);
    let shown = String::from_utf8_lossy(bytes);
    match (&reference, &real) {
        // A malformed start may be refused before the head is complete.
        (Reading::Incomplete, Reading::Incomplete | Reading::Refused(400)) => {}
        (Reading::Either(_) | Reading::RefusedOr400(_), Reading::Refused(400)) => {}
        (Reading::RefusedOr400(expected), Reading::Refused(got)) => {
            prop_assert_eq!(expected, got, "{}", shown);
        }
        (Reading::Either(expected), Reading::Accepted(got)) => {
            // A lenient target may be normalised (a fragment dropped); the rest must agree.
            let blank = |request: &Request| Request {
                target: String::new(),
                ..request.clone()
            };
            prop_assert_eq!(blank(expected), blank(got), "{}", shown);
        }
        _ => prop_assert_eq!(&reference, &real, "{}", shown),
    }
    Ok(())
}

#[derive(Debug, Clone)]
struct HeadSpec {
    method: &'static str,
    target: String,
    version: &'static str,
    fields: Vec<(String, String)>,
    /// Line endings: CRLF, or LF alone.
    bare_lf: bool,
}

impl HeadSpec {
    fn render(&self) -> Vec<u8> {
        let end = if self.bare_lf { "\n" } else { "\r\n" };
        let mut text = format!("{} {} {}{end}", self.method, self.target, self.version);
        for (name, value) in &self.fields {
            text.push_str(&format!("{name}: {value}{end}"));
        }
        text.push_str(end);
        text.into_bytes()
    }
}

/// A name in random case, as clients and attackers write them.
fn cased(name: &'static str) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<bool>(), name.len()).prop_map(move |upper| {
        name.chars()
            .zip(upper)
            .map(|(c, up)| if up { c.to_ascii_uppercase() } else { c })
            .collect()
    })
}

fn field() -> impl Strategy<Value = (String, String)> {
    let value = |values: &'static [&'static str]| select(values).prop_map(str::to_owned);
    prop_oneof![
        (
            cased("host"),
            value(&[
                "x",
                "example.com:8080",
                "[::1]:80",
                "",
                "a b",
                "u@h",
                "h:99999",
                "h/p"
            ])
        ),
        (
            cased("content-length"),
            value(&[
                "0",
                "5",
                "005",
                "5, 5",
                "5,6",
                "+5",
                "-5",
                "",
                " 7 ",
                "0x5",
                "99999999999999999999"
            ])
        ),
        (
            cased("transfer-encoding"),
            value(&[
                "chunked",
                "Chunked",
                "gzip, chunked",
                "chunked, gzip",
                "",
                ",",
                "chunked, chunked",
                "identity",
                "chunked;q=1"
            ])
        ),
        (
            cased("connection"),
            value(&["close", "keep-alive", "Upgrade, close", ""])
        ),
        (cased("expect"), value(&["100-continue", "nothing"])),
        ("[A-Za-z][A-Za-z0-9-]{0,8}", "[ -~]{0,12}"),
    ]
}

fn head_spec() -> impl Strategy<Value = HeadSpec> {
    let target = prop_oneof![
        4 => "/[a-z0-9/._~%-]{0,12}(\\?[a-z0-9=&]{0,8})?",
        1 => Just("*".to_owned()),
        1 => Just("http://example.com/hello".to_owned()),
        1 => Just("example.com:443".to_owned()),
        1 => "/[!-~]{0,6}",
    ];
    (
        select(
            &[
                "GET", "POST", "PUT", "HEAD", "OPTIONS", "DELETE", "CONNECT", "PATCH",
            ][..],
        ),
        target,
        select(&["HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0"][..]),
        proptest::collection::vec(field(), 0..8),
        proptest::bool::weighted(0.1),
    )
        .prop_map(|(method, target, version, mut fields, bare_lf)| {
            // Most heads carry a Host, so that what follows it is reached.
            if fields.len() % 4 != 3 {
                fields.insert(0, ("Host".to_owned(), "x".to_owned()));
            }
            HeadSpec {
                method,
                target,
                version,
                fields,
                bare_lf,
            }
        })
}

/// A byte-level change: at a fraction of the input, insert, delete or replace a byte.
#[derive(Debug, Clone)]
enum Mutation {
    Insert(f64, u8),
    Delete(f64),
    Replace(f64, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Bytes that matter to framing more often than the rest.
    let byte = prop_oneof![
        3 => select(&b"\r\n :\t,;\"\\0123456789aAfFxX-+"[..]),
        1 => any::<u8>(),
    ];
    prop_oneof![
        (0.0..1.0, byte.clone()).prop_map(|(at, byte)| Mutation::Insert(at, byte)),
        (0.0..1.0f64).prop_map(Mutation::Delete),
        (0.0..1.0, byte).prop_map(|(at, byte)| Mutation::Replace(at, byte)),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    let index = |at: f64, len: usize| ((at * len as f64) as usize).min(len);
    for mutation in mutations {
        match *mutation {
            Mutation::Insert(at, byte) => {
                let at = index(at, bytes.len());
                bytes.insert(at, byte);
            }
            Mutation::Delete(at) if !bytes.is_empty() => {
                let at = index(at, bytes.len() - 1);
                bytes.remove(at);
            }
            Mutation::Replace(at, byte) if !bytes.is_empty() => {
                let at = index(at, bytes.len() - 1);
                bytes[at] = byte;
            }
            _ => {}
        }
    }
    bytes
}

/// Ways a request's end can be made ambiguous; the parser must refuse every one.
fn smuggling_field() -> impl Strategy<Value = Vec<String>> {
    let one = |lines: &'static [&'static str]| {
        Just(lines.iter().map(|line| (*line).to_owned()).collect())
    };
    prop_oneof![
        one(&["Content-Length: 5", "Transfer-Encoding: chunked"]),
        one(&["Transfer-Encoding: chunked", "Content-Length: 5"]),
        one(&["Transfer-Encoding:", "Content-Length: 5"]),
        one(&["Content-Length: 5", "Transfer-Encoding: "]),
        one(&["Content-Length: 5", "Content-Length: 6"]),
        one(&["Content-Length: 5, 6"]),
        one(&["Content-Length: +5"]),
        one(&["Content-Length: -5"]),
        one(&["Content-Length: 5.0"]),
        one(&["Content-Length: 0x5"]),
        one(&["Content-Length: 5 5"]),
        one(&["Content-Length: 1_0"]),
        one(&["Content-Length : 5"]),
        one(&["Content-Length\t: 5"]),
        one(&[" Content-Length: 5"]),
        one(&["Transfer-Encoding: gzip"]),
        one(&["Transfer-Encoding: chunked, gzip"]),
        one(&["Transfer-Encoding: chunked;x=1"]),
        one(&["Transfer-Encoding: xchunked"]),
        one(&["Transfer-Encoding: identity"]),
        one(&["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"]),
        one(&["Transfer-Encoding: chunked, chunked"]),
        one(&["Transfer-Encoding: ,"]),
        one(&["Transfer-Encoding : chunked"]),
        one(&["Transfer-Encoding: \x0bchunked"]),
        one(&["Transfer-Encoding: \x0cchunked"]),
        one(&["Transfer-Encoding: chunked\x00"]),
        one(&["Transfer-Encoding: chunked\rX: y"]),
        one(&["Transfer-Encoding:", " chunked"]),
        one(&["X: y", " Transfer-Encoding: chunked"]),
        one(&["Host: a"]),
    ]
}

proptest! {
    /// Heads from the grammar, some mutated, read whole: the parser never panics and agrees
    /// with the reference on what the request is and how its body is framed.
    #[test]
    fn fuzz_head_agrees_with_a_strict_reading(
        spec in head_spec(),
        mutations in proptest::collection::vec(mutation(), 0..3),
        body in proptest::collection::vec(any::<u8>(), 0..8),
    ) {
        let mut bytes = mutate(spec.render(), &mutations);
        check_head(&bytes)?;
        // What follows the head (a body, the next request) changes nothing about it.
        bytes.extend_from_slice(&body);
        check_head(&bytes)?;
    }

    /// A head that is accepted whole is never accepted (nor refused) from a part of it: the
    /// connection may parse whatever has arrived.
    #[test]
    fn fuzz_head_prefixes_are_incomplete(spec in head_spec(), cut in 0.0..1.0f64) {
        let bytes = spec.render();
        if let Reading::Accepted(_) = real_head(&bytes) {
            let cut = ((cut * bytes.len() as f64) as usize).min(bytes.len() - 1);
            prop_assert_eq!(real_head(&bytes[..cut]), Reading::Incomplete);
        }
    }

    /// Every smuggling shape, among ordinary fields in any order and case, is refused.
    #[test]
    fn fuzz_head_refuses_smuggling_shapes(
        shape in smuggling_field(),
        mut others in proptest::collection::vec(("X-[A-Za-z]{1,6}", "[a-z0-9 ]{0,6}"), 0..4),
        at in 0usize..5,
        version_1_0 in proptest::bool::weighted(0.2),
    ) {
        let mut lines: Vec<String> = others.drain(..).map(|(n, v)| format!("{n}: {v}")).collect();
        let at = at.min(lines.len());
        let version = if version_1_0 { "HTTP/1.0" } else { "HTTP/1.1" };
        // "Host: a" is the smuggling shape of two Hosts, beside this one; HTTP/1.0 has no
        // Host rule, so there it is no shape at all.
        let second_host = shape == ["Host: a"];
        for (offset, line) in shape.into_iter().enumerate() {
            lines.insert(at + offset, line);
        }
        let head = format!(
            "POST /hook {version}\r\nHost: x\r\n{}\r\n\r\nbody",
            lines.join("\r\n")
        );
        match head::parse(head.as_bytes()) {
            Err(rejection) => prop_assert!(
                [400, 501].contains(&rejection.status.as_u16()),
                "{:?}", rejection
            ),
            Ok(accepted) => prop_assert!(
                second_host && version_1_0 && accepted.is_some(),
                "accepted: {:?}", head
            ),
        }
    }

    /// Arbitrary bytes never make the parser panic, and it agrees with the reference.
    #[test]
    fn fuzz_head_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        check_head(&bytes)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Chunked bodies.

/// What a strict reading of RFC 9112 section 7.1 makes of a whole chunked body.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Decoded {
    /// The body, and how many bytes its encoding took.
    Body(Vec<u8>, usize),
    /// Malformed (400), or beyond the bounds on chunks and padding (413).
    Refused(u16),
    Incomplete,
}

/// One line from `at`: `Ok(Some((line, next)))`, `Ok(None)` if its end has not arrived, `Err`
/// when it is longer than `max` with its CRLF or does not end in CRLF.
fn reference_line(input: &[u8], at: usize, max: usize) -> Result<Option<(&[u8], usize)>, ()> {
    let rest = &input[at..];
    match rest.iter().position(|b| *b == b'\n') {
        Some(lf) if lf < max => {
            if lf == 0 || rest[lf - 1] != b'\r' {
                return Err(());
            }
            Ok(Some((&rest[..lf - 1], at + lf + 1)))
        }
        _ if rest.len() >= max => Err(()),
        _ => Ok(None),
    }
}

/// A chunk extension, read as a small state machine over its characters.
fn reference_extensions(text: &[u8]) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum At {
        WantSemicolon,
        WantName,
        Name,
        AfterName,
        WantValue,
        Token,
        Quoted,
        Escaped,
    }
    let mut at = At::WantSemicolon;
    for &byte in text {
        let space = byte == b' ' || byte == b'\t';
        at = match (at, byte) {
            (At::WantSemicolon | At::AfterName, b';') => At::WantName,
            (At::WantSemicolon | At::WantName | At::WantValue | At::AfterName, _) if space => at,
            (At::WantName | At::Name, _) if tchar(byte) => At::Name,
            (At::Name, _) if space => At::AfterName,
            (At::Name, b';') => At::WantName,
            (At::Name | At::AfterName, b'=') => At::WantValue,
            (At::WantValue, b'"') => At::Quoted,
            (At::WantValue | At::Token, _) if tchar(byte) => At::Token,
            (At::Token, _) if space => At::WantSemicolon,
            (At::Token, b';') => At::WantName,
            (At::Quoted, b'"') => At::WantSemicolon,
            (At::Quoted, b'\\') => At::Escaped,
            (At::Quoted, b'\t' | b' ' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e | 0x80..=0xff) => {
                At::Quoted
            }
            (At::Escaped, b'\t' | b' ' | 0x21..=0x7e | 0x80..=0xff) => At::Quoted,
            _ => return false,
        };
    }
    // Trailing whitespace is allowed only before a `;`, so it may not end the line either.
    let ends_clean = !text.last().is_some_and(|b| *b == b' ' || *b == b'\t');
    matches!(at, At::WantSemicolon | At::Name | At::Token) && ends_clean
}

fn reference_chunked(input: &[u8]) -> Decoded {
    let mut body = Vec::new();
    let mut at = 0;
    let (mut chunks, mut padding) = (0, 0);
    loop {
        let (line, next) = match reference_line(input, at, chunked::MAX_LINE) {
            Err(()) => return Decoded::Refused(400),
            Ok(None) => return Decoded::Incomplete,
            Ok(Some(found)) => found,
        };
        let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        let significant = line[..digits].iter().skip_while(|b| **b == b'0').count();
        if digits == 0 || significant > 15 || !reference_extensions(&line[digits..]) {
            return Decoded::Refused(400);
        }
        let size = u64::from_str_radix(std::str::from_utf8(&line[..digits]).expect("hex"), 16)
            .expect("at most 15 significant digits");
        chunks += usize::from(size > 0);
        if chunks > chunked::MAX_CHUNKS as usize {
            return Decoded::Refused(413);
        }
        // Every byte of the line but its significant digits (one digit for a zero).
        padding += line.len() - significant.max(1);
        if padding > chunked::MAX_PADDING {
            return Decoded::Refused(413);
        }
        at = next;
        if size == 0 {
            break;
        }
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        let available = input.len() - at;
        if available < size {
            return Decoded::Incomplete;
        }
        body.extend_from_slice(&input[at..at + size]);
        at += size;
        match &input[at..] {
            [] | [b'\r'] => return Decoded::Incomplete,
            [b'\r', b'\n', ..] => at += 2,
            _ => return Decoded::Refused(400),
        }
    }
    let mut trailers = 0;
    loop {
        let (line, next) = match reference_line(input, at, chunked::MAX_TRAILERS - trailers) {
            Err(()) => return Decoded::Refused(400),
            Ok(None) => return Decoded::Incomplete,
            Ok(Some(found)) => found,
        };
        trailers += next - at;
        at = next;
        if line.is_empty() {
            return Decoded::Body(body, at);
        }
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            return Decoded::Refused(400);
        };
        let name_ok = colon > 0 && line[..colon].iter().all(|b| tchar(*b));
        let value_ok = line[colon + 1..]
            .iter()
            .all(|b| matches!(b, b' ' | b'\t' | 0x21..=0x7e | 0x80..=0xff));
        if !name_ok || !value_ok {
            return Decoded::Refused(400);
        }
    }
}

/// The real decoder, fed `input` in pieces cut at `cuts`.
fn real_chunked(input: &[u8], cuts: &[usize]) -> Decoded {
    let mut cuts: Vec<usize> = cuts.iter().map(|cut| cut % (input.len() + 1)).collect();
    cuts.push(input.len());
    cuts.sort_unstable();
    let mut pieces = cuts.into_iter();
    let mut fed = 0;
    let mut buf = BytesMut::new();
    let mut decoder = Decoder::new();
    let mut body = Vec::new();
    loop {
        match decoder.step(&mut buf) {
            Ok(Step::Data(data)) => body.extend_from_slice(&data),
            Ok(Step::Done) => return Decoded::Body(body, fed - buf.len()),
            Ok(Step::More(_)) => match pieces.next() {
                Some(end) => {
                    buf.extend_from_slice(&input[fed..end]);
                    fed = end;
                }
                None => return Decoded::Incomplete,
            },
            Err(chunked::Refused::Malformed(_)) => return Decoded::Refused(400),
            Err(chunked::Refused::TooLarge(_)) => return Decoded::Refused(413),
        }
    }
}

#[derive(Debug, Clone)]
struct ChunkedSpec {
    body: Vec<u8>,
    /// Chunk lengths, taken in turn (the last one repeated) until the body is used up.
    sizes: Vec<usize>,
    leading_zeros: usize,
    upper_hex: bool,
    extensions: Vec<String>,
    trailers: Vec<String>,
}

/// What an encoding spends on framing, against the decoder's bounds.
struct Framed {
    /// Chunks of data.
    chunks: usize,
    /// Bytes of chunk-size lines beyond their sizes' digits.
    padding: usize,
}

impl Framed {
    fn within_bounds(&self) -> bool {
        self.chunks <= chunked::MAX_CHUNKS as usize && self.padding <= chunked::MAX_PADDING
    }
}

impl ChunkedSpec {
    fn encode(&self) -> (Vec<u8>, Framed) {
        let mut out = Vec::new();
        let mut framed = Framed {
            chunks: 0,
            padding: 0,
        };
        let mut rest = &self.body[..];
        let mut sizes = self.sizes.iter().cycle();
        let mut extensions = self.extensions.iter().cycle();
        let mut size_line = |out: &mut Vec<u8>, size: usize| {
            let hex = match self.upper_hex {
                true => format!("{size:X}"),
                false => format!("{size:x}"),
            };
            let ext = extensions.next().map_or("", String::as_str);
            framed.chunks += usize::from(size > 0);
            framed.padding += self.leading_zeros + ext.len();
            out.extend_from_slice(
                format!("{}{hex}{ext}\r\n", "0".repeat(self.leading_zeros)).as_bytes(),
            );
        };
        while !rest.is_empty() {
            let size = (*sizes.next().expect("sizes")).clamp(1, rest.len());
            size_line(&mut out, size);
            out.extend_from_slice(&rest[..size]);
            out.extend_from_slice(b"\r\n");
            rest = &rest[size..];
        }
        size_line(&mut out, 0);
        for trailer in &self.trailers {
            out.extend_from_slice(trailer.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        (out, framed)
    }
}

/// Chunked encodings: mostly small bodies in a few chunks with the extensions the grammar allows,
/// and some at the bounds: bodies in about `MAX_CHUNKS` one-byte chunks (with a leading zero each,
/// so their padding is at its bound too), and chunks whose extensions add up to about
/// `MAX_PADDING`.
fn chunked_spec() -> impl Strategy<Value = ChunkedSpec> {
    let max_chunks = chunked::MAX_CHUNKS as usize;
    let small = (
        proptest::collection::vec(any::<u8>(), 0..600),
        proptest::collection::vec(1usize..300, 1..6),
        0usize..3,
        proptest::collection::vec(
            select(
                &[
                    "",
                    ";a",
                    ";a=b",
                    " ; a = b",
                    ";a=\"q \\\" ;\"",
                    ";a;b=c",
                    "\t;x",
                ][..],
            )
            .prop_map(str::to_owned),
            1..4,
        ),
    );
    let many_chunks = (
        proptest::collection::vec(any::<u8>(), max_chunks - 2..max_chunks + 2),
        Just(vec![1]),
        0usize..2,
        Just(vec![String::new()]),
    );
    let padded = (
        proptest::collection::vec(any::<u8>(), 1..8),
        proptest::collection::vec(1usize..4, 1..3),
        0usize..3,
        proptest::collection::vec(
            (0usize..2100).prop_map(|length| format!(";x={}", "v".repeat(length))),
            1..3,
        ),
    );
    (
        prop_oneof![6 => small, 1 => many_chunks, 1 => padded],
        any::<bool>(),
        proptest::collection::vec("[A-Za-z-]{1,8}:[ -~]{0,12}", 0..3),
    )
        .prop_map(
            |((body, sizes, leading_zeros, extensions), upper_hex, trailers)| ChunkedSpec {
                body,
                sizes,
                leading_zeros,
                upper_hex,
                extensions,
                trailers,
            },
        )
}

const NEXT_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

proptest! {
    /// Valid encodings of random bodies, read in random pieces, decode to the body, and end
    /// exactly where the encoding does (the next request follows untouched); those whose framing
    /// goes beyond the bounds on chunks and padding are refused 413.
    #[test]
    fn fuzz_chunked_valid_encodings_decode_to_the_body(
        spec in chunked_spec(),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let (mut input, framed) = spec.encode();
        let length = input.len();
        input.extend_from_slice(NEXT_REQUEST);
        let expected = match framed.within_bounds() {
            true => Decoded::Body(spec.body, length),
            false => Decoded::Refused(413),
        };
        prop_assert_eq!(reference_chunked(&input), expected.clone());
        prop_assert_eq!(real_chunked(&input, &cuts), expected);
    }

    /// Mutated encodings decode exactly as the reference reads them, or are refused by both:
    /// never a different body, never a different end.
    #[test]
    fn fuzz_chunked_mutations_agree_with_the_reference(
        spec in chunked_spec(),
        mutations in proptest::collection::vec(mutation(), 1..4),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut input = mutate(spec.encode().0, &mutations);
        input.extend_from_slice(NEXT_REQUEST);
        let shown = String::from_utf8_lossy(&input).into_owned();
        prop_assert_eq!(real_chunked(&input, &cuts), reference_chunked(&input), "{:?}", shown);
    }

    /// Arbitrary bytes never make the decoder panic, and it agrees with the reference.
    #[test]
    fn fuzz_chunked_arbitrary_bytes(
        input in proptest::collection::vec(
            prop_oneof![3 => select(&b"0123456789aAfF;= \"\\\r\nxX:-"[..]), 1 => any::<u8>()],
            0..64,
        ),
        cuts in proptest::collection::vec(any::<usize>(), 0..8),
    ) {
        prop_assert_eq!(real_chunked(&input, &cuts), reference_chunked(&input));
    }
}

/// The limits hold at their edges: the reference and the decoder agree there too, and a trailer
/// section of exactly 4096 bytes passes while one more byte is refused.
#[test]
fn chunked_limits_at_their_edges() {
    for extra in [0, 1] {
        // "0\r\n", then "X:" and padding, CRLF, and the final CRLF: 4096 + extra trailer bytes.
        let padding = "v".repeat(chunked::MAX_TRAILERS - 2 - 2 - 2 + extra);
        let input = format!("0\r\nX:{padding}\r\n\r\n").into_bytes();
        let expected = match extra {
            0 => Decoded::Body(Vec::new(), input.len()),
            _ => Decoded::Refused(400),
        };
        assert_eq!(reference_chunked(&input), expected);
        assert_eq!(real_chunked(&input, &[100, 3000]), expected);
    }
    let long_size = format!("{}1\r\nx\r\n0\r\n\r\n", "0".repeat(chunked::MAX_LINE));
    assert_eq!(
        reference_chunked(long_size.as_bytes()),
        Decoded::Refused(400)
    );
    assert_eq!(
        real_chunked(long_size.as_bytes(), &[]),
        Decoded::Refused(400)
    );
    // The longest line there may be: its CRLF ends at byte 4096.
    let longest = format!(
        "1;x={}\r\nx\r\n0\r\n\r\n",
        "v".repeat(chunked::MAX_LINE - 6)
    );
    let expected = Decoded::Body(b"x".to_vec(), longest.len());
    assert_eq!(reference_chunked(longest.as_bytes()), expected);
    assert_eq!(real_chunked(longest.as_bytes(), &[4000]), expected);
}

/// L4: the bounds on chunks and on the bytes of chunk-size lines beyond their sizes hold at
/// their edges: a body at each bound decodes, one chunk or one byte more is refused 413, and the
/// decoder and the reference agree.
#[test]
fn chunked_framing_bounds_at_their_edges() {
    let body = |chunks: usize, first_line: &str| {
        let mut input = format!("{first_line}\r\nx\r\n");
        input.push_str(&"1\r\nx\r\n".repeat(chunks - 1));
        input.push_str("0\r\n\r\n");
        input
    };
    let max_chunks = chunked::MAX_CHUNKS as usize;
    // Two lines of padding: the first line's extension, and the last chunk's zeros.
    let padded = |padding: usize| {
        let mut input = format!("1;x={}\r\nx\r\n", "v".repeat(padding - 3 - 10));
        input.push_str(&format!("{}\r\n\r\n", "0".repeat(11)));
        input
    };
    for (input, chunks) in [
        (body(max_chunks, "1"), Some(max_chunks)),
        (body(max_chunks + 1, "1"), None),
        (padded(chunked::MAX_PADDING), Some(1)),
        (padded(chunked::MAX_PADDING + 1), None),
    ] {
        let expected = match chunks {
            Some(chunks) => Decoded::Body(vec![b'x'; chunks], input.len()),
            None => Decoded::Refused(413),
        };
        assert_eq!(reference_chunked(input.as_bytes()), expected);
        assert_eq!(real_chunked(input.as_bytes(), &[10, 3000, 7000]), expected);
    }
}
