//! A `_bulk` request body being built: action and document lines, the position of each item (so
//! that only the failed items of a partly failed request are sent again), and the deliveries it
//! carries.

use std::ops::Range;

use bytes::Bytes;

use logship_collector::time::date_of_day;
use logship_collector::{Delivery, Record, RecordKind};

use crate::document::DocumentEncoder;

/// A `_bulk` body being built, with the deliveries of the records in it.
pub struct BulkRequest {
    pub body: Vec<u8>,
    /// Byte range of each item (action line and document line) in `body`.
    pub items: Vec<Range<usize>>,
    pub deliveries: Vec<Delivery>,
}

impl BulkRequest {
    pub fn new(capacity: usize) -> BulkRequest {
        BulkRequest {
            body: Vec::with_capacity(capacity),
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
            out.extend_from_slice(document_id(r).as_bytes());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::DocumentOptions;
    use logship_collector::json_merge::MergedObject;
    use logship_collector::{EventTime, JsonText, MetricFamily, Source};
    use std::sync::Arc;

    fn metric(family: MetricFamily) -> Record {
        let doc = r#"{"Metrics":{"network/rx":{"value":1}},"MetricsTags":{"type":"pod"},"NetworkMetricsTimestamp":"2026-06-26T23:59:59Z"}"#;
        Record {
            source: Arc::new(Source {
                id: 0xabc,
                path: Default::default(),
                tag: "heapster.network".into(),
                pod: None,
                meta: None,
            }),
            start_offset: 0x77,
            end_offset: 0x77,
            time: EventTime::parse_rfc3339("2026-06-26T23:59:59Z").unwrap(),
            time_text: Box::default(),
            stream: None,
            log: JsonText::default(),
            merged: MergedObject::parse(doc.to_owned()).map(Box::new),
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
}
