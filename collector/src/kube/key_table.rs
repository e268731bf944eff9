//! Label and annotation keys, kept once per agent instead of once per pod.
//!
//! The pods of a cluster share a handful of keys (`app`, `pod-template-hash`,
//! `app.kubernetes.io/name`, `prometheus.io/scrape`…), and the keys are about 40 % of what the
//! pod cache holds per pod. A [`crate::kube::PodMeta`] keeps a key's number here instead of its
//! text. The table only grows (a number must keep its key for as long as a pod may hold it),
//! so it is bounded: keys longer than [`MAX_KEY_BYTES`], and every key once it holds
//! [`CAPACITY`], are kept in the pod as before. At most 4,096 × 128 bytes, 512 KiB, for a
//! cluster that makes up new keys all the time; a few KiB for the usual few dozen.

use std::collections::HashMap;
use std::sync::{LazyLock, PoisonError, RwLock};

/// Keys kept at most; numbers are below it.
pub const CAPACITY: usize = 4096;
/// Longer keys (a label key is at most 317 bytes) stay in the pod.
pub const MAX_KEY_BYTES: usize = 128;

pub struct KeyTable {
    capacity: usize,
    keys: RwLock<Keys>,
}

#[derive(Default)]
struct Keys {
    by_number: Vec<&'static str>,
    numbers: HashMap<&'static str, u32>,
}

static GLOBAL: LazyLock<KeyTable> = LazyLock::new(|| KeyTable::new(CAPACITY));

impl KeyTable {
    pub fn new(capacity: usize) -> KeyTable {
        KeyTable {
            capacity,
            keys: RwLock::default(),
        }
    }

    /// The agent's table, which every `PodMeta` uses.
    pub fn global() -> &'static KeyTable {
        &GLOBAL
    }

    /// The key's number, adding it if there is room; `None` when it is to be kept inline.
    pub fn number(&self, key: &str) -> Option<u32> {
        if key.len() > MAX_KEY_BYTES {
            return None;
        }
        if let Some(&n) = self.read().numbers.get(key) {
            return Some(n);
        }
        // The data stays consistent between statements; a panicked writer leaves it usable.
        let mut keys = self.keys.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(&n) = keys.numbers.get(key) {
            return Some(n);
        }
        if keys.by_number.len() >= self.capacity {
            return None;
        }
        let n = u32::try_from(keys.by_number.len()).ok()?;
        // Never freed: numbers are handed out for good, and the table is bounded.
        let kept: &'static str = Box::leak(Box::from(key));
        keys.by_number.push(kept);
        keys.numbers.insert(kept, n);
        Some(n)
    }

    /// The key numbered `n` ("" for a number never handed out).
    pub fn key(&self, n: u32) -> &'static str {
        self.read()
            .by_number
            .get(n as usize)
            .copied()
            .unwrap_or_default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Keys> {
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_has_one_number_and_reads_back() {
        let t = KeyTable::new(8);
        let app = t.number("app").unwrap();
        let hash = t.number("pod-template-hash").unwrap();
        assert_ne!(app, hash);
        assert_eq!(t.number("app"), Some(app));
        assert_eq!((t.key(app), t.key(hash)), ("app", "pod-template-hash"));
        assert_eq!(t.key(99), "");
    }

    #[test]
    fn long_keys_and_keys_past_the_capacity_stay_inline() {
        let t = KeyTable::new(2);
        assert_eq!(t.number(&"k".repeat(MAX_KEY_BYTES + 1)), None);
        assert!(t.number(&"k".repeat(MAX_KEY_BYTES)).is_some());
        assert!(t.number("a").is_some());
        assert_eq!(t.number("b"), None);
        assert_eq!(
            t.number("a"),
            Some(1),
            "known keys keep their number when full"
        );
    }
}
