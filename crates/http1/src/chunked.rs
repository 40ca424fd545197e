//! The chunked transfer coding of a request body (RFC 9112 section 7.1), decoded without IO: the
//! connection fills a buffer from the socket and asks the decoder for the next step, so the same
//! code is checked here against every way the bytes can be split.
//!
//! It is strict on purpose. A chunk-size is hex digits only (no sign, no `0x`, no spaces), every
//! line ends in CRLF, chunk data is followed by CRLF at exactly its size, and the trailer section
//! is a few well-formed fields: each leniency is a place where a proxy in front and this server
//! could disagree on where a request ends, which is what request smuggling relies on.
//!
//! It is bounded in everything but its data, which the service bounds (the relay takes 1 MiB):
//! a body of a million one-byte chunks costs a frame per chunk, and chunk extensions and
//! zero padding are bytes the client sends that no one reads. So a body may have at most
//! [`MAX_CHUNKS`] chunks and [`MAX_PADDING`] bytes of chunk-size lines beyond their digits
//! (both 413: the body is too large in framing rather than malformed), each line at most
//! [`MAX_LINE`] bytes (400). hyper bounds extensions the same way, per body.

use bytes::{Buf, Bytes, BytesMut};

/// Longest chunk-size line (with its extensions and line end).
pub(crate) const MAX_LINE: usize = 4096;
/// Most chunks of data one body may have. Clients send chunks of kilobytes (a write each);
/// 4096 still carries a mebibyte in chunks of 256 bytes.
pub(crate) const MAX_CHUNKS: u32 = 4096;
/// Most bytes all of a body's chunk-size lines may hold beyond their size: extensions,
/// whitespace and leading zeros. Nothing here reads extensions, and clients rarely send any.
pub(crate) const MAX_PADDING: usize = 4096;
/// Largest trailer section, line endings included.
pub(crate) const MAX_TRAILERS: usize = 4096;
/// More significant hex digits than this cannot be a size anyone means (2^60 bytes).
const MAX_SIZE_DIGITS: usize = 15;

/// Where the decoder is in the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting a chunk-size line.
    Size,
    /// Inside chunk data, with this many bytes left.
    Data(u64),
    /// Expecting the CRLF that ends chunk data.
    DataEnd,
    /// Inside the trailer section, with this many bytes of it read.
    Trailers(usize),
    Done,
}

/// What the next bytes of the body amount to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Body bytes for the service.
    Data(Bytes),
    /// More input is needed; at least this many bytes would be useful.
    More(usize),
    /// The body ended; what follows in the buffer is the next request.
    Done,
}

/// Why a chunked body is refused, in words for the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The framing breaks RFC 9112: 400.
    Malformed(&'static str),
    /// The framing is well formed but beyond this server's bounds: 413.
    TooLarge(&'static str),
}

/// A refusal for malformed framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed(pub &'static str);

impl From<Malformed> for Refused {
    fn from(Malformed(message): Malformed) -> Refused {
        Refused::Malformed(message)
    }
}

#[derive(Debug)]
pub(crate) struct Decoder {
    state: State,
    /// Chunks of data read so far.
    chunks: u32,
    /// Bytes of chunk-size lines beyond their size read so far.
    padding: usize,
}

impl Decoder {
    pub(crate) fn new() -> Decoder {
        Decoder {
            state: State::Size,
            chunks: 0,
            padding: 0,
        }
    }

    /// Consumes what it can of `buf` and says what it was.
    pub(crate) fn step(&mut self, buf: &mut BytesMut) -> Result<Step, Refused> {
        loop {
            match self.state {
                State::Size => {
                    let Some(line) = take_line(buf, MAX_LINE, "chunk-size line too long")? else {
                        return Ok(Step::More(1));
                    };
                    let ChunkSize { size, padding } = chunk_size(&line)?;
                    if size > 0 {
                        self.chunks += 1;
                        if self.chunks > MAX_CHUNKS {
                            return Err(Refused::TooLarge("request body in more than 4096 chunks"));
                        }
                    }
                    self.padding += padding;
                    if self.padding > MAX_PADDING {
                        return Err(Refused::TooLarge(
                            "chunk extensions and padding over 4096 bytes in all",
                        ));
                    }
                    self.state = if size == 0 {
                        State::Trailers(0)
                    } else {
                        State::Data(size)
                    };
                }
                State::Data(left) => {
                    if buf.is_empty() {
                        return Ok(Step::More(usize::try_from(left).unwrap_or(usize::MAX)));
                    }
                    let take = usize::try_from(left).map_or(buf.len(), |left| left.min(buf.len()));
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::DataEnd
                    } else {
                        State::Data(left)
                    };
                    return Ok(Step::Data(buf.split_to(take).freeze()));
                }
                State::DataEnd => match buf.first() {
                    None => return Ok(Step::More(2)),
                    Some(b'\r') if buf.len() < 2 => return Ok(Step::More(1)),
                    Some(b'\r') if buf[1] == b'\n' => {
                        buf.advance(2);
                        self.state = State::Size;
                    }
                    Some(b'\n') => return Err(BARE_LF.into()),
                    Some(_) => {
                        return Err(Refused::Malformed(
                            "chunk data longer than its chunk-size (no CRLF after it)",
                        ));
                    }
                },
                State::Trailers(read) => {
                    let Some(line) = take_line(
                        buf,
                        MAX_TRAILERS - read,
                        "trailer section larger than 4096 bytes",
                    )?
                    else {
                        return Ok(Step::More(1));
                    };
                    if line.is_empty() {
                        self.state = State::Done;
                        return Ok(Step::Done);
                    }
                    trailer_field(&line)?;
                    self.state = State::Trailers(read + line.len() + 2);
                }
                State::Done => return Ok(Step::Done),
            }
        }
    }
}

