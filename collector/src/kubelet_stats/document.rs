//! heapster's Elasticsearch documents: per metric set and family, one document
//! `{"<Family>MetricsTimestamp": t, "Metrics": {"<name>": {"value": x}, …}, "MetricsTags": {…}}`,
//! and one per filesystem (with `resource_id` in its tags). Keys are written sorted, as Go's
//! encoding/json wrote heapster's maps, and every document of a sample has the sample's time.
//! Floats are always written with a fraction (`14000.0`), so that an index mapped dynamically
//! maps a float metric as a float from its first document.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::metric_set::{MetricSet, MetricValue};
use crate::fingerprint::{fnv1a, FNV_OFFSET};
use crate::json_text::escape_into;
use crate::record::MetricFamily;
use crate::time::EventTime;

/// One heapster document.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDocument {
    pub family: MetricFamily,
    pub timestamp: EventTime,
    /// A hash of the family and the tags: with the timestamp, the document's identity (its
    /// Elasticsearch `_id`), the same however often the sample is sent.
    pub identity: u64,
    pub json: String,
}

fn family_of(name: &str) -> Option<MetricFamily> {
    let prefix = name.split('/').next()?;
    MetricFamily::ALL.into_iter().find(|f| f.name() == prefix)
}

/// The documents of `sets`, in order: per set, cpu, memory, network, then its filesystems.
pub fn documents(
    sets: &[MetricSet],
    timestamp: EventTime,
    cluster_name: &str,
) -> Vec<MetricDocument> {
    let time = go_time(timestamp);
    let mut out = Vec::new();
    for set in sets {
        let mut tags: BTreeMap<&str, &str> =
            set.tags.iter().map(|(k, v)| (*k, v.as_str())).collect();
        tags.insert("cluster_name", cluster_name);
        for family in [
            MetricFamily::Cpu,
            MetricFamily::Memory,
            MetricFamily::Network,
        ] {
            let metrics: Vec<(&str, MetricValue)> = set
                .values
                .iter()
                .filter(|(name, _)| family_of(name) == Some(family))
                .map(|(name, v)| (*name, *v))
                .collect();
            if !metrics.is_empty() {
                out.push(document(family, timestamp, &time, &tags, &metrics));
            }
        }
        for fs in &set.filesystems {
            let mut tags = tags.clone();
            tags.insert("resource_id", &fs.resource_id);
            let metrics: Vec<(&str, MetricValue)> = fs
                .values
                .iter()
                .map(|(name, v)| (*name, MetricValue::Int(*v)))
                .collect();
            out.push(document(
                MetricFamily::Filesystem,
                timestamp,
                &time,
                &tags,
                &metrics,
            ));
        }
    }
    out
}

fn document(
    family: MetricFamily,
    timestamp: EventTime,
    time: &str,
    tags: &BTreeMap<&str, &str>,
    metrics: &[(&str, MetricValue)],
) -> MetricDocument {
    let mut identity = fnv1a(FNV_OFFSET, family.name().as_bytes());
    let mut tags_json = String::from("{");
    for (i, (k, v)) in tags.iter().enumerate() {
        identity = fnv1a(fnv1a(fnv1a(identity, k.as_bytes()), b"\0"), v.as_bytes());
        identity = fnv1a(identity, b"\0");
        if i > 0 {
            tags_json.push(',');
        }
        push_string(&mut tags_json, k);
        tags_json.push(':');
        push_string(&mut tags_json, v);
    }
    tags_json.push('}');
    let mut metrics_json = String::from("{");
    let mut sorted: Vec<&(&str, MetricValue)> = metrics.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    for (i, (name, value)) in sorted.into_iter().enumerate() {
        if i > 0 {
            metrics_json.push(',');
        }
        push_string(&mut metrics_json, name);
        metrics_json.push_str(":{\"value\":");
        match value {
            MetricValue::Int(v) => {
                let _ = write!(metrics_json, "{v}");
            }
            MetricValue::Float(v) => metrics_json.push_str(&float(*v)),
        }
        metrics_json.push('}');
    }
    metrics_json.push('}');
    let mut time_json = String::new();
    push_string(&mut time_json, time);
    let fields: BTreeMap<&str, &str> = [
        (family.timestamp_key(), time_json.as_str()),
        ("Metrics", metrics_json.as_str()),
        ("MetricsTags", tags_json.as_str()),
    ]
    .into_iter()
    .collect();
    let mut json = String::from("{");
    for (i, (k, v)) in fields.into_iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        push_string(&mut json, k);
        json.push(':');
        json.push_str(v);
    }
    json.push('}');
    MetricDocument {
        family,
        timestamp,
        identity,
        json,
    }
}

