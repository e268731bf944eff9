//! Loading end to end: layers, files, errors and the destination.

use super::*;
use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

pub(crate) fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

pub(crate) fn load_env(vars: &[(&str, &str)]) -> Result<Settings, ConfigErrors> {
    load(&SettingsArgs::default(), &env_of(vars))
}

pub(crate) fn messages(result: Result<Settings, ConfigErrors>) -> Vec<String> {
    match result {
        Ok(s) => panic!("expected errors, got {s:?}"),
        Err(errors) => errors.errors().iter().map(ToString::to_string).collect(),
    }
}

pub(crate) fn toml_file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

#[test]
fn defaults_with_stdout() {
    let s = load_env(&[("LOGSHIP_OUTPUT", "stdout")]).unwrap();
    assert_eq!(s.es, None);
    assert_eq!(s.output, Output::Stdout);
    assert_eq!(s.forward_server, None);
    assert_eq!(s.keep_log_days.get(), 3);
    assert_eq!(s.kube_log_level, 0);
    assert_eq!(
        (s.log_filter.as_deref(), s.node_name.as_deref()),
        (None, None)
    );
    assert_eq!(s.input_globs, ["/var/log/containers/*.log"]);
    assert_eq!(s.state_dir, Path::new("/var/lib/logship"));
    assert_eq!(s.http_addr, "0.0.0.0:2020".parse::<SocketAddr>().unwrap());
    assert_eq!(s.batch_bytes.bytes(), 2 << 20);
    assert_eq!(s.flush_interval, Duration::from_secs(1));
    assert_eq!(s.es_concurrency, 2);
    assert!(s.replace_dots && s.doc_ids && s.merge_json_log && !s.exit_on_eof);
    assert_eq!(s.max_line_bytes.bytes(), 1 << 20);
    assert_eq!(s.mem_buf_limit.bytes(), 32 << 20);
    assert_eq!(s.read_from, ReadFrom::Head);
    assert_eq!(s.retry_limit, None);
    assert_eq!(s.refresh_interval, Duration::from_secs(1));
    assert_eq!(s.config_file, None);
    assert_eq!(s.effective_log_filter(), "warn");
    assert_eq!(s.sources.origin(Key::Output), &Origin::Env);
    assert_eq!(s.sources.origin(Key::KeepLogDays), &Origin::Default);
}

#[test]
fn documented_defaults_parse_to_the_built_in_defaults() {
    let mut vars: Vec<(&str, &str)> = Key::ALL
        .iter()
        .filter(|k| !k.default_text().is_empty())
        .map(|k| (k.env(), k.default_text()))
        .collect();
    vars.push(("LOG_NODE_COUNT", "1"));
    let explicit = load_env(&vars).unwrap();
    let implicit = load_env(&[("LOG_NODE_COUNT", "1")]).unwrap();
    assert_eq!(
        Settings {
            sources: implicit.sources.clone(),
            ..explicit
        },
        implicit
    );
}

#[test]
fn no_destination_is_error_101() {
    let errors = messages(load_env(&[]));
    assert_eq!(errors, [NoDestination.to_string()]);
    assert!(load_env(&[("LOGSHIP_OUTPUT", "file:/tmp/out.ndjson")])
        .unwrap()
        .es
        .is_none());
}

#[test]
fn env_then_file_then_flags() {
    let file = toml_file("keep_log_days = 5\nkube_log_level = 4\nstate_dir = \"/from/file\"\n");
    let env = env_of(&[
        ("KEEP_LOG_DAYS", "1"),
        ("KUBE_LOG_LEVEL", "1"),
        ("NODE_NAME", "node-env"),
        ("LOGSHIP_STATE_DIR", "/from/env"),
        ("LOGSHIP_OUTPUT", "stdout"),
    ]);
    let args = SettingsArgs {
        config: Some(file.path().to_path_buf()),
        keep_log_days: Some("7".into()),
        ..SettingsArgs::default()
    };
    let s = load(&args, &env).unwrap();
    assert_eq!(s.keep_log_days.get(), 7, "flag beats file and env");
    assert_eq!(s.kube_log_level, 4, "file beats env");
    assert_eq!(s.state_dir, Path::new("/from/file"));
    assert_eq!(
        s.node_name.as_deref(),
        Some("node-env"),
        "env beats default"
    );
    assert_eq!(s.config_file.as_deref(), Some(file.path()));
    assert_eq!(s.sources.origin(Key::KeepLogDays), &Origin::Flag);
    assert_eq!(
        s.sources.origin(Key::KubeLogLevel),
        &Origin::File(file.path().to_path_buf())
    );
    assert_eq!(s.sources.origin(Key::NodeName), &Origin::Env);
}

