//! The table of settings: for each one its env name, TOML key, flag and default text.
//!
//! This is the single list the layers (env, file, flags), the error messages and the plan are
//! built from. The TOML key is the env name lowercased without a `LOGSHIP_` prefix; the flag is
//! the TOML key with `-` for `_`.

use std::fmt;

/// One setting, named by its environment variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Key {
    /// `LOG_NODE_COUNT`
    LogNodeCount,
    /// `IN_CLUSTER_ES`
    InClusterEs,
    /// `ELK_SERVICE_HOSTS`
    ElkServiceHosts,
    /// `ES_SERVER`
    EsServer,
    /// `FLUENT_FORWARD_SERVER`
    FluentForwardServer,
    /// `KEEP_LOG_DAYS`
    KeepLogDays,
    /// `KUBE_LOG_LEVEL`
    KubeLogLevel,
    /// `LOGSHIP_LOG`
    Log,
    /// `LOGSHIP_LOG_FORMAT`
    LogFormat,
    /// `NODE_NAME`
    NodeName,
    /// `LOGSHIP_INPUT_GLOB`
    InputGlob,
    /// `LOGSHIP_STATE_DIR`
    StateDir,
    /// `LOGSHIP_HTTP_ADDR`
    HttpAddr,
    /// `LOGSHIP_OUTPUT`
    Output,
    /// `LOGSHIP_BATCH_BYTES`
    BatchBytes,
    /// `LOGSHIP_FLUSH_INTERVAL`
    FlushInterval,
    /// `LOGSHIP_ES_CONCURRENCY`
    EsConcurrency,
    /// `LOGSHIP_ES_USERNAME`
    EsUsername,
    /// `LOGSHIP_ES_PASSWORD`
    EsPassword,
    /// `LOGSHIP_ES_PASSWORD_FILE`
    EsPasswordFile,
    /// `LOGSHIP_ES_API_KEY`
    EsApiKey,
    /// `LOGSHIP_ES_API_KEY_FILE`
    EsApiKeyFile,
    /// `LOGSHIP_ES_CA_FILE`
    EsCaFile,
    /// `LOGSHIP_ES_INSECURE_SKIP_VERIFY`
    EsInsecureSkipVerify,
    /// `LOGSHIP_ES_CLIENT_CERT_FILE`
    EsClientCertFile,
    /// `LOGSHIP_ES_CLIENT_KEY_FILE`
    EsClientKeyFile,
    /// `LOGSHIP_REPLACE_DOTS`
    ReplaceDots,
    /// `LOGSHIP_DOC_IDS`
    DocIds,
    /// `LOGSHIP_MERGE_JSON_LOG`
    MergeJsonLog,
    /// `LOGSHIP_MAX_LINE_BYTES`
    MaxLineBytes,
    /// `LOGSHIP_MEM_BUF_LIMIT`
    MemBufLimit,
    /// `LOGSHIP_READ_FROM`
    ReadFrom,
    /// `LOGSHIP_EXIT_ON_EOF`
    ExitOnEof,
    /// `LOGSHIP_RETRY_LIMIT`
    RetryLimit,
    /// `LOGSHIP_REFRESH_INTERVAL`
    RefreshInterval,
    /// `LOGSHIP_JOURNALD`
    Journald,
    /// `LOGSHIP_JOURNALD_UNITS`
    JournaldUnits,
    /// `LOGSHIP_JOURNAL_DIR`
    JournalDir,
    /// `LOGSHIP_KUBE_METADATA`
    KubeMetadata,
    /// `LOGSHIP_KUBECONFIG`
    Kubeconfig,
    /// `LOGSHIP_KUBE_WAIT`
    KubeWait,
    /// `LOGSHIP_KUBE_LABELS`
    KubeLabels,
    /// `LOGSHIP_KUBE_ANNOTATIONS`
    KubeAnnotations,
    /// `LOGSHIP_KUBE_DELETE_DELAY`
    KubeDeleteDelay,
    /// `LOGSHIP_FORWARD_LISTEN`
    ForwardListen,
    /// `LOGSHIP_FORWARD_ACK`
    ForwardAck,
    /// `LOGSHIP_FORWARD_COMPRESS`
    ForwardCompress,
    /// `LOGSHIP_FORWARD_SHARED_KEY`
    ForwardSharedKey,
    /// `LOGSHIP_FORWARD_SHARED_KEY_FILE`
    ForwardSharedKeyFile,
    /// `LOGSHIP_FORWARD_TLS`
    ForwardTls,
    /// `LOGSHIP_FORWARD_TLS_CA_FILE`
    ForwardTlsCaFile,
    /// `LOGSHIP_FORWARD_TLS_INSECURE_SKIP_VERIFY`
    ForwardTlsInsecureSkipVerify,
    /// `LOGSHIP_FORWARD_TLS_CLIENT_CERT_FILE`
    ForwardTlsClientCertFile,
    /// `LOGSHIP_FORWARD_TLS_CLIENT_KEY_FILE`
    ForwardTlsClientKeyFile,
    /// `LOGSHIP_FORWARD_SPOOL_LIMIT`
    ForwardSpoolLimit,
    /// `LOGSHIP_FORWARD_TIMEOUT`
    ForwardTimeout,
    /// `LOGSHIP_KUBELET_METRICS`
    KubeletMetrics,
    /// `LOGSHIP_METRICS_INTERVAL`
    MetricsInterval,
    /// `NODE_IP`
    NodeIp,
    /// `LOGSHIP_KUBELET_URL`
    KubeletUrl,
    /// `LOGSHIP_KUBELET_TOKEN_FILE`
    KubeletTokenFile,
    /// `LOGSHIP_KUBELET_CA_FILE`
    KubeletCaFile,
    /// `LOGSHIP_KUBELET_INSECURE_SKIP_VERIFY`
    KubeletInsecureSkipVerify,
    /// `LOGSHIP_CLUSTER_NAME`
    ClusterName,
}

