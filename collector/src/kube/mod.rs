//! Pod metadata from the Kubernetes API: `pod_id`, `labels`, `annotations` and `host` for the
//! records of this node's containers, as fluent-bit's kubernetes filter added them.
//!
//! Jobs, one per file: [`listed_pod`] is a pod as read from the API, parsed down to what is
//! kept; [`meta`] cuts what records need out of it, with the label and annotation keys the
//! pods share kept once in [`key_table`]; [`store`] is the cache
//! of this node's pods, deleted ones kept for a while; [`watcher`] keeps the cache in step with
//! the API through one list + watch per agent (kube-rs), with backoff; [`client`] connects with
//! the service account or a kubeconfig; [`link`] ties each tailed file to its pod (lookup when
//! the cache changed, the bounded wait for a pod not known yet, exclusion); [`stats`] counts.
//!
//! Boundaries: the cache is filled on the async runtime and read by the file input's thread
//! through a lock taken only when the cache changed, never per line. What reaches a record is
//! an `Arc<PodMeta>` on its [`crate::record::Source`]; turning it into JSON (and dots into `_`)
//! is the outputs' job. The API being down, slow or forbidding only delays records by the wait
//! and then ships them with the file-name fields: nothing here can stop the shipping.

pub mod client;
pub mod key_table;
pub mod link;
pub mod listed_pod;
pub mod meta;
pub mod stats;
pub mod store;
pub mod watcher;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use link::{PodLink, PodMetadata};
pub use listed_pod::ListedPod;
pub use meta::{MetaOptions, PodMeta, PodMetaParts};
pub use stats::KubeStats;
pub use store::PodStore;

/// The settings of pod metadata, from the agent's settings.
#[derive(Debug, Clone)]
pub struct KubeSettings {
    pub node_name: String,
    /// `None`: the in-cluster service account.
    pub kubeconfig: Option<PathBuf>,
    pub meta: MetaOptions,
    pub wait: Duration,
    pub delete_delay: Duration,
}

/// Connects and starts the watch on `runtime`. `None` when no client can be set up (no service
/// account, unreadable kubeconfig): logged once, and records carry the file-name fields only,
/// without waiting for metadata that cannot come.
pub fn start(
    settings: KubeSettings,
    runtime: &tokio::runtime::Handle,
    stats: Arc<KubeStats>,
) -> Option<PodMetadata> {
    let client = match runtime.block_on(client::connect(settings.kubeconfig.as_deref())) {
        Ok(client) => client,
        Err(reason) => {
            tracing::warn!(%reason, "pod metadata is off: records carry the pod fields of their file names only");
            return None;
        }
    };
    let store = Arc::new(PodStore::new(settings.delete_delay));
    let cfg = watcher::WatchConfig {
        node_name: settings.node_name,
        meta: settings.meta,
    };
    runtime.spawn(watcher::watch_pods(
        client,
        cfg,
        Arc::clone(&store),
        Arc::clone(&stats),
    ));
    Some(PodMetadata {
        store,
        wait: settings.wait,
        stats,
    })
}
