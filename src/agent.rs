//! Wiring: the settings become the inputs (the file source on its own thread, the forward and
//! journald inputs and the kubelet metrics source on the runtime), a memory-bounded pipe, and the
//! outputs; signals stop the inputs, and the outputs drain what was read, within a grace period.

use logship_collector::counters;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::{http, metrics};
use anyhow::{anyhow, Context};
use logship_collector::forward_input::ForwardInputStats;
use logship_collector::journald::JournaldStats;
use logship_collector::kube::{KubeSettings, KubeStats, MetaOptions, PodMetadata};
use logship_collector::kubelet_stats::{KubeletStats, PodLabels};
use logship_collector::{
    pipe, CheckpointStore, CollectorStats, DecodeOptions, FileSource, FileSourceConfig,
};
use logship_config::{Output, ReadFrom, Settings};
use logship_forwarder::{
    fan_out, run_elasticsearch, run_forward, run_ndjson, DocumentOptions, EsOutputConfig,
    ForwardStats, OutputStats,
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
    let kube_stats = Arc::new(KubeStats::default());
    let output_stats = Arc::new(OutputStats::default());
    let (tx, rx) = pipe(settings.mem_buf_limit.bytes(), runtime.handle().clone());
    // One pipe, one or two outputs (the forward output in addition): each gets every record.
    let forward_cfg = crate::forward::output_config(&settings)?;
    let forward_stats = Arc::new(OutputStats::default());
    let forward_extra = Arc::new(ForwardStats::default());
    let (mut feeds, fanout) = fan_out(rx, 1 + usize::from(forward_cfg.is_some()));
    runtime.spawn(fanout);
    let rx = feeds.remove(0);
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
            let (targets, tls) = crate::es_security::es_connection(&settings, &plan.endpoints)?;
            let mut cfg =
                EsOutputConfig::new(targets, settings.state_dir.join("dead-letter.ndjson"));
            cfg.tls = Some(Arc::new(tls));
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

    let output = match forward_cfg {
        None => output,
        Some(cfg) => {
            let feed = feeds.remove(0);
            let (stats, extra) = (Arc::clone(&forward_stats), Arc::clone(&forward_extra));
            tracing::info!(server = %cfg.server, "forwarding to the fluent forward server as well");
            let forward = runtime.spawn(async move { run_forward(cfg, feed, stats, extra).await });
            runtime.spawn(crate::forward::both(output, forward))
        }
    };
    let input_stats = Arc::new(ForwardInputStats::default());
    let forward_input = crate::forward::start_input(&settings, &runtime, &tx, &input_stats);
    let pod_metadata = start_pod_metadata(&settings, runtime.handle(), &kube_stats);
    let kubelet_stats = Arc::new(KubeletStats::default());
    let pod_labels = pod_metadata.as_ref().map(|p| PodLabels {
        store: Arc::clone(&p.store),
        stats: Arc::clone(&p.stats),
    });
    let kubelet = crate::kubelet::start(&settings, &runtime, &tx, pod_labels, &kubelet_stats)?;
    let journald_stats = Arc::new(JournaldStats::default());
    let journald = crate::journald::start(&settings, &runtime, &tx, &journald_stats)?;

    let memory = tx.memory_gauge();
    let output_name = match settings.output {
        Output::Elasticsearch => "elasticsearch",
        Output::Stdout => "stdout",
        Output::File(_) => "file",
    };
    let alive = Arc::new(AtomicBool::new(true));
    let ready = {
        let input = Arc::clone(&collector_stats);
        let output = output.abort_handle();
        Arc::new(move || input.started.load(Ordering::Relaxed) && !output.is_finished())
    };
    let endpoint = http::Endpoint {
        registry: metrics::registry(metrics::AgentMetrics {
            input: Arc::clone(&collector_stats),
            memory,
            outputs: std::iter::once((output_name, Arc::clone(&output_stats)))
                .chain(
                    settings
                        .forward_server
                        .is_some()
                        .then(|| ("forward", Arc::clone(&forward_stats))),
                )
                .collect(),
            forward: settings
                .forward_server
                .is_some()
                .then(|| Arc::clone(&forward_extra)),
            forward_input: forward_input.is_some().then(|| Arc::clone(&input_stats)),
            journald: journald
                .as_ref()
                .map(|j| crate::journald_metrics::JournaldMetrics {
                    stats: Arc::clone(&journald_stats),
                    memory: j.memory.clone(),
                }),
            kube: Arc::clone(&kube_stats),
            kubelet: kubelet
                .as_ref()
                .map(|k| (Arc::clone(&kubelet_stats), k.memory.clone())),
        }),
        ready,
        alive: Arc::clone(&alive),
    };
    let bound = runtime
        .block_on(http::serve(settings.http_addr, endpoint))
        .with_context(|| format!("LOGSHIP_HTTP_ADDR: cannot listen on {}", settings.http_addr))?;
    tracing::info!(addr = %bound, "serving /metrics, /healthz and /readyz");

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
    let mut source = FileSource::new(
        source_cfg,
        Arc::clone(&collector_stats),
        Arc::clone(&stop),
        checkpoints,
    );
    if let Some(pods) = pod_metadata {
        source = source.with_pod_metadata(pods);
    }
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
        alive.store(false, Ordering::Relaxed);
        stop.store(true, Ordering::Relaxed);
        if let Some(input) = &forward_input {
            let _ = input.send(true);
        }
        if let Some(k) = &kubelet {
            let _ = k.stop.send(true);
        }
        if let Some(journald) = &journald {
            journald.stop();
        }
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
    if let Some(journald) = journald {
        journald.finish(&runtime, deadline);
    }
    summarize(&collector_stats, &output_stats);
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}

/// Pod metadata from the Kubernetes API, when it is on and a client can be set up; otherwise
/// records carry the pod fields of their file names only.
fn start_pod_metadata(
    settings: &Settings,
    runtime: &tokio::runtime::Handle,
    stats: &Arc<KubeStats>,
) -> Option<PodMetadata> {
    if !settings.kube_metadata {
        return None;
    }
    let Some(node) = settings.kube_metadata_active() else {
        // A local run has no node; a DaemonSet without NODE_NAME is a broken manifest.
        let why = "pod metadata is off: NODE_NAME is not set (the DaemonSet sets it from spec.nodeName); records carry the pod fields of their file names only";
        match settings.output {
            Output::Elasticsearch => tracing::warn!("{why}"),
            Output::Stdout | Output::File(_) => tracing::info!("{why}"),
        }
        return None;
    };
    let kube = KubeSettings {
        node_name: node.to_owned(),
        kubeconfig: settings.kubeconfig.clone(),
        meta: MetaOptions {
            labels: settings.kube_labels,
            annotations: settings.kube_annotations,
        },
        wait: settings.kube_wait,
        delete_delay: settings.kube_delete_delay,
    };
    logship_collector::kube::start(kube, runtime, Arc::clone(stats))
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
    let g = counters::get;
    tracing::info!(
        lines = g(&c.lines),
        records = g(&c.records),
        merged = g(&c.merged),
        decode_errors = g(&c.decode_errors),
        records_out = counters::get(&o.records_out),
        dead_lettered = counters::get(&o.dead_lettered),
        errors = counters::get(&o.errors),
        "logship stopped"
    );
}
