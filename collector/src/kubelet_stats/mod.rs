//! Node, pod and container metrics from this node's kubelet (`GET /stats/summary`), written as
//! heapster wrote them to Elasticsearch, so that the Kibana index patterns and charts of the
//! original system (`heapster-cpu-*` on `CpuMetricsTimestamp`, …) work again.
//!
//! One job per file: [`summary`] is the kubelet's JSON; [`metric_set`] turns it into heapster's
//! metric sets and tags; [`rates`] makes rates from two samples; [`node_info`] adds what the
//! Node object says (capacity, utilization, labels); [`document`] writes heapster's
//! documents; [`sampler`] chains them for one sample; [`client`] reads the summary over HTTPS
//! with the service account's token; [`source`] is the interval loop that hands records to
//! the pipe; [`stats`] counts.
//!
//! The records are [`crate::RecordKind::Metric`] records whose `merged` object is the whole
//! document; the outputs write it to `heapster-<family>-YYYY.MM.DD` (Elasticsearch) or under
//! the tag `heapster.<family>` (forward).

pub mod client;
pub mod document;
pub mod metric_set;
pub mod node_info;
pub mod rates;
pub mod sampler;
pub mod source;
pub mod stats;
pub mod summary;

pub use client::{KubeletTls, ScrapeError};
pub use document::MetricDocument;
pub use node_info::NodeInfo;
pub use sampler::{Sample, Sampler};
pub use source::{records, start, KubeletStatsConfig, NodeApi, PodLabels};
pub use stats::KubeletStats;
pub use summary::Summary;