#[test]
fn config_file_from_env_and_empty_values() {
    let file = toml_file("es_server = \"\"\nnode_name = \"from-file\"\n");
    let path = file.path().to_string_lossy().into_owned();
    // The file's empty es_server resets the env's ES_SERVER: no destination.
    let env = env_of(&[("LOGSHIP_CONFIG", &path), ("ES_SERVER", "es:9200")]);
    let errors = messages(load(&SettingsArgs::default(), &env));
    assert_eq!(errors, [NoDestination.to_string()]);
    // An empty flag does the same; an empty env value is "not set".
    let env = env_of(&[
        ("ES_SERVER", "es:9200"),
        ("KEEP_LOG_DAYS", ""),
        ("NODE_NAME", ""),
    ]);
    let args = SettingsArgs {
        es_server: Some(String::new()),
        ..SettingsArgs::default()
    };
    assert_eq!(messages(load(&args, &env)), [NoDestination.to_string()]);
    let s = load(&SettingsArgs::default(), &env).unwrap();
    assert_eq!((s.keep_log_days.get(), s.node_name), (3, None));
    // --config beats LOGSHIP_CONFIG.
    let other = toml_file("node_name = \"other\"\noutput = \"stdout\"\n");
    let env = env_of(&[("LOGSHIP_CONFIG", &path)]);
    let args = SettingsArgs {
        config: Some(other.path().to_path_buf()),
        ..SettingsArgs::default()
    };
    assert_eq!(
        load(&args, &env).unwrap().node_name.as_deref(),
        Some("other")
    );
}

#[test]
fn toml_types() {
    let ok = |text: &str| {
        load(
            &SettingsArgs {
                config: Some(toml_file(text).path().into()),
                ..Default::default()
            },
            &env_of(&[("LOGSHIP_OUTPUT", "stdout")]),
        )
    };
    assert_eq!(ok("keep_log_days = 5").unwrap().keep_log_days.get(), 5);
    assert_eq!(ok("keep_log_days = \"5\"").unwrap().keep_log_days.get(), 5);
    assert!(!ok("replace_dots = false").unwrap().replace_dots);
    assert_eq!(
        ok("flush_interval = \"250ms\"").unwrap().flush_interval,
        Duration::from_millis(250)
    );
    assert_eq!(
        ok("input_glob = [\"/a/*.log\", \"/b/*.log\"]")
            .unwrap()
            .input_globs,
        ["/a/*.log", "/b/*.log"]
    );

    let file =
        toml_file("keep_log_days = \"three\"\nlog_node_count = true\nes_concurrency = 2.5\n");
    let path = file.path().display().to_string();
    let args = SettingsArgs {
        config: Some(file.path().into()),
        ..Default::default()
    };
    assert_eq!(
        messages(load(&args, &env_of(&[("LOGSHIP_OUTPUT", "stdout")]))),
        [
            format!(
                r#"LOG_NODE_COUNT (log_node_count in {path}): "true" is not an integer: expected an integer of 0 or more"#
            ),
            format!(
                r#"KEEP_LOG_DAYS (keep_log_days in {path}): "three" is not an integer: expected an integer from 0 to 30"#
            ),
            format!(
                r#"LOGSHIP_ES_CONCURRENCY (es_concurrency in {path}): "2.5" is not an integer: expected an integer from 1 to 64"#
            ),
        ]
    );
}

#[test]
fn unknown_keys_through_load() {
    let file = toml_file("keep_log_days = 3\nes_host = \"x\"\n");
    let args = SettingsArgs {
        config: Some(file.path().into()),
        output: Some("stdout".into()),
        ..Default::default()
    };
    assert_eq!(
        messages(load(&args, &env_of(&[]))),
        [format!(
            r#"config file {}: unknown key "es_host": not a logship setting"#,
            file.path().display()
        )]
    );
}

