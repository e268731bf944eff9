//! The forwarder: logship's outputs. It takes record batches from the collector's pipe, shares
//! them between the outputs ([`fanout`]), encodes them for a destination (Elasticsearch `_bulk`
//! documents, the same documents as NDJSON for local runs, or fluent forward messages for the
//! user's Fluentd: [`forward`]), sends them with batching, concurrency, retries and backoff, and
//! releases each output's share of a batch's delivery only when that output has settled every
//! record in it (delivered, dead-lettered, spooled, or given up on with a counter). It does not
//! read files or decide which Elasticsearch to use: the binary hands it a resolved plan.

pub mod backoff;
pub mod dead_letter;
pub mod dedot;
pub mod document;
pub mod es;
pub mod fanout;
pub mod forward;
mod fragment_cache;
pub mod log_limit;
mod merged_fields;
pub mod ndjson_output;
pub mod stats;

pub use document::{DocumentEncoder, DocumentOptions};
pub use es::{run_elasticsearch, EsOutputConfig, EsTarget};
pub use fanout::{fan_out, OutputFeed, SharedBatch};
pub use forward::{run_forward, Compress, ForwardOutputConfig, ForwardStats};
pub use logship_collector::tls::{TlsClient, TlsSettingNames};
pub use ndjson_output::run_ndjson;
pub use stats::OutputStats;
