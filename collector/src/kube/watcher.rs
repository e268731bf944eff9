//! The watch of this node's pods: one list, then one watch (`spec.nodeName=<node>`, with
//! bookmarks), kept going by kube-rs's watcher, which lists again when the watch is too old
//! (410 Gone) and is retried with backoff on any failure. Events become [`PodMeta`] versions in
//! the [`PodStore`]; failures are counted, and logged once per kind until the API answers again,
//! since a down or forbidding API must never flood the agent's log nor stop the shipping.

use crate::counters;
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use kube::{Api, Client};

use super::listed_pod::ListedPod;
use super::meta::{MetaOptions, PodMeta};
use super::stats::KubeStats;
use super::store::PodStore;

/// Pods per page of the initial list (and of every list after a 410).
const LIST_PAGE: u32 = 100;

/// How often deleted pods past the delete delay are forgotten.
const PURGE_EVERY: Duration = Duration::from_secs(5);

pub struct WatchConfig {
    pub node_name: String,
    pub meta: MetaOptions,
}

/// Runs for as long as the agent: the stream of a kube-rs watcher never ends.
pub async fn watch_pods(
    client: Client,
    cfg: WatchConfig,
    store: Arc<PodStore>,
    stats: Arc<KubeStats>,
) {
    let api: Api<ListedPod> = Api::all(client);
    let selector = format!("spec.nodeName={}", cfg.node_name);
    // Pages of 100 pods rather than kube-rs's 500: a page is held whole, as JSON and as
    // `ListedPod`s, while its pods are cut down to `PodMeta`, and a node's full list arrives in
    // a few requests either way (a 2,000-pod list of whole `Pod`s cost 6 MB of peak memory in
    // 500-pod pages).
    let config = watcher::Config::default()
        .fields(&selector)
        .page_size(LIST_PAGE);
    let events = watcher::watcher(api, config).default_backoff();
    let mut events = std::pin::pin!(events);
    let mut purge = tokio::time::interval(PURGE_EVERY);
    let mut report = Report::default();
    loop {
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => handle(event, &cfg, &store, &stats, &mut report),
                Some(Err(e)) => report.failed(&e, &cfg.node_name, &stats),
                None => return,
            },
            _ = purge.tick() => store.purge(Instant::now()),
        }
    }
}

fn handle(
    event: Event<ListedPod>,
    cfg: &WatchConfig,
    store: &PodStore,
    stats: &KubeStats,
    report: &mut Report,
) {
    let now = Instant::now();
    match event {
        Event::Init => {
            counters::add(&stats.relists, 1);
            store.begin_relist();
        }
        Event::InitApply(pod) | Event::Apply(pod) => {
            counters::add(&stats.events, 1);
            if let Some(meta) = PodMeta::from_pod(&pod, cfg.meta) {
                store.apply(meta, now);
            }
        }
        Event::Delete(pod) => {
            counters::add(&stats.events, 1);
            let m = &pod.metadata;
            if let (Some(ns), Some(name)) = (&m.namespace, &m.name) {
                store.delete(ns, name, m.uid.as_deref().unwrap_or(""), now);
            }
        }
        Event::InitDone => {
            store.end_relist(now);
            stats.synced.store(true, Ordering::Relaxed);
            report.listed(&cfg.node_name, store.live_pods());
        }
    }
    stats
        .pods
        .store(store.live_pods() as u64, Ordering::Relaxed);
}

/// Logs each kind of failure once while the API keeps failing, and the recovery once.
#[derive(Default)]
struct Report {
    logged: HashSet<String>,
    failing: bool,
    listed_once: bool,
}

impl Report {
    fn failed(&mut self, e: &watcher::Error, node: &str, stats: &KubeStats) {
        if let watcher::Error::WatchError(status) = e {
            if status.code == 410 {
                // The watch fell behind the API server's history: the watcher lists again.
                tracing::debug!(reason = %status.reason, message = %status.message,
                    "pod watch expired; listing the pods again");
                return;
            }
        }
        counters::add(&stats.api_errors, 1);
        stats.synced.store(false, Ordering::Relaxed);
        self.failing = true;
        let (kind, reason) = describe(e);
        if self.logged.insert(kind) {
            tracing::warn!(node, %reason,
                "pod metadata: the Kubernetes API request failed; records of pods not yet known ship with the file-name fields only; retrying with backoff (this failure is logged once)");
        }
    }

    fn listed(&mut self, node: &str, pods: usize) {
        if self.failing {
            tracing::info!(node, pods, "pod metadata: the Kubernetes API answers again");
        } else if !self.listed_once {
            tracing::info!(node, pods, "pod metadata: watching this node's pods");
        }
        self.failing = false;
        self.listed_once = true;
        self.logged.clear();
    }
}

/// A kind (what makes two failures "the same") and a reason a person can act on.
fn describe(e: &watcher::Error) -> (String, String) {
    let client_error = match e {
        watcher::Error::InitialListFailed(c)
        | watcher::Error::WatchStartFailed(c)
        | watcher::Error::WatchFailed(c) => c,
        watcher::Error::WatchError(status) => return status_text(status),
        watcher::Error::NoResourceVersion => return ("protocol".into(), e.to_string()),
    };
    match client_error {
        kube::Error::Api(status) => status_text(status),
        other => {
            let mut reason = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(s) = source {
                let text = s.to_string();
                if !reason.contains(&text) {
                    reason.push_str(": ");
                    reason.push_str(&text);
                }
                source = s.source();
            }
            ("transport".into(), reason)
        }
    }
}

fn status_text(status: &kube::core::Status) -> (String, String) {
    (
        format!("status {} {}", status.code, status.reason),
        format!("{} {}: {}", status.code, status.reason, status.message),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::core::Status;

    fn status(code: u16, reason: &str, message: &str) -> Box<Status> {
        Box::new(Status {
            code,
            reason: reason.into(),
            message: message.into(),
            ..Status::default()
        })
    }

    #[test]
    fn failures_are_counted_each_kind_logged_once_and_410_is_routine() {
        let stats = KubeStats::default();
        let mut report = Report::default();
        let forbidden = || {
            watcher::Error::InitialListFailed(kube::Error::Api(status(
                403,
                "Forbidden",
                "pods is forbidden",
            )))
        };
        report.failed(&forbidden(), "n", &stats);
        report.failed(&forbidden(), "n", &stats);
        let gone = watcher::Error::WatchError(status(410, "Expired", "too old resource version"));
        report.failed(&gone, "n", &stats);
        assert_eq!(counters::get(&stats.api_errors), 2);
        assert_eq!(report.logged.len(), 1);
        assert_eq!(
            describe(&forbidden()),
            (
                "status 403 Forbidden".to_owned(),
                "403 Forbidden: pods is forbidden".to_owned()
            )
        );
        assert!(!stats.is_synced());
        report.listed("n", 3);
        assert!(!report.failing && report.logged.is_empty());
    }
}
