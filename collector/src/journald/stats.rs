//! Counters of the journald input, read by the binary's metrics at scrape time. The first
//! problem of each kind is logged; later ones are only counted, so a broken journal cannot
//! flood the agent's own log.

use crate::counters::FirstSeen;
use std::sync::atomic::AtomicU64;

#[derive(Debug, Default)]
pub struct JournaldStats {
    /// Entries handed to the outputs.
    pub records: AtomicU64,
    /// Bytes of journalctl's JSON read.
    pub bytes: AtomicU64,
    /// Records every output has settled (the cursor may move past them).
    pub delivered: AtomicU64,
    /// Entries of a unit not in the list (journalctl's match should let none through).
    pub other_unit: AtomicU64,
    /// Lines that were not a journal entry in JSON (no object, no cursor).
    pub not_json: AtomicU64,
    /// Entries longer than the longest record, skipped.
    pub oversized: AtomicU64,
    /// Entries without a readable `__REALTIME_TIMESTAMP` (shipped with the time of reading).
    pub bad_times: AtomicU64,
    /// Failed writes of the cursor file.
    pub cursor_errors: AtomicU64,
    /// journalctl could not be started (not installed, not executable).
    pub start_errors: AtomicU64,
    /// journalctl ended while the agent was running (it is started again).
    pub exits: AtomicU64,
    /// 1 while journalctl runs.
    pub running: AtomicU64,
    /// Unix milliseconds when the cursor file was last known to match delivered progress.
    pub cursor_current_at_ms: AtomicU64,
    warned: FirstSeen<{ Problem::COUNT }>,
}

/// Kinds of bad input, each logged once.
#[derive(Debug, Clone, Copy)]
pub enum Problem {
    OtherUnit,
    NotJson,
    Oversized,
    BadTime,
    CursorWrite,
}

impl Problem {
    const COUNT: usize = 5;

    fn counter(self, s: &JournaldStats) -> &AtomicU64 {
        match self {
            Problem::OtherUnit => &s.other_unit,
            Problem::NotJson => &s.not_json,
            Problem::Oversized => &s.oversized,
            Problem::BadTime => &s.bad_times,
            Problem::CursorWrite => &s.cursor_errors,
        }
    }
}

impl JournaldStats {
    /// Counts a problem; returns true the first time it is seen, when the caller should log it.
    pub fn problem(&self, p: Problem) -> bool {
        self.warned.count(p.counter(self), p as usize)
    }
}
