//! One journal entry as `journalctl --output=json --all` writes it: one JSON object per line,
//! every field a string, except that a field holding bytes journalctl does not consider
//! printable (an ANSI colour escape, a newline) is an array of byte values, and a field set
//! more than once is an array of its values.
//!
//! The record keeps the entry's data fields as journald gives them (`MESSAGE`, `PRIORITY`,
//! `_PID`, `_HOSTNAME`, `_SYSTEMD_UNIT`, …), byte arrays turned into text (invalid UTF-8
//! replaced), as fluent-bit's systemd input shipped them. The address fields (`__CURSOR`,
//! `__REALTIME_TIMESTAMP`, `__MONOTONIC_TIMESTAMP`, `__SEQNUM`, …) are not data: the event time
//! comes from `__REALTIME_TIMESTAMP`, and the cursor names the entry in the document `_id` and
//! in the checkpoint.

use serde_json::{Map, Value};

use crate::time::EventTime;

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// `__CURSOR`: where the journal stands once this entry is read.
    pub cursor: String,
    /// `_SYSTEMD_UNIT`, when it is one string.
    pub unit: Option<String>,
    /// From `__REALTIME_TIMESTAMP` (microseconds since the epoch); `None` when missing or bad.
    pub time: Option<EventTime>,
    /// The data fields as a JSON object, keys in order, values strings or arrays of strings.
    pub fields: String,
}

/// Why a line is not an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotAnEntry {
    /// Not one JSON object.
    NotJson,
    /// An object without a `__CURSOR` string: nothing to resume from.
    NoCursor,
}

/// Parses one line of journalctl's JSON output (its newline may be included).
pub fn parse(line: &[u8]) -> Result<Entry, NotAnEntry> {
    let object: Map<String, Value> =
        serde_json::from_slice(line).map_err(|_| NotAnEntry::NotJson)?;
    let mut cursor = None;
    let mut time = None;
    let mut unit = None;
    let mut fields = Map::new();
    for (key, value) in object {
        match (key.as_str(), value) {
            ("__CURSOR", Value::String(c)) => cursor = Some(c),
            ("__REALTIME_TIMESTAMP", Value::String(t)) => time = realtime(&t),
            (address, _) if address.starts_with("__") => {}
            (_, value) => {
                let value = text_value(value);
                if key == "_SYSTEMD_UNIT" {
                    unit = value.as_str().map(str::to_owned);
                }
                fields.insert(key, value);
            }
        }
    }
    let cursor = cursor.ok_or(NotAnEntry::NoCursor)?;
    // A map of strings always serializes.
    let fields = serde_json::to_string(&fields).map_err(|_| NotAnEntry::NotJson)?;
    Ok(Entry {
        cursor,
        unit,
        time,
        fields,
    })
}

/// A field's value as text: byte arrays become strings, each value of a field set several
/// times too.
fn text_value(value: Value) -> Value {
    match value {
        Value::Array(items) if items.iter().all(|i| i.is_u64()) => {
            let bytes: Vec<u8> = items
                .iter()
                .filter_map(Value::as_u64)
                .map(|b| b as u8)
                .collect();
            Value::String(String::from_utf8_lossy(&bytes).into_owned())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(text_value).collect()),
        other => other,
    }
}

/// `__REALTIME_TIMESTAMP`: microseconds since the epoch, in decimal.
fn realtime(text: &str) -> Option<EventTime> {
    let micros: u64 = text.parse().ok()?;
    Some(EventTime {
        secs: i64::try_from(micros / 1_000_000).ok()?,
        nanos: (micros % 1_000_000) as u32 * 1000,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line as journalctl 252 writes it for an entry systemd-journal-remote stored.
    const LINE: &str = r#"{"MESSAGE":[27,91,51,49,109,114,101,100,27,91,48,109,32,108,105,110,101,10,115,101,99,111,110,100],"_SYSTEMD_UNIT":"docker.service","__CURSOR":"s=175ae769e65544ba85d91c3ce469da9e;i=1;b=0123456789abcdef0123456789abcdef;m=3e8;t=661533d5dc805;x=23126e1eebfa377b","__REALTIME_TIMESTAMP":"1795860000000005","BIN":[255,254,0,120],"__MONOTONIC_TIMESTAMP":"1000","TAGS":["a","b"],"_BOOT_ID":"0123456789abcdef0123456789abcdef","TAB":"a\tb"}"#;

    #[test]
    fn fields_as_journald_gives_them_without_the_address_fields() {
        let e = parse(format!("{LINE}\n").as_bytes()).unwrap();
        assert_eq!(
            e.cursor,
            "s=175ae769e65544ba85d91c3ce469da9e;i=1;b=0123456789abcdef0123456789abcdef;m=3e8;t=661533d5dc805;x=23126e1eebfa377b"
        );
        assert_eq!(e.unit.as_deref(), Some("docker.service"));
        assert_eq!(
            e.time,
            Some(EventTime {
                secs: 1_795_860_000,
                nanos: 5_000
            })
        );
        assert_eq!(
            e.fields,
            r#"{"BIN":"��\u0000x","MESSAGE":"\u001b[31mred\u001b[0m line\nsecond","TAB":"a\tb","TAGS":["a","b"],"_BOOT_ID":"0123456789abcdef0123456789abcdef","_SYSTEMD_UNIT":"docker.service"}"#
        );
    }

    #[test]
    fn a_field_set_twice_with_bytes_keeps_each_value_as_text() {
        let e = parse(br#"{"__CURSOR":"c","M":[[104,105],"x",[255]]}"#).unwrap();
        assert_eq!(e.fields, r#"{"M":["hi","x","�"]}"#);
        assert_eq!((e.unit, e.time), (None, None));
    }

    #[test]
    fn lines_that_are_not_entries() {
        for (line, why) in [
            (&b"-- No entries --"[..], NotAnEntry::NotJson),
            (b"[1,2]", NotAnEntry::NotJson),
            (b"{\"MESSAGE\":\"x\"", NotAnEntry::NotJson),
            (b"{\"MESSAGE\":\"x\"}", NotAnEntry::NoCursor),
            (b"{\"__CURSOR\":[1]}", NotAnEntry::NoCursor),
        ] {
            assert_eq!(parse(line), Err(why), "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn a_bad_realtime_stamp_is_no_time() {
        for stamp in ["", "-1", "1.5", "x", "99999999999999999999999"] {
            let line = format!(r#"{{"__CURSOR":"c","__REALTIME_TIMESTAMP":"{stamp}"}}"#);
            assert_eq!(parse(line.as_bytes()).unwrap().time, None, "{stamp}");
        }
    }
}
