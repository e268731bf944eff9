//! The idle case: many files that each get one line per second, the load of a quiet node. It
//! shows what watching costs (CPU % of one core, which busy polling would make grow with the
//! number of files) and how soon a line written reaches the sink.
//!
//! Sequence: generate the files (one line each) in the run directory, start the agent and wait
//! for those lines, let it settle, then for `idle_seconds` write one line into every file at
//! the start of each second. The CPU figure is the agent's CPU over exactly that window (from
//! /proc). A round's latency is from the moment its first line was written to the moment the
//! sink held every line of it: the worst line of the round.

use super::append::Appender;
use super::finish::{stop_run, Conditions, Workload};
use super::process::{proc_cpu, Agent};
use super::setup::run_with_own_workload;
use super::{BenchOptions, BenchResult, IdleFigures};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Time the agent gets after the initial lines arrived before the window opens.
const SETTLE: Duration = Duration::from_secs(2);

pub fn run(opts: &BenchOptions) -> anyhow::Result<BenchResult> {
    let conditions = Conditions::now();
    let (run_dir, wdir, manifest, services) = run_with_own_workload(opts)?;
    let sink = &services.sink;
    let cmd = services.agent_command(opts, &wdir, &run_dir.state, "127.0.0.1:0");
    let rounds = opts.idle_seconds.max(1);
    let initial = manifest.records;
    let expected = initial + rounds * manifest.file_count as u64;
    if opts.verbose {
        eprintln!(
            "[bench] {}: {} files, then one line per file per second for {rounds}s",
            opts.case, manifest.file_count
        );
    }
    let t0 = Instant::now();
    let mut agent = Agent::spawn(cmd, run_dir.log("agent.log")?)?;
    let mut status = "ok";
    let deadline = t0 + opts.stall;
    while sink.docs() < initial {
        if agent.poll(false)?.is_some() {
            status = "agent-exited";
            break;
        }
        if Instant::now() > deadline {
            status = "stalled";
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut figures = None;
    if status == "ok" {
        std::thread::sleep(SETTLE);
        let mut appender = Appender::open(&manifest.container_paths(&wdir), opts.spec.format)?;
        let (f, s) = write_rounds(&mut appender, &agent, sink, initial, rounds)?;
        figures = Some(f);
        status = s;
    }
    std::thread::sleep(opts.settle);
    let end = stop_run(opts, &mut agent, services, status)?;
    let wall = t0.elapsed().as_secs_f64();
    let workload = Workload {
        manifest: &manifest,
        dir: &wdir,
        expected,
    };
    Ok(BenchResult {
        lines: manifest.lines + rounds * manifest.file_count as u64,
        wall_s: wall,
        first_doc_s: end
            .at_stop
            .first_doc_at
            .map(|t| t.saturating_duration_since(t0).as_secs_f64()),
        records_per_s: expected as f64 / wall,
        idle: figures,
        ..BenchResult::from_run(opts, workload, conditions, &end, &run_dir)
    })
}

/// The measured window: a round of lines at the start of every second, the sink watched in
/// between. Returns the figures and `ok`, or `stalled` when lines were still missing 10 s
/// after the last round.
fn write_rounds(
    appender: &mut Appender,
    agent: &Agent,
    sink: &crate::bulk_sink::BulkSink,
    initial: u64,
    rounds: u64,
) -> anyhow::Result<(IdleFigures, &'static str)> {
    let per_round = appender.files() as u64;
    // (docs the sink must hold, when the round's first line was written)
    let mut waiting: VecDeque<(u64, Instant)> = VecDeque::new();
    let mut latencies = Vec::with_capacity(rounds as usize);
    let settle = |waiting: &mut VecDeque<(u64, Instant)>, latencies: &mut Vec<f64>| {
        let docs = sink.docs();
        let now = Instant::now();
        while waiting.front().is_some_and(|(target, _)| docs >= *target) {
            if let Some((_, at)) = waiting.pop_front() {
                latencies.push(now.duration_since(at).as_secs_f64());
            }
        }
    };
    let cpu0 = proc_cpu(agent.pid()).map_or(0.0, |(u, s)| u + s);
    let start = Instant::now();
    for round in 0..rounds {
        let at = start + Duration::from_secs(round);
        while Instant::now() < at {
            settle(&mut waiting, &mut latencies);
            std::thread::sleep(Duration::from_millis(2));
        }
        let written_at = Instant::now();
        appender.write_round(round)?;
        waiting.push_back((initial + (round + 1) * per_round, written_at));
    }
    let end = start + Duration::from_secs(rounds);
    while Instant::now() < end {
        settle(&mut waiting, &mut latencies);
        std::thread::sleep(Duration::from_millis(2));
    }
    let cpu = proc_cpu(agent.pid()).map_or(0.0, |(u, s)| u + s) - cpu0;
    let window = start.elapsed().as_secs_f64();
    let give_up = Instant::now() + Duration::from_secs(10);
    while !waiting.is_empty() && Instant::now() < give_up {
        settle(&mut waiting, &mut latencies);
        std::thread::sleep(Duration::from_millis(2));
    }
    let missing = !waiting.is_empty();
    // Rounds whose lines never all arrived count as the longest wait seen.
    latencies.extend(waiting.iter().map(|(_, at)| at.elapsed().as_secs_f64()));
    latencies.sort_by(f64::total_cmp);
    let figures = IdleFigures {
        seconds: rounds,
        lines_written: rounds * per_round,
        cpu_s: cpu,
        cpu_pct_of_core: 100.0 * cpu / window,
        latency_max_s: latencies.last().copied().unwrap_or(0.0),
        latency_p50_s: latencies.get(latencies.len() / 2).copied().unwrap_or(0.0),
    };
    Ok((figures, if missing { "stalled" } else { "ok" }))
}
