//! Counters of the pod metadata: what the watch did and what it cost the records. Shared with
//! the binary, which exposes them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct KubeStats {
    /// Failed list or watch requests (each retried with backoff). A watch that fell too far
    /// behind (410 Gone) is not a failure: it is counted in `relists`.
    pub api_errors: AtomicU64,
    /// Full lists of the node's pods: the first one, and one after each lost watch.
    pub relists: AtomicU64,
    /// Watch events handled (added, modified, deleted pods).
    pub events: AtomicU64,
    /// Pods of this node in the cache now (a gauge).
    pub pods: AtomicU64,
    /// The cache has been listed and no request failed since (a gauge).
    pub synced: AtomicBool,
    /// Records of excluded pods, dropped (their files' checkpoints move on all the same).
    pub records_excluded: AtomicU64,
    /// Files whose pod was still unknown when their wait ran out: their records shipped with
    /// the file-name fields only, until the pod showed up.
    pub waits_expired: AtomicU64,
}

impl KubeStats {
    pub fn is_synced(&self) -> bool {
        self.synced.load(Ordering::Relaxed)
    }
}
