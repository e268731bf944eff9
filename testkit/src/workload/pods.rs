//! The pods whose logs are generated, and their Kubernetes API objects: per-pod JSON (the
//! fluent-bit `Kube_Meta_Preload_Cache_Dir` format), namespaces, and a v1 PodList that a fake
//! API server can serve, so enrichment can be tested against the same workload.

use super::messages::{APPS, CONTAINERS, NAMESPACES};
use super::rng::Rng;
use serde_json::{json, Value};

#[derive(Debug, Clone)]
pub struct Pod {
    pub ns: String,
    pub app: String,
    pub name: String,
    pub container: String,
    /// 64 hex digits, the container ID in the log file name.
    pub cid: String,
    pub uid: String,
    pub image: String,
    pub rs: String,
    pub ip: String,
    pub node: String,
}

impl Pod {
    /// `<pod>_<ns>_<container>-<cid>.log`, as kubelet names the /var/log/containers link.
    pub fn container_file(&self) -> String {
        format!(
            "{}_{}_{}-{}.log",
            self.name, self.ns, self.container, self.cid
        )
    }

    /// `<ns>_<pod>_<uid>/<container>`, as kubelet lays out /var/log/pods.
    pub fn pod_dir(&self) -> String {
        format!("{}_{}_{}/{}", self.ns, self.name, self.uid, self.container)
    }
}

fn hex(r: &mut Rng, nbytes: usize) -> String {
    let mut s = String::with_capacity(nbytes * 2);
    for _ in 0..nbytes.div_ceil(8) {
        s.push_str(&format!("{:016x}", r.next_u64()));
    }
    s.truncate(nbytes * 2);
    s
}

fn uuid(r: &mut Rng) -> String {
    let h = hex(r, 16);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

pub fn make_pods(r: &mut Rng, n: usize, node: &str) -> Vec<Pod> {
    // Consonants and digits only, like Kubernetes' rand.String, so no words appear.
    const ALNUM: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let word = |r: &mut Rng, len: usize| -> String {
        (0..len).map(|_| char::from(r.pick(ALNUM))).collect()
    };
    (0..n)
        .map(|i| {
            let ns = NAMESPACES[i % NAMESPACES.len()];
            let app_base = APPS[i % APPS.len()];
            let app = format!("{app_base}-{i}");
            let rs = word(r, 10);
            let suffix = word(r, 5);
            Pod {
                ns: ns.to_string(),
                name: format!("{app}-{rs}-{suffix}"),
                container: CONTAINERS[i % CONTAINERS.len()].to_string(),
                cid: hex(r, 32),
                uid: uuid(r),
                image: format!(
                    "registry.example.com/{ns}/{app_base}:1.{}.{}",
                    i % 7,
                    i % 13
                ),
                ip: format!("10.244.{}.{}", i / 250, i % 250 + 2),
                app,
                rs,
                node: node.to_string(),
            }
        })
        .collect()
}

/// The pod as `GET /api/v1/namespaces/<ns>/pods/<name>` returns it.
pub fn pod_json(p: &Pod) -> Value {
    let reversed_uid: String = p.uid.chars().rev().collect();
    let reversed_cid: String = p.cid.chars().rev().collect();
    let image_repo = p.image.split(':').next().unwrap_or(&p.image);
    json!({
        "kind": "Pod", "apiVersion": "v1",
        "metadata": {
            "name": p.name, "namespace": p.ns, "uid": p.uid,
            "resourceVersion": "1000", "creationTimestamp": "2026-11-21T00:00:00Z",
            "labels": {"app": p.app, "pod-template-hash": p.rs, "team": format!("t-{}", p.ns),
                       "app.kubernetes.io/name": p.app, "app.kubernetes.io/version": "1.0.0"},
            "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9090",
                            "kubectl.kubernetes.io/restartedAt": "2026-11-20T12:00:00Z"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                 "name": format!("{}-{}", p.app, p.rs), "uid": reversed_uid,
                                 "controller": true, "blockOwnerDeletion": true}],
        },
        "spec": {
            "nodeName": p.node, "serviceAccountName": "default", "restartPolicy": "Always",
            "containers": [{"name": p.container, "image": p.image,
                            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                            "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}}}],
        },
        "status": {
            "phase": "Running", "hostIP": "192.0.2.10", "podIP": p.ip,
            "podIPs": [{"ip": p.ip}], "startTime": "2026-11-21T00:00:01Z",
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{
                "name": p.container, "ready": true, "restartCount": 0, "started": true,
                "image": p.image, "imageID": format!("{image_repo}@sha256:{reversed_cid}"),
                "containerID": format!("containerd://{}", p.cid),
                "state": {"running": {"startedAt": "2026-11-21T00:00:02Z"}}}],
        },
    })
}

pub fn namespace_json(ns: &str, uid: &str) -> Value {
    json!({"kind": "Namespace", "apiVersion": "v1",
           "metadata": {"name": ns, "uid": uid, "resourceVersion": "10",
                        "labels": {"kubernetes.io/metadata.name": ns, "env": ns},
                        "annotations": {"owner": format!("team-{ns}")}},
           "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
}

pub fn pod_list_json(pods: &[Pod]) -> Value {
    json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1000"},
           "items": pods.iter().map(pod_json).collect::<Vec<_>>()})
}

/// A stable namespace UID derived from its name (the reference used an MD5 of the name).
pub fn namespace_uid(seed: u64, ns: &str) -> String {
    let h = ns.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    uuid(&mut Rng::new(seed ^ h))
}
