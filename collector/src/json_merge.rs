//! Whole-line JSON merge: when a container writes one JSON object per line, its top-level keys
//! become fields of the record, as fluent-bit's `Merge_Log` did for the original system.
//!
//! The object is parsed once, here; the record keeps the text and the positions of each key and
//! value, so outputs copy values verbatim instead of re-serializing a tree.

use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::json_scan::object_fields;

/// The top-level fields of a JSON object, as spans into its text. One allocation, exactly
/// sized, for the text and the spans: a record holds it inline, and half of all records have
/// one. (Two, one for each, cost 2 % of the agent's instructions in malloc and free.)
#[derive(Debug, Clone)]
pub struct MergedObject {
    /// The text, then per field its key's and value's start and end as little-endian `u32`s.
    data: Box<[u8]>,
    text_len: u32,
}

/// Bytes per field after the text: four `u32`s.
const SPAN_BYTES: usize = 16;

#[derive(Debug, Clone, Copy)]
struct MergedField {
    /// The key as it appears in the text (escaped, without quotes).
    key: (u32, u32),
    /// The raw JSON value.
    value: (u32, u32),
}

/// The spans of the object being parsed, reused from line to line (the line decoder keeps one
/// per input thread) so that parsing allocates only what the record keeps.
#[derive(Debug, Default)]
pub struct MergeScratch {
    fields: Vec<MergedField>,
}

impl MergedObject {
    /// Parses `text` if it is exactly one JSON object. Returns `None` for anything else
    /// (another JSON type, malformed JSON, trailing garbage).
    pub fn parse(text: String) -> Option<MergedObject> {
        let mut scratch = MergeScratch::default();
        let fields = spans(&text, &mut scratch)?;
        Some(MergedObject::new(&text, fields))
    }

    /// `text` and the spans of its `fields`, which index it, in one allocation. The text is at
    /// most `u32::MAX` bytes (checked when the spans were made).
    fn new(text: &str, fields: &[MergedField]) -> MergedObject {
        let mut data = Vec::with_capacity(text.len() + fields.len() * SPAN_BYTES);
        data.extend_from_slice(text.as_bytes());
        for f in fields {
            for at in [f.key.0, f.key.1, f.value.0, f.value.1] {
                data.extend_from_slice(&at.to_le_bytes());
            }
        }
        MergedObject {
            data: data.into_boxed_slice(),
            text_len: text.len() as u32,
        }
    }

    /// Like [`MergedObject::parse`], but also accepts objects whose keys contain escapes, by
    /// re-encoding the object compactly (keys then carry their escapes verbatim).
    pub fn parse_any(text: String) -> Option<MergedObject> {
        MergedObject::parse_any_with(text, &mut MergeScratch::default())
    }

    /// [`MergedObject::parse_any`] with a decoder's scratch. `text` is copied once, with its
    /// spans, and only if it is an object.
    pub fn parse_any_with<T>(text: T, scratch: &mut MergeScratch) -> Option<MergedObject>
    where
        T: AsRef<str>,
    {
        let s = text.as_ref();
        if !s.starts_with('{') {
            return None;
        }
        match spans(s, scratch) {
            Some(fields) => Some(MergedObject::new(s, fields)),
            // Only objects with a backslash can have escaped keys.
            None if s.contains('\\') => MergedObject::parse_escaped_keys(s),
            None => None,
        }
    }

    /// `(escaped key, raw JSON value)` in the order of the text. A key may repeat if the text
    /// repeats it; outputs keep the first.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> + Clone {
        let text = self.text();
        let at = move |span: Range<usize>| text.get(span).unwrap_or_default();
        self.spans().map(move |(key, value)| (at(key), at(value)))
    }

    /// The object's text, which [`MergedObject::spans`] index.
    pub fn text(&self) -> &str {
        let text = self.data.get(..self.text_len as usize).unwrap_or_default();
        // SAFETY: `new` copied these bytes from a `&str` and nothing else writes them, so they
        // are UTF-8. (Every document reads the text; checking it each time would be a pass
        // over every JSON line.)
        unsafe { std::str::from_utf8_unchecked(text) }
    }

    /// The positions in [`MergedObject::text`] of each key (escaped, without quotes) and raw
    /// value, in the order of [`MergedObject::fields`].
    pub fn spans(&self) -> impl Iterator<Item = (Range<usize>, Range<usize>)> + Clone + '_ {
        let spans = self.data.get(self.text_len as usize..).unwrap_or_default();
        spans.chunks_exact(SPAN_BYTES).map(|f| {
            let at = |i: usize| {
                let mut b = [0; 4];
                b.copy_from_slice(&f[i..i + 4]);
                u32::from_le_bytes(b) as usize
            };
            (at(0)..at(4), at(8)..at(12))
        })
    }

    pub fn len(&self) -> usize {
        (self.data.len() - self.text_len as usize) / SPAN_BYTES
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes held.
    pub fn size(&self) -> usize {
        self.data.len()
    }
}

