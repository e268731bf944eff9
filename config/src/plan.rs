//! The human-readable plan `logship check-config` prints: which Elasticsearch and why, which
//! outputs, which inputs, the key operational values and where the settings came from. One fact
//! per line; a password is shown as `***`.

use std::fmt::Write;

use crate::endpoint::{EsEndpoint, Scheme};
use crate::key::Key;
use crate::layers::Origin;
use crate::settings::{level_filter, Settings};
use crate::values::{format_duration, Output, ReadFrom};

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

impl Settings {
    /// The resolved plan, one line per fact, for `logship check-config`.
    pub fn plan_text(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_plan(&mut out);
        out
    }

    fn write_plan(&self, out: &mut String) -> std::fmt::Result {
        match &self.config_file {
            Some(path) => writeln!(out, "config file: {}", path.display())?,
            None => writeln!(out, "config file: none")?,
        }
        match &self.output {
            Output::Elasticsearch => writeln!(out, "output: elasticsearch")?,
            other => writeln!(
                out,
                "output: {other} (the ES documents as NDJSON; no Elasticsearch)"
            )?,
        }
        match &self.es {
            Some(plan) => {
                writeln!(out, "elasticsearch: {}", plan.chosen)?;
                let n = plan.endpoints.len();
                for (i, endpoint) in plan.endpoints.iter().enumerate() {
                    if n == 1 {
                        writeln!(out, "  endpoint: {endpoint}")?;
                    } else {
                        writeln!(
                            out,
                            "  endpoint {} of {n} (fail-over order): {endpoint}",
                            i + 1
                        )?;
                    }
                }
                for note in &plan.ignored {
                    writeln!(out, "  {note}")?;
                }
                writeln!(out, "  auth: {}", self.es_auth_text(&plan.endpoints))?;
                if plan.endpoints.iter().any(|e| e.scheme() == Scheme::Https) {
                    writeln!(out, "  tls: {}", self.es_tls_text())?;
                }
                writeln!(
                    out,
                    "  logs, metrics and retention all go to this Elasticsearch"
                )?;
            }
            None => writeln!(
                out,
                "elasticsearch: not used (LOGSHIP_OUTPUT={})",
                self.output
            )?,
        }
        match &self.forward_server {
            Some(fwd) => {
                writeln!(out, "forward: {fwd} (FLUENT_FORWARD_SERVER, in addition)")?;
                let key = match (&self.forward_shared_key, &self.forward_shared_key_file) {
                    (Some(_), _) => "set (***)".to_string(),
                    (None, Some(file)) => format!("from {}", file.display()),
                    (None, None) => "none".to_string(),
                };
                writeln!(
                    out,
                    "  acks: {}; compression: {}; shared key: {key}; timeout: {}",
                    yes_no(self.forward_ack),
                    self.forward_compress,
                    format_duration(self.forward_timeout)
                )?;
                writeln!(out, "  tls: {}", self.forward_tls_text())?;
                writeln!(
                    out,
                    "  spool: {}, up to {} (beyond, the oldest forward-only records are dropped)",
                    self.state_dir.join("forward-spool").display(),
                    self.forward_spool_limit
                )?;
            }
            None => writeln!(out, "forward: none")?,
        }
        writeln!(out, "inputs: {}", self.input_globs.join(", "))?;
        writeln!(
            out,
            "  new files read from: {}; rescan every {}; exit at end of files: {}",
            self.read_from,
            format_duration(self.refresh_interval),
            yes_no(self.exit_on_eof)
        )?;
        writeln!(
            out,
            "  longest record: {}; memory buffer per input: {}",
            self.max_line_bytes, self.mem_buf_limit
        )?;
        match self.forward_listen {
            Some(addr) => writeln!(
                out,
                "forward input: {addr} (fluent forward protocol; acks once the outputs have the records)"
            )?,
            None => writeln!(out, "forward input: off")?,
        }
        self.write_journald(out)?;
        writeln!(
            out,
            "records: merge JSON log: {}; replace dots in keys: {}; deterministic _id: {}",
            yes_no(self.merge_json_log),
            yes_no(self.replace_dots),
            yes_no(self.doc_ids)
        )?;
        let retries = match self.retry_limit {
            None => "forever".to_string(),
            Some(n) => format!("up to {n}"),
        };
        writeln!(
            out,
            "batches: up to {} or every {}; {} in flight; retries: {retries}",
            self.batch_bytes,
            format_duration(self.flush_interval),
            self.es_concurrency
        )?;
        match (&self.es, self.keep_log_days.disabled()) {
            (None, _) => writeln!(out, "retention: none (no Elasticsearch)")?,
            (Some(_), true) => writeln!(out, "retention: off (KEEP_LOG_DAYS=0, never delete)")?,
            (Some(_), false) => writeln!(
                out,
                "retention: keep {} days of logstash-* and heapster-* indices",
                self.keep_log_days
            )?,
        }
        writeln!(out, "state dir: {}", self.state_dir.display())?;
        writeln!(
            out,
            "http: {} (/metrics, /healthz, /readyz)",
            self.http_addr
        )?;
        match &self.log_filter {
            Some(filter) => writeln!(out, "own log: {filter} (LOGSHIP_LOG)")?,
            None => writeln!(
                out,
                "own log: {} (KUBE_LOG_LEVEL={})",
                level_filter(self.kube_log_level),
                self.kube_log_level
            )?,
        }
        match &self.node_name {
            Some(name) => writeln!(out, "node: {name}")?,
            None => writeln!(out, "node: unknown (NODE_NAME not set)")?,
        }
        self.write_kube_metadata(out)?;
        self.write_kubelet_metrics(out)?;
        self.write_sources(out)
    }

