//! The fluent forward protocol end to end (DESIGN §4, §5; issue 5): the real binary with the
//! test Elasticsearch and the forward server double. Every record reaches both, decoded by an
//! independent decoder (python3-msgpack) too; a real sender (python3-fluent-logger) reaches ES
//! through the forward input; a forward server that is down never holds ES back and gets the
//! backlog when it is back; a full spool drops the oldest forward-only records with a count; a
//! restart sends the spool; garbage and oversized input on the forward port close only that
//! connection. Exact counts everywhere.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use common::*;
use logship_testkit::es::{EsDouble, EsOptions};
use logship_testkit::forward::{Faults, ForwardOptions, ForwardServer};
use serde_json::{json, Value};

const T: &str = "2026-11-22T10:00:00.000000001Z";
const WAIT: Duration = Duration::from_secs(60);

fn env(node: &Node, es: &EsDouble, fwd: Option<&ForwardServer>) -> Vec<(&'static str, String)> {
    let mut env = node.agent_env(es.url());
    env.push(("LOGSHIP_FORWARD_TIMEOUT", "2s".into()));
    if let Some(f) = fwd {
        env.push(("FLUENT_FORWARD_SERVER", f.addr().to_string()));
    }
    env
}

fn down() -> ForwardOptions {
    ForwardOptions {
        faults: Faults {
            down: true,
            ..Faults::default()
        },
        ..ForwardOptions::default()
    }
}

/// Writes `n` lines `<prefix><i>` (every third a JSON object with a dotted key).
fn write_lines(f: &LogFile, prefix: &str, n: usize) {
    let text: String = (0..n)
        .map(|i| {
            let msg = if i % 3 == 0 {
                format!("{{\"msg\":\"{prefix}{i}\",\"a.b\":{i}}}")
            } else {
                format!("{prefix}{i}")
            };
            docker_line(&msg, "stdout", T, false)
        })
        .collect();
    f.append(text.as_bytes());
}

/// The marker of a record: `msg` of a JSON line, else the log less its newline.
fn marker(record: &Value) -> String {
    match record["msg"].as_str() {
        Some(m) => m.to_owned(),
        None => record["log"]
            .as_str()
            .unwrap_or_default()
            .trim_end()
            .to_owned(),
    }
}

/// How often each marker was received by the forward server.
fn forward_markers(fwd: &ForwardServer) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for e in fwd.events() {
        *seen.entry(marker(&e.record)).or_default() += 1;
    }
    seen
}

fn assert_each_once(seen: &HashMap<String, usize>, prefix: &str, range: std::ops::Range<usize>) {
    let missing = range
        .clone()
        .filter(|i| !seen.contains_key(&format!("{prefix}{i}")))
        .count();
    let repeated = range
        .clone()
        .filter(|i| seen.get(&format!("{prefix}{i}")).is_some_and(|&n| n > 1))
        .count();
    assert_eq!(
        (missing, repeated),
        (0, 0),
        "{prefix}{range:?}: missing, repeated"
    );
}

/// A counter or gauge from the agent's /metrics (0 when absent).
fn metric_or_0(agent: &Agent, series: &str) -> f64 {
    metric_value(agent, series).unwrap_or(0.0)
}

/// The forward input's address, from the agent's log.
fn forward_input_addr(agent: &Agent) -> Option<String> {
    let log = agent.stderr();
    let line = log
        .lines()
        .find(|l| l.contains("forward input listening"))?;
    let rest = &line[line.find("addr")? + 4..];
    Some(
        rest.chars()
            .skip_while(|c| !c.is_ascii_digit())
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
            .collect(),
    )
}

/// Whether `/usr/bin/python3` can import `module`. Under CI a missing module fails the test;
/// elsewhere the test is skipped with a SKIP line.
fn python_has(module: &str, package: &str) -> bool {
    let ok = Command::new("/usr/bin/python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 module {module} missing: install the Debian package {package} (.ci/install-test-deps.sh)"
        );
        eprintln!("SKIP: python3 module {module} missing (Debian package {package})");
    }
    ok
}

const DECODE: &str = r#"
import sys, json, msgpack
def ext(code, data):
    if code == 0 and len(data) == 8:
        return ["EventTime", int.from_bytes(data[:4], "big"), int.from_bytes(data[4:], "big")]
    raise ValueError("unexpected ext type %d" % code)
out = []
with open(sys.argv[1], "rb") as f:
    for msg in msgpack.Unpacker(f, raw=False, ext_hook=ext):
        assert isinstance(msg, list) and len(msg) == 3, msg
        tag, entries, opts = msg
        assert isinstance(tag, str) and isinstance(entries, list) and isinstance(opts, dict)
        assert opts["size"] == len(entries) and len(opts["chunk"]) == 24
        for t, rec in entries:
            assert t[0] == "EventTime" and 0 <= t[2] < 10**9, t
            assert isinstance(rec, dict) and all(isinstance(k, str) for k in rec)
            out.append({"tag": tag, "secs": t[1], "nanos": t[2], "record": rec})