fn push_string(out: &mut String, s: &str) {
    out.push('"');
    escape_into(s, out);
    out.push('"');
}

/// The shortest text that reads back as `v`, always with a fraction or an exponent.
fn float(v: f64) -> String {
    if !v.is_finite() {
        return "null".to_owned();
    }
    // serde_json writes floats with ryu: `14000.0`, `0.05`, `1e-7`.
    serde_json::to_string(&v).unwrap_or_else(|_| "null".to_owned())
}

/// Go's RFC3339Nano in UTC, as heapster's timestamps were marshalled: `…:35Z`, or with the
/// fraction's trailing zeros trimmed (`…:35.5Z`).
pub fn go_time(t: EventTime) -> String {
    let full = t.to_rfc3339_nanos();
    // `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`
    match full.split_once('.') {
        Some((head, frac)) => {
            let digits = frac.trim_end_matches('Z').trim_end_matches('0');
            if digits.is_empty() {
                format!("{head}Z")
            } else {
                format!("{head}.{digits}Z")
            }
        }
        None => full,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubelet_stats::metric_set::{Filesystem, SetType};

    fn set() -> MetricSet {
        MetricSet {
            key: "node".into(),
            set_type: SetType::Node,
            tags: [
                ("type", "node".to_owned()),
                ("nodename", "n\"1".to_owned()),
                ("hostname", "h".to_owned()),
                ("host_id", "h".to_owned()),
            ]
            .into_iter()
            .collect(),
            scrape_time: None,
            incarnation: String::new(),
            values: [
                ("cpu/usage", MetricValue::Int(5)),
                ("cpu/node_capacity", MetricValue::Float(14000.0)),
                ("network/rx_rate", MetricValue::Float(0.5)),
            ]
            .into_iter()
            .collect(),
            filesystems: vec![Filesystem {
                resource_id: "/".into(),
                values: [("filesystem/usage", 7)].into_iter().collect(),
            }],
        }
    }

    #[test]
    fn heapsters_shape_with_sorted_keys() {
        let t = EventTime::parse_rfc3339("2026-06-26T10:14:35Z").unwrap();
        let docs = documents(&[set()], t, "default");
        let families: Vec<_> = docs.iter().map(|d| d.family).collect();
        assert_eq!(
            families,
            [
                MetricFamily::Cpu,
                MetricFamily::Network,
                MetricFamily::Filesystem
            ]
        );
        assert_eq!(
            docs[0].json,
            concat!(
                r#"{"CpuMetricsTimestamp":"2026-06-26T10:14:35Z","#,
                r#""Metrics":{"cpu/node_capacity":{"value":14000.0},"cpu/usage":{"value":5}},"#,
                r#""MetricsTags":{"cluster_name":"default","host_id":"h","hostname":"h","nodename":"n\"1","type":"node"}}"#
            )
        );
        assert!(docs[1]
            .json
            .starts_with(r#"{"Metrics":{"network/rx_rate":{"value":0.5}},"MetricsTags":"#));
        assert!(docs[1]
            .json
            .ends_with(r#","NetworkMetricsTimestamp":"2026-06-26T10:14:35Z"}"#));
        assert!(docs[2].json.contains(r#""resource_id":"/""#));
        // The identity follows the tags, not the values or the time.
        let mut other = set();
        other.values.insert("cpu/usage", MetricValue::Int(6));
        let later = EventTime {
            secs: t.secs + 60,
            nanos: 0,
        };
        let again = documents(&[other], later, "default");
        assert_eq!(again[0].identity, docs[0].identity);
        assert_ne!(docs[0].identity, docs[1].identity, "another family");
        let renamed = documents(&[set()], t, "prod");
        assert_ne!(renamed[0].identity, docs[0].identity);
        for d in &docs {
            serde_json::from_str::<serde_json::Value>(&d.json).unwrap();
        }
    }

    #[test]
    fn go_style_times() {
        let t = |s| go_time(EventTime::parse_rfc3339(s).unwrap());
        assert_eq!(t("2026-06-26T10:14:35Z"), "2026-06-26T10:14:35Z");
        assert_eq!(t("2026-06-26T10:14:35.500Z"), "2026-06-26T10:14:35.5Z");
        assert_eq!(
            t("2026-06-26T10:14:35.000000001Z"),
            "2026-06-26T10:14:35.000000001Z"
        );
    }
}
