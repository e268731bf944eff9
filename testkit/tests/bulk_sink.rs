//! The bulk sink answers like Elasticsearch 7.17 and counts exactly.

use logship_testkit::bench::http::HttpClient;
use logship_testkit::bulk_sink::{BulkSink, SinkOptions};
use serde_json::{json, Value};
use std::io::Write;

fn ndjson(n: usize, with_ids: bool) -> Vec<u8> {
    let mut b = Vec::new();
    for i in 0..n {
        if with_ids {
            writeln!(
                b,
                r#"{{"index":{{"_index":"logs-2026.11.22","_id":"d{i}"}}}}"#
            )
            .unwrap();
        } else {
            writeln!(b, r#"{{"create":{{"_index":"logs-2026.11.22"}}}}"#).unwrap();
        }
        writeln!(b, r#"{{"log":"line {i} <x>","stream":"stdout"}}"#).unwrap();
    }
    b
}

fn post(c: &mut HttpClient, path: &str, body: &[u8], gzip: bool) -> (u16, Value) {
    let mut headers = vec![("Content-Type", "application/x-ndjson")];
    let data = if gzip {
        headers.push(("Content-Encoding", "gzip"));
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(body).unwrap();
        e.finish().unwrap()
    } else {
        body.to_vec()
    };
    let r = c.request("POST", path, &headers, &data).unwrap();
    (r.status, serde_json::from_slice(&r.body).unwrap())
}

#[test]
fn root_and_health() {
    let sink = BulkSink::start(SinkOptions::default()).unwrap();
    assert!(sink.addr().ip().is_loopback());
    let mut c = HttpClient::new(sink.addr().to_string());
    let r = c.get("/").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-elastic-product"), Some("Elasticsearch"));
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["version"]["number"], "7.17.27");
    assert_eq!(v["tagline"], "You Know, for Search");
    let v: Value = serde_json::from_slice(&c.get("/_cluster/health").unwrap().body).unwrap();
    assert_eq!(v["status"], "green");
    assert_eq!(c.request("HEAD", "/", &[], b"").unwrap().status, 200);
    let s = sink.stop();
    assert_eq!((s.docs, s.bulk_requests), (0, 0));
}

#[test]
fn bulk_counts_and_full_items() {
    let sink = BulkSink::start(SinkOptions::default()).unwrap();
    let mut c = HttpClient::new(sink.addr().to_string());
    let body = ndjson(1000, true);
    let (status, v) = post(&mut c, "/_bulk", &body, false);
    assert_eq!(status, 200);
    assert_eq!(v["errors"], false);
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 1000);
    assert_eq!(items[7]["index"]["_id"], "d7");
    assert_eq!(items[7]["index"]["_index"], "logs-2026.11.22");
    assert_eq!(items[7]["index"]["status"], 201);
    assert_eq!(items[7]["index"]["result"], "created");

    // Index from the path, generated ids, create op, gzip.
    let (status, v) = post(
        &mut c,
        "/other/_bulk",
        b"{\"create\":{}}\n{\"a\":1}\n{\"create\":{}}\n{\"a\":2}\n",
        true,
    );
    assert_eq!(status, 200);
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["create"]["_index"], "other");
    assert_ne!(items[0]["create"]["_id"], items[1]["create"]["_id"]);

    let s = sink.stats();
    assert_eq!((s.docs, s.bulk_requests, s.gzip_requests), (1002, 2, 1));
    assert_eq!(s.body_bytes, body.len() as u64 + 44);
    assert_ne!(
        s.wire_bytes, s.body_bytes,
        "wire bytes count the gzip body as sent"
    );
    assert_eq!(s.indices.get("logs-2026.11.22"), Some(&1000));
    assert_eq!(s.indices.get("other"), Some(&2));
    assert!(s.last_doc_at >= s.first_doc_at && s.first_doc_at.is_some());
    assert!(s.cpu_s > 0.0);
}

#[test]
fn filter_path_shapes() {
    let sink = BulkSink::start(SinkOptions::default()).unwrap();
    let mut c = HttpClient::new(sink.addr().to_string());
    let body = ndjson(3, false);
    let (_, v) = post(
        &mut c,
        "/_bulk?filter_path=errors,items.*.error,items.*.status",
        &body,
        false,
    );
    let st = json!({"create": {"status": 201}});
    assert_eq!(v, json!({"errors": false, "items": [st, st, st]}));
    // URL-encoded commas, as some clients send them.
    let (_, v) = post(
        &mut c,
        "/_bulk?refresh=false&filter_path=errors%2Citems.*.status",
        &body,
        false,
    );
    assert_eq!(v["items"].as_array().unwrap().len(), 3);
    let (_, v) = post(
        &mut c,
        "/_bulk?filter_path=errors,items.*.error",
        &body,
        false,
    );
    assert_eq!(v, json!({"errors": false}));
    let (_, v) = post(&mut c, "/_bulk?filter_path=took", &body, false);
    assert_eq!(v, json!({"took": 1}));
    assert_eq!(sink.docs(), 12);
}

#[test]
fn bad_requests() {
    let sink = BulkSink::start(SinkOptions::default()).unwrap();
    let mut c = HttpClient::new(sink.addr().to_string());
    let (status, v) = post(&mut c, "/_bulk", b"", false);
    assert_eq!((status, v["status"].clone()), (400, json!(400)));
    let r = c
        .request(
            "POST",
            "/_bulk",
            &[("Content-Encoding", "gzip")],
            b"not gzip",
        )
        .unwrap();
    assert_eq!(r.status, 400);
    let s = sink.stop();
    assert_eq!((s.docs, s.bad_requests), (0, 2));
}

#[test]
fn verify_counts_distinct_ids() {
    let sink = BulkSink::start(SinkOptions {
        verify: true,
        sample_docs: 2,
        ..SinkOptions::default()
    })
    .unwrap();
    let mut c = HttpClient::new(sink.addr().to_string());
    post(&mut c, "/_bulk", &ndjson(50, true), false);
    post(&mut c, "/_bulk", &ndjson(10, true), true); // d0..d9 again: duplicates
    post(&mut c, "/_bulk", &ndjson(5, false), false);
    post(
        &mut c,
        "/_bulk",
        b"{\"delete\":{\"_id\":\"x\"}}\nnot json\n",
        false,
    );
    let samples = sink.samples();
    let s = sink.stop();
    let v = s.verify.unwrap();
    assert_eq!(s.docs, 66);
    assert_eq!(
        (v.distinct_ids, v.duplicate_ids, v.docs_without_id),
        (51, 10, 5)
    );
    assert_eq!((v.invalid_actions, v.invalid_docs), (1, 1));
    assert_eq!(samples.len(), 2);
    assert!(samples[0].starts_with("{\"index\""));
}
