//! The pod a container log file belongs to, read from the file name that kubelet gives the
//! symlinks in `/var/log/containers`: `<pod>_<namespace>_<container>-<64 hex container id>.log`.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// What the file name says about the container: always present for kubelet's files, and the
/// key under which Kubernetes API metadata is looked up.
///
/// Held once per tailed file and shared by every `Source` of it. The names are ranges of the
/// file's path, which the tailer, the sources and the checkpoint already share: a node with
/// thousands of files keeps no copy of them (a string per file cost 140 bytes each).
#[derive(Clone)]
pub struct PodRef {
    path: Arc<Path>,
    /// Where `<pod>_` begins in the path's bytes; the others are counted from there.
    stem_at: u16,
    namespace_at: u16,
    container_at: u16,
    id_at: u16,
    // Where `.log` begins is the path's length less 4: not kept, so that a `Source` fits in
    // 72 bytes.
}

impl PodRef {
    /// Parses the file name of `path`, with the same rules as fluent-bit's kubernetes filter
    /// regex: pod names have no `_`, namespaces have no `_`, the container id is 64 lowercase
    /// hex/alphanumeric characters. Anything else is not a kubelet container log.
    pub fn from_path(path: &Arc<Path>) -> Option<PodRef> {
        let name = path.file_name()?.to_str()?;
        let stem = name.strip_suffix(".log")?;
        if stem.len() < 66 {
            return None;
        }
        let (rest, id) = stem.split_at(stem.len() - 64);
        if !id
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        {
            return None;
        }
        let rest = rest.strip_suffix('-')?;
        let (pod, rest) = rest.split_once('_')?;
        let (namespace, container) = rest.split_once('_')?;
        if pod.is_empty() || namespace.is_empty() || container.is_empty() {
            return None;
        }
        if !pod
            .bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.')
        {
            return None;
        }
        let whole = path.as_os_str().as_encoded_bytes();
        if !whole.ends_with(name.as_bytes()) {
            // A path that does not end with its file name (a trailing `/`): names of their own.
            return PodRef::new(pod, namespace, container, id);
        }
        PodRef::at(
            Arc::clone(path),
            whole.len() - name.len(),
            pod,
            namespace,
            container,
        )
        // Offsets past 64 KiB: a path no file system allows, but the names still count.
        .or_else(|| PodRef::new(pod, namespace, container, id))
    }

    /// The reference for these names, as if they were a file name (tests and benchmarks).
    pub fn new(pod: &str, namespace: &str, container: &str, id: &str) -> Option<PodRef> {
        let name = format!("{pod}_{namespace}_{container}-{id}.log");
        PodRef::at(Path::new(&name).into(), 0, pod, namespace, container)
    }

    /// `None` if the names end more than 64 KiB into the path.
    fn at(
        path: Arc<Path>,
        stem_at: usize,
        pod: &str,
        namespace: &str,
        container: &str,
    ) -> Option<PodRef> {
        let namespace_at = stem_at + pod.len() + 1;
        let container_at = namespace_at + namespace.len() + 1;
        let id_at = container_at + container.len() + 1;
        // Where `.log` begins is not kept, but it must be within reach of u16s too.
        u16::try_from(path.as_os_str().len() - ".log".len()).ok()?;
        Some(PodRef {
            stem_at: u16::try_from(stem_at).ok()?,
            namespace_at: u16::try_from(namespace_at).ok()?,
            container_at: u16::try_from(container_at).ok()?,
            id_at: u16::try_from(id_at).ok()?,
            path,
        })
    }

    pub fn pod_name(&self) -> &str {
        self.part(self.stem_at.into(), usize::from(self.namespace_at) - 1)
    }

    pub fn namespace_name(&self) -> &str {
        self.part(self.namespace_at.into(), usize::from(self.container_at) - 1)
    }

    pub fn container_name(&self) -> &str {
        self.part(self.container_at.into(), usize::from(self.id_at) - 1)
    }

    /// The container id (64 characters for kubelet's files).
    pub fn docker_id(&self) -> &str {
        let end_at = self.path.as_os_str().len().saturating_sub(".log".len());
        self.part(self.id_at.into(), end_at)
    }

