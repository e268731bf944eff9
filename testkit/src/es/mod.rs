//! An Elasticsearch double for end-to-end tests: the `_bulk` path a log shipper uses and the
//! index APIs a retention job uses (create, list, aliases, settings, delete, and the cluster
//! state and stats Curator reads), with the exact bodies, status codes and quirks of five server
//! versions, exact accounting of what arrived, a log of the requests, and deterministic faults.
//!
//! It runs on its own thread with its own tokio runtime, so synchronous tests can start it, point
//! the agent at [`EsDouble::url`], and block in [`EsDouble::wait_for_docs`].

mod bulk;
mod cluster;
mod control;
mod document;
mod error;
mod faults;
mod indices;
mod json;
mod reply;
mod resolve;
mod routes;
mod server;
mod state;
mod store;
mod versions;
mod write;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Deserialize;
use tokio::sync::{oneshot, watch};

pub use faults::Faults;

pub use store::{EsStats, IndexStats, RequestRecord, StoredDoc};
pub use versions::EsVersion;

use faults::FaultState;
use store::Store;
use versions::Profile;

/// 100 MiB, ES's default `http.max_content_length`.
pub const DEFAULT_MAX_CONTENT_LENGTH: usize = 100 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct EsOptions {
    pub version: EsVersion,
    /// `None`: a free port.
    pub port: Option<u16>,
    /// Bodies longer than this (on the wire or once inflated) get 413 with an empty body.
    pub max_content_length: usize,
    /// Faults active from the first request.
    pub faults: Faults,
    /// Seed for generated `_id`s and index uuids; `None`: random.
    pub id_seed: Option<u64>,
    /// Serve https with this configuration (see [`crate::tls::TestPki`]); `None`: plain http.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Require credentials, as ES with security on: anything else gets 401 with ES's
    /// `security_exception` body and `WWW-Authenticate`. `None`: no authentication.
    pub auth: Option<EsAuth>,
}

/// The credentials the double accepts (either kind, when both are set).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EsAuth {
    /// `Authorization: Basic base64(user:password)`.
    pub basic: Option<(String, String)>,
    /// `Authorization: ApiKey <key>`.
    pub api_key: Option<String>,
}

impl EsAuth {
    pub fn basic(user: &str, password: &str) -> EsAuth {
        EsAuth {
            basic: Some((user.to_string(), password.to_string())),
            api_key: None,
        }
    }

    pub fn api_key(key: &str) -> EsAuth {
        EsAuth {
            basic: None,
            api_key: Some(key.to_string()),
        }
    }
}

impl Default for EsOptions {
    fn default() -> EsOptions {
        EsOptions {
            version: EsVersion::default(),
            port: None,
            max_content_length: DEFAULT_MAX_CONTENT_LENGTH,
            faults: Faults::default(),
            id_seed: None,
            tls: None,
            auth: None,
        }
    }
}

impl EsOptions {
    pub fn version(version: EsVersion) -> EsOptions {
        EsOptions {
            version,
            ..EsOptions::default()
        }
    }
}

pub(crate) struct State {
    pub store: Store,
    pub faults: FaultState,
}

pub(crate) struct Shared {
    pub prof: Profile,
    pub max_content_length: usize,
    pub auth: Option<EsAuth>,
    state: Mutex<State>,
    /// Signalled after every bulk and reset, for the `wait_*` methods.
    pub changed: Condvar,
    /// Mirrors `faults.down`; connections watch it to reset themselves the moment it turns on.
    pub down: watch::Sender<bool>,
}

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain counters behind, still worth reading.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn with_stats(&self, f: impl FnOnce(&mut EsStats)) {
        f(&mut self.lock().store.stats);
    }

    pub(crate) fn set_faults(&self, faults: Faults) {
        let down = faults.down;
        self.lock().faults.set(faults);
        self.set_down(down);
    }

    /// Connections hear only real changes, so a repeated `down: true` resets nothing new.
    pub(crate) fn set_down(&self, down: bool) {
        self.down
            .send_if_modified(|cur| std::mem::replace(cur, down) != down);
    }

    pub(crate) fn record(&self, method: &str, path: &str, query: &str, status: Option<u16>) {
        self.lock().store.log_request(RequestRecord {
            method: method.to_string(),
            path: path.to_string(),
            query: query.to_string(),
            status,
        });
    }

    /// Creates the indices, replacing any of the same name; all or nothing.
    pub(crate) fn seed(&self, indices: &[SeedIndex]) -> Result<(), String> {
        let mut st = self.lock();
        let existing = st.store.alias_map();
        for (i, ix) in indices.iter().enumerate() {
            if let Some(problem) = self.prof.index_name_problem(&ix.name) {
                return Err(format!("index [{}]: {problem}", ix.name));
            }
            if existing.contains_key(&ix.name) {
                return Err(format!("index [{}] clashes with an alias", ix.name));
            }
            for a in &ix.aliases {
                let clash = st.store.indices.contains_key(a)
                    || indices
                        .iter()
                        .enumerate()
                        .any(|(j, o)| j != i && o.name == *a);
                if clash {
                    return Err(format!("alias [{a}] clashes with an index of that name"));
                }
            }
        }
        for ix in indices {
            st.store.create_index_at(&ix.name, ix.created_ms);
            if let Some(stored) = st.store.indices.get_mut(&ix.name) {
                stored.closed = ix.closed;
                for a in &ix.aliases {
                    stored
                        .aliases
                        .insert(a.clone(), json::Json::Obj(Vec::new()));
                }
            }
        }
        drop(st);
        self.changed.notify_all();
        Ok(())
    }

    pub(crate) fn reset(&self, faults_too: bool) {
        self.lock().store.clear();
        if faults_too {
            self.set_faults(Faults::default());
        }
        self.changed.notify_all();
    }

    fn wait_until(&self, timeout: Duration, mut done: impl FnMut(&State) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.lock();
        loop {
            if done(&st) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            st = match self.changed.wait_timeout(st, deadline - now) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
    }
}

