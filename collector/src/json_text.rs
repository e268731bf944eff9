//! `JsonText`: text kept in its JSON-escaped form, so that a Docker `log` value read from disk can
//! be written to Elasticsearch without being unescaped and escaped again.

use std::borrow::Cow;

pub use crate::json_escape::{escape_into, escape_into_bytes};

/// The content of a JSON string literal, without the surrounding quotes, already escaped.
/// Invariant: `"` + content + `"` is one valid JSON string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JsonText(String);

impl JsonText {
    /// Escapes plain text.
    pub fn escape(text: &str) -> JsonText {
        let mut out = String::with_capacity(text.len());
        escape_into(text, &mut out);
        // A record may hold it until shipped.
        out.shrink_to_fit();
        JsonText(out)
    }

    /// Wraps a JSON string literal that a JSON parser has already validated (with its quotes).
    pub(crate) fn from_validated_literal(literal: &str) -> Option<JsonText> {
        let inner = literal.strip_prefix('"')?.strip_suffix('"')?;
        Some(JsonText(inner.to_owned()))
    }

    /// Wraps string content a caller has checked: valid UTF-8, valid escapes, no raw control
    /// characters.
    pub(crate) fn from_validated_content(content: &str) -> JsonText {
        JsonText(content.to_owned())
    }

    /// The escaped content, without quotes.
    pub fn as_escaped(&self) -> &str {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Heap bytes held.
    pub fn capacity(&self) -> usize {
        self.0.capacity()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The text itself. Borrows when there is nothing to unescape.
    pub fn unescape(&self) -> Cow<'_, str> {
        unescape_str(&self.0)
    }

    /// The text itself, into `out` (cleared first): the merge's path, which reuses one buffer.
    pub fn unescape_into(&self, out: &mut String) {
        out.clear();
        unescape_content(&self.0, out);
    }
}

/// JSON string content (valid, as [`JsonText`] holds) unescaped. Borrows when there is nothing
/// to unescape.
pub(crate) fn unescape_str(content: &str) -> Cow<'_, str> {
    if memchr::memchr(b'\\', content.as_bytes()).is_none() {
        return Cow::Borrowed(content);
    }
    let mut out = String::with_capacity(content.len());
    unescape_content(content, &mut out);
    Cow::Owned(out)
}

/// Undoes JSON string escapes. Hand-written because it runs for every JSON log line (to merge
/// it); the input is valid by the `JsonText` invariant, and anything unexpected is kept as is
/// rather than failing. One pass over the bytes: a JSON line escapes every quote, so looking
/// for the next backslash with a searcher per escape cost more than the copying.
fn unescape_content(s: &str, out: &mut String) {
    let b = s.as_bytes();
    let mut copied = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        // Cut at a backslash (ASCII): both slices are on character boundaries.
        out.push_str(&s[copied..i]);
        let (c, used) = match b.get(i + 1) {
            Some(b'n') => ('\n', 2),
            Some(b't') => ('\t', 2),
            Some(b'r') => ('\r', 2),
            Some(b'"') => ('"', 2),
            Some(b'\\') => ('\\', 2),
            Some(b'/') => ('/', 2),
            Some(b'b') => ('\u{8}', 2),
            Some(b'f') => ('\u{c}', 2),
            Some(b'u') => match hex4(s.get(i + 2..i + 6)) {
                Some(hi @ 0xD800..=0xDBFF) => {
                    let lo = s
                        .get(i + 6..i + 8)
                        .filter(|p| *p == "\\u")
                        .and_then(|_| hex4(s.get(i + 8..i + 12)))
                        .filter(|lo| (0xDC00..=0xDFFF).contains(lo));
                    match lo {
                        Some(lo) => {
                            let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                            (char::from_u32(cp).unwrap_or('\u{fffd}'), 12)
                        }
                        None => ('\u{fffd}', 6),
                    }
                }
                Some(cp) => (char::from_u32(cp).unwrap_or('\u{fffd}'), 6),
                None => ('\\', 1),
            },
            _ => ('\\', 1),
        };
        out.push(c);
        i = (i + used).min(b.len());
        copied = i;
    }
    out.push_str(&s[copied..]);
}

