//! Rates from two samples, as heapster's rate calculator made them: `cpu/usage_rate` in
//! millicores (integer, `1000 × Δns / Δt`), the others per second (`Δ / Δt`, float). A rate
//! needs the same object in the previous sample, measured strictly earlier, in the same
//! incarnation (a restarted container counts from zero again) and a counter that did not go
//! back; otherwise that rate is left out, never written as zero or negative. The first sample
//! of an object has no rates.

use std::collections::HashMap;

use super::metric_set::{MetricSet, MetricValue};
use crate::time::EventTime;

/// Counters and the rate each one gives.
pub const RATES: [(&str, &str); 7] = [
    ("cpu/usage", "cpu/usage_rate"),
    ("memory/page_faults", "memory/page_faults_rate"),
    ("memory/major_page_faults", "memory/major_page_faults_rate"),
    ("network/rx", "network/rx_rate"),
    ("network/rx_errors", "network/rx_errors_rate"),
    ("network/tx", "network/tx_rate"),
    ("network/tx_errors", "network/tx_errors_rate"),
];

struct Previous {
    scrape_time: EventTime,
    incarnation: String,
    counters: Vec<(&'static str, u64)>,
}

/// The counters of the previous sample, per object.
#[derive(Default)]
pub struct RateCalculator {
    previous: HashMap<String, Previous>,
}

impl RateCalculator {
    /// Adds the rates to `sets` and keeps their counters for the next sample (objects gone
    /// from this sample are forgotten).
    pub fn apply(&mut self, sets: &mut [MetricSet]) {
        let mut next = HashMap::with_capacity(sets.len());
        for set in sets.iter_mut() {
            let Some(now) = set.scrape_time else {
                continue;
            };
            if let Some(prev) = self.previous.get(&set.key) {
                add_rates(set, now, prev);
            }
            let counters = RATES
                .iter()
                .filter_map(|(counter, _)| match set.values.get(counter) {
                    Some(MetricValue::Int(v)) => Some((*counter, *v)),
                    _ => None,
                })
                .collect();
            next.insert(
                set.key.clone(),
                Previous {
                    scrape_time: now,
                    incarnation: set.incarnation.clone(),
                    counters,
                },
            );
        }
        self.previous = next;
    }
}

fn add_rates(set: &mut MetricSet, now: EventTime, prev: &Previous) {
    if now <= prev.scrape_time || set.incarnation != prev.incarnation {
        return;
    }
    let nanos = |t: EventTime| i128::from(t.secs) * 1_000_000_000 + i128::from(t.nanos);
    let dt = nanos(now) - nanos(prev.scrape_time);
    for (counter, rate) in RATES {
        let Some(MetricValue::Int(new)) = set.values.get(counter) else {
            continue;
        };
        let Some((_, old)) = prev.counters.iter().find(|(c, _)| *c == counter) else {
            continue;
        };
        let Some(delta) = new.checked_sub(*old) else {
            // The counter went back: a reset, not a negative rate.
            continue;
        };
        let value = if counter == "cpu/usage" {
            MetricValue::Int((1000 * i128::from(delta) / dt) as u64)
        } else {
            MetricValue::Float(delta as f64 * 1e9 / dt as f64)
        };
        set.values.insert(rate, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kubelet_stats::metric_set::SetType;
    use std::collections::BTreeMap;

    fn set(secs: i64, incarnation: &str, values: &[(&'static str, u64)]) -> MetricSet {
        MetricSet {
            key: "pod/ns/p/c".into(),
            set_type: SetType::PodContainer,
            tags: BTreeMap::new(),
            scrape_time: Some(EventTime { secs, nanos: 0 }),
            incarnation: incarnation.into(),
            values: values
                .iter()
                .map(|(k, v)| (*k, MetricValue::Int(*v)))
                .collect(),
            filesystems: Vec::new(),
        }
    }

    #[test]
    fn two_samples_give_exact_rates() {
        let mut rc = RateCalculator::default();
        let mut first = [set(
            1000,
            "s",
            &[
                ("cpu/usage", 5_000_000_000),
                ("network/rx", 1000),
                ("memory/page_faults", 10),
            ],
        )];
        rc.apply(&mut first);
        assert!(
            !first[0].values.contains_key("cpu/usage_rate"),
            "the first sample has no rate"
        );
        // 30 s of CPU in 60 s: half a core; 6000 bytes in 60 s: 100 B/s.
        let mut second = [set(
            1060,
            "s",
            &[
                ("cpu/usage", 35_000_000_000),
                ("network/rx", 7000),
                ("memory/page_faults", 13),
            ],
        )];
        rc.apply(&mut second);
        let v = &second[0].values;
        assert_eq!(v["cpu/usage_rate"], MetricValue::Int(500));
        assert_eq!(v["network/rx_rate"], MetricValue::Float(100.0));
        assert_eq!(v["memory/page_faults_rate"], MetricValue::Float(0.05));
        assert!(!v.contains_key("network/tx_rate"), "no counter, no rate");
    }

    #[test]
    fn millicores_are_truncated_as_heapster_did() {
        let mut rc = RateCalculator::default();
        rc.apply(&mut [set(0, "s", &[("cpu/usage", 0)])]);
        let mut s = [set(3, "s", &[("cpu/usage", 1_000_000_000)])];
        rc.apply(&mut s);
        assert_eq!(s[0].values["cpu/usage_rate"], MetricValue::Int(333));
    }

    #[test]
    fn no_rate_across_a_restart_a_reset_or_an_unchanged_sample() {
        let mut rc = RateCalculator::default();
        rc.apply(&mut [set(0, "a", &[("cpu/usage", 100), ("network/rx", 100)])]);
        let mut restarted = [set(60, "b", &[("cpu/usage", 200), ("network/rx", 200)])];
        rc.apply(&mut restarted);
        assert!(!restarted[0].values.contains_key("cpu/usage_rate"));
        let mut reset = [set(120, "b", &[("cpu/usage", 100), ("network/rx", 500)])];
        rc.apply(&mut reset);
        assert!(!reset[0].values.contains_key("cpu/usage_rate"), "went back");
        assert_eq!(reset[0].values["network/rx_rate"], MetricValue::Float(5.0));
        let mut same_time = [set(120, "b", &[("cpu/usage", 900)])];
        rc.apply(&mut same_time);
        assert!(!same_time[0].values.contains_key("cpu/usage_rate"));
    }
}
