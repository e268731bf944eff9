//! The resolved, typed settings the agent runs with.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::destination::EsPlan;
use crate::endpoint::HostPort;
use crate::key::Key;
use crate::layers::Origin;
use crate::values::{ByteSize, ForwardCompress, KeepLogDays, Output, ReadFrom, Secret};

/// Every setting, parsed and validated. Built by [`crate::load`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The Elasticsearch for logs, metrics and retention; `None` when `output` is stdout/file.
    pub es: Option<EsPlan>,
    /// `FLUENT_FORWARD_SERVER`: a fluent forward server to send to as well.
    pub forward_server: Option<HostPort>,
    /// `KEEP_LOG_DAYS`.
    pub keep_log_days: KeepLogDays,
    /// `KUBE_LOG_LEVEL`, 0 to 10.
    pub kube_log_level: u8,
    /// `LOGSHIP_LOG`: a tracing filter for the agent's own log.
    pub log_filter: Option<String>,
    /// `LOGSHIP_LOG_FORMAT=json`: the agent's own log as one JSON object per line.
    pub log_json: bool,
    /// `NODE_NAME`.
    pub node_name: Option<String>,
    /// `LOGSHIP_INPUT_GLOB`: never empty; each is a valid glob.
    pub input_globs: Vec<String>,
    /// `LOGSHIP_STATE_DIR`.
    pub state_dir: PathBuf,
    /// `LOGSHIP_HTTP_ADDR` (port 0 is allowed: the system picks one).
    pub http_addr: SocketAddr,
    /// `LOGSHIP_OUTPUT`.
    pub output: Output,
    /// `LOGSHIP_BATCH_BYTES`, 1KiB to 100MiB.
    pub batch_bytes: ByteSize,
    /// `LOGSHIP_FLUSH_INTERVAL`, 10ms to 60s.
    pub flush_interval: Duration,
    /// `LOGSHIP_ES_CONCURRENCY`, 1 to 64.
    pub es_concurrency: usize,
    /// `LOGSHIP_REPLACE_DOTS`.
    pub replace_dots: bool,
    /// `LOGSHIP_DOC_IDS`.
    pub doc_ids: bool,
    /// `LOGSHIP_MERGE_JSON_LOG`.
    pub merge_json_log: bool,
    /// `LOGSHIP_MAX_LINE_BYTES`, 1KiB to 64MiB, and at most `mem_buf_limit`.
    pub max_line_bytes: ByteSize,
    /// `LOGSHIP_MEM_BUF_LIMIT`, 1MiB to 4GiB.
    pub mem_buf_limit: ByteSize,
    /// `LOGSHIP_READ_FROM`.
    pub read_from: ReadFrom,
    /// `LOGSHIP_EXIT_ON_EOF`.
    pub exit_on_eof: bool,
    /// `LOGSHIP_RETRY_LIMIT`: `None` retries forever.
    pub retry_limit: Option<u32>,
    /// `LOGSHIP_REFRESH_INTERVAL`, 10ms to 1h.
    pub refresh_interval: Duration,
    /// `LOGSHIP_JOURNALD`: ship the journald entries of `journald_units`.
    pub journald: bool,
    /// `LOGSHIP_JOURNALD_UNITS`: never empty; each a full unit name (`.service` added to a name
    /// without a suffix).
    pub journald_units: Vec<String>,
    /// `LOGSHIP_JOURNAL_DIR`: `None` reads the system journal.
    pub journal_dir: Option<PathBuf>,
    /// `LOGSHIP_KUBE_METADATA`: pod metadata from the Kubernetes API (used only with a
    /// `node_name`, see [`Settings::kube_metadata_active`]).
    pub kube_metadata: bool,
    /// `LOGSHIP_KUBECONFIG`: `None` uses the in-cluster service account.
    pub kubeconfig: Option<PathBuf>,
    /// `LOGSHIP_KUBE_WAIT`, 0 to 1m.
    pub kube_wait: Duration,
    /// `LOGSHIP_KUBE_LABELS`.
    pub kube_labels: bool,
    /// `LOGSHIP_KUBE_ANNOTATIONS`.
    pub kube_annotations: bool,
    /// `LOGSHIP_KUBE_DELETE_DELAY`, 0 to 1h.
    pub kube_delete_delay: Duration,
    /// `LOGSHIP_ES_USERNAME`: basic auth for Elasticsearch (with a password or a password file);
    /// wins over a user in the endpoint URL.
    pub es_username: Option<String>,
    /// `LOGSHIP_ES_PASSWORD` (at most one of the password and the password file is set).
    pub es_password: Option<Secret>,
    /// `LOGSHIP_ES_PASSWORD_FILE`: read by the agent at start-up.
    pub es_password_file: Option<PathBuf>,
    /// `LOGSHIP_ES_API_KEY` (at most one of the key and the key file; not with a username).
    pub es_api_key: Option<Secret>,
    /// `LOGSHIP_ES_API_KEY_FILE`: read by the agent at start-up.
    pub es_api_key_file: Option<PathBuf>,
    /// `LOGSHIP_ES_CA_FILE`: PEM CAs trusted for https endpoints, besides the system roots.
    pub es_ca_file: Option<PathBuf>,
    /// `LOGSHIP_ES_INSECURE_SKIP_VERIFY`: accept any server certificate.
    pub es_insecure_skip_verify: bool,
    /// `LOGSHIP_ES_CLIENT_CERT_FILE` (set together with the key file, or neither).
    pub es_client_cert_file: Option<PathBuf>,
    /// `LOGSHIP_ES_CLIENT_KEY_FILE`.
    pub es_client_key_file: Option<PathBuf>,
    /// `LOGSHIP_FORWARD_LISTEN`: the forward input's address; `None` when off.
    pub forward_listen: Option<SocketAddr>,
    /// `LOGSHIP_FORWARD_ACK`.
    pub forward_ack: bool,
    /// `LOGSHIP_FORWARD_COMPRESS`.
    pub forward_compress: ForwardCompress,
    /// `LOGSHIP_FORWARD_SHARED_KEY` (at most one of the key and the key file is set).
    pub forward_shared_key: Option<Secret>,
    /// `LOGSHIP_FORWARD_SHARED_KEY_FILE`: read by the agent at start-up.
    pub forward_shared_key_file: Option<PathBuf>,
    /// `LOGSHIP_FORWARD_TLS`: connect to the forward server with TLS.
    pub forward_tls: bool,
    /// `LOGSHIP_FORWARD_TLS_CA_FILE`: PEM CAs trusted besides the system roots.
    pub forward_tls_ca_file: Option<PathBuf>,
    /// `LOGSHIP_FORWARD_TLS_INSECURE_SKIP_VERIFY`: accept any server certificate.
    pub forward_tls_insecure_skip_verify: bool,
    /// `LOGSHIP_FORWARD_TLS_CLIENT_CERT_FILE` (set together with the key file, or neither).
    pub forward_tls_client_cert_file: Option<PathBuf>,
    /// `LOGSHIP_FORWARD_TLS_CLIENT_KEY_FILE`.
    pub forward_tls_client_key_file: Option<PathBuf>,
    /// `LOGSHIP_FORWARD_SPOOL_LIMIT`, 1MiB to 1TiB.
    pub forward_spool_limit: ByteSize,
    /// `LOGSHIP_FORWARD_TIMEOUT`, 100ms to 10m.
    pub forward_timeout: Duration,
    /// `LOGSHIP_KUBELET_METRICS`: the kubelet metrics source (used only with a kubelet to
    /// read, see [`Settings::kubelet_metrics_url`]).
    pub kubelet_metrics: bool,
    /// `LOGSHIP_METRICS_INTERVAL`, 1s to 1h.
    pub metrics_interval: Duration,
    /// `NODE_IP`.
    pub node_ip: Option<IpAddr>,
    /// `LOGSHIP_KUBELET_URL`: an http(s):// URL without a trailing slash.
    pub kubelet_url: Option<String>,
    /// `LOGSHIP_KUBELET_TOKEN_FILE`.
    pub kubelet_token_file: PathBuf,
    /// `LOGSHIP_KUBELET_CA_FILE`.
    pub kubelet_ca_file: Option<PathBuf>,
    /// `LOGSHIP_KUBELET_INSECURE_SKIP_VERIFY`: never true together with a CA file.
    pub kubelet_insecure_skip_verify: bool,
    /// `LOGSHIP_CLUSTER_NAME`.
    pub cluster_name: String,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    /// Where each setting's value came from.
    pub sources: Sources,
}

