//! Kubelet metrics: the real summaries of `testkit/fixtures/kubelet/` become heapster's
//! documents, exactly those of the golden file `tests/data/kubelet/heapster-documents.ndjson`
//! (two samples: the fixture, then `advance(fixture, 60)`, so rates are exact); and end to
//! end, the real binary reads them from the kubelet double (HTTPS, bearer token) and ships
//! exactly those documents to `heapster-<family>-2026.06.26` on the ES double, while a kubelet
//! that is down, refuses the token or answers garbage is counted and retried, and never holds
//! the container logs back.
//!
//! The golden file is compared byte for byte. After a deliberate change of the documents,
//! regenerate it with `LOGSHIP_UPDATE_GOLDEN=1 cargo test --test kubelet_metrics` and review
//! the diff; without that variable a difference fails the test.

mod common;
mod kube_harness;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use common::*;
use k8s_openapi::api::core::v1::Node;
use kube_harness::*;
use logship_collector::kube::{ListedPod, MetaOptions, PodMeta};
use logship_collector::kubelet_stats::{NodeInfo, Sample, Sampler, Summary};
use logship_testkit::kube::{fixtures, KubeApiOptions};
use logship_testkit::kubelet::{self, KubeletDouble, KubeletFault, KubeletOptions};
use logship_testkit::tls::TestPki;
use serde_json::Value;

const SUMMARY: &str = include_str!("../testkit/fixtures/kubelet/stats-summary.json");
const GOLDEN: &str = "tests/data/kubelet/heapster-documents.ndjson";
const TOKEN: &str = "kubelet-test-token";

fn samples() -> [String; 2] {
    [
        SUMMARY.to_owned(),
        kubelet::advance(SUMMARY, 60).expect("advance the fixture"),
    ]
}

/// The documents of both samples, as the metrics source makes them with the node object and
/// the pod metadata the API double serves in the end-to-end tests.
fn documents() -> Vec<String> {
    let node: Node = serde_json::from_value(fixtures::node()).unwrap();
    let info = NodeInfo::from_node(&node);
    let pods: BTreeMap<(String, String), Arc<PodMeta>> = fixtures::podlist_items()
        .into_iter()
        .map(|p| {
            let pod: ListedPod = serde_json::from_value(p).unwrap();
            let meta = PodMeta::from_pod(&pod, MetaOptions::default()).unwrap();
            (
                (meta.namespace().to_string(), meta.name().to_string()),
                Arc::new(meta),
            )
        })
        .collect();
    let lookup = |ns: &str, name: &str| pods.get(&(ns.to_owned(), name.to_owned())).cloned();
    let mut sampler = Sampler::new("default");
    let mut out = Vec::new();
    for s in samples() {
        let summary = Summary::parse(s.as_bytes()).unwrap();
        match sampler.sample(&summary, Some(&info), &lookup) {
            Sample::Documents(docs) => out.extend(docs.into_iter().map(|d| d.json)),
            Sample::Unchanged => panic!("the second sample is later"),
        }
    }
    out
}

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(GOLDEN)
}

fn golden() -> Vec<String> {
    std::fs::read_to_string(golden_path())
        .expect("read the golden file")
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn documents_equal_the_golden_file() {
    let docs = documents();
    let text: String = docs.iter().map(|d| format!("{d}\n")).collect();
    if std::env::var_os("LOGSHIP_UPDATE_GOLDEN").is_some() {
        std::fs::write(golden_path(), &text).unwrap();
        eprintln!("wrote {} documents to {GOLDEN}", docs.len());
        return;
    }
    let want = golden();
    for (i, (got, want)) in docs.iter().zip(&want).enumerate() {
        assert_eq!(
            got,
            want,
            "document {} of {GOLDEN} differs (LOGSHIP_UPDATE_GOLDEN=1 regenerates it)",
            i + 1
        );
    }
    assert_eq!(docs.len(), want.len(), "documents in {GOLDEN}");
}

/// The document of `family` whose tags have these values.
fn find<'a>(docs: &'a [Value], family: &str, tags: &[(&str, &str)]) -> Vec<&'a Value> {
    docs.iter()
        .filter(|d| {
            d.get(format!("{}MetricsTimestamp", title(family)))
                .is_some()
        })
        .filter(|d| tags.iter().all(|(k, v)| d["MetricsTags"][*k] == *v))
        .collect()
}

fn title(family: &str) -> String {
    let mut c = family.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

fn value<'a>(doc: &'a Value, name: &str) -> &'a Value {
    &doc["Metrics"][name]["value"]
}