    /// How the agent authenticates to Elasticsearch; never a password or key itself.
    fn es_auth_text(&self, endpoints: &[EsEndpoint]) -> String {
        match (&self.es_api_key, &self.es_api_key_file) {
            (Some(_), _) => return "API key (LOGSHIP_ES_API_KEY, ***)".to_string(),
            (None, Some(file)) => return format!("API key from {}", file.display()),
            (None, None) => {}
        }
        if let Some(user) = &self.es_username {
            let password = match (&self.es_password, &self.es_password_file) {
                (Some(_), _) => "***".to_string(),
                (None, Some(file)) => format!("from {}", file.display()),
                (None, None) => "none".to_string(),
            };
            return format!("basic, user {user}, password {password}");
        }
        if endpoints.iter().any(|e| e.username().is_some()) {
            return "basic, user and password from the endpoint URL (***)".to_string();
        }
        "none".to_string()
    }

    fn es_tls_text(&self) -> String {
        tls_text(
            self.es_insecure_skip_verify
                .then_some(Key::EsInsecureSkipVerify),
            self.es_ca_file.as_deref(),
            self.es_client_cert_file.as_deref(),
        )
    }

    fn forward_tls_text(&self) -> String {
        if !self.forward_tls {
            return "off (LOGSHIP_FORWARD_TLS=false)".to_string();
        }
        tls_text(
            self.forward_tls_insecure_skip_verify
                .then_some(Key::ForwardTlsInsecureSkipVerify),
            self.forward_tls_ca_file.as_deref(),
            self.forward_tls_client_cert_file.as_deref(),
        )
    }

    fn write_journald(&self, out: &mut String) -> std::fmt::Result {
        if !self.journald {
            return writeln!(out, "journald: off (LOGSHIP_JOURNALD=false)");
        }
        let from = match &self.journal_dir {
            Some(dir) => format!("the journal in {}", dir.display()),
            None => "the system journal".to_string(),
        };
        writeln!(
            out,
            "journald: units {} from {from}, through journalctl; tag host.<unit>",
            self.journald_units.join(", ")
        )?;
        let start = match self.read_from {
            ReadFrom::Head => "the oldest entry",
            ReadFrom::Tail => "new entries only",
        };
        let then = match self.output {
            Output::Elasticsearch => "later starts go on after the saved cursor",
            Output::Stdout | Output::File(_) => "no cursor is saved without Elasticsearch",
        };
        writeln!(
            out,
            "  first start reads {start} (LOGSHIP_READ_FROM={}); {then}",
            self.read_from
        )
    }

