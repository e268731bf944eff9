//! The encoded fragments of the sources seen lately, and how many to keep. What a document
//! shares with every other document of its source (the escaped tag, the `kubernetes` object:
//! about 850 bytes) is encoded once per source and copied from here.
//!
//! How many depends on how records come. Records of one file come in runs (a read takes 16–256
//! KiB of a file, 75 records and more), so a miss costs one encoding per run and a small cache
//! does: a node reading more files than it holds at once misses once per run whatever its size
//! (with 2,000 files, 256 entries did not help, and a large one would be ~1.7 MB held for
//! nothing). A quiet node is the other way round: a round-robin of single lines from a thousand
//! files misses on every record of a small cache, and encoding the fragments was an eighth of
//! its CPU. So the cache starts at its floor and doubles each time it fills while records come
//! with fewer than [`SHORT_RUNS`] to a lookup (the others are the previous record's source
//! again), up to [`MAX`]. It goes back to its floor when it fills in long runs, or when a
//! window of as many lookups as it holds saw long runs: a large cache that no longer fills is
//! not kept for hours on the strength of a quiet spell long past.
//!
//! Sources without a pod are not kept, nor counted: their fragments are the tag alone, cheap to
//! encode, and the forward input makes a source per message, which would only fill the cache.

use std::collections::HashMap;
use std::sync::Arc;

use logship_collector::Source;

/// Sources kept at most: a quiet node's files, each a line now and then (~3.5 MB of fragments
/// at most, per output; the sources and their pods' metadata are the tailers' anyway).
const MAX: usize = 4096;
/// Fewer records than this per lookup, from one filling of the cache (or one window) to the
/// next, are runs too short for a small cache.
const SHORT_RUNS: usize = 4;

/// Keyed by the source's address; the entry holds the `Arc`, so the address cannot be reused
/// by another source while it is a key, and the tailer, which changes a source in place only
/// when nothing else holds it (`Arc::make_mut`), copies it instead. A weak or address-only
/// cache would see changed sources under old keys.
pub(crate) struct FragmentCache<F> {
    sources: HashMap<usize, (Arc<Source>, Arc<F>)>,
    /// The previous record's source (held, so that its address is not another's) and its
    /// fragments: most records need no lookup.
    last: Option<(Arc<Source>, Arc<F>)>,
    floor: usize,
    capacity: usize,
    /// Records of sources with a pod since the cache last filled or its window ended, and how
    /// many of them were looked up.
    records: usize,
    lookups: usize,
}

impl<F> FragmentCache<F> {
    /// A cache that keeps at least `floor` sources.
    pub(crate) fn new(floor: usize) -> FragmentCache<F> {
        FragmentCache {
            sources: HashMap::new(),
            last: None,
            floor,
            capacity: floor,
            records: 0,
            lookups: 0,
        }
    }

    /// The fragments of `source`, made by `encode` if they are not at hand.
    pub(crate) fn get_or_encode(
        &mut self,
        source: &Arc<Source>,
        encode: impl FnOnce(&Source) -> F,
    ) -> &F {
        let kept = source.pod.is_some();
        self.records += usize::from(kept);
        let (_, fragments) = match self.last.take() {
            Some(last) if Arc::ptr_eq(&last.0, source) => self.last.insert(last),
            _ => {
                let fragments = if kept {
                    self.lookup(source, encode)
                } else {
                    Arc::new(encode(source))
                };
                self.last.insert((Arc::clone(source), fragments))
            }
        };
        fragments
    }

    fn lookup(&mut self, source: &Arc<Source>, encode: impl FnOnce(&Source) -> F) -> Arc<F> {
        self.lookups += 1;
        let key = Arc::as_ptr(source) as usize;
        let found = self.sources.get(&key).map(|(_, f)| Arc::clone(f));
        if self.sources.len() >= self.capacity && found.is_none() {
            let capacity = if self.short_runs() {
                (self.capacity * 2).min(MAX)
            } else {
                self.floor
            };
            self.resize(capacity);
        } else if self.lookups >= self.capacity {
            self.end_window();
        }
        // A hit even when the window's end just emptied the cache.
        if let Some(fragments) = found {
            return fragments;
        }
        let fragments = Arc::new(encode(source));
        self.sources
            .insert(key, (Arc::clone(source), Arc::clone(&fragments)));
        fragments
    }

    fn short_runs(&self) -> bool {
        self.records < SHORT_RUNS * self.lookups
    }

    /// As many lookups as the cache holds, without filling it: back to the floor if records
    /// came in long runs, and counted afresh.
    fn end_window(&mut self) {
        if self.capacity > self.floor && !self.short_runs() {
            self.resize(self.floor);
        }
        self.records = 0;
        self.lookups = 0;
    }