fn hex4(s: Option<&str>) -> Option<u32> {
    let s = s?;
    if s.len() != 4 || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

impl JsonText {
    /// Whether the text ends with a newline (an escaped `\n` that is not an escaped backslash
    /// followed by `n`). Docker marks every complete line this way and leaves it off the pieces
    /// of a line it had to split.
    pub fn ends_with_newline(&self) -> bool {
        let b = self.0.as_bytes();
        if !b.ends_with(b"\\n") {
            return false;
        }
        let backslashes = b[..b.len() - 1]
            .iter()
            .rev()
            .take_while(|&&c| c == b'\\')
            .count();
        backslashes % 2 == 1
    }

    /// Appends another piece of the same line (Docker and CRI split long lines).
    pub fn push(&mut self, other: &JsonText) {
        self.0.push_str(&other.0);
    }

    /// Cuts the escaped content to at most `max` bytes without splitting an escape sequence or a
    /// UTF-8 character.
    pub fn truncate_to(&mut self, max: usize) {
        if self.0.len() <= max {
            return;
        }
        let b = self.0.as_bytes();
        let mut i = 0;
        let mut last_ok = 0;
        while i < b.len() {
            let step = if b[i] == b'\\' {
                if b.get(i + 1) == Some(&b'u') {
                    6
                } else {
                    2
                }
            } else {
                utf8_len(b[i])
            };
            if i + step > max {
                break;
            }
            i += step;
            last_ok = i;
        }
        self.0.truncate(last_ok);
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_round_trips_through_serde() {
        let s = "q\" b\\ t\t n\n nul\u{0} bel\u{7} é 🌍";
        let j = JsonText::escape(s);
        let parsed: String = serde_json::from_str(&format!("\"{}\"", j.as_escaped())).unwrap();
        assert_eq!(parsed, s);
        assert_eq!(j.unescape(), s);
    }

    #[test]
    fn unescape_matches_serde() {
        for content in [
            r#"plain"#,
            r#"a\"b\\c\/d\b\f\n\r\t"#,
            r#"\u003cb\u003e \u00e9 \ud83c\udf0d \u2028"#,
            r#"lone \ud83c surrogate"#,
            r#"{\"a\":1}\n"#,
        ] {
            let j = JsonText(content.to_owned());
            let want: String = serde_json::from_str(&format!("\"{content}\""))
                .unwrap_or_else(|_| "\u{fffd}".into());
            if content.contains("lone") {
                assert_eq!(j.unescape(), "lone \u{fffd} surrogate");
            } else {
                assert_eq!(j.unescape(), want, "{content}");
            }
        }
    }

    #[test]
    fn newline_detection_counts_backslashes() {
        let t = |s: &str| JsonText(s.to_owned()).ends_with_newline();
        assert!(t("abc\\n"));
        assert!(!t("abc"));
        assert!(!t("abc\\\\n")); // a literal backslash followed by n
        assert!(t("abc\\\\\\n"));
        assert!(!t("n"));
    }

    #[test]
    fn truncation_never_splits_escapes_or_characters() {
        let mut j = JsonText::escape("ab\u{1}é");
        assert_eq!(j.as_escaped(), "ab\\u0001é");
        j.truncate_to(4);
        assert_eq!(j.as_escaped(), "ab");
        let mut j = JsonText::escape("ab\u{1}é");
        j.truncate_to(9);
        assert_eq!(j.as_escaped(), "ab\\u0001");
        let mut j = JsonText::escape("ab\"c");
        j.truncate_to(3);
        assert_eq!(j.as_escaped(), "ab");
    }
}
