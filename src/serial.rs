//! Splitting a device's USB serial output into log lines: bytes arrive in arbitrary pieces (a line,
//! half a line, a UTF-8 character cut in two), lines end in `\n`, `\r\n` or `\r`, and a device that
//! never ends a line must not make the page buffer without bound.

/// Longest line kept whole; a longer one is cut into pieces of this size.
pub const MAX_LINE: usize = 4096;

#[derive(Debug, Default)]
pub struct LineSplitter {
    pending: Vec<u8>,
    after_cr: bool,
}

impl LineSplitter {
    pub fn new() -> LineSplitter {
        LineSplitter::default()
    }

    /// Feeds the next bytes; returns the lines they complete (without their line ends).
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        for &byte in bytes {
            match byte {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\r' | b'\n' => {
                    self.after_cr = byte == b'\r';
                    lines.push(self.take());
                }
                _ => {
                    self.after_cr = false;
                    self.pending.push(byte);
                    if self.pending.len() >= MAX_LINE {
                        lines.push(self.take());
                    }
                }
            }
        }
        lines
    }

    fn take(&mut self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut self.pending)).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_at_any_line_ending_and_survive_any_split() {
        let log = "0000001234 [app] INFO: published WebhookDemo01 {\"id\":1}: ok\r\nhook response: 25 °C\nlast\r";
        let whole = LineSplitter::new().feed(log.as_bytes());
        assert_eq!(
            whole,
            [
                "0000001234 [app] INFO: published WebhookDemo01 {\"id\":1}: ok",
                "hook response: 25 °C",
                "last"
            ]
        );
        let bytes = log.as_bytes();
        for split in 0..bytes.len() {
            let mut splitter = LineSplitter::new();
            let mut lines = splitter.feed(&bytes[..split]);
            lines.extend(splitter.feed(&bytes[split..]));
            assert_eq!(lines, whole, "split at {split}");
        }
    }

    #[test]
    fn blank_lines_are_kept_and_endless_lines_are_cut() {
        assert_eq!(LineSplitter::new().feed(b"a\n\nb\n"), ["a", "", "b"]);
        let mut splitter = LineSplitter::new();
        let lines = splitter.feed(&vec![b'x'; MAX_LINE * 2 + 10]);
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| l.len() == MAX_LINE));
        assert_eq!(splitter.feed(b"\n"), ["x".repeat(10)]);
    }
}
