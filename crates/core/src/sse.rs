//! An incremental Server-Sent Events parser, as the HTML standard specifies it: fed the bytes of a
//! `text/event-stream` in whatever pieces the network delivers, it returns each complete event.
//!
//! The page reads both of its streams (the relay's and Particle's, which needs an `Authorization`
//! header and so cannot use `EventSource`) with `fetch` and this parser. The maintained crates
//! (`eventsource-stream`, `sse-codec`) parse a `futures` stream with `nom` underneath; in the page
//! that machinery would cost more of the transfer budget than these few lines, which are tested
//! against the standard's rules below, and against a reading of the whole stream done the
//! standard's way on generated streams cut at random (`fuzz_sse_…`).

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, or `message` when there was none.
    pub event: String,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
    /// The last `id:` seen on the stream so far (it persists across events, as the standard says).
    pub id: Option<String>,
}

/// The parser's state between pieces.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of a line not yet complete.
    pending: Vec<u8>,
    /// The last byte fed was a `\r`, so a `\n` that follows ends nothing new.
    after_cr: bool,
    /// A line has been read: a byte order mark is skipped only at the very start.
    started: bool,
    event: String,
    data: String,
    has_data: bool,
    last_id: Option<String>,
    /// The `retry:` the server asked for, in milliseconds.
    pub retry_ms: Option<u64>,
}

impl SseParser {
    pub fn new() -> SseParser {
        SseParser::default()
    }