    /// Emptied, to hold `capacity` sources from now on.
    fn resize(&mut self, capacity: usize) {
        if capacity < self.capacity {
            // Its room let go too, not only its entries.
            self.sources = HashMap::new();
        } else {
            self.sources.clear();
        }
        self.capacity = capacity;
        self.records = 0;
        self.lookups = 0;
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.sources.len()
    }

    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use logship_collector::pod_ref::PodRef;
    use logship_collector::Tag;
    use std::path::Path;

    const FLOOR: usize = 64;

    /// `n` sources of kubelet's files (with a pod), or of other files (without).
    fn sources(n: usize, with_pod: bool) -> Vec<Arc<Source>> {
        (0..n)
            .map(|i| {
                let name = format!("/var/log/containers/pod{i}_ns_app-{i:064x}.log");
                let path: Arc<Path> = Arc::from(Path::new(&name));
                let pod = PodRef::from_path(&path).filter(|_| with_pod);
                Arc::new(Source {
                    id: i as u64,
                    path,
                    tag: Tag::OfPath,
                    pod,
                    meta: None,
                })
            })
            .collect()
    }

    /// Looks up every source in turn, `rounds` times, `run` records each; returns how many
    /// encodings the last round took.
    fn round_robin(
        cache: &mut FragmentCache<u64>,
        sources: &[Arc<Source>],
        rounds: usize,
        run: usize,
    ) -> usize {
        let mut encoded = 0;
        for _ in 0..rounds {
            encoded = 0;
            for s in sources {
                for _ in 0..run {
                    cache.get_or_encode(s, |s| {
                        encoded += 1;
                        s.id
                    });
                }
            }
        }
        encoded
    }

    #[test]
    fn single_lines_from_many_files_grow_the_cache_until_each_is_encoded_once() {
        let sources = sources(1000, true);
        let mut cache = FragmentCache::new(FLOOR);
        assert_eq!(round_robin(&mut cache, &sources, 1, 1), 1000);
        // Grown through 128, 256 and 512 to 1,024 in the first round: the last round encodes
        // nothing.
        assert_eq!(round_robin(&mut cache, &sources, 4, 1), 0);
        assert_eq!((cache.len(), cache.capacity()), (1000, 1024));
    }

    #[test]
    fn runs_of_records_keep_the_cache_at_its_floor() {
        let mut cache = FragmentCache::new(FLOOR);
        // Once per run: every run is a miss with more files than the cache holds.
        assert_eq!(round_robin(&mut cache, &sources(2000, true), 3, 75), 2000);
        assert_eq!(cache.capacity(), FLOOR);
        // A floor above the files read keeps them all.
        let mut cache = FragmentCache::new(512);
        assert_eq!(round_robin(&mut cache, &sources(100, true), 3, 75), 0);
        assert_eq!(cache.capacity(), 512);
    }

    #[test]
    fn after_a_quiet_spell_runs_of_records_take_the_cache_back_to_its_floor() {
        let mut cache = FragmentCache::new(FLOOR);
        let quiet = sources(1000, true);
        round_robin(&mut cache, &quiet, 3, 1);
        assert_eq!(cache.capacity(), 1024);
        // The same files busy: the cache never fills, and a window of long runs takes it back.
        round_robin(&mut cache, &quiet, 2, 75);
        assert_eq!(cache.capacity(), FLOOR);
        assert!(cache.len() <= FLOOR);
        // Other files busy: the cache fills, in long runs.
        round_robin(&mut cache, &quiet, 3, 1);
        assert_eq!(cache.capacity(), 1024);
        round_robin(&mut cache, &sources(2000, true), 2, 75);
        assert_eq!(cache.capacity(), FLOOR);
        assert!(cache.len() <= FLOOR);
    }

    #[test]
    fn the_cache_grows_no_further_than_its_maximum() {
        let mut cache = FragmentCache::new(FLOOR);
        round_robin(&mut cache, &sources(MAX + 100, true), 3, 1);
        assert_eq!(cache.capacity(), MAX);
        assert!(cache.len() <= MAX);
    }

    #[test]
    fn sources_without_a_pod_are_encoded_once_a_run_and_not_kept() {
        let mut cache = FragmentCache::new(FLOOR);
        // The forward input's: a source per message, never seen again.
        assert_eq!(
            round_robin(&mut cache, &sources(10_000, false), 1, 3),
            10_000
        );
        assert_eq!((cache.len(), cache.capacity()), (0, FLOOR));
    }
}
