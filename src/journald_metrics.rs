//! Metrics of the journald input: its `input="journald"` series of the common input families
//! (records, bytes, problems, buffer, checkpoint age), and the series of its own (delivered
//! records, journalctl errors, whether journalctl runs).

use logship_collector::counters;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use logship_collector::journald::JournaldStats;
use logship_collector::MemoryGauge;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;

use crate::metrics::{counter, Labels};

pub const INPUT: &Labels<'static> = &[("input", "journald")];

#[derive(Debug)]
pub struct JournaldMetrics {
    pub stats: Arc<JournaldStats>,
    pub memory: MemoryGauge,
}

impl JournaldMetrics {
    pub fn get(&self, counter: impl Fn(&JournaldStats) -> &AtomicU64) -> u64 {
        counters::get(counter(&self.stats))
    }

    /// `logship_input_problems_total` kinds, the names the file input uses where they mean the
    /// same.
    pub fn problems(&self) -> [(&'static Labels<'static>, u64); 5] {
        let s = &self.stats;
        let g = counters::get;
        [
            (
                &[("input", "journald"), ("kind", "not_json")],
                g(&s.not_json),
            ),
            (
                &[("input", "journald"), ("kind", "oversized")],
                g(&s.oversized),
            ),
            (
                &[("input", "journald"), ("kind", "other_unit")],
                g(&s.other_unit),
            ),
            (
                &[("input", "journald"), ("kind", "bad_time")],
                g(&s.bad_times),
            ),
            (
                &[("input", "journald"), ("kind", "checkpoint_write")],
                g(&s.cursor_errors),
            ),
        ]
    }

    /// Seconds since the cursor file last matched delivered progress; `None` before the first
    /// write.
    pub fn checkpoint_age(&self) -> Option<i64> {
        let current = counters::get(&self.stats.cursor_current_at_ms);
        (current > 0).then(|| {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            (now.saturating_sub(current) / 1000) as i64
        })
    }
}

/// The journald input's own series (none when it is off).
pub fn encode(
    j: Option<&JournaldMetrics>,
    enc: &mut DescriptorEncoder,
) -> Result<(), std::fmt::Error> {
    let Some(j) = j else {
        return Ok(());
    };
    // Without labels (an empty label set would print as `{}`).
    let delivered = enc.encode_descriptor(
        "journald_delivered_records",
        "journald entries every output has settled: the cursor may move past them.",
        None,
        MetricType::Counter,
    )?;
    ConstCounter::new(j.get(|s| &s.delivered)).encode(delivered)?;
    counter(
        enc,
        "journald_errors",
        "journalctl could not be started (start) or ended by itself (exit); it is started again with backoff.",
        None,
        &[
            (&[("kind", "start")], j.get(|s| &s.start_errors)),
            (&[("kind", "exit")], j.get(|s| &s.exits)),
        ],
    )?;
    let running = enc.encode_descriptor(
        "journald_running",
        "1 while journalctl runs and its entries are read.",
        None,
        MetricType::Gauge,
    )?;
    ConstGauge::new(j.get(|s| &s.running) as i64).encode(running)
}