/// The environment variable that names the config file (the `--config` flag wins over it).
pub const CONFIG_ENV: &str = "LOGSHIP_CONFIG";

impl Key {
    /// Every setting, in the order they are documented.
    pub const ALL: [Key; 64] = [
        Key::LogNodeCount,
        Key::InClusterEs,
        Key::ElkServiceHosts,
        Key::EsServer,
        Key::FluentForwardServer,
        Key::KeepLogDays,
        Key::KubeLogLevel,
        Key::Log,
        Key::LogFormat,
        Key::NodeName,
        Key::InputGlob,
        Key::StateDir,
        Key::HttpAddr,
        Key::Output,
        Key::BatchBytes,
        Key::FlushInterval,
        Key::EsConcurrency,
        Key::EsUsername,
        Key::EsPassword,
        Key::EsPasswordFile,
        Key::EsApiKey,
        Key::EsApiKeyFile,
        Key::EsCaFile,
        Key::EsInsecureSkipVerify,
        Key::EsClientCertFile,
        Key::EsClientKeyFile,
        Key::ReplaceDots,
        Key::DocIds,
        Key::MergeJsonLog,
        Key::MaxLineBytes,
        Key::MemBufLimit,
        Key::ReadFrom,
        Key::ExitOnEof,
        Key::RetryLimit,
        Key::RefreshInterval,
        Key::Journald,
        Key::JournaldUnits,
        Key::JournalDir,
        Key::KubeMetadata,
        Key::Kubeconfig,
        Key::KubeWait,
        Key::KubeLabels,
        Key::KubeAnnotations,
        Key::KubeDeleteDelay,
        Key::ForwardListen,
        Key::ForwardAck,
        Key::ForwardCompress,
        Key::ForwardSharedKey,
        Key::ForwardSharedKeyFile,
        Key::ForwardTls,
        Key::ForwardTlsCaFile,
        Key::ForwardTlsInsecureSkipVerify,
        Key::ForwardTlsClientCertFile,
        Key::ForwardTlsClientKeyFile,
        Key::ForwardSpoolLimit,
        Key::ForwardTimeout,
        Key::KubeletMetrics,
        Key::MetricsInterval,
        Key::NodeIp,
        Key::KubeletUrl,
        Key::KubeletTokenFile,
        Key::KubeletCaFile,
        Key::KubeletInsecureSkipVerify,
        Key::ClusterName,
    ];

