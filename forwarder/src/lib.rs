//! The forwarder: logship's outputs. It takes record batches from the collector's pipe, encodes
//! them for a destination (Elasticsearch `_bulk` documents, or the same documents as NDJSON for
//! local runs), sends them with batching, concurrency, retries and backoff, and releases each
//! batch's delivery only when the destination has settled every record in it. It does not read
//! files or decide which Elasticsearch to use: the binary hands it a resolved plan.

pub mod backoff;
pub mod dead_letter;
pub mod dedot;
pub mod document;
pub mod es;
pub mod log_limit;
pub mod ndjson_output;
pub mod stats;

pub use document::{DocumentEncoder, DocumentOptions};
pub use es::{run_elasticsearch, EsOutputConfig, EsTarget};
pub use ndjson_output::run_ndjson;
pub use stats::OutputStats;
