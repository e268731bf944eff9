//! The harness of the pod metadata tests: a node, the Kubernetes API double, the ES double and
//! the agent between them, and the `kubernetes` object a record must carry, built from the pod
//! objects independently of the agent's code.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::common::*;
use logship_testkit::es::{EsDouble, EsOptions, StoredDoc};
use logship_testkit::kube::{fixtures, KubeApi, KubeApiOptions};
use serde_json::{json, Value};

pub const NODE: &str = fixtures::NODE;
pub const TIME: &str = "2026-11-22T01:02:03.000000000Z";
pub const LONG: Duration = Duration::from_secs(60);

pub struct Harness {
    pub node: Node,
    pub api: KubeApi,
    pub es: EsDouble,
    pub kubeconfig: PathBuf,
    /// Messages written, in order.
    pub written: Vec<String>,
}

impl Harness {
    pub fn new(api: KubeApiOptions) -> Harness {
        let node = Node::new();
        let api = KubeApi::start(api).unwrap();
        let kubeconfig = api.write_kubeconfig(node.dir.path()).unwrap();
        Harness {
            node,
            api,
            es: EsDouble::start(EsOptions::default()).unwrap(),
            kubeconfig,
            written: Vec::new(),
        }
    }

    pub fn start(&self, extra: &[(&'static str, &str)]) -> Agent {
        let mut env = vec![
            ("ES_SERVER", self.es.url()),
            ("LOGSHIP_INPUT_GLOB", self.node.glob()),
            (
                "LOGSHIP_STATE_DIR",
                self.node.state_dir().display().to_string(),
            ),
            ("LOGSHIP_FLUSH_INTERVAL", "50ms".into()),
            ("LOGSHIP_REFRESH_INTERVAL", "50ms".into()),
            ("LOGSHIP_KUBECONFIG", self.kubeconfig.display().to_string()),
            ("NODE_NAME", NODE.into()),
        ];
        env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        Agent::start(self.node.dir.path(), &["run"], &env)
    }

    /// A file for one of `pod`'s containers, named as kubelet names it.
    pub fn file(&self, pod: &Value, container: &str) -> LogFile {
        let m = &pod["metadata"];
        let id = container_ids(pod)
            .into_iter()
            .find(|(name, _)| name == container)
            .map(|(_, id)| id)
            .unwrap_or_else(|| panic!("no container {container}"));
        self.node.container_with_id(
            m["name"].as_str().unwrap(),
            m["namespace"].as_str().unwrap(),
            container,
            &id,
        )
    }

    /// Appends `n` lines `<tag>-<i>` to `f`; returns their messages.
    pub fn write(&mut self, f: &LogFile, tag: &str, n: usize) -> Vec<String> {
        let msgs: Vec<String> = (0..n).map(|i| format!("{tag}-{i}")).collect();
        let text: String = msgs
            .iter()
            .map(|m| docker_line(m, "stdout", TIME, false))
            .collect();
        f.append(text.as_bytes());
        self.written.extend(msgs.iter().cloned());
        msgs
    }

    pub fn wait_docs(&self, agent: &Agent) {
        let n = self.written.len() as u64;
        assert!(
            eventually(LONG, || self.es.stats().distinct_docs >= n),
            "{} of {n} documents; agent log:\n{}",
            self.es.stats().distinct_docs,
            agent.stderr()
        );
    }

    /// Documents by message; every written line exactly once, nothing else.
    pub fn docs(&self) -> HashMap<String, StoredDoc> {
        let stats = self.es.stats();
        assert_eq!(stats.duplicates, 0, "no document written twice");
        let mut by_msg = HashMap::new();
        for d in self.es.docs() {
            let msg = d.source["log"].as_str().unwrap().trim_end().to_owned();
            assert!(by_msg.insert(msg.clone(), d).is_none(), "{msg} twice");
        }
        let mut want: Vec<&String> = self.written.iter().collect();
        let mut got: Vec<&String> = by_msg.keys().collect();
        want.sort();
        got.sort();
        assert_eq!(got, want, "N lines in, N documents out");
        by_msg
    }
}

/// (container name, bare id) of every container in the pod's status.
pub fn container_ids(pod: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for list in ["containerStatuses", "initContainerStatuses"] {
        for s in pod["status"][list].as_array().into_iter().flatten() {
            let id = s["containerID"].as_str().unwrap();
            let bare = id.split_once("://").unwrap().1;
            out.push((s["name"].as_str().unwrap().to_owned(), bare.to_owned()));
        }
    }
    out
}

/// The `kubernetes` object a record of `f` must carry, built from the pod object the test gave
/// the API (`None`: the file-name fields only), in fluent-bit's order with dots replaced.
pub fn expected(f: &LogFile, pod: Option<&Value>) -> String {
    let s = |v: &str| serde_json::to_string(v).unwrap();
    let name = &f.pod;
    let ns = f
        .link
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .split('_')
        .nth(1)
        .unwrap();
    let container = f
        .link
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .splitn(3, '_')
        .nth(2)
        .unwrap()
        .strip_suffix(&format!("-{}.log", f.docker_id))
        .unwrap()
        .to_owned();
    let mut out = format!(r#"{{"pod_name":{},"namespace_name":{}"#, s(name), s(ns));
    if let Some(p) = pod {
        out += &format!(r#","pod_id":{}"#, s(p["metadata"]["uid"].as_str().unwrap()));
        for key in ["labels", "annotations"] {
            let Some(map) = p["metadata"][key].as_object().filter(|m| !m.is_empty()) else {
                continue;
            };
            let mut seen = Vec::new();
            let mut parts = Vec::new();
            for (k, v) in map {
                let k = k.replace('.', "_");
                if !seen.contains(&k) {
                    parts.push(format!("{}:{}", s(&k), s(v.as_str().unwrap())));
                    seen.push(k);
                }
            }
            out += &format!(r#","{key}":{{{}}}"#, parts.join(","));
        }
        out += &format!(r#","host":{}"#, s(p["spec"]["nodeName"].as_str().unwrap()));
    }
    out += &format!(
        r#","container_name":{},"docker_id":{}}}"#,
        s(&container),
        s(&f.docker_id)
    );
    out
}

pub fn kubernetes_of(d: &StoredDoc) -> String {
    let raw = String::from_utf8(d.raw_source.clone()).unwrap();
    let at = raw
        .find(r#","kubernetes":"#)
        .unwrap_or_else(|| panic!("no kubernetes: {raw}"));
    let rest = &raw[at + r#","kubernetes":"#.len()..];
    rest.strip_suffix('}').unwrap().to_owned()
}

pub fn assert_meta(
    docs: &HashMap<String, StoredDoc>,
    msgs: &[String],
    f: &LogFile,
    pod: Option<&Value>,
) {
    let want = expected(f, pod);
    for m in msgs {
        assert_eq!(kubernetes_of(&docs[m]), want, "record {m}");
    }
}

/// A sample of the agent's `/metrics`.
pub fn metric(agent: &Agent, name: &str) -> Option<u64> {
    metric_value(agent, name).map(|v| v as u64)
}

pub fn on_node(mut pod: Value) -> Value {
    pod["spec"]["nodeName"] = json!(NODE);
    pod
}

pub fn all_fixture_pods() -> Vec<Value> {
    let mut pods = fixtures::podlist_items();
    pods.push(on_node(fixtures::pod_docker()));
    pods
}

/// Writes single lines to `f` until one arrives with the `kubernetes` object `want` (the agent
/// has seen the change); returns the lines written.
pub fn write_until(
    h: &mut Harness,
    agent: &Agent,
    f: &LogFile,
    tag: &str,
    want: &str,
) -> Vec<String> {
    let mut msgs = Vec::new();
    for i in 0..400 {
        let m = h.write(f, &format!("{tag}-{i}"), 1).remove(0);
        msgs.push(m.clone());
        h.wait_docs(agent);
        let d =
            h.es.docs()
                .into_iter()
                .find(|d| d.source["log"].as_str().unwrap().trim_end() == m);
        if kubernetes_of(&d.unwrap()) == want {
            return msgs;
        }
    }
    panic!(
        "{tag}: the change never reached the records; agent log:\n{}",
        agent.stderr()
    );
}
