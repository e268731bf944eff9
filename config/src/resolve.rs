//! From the merged raw layer to [`Settings`]: parse every setting, collect every error, check
//! the settings that depend on each other, and resolve the Elasticsearch destination.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::destination::{resolve_destination, DestinationSource};
use crate::endpoint::{EsEndpoint, HostPort};
use crate::error::{ConfigError, ConfigErrors};
use crate::key::Key;
use crate::layers::{Layer, Origin, RawText};
use crate::settings::{Settings, Sources};
use crate::values::{
    parse_bool, parse_duration_in, parse_int, parse_listen, parse_retry_limit, ByteSize,
    ForwardCompress, KeepLogDays, Output, ReadFrom, Secret, ValueError,
};

struct Resolver<'a> {
    layer: &'a Layer,
    errors: Vec<ConfigError>,
    sources: Sources,
}

impl Resolver<'_> {
    /// The setting's value if it is set, not empty and valid; an invalid value is recorded as an
    /// error and gives `None`, so the caller falls back to the default and goes on checking.
    fn one<T>(&mut self, key: Key, parse: impl FnOnce(&str) -> Result<T, ValueError>) -> Option<T> {
        let raw = self.layer.get(key).filter(|raw| !raw.text.is_empty())?;
        let result = match &raw.text {
            RawText::One(text) => parse(text.trim()),
            RawText::Many(_) => Err(ValueError::new(
                "a list is not accepted here: expected one value",
            )),
        };
        match result {
            Ok(value) => {
                self.sources.insert(key, raw.origin.clone());
                Some(value)
            }
            Err(error) => {
                self.fail(key, raw.origin.clone(), None, error);
                None
            }
        }
    }

    /// A list setting: comma-separated text or a TOML array; empty items are skipped. `None`
    /// when nothing is set or an item is invalid (each bad item is an error).
    fn list<T>(
        &mut self,
        key: Key,
        parse: impl Fn(&str) -> Result<T, ValueError>,
    ) -> Option<Vec<T>> {
        let raw = self.layer.get(key)?;
        let items: Vec<&str> = match &raw.text {
            RawText::One(text) => text
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect(),
            RawText::Many(items) => items
                .iter()
                .map(|s| s.trim())
                .filter(|s| !s.is_empty())
                .collect(),
        };
        if items.is_empty() {
            return None;
        }
        let mut values = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.into_iter().enumerate() {
            match parse(item) {
                Ok(value) => values.push(value),
                Err(error) => {
                    ok = false;
                    self.fail(key, raw.origin.clone(), Some(i + 1), error);
                }
            }
        }
        if ok {
            self.sources.insert(key, raw.origin.clone());
        }
        ok.then_some(values)
    }

    fn fail(&mut self, key: Key, origin: Origin, item: Option<usize>, error: ValueError) {
        self.errors.push(ConfigError::Value {
            key,
            origin,
            item,
            error,
        });
    }
}

fn int_in(
    min: i128,
    max: i128,
    expected: &'static str,
) -> impl Fn(&str) -> Result<i128, ValueError> {
    move |text| parse_int(text, min, max, expected)
}

fn parse_glob(text: &str) -> Result<String, ValueError> {
    match glob::Pattern::new(text) {
        Ok(_) => Ok(text.to_string()),
        Err(e) => Err(ValueError::new(format!(
            "{text:?} is not a valid glob ({} at position {}): expected a path pattern such as \
             /var/log/containers/*.log",
            e.msg, e.pos
        ))),
    }
}

/// An `http://` or `https://` URL with a host and no query, without its trailing slash.
fn parse_http_url(text: &str) -> Result<String, ValueError> {
    let expected = "expected an http:// or https:// URL such as https://10.0.0.5:10250";
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(|| ValueError::new(format!("{text:?} is not a URL: {expected}")))?;
    let host = rest.split('/').next().unwrap_or("");
    let bad = host.is_empty()
        || host.contains('@')
        || text.contains(['?', '#'])
        || text.chars().any(|c| c.is_whitespace() || c.is_control());
    if bad {
        return Err(ValueError::new(format!(
            "{text:?} is not a usable URL: {expected} (no user, query or spaces)"
        )));
    }
    Ok(text.trim_end_matches('/').to_string())
}

