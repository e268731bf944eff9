//! Docker json-file line decoding: `{"log":"…\n","stream":"stdout","time":"…"}`.
//!
//! The `log` value is kept escaped, as read (see [`JsonText`]); a line whose `log` lacks the
//! trailing newline is a piece of a longer line that Docker split at 16 KiB.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

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
