//! The connection to the Kubernetes API: the pod's service account (the DaemonSet case), or a
//! kubeconfig file for development. Deliberately not kube-rs's `Config::infer`, which would
//! pick up a stray `~/.kube/config` on a node.

use std::path::Path;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// A client for the API, or why there cannot be one (a setup problem, not an API outage:
/// nothing would change by retrying). Must run inside a tokio runtime.
pub async fn connect(kubeconfig: Option<&Path>) -> Result<Client, String> {
    // kube-rs builds its TLS setup on the process-wide rustls provider; naming it here keeps
    // that choice from depending on which rustls features other crates happen to enable.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = match kubeconfig {
        Some(path) => {
            let file = Kubeconfig::read_from(path)
                .map_err(|e| format!("LOGSHIP_KUBECONFIG: cannot read {}: {e}", path.display()))?;
            Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
                .await
                .map_err(|e| format!("LOGSHIP_KUBECONFIG: {}: {e}", path.display()))?
        }
        None => Config::incluster().map_err(|e| {
            format!(
                "no in-cluster service account ({e}); run in a pod with the logship \
                 ServiceAccount, or set LOGSHIP_KUBECONFIG"
            )
        })?,
    };
    Client::try_from(config).map_err(|e| format!("cannot set up the Kubernetes client: {e}"))
}
