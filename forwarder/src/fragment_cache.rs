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
//! its CPU. So the cache starts small and doubles each time it fills while records come with
//! fewer than [`SHORT_RUNS`] to a lookup (the rest are the previous record's source again), up
//! to [`MAX`]; once it fills in long runs it is small again. A new file on a quiet node fills a
//! cache of quiet files that all hit: that grows it too, rather than throwing them out.

use std::collections::HashMap;
use std::sync::Arc;

use logship_collector::Source;

/// Sources kept while records come in runs (and to start with).
const MIN: usize = 64;
/// Sources kept at most: a quiet node's files, each a line now and then (3.5 MB at most).
const MAX: usize = 4096;
/// Fewer records than this per lookup, from one filling of the cache to the next, are runs too
/// short for a small cache.
const SHORT_RUNS: usize = 4;

/// Keyed by the source's address; the entry holds the `Arc`, so the address cannot be reused
/// by another source while it is a key, and the tailer, which changes a source in place only
/// when nothing else holds it (`Arc::make_mut`), copies it instead. A weak or address-only
/// cache would see changed sources under old keys.
pub(crate) struct FragmentCache<F> {
    sources: HashMap<usize, (Arc<Source>, Arc<F>)>,
    capacity: usize,
    /// Records since the cache last filled, and how many of them were looked up in it.
    records: usize,
    lookups: usize,
}

impl<F> FragmentCache<F> {
    pub(crate) fn new() -> FragmentCache<F> {
        FragmentCache {
            sources: HashMap::new(),
            capacity: MIN,
            records: 0,
            lookups: 0,
        }
    }

    /// Counts a record whose fragments were at hand without a lookup (the previous record's
    /// source): the runs the cache is sized by.
    pub(crate) fn hit_in_run(&mut self) {
        self.records += 1;
    }

    /// The fragments of `source`, made by `encode` if they are not kept.
    pub(crate) fn get_or_encode(
        &mut self,
        source: &Arc<Source>,
        encode: impl FnOnce(&Source) -> F,
    ) -> Arc<F> {
        self.records += 1;
        self.lookups += 1;
        let key = Arc::as_ptr(source) as usize;
        if let Some((_, fragments)) = self.sources.get(&key) {
            return Arc::clone(fragments);
        }
        if self.sources.len() >= self.capacity {
            self.resize();
        }
        let fragments = Arc::new(encode(source));
        self.sources
            .insert(key, (Arc::clone(source), Arc::clone(&fragments)));
        fragments
    }

    /// Full: emptied, and grown when it filled in short runs, back to the minimum otherwise.
    fn resize(&mut self) {
        let short_runs = self.records < SHORT_RUNS * self.lookups;
        let capacity = if short_runs {
            (self.capacity * 2).min(MAX)
        } else {
            MIN
        };
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
    use logship_collector::Tag;
    use std::path::Path;

    fn sources(n: usize) -> Vec<Arc<Source>> {
        (0..n)
            .map(|i| {
                Arc::new(Source {
                    id: i as u64,
                    path: Arc::from(Path::new(&format!("/var/log/containers/{i}.log"))),
                    tag: Tag::OfPath,
                    pod: None,
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
                cache.get_or_encode(s, |s| {
                    encoded += 1;
                    s.id
                });
                for _ in 1..run {
                    cache.hit_in_run();
                }
            }
        }
        encoded
    }

    #[test]
    fn single_lines_from_many_files_grow_the_cache_until_each_is_encoded_once() {
        let sources = sources(1000);
        let mut cache = FragmentCache::new();
        assert_eq!(round_robin(&mut cache, &sources, 1, 1), 1000);
        // Grown through 128, 256 and 512 to 1,024 during the first rounds; none encoded since.
        assert_eq!(round_robin(&mut cache, &sources, 4, 1), 0);
        assert_eq!((cache.len(), cache.capacity()), (1000, 1024));
    }

    #[test]
    fn runs_of_records_keep_the_cache_small_and_take_it_back_down() {
        let sources_then = sources(2000);
        let mut cache = FragmentCache::new();
        assert_eq!(round_robin(&mut cache, &sources_then, 3, 75), 2000);
        assert_eq!(cache.capacity(), MIN);
        // A quiet spell grows it; long runs of more files than it holds take it back.
        round_robin(&mut cache, &sources_then, 2, 1);
        assert_eq!(cache.capacity(), 2048);
        round_robin(&mut cache, &sources(MAX + 1000), 1, 75);
        assert_eq!(cache.capacity(), MIN);
        assert!(cache.len() <= MIN);
    }

    #[test]
    fn the_cache_grows_no_further_than_its_maximum() {
        let sources = sources(MAX + 100);
        let mut cache = FragmentCache::new();
        round_robin(&mut cache, &sources, 3, 1);
        assert_eq!(cache.capacity(), MAX);
        assert!(cache.len() <= MAX);
    }
}
