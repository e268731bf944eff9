//! One summary in, heapster's documents out: decode, rates against the previous sample, pod
//! totals, the node's capacity figures, documents. Holds what must outlive a sample: the
//! previous counters and the time of the previous sample.

use std::sync::Arc;

use super::document::{documents, MetricDocument};
use super::metric_set::{aggregate_pods, decode, SetType};
use super::node_info::{enrich, node_tags, NodeInfo};
use super::rates::RateCalculator;
use super::summary::Summary;
use crate::kube::PodMeta;
use crate::time::EventTime;

/// What became of a summary.
#[derive(Debug)]
pub enum Sample {
    Documents(Vec<MetricDocument>),
    /// The kubelet answered the sample it answered last time (its stats are refreshed every
    /// 10 to 15 s): nothing new to write.
    Unchanged,
}

pub struct Sampler {
    cluster_name: String,
    rates: RateCalculator,
    last: Option<EventTime>,
}

impl Sampler {
    pub fn new(cluster_name: impl Into<String>) -> Sampler {
        Sampler {
            cluster_name: cluster_name.into(),
            rates: RateCalculator::default(),
            last: None,
        }
    }

    /// The documents of `summary`. Every document carries the time the kubelet measured the
    /// node (its CPU, else memory, else network time; the time of the call when it gives
    /// none), so that a sample has one timestamp and the same sample the same documents.
    pub fn sample(
        &mut self,
        summary: &Summary,
        node: Option<&NodeInfo>,
        pods: &dyn Fn(&str, &str) -> Option<Arc<PodMeta>>,
    ) -> Sample {
        let tags = node_tags(&summary.node.node_name, node);
        let mut sets = decode(summary, &tags, pods);
        let measured = sets
            .iter()
            .find(|s| s.set_type == SetType::Node)
            .and_then(|s| s.scrape_time);
        if measured.is_some() && measured == self.last {
            return Sample::Unchanged;
        }
        self.last = measured;
        self.rates.apply(&mut sets);
        aggregate_pods(&mut sets);
        if let Some(info) = node {
            enrich(&mut sets, info);
        }
        let timestamp = measured.unwrap_or_else(EventTime::now);
        Sample::Documents(documents(&sets, timestamp, &self.cluster_name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(t: &str, usage: u64) -> Summary {
        Summary::parse(
            format!(
                r#"{{"node":{{"nodeName":"n1","cpu":{{"time":"{t}","usageCoreNanoSeconds":{usage}}},
                     "memory":{{"time":"{t}","usageBytes":500}}}}}}"#
            )
            .as_bytes(),
        )
        .unwrap()
    }

    fn docs(s: Sample) -> Vec<MetricDocument> {
        match s {
            Sample::Documents(d) => d,
            Sample::Unchanged => panic!("unchanged"),
        }
    }

    #[test]
    fn rates_then_utilization_and_an_unchanged_sample_writes_nothing() {
        let info = NodeInfo {
            cpu_allocatable_millis: Some(2000.0),
            memory_allocatable_bytes: Some(1000.0),
            ..NodeInfo::default()
        };
        let none = |_: &str, _: &str| None;
        let mut s = Sampler::new("default");
        let first = docs(s.sample(&summary("2026-01-01T00:00:00Z", 0), Some(&info), &none));
        assert!(!first[0].json.contains("usage_rate"), "{}", first[0].json);
        assert!(
            !first[0].json.contains("cpu/node_utilization"),
            "{}",
            first[0].json
        );
        assert!(first[1]
            .json
            .contains(r#""memory/node_utilization":{"value":0.5}"#));
        assert!(matches!(
            s.sample(&summary("2026-01-01T00:00:00Z", 0), Some(&info), &none),
            Sample::Unchanged
        ));
        let second = docs(s.sample(
            &summary("2026-01-01T00:01:00Z", 60_000_000_000),
            Some(&info),
            &none,
        ));
        assert!(
            second[0]
                .json
                .contains(r#""cpu/usage_rate":{"value":1000}"#),
            "{}",
            second[0].json
        );
        assert!(
            second[0]
                .json
                .contains(r#""cpu/node_utilization":{"value":0.5}"#),
            "{}",
            second[0].json
        );
        assert_eq!(second[0].timestamp.secs, first[0].timestamp.secs + 60);
        assert_eq!(second[0].identity, first[0].identity);
    }
}
