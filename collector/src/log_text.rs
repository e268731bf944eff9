//! A line's `log`, in the form it was read in. Docker's json-file holds it JSON-escaped, and it
//! is written to Elasticsearch as it is; a CRI message is plain text, and is escaped only when an
//! output writes it, straight into the request body: it is neither escaped into an allocation of
//! its own nor held larger than it was read. A record whose whole CRI line is one JSON object
//! keeps that text once, as its merged object's.

use std::borrow::Cow;

use crate::json_escape::escape_into_bytes;
use crate::json_text::JsonText;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogText<'a> {
    /// JSON string content, already escaped: Docker's `log` as the file has it.
    Escaped(JsonText),
    /// The text itself: a CRI message, or a line not in its file's format. Borrowed from what
    /// was read until the line becomes a record.
    Plain(Cow<'a, str>),
    /// Only in a record: the log is the text of the record's merged object (a whole CRI line
    /// that is one JSON object). Read it through [`crate::Record::log`].
    Merged,
}

impl Default for LogText<'_> {
    fn default() -> Self {
        LogText::Plain(Cow::Borrowed(""))
    }
}

impl From<JsonText> for LogText<'_> {
    fn from(text: JsonText) -> Self {
        LogText::Escaped(text)
    }
}

impl<'a> LogText<'a> {
    /// The text with no escapes, e.g. a test's or a log message's.
    pub fn plain(text: impl Into<Cow<'a, str>>) -> LogText<'a> {
        LogText::Plain(text.into())
    }

    /// Bytes as held: what `LOGSHIP_MAX_LINE_BYTES` bounds, the escaped form for Docker (as
    /// the file has it) and the text for CRI (as the file has it). 0 for [`LogText::Merged`].
    pub fn len(&self) -> usize {
        match self {
            LogText::Escaped(text) => text.len(),
            LogText::Plain(text) => text.len(),
            LogText::Merged => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The text, unescaped. Empty for [`LogText::Merged`], whose text is the record's: a
    /// record's log is read with [`crate::Record::log`].
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            LogText::Escaped(text) => text.unescape(),
            LogText::Plain(text) => Cow::Borrowed(text),
            LogText::Merged => Cow::Borrowed(""),
        }
    }

    /// Cuts to at most `max` bytes of [`LogText::len`], without splitting an escape sequence or
    /// a UTF-8 character.
    pub fn truncate_to(&mut self, max: usize) {
        match self {
            LogText::Escaped(text) => text.truncate_to(max),
            LogText::Plain(text) if text.len() > max => {
                let mut at = max;
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                // Only what is kept is copied (or kept): a long line read whole is not held
                // whole for its beginning.
                match text {
                    Cow::Borrowed(read) => {
                        let read: &'a str = read;
                        *text = Cow::Borrowed(&read[..at]);
                    }
                    Cow::Owned(owned) => {
                        owned.truncate(at);
                        owned.shrink_to_fit();
                    }
                }
            }
            LogText::Plain(_) | LogText::Merged => {}
        }
    }

    /// Appends the next piece of a split line. A file's pieces have one form; were they to
    /// differ, the line is kept escaped.
    pub fn push(&mut self, piece: &LogText<'_>) {
        match (&mut *self, piece) {
            (LogText::Plain(text), LogText::Plain(more)) => text.to_mut().push_str(more),
            (LogText::Escaped(text), LogText::Escaped(more)) => text.push(more),
            (LogText::Escaped(text), LogText::Plain(more)) => text.push(&JsonText::escape(more)),
            (LogText::Plain(text), LogText::Escaped(more)) => {
                let mut joined = JsonText::escape(text);
                joined.push(more);
                *self = LogText::Escaped(joined);
            }
            (_, LogText::Merged) | (LogText::Merged, _) => {}
        }
    }

    /// Owns what it borrowed, in an allocation of its size (a record may hold it a while).
    /// Every record is made through it: the text's copy is out of line, so that the rest
    /// inlines (a call moved a Docker line's log twice, +35 instructions a line).
    #[inline]
    pub fn into_owned(self) -> LogText<'static> {
        match self {
            LogText::Escaped(text) => LogText::Escaped(text),
            LogText::Plain(text) => LogText::Plain(Cow::Owned(owned_exactly(text))),
            LogText::Merged => LogText::Merged,
        }
    }

    /// Heap bytes held.
    pub fn heap_size(&self) -> usize {
        match self {
            LogText::Escaped(text) => text.capacity(),
            LogText::Plain(Cow::Owned(text)) => text.capacity(),
            LogText::Plain(Cow::Borrowed(_)) | LogText::Merged => 0,
        }
    }

