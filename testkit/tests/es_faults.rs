//! Faults, the control API and the waiting helpers of the ES double.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::*;
use logship_testkit::es::{EsDouble, EsOptions, EsVersion, Faults};
use serde_json::json;

const TWO: &str = "{\"index\":{\"_index\":\"f\",\"_id\":\"1\"}}\n{\"n\":1}\n{\"index\":{\"_index\":\"f\",\"_id\":\"2\"}}\n{\"n\":2}\n";

fn set(es: &EsDouble, f: Faults) {
    es.set_faults(f);
}

#[test]
fn whole_request_failures_have_real_bodies() {
    let es = start(EsVersion::Es7_17_27);
    let cases = [
        (503, "application/json; charset=UTF-8", r#"{"error":{"root_cause":[{"type":"cluster_block_exception","reason":"blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];"}],"type":"cluster_block_exception","reason":"blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];"},"status":503}"#.to_string()),
        (429, "application/json; charset=UTF-8", {
            let r = "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=108400734, max_coordinating_and_primary_bytes=107374182]";
            format!(r#"{{"error":{{"root_cause":[{{"type":"es_rejected_execution_exception","reason":"{r}"}}],"type":"es_rejected_execution_exception","reason":"{r}"}},"status":429}}"#)
        }),
        (500, "application/json; charset=UTF-8", r#"{"error":{"root_cause":[{"type":"null_pointer_exception","reason":"es_double injected internal error"}],"type":"null_pointer_exception","reason":"es_double injected internal error"},"status":500}"#.to_string()),
        (502, "text/html", "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n".to_string()),
    ];
    for (status, ctype, body) in cases {
        set(
            &es,
            Faults {
                fail_next_requests: 1,
                fail_status: status,
                ..Faults::default()
            },
        );
        let r = bulk(es.addr(), "/_bulk", TWO);
        assert_eq!(
            (r.status, r.header("content-type"), r.text()),
            (status, Some(ctype), body)
        );
        assert_eq!(
            bulk(es.addr(), "/_bulk?filter_path=errors", TWO).text(),
            r#"{"errors":false}"#,
            "only one failed"
        );
    }
    let s = es.stats();
    assert_eq!(s.injected_request_failures, 4);
    assert_eq!(
        s.requests_by_status,
        BTreeMap::from([(200, 4), (429, 1), (500, 1), (502, 1), (503, 1)])
    );
    assert_eq!(
        (s.bulk_requests, s.raw_docs),
        (4, 8),
        "failed requests store nothing"
    );

    set(
        &es,
        Faults {
            fail_requests_ratio: 1.0,
            ..Faults::default()
        },
    );
    assert_eq!(bulk(es.addr(), "/_bulk", TWO).status, 503);
    assert_eq!(bulk(es.addr(), "/_bulk", TWO).status, 503);
    assert_eq!(
        get(es.addr(), "/").status,
        200,
        "GET / is spared unless include_root"
    );
    set(
        &es,
        Faults {
            fail_next_requests: 1,
            include_root: true,
            ..Faults::default()
        },
    );
    assert_eq!(get(es.addr(), "/").status, 503);
    assert_eq!(get(es.addr(), "/").status, 200);
}

#[test]
fn item_faults_have_real_item_shapes() {
    let es = start(EsVersion::Es7_17_27);
    set(
        &es,
        Faults {
            reject_next_items: 1,
            fail_item_status_next: 1,
            ..Faults::default()
        },
    );
    let three = format!("{TWO}{{\"index\":{{\"_index\":\"f\",\"_id\":\"3\"}}}}\n{{\"n\":3}}\n");
    let r = bulk(es.addr(), "/_bulk", &three);
    let v = r.json();
    let rejected = &v["items"][0]["index"];
    assert_eq!(rejected["status"], 429);
    assert_eq!(rejected["error"]["type"], "es_rejected_execution_exception");
    let reason = rejected["error"]["reason"].as_str().unwrap();
    assert!(reason.starts_with("rejected execution of processing of [1][indices:data/write/bulk[s][p]]: request: BulkShardRequest [[f][0]] containing [1] requests"), "{reason}");
    assert!(reason.contains("EsThreadPoolExecutor[name = 7578f3af8dbd/write, queue capacity = 200"));
    // Same keys, same order as the real 429 item in fixtures/es/bulk-errors-mixed-es7.json.
    let text = r.text();
    let first = &text[text.find("{\"index\"").unwrap()..text.find("}},{").unwrap()];
    assert_eq!(
        keys_in_order(first),
        ["index", "_index", "_type", "_id", "status", "error", "type", "reason"]
    );
    assert_eq!(
        v["items"][1]["index"],
        json!({"_index": "f", "_type": "_doc", "_id": "2", "status": 400, "error": {
            "type": "mapper_parsing_exception",
            "reason": "failed to parse field [es_double.injected] of type [long] in document with id '2'. Preview of field's value: 'not-a-number'",
            "caused_by": {"type": "illegal_argument_exception", "reason": "For input string: \"not-a-number\""}}})
    );
    assert_eq!(v["items"][2]["index"]["status"], 201);
    let s = es.stats();
    assert_eq!(
        (s.injected_item_failures, s.raw_docs, s.distinct_docs),
        (2, 1, 1)
    );
    assert_eq!(
        s.items_by_status,
        BTreeMap::from([(201, 1), (400, 1), (429, 1)])
    );
    assert_eq!(es.faults(), Faults::default(), "counters ran down");

    let es8 = start(EsVersion::Es8_17_0);
    set(
        &es8,
        Faults {
            fail_item_status_next: 1,
            ..Faults::default()
        },
    );
    let v = bulk(es8.addr(), "/_bulk", TWO).json();
    assert_eq!(
        v["items"][0]["index"]["error"]["type"],
        "document_parsing_exception"
    );
    assert!(v["items"][0]["index"].get("_type").is_none());
}

#[test]
fn item_reject_ratio_is_deterministic() {
    let pattern = || {
        let es = start(EsVersion::Es7_17_27);
        set(
            &es,
            Faults {
                reject_items_ratio: 0.5,
                seed: 42,
                ..Faults::default()
            },
        );
        let body = "{\"index\":{\"_index\":\"r\"}}\n{}\n".repeat(40);
        let v = bulk(es.addr(), "/_bulk", &body).json();
        let statuses: Vec<u64> = v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["index"]["status"].as_u64().unwrap())
            .collect();
        assert_eq!(
            es.stats().injected_item_failures,
            statuses.iter().filter(|s| **s == 429).count() as u64
        );
        statuses
    };
    let a = pattern();
    assert_eq!(a, pattern());
    assert!(a.contains(&429) && a.contains(&201));
}

#[test]
fn delay_holds_the_answer() {
    let es = start(EsVersion::Es7_17_27);
    set(
        &es,
        Faults {
            delay_ms: 300,
            ..Faults::default()
        },
    );
    let t0 = Instant::now();
    assert_eq!(bulk(es.addr(), "/_bulk", TWO).status, 200);
    assert!(t0.elapsed() >= Duration::from_millis(300));
    let t0 = Instant::now();
    get(es.addr(), "/_double/stats");
    assert!(
        t0.elapsed() < Duration::from_millis(300),
        "the control API is never delayed"
    );
}

#[test]
fn dropped_response_still_stores_the_docs() {
    let es = start(EsVersion::Es7_17_27);
    set(
        &es,
        Faults {
            drop_next_responses: 1,
            ..Faults::default()
        },
    );
    let err = request(
        es.addr(),
        "POST",
        "/_bulk",
        &[("Content-Type", "application/x-ndjson")],
        TWO.as_bytes(),
    );
    assert!(err.is_err(), "no answer: {err:?}");
    let s = es.stats();
    assert_eq!(
        (s.raw_docs, s.distinct_docs, s.dropped_responses, s.requests),
        (2, 2, 1, 1)
    );
    assert!(s.requests_by_status.is_empty());
    // The agent resends after the timeout: with its own ids that is an overwrite, counted.
    let r = bulk(es.addr(), "/_bulk?filter_path=items.*.result", TWO);
    assert_eq!(
        r.text(),
        r#"{"items":[{"index":{"result":"updated"}},{"index":{"result":"updated"}}]}"#
    );
    assert_eq!((es.stats().duplicates, es.stats().distinct_docs), (2, 2));
}

#[test]
fn garbage_response_is_not_json_but_applied() {
    let es = start(EsVersion::Es7_17_27);
    set(
        &es,
        Faults {
            garbage_next_responses: 1,
            ..Faults::default()
        },
    );
    let r = bulk(es.addr(), "/_bulk", TWO);
    assert_eq!(r.status, 200);
    assert!(serde_json::from_slice::<serde_json::Value>(&r.body).is_err());
    let s = es.stats();
    assert_eq!((s.garbage_responses, s.raw_docs), (1, 2));
    assert_eq!(bulk(es.addr(), "/_bulk", TWO).json()["errors"], false);
}

#[test]
fn short_response_leaves_out_the_last_item_but_applies_all() {
    let es = start(EsVersion::Es7_17_27);
    set(
        &es,
        Faults {
            short_next_responses: 1,
            ..Faults::default()
        },
    );
    let path = "/_bulk?filter_path=errors,items.*.error,items.*.status";
    let r = bulk(es.addr(), path, TWO);
    assert_eq!(
        r.text(),
        r#"{"errors":false,"items":[{"index":{"status":201}}]}"#
    );
    let s = es.stats();
    assert_eq!((s.short_responses, s.raw_docs), (1, 2));
    assert_eq!(
        bulk(es.addr(), "/_bulk", TWO).json()["items"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

#[test]
fn down_resets_every_connection_and_spares_control() {
    let es = start(EsVersion::Es7_17_27);
    let mut idle = Conn::open(es.addr());
    assert_eq!(idle.request("GET", "/", &[], b"").unwrap().status, 200);
    let mut ctl = Conn::open(es.addr());
    let r = ctl
        .request(
            "POST",
            "/_double/faults",
            &[("Content-Type", "application/json")],
            br#"{"down":true}"#,
        )
        .unwrap();
    assert_eq!((r.status, r.json()["down"].as_bool()), (200, Some(true)));
    assert!(idle.is_closed(), "the idle keep-alive connection was reset");
    assert!(bulk_err(&es), "bulk on a new connection gets no answer");
    assert_eq!(
        get(es.addr(), "/_double/health").json(),
        json!({"ok": true, "version": "7.17.27"})
    );
    let stats = ctl
        .request("GET", "/_double/stats", &[], b"")
        .unwrap()
        .json();
    assert_eq!(
        (
            stats["reset_connections"].as_u64(),
            stats["raw_docs"].as_u64()
        ),
        (Some(2), Some(0))
    );
    let r = ctl
        .request(
            "POST",
            "/_double/faults",
            &[("Content-Type", "application/json")],
            br#"{"down":false}"#,
        )
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(bulk(es.addr(), "/_bulk", TWO).status, 200);
    // The Rust API switches it too.
    let mut idle = Conn::open(es.addr());
    assert_eq!(idle.request("GET", "/", &[], b"").unwrap().status, 200);
    set(
        &es,
        Faults {
            down: true,
            ..Faults::default()
        },
    );
    assert!(idle.is_closed());
}

fn bulk_err(es: &EsDouble) -> bool {
    request(
        es.addr(),
        "POST",
        "/_bulk",
        &[("Content-Type", "application/x-ndjson")],
        TWO.as_bytes(),
    )
    .is_err()
}

#[test]
fn control_api() {
    let es = EsDouble::start(EsOptions {
        id_seed: Some(5),
        ..EsOptions::default()
    })
    .unwrap();
    let f = post_json(
        es.addr(),
        "/_double/faults",
        r#"{"reject_next_items":3,"delay_ms":null}"#,
    );
    assert_eq!(f.json()["reject_next_items"], 3);
    assert_eq!(
        get(es.addr(), "/_double/faults").json()["reject_next_items"],
        3
    );
    assert_eq!(es.faults().reject_next_items, 3);
    let bad = post_json(es.addr(), "/_double/faults", r#"{"nope":1}"#);
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"]["reason"]
        .as_str()
        .unwrap()
        .starts_with("unknown fault [nope]; known: "));
    assert_eq!(
        post_json(es.addr(), "/_double/faults", r#"{"delay_ms":"soon"}"#).status,
        400
    );
    let cleared = request(es.addr(), "DELETE", "/_double/faults", &[], b"").unwrap();
    assert_eq!(cleared.json()["reject_next_items"], 0);
    assert_eq!(es.faults(), Faults::default());

    bulk(es.addr(), "/_bulk", "{\"index\":{\"_index\":\"a\",\"_id\":\"1\"}}\n{\"z\":1,\"a\":[1.50,2]}\n{\"index\":{\"_index\":\"b\",\"_id\":\"2\",\"_type\":\"t\"}}\n{}\n");
    let docs = get(es.addr(), "/_double/docs");
    assert_eq!(docs.header("content-type"), Some("application/x-ndjson"));
    assert_eq!(
        docs.text(),
        "{\"index\":\"a\",\"id\":\"1\",\"type\":null,\"version\":1,\"seq_no\":0,\"doc\":{\"z\":1,\"a\":[1.50,2]}}\n\
         {\"index\":\"b\",\"id\":\"2\",\"type\":\"t\",\"version\":1,\"seq_no\":0,\"doc\":{}}\n"
    );
    assert_eq!(
        get(es.addr(), "/_double/docs?index=b")
            .text()
            .lines()
            .count(),
        1
    );
    assert_eq!(get(es.addr(), "/_double/docs?index=nope*").text(), "");
    let stats = get(es.addr(), "/_double/stats").json();
    let rust = serde_json::to_value(es.stats()).unwrap();
    for k in [
        "raw_docs",
        "distinct_docs",
        "duplicates",
        "items_by_status",
        "requests_by_status",
        "indices",
        "version",
    ] {
        assert_eq!(stats[k], rust[k], "{k}");
    }
    assert_eq!(stats["faults"]["fail_status"], 503);
    assert_eq!(
        stats["requests"], 1,
        "only the bulk counts, control requests do not"
    );

    post_json(es.addr(), "/_double/faults", r#"{"reject_next_items":1}"#);
    assert_eq!(
        post_json(es.addr(), "/_double/reset", r#"{"faults":false}"#).json(),
        json!({"reset": true})
    );
    assert_eq!(
        (es.stats().distinct_docs, es.faults().reject_next_items),
        (0, 1)
    );
    post_json(es.addr(), "/_double/reset", "");
    assert_eq!(es.faults(), Faults::default());
    let r = get(es.addr(), "/_double/nothing");
    assert_eq!(
        (r.status, r.json()["error"]["type"].as_str()),
        (404, Some("resource_not_found_exception"))
    );
    assert_eq!(
        es.stats().requests,
        0,
        "control requests after the reset are not counted"
    );
}

#[test]
fn waiting_for_docs() {
    let es = start(EsVersion::Es7_17_27);
    let addr = es.addr();
    let sender = std::thread::spawn(move || bulk(addr, "/_bulk", TWO).status);
    assert!(es.wait_for_docs(2, Duration::from_secs(20)));
    assert_eq!(sender.join().unwrap(), 200);
    let t0 = Instant::now();
    assert!(!es.wait_for_docs(3, Duration::from_millis(200)));
    assert!(t0.elapsed() >= Duration::from_millis(200));
    assert!(es.wait_until(Duration::from_secs(1), |s| s.bulk_requests == 1));
}

#[test]
fn dropping_the_double_stops_it() {
    let es = start(EsVersion::Es7_17_27);
    let addr = es.addr();
    let mut conn = Conn::open(addr);
    assert_eq!(conn.request("GET", "/", &[], b"").unwrap().status, 200);
    drop(es);
    assert!(conn.is_closed());
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn bad_requests_get_es_errors_not_panics() {
    let es = start(EsVersion::Es7_17_27);
    let r = get(es.addr(), "/_search");
    assert_eq!(
        r.text(),
        r#"{"error":"no handler found for uri [/_search] and method [GET]","status":400}"#
    );
    let r = get(es.addr(), "/_bulk");
    assert_eq!(
        r.text(),
        r#"{"error":"Incorrect HTTP method for uri [/_bulk] and method [GET], allowed: [POST, PUT]","status":405}"#
    );
    let junk = [
        b"\xff\xfe\n\n".to_vec(),
        b"{\"index\":{\"_index\":\"a\"}}\n\xff\n".to_vec(),
        vec![b'{'; 5000],
        b"{\"index\":{\"_index\":\"a\"}}\n{\"a\":1e999}\n".to_vec(),
    ];
    for body in junk {
        let r = request(
            es.addr(),
            "POST",
            "/_bulk",
            &[("Content-Type", "application/x-ndjson")],
            &body,
        )
        .unwrap();
        assert!(r.status == 200 || r.status == 400, "{}", r.text());
    }
    let mut c = Conn::open(es.addr());
    c.send_raw(b"GARBAGE\r\n\r\n").unwrap();
    assert!(c
        .read_response(false)
        .map(|r| r.status == 400)
        .unwrap_or(true));
    assert_eq!(get(es.addr(), "/").status, 200, "still serving");
}
