//! How the agent learns that files changed (inotify), end to end: when the kernel's event queue
//! overflows and events are lost, the agent reads every file instead of waiting for its next
//! rescan, so that a write whose event was dropped is still shipped at once.

mod common;

use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::time::Duration;

use common::*;
use logship_testkit::es::{EsDouble, EsOptions};

const T: &str = "2026-11-22T10:00:00.000000001Z";

/// Pauses a process (SIGSTOP) until the guard is dropped (SIGCONT), so that nothing reads its
/// inotify queue meanwhile.
struct Paused(i32);

impl Paused {
    fn new(pid: i32) -> Paused {
        // SAFETY: a signal to a child this test started and still owns.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGSTOP) }, 0);
        Paused(pid)
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { libc::kill(self.0, libc::SIGCONT) };
    }
}

#[test]
fn a_write_whose_event_the_full_queue_dropped_is_still_read() {
    let es = EsDouble::start(EsOptions::default()).expect("es");
    let node = Node::new();
    let a = node.container("busy-a", "default", "app", 1);
    let b = node.container("busy-b", "default", "app", 2);
    let quiet = node.container("quiet", "default", "app", 3);
    for (f, name) in [(&a, "a"), (&b, "b"), (&quiet, "quiet")] {
        f.append(docker_line(&format!("{name} first"), "stdout", T, false).as_bytes());
    }
    // A rescan 10 hours away: only inotify, or its overflow, can bring the quiet file's line.
    let env = with_env(node.agent_env(es.url()), "LOGSHIP_REFRESH_INTERVAL", "1h");
    let agent = Agent::start(node.dir.path(), &["run"], &env);
    assert!(
        es.wait_for_docs(3, Duration::from_secs(30)),
        "{}",
        agent.stderr()
    );

    // More events than the queue holds, alternating between two files so that the kernel
    // cannot merge them, then one write to the third file, whose event is lost.
    let max_queued: u32 = std::fs::read_to_string("/proc/sys/fs/inotify/max_queued_events")
        .expect("inotify's queue size")
        .trim()
        .parse()
        .expect("a number");
    let busy_lines = max_queued as usize + 100;
    {
        let _paused = Paused::new(agent.pid());
        let open = |f: &LogFile| OpenOptions::new().append(true).open(&f.path).expect("open");
        let (mut fa, mut fb) = (open(&a), open(&b));
        for i in 0..busy_lines {
            let (f, name) = if i % 2 == 0 {
                (&mut fa, "a")
            } else {
                (&mut fb, "b")
            };
            f.write_all(docker_line(&format!("{name} {i}"), "stdout", T, false).as_bytes())
                .expect("write");
        }
        quiet.append(docker_line("quiet second", "stdout", T, false).as_bytes());
    }

    let total = 3 + busy_lines + 1;
    assert!(
        es.wait_for_docs(total, Duration::from_secs(60)),
        "{} of {total} documents\n{}",
        es.stats().distinct_docs,
        agent.stderr()
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    let stats = es.stats();
    assert_eq!(
        (stats.distinct_docs, stats.raw_docs),
        (total as u64, total as u64)
    );
    let mut seen: HashMap<String, u64> = HashMap::new();
    for d in es.docs() {
        let log = d.source["log"].as_str().unwrap_or_default().trim_end();
        *seen.entry(log.to_owned()).or_default() += 1;
    }
    assert_eq!(
        seen.get("quiet second"),
        Some(&1),
        "the line whose event was lost"
    );
}