/// A systemd unit name, as journald records it in `_SYSTEMD_UNIT`. A name without a suffix is
/// a service (`kubelet` is `kubelet.service`), as `journalctl -u` and Vector take it.
fn parse_unit(text: &str) -> Result<String, ValueError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || ":-_.\\@".contains(c);
    if text.len() > 256 || !text.chars().all(allowed) || text.starts_with('.') {
        return Err(ValueError::new(format!(
            "{text:?} is not a systemd unit name: expected a name such as docker.service \
             (letters, digits and :-_.\\@, at most 256 characters)"
        )));
    }
    if text.contains('.') {
        Ok(text.to_string())
    } else {
        Ok(format!("{text}.service"))
    }
}

fn parse_socket_addr(text: &str) -> Result<SocketAddr, ValueError> {
    text.parse().map_err(|_| {
        ValueError::new(format!(
            "{text:?} is not a socket address: expected IP:port, e.g. 0.0.0.0:2020"
        ))
    })
}

/// Builds the settings from the merged layer; `errors` holds what the file layer found.
pub(crate) fn resolve(
    layer: &Layer,
    config_file: Option<PathBuf>,
    errors: Vec<ConfigError>,
) -> Result<Settings, ConfigErrors> {
    let mut r = Resolver {
        layer,
        errors,
        sources: Sources::default(),
    };
    let ms = Duration::from_millis;

    let destination_errors = r.errors.len();
    let log_node_count = r.one(
        Key::LogNodeCount,
        int_in(0, u32::MAX.into(), "an integer of 0 or more"),
    );
    let in_cluster_es = r.one(Key::InClusterEs, EsEndpoint::from_str);
    let elk_hosts = r
        .list(Key::ElkServiceHosts, EsEndpoint::from_str)
        .unwrap_or_default();
    let es_server = r.one(Key::EsServer, EsEndpoint::from_str);
    let destination_ok = r.errors.len() == destination_errors;

    let forward_server = r.one(Key::FluentForwardServer, HostPort::from_str);
    let keep_log_days = r
        .one(Key::KeepLogDays, KeepLogDays::from_str)
        .unwrap_or_default();
    let kube_log_level = r.one(Key::KubeLogLevel, int_in(0, 10, "an integer from 0 to 10"));
    let log_filter = r.one(Key::Log, |t| Ok(t.to_string()));
    let log_json = r.one(Key::LogFormat, |t| match t {
        "text" => Ok(false),
        "json" => Ok(true),
        other => Err(ValueError::new(format!(
            "{other:?} is not a log format: expected text or json"
        ))),
    });
    let node_name = r.one(Key::NodeName, |t| Ok(t.to_string()));
    let input_globs = r.list(Key::InputGlob, parse_glob);
    let state_dir = r.one(Key::StateDir, |t| Ok(PathBuf::from(t)));
    let http_addr = r.one(Key::HttpAddr, parse_socket_addr);
    let output = r.one(Key::Output, Output::from_str).unwrap_or_default();
    let batch_bytes = r.one(Key::BatchBytes, |t| {
        ByteSize::parse_in(t, ByteSize::kib(1), ByteSize::mib(100))
    });
    let flush_interval = r.one(Key::FlushInterval, |t| {
        parse_duration_in(t, ms(10), ms(60_000))
    });
    let es_concurrency = r.one(Key::EsConcurrency, int_in(1, 64, "an integer from 1 to 64"));
    let replace_dots = r.one(Key::ReplaceDots, parse_bool);
    let doc_ids = r.one(Key::DocIds, parse_bool);
    let merge_json_log = r.one(Key::MergeJsonLog, parse_bool);
    let max_line_bytes = r.one(Key::MaxLineBytes, |t| {
        ByteSize::parse_in(t, ByteSize::kib(1), ByteSize::mib(64))
    });
    let mem_buf_limit = r.one(Key::MemBufLimit, |t| {
        ByteSize::parse_in(t, ByteSize::mib(1), ByteSize::gib(4))
    });
    let read_from = r.one(Key::ReadFrom, ReadFrom::from_str).unwrap_or_default();
    let exit_on_eof = r.one(Key::ExitOnEof, parse_bool);
    let retry_limit = r.one(Key::RetryLimit, parse_retry_limit).flatten();
    let refresh_interval = r.one(Key::RefreshInterval, |t| {
        parse_duration_in(t, ms(10), ms(3_600_000))
    });
    let journald = r.one(Key::Journald, parse_bool);
    let journald_units = r.list(Key::JournaldUnits, parse_unit);
    let journal_dir = r.one(Key::JournalDir, |t| Ok(PathBuf::from(t)));
    let kube_metadata = r.one(Key::KubeMetadata, parse_bool);
    let kubeconfig = r.one(Key::Kubeconfig, |t| Ok(PathBuf::from(t)));
    let kube_wait = r.one(Key::KubeWait, |t| parse_duration_in(t, ms(0), ms(60_000)));
    let kube_labels = r.one(Key::KubeLabels, parse_bool);
    let kube_annotations = r.one(Key::KubeAnnotations, parse_bool);
    let kube_delete_delay = r.one(Key::KubeDeleteDelay, |t| {
        parse_duration_in(t, ms(0), ms(3_600_000))
    });

    let es_username = r.one(Key::EsUsername, |t| Ok(t.to_string()));
    let es_password = r.one(Key::EsPassword, |t| Ok(Secret::new(t)));
    let es_password_file = r.one(Key::EsPasswordFile, |t| Ok(PathBuf::from(t)));
    let es_api_key = r.one(Key::EsApiKey, |t| Ok(Secret::new(t)));
    let es_api_key_file = r.one(Key::EsApiKeyFile, |t| Ok(PathBuf::from(t)));
    let es_ca_file = r.one(Key::EsCaFile, |t| Ok(PathBuf::from(t)));
    let es_insecure_skip_verify = r.one(Key::EsInsecureSkipVerify, parse_bool);
    let es_client_cert_file = r.one(Key::EsClientCertFile, |t| Ok(PathBuf::from(t)));
    let es_client_key_file = r.one(Key::EsClientKeyFile, |t| Ok(PathBuf::from(t)));
    let password_set = es_password.is_some() || es_password_file.is_some();
    let api_key_set = es_api_key.is_some() || es_api_key_file.is_some();
    let both = |r: &mut Resolver<'_>, key: Key, msg: &str| {
        let origin = r.sources.origin(key).clone();
        r.fail(key, origin, None, ValueError::new(msg));
    };
    if es_password.is_some() && es_password_file.is_some() {
        both(
            &mut r,
            Key::EsPasswordFile,
            "is set as well as LOGSHIP_ES_PASSWORD: expected one of the two",
        );
    }
    if es_api_key.is_some() && es_api_key_file.is_some() {
        both(
            &mut r,
            Key::EsApiKeyFile,
            "is set as well as LOGSHIP_ES_API_KEY: expected one of the two",
        );
    }
    if es_username.is_some() && !password_set {
        both(
            &mut r,
            Key::EsUsername,
            "is set without a password: expected LOGSHIP_ES_PASSWORD or LOGSHIP_ES_PASSWORD_FILE too",
        );
    }
    if password_set && es_username.is_none() {
        let key = if es_password.is_some() {
            Key::EsPassword
        } else {
            Key::EsPasswordFile
        };
        both(
            &mut r,
            key,
            "is set without LOGSHIP_ES_USERNAME: expected the user too",
        );
    }
    if api_key_set && es_username.is_some() {
        let key = if es_api_key.is_some() {
            Key::EsApiKey
        } else {
            Key::EsApiKeyFile
        };
        both(
            &mut r,
            key,
            "is set as well as LOGSHIP_ES_USERNAME: expected basic auth or an API key, not both",
        );
    }
    match (&es_client_cert_file, &es_client_key_file) {
        (Some(_), None) => both(
            &mut r,
            Key::EsClientCertFile,
            "is set without LOGSHIP_ES_CLIENT_KEY_FILE: expected both",
        ),
        (None, Some(_)) => both(
            &mut r,
            Key::EsClientKeyFile,
            "is set without LOGSHIP_ES_CLIENT_CERT_FILE: expected both",
        ),
        _ => {}
    }

    let forward_listen = r.one(Key::ForwardListen, parse_listen);
    let forward_ack = r.one(Key::ForwardAck, parse_bool);
    let forward_compress = r
        .one(Key::ForwardCompress, ForwardCompress::from_str)
        .unwrap_or_default();
    let forward_shared_key = r.one(Key::ForwardSharedKey, |t| Ok(Secret::new(t)));
    let forward_shared_key_file = r.one(Key::ForwardSharedKeyFile, |t| Ok(PathBuf::from(t)));
    if forward_shared_key.is_some() && forward_shared_key_file.is_some() {
        let origin = r.sources.origin(Key::ForwardSharedKeyFile).clone();
        r.fail(
            Key::ForwardSharedKeyFile,
            origin,
            None,
            ValueError::new(
                "is set as well as LOGSHIP_FORWARD_SHARED_KEY: expected one of the two",
            ),
        );
    }
    let forward_tls = r.one(Key::ForwardTls, parse_bool).unwrap_or(false);
    let forward_tls_ca_file = r.one(Key::ForwardTlsCaFile, |t| Ok(PathBuf::from(t)));
    let forward_tls_insecure_skip_verify = r.one(Key::ForwardTlsInsecureSkipVerify, parse_bool);
    let forward_tls_client_cert_file =
        r.one(Key::ForwardTlsClientCertFile, |t| Ok(PathBuf::from(t)));
    let forward_tls_client_key_file = r.one(Key::ForwardTlsClientKeyFile, |t| Ok(PathBuf::from(t)));
    match (&forward_tls_client_cert_file, &forward_tls_client_key_file) {
        (Some(_), None) => both(
            &mut r,
            Key::ForwardTlsClientCertFile,
            "is set without LOGSHIP_FORWARD_TLS_CLIENT_KEY_FILE: expected both",
        ),
        (None, Some(_)) => both(
            &mut r,
            Key::ForwardTlsClientKeyFile,
            "is set without LOGSHIP_FORWARD_TLS_CLIENT_CERT_FILE: expected both",
        ),
        _ => {}
    }
    if !forward_tls {
        // A TLS detail without TLS is a half-done configuration: say so rather than send in
        // clear text to a server the user meant to reach over TLS.
        let details = [
            (Key::ForwardTlsCaFile, forward_tls_ca_file.is_some()),
            (
                Key::ForwardTlsInsecureSkipVerify,
                forward_tls_insecure_skip_verify == Some(true),
            ),
            (
                Key::ForwardTlsClientCertFile,
                forward_tls_client_cert_file.is_some(),
            ),
        ];
        for (key, set) in details {
            if set {
                both(
                    &mut r,
                    key,
                    "is set but LOGSHIP_FORWARD_TLS is off: expected LOGSHIP_FORWARD_TLS=true as well",
                );
            }
        }
    }
    let forward_spool_limit = r.one(Key::ForwardSpoolLimit, |t| {
        ByteSize::parse_in(t, ByteSize::mib(1), ByteSize::gib(1024))
    });
    let forward_timeout = r.one(Key::ForwardTimeout, |t| {
        parse_duration_in(t, ms(100), ms(600_000))
    });

    let kubelet_metrics = r.one(Key::KubeletMetrics, parse_bool);
    let metrics_interval = r.one(Key::MetricsInterval, |t| {
        parse_duration_in(t, ms(1000), ms(3_600_000))
    });
    let node_ip = r.one(Key::NodeIp, |t| {
        t.parse::<std::net::IpAddr>().map_err(|_| {
            ValueError::new(format!(
                "{t:?} is not an IP address: expected this node's IP, e.g. 10.0.0.5 (the downward API's status.hostIP)"
            ))
        })
    });
    let kubelet_url = r.one(Key::KubeletUrl, parse_http_url);
    let kubelet_token_file = r.one(Key::KubeletTokenFile, |t| Ok(PathBuf::from(t)));
    let kubelet_ca_file = r.one(Key::KubeletCaFile, |t| Ok(PathBuf::from(t)));
    let kubelet_insecure = r.one(Key::KubeletInsecureSkipVerify, parse_bool);
    if kubelet_ca_file.is_some() && kubelet_insecure == Some(true) {
        let origin = r.sources.origin(Key::KubeletInsecureSkipVerify).clone();
        r.fail(
            Key::KubeletInsecureSkipVerify,
            origin,
            None,
            ValueError::new(
                "\"true\" with LOGSHIP_KUBELET_CA_FILE set: expected false, to verify the kubelet's certificate against that CA",
            ),
        );
    }
    let cluster_name = r.one(Key::ClusterName, |t| Ok(t.to_string()));

    let max_line_bytes = max_line_bytes.unwrap_or(ByteSize::mib(1));
    let mem_buf_limit = mem_buf_limit.unwrap_or(ByteSize::mib(32));
    check_line_fits(&mut r, max_line_bytes, mem_buf_limit);

    let log_node_count = log_node_count.unwrap_or(0) as u32;
    let in_cluster_explicit = in_cluster_es.is_some();
    let in_cluster_es = in_cluster_es
        .unwrap_or_else(|| EsEndpoint::http("elasticsearch-logging.kube-system", 9200));
    let es = match output {
        Output::Elasticsearch if destination_ok => {
            match resolve_destination(
                log_node_count,
                &in_cluster_es,
                &elk_hosts,
                es_server.as_ref(),
            ) {
                Ok(mut plan) => {
                    if in_cluster_explicit && plan.chosen != DestinationSource::InCluster {
                        plan.ignored.push(format!(
                            "IN_CLUSTER_ES={in_cluster_es} ignored: LOG_NODE_COUNT=0, there are no in-cluster log nodes"
                        ));
                    }
                    Some(plan)
                }
                Err(e) => {
                    r.errors.push(e.into());
                    None
                }
            }
        }
        _ => None,
    };

    if !r.errors.is_empty() {
        return Err(ConfigErrors::new(r.errors));
    }
    Ok(Settings {
        es,
        forward_server,
        keep_log_days,
        kube_log_level: kube_log_level.unwrap_or(0) as u8,
        log_filter,
        log_json: log_json.unwrap_or(false),
        node_name,
        input_globs: input_globs.unwrap_or_else(|| vec!["/var/log/containers/*.log".to_string()]),
        state_dir: state_dir.unwrap_or_else(|| PathBuf::from("/var/lib/logship")),
        http_addr: http_addr.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 2020))),
        output,
        batch_bytes: batch_bytes.unwrap_or(ByteSize::mib(2)),
        flush_interval: flush_interval.unwrap_or(ms(1000)),
        es_concurrency: es_concurrency.unwrap_or(2) as usize,
        replace_dots: replace_dots.unwrap_or(true),
        doc_ids: doc_ids.unwrap_or(true),
        merge_json_log: merge_json_log.unwrap_or(true),
        max_line_bytes,
        mem_buf_limit,
        read_from,
        exit_on_eof: exit_on_eof.unwrap_or(false),
        retry_limit,
        refresh_interval: refresh_interval.unwrap_or(ms(1000)),
        journald: journald.unwrap_or(false),
        journald_units: journald_units
            .unwrap_or_else(|| vec!["docker.service".into(), "kubelet.service".into()]),
        journal_dir,
        kube_metadata: kube_metadata.unwrap_or(true),
        kubeconfig,
        kube_wait: kube_wait.unwrap_or(ms(2000)),
        kube_labels: kube_labels.unwrap_or(true),
        kube_annotations: kube_annotations.unwrap_or(true),
        kube_delete_delay: kube_delete_delay.unwrap_or(ms(60_000)),
        es_username,
        es_password,
        es_password_file,
        es_api_key,
        es_api_key_file,
        es_ca_file,
        es_insecure_skip_verify: es_insecure_skip_verify.unwrap_or(false),
        es_client_cert_file,
        es_client_key_file,
        forward_listen: forward_listen
            .unwrap_or_else(|| Some(SocketAddr::from(([0, 0, 0, 0], 24224)))),
        forward_ack: forward_ack.unwrap_or(true),
        forward_compress,
        forward_shared_key,
        forward_shared_key_file,
        forward_tls,
        forward_tls_ca_file,
        forward_tls_insecure_skip_verify: forward_tls_insecure_skip_verify.unwrap_or(false),
        forward_tls_client_cert_file,
        forward_tls_client_key_file,
        forward_spool_limit: forward_spool_limit.unwrap_or(ByteSize::mib(256)),
        forward_timeout: forward_timeout.unwrap_or(ms(30_000)),
        kubelet_metrics: kubelet_metrics.unwrap_or(true),
        metrics_interval: metrics_interval.unwrap_or(ms(60_000)),
        node_ip,
        kubelet_url,
        kubelet_token_file: kubelet_token_file.unwrap_or_else(|| {
            PathBuf::from("/var/run/secrets/kubernetes.io/serviceaccount/token")
        }),
        // A CA file means verification, unless said otherwise (which is refused above).
        kubelet_insecure_skip_verify: kubelet_insecure.unwrap_or(kubelet_ca_file.is_none()),
        kubelet_ca_file,
        cluster_name: cluster_name.unwrap_or_else(|| "default".to_string()),
        config_file,
        sources: r.sources,
    })
}

/// A whole record must fit in the memory buffer, or reading would pause forever.
fn check_line_fits(r: &mut Resolver<'_>, max_line: ByteSize, mem_buf: ByteSize) {
    if max_line <= mem_buf {
        return;
    }
    let line_origin = r.sources.origin(Key::MaxLineBytes).clone();
    let (key, origin, error) = if line_origin != Origin::Default {
        let msg = format!(
            "\"{max_line}\" is larger than LOGSHIP_MEM_BUF_LIMIT ({mem_buf}): expected at most the memory buffer, which must hold a whole record"
        );
        (Key::MaxLineBytes, line_origin, msg)
    } else {
        let msg = format!(
            "\"{mem_buf}\" is smaller than LOGSHIP_MAX_LINE_BYTES ({max_line}): expected at least the longest record"
        );
        (
            Key::MemBufLimit,
            r.sources.origin(Key::MemBufLimit).clone(),
            msg,
        )
    };
    r.fail(key, origin, None, ValueError::new(error));
}
