//! Counters of one output.

use std::sync::atomic::AtomicU64;

#[derive(Debug, Default)]
pub struct OutputStats {
    /// Records acknowledged by the destination.
    pub records_out: AtomicU64,
    /// Bytes of request bodies acknowledged.
    pub bytes_out: AtomicU64,
    pub requests: AtomicU64,
    /// Requests or items sent again.
    pub retries: AtomicU64,
    /// Failed requests (transport errors, error statuses, unreadable answers).
    pub errors: AtomicU64,
    pub dead_lettered: AtomicU64,
    /// Records given up on after the retry limit.
    pub dropped: AtomicU64,
}
