//! The command-line layer, the strongest: `--config FILE` and one flag per setting. Every flag
//! is an `Option<String>` parsed by this crate (not by clap), so a bad flag is reported with the
//! other errors. A boolean flag given without a value means `true` (`--exit-on-eof`). Clap's
//! `env` feature is not used: the environment is a weaker layer than the file.

use std::path::PathBuf;

use crate::key::Key;
use crate::layers::{Layer, Origin, RawText};

const CLUSTER: &str = "Cluster settings";
const OPERATIONAL: &str = "Operational settings";
const KUBERNETES: &str = "Kubernetes metadata";
const FORWARD: &str = "Fluent forward protocol";
const METRICS: &str = "Kubelet metrics (heapster-* indices)";
const JOURNALD: &str = "Journald";

/// The settings flags of `logship run` and `logship check-config` (flatten into a subcommand).
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsArgs {
    /// TOML settings file: keys as the env names, lowercased, without LOGSHIP_ (flags > file > env) [env: LOGSHIP_CONFIG]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Number of in-cluster log nodes; > 0 selects the in-cluster ES [env: LOG_NODE_COUNT] [default: 0]
    #[arg(long, value_name = "N", help_heading = CLUSTER)]
    pub log_node_count: Option<String>,
    /// In-cluster ES service, host:port or URL [env: IN_CLUSTER_ES] [default: elasticsearch-logging.kube-system:9200]
    #[arg(long, value_name = "ADDR", help_heading = CLUSTER)]
    pub in_cluster_es: Option<String>,
    /// ES of the linked ELK service, comma-separated host:port or URLs, tried in order [env: ELK_SERVICE_HOSTS]
    #[arg(long, value_name = "ADDRS", help_heading = CLUSTER)]
    pub elk_service_hosts: Option<String>,
    /// Elasticsearch run by the user, host:port or URL [env: ES_SERVER]
    #[arg(long, value_name = "ADDR", help_heading = CLUSTER)]
    pub es_server: Option<String>,
    /// Fluent forward server to send logs to as well, host:port [env: FLUENT_FORWARD_SERVER]
    #[arg(long, value_name = "HOST:PORT", help_heading = CLUSTER)]
    pub fluent_forward_server: Option<String>,
    /// Days of logs to keep in ES, 0 to 30; 0 never deletes [env: KEEP_LOG_DAYS] [default: 3]
    #[arg(long, value_name = "DAYS", help_heading = CLUSTER)]
    pub keep_log_days: Option<String>,
    /// Verbosity 0 to 10 (0 warn, 1 info, 2+ debug) [env: KUBE_LOG_LEVEL] [default: 0]
    #[arg(long, value_name = "LEVEL", help_heading = CLUSTER)]
    pub kube_log_level: Option<String>,
    /// Tracing filter for logship's own log; overrides KUBE_LOG_LEVEL [env: LOGSHIP_LOG]
    #[arg(long, value_name = "FILTER", help_heading = CLUSTER)]
    pub log: Option<String>,
    /// Format of logship's own log on stderr: text or json [env: LOGSHIP_LOG_FORMAT] [default: text]
    #[arg(long, value_name = "FORMAT", help_heading = CLUSTER)]
    pub log_format: Option<String>,
    /// Name of this node, from the downward API [env: NODE_NAME]
    #[arg(long, value_name = "NAME", help_heading = CLUSTER)]
    pub node_name: Option<String>,

    /// Files to tail, comma-separated globs [env: LOGSHIP_INPUT_GLOB] [default: /var/log/containers/*.log]
    #[arg(long, value_name = "GLOBS", help_heading = OPERATIONAL)]
    pub input_glob: Option<String>,
    /// Directory for checkpoints and dead letters [env: LOGSHIP_STATE_DIR] [default: /var/lib/logship]
    #[arg(long, value_name = "DIR", help_heading = OPERATIONAL)]
    pub state_dir: Option<String>,
    /// Address of the /metrics and health endpoint [env: LOGSHIP_HTTP_ADDR] [default: 0.0.0.0:2020]
    #[arg(long, value_name = "IP:PORT", help_heading = OPERATIONAL)]
    pub http_addr: Option<String>,
    /// Where documents go: elasticsearch, stdout or file:PATH (NDJSON, no ES needed) [env: LOGSHIP_OUTPUT] [default: elasticsearch]
    #[arg(long, value_name = "OUTPUT", help_heading = OPERATIONAL)]
    pub output: Option<String>,
    /// Size of a _bulk request, 1KiB to 100MiB [env: LOGSHIP_BATCH_BYTES] [default: 2MiB]
    #[arg(long, value_name = "SIZE", help_heading = OPERATIONAL)]
    pub batch_bytes: Option<String>,
    /// Longest wait before a partial batch is sent, 10ms to 60s [env: LOGSHIP_FLUSH_INTERVAL] [default: 1s]
    #[arg(long, value_name = "DURATION", help_heading = OPERATIONAL)]
    pub flush_interval: Option<String>,
    /// ES requests in flight, 1 to 64 [env: LOGSHIP_ES_CONCURRENCY] [default: 2]
    #[arg(long, value_name = "N", help_heading = OPERATIONAL)]
    pub es_concurrency: Option<String>,
    /// Elasticsearch basic auth user (with a password or password file) [env: LOGSHIP_ES_USERNAME]
    #[arg(long, value_name = "USER", help_heading = OPERATIONAL)]
    pub es_username: Option<String>,
    /// Elasticsearch basic auth password; never printed [env: LOGSHIP_ES_PASSWORD]
    #[arg(long, value_name = "PASSWORD", help_heading = OPERATIONAL)]
    pub es_password: Option<String>,
    /// Elasticsearch: a file holding the password (e.g. a mounted Secret) [env: LOGSHIP_ES_PASSWORD_FILE]
    #[arg(long, value_name = "FILE", help_heading = OPERATIONAL)]
    pub es_password_file: Option<String>,
    /// Elasticsearch API key (base64 of id:key), sent as `Authorization: ApiKey`; never printed [env: LOGSHIP_ES_API_KEY]
    #[arg(long, value_name = "KEY", help_heading = OPERATIONAL)]
    pub es_api_key: Option<String>,
    /// Elasticsearch: a file holding the API key (e.g. a mounted Secret) [env: LOGSHIP_ES_API_KEY_FILE]
    #[arg(long, value_name = "FILE", help_heading = OPERATIONAL)]
    pub es_api_key_file: Option<String>,
    /// Elasticsearch https: PEM CA bundle trusted in addition to the system roots [env: LOGSHIP_ES_CA_FILE]
    #[arg(long, value_name = "FILE", help_heading = OPERATIONAL)]
    pub es_ca_file: Option<String>,
    /// Elasticsearch https: accept any server certificate (testing only) [env: LOGSHIP_ES_INSECURE_SKIP_VERIFY] [default: false]
    #[arg(long, value_name = "BOOL", help_heading = OPERATIONAL, num_args = 0..=1, default_missing_value = "true")]
    pub es_insecure_skip_verify: Option<String>,
    /// Elasticsearch https: PEM client certificate chain (with the key file) [env: LOGSHIP_ES_CLIENT_CERT_FILE]
    #[arg(long, value_name = "FILE", help_heading = OPERATIONAL)]
    pub es_client_cert_file: Option<String>,
    /// Elasticsearch https: PEM private key of the client certificate [env: LOGSHIP_ES_CLIENT_KEY_FILE]
    #[arg(long, value_name = "FILE", help_heading = OPERATIONAL)]
    pub es_client_key_file: Option<String>,
    /// Replace dots in keys with _ [env: LOGSHIP_REPLACE_DOTS] [default: true]
    #[arg(long, value_name = "BOOL", help_heading = OPERATIONAL, num_args = 0..=1, default_missing_value = "true")]
    pub replace_dots: Option<String>,
    /// Deterministic document _id, so a re-sent batch does not duplicate [env: LOGSHIP_DOC_IDS] [default: true]
    #[arg(long, value_name = "BOOL", help_heading = OPERATIONAL, num_args = 0..=1, default_missing_value = "true")]
    pub doc_ids: Option<String>,
    /// Merge a log line that is a JSON object into the record [env: LOGSHIP_MERGE_JSON_LOG] [default: true]
    #[arg(long, value_name = "BOOL", help_heading = OPERATIONAL, num_args = 0..=1, default_missing_value = "true")]
    pub merge_json_log: Option<String>,
    /// Longest record; longer ones are cut and marked, 1KiB to 64MiB [env: LOGSHIP_MAX_LINE_BYTES] [default: 1MiB]
    #[arg(long, value_name = "SIZE", help_heading = OPERATIONAL)]
    pub max_line_bytes: Option<String>,
    /// Memory for records in flight per input, 1MiB to 4GiB [env: LOGSHIP_MEM_BUF_LIMIT] [default: 32MiB]
    #[arg(long, value_name = "SIZE", help_heading = OPERATIONAL)]
    pub mem_buf_limit: Option<String>,
    /// Where to start a file seen for the first time: head or tail [env: LOGSHIP_READ_FROM] [default: head]
    #[arg(long, value_name = "WHERE", help_heading = OPERATIONAL)]
    pub read_from: Option<String>,
    /// Read every file to its end, ship, then exit [env: LOGSHIP_EXIT_ON_EOF] [default: false]
    #[arg(long, value_name = "BOOL", help_heading = OPERATIONAL, num_args = 0..=1, default_missing_value = "true")]
    pub exit_on_eof: Option<String>,
    /// Retries of a failed ES request: forever or a number [env: LOGSHIP_RETRY_LIMIT] [default: forever]
    #[arg(long, value_name = "N", help_heading = OPERATIONAL)]
    pub retry_limit: Option<String>,
    /// How often the globs are scanned for new files, 10ms to 1h [env: LOGSHIP_REFRESH_INTERVAL] [default: 1s]
    #[arg(long, value_name = "DURATION", help_heading = OPERATIONAL)]
    pub refresh_interval: Option<String>,

    /// Ship the journald entries of LOGSHIP_JOURNALD_UNITS (through journalctl) [env: LOGSHIP_JOURNALD] [default: false]
    #[arg(long, value_name = "BOOL", help_heading = JOURNALD, num_args = 0..=1, default_missing_value = "true")]
    pub journald: Option<String>,
    /// Systemd units whose entries are shipped, comma-separated; a name without a suffix gets .service [env: LOGSHIP_JOURNALD_UNITS] [default: docker.service,kubelet.service]
    #[arg(long, value_name = "UNITS", help_heading = JOURNALD)]
    pub journald_units: Option<String>,
    /// Journal directory to read (journalctl --directory); unset: the system journal, /var/log/journal and /run/log/journal [env: LOGSHIP_JOURNAL_DIR]
    #[arg(long, value_name = "DIR", help_heading = JOURNALD)]
    pub journal_dir: Option<String>,

    /// Add pod id, labels, annotations and host from the Kubernetes API (needs NODE_NAME) [env: LOGSHIP_KUBE_METADATA] [default: true]
    #[arg(long, value_name = "BOOL", help_heading = KUBERNETES, num_args = 0..=1, default_missing_value = "true")]
    pub kube_metadata: Option<String>,
    /// Kubeconfig file for the API (development); unset: the in-cluster service account [env: LOGSHIP_KUBECONFIG]
    #[arg(long, value_name = "FILE", help_heading = KUBERNETES)]
    pub kubeconfig: Option<String>,
    /// How long records of a pod the API has not shown yet wait for it, 0 to 1m [env: LOGSHIP_KUBE_WAIT] [default: 2s]
    #[arg(long, value_name = "DURATION", help_heading = KUBERNETES)]
    pub kube_wait: Option<String>,
    /// Include the pod's labels [env: LOGSHIP_KUBE_LABELS] [default: true]
    #[arg(long, value_name = "BOOL", help_heading = KUBERNETES, num_args = 0..=1, default_missing_value = "true")]
    pub kube_labels: Option<String>,
    /// Include the pod's annotations [env: LOGSHIP_KUBE_ANNOTATIONS] [default: true]
    #[arg(long, value_name = "BOOL", help_heading = KUBERNETES, num_args = 0..=1, default_missing_value = "true")]
    pub kube_annotations: Option<String>,
    /// How long a deleted pod's metadata is kept for its last lines, 0 to 1h [env: LOGSHIP_KUBE_DELETE_DELAY] [default: 60s]
    #[arg(long, value_name = "DURATION", help_heading = KUBERNETES)]
    pub kube_delete_delay: Option<String>,

    /// Forward input: IP:port to accept fluent forward messages on, or off [env: LOGSHIP_FORWARD_LISTEN] [default: 0.0.0.0:24224]
    #[arg(long, value_name = "IP:PORT|off", help_heading = FORWARD)]
    pub forward_listen: Option<String>,
    /// Forward output: a chunk counts as delivered only when the server acks it [env: LOGSHIP_FORWARD_ACK] [default: true]
    #[arg(long, value_name = "BOOL", help_heading = FORWARD, num_args = 0..=1, default_missing_value = "true")]
    pub forward_ack: Option<String>,
    /// Forward output compression: none or gzip (CompressedPackedForward) [env: LOGSHIP_FORWARD_COMPRESS] [default: none]
    #[arg(long, value_name = "none|gzip", help_heading = FORWARD)]
    pub forward_compress: Option<String>,
    /// Forward output: the server's shared_key (handshake); never printed [env: LOGSHIP_FORWARD_SHARED_KEY]
    #[arg(long, value_name = "KEY", help_heading = FORWARD)]
    pub forward_shared_key: Option<String>,
    /// Forward output: a file holding the shared_key (e.g. a mounted Secret) [env: LOGSHIP_FORWARD_SHARED_KEY_FILE]
    #[arg(long, value_name = "FILE", help_heading = FORWARD)]
    pub forward_shared_key_file: Option<String>,
    /// Forward output: connect with TLS (Fluentd's in_forward `<transport tls>`) [env: LOGSHIP_FORWARD_TLS] [default: false]
    #[arg(long, value_name = "BOOL", help_heading = FORWARD, num_args = 0..=1, default_missing_value = "true")]
    pub forward_tls: Option<String>,
    /// Forward output TLS: PEM CA bundle trusted in addition to the system roots [env: LOGSHIP_FORWARD_TLS_CA_FILE]
    #[arg(long, value_name = "FILE", help_heading = FORWARD)]
    pub forward_tls_ca_file: Option<String>,
    /// Forward output TLS: accept any server certificate (testing only) [env: LOGSHIP_FORWARD_TLS_INSECURE_SKIP_VERIFY] [default: false]
    #[arg(long, value_name = "BOOL", help_heading = FORWARD, num_args = 0..=1, default_missing_value = "true")]
    pub forward_tls_insecure_skip_verify: Option<String>,
    /// Forward output TLS: PEM client certificate chain (with the key file) [env: LOGSHIP_FORWARD_TLS_CLIENT_CERT_FILE]
    #[arg(long, value_name = "FILE", help_heading = FORWARD)]
    pub forward_tls_client_cert_file: Option<String>,
    /// Forward output TLS: PEM private key of the client certificate [env: LOGSHIP_FORWARD_TLS_CLIENT_KEY_FILE]
    #[arg(long, value_name = "FILE", help_heading = FORWARD)]
    pub forward_tls_client_key_file: Option<String>,
    /// Forward output: disk for records the server has not taken, 1MiB to 1TiB; the oldest are dropped beyond [env: LOGSHIP_FORWARD_SPOOL_LIMIT] [default: 256MiB]
    #[arg(long, value_name = "SIZE", help_heading = FORWARD)]
    pub forward_spool_limit: Option<String>,
    /// Forward output: limit for connecting, each write and each ack, and the longest pause between reconnections, 100ms to 10m [env: LOGSHIP_FORWARD_TIMEOUT] [default: 30s]
    #[arg(long, value_name = "DURATION", help_heading = FORWARD)]
    pub forward_timeout: Option<String>,

    /// Write node, pod and container metrics from the kubelet's /stats/summary to heapster-<family>-* (needs NODE_IP or LOGSHIP_KUBELET_URL) [env: LOGSHIP_KUBELET_METRICS] [default: true]
    #[arg(long, value_name = "BOOL", help_heading = METRICS, num_args = 0..=1, default_missing_value = "true")]
    pub kubelet_metrics: Option<String>,
    /// How often the kubelet is read, 1s to 1h [env: LOGSHIP_METRICS_INTERVAL] [default: 60s]
    #[arg(long, value_name = "DURATION", help_heading = METRICS)]
    pub metrics_interval: Option<String>,
    /// This node's IP (downward API status.hostIP); the kubelet is https://NODE_IP:10250 [env: NODE_IP]
    #[arg(long, value_name = "IP", help_heading = METRICS)]
    pub node_ip: Option<String>,
    /// The kubelet's URL, instead of https://NODE_IP:10250 [env: LOGSHIP_KUBELET_URL]
    #[arg(long, value_name = "URL", help_heading = METRICS)]
    pub kubelet_url: Option<String>,
    /// Bearer token for the kubelet, read before every request; an empty file sends none [env: LOGSHIP_KUBELET_TOKEN_FILE] [default: /var/run/secrets/kubernetes.io/serviceaccount/token]
    #[arg(long, value_name = "FILE", help_heading = METRICS)]
    pub kubelet_token_file: Option<String>,
    /// PEM CA to verify the kubelet's certificate against (with LOGSHIP_KUBELET_INSECURE_SKIP_VERIFY=false) [env: LOGSHIP_KUBELET_CA_FILE]
    #[arg(long, value_name = "FILE", help_heading = METRICS)]
    pub kubelet_ca_file: Option<String>,
    /// Accept any kubelet certificate (kubelets serve self-signed ones; heapster's insecure=true) [env: LOGSHIP_KUBELET_INSECURE_SKIP_VERIFY] [default: true]
    #[arg(long, value_name = "BOOL", help_heading = METRICS, num_args = 0..=1, default_missing_value = "true")]
    pub kubelet_insecure_skip_verify: Option<String>,
    /// MetricsTags.cluster_name of every metrics document (heapster's cluster_name) [env: LOGSHIP_CLUSTER_NAME] [default: default]
    #[arg(long, value_name = "NAME", help_heading = METRICS)]
    pub cluster_name: Option<String>,
}

