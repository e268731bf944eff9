//! The Elasticsearch document of a record, as fluent-bit's es output wrote it for the original
//! system: `@timestamp` first, then `flb-log-tag`, then the record (`log`, `stream`, `time`, the
//! merged JSON keys, `kubernetes`). Written straight from the record into the output buffer.

use std::sync::Arc;

use logship_collector::json_text::{escape_into, escape_into_bytes};
use logship_collector::time::TimestampWriter;
use logship_collector::{Record, RecordKind, Source};

use crate::dedot::dedot_key;
use crate::fragment_cache::FragmentCache;
use crate::merged_fields::{push_merged, ReservedKeys};

/// Keys the record itself sets; a merged JSON key of the same name is left out rather than
/// written twice (ES rejects duplicate keys, and the original agent wrote them).
const RESERVED: ReservedKeys = ReservedKeys::new(&[
    "@timestamp",
    "flb-log-tag",
    "log",
    "stream",
    "time",
    "kubernetes",
    TRUNCATED_KEY,
]);

/// Keys of an event (forward input) left out of its document: the document sets them.
const EVENT_RESERVED: ReservedKeys = ReservedKeys::new(&["@timestamp", "flb-log-tag"]);

/// Marks a record whose line was longer than the maximum and was cut.
pub const TRUNCATED_KEY: &str = "logship_truncated";

#[derive(Debug, Clone, Copy)]
pub struct DocumentOptions {
    pub replace_dots: bool,
}

/// What every document of one source shares, encoded once: the tag (a long path, escaped) and
/// the `kubernetes` object (labels and annotations can be kilobytes).
struct SourceFragments {
    /// The tag, escaped.
    tag: Box<str>,
    kubernetes: Box<str>,
}

/// Encodes documents. A source (a file with one version of its pod's metadata) is encoded once
/// and its fragments copied into every document of it; records of one file arrive together.
pub struct DocumentEncoder {
    opts: DocumentOptions,
    /// At least 64 sources: records come in runs, and a miss costs one encoding a run.
    sources: FragmentCache<SourceFragments>,
    timestamps: TimestampWriter,
}

impl DocumentEncoder {
    pub fn new(opts: DocumentOptions) -> DocumentEncoder {
        DocumentEncoder {
            opts,
            sources: FragmentCache::new(64),
            timestamps: TimestampWriter::default(),
        }
    }

    /// Appends the document (one line of JSON, no newline) to `out`.
    pub fn encode(&mut self, r: &Record, out: &mut Vec<u8>) {
        if let RecordKind::Metric(_) = r.kind {
            // heapster's document, as it is: no `@timestamp`, tag or `kubernetes`.
            let start = out.len();
            self.encode_fields(r, out);
            match out.get_mut(start) {
                Some(first) => *first = b'{',
                None => out.push(b'{'),
            }
            out.push(b'}');
            return;
        }
        out.extend_from_slice(b"{\"@timestamp\":\"");
        self.timestamps.write(r.time, out);
        let opts = self.opts;
        let fragments = self.fragments(&r.source);
        out.extend_from_slice(b"\",\"flb-log-tag\":\"");
        out.extend_from_slice(fragments.tag.as_bytes());
        out.push(b'"');
        write_fields(opts, r, out);
        out.extend_from_slice(fragments.kubernetes.as_bytes());
        out.push(b'}');
    }

    /// The record's own fields, each as `,"key":value`: the whole document less `@timestamp`,
    /// `flb-log-tag` and `kubernetes`. The forward output transcodes these to msgpack, so both
    /// outputs write the same fields. An event (forward input) has the sender's fields only.
    pub fn encode_fields(&self, r: &Record, out: &mut Vec<u8>) {
        write_fields(self.opts, r, out);
    }

    /// `,"kubernetes":{…}` of a source with a pod, as documents carry it; empty without a pod.
    pub fn kubernetes_fragment(&self, source: &Source) -> String {
        encode_kubernetes(source, self.opts)
    }

    /// The fragments of `source`, encoded at its first record. Borrowed, not an `Arc` clone:
    /// a clone and its drop are two locked instructions per document, each waiting for the
    /// document's bytes just written to leave the store buffer (2–3 % of the agent's CPU on
    /// the standard benchmark; docs/performance.md item 34).
    fn fragments(&mut self, source: &Arc<Source>) -> &SourceFragments {
        let opts = self.opts;
        self.sources
            .get_or_encode(source, |s| encode_fragments(s, opts))
    }
}

