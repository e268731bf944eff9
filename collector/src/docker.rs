//! Docker json-file line decoding: `{"log":"…\n","stream":"stdout","time":"…"}`.
//!
//! The `log` value is kept escaped, as read (see [`JsonText`]); a line whose `log` lacks the
//! trailing newline is a piece of a longer line that Docker split at 16 KiB.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::json_scan::string_end;
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
    let (log, _, rest) = json_string_content(rest)?;
    // A stream or time with escapes is left to the general parse, which unescapes it.
    let rest = rest.strip_prefix(b",\"stream\":\"")?;
    let Some((stream, false, rest)) = json_string_content(rest) else {
        return None;
    };
    let rest = rest.strip_prefix(b",\"time\":\"")?;
    let Some((time, false, rest)) = json_string_content(rest) else {
        return None;
    };
    if rest != b"}" {
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

/// The content of a JSON string starting at `b` (just after its opening quote), whether it has
/// escapes, and what follows the closing quote. `None` unless the content is valid UTF-8 with
/// only valid escapes and no raw control characters, i.e. exactly what may be copied into a
/// JSON document as it is.
fn json_string_content(b: &[u8]) -> Option<(&str, bool, &[u8])> {
    let end = string_end(b)?;
    let content = &b[..end.at];
    let text = if end.non_ascii {
        // simdutf8 checks 32 bytes a step (AVX2, chosen at run time) where std goes by words.
        simdutf8::basic::from_utf8(content).ok()?
    } else {
        // SAFETY: ASCII is UTF-8, and every byte of `content` is ASCII: `string_end` saw none
        // that is not in the blocks it scanned, and the bytes an escape covers (skipped when
        // it crosses a block) it took only as ASCII letters and hex digits. Checking again
        // cost 4.7 % of the agent's instructions.
        unsafe { std::str::from_utf8_unchecked(content) }
    };
    Some((text, end.escaped, &b[end.at + 1..]))
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
        // Not UTF-8: a stray continuation byte, a cut sequence, an overlong form, a surrogate.
        let pieces: [&[u8]; 19] = [
            br#"\""#,
            br"\\",
            br"\/",
            br"\n",
            br"\u00e9",
            br"\u003c",
            br#"\\\""#,
            br#"\\""#,
            "é".as_bytes(),
            "\u{1F600}".as_bytes(),
            b"\t",
            br"\q",
            br"\u12",
            br"\",
            b"\x01",
            b"\xff",
            b"\xe2\x82",
            b"\xc0\xaf",
            b"\xed\xa0\x80",
        ];
        for piece in pieces {
            for pad in 0..40 {
                let mut content = b"a".repeat(pad);
                content.extend_from_slice(piece);
                content.extend_from_slice(piece);
                content.extend_from_slice(&b"b".repeat(pad % 7));
                // The piece in the log string, then in the time string after a log string
                // that ends within a block of it.
                let lines = [
                    [
                        br#"{"log":""#,
                        &content[..],
                        br#"","stream":"stdout","time":"t"}"#,
                    ]
                    .concat(),
                    [
                        br#"{"log":"x","stream":"stdout","time":""#,
                        &content[..],
                        br#""}"#,
                    ]
                    .concat(),
                ];
                for (i, line) in lines.iter().enumerate() {
                    let fast = decode_exact(line);
                    let shown = String::from_utf8_lossy(line);
                    match decode_any(line) {
                        // A time with escapes is left to the general parse.
                        Ok(_) if i == 1 && piece.contains(&b'\\') => {
                            assert_eq!(fast, None, "{shown}")
                        }
                        Ok(slow) => assert_eq!(fast, Some(slow), "{shown}"),
                        Err(_) => assert_eq!(fast, None, "{shown}"),
                    }
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