#[test]
fn two_samples_give_exact_rates_and_the_first_none() {
    let docs: Vec<Value> = documents()
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let node_cpu = find(&docs, "cpu", &[("type", "node")]);
    assert_eq!(node_cpu.len(), 2, "one per sample");
    let (first, second) = (node_cpu[0], node_cpu[1]);
    assert_eq!(first["CpuMetricsTimestamp"], "2026-06-26T10:14:35Z");
    assert_eq!(second["CpuMetricsTimestamp"], "2026-06-26T10:15:35Z");
    assert!(
        value(first, "cpu/usage_rate").is_null(),
        "no rate from one sample"
    );
    assert!(value(first, "cpu/node_utilization").is_null());
    // usageNanoCores 573081903 for 60 s: 573 millicores (truncated, as heapster), of 14 CPUs.
    assert_eq!(value(second, "cpu/usage_rate"), 573);
    assert_eq!(value(second, "cpu/usage"), 62148052000u64 + 573081903 * 60);
    assert_eq!(
        value(second, "cpu/node_utilization").as_f64(),
        Some(573.0 / 14000.0)
    );
    assert_eq!(value(second, "cpu/node_capacity").as_f64(), Some(14000.0));
    let mem = find(&docs, "memory", &[("type", "node")])[1];
    assert_eq!(value(mem, "memory/page_faults_rate").as_f64(), Some(10.0));
    assert_eq!(
        value(mem, "memory/major_page_faults_rate").as_f64(),
        Some(1.0 / 60.0)
    );
    assert_eq!(
        value(mem, "memory/node_allocatable").as_f64(),
        Some(8024304.0 * 1024.0)
    );
    let net = find(
        &docs,
        "network",
        &[("type", "pod"), ("pod_name", "storage-provisioner")],
    );
    assert_eq!(net.len(), 2);
    assert_eq!(value(net[1], "network/rx_rate").as_f64(), Some(1500.0));
    assert_eq!(value(net[1], "network/tx_rate").as_f64(), Some(700.0));
    assert_eq!(value(net[1], "network/rx_errors_rate").as_f64(), Some(0.0));
    // A pod's CPU is its containers' (one container here), rates included.
    let pod = find(
        &docs,
        "cpu",
        &[("type", "pod"), ("pod_name", "storage-provisioner")],
    )[1];
    let ctr = find(
        &docs,
        "cpu",
        &[
            ("type", "pod_container"),
            ("pod_name", "storage-provisioner"),
        ],
    )[1];
    assert_eq!(pod["Metrics"], ctr["Metrics"]);
    assert!(value(ctr, "cpu/usage_rate").is_u64());
    // Labels of the pods the API knows, heapster's `k:v` string.
    let labelled = &pod["MetricsTags"]["labels"];
    assert_eq!(
        labelled, "addonmanager.kubernetes.io/mode:Reconcile,integration-test:storage-provisioner",
        "{pod}"
    );
    let fs = find(
        &docs,
        "filesystem",
        &[("type", "node"), ("resource_id", "/")],
    );
    assert_eq!(value(fs[0], "filesystem/limit"), 977896124416u64);
    assert_eq!(value(fs[0], "filesystem/inodes_free"), 59206606);
}