impl SettingsArgs {
    /// The flag's value for a setting, if given.
    pub fn get(&self, key: Key) -> Option<&str> {
        let value = match key {
            Key::LogNodeCount => &self.log_node_count,
            Key::InClusterEs => &self.in_cluster_es,
            Key::ElkServiceHosts => &self.elk_service_hosts,
            Key::EsServer => &self.es_server,
            Key::FluentForwardServer => &self.fluent_forward_server,
            Key::KeepLogDays => &self.keep_log_days,
            Key::KubeLogLevel => &self.kube_log_level,
            Key::Log => &self.log,
            Key::LogFormat => &self.log_format,
            Key::NodeName => &self.node_name,
            Key::InputGlob => &self.input_glob,
            Key::StateDir => &self.state_dir,
            Key::HttpAddr => &self.http_addr,
            Key::Output => &self.output,
            Key::BatchBytes => &self.batch_bytes,
            Key::FlushInterval => &self.flush_interval,
            Key::EsConcurrency => &self.es_concurrency,
            Key::EsUsername => &self.es_username,
            Key::EsPassword => &self.es_password,
            Key::EsPasswordFile => &self.es_password_file,
            Key::EsApiKey => &self.es_api_key,
            Key::EsApiKeyFile => &self.es_api_key_file,
            Key::EsCaFile => &self.es_ca_file,
            Key::EsInsecureSkipVerify => &self.es_insecure_skip_verify,
            Key::EsClientCertFile => &self.es_client_cert_file,
            Key::EsClientKeyFile => &self.es_client_key_file,
            Key::ReplaceDots => &self.replace_dots,
            Key::DocIds => &self.doc_ids,
            Key::MergeJsonLog => &self.merge_json_log,
            Key::MaxLineBytes => &self.max_line_bytes,
            Key::MemBufLimit => &self.mem_buf_limit,
            Key::ReadFrom => &self.read_from,
            Key::ExitOnEof => &self.exit_on_eof,
            Key::RetryLimit => &self.retry_limit,
            Key::RefreshInterval => &self.refresh_interval,
            Key::Journald => &self.journald,
            Key::JournaldUnits => &self.journald_units,
            Key::JournalDir => &self.journal_dir,
            Key::KubeMetadata => &self.kube_metadata,
            Key::Kubeconfig => &self.kubeconfig,
            Key::KubeWait => &self.kube_wait,
            Key::KubeLabels => &self.kube_labels,
            Key::KubeAnnotations => &self.kube_annotations,
            Key::KubeDeleteDelay => &self.kube_delete_delay,
            Key::ForwardListen => &self.forward_listen,
            Key::ForwardAck => &self.forward_ack,
            Key::ForwardCompress => &self.forward_compress,
            Key::ForwardSharedKey => &self.forward_shared_key,
            Key::ForwardSharedKeyFile => &self.forward_shared_key_file,
            Key::ForwardSpoolLimit => &self.forward_spool_limit,
            Key::ForwardTimeout => &self.forward_timeout,
            Key::ForwardTls => &self.forward_tls,
            Key::ForwardTlsCaFile => &self.forward_tls_ca_file,
            Key::ForwardTlsInsecureSkipVerify => &self.forward_tls_insecure_skip_verify,
            Key::ForwardTlsClientCertFile => &self.forward_tls_client_cert_file,
            Key::ForwardTlsClientKeyFile => &self.forward_tls_client_key_file,
            Key::KubeletMetrics => &self.kubelet_metrics,
            Key::MetricsInterval => &self.metrics_interval,
            Key::NodeIp => &self.node_ip,
            Key::KubeletUrl => &self.kubelet_url,
            Key::KubeletTokenFile => &self.kubelet_token_file,
            Key::KubeletCaFile => &self.kubelet_ca_file,
            Key::KubeletInsecureSkipVerify => &self.kubelet_insecure_skip_verify,
            Key::ClusterName => &self.cluster_name,
        };
        value.as_deref()
    }
}

