//! What logship keeps of a pod: the fields a record carries (uid, labels, annotations, node) and
//! the facts it acts on (exclusion, container ids), cut out of the API's pod once per pod
//! version so that nothing per line touches the API types.

use std::collections::BTreeMap;

use super::key_table::KeyTable;
use super::listed_pod::{ListedContainer, ListedPod};
use crate::fingerprint::{fnv1a, FNV_OFFSET};

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
/// A node holds one per pod for as long as the pod lives, so it is one block besides its `Arc`:
/// the container ids' hashes, where each string ends, and the strings back to back. A string
/// per field took about twice the memory, ranges of (start, end) per field a third more than
/// ends alone, and the three parts in blocks of their own 64 bytes more a pod. Label and
/// annotation keys, which the pods of a cluster share, are numbers in the agent's
/// [`KeyTable`] rather than text (their end is the number with the kept-key bit set).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PodMeta {
    /// In turn:
    /// - the 64-bit FNV-1a hash of each container id, 8 bytes little-endian (ids are only ever
    ///   compared, and 64 hex digits were a sixth of a pod);
    /// - where each string ends in the text (it starts where the string before it in the text
    ///   ends), 2 bytes little-endian, or 4 when the text is 32 KiB or more ([`PodMeta::wide`]);
    /// - the text: namespace, name, uid, host (empty when unknown), the labels' keys and values
    ///   in turn, then the annotations'; keys in the key table are left out.
    data: Box<[u8]>,
    /// Label pairs, then annotation pairs, among the strings.
    labels: u32,
    annotations: u32,
    containers: u32,
    /// Ends take 4 bytes, not 2.
    wide: bool,
    has_host: bool,
    exclude: bool,
}

/// Where the fixed fields are among the strings; the labels start at `LABELS`.
const NAMESPACE: usize = 0;
const NAME: usize = 1;
const UID: usize = 2;
const HOST: usize = 3;
const LABELS: usize = 4;
/// Set in an end that is a key's number in the [`KeyTable`], for 2- and 4-byte ends.
const KEPT_KEY_NARROW: u32 = 1 << 15;
const KEPT_KEY_WIDE: u32 = 1 << 31;
const _: () = assert!((super::key_table::CAPACITY as u32) < KEPT_KEY_NARROW);

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

impl PodMeta {
    pub fn new(parts: PodMetaParts<'_>) -> PodMeta {
        fn pairs<'a>(list: &'a [(&'a str, &'a str)]) -> impl Iterator<Item = &'a str> + 'a {
            list.iter().flat_map(|&(k, v)| [k, v])
        }
        let keys = KeyTable::global();
        let fixed = [
            parts.namespace,
            parts.name,
            parts.uid,
            parts.host.unwrap_or_default(),
        ];
        let first_id = LABELS + 2 * (parts.labels.len() + parts.annotations.len());
        // Each string with its key number, if it is a key the table keeps.
        let strings: Vec<(&str, Option<u32>)> = fixed
            .into_iter()
            .chain(pairs(&parts.labels))
            .chain(pairs(&parts.annotations))
            .enumerate()
            .map(|(i, s)| {
                let is_key = (LABELS..first_id).contains(&i) && (i - LABELS).is_multiple_of(2);
                (s, is_key.then(|| keys.number(s)).flatten())
            })
            .collect();
        let inline = strings.iter().filter(|(_, n)| n.is_none());
        let text_len: usize = inline.clone().map(|(s, _)| s.len()).sum();
        let wide = text_len >= KEPT_KEY_NARROW as usize;
        let (width, kept) = end_format(wide);
        let ids = &parts.container_ids;
        let mut data = Vec::with_capacity(8 * ids.len() + width * strings.len() + text_len);
        for id in ids {
            data.extend_from_slice(&id_hash(id).to_le_bytes());
        }
        let mut end = 0usize;
        for &(s, number) in &strings {
            let entry = match number {
                Some(n) => kept | n,
                None => {
                    end += s.len();
                    // An API object is at most a few megabytes: offsets fit in 31 bits
                    // (saturating keeps a range in bounds if one ever did not).
                    u32::try_from(end).map_or(kept - 1, |e| e.min(kept - 1))
                }
            };
            data.extend_from_slice(&entry.to_le_bytes()[..width]);
        }
        for (s, _) in inline {
            data.extend_from_slice(s.as_bytes());
        }
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        PodMeta {
            data: data.into_boxed_slice(),
            labels: count(parts.labels.len()),
            annotations: count(parts.annotations.len()),
            containers: count(ids.len()),
            wide,
            has_host: parts.host.is_some(),
            exclude: parts.exclude,
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

    fn strings(&self) -> usize {
        LABELS + 2 * (self.labels as usize + self.annotations as usize)
    }

    fn ends_at(&self) -> usize {
        8 * self.containers as usize
    }

    fn width(&self) -> usize {
        end_format(self.wide).0
    }

    fn kept_key(&self) -> u32 {
        end_format(self.wide).1
    }

    /// The `i`th string's end (or key number, with the kept-key bit).
    fn end(&self, i: usize) -> Option<u32> {
        let at = self.ends_at() + i * self.width();
        match *self.data.get(at..at + self.width())? {
            [a, b] => Some(u16::from_le_bytes([a, b]).into()),
            [a, b, c, d] => Some(u32::from_le_bytes([a, b, c, d])),
            _ => None,
        }
    }

    fn text(&self) -> &[u8] {
        let at = self.ends_at() + self.strings() * self.width();
        self.data.get(at..).unwrap_or_default()
    }

    /// The `i`th string ("" past the end, as for a default `PodMeta`).
    fn at(&self, i: usize) -> &str {
        let Some(end) = self.end(i).filter(|_| i < self.strings()) else {
            return "";
        };
        let kept = self.kept_key();
        if end & kept != 0 {
            return KeyTable::global().key(end & !kept);
        }
        // Where the string before it in the text ends: a kept key is never two in a row, so
        // this looks at one or two entries.
        let start = (0..i)
            .rev()
            .filter_map(|j| self.end(j))
            .find(|e| e & kept == 0)
            .map_or(0, |e| e as usize);
        // Whole strings were put in, so their ends are character boundaries.
        let bytes = self.text().get(start..end as usize).unwrap_or_default();
        std::str::from_utf8(bytes).unwrap_or_default()
    }

    /// `n` pairs of strings from the `first`th.
    fn pairs(&self, first: usize, n: u32) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        (0..n as usize).map(move |p| (self.at(first + 2 * p), self.at(first + 2 * p + 1)))
    }