json.dump(out, sys.stdout)
"#;

#[test]
fn every_record_reaches_es_and_the_forward_server_checked_by_an_independent_decoder() {
    let es = EsDouble::start(EsOptions::default()).expect("es");
    let fwd = ForwardServer::start(ForwardOptions::default()).expect("forward");
    let node = Node::new();
    let a = node.container("web", "default", "app", 1);
    let b = node.container("db", "prod", "pg", 2);
    write_lines(&a, "a", 600);
    write_lines(&b, "b", 400);
    let agent = Agent::start(node.dir.path(), &["run"], &env(&node, &es, Some(&fwd)));
    assert!(es.wait_for_docs(1000, WAIT), "{}", agent.stderr());
    assert!(fwd.wait_for_events(1000, WAIT), "{}", agent.stderr());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(fwd.violations(), Vec::<String>::new());
    let seen = forward_markers(&fwd);
    assert_each_once(&seen, "a", 0..600);
    assert_each_once(&seen, "b", 0..400);
    assert_eq!(fwd.events().len(), 1000);
    assert_eq!(es.stats().distinct_docs, 1000);

    // The forward record is the ES document less @timestamp and flb-log-tag, keys keeping dots.
    let by_marker: HashMap<String, Value> = es
        .docs()
        .into_iter()
        .map(|d| (marker(&d.source), d.source))
        .collect();
    for e in fwd.events() {
        let mut doc = by_marker[&marker(&e.record)].clone();
        let doc = doc.as_object_mut().unwrap();
        assert_eq!(doc.remove("flb-log-tag"), Some(json!(e.tag)));
        assert!(doc.remove("@timestamp").is_some());
        if let Some(v) = doc.remove("a_b") {
            doc.insert("a.b".into(), v);
        }
        assert_eq!(Value::Object(doc.clone()), e.record);
        assert_eq!((e.secs, e.nanos), (1795341600, 1));
    }
    let tags: std::collections::BTreeSet<String> =
        fwd.events().into_iter().map(|e| e.tag).collect();
    assert_eq!(tags, [b.tag(), a.tag()].into_iter().collect());

    // python3-msgpack decodes exactly what the double decoded.
    if python_has("msgpack", "python3-msgpack") {
        let raw: Vec<u8> = fwd.messages().into_iter().flat_map(|m| m.raw).collect();
        let path = node.dir.path().join("forward.msgpack");
        std::fs::write(&path, raw).unwrap();
        let out = Command::new("/usr/bin/python3")
            .args(["-c", DECODE])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let decoded: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        let ours: Vec<Value> = fwd
            .events()
            .into_iter()
            .map(|e| json!({"tag": e.tag, "secs": e.secs, "nanos": e.nanos, "record": e.record}))
            .collect();
        assert_eq!(decoded.len(), 1000);
        assert!(decoded == ours, "python3-msgpack and the double disagree");
    }
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
}

#[test]
fn es_keeps_receiving_while_the_forward_server_is_down_and_it_gets_everything_back() {
    let es = EsDouble::start(EsOptions::default()).expect("es");
    let fwd = ForwardServer::start(down()).expect("forward");
    let node = Node::new();
    let f = node.container("web", "default", "app", 1);
    write_lines(&f, "d", 3000);
    let agent = Agent::start(node.dir.path(), &["run"], &env(&node, &es, Some(&fwd)));
    assert!(es.wait_for_docs(3000, WAIT), "{}", agent.stderr());
    assert_eq!(es.stats().distinct_docs, 3000);
    assert_eq!(fwd.stats().events, 0);
    assert!(eventually(WAIT, || metric_or_0(
        &agent,
        "logship_forward_spooled_records_total"
    ) == 3000.0));
    fwd.set_faults(Faults::default());
    assert!(fwd.wait_for_events(3000, WAIT), "{}", agent.stderr());
    std::thread::sleep(Duration::from_millis(500));
    assert_each_once(&forward_markers(&fwd), "d", 0..3000);
    assert_eq!(fwd.events().len(), 3000);
    assert_eq!(fwd.violations(), Vec::<String>::new());
    assert!(eventually(WAIT, || metric_or_0(
        &agent,
        "logship_output_records_total{output=\"forward\"}"
    ) == 3000.0));
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
}

