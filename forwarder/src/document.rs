//! The Elasticsearch document of a record, as fluent-bit's es output wrote it for the original
//! system: `@timestamp` first, then `flb-log-tag`, then the record (`log`, `stream`, `time`, the
//! merged JSON keys, `kubernetes`). Written straight from the record into the output buffer.

use std::collections::HashSet;
use std::sync::Arc;

use logship_collector::json_text::escape_into;
use logship_collector::{Record, Source};
use serde_json::Value;

use crate::dedot::{dedot_key, dedot_value};

/// Keys the record itself sets; a merged JSON key of the same name is left out rather than
/// written twice (ES rejects duplicate keys, and the original agent wrote them).
const RESERVED: [&str; 7] = [
    "@timestamp",
    "flb-log-tag",
    "log",
    "stream",
    "time",
    "kubernetes",
    TRUNCATED_KEY,
];

/// Marks a record whose line was longer than the maximum and was cut.
pub const TRUNCATED_KEY: &str = "logship_truncated";

#[derive(Debug, Clone, Copy)]
pub struct DocumentOptions {
    pub replace_dots: bool,
}

/// Encodes documents; remembers the encoded `kubernetes` object of the last source, since
/// records of one file arrive together.
pub struct DocumentEncoder {
    opts: DocumentOptions,
    last_source: Option<(Arc<Source>, String)>,
    scratch: String,
}

impl DocumentEncoder {
    pub fn new(opts: DocumentOptions) -> DocumentEncoder {
        DocumentEncoder {
            opts,
            last_source: None,
            scratch: String::new(),
        }
    }

    /// Appends the document (one line of JSON, no newline) to `out`.
    pub fn encode(&mut self, r: &Record, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"@timestamp\":\"");
        r.time.write_timestamp_millis(out);
        out.extend_from_slice(b"\",\"flb-log-tag\":\"");
        self.push_escaped(&r.source.tag, out);
        out.extend_from_slice(b"\",\"log\":\"");
        out.extend_from_slice(r.log.as_escaped().as_bytes());
        out.push(b'"');
        if let Some(stream) = &r.stream {
            out.extend_from_slice(b",\"stream\":\"");
            self.push_escaped(stream.as_str(), out);
            out.push(b'"');
        }
        out.extend_from_slice(b",\"time\":\"");
        if r.time_text.is_empty() {
            out.extend_from_slice(r.time.to_rfc3339_nanos().as_bytes());
        } else {
            self.push_escaped(&r.time_text, out);
        }
        out.push(b'"');
        if let Some(merged) = &r.merged {
            self.push_merged(merged.fields(), merged.len(), out);
        }
        if r.truncated {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(TRUNCATED_KEY.as_bytes());
            out.extend_from_slice(b"\":true");
        }
        self.push_kubernetes(&r.source, out);
        out.push(b'}');
    }

    fn push_escaped(&mut self, text: &str, out: &mut Vec<u8>) {
        self.scratch.clear();
        escape_into(text, &mut self.scratch);
        out.extend_from_slice(self.scratch.as_bytes());
    }

    fn push_merged<'a>(
        &mut self,
        fields: impl Iterator<Item = (&'a str, &'a str)>,
        count: usize,
        out: &mut Vec<u8>,
    ) {
        // Few keys is the common case: a linear scan beats hashing there.
        let mut seen_small: Vec<String> = Vec::new();
        let mut seen_large: HashSet<String> = HashSet::new();
        let large = count > 16;
        for (raw_key, raw_value) in fields {
            let key = if raw_key.contains('\\') {
                match serde_json::from_str::<String>(&format!("\"{raw_key}\"")) {
                    Ok(k) => k,
                    Err(_) => continue,
                }
            } else {
                raw_key.to_owned()
            };
            let key = if self.opts.replace_dots {
                dedot_key(&key).into_owned()
            } else {
                key
            };
            if RESERVED.contains(&key.as_str()) {
                continue;
            }
            let fresh = if large {
                seen_large.insert(key.clone())
            } else if seen_small.contains(&key) {
                false
            } else {
                seen_small.push(key.clone());
                true
            };
            if !fresh {
                continue;
            }
            out.extend_from_slice(b",\"");
            self.push_escaped(&key, out);
            out.extend_from_slice(b"\":");
            self.push_value(raw_value, out);
        }
    }

    fn push_value(&mut self, raw: &str, out: &mut Vec<u8>) {
        let nested = raw.starts_with('{') || raw.starts_with('[');
        let needs_dedot = self.opts.replace_dots && nested && raw.contains('.');
        let has_newline = raw.contains('\n') || raw.contains('\r');
        if !needs_dedot && !has_newline {
            out.extend_from_slice(raw.as_bytes());
            return;
        }
        match serde_json::from_str::<Value>(raw) {
            Ok(mut v) => {
                if needs_dedot {
                    dedot_value(&mut v);
                }
                match serde_json::to_vec(&v) {
                    Ok(bytes) => out.extend_from_slice(&bytes),
                    Err(_) => out.extend_from_slice(b"null"),
                }
            }
            // The value was validated when the record was made; keep the document valid anyway.
            Err(_) => out.extend_from_slice(b"null"),
        }
    }

    fn push_kubernetes(&mut self, source: &Arc<Source>, out: &mut Vec<u8>) {
        if source.pod.is_none() {
            return;
        }
        let cached = matches!(&self.last_source, Some((s, _)) if Arc::ptr_eq(s, source));
        if !cached {
            let encoded = encode_kubernetes(source);
            self.last_source = Some((Arc::clone(source), encoded));
        }
        if let Some((_, encoded)) = &self.last_source {
            out.extend_from_slice(encoded.as_bytes());
        }
    }
}

