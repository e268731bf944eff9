//! End to end: the real binary ships to an https Elasticsearch (the test double behind rustls,
//! with a certificate signed by a throw-away CA) and to one that requires credentials (basic
//! auth from a password file, an API key), with exact counts; the secrets never show up in the
//! agent's log or in `check-config`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;
use logship_testkit::es::{EsAuth, EsDouble, EsOptions};
use logship_testkit::tls::TestPki;

const PASSWORD: &str = "pw-9f3e1c-very-secret";
const API_KEY: &str = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==";

/// `n` lines in one Docker-format container file.
fn write_lines(node: &Node, n: usize) {
    let f = node.container("app-tls", "shop", "web", 7);
    let mut text = String::new();
    for i in 0..n {
        let time = format!("2026-11-22T00:00:{:02}.{:03}Z", i / 1000, i % 1000);
        text.push_str(&line(
            Format::Docker,
            &format!("secure line {i}"),
            "stdout",
            &time,
        ));
    }
    f.append(text.as_bytes());
}

fn base_env(node: &Node, es: &EsDouble) -> Vec<(&'static str, String)> {
    with_env(node.agent_env(es.url()), "LOGSHIP_FLUSH_INTERVAL", "200ms")
}

fn with(
    mut env: Vec<(&'static str, String)>,
    extra: &[(&'static str, String)],
) -> Vec<(&'static str, String)> {
    env.extend(extra.iter().cloned());
    env
}

fn tls_es(dir: &Path, auth: Option<EsAuth>) -> (EsDouble, TestPki) {
    let pki = TestPki::generate(dir).expect("test certificates");
    let es = EsDouble::start(EsOptions {
        tls: Some(pki.server_config().expect("server config")),
        auth,
        ..EsOptions::default()
    })
    .expect("es");
    assert!(es.url().starts_with("https://"));
    (es, pki)
}

/// The plan as printed (the exit code is checked where it matters).
fn check_config_text(env: &[(&'static str, String)]) -> String {
    check_config(env).1
}

const N: usize = 40;

#[test]
fn https_with_the_ca_file_ships_every_line() {
    let node = Node::new();
    let (es, pki) = tls_es(node.dir.path(), None);
    write_lines(&node, N);
    let env = with(
        base_env(&node, &es),
        &[("LOGSHIP_ES_CA_FILE", pki.ca_cert.display().to_string())],
    );
    let agent = Agent::start(node.dir.path(), &["run"], &env);
    assert!(
        es.wait_for_docs(N, Duration::from_secs(30)),
        "agent log:\n{}",
        agent.stderr()
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    assert_eq!(es.docs().len(), N);
    assert_eq!(es.stats().distinct_docs, N as u64);
    let plan = check_config_text(&env);
    assert!(
        plan.contains("tls: server verified against the system roots and"),
        "{plan}"
    );
}

#[test]
fn an_untrusted_certificate_is_retried_until_verification_is_skipped() {
    let node = Node::new();
    let (es, _pki) = tls_es(node.dir.path(), None);
    write_lines(&node, N);
    let env = base_env(&node, &es);
    let agent = Agent::start(node.dir.path(), &["run"], &env);
    assert!(
        eventually(Duration::from_secs(20), || agent
            .stderr()
            .contains("certificate")),
        "a certificate error in the log:\n{}",
        agent.stderr()
    );
    // Still running and still trying: give it a few more attempts, nothing arrives.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(es.docs().len(), 0);
    let log = agent.stderr();
    assert!(
        log.contains("UnknownIssuer") || log.contains("invalid peer certificate"),
        "{log}"
    );
    assert!(log.contains("retrying"), "{log}");
    let (_, _) = agent.terminate();
    assert_eq!(es.docs().len(), 0);

    let insecure = with(env, &[("LOGSHIP_ES_INSECURE_SKIP_VERIFY", "true".into())]);
    let agent = Agent::start(node.dir.path(), &["run"], &insecure);
    assert!(
        es.wait_for_docs(N, Duration::from_secs(30)),
        "agent log:\n{}",
        agent.stderr()
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    assert!(
        log.contains("LOGSHIP_ES_INSECURE_SKIP_VERIFY=true"),
        "{log}"
    );
    assert_eq!(es.docs().len(), N);
    assert_eq!(es.stats().distinct_docs, N as u64);
}

#[test]
fn a_server_that_requires_a_client_certificate_gets_it() {
    let node = Node::new();
    let pki = TestPki::generate(node.dir.path()).expect("test certificates");
    let es = EsDouble::start(EsOptions {
        tls: Some(
            pki.server_config_requiring_client_cert()
                .expect("server config"),
        ),
        ..EsOptions::default()
    })
    .expect("es");
    write_lines(&node, N);
    let env = with(
        base_env(&node, &es),
        &[("LOGSHIP_ES_CA_FILE", pki.ca_cert.display().to_string())],
    );

    // Without a certificate the server ends every handshake: nothing is shipped, nothing lost.
    let agent = Agent::start(node.dir.path(), &["run"], &env);
    assert!(
        eventually(Duration::from_secs(20), || agent
            .stderr()
            .contains("CertificateRequired")),
        "the server's alert in the log:\n{}",
        agent.stderr()
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    assert_eq!(es.docs().len(), 0);

    let env = with(
        env,
        &[
            (
                "LOGSHIP_ES_CLIENT_CERT_FILE",
                pki.client_cert.display().to_string(),
            ),
            (
                "LOGSHIP_ES_CLIENT_KEY_FILE",
                pki.client_key.display().to_string(),
            ),
        ],
    );
    let agent = Agent::start(node.dir.path(), &["run"], &env);
    assert!(
        es.wait_for_docs(N, Duration::from_secs(30)),
        "agent log:\n{}",
        agent.stderr()
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    assert_eq!(es.docs().len(), N);
    assert_eq!(es.stats().distinct_docs, N as u64);
    let plan = check_config_text(&env);
    assert!(
        plan.contains(&format!(
            "; client certificate {}",
            pki.client_cert.display()
        )),
        "{plan}"
    );
}

#[test]
fn basic_auth_from_a_password_file_and_a_wrong_password_loses_nothing() {
    let node = Node::new();
    let (es, pki) = tls_es(node.dir.path(), Some(EsAuth::basic("logship", PASSWORD)));
    write_lines(&node, N);
    let password_file = node.dir.path().join("es-password");
    std::fs::write(&password_file, "wrong-password-123\n").expect("password file");
    let env = with(
        base_env(&node, &es),
        &[
            ("LOGSHIP_ES_CA_FILE", pki.ca_cert.display().to_string()),
            ("LOGSHIP_ES_USERNAME", "logship".into()),
            (
                "LOGSHIP_ES_PASSWORD_FILE",
                password_file.display().to_string(),
            ),
        ],
    );
    let agent = Agent::start(node.dir.path(), &["run"], &env);
    assert!(
        eventually(Duration::from_secs(20), || agent.stderr().contains("401")),
        "a 401 in the log:\n{}",
        agent.stderr()
    );
    assert!(es.requests().iter().any(|r| r.status == Some(401)));
    let (_, log) = agent.terminate();
    assert!(!log.contains("wrong-password-123"), "{log}");
    assert_eq!(es.docs().len(), 0);

    // The Secret is fixed (a file with its trailing newline): everything arrives, once.
    std::fs::write(&password_file, format!("{PASSWORD}\n")).expect("password file");
    let agent = Agent::start(node.dir.path(), &["run"], &env);
    assert!(
        es.wait_for_docs(N, Duration::from_secs(30)),
        "agent log:\n{}",
        agent.stderr()
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    assert!(!log.contains(PASSWORD), "{log}");
    assert_eq!(es.docs().len(), N);
    assert_eq!(es.stats().distinct_docs, N as u64);

    let plan = check_config_text(&env);
    assert!(
        plan.contains("basic, user logship, password from"),
        "{plan}"
    );
    assert!(!plan.contains(PASSWORD), "{plan}");
    let inline = with(
        base_env(&node, &es),
        &[
            ("LOGSHIP_ES_USERNAME", "logship".into()),
            ("LOGSHIP_ES_PASSWORD", PASSWORD.into()),
        ],
    );
    let plan = check_config_text(&inline);
    assert!(plan.contains("password ***"), "{plan}");
    assert!(!plan.contains(PASSWORD), "{plan}");
}

#[test]
fn an_api_key_ships_every_line_and_is_never_printed() {
    let node = Node::new();
    let (es, pki) = tls_es(node.dir.path(), Some(EsAuth::api_key(API_KEY)));
    write_lines(&node, N);
    let env = with(
        base_env(&node, &es),
        &[
            ("LOGSHIP_ES_CA_FILE", pki.ca_cert.display().to_string()),
            ("LOGSHIP_ES_API_KEY", API_KEY.into()),
            ("LOGSHIP_LOG", "debug".into()),
        ],
    );
    let agent = Agent::start(node.dir.path(), &["run"], &env);
    assert!(
        es.wait_for_docs(N, Duration::from_secs(30)),
        "agent log:\n{}",
        agent.stderr()
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    assert!(!log.contains(API_KEY), "{log}");
    assert_eq!(es.docs().len(), N);
    assert_eq!(es.stats().distinct_docs, N as u64);
    assert!(es.requests().iter().all(|r| r.status != Some(401)));

    let plan = check_config_text(&env);
    assert!(
        plan.contains("auth: API key (LOGSHIP_ES_API_KEY, ***)"),
        "{plan}"
    );
    assert!(!plan.contains(API_KEY), "{plan}");
}

#[test]
fn an_unreadable_password_file_stops_the_start_naming_setting_and_path() {
    let node = Node::new();
    let es = EsDouble::start(EsOptions::default()).expect("es");
    let env = with(
        base_env(&node, &es),
        &[
            ("LOGSHIP_ES_USERNAME", "logship".into()),
            (
                "LOGSHIP_ES_PASSWORD_FILE",
                "/nonexistent/es-password".into(),
            ),
        ],
    );
    let agent = Agent::start(node.dir.path(), &["run"], &env);
    let (status, log) = agent.wait(Duration::from_secs(20));
    assert!(!status.success(), "{log}");
    assert!(
        log.contains("LOGSHIP_ES_PASSWORD_FILE: cannot read /nonexistent/es-password"),
        "{log}"
    );
}

#[test]
fn retention_uses_the_same_tls_and_credentials() {
    use logship_testkit::es::SeedIndex;
    let node = Node::new();
    let (es, pki) = tls_es(node.dir.path(), Some(EsAuth::basic("logship", PASSWORD)));
    es.seed(&[
        SeedIndex {
            name: "logstash-2026.11.01".into(),
            ..SeedIndex::default()
        },
        SeedIndex {
            name: "logstash-2026.11.22".into(),
            ..SeedIndex::default()
        },
    ])
    .expect("seed");
    let password_file = node.dir.path().join("es-password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).expect("password file");
    let out = Command::new(BIN)
        .args(["retention", "--now", "2026-11-22T01:00:00Z"])
        .env_clear()
        .env("ES_SERVER", es.url())
        .env("KEEP_LOG_DAYS", "3")
        .env("LOGSHIP_ES_CA_FILE", &pki.ca_cert)
        .env("LOGSHIP_ES_USERNAME", "logship")
        .env("LOGSHIP_ES_PASSWORD_FILE", &password_file)
        .output()
        .expect("logship retention");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(!stdout.contains(PASSWORD) && !stderr.contains(PASSWORD));
    assert_eq!(es.index_names(), vec!["logstash-2026.11.22".to_string()]);
}
