//! The start-up case: an agent restarted on a node with many checkpointed files. It shows how
//! long a restart (an upgrade, an OOM kill) leaves the node unwatched.
//!
//! Sequence: generate the files in the run directory; run the agent until the sink has every
//! record and stop it (it writes its checkpoints); append one line to every file; start it
//! again with the same state directory and measure, from the spawn, when `/readyz` first
//! answers 200, when the first new record arrives and when all of them have. Exactly one new
//! record per file is expected: more means the checkpoints were not used.

use super::append::Appender;
use super::finish::{stop_run, Conditions, Workload};
use super::http::HttpClient;
use super::process::Agent;
use super::setup::{free_local_addr, run_with_own_workload};
use super::{BenchOptions, BenchResult, StartupFigures};
use anyhow::Context;
use std::path::Path;
use std::time::{Duration, Instant};

pub fn run(opts: &BenchOptions) -> anyhow::Result<BenchResult> {
    let conditions = Conditions::now();
    let (run_dir, wdir, manifest, services) = run_with_own_workload(opts)?;
    let sink = &services.sink;
    let first_records = manifest.records;
    let files = manifest.file_count as u64;
    let expected = first_records + files;

    // First life: read everything, stop, leave checkpoints behind.
    let cmd = services.agent_command(opts, &wdir, &run_dir.state, "127.0.0.1:0");
    let mut agent = Agent::spawn(cmd, run_dir.log("agent.log")?)?;
    let mut status = wait_for(sink, &mut agent, first_records, opts.stall)?;
    // The checkpoints follow the acknowledgements closely; a moment lets the last one land.
    std::thread::sleep(opts.settle);
    let (exit1, _) = agent.terminate(opts.grace)?;
    if status == "ok" && exit1.code != Some(0) {
        status = "bad-exit";
    }
    let checkpoints = count_checkpoints(&run_dir.state)?;
    if opts.verbose {
        eprintln!(
            "[bench] {}: first run done, {checkpoints} checkpoints; appending one line per file",
            opts.case
        );
    }
    let mut appender = Appender::open(&manifest.container_paths(&wdir), opts.spec.format)?;
    appender.write_round(0)?;

    // Second life: measured.
    let addr = free_local_addr()?;
    let cmd = services.agent_command(opts, &wdir, &run_dir.state, &addr);
    let t0 = Instant::now();
    let mut agent = Agent::spawn(cmd, run_dir.log("agent-2.log")?)?;
    let mut ready_s = None;
    let mut first_s = None;
    let mut all_s = None;
    let deadline = t0 + opts.stall;
    while status == "ok" && (ready_s.is_none() || all_s.is_none()) {
        if ready_s.is_none() && readyz(&addr) {
            ready_s = Some(t0.elapsed().as_secs_f64());
        }
        let docs = sink.docs();
        if first_s.is_none() && docs > first_records {
            first_s = Some(t0.elapsed().as_secs_f64());
        }
        if all_s.is_none() && docs >= expected {
            all_s = Some(t0.elapsed().as_secs_f64());
        }
        if agent.poll(false)?.is_some() {
            status = "agent-exited";
        } else if Instant::now() > deadline {
            status = "stalled";
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    std::thread::sleep(opts.settle);
    let end = stop_run(opts, &mut agent, services, status)?;
    let figures = StartupFigures {
        checkpoints,
        ready_s,
        first_new_record_s: first_s,
        all_new_records_s: all_s,
        new_records: end.sink_final.docs.saturating_sub(first_records),
    };
    let workload = Workload {
        manifest: &manifest,
        dir: &wdir,
        expected,
    };
    Ok(BenchResult {
        lines: manifest.lines + files,
        wall_s: all_s.unwrap_or(0.0),
        startup: Some(figures),
        ..BenchResult::from_run(opts, workload, conditions, &end, &run_dir)
    })
}

/// Waits until the sink holds `want` documents: `ok`, `agent-exited` or `stalled`.
fn wait_for(
    sink: &crate::bulk_sink::BulkSink,
    agent: &mut Agent,
    want: u64,
    stall: Duration,
) -> anyhow::Result<&'static str> {
    let deadline = Instant::now() + stall;
    while sink.docs() < want {
        if agent.poll(false)?.is_some() {
            return Ok("agent-exited");
        }
        if Instant::now() > deadline {
            return Ok("stalled");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok("ok")
}

fn readyz(addr: &str) -> bool {
    HttpClient::new(addr)
        .get("/readyz")
        .is_ok_and(|r| r.status == 200)
}

/// Files in the agent's checkpoint file (its first line is the JSON body).
fn count_checkpoints(state: &Path) -> anyhow::Result<u64> {
    let path = state.join("checkpoints.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let body: serde_json::Value = serde_json::from_str(text.lines().next().unwrap_or(""))
        .with_context(|| format!("parsing {}", path.display()))?;
    Ok(body
        .get("files")
        .and_then(|f| f.as_array())
        .map_or(0, |f| f.len() as u64))
}
