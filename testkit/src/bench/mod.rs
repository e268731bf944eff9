//! The benchmark driver: generate (or reuse) a workload, start the bulk sink, the Kubernetes
//! API double holding the workload's pods, and the agent, wait until the sink has every record,
//! stop the agent, and report throughput and cost.
//!
//! One run = one case. Throughput cases: wall time from the agent's start to the last record
//! received, records/s, MB/s of input log files, the agent's user+sys CPU and peak RSS from
//! wait4(), CPU-seconds per GB of input, and the sink's own CPU (to show it was not the
//! bottleneck). The `idle` case measures the cost of watching quiet files and the latency of
//! a new line ([`idle`]); the `startup` case a restart over checkpointed files ([`startup`]).

mod append;
mod finish;
pub mod http;
mod idle;
pub mod kube;
pub mod process;
mod run;
mod setup;
pub mod standin;
mod startup;
mod summary;

pub use setup::ensure_workload;
pub use summary::summary_lines;

use crate::workload::{Format, WorkloadSpec};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// Named workloads. All use seed 7, 120-byte average messages and half JSON, like the
/// standard workload the peers were measured on.
pub const CASES: &[(&str, &str)] = &[
    (
        "standard",
        "100 Docker files x 20,000 lines (about 440 MB): the headline figure",
    ),
    (
        "cri",
        "the standard workload in CRI format (containerd / CRI-O)",
    ),
    (
        "files2000",
        "2,000 files x 1,000 lines: same lines, many more files to watch",
    ),
    (
        "long",
        "10 files x 1,000 lines of ~20 KB: most messages split at 16 KiB and rejoined",
    ),
    (
        "small",
        "10 files x 2,000 lines: a smoke test that finishes in seconds, even in debug",
    ),
    (
        "idle",
        "1,000 files, each getting one line per second: CPU % of a core and latency to the sink",
    ),
    (
        "startup",
        "1,000 checkpointed files: restart, time to /readyz and to the first new record",
    ),
];

/// How a case is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseKind {
    /// Read the whole workload as fast as possible.
    Throughput,
    /// Files that each get one line per second.
    Idle,
    /// A restart over checkpointed files.
    Startup,
}

pub fn case_kind(name: &str) -> CaseKind {
    match name {
        "idle" => CaseKind::Idle,
        "startup" => CaseKind::Startup,
        _ => CaseKind::Throughput,
    }
}

/// Runs one case of any kind.
pub fn run(opts: &BenchOptions) -> anyhow::Result<BenchResult> {
    match case_kind(&opts.case) {
        CaseKind::Throughput => run::run(opts),
        CaseKind::Idle => idle::run(opts),
        CaseKind::Startup => startup::run(opts),
    }
}

/// The workload of a named case.
pub fn case_spec(name: &str) -> Option<WorkloadSpec> {
    let standard = WorkloadSpec {
        files: 100,
        lines_per_file: 20_000,
        line_size: 120,
        json_ratio: 0.5,
        seed: 7,
        ..WorkloadSpec::default()
    };
    Some(match name {
        "standard" => standard,
        "cri" => WorkloadSpec {
            format: Format::Cri,
            ..standard
        },
        "files2000" => WorkloadSpec {
            files: 2000,
            lines_per_file: 1000,
            ..standard
        },
        "long" => WorkloadSpec {
            files: 10,
            lines_per_file: 1000,
            line_size: 20_000,
            ..standard
        },
        "small" => WorkloadSpec {
            files: 10,
            lines_per_file: 2000,
            ..standard
        },
        // One line per file to begin with; the driver writes the rest while the agent runs.
        "idle" => WorkloadSpec {
            files: 1000,
            lines_per_file: 1,
            ..standard
        },
        "startup" => WorkloadSpec {
            files: 1000,
            lines_per_file: 100,
            ..standard
        },
        _ => return None,
    })
}

