//! What the summary does not say of the node and heapster took from the Node object: its host
//! name and id, its labels, and its CPU and memory capacity and allocatable, from which the
//! node's `*/node_capacity`, `*/node_allocatable` and `*/node_utilization` are computed
//! (heapster's node autoscaling enricher). Read with `GET /api/v1/nodes/<name>`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Node;

use super::metric_set::{labels_text, MetricSet, MetricValue, NodeTags, SetType};

/// The node object, cut down to what the documents need.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeInfo {
    /// The `Hostname` address, if the node reports one.
    pub hostname: Option<String>,
    /// `spec.externalID` (heapster's `host_id`), if set: current clusters leave it empty.
    pub external_id: Option<String>,
    pub labels: Vec<(String, String)>,
    pub cpu_capacity_millis: Option<f64>,
    pub cpu_allocatable_millis: Option<f64>,
    pub memory_capacity_bytes: Option<f64>,
    pub memory_allocatable_bytes: Option<f64>,
}

impl NodeInfo {
    pub fn from_node(node: &Node) -> NodeInfo {
        let status = node.status.as_ref();
        let quantity = |map: Option<
            &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
        >,
                        key: &str| {
            map.and_then(|m| m.get(key))
                .and_then(|q| parse_quantity(&q.0))
        };
        let capacity = status.and_then(|s| s.capacity.as_ref());
        let allocatable = status.and_then(|s| s.allocatable.as_ref());
        NodeInfo {
            hostname: status
                .and_then(|s| s.addresses.as_ref())
                .and_then(|a| {
                    a.iter()
                        .find(|a| a.type_ == "Hostname" && !a.address.is_empty())
                })
                .map(|a| a.address.clone()),
            external_id: node
                .spec
                .as_ref()
                .and_then(|s| s.external_id.clone())
                .filter(|id| !id.is_empty()),
            labels: node
                .metadata
                .labels
                .as_ref()
                .map(|l| l.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            cpu_capacity_millis: quantity(capacity, "cpu").map(|c| c * 1000.0),
            cpu_allocatable_millis: quantity(allocatable, "cpu").map(|c| c * 1000.0),
            memory_capacity_bytes: quantity(capacity, "memory"),
            memory_allocatable_bytes: quantity(allocatable, "memory"),
        }
    }
}

/// The tags of this node's documents. Without the node object: the node name for `hostname`
/// and `host_id`, and no `labels`.
pub fn node_tags(nodename: &str, info: Option<&NodeInfo>) -> NodeTags {
    NodeTags {
        nodename: nodename.to_owned(),
        hostname: info
            .and_then(|i| i.hostname.clone())
            .unwrap_or_else(|| nodename.to_owned()),
        // heapster used spec.externalID, which current kubelets leave empty; the node name
        // keeps `MetricsTags.host_id` a usable per-node key (the documented Timelion split).
        host_id: info
            .and_then(|i| i.external_id.clone())
            .unwrap_or_else(|| nodename.to_owned()),
        labels: info.map(|i| labels_text(i.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))),
    }
}

/// Adds the node's capacity figures and utilization to the node set (after the rates: CPU
/// utilization is `cpu/usage_rate` over allocatable millicores, so the first sample has none).
pub fn enrich(sets: &mut [MetricSet], info: &NodeInfo) {
    let Some(node) = sets.iter_mut().find(|s| s.set_type == SetType::Node) else {
        return;
    };
    let mut put = |name: &'static str, v: Option<f64>| {
        if let Some(v) = v.filter(|v| v.is_finite()) {
            node.values.insert(name, MetricValue::Float(v));
        }
    };
    put("cpu/node_capacity", info.cpu_capacity_millis);
    put("cpu/node_allocatable", info.cpu_allocatable_millis);
    put("memory/node_capacity", info.memory_capacity_bytes);
    put("memory/node_allocatable", info.memory_allocatable_bytes);
    let int = |name| match node.values.get(name) {
        Some(MetricValue::Int(v)) => Some(*v as f64),
        _ => None,
    };
    let cpu = int("cpu/usage_rate")
        .zip(info.cpu_allocatable_millis.filter(|a| *a > 0.0))
        .map(|(used, alloc)| used / alloc);
    let mem = int("memory/usage")
        .zip(info.memory_allocatable_bytes.filter(|a| *a > 0.0))
        .map(|(used, alloc)| used / alloc);
    if let Some(u) = cpu {
        node.values
            .insert("cpu/node_utilization", MetricValue::Float(u));
    }
    if let Some(u) = mem {
        node.values
            .insert("memory/node_utilization", MetricValue::Float(u));
    }
}

