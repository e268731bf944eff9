//! A fast in-process Elasticsearch `_bulk` sink for throughput runs.
//!
//! It runs on its own thread with a single-threaded tokio runtime bound to 127.0.0.1, so all of
//! its work happens on one OS thread whose CPU clock the bench reads: the sink's cost is
//! reported next to the agent's, to show that the sink was not the bottleneck.
//!
//! Bulk bodies are counted, not parsed: documents = NDJSON lines / 2 (every action the agent
//! sends is `index` or `create` followed by a source line), newlines found with memchr, gzip
//! inflated. The response is a valid ES 7.17 bulk response with one item per document,
//! honouring `filter_path`. `SinkOptions::verify` parses every pair instead and counts distinct
//! `_id`s, for correctness runs.

mod bulk;
mod filter_path;
mod response;

pub use filter_path::FilterPath;
pub use response::ResponsePlan;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `GET /` of a real Elasticsearch 7.17.27, so clients that check the version accept the sink.
pub const ROOT_BODY: &str = include_str!("../../fixtures/es/root-es7.17.27.json");
const HEALTH_BODY: &str = r#"{"cluster_name":"docker-cluster","status":"green","timed_out":false,"number_of_nodes":1,"number_of_data_nodes":1,"active_primary_shards":1,"active_shards":1,"relocating_shards":0,"initializing_shards":0,"unassigned_shards":0,"delayed_unassigned_shards":0,"number_of_pending_tasks":0,"number_of_in_flight_fetch":0,"task_max_waiting_in_queue_millis":0,"active_shards_percent_as_number":100.0}"#;
const NO_REQUESTS_BODY: &str = r#"{"error":{"root_cause":[{"type":"action_request_validation_exception","reason":"Validation Failed: 1: no requests added;"}],"type":"action_request_validation_exception","reason":"Validation Failed: 1: no requests added;"},"status":400}"#;

#[derive(Debug, Clone)]
pub struct SinkOptions {
    /// Where to listen; loopback only (the default picks a free port).
    pub addr: SocketAddr,
    /// Parse every action and document and count distinct `_id`s (slower).
    pub verify: bool,
    /// Keep the first N action/document pairs, to check what the agent sends.
    pub sample_docs: usize,
}

impl Default for SinkOptions {
    fn default() -> Self {
        SinkOptions {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            verify: false,
            sample_docs: 0,
        }
    }
}

/// Counters from `--verify` mode.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct VerifyStats {
    /// Distinct (index, `_id`) pairs among documents that carried an `_id`.
    pub distinct_ids: u64,
    pub duplicate_ids: u64,
    pub docs_without_id: u64,
    /// Actions other than index/create, or action lines that are not JSON objects.
    pub invalid_actions: u64,
    /// Source lines missing or not JSON objects.
    pub invalid_docs: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SinkStats {
    pub docs: u64,
    pub bulk_requests: u64,
    pub other_requests: u64,
    pub bad_requests: u64,
    pub gzip_requests: u64,
    /// Request body bytes as received (compressed when gzip).
    pub wire_bytes: u64,
    /// NDJSON bytes after inflating.
    pub body_bytes: u64,
    pub max_docs_per_request: u64,
    /// CPU seconds (user+sys) of the sink's thread.
    pub cpu_s: f64,
    /// Documents per index (from each request's first action unless verifying).
    pub indices: BTreeMap<String, u64>,
    pub verify: Option<VerifyStats>,
    #[serde(skip)]
    pub first_doc_at: Option<Instant>,
    #[serde(skip)]
    pub last_doc_at: Option<Instant>,
}

#[derive(Default)]
struct Slow {
    indices: BTreeMap<String, u64>,
    ids: HashSet<Vec<u8>>,
    verify: VerifyStats,
    samples: Vec<String>,
}

