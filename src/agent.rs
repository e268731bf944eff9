//! Wiring: the settings become an input (the file source on its own thread), a memory-bounded
//! pipe, and one output; signals stop the input, and the output drains what was read, within a
//! grace period.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use logship_collector::{
    pipe, CheckpointStore, CollectorStats, DecodeOptions, FileSource, FileSourceConfig,
};
use logship_config::{Output, ReadFrom, Settings};
use logship_forwarder::{
    run_elasticsearch, run_ndjson, DocumentOptions, EsOutputConfig, EsTarget, OutputStats,
};

/// How long a stopping agent waits for the outputs to settle what was read (the original
/// DaemonSet's terminationGracePeriodSeconds).
const GRACE: Duration = Duration::from_secs(10);

pub fn run(settings: Settings) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("logship-io")
        .build()
        .context("cannot start the async runtime")?;
    let stop = Arc::new(AtomicBool::new(false));
    let collector_stats = Arc::new(CollectorStats::default());
    let output_stats = Arc::new(OutputStats::default());
    let (tx, rx) = pipe(settings.mem_buf_limit.bytes(), runtime.handle().clone());
    // Checkpoints make sense where delivery is acknowledged by a server; a local run to stdout
    // starts over each time and needs no state directory.
    let checkpoints = match settings.output {
        Output::Elasticsearch => Some(open_checkpoints(&settings)?),
        Output::Stdout | Output::File(_) => None,
    };

    let output = match &settings.output {
        Output::Elasticsearch => {
            let plan = settings
                .es
                .as_ref()
                .ok_or_else(|| anyhow!("no Elasticsearch destination resolved"))?;
            for note in &plan.ignored {
                tracing::warn!("{note}");
            }
            let targets = plan
                .endpoints
                .iter()
                .map(|e| EsTarget {
                    base_url: e.base_url(),
                })
                .collect();
            let mut cfg =
                EsOutputConfig::new(targets, settings.state_dir.join("dead-letter.ndjson"));
            cfg.batch_bytes = settings.batch_bytes.bytes();
            cfg.flush_interval = settings.flush_interval;
            cfg.concurrency = settings.es_concurrency;
            cfg.doc_ids = settings.doc_ids;
            cfg.documents = DocumentOptions {
                replace_dots: settings.replace_dots,
            };
            cfg.retry_limit = settings.retry_limit;
            let stats = Arc::clone(&output_stats);
            runtime.spawn(async move { run_elasticsearch(cfg, rx, stats).await })
        }
        Output::Stdout | Output::File(_) => {
            let sink: Box<dyn Write + Send> = match &settings.output {
                Output::File(path) => {
                    Box::new(BufWriter::new(File::create(path).with_context(|| {
                        format!("LOGSHIP_OUTPUT: cannot create {}", path.display())
                    })?))
                }
                _ => Box::new(std::io::stdout()),
            };
            let opts = DocumentOptions {
                replace_dots: settings.replace_dots,
            };
            let stats = Arc::clone(&output_stats);
            runtime.spawn_blocking(move || {
                run_ndjson(rx, sink, opts, stats).map_err(|e| format!("writing documents: {e}"))
            })
        }
    };

    let mut source_cfg = FileSourceConfig::new(
        settings.input_globs.clone(),
        DecodeOptions {
            merge_json: settings.merge_json_log,
            max_line_bytes: settings.max_line_bytes.bytes(),
        },
    );
    source_cfg.refresh_interval = settings.refresh_interval;
    source_cfg.start_at_end = settings.read_from == ReadFrom::Tail;
    source_cfg.exit_on_eof = settings.exit_on_eof;
    source_cfg.drain_timeout = GRACE;
    let source = FileSource::new(
        source_cfg,
        Arc::clone(&collector_stats),
        Arc::clone(&stop),
        checkpoints,
    );
    let input = std::thread::Builder::new()
        .name("logship-files".into())
        .spawn(move || source.run(tx))
        .context("cannot start the file input thread")?;

    tracing::info!(globs = ?settings.input_globs, output = ?settings.output, "logship running");
    let result = runtime.block_on(async {
        let mut output = output;
        tokio::select! {
            done = &mut output => return done.map_err(|e| anyhow!("output task failed: {e}"))?.map_err(|e| anyhow!(e)),
            _ = shutdown_signal() => {}
        }
        tracing::info!("stopping: finishing what was read");
        stop.store(true, Ordering::Relaxed);
        match tokio::time::timeout(GRACE, &mut output).await {
            Ok(done) => done.map_err(|e| anyhow!("output task failed: {e}"))?.map_err(|e| anyhow!(e)),
            Err(_) => {
                tracing::warn!(grace = ?GRACE, "outputs did not settle within the grace period; unsent records will be read again");
                Ok(())
            }
        }
    });
    stop.store(true, Ordering::Relaxed);
    // The input records the checkpoints of what the outputs settled before it returns.
    let deadline = std::time::Instant::now() + GRACE + Duration::from_secs(1);
    while !input.is_finished() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    if input.is_finished() {
        let _ = input.join();
    } else {
        tracing::warn!("the file input did not finish in time; checkpoints may trail");
    }
    summarize(&collector_stats, &output_stats);
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}

fn open_checkpoints(settings: &Settings) -> anyhow::Result<CheckpointStore> {
    let dir = &settings.state_dir;
    let (store, problem) = CheckpointStore::open(dir).with_context(|| {
        format!(
            "LOGSHIP_STATE_DIR: {} must be a writable directory (checkpoints and dead letters live there)",
            dir.display()
        )
    })?;
    if let Some(problem) = problem {
        tracing::error!("{problem}");
    }
    tracing::info!(files = store.len(), dir = %dir.display(), "checkpoints loaded");
    Ok(store)
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers the agent can still be killed; it just cannot drain first.
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

fn summarize(c: &CollectorStats, o: &OutputStats) {
    let g = CollectorStats::get;
    tracing::info!(
        lines = g(&c.lines),
        records = g(&c.records),
        merged = g(&c.merged),
        decode_errors = g(&c.decode_errors),
        records_out = OutputStats::get(&o.records_out),
        dead_lettered = OutputStats::get(&o.dead_lettered),
        errors = OutputStats::get(&o.errors),
        "logship stopped"
    );
}
