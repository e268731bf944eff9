//! A Kubernetes API server double for end-to-end tests: the pod endpoints a node agent uses
//! (list with field selectors and pages, watch with chunked events, bookmarks and 410 Gone,
//! single GETs) and the discovery endpoints kubectl walks first, serving real objects from
//! `fixtures/k8s/`. Tests add, change and delete pods while it runs, and inject faults: down
//! (connection refused, open connections dropped), 403 Forbidden with RBAC's `Status`, and
//! watches ended with ERROR 410 `Expired` as a real API server sends it (HTTP 200 and an
//! in-stream event).
//!
//! Like the Elasticsearch double it runs on its own thread with its own tokio runtime, binds
//! 127.0.0.1 only, and is driven from synchronous tests. Plain HTTP, no authentication: the
//! kubeconfig it writes has an empty user.

pub mod fixtures;
mod selector;
mod server;
mod state;
mod status;
mod watch;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use serde_json::Value;
use tokio::sync::{oneshot, watch as tokio_watch};

pub use selector::FieldSelector;
pub use state::KubeApiStats;

use state::State;

#[derive(Clone, Debug)]
pub struct KubeApiOptions {
    /// `None`: a free port.
    pub port: Option<u16>,
    /// Start down: the port is known but refuses connections until [`KubeApi::set_down`].
    pub down: bool,
    /// Answer every pod request with 403 Forbidden.
    pub forbidden: bool,
    /// The resourceVersion before the first change.
    pub initial_resource_version: u64,
    /// How often watches that allow bookmarks get one; `None`: only on
    /// [`KubeApi::bookmark`].
    pub bookmark_every: Option<Duration>,
    /// Pods held from the start (added in order, each with its own resourceVersion).
    pub pods: Vec<Value>,
    /// Nodes served at `GET /api/v1/nodes/<name>` (read-only: no list or watch).
    pub nodes: Vec<Value>,
}

impl Default for KubeApiOptions {
    fn default() -> Self {
        KubeApiOptions {
            port: None,
            down: false,
            forbidden: false,
            initial_resource_version: 1000,
            bookmark_every: Some(Duration::from_secs(1)),
            pods: Vec::new(),
            nodes: Vec::new(),
        }
    }
}

pub(crate) struct Shared {
    state: Mutex<State>,
    pub down: tokio_watch::Sender<bool>,
    listening: Mutex<bool>,
    listening_changed: Condvar,
    pub bookmark_every: Option<Duration>,
    /// By name.
    pub nodes: std::collections::BTreeMap<String, Value>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // Plain data: still worth reading after a panic elsewhere.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_listening(&self, now: bool) {
        let mut l = self.listening.lock().unwrap_or_else(|e| e.into_inner());
        if *l != now {
            *l = now;
            self.listening_changed.notify_all();
        }
    }

    fn wait_listening(&self, want: bool, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut l = self.listening.lock().unwrap_or_else(|e| e.into_inner());
        while *l != want {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            l = match self.listening_changed.wait_timeout(l, deadline - now) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
        true
    }
}

