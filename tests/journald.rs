//! The journald input end to end (DESIGN §1, §4, §5; issue 8): real journal files written by
//! systemd-journal-remote, read by the real binary through the real journalctl, shipped to the
//! test Elasticsearch. The documents are exactly the entries of the listed units (fields as
//! journald gives them, tag `host.<unit>`, time of `__REALTIME_TIMESTAMP`, `_id` from the
//! cursor); entries written while the agent runs arrive; a restart goes on after the saved
//! cursor and sends nothing twice; a kill -9 loses nothing; the unit list chooses the units;
//! `LOGSHIP_READ_FROM=tail` skips what was there. journalctl missing, failing or killed, and the
//! input being off by default: journald/failures.rs.

mod common;
#[path = "journald/failures.rs"]
mod failures;
#[path = "journald/support.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use logship_testkit::es::{EsDouble, EsOptions, StoredDoc};
use serde_json::{json, Value};
use support::*;

const WAIT: Duration = Duration::from_secs(60);

fn env(node: &Node, es: &EsDouble, journal: &Journal) -> Vec<(&'static str, String)> {
    let mut env = node.agent_env(es.url());
    env.extend([
        ("LOGSHIP_JOURNALD", "true".into()),
        ("LOGSHIP_JOURNAL_DIR", journal.dir.display().to_string()),
    ]);
    env
}

/// The `n` entries a node's docker and kubelet write, with an sshd entry every fifth (not
/// shipped by default): `<prefix><i>` in each message, a millisecond apart.
fn node_entries(prefix: &str, n: usize, first_ms: u64) -> Vec<JournalEntry> {
    (0..n)
        .map(|i| {
            let t = (first_ms + i as u64) * 1000;
            match i % 5 {
                4 => JournalEntry::of(
                    "sshd.service",
                    611,
                    "sshd",
                    t,
                    &format!("Accepted publickey for core from 10.0.0.9 port 22 {prefix}{i}"),
                ),
                k if k % 2 == 0 => JournalEntry::of(
                    "docker.service",
                    812,
                    "dockerd",
                    t,
                    &format!("time=\"2026-11-27T08:00:00.000000000Z\" level=info msg=\"{prefix}{i}\""),
                ),
                _ => JournalEntry::of(
                    "kubelet.service",
                    1043,
                    "kubelet",
                    t,
                    &format!("I1127 08:00:00.000000    1043 kubelet.go:2410] \"SyncLoop (PLEG)\" event={prefix}{i}"),
                ),
            }
        })
        .collect()
}

/// How many of `entries` belong to `units`.
fn shipped(entries: &[JournalEntry], units: &[&str]) -> usize {
    entries
        .iter()
        .filter(|e| {
            e.fields
                .iter()
                .any(|(k, v)| k == "_SYSTEMD_UNIT" && units.iter().any(|u| u.as_bytes() == v))
        })
        .count()
}

/// The marker of a message: `<prefix><i>`, its last word (after `msg=`, `event=`, `port 22 `).
fn marker(message: &str) -> String {
    message
        .rsplit([' ', '='])
        .next()
        .unwrap_or_default()
        .trim_matches('"')
        .to_owned()
}

/// The marker of every document, with how often it is held.
fn markers(es: &EsDouble) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for d in es.docs() {
        let msg = d.source["MESSAGE"].as_str().unwrap_or_default();
        *seen.entry(marker(msg)).or_insert(0) += 1;
    }
    seen
}

/// The markers of the entries of `units`, each once.
fn expected_markers(entries: &[JournalEntry], units: &[&str]) -> BTreeMap<String, usize> {
    let mut want = BTreeMap::new();
    for e in entries {
        let get = |key: &str| {
            e.fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default()
        };
        if units.contains(&get("_SYSTEMD_UNIT").as_str()) {
            *want.entry(marker(&get("MESSAGE"))).or_insert(0) += 1;
        }
    }
    want
}

fn doc_with_message<'a>(docs: &'a [StoredDoc], needle: &str) -> &'a StoredDoc {
    docs.iter()
        .find(|d| {
            d.source["MESSAGE"]
                .as_str()
                .is_some_and(|m| m.contains(needle))
        })
        .unwrap_or_else(|| panic!("no document with {needle:?}"))
}

