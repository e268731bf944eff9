//! The forward output over TLS (issue 5; Fluentd's `<transport tls>`): the real binary and the
//! forward server double behind rustls with a certificate from a throw-away CA, plus the
//! `shared_key` handshake inside the TLS session. A server the agent does not trust gets
//! nothing (the records wait in the spool, Elasticsearch gets everything at once); trusted
//! through `LOGSHIP_FORWARD_TLS_CA_FILE`, it gets every record exactly once.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use logship_testkit::es::{EsDouble, EsOptions};
use logship_testkit::forward::{ForwardOptions, ForwardServer};
use logship_testkit::tls::TestPki;

const T: &str = "2026-11-22T10:00:00.000000001Z";
const WAIT: Duration = Duration::from_secs(60);
const KEY: &str = "tls-and-a-shared-key";
const N: usize = 500;

fn env(node: &Node, es: &EsDouble, fwd: &ForwardServer) -> Vec<(&'static str, String)> {
    let mut env = node.agent_env(es.url());
    env.extend([
        ("LOGSHIP_FORWARD_TIMEOUT", "2s".into()),
        ("FLUENT_FORWARD_SERVER", fwd.addr().to_string()),
        ("LOGSHIP_FORWARD_TLS", "true".into()),
        ("LOGSHIP_FORWARD_SHARED_KEY", KEY.into()),
    ]);
    env
}

#[test]
fn tls_to_the_forward_server_with_the_ca_file_delivers_every_record_once() {
    let node = Node::new();
    let pki = TestPki::generate(node.dir.path()).expect("test certificates");
    let es = EsDouble::start(EsOptions::default()).expect("es");
    let fwd = ForwardServer::start(ForwardOptions {
        tls: Some(pki.server_config().expect("server config")),
        shared_key: Some(KEY.into()),
        ..ForwardOptions::default()
    })
    .expect("forward");
    let f = node.container("web", "default", "app", 1);
    let text: String = (0..N)
        .map(|i| docker_line(&format!("t{i}"), "stdout", T, false))
        .collect();
    f.append(text.as_bytes());

    // The CA is not known: every TLS handshake fails, nothing reaches the forward server, and
    // Elasticsearch is not held back.
    let vars = env(&node, &es, &fwd);
    let agent = Agent::start(node.dir.path(), &["run"], &vars);
    assert!(es.wait_for_docs(N, WAIT), "{}", agent.stderr());
    assert!(
        eventually(WAIT, || fwd.stats().tls_failed >= 2),
        "{}",
        agent.stderr()
    );
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    assert!(log.contains("UnknownIssuer"), "{log}");
    assert_eq!(fwd.stats().events, 0);
    assert_eq!(fwd.stats().handshakes_ok, 0);

    // Trusted: the spooled records arrive, each once, through the shared_key handshake.
    let mut vars = vars;
    vars.push((
        "LOGSHIP_FORWARD_TLS_CA_FILE",
        pki.ca_cert.display().to_string(),
    ));
    let agent = Agent::start(node.dir.path(), &["run"], &vars);
    assert!(fwd.wait_for_events(N, WAIT), "{}", agent.stderr());
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
    let mut seen: HashMap<String, usize> = HashMap::new();
    for e in fwd.events() {
        let log = e.record["log"].as_str().unwrap_or_default().trim_end();
        *seen.entry(log.to_owned()).or_default() += 1;
    }
    assert_eq!(fwd.events().len(), N);
    assert_eq!(seen.len(), N);
    assert!((0..N).all(|i| seen.get(&format!("t{i}")) == Some(&1)));
    assert_eq!(fwd.violations(), Vec::<String>::new());
    assert!(fwd.stats().handshakes_ok >= 1);
    assert_eq!(es.stats().distinct_docs, N as u64);

    let (code, plan) = check_config(&vars);
    assert_eq!(code, 0, "{plan}");
    assert!(
        plan.contains(&format!(
            "  tls: server verified against the system roots and {}",
            pki.ca_cert.display()
        )),
        "{plan}"
    );
}

#[test]
fn tls_details_without_tls_and_a_certificate_without_its_key_stop_the_start() {
    let node = Node::new();
    let es = EsDouble::start(EsOptions::default()).expect("es");
    let fwd = ForwardServer::start(ForwardOptions::default()).expect("forward");
    let mut vars = env(&node, &es, &fwd);
    vars.retain(|(k, _)| *k != "LOGSHIP_FORWARD_TLS");
    vars.push(("LOGSHIP_FORWARD_TLS_CA_FILE", "/etc/fluentd/ca.pem".into()));
    vars.push((
        "LOGSHIP_FORWARD_TLS_CLIENT_CERT_FILE",
        "/etc/fluentd/client.pem".into(),
    ));
    let (code, out) = check_config(&vars);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("LOGSHIP_FORWARD_TLS_CA_FILE: is set but LOGSHIP_FORWARD_TLS is off: expected LOGSHIP_FORWARD_TLS=true as well"),
        "{out}"
    );
    assert!(
        out.contains("LOGSHIP_FORWARD_TLS_CLIENT_CERT_FILE: is set without LOGSHIP_FORWARD_TLS_CLIENT_KEY_FILE: expected both"),
        "{out}"
    );
    let (code, out) = check_config(&env(&node, &es, &fwd));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("  tls: server verified against the system roots\n"),
        "{out}"
    );
}
