//! The fluent forward output: every record, as Elasticsearch gets it less `@timestamp` and
//! `flb-log-tag`, to the user's Fluentd or Fluent Bit (`FLUENT_FORWARD_SERVER`), in Forward
//! mode `[tag, [[EventTime, record], …], {"size": n, "chunk": id}]` (or CompressedPackedForward
//! with gzip), a chunk counting as delivered when the server acks it.
//!
//! It never holds the other outputs back (DESIGN §5, **better**): it keeps its own progress and
//! a bounded spool on disk, and settles its share of each pipe batch once the server has the
//! records *or* they are spooled (see [`backlog`]). While the server is down or slow, batches go
//! to the spool; when it is back, the spool is sent in order before new data; a restart reads the
//! spool back. When the spool is full, the oldest forward-only data is dropped with a counter.
//!
//! Parts: [`encode`] (records to frames), [`msgpack`] (writing msgpack, JSON to msgpack),
//! [`spool`] (the disk format), [`backlog`] (memory, spool and what is in flight), [`conn`]
//! (TCP and the `shared_key` handshake), [`sender`] (the connection loop).

pub mod backlog;
pub mod conn;
pub mod encode;
pub mod msgpack;
pub mod sender;
pub mod spool;

use logship_collector::counters;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::fanout::OutputFeed;
use crate::log_limit::LogLimiter;
use crate::stats::OutputStats;
use backlog::Backlog;
pub use encode::Compress;
use encode::ForwardEncoder;
use spool::Spool;

#[derive(Debug, Clone)]
pub struct ForwardOutputConfig {
    /// `host:port`.
    pub server: String,
    /// Ask for acknowledgements (`chunk`); without them a chunk counts as delivered once written.
    pub ack: bool,
    pub compress: Compress,
    /// The `shared_key` of the server's `<security>` section; `None`: no handshake.
    pub shared_key: Option<String>,
    /// This node's name, sent in the handshake.
    pub hostname: String,
    /// Connect with TLS using this configuration; `None`: plain TCP.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub spool_dir: PathBuf,
    pub spool_limit: u64,
    /// Encoded bytes that may wait in memory (and in flight) before chunks are spooled. The
    /// memory is the pipe's: keep it a fraction of the pipe's bound.
    pub memory_limit: usize,
    /// A chunk waiting in memory longer than this is spooled (a slow server).
    pub max_wait: Duration,
    /// Connecting, each handshake step, each write, and each ack.
    pub timeout: Duration,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// Chunks in flight (sent, not acked) at most.
    pub window: usize,
    /// How long a stopping output keeps sending what waits in memory before spooling it.
    pub drain: Duration,
}

impl ForwardOutputConfig {
    pub fn new(server: String, spool_dir: PathBuf) -> ForwardOutputConfig {
        ForwardOutputConfig {
            server,
            ack: true,
            compress: Compress::None,
            shared_key: None,
            hostname: "logship".into(),
            tls: None,
            spool_dir,
            spool_limit: 256 << 20,
            memory_limit: 8 << 20,
            max_wait: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(30),
            window: 8,
            drain: Duration::from_secs(3),
        }
    }
}

/// The forward output's own counters and gauges (the common ones are in [`OutputStats`]).
#[derive(Debug, Default)]
pub struct ForwardStats {
    /// Records written to the spool.
    pub spooled_records: AtomicU64,
    /// Records dropped because the spool was full or could not be written (also counted in
    /// `OutputStats::dropped`).
    pub spool_dropped_records: AtomicU64,
    /// Damaged spool tails or chunks found and dropped.
    pub spool_damaged: AtomicU64,
    /// Gauge: bytes of spool on disk.
    pub spool_bytes: AtomicU64,
    /// Gauge: chunks in the spool not delivered yet.
    pub spool_chunks: AtomicU64,
    /// Connections made to the server.
    pub connections: AtomicU64,
}

pub(crate) struct Shared {
    cfg: ForwardOutputConfig,
    backlog: Mutex<Backlog>,
    /// New chunks for the sender.
    work: Notify,
    stats: Arc<OutputStats>,
    fstats: Arc<ForwardStats>,
    warn: LogLimiter,
}

impl Shared {
    fn backlog(&self) -> MutexGuard<'_, Backlog> {
        self.backlog.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Runs `f` on the backlog on a blocking thread: it may write or read the spool.
pub(crate) async fn with_backlog<T: Send + 'static>(
    shared: &Arc<Shared>,
    f: impl FnOnce(&mut Backlog) -> T + Send + 'static,
) -> T {
    let sh = Arc::clone(shared);
    let run = move || f(&mut sh.backlog());
    match tokio::task::spawn_blocking(run).await {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

/// Runs until the pipe closes; then sends what waits in memory for up to `cfg.drain`, spools the
/// rest, and returns.
pub async fn run_forward(
    cfg: ForwardOutputConfig,
    mut feed: OutputFeed,
    stats: Arc<OutputStats>,
    fstats: Arc<ForwardStats>,
) -> Result<(), String> {
    let (spool, opened) = {
        let (dir, limit) = (cfg.spool_dir.clone(), cfg.spool_limit);
        tokio::task::spawn_blocking(move || Spool::open(&dir, limit))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| {
                format!(
                    "cannot open the forward spool in {}: {e}",
                    cfg.spool_dir.display()
                )
            })?
    };
    if opened.damaged > 0 {
        counters::add(&fstats.spool_damaged, opened.damaged);
        tracing::warn!(dir = %cfg.spool_dir.display(), damaged = opened.damaged,
            "the forward spool had damaged or cut-short tails (a crash while writing); they were dropped");
    }
    if opened.chunks > 0 {
        tracing::info!(
            chunks = opened.chunks,
            records = opened.records,
            "forward spool from the previous run: sending it first"
        );
    }
    let backlog = Backlog::new(
        spool,
        cfg.memory_limit,
        cfg.max_wait,
        Arc::clone(&stats),
        Arc::clone(&fstats),
    );
    let shared = Arc::new(Shared {
        cfg,
        backlog: Mutex::new(backlog),
        work: Notify::new(),
        stats,
        fstats,
        warn: LogLimiter::new(Duration::from_secs(10)),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let sender = tokio::spawn(sender::run(Arc::clone(&shared), stop_rx));
    let mut encoder = ForwardEncoder::new();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            batch = feed.recv() => {
                let Some(batch) = batch else { break };
                let chunk = encoder.encode(&batch.records);
                drop(batch.records);
                let share = batch.delivery;
                with_backlog(&shared, move |b| {
                    b.push(chunk, share);
                    b.sync();
                })
                .await;
                shared.work.notify_one();
            }
            _ = tick.tick() => {
                with_backlog(&shared, |b| {
                    b.relieve();
                    b.sync();
                    b.persist_cursor(false);
                })
                .await;
            }
        }
    }
    // The pipe is closed: give the server a moment for what waits in memory, then spool it.
    let deadline = tokio::time::Instant::now() + shared.cfg.drain;
    while tokio::time::Instant::now() < deadline {
        let busy = {
            let b = shared.backlog();
            b.connected() && (b.memory_chunks() > 0 || b.in_flight_from_memory() > 0)
        };
        if !busy {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop_tx.send(true);
    let _ = sender.await;
    with_backlog(&shared, |b| b.close()).await;
    if encoder.transcode_errors > 0 {
        tracing::error!(
            records = encoder.transcode_errors,
            "records sent to the forward server with their log only (fields not transcodable)"
        );
    }
    Ok(())
}
