//! The end every case shares: stopping the agent and the services, judging the run, and the
//! figures every result carries. A case adds its own (rates, idle or start-up figures) on top.

use std::path::Path;
use std::time::Duration;

use super::process::{Agent, Exit};
use super::setup::{git_commit, load_avg, unix_now, RunDir, Services};
use super::{BenchOptions, BenchResult};
use crate::bulk_sink::SinkStats;
use crate::workload::Manifest;

/// The machine's state when a run started (runs on a busy machine can be told apart).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Conditions {
    pub load_avg_1m: Option<f64>,
    pub unix_time: u64,
}

impl Conditions {
    pub fn now() -> Conditions {
        Conditions {
            load_avg_1m: load_avg(),
            unix_time: unix_now(),
        }
    }
}

/// The input of a run.
pub(crate) struct Workload<'a> {
    pub manifest: &'a Manifest,
    pub dir: &'a Path,
    /// Records the sink must end up with.
    pub expected: u64,
}

/// How a run ended.
pub(crate) struct RunEnd {
    /// `ok`, `timeout`, `stalled`, `agent-exited`, `bad-exit` or `not-enriched`.
    pub status: &'static str,
    /// The sink when the agent was told to stop, and after it exited.
    pub at_stop: SinkStats,
    pub sink_final: SinkStats,
    pub exit: Exit,
    /// SIGTERM to exit.
    pub stop: Duration,
    pub enriched: Option<bool>,
    samples: Vec<String>,
}

/// Stops the agent (SIGTERM, then the grace period) and the services, and gathers what every
/// result reports. `status` is how the run went until then; an `ok` run whose agent did not
/// exit cleanly, or whose documents lack pod metadata, is not ok.
pub(crate) fn stop_run(
    opts: &BenchOptions,
    agent: &mut Agent,
    services: Services,
    status: &'static str,
) -> anyhow::Result<RunEnd> {
    let at_stop = services.sink.stats();
    let (exit, stop) = agent.terminate(opts.grace)?;
    let samples = services.sink.samples();
    let enriched = services.enriched();
    let sink_final = services.sink.stop();
    let status = match status {
        "ok" if exit.code != Some(0) => "bad-exit",
        "ok" if enriched == Some(false) => "not-enriched",
        other => other,
    };
    Ok(RunEnd {
        status,
        at_stop,
        sink_final,
        exit,
        stop,
        enriched,
        samples,
    })
}

impl BenchResult {
    /// The figures every case has, with rates left at zero. The run directory keeps the sink's
    /// sample, and stays when asked to or when the run failed.
    pub(crate) fn from_run(
        opts: &BenchOptions,
        workload: Workload<'_>,
        conditions: Conditions,
        end: &RunEnd,
        run_dir: &RunDir,
    ) -> BenchResult {
        let keep = opts.keep || end.status != "ok";
        run_dir.finish(&end.samples, keep);
        let exit = &end.exit;
        let sink = &end.sink_final;
        BenchResult {
            case: opts.case.clone(),
            status: end.status.to_string(),
            format: opts.spec.format.to_string(),
            files: workload.manifest.file_count,
            records: workload.expected,
            lines: workload.manifest.lines,
            input_bytes: workload.manifest.bytes,
            docs: end.at_stop.docs,
            docs_final: sink.docs,
            duplicates: sink.docs.saturating_sub(workload.expected),
            wall_s: 0.0,
            first_doc_s: None,
            records_per_s: 0.0,
            mb_per_s: 0.0,
            cpu_user_s: exit.user_s,
            cpu_sys_s: exit.sys_s,
            cpu_s: exit.user_s + exit.sys_s,
            cpu_s_per_gb: 0.0,
            peak_rss_mib: exit.peak_rss_mib(),
            wait4_maxrss_mib: exit.maxrss_kib as f64 / 1024.0,
            cpu_at_done_s: None,
            rss_hwm_at_done_mib: None,
            exit_code: exit.code,
            exit_signal: exit.signal,
            stop_s: end.stop.as_secs_f64(),
            sink_cpu_s: sink.cpu_s,
            sink_bulk_requests: sink.bulk_requests,
            sink_body_bytes: sink.body_bytes,
            sink_wire_bytes: sink.wire_bytes,
            sink_max_docs_per_request: sink.max_docs_per_request,
            sink_indices: sink.indices.clone(),
            sink_distinct_ids: sink.verify.as_ref().map(|v| v.distinct_ids),
            enriched: end.enriched,
            idle: None,
            startup: None,
            agent: opts.agent.display().to_string(),
            commit: git_commit(&opts.agent),
            load_avg_1m: conditions.load_avg_1m,
            ncpu: std::thread::available_parallelism().map_or(1, |n| n.get()),
            unix_time: conditions.unix_time,
            workload_dir: workload.dir.display().to_string(),
            run_dir: keep.then(|| run_dir.path.display().to_string()),
        }
    }
}
