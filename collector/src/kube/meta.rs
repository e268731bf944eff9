//! What logship keeps of a pod: the fields a record carries (uid, labels, annotations, node) and
//! the facts it acts on (exclusion, container ids), cut out of the API's pod once per pod
//! version so that nothing per line touches the API types.

use std::collections::BTreeMap;

use super::listed_pod::{ListedContainer, ListedPod};

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
/// A node holds one per pod for as long as the pod lives, so its strings are kept back to back
/// in one allocation and the fields are ranges of it: a pod with a handful of labels and
/// annotations costs about half of what a string per field did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PodMeta {
    text: Box<str>,
    namespace: Span,
    name: Span,
    uid: Span,
    host: Option<Span>,
    labels: Box<[(Span, Span)]>,
    annotations: Box<[(Span, Span)]>,
    container_ids: Box<[Span]>,
    exclude: bool,
}

/// A range of [`PodMeta`]'s text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Span {
    start: u32,
    end: u32,
}

/// What a [`PodMeta`] is made of.
#[derive(Debug, Clone, Default)]
pub struct PodMetaParts<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    /// In the API's order (sorted by key), keys as the API has them (dots are an output matter).
    pub labels: Vec<(&'a str, &'a str)>,
    pub annotations: Vec<(&'a str, &'a str)>,
    /// `spec.nodeName`.
    pub host: Option<&'a str>,
    /// Annotated `logship.io/exclude: "true"` or `fluentbit.io/exclude: "true"`.
    pub exclude: bool,
    /// The bare ids (without `docker://`, `containerd://`…) of the pod's containers, init and
    /// ephemeral ones included, so that a file can be matched to the right incarnation of a pod
    /// name that was deleted and created again.
    pub container_ids: Vec<&'a str>,
}

/// Lays strings out back to back.
#[derive(Default)]
struct Text(String);

impl Text {
    fn push(&mut self, s: &str) -> Span {
        // An API object is at most a few megabytes: offsets fit in u32 (saturating keeps a
        // span in bounds if one ever did not).
        let start = u32::try_from(self.0.len()).unwrap_or(u32::MAX);
        self.0.push_str(s);
        let end = u32::try_from(self.0.len()).unwrap_or(u32::MAX);
        Span { start, end }
    }
}

impl PodMeta {
    pub fn new(parts: PodMetaParts<'_>) -> PodMeta {
        let len = |pairs: &[(&str, &str)]| -> usize {
            pairs.iter().map(|(k, v)| k.len() + v.len()).sum()
        };
        let mut text = Text(String::with_capacity(
            parts.namespace.len()
                + parts.name.len()
                + parts.uid.len()
                + parts.host.map_or(0, str::len)
                + len(&parts.labels)
                + len(&parts.annotations)
                + parts.container_ids.iter().map(|c| c.len()).sum::<usize>(),
        ));
        let mut pairs = |list: &[(&str, &str)]| -> Box<[(Span, Span)]> {
            list.iter()
                .map(|(k, v)| (text.push(k), text.push(v)))
                .collect()
        };
        let labels = pairs(&parts.labels);
        let annotations = pairs(&parts.annotations);
        PodMeta {
            labels,
            annotations,
            namespace: text.push(parts.namespace),
            name: text.push(parts.name),
            uid: text.push(parts.uid),
            host: parts.host.map(|h| text.push(h)),
            container_ids: parts.container_ids.iter().map(|c| text.push(c)).collect(),
            exclude: parts.exclude,
            text: text.0.into_boxed_str(),
        }
    }

