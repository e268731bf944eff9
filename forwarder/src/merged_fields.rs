//! A merged object's fields written into a document as `,"key":value`: the first of each key,
//! none of the keys the document sets itself, dots replaced when asked, and every value one line
//! of valid JSON. The common case, a JSON line of a few plain keys, is copied from its text a
//! run of fields at a time.

use std::borrow::Cow;
use std::collections::HashSet;
use std::ops::Range;

use logship_collector::json_merge::MergedObject;
use serde_json::Value;

use crate::dedot::dedot_value;
use logship_collector::json_text::escape_into_bytes;

/// The common case of merged fields: this many keys at most, none escaped or dotted, so each is
/// written as it is and duplicates are found among the raw keys, on the stack.
const FEW_KEYS: usize = 16;

/// Keys a merged object may not write, with the [`key_bit`]s of all of them.
pub(crate) struct ReservedKeys {
    pub(crate) keys: &'static [&'static str],
    bits: u64,
}

impl ReservedKeys {
    pub(crate) const fn new(keys: &'static [&'static str]) -> ReservedKeys {
        let mut bits = 0;
        let mut i = 0;
        while i < keys.len() {
            bits |= key_bit(keys[i].as_bytes());
            i += 1;
        }
        ReservedKeys { keys, bits }
    }
}

/// One bit of 64 for a key, from its length and end bytes: keys with different bits differ, so
/// a merged key is compared with the reserved keys and those already written only when its bit
/// is among theirs. (Comparing every key with all of them was 5 % of the agent's instructions.)
pub(crate) const fn key_bit(b: &[u8]) -> u64 {
    let (first, last) = match (b.first(), b.last()) {
        (Some(&first), Some(&last)) => (first as usize, last as usize),
        _ => (0, 0),
    };
    1 << ((b.len() * 7 + first * 3 + last) & 63)
}

/// Appends the fields of `merged` to a document, each as `,"key":value`: the first of each key,
/// none of `reserved`, dots in keys (and in nested keys) replaced by `_` when `replace_dots`.
pub(crate) fn push_merged<'a>(
    merged: &'a MergedObject,
    reserved: &ReservedKeys,
    replace_dots: bool,
    out: &mut Vec<u8>,
) {
    // One pass over the short key, inline: two searches per key cost 3 % of the agent.
    let plain = |k: &str| !k.bytes().any(|b| b == b'\\' || (replace_dots && b == b'.'));
    let fields = merged.fields();
    if merged.len() <= FEW_KEYS && fields.clone().all(|(k, _)| plain(k)) {
        push_plain_merged(merged, reserved, replace_dots, out);
        return;
    }
    // Keys stay borrowed from the record unless they need unescaping or their dots
    // replaced; a linear scan beats hashing for few keys.
    let mut seen_small: Vec<Cow<'a, str>> = Vec::new();
    let mut seen_large: HashSet<Cow<'a, str>> = HashSet::new();
    let large = merged.len() > FEW_KEYS;
    for (raw_key, raw_value) in fields {
        let key: Cow<'a, str> = if raw_key.contains('\\') {
            match serde_json::from_str::<String>(&format!("\"{raw_key}\"")) {
                Ok(k) => Cow::Owned(k),
                Err(_) => continue,
            }
        } else {
            Cow::Borrowed(raw_key)
        };
        let key = if replace_dots && key.contains('.') {
            Cow::Owned(key.replace('.', "_"))
        } else {
            key
        };
        if reserved.keys.contains(&key.as_ref()) {
            continue;
        }
        let fresh = if large {
            seen_large.insert(key.clone())
        } else if seen_small.contains(&key) {
            false
        } else {
            seen_small.push(key.clone());
            true
        };
        if !fresh {
            continue;
        }
        out.extend_from_slice(b",\"");
        escape_into_bytes(&key, out);
        out.extend_from_slice(b"\":");
        push_value(raw_value, replace_dots, out);
    }
}

/// [`push_merged`] for a few plain keys. Fields written as the text has them (`"key":value`, no
/// spaces, a string, number or literal) are copied a run at a time: a JSON line of such fields,
/// none reserved, is one copy. (A copy per key and value, each a call, was most of this
/// function's cost.)
fn push_plain_merged(
    merged: &MergedObject,
    reserved: &ReservedKeys,
    replace_dots: bool,
    out: &mut Vec<u8>,
) {
    let text = merged.text().as_bytes();
    let mut seen: [&[u8]; FEW_KEYS] = [b""; FEW_KEYS];
    let mut n = 0;
    // The bits of the keys that may not be written (again).
    let mut taken = reserved.bits;
    // The text of the fields to be copied as they are, from a key's opening quote.
    let mut run: Option<Range<usize>> = None;
    let flush = |run: &mut Option<Range<usize>>, out: &mut Vec<u8>| {
        if let Some(r) = run.take() {
            out.push(b',');
            out.extend_from_slice(&text[r]);
        }
    };
    for (key, value) in merged.spans() {
        let k = &text[key.clone()];
        let bit = key_bit(k);
        if taken & bit != 0
            && (reserved.keys.iter().any(|r| r.as_bytes() == k) || seen[..n].contains(&k))
        {
            flush(&mut run, out);
            continue;
        }
        taken |= bit;
        if let Some(slot) = seen.get_mut(n) {
            *slot = k;
            n += 1;
        }
        let v = &text[value.clone()];
        // Exactly `":` between key and value, and a value copied as it is.
        if value.start == key.end + 2 && !is_container(v) {
            match &mut run {
                // Exactly `,"` since the last value: the field follows in the run.
                Some(r) if key.start == r.end + 2 => r.end = value.end,
                _ => {
                    flush(&mut run, out);
                    run = Some(key.start - 1..value.end);
                }
            }
            continue;
        }
        flush(&mut run, out);
        out.extend_from_slice(b",\"");
        out.extend_from_slice(k);
        out.extend_from_slice(b"\":");
        // The keys here are plain, but a nested value's own keys may still have dots.
        push_value(
            merged.text().get(value).unwrap_or_default(),
            replace_dots,
            out,
        );
    }
    flush(&mut run, out);
}

/// Whether a raw JSON value is an object or array: only those can hold a raw line break
/// (whitespace between their items) or a dotted key. A string, number or literal was validated
/// as JSON when the record was made (every `MergedObject` is parsed), so it has neither and is
/// copied as it is.
fn is_container(raw: &[u8]) -> bool {
    matches!(raw.first(), Some(b'{' | b'['))
}

/// Appends a raw JSON value, written again when it must be: a line break inside it would end
/// the NDJSON line, and dotted keys inside it are replaced when `replace_dots`.
fn push_value(raw: &str, replace_dots: bool, out: &mut Vec<u8>) {
    let b = raw.as_bytes();
    if !is_container(b) {
        out.extend_from_slice(b);
        return;
    }
    let needs_dedot = replace_dots && memchr::memchr(b'.', b).is_some();
    let has_newline = memchr::memchr2(b'\n', b'\r', b).is_some();
    if !needs_dedot && !has_newline {
        out.extend_from_slice(raw.as_bytes());
        return;
    }
    match serde_json::from_str::<Value>(raw) {
        Ok(mut v) => {
            if needs_dedot {
                dedot_value(&mut v);
            }
            match serde_json::to_vec(&v) {
                Ok(bytes) => out.extend_from_slice(&bytes),
                Err(_) => out.extend_from_slice(b"null"),
            }
        }
        // The value was validated when the record was made; keep the document valid anyway.
        Err(_) => out.extend_from_slice(b"null"),
    }
}
