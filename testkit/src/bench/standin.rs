//! A stand-in agent that honours the bench's agent contract, to test the driver without the
//! real agent and to show the driver's and sink's own ceiling.
//!
//! Contract: `PATH run`, with `ES_SERVER=host:port`, `LOGSHIP_INPUT_GLOB=<dir>/*.log`,
//! `LOGSHIP_STATE_DIR`, `LOGSHIP_HTTP_ADDR`, `KUBE_LOG_LEVEL`; ship every record to `_bulk`,
//! then on SIGTERM exit 0. It reads each file once (no tailing), joins split lines, and posts
//! `{"index":{"_index":"logstash-YYYY.MM.DD","_id":"<file>-<n>"}}` + `{"@timestamp","stream","log"}`
//! pairs in ~4 MiB batches, asking for `filter_path=errors,items.*.error,items.*.status`.
//! `STANDIN_GZIP=1` compresses the batches; `STANDIN_FILTER_PATH=` (empty) asks for the full
//! response; `STANDIN_SKIP=N` drops the last N records of the first file (to test that the
//! bench notices missing records).

use super::http::HttpClient;
use crate::workload::decode;
use anyhow::{bail, Context};
use std::io::Write;
use std::path::{Path, PathBuf};

const BATCH_BYTES: usize = 4 << 20;

/// Files matching `glob`, which may hold `*` in its last component only.
pub fn expand_glob(glob: &str) -> anyhow::Result<Vec<PathBuf>> {
    let (dir, pat) = glob.rsplit_once('/').unwrap_or((".", glob));
    let (prefix, suffix) = pat.split_once('*').unwrap_or((pat, ""));
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {dir}"))? {
        let name = e?.file_name();
        let name = name.to_string_lossy();
        let matches = if pat.contains('*') {
            name.len() >= prefix.len() + suffix.len()
                && name.starts_with(prefix)
                && name.ends_with(suffix)
        } else {
            name == pat
        };
        if matches {
            out.push(Path::new(dir).join(name.as_ref()));
        }
    }
    out.sort();
    Ok(out)
}

fn block_sigterm() -> libc::sigset_t {
    // SAFETY: plain libc signal-set calls on a local, zero-initialised sigset_t.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

fn wait_signal(set: &libc::sigset_t) {
    let mut sig: libc::c_int = 0;
    // SAFETY: `set` is a valid sigset with SIGTERM/SIGINT blocked in this thread.
    unsafe {
        libc::sigwait(set, &mut sig);
    }
}

struct Shipper {
    client: HttpClient,
    gzip: bool,
    filter_path: Option<String>,
    batch: Vec<u8>,
    sent_docs: u64,
}

impl Shipper {
    fn flush(&mut self) -> anyhow::Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let path = match &self.filter_path {
            Some(f) => format!("/_bulk?filter_path={f}"),
            None => "/_bulk".to_string(),
        };
        let path = path.as_str();
        let ctype = ("Content-Type", "application/x-ndjson");
        let resp = if self.gzip {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            enc.write_all(&self.batch)?;
            let body = enc.finish()?;
            self.client
                .request("POST", path, &[ctype, ("Content-Encoding", "gzip")], &body)?
        } else {
            self.client.request("POST", path, &[ctype], &self.batch)?
        };
        let head = &resp.body[..resp.body.len().min(64)];
        if resp.status != 200 || memchr::memmem::find(head, b"\"errors\":false").is_none() {
            bail!(
                "bulk failed: {} {}",
                resp.status,
                String::from_utf8_lossy(&resp.body)
            );
        }
        self.batch.clear();
        Ok(())
    }
}

/// The stand-in's `main`: `run` is the only command.
pub fn main_with_args(args: &[String]) -> anyhow::Result<()> {
    if args.get(1).map(String::as_str) != Some("run") {
        bail!(
            "usage: {} run",
            args.first().map_or("standin-agent", String::as_str)
        );
    }
    // Blocked before any thread starts, so a SIGTERM sent while shipping waits for the end.
    let set = block_sigterm();
    let server = std::env::var("ES_SERVER").context("ES_SERVER is not set")?;
    let glob = std::env::var("LOGSHIP_INPUT_GLOB").context("LOGSHIP_INPUT_GLOB is not set")?;
    let skip: u64 = std::env::var("STANDIN_SKIP")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut sh = Shipper {
        client: HttpClient::new(server),
        gzip: std::env::var("STANDIN_GZIP").is_ok_and(|v| v == "1"),
        filter_path: match std::env::var("STANDIN_FILTER_PATH") {
            Ok(f) if f.is_empty() => None,
            Ok(f) => Some(f),
            Err(_) => Some("errors,items.*.error,items.*.status".to_string()),
        },
        batch: Vec::with_capacity(BATCH_BYTES + (1 << 16)),
        sent_docs: 0,
    };
    let root = sh.client.get("/")?;
    if root.status != 200 {
        bail!("GET / answered {}", root.status);
    }
    for (fi, path) in expand_glob(&glob)?.iter().enumerate() {
        let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let mut records = Vec::new();
        decode::for_each_record(&data, None, |r| records.push(r))?;
        let keep = if fi == 0 {
            records.len().saturating_sub(skip as usize)
        } else {
            records.len()
        };
        for (n, r) in records.iter().take(keep).enumerate() {
            let date = r.time.get(..10).unwrap_or("1970-01-01").replace('-', ".");
            let _ = writeln!(
                sh.batch,
                "{{\"index\":{{\"_index\":\"logstash-{date}\",\"_id\":\"{fi}-{n}\"}}}}"
            );
            let doc = serde_json::json!({"@timestamp": r.time, "stream": r.stream, "log": r.msg});
            serde_json::to_writer(&mut sh.batch, &doc)?;
            sh.batch.push(b'\n');
            sh.sent_docs += 1;
            if sh.batch.len() >= BATCH_BYTES {
                sh.flush()?;
            }
        }
    }
    sh.flush()?;
    eprintln!(
        "standin: shipped {} records; waiting for SIGTERM",
        sh.sent_docs
    );
    wait_signal(&set);
    Ok(())
}