    /// The metadata of `pod`; `None` for an object without name or namespace (not a pod a
    /// kubelet writes logs for).
    pub fn from_pod(pod: &ListedPod, opts: MetaOptions) -> Option<PodMeta> {
        let m = &pod.metadata;
        let name = m.name.as_deref().filter(|n| !n.is_empty())?;
        let namespace = m.namespace.as_deref().filter(|n| !n.is_empty())?;
        let annotations = m.annotations.as_ref();
        let exclude = annotations.is_some_and(|a| {
            EXCLUDE_ANNOTATIONS.iter().any(|k| {
                a.get(*k)
                    .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
            })
        });
        fn pairs(map: Option<&BTreeMap<String, String>>, keep: bool) -> Vec<(&str, &str)> {
            map.filter(|_| keep)
                .map(|m| m.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
                .unwrap_or_default()
        }
        let mut container_ids: Vec<&str> = Vec::new();
        if let Some(status) = &pod.status {
            let lists: [&Option<Vec<ListedContainer>>; 3] = [
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
                    if !bare.is_empty() && !container_ids.contains(&bare) {
                        container_ids.push(bare);
                    }
                }
            }
        }
        Some(PodMeta::new(PodMetaParts {
            namespace,
            name,
            uid: m.uid.as_deref().unwrap_or_default(),
            labels: pairs(m.labels.as_ref(), opts.labels),
            annotations: pairs(annotations, opts.annotations),
            host: pod
                .spec
                .as_ref()
                .and_then(|s| s.node_name.as_deref())
                .filter(|n| !n.is_empty()),
            exclude,
            container_ids,
        }))
    }

    fn at(&self, span: Span) -> &str {
        self.text
            .get(span.start as usize..span.end as usize)
            .unwrap_or_default()
    }

    pub fn namespace(&self) -> &str {
        self.at(self.namespace)
    }

    pub fn name(&self) -> &str {
        self.at(self.name)
    }

    pub fn uid(&self) -> &str {
        self.at(self.uid)
    }

    /// `spec.nodeName`.
    pub fn host(&self) -> Option<&str> {
        self.host.map(|h| self.at(h))
    }

    /// In the API's order (sorted by key), keys as the API has them.
    pub fn labels(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.labels.iter().map(|&(k, v)| (self.at(k), self.at(v)))
    }

    pub fn annotations(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.annotations
            .iter()
            .map(|&(k, v)| (self.at(k), self.at(v)))
    }

    /// Annotated `logship.io/exclude: "true"` or `fluentbit.io/exclude: "true"`.
    pub fn exclude(&self) -> bool {
        self.exclude
    }

    pub fn container_ids(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.container_ids.iter().map(|&c| self.at(c))
    }

    pub fn has_container(&self, id: &str) -> bool {
        self.container_ids().any(|c| c == id)
    }

    /// The same pod under another name (tests of renamed and recreated pods).
    #[cfg(test)]
    pub(crate) fn renamed(&self, name: &str) -> PodMeta {
        let labels: Vec<_> = self.labels().collect();
        let annotations: Vec<_> = self.annotations().collect();
        PodMeta::new(PodMetaParts {
            namespace: self.namespace(),
            name,
            uid: self.uid(),
            labels,
            annotations,
            host: self.host(),
            exclude: self.exclude,
            container_ids: self.container_ids().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(json: &str) -> ListedPod {
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
        assert_eq!((m.namespace(), m.name()), ("shop", "web-1"));
        assert_eq!(m.uid(), "u-1");
        assert_eq!(
            m.labels().collect::<Vec<_>>(),
            [("app.kubernetes.io/name", "web"), ("b", "2")]
        );
        assert_eq!(
            m.annotations().collect::<Vec<_>>(),
            [("fluentbit.io/exclude", "True"), ("x.y/z", "v")]
        );
        assert_eq!(m.host(), Some("node-a"));
        assert!(m.exclude());
        assert_eq!(m.container_ids().collect::<Vec<_>>(), ["aaa", "bbb", "ccc"]);
        assert!(m.has_container("bbb") && !m.has_container("zzz"));
    }

    #[test]
    fn left_out_maps_are_not_kept_but_exclusion_still_counts() {
        let opts = MetaOptions {
            labels: false,
            annotations: false,
        };
        let m = PodMeta::from_pod(&pod(POD), opts).unwrap();
        assert!(m.labels().len() == 0 && m.annotations().len() == 0);
        assert!(m.exclude());
    }

    #[test]
    fn exclusion_needs_true_and_objects_need_a_name() {
        let p = pod(
            r#"{"metadata":{"name":"a","namespace":"n","annotations":{"logship.io/exclude":"false"}}}"#,
        );
        let m = PodMeta::from_pod(&p, MetaOptions::default()).unwrap();
        assert!(!m.exclude());
        assert_eq!(m.host(), None);
        assert_eq!(m.container_ids().len(), 0);
        let p = pod(r#"{"metadata":{"name":"a","annotations":{"logship.io/exclude":"true"}}}"#);
        assert_eq!(PodMeta::from_pod(&p, MetaOptions::default()), None);
    }
}