/// A Kubernetes quantity (`14`, `500m`, `8024304Ki`, `16Gi`, `1.5`, `2e3`, `1M`) as a number;
/// `None` for anything else.
pub fn parse_quantity(text: &str) -> Option<f64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(t.len());
    let (number, suffix) = t.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        exp if exp.starts_with(['e', 'E']) => 10f64.powi(exp[1..].parse().ok()?),
        _ => return None,
    };
    Some(number * factor).filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(parse_quantity("14"), Some(14.0));
        assert_eq!(parse_quantity("500m"), Some(0.5));
        assert_eq!(parse_quantity("8024304Ki"), Some(8024304.0 * 1024.0));
        assert_eq!(parse_quantity("2Gi"), Some(2147483648.0));
        assert_eq!(parse_quantity("1.5"), Some(1.5));
        assert_eq!(parse_quantity("2e3"), Some(2000.0));
        assert_eq!(parse_quantity("1M"), Some(1e6));
        assert_eq!(parse_quantity("x"), None);
        assert_eq!(parse_quantity("5Zi"), None);
    }

    #[test]
    fn utilization_needs_the_rate_and_allocatable() {
        let info = NodeInfo {
            cpu_capacity_millis: Some(4000.0),
            cpu_allocatable_millis: Some(2000.0),
            memory_allocatable_bytes: Some(1000.0),
            ..NodeInfo::default()
        };
        let mut set = MetricSet {
            key: "node".into(),
            set_type: SetType::Node,
            tags: BTreeMap::new(),
            scrape_time: None,
            incarnation: String::new(),
            values: [("memory/usage", MetricValue::Int(250))]
                .into_iter()
                .collect(),
            filesystems: Vec::new(),
        };
        enrich(std::slice::from_mut(&mut set), &info);
        assert_eq!(set.values["cpu/node_capacity"], MetricValue::Float(4000.0));
        assert_eq!(
            set.values["memory/node_utilization"],
            MetricValue::Float(0.25)
        );
        assert!(
            !set.values.contains_key("cpu/node_utilization"),
            "no rate yet"
        );
        assert!(!set.values.contains_key("memory/node_capacity"), "unknown");
        set.values.insert("cpu/usage_rate", MetricValue::Int(500));
        enrich(std::slice::from_mut(&mut set), &info);
        assert_eq!(set.values["cpu/node_utilization"], MetricValue::Float(0.25));
    }

    #[test]
    fn tags_without_the_node_object_use_its_name() {
        let t = node_tags("n1", None);
        assert_eq!((t.hostname.as_str(), t.host_id.as_str()), ("n1", "n1"));
        assert_eq!(t.labels, None);
        let info = NodeInfo {
            hostname: Some("host-1".into()),
            external_id: Some("i-abc".into()),
            labels: vec![("b".into(), "2".into()), ("a".into(), "1".into())],
            ..NodeInfo::default()
        };
        let t = node_tags("n1", Some(&info));
        assert_eq!(t.hostname, "host-1");
        assert_eq!(t.host_id, "i-abc");
        assert_eq!(t.labels.as_deref(), Some("a:1,b:2"));
    }
}
