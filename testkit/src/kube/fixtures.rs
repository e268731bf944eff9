//! The real API objects and bodies the test API server serves or starts from, compiled in from
//! `fixtures/k8s/` (copies of the shared fixture set; provenance in `fixtures/README.md`).

use serde_json::Value;

/// A kube-state-metrics pod (K8s 1.35, containerd) on node `datagen-1-35`.
pub const POD: &str = include_str!("../../fixtures/k8s/pod.json");
/// An AKS pod with a sidecar and docker:// container ids, on `aks-nodepool1-19254313-0`.
pub const POD_DOCKER: &str = include_str!("../../fixtures/k8s/pod-docker.json");
/// A PodList of 5 pods on `datagen-1-35`.
pub const PODLIST: &str = include_str!("../../fixtures/k8s/podlist.json");
/// A watch that fails at once: HTTP 200 and one ERROR event (410, `Expired`).
pub const WATCH_ERROR_410_EXPIRED: &str =
    include_str!("../../fixtures/k8s/watch-error-410-expired.jsonl");
/// The same failure as older API servers sent it (reason `Gone`).
pub const WATCH_ERROR_410_GONE_LEGACY: &str =
    include_str!("../../fixtures/k8s/watch-error-410-gone-legacy.jsonl");
/// The Node `datagen-1-35` (capacity and allocatable: 14 CPUs, 8024304Ki of memory).
pub const NODE_OBJECT: &str = include_str!("../../fixtures/k8s/node.json");
/// A recorded watch stream: ADDED, MODIFIED, BOOKMARK, DELETED, initial-events-end BOOKMARK,
/// ERROR 410.
pub const WATCH_EVENTS: &str = include_str!("../../fixtures/k8s/watch-events.jsonl");

pub(crate) const API: &str = include_str!("../../fixtures/k8s/api-discovery/api.json");
pub(crate) const API_V1: &str = include_str!("../../fixtures/k8s/api-discovery/api-v1.json");
pub(crate) const APIS: &str = include_str!("../../fixtures/k8s/api-discovery/apis.json");
pub(crate) const VERSION: &str = include_str!("../../fixtures/k8s/api-discovery/version.json");

/// The node the pods of `pod.json` and `podlist.json` run on.
pub const NODE: &str = "datagen-1-35";

fn parse(text: &str, what: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("fixture {what} does not parse: {e}"))
}

pub fn pod() -> Value {
    parse(POD, "pod.json")
}

pub fn node() -> Value {
    parse(NODE_OBJECT, "node.json")
}

pub fn pod_docker() -> Value {
    parse(POD_DOCKER, "pod-docker.json")
}

/// The items of `podlist.json`.
pub fn podlist_items() -> Vec<Value> {
    match parse(PODLIST, "podlist.json")
        .get_mut("items")
        .map(Value::take)
    {
        Some(Value::Array(items)) => items,
        _ => panic!("fixture podlist.json has no items"),
    }
}
