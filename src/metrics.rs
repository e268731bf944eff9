//! The agent's own metrics, in Prometheus text format. Counters live as atomics in the inputs
//! and outputs (cheap on the hot path); this collector reads them at scrape time.

use logship_collector::counters;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use logship_collector::kube::KubeStats;
use logship_collector::kubelet_stats::KubeletStats;
use logship_collector::{CollectorStats, MemoryGauge};
use logship_forwarder::OutputStats;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use crate::journald_metrics::{self, JournaldMetrics};

/// Everything the agent counts.
#[derive(Debug)]
pub struct AgentMetrics {
    pub input: Arc<CollectorStats>,
    pub memory: MemoryGauge,
    /// One entry per output: its name (`elasticsearch`, `stdout`, …) and its counters.
    pub outputs: Vec<(&'static str, Arc<OutputStats>)>,
    /// The forward output's spool and connections, when it is on.
    pub forward: Option<Arc<logship_forwarder::ForwardStats>>,
    /// The forward input's counters, when it is on.
    pub forward_input: Option<Arc<logship_collector::forward_input::ForwardInputStats>>,
    /// Pod metadata from the Kubernetes API (all zero when it is off).
    pub kube: Arc<KubeStats>,
    /// The kubelet metrics source's counters and memory, when it runs.
    pub kubelet: Option<(Arc<KubeletStats>, MemoryGauge)>,
    /// The journald input, when it is on.
    pub journald: Option<JournaldMetrics>,
}

pub fn registry(metrics: AgentMetrics) -> Registry {
    let mut registry = Registry::with_prefix("logship");
    registry.register_collector(Box::new(metrics));
    registry
}

pub(crate) type Labels<'a> = [(&'static str, &'a str)];

pub(crate) fn counter(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    series: &[(&Labels, u64)],
) -> Result<(), std::fmt::Error> {
    let mut metric = enc.encode_descriptor(name, help, unit, MetricType::Counter)?;
    for (labels, value) in series {
        let family = metric.encode_family(labels)?;
        ConstCounter::new(*value).encode(family)?;
    }
    Ok(())
}

fn gauge(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    series: &[(&Labels, i64)],
) -> Result<(), std::fmt::Error> {
    let mut metric = enc.encode_descriptor(name, help, unit, MetricType::Gauge)?;
    for (labels, value) in series {
        let family = metric.encode_family(labels)?;
        ConstGauge::new(*value).encode(family)?;
    }
    Ok(())
}

impl Collector for AgentMetrics {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let i = &self.input;
        let g = counters::get;
        let files: &Labels = &[("input", "files")];
        let kubelet: &Labels = &[("input", "kubelet")];
        let j = self.journald.as_ref();
        // The files' series, and the journald input's when it is on.
        let inputs = |file_value: u64, journald: fn(&JournaldMetrics) -> u64| {
            let mut series = vec![(files, file_value)];
            series.extend(j.map(|j| (journald_metrics::INPUT, journald(j))));
            series
        };
        let mut records = inputs(g(&i.records), |j| j.get(|s| &s.records));
        if let Some((k, _)) = &self.kubelet {
            records.push((kubelet, k.documents.iter().map(counters::get).sum()));
        }
        counter(
            &mut enc,
            "input_records",
            "Records produced by an input (split lines count once; one per metrics document).",
            None,
            &records,
        )?;
        counter(
            &mut enc,
            "input_lines",
            "Physical lines read by an input.",
            None,
            &[(files, g(&i.lines))],
        )?;
        counter(
            &mut enc,
            "input",
            "Bytes read by an input.",
            Some(&Unit::Bytes),
            &inputs(g(&i.bytes_read), |j| j.get(|s| &s.bytes)),
        )?;
        counter(
            &mut enc,
            "input_merged_records",
            "Records whose log was a JSON object and was merged.",
            None,
            &[(files, g(&i.merged))],
        )?;
        counter(
            &mut enc,
            "input_problems",
            "Bad input worked around, by kind (each kind is logged once).",
            None,
            &[
                (
                    &[("input", "files"), ("kind", "not_in_format")],
                    g(&i.decode_errors),
                ),
                (
                    &[("input", "files"), ("kind", "json_not_merged")],
                    g(&i.merge_failed),
                ),
                (&[("input", "files"), ("kind", "bad_time")], g(&i.bad_times)),
                (
                    &[("input", "files"), ("kind", "empty_line")],
                    g(&i.empty_lines),
                ),
                (
                    &[("input", "files"), ("kind", "truncated")],
                    g(&i.truncated),
                ),
                (
                    &[("input", "files"), ("kind", "invalid_utf8")],
                    g(&i.invalid_utf8),
                ),
                (
                    &[("input", "files"), ("kind", "read_error")],
                    g(&i.read_errors),
                ),
                (
                    &[("input", "files"), ("kind", "scan_error")],
                    g(&i.scan_errors),
                ),
                (
                    &[("input", "files"), ("kind", "checkpoint_write")],
                    g(&i.checkpoint_errors),
                ),
            ]
            .into_iter()
            .map(|(labels, v)| (&labels[..], v))
            .chain(j.into_iter().flat_map(JournaldMetrics::problems))
            .collect::<Vec<_>>(),
        )?;
        counter(
            &mut enc,
            "files_opened",
            "Files opened for tailing.",
            None,
            &[(files, g(&i.files_opened))],
        )?;
        counter(
            &mut enc,
            "files_closed",
            "Files finished and closed (rotated away or deleted).",
            None,
            &[(files, g(&i.files_closed))],
        )?;
        counter(
            &mut enc,
            "file_truncations",
            "Files found truncated (copytruncate) and read again from the start.",
            None,
            &[(files, g(&i.truncations_detected))],
        )?;
        gauge(
            &mut enc,
            "files_tailed",
            "Files being tailed.",
            None,
            &[(files, g(&i.files_tailed) as i64)],
        )?;
        gauge(
            &mut enc,
            "input_lag",
            "Bytes written to tailed files and not read yet.",
            Some(&Unit::Bytes),
            &[(files, g(&i.lag_bytes) as i64)],
        )?;
        let mut buffers = vec![(files, &self.memory)];
        if let Some((_, memory)) = &self.kubelet {
            buffers.push((kubelet, memory));
        }
        if let Some(j) = j {
            buffers.push((journald_metrics::INPUT, &j.memory));
        }
        let in_use: Vec<(&Labels, i64)> = buffers
            .iter()
            .map(|(l, m)| (*l, m.in_use() as i64))
            .collect();
        let limits: Vec<(&Labels, i64)> = buffers
            .iter()
            .map(|(l, m)| (*l, m.limit() as i64))
            .collect();
        gauge(
            &mut enc,
            "buffer",
            "Memory held by records in flight.",
            Some(&Unit::Bytes),
            &in_use,
        )?;
        gauge(
            &mut enc,
            "buffer_limit",
            "The bound on memory held by records in flight.",
            Some(&Unit::Bytes),
            &limits,
        )?;
        let current = g(&i.checkpoints_current_at_ms);
        let mut ages = Vec::new();
        if current > 0 {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            ages.push((files, (now.saturating_sub(current) / 1000) as i64));
        }
        ages.extend(j.and_then(|j| Some((journald_metrics::INPUT, j.checkpoint_age()?))));
        if !ages.is_empty() {
            gauge(
                &mut enc,
                "checkpoint_age",
                "Seconds since the checkpoint file last matched delivered progress.",
                Some(&Unit::Seconds),
                &ages,
            )?;
        }

