//! logship-bench: measures the agent on generated workloads (see `logship_testkit::bench` and
//! docs/benchmark.md).

use anyhow::{bail, Context};
use clap::Parser;
use logship_testkit::bench::{self, BenchOptions};
use logship_testkit::workload::Format;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(about = "Benchmark the logship agent against an in-process Elasticsearch bulk sink")]
struct Args {
    /// The agent binary (default: `logship` next to this binary). `standin` runs the bundled
    /// stand-in agent, to check the bench itself.
    #[arg(long)]
    agent: Option<PathBuf>,
    /// Arguments for the agent (repeatable; default: `run`).
    #[arg(long = "agent-arg")]
    agent_args: Vec<String>,
    /// Extra agent environment, KEY=VALUE (repeatable); inherited LOGSHIP_*, ES_* and KUBE_*
    /// variables are not passed on.
    #[arg(long = "env")]
    env: Vec<String>,
    /// Case(s) to run, comma-separated or repeated: standard, cri, files2000, long, small,
    /// idle, startup.
    #[arg(long, value_delimiter = ',', default_value = "standard")]
    case: Vec<String>,
    /// List the cases and exit.
    #[arg(long)]
    list_cases: bool,
    /// Run the cases this many times, taking turns (every case once, then again), and end
    /// with the medians per case and the targets' comparisons (`cri` against `standard`,
    /// `files2000` against `standard`).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Where workloads are cached and runs happen.
    #[arg(long, default_value = "/tmp/logship-bench")]
    work_dir: PathBuf,
    /// Override the case's number of files.
    #[arg(long)]
    files: Option<usize>,
    /// Override the case's messages per file.
    #[arg(long)]
    lines_per_file: Option<u64>,
    /// Override the case's average message size.
    #[arg(long)]
    line_size: Option<usize>,
    /// Override the case's fraction of JSON messages.
    #[arg(long)]
    json_ratio: Option<f64>,
    /// Override the case's log format.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Override the case's seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Keep each run's directory (agent log, state dir, sink sample) even on success.
    #[arg(long)]
    keep: bool,
    /// Append each result as a JSON line to the results file.
    #[arg(long)]
    json: bool,
    /// Results file for --json (default: WORK_DIR/results.jsonl).
    #[arg(long)]
    results: Option<PathBuf>,
    /// Parse every document at the sink and count distinct _ids (slower sink).
    #[arg(long)]
    verify: bool,
    /// Do not read the input once before the run.
    #[arg(long)]
    no_warm: bool,
    /// Give up after this many seconds (default: 120 + 1 per 5,000 records).
    #[arg(long)]
    timeout: Option<f64>,
    /// Give up when no record arrives for this many seconds.
    #[arg(long, default_value_t = 60.0)]
    stall: f64,
    /// Run without the Kubernetes API double (no NODE_NAME, no kubeconfig): records carry
    /// the pod fields of their file names only. Implied by `--agent standin`.
    #[arg(long)]
    no_kube: bool,
    /// The idle case: seconds of one line per file per second.
    #[arg(long, default_value_t = 30)]
    idle_seconds: u64,
    /// No progress lines on stderr.
    #[arg(long, short)]
    quiet: bool,
}

fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating this binary")?;
    Ok(exe.parent().context("binary has no directory")?.join(name))
}

/// Exit status: 0 all cases ok, 1 a case did not complete, 2 the bench could not run.
fn main() -> std::process::ExitCode {
    match run(Args::parse()) {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(e) => {
            eprintln!("logship-bench: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run(a: Args) -> anyhow::Result<bool> {
    if a.list_cases {
        for (name, what) in bench::CASES {
            println!("{name:<10} {what}");
        }
        return Ok(true);
    }
    let standin = a.agent.as_ref().is_some_and(|p| p.as_os_str() == "standin");
    let agent = match &a.agent {
        None => sibling("logship")?,
        Some(_) if standin => sibling("bench-standin-agent")?,
        Some(p) => p.clone(),
    };
    let mut extra_env = Vec::new();
    for kv in &a.env {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("--env {kv:?} is not KEY=VALUE"))?;
        extra_env.push((k.to_string(), v.to_string()));
    }
    let mut all_ok = true;
    let mut results = Vec::new();
    for _ in 0..a.runs {
        for case in &a.case {
            let r = run_case(&a, case, &agent, standin, &extra_env)?;
            all_ok &= r.ok();
            results.push(r);
        }
    }
    if a.runs > 1 {
        for line in bench::summary_lines(&results) {
            println!("{line}");
        }
    }
    Ok(all_ok)
}

/// One run of `case`, printed (and appended to the results file with `--json`).
fn run_case(
    a: &Args,
    case: &str,
    agent: &std::path::Path,
    standin: bool,
    extra_env: &[(String, String)],
) -> anyhow::Result<bench::BenchResult> {
    let Some(mut spec) = bench::case_spec(case) else {
        bail!("unknown case {case:?} (see --list-cases)");
    };
    spec.files = a.files.unwrap_or(spec.files);
    spec.lines_per_file = a.lines_per_file.unwrap_or(spec.lines_per_file);
    spec.line_size = a.line_size.unwrap_or(spec.line_size);
    spec.json_ratio = a.json_ratio.unwrap_or(spec.json_ratio);
    spec.format = a.format.unwrap_or(spec.format);
    spec.seed = a.seed.unwrap_or(spec.seed);
    let mut opts = BenchOptions::new(case, spec, agent.to_path_buf(), a.work_dir.clone());
    if !a.agent_args.is_empty() {
        opts.agent_args = a.agent_args.clone();
    }
    opts.extra_env = extra_env.to_vec();
    opts.keep = a.keep;
    opts.warm = !a.no_warm;
    opts.verify = a.verify;
    opts.timeout = a.timeout.map(Duration::from_secs_f64);
    opts.stall = Duration::from_secs_f64(a.stall);
    opts.verbose = !a.quiet;
    // The stand-in enriches nothing.
    opts.kube = !a.no_kube && !standin;
    opts.idle_seconds = a.idle_seconds;
    let r = bench::run(&opts)?;
    println!("{}", r.line());
    if let Some(dir) = &r.run_dir {
        eprintln!("[bench] run directory kept: {dir}");
    }
    if a.json {
        let path = a
            .results
            .clone()
            .unwrap_or_else(|| a.work_dir.join("results.jsonl"));
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        writeln!(f, "{}", serde_json::to_string(&r)?)?;
    }
    Ok(r)
}