    /// The last event id seen: what to send as `Last-Event-ID` when reconnecting.
    pub fn last_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// Feeds the next piece of the stream; returns the events it completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        let mut events = Vec::new();
        for &byte in bytes {
            match byte {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\r' | b'\n' => {
                    self.after_cr = byte == b'\r';
                    let line = std::mem::take(&mut self.pending);
                    if let Some(event) = self.line(&String::from_utf8_lossy(&line)) {
                        events.push(event);
                    }
                }
                _ => {
                    self.after_cr = false;
                    self.pending.push(byte);
                }
            }
        }
        events
    }

    fn line(&mut self, line: &str) -> Option<SseEvent> {
        let line = match std::mem::replace(&mut self.started, true) {
            false => line.strip_prefix('\u{feff}').unwrap_or(line),
            true => line,
        };
        if line.is_empty() {
            let event = std::mem::take(&mut self.event);
            let data = std::mem::take(&mut self.data);
            if !std::mem::take(&mut self.has_data) {
                return None;
            }
            return Some(SseEvent {
                event: if event.is_empty() {
                    "message".to_owned()
                } else {
                    event
                },
                data,
                id: self.last_id.clone(),
            });
        }
        if line.starts_with(':') {
            return None;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => self.event = value.to_owned(),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.last_id = Some(value.to_owned()),
            // Only ASCII digits: `parse` alone would also take a leading `+`.
            "retry" if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) => {
                if let Ok(ms) = value.parse() {
                    self.retry_ms = Some(ms);
                }
            }
            _ => {}
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use proptest::{prelude::*, sample::select};

    use super::*;

    fn all(parser: &mut SseParser, pieces: &[&[u8]]) -> Vec<SseEvent> {
        pieces.iter().flat_map(|piece| parser.feed(piece)).collect()
    }

    fn event(name: &str, data: &str, id: Option<&str>) -> SseEvent {
        SseEvent {
            event: name.to_owned(),
            data: data.to_owned(),
            id: id.map(str::to_owned),
        }
    }

    #[test]
    fn particles_stream_format() {
        let stream = b":ok\n\nevent: WebhookDemo01\ndata: {\"data\":\"25\",\"ttl\":60,\"published_at\":\"2026-11-28T10:00:00.000Z\",\"coreid\":\"api\"}\n\n:\n\n";
        let events = SseParser::new().feed(stream);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].event, "WebhookDemo01");
        assert!(events[0].data.starts_with("{\"data\":\"25\""));
    }

    #[test]
    fn events_split_anywhere_come_out_whole() {
        let stream =
            b"retry: 2000\nid: 0\nevent: start\ndata: {\"a\":1}\n\nid: 1\nevent: hook\ndata: x\n\n";
        let whole = SseParser::new().feed(stream);
        for split in 0..stream.len() {
            let mut parser = SseParser::new();
            let (a, b) = stream.split_at(split);
            assert_eq!(all(&mut parser, &[a, b]), whole, "split at {split}");
            assert_eq!(parser.retry_ms, Some(2000));
            assert_eq!(parser.last_id(), Some("1"));
        }
        assert_eq!(
            whole,
            [
                event("start", "{\"a\":1}", Some("0")),
                event("hook", "x", Some("1"))
            ]
        );
    }

    #[test]
    fn line_endings_data_lines_and_defaults() {
        let mut parser = SseParser::new();
        let events = all(
            &mut parser,
            &[
                b"data: one\r\ndata:two\r",
                b"\n\r\ndata\n\ndata:  spaced\revent:e\r\r",
            ],
        );
        assert_eq!(
            events,
            [
                event("message", "one\ntwo", None),
                event("message", "", None),
                event("e", " spaced", None)
            ]
        );
    }

    #[test]
    fn comments_unknown_fields_and_empty_events_dispatch_nothing() {
        let mut parser = SseParser::new();
        assert!(
            parser
                .feed(b": keepalive\n\nevent: x\n\nfoo: bar\nid: 7\n\nretry: soon\n\n")
                .is_empty()
        );
        assert_eq!(
            parser.last_id(),
            Some("7"),
            "an id without data still counts"
        );
        assert_eq!(parser.retry_ms, None);
        // An event name does not leak into the next event.
        assert_eq!(
            parser.feed(b"data: d\n\n"),
            [event("message", "d", Some("7"))]
        );
    }

    #[test]
    fn multibyte_text_split_between_pieces_survives() {
        let stream = "data: température 25 °C\n\n".as_bytes();
        let mut parser = SseParser::new();
        let events = all(&mut parser, &[&stream[..15], &stream[15..]]);
        assert_eq!(events[0].data, "température 25 °C");
    }

    #[test]
    fn a_leading_byte_order_mark_is_skipped_and_retry_takes_digits_only() {
        let mut parser = SseParser::new();
        let events = all(
            &mut parser,
            &[b"\xef\xbb", b"\xbfdata: a\n\nretry: +5\nretry: 1 \n"],
        );
        assert_eq!(events, [event("message", "a", None)]);
        assert_eq!(parser.retry_ms, None);
        // Only the first: a later one is part of a field name.
        assert!(parser.feed(b"\xef\xbb\xbfdata: b\n\n").is_empty());
    }

    /// What the HTML standard's "event stream interpretation" makes of a whole stream: decoded
    /// at once, one leading byte order mark dropped, split at CRLF, LF or CR, each line applied
    /// in turn. An unterminated last line is not yet a line. Written from the standard, without
    /// the parser's byte-by-byte state, so the two can disagree.
    fn reference(bytes: &[u8]) -> (Vec<SseEvent>, Option<String>, Option<u64>) {
        let text = String::from_utf8_lossy(bytes);
        let mut rest = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let (mut events, mut last_id, mut retry) = (Vec::new(), None, None);
        let (mut event_type, mut data) = (String::new(), String::new());
        while let Some(end) = rest.find(['\r', '\n']) {
            let line = &rest[..end];
            let ending = if rest[end..].starts_with("\r\n") {
                2
            } else {
                1
            };
            rest = &rest[end + ending..];
            if line.is_empty() {
                if data.is_empty() {
                    event_type.clear();
                    continue;
                }
                data.pop();
                events.push(SseEvent {
                    event: match event_type.is_empty() {
                        true => "message".to_owned(),
                        false => std::mem::take(&mut event_type),
                    },
                    data: std::mem::take(&mut data),
                    id: last_id.clone(),
                });
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = match line.find(':') {
                Some(colon) => {
                    let value = &line[colon + 1..];
                    (&line[..colon], value.strip_prefix(' ').unwrap_or(value))
                }
                None => (line, ""),
            };
            match field {
                "event" => event_type = value.to_owned(),
                "data" => {
                    data.push_str(value);
                    data.push('\n');
                }
                "id" if !value.contains('\0') => last_id = Some(value.to_owned()),
                "retry" if !value.is_empty() && value.chars().all(|c| c.is_ascii_digit()) => {
                    retry = value.parse().ok().or(retry);
                }
                _ => {}
            }
        }
        (events, last_id, retry)
    }

    /// Feeds `bytes` in pieces cut at `cuts` (taken modulo the length).
    fn pieces(bytes: &[u8], cuts: &[usize]) -> (Vec<SseEvent>, Option<String>, Option<u64>) {
        let mut cuts: Vec<usize> = cuts.iter().map(|cut| cut % (bytes.len() + 1)).collect();
        cuts.push(bytes.len());
        cuts.sort_unstable();
        let mut parser = SseParser::new();
        let mut events = Vec::new();
        let mut from = 0;
        for cut in cuts {
            events.extend(parser.feed(&bytes[from..cut]));
            from = cut;
        }
        (events, parser.last_id().map(str::to_owned), parser.retry_ms)
    }

    /// A stream from the format's grammar: fields the parser knows and some it must ignore,
    /// values with multibyte text, each line ending in CRLF, LF or CR.
    fn stream() -> impl Strategy<Value = Vec<u8>> {
        let line = prop_oneof![
            Just(String::new()),
            Just(String::new()),
            "(event|data|id|retry|:|ignored|Data)(:| |: |)[a-z0-9 \u{e9}\u{b0}\u{1f600}:+]{0,6}",
            Just("id: a\0b".to_owned()),
            Just("retry: 250".to_owned()),
            Just("data".to_owned()),
        ];
        let ending = select(&["\r\n", "\n", "\r"][..]);
        (
            proptest::bool::weighted(0.2),
            proptest::collection::vec((line, ending), 0..24),
        )
            .prop_map(|(bom, lines)| {
                let mut text = String::from(if bom { "\u{feff}" } else { "" });
                for (line, ending) in lines {
                    text.push_str(&line);
                    text.push_str(ending);
                }
                text.into_bytes()
            })
    }

    proptest! {
        /// A stream cut anywhere (inside CRLF, inside a multibyte character) gives the events
        /// the standard's reading of the whole gives, with the same last id and retry.
        #[test]
        fn fuzz_sse_split_anywhere_matches_the_standard(
            bytes in stream(),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
            cut_after_every_cr in any::<bool>(),
        ) {
            let mut cuts = cuts;
            if cut_after_every_cr {
                let after_cr = bytes.iter().enumerate().filter(|(_, b)| **b == b'\r');
                cuts.extend(after_cr.map(|(at, _)| at + 1));
            }
            prop_assert_eq!(pieces(&bytes, &cuts), reference(&bytes));
        }

        /// Arbitrary bytes, in arbitrary pieces, never make the parser panic and read as the
        /// standard reads them.
        #[test]
        fn fuzz_sse_arbitrary_bytes(
            bytes in proptest::collection::vec(
                prop_oneof![
                    3 => select(&b"\r\n: adeinotvry\0\xef\xbb\xbf\xc3\xa9"[..]),
                    1 => any::<u8>(),
                ],
                0..96,
            ),
            cuts in proptest::collection::vec(any::<usize>(), 0..8),
        ) {
            prop_assert_eq!(pieces(&bytes, &cuts), reference(&bytes));
        }
    }
}
