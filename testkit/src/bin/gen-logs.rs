//! gen-logs: writes a Kubernetes-node-like container log tree (see `logship_testkit::workload`).

use clap::Parser;
use logship_testkit::workload::{self, timefmt, Format, Layout, WorkloadOptions, WorkloadSpec};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(about = "Generate container log files for logship benchmarks and tests")]
struct Args {
    /// Output directory (created; must be empty or absent unless --force).
    out: PathBuf,
    /// Number of container log files (one pod each).
    #[arg(long, default_value_t = 10)]
    files: usize,
    /// Messages per file (split messages take several physical lines).
    #[arg(long, default_value_t = 10_000)]
    lines_per_file: u64,
    /// Target average message size in bytes (varies ±50%).
    #[arg(long, default_value_t = 150)]
    line_size: usize,
    /// Fraction of messages that are whole-line JSON objects.
    #[arg(long, default_value_t = 0.5)]
    json_ratio: f64,
    /// Fraction of messages on stderr.
    #[arg(long, default_value_t = 0.1)]
    stderr_ratio: f64,
    #[arg(long, value_enum, default_value_t = Format::Docker)]
    format: Format,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long, value_enum, default_value_t = Layout::Symlinks)]
    layout: Layout,
    /// Split messages longer than this many bytes as the runtimes do (0: never).
    #[arg(long, default_value_t = 16_384)]
    split_at: usize,
    /// Time of the first line (RFC 3339).
    #[arg(long, default_value = "2026-11-22T01:02:03.123456789Z")]
    start_time: String,
    /// Node name written into the pod specs.
    #[arg(long, default_value = "bench-node-1")]
    node: String,
    /// Writer threads (0: one per CPU); the output does not depend on it.
    #[arg(long, default_value_t = 0)]
    jobs: usize,
    /// Delete OUT first if it exists.
    #[arg(long)]
    force: bool,
}

fn main() -> std::process::ExitCode {
    match run(Args::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-logs: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

fn run(a: Args) -> anyhow::Result<()> {
    let spec = WorkloadSpec {
        files: a.files,
        lines_per_file: a.lines_per_file,
        line_size: a.line_size,
        json_ratio: a.json_ratio,
        stderr_ratio: a.stderr_ratio,
        format: a.format,
        seed: a.seed,
        layout: a.layout,
        split_at: a.split_at,
        start_time_ns: timefmt::parse_rfc3339(&a.start_time)?,
        node: a.node,
    };
    let mut opts = WorkloadOptions::new(&a.out, spec);
    opts.force = a.force;
    opts.jobs = a.jobs;
    let t0 = std::time::Instant::now();
    let m = workload::generate(&opts)?;
    println!(
        "wrote {} files, {} records ({} lines, {} json), {:.1} MB in {:.1}s -> {}",
        m.file_count,
        m.records,
        m.lines,
        m.json_records,
        m.bytes as f64 / 1e6,
        t0.elapsed().as_secs_f64(),
        a.out.display()
    );
    Ok(())
}
