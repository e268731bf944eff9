//! The collector: logship's inputs. It finds container log files, tails them, decodes Docker
//! json-file and CRI lines, joins the pieces of split lines, merges whole-line JSON, names the
//! pod a file belongs to (and, through [`kube`], what the Kubernetes API says of that pod), and
//! hands [`Record`]s to the outputs through a memory-bounded [`pipe`]. The [`forward_input`]
//! takes records over the fluent forward protocol into the same pipe, the [`journald`] input the
//! entries of chosen systemd units, and [`kubelet_stats`] turns the kubelet's `/stats/summary`
//! into heapster-shaped metrics documents. It knows nothing of Elasticsearch or any other
//! destination: encoding records for a wire format is the forwarder's job.

pub mod acks;
pub mod assembler;
pub mod changes;
pub mod checkpoint;
pub mod counters;
pub mod cri;
pub mod discovery;
pub mod docker;
pub mod file_source;
pub mod fingerprint;
pub mod forward_input;
pub mod http_client;
pub mod journald;
pub mod json_escape;
#[cfg(target_arch = "x86_64")]
mod json_escape_spread;
pub mod json_merge;
mod json_scan;
pub mod json_text;
pub mod kube;
pub mod kubelet_stats;
pub mod line_decoder;
pub mod log_text;
pub mod pipe;
pub mod pod_ref;
mod read_size;
pub mod record;
pub mod rotated_away;
pub mod state_file;
pub mod stats;
pub mod tailer;
pub mod time;
pub mod time_text;
pub mod tls;

pub use checkpoint::CheckpointStore;
pub use file_source::{FileSource, FileSourceConfig};
pub use json_text::JsonText;
pub use line_decoder::DecodeOptions;
pub use log_text::{LogRef, LogText};
pub use pipe::{pipe, BatchReceiver, BatchSender, Delivery, MemoryGauge, RecordBatch, Records};
pub use record::{MetricFamily, Record, RecordKind, Source, Stream, Tag};
pub use stats::CollectorStats;
pub use time::EventTime;
pub use time_text::TimeText;