/// `,"kubernetes":{…}` with the fields the file name gives.
fn encode_kubernetes(source: &Source) -> String {
    let Some(pod) = &source.pod else {
        return String::new();
    };
    let mut s = String::from(",\"kubernetes\":{\"pod_name\":\"");
    escape_into(&pod.pod_name, &mut s);
    s.push_str("\",\"namespace_name\":\"");
    escape_into(&pod.namespace_name, &mut s);
    s.push_str("\",\"container_name\":\"");
    escape_into(&pod.container_name, &mut s);
    s.push_str("\",\"docker_id\":\"");
    escape_into(&pod.docker_id, &mut s);
    s.push_str("\"}");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use logship_collector::json_merge::MergedObject;
    use logship_collector::pod_ref::PodRef;
    use logship_collector::{EventTime, JsonText, Stream};
    use std::path::PathBuf;

    fn source(pod: bool) -> Arc<Source> {
        Arc::new(Source {
            id: 7,
            path: PathBuf::from("/var/log/containers/p_ns_c-x.log"),
            tag: "kube.var.log.containers.p_ns_c-x.log".into(),
            pod: pod.then(|| PodRef {
                pod_name: "p".into(),
                namespace_name: "ns".into(),
                container_name: "c".into(),
                docker_id: "abc".into(),
            }),
        })
    }

    fn record(log: &str, merged: Option<&str>) -> Record {
        Record {
            source: source(true),
            start_offset: 0,
            end_offset: 10,
            time: EventTime::parse_rfc3339("2026-11-22T01:02:03.005Z").unwrap(),
            time_text: "2026-11-22T01:02:03.005Z".into(),
            stream: Some(Stream::Stdout),
            log: JsonText::escape(log),
            merged: merged.map(|m| Box::new(MergedObject::parse_any(m.to_owned()).unwrap())),
            truncated: false,
        }
    }

    fn encode(r: &Record, replace_dots: bool) -> String {
        let mut out = Vec::new();
        DocumentEncoder::new(DocumentOptions { replace_dots }).encode(r, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn field_order_and_shapes() {
        let doc = encode(&record("hello \"x\"\n", None), true);
        assert_eq!(
            doc,
            concat!(
                r#"{"@timestamp":"2026-11-22T01:02:03.005Z","flb-log-tag":"kube.var.log.containers.p_ns_c-x.log","#,
                r#""log":"hello \"x\"\n","stream":"stdout","time":"2026-11-22T01:02:03.005Z","#,
                r#""kubernetes":{"pod_name":"p","namespace_name":"ns","container_name":"c","docker_id":"abc"}}"#
            )
        );
    }

    #[test]
    fn merged_keys_never_overwrite_or_repeat() {
        let m = r#"{"log":"x","time":"y","stream":1,"kubernetes":{},"@timestamp":0,"flb-log-tag":1,"level":"info","level":"dup","a.b":{"c.d":1},"a_b":2}"#;
        let doc = encode(&record(m, Some(m)), true);
        let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(v["log"], m);
        assert_eq!(v["stream"], "stdout");
        assert_eq!(v["level"], "info");
        assert_eq!(v["a_b"], serde_json::json!({"c_d": 1}));
        // No key appears twice in the text (serde_json would silently keep the last).
        for key in [
            "\"level\"",
            "\"a_b\"",
            "\"log\"",
            "\"time\"",
            "\"kubernetes\"",
        ] {
            assert_eq!(doc.matches(key).count(), 1, "{key} in {doc}");
        }
    }

    #[test]
    fn dots_are_kept_when_asked() {
        let m = r#"{"a.b":{"c.d":1}}"#;
        let doc = encode(&record(m, Some(m)), false);
        assert!(doc.contains(r#","a.b":{"c.d":1}"#), "{doc}");
    }

    #[test]
    fn text_lines_get_a_time_and_no_kubernetes_without_a_pod() {
        let mut r = record("plain", None);
        r.source = source(false);
        r.time_text = "".into();
        r.stream = None;
        r.truncated = true;
        let v: serde_json::Value = serde_json::from_str(&encode(&r, true)).unwrap();
        assert_eq!(v["time"], "2026-11-22T01:02:03.005000000Z");
        assert!(v.get("stream").is_none());
        assert!(v.get("kubernetes").is_none());
        assert_eq!(v[TRUNCATED_KEY], true);
    }
}
