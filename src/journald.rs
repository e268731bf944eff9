//! Wiring of the journald input: its settings (`LOGSHIP_JOURNALD*`, `LOGSHIP_JOURNAL_DIR`), a
//! memory bound of its own in the pipe, its cursor next to the file checkpoints, and waiting
//! for it to write that cursor when the agent stops.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use logship_collector::journald::{self, CursorStore, JournaldConfig, JournaldStats};
use logship_collector::{BatchSender, MemoryGauge};
use logship_config::{Output, ReadFrom, Settings};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The running input.
pub struct Journald {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    pub memory: MemoryGauge,
}

/// Starts the input when `LOGSHIP_JOURNALD` is on. journalctl is not looked for here: when it
/// is missing or fails, the input says so and keeps trying while the other inputs run. A state
/// directory whose cursor file cannot be read stops the start, as for the file checkpoints.
pub fn start(
    settings: &Settings,
    runtime: &tokio::runtime::Runtime,
    tx: &BatchSender,
    stats: &Arc<JournaldStats>,
) -> anyhow::Result<Option<Journald>> {
    if !settings.journald {
        return Ok(None);
    }
    if settings.exit_on_eof {
        tracing::info!("journald input off: LOGSHIP_EXIT_ON_EOF runs stop at the end of the files, and a journal has no end");
        return Ok(None);
    }
    // Like the file checkpoints: remembered where delivery is acknowledged by a server.
    let store = match settings.output {
        Output::Elasticsearch => {
            let dir = &settings.state_dir;
            let (store, damaged) = CursorStore::open(dir).with_context(|| {
                format!(
                    "LOGSHIP_STATE_DIR: cannot read the journald cursor in {}",
                    dir.display()
                )
            })?;
            if let Some(damaged) = damaged {
                tracing::error!("{damaged}");
            }
            Some(store)
        }
        Output::Stdout | Output::File(_) => None,
    };
    let mut cfg = JournaldConfig::new(settings.journald_units.clone());
    cfg.directory = settings.journal_dir.clone();
    cfg.start_at_end = settings.read_from == ReadFrom::Tail;
    cfg.max_entry_bytes = settings.max_line_bytes.bytes();
    let input_tx = tx.another_input(settings.mem_buf_limit.bytes());
    let memory = input_tx.memory_gauge();
    tracing::info!(
        units = ?cfg.units,
        journal = %cfg.directory.as_ref().map_or("the system journal".into(), |d| d.display().to_string()),
        resume = store.as_ref().and_then(|s| s.cursor()).is_some(),
        "journald input: following the units' entries through journalctl"
    );
    let (stop, stop_rx) = watch::channel(false);
    let _in_runtime = runtime.enter();
    let task = journald::start(cfg, store, input_tx, Arc::clone(stats), stop_rx);
    Ok(Some(Journald { stop, task, memory }))
}

impl Journald {
    /// Stops reading; what was sent is still settled and the cursor written ([`Self::finish`]).
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Waits until `deadline` for the input to write its cursor of what the outputs settled.
    pub fn finish(self, runtime: &tokio::runtime::Runtime, deadline: Instant) {
        self.stop();
        let left = deadline.saturating_duration_since(Instant::now());
        let task = self.task;
        let finished = runtime.block_on(async { tokio::time::timeout(left, task).await });
        if finished.is_err() {
            tracing::warn!("the journald input did not finish in time; its cursor may trail");
        }
    }
}
