//! One forward-protocol message to events: the four modes (Message, Forward, PackedForward,
//! CompressedPackedForward with gzip, several members allowed), both time forms (EventTime and
//! integer seconds; floats too), and the `chunk` option. A record (a msgpack map) becomes the
//! JSON text of an object, which the record keeps the way it keeps a merged JSON log line.

use std::io::Read;

use flate2::read::MultiGzDecoder;
use rmpv::ValueRef;

use crate::json_text::escape_into;
use crate::time::EventTime;

/// A decoded message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub tag: String,
    pub events: Vec<Event>,
    /// The `chunk` option: the sender wants `{"ack": chunk}` once the events are safe.
    pub chunk: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub time: EventTime,
    /// The record as a JSON object.
    pub fields: String,
}

/// Why a message was refused (the connection is closed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

fn refused<T>(why: impl Into<String>) -> Result<T, Refused> {
    Err(Refused(why.into()))
}

const MAX_DEPTH: usize = 64;

/// Decodes one whole msgpack value. `Ok(None)`: not an event message (a keep-alive `nil`, or
/// any non-array, which the protocol says to ignore). `max_bytes` bounds what gzip inflates to.
pub fn decode(frame: &[u8], max_bytes: usize) -> Result<Option<Message>, Refused> {
    let mut rd = frame;
    let value = match rmpv::decode::read_value_ref_with_max_depth(&mut rd, MAX_DEPTH) {
        Ok(v) => v,
        Err(e) => return refused(format!("malformed msgpack: {e}")),
    };
    let ValueRef::Array(parts) = value else {
        return Ok(None);
    };
    if !(2..=4).contains(&parts.len()) {
        return refused(format!(
            "a message has 2 to 4 elements, this one {}",
            parts.len()
        ));
    }
    let tag = match &parts[0] {
        ValueRef::String(s) => match s.as_str() {
            Some(t) if !t.is_empty() => t.to_owned(),
            _ => return refused("the tag is empty or not UTF-8"),
        },
        _ => return refused("the tag is not a string"),
    };
    let mut events = Vec::new();
    let options = match &parts[1] {
        // Message mode: [tag, time, record, option?]
        ValueRef::Integer(_) | ValueRef::Ext(..) | ValueRef::F32(_) | ValueRef::F64(_) => {
            let Some(record) = parts.get(2) else {
                return refused("a Message-mode message has no record");
            };
            events.push(event(&parts[1], record)?);
            parts.get(3)
        }
        // Forward mode: [tag, [[time, record], …], option?]
        ValueRef::Array(entries) => {
            if parts.len() > 3 {
                return refused("a Forward-mode message has at most 3 elements");
            }
            for e in entries {
                events.push(entry(e)?);
            }
            parts.get(2)
        }
        // PackedForward (bin or str) and CompressedPackedForward (bin, gzip).
        ValueRef::Binary(packed) => packed_stream(packed, parts.get(2), max_bytes, &mut events)?,
        ValueRef::String(s) => packed_stream(s.as_bytes(), parts.get(2), max_bytes, &mut events)?,
        _ => return refused("the second element is not a time, an array or a packed stream"),
    };
    let chunk = options
        .and_then(|o| option(o, "chunk"))
        .and_then(|c| match c {
            ValueRef::String(s) => s.as_str().map(str::to_owned),
            _ => None,
        });
    Ok(Some(Message { tag, events, chunk }))
}

fn packed_stream<'a>(
    packed: &[u8],
    options: Option<&'a ValueRef<'a>>,
    max_bytes: usize,
    events: &mut Vec<Event>,
) -> Result<Option<&'a ValueRef<'a>>, Refused> {
    let gzip = options
        .and_then(|o| option(o, "compressed"))
        .is_some_and(|c| matches!(c, ValueRef::String(s) if s.as_str() == Some("gzip")));
    let inflated;
    let mut rd: &[u8] = if gzip {
        let mut out = Vec::new();
        let mut gz = MultiGzDecoder::new(packed).take(max_bytes as u64 + 1);
        if let Err(e) = gz.read_to_end(&mut out) {
            return refused(format!("bad gzip in CompressedPackedForward: {e}"));
        }
        if out.len() > max_bytes {
            return refused(format!(
                "CompressedPackedForward inflates to more than {max_bytes} bytes"
            ));
        }
        inflated = out;
        &inflated
    } else {
        packed
    };
    while !rd.is_empty() {
        match rmpv::decode::read_value_ref_with_max_depth(&mut rd, MAX_DEPTH) {
            Ok(e) => events.push(entry(&e)?),
            Err(e) => return refused(format!("malformed msgpack in the event stream: {e}")),
        }
    }
    Ok(options)
}