#[test]
fn a_full_spool_drops_the_oldest_forward_records_and_es_gets_everything() {
    let es = EsDouble::start(EsOptions::default()).expect("es");
    let fwd = ForwardServer::start(down()).expect("forward");
    let node = Node::new();
    let f = node.container("web", "default", "app", 1);
    let n = 20_000;
    let pad = "x".repeat(150);
    let text: String = (0..n)
        .map(|i| docker_line(&format!("s{i} {pad}"), "stdout", T, false))
        .collect();
    f.append(text.as_bytes());
    let mut vars = env(&node, &es, Some(&fwd));
    vars.push(("LOGSHIP_FORWARD_SPOOL_LIMIT", "1MiB".into()));
    let agent = Agent::start(node.dir.path(), &["run"], &vars);
    assert!(es.wait_for_docs(n, WAIT), "{}", agent.stderr());
    assert_eq!(es.stats().distinct_docs, n as u64);
    assert!(eventually(WAIT, || metric_or_0(
        &agent,
        "logship_forward_spooled_records_total"
    ) == n as f64));
    let dropped = metric_or_0(&agent, "logship_forward_spool_dropped_records_total") as usize;
    assert!(dropped > 0 && dropped < n, "dropped {dropped}");
    assert!(
        agent.stderr().contains("the forward spool is full"),
        "a warning is logged"
    );
    fwd.set_faults(Faults::default());
    assert!(fwd.wait_for_events(n - dropped, WAIT), "{}", agent.stderr());
    std::thread::sleep(Duration::from_millis(500));
    let seen: HashMap<String, usize> = fwd
        .events()
        .iter()
        .map(|e| {
            (
                e.record["log"]
                    .as_str()
                    .unwrap()
                    .split(' ')
                    .next()
                    .unwrap()
                    .to_owned(),
                1,
            )
        })
        .collect();
    assert_eq!(fwd.events().len(), n - dropped);
    // The newest survive.
    assert_each_once(&seen, "s", dropped..n);
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
}

#[test]
fn a_restart_sends_the_spool_left_by_the_previous_run() {
    let es = EsDouble::start(EsOptions::default()).expect("es");
    let fwd = ForwardServer::start(down()).expect("forward");
    let node = Node::new();
    let f = node.container("web", "default", "app", 1);
    write_lines(&f, "r", 2000);
    let agent = Agent::start(node.dir.path(), &["run"], &env(&node, &es, Some(&fwd)));
    assert!(es.wait_for_docs(2000, WAIT), "{}", agent.stderr());
    assert!(eventually(WAIT, || metric_or_0(
        &agent,
        "logship_forward_spooled_records_total"
    ) == 2000.0));
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    assert_eq!(fwd.stats().events, 0);
    fwd.set_faults(Faults::default());
    let agent = Agent::start(node.dir.path(), &["run"], &env(&node, &es, Some(&fwd)));
    assert!(fwd.wait_for_events(2000, WAIT), "{}", agent.stderr());
    std::thread::sleep(Duration::from_millis(500));
    assert_each_once(&forward_markers(&fwd), "r", 0..2000);
    assert_eq!(fwd.events().len(), 2000);
    // The checkpoints had moved past the spooled records: ES got nothing twice.
    assert_eq!(es.stats().distinct_docs, 2000);
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
}

const FLUENT_LOGGER: &str = r#"
import sys
from fluent import sender
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = sender.FluentSender("app", host=host, port=port, nanosecond_precision=(sys.argv[4] == "ns"))
for i in range(n):
    if not s.emit("web", {"msg": "fl%d" % i, "n": i, "nested": {"k.dot": i}}):
        print(s.last_error, file=sys.stderr)
        sys.exit(1)
s.close()
"#;

