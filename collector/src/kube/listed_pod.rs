//! A pod as the watcher reads it from the API: the fields [`super::PodMeta`] is made of, and
//! nothing else.
//!
//! Why not k8s-openapi's `Pod`: it parses everything a pod has (its spec with every container,
//! volume and variable, and `managedFields`), about 15 KB of memory per pod, and the watcher
//! holds a whole page of them while the file input is at work. With 2,000 pods that page was the
//! largest block of memory of the agent. Here unknown fields are skipped while parsing, so a pod
//! costs what its names, labels and annotations take.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::{Deserialize, Deserializer};

/// The `Pod` resource (kube-rs addresses it as it addresses k8s-openapi's, through the same
/// resource traits), parsed down to what logship keeps.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListedPod {
    /// Only the fields the agent and kube-rs's watcher read (`resourceVersion`) are filled.
    #[serde(deserialize_with = "listed_metadata", default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: Option<ListedSpec>,
    #[serde(default)]
    pub status: Option<ListedStatus>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedSpec {
    pub node_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedStatus {
    pub container_statuses: Option<Vec<ListedContainer>>,
    pub init_container_statuses: Option<Vec<ListedContainer>>,
    pub ephemeral_container_statuses: Option<Vec<ListedContainer>>,
}

/// A container's status: its current id and the one before its last restart.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedContainer {
    #[serde(rename = "containerID")]
    pub container_id: Option<String>,
    pub last_state: Option<ListedLastState>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListedLastState {
    pub terminated: Option<ListedTerminated>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListedTerminated {
    #[serde(rename = "containerID")]
    pub container_id: Option<String>,
}

/// `metadata` less `managedFields`, owner references, finalizers and the rest.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListedMetadata {
    name: Option<String>,
    namespace: Option<String>,
    uid: Option<String>,
    resource_version: Option<String>,
    labels: Option<BTreeMap<String, String>>,
    annotations: Option<BTreeMap<String, String>>,
}

/// `null` reads as empty metadata, as k8s-openapi reads it (such a pod is then skipped, having
/// no name), rather than failing the whole page it came in.
fn listed_metadata<'de, D: Deserializer<'de>>(d: D) -> Result<ObjectMeta, D::Error> {
    let Some(m) = Option::<ListedMetadata>::deserialize(d)? else {
        return Ok(ObjectMeta::default());
    };
    Ok(ObjectMeta {
        name: m.name,
        namespace: m.namespace,
        uid: m.uid,
        resource_version: m.resource_version,
        labels: m.labels,
        annotations: m.annotations,
        ..ObjectMeta::default()
    })
}

impl k8s_openapi::Resource for ListedPod {
    const API_VERSION: &'static str = <Pod as k8s_openapi::Resource>::API_VERSION;
    const GROUP: &'static str = <Pod as k8s_openapi::Resource>::GROUP;
    const KIND: &'static str = <Pod as k8s_openapi::Resource>::KIND;
    const VERSION: &'static str = <Pod as k8s_openapi::Resource>::VERSION;
    const URL_PATH_SEGMENT: &'static str = <Pod as k8s_openapi::Resource>::URL_PATH_SEGMENT;
    type Scope = <Pod as k8s_openapi::Resource>::Scope;
}

impl k8s_openapi::Metadata for ListedPod {
    type Ty = ObjectMeta;

    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pod as the API server sends it, with the parts logship does not keep.
    const POD: &str = r#"{"kind":"Pod","apiVersion":"v1",
        "metadata":{"name":"web-1","namespace":"shop","uid":"u-1","resourceVersion":"42",
          "generateName":"web-","creationTimestamp":"2026-11-20T12:00:00Z",
          "labels":{"app":"web"},"annotations":{"a":"b"},
          "ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web","uid":"r"}],
          "managedFields":[{"manager":"kubelet","operation":"Update","apiVersion":"v1",
            "fieldsType":"FieldsV1","fieldsV1":{"f:status":{"f:conditions":{}}}}]},
        "spec":{"nodeName":"node-a","containers":[{"name":"c","image":"nginx",
          "env":[{"name":"A","value":"1"}],"resources":{"limits":{"cpu":"1"}}}],
          "volumes":[{"name":"v","emptyDir":{}}]},
        "status":{"phase":"Running","podIP":"10.0.0.1",
          "containerStatuses":[{"name":"c","image":"nginx","imageID":"x","ready":true,
            "restartCount":1,"containerID":"containerd://aaa",
            "state":{"running":{"startedAt":"2026-11-20T12:00:01Z"}},
            "lastState":{"terminated":{"exitCode":1,"containerID":"containerd://bbb"}}}]}}"#;

    #[test]
    fn keeps_what_pod_metadata_is_made_of() {
        let p: ListedPod = serde_json::from_str(POD).unwrap();
        let m = &p.metadata;
        assert_eq!(m.name.as_deref(), Some("web-1"));
        assert_eq!(m.namespace.as_deref(), Some("shop"));
        assert_eq!(m.uid.as_deref(), Some("u-1"));
        assert_eq!(m.resource_version.as_deref(), Some("42"));
        assert_eq!(m.labels.as_ref().unwrap()["app"], "web");
        assert_eq!(m.annotations.as_ref().unwrap()["a"], "b");
        assert!(m.managed_fields.is_none() && m.owner_references.is_none());
        assert_eq!(p.spec.unwrap().node_name.as_deref(), Some("node-a"));
        let statuses = p.status.unwrap().container_statuses.unwrap();
        assert_eq!(
            statuses[0].container_id.as_deref(),
            Some("containerd://aaa")
        );
        let last = statuses[0].last_state.as_ref().unwrap();
        let terminated = last.terminated.as_ref().unwrap();
        assert_eq!(terminated.container_id.as_deref(), Some("containerd://bbb"));
    }

    #[test]
    fn absent_and_null_parts_are_empty() {
        let p: ListedPod =
            serde_json::from_str(r#"{"metadata":{"name":"a","labels":null},"spec":null}"#).unwrap();
        assert_eq!(p.metadata.name.as_deref(), Some("a"));
        assert!(p.metadata.labels.is_none() && p.spec.is_none() && p.status.is_none());
        let p: ListedPod = serde_json::from_str(r#"{"metadata":null}"#).unwrap();
        assert!(p.metadata.name.is_none());
    }

    #[test]
    fn is_addressed_as_the_pod_resource() {
        use kube::Resource;
        assert_eq!(ListedPod::kind(&()), "Pod");
        assert_eq!(ListedPod::api_version(&()), "v1");
        assert_eq!(ListedPod::plural(&()), "pods");
        assert_eq!(ListedPod::url_path(&(), None), "/api/v1/pods");
    }
}
