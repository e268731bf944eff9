//! The pod a container log file belongs to, read from the file name that kubelet gives the
//! symlinks in `/var/log/containers`: `<pod>_<namespace>_<container>-<64 hex container id>.log`.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// What the file name says about the container: always present for kubelet's files, and the
/// key under which Kubernetes API metadata is looked up.
///
/// Held once per tailed file and shared by every `Source` of it: the four names are kept as
/// one string (`<pod>_<namespace>_<container>-<id>`, the file name's stem) and where each
/// begins, so a node with thousands of files keeps one small allocation per file.
#[derive(Clone, PartialEq, Eq)]
pub struct PodRef {
    stem: Arc<str>,
    namespace_at: u16,
    container_at: u16,
    id_at: u16,
}

impl PodRef {
    /// Parses the file name of `path`, with the same rules as fluent-bit's kubernetes filter
    /// regex: pod names have no `_`, namespaces have no `_`, the container id is 64 lowercase
    /// hex/alphanumeric characters. Anything else is not a kubelet container log.
    pub fn from_path(path: &Path) -> Option<PodRef> {
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
        PodRef::new(pod, namespace, container, id)
    }

    /// The reference for these names (`None` if together they are longer than a file name can
    /// be).
    pub fn new(pod: &str, namespace: &str, container: &str, id: &str) -> Option<PodRef> {
        let namespace_at = pod.len() + 1;
        let container_at = namespace_at + namespace.len() + 1;
        let id_at = container_at + container.len() + 1;
        Some(PodRef {
            stem: format!("{pod}_{namespace}_{container}-{id}").into(),
            namespace_at: u16::try_from(namespace_at).ok()?,
            container_at: u16::try_from(container_at).ok()?,
            id_at: u16::try_from(id_at).ok()?,
        })
    }

    pub fn pod_name(&self) -> &str {
        self.part(0, self.namespace_at)
    }

    pub fn namespace_name(&self) -> &str {
        self.part(self.namespace_at, self.container_at)
    }

    pub fn container_name(&self) -> &str {
        self.part(self.container_at, self.id_at)
    }

    /// The container id (64 characters for kubelet's files).
    pub fn docker_id(&self) -> &str {
        self.stem.get(usize::from(self.id_at)..).unwrap_or_default()
    }

    /// From `start` to the separator before `next`.
    fn part(&self, start: u16, next: u16) -> &str {
        let end = usize::from(next).saturating_sub(1);
        self.stem.get(usize::from(start)..end).unwrap_or_default()
    }
}

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
        let r = PodRef::from_path(Path::new(&p)).unwrap();
        assert_eq!(r.pod_name(), "session-db-fdd649d68-cq5sp");
        assert_eq!(r.namespace_name(), "socks");
        assert_eq!(r.container_name(), "istio-proxy");
        assert_eq!(r.docker_id(), ID);
    }

    #[test]
    fn container_names_may_contain_underscores_and_dashes() {
        let p = format!("a.b-c_ns_my_con-tainer-{ID}.log");
        let r = PodRef::from_path(Path::new(&p)).unwrap();
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
            assert_eq!(PodRef::from_path(Path::new(n)), None, "{n}");
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
