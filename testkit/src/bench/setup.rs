//! What every kind of run needs: the workload (cached or fresh), the run directory, the agent's
//! command line per the agent contract, and the facts recorded with each result.

use super::kube::BenchKube;
use super::BenchOptions;
use crate::bulk_sink::{BulkSink, SinkOptions};
use crate::workload::{self, Manifest, WorkloadOptions, WorkloadSpec};
use anyhow::Context;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

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
    let m = generate(&tmp, spec, verbose)?;
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("removing stale {}", dir.display()))?;
    }
    std::fs::rename(&tmp, &dir).with_context(|| format!("moving {} into place", tmp.display()))?;
    Ok((dir, m))
}

/// Generates a workload into `out` (replacing what is there): for runs that write into their
/// files and so cannot use the cache.
pub fn generate(out: &Path, spec: &WorkloadSpec, verbose: bool) -> anyhow::Result<Manifest> {
    if verbose {
        eprintln!("[bench] generating workload {}", out.display());
    }
    let mut opts = WorkloadOptions::new(out, spec.clone());
    opts.force = true;
    let t = Instant::now();
    let m = match workload::generate(&opts) {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_dir_all(out);
            return Err(e);
        }
    };
    if verbose {
        eprintln!(
            "[bench] generated {:.1} MB in {:.1}s",
            m.bytes as f64 / 1e6,
            t.elapsed().as_secs_f64()
        );
    }
    Ok(m)
}

/// Reads every input file once so the run measures the agent, not the disk.
pub fn warm_page_cache(paths: &[PathBuf]) -> anyhow::Result<u64> {
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

pub fn load_avg() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `git rev-parse --short=12 HEAD` of the repository holding `near`, `+dirty` with changes.
pub fn git_commit(near: &Path) -> Option<String> {
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

/// A run's directory: `agent.log`, `state/`, the kubeconfig, the sink sample, and for runs that
/// write into their input, the workload itself.
pub struct RunDir {
    pub path: PathBuf,
    pub state: PathBuf,
}

impl RunDir {
    pub fn create(opts: &BenchOptions) -> anyhow::Result<RunDir> {
        let path = opts.work_dir.join("runs").join(format!(
            "{}-{}-{}",
            opts.case,
            unix_now(),
            std::process::id()
        ));
        let state = path.join("state");
        std::fs::create_dir_all(&state).with_context(|| format!("creating {}", state.display()))?;
        Ok(RunDir { path, state })
    }

    /// A fresh file for the agent's stdout and stderr (`name`: `agent.log`, `agent-2.log`).
    pub fn log(&self, name: &str) -> anyhow::Result<std::fs::File> {
        let p = self.path.join(name);
        std::fs::File::create(&p).with_context(|| format!("creating {}", p.display()))
    }

    /// Writes the sink's sample, then removes the directory unless it is to be kept.
    pub fn finish(&self, samples: &[String], keep: bool) {
        if let Ok(f) = std::fs::File::create(self.path.join("sink-sample.ndjson")) {
            use std::io::Write;
            let mut f = std::io::BufWriter::new(f);
            for s in samples {
                let _ = writeln!(f, "{s}");
            }
        }
        if !keep {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// The sink (and the API double, unless `--no-kube`) that a run's agent talks to.
pub struct Services {
    pub sink: BulkSink,
    pub kube: Option<BenchKube>,
}

impl Services {
    pub fn start(
        opts: &BenchOptions,
        workload_dir: &Path,
        run: &RunDir,
        node: &str,
    ) -> anyhow::Result<Services> {
        let sink = BulkSink::start(SinkOptions {
            verify: opts.verify,
            sample_docs: 5,
            ..SinkOptions::default()
        })?;
        let kube = if opts.kube {
            Some(BenchKube::start(workload_dir, &run.path, node)?)
        } else {
            None
        };
        Ok(Services { sink, kube })
    }

    /// The agent's command line per the agent contract (docs/benchmark.md).
    pub fn agent_command(
        &self,
        opts: &BenchOptions,
        workload_dir: &Path,
        state_dir: &Path,
        http_addr: &str,
    ) -> Command {
        let mut cmd = Command::new(&opts.agent);
        cmd.args(&opts.agent_args);
        // A developer's shell may point ES_SERVER or LOGSHIP_* elsewhere; the run must not
        // inherit them. Everything the agent needs is set here or through --env.
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy();
            if k.starts_with("LOGSHIP_")
                || k.starts_with("ES_")
                || k.starts_with("KUBE_")
                || k == "NODE_NAME"
            {
                cmd.env_remove(k.as_ref());
            }
        }
        cmd.env("ES_SERVER", self.sink.addr().to_string())
            .env(
                "LOGSHIP_INPUT_GLOB",
                format!("{}/containers/*.log", workload_dir.display()),
            )
            .env("LOGSHIP_STATE_DIR", state_dir)
            .env("LOGSHIP_HTTP_ADDR", http_addr)
            .env("KUBE_LOG_LEVEL", "0");
        for (k, v) in self.kube.iter().flat_map(BenchKube::env) {
            cmd.env(k, v);
        }
        for (k, v) in &opts.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Whether the sampled documents carry pod labels; `None` without the API double.
    pub fn enriched(&self) -> Option<bool> {
        self.kube
            .as_ref()
            .map(|_| super::kube::samples_enriched(&self.sink.samples()))
    }
}

/// A free port on 127.0.0.1 for the agent's HTTP endpoint, when the driver must reach it.
pub fn free_local_addr() -> anyhow::Result<String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.to_string())
}

/// A run over a workload of its own, generated in the run directory (for the cases that write
/// into their files), with the services started: the run directory, the workload's directory
/// and manifest, and the services.
pub fn run_with_own_workload(
    opts: &BenchOptions,
) -> anyhow::Result<(RunDir, PathBuf, Manifest, Services)> {
    opts.check_agent()?;
    let run_dir = RunDir::create(opts)?;
    let wdir = run_dir.path.join("w");
    let manifest = generate(&wdir, &opts.spec, opts.verbose)?;
    let services = Services::start(opts, &wdir, &run_dir, &opts.spec.node)?;
    Ok((run_dir, wdir, manifest, services))
}
