//! From a summary to heapster's metric sets: one per node, system container, pod and pod
//! container, each with its tags (heapster's `MetricsTags`) and its values under heapster's
//! metric names, as heapster's summary source (`metrics/sources/summary/summary.go`) decoded
//! them. Rates are added by [`super::rates`], pod totals by [`aggregate_pods`], the node's
//! capacity figures by [`super::node_info`].

use std::collections::BTreeMap;
use std::sync::Arc;

use super::summary::{
    parse_time, ContainerStats, CpuStats, FsStats, MemoryStats, NetworkStats, Summary,
};
use crate::kube::PodMeta;
use crate::time::EventTime;

/// heapster's `type` tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetType {
    Node,
    SysContainer,
    Pod,
    PodContainer,
}

impl SetType {
    pub fn name(self) -> &'static str {
        match self {
            SetType::Node => "node",
            SetType::SysContainer => "sys_container",
            SetType::Pod => "pod",
            SetType::PodContainer => "pod_container",
        }
    }
}

/// A value as heapster typed it: counters and gauges are integers, rates (but `cpu/usage_rate`,
/// integer millicores) and the node's capacity figures are floats.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MetricValue {
    Int(u64),
    Float(f64),
}

/// The values of one filesystem of a set (`resource_id`: `/`, `logs`, `Volume:<name>`).
#[derive(Debug, Clone, PartialEq)]
pub struct Filesystem {
    pub resource_id: String,
    pub values: BTreeMap<&'static str, u64>,
}

/// What the summary said of one object.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSet {
    /// Names the object across samples (for rates): `node`, `sys/<name>`, `pod/<ns>/<name>`,
    /// `pod/<ns>/<name>/<container>`.
    pub key: String,
    pub set_type: SetType,
    /// `MetricsTags` without `cluster_name` (added to every document).
    pub tags: BTreeMap<&'static str, String>,
    /// When the kubelet measured the object: its CPU time, else memory, else network (as
    /// heapster's `getScrapeTime`). Rates need it.
    pub scrape_time: Option<EventTime>,
    /// Which incarnation of the object this is (start time, and the uid of a pod): counters
    /// of another incarnation started again from zero.
    pub incarnation: String,
    pub values: BTreeMap<&'static str, MetricValue>,
    pub filesystems: Vec<Filesystem>,
}

/// What the documents of this node carry besides the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeTags {
    pub nodename: String,
    pub hostname: String,
    pub host_id: String,
    /// The node's labels as heapster wrote them (`k:v,k2:v2`, sorted); `None` when the node
    /// object is not known.
    pub labels: Option<String>,
}

/// heapster's system container names for the kubelet's `runtime` and `misc`.
fn system_container_name(name: &str) -> &str {
    match name {
        "runtime" => "docker-daemon",
        "misc" => "system",
        other => other,
    }
}

/// heapster's `labels` tag: `k:v` pairs, sorted, joined by `,`.
pub fn labels_text<'a>(labels: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let mut pairs: Vec<String> = labels.map(|(k, v)| format!("{k}:{v}")).collect();
    pairs.sort();
    pairs.join(",")
}