    /// Bytes `start..end` of the path: ASCII or UTF-8 ranges of a file name checked when parsed.
    fn part(&self, start: usize, end: usize) -> &str {
        let bytes = self.path.as_os_str().as_encoded_bytes();
        bytes
            .get(start..end)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }
}

/// The same names, wherever they were read from.
impl PartialEq for PodRef {
    fn eq(&self, other: &PodRef) -> bool {
        self.pod_name() == other.pod_name()
            && self.namespace_name() == other.namespace_name()
            && self.container_name() == other.container_name()
            && self.docker_id() == other.docker_id()
    }
}

impl Eq for PodRef {}

impl fmt::Debug for PodRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PodRef")
            .field("pod_name", &self.pod_name())
            .field("namespace_name", &self.namespace_name())
            .field("container_name", &self.container_name())
            .field("docker_id", &self.docker_id())
            .finish()
    }
}

/// fluent-bit's tag for a tailed file: `kube.` and the path with `/` turned into `.`.
pub fn tag_for_path(path: &Path) -> String {
    let p = path.to_string_lossy();
    let mut tag = String::with_capacity(p.len() + 5);
    tag.push_str("kube.");
    tag.extend(
        p.trim_start_matches('/')
            .chars()
            .map(|c| if c == '/' { '.' } else { c }),
    );
    tag
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "b75ad5eba8ddde3687e11d07b5f1d13b59c6168d5183621ac2792482b99e7155";

    #[test]
    fn parses_kubelet_names() {
        let p =
            format!("/var/log/containers/session-db-fdd649d68-cq5sp_socks_istio-proxy-{ID}.log");
        let r = PodRef::from_path(&Path::new(&p).into()).unwrap();
        assert_eq!(r.pod_name(), "session-db-fdd649d68-cq5sp");
        assert_eq!(r.namespace_name(), "socks");
        assert_eq!(r.container_name(), "istio-proxy");
        assert_eq!(r.docker_id(), ID);
    }

    #[test]
    fn names_are_read_from_the_shared_path() {
        let p = format!("/var/log/pods-ü/web-1_shop_app-{ID}.log");
        let path: Arc<Path> = Path::new(&p).into();
        let r = PodRef::from_path(&path).unwrap();
        assert_eq!(Arc::strong_count(&path), 2, "no copy of the names");
        assert_eq!(
            (r.pod_name(), r.namespace_name(), r.container_name()),
            ("web-1", "shop", "app")
        );
        assert_eq!(r.docker_id(), ID);
        // A path that does not end with its file name keeps its own names.
        let trailing: Arc<Path> = Path::new(&format!("{p}/")).into();
        let r = PodRef::from_path(&trailing).unwrap();
        assert_eq!((r.pod_name(), r.docker_id()), ("web-1", ID));
        assert_eq!(r, PodRef::new("web-1", "shop", "app", ID).unwrap());
        assert_eq!(PodRef::from_path(&path), Some(r), "equal by their names");
    }

    #[test]
    fn container_names_may_contain_underscores_and_dashes() {
        let p = format!("a.b-c_ns_my_con-tainer-{ID}.log");
        let r = PodRef::from_path(&Path::new(&p).into()).unwrap();
        assert_eq!(r.pod_name(), "a.b-c");
        assert_eq!(r.container_name(), "my_con-tainer");
    }

    #[test]
    fn other_names_do_not_match() {
        for n in [
            "conmon-ctr-0b0250256ed0e2d675ef8ac4299aa53b20d6000a9aad25577d9e4bb210bfbb1b.log",
            "syslog",
            "pod_ns_c-short.log",
            &format!("Pod_ns_c-{ID}.log"),
            &format!("pod_ns_c-{ID}.txt"),
            &format!("_ns_c-{ID}.log"),
        ] {
            assert_eq!(PodRef::from_path(&Path::new(n).into()), None, "{n}");
        }
    }

    #[test]
    fn tags_follow_fluent_bit() {
        assert_eq!(
            tag_for_path(Path::new("/var/log/containers/a_b_c.log")),
            "kube.var.log.containers.a_b_c.log"
        );
    }
}