#[test]
fn a_real_fluent_logger_sends_through_the_forward_input_to_es_and_the_forward_server() {
    if !python_has("fluent.sender", "python3-fluent-logger") {
        return;
    }
    let es = EsDouble::start(EsOptions::default()).expect("es");
    let fwd = ForwardServer::start(ForwardOptions::default()).expect("forward");
    let node = Node::new();
    let mut vars = env(&node, &es, Some(&fwd));
    vars.push(("LOGSHIP_FORWARD_LISTEN", "127.0.0.1:0".into()));
    let agent = Agent::start(node.dir.path(), &["run"], &vars);
    assert!(
        eventually(WAIT, || forward_input_addr(&agent).is_some()),
        "{}",
        agent.stderr()
    );
    let addr = forward_input_addr(&agent).unwrap();
    let (host, port) = addr.rsplit_once(':').unwrap();
    for (precision, n) in [("ns", 300), ("s", 200)] {
        let out = Command::new("/usr/bin/python3")
            .args(["-c", FLUENT_LOGGER, host, port, &n.to_string(), precision])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(es.wait_for_docs(500, WAIT), "{}", agent.stderr());
    assert!(fwd.wait_for_events(500, WAIT), "{}", agent.stderr());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(es.stats().distinct_docs, 500);
    let docs = es.docs();
    for d in &docs {
        let s = &d.source;
        assert_eq!(s["flb-log-tag"], "app.web");
        let n = s["n"].as_u64().unwrap();
        assert_eq!(
            s["nested"],
            json!({"k_dot": n}),
            "ES gets the dots replaced"
        );
        assert!(s.get("kubernetes").is_none() && s.get("log").is_none());
    }
    let ns: std::collections::BTreeSet<u64> = docs
        .iter()
        .map(|d| d.source["n"].as_u64().unwrap())
        .collect();
    assert_eq!(ns, (0..300).collect());
    let events = fwd.events();
    assert_eq!(events.len(), 500);
    assert!(events
        .iter()
        .all(|e| e.tag == "app.web" && e.record["nested"]["k.dot"] == e.record["n"]));
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
}

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testkit/fixtures/forward/",
            $name,
            ".msgpack"
        ))
    };
}

#[test]
fn garbage_and_oversized_input_close_only_their_connection_and_acks_wait_for_es() {
    let es = EsDouble::start(EsOptions::default()).expect("es");
    let node = Node::new();
    let mut vars = env(&node, &es, None);
    vars.push(("LOGSHIP_FORWARD_LISTEN", "127.0.0.1:0".into()));
    let agent = Agent::start(node.dir.path(), &["run"], &vars);
    assert!(
        eventually(WAIT, || forward_input_addr(&agent).is_some()),
        "{}",
        agent.stderr()
    );
    let addr = forward_input_addr(&agent).unwrap();
    let timeout = Some(Duration::from_secs(30));

    let mut good = TcpStream::connect(&addr).unwrap();
    good.set_read_timeout(timeout).unwrap();
    let mut garbage = TcpStream::connect(&addr).unwrap();
    garbage.set_read_timeout(timeout).unwrap();
    let mut big = TcpStream::connect(&addr).unwrap();
    big.set_read_timeout(timeout).unwrap();
    garbage.write_all(b"\xc1GET / HTTP/1.1\r\n\r\n").unwrap();
    // A bin announcing 17 MiB: over the 16 MiB limit from its header on.
    big.write_all(b"\x93\xa3big\xc6\x01\x10\x00\x00").unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(garbage.read(&mut buf).unwrap_or(0), 0, "closed");
    assert_eq!(big.read(&mut buf).unwrap_or(0), 0, "closed");

    // The good connection goes on; its ack comes once ES has the records.
    good.write_all(fixture!("packedforward-bin")).unwrap();
    let mut ack = vec![0u8; 30];
    good.read_exact(&mut ack).unwrap();
    assert_eq!(ack, fixture!("ack-response"));
    assert_eq!(
        es.stats().distinct_docs,
        3,
        "acked only once ES had all three"
    );
    good.write_all(fixture!("compressedpackedforward-multimember"))
        .unwrap();
    // The spec's example reuses one chunk id; a sender gives each message its own.
    let (spec_id, own_id) = (
        &b"p8n9gmxTQVC8/nh2wlKKeQ=="[..],
        &b"AAECAwQFBgcICQoLDA0ODw=="[..],
    );
    let swap = |bytes: &[u8]| -> Vec<u8> {
        let at = bytes.windows(24).position(|w| w == spec_id).unwrap();
        [&bytes[..at], own_id, &bytes[at + 24..]].concat()
    };
    good.write_all(&swap(fixture!("message-eventtime-chunk")))
        .unwrap();
    good.read_exact(&mut ack).unwrap();
    assert_eq!(ack, swap(fixture!("ack-response")));
    assert!(es.wait_for_docs(7, WAIT));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(es.stats().distinct_docs, 7);
    let mut messages: Vec<String> = es
        .docs()
        .iter()
        .map(|d| d.source["message"].as_str().unwrap().to_owned())
        .collect();
    messages.sort();
    assert_eq!(messages, ["bar", "bar", "bar", "baz", "baz", "foo", "foo"]);
    assert!(es
        .docs()
        .iter()
        .all(|d| d.source["flb-log-tag"] == "tag.name"));
    assert!(eventually(WAIT, || metric_or_0(
        &agent,
        "logship_forward_input_errors_total{kind=\"malformed\"}"
    ) == 1.0));
    assert_eq!(
        metric_or_0(
            &agent,
            "logship_forward_input_errors_total{kind=\"oversized\"}"
        ),
        1.0
    );
    assert_eq!(
        metric_or_0(&agent, "logship_forward_input_records_total"),
        7.0
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
}
