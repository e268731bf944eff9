//! The metrics source's loop: every interval, read the summary, read the Node object when it
//! is due, turn the sample into documents and hand them to the outputs through the pipe (its
//! own memory bound, like every input). A failure is counted and logged (the first of a kind
//! at once, then at most every ten minutes, and the recovery), and the next interval tries
//! again; nothing here stops the rest of the agent.
//!
//! No checkpoint: a sample lost in a crash or while the outputs are full is a gap of one
//! interval in the charts, which heapster had as well.

use crate::counters;
use crate::time_text::TimeText;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Node;
use tokio::sync::watch;

use super::client::{KubeletClient, KubeletTls};
use super::document::MetricDocument;
use super::node_info::NodeInfo;
use super::sampler::{Sample, Sampler};
use super::stats::KubeletStats;
use crate::fingerprint::{fnv1a, FNV_OFFSET};
use crate::json_merge::MergedObject;
use crate::kube::{KubeStats, PodStore};
use crate::log_text::LogText;
use crate::pipe::BatchSender;
use crate::record::{MetricFamily, Record, RecordKind, Source};

/// How often the Node object is read again once known (capacity and labels change rarely; a
/// read per node per minute would be a steady load on a large cluster's API server).
const NODE_REFRESH: Duration = Duration::from_secs(600);
/// How long the first sample waits for the pod metadata cache, so that its documents carry
/// the pods' labels.
const POD_SYNC_WAIT: Duration = Duration::from_secs(10);
/// Repeated failures of one kind are logged at most this often.
const LOG_EVERY: Duration = Duration::from_secs(600);

#[derive(Debug, Clone)]
pub struct KubeletStatsConfig {
    /// `https://<node IP>:10250`.
    pub url: String,
    /// The bearer token's file; `None`: no `Authorization`.
    pub token_file: Option<PathBuf>,
    pub tls: KubeletTls,
    pub interval: Duration,
    pub cluster_name: String,
    /// Where the Node object comes from; `None`: documents without the node's capacity,
    /// utilization and labels.
    pub node_api: Option<NodeApi>,
}

#[derive(Debug, Clone)]
pub struct NodeApi {
    /// `None`: the in-cluster service account.
    pub kubeconfig: Option<PathBuf>,
    /// `None`: the summary's node name.
    pub node_name: Option<String>,
}

/// The pod metadata cache, for the pods' `labels` tag.
#[derive(Clone)]
pub struct PodLabels {
    pub store: Arc<PodStore>,
    pub stats: Arc<KubeStats>,
}

/// Starts the loop on the current runtime; it ends (dropping `tx`, its side of the pipe) when
/// `stop` turns true. A CA file that cannot be used is an error here, before anything starts.
pub fn start(
    cfg: KubeletStatsConfig,
    tx: BatchSender,
    pods: Option<PodLabels>,
    stats: Arc<KubeletStats>,
    stop: watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, String> {
    let tls = cfg.tls.client_config()?;
    // A scrape never outlasts its interval: the next one would queue behind it.
    let timeout = cfg
        .interval
        .clamp(Duration::from_secs(1), Duration::from_secs(30));
    let client = KubeletClient::new(&cfg.url, cfg.token_file.clone(), tls, timeout);
    let source = MetricsSource {
        client,
        sampler: Sampler::new(cfg.cluster_name.clone()),
        node: NodeState::new(cfg.node_api.clone()),
        pods,
        stats,
        log: ErrorLog::default(),
        tx,
    };
    Ok(tokio::spawn(source.run(cfg.interval, stop)))
}

struct MetricsSource {
    client: KubeletClient,
    sampler: Sampler,
    node: NodeState,
    pods: Option<PodLabels>,
    stats: Arc<KubeletStats>,
    log: ErrorLog,
    tx: BatchSender,
}

impl MetricsSource {
    async fn run(mut self, interval: Duration, mut stop: watch::Receiver<bool>) {
        tracing::info!(url = %self.client.summary_url(), ?interval, "kubelet metrics: reading the stats summary");
        if let Some(pods) = &self.pods {
            let deadline = Instant::now() + POD_SYNC_WAIT;
            while !pods.stats.is_synced() && Instant::now() < deadline {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                    _ = stop.changed() => return,
                }
            }
        }
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = stop.changed() => return,
            }
            if *stop.borrow() {
                return;
            }
            let records = tokio::select! {
                r = self.scrape() => r,
                _ = stop.changed() => return,
            };
            if records.is_empty() {
                continue;
            }
            // Waits while the outputs are behind (the memory bound is full): ticks missed
            // meanwhile are skipped, not queued.
            tokio::select! {
                sent = self.tx.send(records, None) => if sent.is_err() { return },
                _ = stop.changed() => return,
            }
        }
    }

    /// One interval's work: the records to send (none after a failure or an unchanged
    /// sample).
    async fn scrape(&mut self) -> Vec<Record> {
        let summary = match self.client.summary().await {
            Ok(s) => s,
            Err(e) => {
                self.stats.count_error(&e);
                self.log.failed(e.kind(), &e.to_string());
                return Vec::new();
            }
        };
        self.log.recovered();
        counters::add(&self.stats.scrapes, 1);
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        self.stats
            .last_scrape_ms
            .store(now_ms, std::sync::atomic::Ordering::Relaxed);
        self.node
            .refresh(&summary.node.node_name, &self.stats)
            .await;
        let store = self.pods.as_ref().map(|p| Arc::clone(&p.store));
        let lookup =
            move |ns: &str, name: &str| store.as_ref().and_then(|s| s.lookup(ns, name, ""));
        match self
            .sampler
            .sample(&summary, self.node.info.as_ref(), &lookup)
        {
            Sample::Unchanged => {
                counters::add(&self.stats.unchanged, 1);
                Vec::new()
            }
            Sample::Documents(docs) => {
                for d in &docs {
                    counters::add(self.stats.documents_of(d.family), 1);
                }
                records(docs)
            }
        }
    }
}