fn option<'a>(options: &'a ValueRef<'a>, key: &str) -> Option<&'a ValueRef<'a>> {
    match options {
        ValueRef::Map(kv) => kv
            .iter()
            .find(|(k, _)| matches!(k, ValueRef::String(s) if s.as_str() == Some(key)))
            .map(|(_, v)| v),
        _ => None,
    }
}

/// `[time, record]`.
fn entry(e: &ValueRef<'_>) -> Result<Event, Refused> {
    match e {
        ValueRef::Array(pair) if pair.len() == 2 => event(&pair[0], &pair[1]),
        _ => refused("an entry is not [time, record]"),
    }
}

fn event(time: &ValueRef<'_>, record: &ValueRef<'_>) -> Result<Event, Refused> {
    let time = match time {
        ValueRef::Integer(i) => match i.as_i64() {
            Some(secs) => EventTime { secs, nanos: 0 },
            None => return refused("the time is out of range"),
        },
        ValueRef::Ext(0, b) if b.len() == 8 => EventTime {
            secs: i64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
            nanos: u32::from_be_bytes([b[4], b[5], b[6], b[7]]).min(999_999_999),
        },
        ValueRef::F64(f) => float_time(*f)?,
        ValueRef::F32(f) => float_time(f64::from(*f))?,
        _ => return refused("the time is not an EventTime or a number"),
    };
    if !matches!(record, ValueRef::Map(_)) {
        return refused("a record is not a map");
    }
    let mut fields = String::new();
    json(record, &mut fields);
    Ok(Event { time, fields })
}

fn float_time(f: f64) -> Result<EventTime, Refused> {
    if !f.is_finite() || !(0.0..=1e12).contains(&f) {
        return refused("the time is out of range");
    }
    Ok(EventTime {
        secs: f.trunc() as i64,
        nanos: ((f.fract() * 1e9) as u32).min(999_999_999),
    })
}

/// Writes a msgpack value as JSON: binary as (lossy UTF-8) text, EventTime as integer
/// seconds (as the protocol shows it), other extension types as null, non-string map keys as
/// their JSON text, non-finite floats as null.
pub fn json(v: &ValueRef<'_>, out: &mut String) {
    match v {
        ValueRef::Nil => out.push_str("null"),
        ValueRef::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        ValueRef::Integer(i) => out.push_str(&i.to_string()),
        ValueRef::F32(f) => float(f64::from(*f), out),
        ValueRef::F64(f) => float(*f, out),
        ValueRef::String(s) => quoted(&String::from_utf8_lossy(s.as_bytes()), out),
        ValueRef::Binary(b) => quoted(&String::from_utf8_lossy(b), out),
        ValueRef::Ext(0, b) if b.len() == 8 => {
            out.push_str(&u32::from_be_bytes([b[0], b[1], b[2], b[3]]).to_string())
        }
        ValueRef::Ext(..) => out.push_str("null"),
        ValueRef::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json(item, out);
            }
            out.push(']');
        }
        ValueRef::Map(kv) => {
            out.push('{');
            for (i, (k, val)) in kv.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match k {
                    ValueRef::String(s) => quoted(&String::from_utf8_lossy(s.as_bytes()), out),
                    other => {
                        let mut text = String::new();
                        json(other, &mut text);
                        quoted(&text, out);
                    }
                }
                out.push(':');
                json(val, out);
            }
            out.push('}');
        }
    }
}

fn float(f: f64, out: &mut String) {
    if f.is_finite() {
        match serde_json::to_string(&f) {
            Ok(s) => out.push_str(&s),
            Err(_) => out.push_str("null"),
        }
    } else {
        out.push_str("null");
    }
}

fn quoted(s: &str, out: &mut String) {
    out.push('"');
    escape_into(s, out);
    out.push('"');
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