    fn annotations_at(&self) -> usize {
        LABELS + 2 * self.labels as usize
    }

    pub fn namespace(&self) -> &str {
        self.at(NAMESPACE)
    }

    pub fn name(&self) -> &str {
        self.at(NAME)
    }

    pub fn uid(&self) -> &str {
        self.at(UID)
    }

    /// `spec.nodeName`.
    pub fn host(&self) -> Option<&str> {
        self.has_host.then(|| self.at(HOST))
    }

    /// In the API's order (sorted by key), keys as the API has them.
    pub fn labels(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.pairs(LABELS, self.labels)
    }

    pub fn annotations(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.pairs(self.annotations_at(), self.annotations)
    }

    /// Annotated `logship.io/exclude: "true"` or `fluentbit.io/exclude: "true"`.
    pub fn exclude(&self) -> bool {
        self.exclude
    }

    /// The hashes of the container ids, as kept.
    fn container_hashes(&self) -> impl Iterator<Item = u64> + '_ {
        self.data
            .get(..self.ends_at())
            .unwrap_or_default()
            .chunks_exact(8)
            .filter_map(|h| h.try_into().ok().map(u64::from_le_bytes))
    }

    /// Whether `id` (bare, as in a log file's name) is one of the pod's containers.
    pub fn has_container(&self, id: &str) -> bool {
        let wanted = id_hash(id);
        self.container_hashes().any(|h| h == wanted)
    }

    /// How many container ids the pod lists.
    pub fn containers(&self) -> usize {
        self.container_hashes().count()
    }

    /// The same pod under another name (tests of renamed and recreated pods).
    #[cfg(test)]
    pub(crate) fn renamed(&self, name: &str) -> PodMeta {
        let labels: Vec<_> = self.labels().collect();
        let annotations: Vec<_> = self.annotations().collect();
        let mut m = PodMeta::new(PodMetaParts {
            namespace: self.namespace(),
            name,
            uid: self.uid(),
            labels,
            annotations,
            host: self.host(),
            exclude: self.exclude,
            container_ids: Vec::new(),
        });
        let ids = &self.data[..self.ends_at()];
        m.data = ids.iter().chain(m.data.iter()).copied().collect();
        m.containers = self.containers;
        m
    }
}

/// Bytes per end and the kept-key bit, for 2-byte ends or (`wide`) 4-byte ones.
fn end_format(wide: bool) -> (usize, u32) {
    if wide {
        (4, KEPT_KEY_WIDE)
    } else {
        (2, KEPT_KEY_NARROW)
    }
}