/// The spans of the top-level fields of `text` (in `scratch`), if it is exactly one object
/// whose keys have no escapes.
fn spans<'s>(text: &str, scratch: &'s mut MergeScratch) -> Option<&'s [MergedField]> {
    if !text.starts_with('{') || text.len() > u32::MAX as usize {
        return None;
    }
    scratch.fields.clear();
    let by_hand = object_fields(text, |f| {
        scratch.fields.push(MergedField {
            key: (f.key.0 as u32, f.key.1 as u32),
            value: (f.value.0 as u32, f.value.1 as u32),
        })
    });
    if by_hand.is_some() {
        return Some(&scratch.fields);
    }
    // Not an object, or not one the scan is sure of: serde decides.
    spans_by_serde(text, scratch)
}

/// [`spans`] read by serde: for what the hand-written scan leaves (escaped keys, and text that
/// may not be an object at all).
fn spans_by_serde<'s>(text: &str, scratch: &'s mut MergeScratch) -> Option<&'s [MergedField]> {
    scratch.fields.clear();
    let base = text.as_ptr() as usize;
    let mut de = serde_json::Deserializer::from_str(text);
    de::Deserializer::deserialize_map(
        &mut de,
        FieldsVisitor {
            base,
            fields: &mut scratch.fields,
        },
    )
    .ok()?;
    de.end().ok()?;
    Some(&scratch.fields)
}

struct FieldsVisitor<'s> {
    base: usize,
    fields: &'s mut Vec<MergedField>,
}

impl<'de> Visitor<'de> for FieldsVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while let Some(key) = map.next_key_seed(KeySpan { base: self.base })? {
            let value: &'de RawValue = map.next_value()?;
            let start = value.get().as_ptr() as usize - self.base;
            self.fields.push(MergedField {
                key,
                value: (start as u32, (start + value.get().len()) as u32),
            });
        }
        Ok(())
    }
}

/// Finds the span of a key in the text. serde_json hands out a borrowed `&str` when the key has
/// no escapes; otherwise the key is located as a raw value would be.
struct KeySpan {
    base: usize,
}

impl<'de> DeserializeSeed<'de> for KeySpan {
    type Value = (u32, u32);

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySpan {
    type Value = (u32, u32);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        let start = v.as_ptr() as usize - self.base;
        Ok((start as u32, (start + v.len()) as u32))
    }

    fn visit_str<E: de::Error>(self, _v: &str) -> Result<Self::Value, E> {
        // The key had escapes, so serde_json unescaped it into a scratch buffer and its position
        // is lost. Such keys are rare; report them so the caller re-parses the slow way.
        Err(E::custom(ESCAPED_KEY))
    }
}

const ESCAPED_KEY: &str = "logship: escaped key";