struct Shared {
    start: Instant,
    opts: SinkOptions,
    docs: AtomicU64,
    bulk_requests: AtomicU64,
    other_requests: AtomicU64,
    bad_requests: AtomicU64,
    gzip_requests: AtomicU64,
    wire_bytes: AtomicU64,
    body_bytes: AtomicU64,
    max_docs: AtomicU64,
    /// Nanoseconds since `start` plus one (0: no document yet).
    first_doc_ns: AtomicU64,
    last_doc_ns: AtomicU64,
    next_id: AtomicU64,
    cpu_clock: Mutex<Option<libc::clockid_t>>,
    final_cpu_ns: AtomicU64,
    stopped: AtomicBool,
    slow: Mutex<Slow>,
}

fn clock_ns(clock: libc::clockid_t) -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; an invalid clock id only yields an error.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    (rc == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

impl Shared {
    fn cpu_ns(&self) -> u64 {
        if !self.stopped.load(Ordering::Acquire) {
            let clock = self.cpu_clock.lock().ok().and_then(|c| *c);
            if let Some(ns) = clock.and_then(clock_ns) {
                return ns;
            }
        }
        self.final_cpu_ns.load(Ordering::Acquire)
    }

    fn at(&self, ns_plus_one: u64) -> Option<Instant> {
        (ns_plus_one > 0).then(|| self.start + Duration::from_nanos(ns_plus_one - 1))
    }

    fn stats(&self) -> SinkStats {
        // Documents are counted after the time is stored: a reader that sees the count also
        // sees a last-document time at least as late as the request that completed it.
        let docs = self.docs.load(Ordering::Acquire);
        let (indices, verify) = match self.slow.lock() {
            Ok(s) => (
                s.indices.clone(),
                self.opts.verify.then(|| s.verify.clone()),
            ),
            Err(_) => (BTreeMap::new(), None),
        };
        SinkStats {
            docs,
            bulk_requests: self.bulk_requests.load(Ordering::Relaxed),
            other_requests: self.other_requests.load(Ordering::Relaxed),
            bad_requests: self.bad_requests.load(Ordering::Relaxed),
            gzip_requests: self.gzip_requests.load(Ordering::Relaxed),
            wire_bytes: self.wire_bytes.load(Ordering::Relaxed),
            body_bytes: self.body_bytes.load(Ordering::Relaxed),
            max_docs_per_request: self.max_docs.load(Ordering::Relaxed),
            cpu_s: self.cpu_ns() as f64 / 1e9,
            indices,
            verify,
            first_doc_at: self.at(self.first_doc_ns.load(Ordering::Acquire)),
            last_doc_at: self.at(self.last_doc_ns.load(Ordering::Acquire)),
        }
    }
}

/// A running sink; stopped on drop.
pub struct BulkSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop_tx: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BulkSink {
    pub fn start(opts: SinkOptions) -> anyhow::Result<BulkSink> {
        if !opts.addr.ip().is_loopback() {
            anyhow::bail!("the bulk sink listens on loopback addresses only");
        }
        let listener = std::net::TcpListener::bind(opts.addr)
            .with_context(|| format!("binding {}", opts.addr))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            start: Instant::now(),
            opts,
            docs: AtomicU64::new(0),
            bulk_requests: AtomicU64::new(0),
            other_requests: AtomicU64::new(0),
            bad_requests: AtomicU64::new(0),
            gzip_requests: AtomicU64::new(0),
            wire_bytes: AtomicU64::new(0),
            body_bytes: AtomicU64::new(0),
            max_docs: AtomicU64::new(0),
            first_doc_ns: AtomicU64::new(0),
            last_doc_ns: AtomicU64::new(0),
            next_id: AtomicU64::new(1),
            cpu_clock: Mutex::new(None),
            final_cpu_ns: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
            slow: Mutex::new(Slow::default()),
        });
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<()>>();
        let sh = shared.clone();
        let thread = std::thread::Builder::new()
            .name("bulk-sink".into())
            .spawn(move || serve_thread(listener, sh, stop_rx, ready_tx))?;
        ready_rx
            .recv()
            .context("bulk sink thread exited during startup")??;
        Ok(BulkSink {
            addr,
            shared,
            stop_tx: Some(stop_tx),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Documents received so far (one atomic load: cheap to poll).
    pub fn docs(&self) -> u64 {
        self.shared.docs.load(Ordering::Acquire)
    }

    pub fn stats(&self) -> SinkStats {
        self.shared.stats()
    }

    /// The first `sample_docs` action/document pairs received, each as two NDJSON lines.
    pub fn samples(&self) -> Vec<String> {
        self.shared
            .slow
            .lock()
            .map(|s| s.samples.clone())
            .unwrap_or_default()
    }

    /// Stops the server thread and returns the final counters.
    pub fn stop(mut self) -> SinkStats {
        self.shutdown();
        self.shared.stats()
    }

    fn shutdown(&mut self) {
        if let Some(tx) = self.stop_tx.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for BulkSink {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn serve_thread(
    listener: std::net::TcpListener,
    sh: Arc<Shared>,
    stop_rx: tokio::sync::oneshot::Receiver<()>,
    ready: std::sync::mpsc::Sender<anyhow::Result<()>>,
) {
    let mut clock: libc::clockid_t = 0;
    // SAFETY: pthread_self() is this live thread; `clock` is a valid out-pointer.
    if unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut clock) } == 0 {
        if let Ok(mut c) = sh.cpu_clock.lock() {
            *c = Some(clock);
        }
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(e.into()));
            return;
        }
    };
    rt.block_on(async {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                let _ = ready.send(Err(e.into()));
                return;
            }
        };
        let _ = ready.send(Ok(()));
        let mut stop_rx = stop_rx;
        loop {
            tokio::select! {
                _ = &mut stop_rx => break,
                accepted = listener.accept() => match accepted {
                    Ok((sock, _)) => {
                        // Like ES (netty): no Nagle, so small responses are not delayed.
                        let _ = sock.set_nodelay(true);
                        tokio::spawn(serve_conn(sock, sh.clone()));
                    }
                    // Out of file descriptors and the like: back off, keep serving.
                    Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
                },
            }
        }
    });
    drop(rt);
    sh.final_cpu_ns
        .store(clock_ns(clock).unwrap_or(0), Ordering::Release);
    sh.stopped.store(true, Ordering::Release);
}

