//! Pod metadata for a benchmark run: the Kubernetes API double serving the workload's
//! `podlist.json`, and the agent variables that point the agent at it, so that every record is
//! enriched with its pod's labels and annotations (as Fluent Bit was measured with its
//! kubernetes filter).

use crate::kube::{KubeApi, KubeApiOptions};
use anyhow::Context;
use std::path::{Path, PathBuf};

/// A running API double holding the workload's pods; stopped on drop.
pub struct BenchKube {
    _api: KubeApi,
    kubeconfig: PathBuf,
    node: String,
}

impl BenchKube {
    /// Serves `workload_dir/podlist.json` and writes a kubeconfig for it into `run_dir`.
    pub fn start(workload_dir: &Path, run_dir: &Path, node: &str) -> anyhow::Result<BenchKube> {
        let path = workload_dir.join("podlist.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let list: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let pods = list
            .get("items")
            .and_then(|i| i.as_array())
            .cloned()
            .with_context(|| format!("{} has no items", path.display()))?;
        let api = KubeApi::start(KubeApiOptions {
            pods,
            ..KubeApiOptions::default()
        })?;
        let kubeconfig = api
            .write_kubeconfig(run_dir)
            .with_context(|| format!("writing a kubeconfig into {}", run_dir.display()))?;
        Ok(BenchKube {
            _api: api,
            kubeconfig,
            node: node.to_owned(),
        })
    }

    /// The agent's variables: its node (the pods' `spec.nodeName`) and the kubeconfig.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("NODE_NAME".to_owned(), self.node.clone()),
            (
                "LOGSHIP_KUBECONFIG".to_owned(),
                self.kubeconfig.display().to_string(),
            ),
        ]
    }
}

/// Whether every sampled document (the sink keeps action and document lines in turn) carries
/// `kubernetes.labels` with at least one label.
pub fn samples_enriched(samples: &[String]) -> bool {
    let docs: Vec<serde_json::Value> = samples
        .iter()
        .flat_map(|s| s.lines())
        .skip(1)
        .step_by(2)
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    !docs.is_empty()
        && docs.iter().all(|d| {
            d.pointer("/kubernetes/labels")
                .and_then(|l| l.as_object())
                .is_some_and(|l| !l.is_empty())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enrichment_is_read_from_the_document_lines() {
        let action = r#"{"index":{"_index":"logstash-2026.11.22"}}"#;
        let with = format!(
            "{action}\n{}",
            r#"{"log":"x","kubernetes":{"labels":{"app":"a"}}}"#
        );
        let without = format!(
            "{action}\n{}",
            r#"{"log":"x","kubernetes":{"pod_name":"p"}}"#
        );
        assert!(samples_enriched(std::slice::from_ref(&with)));
        assert!(!samples_enriched(&[with.clone(), without]));
        assert!(!samples_enriched(&[]));
    }
}
