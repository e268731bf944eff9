//! A `_bulk` request body being built: action and document lines, the position of each item (so
//! that only the failed items of a partly failed request are sent again), and the deliveries it
//! carries.

use std::ops::Range;

use bytes::Bytes;

use logship_collector::time::date_of_day;
use logship_collector::{Delivery, Record, RecordKind};

use crate::document::DocumentEncoder;

/// A `_bulk` body being built, with the deliveries of the records in it. The default is empty
/// and holds no buffer.
#[derive(Default)]
pub struct BulkRequest {
    pub body: Vec<u8>,
    /// Byte range of each item (action line and document line) in `body`.
    pub items: Vec<Range<usize>>,
    pub deliveries: Vec<Delivery>,
}

impl BulkRequest {
    pub fn new(capacity: usize) -> BulkRequest {
        BulkRequest::with_body(Vec::with_capacity(capacity))
    }

    /// A request written into `body` (emptied first): a buffer a sent request gave back.
    pub fn with_body(mut body: Vec<u8>) -> BulkRequest {
        body.clear();
        BulkRequest {
            body,
            items: Vec::new(),
            deliveries: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The finished body, and the deliveries to release once every item is settled.
    pub fn finish(self) -> (BulkBody, Vec<Delivery>) {
        (
            BulkBody {
                body: Bytes::from(self.body),
                items: self.items,
            },
            self.deliveries,
        )
    }
}

/// Body buffers of sent requests, kept for the next ones: a request body is megabytes, and
/// allocating and freeing it for every request left the allocator's heap fragmented (and paid
/// the page faults each time).
pub struct BodyPool {
    free: std::sync::Mutex<Vec<Vec<u8>>>,
    keep: usize,
    capacity: usize,
}

impl BodyPool {
    /// Keeps up to `keep` buffers; new ones get `capacity` bytes.
    pub fn new(keep: usize, capacity: usize) -> BodyPool {
        BodyPool {
            free: std::sync::Mutex::new(Vec::new()),
            keep,
            capacity,
        }
    }

    pub fn request(&self) -> BulkRequest {
        let reused = self.free.lock().ok().and_then(|mut f| f.pop());
        match reused {
            Some(body) => BulkRequest::with_body(body),
            None => BulkRequest::new(self.capacity),
        }
    }

    /// Takes a sent body back, if nothing else holds it any more.
    pub fn give_back(&self, body: Bytes) {
        let Ok(body) = body.try_into_mut() else {
            return;
        };
        let body = Vec::from(body);
        if body.capacity() < self.capacity {
            return;
        }
        if let Ok(mut free) = self.free.lock() {
            if free.len() < self.keep {
                free.push(body);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.free.lock().map_or(0, |f| f.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A finished `_bulk` body and the position of each item in it, so that only the failed items
/// of a partly failed request are sent again.
#[derive(Clone)]
pub struct BulkBody {
    pub body: Bytes,
    pub items: Vec<Range<usize>>,
}

impl BulkBody {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// A body made of some of the items of this one.
    pub fn subset(&self, which: &[usize]) -> BulkBody {
        let mut body = Vec::with_capacity(which.iter().map(|&i| self.items[i].len()).sum());
        let mut items = Vec::with_capacity(which.len());
        for &i in which {
            let start = body.len();
            body.extend_from_slice(&self.body[self.items[i].clone()]);
            items.push(start..body.len());
        }
        BulkBody {
            body: Bytes::from(body),
            items,
        }
    }

    /// Two bodies of half the items each (for a server that found the request too large).
    pub fn halves(&self) -> (BulkBody, BulkBody) {
        let all: Vec<usize> = (0..self.items.len()).collect();
        let (a, b) = all.split_at(all.len() / 2);
        (self.subset(a), self.subset(b))
    }

    /// The document line of item `i` (for dead letters).
    pub fn document(&self, i: usize) -> &[u8] {
        let item = &self.body[self.items[i].clone()];
        let action_end = memchr::memchr(b'\n', item).map_or(0, |p| p + 1);
        let doc = &item[action_end..];
        doc.strip_suffix(b"\n").unwrap_or(doc)
    }
}

/// Writes the action line and document of each record: index `logstash-YYYY.MM.DD` of the event
/// time in UTC (`heapster-<family>-YYYY.MM.DD` for metrics), the mapping type the server's
/// version needs, and the record's deterministic id.
pub struct BulkEncoder {
    pub documents: DocumentEncoder,
    pub mapping_type: Option<&'static str>,
    /// Metrics documents get their family as `_type` (heapster's, on ES 5 and older, where an
    /// index may hold several types); otherwise `mapping_type`.
    pub family_types: bool,
    pub index_prefix: String,
    pub doc_ids: bool,
    day_cache: Option<(i64, String)>,
}

impl BulkEncoder {
    pub fn new(
        documents: DocumentEncoder,
        mapping_type: Option<&'static str>,
        doc_ids: bool,
    ) -> BulkEncoder {
        BulkEncoder {
            documents,
            mapping_type,
            family_types: false,
            index_prefix: "logstash-".to_owned(),
            doc_ids,
            day_cache: None,
        }
    }

    pub fn push(&mut self, r: &Record, req: &mut BulkRequest) {
        let start = req.body.len();
        let out = &mut req.body;
        out.extend_from_slice(b"{\"index\":{\"_index\":\"");
        let day = r.time.day();
        let mut mapping_type = self.mapping_type;
        if let RecordKind::Metric(family) = r.kind {
            // Few per minute: no cache.
            let (y, m, d) = date_of_day(day);
            let name = format!("heapster-{}-{y:04}.{m:02}.{d:02}", family.name());
            out.extend_from_slice(name.as_bytes());
            if self.family_types && mapping_type.is_some() {
                mapping_type = Some(family.name());
            }
        } else {
            if !matches!(&self.day_cache, Some((d, _)) if *d == day) {
                let (y, m, d) = date_of_day(day);
                self.day_cache = Some((day, format!("{}{y:04}.{m:02}.{d:02}", self.index_prefix)));
            }
            if let Some((_, name)) = &self.day_cache {
                out.extend_from_slice(name.as_bytes());
            }
        }
        out.push(b'"');
        if let Some(t) = mapping_type {
            out.extend_from_slice(b",\"_type\":\"");
            out.extend_from_slice(t.as_bytes());
            out.push(b'"');
        }
        if self.doc_ids {
            out.extend_from_slice(b",\"_id\":\"");
            push_document_id(r, out);
            out.push(b'"');
        }
        out.extend_from_slice(b"}}\n");
        self.documents.encode(r, out);
        out.push(b'\n');
        req.items.push(start..req.body.len());
    }
}

/// The id of a record's document: its source's identity and the byte offset of the line, so a
/// batch sent again after a timeout or a crash overwrites itself instead of duplicating.
pub fn document_id(r: &Record) -> String {
    format!("{:016x}-{:x}", r.source.id, r.start_offset)
}

/// [`document_id`] written straight into the body (it is in every action line: no allocation,
/// no formatting machinery).
fn push_document_id(r: &Record, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let id = r.source.id;
    out.extend((0..16).rev().map(|i| HEX[((id >> (i * 4)) & 0xf) as usize]));
    out.push(b'-');
    let offset = r.start_offset;
    let digits = (64 - offset.leading_zeros()).div_ceil(4).max(1);
    out.extend(
        (0..digits)
            .rev()
            .map(|i| HEX[((offset >> (i * 4)) & 0xf) as usize]),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::DocumentOptions;
    use logship_collector::json_merge::MergedObject;
    use logship_collector::{EventTime, JsonText, MetricFamily, RecordKind, Source, TimeText};
    use std::sync::Arc;

    fn metric(family: MetricFamily) -> Record {
        let doc = r#"{"Metrics":{"network/rx":{"value":1}},"MetricsTags":{"type":"pod"},"NetworkMetricsTimestamp":"2026-06-26T23:59:59Z"}"#;
        Record {
            source: Arc::new(Source {
                id: 0xabc,
                path: std::path::Path::new("").into(),
                tag: "heapster.network".into(),
                pod: None,
                meta: None,
            }),
            start_offset: 0x77,
            end_offset: 0x77,
            time: EventTime::parse_rfc3339("2026-06-26T23:59:59Z").unwrap(),
            time_text: TimeText::default(),
            stream: None,
            log: JsonText::default().into(),
            merged: MergedObject::parse(doc.to_owned()),
            truncated: false,
            kind: RecordKind::Metric(family),
        }
    }

    fn action(enc: &mut BulkEncoder, r: &Record) -> String {
        let mut req = BulkRequest::new(1024);
        enc.push(r, &mut req);
        let body = String::from_utf8(req.body).unwrap();
        body.lines().next().unwrap().to_owned()
    }

    #[test]
    fn metrics_go_to_their_family_index_with_heapsters_type_on_es5() {
        let docs = || DocumentEncoder::new(DocumentOptions { replace_dots: true });
        let r = metric(MetricFamily::Network);
        let mut es7 = BulkEncoder::new(docs(), None, true);
        assert_eq!(
            action(&mut es7, &r),
            r#"{"index":{"_index":"heapster-network-2026.06.26","_id":"0000000000000abc-77"}}"#
        );
        let mut es5 = BulkEncoder::new(docs(), Some("log"), true);
        es5.family_types = true;
        assert_eq!(
            action(&mut es5, &r),
            r#"{"index":{"_index":"heapster-network-2026.06.26","_type":"network","_id":"0000000000000abc-77"}}"#
        );
        let mut es6 = BulkEncoder::new(docs(), Some("_doc"), false);
        assert_eq!(
            action(&mut es6, &r),
            r#"{"index":{"_index":"heapster-network-2026.06.26","_type":"_doc"}}"#
        );
    }

    #[test]
    fn bodies_are_reused_once_nothing_else_holds_them() {
        let pool = BodyPool::new(1, 1024);
        let mut req = pool.request();
        req.body.extend_from_slice(b"x");
        let (body, _) = req.finish();
        let held = body.body.clone();
        pool.give_back(body.body);
        assert!(pool.is_empty(), "still held elsewhere: not taken back");
        pool.give_back(held);
        assert_eq!(pool.len(), 1);
        let again = pool.request();
        assert!(again.body.is_empty() && again.body.capacity() >= 1024);
        assert!(pool.is_empty());
        pool.give_back(Bytes::from(vec![0u8; 10]));
        assert!(pool.is_empty(), "too small to be worth keeping");
    }

    #[test]
    fn the_written_id_is_the_formatted_one() {
        let source = Arc::new(Source {
            id: 0x00ab_cdef_0123_4567,
            path: std::path::Path::new("/x.log").into(),
            tag: "x".into(),
            pod: None,
            meta: None,
        });
        for offset in [0, 1, 0xf, 0x10, 0xdead_beef, u64::MAX] {
            let r = Record {
                source: Arc::clone(&source),
                start_offset: offset,
                end_offset: offset,
                time: EventTime::now(),
                time_text: "".into(),
                stream: None,
                log: JsonText::escape("x").into(),
                merged: None,
                truncated: false,
                kind: RecordKind::Line,
            };
            let mut out = Vec::new();
            push_document_id(&r, &mut out);
            assert_eq!(String::from_utf8(out).unwrap(), document_id(&r));
        }
    }
}
