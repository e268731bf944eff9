//! Docker json-file line decoding: `{"log":"…\n","stream":"stdout","time":"…"}`.
//!
//! The `log` value is kept escaped, as read (see [`JsonText`]); a line whose `log` lacks the
//! trailing newline is a piece of a longer line that Docker split at 16 KiB.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::json_escape::{escapes_at, ESCAPE_BLOCK};
use crate::json_text::JsonText;
use crate::record::Stream;

#[derive(Debug, PartialEq)]
pub struct DockerLine<'a> {
    pub log: JsonText,
    pub stream: Option<Stream>,
    pub time: Cow<'a, str>,
    /// The piece of a split line: more follows on the same stream.
    pub partial: bool,
}

#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow)]
    log: Option<&'a RawValue>,
    #[serde(borrow)]
    stream: Option<Cow<'a, str>>,
    #[serde(borrow)]
    time: Option<Cow<'a, str>>,
}

/// Why a line is not a Docker json-file line; the line is then shipped as plain text.
#[derive(Debug, PartialEq, Eq)]
pub enum DockerError {
    NotJson,
    NoLogString,
}

pub fn decode(line: &[u8]) -> Result<DockerLine<'_>, DockerError> {
    if let Some(l) = decode_exact(line) {
        return Ok(l);
    }
    decode_any(line)
}

/// The shape Docker's json-file driver writes, byte for byte: `{"log":"…","stream":"…",
/// "time":"…"}`. Checked by hand in one pass per field, which is several times cheaper than a
/// general JSON parse; anything else (other key orders, `attrs`, whitespace, odd escapes) goes to
/// [`decode_any`].
fn decode_exact(line: &[u8]) -> Option<DockerLine<'_>> {
    let rest = line.strip_prefix(b"{\"log\":\"")?;
    let (log, rest) = json_string_content(rest)?;
    let rest = rest.strip_prefix(b",\"stream\":\"")?;
    let (stream, rest) = json_string_content(rest)?;
    let rest = rest.strip_prefix(b",\"time\":\"")?;
    let (time, rest) = json_string_content(rest)?;
    if rest != b"}" || stream.as_bytes().contains(&b'\\') || time.as_bytes().contains(&b'\\') {
        return None;
    }
    let log = JsonText::from_validated_content(log);
    let partial = !log.ends_with_newline();
    Some(DockerLine {
        log,
        stream: Some(Stream::from_name(stream)),
        time: Cow::Borrowed(time),
        partial,
    })
}

/// The content of a JSON string starting at `b` (just after its opening quote), and what follows
/// the closing quote. `None` unless the content is valid UTF-8 with only valid escapes and no raw
/// control characters, i.e. exactly what may be copied into a JSON document as it is.
///
/// The bytes that matter (quote, backslash, control characters) are found sixteen at a time, as
/// escaping finds them, and every one of a block is dealt with from the block's mask: most of a
/// line has none, and a JSON line has one every few bytes.
fn json_string_content(b: &[u8]) -> Option<(&str, &[u8])> {
    let mut block = 0;
    let end = 'found: loop {
        if block >= b.len() {
            return None; // no closing quote
        }
        let mut mask = escapes_at(b, block);
        let mut next = block + ESCAPE_BLOCK;
        while mask != 0 {
            let at = block + mask.trailing_zeros() as usize;
            match b[at] {
                b'"' => break 'found at,
                b'\\' => {
                    let past = at
                        + match *b.get(at + 1)? {
                            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => 2,
                            b'u' if b.get(at + 2..at + 6)?.iter().all(u8::is_ascii_hexdigit) => 6,
                            _ => return None,
                        };
                    // The escaped byte may itself be a quote or backslash: skip what the
                    // escape covers, in this block or past it.
                    if past >= next {
                        next = past;
                        mask = 0;
                    } else {
                        mask &= u32::MAX << (past - block);
                    }
                }
                _ => return None, // a raw control character
            }
        }
        block = next;
    };
    let text = std::str::from_utf8(&b[..end]).ok()?;
    Some((text, &b[end + 1..]))
}

