//! CRI line decoding (containerd, CRI-O): `<RFC3339Nano time> <stream> <P|F>[:more tags] <content>`.
//! `P` marks a piece of a line the runtime split (16 KiB by default); `F` ends the line.

use std::borrow::Cow;

use crate::record::Stream;

#[derive(Debug, PartialEq)]
pub struct CriLine<'a> {
    pub time: &'a str,
    pub stream: Stream,
    pub partial: bool,
    /// The content, which outputs escape as they write it. Invalid UTF-8 is replaced by U+FFFD.
    pub text: Cow<'a, str>,
    pub invalid_utf8: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub struct NotCri;

pub fn decode(line: &[u8]) -> Result<CriLine<'_>, NotCri> {
    let (time, rest) = split_field(line).ok_or(NotCri)?;
    let (stream, rest) = split_short_field(rest).ok_or(NotCri)?;
    // The tag is the last fixed field; an empty message may come without the space after it.
    let (tag, content) = match rest.iter().position(|&c| c == b' ') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &rest[rest.len()..]),
    };
    let partial = match tag.split(|&c| c == b':').next() {
        Some(b"P") => true,
        Some(b"F") => false,
        _ => return Err(NotCri),
    };
    // A time is ASCII, which is cheaper to tell than UTF-8 (std's check of it took 2 % of the
    // agent's instructions on CRI logs).
    let time = if time.is_ascii() {
        // SAFETY: ASCII is UTF-8.
        unsafe { std::str::from_utf8_unchecked(time) }
    } else {
        std::str::from_utf8(time).map_err(|_| NotCri)?
    };
    // Cheap plausibility check so that arbitrary text is not taken for CRI.
    if time.len() < 20 || time.as_bytes()[4] != b'-' || time.as_bytes()[10] != b'T' {
        return Err(NotCri);
    }
    // The two streams runtimes write are matched as bytes: a UTF-8 check costs more than that.
    let stream = match stream {
        b"stdout" => Stream::Stdout,
        b"stderr" => Stream::Stderr,
        other => Stream::from_name(std::str::from_utf8(other).map_err(|_| NotCri)?),
    };
    // simdutf8, as for Docker's `log` strings: std's check is several times slower.
    let (text, invalid_utf8) = match simdutf8::basic::from_utf8(content) {
        Ok(s) => (Cow::Borrowed(s), false),
        Err(_) => (String::from_utf8_lossy(content), true),
    };
    Ok(CriLine {
        time,
        stream,
        partial,
        text,
        invalid_utf8,
    })
}

fn split_field(b: &[u8]) -> Option<(&[u8], &[u8])> {
    split_at_space(b, memchr::memchr(b' ', b)?)
}

/// [`split_field`] for a field of a few bytes (a stream's name, a tag), where a byte loop is
/// cheaper than setting up `memchr` (two calls were 1 % of the agent's instructions).
fn split_short_field(b: &[u8]) -> Option<(&[u8], &[u8])> {
    split_at_space(b, b.iter().position(|&c| c == b' ')?)
}

fn split_at_space(b: &[u8], i: usize) -> Option<(&[u8], &[u8])> {
    if i == 0 {
        return None;
    }
    Some((&b[..i], &b[i + 1..]))
}

/// Whether a line looks like CRI rather than Docker json-file; used to detect a file's format.
pub fn looks_like_cri(line: &[u8]) -> bool {
    decode(line).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_full_and_partial_lines() {
        let l = decode(b"2026-11-22T01:02:03.123456789Z stdout F hello world").unwrap();
        assert_eq!(l.time, "2026-11-22T01:02:03.123456789Z");
        assert_eq!(l.stream, Stream::Stdout);
        assert!(!l.partial);
        assert_eq!(l.text, "hello world");
        let l = decode(b"2021-03-29T21:16:20.753110058-04:00 stdout P blah ").unwrap();
        assert!(l.partial);
        assert_eq!(l.text, "blah ");
    }

    #[test]
    fn other_streams_are_kept_by_name() {
        let l = decode(b"2026-11-22T01:02:03.2Z stdin F x").unwrap();
        assert_eq!(l.stream, Stream::Other("stdin".into()));
        let l = decode(b"2026-11-22T01:02:03.2Z stderr F x").unwrap();
        assert_eq!(l.stream, Stream::Stderr);
    }

    #[test]
    fn empty_messages_and_tabs() {
        let l = decode(b"2026-11-22T01:02:03.2Z stdout F ").unwrap();
        assert_eq!(l.text, "");
        let l = decode(b"2026-11-22T01:02:03.2Z stderr F").unwrap();
        assert_eq!(l.text, "");
        let l = decode(b"2026-11-22T01:02:03.2Z stderr F \tat main()").unwrap();
        assert_eq!(l.text, "\tat main()");
    }

    #[test]
    fn invalid_utf8_is_replaced_and_flagged() {
        let l = decode(b"2026-11-22T01:02:03.2Z stderr F a\xffb").unwrap();
        assert!(l.invalid_utf8);
        assert_eq!(l.text, "a\u{fffd}b");
    }

    #[test]
    fn other_text_is_not_cri() {
        assert!(
            decode(br#"{"log":"x\n","stream":"stdout","time":"2026-11-22T01:02:03Z"}"#).is_err()
        );
        assert!(decode(b"hello world foo bar").is_err());
        assert!(decode(b"2026-11-22T01:02:03.2Z stdout X msg").is_err());
        assert!(decode(b"2026-11-22T01:02:03.2Z std\xffout F msg").is_err());
        // A time that is not UTF-8, where it would pass the shape check. (One that is UTF-8 but
        // not a time is decoded, and its time found unparseable later.)
        assert!(decode(b"2026-11-22T01:02:03.2\xff stdout F msg").is_err());
        let l = decode("2026-11-22T01:02:03.2é stdout F msg".as_bytes()).unwrap();
        assert_eq!(l.time, "2026-11-22T01:02:03.2é");
        assert!(decode(b"").is_err());
    }
}
