//! The record: one log line (or one reassembled split line) as the collector hands it to the
//! outputs. Outputs encode it straight into their wire format (NDJSON, msgpack); nothing here is
//! specific to one output.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use crate::json_merge::MergedObject;
use crate::kube::PodMeta;
use crate::log_text::{LogRef, LogText};
use crate::pod_ref::{tag_for_path, PodRef};
use crate::time::EventTime;
use crate::time_text::TimeText;

/// Where records come from: one tailed file (one identity: a truncated file becomes a new source),
/// and what the Kubernetes API said of its pod when they were read. New pod metadata makes a new
/// `Source` with the same identity, so that outputs can keep encoding per `Arc<Source>`; the
/// tailer changes its source in place only when no record or output cache holds it
/// (`Arc::make_mut`), so a version an output has seen is never changed under it.
#[derive(Debug, Clone)]
pub struct Source {
    /// Stable across restarts and renames: derived from the container id (or path) and a
    /// fingerprint of the file's first line. Combined with a byte offset it names a line.
    pub id: u64,
    /// Shared with the tailer and the file's checkpoint: one copy per file.
    pub path: Arc<Path>,
    pub tag: Tag,
    pub pod: Option<PodRef>,
    /// The pod's metadata from the API; `None` when unknown or not asked for.
    pub meta: Option<Arc<PodMeta>>,
}

impl Source {
    /// The Fluentd-style tag of the records.
    pub fn tag(&self) -> Cow<'_, str> {
        match &self.tag {
            Tag::OfPath => Cow::Owned(tag_for_path(&self.path)),
            Tag::Named(tag) => Cow::Borrowed(tag),
        }
    }
}

/// A source's tag, as [`Source::tag`] spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tag {
    /// fluent-bit's tag for a tailed file: `kube.` and the path with `/` turned into `.`. Made
    /// from the path when an output asks (once per source), not kept: a node with thousands of
    /// files would hold every path twice.
    OfPath,
    Named(Arc<str>),
}

impl From<&str> for Tag {
    fn from(tag: &str) -> Tag {
        Tag::Named(tag.into())
    }
}

impl From<String> for Tag {
    fn from(tag: String) -> Tag {
        Tag::Named(tag.into())
    }
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

/// What a record is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordKind {
    /// A log line: `log`, `stream`, `time`, the merged JSON keys and the pod's `kubernetes`.
    #[default]
    Line,
    /// An event received over the forward protocol, or a journald entry: its fields are the
    /// sender's map (the entry's fields), held in `merged` with every key as sent (`log`, `time`
    /// included); `log`, `stream` and `time_text` are empty, and its source has no pod.
    Event,
    /// A heapster-shaped metrics document of one family (kubelet metrics source): the whole
    /// document is `merged`, written as it is, to `heapster-<family>-YYYY.MM.DD`.
    Metric(MetricFamily),
}

/// The heapster metric families logship writes, each to its own daily index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MetricFamily {
    Cpu,
    Memory,
    Network,
    Filesystem,
}

impl MetricFamily {
    pub const ALL: [MetricFamily; 4] = [
        MetricFamily::Cpu,
        MetricFamily::Memory,
        MetricFamily::Network,
        MetricFamily::Filesystem,
    ];