fn encode_fragments(source: &Source, opts: DocumentOptions) -> SourceFragments {
    let raw = source.tag();
    let mut tag = String::with_capacity(raw.len());
    escape_into(&raw, &mut tag);
    SourceFragments {
        tag: tag.into(),
        kubernetes: encode_kubernetes(source, opts).into(),
    }
}

/// [`DocumentEncoder::encode_fields`]; a function of the options alone, so that
/// [`DocumentEncoder::encode`] can write the fields while it borrows the source's fragments.
fn write_fields(opts: DocumentOptions, r: &Record, out: &mut Vec<u8>) {
    if let RecordKind::Metric(_) = r.kind {
        // Made by the metrics source with heapster's keys (no dots): written verbatim.
        for (key, value) in r.merged.iter().flat_map(|m| m.fields()) {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(b"\":");
            out.extend_from_slice(value.as_bytes());
        }
        return;
    }
    if r.kind == RecordKind::Event {
        if let Some(merged) = &r.merged {
            push_merged(merged, &EVENT_RESERVED, opts.replace_dots, out);
        }
        return;
    }
    out.extend_from_slice(b",\"log\":\"");
    r.log().write_escaped(out);
    out.push(b'"');
    if let Some(stream) = &r.stream {
        out.extend_from_slice(b",\"stream\":\"");
        escape_into_bytes(stream.as_str(), out);
        out.push(b'"');
    }
    out.extend_from_slice(b",\"time\":\"");
    if r.time_text.is_empty() {
        out.extend_from_slice(r.time.to_rfc3339_nanos().as_bytes());
    } else {
        escape_into_bytes(r.time_text.as_str(), out);
    }
    out.push(b'"');
    if let Some(merged) = &r.merged {
        push_merged(merged, &RESERVED, opts.replace_dots, out);
    }
    if r.truncated {
        out.extend_from_slice(b",\"");
        out.extend_from_slice(TRUNCATED_KEY.as_bytes());
        out.extend_from_slice(b"\":true");
    }
}

/// `,"kubernetes":{…}` in fluent-bit's order: `pod_name`, `namespace_name`, then what the API
/// says (`pod_id`, `labels`, `annotations`, `host`) when known, then `container_name`,
/// `docker_id`. Empty maps and unknown values are left out, as fluent-bit did.
fn encode_kubernetes(source: &Source, opts: DocumentOptions) -> String {
    let Some(pod) = &source.pod else {
        return String::new();
    };
    let mut s = String::from(",\"kubernetes\":{\"pod_name\":\"");
    escape_into(pod.pod_name(), &mut s);
    s.push_str("\",\"namespace_name\":\"");
    escape_into(pod.namespace_name(), &mut s);
    s.push('"');
    if let Some(meta) = &source.meta {
        if !meta.uid().is_empty() {
            s.push_str(",\"pod_id\":\"");
            escape_into(meta.uid(), &mut s);
            s.push('"');
        }
        push_string_map(&mut s, "labels", meta.labels(), opts.replace_dots);
        push_string_map(&mut s, "annotations", meta.annotations(), opts.replace_dots);
        if let Some(host) = meta.host() {
            s.push_str(",\"host\":\"");
            escape_into(host, &mut s);
            s.push('"');
        }
    }
    s.push_str(",\"container_name\":\"");
    escape_into(pod.container_name(), &mut s);
    s.push_str("\",\"docker_id\":\"");
    escape_into(pod.docker_id(), &mut s);
    s.push_str("\"}");
    s
}

