//! The journald input when journalctl is missing, fails or dies, and when the input is off:
//! the other inputs ship as usual, the problem is in the log and the metrics, and journalctl is
//! started again from the last entry read.

use std::path::Path;

use super::*;

/// The time of the container log lines.
const T: &str = "2026-11-27T09:00:00.000000001Z";

/// The pids of the agent's children named `comm`.
fn children(agent: &Agent, comm: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...
        let Some((head, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let ppid: i32 = rest
            .split(' ')
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        if ppid == agent.pid() && head.ends_with(&format!("({comm}")) {
            pids.extend(head.split(' ').next().and_then(|p| p.parse::<i32>().ok()));
        }
    }
    pids
}

#[test]
fn a_journalctl_that_dies_is_started_again_after_the_last_entry_read() {
    let es = EsDouble::start(EsOptions::default()).expect("es");
    let node = Node::new();
    let journal = Journal::new(&node.dir.path().join("journal"));
    let units = ["docker.service", "kubelet.service"];
    let mut all = node_entries("k", 200, 0);
    journal.write("system", &all);
    let agent = Agent::start(node.dir.path(), &["run"], &env(&node, &es, &journal));
    assert!(es.wait_for_docs(160, WAIT), "{}", agent.stderr());
    let pids = children(&agent, "journalctl");
    assert_eq!(pids.len(), 1, "one journalctl: {pids:?}");
    unsafe {
        libc::kill(pids[0], libc::SIGKILL);
    }
    assert!(
        eventually(WAIT, || metric_value(
            &agent,
            "logship_journald_errors_total{kind=\"exit\"}"
        ) == Some(1.0)),
        "{}",
        agent.stderr()
    );
    let more = node_entries("l", 100, 10_000);
    journal.write("system", &more);
    all.extend(more);
    assert!(es.wait_for_docs(240, WAIT), "{}", agent.stderr());
    assert!(
        eventually(WAIT, || metric_value(&agent, "logship_journald_running")
            == Some(1.0)),
        "{}",
        agent.stderr()
    );
    let again = children(&agent, "journalctl");
    assert!(again.len() == 1 && again != pids, "{again:?}");
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    assert!(
        log.contains("journald input: journalctl ended (signal: 9 (SIGKILL))"),
        "{log}"
    );
    assert_eq!(es.stats().raw_docs, 240, "nothing read twice");
    assert_eq!(markers(&es), expected_markers(&all, &units));
}

/// A container log file the agent must ship whatever happens to journald.
fn container_lines(node: &Node, n: usize) {
    let f = node.container("web", "default", "app", 7);
    let text: String = (0..n)
        .map(|i| docker_line(&format!("line {i}"), "stdout", T, false))
        .collect();
    f.append(text.as_bytes());
}

#[test]
fn journalctl_missing_is_reported_and_the_files_still_ship() {
    let es = EsDouble::start(EsOptions::default()).expect("es");
    let node = Node::new();
    let journal = Journal::new(&node.dir.path().join("journal"));
    journal.write("system", &node_entries("m", 10, 0));
    container_lines(&node, 200);
    let empty = node.dir.path().join("no-programs");
    std::fs::create_dir_all(&empty).unwrap();
    let mut env = env(&node, &es, &journal);
    env.push(("PATH", empty.display().to_string()));
    let agent = Agent::start(node.dir.path(), &["run"], &env);
    assert!(es.wait_for_docs(200, WAIT), "{}", agent.stderr());
    assert!(
        eventually(WAIT, || metric_value(
            &agent,
            "logship_journald_errors_total{kind=\"start\"}"
        )
        .is_some_and(|n| n >= 1.0)),
        "{}",
        agent.stderr()
    );
    assert_eq!(metric_value(&agent, "logship_journald_running"), Some(0.0));
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    assert!(
        log.contains("journald input: cannot run journalctl (not found: the image or host needs systemd's journalctl in PATH); the other inputs go on"),
        "{log}"
    );
    assert_eq!(es.stats().raw_docs, 200, "only the file's lines");
}

#[test]
fn journalctl_failing_is_reported_retried_and_the_files_still_ship() {
    let es = EsDouble::start(EsOptions::default()).expect("es");
    let node = Node::new();
    let journal = Journal {
        dir: node.dir.path().join("no-such-journal"),
    };
    container_lines(&node, 200);
    let agent = Agent::start(node.dir.path(), &["run"], &env(&node, &es, &journal));
    assert!(es.wait_for_docs(200, WAIT), "{}", agent.stderr());
    // Started again with backoff (1 s, then 2 s): a second failure within seconds.
    assert!(
        eventually(WAIT, || metric_value(
            &agent,
            "logship_journald_errors_total{kind=\"exit\"}"
        )
        .is_some_and(|n| n >= 2.0)),
        "{}",
        agent.stderr()
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    let dir = journal.dir.display();
    assert!(
        log.contains(&format!("journald input: journalctl ended (exit status: 1): Failed to open {dir}: No such file or directory")),
        "{log}"
    );
    assert_eq!(es.stats().raw_docs, 200);

    // Once the journal is there, the next start of journalctl reads it.
    let agent = Agent::start(node.dir.path(), &["run"], &env(&node, &es, &journal));
    let journal = Journal::new(&journal.dir);
    journal.write("system", &node_entries("late", 10, 0));
    assert!(es.wait_for_docs(208, WAIT), "{}", agent.stderr());
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
}

#[test]
fn journald_is_off_unless_asked_for() {
    let es = EsDouble::start(EsOptions::default()).expect("es");
    let node = Node::new();
    container_lines(&node, 50);
    // A journalctl that would leave a mark if the agent ran it.
    let bin = node.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let mark = node.dir.path().join("journalctl-ran");
    let fake = bin.join("journalctl");
    std::fs::write(
        &fake,
        format!("#!/bin/sh\ntouch '{}'\nsleep 60\n", mark.display()),
    )
    .unwrap();
    set_executable(&fake);
    let env = vec![
        ("ES_SERVER", es.url()),
        ("LOGSHIP_INPUT_GLOB", node.glob()),
        ("LOGSHIP_STATE_DIR", node.state_dir().display().to_string()),
        ("LOGSHIP_FLUSH_INTERVAL", "100ms".into()),
        ("PATH", format!("{}:/usr/bin:/bin", bin.display())),
    ];
    let agent = Agent::start(node.dir.path(), &["run"], &env);
    assert!(es.wait_for_docs(50, WAIT), "{}", agent.stderr());
    let addr = http_addr(&agent).expect("address");
    let (_, text) = http_get(&addr, "/metrics");
    assert!(!text.contains("journald"), "{text}");
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    assert!(!mark.exists(), "journalctl was started");

    let out = std::process::Command::new(BIN)
        .arg("check-config")
        .env_clear()
        .env("LOGSHIP_OUTPUT", "stdout")
        .output()
        .expect("check-config");
    let plan = String::from_utf8_lossy(&out.stdout);
    assert!(
        plan.contains("journald: off (LOGSHIP_JOURNALD=false)\n"),
        "{plan}"
    );
}

fn set_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}