const BARE_LF: Malformed = Malformed("a line in the chunked body ends in LF without CR");

/// Takes the next line off `buf`, without its CRLF, once it is complete; refuses a line longer
/// than `max` bytes with its CRLF, and a line ending in anything but CRLF.
fn take_line(
    buf: &mut BytesMut,
    max: usize,
    too_long: &'static str,
) -> Result<Option<BytesMut>, Malformed> {
    let Some(end) = buf.iter().take(max).position(|byte| *byte == b'\n') else {
        return match buf.len() >= max {
            true => Err(Malformed(too_long)),
            false => Ok(None),
        };
    };
    if end == 0 || buf[end - 1] != b'\r' {
        return Err(BARE_LF);
    }
    let mut line = buf.split_to(end + 1);
    line.truncate(end - 1);
    Ok(Some(line))
}

/// A chunk-size line read: the size, and how many of the line's bytes were not needed to say it
/// (leading zeros, whitespace, extensions).
struct ChunkSize {
    size: u64,
    padding: usize,
}

/// `chunk-size [ chunk-ext ]`: hex digits, then nothing or `BWS ; ext-name [= value]` repeated.
fn chunk_size(line: &[u8]) -> Result<ChunkSize, Malformed> {
    let digits = line
        .iter()
        .take_while(|byte| byte.is_ascii_hexdigit())
        .count();
    if digits == 0 {
        return Err(INVALID_SIZE);
    }
    let significant = line[..digits]
        .iter()
        .skip_while(|byte| **byte == b'0')
        .count();
    if significant > MAX_SIZE_DIGITS {
        return Err(Malformed("chunk-size too large"));
    }
    let size = line[..digits].iter().fold(0u64, |size, byte| {
        // Checked above: at most 15 significant digits fit in a u64.
        let digit = char::from(*byte).to_digit(16).unwrap_or_default();
        (size << 4) | u64::from(digit)
    });
    chunk_extensions(&line[digits..])?;
    Ok(ChunkSize {
        size,
        // One digit is needed even for a size of zero.
        padding: line.len() - significant.max(1),
    })
}

/// `*( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] )`: read and ignored, as
/// nothing here uses extensions, but checked, since a lenient reading is a smuggling vector.
fn chunk_extensions(mut rest: &[u8]) -> Result<(), Malformed> {
    const INVALID: Malformed = Malformed("invalid chunk extension");
    let space = |rest: &[u8]| -> usize {
        rest.iter()
            .take_while(|byte| matches!(byte, b' ' | b'\t'))
            .count()
    };
    let mut error = INVALID_SIZE;
    while !rest.is_empty() {
        rest = match rest.get(space(rest)..) {
            Some([b';', after @ ..]) => after,
            _ => return Err(error),
        };
        error = INVALID;
        rest = &rest[space(rest)..];
        let name = token_length(rest);
        if name == 0 {
            return Err(INVALID);
        }
        rest = &rest[name..];
        let Some([b'=', after @ ..]) = rest.get(space(rest)..) else {
            continue;
        };
        rest = &after[space(after)..];
        let value = match rest.first() {
            Some(b'"') => quoted_string_length(rest).ok_or(INVALID)?,
            _ => token_length(rest),
        };
        if value == 0 {
            return Err(INVALID);
        }
        rest = &rest[value..];
    }
    Ok(())
}

const INVALID_SIZE: Malformed =
    Malformed("invalid chunk-size: expected hex digits (no sign, no 0x, no spaces)");

/// A trailer field: `token ":" OWS field-value OWS`, with visible characters, spaces and tabs.
fn trailer_field(line: &[u8]) -> Result<(), Malformed> {
    let name = token_length(line);
    let valid = name > 0
        && line.get(name) == Some(&b':')
        && line[name + 1..]
            .iter()
            .all(|byte| matches!(byte, b' ' | b'\t' | 0x21..=0x7e | 0x80..=0xff));
    match valid {
        true => Ok(()),
        false => Err(Malformed("invalid trailer field")),
    }
}

/// How many bytes at the start of `bytes` are token characters (RFC 9110 section 5.6.2).
fn token_length(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .take_while(|byte| byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(byte))
        .count()
}

/// The length of the quoted-string at the start of `bytes`, quotes included; `None` when it is
/// not one.
fn quoted_string_length(bytes: &[u8]) -> Option<usize> {
    let mut at = 1;
    loop {
        match bytes.get(at)? {
            b'"' => return Some(at + 1),
            b'\\' => match bytes.get(at + 1)? {
                b'\t' | b' ' | 0x21..=0x7e | 0x80..=0xff => at += 2,
                _ => return None,
            },
            b'\t' | b' ' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e | 0x80..=0xff => at += 1,
            _ => return None,
        }
    }
}
