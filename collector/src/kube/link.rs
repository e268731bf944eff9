//! A file's tie to its pod's metadata, checked by the input before each read of the file: look
//! the pod up again when the cache changed, hold the file back while its pod is unknown and the
//! wait has not run out, and drop the records of excluded pods.
//!
//! Holding a file back means not reading it: its lines wait on disk, not in memory, and the
//! other files keep flowing.

use crate::counters;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::stats::KubeStats;
use super::store::PodStore;
use crate::record::Record;
use crate::tailer::Tailer;

/// What the input needs to tie files to pods.
#[derive(Clone)]
pub struct PodMetadata {
    pub store: Arc<PodStore>,
    /// How long the records of a file whose pod is unknown wait for it.
    pub wait: Duration,
    pub stats: Arc<KubeStats>,
}

/// Per file: where its tie to the cache stands. Its wait counts from the tailer's
/// `last_activity`: a file that waits is not read, so that is when it was opened.
#[derive(Debug, Default)]
pub struct PodLink {
    /// One more than the cache generation last looked at; 0 before the first look (a file is
    /// kept per tailed file, so this is not an `Option`, which would take twice the room).
    seen: u64,
    /// The wait ran out with the pod unknown (counted once).
    expired: bool,
}

impl PodMetadata {
    /// Brings the file's metadata up to date with the cache; true while the file must wait for
    /// its pod. A lookup happens only when the cache changed: the common case is one atomic
    /// load per read.
    pub fn refresh(&self, t: &mut Tailer, now: Instant) -> bool {
        let generation = self.store.generation().wrapping_add(1);
        if t.pod_link.seen != generation {
            let found = match t.pod() {
                Some(pod) => {
                    self.store
                        .lookup(pod.namespace_name(), pod.pod_name(), pod.docker_id())
                }
                None => return false,
            };
            t.pod_link.seen = generation;
            // A pod that left the cache keeps the metadata its file had: its last lines may be
            // read long after the delete delay when the agent lags behind.
            if let Some(meta) = found {
                if !t.pod_meta().is_some_and(|m| Arc::ptr_eq(m, &meta)) {
                    t.set_pod_meta(Some(meta));
                }
            }
        }
        if !self.may_hold(t) {
            return false;
        }
        if now.saturating_duration_since(t.last_activity) < self.wait {
            return true;
        }
        t.pod_link.expired = true;
        counters::add(&self.stats.waits_expired, 1);
        tracing::debug!(path = %t.path().display(), wait = ?self.wait,
            "pod not known to the API yet; shipping with the file-name fields until it is");
        false
    }

    /// Whether `t` may be held back for its pod: it has one, still unknown, and its wait has
    /// not run out. Its wait counts from `last_activity`.
    pub fn may_hold(&self, t: &Tailer) -> bool {
        t.pod().is_some() && t.pod_meta().is_none() && !t.pod_link.expired
    }

