use std::io::Read;
use std::path::PathBuf;

use logship_collector::json_merge::MergedObject;
use logship_collector::pod_ref::PodRef;
use logship_collector::{EventTime, JsonText, LogText, RecordKind, Stream};
use rmpv::Value;

use super::*;

fn source(tag: &str, pod: bool) -> Arc<Source> {
    Arc::new(Source {
        id: 7,
        path: PathBuf::from("/var/log/containers/p_ns_c-x.log").into(),
        tag: tag.into(),
        pod: pod.then(|| PodRef::new("p", "ns", "c", "abc").unwrap()),
        meta: None,
    })
}

fn record(src: &Arc<Source>, log: &str, merged: Option<&str>) -> Record {
    Record {
        source: Arc::clone(src),
        start_offset: 0,
        end_offset: 10,
        time: EventTime::parse_rfc3339("2026-11-22T01:02:03.005000007Z").unwrap(),
        time_text: "2026-11-22T01:02:03.005000007Z".into(),
        stream: Some(Stream::Stdout),
        log: JsonText::escape(log).into(),
        merged: merged.map(|m| MergedObject::parse_any(m.to_owned()).unwrap()),
        truncated: false,
        kind: RecordKind::Line,
    }
}

/// `[tag, entries, options]` decoded, entries expanded.
fn decode_message(bytes: &[u8]) -> (String, Vec<Value>, Value) {
    let mut rd = bytes;
    let v = rmpv::decode::read_value(&mut rd).unwrap();
    assert!(rd.is_empty(), "one value");
    let parts = v.as_array().unwrap();
    assert_eq!(parts.len(), 3);
    let entries = match &parts[1] {
        Value::Array(a) => a.clone(),
        Value::Binary(b) => {
            let mut raw = Vec::new();
            flate2::read::MultiGzDecoder::new(&b[..])
                .read_to_end(&mut raw)
                .unwrap();
            let mut rd = &raw[..];
            let mut out = Vec::new();
            while !rd.is_empty() {
                out.push(rmpv::decode::read_value(&mut rd).unwrap());
            }
            out
        }
        other => panic!("entries: {other}"),
    };
    (
        parts[0].as_str().unwrap().to_owned(),
        entries,
        parts[2].clone(),
    )
}

fn get<'a>(map: &'a Value, key: &str) -> &'a Value {
    super::super::conn::field(map, key).unwrap_or_else(|| panic!("no {key} in {map}"))
}

