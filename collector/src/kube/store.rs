//! The cache of this node's pods, filled by the watcher and read by the file input. Pods are
//! looked up by namespace and name (from the file name) and container id; a deleted pod stays
//! for the delete delay, so that the last lines of its files, read after the deletion, are
//! still enriched.
//!
//! Readers do not lock per line: a file looks its pod up again only when [`PodStore::generation`]
//! moved, which happens only when what a lookup can return changed.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use compact_str::CompactString;

use super::meta::PodMeta;

/// Deleted incarnations kept per pod name: enough for a pod recreated again and again within the
/// delete delay (a StatefulSet pod in a crash loop of its node), without growing without bound.
const MAX_GONE_PER_NAME: usize = 4;

pub struct PodStore {
    inner: Mutex<Inner>,
    generation: AtomicU64,
    delete_delay: Duration,
}

#[derive(Default)]
struct Inner {
    /// namespace → pod name → entry; nested so that a lookup needs no owned key.
    /// B-trees: with thousands of pods, about two thirds of the room of hash tables, which
    /// are half empty after they grow; looked up when the cache changes, not per line.
    pods: BTreeMap<CompactString, BTreeMap<PodName, Entry>>,
    /// During a relist: the pods listed so far; the others were deleted while unwatched.
    relisting: Option<HashSet<(CompactString, CompactString)>>,
    live: usize,
}

/// A pod name as the key of its entry: read from one of the entry's own incarnations (the live
/// one when there is one) rather than a copy, which cost 24 bytes inline and most names again on
/// the heap. Ordered and borrowed as the name, so that a lookup needs no owned key.
struct PodName(Arc<PodMeta>);

impl std::borrow::Borrow<str> for PodName {
    fn borrow(&self) -> &str {
        self.0.name()
    }
}

impl PartialEq for PodName {
    fn eq(&self, other: &PodName) -> bool {
        self.0.name() == other.0.name()
    }
}

impl Eq for PodName {}

impl PartialOrd for PodName {
    fn partial_cmp(&self, other: &PodName) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PodName {
    fn cmp(&self, other: &PodName) -> std::cmp::Ordering {
        self.0.name().cmp(other.0.name())
    }
}

#[derive(Default)]
struct Entry {
    live: Option<Arc<PodMeta>>,
    gone: Gone,
}

/// Deleted incarnations, oldest first, with when they were seen deleted. Boxed: most names
/// have none, and an empty vector in every entry of thousands took 16 bytes more each.
#[derive(Default)]
#[expect(
    clippy::box_collection,
    reason = "a thin pointer: 8 bytes in every entry, where a vector takes 24"
)]
struct Gone(Option<Box<Vec<Incarnation>>>);

/// A deleted pod's metadata and when it was seen deleted.
type Incarnation = (Instant, Arc<PodMeta>);

impl Gone {
    fn as_slice(&self) -> &[Incarnation] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }

    /// Keeps the last [`MAX_GONE_PER_NAME`].
    fn push(&mut self, now: Instant, meta: Arc<PodMeta>) {
        let gone = self.0.get_or_insert_with(Box::default);
        if gone.len() >= MAX_GONE_PER_NAME {
            gone.remove(0);
        }
        gone.push((now, meta));
    }

    fn retain(&mut self, keep: impl FnMut(&Incarnation) -> bool) {
        if let Some(gone) = &mut self.0 {
            gone.retain(keep);
            if gone.is_empty() {
                self.0 = None;
            }
        }
    }
}