impl Settings {
    /// The filter for the agent's own log: `LOGSHIP_LOG` if set, else from `KUBE_LOG_LEVEL`
    /// (0 `warn`, 1 `info`, 2 or more `debug`), as DESIGN §2 says.
    pub fn effective_log_filter(&self) -> String {
        match &self.log_filter {
            Some(filter) => filter.clone(),
            None => level_filter(self.kube_log_level).to_string(),
        }
    }

    /// The node whose pods to watch, when pod metadata is on. Watching needs `NODE_NAME`: without
    /// it the agent would watch every pod of the cluster, the load on a large cluster's API
    /// server that the per-node watch exists to avoid.
    pub fn kube_metadata_active(&self) -> Option<&str> {
        self.node_name.as_deref().filter(|_| self.kube_metadata)
    }
}

/// The cluster CA mounted with the service account token: what the kubelet's certificate is
/// verified against when verification is on and no `LOGSHIP_KUBELET_CA_FILE` is set.
pub const SERVICE_ACCOUNT_CA: &str = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";

impl Settings {
    /// The CA file the kubelet's certificate is verified against; `None`: not verified.
    pub fn kubelet_ca(&self) -> Option<PathBuf> {
        match (&self.kubelet_ca_file, self.kubelet_insecure_skip_verify) {
            (Some(ca), _) => Some(ca.clone()),
            (None, true) => None,
            (None, false) => Some(PathBuf::from(SERVICE_ACCOUNT_CA)),
        }
    }