#[test]
fn sources_of_one_tag_share_its_frame_in_order() {
    // A file whose pod changed has a new source with the same tag.
    let (a, b, a_again) = (
        source("kube.a", true),
        source("kube.b", false),
        source("kube.a", false),
    );
    let records = vec![
        record(&a, "a0\n", None),
        record(&b, "b0\n", None),
        record(&a_again, "a1\n", None),
        record(&a, "a2\n", None),
        record(&b, "b1\n", None),
    ];
    let chunk = ForwardEncoder::new().encode(&records);
    let tags: Vec<_> = chunk
        .frames
        .iter()
        .map(|f| (f.tag.as_str(), f.count))
        .collect();
    assert_eq!(tags, [("kube.a", 3), ("kube.b", 2)]);
    let mut wire = Vec::new();
    message(&chunk.frames[0], None, Compress::None, &mut wire);
    let (_, entries, _) = decode_message(&wire);
    let logs: Vec<_> = entries
        .iter()
        .map(|e| get(&e[1], "log").as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(logs, ["a0\n", "a1\n", "a2\n"]);
}

#[test]
fn frames_group_by_tag_and_entries_carry_the_document_less_timestamp_and_tag() {
    let a = source("kube.a", true);
    let b = source("kube.b", false);
    let m = r#"{"level":"info","a.b":{"c.d":1},"log":"dup"}"#;
    let records = vec![
        record(&a, "a0\n", None),
        record(&b, "b0\n", None),
        record(&a, m, Some(m)),
    ];
    let chunk = ForwardEncoder::new().encode(&records);
    assert_eq!(chunk.records, 3);
    let tags: Vec<_> = chunk
        .frames
        .iter()
        .map(|f| (f.tag.as_str(), f.count))
        .collect();
    assert_eq!(tags, [("kube.a", 2), ("kube.b", 1)]);

    let mut wire = Vec::new();
    message(
        &chunk.frames[0],
        Some("p8n9gmxTQVC8/nh2wlKKeQ=="),
        Compress::None,
        &mut wire,
    );
    let (tag, entries, options) = decode_message(&wire);
    assert_eq!(tag, "kube.a");
    assert_eq!(get(&options, "size").as_u64(), Some(2));
    assert_eq!(
        get(&options, "chunk").as_str(),
        Some("p8n9gmxTQVC8/nh2wlKKeQ==")
    );
    let entry = entries[1].as_array().unwrap();
    // EventTime: ext 0, seconds and nanoseconds.
    let Value::Ext(0, ref t) = entry[0] else {
        panic!("{}", entry[0])
    };
    let secs = u32::from_be_bytes(t[..4].try_into().unwrap());
    let nanos = u32::from_be_bytes(t[4..].try_into().unwrap());
    assert_eq!((secs, nanos), (1795309323, 5000007));
    let rec = &entry[1];
    let keys: Vec<_> = rec
        .as_map()
        .unwrap()
        .iter()
        .map(|(k, _)| k.as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        ["log", "stream", "time", "level", "a.b", "kubernetes"]
    );
    assert_eq!(get(rec, "log").as_str(), Some(m));
    assert_eq!(
        get(rec, "time").as_str(),
        Some("2026-11-22T01:02:03.005000007Z")
    );
    // Keys keep their dots on the forward record.
    assert_eq!(get(get(rec, "a.b"), "c.d").as_u64(), Some(1));
    let k = get(rec, "kubernetes");
    assert_eq!(get(k, "pod_name").as_str(), Some("p"));
    assert_eq!(get(k, "docker_id").as_str(), Some("abc"));

    // The pod-less record has no kubernetes map.
    let mut wire = Vec::new();
    message(&chunk.frames[1], None, Compress::Gzip, &mut wire);
    let (tag, entries, options) = decode_message(&wire);
    assert_eq!(tag, "kube.b");
    assert_eq!(get(&options, "compressed").as_str(), Some("gzip"));
    assert!(super::super::conn::field(&options, "chunk").is_none());
    let rec = &entries[0].as_array().unwrap()[1];
    assert_eq!(rec.as_map().unwrap().len(), 3);
    assert_eq!(get(rec, "log").as_str(), Some("b0\n"));
}

#[test]
fn an_event_carries_the_senders_fields_only() {
    let src = source("app.access", false);
    let fields = r#"{"message":"hi","log":"own","n":[1,2.5,null]}"#;
    let mut r = record(&src, "", Some(fields));
    r.kind = RecordKind::Event;
    r.stream = None;
    r.time_text = "".into();
    let chunk = ForwardEncoder::new().encode(&[r]);
    let mut wire = Vec::new();
    message(&chunk.frames[0], None, Compress::None, &mut wire);
    let (_, entries, _) = decode_message(&wire);
    let rec = &entries[0].as_array().unwrap()[1];
    let keys: Vec<_> = rec
        .as_map()
        .unwrap()
        .iter()
        .map(|(k, _)| k.as_str().unwrap())
        .collect();
    assert_eq!(keys, ["message", "log", "n"]);
    assert_eq!(get(rec, "n").as_array().unwrap()[1].as_f64(), Some(2.5));
}

#[test]
fn an_event_without_fields_is_an_empty_map() {
    let src = source("t", false);
    let mut r = record(&src, "", None);
    r.kind = RecordKind::Event;
    let chunk = ForwardEncoder::new().encode(&[r]);
    // [EventTime, {}]
    assert_eq!(chunk.frames[0].entries.len(), 1 + 10 + 1);
    assert_eq!(*chunk.frames[0].entries.last().unwrap(), 0x80);
}

#[test]
fn a_metric_is_heapsters_document_under_its_family_tag() {
    let src = source("heapster.memory", false);
    let doc = r#"{"Metrics":{"memory/usage":{"value":5},"memory/page_faults_rate":{"value":0.5}},"MemoryMetricsTimestamp":"2026-06-26T10:14:35Z","MetricsTags":{"type":"node"}}"#;
    let mut r = record(&src, "", None);
    r.merged = MergedObject::parse(doc.to_owned());
    r.kind = RecordKind::Metric(logship_collector::MetricFamily::Memory);
    r.stream = None;
    r.time_text = "".into();
    let chunk = ForwardEncoder::new().encode(&[r]);
    let mut wire = Vec::new();
    message(&chunk.frames[0], None, Compress::None, &mut wire);
    let (tag, entries, _) = decode_message(&wire);
    assert_eq!(tag, "heapster.memory");
    let rec = &entries[0].as_array().unwrap()[1];
    let keys: Vec<_> = rec
        .as_map()
        .unwrap()
        .iter()
        .map(|(k, _)| k.as_str().unwrap())
        .collect();
    assert_eq!(keys, ["Metrics", "MemoryMetricsTimestamp", "MetricsTags"]);
    let metrics = get(rec, "Metrics");
    assert_eq!(get(get(metrics, "memory/usage"), "value").as_u64(), Some(5));
    assert_eq!(
        get(get(metrics, "memory/page_faults_rate"), "value").as_f64(),
        Some(0.5)
    );
}

#[test]
fn a_log_escaped_plain_or_kept_as_its_merged_object_travels_the_same() {
    // Docker's log is held escaped, CRI's as read, a whole CRI JSON line as its merged object.
    let src = source("kube.a", true);
    let m = r#"{"msg":"a \"quoted\" word","n":1}"#;
    let escaped = vec![record(&src, "é \"x\"\t\n", None), record(&src, m, Some(m))];
    let mut plain = escaped.clone();
    plain[0].log = LogText::plain("é \"x\"\t\n".to_owned());
    plain[1].log = LogText::Merged;
    let wire = |records: &[Record]| {
        let chunk = ForwardEncoder::new().encode(records);
        let mut wire = Vec::new();
        message(&chunk.frames[0], None, Compress::None, &mut wire);
        wire
    };
    assert_eq!(wire(&plain), wire(&escaped));
    let (_, entries, _) = decode_message(&wire(&plain));
    assert_eq!(get(&entries[0][1], "log").as_str(), Some("é \"x\"\t\n"));
    assert_eq!(get(&entries[1][1], "log").as_str(), Some(m));
    assert_eq!(
        get(&entries[1][1], "msg").as_str(),
        Some("a \"quoted\" word")
    );
}
