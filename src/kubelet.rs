//! Wiring of the kubelet metrics source: its settings (`LOGSHIP_KUBELET_*`,
//! `LOGSHIP_METRICS_INTERVAL`, `NODE_IP`, `LOGSHIP_CLUSTER_NAME`), its own memory bound in the
//! shared pipe, the pod metadata cache for the pods' labels, and the switch that stops it.

use std::sync::Arc;

use anyhow::anyhow;
use logship_collector::kubelet_stats::{
    self, KubeletStats, KubeletStatsConfig, KubeletTls, NodeApi, PodLabels,
};
use logship_collector::{BatchSender, MemoryGauge};
use logship_config::Settings;
use tokio::sync::watch;

/// A running metrics source: the switch that stops it, and its memory in the pipe.
pub struct Running {
    pub stop: watch::Sender<bool>,
    pub memory: MemoryGauge,
}

/// Starts the source when there is a kubelet to read (`NODE_IP` or `LOGSHIP_KUBELET_URL`) and
/// it is on. A CA file that cannot be used stops the start, naming the setting.
pub fn start(
    settings: &Settings,
    runtime: &tokio::runtime::Runtime,
    tx: &BatchSender,
    pods: Option<PodLabels>,
    stats: &Arc<KubeletStats>,
) -> anyhow::Result<Option<Running>> {
    let Some(url) = settings.kubelet_metrics_url() else {
        if settings.kubelet_metrics {
            tracing::info!("kubelet metrics off: neither NODE_IP nor LOGSHIP_KUBELET_URL is set (the DaemonSet sets NODE_IP from status.hostIP)");
        }
        return Ok(None);
    };
    if settings.exit_on_eof {
        tracing::info!(
            "kubelet metrics off: LOGSHIP_EXIT_ON_EOF runs stop at the end of the files"
        );
        return Ok(None);
    }
    let tls = match settings.kubelet_ca() {
        Some(ca) => KubeletTls::CaFile(ca),
        None => KubeletTls::InsecureSkipVerify,
    };
    let cfg = KubeletStatsConfig {
        url,
        token_file: Some(settings.kubelet_token_file.clone()),
        tls,
        interval: settings.metrics_interval,
        cluster_name: settings.cluster_name.clone(),
        // The Node object comes from the same API as the pod metadata, and only when that is
        // on: LOGSHIP_KUBE_METADATA=false keeps the agent away from the API server.
        node_api: settings.kube_metadata.then(|| NodeApi {
            kubeconfig: settings.kubeconfig.clone(),
            node_name: settings.node_name.clone(),
        }),
    };
    let (stop_tx, stop_rx) = watch::channel(false);
    let input_tx = tx.another_input(settings.mem_buf_limit.bytes());
    let memory = input_tx.memory_gauge();
    let _guard = runtime.enter();
    kubelet_stats::start(cfg, input_tx, pods, Arc::clone(stats), stop_rx)
        .map_err(|e| anyhow!(e))?;
    Ok(Some(Running {
        stop: stop_tx,
        memory,
    }))
}
