//! The record: one log line (or one reassembled split line) as the collector hands it to the
//! outputs. Outputs encode it straight into their wire format (NDJSON, msgpack); nothing here is
//! specific to one output.

use std::path::PathBuf;
use std::sync::Arc;

use crate::json_merge::MergedObject;
use crate::json_text::JsonText;
use crate::pod_ref::PodRef;
use crate::time::EventTime;

/// Where records come from: one tailed file (one identity: a truncated file becomes a new source).
#[derive(Debug)]
pub struct Source {
    /// Stable across restarts and renames: derived from the container id (or path) and a
    /// fingerprint of the file's first line. Combined with a byte offset it names a line.
    pub id: u64,
    pub path: PathBuf,
    pub tag: String,
    pub pod: Option<PodRef>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
    Other(Box<str>),
}

impl Stream {
    pub fn from_name(name: &str) -> Stream {
        match name {
            "stdout" => Stream::Stdout,
            "stderr" => Stream::Stderr,
            other => Stream::Other(other.into()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
            Stream::Other(s) => s,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Record {
    pub source: Arc<Source>,
    /// Byte offset of the first byte of the (first piece of the) line.
    pub start_offset: u64,
    /// Byte offset just past the line's newline: reading may resume here once this record is
    /// delivered.
    pub end_offset: u64,
    /// The event time, from `time`, or the time of reading when the line had none.
    pub time: EventTime,
    /// `time` as written in the line; empty when the line had none (the output then writes
    /// the event time).
    pub time_text: Box<str>,
    pub stream: Option<Stream>,
    pub log: JsonText,
    /// The top-level keys of `log` when it is a whole-line JSON object.
    pub merged: Option<Box<MergedObject>>,
    /// The line was longer than the maximum and was cut.
    pub truncated: bool,
}

impl Record {
    /// Bytes this record holds, for the memory bound.
    pub fn size(&self) -> usize {
        std::mem::size_of::<Record>()
            + self.log.len()
            + self.time_text.len()
            + self.merged.as_ref().map_or(0, |m| m.size())
    }
}
