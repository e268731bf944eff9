//! The driver end to end on the `small` case, against the bundled stand-in agent.

use logship_testkit::bench::{self, BenchOptions};
use std::path::PathBuf;
use std::time::Duration;

fn standin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_bench-standin-agent"))
}

fn small(work: &std::path::Path, agent: PathBuf) -> BenchOptions {
    let spec = bench::case_spec("small").unwrap();
    let mut o = BenchOptions::new("small", spec, agent, work.to_path_buf());
    o.verbose = false;
    // The stand-in adds no pod metadata.
    o.kube = false;
    o.settle = Duration::from_millis(100);
    o
}

#[test]
fn small_case_end_to_end() {
    let t = tempfile::tempdir().unwrap();
    let mut o = small(t.path(), standin());
    o.verify = true;
    let r = bench::run(&o).unwrap();
    assert_eq!(r.status, "ok", "{}", r.line());
    assert_eq!(
        (r.files, r.records, r.docs, r.docs_final, r.duplicates),
        (10, 20_000, 20_000, 20_000, 0)
    );
    assert_eq!(r.sink_distinct_ids, Some(20_000));
    assert_eq!(r.exit_code, Some(0));
    assert!(r.wall_s > 0.0 && r.records_per_s > 0.0 && r.cpu_s > 0.0 && r.peak_rss_mib > 0.0);
    assert!(
        (4_000_000..5_000_000).contains(&r.input_bytes),
        "{} bytes",
        r.input_bytes
    );
    assert_eq!(
        r.sink_indices.keys().collect::<Vec<_>>(),
        vec!["logstash-2026.11.22"]
    );
    let line = r.line();
    assert!(
        line.starts_with("small docker files=10 lines=20000 bytes=4."),
        "{line}"
    );
    assert!(r.run_dir.is_none(), "removed on success");

    // The second run reuses the cached workload; gzip bodies are inflated and counted.
    let workloads = std::fs::read_dir(t.path().join("w")).unwrap().count();
    let mut o = small(t.path(), standin());
    o.extra_env.push(("STANDIN_GZIP".into(), "1".into()));
    o.keep = true;
    let r2 = bench::run(&o).unwrap();
    assert_eq!((r2.status.as_str(), r2.docs), ("ok", 20_000));
    assert!(r2.sink_wire_bytes < r2.sink_body_bytes / 2);
    assert_eq!(
        std::fs::read_dir(t.path().join("w")).unwrap().count(),
        workloads
    );
    let kept = PathBuf::from(r2.run_dir.unwrap());
    assert!(kept.join("agent.log").is_file() && kept.join("state").is_dir());
    let sample = std::fs::read_to_string(kept.join("sink-sample.ndjson")).unwrap();
    assert!(sample.starts_with("{\"index\""));
}

#[test]
fn missing_records_and_early_exit_are_reported() {
    let t = tempfile::tempdir().unwrap();
    let mut o = small(t.path(), standin());
    o.extra_env.push(("STANDIN_SKIP".into(), "3".into()));
    // Long enough for a loaded debug build to ship the rest; the stall clock starts at spawn.
    o.stall = Duration::from_secs(3);
    let r = bench::run(&o).unwrap();
    assert_eq!((r.status.as_str(), r.docs), ("stalled", 19_997));
    assert!(r.run_dir.is_some(), "kept for inspection");

    // An agent that dies at once (the contract's env is ignored by `false`).
    let r = bench::run(&small(t.path(), PathBuf::from("/bin/false"))).unwrap();
    assert_eq!((r.status.as_str(), r.exit_code), ("agent-exited", Some(1)));

    let missing = small(t.path(), t.path().join("no-such-agent"));
    assert!(bench::run(&missing).is_err());
}

#[test]
fn repeated_runs_take_turns_and_end_with_the_medians() {
    let t = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_logship-bench"))
        .args(["--agent", "standin", "--case", "small", "--runs", "2", "-q"])
        .arg("--work-dir")
        .arg(t.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    for run in &lines[..2] {
        assert!(
            run.starts_with("small docker files=10 lines=20000 "),
            "{run}"
        );
    }
    assert!(
        lines[2].starts_with("small median of 2 runs: lines/s="),
        "{}",
        lines[2]
    );
    // No comparison without its cases.
    assert!(!stdout.contains("against"), "{stdout}");
    // Zero runs is not a number of runs.
    let zero = std::process::Command::new(env!("CARGO_BIN_EXE_logship-bench"))
        .args(["--agent", "standin", "--case", "small", "--runs", "0"])
        .output()
        .unwrap();
    assert_eq!(zero.status.code(), Some(2));
}
