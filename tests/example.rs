//! The README's first command: the agent on the bundled example logs, printing documents.

mod common;

use std::collections::HashMap;
use std::process::Command;

use serde_json::Value;

#[test]
fn the_example_prints_every_record_of_the_bundled_logs() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new(common::BIN)
        .args(["run", "--config", "examples/logship.toml"])
        .current_dir(root)
        .env_clear()
        .output()
        .expect("run logship");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON document"))
        .collect();
    // 37 physical lines: the Docker big line is 3 pieces, the CRI one P,P,F: 33 records.
    assert_eq!(docs.len(), 33);
    let mut per_pod: HashMap<String, usize> = HashMap::new();
    for d in &docs {
        let pod = d["kubernetes"]["pod_name"]
            .as_str()
            .unwrap_or("(none)")
            .to_owned();
        *per_pod.entry(pod).or_default() += 1;
    }
    assert_eq!(per_pod["json-logs"], 1);
    assert_eq!(per_pod["big-line-writer-5c9f7d8b6-q7w2e"], 4);
    assert_eq!(per_pod["cri-demo-7c6d5b4f9-k8s2x"], 10);
    assert_eq!(per_pod["alertmanager-main-0"], 5);
    assert_eq!(per_pod["escapes-demo-6b7c9d5f4-x2x9q"], 11);
    assert_eq!(per_pod["apache-logs"], 1);
    assert!(!per_pod.contains_key("(none)"));
    // The split line is one record, joined in order.
    let big = docs
        .iter()
        .find(|d| {
            d["log"].as_str().is_some_and(|l| l.starts_with("BEGIN-"))
                && d["stream"] == "stdout"
                && d["kubernetes"]["container_name"] == "writer"
        })
        .expect("joined Docker line");
    let log = big["log"].as_str().expect("str");
    assert_eq!(log.len(), 40001, "40000 bytes and the newline");
    assert!(log.ends_with("-END\n"));
    let cri = docs
        .iter()
        .find(|d| {
            d["log"].as_str().is_some_and(|l| l.starts_with("BEGIN-"))
                && d["kubernetes"]["pod_name"] == "cri-demo-7c6d5b4f9-k8s2x"
        })
        .expect("joined CRI line");
    assert_eq!(cri["log"].as_str().map(str::len), Some(40000));
    assert_eq!(cri["log"].as_str().map(|l| l.ends_with("-END")), Some(true));
    // Whole-line JSON is merged; broken JSON is not.
    let merged = docs
        .iter()
        .find(|d| d["kubernetes"]["pod_name"] == "json-logs")
        .expect("json-logs");
    assert_eq!(merged["message_id"], 1);
    assert_eq!(merged["word"], "eagers");
    let broken = docs
        .iter()
        .find(|d| d["kubernetes"]["pod_name"] == "json-logs-invalid")
        .expect("invalid");
    assert!(broken.get("message_id").is_none());
}
