//! Counters of what the collector read and what it had to work around. Shared with the binary,
//! which exposes them; the first occurrence of each kind of bad input is logged, later ones are
//! only counted, so a broken file cannot flood the agent's own log.

use crate::counters::FirstSeen;
use std::sync::atomic::{AtomicBool, AtomicU64};

#[derive(Debug, Default)]
pub struct CollectorStats {
    pub bytes_read: AtomicU64,
    pub lines: AtomicU64,
    pub records: AtomicU64,
    pub merged: AtomicU64,
    pub merge_failed: AtomicU64,
    pub decode_errors: AtomicU64,
    pub bad_times: AtomicU64,
    pub empty_lines: AtomicU64,
    pub truncated: AtomicU64,
    pub invalid_utf8: AtomicU64,
    pub files_opened: AtomicU64,
    pub files_closed: AtomicU64,
    pub read_errors: AtomicU64,
    pub scan_errors: AtomicU64,
    pub truncations_detected: AtomicU64,
    pub checkpoint_errors: AtomicU64,
    /// Gauges, refreshed by the input as it works.
    pub files_tailed: AtomicU64,
    /// Bytes written to tailed files and not read yet.
    pub lag_bytes: AtomicU64,
    /// Unix milliseconds when the checkpoint file was last known to match delivered progress.
    pub checkpoints_current_at_ms: AtomicU64,
    /// Input has scanned its files at least once.
    pub started: AtomicBool,
    warned: FirstSeen<{ Problem::COUNT }>,
}

/// Kinds of bad input, each logged once.
#[derive(Debug, Clone, Copy)]
pub enum Problem {
    DecodeError,
    MergeFailed,
    BadTime,
    EmptyLine,
    Truncated,
    InvalidUtf8,
    ReadError,
    ScanError,
    CheckpointWrite,
}

impl Problem {
    const COUNT: usize = 9;

    fn counter(self, s: &CollectorStats) -> &AtomicU64 {
        match self {
            Problem::DecodeError => &s.decode_errors,
            Problem::MergeFailed => &s.merge_failed,
            Problem::BadTime => &s.bad_times,
            Problem::EmptyLine => &s.empty_lines,
            Problem::Truncated => &s.truncated,
            Problem::InvalidUtf8 => &s.invalid_utf8,
            Problem::ReadError => &s.read_errors,
            Problem::ScanError => &s.scan_errors,
            Problem::CheckpointWrite => &s.checkpoint_errors,
        }
    }
}

impl CollectorStats {
    /// Counts a problem; returns true the first time it is seen, when the caller should log it.
    pub fn problem(&self, p: Problem) -> bool {
        self.warned.count(p.counter(self), p as usize)
    }
}
