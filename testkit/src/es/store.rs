//! Indices, documents and the counters tests assert on (the write semantics are in write.rs).
//!
//! Indices live in a name-keyed map, each with its aliases and open/closed state; index
//! expressions are resolved to them by resolve.rs.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::{SystemTime, UNIX_EPOCH};

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use serde::Serialize;

use super::error::EsError;
use super::json::Json;
use super::versions::Profile;

/// One document as the double holds it now.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredDoc {
    pub index: String,
    pub id: String,
    /// The `_type` the client sent (action line or URL), `None` when it sent none.
    pub doc_type: Option<String>,
    pub version: u64,
    pub seq_no: u64,
    pub source: serde_json::Value,
    /// The source line exactly as received (a re-serialization after a partial update).
    pub raw_source: Vec<u8>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IndexStats {
    /// Documents held now.
    pub docs: u64,
    /// Accepted index/create/update items.
    pub raw_accepted: u64,
    /// Documents replaced or deleted (ES's `docs.deleted` before merges).
    pub deleted: u64,
}

/// Counters since start or the last reset. Control requests are not counted.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct EsStats {
    pub version: String,
    /// Requests answered, failed by a fault, dropped or reset (control requests excluded).
    pub requests: u64,
    /// Statuses actually sent (dropped and reset requests have none).
    pub requests_by_status: BTreeMap<u16, u64>,
    pub bulk_requests: u64,
    pub bulk_items: u64,
    pub gzip_requests: u64,
    /// Accepted index/create/update items (2xx, not a noop).
    pub raw_docs: u64,
    /// Documents held now, all indices.
    pub distinct_docs: u64,
    pub auto_id_accepted: u64,
    /// Accepted index/create items whose `_id` the client chose.
    pub explicit_id_accepted: u64,
    /// Distinct (index, _id) pairs ever accepted through such items.
    pub explicit_id_distinct: u64,
    /// `explicit_id_accepted - explicit_id_distinct`: writes that hit an id already written.
    pub duplicates: u64,
    pub updates: u64,
    pub deletes: u64,
    pub items_by_status: BTreeMap<u16, u64>,
    pub items_by_op: BTreeMap<String, u64>,
    /// Items failed by the reject/fail item faults.
    pub injected_item_failures: u64,
    /// Items that failed for a real reason (validation, conflict, document refused...).
    pub failed_items: u64,
    pub injected_request_failures: u64,
    pub dropped_responses: u64,
    pub garbage_responses: u64,
    /// Responses sent one item short (`short_next_responses`).
    pub short_responses: u64,
    pub reset_connections: u64,
    pub indices: BTreeMap<String, IndexStats>,
}

/// One request the double answered (or reset), control requests excluded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    pub method: String,
    /// The path as sent (percent-encoding kept).
    pub path: String,
    /// The query string as sent, without the `?`; empty when there is none.
    pub query: String,
    /// The status sent; `None` when the connection was reset instead of answered.
    pub status: Option<u16>,
}

/// How many requests [`Store::requests`] keeps (the oldest are dropped first).
pub(crate) const REQUEST_LOG: usize = 10_000;

pub(crate) struct Doc {
    pub(crate) version: u64,
    pub(crate) seq_no: u64,
    pub(crate) type_sent: Option<String>,
    pub(crate) source: Json,
    pub(crate) raw: Vec<u8>,
    /// Arrival order of the current version, so listings come back in write order.
    pub(crate) order: u64,
}

pub(crate) struct Index {
    pub uuid: String,
    pub created_ms: u64,
    pub(crate) docs: HashMap<String, Doc>,
    /// The one mapping type of a 6.x/7.x index, fixed by its first write.
    pub(crate) doc_type: Option<String>,
    pub(crate) seq: i64,
    pub deleted: u64,
    pub raw_accepted: u64,
    pub store_bytes: u64,
    /// Alias name to its properties (`is_write_index`, routing...), as `GET /_alias` shows them.
    pub aliases: BTreeMap<String, Json>,
    pub closed: bool,
}

impl Index {
    pub(crate) fn doc_count(&self) -> u64 {
        self.docs.len() as u64
    }
}

pub(crate) struct Store {
    pub indices: BTreeMap<String, Index>,
    pub stats: EsStats,
    pub(crate) explicit_ever: HashSet<(String, String)>,
    pub(crate) order: u64,
    /// The latest requests, oldest first.
    pub(crate) requests: VecDeque<RequestRecord>,
    rng: StdRng,
}