#[test]
fn older_kubelets_decode_too() {
    for (name, text) in [
        (
            "1.31",
            include_str!("../testkit/fixtures/kubelet/stats-summary-k8s1.31.json"),
        ),
        (
            "GKE 1.6",
            include_str!("../testkit/fixtures/kubelet/stats-summary-gke-k8s1.6.json"),
        ),
    ] {
        let summary = Summary::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let Sample::Documents(docs) =
            Sampler::new("default").sample(&summary, None, &|_: &str, _: &str| None)
        else {
            panic!("{name}: a first sample is never unchanged");
        };
        let docs: Vec<Value> = docs
            .iter()
            .map(|d| serde_json::from_str(&d.json).unwrap())
            .collect();
        for family in ["cpu", "memory", "network", "filesystem"] {
            assert!(
                !find(&docs, family, &[]).is_empty(),
                "{name}: no {family} document"
            );
        }
        // Without the Node object: the node's name stands for host name and id.
        let node = find(&docs, "cpu", &[("type", "node")])[0];
        assert_eq!(node["MetricsTags"]["host_id"], summary.node.node_name);
        assert!(node["MetricsTags"].get("labels").is_none());
        // GKE 1.6 has no pod-level CPU: the pod's is its containers' sum.
        for pod in find(&docs, "cpu", &[("type", "pod")]) {
            assert!(value(pod, "cpu/usage").is_u64(), "{name}: {pod}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// End to end.

struct Setup {
    h: Harness,
    kubelet: KubeletDouble,
    token_file: PathBuf,
    ca: PathBuf,
}

fn setup(summaries: Vec<Vec<u8>>) -> Setup {
    setup_with_nodes(summaries, vec![fixtures::node()])
}

fn setup_with_nodes(summaries: Vec<Vec<u8>>, nodes: Vec<Value>) -> Setup {
    let h = Harness::new(KubeApiOptions {
        pods: fixtures::podlist_items(),
        nodes,
        ..Default::default()
    });
    let pki = TestPki::generate(h.node.dir.path()).expect("test PKI (openssl)");
    let token_file = h.node.dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let kubelet = KubeletDouble::start(KubeletOptions {
        pki: Some(pki.clone()),
        token: TOKEN.into(),
        summaries,
    })
    .unwrap();
    Setup {
        h,
        kubelet,
        token_file,
        ca: pki.ca_cert,
    }
}

impl Setup {
    fn start(&self, interval: &str) -> Agent {
        let url = self.kubelet.url();
        let token = self.token_file.display().to_string();
        let ca = self.ca.display().to_string();
        self.h.start(&[
            ("LOGSHIP_KUBELET_URL", url.as_str()),
            ("LOGSHIP_KUBELET_TOKEN_FILE", token.as_str()),
            // Verified against the test CA (setting the CA file turns verification on).
            ("LOGSHIP_KUBELET_CA_FILE", ca.as_str()),
            ("LOGSHIP_METRICS_INTERVAL", interval),
        ])
    }

    fn heapster_docs(&self) -> Vec<logship_testkit::es::StoredDoc> {
        self.h
            .es
            .docs()
            .into_iter()
            .filter(|d| d.index.starts_with("heapster-"))
            .collect()
    }
}

#[test]
fn ships_exactly_the_golden_documents_to_heapster_indices() {
    let [a, b] = samples();
    let s = setup(vec![a.into_bytes(), b.into_bytes()]);
    let agent = s.start("1s");
    let want = golden();
    assert!(
        eventually(LONG, || s.heapster_docs().len() >= want.len()),
        "{} of {} documents; agent log:\n{}",
        s.heapster_docs().len(),
        want.len(),
        agent.stderr()
    );
    // The kubelet keeps answering the second sample: nothing more is written.
    assert!(
        eventually(LONG, || metric(
            &agent,
            "logship_kubelet_unchanged_scrapes_total"
        )
        .unwrap_or(0)
            >= 2),
        "{}",
        agent.stderr()
    );
    let docs = s.heapster_docs();
    assert_eq!(docs.len(), want.len(), "every document once, nothing else");
    assert_eq!(s.h.es.stats().duplicates, 0);
    let mut got: Vec<String> = Vec::new();
    for d in &docs {
        let family = ["cpu", "memory", "network", "filesystem"]
            .into_iter()
            .find(|f| {
                d.source
                    .get(format!("{}MetricsTimestamp", title(f)))
                    .is_some()
            })
            .unwrap_or_else(|| panic!("no family timestamp: {}", d.source));
        assert_eq!(d.index, format!("heapster-{family}-2026.06.26"));
        assert_eq!(d.doc_type, None, "ES 7: no _type");
        got.push(String::from_utf8(d.raw_source.clone()).unwrap());
    }
    let mut want_sorted = want.clone();
    want_sorted.sort();
    got.sort();
    assert_eq!(got, want_sorted, "the golden documents, byte for byte");
    // Deterministic ids: one per document.
    let ids: std::collections::BTreeSet<&str> = docs.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids.len(), docs.len());
    assert_eq!(
        metric(&agent, "logship_kubelet_scrapes_total").map(|n| n >= 4),
        Some(true)
    );
    let per_family: u64 = ["cpu", "memory", "network", "filesystem"]
        .iter()
        .map(|f| {
            metric(
                &agent,
                &format!("logship_kubelet_documents_total{{family=\"{f}\"}}"),
            )
            .unwrap()
        })
        .sum();
    assert_eq!(per_family, want.len() as u64);
    assert_eq!(
        metric(&agent, "logship_input_records_total{input=\"kubelet\"}"),
        Some(want.len() as u64)
    );
    assert_eq!(s.kubelet.stats().unauthorized, 0);
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
}

#[test]
fn a_failing_kubelet_is_counted_and_retried_while_logs_flow() {
    let mut s = setup(vec![SUMMARY.as_bytes().to_vec()]);
    s.kubelet.set_down(true);
    let agent = s.start("1s");
    let err = |kind: &str| {
        metric(
            &agent,
            &format!("logship_kubelet_errors_total{{kind=\"{kind}\"}}"),
        )
        .unwrap_or(0)
    };
    assert!(
        eventually(LONG, || err("unreachable") >= 3),
        "{}",
        agent.stderr()
    );
    // Container logs are shipped all the while.
    let f = s.h.node.container("app-1", "default", "app", 1);
    s.h.write(&f, "line", 5);
    s.h.wait_docs(&agent);
    assert_eq!(
        s.h.es
            .docs()
            .iter()
            .filter(|d| d.index.starts_with("logstash-"))
            .count(),
        5
    );

    s.kubelet.set_down(false);
    s.kubelet.set_fault(Some(KubeletFault::Garbage(
        "<html>bad gateway</html>".into(),
    )));
    assert!(
        eventually(LONG, || err("bad_summary") >= 2),
        "{}",
        agent.stderr()
    );
    s.kubelet.set_fault(None);
    s.kubelet.set_token("another-token");
    assert!(
        eventually(LONG, || err("http_status") >= 2),
        "{}",
        agent.stderr()
    );
    assert!(s.kubelet.stats().unauthorized >= 2, "the kubelet said 401");
    assert!(
        s.heapster_docs().is_empty(),
        "nothing written from failed reads"
    );

    // The token file is read again at every scrape (rotated service account tokens).
    std::fs::write(&s.token_file, "another-token\n").unwrap();
    assert!(
        eventually(LONG, || !s.heapster_docs().is_empty()),
        "{}",
        agent.stderr()
    );
    let first_sample = golden().len() / 2;
    assert!(
        eventually(LONG, || s.heapster_docs().len() >= first_sample),
        "{}",
        agent.stderr()
    );
    let log = agent.stderr();
    // Each kind of failure is logged once (then counted quietly), and so is the recovery.
    for kind in ["unreachable", "bad_summary", "http_status"] {
        let lines = log
            .lines()
            .filter(|l| {
                l.contains("cannot read the stats summary")
                    && l.contains(&format!("kind=\"{kind}\""))
            })
            .count();
        assert_eq!(lines, 1, "{kind}: {log}");
    }
    assert_eq!(
        log.matches("reading the stats summary again").count(),
        1,
        "{log}"
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
}

#[test]
fn without_the_node_object_documents_go_out_without_its_figures() {
    let s = setup_with_nodes(vec![SUMMARY.as_bytes().to_vec()], Vec::new());
    let agent = s.start("1s");
    let first_sample = golden().len() / 2;
    assert!(
        eventually(LONG, || s.heapster_docs().len() >= first_sample),
        "{}",
        agent.stderr()
    );
    let err = || metric(&agent, "logship_kubelet_errors_total{kind=\"node_info\"}").unwrap_or(0);
    // Tried again at every interval, logged once.
    assert!(eventually(LONG, || err() >= 3), "{}", agent.stderr());
    assert_eq!(
        s.heapster_docs().len(),
        first_sample,
        "one sample, written once"
    );
    let node = s
        .heapster_docs()
        .into_iter()
        .find(|d| d.index.starts_with("heapster-cpu-") && d.source["MetricsTags"]["type"] == "node")
        .expect("the node's cpu document");
    let metrics = node.source["Metrics"].as_object().unwrap();
    assert_eq!(
        metrics.keys().collect::<Vec<_>>(),
        ["cpu/usage"],
        "{}",
        node.source
    );
    assert_eq!(node.source["MetricsTags"]["host_id"], fixtures::NODE);
    assert!(node.source["MetricsTags"].get("labels").is_none());
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    assert_eq!(
        log.matches("cannot read the Node object").count(),
        1,
        "{log}"
    );
}

#[test]
fn without_a_kubelet_url_or_node_ip_the_source_is_off() {
    let h = Harness::new(KubeApiOptions::default());
    let agent = h.start(&[]);
    assert!(
        eventually(LONG, || http_addr(&agent).is_some()),
        "{}",
        agent.stderr()
    );
    assert_eq!(
        metric(&agent, "logship_kubelet_scrapes_total"),
        None,
        "no kubelet series"
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    assert!(
        log.contains("kubelet metrics off: neither NODE_IP nor LOGSHIP_KUBELET_URL is set"),
        "{log}"
    );
}