/// `,"name":{"k":"v",…}`, keys dedotted when asked; a key that dedots into one already written
/// is left out (the first wins, as for merged keys).
fn push_string_map<'a>(
    s: &mut String,
    name: &str,
    map: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
    replace_dots: bool,
) {
    if map.len() == 0 {
        return;
    }
    s.push_str(",\"");
    s.push_str(name);
    s.push_str("\":{");
    let mut written: Vec<std::borrow::Cow<'a, str>> = Vec::with_capacity(map.len());
    for (key, value) in map {
        let key = if replace_dots {
            dedot_key(key)
        } else {
            std::borrow::Cow::Borrowed(key)
        };
        if written.contains(&key) {
            continue;
        }
        if !written.is_empty() {
            s.push(',');
        }
        s.push('"');
        escape_into(&key, s);
        s.push_str("\":\"");
        escape_into(value, s);
        s.push('"');
        written.push(key);
    }
    s.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merged_fields::key_bit;
    use logship_collector::json_merge::MergedObject;
    use logship_collector::kube::{PodMeta, PodMetaParts};
    use logship_collector::pod_ref::PodRef;
    use logship_collector::{EventTime, JsonText, LogText, Stream};
    use std::path::PathBuf;

    fn source(pod: bool) -> Arc<Source> {
        Arc::new(Source {
            id: 7,
            path: PathBuf::from("/var/log/containers/p_ns_c-x.log").into(),
            tag: "kube.var.log.containers.p_ns_c-x.log".into(),
            pod: pod.then(|| PodRef::new("p", "ns", "c", "abc").unwrap()),
            meta: None,
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
            log: JsonText::escape(log).into(),
            merged: merged.map(|m| MergedObject::parse_any(m.to_owned()).unwrap()),
            truncated: false,
            kind: RecordKind::Line,
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
    fn a_log_escaped_plain_or_kept_as_its_merged_object_is_written_the_same() {
        // Docker's log is held escaped, CRI's as read, and a whole CRI JSON line only as its
        // merged object's text: the documents are the same, byte for byte.
        for (log, merged) in [
            ("hello \"x\" \\ \t\u{1} é 🌍", None),
            (
                r#"{"msg":"a \"quoted\" word","n":1}"#,
                Some(r#"{"msg":"a \"quoted\" word","n":1}"#),
            ),
        ] {
            let escaped = record(log, merged);
            let mut plain = record(log, merged);
            plain.log = LogText::plain(log.to_owned());
            let want = encode(&escaped, true);
            assert_eq!(encode(&plain, true), want);
            let v: serde_json::Value = serde_json::from_str(&want).unwrap();
            assert_eq!(v["log"], log);
            if merged.is_some() {
                let mut kept_once = record(log, merged);
                kept_once.log = LogText::Merged;
                assert_eq!(encode(&kept_once, true), want);
                assert_eq!(kept_once.log().text(), log);
                assert!(kept_once.size() < plain.size());
            }
        }
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

    /// The fast path (few keys, no dots to replace): for objects of keys drawn from the reserved
    /// ones and short keys whose bits collide, the first of each key is written, in order, and
    /// no reserved key, each as `,"key":value` whether the text was compact or not.
    #[test]
    fn merged_keys_without_dots_keep_the_first_of_each_and_no_reserved_one() {
        let mut keys: Vec<&str> = RESERVED.keys.to_vec();
        keys.extend([
            "a", "b", "ab", "ba", "lag", "log_", "msg", "level", "tim", "x.y",
        ]);
        // Keys that share a bit are compared; some here must, or the test would not reach it.
        assert!(keys
            .iter()
            .enumerate()
            .any(|(i, a)| keys[..i]
                .iter()
                .any(|b| key_bit(a.as_bytes()) == key_bit(b.as_bytes()) && a != b)));
        let encoder = DocumentEncoder::new(DocumentOptions {
            replace_dots: false,
        });
        let fields_of = |r: &Record| {
            let mut out = Vec::new();
            encoder.encode_fields(r, &mut out);
            String::from_utf8(out).unwrap()
        };
        let head = fields_of(&record("x", None));
        let mut state = 7u64;
        for _ in 0..2000 {
            let mut pick = |n: usize| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 33) as usize % n
            };
            let n = 1 + pick(16);
            // Values of each kind, written compactly or not: runs of fields copied as they
            // are start and end everywhere.
            let chosen: Vec<(&str, String, &str)> = (0..n)
                .map(|v| {
                    let value = match pick(4) {
                        0 => v.to_string(),
                        1 => format!(r#""s{v}""#),
                        2 => format!("[{v}]"),
                        _ => "null".to_owned(),
                    };
                    (keys[pick(keys.len())], value, [":", " : "][pick(2)])
                })
                .collect();
            let mut object = String::new();
            for (i, (k, v, colon)) in chosen.iter().enumerate() {
                if i > 0 {
                    object.push_str([",", ", "][pick(2)]);
                }
                object.push_str(&format!(r#""{k}"{colon}{v}"#));
            }
            let mut want = head.clone();
            let mut written: Vec<&str> = Vec::new();
            for (k, v, _) in &chosen {
                if !RESERVED.keys.contains(k) && !written.contains(k) {
                    written.push(k);
                    want.push_str(&format!(r#","{k}":{v}"#));
                }
            }
            let got = fields_of(&record("x", Some(&format!("{{{object}}}"))));
            assert_eq!(got, want, "{object}");
        }
    }

    #[test]
    fn an_event_is_its_senders_fields_after_the_timestamp_and_tag() {
        let fields = r#"{"log":"own","@timestamp":"x","a.b":1,"time":5}"#;
        let mut r = record("", Some(fields));
        r.kind = RecordKind::Event;
        r.source = source(false);
        r.stream = None;
        r.time_text = "".into();
        assert_eq!(
            encode(&r, true),
            concat!(
                r#"{"@timestamp":"2026-11-22T01:02:03.005Z","#,
                r#""flb-log-tag":"kube.var.log.containers.p_ns_c-x.log","#,
                r#""log":"own","a_b":1,"time":5}"#
            )
        );
    }

    #[test]
    fn a_metric_is_heapsters_document_as_it_is() {
        let doc = r#"{"CpuMetricsTimestamp":"2026-06-26T10:14:35Z","Metrics":{"cpu/usage":{"value":5}},"MetricsTags":{"labels":"a.b:c","type":"node"}}"#;
        let mut r = record("", Some(doc));
        r.kind = RecordKind::Metric(logship_collector::MetricFamily::Cpu);
        r.source = source(false);
        assert_eq!(encode(&r, true), doc);
        let mut fields = Vec::new();
        DocumentEncoder::new(DocumentOptions { replace_dots: true }).encode_fields(&r, &mut fields);
        assert_eq!(fields, format!(",{}", &doc[1..doc.len() - 1]).into_bytes());
    }

    /// Top-level keys without dots take the fast path; the keys inside their values are
    /// dedotted all the same.
    #[test]
    fn nested_dots_are_replaced_under_plain_keys() {
        let m = r#"{"plain":{"c.d":1,"e":[{"f.g":2}]},"n":1}"#;
        let v: serde_json::Value =
            serde_json::from_str(&encode(&record("x", Some(m)), true)).unwrap();
        assert_eq!(v["plain"], serde_json::json!({"c_d": 1, "e": [{"f_g": 2}]}));
        assert_eq!(v["n"], 1);
        let kept: serde_json::Value =
            serde_json::from_str(&encode(&record("x", Some(m)), false)).unwrap();
        assert_eq!(
            kept["plain"],
            serde_json::json!({"c.d": 1, "e": [{"f.g": 2}]})
        );
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

    fn with_meta(labels: &[(&str, &str)], annotations: &[(&str, &str)]) -> Arc<Source> {
        Arc::new(Source {
            meta: Some(Arc::new(PodMeta::new(PodMetaParts {
                namespace: "ns",
                name: "p",
                uid: "52e6202b-d247-4d4d-8ff5-809b6d8b292e",
                labels: labels.to_vec(),
                annotations: annotations.to_vec(),
                host: Some("node-1"),
                ..PodMetaParts::default()
            }))),
            ..Source::clone(&source(true))
        })
    }

    #[test]
    fn api_metadata_in_fluent_bit_order_with_dots_replaced() {
        let mut r = record("x", None);
        r.source = with_meta(
            &[
                ("app.kubernetes.io/name", "web"),
                ("app_kubernetes_io/name", "dup"),
            ],
            &[("a.b", "say \"hi\"")],
        );
        let doc = encode(&r, true);
        assert!(
            doc.ends_with(concat!(
                r#","kubernetes":{"pod_name":"p","namespace_name":"ns","#,
                r#""pod_id":"52e6202b-d247-4d4d-8ff5-809b6d8b292e","#,
                r#""labels":{"app_kubernetes_io/name":"web"},"#,
                r#""annotations":{"a_b":"say \"hi\""},"host":"node-1","#,
                r#""container_name":"c","docker_id":"abc"}}"#
            )),
            "{doc}"
        );
        let kept = encode(&r, false);
        assert!(
            kept.contains(
                r#""labels":{"app.kubernetes.io/name":"web","app_kubernetes_io/name":"dup"}"#
            ),
            "{kept}"
        );
        // Empty maps are left out.
        r.source = with_meta(&[], &[]);
        let doc = encode(&r, true);
        assert!(
            doc.contains(r#""pod_id":"52e6202b-d247-4d4d-8ff5-809b6d8b292e","host":"node-1","container_name""#),
            "{doc}"
        );
    }

    #[test]
    fn each_source_version_is_encoded_once_and_interleaving_is_exact() {
        let a = with_meta(&[("v", "1")], &[]);
        let b = with_meta(&[("v", "2")], &[]);
        let mut enc = DocumentEncoder::new(DocumentOptions { replace_dots: true });
        let mut docs = Vec::new();
        for (i, s) in [&a, &b, &a, &a, &b].into_iter().enumerate() {
            let mut r = record(&format!("line {i}"), None);
            r.source = Arc::clone(s);
            let mut out = Vec::new();
            enc.encode(&r, &mut out);
            docs.push(serde_json::from_slice::<serde_json::Value>(&out).unwrap());
        }
        let labels: Vec<_> = docs
            .iter()
            .map(|d| d["kubernetes"]["labels"]["v"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(labels, ["1", "2", "1", "1", "2"]);
        assert_eq!(enc.sources.len(), 2);
    }
}