impl Store {
    pub(crate) fn new(id_seed: Option<u64>) -> Store {
        let rng = match id_seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_entropy(),
        };
        Store {
            indices: BTreeMap::new(),
            stats: EsStats::default(),
            explicit_ever: HashSet::new(),
            order: 0,
            requests: VecDeque::new(),
            rng,
        }
    }

    /// Forgets indices, documents and counters; the id generator runs on so ids stay unique.
    pub(crate) fn clear(&mut self) {
        self.indices.clear();
        self.stats = EsStats::default();
        self.explicit_ever.clear();
        self.requests.clear();
    }

    pub(crate) fn log_request(&mut self, r: RequestRecord) {
        if self.requests.len() == REQUEST_LOG {
            self.requests.pop_front();
        }
        self.requests.push_back(r);
    }

    /// A 20-character id like ES's auto-generated ones.
    pub(crate) fn auto_id(&mut self) -> String {
        let mut b = [0u8; 15];
        self.rng.fill_bytes(&mut b);
        b64url(&b)
    }

    pub(crate) fn distinct_docs(&self) -> u64 {
        self.indices.values().map(Index::doc_count).sum()
    }

    pub(crate) fn snapshot(&self, prof: &Profile) -> EsStats {
        let mut s = self.stats.clone();
        s.version = prof.version.key().to_string();
        s.distinct_docs = self.distinct_docs();
        s.explicit_id_distinct = self.explicit_ever.len() as u64;
        s.duplicates = s
            .explicit_id_accepted
            .saturating_sub(s.explicit_id_distinct);
        s.indices = self
            .indices
            .iter()
            .map(|(n, ix)| {
                (
                    n.clone(),
                    IndexStats {
                        docs: ix.doc_count(),
                        raw_accepted: ix.raw_accepted,
                        deleted: ix.deleted,
                    },
                )
            })
            .collect();
        s
    }

    /// Documents of the named indices (all when `None`), by index name, then in write order.
    pub(crate) fn docs(&self, only: Option<&[String]>) -> Vec<StoredDoc> {
        let mut out = Vec::new();
        for (name, ix) in &self.indices {
            if only.is_some_and(|names| !names.contains(name)) {
                continue;
            }
            let mut docs: Vec<(&String, &Doc)> = ix.docs.iter().collect();
            docs.sort_by_key(|(_, d)| d.order);
            out.extend(docs.into_iter().map(|(id, d)| StoredDoc {
                index: name.clone(),
                id: id.clone(),
                doc_type: d.type_sent.clone(),
                version: d.version,
                seq_no: d.seq_no,
                source: d.source.to_value(),
                raw_source: d.raw.clone(),
            }));
        }
        out
    }

    pub(crate) fn create_index(&mut self, name: &str) {
        self.create_index_at(name, None);
    }

    /// Creates (or replaces) an index created at `created_ms` (`None`: now), open, no aliases.
    pub(crate) fn create_index_at(&mut self, name: &str, created_ms: Option<u64>) {
        let mut b = [0u8; 16];
        self.rng.fill_bytes(&mut b);
        let created_ms = created_ms.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0)
        });
        let ix = Index {
            uuid: b64url(&b),
            created_ms,
            docs: HashMap::new(),
            doc_type: None,
            seq: -1,
            deleted: 0,
            raw_accepted: 0,
            store_bytes: 0,
            aliases: BTreeMap::new(),
            closed: false,
        };
        self.indices.insert(name.to_string(), ix);
    }
}

pub(crate) fn not_found(prof: &Profile, name: &str) -> EsError {
    let reason = if prof.esv >= (7, 0, 0) {
        format!("no such index [{name}]")
    } else {
        "no such index".to_string()
    };
    EsError::new(404, "index_not_found_exception", reason)
        .with("resource.type", "index_or_alias")
        .with("resource.id", name)
        .with("index_uuid", "_na_")
        .with("index", name)
}

pub(crate) fn invalid_index_name(name: &str, problem: &str) -> EsError {
    EsError::new(
        400,
        "invalid_index_name_exception",
        format!("Invalid index name [{name}], {problem}"),
    )
    .with("index_uuid", "_na_")
    .with("index", name)
}

fn b64url(bytes: &[u8]) -> String {
    const ALPHA: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHA[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_look_like_es() {
        let mut s = Store::new(Some(7));
        let id = s.auto_id();
        assert_eq!(id.len(), 20);
        assert!(id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_eq!(b64url(&[0xfb, 0xff]), "-_8");
        assert_eq!(b64url(b"Man"), "TWFu");
    }
}