    fn write_kube_metadata(&self, out: &mut String) -> std::fmt::Result {
        let Some(node) = self.kube_metadata_active() else {
            let why = if self.kube_metadata {
                "NODE_NAME not set"
            } else {
                "LOGSHIP_KUBE_METADATA=false"
            };
            return writeln!(
                out,
                "kubernetes metadata: off ({why}); pod fields from file names only"
            );
        };
        match &self.kubeconfig {
            Some(path) => writeln!(
                out,
                "kubernetes metadata: pods of node {node}, from the API of kubeconfig {}",
                path.display()
            )?,
            None => writeln!(
                out,
                "kubernetes metadata: pods of node {node}, from the API (in-cluster service account)"
            )?,
        }
        writeln!(
            out,
            "  unknown pods waited for: {}; labels: {}; annotations: {}; deleted pods kept: {}",
            format_duration(self.kube_wait),
            yes_no(self.kube_labels),
            yes_no(self.kube_annotations),
            format_duration(self.kube_delete_delay)
        )
    }

    fn write_kubelet_metrics(&self, out: &mut String) -> std::fmt::Result {
        let Some(url) = self.kubelet_metrics_url() else {
            let why = if self.kubelet_metrics {
                "neither NODE_IP nor LOGSHIP_KUBELET_URL set"
            } else {
                "LOGSHIP_KUBELET_METRICS=false"
            };
            return writeln!(out, "kubelet metrics: off ({why})");
        };
        writeln!(
            out,
            "kubelet metrics: {url}/stats/summary every {} to heapster-{{cpu,memory,network,filesystem}}-YYYY.MM.DD, cluster_name {}",
            format_duration(self.metrics_interval),
            self.cluster_name
        )?;
        let tls = match (&self.kubelet_ca_file, self.kubelet_insecure_skip_verify) {
            (Some(ca), _) => format!("certificate verified against {}", ca.display()),
            (None, true) => {
                "certificate not verified (kubelets serve self-signed ones)".to_string()
            }
            (None, false) => format!(
                "certificate verified against the service account's CA {}",
                crate::settings::SERVICE_ACCOUNT_CA
            ),
        };
        writeln!(
            out,
            "  token from {}; {tls}",
            self.kubelet_token_file.display()
        )
    }

    /// `set by env: A, B`, `set by file F: a, b`, `set by flags: --a`; `set: nothing, all defaults`.
    fn write_sources(&self, out: &mut String) -> std::fmt::Result {
        let mut env = Vec::new();
        let mut file = Vec::new();
        let mut flags = Vec::new();
        for key in Key::ALL {
            match self.sources.origin(key) {
                Origin::Default => {}
                Origin::Env => env.push(key.env()),
                Origin::File(_) => file.push(key.toml_key()),
                Origin::Flag => flags.push(key.flag()),
            }
        }
        if env.is_empty() && file.is_empty() && flags.is_empty() {
            return writeln!(out, "set: nothing, all defaults");
        }
        if !env.is_empty() {
            writeln!(out, "set by env: {}", env.join(", "))?;
        }
        if let (false, Some(path)) = (file.is_empty(), &self.config_file) {
            writeln!(out, "set by file {}: {}", path.display(), file.join(", "))?;
        }
        if !flags.is_empty() {
            writeln!(out, "set by flags: {}", flags.join(", "))?;
        }
        Ok(())
    }
}

/// How a TLS client checks the server, and the certificate it shows.
fn tls_text(
    insecure: Option<Key>,
    ca_file: Option<&std::path::Path>,
    client_cert: Option<&std::path::Path>,
) -> String {
    let mut text = match (insecure, ca_file) {
        (Some(key), _) => format!("server certificate NOT verified ({key}=true)"),
        (None, Some(ca)) => format!(
            "server verified against the system roots and {}",
            ca.display()
        ),
        (None, None) => "server verified against the system roots".to_string(),
    };
    if let Some(cert) = client_cert {
        text.push_str(&format!("; client certificate {}", cert.display()));
    }
    text
}

#[cfg(test)]
mod tests;
