//! The kubelet metrics settings: when the source is on, where it reads, how it checks TLS.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::tests::{load_env, messages};

#[test]
fn off_without_a_kubelet_and_on_with_the_node_ip() {
    let s = load_env(&[("LOGSHIP_OUTPUT", "stdout")]).unwrap();
    assert!(s.kubelet_metrics);
    assert_eq!(
        s.kubelet_metrics_url(),
        None,
        "a laptop run reads no kubelet"
    );
    assert_eq!(s.metrics_interval, Duration::from_secs(60));
    assert_eq!(s.cluster_name, "default");
    assert_eq!(
        s.kubelet_token_file,
        Path::new("/var/run/secrets/kubernetes.io/serviceaccount/token")
    );
    assert!(s.kubelet_insecure_skip_verify);
    assert_eq!(s.kubelet_ca(), None);
    assert!(s
        .plan_text()
        .contains("kubelet metrics: off (neither NODE_IP nor LOGSHIP_KUBELET_URL set)"));

    let s = load_env(&[("LOGSHIP_OUTPUT", "stdout"), ("NODE_IP", "10.0.0.5")]).unwrap();
    assert_eq!(
        s.kubelet_metrics_url().as_deref(),
        Some("https://10.0.0.5:10250")
    );
    assert!(s.plan_text().contains(
        "kubelet metrics: https://10.0.0.5:10250/stats/summary every 1m to heapster-{cpu,memory,network,filesystem}-YYYY.MM.DD, cluster_name default"
    ), "{}", s.plan_text());
    let v6 = load_env(&[("LOGSHIP_OUTPUT", "stdout"), ("NODE_IP", "fd00::5")]).unwrap();
    assert_eq!(
        v6.kubelet_metrics_url().as_deref(),
        Some("https://[fd00::5]:10250")
    );
    let url = load_env(&[
        ("LOGSHIP_OUTPUT", "stdout"),
        ("NODE_IP", "10.0.0.5"),
        ("LOGSHIP_KUBELET_URL", "http://127.0.0.1:10255/"),
        ("LOGSHIP_METRICS_INTERVAL", "15s"),
        ("LOGSHIP_CLUSTER_NAME", "prod"),
    ])
    .unwrap();
    assert_eq!(
        url.kubelet_metrics_url().as_deref(),
        Some("http://127.0.0.1:10255")
    );
    assert_eq!(url.metrics_interval, Duration::from_secs(15));
    assert_eq!(url.cluster_name, "prod");
    let off = load_env(&[
        ("LOGSHIP_OUTPUT", "stdout"),
        ("NODE_IP", "10.0.0.5"),
        ("LOGSHIP_KUBELET_METRICS", "false"),
    ])
    .unwrap();
    assert_eq!(off.kubelet_metrics_url(), None);
    assert!(off
        .plan_text()
        .contains("kubelet metrics: off (LOGSHIP_KUBELET_METRICS=false)"));
}

#[test]
fn bad_values_name_the_setting() {
    let errors = messages(load_env(&[
        ("LOGSHIP_OUTPUT", "stdout"),
        ("LOGSHIP_METRICS_INTERVAL", "500ms"),
        ("NODE_IP", "node-1"),
        ("LOGSHIP_KUBELET_URL", "10.0.0.5:10250"),
    ]));
    assert_eq!(
        errors,
        [
            "LOGSHIP_METRICS_INTERVAL: \"500ms\" is out of range: expected a duration from 1s to 1h",
            "NODE_IP: \"node-1\" is not an IP address: expected this node's IP, e.g. 10.0.0.5 (the downward API's status.hostIP)",
            "LOGSHIP_KUBELET_URL: \"10.0.0.5:10250\" is not a URL: expected an http:// or https:// URL such as https://10.0.0.5:10250",
        ]
    );
    let errors = messages(load_env(&[
        ("LOGSHIP_OUTPUT", "stdout"),
        ("LOGSHIP_KUBELET_URL", "https://user@10.0.0.5:10250/?x=1"),
    ]));
    assert!(errors[0].contains("is not a usable URL"), "{errors:?}");
}

#[test]
fn a_ca_file_means_verification() {
    let s = load_env(&[
        ("LOGSHIP_OUTPUT", "stdout"),
        ("LOGSHIP_KUBELET_CA_FILE", "/etc/kubelet-ca.pem"),
    ])
    .unwrap();
    assert!(!s.kubelet_insecure_skip_verify);
    assert_eq!(s.kubelet_ca(), Some(PathBuf::from("/etc/kubelet-ca.pem")));
    let errors = messages(load_env(&[
        ("LOGSHIP_OUTPUT", "stdout"),
        ("LOGSHIP_KUBELET_CA_FILE", "/etc/kubelet-ca.pem"),
        ("LOGSHIP_KUBELET_INSECURE_SKIP_VERIFY", "true"),
    ]));
    assert_eq!(
        errors,
        ["LOGSHIP_KUBELET_INSECURE_SKIP_VERIFY: \"true\" with LOGSHIP_KUBELET_CA_FILE set: expected false, to verify the kubelet's certificate against that CA"]
    );
    let sa = load_env(&[
        ("LOGSHIP_OUTPUT", "stdout"),
        ("LOGSHIP_KUBELET_INSECURE_SKIP_VERIFY", "false"),
    ])
    .unwrap();
    assert_eq!(
        sa.kubelet_ca(),
        Some(PathBuf::from(
            "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
        ))
    );
}
