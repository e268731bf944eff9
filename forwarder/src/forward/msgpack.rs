//! Writing msgpack into a `Vec<u8>`, and JSON text to msgpack.
//!
//! The forward output writes the same fields the Elasticsearch document has (the document
//! encoder decides which, in what order, with what reserved keys), so it transcodes the JSON the
//! document encoder wrote rather than knowing the fields a second time. Transcoding is one pass
//! of serde_json's parser driving a visitor that writes msgpack, with no tree in between.
//!
//! Writes to a vector cannot fail; the wrappers here drop rmp's (io) results for that reason.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

pub fn nil(out: &mut Vec<u8>) {
    let _ = rmp::encode::write_nil(out);
}

pub fn bool(out: &mut Vec<u8>, v: bool) {
    let _ = rmp::encode::write_bool(out, v);
}

pub fn uint(out: &mut Vec<u8>, v: u64) {
    let _ = rmp::encode::write_uint(out, v);
}

pub fn sint(out: &mut Vec<u8>, v: i64) {
    let _ = rmp::encode::write_sint(out, v);
}

pub fn f64(out: &mut Vec<u8>, v: f64) {
    let _ = rmp::encode::write_f64(out, v);
}

pub fn str(out: &mut Vec<u8>, s: &str) {
    let _ = rmp::encode::write_str(out, s);
}

pub fn bin(out: &mut Vec<u8>, b: &[u8]) {
    let _ = rmp::encode::write_bin(out, b);
}

pub fn array_len(out: &mut Vec<u8>, n: u32) {
    let _ = rmp::encode::write_array_len(out, n);
}

pub fn map_len(out: &mut Vec<u8>, n: u32) {
    let _ = rmp::encode::write_map_len(out, n);
}

/// The forward protocol's EventTime: ext type 0, seconds and nanoseconds as big-endian u32
/// (fixext8). Times before 1970 or after 2106 are clamped to what the format can say.
pub fn event_time(out: &mut Vec<u8>, secs: i64, nanos: u32) {
    let secs = secs.clamp(0, u32::MAX as i64) as u32;
    out.extend_from_slice(&[0xd7, 0x00]);
    out.extend_from_slice(&secs.to_be_bytes());
    out.extend_from_slice(&nanos.min(999_999_999).to_be_bytes());
}

/// Appends the msgpack form of the JSON object `json` as its key/value pairs only (no map
/// header) and returns how many pairs it wrote.
pub fn object_fields(json: &[u8], out: &mut Vec<u8>) -> Result<usize, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let n = de.deserialize_map(Pairs { out })?;
    de.end()?;
    Ok(n)
}

/// Appends the msgpack form of one JSON value.
pub fn value(json: &str, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(json);
    Emit { out }.deserialize(&mut de)?;
    de.end()
}

/// Writes one value.
struct Emit<'a> {
    out: &'a mut Vec<u8>,
}

/// Writes the pairs of an object, without its header.
struct Pairs<'a> {
    out: &'a mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for Emit<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// Container headers are written after their contents are counted: five bytes are reserved,
/// then replaced by the smallest header for the count.
fn finish_header(out: &mut Vec<u8>, at: usize, n: usize, map: bool) {
    let mut header = Vec::with_capacity(5);
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    if map {
        map_len(&mut header, n);
    } else {
        array_len(&mut header, n);
    }
    out.splice(at..at + 5, header);
}

fn write_pairs<'de, A: MapAccess<'de>>(out: &mut Vec<u8>, mut map: A) -> Result<usize, A::Error> {
    let mut n = 0;
    while map.next_key_seed(Emit { out: &mut *out })?.is_some() {
        map.next_value_seed(Emit { out: &mut *out })?;
        n += 1;
    }
    Ok(n)
}

impl<'de> Visitor<'de> for Emit<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        bool(self.out, v);
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        sint(self.out, v);
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        uint(self.out, v);
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        f64(self.out, v);
        Ok(())
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        str(self.out, v);
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        nil(self.out);
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        nil(self.out);
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let at = self.out.len();
        self.out.extend_from_slice(&[0; 5]);
        let mut n = 0;
        while seq
            .next_element_seed(Emit {
                out: &mut *self.out,
            })?
            .is_some()
        {
            n += 1;
        }
        finish_header(self.out, at, n, false);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let at = self.out.len();
        self.out.extend_from_slice(&[0; 5]);
        let n = write_pairs(self.out, map)?;
        finish_header(self.out, at, n, true);
        Ok(())
    }
}

impl<'de> Visitor<'de> for Pairs<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<usize, A::Error> {
        write_pairs(self.out, map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mp(json: &str) -> Vec<u8> {
        let mut out = Vec::new();
        value(json, &mut out).unwrap();
        out
    }

    #[test]
    fn values_use_the_smallest_encoding() {
        assert_eq!(mp("null"), [0xc0]);
        assert_eq!(mp("true"), [0xc3]);
        assert_eq!(mp("5"), [0x05]);
        assert_eq!(mp("-1"), [0xff]);
        assert_eq!(mp("300"), [0xcd, 0x01, 0x2c]);
        assert_eq!(mp("\"a\\nb\""), [0xa3, b'a', b'\n', b'b']);
        assert_eq!(mp("[1,[]]"), [0x92, 0x01, 0x90]);
        assert_eq!(mp("{\"k\":{}}"), [0x81, 0xa1, b'k', 0x80]);
        let mut f = vec![0xcb];
        f.extend_from_slice(&1.5f64.to_be_bytes());
        assert_eq!(mp("1.5"), f);
    }

    #[test]
    fn big_containers_get_wider_headers() {
        let json = format!("[{}]", vec!["1"; 20].join(","));
        let out = mp(&json);
        assert_eq!(&out[..3], &[0xdc, 0x00, 20]);
        assert_eq!(out.len(), 3 + 20);
    }

    #[test]
    fn object_fields_are_written_without_a_header() {
        let mut out = vec![0xff];
        let n = object_fields(b"{\"a\":1,\"b\":[true]}", &mut out).unwrap();
        assert_eq!(n, 2);
        assert_eq!(out, [0xff, 0xa1, b'a', 0x01, 0xa1, b'b', 0x91, 0xc3]);
        assert!(object_fields(b"{\"a\":", &mut Vec::new()).is_err());
        assert!(object_fields(b"[1]", &mut Vec::new()).is_err());
    }

    #[test]
    fn event_time_is_fixext8_type_0() {
        let mut out = Vec::new();
        event_time(&mut out, 1441588984, 123456789);
        assert_eq!(
            out,
            [0xd7, 0x00, 0x55, 0xec, 0xe6, 0xf8, 0x07, 0x5b, 0xcd, 0x15]
        );
    }
}
