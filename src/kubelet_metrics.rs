//! Metrics of the kubelet metrics source (its records and buffer are the common `input_*` and
//! `buffer_*` series with `input="kubelet"`).

use logship_collector::counters;
use std::time::{SystemTime, UNIX_EPOCH};

use logship_collector::kubelet_stats::KubeletStats;
use logship_collector::MetricFamily;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

use crate::metrics::counter;

pub fn encode(k: &KubeletStats, enc: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    let g = counters::get;
    ConstCounter::new(g(&k.scrapes)).encode(enc.encode_descriptor(
        "kubelet_scrapes",
        "Stats summaries read from the kubelet.",
        None,
        MetricType::Counter,
    )?)?;
    ConstCounter::new(g(&k.unchanged)).encode(enc.encode_descriptor(
        "kubelet_unchanged_scrapes",
        "Summaries equal to the previous one (the kubelet had not measured again): nothing written.",
        None,
        MetricType::Counter,
    )?)?;
    let families: Vec<[(&'static str, &str); 1]> = MetricFamily::ALL
        .iter()
        .map(|f| [("family", f.name())])
        .collect();
    let documents: Vec<(&crate::metrics::Labels, u64)> = families
        .iter()
        .zip(MetricFamily::ALL)
        .map(|(l, f)| (&l[..], g(k.documents_of(f))))
        .collect();
    counter(
        enc,
        "kubelet_documents",
        "heapster documents made from the summaries, by family (index heapster-<family>-*).",
        None,
        &documents,
    )?;
    let errors = k.errors();
    let kinds: Vec<[(&'static str, &str); 1]> =
        errors.iter().map(|(kind, _)| [("kind", *kind)]).collect();
    let series: Vec<(&crate::metrics::Labels, u64)> = kinds
        .iter()
        .zip(errors)
        .map(|(l, (_, n))| (&l[..], n))
        .collect();
    counter(
        enc,
        "kubelet_errors",
        "Failed reads, by kind: token, unreachable, http_status (401, 403, ...), bad_summary, node_info. The next interval tries again.",
        None,
        &series,
    )?;
    let last = g(&k.last_scrape_ms);
    if last > 0 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        ConstGauge::new((now.saturating_sub(last) / 1000) as i64).encode(
            enc.encode_descriptor(
                "kubelet_last_scrape_age",
                "Seconds since a stats summary was last read.",
                Some(&Unit::Seconds),
                MetricType::Gauge,
            )?,
        )?;
    }
    Ok(())
}