    /// Drops the records a poll of `t` added to `out` after `from` when its pod is excluded.
    pub fn drop_excluded(&self, t: &Tailer, out: &mut Vec<Record>, from: usize) {
        if out.len() > from && t.pod_meta().is_some_and(|m| m.exclude()) {
            counters::add(&self.stats.records_excluded, (out.len() - from) as u64);
            out.truncate(from);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::{PodMeta, PodMetaParts};
    use crate::line_decoder::DecodeOptions;
    use crate::stats::CollectorStats;
    use std::io::Write;

    const ID: &str = "b75ad5eba8ddde3687e11d07b5f1d13b59c6168d5183621ac2792482b99e7155";

    fn tailer(dir: &std::path::Path, name: &str) -> Tailer {
        let path = dir.join(name);
        let mut f = std::fs::File::create(&path).unwrap();
        for i in 0..3 {
            writeln!(
                f,
                r#"{{"log":"line {i}\n","stream":"stdout","time":"2026-11-22T01:02:03Z"}}"#
            )
            .unwrap();
        }
        let opts = DecodeOptions {
            merge_json: true,
            max_line_bytes: 1 << 20,
        };
        let file = std::fs::File::open(&path).unwrap();
        Tailer::new(
            &path,
            file,
            0,
            None,
            opts,
            Arc::new(CollectorStats::default()),
        )
        .unwrap()
    }

    fn meta(label: &str, exclude: bool) -> PodMeta {
        PodMeta::new(PodMetaParts {
            namespace: "ns",
            name: "web-1",
            uid: "u1",
            labels: vec![("v", label)],
            exclude,
            container_ids: vec![ID],
            ..PodMetaParts::default()
        })
    }

    fn kube(wait: Duration) -> PodMetadata {
        PodMetadata {
            store: Arc::new(PodStore::new(Duration::from_secs(60))),
            wait,
            stats: Arc::new(KubeStats::default()),
        }
    }

    fn read(t: &mut Tailer) -> Vec<Record> {
        let mut out = Vec::new();
        t.poll(&mut vec![0; 4096], &mut out).unwrap();
        out
    }

    #[test]
    fn a_file_waits_for_its_pod_then_carries_each_version() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = tailer(dir.path(), &format!("web-1_ns_app-{ID}.log"));
        let k = kube(Duration::from_secs(3600));
        let now = Instant::now();
        assert!(k.refresh(&mut t, now), "unknown pod: hold");
        k.store.apply(meta("v1", false), now);
        assert!(!k.refresh(&mut t, now));
        let records = read(&mut t);
        assert_eq!(records.len(), 3);
        let label = |r: &Record| {
            r.source
                .meta
                .as_ref()
                .unwrap()
                .labels()
                .next()
                .unwrap()
                .1
                .to_owned()
        };
        assert!(records.iter().all(|r| label(r) == "v1"));

        k.store.apply(meta("v2", false), now);
        assert!(!k.refresh(&mut t, now));
        assert_eq!(t.pod_meta().unwrap().labels().next(), Some(("v", "v2")));
        assert!(
            records.iter().all(|r| label(r) == "v1"),
            "records read before keep the version they were read with"
        );
        // Deleted and forgotten: the file keeps what it had.
        k.store.delete("ns", "web-1", "u1", now);
        k.store.purge(now + Duration::from_secs(61));
        k.store.apply(meta("x", false).renamed("other"), now);
        assert!(!k.refresh(&mut t, now));
        assert_eq!(t.pod_meta().unwrap().labels().next(), Some(("v", "v2")));
        assert_eq!(counters::get(&k.stats.waits_expired), 0);
    }

    #[test]
    fn the_wait_is_bounded_and_other_files_never_wait() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = tailer(dir.path(), &format!("web-1_ns_app-{ID}.log"));
        let mut plain = tailer(dir.path(), "syslog");
        let k = kube(Duration::from_millis(100));
        let now = Instant::now();
        assert!(!k.refresh(&mut plain, now), "not a kubelet file");
        assert!(k.refresh(&mut t, now));
        let later = now + Duration::from_millis(100);
        assert!(!k.refresh(&mut t, later));
        assert!(!k.refresh(&mut t, later));
        assert_eq!(counters::get(&k.stats.waits_expired), 1, "counted once");
        assert!(read(&mut t).iter().all(|r| r.source.meta.is_none()));
    }

    #[test]
    fn records_of_excluded_pods_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = tailer(dir.path(), &format!("web-1_ns_app-{ID}.log"));
        let k = kube(Duration::from_secs(1));
        let now = Instant::now();
        k.store.apply(meta("v1", true), now);
        assert!(!k.refresh(&mut t, now));
        let mut out = vec![];
        t.poll(&mut vec![0; 4096], &mut out).unwrap();
        assert_eq!(out.len(), 3);
        k.drop_excluded(&t, &mut out, 1);
        assert_eq!(out.len(), 1, "only what this poll added");
        assert_eq!(counters::get(&k.stats.records_excluded), 2);
    }
}