#[derive(Debug, Clone)]
pub struct BenchOptions {
    pub case: String,
    pub spec: WorkloadSpec,
    pub agent: PathBuf,
    /// Arguments to the agent (the contract: `run`).
    pub agent_args: Vec<String>,
    /// Extra environment for the agent, set after the contract's variables.
    pub extra_env: Vec<(String, String)>,
    /// Workloads are cached under `work_dir/workloads`, runs go to `work_dir/runs`.
    pub work_dir: PathBuf,
    /// Keep the run directory (agent log, state dir, sink sample) even on success.
    pub keep: bool,
    pub warm: bool,
    /// Parse every document in the sink and count distinct `_id`s.
    pub verify: bool,
    /// Give up after this long in total (None: 120 s + 1 s per 5,000 records).
    pub timeout: Option<Duration>,
    /// Give up when no record arrives for this long.
    pub stall: Duration,
    /// Wait this long after the last record before SIGTERM, to see late duplicates.
    pub settle: Duration,
    /// SIGKILL when the agent has not exited this long after SIGTERM.
    pub grace: Duration,
    /// Progress lines on stderr.
    pub verbose: bool,
    /// Serve the workload's pods from the Kubernetes API double and give the agent NODE_NAME
    /// and a kubeconfig for it; the sampled documents must then carry pod labels.
    pub kube: bool,
    /// The idle case: seconds of one line per file per second.
    pub idle_seconds: u64,
}

impl BenchOptions {
    pub fn new(case: &str, spec: WorkloadSpec, agent: PathBuf, work_dir: PathBuf) -> Self {
        BenchOptions {
            case: case.to_string(),
            spec,
            agent,
            agent_args: vec!["run".to_string()],
            extra_env: Vec::new(),
            work_dir,
            keep: false,
            warm: true,
            verify: false,
            timeout: None,
            stall: Duration::from_secs(60),
            settle: Duration::from_millis(500),
            grace: Duration::from_secs(30),
            verbose: true,
            kube: true,
            idle_seconds: 30,
        }
    }

    pub(crate) fn check_agent(&self) -> anyhow::Result<()> {
        if !self.agent.is_file() {
            anyhow::bail!(
                "agent {} not found (build it, or pass --agent)",
                self.agent.display()
            );
        }
        Ok(())
    }
}

/// The idle case's figures, over the window in which lines were written.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IdleFigures {
    pub seconds: u64,
    pub lines_written: u64,
    /// The agent's CPU seconds during the window.
    pub cpu_s: f64,
    pub cpu_pct_of_core: f64,
    /// Per round (one line into every file): from writing its first line to the sink holding
    /// every line of it.
    pub latency_max_s: f64,
    pub latency_p50_s: f64,
}

/// The start-up case's figures, from the spawn of the second agent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StartupFigures {
    /// Files in the checkpoint file the first agent left.
    pub checkpoints: u64,
    pub ready_s: Option<f64>,
    pub first_new_record_s: Option<f64>,
    pub all_new_records_s: Option<f64>,
    /// Records the second agent shipped (one per file is right).
    pub new_records: u64,
}