/// A running double. Dropping it stops the server and closes its connections.
pub struct KubeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl KubeApi {
    /// Binds 127.0.0.1 (never another interface) and starts serving.
    pub fn start(opts: KubeApiOptions) -> anyhow::Result<KubeApi> {
        let port = opts.port.unwrap_or(0);
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))
            .with_context(|| format!("binding 127.0.0.1:{port}"))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let mut state = State::new(opts.initial_resource_version);
        for pod in opts.pods {
            state.add(pod).map_err(|e| anyhow!(e))?;
        }
        state.forbidden = opts.forbidden;
        // A server that starts down must refuse connections from the moment `start` returns.
        let listener = (!opts.down).then_some(listener);
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            down: tokio_watch::Sender::new(opts.down),
            listening: Mutex::new(listener.is_some()),
            listening_changed: Condvar::new(),
            bookmark_every: opts.bookmark_every,
            nodes: opts
                .nodes
                .into_iter()
                .filter_map(|n| Some((n["metadata"]["name"].as_str()?.to_owned(), n)))
                .collect(),
        });
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kube-api-double-worker")
            .enable_all()
            .build()
            .context("building the kube-api double runtime")?;
        let (stop_tx, stop_rx) = oneshot::channel();
        let sh = shared.clone();
        let thread = std::thread::Builder::new()
            .name("kube-api-double".into())
            .spawn(move || {
                rt.block_on(server::serve(listener, addr, sh, stop_rx));
                rt.shutdown_timeout(Duration::from_secs(2));
            })?;
        Ok(KubeApi {
            addr,
            shared,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig for this server (plain HTTP, no credentials).
    pub fn kubeconfig(&self) -> String {
        format!(
            "apiVersion: v1
kind: Config
clusters:
- name: double
  cluster:
    server: {}
users:
- name: test
  user: {{}}
contexts:
- name: double
  context:
    cluster: double
    user: test
current-context: double
",
            self.url()
        )
    }

    /// Writes [`KubeApi::kubeconfig`] to `dir/kubeconfig`.
    pub fn write_kubeconfig(&self, dir: &Path) -> std::io::Result<PathBuf> {
        let path = dir.join("kubeconfig");
        std::fs::write(&path, self.kubeconfig())?;
        Ok(path)
    }

    /// Adds a pod; returns its resourceVersion.
    pub fn add_pod(&self, pod: Value) -> anyhow::Result<u64> {
        self.shared.lock().add(pod).map_err(|e| anyhow!(e))
    }

    /// Changes a pod with `f` (name and namespace stay); returns its new resourceVersion.
    pub fn modify_pod(
        &self,
        namespace: &str,
        name: &str,
        f: impl FnOnce(&mut Value),
    ) -> anyhow::Result<u64> {
        self.shared
            .lock()
            .modify(namespace, name, f)
            .ok_or_else(|| anyhow!("no pod {namespace}/{name}"))
    }

    /// Deletes a pod at once (grace period 0); returns the resourceVersion of the deletion.
    pub fn delete_pod(&self, namespace: &str, name: &str) -> anyhow::Result<u64> {
        self.shared
            .lock()
            .delete(namespace, name)
            .ok_or_else(|| anyhow!("no pod {namespace}/{name}"))
    }

    /// The pods held, in the API server's list order (namespace, then name), as list items
    /// (no `kind`/`apiVersion`).
    pub fn pods(&self) -> Vec<Value> {
        self.shared.lock().pods()
    }

    pub fn pod(&self, namespace: &str, name: &str) -> Option<Value> {
        self.shared.lock().pod(namespace, name).cloned()
    }

    pub fn resource_version(&self) -> u64 {
        self.shared.lock().resource_version()
    }

    /// Down: new connections are refused and open ones (watches included) are dropped. Returns
    /// once the port is closed (or listening again).
    pub fn set_down(&self, down: bool) -> anyhow::Result<()> {
        self.shared.down.send_replace(down);
        if self.shared.wait_listening(!down, Duration::from_secs(10)) {
            Ok(())
        } else {
            Err(anyhow!(
                "the kube-api double did not go {}",
                if down { "down" } else { "up" }
            ))
        }
    }

    /// Answer pod requests with 403 Forbidden (open watches go on, as with RBAC).
    pub fn set_forbidden(&self, forbidden: bool) {
        self.shared.lock().forbidden = forbidden;
    }

    /// Ends every open watch with an ERROR 410 `Expired` event and forgets the history, so
    /// that clients must list again; returns how many watches were ended.
    pub fn expire_watches(&self) -> usize {
        self.shared.lock().expire_watches()
    }

    /// Sends a BOOKMARK now to the watches that allow them.
    pub fn bookmark(&self) {
        self.shared.lock().bookmark();
    }

    pub fn open_watches(&self) -> usize {
        self.shared.lock().open_watches()
    }

    /// Waits until at least `n` watches are open.
    pub fn wait_for_watches(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.open_watches() >= n {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Every request so far, as `METHOD /path?query`.
    pub fn requests(&self) -> Vec<String> {
        self.shared.lock().requests.clone()
    }

    pub fn stats(&self) -> KubeApiStats {
        self.shared.lock().stats.clone()
    }
}

impl Drop for KubeApi {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
