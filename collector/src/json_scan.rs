//! Reading JSON by hand where it runs once per line: the end of a string (its escapes and
//! control characters checked), and the fields of a flat object, as spans. Each reader accepts
//! only what serde_json accepts, and says `None` when in doubt so that the caller asks serde:
//! the unit tests hold every acceptance to serde's reading of the same text.

use serde_json::value::RawValue;

use crate::json_escape::{masks_at, ESCAPE_BLOCK};

/// What [`string_end`] found.
pub(crate) struct StringEnd {
    /// The position of the closing quote.
    pub at: usize,
    /// Whether a byte scanned is not ASCII (the scan may reach past the quote, to the end of
    /// its block).
    pub non_ascii: bool,
    /// Whether the string has an escape.
    pub escaped: bool,
}

/// Where a JSON string ends: `b` starts just after its opening quote. `None` unless every escape
/// is valid and no control character is raw.
///
/// The bytes that matter (quote, backslash, control characters) are found sixteen at a time, as
/// escaping finds them, and every one of a block is dealt with from the block's mask: most of a
/// line has none, and a JSON line has one every few bytes.
#[inline]
pub(crate) fn string_end(b: &[u8]) -> Option<StringEnd> {
    let mut block = 0;
    let mut non_ascii = 0;
    let mut escaped = false;
    loop {
        if block >= b.len() {
            return None; // no closing quote
        }
        let masks = masks_at(b, block);
        non_ascii |= masks.non_ascii;
        let mut mask = masks.escapes;
        let mut next = block + ESCAPE_BLOCK;
        while mask != 0 {
            let at = block + mask.trailing_zeros() as usize;
            match b[at] {
                b'"' => {
                    return Some(StringEnd {
                        at,
                        non_ascii: non_ascii != 0,
                        escaped,
                    })
                }
                b'\\' => {
                    escaped = true;
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
    }
}

/// The spans of one field of an object: its key without the quotes, its raw value.
pub(crate) struct FieldSpan {
    pub key: (usize, usize),
    pub value: (usize, usize),
}

/// Reads `text` as one JSON object, calling `field` for each top-level field in order; `None`
/// when it is not one, or when a key has an escape (its text is then not the key). Strings,
/// numbers and literals are read here; nested objects and arrays, rarer in logs, by serde.
///
/// serde's reading of such an object (a map of raw values) took about 2,700 instructions per
/// JSON line of the standard workload.
pub(crate) fn object_fields(text: &str, mut field: impl FnMut(FieldSpan)) -> Option<()> {
    let b = text.as_bytes();
    if b.first() != Some(&b'{') {
        return None;
    }
    let mut i = skip_space(b, 1);
    if b.get(i) == Some(&b'}') {
        return (skip_space(b, i + 1) == b.len()).then_some(());
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key_start = i + 1;
        let key = string_end(&b[key_start..])?;
        if key.escaped {
            return None;
        }
        let key_end = key_start + key.at;
        i = skip_space(b, key_end + 1);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let start = skip_space(b, i + 1);
        let end = value_end(text, start)?;
        field(FieldSpan {
            key: (key_start, key_end),
            value: (start, end),
        });
        i = skip_space(b, end);
        match b.get(i) {
            Some(b',') => i = skip_space(b, i + 1),
            Some(b'}') => return (skip_space(b, i + 1) == b.len()).then_some(()),
            _ => return None,
        }
    }
}

/// The end of the value that starts at `i`.
fn value_end(text: &str, i: usize) -> Option<usize> {
    let b = text.as_bytes();
    match *b.get(i)? {
        b'"' => string_end(&b[i + 1..]).map(|s| i + 1 + s.at + 1),
        b'-' | b'0'..=b'9' => number_end(b, i),
        b't' => literal_end(b, i, b"true"),
        b'f' => literal_end(b, i, b"false"),
        b'n' => literal_end(b, i, b"null"),
        b'{' | b'[' => {
            let rest = text.get(i..)?;
            let mut de = serde_json::Deserializer::from_str(rest);
            let raw: &RawValue = serde::Deserialize::deserialize(&mut de).ok()?;
            Some(i + raw.get().len())
        }
        _ => None,
    }
}

/// The end of the number at `i`: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`. What
/// follows is the caller's to check (a digit after a leading zero is not a delimiter).
fn number_end(b: &[u8], mut i: usize) -> Option<usize> {
    let digits = |b: &[u8], i: usize| i + b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    if b[i] == b'-' {
        i += 1;
    }
    match b.get(i)? {
        b'0' => i += 1,
        b'1'..=b'9' => i = digits(b, i),
        _ => return None,
    }
    if b.get(i) == Some(&b'.') {
        let end = digits(b, i + 1);
        if end == i + 1 {
            return None;
        }
        i = end;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let end = digits(b, i);
        if end == i {
            return None;
        }
        i = end;
    }
    Some(i)
}

fn literal_end(b: &[u8], i: usize, literal: &[u8]) -> Option<usize> {
    b[i..].starts_with(literal).then_some(i + literal.len())
}

/// The first position from `i` on that is not JSON whitespace.
#[inline]
fn skip_space(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}