#[test]
fn every_error_at_once() {
    let file = toml_file("batch_bytes = \"200MiB\"\n");
    let env = env_of(&[
        ("KEEP_LOG_DAYS", "31"),
        ("ES_SERVER", "es:99999"),
        ("ELK_SERVICE_HOSTS", "elk-a:9200, elk-b:0"),
        ("FLUENT_FORWARD_SERVER", "fwd"),
        ("KUBE_LOG_LEVEL", "-1"),
        ("LOGSHIP_HTTP_ADDR", "localhost:2020"),
        ("LOGSHIP_INPUT_GLOB", "/ok/*.log,/bad/[x.log"),
        ("LOGSHIP_REPLACE_DOTS", "maybe"),
        ("LOGSHIP_FLUSH_INTERVAL", "2h"),
    ]);
    let args = SettingsArgs {
        config: Some(file.path().into()),
        retry_limit: Some("0".into()),
        read_from: Some("middle".into()),
        ..Default::default()
    };
    let path = file.path().display();
    let errors = load(&args, &env).unwrap_err();
    assert_eq!(
        errors.to_string().lines().collect::<Vec<_>>(),
        [
            r#"ELK_SERVICE_HOSTS item 2: "elk-b:0": port 0 is out of range: expected host:port with a port from 1 to 65535, or an http(s):// URL"#,
            r#"ES_SERVER: "es:99999": port 99999 is out of range: expected host:port with a port from 1 to 65535, or an http(s):// URL"#,
            r#"FLUENT_FORWARD_SERVER: "fwd": missing port: expected host:port with a port from 1 to 65535"#,
            r#"KEEP_LOG_DAYS: "31" is out of range: expected an integer from 0 to 30"#,
            r#"KUBE_LOG_LEVEL: "-1" is out of range: expected an integer from 0 to 10"#,
            r#"LOGSHIP_INPUT_GLOB item 2: "/bad/[x.log" is not a valid glob (invalid range pattern at position 5): expected a path pattern such as /var/log/containers/*.log"#,
            r#"LOGSHIP_HTTP_ADDR: "localhost:2020" is not a socket address: expected IP:port, e.g. 0.0.0.0:2020"#,
            &format!(
                r#"LOGSHIP_BATCH_BYTES (batch_bytes in {path}): "200MiB" is out of range: expected a size from 1KiB to 100MiB"#
            ),
            r#"LOGSHIP_FLUSH_INTERVAL: "2h" is out of range: expected a duration from 10ms to 1m"#,
            r#"LOGSHIP_REPLACE_DOTS: "maybe" is not a boolean: expected true/false, on/off, yes/no or 1/0"#,
            r#"LOGSHIP_READ_FROM (--read-from): "middle" is not a start position: expected head or tail"#,
            r#"LOGSHIP_RETRY_LIMIT (--retry-limit): "0" is out of range: expected forever or an integer from 1 to 4294967295"#,
        ]
    );
    assert_eq!(
        errors.len(),
        12,
        "a bad ES_SERVER is not also reported as error 101"
    );
}

#[test]
fn destination_through_load() {
    let s = load_env(&[
        ("LOG_NODE_COUNT", "2"),
        ("ES_SERVER", "https://elastic:hunter2@es.example.com:9243"),
    ])
    .unwrap();
    let plan = s.es.unwrap();
    assert_eq!(plan.chosen, DestinationSource::InCluster);
    assert_eq!(
        plan.endpoints[0].base_url(),
        "http://elasticsearch-logging.kube-system:9200"
    );
    assert_eq!(
        plan.ignored,
        ["ES_SERVER=https://elastic:***@es.example.com:9243 ignored: LOG_NODE_COUNT=2 > 0 selects the in-cluster ES"]
    );

    let s = load_env(&[
        ("IN_CLUSTER_ES", "es-in:9200"),
        ("ELK_SERVICE_HOSTS", "a:9200,,https://b/es/"),
    ])
    .unwrap();
    let plan = s.es.unwrap();
    assert_eq!(plan.chosen, DestinationSource::ElkService);
    let urls: Vec<_> = plan.endpoints.iter().map(EsEndpoint::base_url).collect();
    assert_eq!(urls, ["http://a:9200", "https://b:443/es"]);
    assert_eq!(plan.ignored, ["IN_CLUSTER_ES=http://es-in:9200 ignored: LOG_NODE_COUNT=0, there are no in-cluster log nodes"]);

    let s = load_env(&[("ES_SERVER", "es:9200"), ("LOGSHIP_OUTPUT", "stdout")]).unwrap();
    assert_eq!(s.es, None);
}

