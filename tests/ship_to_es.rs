//! End to end: the real binary tails a node's container logs (both formats, JSON and plain
//! lines, lines on both sides of midnight UTC) and every line arrives in the test Elasticsearch
//! exactly once, in the right daily index, with the fields Kibana users rely on.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use logship_testkit::es::{EsDouble, EsOptions, EsVersion, Faults};
use serde_json::Value;

/// What the test wrote, keyed by the unique marker in each message.
struct Expected {
    format: Format,
    msg: String,
    time: String,
    index: String,
    stream: &'static str,
    json: Option<u32>,
    file: usize,
}

/// Writes `files_per_format` files of each format with `lines` lines each; times start 100 ms
/// before midnight UTC so that both daily indices get lines.
fn write_node(
    node: &Node,
    files_per_format: usize,
    lines: usize,
    seed: u32,
) -> (Vec<LogFile>, HashMap<String, Expected>) {
    let mut files = Vec::new();
    let mut expected = HashMap::new();
    for (fi, format) in (0..files_per_format * 2).map(|i| {
        (
            i,
            if i % 2 == 0 {
                Format::Docker
            } else {
                Format::Cri
            },
        )
    }) {
        let f = node.container(
            &format!("app-{seed}-{fi}"),
            "shop",
            "web",
            seed * 1000 + fi as u32,
        );
        let mut text = String::new();
        for li in 0..lines {
            // Milliseconds from midnight UTC, starting 100 ms before it.
            let t = li as i64 - 100;
            let (day, time) = if t < 0 {
                ("21", format!("2026-11-21T23:59:59.{:03}456789Z", 1000 + t))
            } else {
                (
                    "22",
                    format!("2026-11-22T00:00:{:02}.{:03}Z", t / 1000, t % 1000),
                )
            };
            let marker = format!("mk{seed}x{fi}x{li}");
            let (msg, json) = match li % 4 {
                0 => (
                    format!(
                        r#"{{"seq":{li},"marker":"{marker}","level":"info","http.status":200}}"#
                    ),
                    Some(li as u32),
                ),
                1 => (
                    format!("plain text {marker} with \"quotes\" and a tab\tend"),
                    None,
                ),
                2 => (format!(r#"{{"broken": "{marker}""#), None),
                _ => (format!("[{marker}] not json {{ at the start"), None),
            };
            let stream = if li % 5 == 0 { "stderr" } else { "stdout" };
            text.push_str(&line(format, &msg, stream, &time));
            expected.insert(
                marker,
                Expected {
                    format,
                    msg,
                    time,
                    index: format!("logstash-2026.11.{day}"),
                    stream,
                    json,
                    file: fi,
                },
            );
        }
        f.append(text.as_bytes());
        files.push(f);
    }
    (files, expected)
}

fn marker_of(doc: &Value) -> String {
    let log = doc["log"].as_str().expect("log is a string");
    let start = log.find("mk").expect("marker");
    log[start..]
        .split(|c: char| !c.is_ascii_alphanumeric())
        .next()
        .expect("marker")
        .to_owned()
}

fn agent_env(node: &Node, es: &EsDouble) -> Vec<(&'static str, String)> {
    with_env(node.agent_env(es.url()), "LOGSHIP_FLUSH_INTERVAL", "200ms")
}

fn check_docs(es: &EsDouble, files: &[LogFile], expected: &HashMap<String, Expected>) {
    let docs = es.docs();
    assert_eq!(docs.len(), expected.len(), "documents held");
    let mut seen = HashMap::new();
    for d in &docs {
        let src = &d.source;
        let marker = marker_of(src);
        let e = expected
            .get(&marker)
            .unwrap_or_else(|| panic!("unexpected document {src}"));
        *seen.entry(marker.clone()).or_insert(0) += 1;
        assert_eq!(d.index, e.index, "{marker}");
        assert_eq!(src["log"], shipped_log(e.format, &e.msg), "{marker}");
        assert_eq!(src["stream"], e.stream);
        assert_eq!(src["time"], e.time.as_str());
        let ts = src["@timestamp"].as_str().expect("@timestamp");
        assert_eq!(ts.len(), "2026-11-22T00:00:00.000Z".len(), "{ts}");
        assert_eq!(&ts[..10], &e.index["logstash-".len()..].replace('.', "-"));
        let f = &files[e.file];
        assert_eq!(src["flb-log-tag"], f.tag());
        let k = &src["kubernetes"];
        assert_eq!(k["pod_name"], f.pod.as_str());
        assert_eq!(k["namespace_name"], "shop");
        assert_eq!(k["container_name"], "web");
        assert_eq!(k["docker_id"], f.docker_id.as_str());
        match e.json {
            Some(seq) => {
                assert_eq!(src["seq"], seq, "{marker} merged");
                assert_eq!(src["marker"], marker);
                assert_eq!(src["http_status"], 200, "dots in merged keys become _");
                assert!(src.get("http.status").is_none());
            }
            None => {
                assert!(
                    src.get("seq").is_none() && src.get("broken").is_none(),
                    "{marker} must not merge"
                );
            }
        }
        // The raw source never repeats a key (ES rejects that on 6.x+).
        let raw = String::from_utf8_lossy(&d.raw_source);
        assert_eq!(raw.matches("\"log\":").count(), 1);
    }
    assert!(seen.values().all(|&n| n == 1));
}

#[test]
fn every_line_arrives_once_in_its_daily_index() {
    let es = EsDouble::start(EsOptions::default()).expect("es");
    let node = Node::new();
    let (mut files, mut expected) = write_node(&node, 6, 150, 1);
    let agent = Agent::start(node.dir.path(), &["run"], &agent_env(&node, &es));
    assert!(
        eventually(Duration::from_secs(30), || es.stats().distinct_docs
            >= expected.len() as u64),
        "only {} of {} documents arrived; agent log:\n{}",
        es.stats().distinct_docs,
        expected.len(),
        agent.stderr()
    );
    // Files that appear while the agent runs are picked up too.
    let (more_files, more) = write_node(&node, 2, 40, 2);
    let offset = files.len();
    for (k, mut v) in more {
        v.file += offset;
        expected.insert(k, v);
    }
    files.extend(more_files);
    assert!(
        eventually(Duration::from_secs(30), || es.stats().distinct_docs
            >= expected.len() as u64),
        "new files: {} of {}; agent log:\n{}",
        es.stats().distinct_docs,
        expected.len(),
        agent.stderr()
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "exit {status:?}\n{log}");
    check_docs(&es, &files, &expected);
    let stats = es.stats();
    assert_eq!(stats.raw_docs, expected.len() as u64);
    assert_eq!(stats.duplicates, 0);
    let per_day: u64 = stats
        .indices
        .get("logstash-2026.11.21")
        .map_or(0, |i| i.docs);
    let expected_21 = expected
        .values()
        .filter(|e| e.index.ends_with("21"))
        .count() as u64;
    assert_eq!(per_day, expected_21);
    assert!(expected_21 > 0 && expected_21 < expected.len() as u64);
}

#[test]
fn es_answering_429_and_503_for_a_while_loses_and_duplicates_nothing() {
    let es = EsDouble::start(EsOptions::default()).expect("es");
    es.set_faults(Faults {
        fail_next_requests: 4,
        fail_status: 503,
        reject_next_items: 300,
        ..Faults::default()
    });
    let node = Node::new();
    let (files, expected) = write_node(&node, 4, 200, 3);
    let mut env = agent_env(&node, &es);
    env.push(("LOGSHIP_BATCH_BYTES", "64KiB".into()));
    let agent = Agent::start(node.dir.path(), &["run"], &env);
    assert!(
        eventually(Duration::from_secs(60), || es.stats().distinct_docs
            >= expected.len() as u64),
        "only {} of {}; agent log:\n{}",
        es.stats().distinct_docs,
        expected.len(),
        agent.stderr()
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    let stats = es.stats();
    assert_eq!(stats.injected_request_failures, 4, "the 503s happened");
    assert_eq!(stats.injected_item_failures, 300, "the 429s happened");
    assert_eq!(stats.distinct_docs, expected.len() as u64);
    assert_eq!(
        stats.raw_docs,
        expected.len() as u64,
        "rejected items are not accepted twice"
    );
    assert_eq!(stats.duplicates, 0);
    check_docs(&es, &files, &expected);
}

#[test]
fn a_response_lost_after_indexing_overwrites_instead_of_duplicating() {
    let es = EsDouble::start(EsOptions::default()).expect("es");
    es.set_faults(Faults {
        drop_next_responses: 2,
        ..Faults::default()
    });
    let node = Node::new();
    let (files, expected) = write_node(&node, 3, 100, 4);
    let agent = Agent::start(node.dir.path(), &["run"], &agent_env(&node, &es));
    assert!(
        eventually(Duration::from_secs(60), || {
            let s = es.stats();
            s.distinct_docs >= expected.len() as u64 && s.dropped_responses == 2
        }),
        "agent log:\n{}",
        agent.stderr()
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    let stats = es.stats();
    // The dropped batches were indexed, then sent again: the same ids, so no new documents.
    assert_eq!(stats.distinct_docs, expected.len() as u64);
    assert!(
        stats.raw_docs > expected.len() as u64,
        "the lost batches were sent again"
    );
    check_docs(&es, &files, &expected);
}

#[test]
fn mapping_type_follows_the_server_version() {
    for (version, expected_type) in [
        (EsVersion::Es5_6_16, Some("log")),
        (EsVersion::Es6_8_23, Some("_doc")),
        (EsVersion::Es7_17_27, None),
        (EsVersion::Es8_17_0, None),
        (EsVersion::OpenSearch2_13_0, None),
    ] {
        let es = EsDouble::start(EsOptions {
            version,
            ..EsOptions::default()
        })
        .expect("es");
        let node = Node::new();
        let (files, expected) = write_node(&node, 1, 30, 5);
        let agent = Agent::start(node.dir.path(), &["run"], &agent_env(&node, &es));
        assert!(
            eventually(Duration::from_secs(30), || es.stats().distinct_docs
                >= expected.len() as u64),
            "{version:?}: agent log:\n{}",
            agent.stderr()
        );
        let (status, log) = agent.terminate();
        assert!(status.success(), "{log}");
        let docs = es.docs();
        assert_eq!(docs.len(), expected.len(), "{version:?}");
        assert!(
            docs.iter().all(|d| d.doc_type.as_deref() == expected_type),
            "{version:?}"
        );
        assert_eq!(es.stats().failed_items, 0, "{version:?}");
        check_docs(&es, &files, &expected);
    }
}
