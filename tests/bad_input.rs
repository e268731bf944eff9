//! Bad input never stops the agent and never costs another line: broken JSON, invalid UTF-8,
//! empty and oversized lines, a file deleted while it is read, an Elasticsearch that answers
//! garbage or refuses documents. Each kind is counted and logged once.

mod common;

use std::time::Duration;

use common::*;
use logship_testkit::es::{EsDouble, EsOptions, Faults};

const T: &str = "2026-11-22T10:00:00.000000001Z";

fn logs(es: &EsDouble) -> Vec<String> {
    es.docs()
        .iter()
        .map(|d| d.source["log"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn malformed_lines_ship_as_text_and_nothing_else_is_lost() {
    let es = EsDouble::start(EsOptions::default()).expect("es");
    let node = Node::new();
    let f = node.container("mixed", "default", "app", 1);
    let mut bytes = Vec::new();
    bytes.extend_from_slice(docker_line("good 1", "stdout", T, false).as_bytes());
    bytes.extend_from_slice(b"this is not json at all\n");
    bytes.extend_from_slice(b"{\"log\":\"bad \xff\xfe utf8\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-22T10:00:01Z\"}\n");
    bytes.extend_from_slice(b"\n");
    bytes.extend_from_slice(b"\n");
    bytes.extend_from_slice(docker_line("good 2", "stdout", T, false).as_bytes());
    bytes.extend_from_slice(b"{\"log\": 5}\n");
    let huge = "x".repeat(3 << 20);
    bytes.extend_from_slice(huge.as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(docker_line("good 3", "stderr", T, false).as_bytes());
    f.append(&bytes);
    // A CRI file with invalid UTF-8 in its message.
    let c = node.container("cri", "default", "app", 2);
    c.append(b"2026-11-22T10:00:00.5Z stdout F caf\xe9 ok\n2026-11-22T10:00:00.6Z stdout F fine\n");

    let agent = Agent::start(node.dir.path(), &["run"], &node.agent_env(es.url()));
    assert!(
        eventually(Duration::from_secs(30), || es.stats().distinct_docs >= 9),
        "got {:?}\n{}",
        logs(&es),
        agent.stderr()
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    let docs = es.docs();
    assert_eq!(docs.len(), 9, "{:?}", logs(&es));
    let logs = logs(&es);
    for want in [
        "good 1\n",
        "good 2\n",
        "good 3\n",
        "this is not json at all",
        "{\"log\": 5}",
        "bad \u{fffd}\u{fffd} utf8\n",
        "caf\u{fffd} ok",
        "fine",
    ] {
        assert_eq!(
            logs.iter().filter(|l| l.as_str() == want).count(),
            1,
            "{want:?} in {logs:?}"
        );
    }
    let cut = docs
        .iter()
        .find(|d| d.source["logship_truncated"] == true)
        .expect("the oversized line is shipped cut and marked");
    assert_eq!(cut.source["log"].as_str().map(str::len), Some(1 << 20));
    // The bad UTF-8 line kept its own fields.
    let bad = docs
        .iter()
        .find(|d| {
            d.source["log"]
                .as_str()
                .is_some_and(|l| l.starts_with("bad"))
        })
        .expect("bad utf8");
    assert_eq!(bad.source["time"], "2026-11-22T10:00:01Z");
    // Logged once per kind, however often it happens.
    assert_eq!(log.matches("not in the file's format").count(), 1, "{log}");
    assert_eq!(log.matches("empty line skipped").count(), 1, "{log}");
}

#[test]
fn a_file_deleted_while_it_is_read_is_read_to_its_end() {
    let es = EsDouble::start(EsOptions::default()).expect("es");
    // Slow answers and a small memory bound keep the agent in the middle of the file.
    es.set_faults(Faults {
        delay_ms: 150,
        ..Faults::default()
    });
    let node = Node::new();
    let f = node.container("doomed", "default", "app", 3);
    let other = node.container("other", "default", "app", 4);
    let lines = 20_000;
    let mut text = String::new();
    for i in 0..lines {
        text.push_str(&docker_line(
            &format!("doomed {i} {}", "p".repeat(100)),
            "stdout",
            T,
            false,
        ));
    }
    f.append(text.as_bytes());
    other.append(docker_line("other 0", "stdout", T, false).as_bytes());
    let mut env = node.agent_env(es.url());
    env.push(("LOGSHIP_MEM_BUF_LIMIT", "1MiB".into()));
    env.push(("LOGSHIP_BATCH_BYTES", "128KiB".into()));
    let agent = Agent::start(node.dir.path(), &["run"], &env);
    assert!(
        eventually(Duration::from_secs(30), || es.stats().distinct_docs > 0),
        "{}",
        agent.stderr()
    );
    assert!(
        es.stats().distinct_docs < lines,
        "still in the middle of the file"
    );
    std::fs::remove_file(&f.path).expect("rm");
    std::fs::remove_file(&f.link).expect("rm link");
    other.append(docker_line("other 1", "stdout", T, false).as_bytes());
    es.set_faults(Faults::default());
    assert!(
        eventually(Duration::from_secs(60), || es.stats().distinct_docs
            >= lines + 2),
        "{} of {}\n{}",
        es.stats().distinct_docs,
        lines + 2,
        agent.stderr()
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    assert_eq!(es.stats().distinct_docs, lines + 2);
    assert_eq!(es.stats().duplicates, 0);
}

/// An agent shipping `n` lines to an Elasticsearch double that starts with `faults`.
fn ship_through(faults: Faults, n: u64) -> (EsDouble, Node, Agent) {
    let es = EsDouble::start(EsOptions::default()).expect("es");
    es.set_faults(faults);
    let node = Node::new();
    write_lines(&node, n);
    let agent = Agent::start(node.dir.path(), &["run"], &node.agent_env(es.url()));
    (es, node, agent)
}

fn write_lines(node: &Node, n: u64) {
    let f = node.container("app", "default", "app", 5);
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&docker_line(&format!("line {i}"), "stdout", T, false));
    }
    f.append(text.as_bytes());
}

#[test]
fn garbage_answers_are_retried_until_the_documents_are_in() {
    let n = 500;
    let (es, _node, agent) = ship_through(
        Faults {
            garbage_next_responses: 3,
            ..Faults::default()
        },
        n,
    );
    assert!(
        eventually(Duration::from_secs(60), || es.stats().distinct_docs >= n
            && es.stats().garbage_responses == 3),
        "{} docs\n{}",
        es.stats().distinct_docs,
        agent.stderr()
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    assert_eq!(es.stats().distinct_docs, n);
    assert_eq!(
        log.matches("unreadable _bulk response").count(),
        1,
        "rate-limited: {log}"
    );
}

#[test]
fn an_answer_one_item_short_is_not_taken_for_the_whole_request() {
    // `errors: false` with fewer items than documents: the agent cannot tell which documents
    // the answer is for, so it sends the request again (its ids make that safe).
    let n = 500;
    let (es, _node, agent) = ship_through(
        Faults {
            short_next_responses: 1,
            ..Faults::default()
        },
        n,
    );
    assert!(
        eventually(Duration::from_secs(60), || es.stats().distinct_docs >= n
            && es.stats().short_responses == 1
            && es.stats().raw_docs > n),
        "{:?}\n{}",
        es.stats(),
        agent.stderr()
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    let s = es.stats();
    assert_eq!(s.distinct_docs, n);
    // Only the request answered short went again.
    assert!(s.raw_docs - n <= n, "{s:?}");
    assert_eq!(log.matches("items for").count(), 1, "{log}");
}

#[test]
fn refused_documents_go_to_the_dead_letter_file_and_block_nothing() {
    let n = 500;
    let (es, node, agent) = ship_through(
        Faults {
            fail_item_status_next: 2,
            ..Faults::default()
        },
        n,
    );
    let dead = node.state_dir().join("dead-letter.ndjson");
    let dead_lines = || {
        std::fs::read_to_string(&dead)
            .map(|s| s.lines().count())
            .unwrap_or(0)
    };
    assert!(
        eventually(Duration::from_secs(60), || es.stats().distinct_docs
            + dead_lines() as u64
            >= n),
        "{} docs, {} dead\n{}",
        es.stats().distinct_docs,
        dead_lines(),
        agent.stderr()
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    assert_eq!(dead_lines(), 2, "the two refused documents");
    assert_eq!(es.stats().distinct_docs, n - 2);
    let text = std::fs::read_to_string(&dead).expect("dead letters");
    for l in text.lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("json");
        assert_eq!(v["status"], 400);
        assert!(
            v["reason"].to_string().contains("mapper_parsing_exception"),
            "{v}"
        );
        assert!(v["document"]["log"]
            .as_str()
            .is_some_and(|s| s.starts_with("line ")));
    }
    assert!(log.contains("dead-letter"), "{log}");
}