    /// `cpu`, `memory`, …: the index's middle part, the metric names' prefix, heapster's
    /// `_type`.
    pub fn name(self) -> &'static str {
        match self {
            MetricFamily::Cpu => "cpu",
            MetricFamily::Memory => "memory",
            MetricFamily::Network => "network",
            MetricFamily::Filesystem => "filesystem",
        }
    }

    /// The document's time field, `strings.Title(family) + "MetricsTimestamp"` in heapster.
    pub fn timestamp_key(self) -> &'static str {
        match self {
            MetricFamily::Cpu => "CpuMetricsTimestamp",
            MetricFamily::Memory => "MemoryMetricsTimestamp",
            MetricFamily::Network => "NetworkMetricsTimestamp",
            MetricFamily::Filesystem => "FilesystemMetricsTimestamp",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Record {
    pub source: Arc<Source>,
    /// Byte offset of the first byte of the (first piece of the) line; for an event, its
    /// position or identity within its source (with the source's id, the document `_id`).
    pub start_offset: u64,
    /// Byte offset just past the line's newline: reading may resume here once this record is
    /// delivered.
    pub end_offset: u64,
    /// The event time, from `time`, or the time of reading when the line had none.
    pub time: EventTime,
    /// `time` as written in the line; empty when the line had none (the output then writes
    /// the event time).
    pub time_text: TimeText,
    pub stream: Option<Stream>,
    /// Read by outputs through [`Record::log`], which resolves [`LogText::Merged`].
    pub log: LogText<'static>,
    /// The top-level keys of `log` when it is a whole-line JSON object.
    pub merged: Option<MergedObject>,
    /// The line was longer than the maximum and was cut.
    pub truncated: bool,
    /// A log line, a forward event or a metrics document (a byte: it costs the record no
    /// space).
    pub kind: RecordKind,
}

impl Record {
    /// The log line, in the form it was read.
    pub fn log(&self) -> LogRef<'_> {
        match self.log.as_ref() {
            Some(log) => log,
            None => {
                debug_assert!(self.merged.is_some(), "a log kept as its merged object");
                LogRef::Plain(self.merged.as_ref().map_or("", |m| m.text()))
            }
        }
    }

    /// Starts loading the record's text into the cache. An output encodes records one after
    /// the other, and each one's text, written by the input on another core and held in a block
    /// of its own, is not in this core's cache: asked for one record ahead, the load overlaps
    /// the encoding of the record before instead of stalling it.
    #[inline]
    pub fn prefetch(&self) {
        if let Some(LogRef::Escaped(text) | LogRef::Plain(text)) = self.log.as_ref() {
            prefetch_start(text.as_bytes());
        }
        if let Some(merged) = &self.merged {
            prefetch_start(merged.text().as_bytes());
        }
    }

    /// Bytes this record holds, for the memory bound.
    /// Counts what the allocator really hands out: capacities, and a malloc header and the
    /// rounding of each block (about 16 bytes), so that the memory bound bounds resident memory
    /// rather than a fraction of it.
    pub fn size(&self) -> usize {
        std::mem::size_of::<Record>() + self.heap_size()
    }

    /// [`Record::size`] less the record itself: what it holds outside the vector it sits in.
    pub fn heap_size(&self) -> usize {
        const PER_ALLOCATION: usize = 16;
        // What a part holds on the heap, if anything, as the allocator hands it out.
        let allocated = |n: usize| if n == 0 { 0 } else { n + PER_ALLOCATION };
        allocated(self.log.heap_size())
            + allocated(self.time_text.heap_size())
            + self
                .merged
                .as_ref()
                .map_or(0, |m| m.size() + 2 * PER_ALLOCATION)
    }
}

/// Prefetches the first cache lines of `bytes` (the rest follows the hardware's own prefetch
/// of adjacent lines as the copy walks them).
#[inline]
fn prefetch_start(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        for offset in (0..bytes.len().min(PREFETCH_BYTES)).step_by(64) {
            // SAFETY: SSE is in the x86_64 baseline, and a prefetch is a hint that reads
            // nothing and never faults.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(bytes[offset..].as_ptr().cast()) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// How much of a record's text is prefetched: the first 256 bytes, which hold a typical line
/// whole.
const PREFETCH_BYTES: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_costs_the_record_no_space() {
        // The kind sits in the padding after `truncated` (168 bytes on 64-bit targets, as
        // without it): records are the hot path. (The time text and the merged object are
        // held inline, 48 bytes more than boxed, which spares two allocations per record.)
        let size = std::mem::size_of::<Record>();
        assert!(size <= 168, "{size}");
    }

    #[test]
    fn a_source_and_its_arc_fit_a_96_byte_block() {
        // One per tailed file (and one more per pod metadata version): glibc hands out 96
        // bytes for up to 88, the `Arc`'s counts included, and 112 past that.
        let size = std::mem::size_of::<Source>();
        assert!(size <= 72, "{size}");
    }
}