/// The flags given. An empty flag value is kept: it resets the setting to its default.
pub(crate) fn flag_layer(args: &SettingsArgs) -> Layer {
    let mut layer = Layer::default();
    for key in Key::ALL {
        if let Some(value) = args.get(key) {
            layer.set(key, RawText::One(value.to_string()), Origin::Flag);
        }
    }
    layer
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, Command};

    fn command() -> Command {
        SettingsArgs::augment_args(Command::new("logship"))
    }

    #[test]
    fn one_flag_per_setting_with_env_and_default_in_its_help() {
        let cmd = command();
        for key in Key::ALL {
            let long = key.flag().trim_start_matches("--");
            let arg = cmd
                .get_arguments()
                .find(|a| a.get_long() == Some(long))
                .unwrap_or_else(|| panic!("no flag {}", key.flag()));
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            assert!(help.contains(&format!("[env: {}]", key.env())), "{help}");
            if key.default_text().is_empty() {
                assert!(!help.contains("[default:"), "{help}");
            } else {
                assert!(
                    help.contains(&format!("[default: {}]", key.default_text())),
                    "{help}"
                );
            }
        }
        assert_eq!(cmd.get_arguments().count(), Key::ALL.len() + 1);
    }

    #[test]
    fn parses_flags_into_the_flag_layer() {
        let matches = command()
            .try_get_matches_from([
                "logship",
                "--keep-log-days",
                "7",
                "--es-server=",
                "--config",
                "/c.toml",
            ])
            .unwrap();
        let args = <SettingsArgs as clap::FromArgMatches>::from_arg_matches(&matches).unwrap();
        assert_eq!(args.config, Some(PathBuf::from("/c.toml")));
        let layer = flag_layer(&args);
        let get = |k| layer.get(k).map(|v| (v.text.clone(), v.origin.clone()));
        assert_eq!(
            get(Key::KeepLogDays),
            Some((RawText::One("7".into()), Origin::Flag))
        );
        assert_eq!(
            get(Key::EsServer),
            Some((RawText::One(String::new()), Origin::Flag))
        );
        assert_eq!(get(Key::StateDir), None);
        command().debug_assert();
    }

    #[test]
    fn a_bool_flag_without_a_value_means_true() {
        let parse = |argv: &[&str]| {
            let matches = command().try_get_matches_from(argv).unwrap();
            <SettingsArgs as clap::FromArgMatches>::from_arg_matches(&matches).unwrap()
        };
        let args = parse(&[
            "logship",
            "--exit-on-eof",
            "--doc-ids=false",
            "--replace-dots",
            "no",
        ]);
        assert_eq!(args.exit_on_eof.as_deref(), Some("true"));
        assert_eq!(args.doc_ids.as_deref(), Some("false"));
        assert_eq!(args.replace_dots.as_deref(), Some("no"));
        assert_eq!(args.merge_json_log, None);
    }
}
