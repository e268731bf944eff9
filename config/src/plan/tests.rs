//! The plan `check-config` prints.

use crate::tests::{env_of, toml_file};
use crate::{load, SettingsArgs};

#[test]
fn plan_for_es_server_with_password() {
    let file = toml_file("keep_log_days = 7\n");
    let env = env_of(&[
        (
            "ES_SERVER",
            "https://elastic:hunter2@es.example.com:9243/logs",
        ),
        ("ELK_SERVICE_HOSTS", ""),
        ("FLUENT_FORWARD_SERVER", "fluentd:24224"),
        ("NODE_NAME", "worker-1"),
    ]);
    let args = SettingsArgs {
        config: Some(file.path().into()),
        retry_limit: Some("5".into()),
        ..Default::default()
    };
    let text = load(&args, &env).unwrap().plan_text();
    let expected = format!(
        "config file: {path}
output: elasticsearch
elasticsearch: the user's Elasticsearch (ES_SERVER)
  endpoint: https://elastic:***@es.example.com:9243/logs
  auth: basic, user and password from the endpoint URL (***)
  tls: server verified against the system roots
  logs, metrics and retention all go to this Elasticsearch
forward: fluentd:24224 (FLUENT_FORWARD_SERVER, in addition)
  acks: yes; compression: none; shared key: none; timeout: 30s
  tls: off (LOGSHIP_FORWARD_TLS=false)
  spool: /var/lib/logship/forward-spool, up to 256MiB (beyond, the oldest forward-only records are dropped)
inputs: /var/log/containers/*.log
  new files read from: head; rescan every 1s; exit at end of files: no
  longest record: 1MiB; memory buffer per input: 32MiB
forward input: 0.0.0.0:24224 (fluent forward protocol; acks once the outputs have the records)
journald: off (LOGSHIP_JOURNALD=false)
records: merge JSON log: yes; replace dots in keys: yes; deterministic _id: yes
batches: up to 2MiB or every 1s; 2 in flight; retries: up to 5
retention: keep 7 days of logstash-* and heapster-* indices
state dir: /var/lib/logship
http: 0.0.0.0:2020 (/metrics, /healthz, /readyz)
own log: warn (KUBE_LOG_LEVEL=0)
node: worker-1
kubernetes metadata: pods of node worker-1, from the API (in-cluster service account)
  unknown pods waited for: 2s; labels: yes; annotations: yes; deleted pods kept: 1m
kubelet metrics: off (neither NODE_IP nor LOGSHIP_KUBELET_URL set)
set by env: ES_SERVER, FLUENT_FORWARD_SERVER, NODE_NAME
set by file {path}: keep_log_days
set by flags: --retry-limit
",
        path = file.path().display()
    );
    assert_eq!(text, expected);
    assert!(!text.contains("hunter2"));
}

#[test]
fn plan_for_in_cluster_with_conflicts_and_for_stdout() {
    let env = env_of(&[
        ("LOG_NODE_COUNT", "3"),
        ("ELK_SERVICE_HOSTS", "elk-a:9200,elk-b:9200"),
        ("KEEP_LOG_DAYS", "0"),
    ]);
    let text = load(&SettingsArgs::default(), &env).unwrap().plan_text();
    for line in [
        "elasticsearch: the in-cluster ES (LOG_NODE_COUNT > 0, IN_CLUSTER_ES)\n",
        "  endpoint: http://elasticsearch-logging.kube-system:9200\n",
        "  ELK_SERVICE_HOSTS=http://elk-a:9200,http://elk-b:9200 ignored: LOG_NODE_COUNT=3 > 0 selects the in-cluster ES\n",
        "retention: off (KEEP_LOG_DAYS=0, never delete)\n",
        "forward: none\n",
        "config file: none\n",
    ] {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }

    let args = SettingsArgs {
        output: Some("file:/tmp/docs.ndjson".into()),
        input_glob: Some("/a/*.log,/b/*.log".into()),
        ..Default::default()
    };
    let text = load(&args, &env_of(&[("ELK_SERVICE_HOSTS", "elk-a:9200")]))
        .unwrap()
        .plan_text();
    for line in [
        "output: file:/tmp/docs.ndjson (the ES documents as NDJSON; no Elasticsearch)\n",
        "elasticsearch: not used (LOGSHIP_OUTPUT=file:/tmp/docs.ndjson)\n",
        "inputs: /a/*.log, /b/*.log\n",
        "retention: none (no Elasticsearch)\n",
        "set by flags: --input-glob, --output\n",
    ] {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }
}

#[test]
fn plan_for_kubernetes_metadata() {
    let plan = |vars: &[(&str, &str)]| {
        let mut vars = vars.to_vec();
        vars.push(("LOGSHIP_OUTPUT", "stdout"));
        load(&SettingsArgs::default(), &env_of(&vars))
            .unwrap()
            .plan_text()
    };
    let text = plan(&[
        ("NODE_NAME", "n1"),
        ("LOGSHIP_KUBECONFIG", "/dev/kubeconfig"),
        ("LOGSHIP_KUBE_WAIT", "500ms"),
        ("LOGSHIP_KUBE_ANNOTATIONS", "false"),
        ("LOGSHIP_KUBE_DELETE_DELAY", "90s"),
    ]);
    assert!(
        text.contains(
            "kubernetes metadata: pods of node n1, from the API of kubeconfig /dev/kubeconfig\n  \
             unknown pods waited for: 500ms; labels: yes; annotations: no; deleted pods kept: 90s\n"
        ),
        "{text}"
    );
    assert!(
        plan(&[]).contains(
            "kubernetes metadata: off (NODE_NAME not set); pod fields from file names only\n"
        ),
        "{text}"
    );
    assert!(plan(&[("NODE_NAME", "n1"), ("LOGSHIP_KUBE_METADATA", "off")])
        .contains("kubernetes metadata: off (LOGSHIP_KUBE_METADATA=false); pod fields from file names only\n"));
}

#[test]
fn plan_for_the_forward_protocol_never_shows_the_key() {
    let env = env_of(&[
        ("LOGSHIP_OUTPUT", "stdout"),
        ("FLUENT_FORWARD_SERVER", "fluentd:24224"),
        ("LOGSHIP_FORWARD_SHARED_KEY", "hunter2"),
        ("LOGSHIP_FORWARD_ACK", "false"),
        ("LOGSHIP_FORWARD_COMPRESS", "gzip"),
        ("LOGSHIP_FORWARD_SPOOL_LIMIT", "1GiB"),
        ("LOGSHIP_FORWARD_LISTEN", "off"),
        ("LOGSHIP_STATE_DIR", "/s"),
    ]);
    let settings = load(&SettingsArgs::default(), &env).unwrap();
    let text = settings.plan_text();
    for line in [
        "  acks: no; compression: gzip; shared key: set (***); timeout: 30s\n",
        "  tls: off (LOGSHIP_FORWARD_TLS=false)\n",
        "  spool: /s/forward-spool, up to 1GiB (beyond, the oldest forward-only records are dropped)\n",
        "forward input: off\n",
    ] {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!format!("{settings:?}").contains("hunter2"));
}

#[test]
fn plan_for_elasticsearch_security_never_shows_a_secret() {
    let text = |vars: &[(&str, &str)]| {
        let settings = load(&SettingsArgs::default(), &env_of(vars)).unwrap();
        (settings.plan_text(), format!("{settings:?}"))
    };
    let (plan, debug) = text(&[
        ("ES_SERVER", "https://es.example:9243"),
        ("LOGSHIP_ES_USERNAME", "logship"),
        ("LOGSHIP_ES_PASSWORD", "hunter2"),
        ("LOGSHIP_ES_CA_FILE", "/secrets/ca.pem"),
    ]);
    assert!(
        plan.contains("  auth: basic, user logship, password ***\n"),
        "{plan}"
    );
    assert!(
        plan.contains("  tls: server verified against the system roots and /secrets/ca.pem\n"),
        "{plan}"
    );
    assert!(!plan.contains("hunter2") && !debug.contains("hunter2"));

    let (plan, debug) = text(&[
        ("ES_SERVER", "https://es.example:9243"),
        ("LOGSHIP_ES_API_KEY", "c2VjcmV0a2V5"),
        ("LOGSHIP_ES_INSECURE_SKIP_VERIFY", "true"),
    ]);
    assert!(
        plan.contains("  auth: API key (LOGSHIP_ES_API_KEY, ***)\n"),
        "{plan}"
    );
    assert!(plan.contains("NOT verified"), "{plan}");
    assert!(!plan.contains("c2VjcmV0a2V5") && !debug.contains("c2VjcmV0a2V5"));

    let (plan, _) = text(&[("ES_SERVER", "https://elastic:pa55@es.example:9243")]);
    assert!(
        plan.contains("  auth: basic, user and password from the endpoint URL (***)\n"),
        "{plan}"
    );
    assert!(!plan.contains("pa55"), "{plan}");

    let (plan, _) = text(&[("ES_SERVER", "es.example:9200")]);
    assert!(plan.contains("  auth: none\n"), "{plan}");
    assert!(!plan.contains("  tls:"), "{plan}");
}

#[test]
fn plan_for_journald() {
    let env = env_of(&[
        ("ES_SERVER", "es:9200"),
        ("LOGSHIP_JOURNALD", "true"),
        ("LOGSHIP_JOURNALD_UNITS", "kubelet,containerd.service"),
        ("LOGSHIP_JOURNAL_DIR", "/host/journal"),
    ]);
    let text = load(&SettingsArgs::default(), &env).unwrap().plan_text();
    let expected = "journald: units kubelet.service, containerd.service from the journal in /host/journal, through journalctl; tag host.<unit>
  first start reads the oldest entry (LOGSHIP_READ_FROM=head); later starts go on after the saved cursor
";
    assert!(text.contains(expected), "{text}");

    let env = env_of(&[
        ("LOGSHIP_OUTPUT", "stdout"),
        ("LOGSHIP_JOURNALD", "on"),
        ("LOGSHIP_READ_FROM", "tail"),
    ]);
    let text = load(&SettingsArgs::default(), &env).unwrap().plan_text();
    let expected = "journald: units docker.service, kubelet.service from the system journal, through journalctl; tag host.<unit>
  first start reads new entries only (LOGSHIP_READ_FROM=tail); no cursor is saved without Elasticsearch
";
    assert!(text.contains(expected), "{text}");
}