#[test]
fn record_must_fit_in_memory_buffer() {
    let errors = messages(load_env(&[
        ("ES_SERVER", "es:9200"),
        ("LOGSHIP_MAX_LINE_BYTES", "64MiB"),
    ]));
    assert_eq!(
        errors,
        [
            r#"LOGSHIP_MAX_LINE_BYTES: "64MiB" is larger than LOGSHIP_MEM_BUF_LIMIT (32MiB): expected at most the memory buffer, which must hold a whole record"#
        ]
    );
    let args = SettingsArgs {
        mem_buf_limit: Some("1MiB".into()),
        max_line_bytes: Some("1MiB".into()),
        ..Default::default()
    };
    assert!(load(&args, &env_of(&[("ES_SERVER", "es:9200")])).is_ok());
}

#[test]
fn log_filter() {
    let level = |n: &str| {
        load_env(&[("LOGSHIP_OUTPUT", "stdout"), ("KUBE_LOG_LEVEL", n)])
            .unwrap()
            .effective_log_filter()
    };
    assert_eq!(
        (level("0"), level("1"), level("2"), level("10")),
        ("warn".into(), "info".into(), "debug".into(), "debug".into())
    );
    let s = load_env(&[
        ("LOGSHIP_OUTPUT", "stdout"),
        ("KUBE_LOG_LEVEL", "2"),
        ("LOGSHIP_LOG", "logship=trace"),
    ])
    .unwrap();
    assert_eq!(s.effective_log_filter(), "logship=trace");
}

#[test]
fn kubernetes_metadata_settings() {
    let s = load_env(&[("LOGSHIP_OUTPUT", "stdout")]).unwrap();
    assert!(s.kube_metadata && s.kube_labels && s.kube_annotations);
    assert_eq!(s.kubeconfig, None);
    assert_eq!(s.kube_wait, Duration::from_secs(2));
    assert_eq!(s.kube_delete_delay, Duration::from_secs(60));
    assert_eq!(s.kube_metadata_active(), None, "no NODE_NAME, no watch");

    let file = toml_file("kube_wait = \"250ms\"\nkube_labels = false\n");
    let env = env_of(&[
        ("LOGSHIP_OUTPUT", "stdout"),
        ("NODE_NAME", "node-a"),
        ("LOGSHIP_KUBECONFIG", "/env/kubeconfig"),
        ("LOGSHIP_KUBE_DELETE_DELAY", "0"),
    ]);
    let args = SettingsArgs {
        config: Some(file.path().into()),
        kubeconfig: Some("/flag/kubeconfig".into()),
        kube_annotations: Some("no".into()),
        ..Default::default()
    };
    let s = load(&args, &env).unwrap();
    assert_eq!(s.kube_metadata_active(), Some("node-a"));
    assert_eq!(s.kubeconfig.as_deref(), Some(Path::new("/flag/kubeconfig")));
    assert_eq!(s.kube_wait, Duration::from_millis(250));
    assert!(!s.kube_labels && !s.kube_annotations);
    assert_eq!(s.kube_delete_delay, Duration::ZERO);
    assert_eq!(s.sources.origin(Key::Kubeconfig), &Origin::Flag);

    let off = load_env(&[
        ("LOGSHIP_OUTPUT", "stdout"),
        ("NODE_NAME", "node-a"),
        ("LOGSHIP_KUBE_METADATA", "false"),
    ])
    .unwrap();
    assert_eq!(off.kube_metadata_active(), None);

    let errors = messages(load_env(&[
        ("LOGSHIP_OUTPUT", "stdout"),
        ("LOGSHIP_KUBE_METADATA", "sometimes"),
        ("LOGSHIP_KUBE_WAIT", "2m"),
        ("LOGSHIP_KUBE_LABELS", "2"),
        ("LOGSHIP_KUBE_DELETE_DELAY", "2h"),
    ]));
    assert_eq!(
        errors,
        [
            r#"LOGSHIP_KUBE_METADATA: "sometimes" is not a boolean: expected true/false, on/off, yes/no or 1/0"#,
            r#"LOGSHIP_KUBE_WAIT: "2m" is out of range: expected a duration from 0s to 1m"#,
            r#"LOGSHIP_KUBE_LABELS: "2" is not a boolean: expected true/false, on/off, yes/no or 1/0"#,
            r#"LOGSHIP_KUBE_DELETE_DELAY: "2h" is out of range: expected a duration from 0s to 1h"#,
        ]
    );
}

