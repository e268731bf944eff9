//! The kubelet's `/stats/summary` (API `stats/v1alpha1`), only the fields heapster read. Every
//! field is optional: kubelets of different versions leave different ones out (an old kubelet
//! has no pod-level CPU, no `rssBytes`, no `inodes`), and a missing value means "no metric",
//! never zero.

use serde::Deserialize;

use crate::time::EventTime;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Summary {
    pub node: NodeStats,
    pub pods: Vec<PodStats>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeStats {
    pub node_name: String,
    pub system_containers: Vec<ContainerStats>,
    pub start_time: Option<String>,
    pub cpu: Option<CpuStats>,
    pub memory: Option<MemoryStats>,
    pub network: Option<NetworkStats>,
    pub fs: Option<FsStats>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodStats {
    pub pod_ref: PodReference,
    pub start_time: Option<String>,
    pub containers: Vec<ContainerStats>,
    pub network: Option<NetworkStats>,
    #[serde(rename = "volume")]
    pub volumes: Vec<VolumeStats>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PodReference {
    pub name: String,
    pub namespace: String,
    pub uid: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContainerStats {
    pub name: String,
    pub start_time: Option<String>,
    pub cpu: Option<CpuStats>,
    pub memory: Option<MemoryStats>,
    pub rootfs: Option<FsStats>,
    pub logs: Option<FsStats>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CpuStats {
    pub time: Option<String>,
    /// Cumulative CPU time of all cores, in nanoseconds: heapster's `cpu/usage`.
    pub usage_core_nano_seconds: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MemoryStats {
    pub time: Option<String>,
    pub usage_bytes: Option<u64>,
    pub working_set_bytes: Option<u64>,
    pub rss_bytes: Option<u64>,
    pub page_faults: Option<u64>,
    pub major_page_faults: Option<u64>,
}

/// The default interface's counters (the summary's `interfaces` list is not read: heapster
/// reported the default interface only).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NetworkStats {
    pub time: Option<String>,
    pub rx_bytes: Option<u64>,
    pub rx_errors: Option<u64>,
    pub tx_bytes: Option<u64>,
    pub tx_errors: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FsStats {
    pub available_bytes: Option<u64>,
    pub capacity_bytes: Option<u64>,
    pub used_bytes: Option<u64>,
    pub inodes_free: Option<u64>,
    pub inodes: Option<u64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VolumeStats {
    pub name: String,
    #[serde(flatten)]
    pub fs: FsStats,
}

/// Why a body is not a summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotASummary(pub String);

impl Summary {
    /// Parses a `/stats/summary` body. A JSON document without a node name is refused: it is
    /// not a summary (a proxy's error page in JSON, an empty object).
    pub fn parse(body: &[u8]) -> Result<Summary, NotASummary> {
        let summary: Summary = serde_json::from_slice(body)
            .map_err(|e| NotASummary(format!("not a stats summary: {e}")))?;
        if summary.node.node_name.is_empty() {
            return Err(NotASummary(
                "not a stats summary: no node.nodeName".to_owned(),
            ));
        }
        Ok(summary)
    }
}

/// An RFC 3339 time of the summary; `None` when absent or unreadable (the metric set then has
/// no scrape time and gets no rates).
pub fn parse_time(t: Option<&str>) -> Option<EventTime> {
    t.and_then(EventTime::parse_rfc3339)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_non_summaries_are_refused() {
        assert!(Summary::parse(b"<html>502</html>").is_err());
        assert!(Summary::parse(b"{}").is_err());
        assert!(Summary::parse(br#"{"node":{"nodeName":"n"},"pods":[]}"#).is_ok());
    }

    #[test]
    fn missing_values_stay_missing() {
        let s = Summary::parse(
            br#"{"node":{"nodeName":"n","cpu":{"time":"2026-01-01T00:00:00Z"}},
                 "pods":[{"podRef":{"name":"p","namespace":"ns","uid":"u"},
                          "volume":[{"name":"v","usedBytes":5}]}]}"#,
        )
        .unwrap();
        let cpu = s.node.cpu.unwrap();
        assert_eq!(cpu.usage_core_nano_seconds, None);
        assert_eq!(s.pods[0].volumes[0].name, "v");
        assert_eq!(s.pods[0].volumes[0].fs.used_bytes, Some(5));
        assert_eq!(s.pods[0].volumes[0].fs.inodes, None);
    }
}
