//! Records to forward-protocol frames: one frame per tag, each entry `[EventTime, record]`, the
//! record being the Elasticsearch document less `@timestamp` and `flb-log-tag` (DESIGN §4), with
//! its keys as they are (no dot replacement). The fields come from the document encoder, so the
//! two outputs cannot disagree on them; the `kubernetes` map of a source is transcoded once.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;

use flate2::write::GzEncoder;
use flate2::Compression;
use logship_collector::{Record, Source};

use super::msgpack;
use crate::document::{DocumentEncoder, DocumentOptions};
use crate::fragment_cache::FragmentCache;

/// The entries of one tag: a MessagePackEventStream (entries back to back, no array header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub tag: String,
    pub count: u32,
    pub entries: Vec<u8>,
}

/// The frames of one pipe batch: the unit the forward output queues, spools and settles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub frames: Vec<Frame>,
    pub records: usize,
}

impl Chunk {
    /// Encoded bytes held.
    pub fn bytes(&self) -> usize {
        self.frames
            .iter()
            .map(|f| f.entries.len() + f.tag.len())
            .sum()
    }
}

pub struct ForwardEncoder {
    docs: DocumentEncoder,
    /// The msgpack `"kubernetes": {…}` pair of each source version (none without a pod), kept
    /// as the document encoder keeps its fragments, for at least 512 sources (a miss costs a
    /// JSON encoding and its transcoding).
    kubernetes: FragmentCache<KubernetesPair>,
    json: Vec<u8>,
    fields: Vec<u8>,
    /// Records whose fields could not be transcoded (a bug if ever non-zero); sent with `log` only.
    pub transcode_errors: u64,
}

impl Default for ForwardEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl ForwardEncoder {
    pub fn new() -> ForwardEncoder {
        ForwardEncoder {
            // The forward record keeps the keys' dots (fluent-bit's forward output did).
            docs: DocumentEncoder::new(DocumentOptions {
                replace_dots: false,
            }),
            kubernetes: FragmentCache::new(512),
            json: Vec::new(),
            fields: Vec::new(),
            transcode_errors: 0,
        }
    }

    /// One frame per tag, tags in order of first appearance, records in order within a tag.
    pub fn encode(&mut self, records: &[Record]) -> Chunk {
        let mut frames: Vec<Frame> = Vec::new();
        // A file's tag is spelled out from its path: once per source and batch, not once per
        // run of its records (files take turns within a batch). Sources of one tag (a file
        // whose pod changed) share a frame.
        let mut by_tag: HashMap<Cow<'_, str>, usize> = HashMap::new();
        let mut by_source: HashMap<*const Source, usize> = HashMap::new();
        let mut last: Option<(*const Source, usize)> = None;
        for r in records {
            let ptr = Arc::as_ptr(&r.source);
            let i = match last {
                Some((p, i)) if p == ptr => i,
                _ => *by_source.entry(ptr).or_insert_with(|| {
                    *by_tag.entry(r.source.tag()).or_insert_with_key(|tag| {
                        frames.push(Frame {
                            tag: tag.to_string(),
                            count: 0,
                            entries: Vec::new(),
                        });
                        frames.len() - 1
                    })
                }),
            };
            last = Some((ptr, i));
            let frame = &mut frames[i];
            self.entry(r, &mut frame.entries);
            frame.count += 1;
        }
        Chunk {
            frames,
            records: records.len(),
        }
    }

    /// `[EventTime, record]`.
    fn entry(&mut self, r: &Record, out: &mut Vec<u8>) {
        msgpack::array_len(out, 2);
        msgpack::event_time(out, r.time.secs, r.time.nanos);
        // The document encoder writes `,"k":v,…`; the first comma becomes the brace.
        self.json.clear();
        self.json.push(b'{');
        self.docs.encode_fields(r, &mut self.json);
        self.json.push(b'}');
        let json: &[u8] = if self.json.len() > 2 {
            self.json[1] = b'{';
            &self.json[1..]
        } else {
            b"{}"
        };
        self.fields.clear();
        let n = match msgpack::object_fields(json, &mut self.fields) {
            Ok(n) => n,
            Err(_) => {
                self.transcode_errors += 1;
                self.fields.clear();
                msgpack::str(&mut self.fields, "log");
                msgpack::str(&mut self.fields, &r.log().text());
                1
            }
        };
        let docs = &self.docs;
        let kubernetes = self
            .kubernetes
            .get_or_encode(&r.source, |s| kubernetes_pair(docs, s))
            .as_deref();
        let n = n + usize::from(kubernetes.is_some());
        msgpack::map_len(out, u32::try_from(n).unwrap_or(u32::MAX));
        out.extend_from_slice(&self.fields);
        if let Some(k) = kubernetes {
            out.extend_from_slice(k);
        }
    }
}

/// A source's msgpack `"kubernetes": {…}` key and value; none without a pod.
type KubernetesPair = Option<Box<[u8]>>;

/// The [`KubernetesPair`] of a source.
fn kubernetes_pair(docs: &DocumentEncoder, source: &Source) -> KubernetesPair {
    source.pod.as_ref()?;
    let fragment = docs.kubernetes_fragment(source);
    let json = format!("{{{}}}", fragment.strip_prefix(',').unwrap_or(&fragment));
    let mut pair = Vec::with_capacity(json.len());
    msgpack::object_fields(json.as_bytes(), &mut pair).ok()?;
    Some(pair.into())
}

/// How a frame goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compress {
    /// Forward mode: `[tag, [entry, …], options]`.
    None,
    /// CompressedPackedForward: `[tag, bin(gzip(entries)), {"compressed": "gzip", …}]`.
    Gzip,
}

/// Appends the message for `frame`, with `size` and, when acknowledgements are asked for, the
/// `chunk` id in its options.
pub fn message(frame: &Frame, chunk: Option<&str>, compress: Compress, out: &mut Vec<u8>) {
    msgpack::array_len(out, 3);
    msgpack::str(out, &frame.tag);
    let mut options = 1 + usize::from(chunk.is_some());
    match compress {
        Compress::None => {
            msgpack::array_len(out, frame.count);
            out.extend_from_slice(&frame.entries);
        }
        Compress::Gzip => {
            let mut gz = GzEncoder::new(
                Vec::with_capacity(frame.entries.len() / 4 + 64),
                Compression::fast(),
            );
            // Writing into a vector cannot fail.
            let _ = gz.write_all(&frame.entries);
            let zipped = gz.finish().unwrap_or_default();
            msgpack::bin(out, &zipped);
            options += 1;
        }
    }
    msgpack::map_len(out, options as u32);
    if compress == Compress::Gzip {
        msgpack::str(out, "compressed");
        msgpack::str(out, "gzip");
    }
    msgpack::str(out, "size");
    msgpack::uint(out, u64::from(frame.count));
    if let Some(chunk) = chunk {
        msgpack::str(out, "chunk");
        msgpack::str(out, chunk);
    }
}

#[cfg(test)]
#[path = "encode_tests.rs"]
mod tests;
