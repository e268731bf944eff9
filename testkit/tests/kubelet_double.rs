//! The kubelet double as the metrics source sees it: a bearer token or 401 `Unauthorized`, the
//! queue of summaries (the last one repeated), and the faults.

mod common;

use std::time::Duration;

use common::request;
use logship_testkit::kubelet::{KubeletDouble, KubeletFault, KubeletOptions};

fn double() -> KubeletDouble {
    KubeletDouble::start(KubeletOptions {
        pki: None,
        token: "s3cret".into(),
        summaries: vec![b"{\"n\":1}".to_vec(), b"{\"n\":2}".to_vec()],
    })
    .unwrap()
}

fn summary(k: &KubeletDouble, auth: Option<&str>) -> (u16, String) {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
    let r = request(k.addr(), "GET", "/stats/summary", &headers, b"").unwrap();
    (r.status, r.text())
}

#[test]
fn a_token_is_required_and_the_queue_ends_on_its_last_summary() {
    let k = double();
    assert_eq!(summary(&k, None), (401, "Unauthorized".into()));
    assert_eq!(
        summary(&k, Some("Bearer wrong")),
        (401, "Unauthorized".into())
    );
    let ok = Some("Bearer s3cret");
    assert_eq!(summary(&k, ok), (200, "{\"n\":1}".into()));
    assert_eq!(summary(&k, ok), (200, "{\"n\":2}".into()));
    assert_eq!(summary(&k, ok), (200, "{\"n\":2}".into()));
    let r = request(
        k.addr(),
        "GET",
        "/pods",
        &[("Authorization", "Bearer s3cret")],
        b"",
    )
    .unwrap();
    assert_eq!(r.status, 404);
    let stats = k.stats();
    assert_eq!(
        (stats.requests, stats.unauthorized, stats.summaries),
        (6, 2, 3)
    );
}

#[test]
fn faults_garbage_status_and_down() {
    let k = double();
    let ok = Some("Bearer s3cret");
    k.set_fault(Some(KubeletFault::Garbage("<html>".into())));
    assert_eq!(summary(&k, ok), (200, "<html>".into()));
    k.set_fault(Some(KubeletFault::Status(500)));
    assert_eq!(summary(&k, ok).0, 500);
    k.set_fault(None);
    k.set_down(true);
    let refused = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        std::net::TcpStream::connect(k.addr()).is_err()
    });
    assert!(refused, "down refuses connections");
    k.set_down(false);
    let back = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        std::net::TcpStream::connect(k.addr()).is_ok()
    });
    assert!(back, "up again on the same port");
    assert_eq!(
        summary(&k, ok),
        (200, "{\"n\":1}".into()),
        "a fault serves no summary"
    );
}