/// A container id as kept: its 64-bit FNV-1a hash. Ids are compared only among the few
/// incarnations of one pod name, where a collision of 64-bit hashes is not a concern.
fn id_hash(id: &str) -> u64 {
    fnv1a(FNV_OFFSET, id.as_bytes())
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
        assert_eq!(m.containers(), 3);
        assert!(m.has_container("aaa") && m.has_container("ccc"));
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
        assert_eq!(m.containers(), 0);
        let p = pod(r#"{"metadata":{"name":"a","annotations":{"logship.io/exclude":"true"}}}"#);
        assert_eq!(PodMeta::from_pod(&p, MetaOptions::default()), None);
    }

    #[test]
    fn each_field_reads_back_whatever_else_is_empty() {
        let m = PodMeta::new(PodMetaParts {
            namespace: "n",
            name: "",
            uid: "u",
            annotations: vec![("a", ""), ("", "b")],
            container_ids: vec!["c1", "c2"],
            ..PodMetaParts::default()
        });
        assert_eq!(
            (m.namespace(), m.name(), m.uid(), m.host()),
            ("n", "", "u", None)
        );
        assert_eq!(m.labels().len(), 0);
        assert_eq!(m.annotations().collect::<Vec<_>>(), [("a", ""), ("", "b")]);
        assert_eq!(m.containers(), 2);
        assert!(m.has_container("c1") && m.has_container("c2") && !m.has_container("c"));
        let empty = PodMeta::default();
        assert_eq!((empty.namespace(), empty.host()), ("", None));
        assert_eq!(empty.containers() + empty.labels().len(), 0);
        assert!(!empty.has_container(""));
    }

    #[test]
    fn shared_keys_are_kept_once_and_long_ones_in_the_pod() {
        let long = "k".repeat(super::super::key_table::MAX_KEY_BYTES + 1);
        let make = || {
            PodMeta::new(PodMetaParts {
                namespace: "ns",
                name: "web",
                uid: "u",
                labels: vec![("app", "web"), (long.as_str(), "x")],
                annotations: vec![("app", "again")],
                container_ids: vec!["c"],
                ..PodMetaParts::default()
            })
        };
        let m = make();
        assert_eq!(
            m.labels().collect::<Vec<_>>(),
            [("app", "web"), (long.as_str(), "x")]
        );
        assert_eq!(m.annotations().collect::<Vec<_>>(), [("app", "again")]);
        assert!(m.has_container("c") && m.containers() == 1);
        // The text holds the long key but not `app` (twice), nor the container id.
        assert_eq!(m.text(), format!("nswebuweb{long}xagain").as_bytes());
        assert!(!m.wide, "2-byte ends");
        assert_eq!(
            m,
            make(),
            "the same pod compares equal (a status update changes nothing)"
        );
    }

    #[test]
    fn a_pod_with_32_kib_of_text_or_more_keeps_4_byte_ends() {
        let big = "v".repeat(40_000);
        let m = PodMeta::new(PodMetaParts {
            namespace: "ns",
            name: "web",
            uid: "u",
            labels: vec![("app", "web")],
            annotations: vec![("app", big.as_str()), ("after", "end")],
            host: Some("node-a"),
            container_ids: vec!["c", "d"],
            ..PodMetaParts::default()
        });
        assert!(m.wide);
        assert_eq!(
            (m.namespace(), m.name(), m.uid(), m.host()),
            ("ns", "web", "u", Some("node-a"))
        );
        assert_eq!(m.labels().collect::<Vec<_>>(), [("app", "web")]);
        assert_eq!(
            m.annotations().collect::<Vec<_>>(),
            [("app", big.as_str()), ("after", "end")]
        );
        assert!(m.has_container("d") && !m.has_container("e") && m.containers() == 2);
    }

    #[test]
    fn ends_are_2_bytes_up_to_32_kib_of_text_and_4_past_it() {
        for (len, wide) in [(32_767, false), (32_768, true)] {
            // namespace, name and uid take 3 bytes; the annotation value is the text's last.
            let value = "v".repeat(len - 3 - "after".len());
            let m = PodMeta::new(PodMetaParts {
                namespace: "n",
                name: "w",
                uid: "u",
                annotations: vec![(value.as_str(), "after")],
                container_ids: vec!["c"],
                ..PodMetaParts::default()
            });
            assert_eq!((m.text().len(), m.wide), (len, wide));
            assert_eq!(
                m.annotations().collect::<Vec<_>>(),
                [(value.as_str(), "after")],
                "{len}"
            );
            assert!(m.has_container("c"));
        }
    }
}