/// The records of a sample's documents. Their identity (Elasticsearch `_id`) is the family
/// and the sample's time (the source) with the hash of the tags (the offset): a sample sent
/// again overwrites itself.
pub fn records(docs: Vec<MetricDocument>) -> Vec<Record> {
    let mut sources: BTreeMap<MetricFamily, Arc<Source>> = BTreeMap::new();
    docs.into_iter()
        .filter_map(|d| {
            let source = sources.entry(d.family).or_insert_with(|| {
                let id = fnv1a(FNV_OFFSET, d.family.name().as_bytes());
                let id = fnv1a(id, &d.timestamp.secs.to_le_bytes());
                let id = fnv1a(id, &d.timestamp.nanos.to_le_bytes());
                Arc::new(Source {
                    id,
                    path: PathBuf::new().into(),
                    tag: format!("heapster.{}", d.family.name()).into(),
                    pod: None,
                    meta: None,
                })
            });
            // Always one object: the document is made here (a failure would be a bug, and the
            // document is dropped rather than sent malformed).
            let merged = MergedObject::parse(d.json)?;
            Some(Record {
                source: Arc::clone(source),
                start_offset: d.identity,
                end_offset: d.identity,
                time: d.timestamp,
                time_text: TimeText::default(),
                stream: None,
                log: LogText::default(),
                merged: Some(merged),
                truncated: false,
                kind: RecordKind::Metric(d.family),
            })
        })
        .collect()
}

/// The Node object: read at the first sample, then every [`NODE_REFRESH`]; after a failure,
/// at the next interval.
struct NodeState {
    api: Option<NodeApi>,
    client: Option<kube::Client>,
    info: Option<NodeInfo>,
    next: Option<Instant>,
    /// The API cannot be reached at all (no service account): said once, not retried.
    off: bool,
    /// The last read failed (logged once until a read works).
    failing: bool,
}

impl NodeState {
    fn new(api: Option<NodeApi>) -> NodeState {
        NodeState {
            off: api.is_none(),
            api,
            client: None,
            info: None,
            next: None,
            failing: false,
        }
    }

    async fn refresh(&mut self, summary_node: &str, stats: &KubeletStats) {
        if self.off || self.next.is_some_and(|t| Instant::now() < t) {
            return;
        }
        let Some(api) = &self.api else { return };
        if self.client.is_none() {
            match crate::kube::client::connect(api.kubeconfig.as_deref()).await {
                Ok(c) => self.client = Some(c),
                Err(reason) => {
                    tracing::warn!(%reason, "kubelet metrics: no node capacity, utilization or labels (the Node object cannot be read)");
                    self.off = true;
                    return;
                }
            }
        }
        let Some(client) = self.client.clone() else {
            return;
        };
        let name = api.node_name.as_deref().unwrap_or(summary_node);
        let nodes: kube::Api<Node> = kube::Api::all(client);
        match nodes.get(name).await {
            Ok(node) => {
                if self.failing {
                    tracing::warn!(
                        node = name,
                        "kubelet metrics: the Node object can be read again"
                    );
                }
                self.failing = false;
                self.info = Some(NodeInfo::from_node(&node));
                self.next = Some(Instant::now() + NODE_REFRESH);
            }
            Err(e) => {
                counters::add(&stats.node_info_errors, 1);
                // Said once per outage; tried again at every interval. What was read before
                // is kept: capacity rarely changes.
                if !self.failing {
                    tracing::warn!(node = name, error = %e, "kubelet metrics: cannot read the Node object; documents go out without what it says (or with what it said last) until it can be read");
                }
                self.failing = true;
                self.next = None;
            }
        }
    }
}

/// Rate-limited logging of failures: the first of a kind at once, the same kind again at most
/// every [`LOG_EVERY`] with the count left unlogged, and one line when a scrape works again.
#[derive(Default)]
struct ErrorLog {
    kind: Option<&'static str>,
    logged_at: Option<Instant>,
    suppressed: u64,
    failures: u64,
}

impl ErrorLog {
    fn failed(&mut self, kind: &'static str, error: &str) {
        self.failures += 1;
        let due = match (self.kind, self.logged_at) {
            (Some(k), Some(at)) if k == kind => at.elapsed() >= LOG_EVERY,
            _ => true,
        };
        if due {
            tracing::warn!(kind, suppressed = self.suppressed, "kubelet metrics: cannot read the stats summary ({error}); trying again every interval");
            self.kind = Some(kind);
            self.logged_at = Some(Instant::now());
            self.suppressed = 0;
        } else {
            self.suppressed += 1;
        }
    }

    fn recovered(&mut self) {
        if self.failures > 0 {
            tracing::warn!(
                failures = self.failures,
                "kubelet metrics: reading the stats summary again"
            );
        }
        *self = ErrorLog::default();
    }
}