/// The metric sets of a summary. `pods` gives the metadata of a pod (namespace, name) when
/// the pod metadata cache knows it: its labels become the `labels` tag.
pub fn decode(
    summary: &Summary,
    node: &NodeTags,
    pods: &dyn Fn(&str, &str) -> Option<Arc<PodMeta>>,
) -> Vec<MetricSet> {
    let mut base = BTreeMap::new();
    base.insert("nodename", node.nodename.clone());
    base.insert("hostname", node.hostname.clone());
    base.insert("host_id", node.host_id.clone());
    let mut sets = Vec::new();

    let n = &summary.node;
    let mut tags = base.clone();
    tags.insert("type", SetType::Node.name().to_owned());
    if let Some(labels) = &node.labels {
        tags.insert("labels", labels.clone());
    }
    let mut set = MetricSet {
        key: "node".to_owned(),
        set_type: SetType::Node,
        tags,
        scrape_time: scrape_time(n.cpu.as_ref(), n.memory.as_ref(), n.network.as_ref()),
        incarnation: n.start_time.clone().unwrap_or_default(),
        values: BTreeMap::new(),
        filesystems: Vec::new(),
    };
    cpu(&mut set, n.cpu.as_ref());
    memory(&mut set, n.memory.as_ref());
    network(&mut set, n.network.as_ref());
    filesystem(&mut set, "/", n.fs.as_ref());
    sets.push(set);

    for c in &n.system_containers {
        let name = system_container_name(&c.name);
        let mut tags = base.clone();
        tags.insert("type", SetType::SysContainer.name().to_owned());
        tags.insert("container_name", name.to_owned());
        sets.push(container(
            format!("sys/{name}"),
            SetType::SysContainer,
            tags,
            c,
        ));
    }

    for p in &summary.pods {
        let r = &p.pod_ref;
        let mut tags = base.clone();
        tags.insert("type", SetType::Pod.name().to_owned());
        tags.insert("pod_id", r.uid.clone());
        tags.insert("pod_name", r.name.clone());
        tags.insert("namespace_name", r.namespace.clone());
        if let Some(meta) = pods(&r.namespace, &r.name).filter(|m| m.uid() == r.uid) {
            tags.insert("labels", labels_text(meta.labels()));
        }
        let key = format!("pod/{}/{}", r.namespace, r.name);
        let mut set = MetricSet {
            key: key.clone(),
            set_type: SetType::Pod,
            tags: tags.clone(),
            scrape_time: scrape_time(None, None, p.network.as_ref()),
            incarnation: format!("{} {}", r.uid, p.start_time.as_deref().unwrap_or("")),
            values: BTreeMap::new(),
            filesystems: Vec::new(),
        };
        network(&mut set, p.network.as_ref());
        for v in &p.volumes {
            filesystem(&mut set, &format!("Volume:{}", v.name), Some(&v.fs));
        }
        sets.push(set);
        // Two entries for one container name (a restarted container reported twice): the
        // newer one wins, as in heapster.
        let mut newest: BTreeMap<&str, &ContainerStats> = BTreeMap::new();
        for c in &p.containers {
            let newer = match newest.get(c.name.as_str()) {
                None => true,
                Some(seen) => {
                    parse_time(c.start_time.as_deref()) >= parse_time(seen.start_time.as_deref())
                }
            };
            if newer {
                newest.insert(&c.name, c);
            }
        }
        for c in p.containers.iter().filter(|c| {
            newest
                .get(c.name.as_str())
                .is_some_and(|n| std::ptr::eq(*n, *c))
        }) {
            let mut tags = tags.clone();
            tags.insert("type", SetType::PodContainer.name().to_owned());
            tags.insert("container_name", c.name.clone());
            sets.push(container(
                format!("{key}/{}", c.name),
                SetType::PodContainer,
                tags,
                c,
            ));
        }
    }
    sets
}

fn container(
    key: String,
    set_type: SetType,
    tags: BTreeMap<&'static str, String>,
    c: &ContainerStats,
) -> MetricSet {
    let mut set = MetricSet {
        key,
        set_type,
        tags,
        scrape_time: scrape_time(c.cpu.as_ref(), c.memory.as_ref(), None),
        incarnation: c.start_time.clone().unwrap_or_default(),
        values: BTreeMap::new(),
        filesystems: Vec::new(),
    };
    cpu(&mut set, c.cpu.as_ref());
    memory(&mut set, c.memory.as_ref());
    filesystem(&mut set, "/", c.rootfs.as_ref());
    filesystem(&mut set, "logs", c.logs.as_ref());
    set
}

fn scrape_time(
    cpu: Option<&CpuStats>,
    memory: Option<&MemoryStats>,
    network: Option<&NetworkStats>,
) -> Option<EventTime> {
    parse_time(cpu.and_then(|c| c.time.as_deref()))
        .or_else(|| parse_time(memory.and_then(|m| m.time.as_deref())))
        .or_else(|| parse_time(network.and_then(|n| n.time.as_deref())))
}