    /// A view of the text in its form; `None` for [`LogText::Merged`].
    pub fn as_ref(&self) -> Option<LogRef<'_>> {
        match self {
            LogText::Escaped(text) => Some(LogRef::Escaped(text.as_escaped())),
            LogText::Plain(text) => Some(LogRef::Plain(text)),
            LogText::Merged => None,
        }
    }
}

/// `text` owned, without spare capacity: joined pieces grew it; text read whole is copied
/// exactly.
fn owned_exactly(text: Cow<'_, str>) -> String {
    let mut text = text.into_owned();
    text.shrink_to_fit();
    text
}

/// A record's log as outputs read it ([`crate::Record::log`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogRef<'a> {
    /// JSON string content, escaped.
    Escaped(&'a str),
    Plain(&'a str),
}

impl<'a> LogRef<'a> {
    /// Appends the log as JSON string content (without quotes).
    pub fn write_escaped(self, out: &mut Vec<u8>) {
        match self {
            LogRef::Escaped(text) => out.extend_from_slice(text.as_bytes()),
            LogRef::Plain(text) => escape_into_bytes(text, out),
        }
    }

    /// The text, unescaped. Borrows unless there are escapes to undo.
    pub fn text(self) -> Cow<'a, str> {
        match self {
            LogRef::Escaped(text) => crate::json_text::unescape_str(text),
            LogRef::Plain(text) => Cow::Borrowed(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(log: &LogText<'_>) -> String {
        let mut out = Vec::new();
        if let Some(log) = log.as_ref() {
            log.write_escaped(&mut out);
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn both_forms_write_the_same_json_and_read_the_same_text() {
        let text = "q\" b\\ t\t n\n nul\u{0} é 🌍 {\"k\":1}";
        let plain = LogText::plain(text);
        let from_escaped = LogText::Escaped(JsonText::escape(text));
        assert_eq!(escaped(&plain), escaped(&from_escaped));
        assert_eq!(
            escaped(&plain),
            serde_json::to_string(text).unwrap().trim_matches('"')
        );
        assert_eq!(plain.text(), text);
        assert_eq!(from_escaped.text(), text);
        assert_eq!(plain.as_ref().unwrap().text(), text);
        assert_eq!(from_escaped.as_ref().unwrap().text(), text);
    }

    #[test]
    fn plain_text_is_cut_at_a_character_boundary() {
        for (text, max, kept) in [
            ("abé🌍", 3, "ab"),
            ("abé🌍", 7, "abé"),
            ("abé🌍", 8, "abé🌍"),
            ("a\"b", 2, "a\""),
        ] {
            let mut log = LogText::plain(text);
            log.truncate_to(max);
            assert_eq!(log.text(), kept, "{text:?} cut to {max}");
        }
    }

    #[test]
    fn pieces_join_in_their_form_and_mixed_forms_join_escaped() {
        let mut log = LogText::plain("a\"");
        log.push(&LogText::plain("b"));
        assert_eq!(log, LogText::plain("a\"b"));
        let mut log = LogText::Escaped(JsonText::escape("a\""));
        log.push(&LogText::Escaped(JsonText::escape("b")));
        assert_eq!(log, LogText::Escaped(JsonText::escape("a\"b")));
        let mut log = LogText::plain("a\"");
        log.push(&LogText::Escaped(JsonText::escape("b\n")));
        assert_eq!(log, LogText::Escaped(JsonText::escape("a\"b\n")));
        let mut log = LogText::Escaped(JsonText::escape("a\""));
        log.push(&LogText::plain("b\n"));
        assert_eq!(log, LogText::Escaped(JsonText::escape("a\"b\n")));
    }

    #[test]
    fn owned_text_is_held_exactly() {
        let read = String::from("2026 some line read from a file");
        let log = LogText::plain(&read[5..]).into_owned();
        assert_eq!(log.heap_size(), read.len() - 5);
        assert_eq!(LogText::plain("x").heap_size(), 0);
        // A long line read whole and cut: only what is kept is held.
        let long = "é".repeat(10_000);
        let mut log = LogText::plain(long.as_str());
        log.truncate_to(101);
        let log = log.into_owned();
        assert_eq!(log.text(), "é".repeat(50));
        assert_eq!(log.heap_size(), 100);
        // Pieces joined, then cut.
        let mut log = LogText::plain("abc").into_owned();
        for _ in 0..100 {
            log.push(&LogText::plain("defgh"));
        }
        log.truncate_to(7);
        assert_eq!(log.text(), "abcdefg");
        assert_eq!(log.heap_size(), 7);
        let mut joined = LogText::plain("abc").into_owned();
        joined.push(&LogText::plain("d"));
        assert_eq!(joined.into_owned().heap_size(), 4);
    }
}