impl PodStore {
    pub fn new(delete_delay: Duration) -> PodStore {
        PodStore {
            inner: Mutex::new(Inner::default()),
            generation: AtomicU64::new(0),
            delete_delay,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The data stays consistent between statements; a panicked writer leaves a usable cache.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves whenever a lookup may answer differently than before.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The metadata for a container's file: the incarnation of the pod that lists the
    /// container, else the live pod of that name (its status may not list a new container yet),
    /// else the most recently deleted one.
    pub fn lookup(&self, namespace: &str, name: &str, container_id: &str) -> Option<Arc<PodMeta>> {
        let inner = self.lock();
        let entry = inner.pods.get(namespace)?.get(name)?;
        let incarnations = || {
            entry
                .live
                .iter()
                .chain(entry.gone.as_slice().iter().rev().map(|(_, m)| m))
        };
        incarnations()
            .find(|m| m.has_container(container_id))
            .or_else(|| incarnations().next())
            .cloned()
    }

    /// Pods known to exist now.
    pub fn live_pods(&self) -> usize {
        self.lock().live
    }

    /// A pod was added or changed. A version equal to the cached one changes nothing (status
    /// updates are most of a pod's events and do not touch what records carry).
    pub fn apply(&self, meta: PodMeta, now: Instant) {
        let mut inner = self.lock();
        if let Some(seen) = &mut inner.relisting {
            seen.insert((meta.namespace().into(), meta.name().into()));
        }
        let names = inner.pods.entry(meta.namespace().into()).or_default();
        if names
            .get(meta.name())
            .is_some_and(|e| e.live.as_deref() == Some(&meta))
        {
            return;
        }
        // Taken out and put back under the new version as its key, so that the key never
        // keeps an old version alive.
        let mut entry = names.remove(meta.name()).unwrap_or_default();
        let mut added = 0;
        match &entry.live {
            Some(cur) if cur.uid() != meta.uid() => {
                // Deleted and created again while the watch was not looking.
                let old = Arc::clone(cur);
                push_gone(&mut entry, now, old);
            }
            Some(_) => {}
            None => added = 1,
        }
        let meta = Arc::new(meta);
        entry.live = Some(Arc::clone(&meta));
        names.insert(PodName(meta), entry);
        inner.live += added;
        drop(inner);
        self.bump();
    }

    /// A pod was deleted: it is kept, as deleted, for the delete delay.
    pub fn delete(&self, namespace: &str, name: &str, uid: &str, now: Instant) {
        let mut inner = self.lock();
        let Some(entry) = inner.pods.get_mut(namespace).and_then(|n| n.get_mut(name)) else {
            return;
        };
        if entry
            .live
            .as_ref()
            .is_some_and(|m| m.uid() == uid || uid.is_empty())
        {
            if let Some(old) = entry.live.take() {
                push_gone(entry, now, old);
                inner.live -= 1;
            }
        }
        // What lookups return is unchanged: deleted pods are still found.
    }

    /// A relist starts: pods not listed by its end were deleted while the watch was down.
    pub fn begin_relist(&self) {
        self.lock().relisting = Some(HashSet::new());
    }

    pub fn end_relist(&self, now: Instant) {
        let mut inner = self.lock();
        let Some(seen) = inner.relisting.take() else {
            return;
        };
        let mut removed = 0;
        for (ns, names) in inner.pods.iter_mut() {
            for (name, entry) in names.iter_mut() {
                let listed = seen.contains(&(ns.clone(), CompactString::from(name.0.name())));
                if entry.live.is_some() && !listed {
                    if let Some(old) = entry.live.take() {
                        push_gone(entry, now, old);
                        removed += 1;
                    }
                }
            }
        }
        inner.live -= removed;
    }

    /// Forgets deleted pods older than the delete delay. Files that already carry their
    /// metadata keep it (a file never loses metadata it had); only files opened later miss it.
    pub fn purge(&self, now: Instant) {
        let mut inner = self.lock();
        let delay = self.delete_delay;
        inner.pods.retain(|_, names| {
            names.retain(|_, entry| {
                entry
                    .gone
                    .retain(|(at, _)| now.saturating_duration_since(*at) < delay);
                entry.live.is_some() || !entry.gone.as_slice().is_empty()
            });
            !names.is_empty()
        });
    }
}

fn push_gone(entry: &mut Entry, now: Instant, meta: Arc<PodMeta>) {
    entry.gone.push(now, meta);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::PodMetaParts;

    fn meta(name: &str, uid: &str, label: &str, ids: &[&str]) -> PodMeta {
        PodMeta::new(PodMetaParts {
            namespace: "ns",
            name,
            uid,
            labels: vec![("app", label)],
            container_ids: ids.to_vec(),
            ..PodMetaParts::default()
        })
    }

    fn label(m: Option<Arc<PodMeta>>) -> Option<String> {
        m.and_then(|m| m.labels().next().map(|(_, v)| v.to_string()))
    }

    #[test]
    fn lookups_follow_changes_and_equal_versions_change_nothing() {
        let s = PodStore::new(Duration::from_secs(60));
        let t = Instant::now();
        assert_eq!(s.lookup("ns", "a", "c1"), None);
        s.apply(meta("a", "u1", "v1", &["c1"]), t);
        let g = s.generation();
        let first = s.lookup("ns", "a", "c1").unwrap();
        s.apply(meta("a", "u1", "v1", &["c1"]), t);
        assert_eq!(s.generation(), g);
        assert!(Arc::ptr_eq(&first, &s.lookup("ns", "a", "zz").unwrap()));
        s.apply(meta("a", "u1", "v2", &["c1"]), t);
        assert!(s.generation() > g);
        assert_eq!(label(s.lookup("ns", "a", "c1")).as_deref(), Some("v2"));
        assert_eq!(s.lookup("other", "a", "c1"), None);
        assert_eq!(s.live_pods(), 1);
    }

    #[test]
    fn a_changed_pod_keeps_no_old_version_alive() {
        // The entry's key is one of its incarnations: it must follow the live one.
        let s = PodStore::new(Duration::from_secs(60));
        let t = Instant::now();
        s.apply(meta("a", "u1", "v1", &["c1"]), t);
        let v1 = s.lookup("ns", "a", "c1").unwrap();
        s.apply(meta("a", "u1", "v2", &["c1"]), t);
        assert_eq!(
            Arc::strong_count(&v1),
            1,
            "only this test holds the first version"
        );
        let v2 = s.lookup("ns", "a", "c1").unwrap();
        assert_eq!(
            Arc::strong_count(&v2),
            3,
            "the entry's live version, its key, and this"
        );
        s.apply(meta("b", "u2", "v1", &["c2"]), t);
        assert_eq!(label(s.lookup("ns", "b", "c2")).as_deref(), Some("v1"));
        assert_eq!(s.live_pods(), 2);
    }

    #[test]
    fn deleted_pods_stay_for_the_delay_and_recreated_names_match_by_container() {
        let s = PodStore::new(Duration::from_secs(60));
        let t = Instant::now();
        s.apply(meta("db-0", "u1", "old", &["c-old"]), t);
        s.delete("ns", "db-0", "u1", t);
        assert_eq!(s.live_pods(), 0);
        assert_eq!(
            label(s.lookup("ns", "db-0", "c-old")).as_deref(),
            Some("old")
        );
        // The StatefulSet makes the pod again under the same name.
        s.apply(meta("db-0", "u2", "new", &[]), t);
        assert_eq!(
            label(s.lookup("ns", "db-0", "c-old")).as_deref(),
            Some("old")
        );
        assert_eq!(
            label(s.lookup("ns", "db-0", "c-new")).as_deref(),
            Some("new")
        );
        s.purge(t + Duration::from_secs(59));
        assert_eq!(
            label(s.lookup("ns", "db-0", "c-old")).as_deref(),
            Some("old")
        );
        s.purge(t + Duration::from_secs(60));
        assert_eq!(
            label(s.lookup("ns", "db-0", "c-old")).as_deref(),
            Some("new")
        );
        s.delete("ns", "db-0", "u2", t + Duration::from_secs(61));
        s.purge(t + Duration::from_secs(121));
        assert_eq!(s.lookup("ns", "db-0", "c-new"), None);
    }

    #[test]
    fn a_relist_retires_pods_it_no_longer_lists() {
        let s = PodStore::new(Duration::from_secs(60));
        let t = Instant::now();
        s.apply(meta("a", "ua", "a", &[]), t);
        s.apply(meta("b", "ub", "b", &[]), t);
        s.begin_relist();
        s.apply(meta("b", "ub", "b2", &[]), t);
        s.end_relist(t);
        assert_eq!(s.live_pods(), 1);
        // "a" went away while unwatched: still found until the delay passes.
        assert_eq!(label(s.lookup("ns", "a", "x")).as_deref(), Some("a"));
        s.purge(t + Duration::from_secs(60));
        assert_eq!(s.lookup("ns", "a", "x"), None);
        assert_eq!(label(s.lookup("ns", "b", "x")).as_deref(), Some("b2"));
    }

    #[test]
    fn a_new_uid_without_a_delete_keeps_the_old_incarnation() {
        let s = PodStore::new(Duration::from_secs(60));
        let t = Instant::now();
        s.apply(meta("a", "u1", "one", &["c1"]), t);
        s.apply(meta("a", "u2", "two", &["c2"]), t);
        assert_eq!(s.live_pods(), 1);
        assert_eq!(label(s.lookup("ns", "a", "c1")).as_deref(), Some("one"));
        assert_eq!(label(s.lookup("ns", "a", "c2")).as_deref(), Some("two"));
        for i in 0..10 {
            s.apply(meta("a", &format!("x{i}"), "n", &[]), t);
        }
        assert!(s.lock().pods["ns"]["a"].gone.as_slice().len() <= MAX_GONE_PER_NAME);
    }
}