#[test]
fn journald_settings_defaults_values_and_errors() {
    let s = load_env(&[("LOGSHIP_OUTPUT", "stdout")]).unwrap();
    assert!(
        !s.journald,
        "off unless asked for: a laptop has no kubelet journal"
    );
    assert_eq!(s.journald_units, ["docker.service", "kubelet.service"]);
    assert_eq!(s.journal_dir, None);

    let s = load_env(&[
        ("LOGSHIP_OUTPUT", "stdout"),
        ("LOGSHIP_JOURNALD", "true"),
        (
            "LOGSHIP_JOURNALD_UNITS",
            " kubelet , containerd.service,,user@1000.service",
        ),
        ("LOGSHIP_JOURNAL_DIR", "/run/log/journal"),
    ])
    .unwrap();
    assert!(s.journald);
    assert_eq!(
        s.journald_units,
        ["kubelet.service", "containerd.service", "user@1000.service"]
    );
    assert_eq!(s.journal_dir, Some(Path::new("/run/log/journal").into()));
    assert_eq!(s.sources.origin(Key::JournaldUnits), &Origin::Env);

    let file = toml_file("journald = true\njournald_units = [\"docker\", \"crio.service\"]\n");
    let s = load(
        &SettingsArgs {
            config: Some(file.path().into()),
            output: Some("stdout".into()),
            ..Default::default()
        },
        &env_of(&[]),
    )
    .unwrap();
    assert!(s.journald);
    assert_eq!(s.journald_units, ["docker.service", "crio.service"]);

    assert_eq!(
        messages(load_env(&[
            ("LOGSHIP_OUTPUT", "stdout"),
            ("LOGSHIP_JOURNALD", "maybe"),
            ("LOGSHIP_JOURNALD_UNITS", "docker.service,kube let,.service"),
        ])),
        [
            r#"LOGSHIP_JOURNALD: "maybe" is not a boolean: expected true/false, on/off, yes/no or 1/0"#,
            r#"LOGSHIP_JOURNALD_UNITS item 2: "kube let" is not a systemd unit name: expected a name such as docker.service (letters, digits and :-_.\@, at most 256 characters)"#,
            r#"LOGSHIP_JOURNALD_UNITS item 3: ".service" is not a systemd unit name: expected a name such as docker.service (letters, digits and :-_.\@, at most 256 characters)"#,
        ]
    );
}