async fn serve_conn(sock: tokio::net::TcpStream, sh: Arc<Shared>) {
    let svc = hyper::service::service_fn(move |req| {
        let sh = sh.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(req, &sh).await) }
    });
    let io = hyper_util::rt::TokioIo::new(sock);
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, svc)
        .await;
}

fn reply(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    h.insert(
        "x-elastic-product",
        hyper::header::HeaderValue::from_static("Elasticsearch"),
    );
    r
}

/// The value of query parameter `name`, percent-decoded.
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    let v = query?
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))?;
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

async fn handle(req: Request<Incoming>, sh: &Shared) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let encoding = req
        .headers()
        .get(hyper::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            sh.bad_requests.fetch_add(1, Ordering::Relaxed);
            return reply(
                StatusCode::BAD_REQUEST,
                r#"{"error":"incomplete body","status":400}"#,
            );
        }
    };
    let is_bulk = path == "/_bulk" || path.ends_with("/_bulk");
    match method {
        Method::POST | Method::PUT if is_bulk => {
            bulk::bulk(sh, &path, query.as_deref(), &encoding, &body)
        }
        Method::GET | Method::HEAD if path == "/" => reply(StatusCode::OK, ROOT_BODY),
        Method::GET if path.starts_with("/_cluster/health") => reply(StatusCode::OK, HEALTH_BODY),
        Method::GET if path == "/_stats_sink" => reply(
            StatusCode::OK,
            serde_json::to_vec(&sh.stats()).unwrap_or_default(),
        ),
        m => {
            sh.other_requests.fetch_add(1, Ordering::Relaxed);
            match m {
                Method::PUT | Method::POST => reply(StatusCode::OK, r#"{"acknowledged":true}"#),
                Method::HEAD => reply(StatusCode::OK, ""),
                _ => reply(StatusCode::OK, "{}"),
            }
        }
    }
}