        let o = counters::get;
        let labels: Vec<[(&'static str, &str); 1]> = self
            .outputs
            .iter()
            .map(|(name, _)| [("output", *name)])
            .collect();
        let per_output =
            |f: fn(&OutputStats) -> &std::sync::atomic::AtomicU64| -> Vec<(&Labels, u64)> {
                labels
                    .iter()
                    .zip(&self.outputs)
                    .map(|(l, (_, s))| (&l[..], o(f(s))))
                    .collect()
            };
        counter(
            &mut enc,
            "output_records",
            "Records the destination acknowledged.",
            None,
            &per_output(|s| &s.records_out),
        )?;
        counter(
            &mut enc,
            "output",
            "Bytes of request bodies the destination acknowledged.",
            Some(&Unit::Bytes),
            &per_output(|s| &s.bytes_out),
        )?;
        counter(
            &mut enc,
            "output_requests",
            "Requests sent.",
            None,
            &per_output(|s| &s.requests),
        )?;
        counter(
            &mut enc,
            "output_retries",
            "Requests (or parts of them) sent again after a failure.",
            None,
            &per_output(|s| &s.retries),
        )?;
        counter(
            &mut enc,
            "output_errors",
            "Failed requests: connection errors, error statuses, unreadable answers.",
            None,
            &per_output(|s| &s.errors),
        )?;
        counter(
            &mut enc,
            "output_dead_lettered_records",
            "Records the destination refused for good, kept in the dead-letter file.",
            None,
            &per_output(|s| &s.dead_lettered),
        )?;
        counter(
            &mut enc,
            "output_dropped_records",
            "Records given up on after the retry limit.",
            None,
            &per_output(|s| &s.dropped),
        )?;

        encode_kube(&self.kube, &mut enc)?;
        if let Some((k, _)) = &self.kubelet {
            crate::kubelet_metrics::encode(k, &mut enc)?;
        }
        crate::forward_metrics::encode(
            self.forward.as_deref(),
            self.forward_input.as_deref(),
            &mut enc,
        )?;
        journald_metrics::encode(j, &mut enc)?;

        let mut info =
            enc.encode_descriptor("build", "Build information.", None, MetricType::Info)?;
        info.encode_info(&[("version", env!("CARGO_PKG_VERSION"))])?;
        Ok(())
    }
}

fn encode_kube(k: &KubeStats, enc: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    // One series each, without labels (an empty label set would print as `{}`).
    let mut counter = |name: &str, help: &str, v: u64| {
        ConstCounter::new(v).encode(enc.encode_descriptor(name, help, None, MetricType::Counter)?)
    };
    let g = counters::get;
    counter("kube_api_errors", "Failed Kubernetes API requests for pod metadata, each retried with backoff (each kind is logged once).", g(&k.api_errors))?;
    counter(
        "kube_relists",
        "Full lists of this node's pods: the first, and one after each lost watch (410 Gone).",
        g(&k.relists),
    )?;
    counter("kube_events", "Pod watch events handled.", g(&k.events))?;
    counter(
        "kube_excluded_records",
        "Records of pods annotated logship.io/exclude or fluentbit.io/exclude, dropped.",
        g(&k.records_excluded),
    )?;
    counter("kube_waits_expired", "Files whose pod was still unknown after LOGSHIP_KUBE_WAIT: shipped with the file-name fields until it showed up.", g(&k.waits_expired))?;
    let mut gauge = |name: &str, help: &str, v: i64| {
        ConstGauge::new(v).encode(enc.encode_descriptor(name, help, None, MetricType::Gauge)?)
    };
    gauge(
        "kube_pods",
        "Pods of this node in the metadata cache.",
        g(&k.pods) as i64,
    )?;
    gauge(
        "kube_synced",
        "1 while the pod metadata cache is listed and no API request failed since.",
        i64::from(k.is_synced()),
    )
}
