//! Split-line reassembly. Docker writes lines over 16 KiB as pieces whose `log` lacks the trailing
//! newline; CRI runtimes mark pieces `P`. stdout and stderr are split independently and their
//! pieces interleave, so pieces are joined per stream. A joined line longer than the maximum is
//! cut there and marked, and the rest of its pieces are skipped: never dropped silently.

use crate::log_text::LogText;
use crate::record::Stream;
use crate::time_text::TimeText;

/// One decoded physical line.
#[derive(Debug)]
pub struct Piece<'a> {
    /// Borrowed from the line read while it can be (a CRI message).
    pub log: LogText<'a>,
    pub stream: Option<Stream>,
    pub time_text: TimeText,
    pub partial: bool,
    pub start_offset: u64,
    pub end_offset: u64,
}

/// A whole logical line, ready to become a record.
#[derive(Debug)]
pub struct Line<'a> {
    pub log: LogText<'a>,
    pub stream: Option<Stream>,
    /// The time of the first piece.
    pub time_text: TimeText,
    pub start_offset: u64,
    pub end_offset: u64,
    pub truncated: bool,
}

/// The longest line it makes is the caller's (`max_bytes` of [`Assembler::push`]): longer ones
/// are cut to it and marked truncated. Kept by the caller so that this is one vector, as a node
/// holds one per tailed file.
#[derive(Debug, Default)]
pub struct Assembler {
    /// Unfinished lines, which outlive the read they came from and so own their text.
    pending: Vec<Line<'static>>,
}

impl Assembler {
    /// Adds a piece; returns the line it completes, if any.
    pub fn push<'a>(&mut self, piece: Piece<'a>, max_bytes: usize) -> Option<Line<'a>> {
        let slot = self.pending.iter().position(|l| l.stream == piece.stream);
        match slot {
            None if !piece.partial => {
                let mut line = Line {
                    log: piece.log,
                    stream: piece.stream,
                    time_text: piece.time_text,
                    start_offset: piece.start_offset,
                    end_offset: piece.end_offset,
                    truncated: false,
                };
                line.cut_to(max_bytes);
                Some(line)
            }
            None => {
                let mut line = Line {
                    log: piece.log.into_owned(),
                    stream: piece.stream,
                    time_text: piece.time_text,
                    start_offset: piece.start_offset,
                    end_offset: piece.end_offset,
                    truncated: false,
                };
                line.cut_to(max_bytes);
                self.pending.push(line);
                None
            }
            Some(i) => {
                let line = &mut self.pending[i];
                if !line.truncated {
                    line.log.push(&piece.log);
                }
                line.end_offset = piece.end_offset;
                line.cut_to(max_bytes);
                if piece.partial {
                    None
                } else {
                    Some(self.pending.swap_remove(i))
                }
            }
        }
    }

    /// The offset of the oldest unfinished line: reading must resume there after a restart.
    pub fn oldest_pending_start(&self) -> Option<u64> {
        self.pending.iter().map(|l| l.start_offset).min()
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Gives up waiting for the rest of unfinished lines (end of stream, file gone): they are
    /// shipped as they are.
    pub fn drain(&mut self) -> Vec<Line<'static>> {
        let mut lines: Vec<Line<'static>> = self.pending.drain(..).collect();
        lines.sort_by_key(|l| l.start_offset);
        lines
    }
}

impl Line<'_> {
    /// Cuts a `log` longer than `max_bytes` to it and marks the line truncated.
    pub(crate) fn cut_to(&mut self, max_bytes: usize) {
        if self.log.len() > max_bytes {
            self.log.truncate_to(max_bytes);
            self.truncated = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json_text::JsonText;

    fn piece(s: &str, stream: Stream, partial: bool, start: u64) -> Piece<'_> {
        Piece {
            log: JsonText::escape(s).into(),
            stream: Some(stream),
            time_text: TimeText::new(&format!("t{start}")),
            partial,
            start_offset: start,
            end_offset: start + 10,
        }
    }

    #[test]
    fn joins_pieces_per_stream_across_interleaving() {
        let mut a = Assembler::default();
        assert!(a
            .push(piece("AA", Stream::Stdout, true, 0), 1 << 20)
            .is_none());
        let err = a
            .push(piece("err\n", Stream::Stderr, false, 10), 1 << 20)
            .unwrap();
        assert_eq!(err.log.text(), "err\n");
        assert_eq!(a.oldest_pending_start(), Some(0));
        assert!(a
            .push(piece("BB", Stream::Stdout, true, 20), 1 << 20)
            .is_none());
        let l = a
            .push(piece("CC\n", Stream::Stdout, false, 30), 1 << 20)
            .unwrap();
        assert_eq!(l.log.text(), "AABBCC\n");
        assert_eq!(l.time_text, "t0");
        assert_eq!((l.start_offset, l.end_offset), (0, 40));
        assert!(!l.truncated);
        assert!(!a.has_pending());
    }

    #[test]
    fn overlong_lines_are_cut_and_marked() {
        let mut a = Assembler::default();
        assert!(a.push(piece("abcd", Stream::Stdout, true, 0), 5).is_none());
        assert!(a.push(piece("efgh", Stream::Stdout, true, 10), 5).is_none());
        let l = a.push(piece("ij\n", Stream::Stdout, false, 20), 5).unwrap();
        assert_eq!(l.log.text(), "abcde");
        assert!(l.truncated);
        assert_eq!(l.end_offset, 30);
        let l = a
            .push(piece("0123456789\n", Stream::Stdout, false, 30), 5)
            .unwrap();
        assert!(l.truncated);
        assert_eq!(l.log.text(), "01234");
    }

    #[test]
    fn cri_pieces_join_as_read_and_are_cut_at_a_character_boundary() {
        let plain = |s: &'static str, partial: bool, start: u64| Piece {
            log: LogText::plain(s),
            ..piece("", Stream::Stdout, partial, start)
        };
        let mut a = Assembler::default();
        assert!(a.push(plain("a\"é", true, 0), 100).is_none());
        let l = a.push(plain("🌍\"", false, 10), 100).unwrap();
        assert_eq!(l.log, LogText::plain("a\"é🌍\""));
        // Five bytes kept of "ab" + "é" + "é": the second "é" would end at byte six.
        let mut a = Assembler::default();
        assert!(a.push(plain("ab", true, 0), 5).is_none());
        let l = a.push(plain("éé", false, 10), 5).unwrap();
        assert_eq!(l.log, LogText::plain("abé"));
        assert!(l.truncated);
        // A whole line read at once, longer than the maximum.
        let l = a.push(plain("ééé", false, 20), 5).unwrap();
        assert_eq!(l.log, LogText::plain("éé"));
        assert!(l.truncated);
    }

    #[test]
    fn drain_ships_unfinished_lines() {
        let mut a = Assembler::default();
        a.push(piece("b", Stream::Stderr, true, 5), 100);
        a.push(piece("a", Stream::Stdout, true, 0), 100);
        let lines = a.drain();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].start_offset, 0);
        assert!(!a.has_pending());
    }
}