    /// The kubelet to read metrics from, when the metrics source is on: `LOGSHIP_KUBELET_URL`,
    /// else `https://NODE_IP:10250`. `None` when neither is set (a run outside a cluster).
    pub fn kubelet_metrics_url(&self) -> Option<String> {
        if !self.kubelet_metrics {
            return None;
        }
        if let Some(url) = &self.kubelet_url {
            return Some(url.clone());
        }
        self.node_ip.map(|ip| match ip {
            IpAddr::V4(v4) => format!("https://{v4}:10250"),
            IpAddr::V6(v6) => format!("https://[{v6}]:10250"),
        })
    }
}

pub(crate) fn level_filter(kube_log_level: u8) -> &'static str {
    match kube_log_level {
        0 => "warn",
        1 => "info",
        _ => "debug",
    }
}

/// Where each setting's value came from: the settings not listed have their default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sources(BTreeMap<Key, Origin>);

static DEFAULT_ORIGIN: Origin = Origin::Default;

impl Sources {
    pub(crate) fn insert(&mut self, key: Key, origin: Origin) {
        self.0.insert(key, origin);
    }

    /// Where the setting's value came from (`Origin::Default` if it was not set).
    pub fn origin(&self, key: Key) -> &Origin {
        self.0.get(&key).unwrap_or(&DEFAULT_ORIGIN)
    }

    /// The settings that were set, in `Key::ALL` order, with their origin.
    pub fn explicit(&self) -> impl Iterator<Item = (Key, &Origin)> {
        self.0.iter().map(|(k, o)| (*k, o))
    }
}
