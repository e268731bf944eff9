//! The pod a container log file belongs to, read from the file name that kubelet gives the
//! symlinks in `/var/log/containers`: `<pod>_<namespace>_<container>-<64 hex container id>.log`.

use std::path::Path;

/// What the file name says about the container: always present for kubelet's files, and the
/// key under which Kubernetes API metadata is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRef {
    pub pod_name: String,
    pub namespace_name: String,
    pub container_name: String,
    pub docker_id: String,
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
        Some(PodRef {
            pod_name: pod.to_owned(),
            namespace_name: namespace.to_owned(),
            container_name: container.to_owned(),
            docker_id: id.to_owned(),
        })
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
        assert_eq!(r.pod_name, "session-db-fdd649d68-cq5sp");
        assert_eq!(r.namespace_name, "socks");
        assert_eq!(r.container_name, "istio-proxy");
        assert_eq!(r.docker_id, ID);
    }

    #[test]
    fn container_names_may_contain_underscores_and_dashes() {
        let p = format!("a.b-c_ns_my_con-tainer-{ID}.log");
        let r = PodRef::from_path(Path::new(&p)).unwrap();
        assert_eq!(r.pod_name, "a.b-c");
        assert_eq!(r.container_name, "my_con-tainer");
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