#[test]
fn forward_settings_defaults_values_and_errors() {
    let s = load_env(&[("LOGSHIP_OUTPUT", "stdout")]).unwrap();
    assert_eq!(
        s.forward_listen,
        Some("0.0.0.0:24224".parse::<SocketAddr>().unwrap())
    );
    assert!(s.forward_ack);
    assert_eq!(s.forward_compress, ForwardCompress::None);
    assert_eq!(
        (&s.forward_shared_key, &s.forward_shared_key_file),
        (&None, &None)
    );
    assert_eq!(s.forward_spool_limit.bytes(), 256 << 20);
    assert_eq!(s.forward_timeout, Duration::from_secs(30));

    let s = load_env(&[
        ("LOGSHIP_OUTPUT", "stdout"),
        ("LOGSHIP_FORWARD_LISTEN", "127.0.0.1:0"),
        ("LOGSHIP_FORWARD_ACK", "off"),
        ("LOGSHIP_FORWARD_COMPRESS", "GZIP"),
        ("LOGSHIP_FORWARD_SHARED_KEY_FILE", "/secrets/key"),
        ("LOGSHIP_FORWARD_SPOOL_LIMIT", "1MiB"),
        ("LOGSHIP_FORWARD_TIMEOUT", "500ms"),
    ])
    .unwrap();
    assert_eq!(s.forward_listen, Some("127.0.0.1:0".parse().unwrap()));
    assert!(!s.forward_ack);
    assert_eq!(s.forward_compress, ForwardCompress::Gzip);
    assert_eq!(
        s.forward_shared_key_file,
        Some(Path::new("/secrets/key").into())
    );
    assert_eq!(s.forward_spool_limit.bytes(), 1 << 20);
    assert_eq!(s.forward_timeout, Duration::from_millis(500));
    assert_eq!(
        load_env(&[
            ("LOGSHIP_OUTPUT", "stdout"),
            ("LOGSHIP_FORWARD_LISTEN", "off")
        ])
        .unwrap()
        .forward_listen,
        None
    );
    let s = load_env(&[
        ("LOGSHIP_OUTPUT", "stdout"),
        ("LOGSHIP_FORWARD_SHARED_KEY", "k3y"),
    ])
    .unwrap();
    assert_eq!(
        s.forward_shared_key.as_ref().map(Secret::expose),
        Some("k3y")
    );

    let errors = messages(load_env(&[
        ("LOGSHIP_OUTPUT", "stdout"),
        ("LOGSHIP_FORWARD_LISTEN", "24224"),
        ("LOGSHIP_FORWARD_ACK", "maybe"),
        ("LOGSHIP_FORWARD_COMPRESS", "zstd"),
        ("LOGSHIP_FORWARD_SHARED_KEY", "k"),
        ("LOGSHIP_FORWARD_SHARED_KEY_FILE", "/k"),
        ("LOGSHIP_FORWARD_SPOOL_LIMIT", "10KiB"),
        ("LOGSHIP_FORWARD_TIMEOUT", "1h"),
    ]));
    assert_eq!(
        errors,
        [
            "LOGSHIP_FORWARD_LISTEN: \"24224\" is not a listen address: expected IP:port, e.g. 0.0.0.0:24224, or off",
            "LOGSHIP_FORWARD_ACK: \"maybe\" is not a boolean: expected true/false, on/off, yes/no or 1/0",
            "LOGSHIP_FORWARD_COMPRESS: \"zstd\" is not a compression: expected none or gzip",
            "LOGSHIP_FORWARD_SHARED_KEY_FILE: is set as well as LOGSHIP_FORWARD_SHARED_KEY: expected one of the two",
            "LOGSHIP_FORWARD_SPOOL_LIMIT: \"10KiB\" is out of range: expected a size from 1MiB to 1TiB",
            "LOGSHIP_FORWARD_TIMEOUT: \"1h\" is out of range: expected a duration from 100ms to 10m",
        ]
    );
}

#[test]
fn log_format_is_text_or_json() {
    let load_with = |v: &str| {
        let env: std::collections::HashMap<&str, &str> =
            [("LOGSHIP_OUTPUT", "stdout"), ("LOGSHIP_LOG_FORMAT", v)].into();
        crate::load(&crate::SettingsArgs::default(), &|k| {
            env.get(k).map(|v| v.to_string())
        })
    };
    assert!(!load_with("text").map(|s| s.log_json).unwrap_or(true));
    assert!(load_with("json").map(|s| s.log_json).unwrap_or(false));
    let err = load_with("xml")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("LOGSHIP_LOG_FORMAT")
            && err.contains("\"xml\"")
            && err.contains("text or json"),
        "{err}"
    );
}

