//! `/metrics`, `/healthz` and `/readyz` during a real run: the counters equal what was shipped,
//! and the text parses as Prometheus exposition format.

mod common;

use std::time::Duration;

use common::*;
use logship_testkit::es::{EsDouble, EsOptions};

const T: &str = "2026-11-22T10:00:00.000000001Z";

fn value(samples: &[prometheus_parse::Sample], name: &str, label: (&str, &str)) -> f64 {
    let s = samples
        .iter()
        .find(|s| s.metric == name && s.labels.get(label.0) == Some(label.1))
        .unwrap_or_else(|| panic!("no {name}{{{}={}}}", label.0, label.1));
    match s.value {
        prometheus_parse::Value::Counter(v)
        | prometheus_parse::Value::Gauge(v)
        | prometheus_parse::Value::Untyped(v) => v,
        _ => panic!("{name} is not a number"),
    }
}

#[test]
fn metrics_count_what_was_shipped() {
    let es = EsDouble::start(EsOptions::default()).expect("es");
    let node = Node::new();
    let n = 700u64;
    for fi in 0..3 {
        let f = node.container(&format!("m-{fi}"), "default", "app", 70 + fi);
        let mut text = String::new();
        for i in 0..n {
            let msg = if i % 2 == 0 {
                format!("{{\"i\":{i}}}")
            } else {
                format!("plain {i}")
            };
            text.push_str(&docker_line(&msg, "stdout", T, false));
        }
        f.append(text.as_bytes());
    }
    let env = node.agent_env(es.url());
    let agent = Agent::start(node.dir.path(), &["run"], &env);
    assert!(
        es.wait_for_docs(3 * n as usize, Duration::from_secs(30)),
        "{}",
        agent.stderr()
    );
    let addr = http_addr(&agent).expect("the agent logs its HTTP address");
    // The counters follow the acknowledgements; wait for the last one to be counted.
    let mut text = String::new();
    assert!(
        eventually(Duration::from_secs(10), || {
            text = http_get(&addr, "/metrics").1;
            text.contains(&format!(
                "logship_output_records_total{{output=\"elasticsearch\"}} {}",
                3 * n
            ))
        }),
        "{text}"
    );
    let lines: Vec<std::io::Result<String>> = text.lines().map(|l| Ok(l.to_owned())).collect();
    let scrape =
        prometheus_parse::Scrape::parse(lines.into_iter()).expect("Prometheus text format");
    let s = &scrape.samples;
    let files = ("input", "files");
    let es_out = ("output", "elasticsearch");
    assert_eq!(
        value(s, "logship_input_records_total", files),
        (3 * n) as f64
    );
    assert_eq!(value(s, "logship_input_lines_total", files), (3 * n) as f64);
    assert_eq!(
        value(s, "logship_input_merged_records_total", files),
        (3 * n / 2) as f64
    );
    assert_eq!(
        value(s, "logship_output_records_total", es_out),
        (3 * n) as f64
    );
    assert_eq!(
        value(s, "logship_output_dead_lettered_records_total", es_out),
        0.0
    );
    assert_eq!(
        value(s, "logship_output_dropped_records_total", es_out),
        0.0
    );
    assert_eq!(value(s, "logship_files_opened_total", files), 3.0);
    assert!(eventually(Duration::from_secs(5), || {
        let t = http_get(&addr, "/metrics").1;
        t.contains("logship_files_tailed{input=\"files\"} 3")
            && t.contains("logship_input_lag_bytes{input=\"files\"} 0")
    }));
    let input_bytes = value(s, "logship_input_bytes_total", files);
    let on_disk: u64 = std::fs::read_dir(node.dir.path().join("containers"))
        .expect("dir")
        .map(|e| {
            std::fs::metadata(e.expect("entry").path())
                .expect("meta")
                .len()
        })
        .sum();
    assert_eq!(input_bytes, on_disk as f64);
    assert!(text.contains("logship_build_info{version=\""), "{text}");
    assert_eq!(http_get(&addr, "/healthz").0, 200);
    assert_eq!(http_get(&addr, "/readyz").0, 200);
    assert_eq!(http_get(&addr, "/nope").0, 404);
    let (status, log) = agent.terminate();
    assert!(status.success(), "{log}");
}

#[test]
fn an_address_in_use_stops_start_up_with_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let node = Node::new();
    let env = vec![
        ("ES_SERVER", "127.0.0.1:9".to_owned()),
        ("LOGSHIP_INPUT_GLOB", node.glob()),
        ("LOGSHIP_STATE_DIR", node.state_dir().display().to_string()),
        ("LOGSHIP_HTTP_ADDR", addr.clone()),
    ];
    let (status, log) = Agent::start(node.dir.path(), &["run"], &env).wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains("LOGSHIP_HTTP_ADDR") && log.contains(&addr),
        "{log}"
    );
}