#[test]
fn the_entries_of_the_listed_units_become_these_documents() {
    let es = EsDouble::start(EsOptions::default()).expect("es");
    let node = Node::new();
    let journal = Journal::new(&node.dir.path().join("journal"));
    let docker = JournalEntry::of(
        "docker.service",
        812,
        "dockerd",
        5_000,
        "time=\"2026-11-27T08:00:00.005000000Z\" level=info msg=\"Loading containers: done.\"",
    );
    let sshd = JournalEntry::of(
        "sshd.service",
        611,
        "sshd",
        6_000,
        "Accepted publickey for core",
    );
    // dockerd's colours and a stack trace: bytes journalctl writes as an array of numbers.
    let colours = JournalEntry::of("docker.service", 812, "dockerd", 7_000, "")
        .set(
            "MESSAGE",
            b"\x1b[31mERRO\x1b[0m[0001] failed to start container\n\tat main.go:12",
        )
        .set("PRIORITY", b"3");
    // A field set twice is one field with both values.
    let kubelet = JournalEntry::of(
        "kubelet.service",
        1043,
        "kubelet",
        1_500_000,
        "E1127 08:00:01.500000    1043 pod_workers.go:1298] \"Error syncing pod, skipping\"",
    )
    .add("CODE_FILE", b"pod_workers.go")
    .add("CODE_FILE", b"kubelet.go");
    journal.write("system", &[docker, sshd, colours, kubelet]);
    let cursors: BTreeMap<String, String> = journal
        .read_back()
        .into_iter()
        .map(|e| {
            (
                e["__REALTIME_TIMESTAMP"].as_str().unwrap().to_owned(),
                e["__CURSOR"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let cursor = |offset_us: u64| cursors[&(T0_US + offset_us).to_string()].clone();

    let agent = Agent::start(node.dir.path(), &["run"], &env(&node, &es, &journal));
    assert!(es.wait_for_docs(3, WAIT), "{}", agent.stderr());
    assert!(
        eventually(WAIT, || metric_value(
            &agent,
            "logship_journald_delivered_records_total"
        ) == Some(3.0)),
        "{}",
        agent.stderr()
    );
    let docs = es.docs();
    assert_eq!(docs.len(), 3, "the sshd entry is not shipped: {docs:#?}");
    assert_eq!(es.stats().raw_docs, 3);
    assert!(docs.iter().all(|d| d.index == "logstash-2026.11.27"));

    let common = |unit: &str, comm: &str, pid: &str| {
        json!({
            "PRIORITY": "6",
            "SYSLOG_FACILITY": "3",
            "SYSLOG_IDENTIFIER": comm,
            "_BOOT_ID": BOOT,
            "_COMM": comm,
            "_GID": "0",
            "_HOSTNAME": "node-1",
            "_MACHINE_ID": MACHINE,
            "_PID": pid,
            "_SYSTEMD_CGROUP": format!("/system.slice/{unit}"),
            "_SYSTEMD_SLICE": "system.slice",
            "_SYSTEMD_UNIT": unit,
            "_TRANSPORT": "stdout",
            "_UID": "0",
        })
    };
    let with = |mut base: Value, extra: Value| {
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        base
    };

    let d = doc_with_message(&docs, "Loading containers");
    assert_eq!(
        d.source,
        with(
            common("docker.service", "dockerd", "812"),
            json!({
                "@timestamp": "2026-11-27T08:00:00.005Z",
                "flb-log-tag": "host.docker.service",
                "MESSAGE": "time=\"2026-11-27T08:00:00.005000000Z\" level=info msg=\"Loading containers: done.\"",
            })
        )
    );
    assert!(
        d.raw_source.starts_with(
            b"{\"@timestamp\":\"2026-11-27T08:00:00.005Z\",\"flb-log-tag\":\"host.docker.service\",\"MESSAGE\":"
        ),
        "{}",
        String::from_utf8_lossy(&d.raw_source)
    );
    assert_eq!(d.id, document_id("docker.service", &cursor(5_000)));

    let d = doc_with_message(&docs, "failed to start container");
    assert_eq!(
        d.source,
        with(
            common("docker.service", "dockerd", "812"),
            json!({
                "@timestamp": "2026-11-27T08:00:00.007Z",
                "flb-log-tag": "host.docker.service",
                "MESSAGE": "\u{1b}[31mERRO\u{1b}[0m[0001] failed to start container\n\tat main.go:12",
                "PRIORITY": "3",
            })
        )
    );
    assert_eq!(d.id, document_id("docker.service", &cursor(7_000)));

    let d = doc_with_message(&docs, "Error syncing pod");
    assert_eq!(
        d.source,
        with(
            common("kubelet.service", "kubelet", "1043"),
            json!({
                "@timestamp": "2026-11-27T08:00:01.500Z",
                "flb-log-tag": "host.kubelet.service",
                "MESSAGE": "E1127 08:00:01.500000    1043 pod_workers.go:1298] \"Error syncing pod, skipping\"",
                "CODE_FILE": ["pod_workers.go", "kubelet.go"],
            })
        )
    );
    assert_eq!(d.id, document_id("kubelet.service", &cursor(1_500_000)));

    // The same counters as the files, with input="journald".
    for (series, want) in [
        ("logship_input_records_total{input=\"journald\"}", 3.0),
        (
            "logship_input_problems_total{input=\"journald\",kind=\"other_unit\"}",
            0.0,
        ),
        (
            "logship_input_problems_total{input=\"journald\",kind=\"not_json\"}",
            0.0,
        ),
        ("logship_journald_errors_total{kind=\"start\"}", 0.0),
        ("logship_journald_errors_total{kind=\"exit\"}", 0.0),
        ("logship_journald_running", 1.0),
        (
            "logship_buffer_limit_bytes{input=\"journald\"}",
            (32 << 20) as f64,
        ),
        (
            "logship_output_records_total{output=\"elasticsearch\"}",
            3.0,
        ),
    ] {
        assert_eq!(metric_value(&agent, series), Some(want), "{series}");
    }
    assert!(
        metric_value(&agent, "logship_input_bytes_total{input=\"journald\"}").unwrap() > 1000.0
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
}

#[test]
fn follows_the_journal_resumes_after_the_cursor_and_sends_nothing_twice() {
    let es = EsDouble::start(EsOptions::default()).expect("es");
    let node = Node::new();
    let journal = Journal::new(&node.dir.path().join("journal"));
    let units = ["docker.service", "kubelet.service"];
    let mut all = Vec::new();
    // Writes entries and returns how many documents there should be in all.
    let write = |all: &mut Vec<JournalEntry>, file: &str, entries: Vec<JournalEntry>| {
        journal.write(file, &entries);
        all.extend(entries);
        shipped(all, &units)
    };

    let want = write(&mut all, "system", node_entries("a", 500, 0));
    assert_eq!(want, 400);
    let agent = Agent::start(node.dir.path(), &["run"], &env(&node, &es, &journal));
    assert!(es.wait_for_docs(want, WAIT), "{}", agent.stderr());
    // Written while the agent runs: a new journal file (as after a rotation) and more entries
    // in the first one.
    write(&mut all, "system@rotated", node_entries("b", 150, 10_000));
    let want = write(&mut all, "system", node_entries("c", 100, 20_000));
    assert!(es.wait_for_docs(want, WAIT), "{}", agent.stderr());
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    assert!(
        node.state_dir().join("journald-cursor.json").exists(),
        "the cursor is saved"
    );

    // Written while the agent is down.
    let want = write(&mut all, "system", node_entries("d", 100, 30_000));
    let agent = Agent::start(node.dir.path(), &["run"], &env(&node, &es, &journal));
    assert!(es.wait_for_docs(want, WAIT), "{}", agent.stderr());
    assert!(
        eventually(WAIT, || metric_value(
            &agent,
            "logship_journald_delivered_records_total"
        ) == Some(80.0)),
        "{}",
        agent.stderr()
    );
    assert_eq!(
        metric_value(&agent, "logship_input_records_total{input=\"journald\"}"),
        Some(80.0),
        "the second run read only what was written while the agent was down"
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    let stats = es.stats();
    assert_eq!(stats.raw_docs, want as u64, "nothing was sent twice");
    assert_eq!(stats.duplicates, 0);
    assert_eq!(markers(&es), expected_markers(&all, &units));
    assert!(es.docs().iter().all(|d| d.source["flb-log-tag"]
        == format!("host.{}", d.source["_SYSTEMD_UNIT"].as_str().unwrap())));

    // kill -9 while entries are in flight: nothing lost, and what is sent again overwrites
    // itself (same _id), so every entry is one document.
    let agent = Agent::start(node.dir.path(), &["run"], &env(&node, &es, &journal));
    let want = write(&mut all, "system", node_entries("e", 2000, 40_000));
    assert!(
        es.wait_until(WAIT, |s| s.distinct_docs > want as u64 - 1000),
        "{}",
        agent.stderr()
    );
    agent.kill9();
    let want = write(&mut all, "system", node_entries("f", 100, 50_000));
    let agent = Agent::start(node.dir.path(), &["run"], &env(&node, &es, &journal));
    assert!(es.wait_for_docs(want, WAIT), "{}", agent.stderr());
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    assert_eq!(es.stats().distinct_docs, want as u64);
    assert_eq!(markers(&es), expected_markers(&all, &units));
}

#[test]
fn the_unit_list_chooses_the_units() {
    let es = EsDouble::start(EsOptions::default()).expect("es");
    let node = Node::new();
    let journal = Journal::new(&node.dir.path().join("journal"));
    // The last entry is an sshd one: once it is in, every entry before it was looked at.
    let entries = node_entries("u", 250, 0);
    journal.write("system", &entries);
    let mut env = env(&node, &es, &journal);
    env.push(("LOGSHIP_JOURNALD_UNITS", "sshd".into()));
    let agent = Agent::start(node.dir.path(), &["run"], &env);
    assert!(es.wait_for_docs(50, WAIT), "{}", agent.stderr());
    assert!(
        eventually(WAIT, || metric_value(
            &agent,
            "logship_journald_delivered_records_total"
        ) == Some(50.0)),
        "{}",
        agent.stderr()
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    assert_eq!(es.stats().raw_docs, 50);
    assert_eq!(markers(&es), expected_markers(&entries, &["sshd.service"]));
    assert!(es
        .docs()
        .iter()
        .all(|d| d.source["flb-log-tag"] == "host.sshd.service"));
}

#[test]
fn read_from_tail_ships_only_entries_written_after_the_first_start() {
    let es = EsDouble::start(EsOptions::default()).expect("es");
    let node = Node::new();
    let journal = Journal::new(&node.dir.path().join("journal"));
    let units = ["docker.service", "kubelet.service"];
    journal.write("system", &node_entries("old", 100, 0));
    let mut env = env(&node, &es, &journal);
    env.push(("LOGSHIP_READ_FROM", "tail".into()));
    let agent = Agent::start(node.dir.path(), &["run"], &env);
    // journalctl is at the journal's end some time after the start: batches are written until
    // one arrives, then one more, which must arrive whole.
    let mut batches = 0u64;
    assert!(
        eventually(WAIT, || {
            let prefix = format!("new{batches}-");
            journal.write("system", &node_entries(&prefix, 5, 1_000 + batches * 10));
            batches += 1;
            es.stats().distinct_docs > 0
        }),
        "{}",
        agent.stderr()
    );
    let last = node_entries("last-", 5, 1_000 + batches * 10);
    journal.write("system", &last);
    assert!(
        eventually(WAIT, || markers(&es).contains_key("last-3")),
        "{}",
        agent.stderr()
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    let held = markers(&es);
    assert!(
        held.keys()
            .all(|m| m.starts_with("new") || m.starts_with("last-")),
        "{held:?}"
    );
    for (marker, n) in expected_markers(&last, &units) {
        assert_eq!(held.get(&marker), Some(&n), "{marker}");
    }
    assert!(held.values().all(|&n| n == 1));
}
