//! Whole-line JSON merge: when a container writes one JSON object per line, its top-level keys
//! become fields of the record, as fluent-bit's `Merge_Log` did for the original system.
//!
//! The object is parsed once, here; the record keeps the text and the positions of each key and
//! value, so outputs copy values verbatim instead of re-serializing a tree.

use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde_json::value::RawValue;

/// The top-level fields of a JSON object, as spans into its text.
#[derive(Debug, Clone)]
pub struct MergedObject {
    text: String,
    fields: Vec<MergedField>,
}

#[derive(Debug, Clone)]
struct MergedField {
    /// The key as it appears in the text (escaped, without quotes).
    key: Range<u32>,
    /// The raw JSON value.
    value: Range<u32>,
}

impl MergedObject {
    /// Parses `text` if it is exactly one JSON object. Returns `None` for anything else
    /// (another JSON type, malformed JSON, trailing garbage).
    pub fn parse(text: String) -> Option<MergedObject> {
        if !text.starts_with('{') || text.len() > u32::MAX as usize {
            return None;
        }
        let base = text.as_ptr() as usize;
        let fields = {
            let mut de = serde_json::Deserializer::from_str(&text);
            let fields = de::Deserializer::deserialize_map(&mut de, FieldsVisitor { base }).ok()?;
            de.end().ok()?;
            fields
        };
        Some(MergedObject { text, fields })
    }

    /// `(escaped key, raw JSON value)` in the order of the text. A key may repeat if the text
    /// repeats it; outputs keep the first.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> + Clone {
        self.fields.iter().map(|f| {
            (
                &self.text[f.key.start as usize..f.key.end as usize],
                &self.text[f.value.start as usize..f.value.end as usize],
            )
        })
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Heap bytes held (capacities).
    pub fn size(&self) -> usize {
        self.text.capacity() + self.fields.capacity() * std::mem::size_of::<MergedField>()
    }
}

struct FieldsVisitor {
    base: usize,
}

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Vec<MergedField>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        // Room for a typical log object's keys at once, rather than growing 4, 8, 16.
        let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(0).max(8));
        while let Some(key) = map.next_key_seed(KeySpan { base: self.base })? {
            let value: &'de RawValue = map.next_value()?;
            let start = value.get().as_ptr() as usize - self.base;
            fields.push(MergedField {
                key,
                value: start as u32..(start + value.get().len()) as u32,
            });
        }
        Ok(fields)
    }
}

/// Finds the span of a key in the text. serde_json hands out a borrowed `&str` when the key has
/// no escapes; otherwise the key is located as a raw value would be.
struct KeySpan {
    base: usize,
}

impl<'de> DeserializeSeed<'de> for KeySpan {
    type Value = Range<u32>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySpan {
    type Value = Range<u32>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        let start = v.as_ptr() as usize - self.base;
        Ok(start as u32..(start + v.len()) as u32)
    }

    fn visit_str<E: de::Error>(self, _v: &str) -> Result<Self::Value, E> {
        // The key had escapes, so serde_json unescaped it into a scratch buffer and its position
        // is lost. Such keys are rare; report them so the caller re-parses the slow way.
        Err(E::custom(ESCAPED_KEY))
    }
}

const ESCAPED_KEY: &str = "logship: escaped key";

impl MergedObject {
    /// Like [`MergedObject::parse`], but also accepts objects whose keys contain escapes, by
    /// re-encoding the object compactly (keys then carry their escapes verbatim).
    pub fn parse_any(text: String) -> Option<MergedObject> {
        if !text.starts_with('{') {
            return None;
        }
        // Cheap precheck: only objects with a backslash can have escaped keys.
        if !text.contains('\\') {
            return MergedObject::parse(text);
        }
        match MergedObject::parse(text.clone()) {
            Some(m) => Some(m),
            None => {
                let v: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(&text).ok()?;
                let compact = serde_json::to_string(&v).ok()?;
                // serde_json writes keys with escapes, which `parse` cannot locate; build the
                // spans by hand from the compact form instead.
                MergedObject::from_compact_map(compact, &v)
            }
        }
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
            let key_range = (pos + 1) as u32..(pos + key.len() - 1) as u32;
            pos += key.len() + 1; // key and ':'
            if text.get(pos..pos + val.len())? != val {
                return None;
            }
            fields.push(MergedField {
                key: key_range,
                value: pos as u32..(pos + val.len()) as u32,
            });
            pos += val.len() + 1; // value and ',' or '}'
        }
        Some(MergedObject { text, fields })
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

    #[test]
    fn repeated_keys_are_reported_in_order() {
        let m = MergedObject::parse_any(r#"{"a":1,"a":2}"#.into()).unwrap();
        assert_eq!(m.len(), 2);
    }
}