impl MergedObject {
    /// An object with escapes in keys, which `spans` cannot locate: re-encoded compactly by
    /// serde_json (keys then carry their escapes verbatim) and its spans built by hand.
    fn parse_escaped_keys(text: &str) -> Option<MergedObject> {
        let v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).ok()?;
        let compact = serde_json::to_string(&v).ok()?;
        MergedObject::from_compact_map(compact, &v)
    }

    fn from_compact_map(
        text: String,
        map: &serde_json::Map<String, serde_json::Value>,
    ) -> Option<MergedObject> {
        let mut fields = Vec::with_capacity(map.len());
        let mut pos = 1usize; // past '{'
        for (k, v) in map {
            let key = serde_json::to_string(k).ok()?;
            let val = serde_json::to_string(v).ok()?;
            if text.get(pos..pos + key.len())? != key {
                return None;
            }
            let key_range = ((pos + 1) as u32, (pos + key.len() - 1) as u32);
            pos += key.len() + 1; // key and ':'
            if text.get(pos..pos + val.len())? != val {
                return None;
            }
            fields.push(MergedField {
                key: key_range,
                value: (pos as u32, (pos + val.len()) as u32),
            });
            pos += val.len() + 1; // value and ',' or '}'
        }
        u32::try_from(text.len()).ok()?;
        Some(MergedObject::new(&text, &fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(m: &MergedObject) -> Vec<(String, String)> {
        m.fields()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn spans_of_a_plain_object() {
        let m = MergedObject::parse(r#"{"a":1, "b" : {"c":[1,2]},"d":"x\"y"}"#.into()).unwrap();
        assert_eq!(
            fields(&m),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), r#"{"c":[1,2]}"#.into()),
                ("d".into(), r#""x\"y""#.into()),
            ]
        );
    }

    #[test]
    fn only_objects_merge() {
        for bad in [
            "[1]",
            "\"s\"",
            "{",
            "{\"a\":1} x",
            "{\"a\":}",
            "",
            "1",
            " {\"a\":1}",
        ] {
            assert!(MergedObject::parse_any(bad.into()).is_none(), "{bad}");
        }
        assert!(MergedObject::parse_any("{}".into()).unwrap().is_empty());
        assert!(MergedObject::parse_any("{\"a\":1}  ".into()).is_some());
    }

    #[test]
    fn escaped_keys_are_kept_escaped() {
        let m = MergedObject::parse_any(r#"{"a\"b":1,"c\u00e9":2}"#.into()).unwrap();
        assert_eq!(
            fields(&m),
            vec![("a\\\"b".into(), "1".into()), ("cé".into(), "2".into())]
        );
    }

    /// The hand-written scan against serde: on each line below, and on every change of one
    /// byte to it (replaced, inserted or removed), every cut and every join of two of them,
    /// whatever the scan takes serde takes too, with the same spans.
    #[test]
    fn the_scan_takes_nothing_serde_would_not_and_reads_it_the_same() {
        let lines = [
            r#"{"level":"info","ts":"2026-11-22T01:02:04.09755419Z","msg":"ok","request_id":"3d5a9ae722e04550","status":200,"latency_ms":234.417}"#,
            r#"{"a": 1, "b": "x", "c": [1, 2], "d": {"e": null}}"#,
            r#"{"n":-0,"m":1.5e-3,"o":1E+10,"p":0.0,"q":-12,"r":10}"#,
            r#"{"t":true,"f":false,"z":null}"#,
            r#"{"s":"a\"b\\c\/d\u00e9\n\t\b\f\r","u":"é😀 long enough to cross a block"}"#,
            "{ \"a\" : 1 ,\t\"b\" :\r\n\"c\" }\t",
            r#"{"nested":{"x":[1,{"y":"z"}],"w":{}},"arr":[],"obj":{}}"#,
            "{\"a\":[1,\n2],\"b\":{\"c\"\r:\n1}}",
            r#"{}"#,
            r#"{ }"#,
            r#"{"k\"ey":1,"plain":2}"#,
            r#"{"":"","é":"é"}"#,
        ];
        let mut scratch = MergeScratch::default();
        let mut by_hand = Vec::new();
        let mut taken = 0;
        let mut check = |text: &str| {
            by_hand.clear();
            let hand = object_fields(text, |f| by_hand.push((f.key, f.value)));
            if hand.is_some() {
                taken += 1;
                let serde: Vec<_> = spans_by_serde(text, &mut scratch)
                    .unwrap_or_else(|| panic!("serde refuses what the scan took: {text:?}"))
                    .iter()
                    .map(|f| {
                        let s = |(a, b): (u32, u32)| (a as usize, b as usize);
                        (s(f.key), s(f.value))
                    })
                    .collect();
                assert_eq!(by_hand, serde, "{text:?}");
            }
            hand.is_some()
        };
        for line in lines {
            // Only an escaped key sends a valid line to serde.
            assert_eq!(check(line), !line.contains(r#"k\"ey"#), "{line}");
        }
        let bytes: Vec<u8> = b" \t\n\r\x00\x1f\"\\/,:{}[]0123456789+-.eEabfnrtuxlsy\x7f"
            .iter()
            .copied()
            .chain([0xc3, 0xa9])
            .collect();
        let mut check_bytes = |b: &[u8]| {
            if let Ok(t) = std::str::from_utf8(b) {
                check(t);
            }
        };
        for line in lines {
            let b = line.as_bytes();
            for at in 0..=b.len() {
                check_bytes(&b[..at]);
                check_bytes(&b[at..]);
                for &x in &bytes {
                    let mut inserted = b.to_vec();
                    inserted.insert(at, x);
                    check_bytes(&inserted);
                    if at < b.len() {
                        let mut replaced = b.to_vec();
                        replaced[at] = x;
                        check_bytes(&replaced);
                    }
                }
                if at < b.len() {
                    let mut removed = b.to_vec();
                    removed.remove(at);
                    check_bytes(&removed);
                }
            }
            for other in lines {
                check_bytes(format!("{line}{other}").as_bytes());
                check_bytes(format!("{line},{other}").as_bytes());
            }
        }
        // Many changes keep a line valid (another digit, a space, another letter in a string).
        assert!(taken > 5000, "{taken}");
    }

    #[test]
    fn repeated_keys_are_reported_in_order() {
        let m = MergedObject::parse_any(r#"{"a":1,"a":2}"#.into()).unwrap();
        assert_eq!(m.len(), 2);
    }
}
