//! What logship keeps of a pod: the fields a record carries (uid, labels, annotations, node) and
//! the facts it acts on (exclusion, container ids), cut out of the API's `Pod` once per pod
//! version so that nothing per line touches the API types.

use compact_str::CompactString;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

/// Annotations that keep a pod's logs out (fluent-bit's, so existing manifests keep working).
pub const EXCLUDE_ANNOTATIONS: [&str; 2] = ["logship.io/exclude", "fluentbit.io/exclude"];

/// Which parts of a pod's metadata records carry (`LOGSHIP_KUBE_LABELS`,
/// `LOGSHIP_KUBE_ANNOTATIONS`). Left-out maps are not kept at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetaOptions {
    pub labels: bool,
    pub annotations: bool,
}

impl Default for MetaOptions {
    fn default() -> Self {
        MetaOptions {
            labels: true,
            annotations: true,
        }
    }
}

/// One version of a pod's metadata. Shared by `Arc` between the cache and the files of the pod;
/// a new version is a new `Arc`, which is what tells the outputs to encode it again.
///
/// A node holds one per pod for as long as the pod lives: names, label keys and values up to
/// 24 bytes are kept inline (most are), not as an allocation each.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PodMeta {
    pub namespace: CompactString,
    pub name: CompactString,
    pub uid: CompactString,
    /// In the API's order (sorted by key), keys as the API has them (dots are an output matter).
    pub labels: Vec<(CompactString, CompactString)>,
    pub annotations: Vec<(CompactString, CompactString)>,
    /// `spec.nodeName`.
    pub host: Option<CompactString>,
    /// Annotated `logship.io/exclude: "true"` or `fluentbit.io/exclude: "true"`.
    pub exclude: bool,
    /// The bare ids (without `docker://`, `containerd://`…) of the pod's containers, init and
    /// ephemeral ones included, so that a file can be matched to the right incarnation of a pod
    /// name that was deleted and created again.
    pub container_ids: Vec<CompactString>,
}

impl PodMeta {
    /// The metadata of `pod`; `None` for an object without name or namespace (not a pod a
    /// kubelet writes logs for).
    pub fn from_pod(pod: &Pod, opts: MetaOptions) -> Option<PodMeta> {
        let m = &pod.metadata;
        let name = m.name.as_deref().filter(|n| !n.is_empty())?.into();
        let namespace = m.namespace.as_deref().filter(|n| !n.is_empty())?.into();
        let annotations = m.annotations.as_ref();
        let exclude = annotations.is_some_and(|a| {
            EXCLUDE_ANNOTATIONS.iter().any(|k| {
                a.get(*k)
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
            })
        });
        let pairs = |map: Option<&std::collections::BTreeMap<String, String>>, keep: bool| {
            map.filter(|_| keep)
                .map(|m| m.iter().map(|(k, v)| (k.into(), v.into())).collect())
                .unwrap_or_default()
        };
        let mut container_ids = Vec::new();
        if let Some(status) = &pod.status {
            let lists: [&Option<Vec<ContainerStatus>>; 3] = [
                &status.container_statuses,
                &status.init_container_statuses,
                &status.ephemeral_container_statuses,
            ];
            for s in lists.into_iter().flatten().flatten() {
                // Restarted containers log to a new file under a new id; the last one is in
                // `lastState` only until the next restart, so both are kept.
                let last = s
                    .last_state
                    .as_ref()
                    .and_then(|l| l.terminated.as_ref())
                    .and_then(|t| t.container_id.as_deref());
                for id in s.container_id.as_deref().into_iter().chain(last) {
                    let bare = id.rsplit_once("://").map_or(id, |(_, bare)| bare);
                    if !bare.is_empty() && !container_ids.iter().any(|c| c == bare) {
                        container_ids.push(bare.into());
                    }
                }
            }
        }
        Some(PodMeta {
            uid: m.uid.as_deref().unwrap_or_default().into(),
            labels: pairs(m.labels.as_ref(), opts.labels),
            annotations: pairs(annotations, opts.annotations),
            host: pod
                .spec
                .as_ref()
                .and_then(|s| s.node_name.as_deref())
                .filter(|n| !n.is_empty())
                .map(CompactString::from),
            exclude,
            container_ids,
            namespace,
            name,
        })
    }

    pub fn has_container(&self, id: &str) -> bool {
        self.container_ids.iter().any(|c| c == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(json: &str) -> Pod {
        serde_json::from_str(json).unwrap()
    }

    const POD: &str = r#"{"metadata":{"name":"web-1","namespace":"shop","uid":"u-1",
        "labels":{"b":"2","app.kubernetes.io/name":"web"},
        "annotations":{"fluentbit.io/exclude":"True","x.y/z":"v"}},
        "spec":{"nodeName":"node-a","containers":[]},
        "status":{"containerStatuses":[{"name":"c","image":"i","imageID":"","ready":true,"restartCount":1,
            "containerID":"containerd://aaa",
            "lastState":{"terminated":{"exitCode":1,"containerID":"containerd://bbb"}}}],
          "initContainerStatuses":[{"name":"i","image":"i","imageID":"","ready":false,"restartCount":0,
            "containerID":"docker://ccc"}]}}"#;

    #[test]
    fn keeps_the_fields_records_carry_in_api_order() {
        let m = PodMeta::from_pod(&pod(POD), MetaOptions::default()).unwrap();
        assert_eq!((m.namespace.as_str(), m.name.as_str()), ("shop", "web-1"));
        assert_eq!(m.uid, "u-1");
        let kv = |k: &str, v: &str| (k.into(), v.into());
        assert_eq!(
            m.labels,
            [kv("app.kubernetes.io/name", "web"), kv("b", "2")]
        );
        assert_eq!(
            m.annotations,
            [kv("fluentbit.io/exclude", "True"), kv("x.y/z", "v")]
        );
        assert_eq!(m.host.as_deref(), Some("node-a"));
        assert!(m.exclude);
        assert_eq!(m.container_ids, ["aaa", "bbb", "ccc"]);
        assert!(m.has_container("bbb") && !m.has_container("zzz"));
    }

    #[test]
    fn left_out_maps_are_not_kept_but_exclusion_still_counts() {
        let opts = MetaOptions {
            labels: false,
            annotations: false,
        };
        let m = PodMeta::from_pod(&pod(POD), opts).unwrap();
        assert!(m.labels.is_empty() && m.annotations.is_empty());
        assert!(m.exclude);
    }

    #[test]
    fn exclusion_needs_true_and_objects_need_a_name() {
        let p = pod(
            r#"{"metadata":{"name":"a","namespace":"n","annotations":{"logship.io/exclude":"false"}}}"#,
        );
        let m = PodMeta::from_pod(&p, MetaOptions::default()).unwrap();
        assert!(!m.exclude);
        assert_eq!(m.host, None);
        assert!(m.container_ids.is_empty());
        let p = pod(r#"{"metadata":{"name":"a","annotations":{"logship.io/exclude":"true"}}}"#);
        assert_eq!(PodMeta::from_pod(&p, MetaOptions::default()), None);
    }
}
