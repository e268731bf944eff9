//! Metrics of the fluent forward protocol: the forward output's spool and connections (its
//! records, bytes, errors and drops are the common `output_*` series with `output="forward"`),
//! and the forward input's counters.

use logship_collector::counters;
use logship_collector::forward_input::ForwardInputStats;
use logship_forwarder::ForwardStats;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

use crate::metrics::counter;

pub fn encode(
    output: Option<&ForwardStats>,
    input: Option<&ForwardInputStats>,
    enc: &mut DescriptorEncoder,
) -> Result<(), std::fmt::Error> {
    if let Some(f) = output {
        let g = counters::get;
        one(
            enc,
            "forward_spooled_records",
            "Records the forward output wrote to its spool (the server was down or behind).",
            None,
            MetricType::Counter,
            g(&f.spooled_records),
        )?;
        one(enc, "forward_spool_dropped_records", "Records dropped from the forward spool: it was full (the oldest go) or could not be written. Elasticsearch is not affected.", None, MetricType::Counter, g(&f.spool_dropped_records))?;
        one(
            enc,
            "forward_spool_damaged",
            "Damaged or cut-short spool data found and dropped (a crash while writing).",
            None,
            MetricType::Counter,
            g(&f.spool_damaged),
        )?;
        one(
            enc,
            "forward_connections",
            "Connections made to the forward server.",
            None,
            MetricType::Counter,
            g(&f.connections),
        )?;
        one(
            enc,
            "forward_spool",
            "Disk used by the forward spool.",
            Some(&Unit::Bytes),
            MetricType::Gauge,
            g(&f.spool_bytes),
        )?;
        one(
            enc,
            "forward_spool_chunks",
            "Chunks in the forward spool not delivered yet.",
            None,
            MetricType::Gauge,
            g(&f.spool_chunks),
        )?;
    }
    if let Some(i) = input {
        let g = counters::get;
        one(
            enc,
            "forward_input_connections",
            "Connections accepted by the forward input.",
            None,
            MetricType::Counter,
            g(&i.connections),
        )?;
        one(
            enc,
            "forward_input_refused_connections",
            "Connections closed at once: too many were open.",
            None,
            MetricType::Counter,
            g(&i.refused_connections),
        )?;
        one(
            enc,
            "forward_input_messages",
            "Forward-protocol messages received.",
            None,
            MetricType::Counter,
            g(&i.messages),
        )?;
        one(
            enc,
            "forward_input_records",
            "Records received over the forward protocol.",
            None,
            MetricType::Counter,
            g(&i.records),
        )?;
        one(
            enc,
            "forward_input",
            "Bytes received by the forward input.",
            Some(&Unit::Bytes),
            MetricType::Counter,
            g(&i.bytes),
        )?;
        counter(
            enc,
            "forward_input_errors",
            "Connections closed for bad input, by kind.",
            None,
            &[
                (&[("kind", "malformed")], g(&i.malformed)),
                (&[("kind", "oversized")], g(&i.oversized)),
            ],
        )?;
        one(
            enc,
            "forward_input_acks",
            "Acks sent (each once the outputs had the message's records).",
            None,
            MetricType::Counter,
            g(&i.acks),
        )?;
        one(
            enc,
            "forward_input_heartbeats",
            "UDP heartbeats answered.",
            None,
            MetricType::Counter,
            g(&i.heartbeats),
        )?;
    }
    Ok(())
}

/// A series without labels.
fn one(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    kind: MetricType,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let metric = enc.encode_descriptor(name, help, unit, kind)?;
    match kind {
        MetricType::Gauge => ConstGauge::new(value as i64).encode(metric),
        _ => ConstCounter::new(value).encode(metric),
    }
}