fn decode_any(line: &[u8]) -> Result<DockerLine<'_>, DockerError> {
    let wire: Wire = serde_json::from_slice(line).map_err(|_| DockerError::NotJson)?;
    let raw = wire.log.ok_or(DockerError::NoLogString)?;
    let log = JsonText::from_validated_literal(raw.get()).ok_or(DockerError::NoLogString)?;
    let partial = !log.ends_with_newline();
    Ok(DockerLine {
        log,
        stream: wire.stream.as_deref().map(Stream::from_name),
        time: wire.time.unwrap_or(Cow::Borrowed("")),
        partial,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_complete_line() {
        let l =
            decode(br#"{"log":"hi \"x\"\n","stream":"stderr","time":"2026-11-22T01:02:03.2Z"}"#)
                .unwrap();
        assert_eq!(l.log.as_escaped(), r#"hi \"x\"\n"#);
        assert_eq!(l.stream, Some(Stream::Stderr));
        assert_eq!(l.time, "2026-11-22T01:02:03.2Z");
        assert!(!l.partial);
    }

    #[test]
    fn a_log_without_newline_is_a_piece() {
        let l =
            decode(br#"{"log":"aaaa","stream":"stdout","time":"2026-11-22T01:02:03Z"}"#).unwrap();
        assert!(l.partial);
    }

    #[test]
    fn attrs_and_key_order_do_not_matter() {
        let l = decode(
            br#"{"time":"2026-11-22T01:02:03Z","attrs":{"a":"b"},"stream":"stdout","log":"x\n"}"#,
        )
        .unwrap();
        assert_eq!(l.log.as_escaped(), "x\\n");
    }

    #[test]
    fn the_exact_shape_and_the_general_parse_agree() {
        let lines: [&[u8]; 6] = [
            br#"{"log":"hi \"x\" \u003cb\u003e \\ \/ \t\n","stream":"stdout","time":"2026-11-22T01:02:03.2Z"}"#,
            br#"{"log":"piece","stream":"stderr","time":"2026-11-22T01:02:03Z"}"#,
            "{\"log\":\"Gr\\u00fc\\u00dfe ü \u{1F30D} ok\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-22T01:02:03Z\"}".as_bytes(),
            br#"{"log":"","stream":"stdout","time":"2026-11-22T01:02:03Z"}"#,
            br#"{"log":"\\","stream":"stdout","time":"t"}"#,
            br#"{"log":"a\\\n","stream":"stdout","time":"t"}"#,
        ];
        for line in lines {
            let fast = decode_exact(line).expect("exact shape");
            let slow = decode_any(line).expect("general parse");
            assert_eq!(fast, slow, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn escapes_at_every_offset_of_the_scan_agree_with_the_general_parse() {
        // Each piece at every offset around the sixteen-byte blocks, twice in a row (escapes
        // that follow each other, or straddle a block's end), then more text.
        let pieces = [
            r#"\""#, r"\\", r"\/", r"\n", r"\u00e9", r"\u003c", r#"\\\""#, r#"\\""#, "é", "\t",
            r"\q", r"\u12", r"\", "\u{1}",
        ];
        for piece in pieces {
            for pad in 0..40 {
                let content = format!("{}{piece}{piece}{}", "a".repeat(pad), "b".repeat(pad % 7));
                let line = format!(r#"{{"log":"{content}","stream":"stdout","time":"t"}}"#);
                let fast = decode_exact(line.as_bytes());
                match decode_any(line.as_bytes()) {
                    Ok(slow) => assert_eq!(fast, Some(slow), "{line}"),
                    Err(_) => assert_eq!(fast, None, "{line}"),
                }
            }
        }
    }

    #[test]
    fn anything_unusual_takes_the_general_path() {
        for line in [
            &br#"{"log":"bad \q escape\n","stream":"stdout","time":"t"}"#[..],
            br#"{"log":"\u12","stream":"stdout","time":"t"}"#,
            b"{\"log\":\"raw\ttab\",\"stream\":\"stdout\",\"time\":\"t\"}",
            b"{\"log\":\"bad \xff\",\"stream\":\"stdout\",\"time\":\"t\"}",
            br#"{"log":"x","stream":"stdout","attrs":{},"time":"t"}"#,
            br#"{"log":"x","stream":"stdout","time":"t"} "#,
            br#"{"log":"x","stream":"stdout","time":"t""#,
            br#"{"log":"x"}"#,
        ] {
            assert!(
                decode_exact(line).is_none(),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn broken_lines_are_errors() {
        assert_eq!(decode(b"not json"), Err(DockerError::NotJson));
        assert_eq!(decode(br#"{"log":"x\n""#), Err(DockerError::NotJson));
        assert_eq!(
            decode(br#"{"stream":"stdout"}"#),
            Err(DockerError::NoLogString)
        );
        assert_eq!(decode(br#"{"log":5}"#), Err(DockerError::NoLogString));
        assert_eq!(decode(b"{\"log\":\"\xff\\n\"}"), Err(DockerError::NotJson));
        assert_eq!(decode(b""), Err(DockerError::NotJson));
    }
}