fn put(set: &mut MetricSet, name: &'static str, value: Option<u64>) {
    if let Some(v) = value {
        set.values.insert(name, MetricValue::Int(v));
    }
}

fn cpu(set: &mut MetricSet, cpu: Option<&CpuStats>) {
    if let Some(c) = cpu {
        put(set, "cpu/usage", c.usage_core_nano_seconds);
    }
}

fn memory(set: &mut MetricSet, memory: Option<&MemoryStats>) {
    if let Some(m) = memory {
        put(set, "memory/usage", m.usage_bytes);
        put(set, "memory/working_set", m.working_set_bytes);
        put(set, "memory/rss", m.rss_bytes);
        put(set, "memory/page_faults", m.page_faults);
        put(set, "memory/major_page_faults", m.major_page_faults);
    }
}

fn network(set: &mut MetricSet, network: Option<&NetworkStats>) {
    if let Some(n) = network {
        put(set, "network/rx", n.rx_bytes);
        put(set, "network/rx_errors", n.rx_errors);
        put(set, "network/tx", n.tx_bytes);
        put(set, "network/tx_errors", n.tx_errors);
    }
}

fn filesystem(set: &mut MetricSet, resource_id: &str, fs: Option<&FsStats>) {
    let Some(fs) = fs else { return };
    let mut values = BTreeMap::new();
    for (name, v) in [
        ("filesystem/usage", fs.used_bytes),
        ("filesystem/limit", fs.capacity_bytes),
        ("filesystem/available", fs.available_bytes),
        ("filesystem/inodes", fs.inodes),
        ("filesystem/inodes_free", fs.inodes_free),
    ] {
        if let Some(v) = v {
            values.insert(name, v);
        }
    }
    if !values.is_empty() {
        set.filesystems.push(Filesystem {
            resource_id: resource_id.to_owned(),
            values,
        });
    }
}

