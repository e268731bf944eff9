//! The counters and gauges every component keeps for the metrics endpoint: plain atomics, read
//! at scrape time, so counting costs an uncontended add and nothing else. Relaxed ordering:
//! each figure stands alone; none orders other memory.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

pub fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

pub fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

/// Sets a gauge.
pub fn set(gauge: &AtomicU64, v: u64) {
    gauge.store(v, Ordering::Relaxed);
}

/// Which kinds of problem were seen already: the first of each kind is logged, later ones only
/// counted, so a broken input cannot flood the agent's own log.
#[derive(Debug)]
pub struct FirstSeen<const KINDS: usize>([AtomicBool; KINDS]);

impl<const KINDS: usize> Default for FirstSeen<KINDS> {
    fn default() -> Self {
        FirstSeen(std::array::from_fn(|_| AtomicBool::new(false)))
    }
}

impl<const KINDS: usize> FirstSeen<KINDS> {
    /// Counts one problem of `kind` on `counter`; true the first time the kind is seen.
    pub fn count(&self, counter: &AtomicU64, kind: usize) -> bool {
        add(counter, 1);
        self.0
            .get(kind)
            .is_some_and(|seen| !seen.swap(true, Ordering::Relaxed))
    }
}
