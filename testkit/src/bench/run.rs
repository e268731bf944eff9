//! One benchmark run (see the module docs of `bench`).

use super::process::{proc_cpu, proc_status_kib, Agent};
use super::{BenchOptions, BenchResult};
use crate::bulk_sink::{BulkSink, SinkOptions};
use crate::workload::{self, Manifest, WorkloadOptions, WorkloadSpec};
use anyhow::Context;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

/// The workload for `spec` under `work_dir/w/<hash of its cache key>`, generated unless a
/// complete one is there already (`manifest.json` is written last, and the tree is renamed into
/// place). The path is kept short on purpose: agents put the file path in every record (the
/// fluent-bit style tag), so a long directory name would inflate the bytes shipped.
pub fn ensure_workload(
    work_dir: &Path,
    spec: &WorkloadSpec,
    verbose: bool,
) -> anyhow::Result<(PathBuf, Manifest)> {
    let root = work_dir.join("w");
    let key = spec.cache_key();
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let dir = root.join(format!("{:08x}", hash as u32));
    if let Ok(m) = Manifest::load(&dir) {
        if m.settings == *spec && m.generator_version == workload::GENERATOR_VERSION {
            return Ok((dir, m));
        }
    }
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let tmp = root.join(format!("{key}.partial-{}", std::process::id()));
    if verbose {
        eprintln!("[bench] generating workload {}", dir.display());
    }
    let mut opts = WorkloadOptions::new(&tmp, spec.clone());
    opts.force = true;
    let t = Instant::now();
    let m = match workload::generate(&opts) {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("removing stale {}", dir.display()))?;
    }
    std::fs::rename(&tmp, &dir).with_context(|| format!("moving {} into place", tmp.display()))?;
    if verbose {
        eprintln!(
            "[bench] generated {:.1} MB in {:.1}s",
            m.bytes as f64 / 1e6,
            t.elapsed().as_secs_f64()
        );
    }
    Ok((dir, m))
}

/// Reads every input file once so the run measures the agent, not the disk.
fn warm_page_cache(paths: &[PathBuf]) -> anyhow::Result<u64> {
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    for p in paths {
        let mut f = std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?;
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            total += n as u64;
        }
    }
    Ok(total)
}

fn load_avg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// `git rev-parse --short=12 HEAD` of the repository holding `near`, `+dirty` with changes.
fn git_commit(near: &Path) -> Option<String> {
    let dir = near.parent().filter(|d| d.is_dir())?;
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let head = git(&["rev-parse", "--short=12", "HEAD"])?;
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{head}+dirty") } else { head })
}

fn agent_command(
    opts: &BenchOptions,
    sink: &BulkSink,
    workload_dir: &Path,
    state_dir: &Path,
) -> Command {
    let mut cmd = Command::new(&opts.agent);
    cmd.args(&opts.agent_args);
    // A developer's shell may point ES_SERVER or LOGSHIP_* elsewhere; the run must not inherit
    // them. Everything the agent needs is set here or through --env.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("LOGSHIP_") || k.starts_with("ES_") || k.starts_with("KUBE_") {
            cmd.env_remove(k.as_ref());
        }
    }
    cmd.env("ES_SERVER", sink.addr().to_string())
        .env(
            "LOGSHIP_INPUT_GLOB",
            format!("{}/containers/*.log", workload_dir.display()),
        )
        .env("LOGSHIP_STATE_DIR", state_dir)
        .env("LOGSHIP_HTTP_ADDR", "127.0.0.1:0")
        .env("KUBE_LOG_LEVEL", "0");
    for (k, v) in &opts.extra_env {
        cmd.env(k, v);
    }
    cmd
}

enum Outcome {
    Done,
    Timeout,
    Stalled,
    Exited,
}

