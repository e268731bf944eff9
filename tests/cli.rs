//! The command line as a user meets it: `check-config` prints the plan or every error, and a bad
//! setting stops `run` before anything starts.

mod common;

use std::process::Command;

use common::BIN;

fn logship(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_clear();
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run logship");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_config_prints_the_plan() {
    let (code, out, err) = logship(
        &["check-config"],
        &[("LOG_NODE_COUNT", "2"), ("ES_SERVER", "es.example:9201")],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("elasticsearch-logging.kube-system:9200"),
        "{out}"
    );
    assert!(
        out.contains("ES_SERVER"),
        "the ignored setting is named: {out}"
    );
    assert!(out.contains("/var/log/containers/*.log"), "{out}");
}

#[test]
fn check_config_reports_every_error_and_exits_2() {
    let (code, out, err) = logship(
        &["check-config"],
        &[
            ("ES_SERVER", "es:99999"),
            ("KEEP_LOG_DAYS", "31"),
            ("KUBE_LOG_LEVEL", "loud"),
        ],
    );
    assert_eq!(code, 2, "{out}");
    assert!(err.contains("ES_SERVER") && err.contains("99999"), "{err}");
    assert!(
        err.contains("KEEP_LOG_DAYS") && err.contains("\"31\"") && err.contains("0 to 30"),
        "{err}"
    );
    assert!(
        err.contains("KUBE_LOG_LEVEL") && err.contains("loud"),
        "{err}"
    );
}

#[test]
fn no_destination_is_the_original_error_101() {
    let (code, _, err) = logship(&["check-config"], &[]);
    assert_eq!(code, 2);
    assert!(err.contains("101"), "{err}");
    assert!(
        err.contains("ES_SERVER") && err.contains("LOG_NODE_COUNT"),
        "{err}"
    );
}

#[test]
fn run_refuses_bad_settings_before_starting() {
    let (code, out, err) = logship(
        &["run"],
        &[("ES_SERVER", "es:0"), ("LOGSHIP_BATCH_BYTES", "lots")],
    );
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("ES_SERVER") && err.contains("LOGSHIP_BATCH_BYTES"),
        "{err}"
    );
}

#[test]
fn flags_beat_the_file_which_beats_the_environment() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("logship.toml");
    std::fs::write(&file, "es_server = \"from-file:9200\"\nkeep_log_days = 7\n").expect("write");
    let (code, out, err) = logship(
        &[
            "check-config",
            "--config",
            file.to_str().expect("utf8"),
            "--keep-log-days",
            "9",
        ],
        &[("ES_SERVER", "from-env:9200"), ("KEEP_LOG_DAYS", "5")],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("from-file:9200") && !out.contains("from-env"),
        "{out}"
    );
    assert!(out.contains('9'), "{out}");
}

#[test]
fn the_agent_log_can_be_json() {
    let dir = tempfile::tempdir().expect("tmp");
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).expect("mkdir");
    std::fs::write(
        logs.join("a.log"),
        "{\"log\":\"x\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-22T01:02:03Z\"}\n",
    )
    .expect("write");
    let glob = format!("{}/*.log", logs.display());
    let (code, out, err) = logship(
        &[
            "run",
            "--output",
            "stdout",
            "--exit-on-eof",
            "--input-glob",
            &glob,
        ],
        &[
            ("LOGSHIP_LOG_FORMAT", "json"),
            ("KUBE_LOG_LEVEL", "1"),
            ("LOGSHIP_HTTP_ADDR", "127.0.0.1:0"),
            ("LOGSHIP_FORWARD_LISTEN", "off"),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    let lines: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "INFO" && l["fields"]["message"] == "logship stopped"),
        "{err}"
    );
}
