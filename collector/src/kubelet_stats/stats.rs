//! Counters of the kubelet metrics source, read by the agent's `/metrics`.

use crate::counters;
use std::sync::atomic::AtomicU64;

use super::client::ScrapeError;
use crate::record::MetricFamily;

#[derive(Debug, Default)]
pub struct KubeletStats {
    /// Summaries read and turned into documents.
    pub scrapes: AtomicU64,
    /// Summaries equal to the previous one (the kubelet had not measured again): skipped.
    pub unchanged: AtomicU64,
    /// Documents handed to the outputs, by family (`MetricFamily::ALL` order).
    pub documents: [AtomicU64; 4],
    pub token_errors: AtomicU64,
    pub unreachable_errors: AtomicU64,
    pub status_errors: AtomicU64,
    pub bad_summary_errors: AtomicU64,
    /// Failed reads of the Node object (capacity, labels); the documents go out without them.
    pub node_info_errors: AtomicU64,
    /// Unix milliseconds of the last summary read; 0 before the first.
    pub last_scrape_ms: AtomicU64,
}

impl KubeletStats {
    pub fn documents_of(&self, family: MetricFamily) -> &AtomicU64 {
        let i = MetricFamily::ALL
            .iter()
            .position(|f| *f == family)
            .unwrap_or(0);
        &self.documents[i]
    }

    pub fn count_error(&self, e: &ScrapeError) {
        let counter = match e {
            ScrapeError::Token(_) => &self.token_errors,
            ScrapeError::Unreachable(_) => &self.unreachable_errors,
            ScrapeError::Status(..) => &self.status_errors,
            ScrapeError::BadSummary(_) => &self.bad_summary_errors,
        };
        counters::add(counter, 1);
    }

    /// `(kind, count)` of every error kind, as the error counter's labels.
    pub fn errors(&self) -> [(&'static str, u64); 5] {
        let g = counters::get;
        [
            ("token", g(&self.token_errors)),
            ("unreachable", g(&self.unreachable_errors)),
            ("http_status", g(&self.status_errors)),
            ("bad_summary", g(&self.bad_summary_errors)),
            ("node_info", g(&self.node_info_errors)),
        ]
    }
}
