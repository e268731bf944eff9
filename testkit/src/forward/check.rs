//! Strict reading of what a forward client sends: every message is checked against the protocol
//! (DESIGN §4's Forward mode, or CompressedPackedForward), and its events are kept in a form
//! tests can compare exactly. Anything off is a violation, listed, never silently accepted.

use std::io::Read;

use base64::Engine;
use flate2::read::MultiGzDecoder;
use rmpv::Value;
use serde_json::Value as Json;

/// One event as the server received it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub tag: String,
    pub secs: u32,
    pub nanos: u32,
    /// The record, as JSON (binary as text, EventTime as seconds).
    pub record: Json,
}

/// One message as the server received it.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub tag: String,
    /// `forward` (entries in an array) or `compressed` (gzip).
    pub mode: &'static str,
    pub events: usize,
    pub chunk: Option<String>,
    /// The message's bytes, for an independent decoder.
    pub raw: Vec<u8>,
}

/// Checks one message; returns it with its events, or what is wrong with it.
pub fn check(raw: &[u8], v: &Value) -> Result<(Message, Vec<Event>), String> {
    let parts = v.as_array().ok_or("a message is not an array")?;
    if parts.len() != 3 {
        return Err(format!(
            "a message must be [tag, entries, options], it has {} elements",
            parts.len()
        ));
    }
    let tag = parts[0]
        .as_str()
        .ok_or("the tag is not a string")?
        .to_owned();
    if tag.is_empty() {
        return Err("the tag is empty".into());
    }
    let options = parts[2].as_map().ok_or("the options are not a map")?;
    let opt = |k: &str| {
        options
            .iter()
            .find(|(key, _)| key.as_str() == Some(k))
            .map(|(_, v)| v)
    };
    let (mode, entries) = match &parts[1] {
        Value::Array(entries) => {
            if opt("compressed").is_some() {
                return Err("`compressed` on a Forward-mode message".into());
            }
            ("forward", entries.clone())
        }
        Value::Binary(zipped) => {
            if opt("compressed").and_then(Value::as_str) != Some("gzip") {
                return Err("a bin of entries without compressed: gzip".into());
            }
            let mut raw = Vec::new();
            MultiGzDecoder::new(&zipped[..])
                .read_to_end(&mut raw)
                .map_err(|e| format!("bad gzip: {e}"))?;
            let mut rd = &raw[..];
            let mut entries = Vec::new();
            while !rd.is_empty() {
                entries.push(
                    rmpv::decode::read_value(&mut rd)
                        .map_err(|e| format!("bad entry in the gzip stream: {e}"))?,
                );
            }
            ("compressed", entries)
        }
        other => return Err(format!("entries are neither an array nor a bin: {other}")),
    };
    if let Some(size) = opt("size") {
        if size.as_u64() != Some(entries.len() as u64) {
            return Err(format!("size {size} but {} entries", entries.len()));
        }
    }
    let chunk = match opt("chunk") {
        None => None,
        Some(c) => {
            let c = c.as_str().ok_or("the chunk is not a string")?;
            let id = base64::engine::general_purpose::STANDARD
                .decode(c)
                .map_err(|_| format!("the chunk {c:?} is not base64"))?;
            if id.len() != 16 {
                return Err(format!("the chunk {c:?} is not 128 bits"));
            }
            Some(c.to_owned())
        }
    };
    let mut events = Vec::with_capacity(entries.len());
    for e in &entries {
        let pair = e
            .as_array()
            .filter(|p| p.len() == 2)
            .ok_or("an entry is not [time, record]")?;
        let (secs, nanos) = match &pair[0] {
            Value::Ext(0, b) if b.len() == 8 => (
                u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            ),
            other => return Err(format!("the time is not an EventTime: {other}")),
        };
        if nanos > 999_999_999 {
            return Err(format!("EventTime nanoseconds {nanos} out of range"));
        }
        let map = pair[1].as_map().ok_or("a record is not a map")?;
        if map.iter().any(|(k, _)| !k.is_str()) {
            return Err("a record key is not a string".into());
        }
        events.push(Event {
            tag: tag.clone(),
            secs,
            nanos,
            record: json(&pair[1]),
        });
    }
    let message = Message {
        tag,
        mode,
        events: events.len(),
        chunk,
        raw: raw.to_vec(),
    };
    Ok((message, events))
}

/// msgpack to JSON for comparisons.
pub fn json(v: &Value) -> Json {
    match v {
        Value::Nil => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Integer(i) => match (i.as_u64(), i.as_i64()) {
            (Some(u), _) => Json::from(u),
            (_, Some(s)) => Json::from(s),
            _ => Json::Null,
        },
        Value::F32(f) => Json::from(f64::from(*f)),
        Value::F64(f) => Json::from(*f),
        Value::String(s) => Json::String(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        Value::Binary(b) => Json::String(String::from_utf8_lossy(b).into_owned()),
        Value::Array(a) => Json::Array(a.iter().map(json).collect()),
        Value::Map(m) => Json::Object(
            m.iter()
                .map(|(k, v)| {
                    (
                        k.as_str().map_or_else(|| k.to_string(), str::to_owned),
                        json(v),
                    )
                })
                .collect(),
        ),
        Value::Ext(0, b) if b.len() == 8 => {
            Json::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        }
        Value::Ext(..) => Json::Null,
    }
}