/// An index to create directly, so a test can start from a cluster of a given shape (as
/// `POST /_double/seed` does with a JSON list of these).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedIndex {
    #[serde(rename = "index")]
    pub name: String,
    /// Creation date, milliseconds since the epoch; `None`: now.
    #[serde(default, rename = "creation_date")]
    pub created_ms: Option<u64>,
    /// Aliases pointing at this index (no properties).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Closed: listed with status `close`, no stats, no writes.
    #[serde(default)]
    pub closed: bool,
}

impl SeedIndex {
    pub fn new(name: impl Into<String>) -> SeedIndex {
        SeedIndex {
            name: name.into(),
            ..SeedIndex::default()
        }
    }

    pub fn created_ms(mut self, ms: u64) -> SeedIndex {
        self.created_ms = Some(ms);
        self
    }

    pub fn alias(mut self, alias: impl Into<String>) -> SeedIndex {
        self.aliases.push(alias.into());
        self
    }

    pub fn closed(mut self) -> SeedIndex {
        self.closed = true;
        self
    }
}

/// A running double. Dropping it stops the server and closes its connections.
pub struct EsDouble {
    addr: SocketAddr,
    https: bool,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl EsDouble {
    /// Binds 127.0.0.1 (never another interface) and starts serving.
    pub fn start(opts: EsOptions) -> anyhow::Result<EsDouble> {
        let port = opts.port.unwrap_or(0);
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))
            .with_context(|| format!("binding 127.0.0.1:{port}"))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            prof: Profile::new(opts.version),
            max_content_length: opts.max_content_length,
            auth: opts.auth.clone(),
            state: Mutex::new(State {
                store: Store::new(opts.id_seed),
                faults: FaultState::new(opts.faults.clone()),
            }),
            changed: Condvar::new(),
            down: watch::Sender::new(opts.faults.down),
        });
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("es-double-worker")
            .enable_all()
            .build()
            .context("building the es-double runtime")?;
        let (stop_tx, stop_rx) = oneshot::channel();
        let sh = shared.clone();
        let tls = opts.tls.clone().map(tokio_rustls::TlsAcceptor::from);
        let thread = std::thread::Builder::new()
            .name("es-double".into())
            .spawn(move || {
                rt.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => server::serve(l, sh, tls, stop_rx).await,
                        Err(e) => eprintln!("es-double: cannot use the listener: {e}"),
                    }
                });
                rt.shutdown_timeout(Duration::from_secs(2));
            })?;
        Ok(EsDouble {
            https: opts.tls.is_some(),
            addr,
            shared,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (`https://` when serving TLS), no trailing slash.
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    pub fn version(&self) -> EsVersion {
        self.shared.prof.version
    }

    pub fn stats(&self) -> EsStats {
        self.shared.lock().store.snapshot(&self.shared.prof)
    }

    /// Every document held now, by index name, then in the order their current versions arrived.
    pub fn docs(&self) -> Vec<StoredDoc> {
        self.shared.lock().store.docs(None)
    }

    pub fn docs_in(&self, index: &str) -> Vec<StoredDoc> {
        self.shared.lock().store.docs(Some(&[index.to_string()]))
    }

    /// Creates the indices (replacing any of the same name), or none of them if a name is one
    /// ES refuses or an alias clashes with an index.
    pub fn seed(&self, indices: &[SeedIndex]) -> anyhow::Result<()> {
        match self.shared.seed(indices) {
            Ok(()) => Ok(()),
            Err(e) => bail!("seeding the ES double: {e}"),
        }
    }

    /// The names of the indices held now, open and closed, in name order.
    pub fn index_names(&self) -> Vec<String> {
        self.shared.lock().store.indices.keys().cloned().collect()
    }

    /// Each alias with the indices it points to, in name order.
    pub fn aliases(&self) -> BTreeMap<String, Vec<String>> {
        self.shared.lock().store.alias_map()
    }

    /// The requests answered (or reset) since start or the last reset, oldest first; control
    /// requests are not logged, and only the latest 10,000 are kept.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.lock().store.requests.iter().cloned().collect()
    }

    /// Forgets indices, documents and counters, and clears the faults.
    pub fn reset(&self) {
        self.shared.reset(true);
    }

    /// Replaces the fault settings (counters start over; the ratio RNG is reseeded from `seed`).
    pub fn set_faults(&self, faults: Faults) {
        self.shared.set_faults(faults);
    }

    /// The fault settings now, with the counters as far as they have run down.
    pub fn faults(&self) -> Faults {
        self.shared.lock().faults.faults.clone()
    }

    /// Waits until at least `n` documents are held (distinct docs, all indices).
    pub fn wait_for_docs(&self, n: usize, timeout: Duration) -> bool {
        self.shared
            .wait_until(timeout, |st| st.store.distinct_docs() >= n as u64)
    }

    /// Waits until `pred` holds for the stats; checked after every bulk request.
    pub fn wait_until(&self, timeout: Duration, mut pred: impl FnMut(&EsStats) -> bool) -> bool {
        let prof = &self.shared.prof;
        self.shared
            .wait_until(timeout, |st| pred(&st.store.snapshot(prof)))
    }
}

impl Drop for EsDouble {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
