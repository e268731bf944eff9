//! One throughput run (see the module docs of `bench`): the agent reads a whole workload and
//! the run ends when the sink has every record.

use super::finish::{stop_run, Conditions, Workload};
use super::process::{proc_cpu, proc_status_kib, Agent};
use super::setup::{ensure_workload, warm_page_cache, RunDir, Services};
use super::{BenchOptions, BenchResult};
use std::time::{Duration, Instant};

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
    opts.check_agent()?;
    let expected = manifest.records;
    let timeout = opts
        .timeout
        .unwrap_or_else(|| Duration::from_secs(120 + expected / 5000));
    let conditions = Conditions::now();
    let run_dir = RunDir::create(opts)?;
    let log = run_dir.log("agent.log")?;
    let services = Services::start(opts, &wdir, &run_dir, &opts.spec.node)?;
    let sink = &services.sink;
    let sink_cpu0 = sink.stats().cpu_s;
    let cmd = services.agent_command(opts, &wdir, &run_dir.state, "127.0.0.1:0");
    if opts.verbose {
        eprintln!(
            "[bench] {}: expecting {} records from {} files ({:.1} MB){}; agent {} {}",
            opts.case,
            expected,
            manifest.file_count,
            manifest.bytes as f64 / 1e6,
            if services.kube.is_some() {
                ", pod metadata from the API double"
            } else {
                ""
            },
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
    let status = match outcome {
        Outcome::Done => "ok",
        Outcome::Timeout => "timeout",
        Outcome::Stalled => "stalled",
        Outcome::Exited => "agent-exited",
    };
    let end = stop_run(opts, &mut agent, services, status)?;
    let wall = end
        .at_stop
        .last_doc_at
        .map_or(0.0, |t| t.saturating_duration_since(t0).as_secs_f64());
    let per_s = |x: f64| if wall > 0.0 { x / wall } else { 0.0 };
    let cpu = end.exit.user_s + end.exit.sys_s;
    let workload = Workload {
        manifest: &manifest,
        dir: &wdir,
        expected,
    };
    Ok(BenchResult {
        wall_s: wall,
        first_doc_s: end
            .at_stop
            .first_doc_at
            .map(|t| t.saturating_duration_since(t0).as_secs_f64()),
        records_per_s: per_s(expected as f64),
        mb_per_s: per_s(manifest.bytes as f64 / 1e6),
        cpu_s_per_gb: if manifest.bytes > 0 {
            cpu / (manifest.bytes as f64 / 1e9)
        } else {
            0.0
        },
        cpu_at_done_s: at_done.0.map(|(u, s)| u + s),
        rss_hwm_at_done_mib: at_done.1.map(|k| k as f64 / 1024.0),
        sink_cpu_s: (end.sink_final.cpu_s - sink_cpu0).max(0.0),
        ..BenchResult::from_run(opts, workload, conditions, &end, &run_dir)
    })
}