/// Runs one case and returns its figures. Errors are for setup failures; a run that does not
/// complete returns a result whose `status` says why (and keeps the run directory).
pub fn run(opts: &BenchOptions) -> anyhow::Result<BenchResult> {
    let (wdir, manifest) = ensure_workload(&opts.work_dir, &opts.spec, opts.verbose)?;
    let paths = manifest.container_paths(&wdir);
    if opts.warm {
        let t = Instant::now();
        let n = warm_page_cache(&paths)?;
        if opts.verbose {
            eprintln!(
                "[bench] page cache warmed: {:.1} MB in {:.1}s",
                n as f64 / 1e6,
                t.elapsed().as_secs_f64()
            );
        }
    }
    if !opts.agent.is_file() {
        anyhow::bail!(
            "agent {} not found (build it, or pass --agent)",
            opts.agent.display()
        );
    }
    let expected = manifest.records;
    let timeout = opts
        .timeout
        .unwrap_or_else(|| Duration::from_secs(120 + expected / 5000));
    let load_avg_1m = load_avg();

    let unix_time = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let run_dir = opts.work_dir.join("runs").join(format!(
        "{}-{}-{}",
        opts.case,
        unix_time,
        std::process::id()
    ));
    let state_dir = run_dir.join("state");
    std::fs::create_dir_all(&state_dir)
        .with_context(|| format!("creating {}", state_dir.display()))?;
    let log = std::fs::File::create(run_dir.join("agent.log"))?;

    let sink = BulkSink::start(SinkOptions {
        verify: opts.verify,
        sample_docs: 5,
        ..SinkOptions::default()
    })?;
    let sink_cpu0 = sink.stats().cpu_s;
    let cmd = agent_command(opts, &sink, &wdir, &state_dir);
    if opts.verbose {
        eprintln!(
            "[bench] {}: expecting {} records from {} files ({:.1} MB); agent {} {}",
            opts.case,
            expected,
            manifest.file_count,
            manifest.bytes as f64 / 1e6,
            opts.agent.display(),
            opts.agent_args.join(" ")
        );
    }
    let t0 = Instant::now();
    let mut agent = Agent::spawn(cmd, log)?;

    let (mut last_docs, mut last_progress, mut next_print) = (
        0u64,
        Instant::now(),
        Instant::now() + Duration::from_secs(5),
    );
    let mut at_done = (None, None);
    let outcome = loop {
        std::thread::sleep(Duration::from_millis(20));
        let docs = sink.docs();
        if docs >= expected {
            at_done = (proc_cpu(agent.pid()), proc_status_kib(agent.pid(), "VmHWM"));
            break Outcome::Done;
        }
        if agent.poll(false)?.is_some() {
            break Outcome::Exited;
        }
        let now = Instant::now();
        if docs != last_docs {
            (last_docs, last_progress) = (docs, now);
        }
        if now - last_progress > opts.stall {
            break Outcome::Stalled;
        }
        if now - t0 > timeout {
            break Outcome::Timeout;
        }
        if opts.verbose && now >= next_print {
            let cpu = proc_cpu(agent.pid()).map_or(0.0, |(u, s)| u + s);
            let rss = proc_status_kib(agent.pid(), "VmRSS").unwrap_or(0) as f64 / 1024.0;
            eprintln!(
                "[bench] t={:.0}s records={docs}/{expected} ({:.0}%) agent cpu={cpu:.1}s rss={rss:.1}MiB",
                (now - t0).as_secs_f64(),
                100.0 * docs as f64 / expected.max(1) as f64
            );
            next_print = now + Duration::from_secs(5);
        }
    };
    if matches!(outcome, Outcome::Done) {
        std::thread::sleep(opts.settle);
    }
    let at_stop = sink.stats();
    let (exit, stop) = agent.terminate(opts.grace)?;
    let samples = sink.samples();
    let sink_final = sink.stop();

    let status = match outcome {
        Outcome::Done if exit.code == Some(0) => "ok",
        Outcome::Done => "bad-exit",
        Outcome::Timeout => "timeout",
        Outcome::Stalled => "stalled",
        Outcome::Exited => "agent-exited",
    };
    let wall = at_stop
        .last_doc_at
        .map_or(0.0, |t| t.saturating_duration_since(t0).as_secs_f64());
    let per_s = |x: f64| if wall > 0.0 { x / wall } else { 0.0 };
    let cpu = exit.user_s + exit.sys_s;
    let keep = opts.keep || status != "ok";
    if let Ok(f) = std::fs::File::create(run_dir.join("sink-sample.ndjson")) {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(f);
        for s in &samples {
            let _ = writeln!(f, "{s}");
        }
    }
    if !keep {
        let _ = std::fs::remove_dir_all(&run_dir);
    }
    let result = BenchResult {
        case: opts.case.clone(),
        status: status.to_string(),
        format: opts.spec.format.to_string(),
        files: manifest.file_count,
        records: expected,
        lines: manifest.lines,
        input_bytes: manifest.bytes,
        docs: at_stop.docs,
        docs_final: sink_final.docs,
        duplicates: sink_final.docs.saturating_sub(expected),
        wall_s: wall,
        first_doc_s: at_stop
            .first_doc_at
            .map(|t| t.saturating_duration_since(t0).as_secs_f64()),
        records_per_s: per_s(expected as f64),
        mb_per_s: per_s(manifest.bytes as f64 / 1e6),
        cpu_user_s: exit.user_s,
        cpu_sys_s: exit.sys_s,
        cpu_s: cpu,
        cpu_s_per_gb: if manifest.bytes > 0 {
            cpu / (manifest.bytes as f64 / 1e9)
        } else {
            0.0
        },
        peak_rss_mib: exit.maxrss_kib as f64 / 1024.0,
        cpu_at_done_s: at_done.0.map(|(u, s)| u + s),
        rss_hwm_at_done_mib: at_done.1.map(|k| k as f64 / 1024.0),
        exit_code: exit.code,
        exit_signal: exit.signal,
        stop_s: stop.as_secs_f64(),
        sink_cpu_s: (sink_final.cpu_s - sink_cpu0).max(0.0),
        sink_bulk_requests: sink_final.bulk_requests,
        sink_body_bytes: sink_final.body_bytes,
        sink_wire_bytes: sink_final.wire_bytes,
        sink_max_docs_per_request: sink_final.max_docs_per_request,
        sink_indices: sink_final.indices.clone(),
        sink_distinct_ids: sink_final.verify.as_ref().map(|v| v.distinct_ids),
        agent: opts.agent.display().to_string(),
        commit: git_commit(&opts.agent),
        load_avg_1m,
        ncpu: std::thread::available_parallelism().map_or(1, |n| n.get()),
        unix_time,
        workload_dir: wdir.display().to_string(),
        run_dir: keep.then(|| run_dir.display().to_string()),
    };
    Ok(result)
}