    /// The environment variable name, e.g. `KEEP_LOG_DAYS`.
    pub fn env(self) -> &'static str {
        self.spec().0
    }

    /// The key in the TOML file, e.g. `keep_log_days`.
    pub fn toml_key(self) -> &'static str {
        self.spec().1
    }

    /// The long flag, with its dashes, e.g. `--keep-log-days`.
    pub fn flag(self) -> &'static str {
        self.spec().2
    }

    /// The default as text (empty when the setting has no default), as `--help` shows it.
    pub fn default_text(self) -> &'static str {
        self.spec().3
    }

    /// Whether the value is a comma-separated list (a TOML array is accepted too).
    pub fn is_list(self) -> bool {
        matches!(
            self,
            Key::ElkServiceHosts | Key::InputGlob | Key::JournaldUnits
        )
    }

    /// Looks a setting up by its TOML key.
    pub fn from_toml_key(key: &str) -> Option<Key> {
        Key::ALL.into_iter().find(|k| k.toml_key() == key)
    }

    fn spec(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Key::LogNodeCount => ("LOG_NODE_COUNT", "log_node_count", "--log-node-count", "0"),
            Key::InClusterEs => (
                "IN_CLUSTER_ES",
                "in_cluster_es",
                "--in-cluster-es",
                "elasticsearch-logging.kube-system:9200",
            ),
            Key::ElkServiceHosts => (
                "ELK_SERVICE_HOSTS",
                "elk_service_hosts",
                "--elk-service-hosts",
                "",
            ),
            Key::EsServer => ("ES_SERVER", "es_server", "--es-server", ""),
            Key::FluentForwardServer => (
                "FLUENT_FORWARD_SERVER",
                "fluent_forward_server",
                "--fluent-forward-server",
                "",
            ),
            Key::KeepLogDays => ("KEEP_LOG_DAYS", "keep_log_days", "--keep-log-days", "3"),
            Key::KubeLogLevel => ("KUBE_LOG_LEVEL", "kube_log_level", "--kube-log-level", "0"),
            Key::Log => ("LOGSHIP_LOG", "log", "--log", ""),
            Key::LogFormat => ("LOGSHIP_LOG_FORMAT", "log_format", "--log-format", "text"),
            Key::NodeName => ("NODE_NAME", "node_name", "--node-name", ""),
            Key::InputGlob => (
                "LOGSHIP_INPUT_GLOB",
                "input_glob",
                "--input-glob",
                "/var/log/containers/*.log",
            ),
            Key::StateDir => (
                "LOGSHIP_STATE_DIR",
                "state_dir",
                "--state-dir",
                "/var/lib/logship",
            ),
            Key::HttpAddr => (
                "LOGSHIP_HTTP_ADDR",
                "http_addr",
                "--http-addr",
                "0.0.0.0:2020",
            ),
            Key::Output => ("LOGSHIP_OUTPUT", "output", "--output", "elasticsearch"),
            Key::BatchBytes => (
                "LOGSHIP_BATCH_BYTES",
                "batch_bytes",
                "--batch-bytes",
                "2MiB",
            ),
            Key::FlushInterval => (
                "LOGSHIP_FLUSH_INTERVAL",
                "flush_interval",
                "--flush-interval",
                "1s",
            ),
            Key::EsConcurrency => (
                "LOGSHIP_ES_CONCURRENCY",
                "es_concurrency",
                "--es-concurrency",
                "2",
            ),
            Key::EsUsername => ("LOGSHIP_ES_USERNAME", "es_username", "--es-username", ""),
            Key::EsPassword => ("LOGSHIP_ES_PASSWORD", "es_password", "--es-password", ""),
            Key::EsPasswordFile => (
                "LOGSHIP_ES_PASSWORD_FILE",
                "es_password_file",
                "--es-password-file",
                "",
            ),
            Key::EsApiKey => ("LOGSHIP_ES_API_KEY", "es_api_key", "--es-api-key", ""),
            Key::EsApiKeyFile => (
                "LOGSHIP_ES_API_KEY_FILE",
                "es_api_key_file",
                "--es-api-key-file",
                "",
            ),
            Key::EsCaFile => ("LOGSHIP_ES_CA_FILE", "es_ca_file", "--es-ca-file", ""),
            Key::EsInsecureSkipVerify => (
                "LOGSHIP_ES_INSECURE_SKIP_VERIFY",
                "es_insecure_skip_verify",
                "--es-insecure-skip-verify",
                "false",
            ),
            Key::EsClientCertFile => (
                "LOGSHIP_ES_CLIENT_CERT_FILE",
                "es_client_cert_file",
                "--es-client-cert-file",
                "",
            ),
            Key::EsClientKeyFile => (
                "LOGSHIP_ES_CLIENT_KEY_FILE",
                "es_client_key_file",
                "--es-client-key-file",
                "",
            ),
            Key::ReplaceDots => (
                "LOGSHIP_REPLACE_DOTS",
                "replace_dots",
                "--replace-dots",
                "true",
            ),
            Key::DocIds => ("LOGSHIP_DOC_IDS", "doc_ids", "--doc-ids", "true"),
            Key::MergeJsonLog => (
                "LOGSHIP_MERGE_JSON_LOG",
                "merge_json_log",
                "--merge-json-log",
                "true",
            ),
            Key::MaxLineBytes => (
                "LOGSHIP_MAX_LINE_BYTES",
                "max_line_bytes",
                "--max-line-bytes",
                "1MiB",
            ),
            Key::MemBufLimit => (
                "LOGSHIP_MEM_BUF_LIMIT",
                "mem_buf_limit",
                "--mem-buf-limit",
                "32MiB",
            ),
            Key::ReadFrom => ("LOGSHIP_READ_FROM", "read_from", "--read-from", "head"),
            Key::ExitOnEof => (
                "LOGSHIP_EXIT_ON_EOF",
                "exit_on_eof",
                "--exit-on-eof",
                "false",
            ),
            Key::RetryLimit => (
                "LOGSHIP_RETRY_LIMIT",
                "retry_limit",
                "--retry-limit",
                "forever",
            ),
            Key::RefreshInterval => (
                "LOGSHIP_REFRESH_INTERVAL",
                "refresh_interval",
                "--refresh-interval",
                "1s",
            ),
            Key::Journald => ("LOGSHIP_JOURNALD", "journald", "--journald", "false"),
            Key::JournaldUnits => (
                "LOGSHIP_JOURNALD_UNITS",
                "journald_units",
                "--journald-units",
                "docker.service,kubelet.service",
            ),
            Key::JournalDir => ("LOGSHIP_JOURNAL_DIR", "journal_dir", "--journal-dir", ""),
            Key::KubeMetadata => (
                "LOGSHIP_KUBE_METADATA",
                "kube_metadata",
                "--kube-metadata",
                "true",
            ),
            Key::Kubeconfig => ("LOGSHIP_KUBECONFIG", "kubeconfig", "--kubeconfig", ""),
            Key::KubeWait => ("LOGSHIP_KUBE_WAIT", "kube_wait", "--kube-wait", "2s"),
            Key::KubeLabels => (
                "LOGSHIP_KUBE_LABELS",
                "kube_labels",
                "--kube-labels",
                "true",
            ),
            Key::KubeAnnotations => (
                "LOGSHIP_KUBE_ANNOTATIONS",
                "kube_annotations",
                "--kube-annotations",
                "true",
            ),
            Key::KubeDeleteDelay => (
                "LOGSHIP_KUBE_DELETE_DELAY",
                "kube_delete_delay",
                "--kube-delete-delay",
                "60s",
            ),
            Key::ForwardListen => (
                "LOGSHIP_FORWARD_LISTEN",
                "forward_listen",
                "--forward-listen",
                "0.0.0.0:24224",
            ),
            Key::ForwardAck => (
                "LOGSHIP_FORWARD_ACK",
                "forward_ack",
                "--forward-ack",
                "true",
            ),
            Key::ForwardCompress => (
                "LOGSHIP_FORWARD_COMPRESS",
                "forward_compress",
                "--forward-compress",
                "none",
            ),
            Key::ForwardSharedKey => (
                "LOGSHIP_FORWARD_SHARED_KEY",
                "forward_shared_key",
                "--forward-shared-key",
                "",
            ),
            Key::ForwardSharedKeyFile => (
                "LOGSHIP_FORWARD_SHARED_KEY_FILE",
                "forward_shared_key_file",
                "--forward-shared-key-file",
                "",
            ),
            Key::ForwardTls => (
                "LOGSHIP_FORWARD_TLS",
                "forward_tls",
                "--forward-tls",
                "false",
            ),
            Key::ForwardTlsCaFile => (
                "LOGSHIP_FORWARD_TLS_CA_FILE",
                "forward_tls_ca_file",
                "--forward-tls-ca-file",
                "",
            ),
            Key::ForwardTlsInsecureSkipVerify => (
                "LOGSHIP_FORWARD_TLS_INSECURE_SKIP_VERIFY",
                "forward_tls_insecure_skip_verify",
                "--forward-tls-insecure-skip-verify",
                "false",
            ),
            Key::ForwardTlsClientCertFile => (
                "LOGSHIP_FORWARD_TLS_CLIENT_CERT_FILE",
                "forward_tls_client_cert_file",
                "--forward-tls-client-cert-file",
                "",
            ),
            Key::ForwardTlsClientKeyFile => (
                "LOGSHIP_FORWARD_TLS_CLIENT_KEY_FILE",
                "forward_tls_client_key_file",
                "--forward-tls-client-key-file",
                "",
            ),
            Key::ForwardSpoolLimit => (
                "LOGSHIP_FORWARD_SPOOL_LIMIT",
                "forward_spool_limit",
                "--forward-spool-limit",
                "256MiB",
            ),
            Key::ForwardTimeout => (
                "LOGSHIP_FORWARD_TIMEOUT",
                "forward_timeout",
                "--forward-timeout",
                "30s",
            ),
            Key::KubeletMetrics => (
                "LOGSHIP_KUBELET_METRICS",
                "kubelet_metrics",
                "--kubelet-metrics",
                "true",
            ),
            Key::MetricsInterval => (
                "LOGSHIP_METRICS_INTERVAL",
                "metrics_interval",
                "--metrics-interval",
                "60s",
            ),
            Key::NodeIp => ("NODE_IP", "node_ip", "--node-ip", ""),
            Key::KubeletUrl => ("LOGSHIP_KUBELET_URL", "kubelet_url", "--kubelet-url", ""),
            Key::KubeletTokenFile => (
                "LOGSHIP_KUBELET_TOKEN_FILE",
                "kubelet_token_file",
                "--kubelet-token-file",
                "/var/run/secrets/kubernetes.io/serviceaccount/token",
            ),
            Key::KubeletCaFile => (
                "LOGSHIP_KUBELET_CA_FILE",
                "kubelet_ca_file",
                "--kubelet-ca-file",
                "",
            ),
            Key::KubeletInsecureSkipVerify => (
                "LOGSHIP_KUBELET_INSECURE_SKIP_VERIFY",
                "kubelet_insecure_skip_verify",
                "--kubelet-insecure-skip-verify",
                "true",
            ),
            Key::ClusterName => (
                "LOGSHIP_CLUSTER_NAME",
                "cluster_name",
                "--cluster-name",
                "default",
            ),
        }
    }
}

impl fmt::Display for Key {
    /// The env name: settings are named by it everywhere a user reads them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.env())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_key_and_flag_follow_the_env_name() {
        for key in Key::ALL {
            let lower = key.env().to_ascii_lowercase();
            let toml = lower.strip_prefix("logship_").unwrap_or(&lower);
            assert_eq!(key.toml_key(), toml, "{key}");
            assert_eq!(key.flag(), format!("--{}", toml.replace('_', "-")), "{key}");
            assert_eq!(Key::from_toml_key(toml), Some(key));
        }
    }

    #[test]
    fn names_are_unique() {
        let mut envs: Vec<_> = Key::ALL.iter().map(|k| k.env()).collect();
        envs.sort_unstable();
        envs.dedup();
        assert_eq!(envs.len(), Key::ALL.len());
        assert_eq!(Key::from_toml_key("nope"), None);
    }
}