/// One run's figures; appended as a JSON line to the results file with `--json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BenchResult {
    pub case: String,
    /// `ok`, `timeout`, `stalled`, `agent-exited`, or `bad-exit` (not 0 after SIGTERM).
    pub status: String,
    pub format: String,
    pub files: usize,
    /// Records expected (messages after joining split lines).
    pub records: u64,
    /// Physical lines in the input files.
    pub lines: u64,
    pub input_bytes: u64,
    /// Records at the sink when the run was judged complete, and after the agent exited.
    pub docs: u64,
    pub docs_final: u64,
    pub duplicates: u64,
    /// Agent start to last record received.
    pub wall_s: f64,
    pub first_doc_s: Option<f64>,
    pub records_per_s: f64,
    pub mb_per_s: f64,
    /// From wait4() after exit: the agent's whole life, including its SIGTERM flush.
    pub cpu_user_s: f64,
    pub cpu_sys_s: f64,
    pub cpu_s: f64,
    pub cpu_s_per_gb: f64,
    /// The agent's own peak RSS (`VmHWM`).
    pub peak_rss_mib: f64,
    /// wait4's `ru_maxrss`, which also counts the driver's memory at fork time.
    #[serde(default)]
    pub wait4_maxrss_mib: f64,
    /// From /proc when the last record arrived (excludes shutdown).
    pub cpu_at_done_s: Option<f64>,
    pub rss_hwm_at_done_mib: Option<f64>,
    pub exit_code: Option<i32>,
    pub exit_signal: Option<i32>,
    /// SIGTERM to exit.
    pub stop_s: f64,
    pub sink_cpu_s: f64,
    pub sink_bulk_requests: u64,
    pub sink_body_bytes: u64,
    pub sink_wire_bytes: u64,
    pub sink_max_docs_per_request: u64,
    pub sink_indices: std::collections::BTreeMap<String, u64>,
    pub sink_distinct_ids: Option<u64>,
    /// Whether the sampled documents carried pod labels (`None`: run without the API double).
    #[serde(default)]
    pub enriched: Option<bool>,
    #[serde(default)]
    pub idle: Option<IdleFigures>,
    #[serde(default)]
    pub startup: Option<StartupFigures>,
    pub agent: String,
    /// `git rev-parse` of the agent's repository, `+dirty` when it has local changes.
    pub commit: Option<String>,
    pub load_avg_1m: Option<f64>,
    pub ncpu: usize,
    /// Seconds since the epoch.
    pub unix_time: u64,
    pub workload_dir: String,
    /// Kept run directory (agent log, state, sink sample), if any.
    pub run_dir: Option<String>,
}

impl BenchResult {
    pub fn ok(&self) -> bool {
        self.status == "ok"
    }

    /// The one-line summary.
    pub fn line(&self) -> String {
        let mut s = if let Some(i) = &self.idle {
            format!(
                "{} {} files={} seconds={} lines={} cpu={:.2}s cpu%={:.2} latency-max={:.2}s latency-p50={:.2}s peak-rss={:.1}MiB",
                self.case, self.format, self.files, i.seconds, i.lines_written, i.cpu_s,
                i.cpu_pct_of_core, i.latency_max_s, i.latency_p50_s, self.peak_rss_mib,
            )
        } else if let Some(st) = &self.startup {
            let secs = |v: Option<f64>| v.map_or_else(|| "-".to_string(), |v| format!("{v:.2}s"));
            format!(
                "{} {} files={} checkpoints={} ready={} first-record={} all-records={} new-records={} cpu={:.2}s peak-rss={:.1}MiB",
                self.case, self.format, self.files, st.checkpoints, secs(st.ready_s),
                secs(st.first_new_record_s), secs(st.all_new_records_s), st.new_records,
                self.cpu_s, self.peak_rss_mib,
            )
        } else {
            self.throughput_line()
        };
        if self.enriched == Some(false) {
            s.push_str(" enriched=no");
        }
        if self.duplicates > 0 {
            s.push_str(&format!(" duplicates={}", self.duplicates));
        }
        if !self.ok() {
            s.push_str(&format!(
                " status={} docs={}/{}",
                self.status, self.docs, self.records
            ));
        }
        s
    }

    fn throughput_line(&self) -> String {
        format!(
            "{} {} files={} lines={} bytes={:.1}MB wall={:.1}s lines/s={:.0} MB/s={:.1} cpu={:.1}s cpu-s/GB={:.1} peak-rss={:.1}MiB sink-cpu={:.1}s",
            self.case,
            self.format,
            self.files,
            self.records,
            self.input_bytes as f64 / 1e6,
            self.wall_s,
            self.records_per_s,
            self.mb_per_s,
            self.cpu_s,
            self.cpu_s_per_gb,
            self.peak_rss_mib,
            self.sink_cpu_s,
        )
    }
}
