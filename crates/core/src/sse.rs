//! An incremental Server-Sent Events parser, as the HTML standard specifies it: fed the bytes of a
//! `text/event-stream` in whatever pieces the network delivers, it returns each complete event.
//!
//! The page reads both of its streams (the relay's and Particle's, which needs an `Authorization`
//! header and so cannot use `EventSource`) with `fetch` and this parser. The maintained crates
//! (`eventsource-stream`, `sse-codec`) parse a `futures` stream with `nom` underneath; in the page
//! that machinery would cost more of the transfer budget than these few lines, which are tested
//! against the standard's rules below.

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
            "retry" => {
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
}