#[test]
fn elasticsearch_security_settings() {
    let s = load_env(&[("ES_SERVER", "https://es:9200")]).unwrap();
    assert_eq!(s.es_username, None);
    assert_eq!((&s.es_password, &s.es_password_file), (&None, &None));
    assert_eq!((&s.es_api_key, &s.es_api_key_file), (&None, &None));
    assert_eq!(s.es_ca_file, None);
    assert!(!s.es_insecure_skip_verify);
    assert_eq!(
        (&s.es_client_cert_file, &s.es_client_key_file),
        (&None, &None)
    );

    let s = load_env(&[
        ("ES_SERVER", "https://es:9200"),
        ("LOGSHIP_ES_USERNAME", "logship"),
        ("LOGSHIP_ES_PASSWORD_FILE", "/secrets/es/password"),
        ("LOGSHIP_ES_CA_FILE", "/secrets/es/ca.pem"),
        ("LOGSHIP_ES_INSECURE_SKIP_VERIFY", "yes"),
        ("LOGSHIP_ES_CLIENT_CERT_FILE", "/secrets/es/tls.crt"),
        ("LOGSHIP_ES_CLIENT_KEY_FILE", "/secrets/es/tls.key"),
    ])
    .unwrap();
    assert_eq!(s.es_username.as_deref(), Some("logship"));
    assert_eq!(
        s.es_password_file,
        Some(Path::new("/secrets/es/password").into())
    );
    assert_eq!(s.es_ca_file, Some(Path::new("/secrets/es/ca.pem").into()));
    assert!(s.es_insecure_skip_verify);
    assert_eq!(
        s.es_client_key_file,
        Some(Path::new("/secrets/es/tls.key").into())
    );

    let s = load_env(&[("ES_SERVER", "es:9200"), ("LOGSHIP_ES_API_KEY", "a2V5")]).unwrap();
    assert_eq!(s.es_api_key.as_ref().map(Secret::expose), Some("a2V5"));
    assert!(!format!("{s:?}").contains("a2V5"));

    let errors = messages(load_env(&[
        ("ES_SERVER", "es:9200"),
        ("LOGSHIP_ES_USERNAME", "u"),
        ("LOGSHIP_ES_PASSWORD", "p"),
        ("LOGSHIP_ES_PASSWORD_FILE", "/p"),
        ("LOGSHIP_ES_API_KEY", "k"),
        ("LOGSHIP_ES_API_KEY_FILE", "/k"),
        ("LOGSHIP_ES_INSECURE_SKIP_VERIFY", "maybe"),
        ("LOGSHIP_ES_CLIENT_CERT_FILE", "/c"),
    ]));
    assert_eq!(
        errors,
        [
            "LOGSHIP_ES_INSECURE_SKIP_VERIFY: \"maybe\" is not a boolean: expected true/false, on/off, yes/no or 1/0",
            "LOGSHIP_ES_PASSWORD_FILE: is set as well as LOGSHIP_ES_PASSWORD: expected one of the two",
            "LOGSHIP_ES_API_KEY_FILE: is set as well as LOGSHIP_ES_API_KEY: expected one of the two",
            "LOGSHIP_ES_API_KEY: is set as well as LOGSHIP_ES_USERNAME: expected basic auth or an API key, not both",
            "LOGSHIP_ES_CLIENT_CERT_FILE: is set without LOGSHIP_ES_CLIENT_KEY_FILE: expected both",
        ]
    );
    assert!(errors
        .iter()
        .all(|e| !e.contains("\"p\"") && !e.contains("\"k\"")));
    assert_eq!(
        messages(load_env(&[("ES_SERVER", "es:9200"), ("LOGSHIP_ES_USERNAME", "u")])),
        ["LOGSHIP_ES_USERNAME: is set without a password: expected LOGSHIP_ES_PASSWORD or LOGSHIP_ES_PASSWORD_FILE too"]
    );
    assert_eq!(
        messages(load_env(&[
            ("ES_SERVER", "es:9200"),
            ("LOGSHIP_ES_PASSWORD", "p")
        ])),
        ["LOGSHIP_ES_PASSWORD: is set without LOGSHIP_ES_USERNAME: expected the user too"]
    );
}

#[test]
fn secret_files_lose_their_trailing_newline_and_errors_name_setting_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("password");
    std::fs::write(&path, "s3cret\r\n").unwrap();
    let secret = read_secret_file(Key::EsPasswordFile, &path).unwrap();
    assert_eq!(secret.expose(), "s3cret");
    let missing = dir.path().join("missing");
    let err = read_secret_file(Key::EsApiKeyFile, &missing).unwrap_err();
    assert!(
        err.starts_with(&format!(
            "LOGSHIP_ES_API_KEY_FILE: cannot read {}",
            missing.display()
        )),
        "{err}"
    );
    std::fs::write(&path, "\n").unwrap();
    let err = read_secret_file(Key::EsPasswordFile, &path).unwrap_err();
    assert!(err.ends_with("is empty"), "{err}");
}
