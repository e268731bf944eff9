//! The journald input: the entries of chosen systemd units (by default `docker.service` and
//! `kubelet.service`, as the original DaemonSet's fluent-bit read them), shipped through the
//! same pipe, outputs and memory bound as the container logs. Each entry becomes a record with
//! the tag `host.<unit>`, the entry's fields as journald gives them ([`entry`]), and the event
//! time of `__REALTIME_TIMESTAMP`. Its document `_id` is derived from the unit and the entry's
//! cursor, so an entry sent twice (after a crash) overwrites itself.
//!
//! **Checkpoint.** The journal cursor of the last entry every output has settled is kept in
//! the state directory ([`cursor`], [`commit`]), with the file checkpoints' rule: a restarted
//! agent goes on just after it, so nothing is lost and only what was in flight is read twice.
//!
//! **Why journalctl and not libsystemd.** The input runs `journalctl --output=json --follow`
//! ([`command`]) as a child process, as Vector's journald source does, rather than linking
//! libsystemd's `sd_journal` API, as fluent-bit does:
//! - the agent stays a Rust binary without a C library to link at build time or find at run
//!   time, and without `unsafe` FFI over a memory-mapped file format;
//! - a damaged journal file that trips the reader up kills journalctl, not the agent; it is
//!   started again (with backoff) from the last entry read, and the file inputs never notice;
//! - journalctl understands every journal file format feature of its systemd version
//!   (compression, compact mode), and the image's journalctl can be upgraded on its own.
//!
//! The cost is JSON parsing of each entry and one extra process, small for the volume docker
//! and kubelet write. The image must carry journalctl (the Dockerfile copies it in); when it is
//! missing or fails, the input reports it (log and `logship_journald_errors_total`) and tries
//! again, while the other inputs go on.

pub mod command;
pub mod commit;
pub mod cursor;
pub mod entry;
mod reader;
pub mod stats;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::pipe::BatchSender;
pub use cursor::{CursorStore, Damaged};
pub use stats::JournaldStats;

#[derive(Debug, Clone)]
pub struct JournaldConfig {
    /// Full unit names (`docker.service`); entries of other units are not shipped.
    pub units: Vec<String>,
    /// A journal directory (`journalctl --directory`); `None`: the system journal.
    pub directory: Option<PathBuf>,
    /// The journalctl program, looked up in `PATH` unless it is a path.
    pub journalctl: PathBuf,
    /// Without a saved cursor, start with new entries only (else with the oldest).
    pub start_at_end: bool,
    /// The longest entry, as journalctl's JSON; longer ones are skipped and counted.
    pub max_entry_bytes: usize,
    /// The shortest time between two writes of the cursor file.
    pub persist_interval: Duration,
    /// The first and the longest wait before journalctl is started again after it ended.
    pub restart_backoff: (Duration, Duration),
}

impl JournaldConfig {
    pub fn new(units: Vec<String>) -> JournaldConfig {
        JournaldConfig {
            units,
            directory: None,
            journalctl: PathBuf::from("journalctl"),
            start_at_end: false,
            max_entry_bytes: 1 << 20,
            persist_interval: Duration::from_millis(100),
            restart_backoff: (Duration::from_secs(1), Duration::from_secs(30)),
        }
    }
}

/// Starts the input on the current tokio runtime. It reads until `stop` turns true, then drops
/// `tx` (its side of the pipe) and, before the returned task ends, waits for the outputs to
/// settle or drop what it sent and writes the cursor. Without a `store` (no Elasticsearch),
/// nothing is remembered across runs.
pub fn start(
    cfg: JournaldConfig,
    store: Option<CursorStore>,
    tx: BatchSender,
    stats: Arc<JournaldStats>,
    stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let resume = store.as_ref().and_then(|s| s.cursor().map(str::to_owned));
    let (commits_tx, commits_rx) = mpsc::unbounded_channel();
    let committer = tokio::spawn(commit::commit(
        commits_rx,
        store,
        Arc::clone(&stats),
        cfg.persist_interval,
    ));
    let reader = reader::Reader::new(cfg, tx, stats, commits_tx, resume);
    tokio::spawn(async move {
        reader.run(stop).await;
        let _ = committer.await;
    })
}