/// heapster's pod aggregator: a pod's CPU and memory values (rates included) are the sums of
/// its containers'. Run after the rates, so that a pod's rate is the sum of its containers'
/// rates, as in heapster.
pub fn aggregate_pods(sets: &mut [MetricSet]) {
    let mut sums: BTreeMap<String, BTreeMap<&'static str, MetricValue>> = BTreeMap::new();
    for s in sets.iter().filter(|s| s.set_type == SetType::PodContainer) {
        let Some(pod_key) = s.key.rsplit_once('/').map(|(pod, _)| pod.to_owned()) else {
            continue;
        };
        let sum = sums.entry(pod_key).or_default();
        for (name, v) in &s.values {
            let total = match (sum.get(name), v) {
                (None, v) => *v,
                (Some(MetricValue::Int(a)), MetricValue::Int(b)) => {
                    MetricValue::Int(a.saturating_add(*b))
                }
                (Some(MetricValue::Float(a)), MetricValue::Float(b)) => MetricValue::Float(a + b),
                // One name always has one type; keep what was there.
                (Some(a), _) => *a,
            };
            sum.insert(name, total);
        }
    }
    for s in sets.iter_mut().filter(|s| s.set_type == SetType::Pod) {
        if let Some(sum) = sums.remove(&s.key) {
            for (name, v) in sum {
                s.values.entry(name).or_insert(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::PodMetaParts;

    fn summary(json: &str) -> Summary {
        Summary::parse(json.as_bytes()).unwrap()
    }

    fn node() -> NodeTags {
        NodeTags {
            nodename: "n1".into(),
            hostname: "h1".into(),
            host_id: "i-1".into(),
            labels: None,
        }
    }

    #[test]
    fn sets_tags_and_heapster_names() {
        let s = summary(
            r#"{"node":{"nodeName":"n1","startTime":"2026-01-01T00:00:00Z",
                "systemContainers":[{"name":"runtime","cpu":{"usageCoreNanoSeconds":7}}],
                "cpu":{"time":"2026-01-01T00:01:00Z","usageCoreNanoSeconds":100},
                "memory":{"usageBytes":5,"workingSetBytes":4,"rssBytes":3,"pageFaults":2,"majorPageFaults":1},
                "network":{"rxBytes":10,"rxErrors":0,"txBytes":20,"txErrors":1},
                "fs":{"usedBytes":1,"capacityBytes":9,"availableBytes":8,"inodes":7,"inodesFree":6}},
               "pods":[{"podRef":{"name":"p","namespace":"ns","uid":"u1"},
                        "network":{"time":"2026-01-01T00:01:00Z","rxBytes":1},
                        "volume":[{"name":"data","usedBytes":3}],
                        "containers":[{"name":"a","cpu":{"usageCoreNanoSeconds":3},"memory":{"usageBytes":30}},
                                      {"name":"b","cpu":{"usageCoreNanoSeconds":4},"logs":{"usedBytes":2}}]}]}"#,
        );
        let meta = Arc::new(PodMeta::new(PodMetaParts {
            namespace: "ns",
            name: "p",
            uid: "u1",
            labels: vec![("z", "1"), ("app", "web")],
            ..PodMetaParts::default()
        }));
        let lookup = |ns: &str, name: &str| (ns == "ns" && name == "p").then(|| meta.clone());
        let mut sets = decode(&s, &node(), &lookup);
        aggregate_pods(&mut sets);
        let keys: Vec<&str> = sets.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "node",
                "sys/docker-daemon",
                "pod/ns/p",
                "pod/ns/p/a",
                "pod/ns/p/b"
            ]
        );
        let n = &sets[0];
        assert_eq!(n.tags["type"], "node");
        assert_eq!(n.values["cpu/usage"], MetricValue::Int(100));
        assert_eq!(n.values["memory/major_page_faults"], MetricValue::Int(1));
        assert_eq!(n.values["network/tx_errors"], MetricValue::Int(1));
        assert_eq!(n.filesystems[0].resource_id, "/");
        assert_eq!(n.filesystems[0].values.len(), 5);
        assert_eq!(sets[1].tags["container_name"], "docker-daemon");
        assert_eq!(sets[1].tags["type"], "sys_container");
        let pod = &sets[2];
        assert_eq!(pod.tags["labels"], "app:web,z:1");
        assert_eq!(pod.tags["pod_id"], "u1");
        assert_eq!(pod.values["cpu/usage"], MetricValue::Int(7), "3 + 4");
        assert_eq!(pod.values["memory/usage"], MetricValue::Int(30));
        assert_eq!(pod.filesystems[0].resource_id, "Volume:data");
        let b = &sets[4];
        assert_eq!(b.tags["type"], "pod_container");
        assert_eq!(b.tags["labels"], "app:web,z:1");
        assert_eq!(b.filesystems[0].resource_id, "logs");
        assert!(b.scrape_time.is_none());
    }

    #[test]
    fn a_pod_of_another_uid_gets_no_labels() {
        let s = summary(
            r#"{"node":{"nodeName":"n1"},"pods":[{"podRef":{"name":"p","namespace":"ns","uid":"new"}}]}"#,
        );
        let meta = Arc::new(PodMeta::new(PodMetaParts {
            uid: "old",
            labels: vec![("a", "b")],
            ..PodMetaParts::default()
        }));
        let sets = decode(&s, &node(), &|_: &str, _: &str| Some(meta.clone()));
        assert!(!sets[1].tags.contains_key("labels"));
    }

    #[test]
    fn a_container_reported_twice_keeps_the_newer() {
        let s = summary(
            r#"{"node":{"nodeName":"n1"},"pods":[{"podRef":{"name":"p","namespace":"ns","uid":"u"},
                "containers":[{"name":"a","startTime":"2026-01-01T00:05:00Z","cpu":{"usageCoreNanoSeconds":5}},
                              {"name":"a","startTime":"2026-01-01T00:00:00Z","cpu":{"usageCoreNanoSeconds":99}}]}]}"#,
        );
        let sets = decode(&s, &node(), &|_: &str, _: &str| None);
        assert_eq!(sets.len(), 3);
        assert_eq!(sets[2].values["cpu/usage"], MetricValue::Int(5));
    }
}
