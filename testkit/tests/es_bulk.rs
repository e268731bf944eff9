//! The ES double's `_bulk` per version: strict parsing, item results and their shapes, `_id`
//! semantics, `_type` rules, and the accounting tests rely on.

mod common;

use std::collections::BTreeMap;

use common::*;
use logship_testkit::es::EsVersion;
use serde_json::json;

#[test]
fn mixed_bulk_has_real_item_shapes() {
    let es = start(EsVersion::Es7_17_27);
    let body = concat!(
        "{\"index\":{\"_index\":\"logs\",\"_id\":\"1\"}}\n{\"msg\":\"a\"}\n",
        "{\"create\":{\"_index\":\"logs\"}}\n{\"msg\":\"b\"}\n",
        "{\"update\":{\"_index\":\"logs\",\"_id\":\"1\"}}\n{\"doc\":{\"extra\":true}}\n",
        "{\"delete\":{\"_index\":\"logs\",\"_id\":\"nope\"}}\n",
        "{\"index\":{\"_index\":\"Logs\"}}\n{\"msg\":\"c\"}\n",
        "{\"index\":{\"_index\":\"logs\",\"_id\":\"2\"}}\n\"just a string\"\n",
        "{\"index\":{\"_index\":\"logs\",\"_id\":\"3\"}}\n{\"a\":1,\"a\":2}\n",
        "{\"index\":{\"_index\":\"logs\",\"_id\":\"4\"}}\n{\"_id\":\"x\",\"msg\":\"d\"}\n",
    );
    let r = bulk(es.addr(), "/_bulk", body);
    assert_eq!(r.status, 200);
    let v = r.json();
    let auto1 = v["items"][1]["create"]["_id"].as_str().unwrap().to_string();
    let auto2 = v["items"][4]["index"]["_id"].as_str().unwrap().to_string();
    assert_eq!((auto1.len(), auto2.len()), (20, 20));
    let ok = |op: &str, id: &str, ver: u64, result: &str, seq: u64, status: u16| {
        format!(
            r#"{{"{op}":{{"_index":"logs","_type":"_doc","_id":"{id}","_version":{ver},"result":"{result}",{SHARDS},"_seq_no":{seq},"_primary_term":1,"status":{status}}}}}"#
        )
    };
    let bad = |index: &str, id: &str, error: &str| {
        format!(
            r#"{{"index":{{"_index":"{index}","_type":"_doc","_id":"{id}","status":400,"error":{error}}}}}"#
        )
    };
    let items = [
        ok("index", "1", 1, "created", 0, 201),
        ok("create", &auto1, 1, "created", 1, 201),
        ok("update", "1", 2, "updated", 2, 200),
        ok("delete", "nope", 1, "not_found", 3, 404),
        bad(
            "Logs",
            &auto2,
            r#"{"type":"invalid_index_name_exception","reason":"Invalid index name [Logs], must be lowercase","index_uuid":"_na_","index":"Logs"}"#,
        ),
        bad(
            "logs",
            "2",
            r#"{"type":"mapper_parsing_exception","reason":"Malformed content, must start with an object"}"#,
        ),
        bad(
            "logs",
            "3",
            r#"{"type":"mapper_parsing_exception","reason":"failed to parse","caused_by":{"type":"json_parse_exception","reason":"Duplicate field 'a'"}}"#,
        ),
        bad(
            "logs",
            "4",
            r#"{"type":"mapper_parsing_exception","reason":"Field [_id] is a metadata field and cannot be added inside a document. Use the index API request parameters."}"#,
        ),
    ];
    assert_eq!(
        no_took(&r.text()),
        format!(
            r#"{{"took":0,"errors":true,"items":[{}]}}"#,
            items.join(",")
        )
    );

    let s = es.stats();
    assert_eq!(
        (
            s.raw_docs,
            s.distinct_docs,
            s.updates,
            s.auto_id_accepted,
            s.explicit_id_accepted
        ),
        (3, 2, 1, 1, 1)
    );
    assert_eq!(
        (s.failed_items, s.duplicates, s.bulk_requests, s.bulk_items),
        (4, 0, 1, 8)
    );
    assert_eq!(
        s.items_by_status,
        BTreeMap::from([(200, 1), (201, 2), (400, 4), (404, 1)])
    );
    assert_eq!(s.requests_by_status, BTreeMap::from([(200, 1)]));
    let docs = es.docs_in("logs");
    let got: Vec<(&str, u64, &[u8])> = docs
        .iter()
        .map(|d| (d.id.as_str(), d.version, d.raw_source.as_slice()))
        .collect();
    assert_eq!(
        got,
        vec![
            (auto1.as_str(), 1, &b"{\"msg\":\"b\"}"[..]),
            ("1", 2, &b"{\"msg\":\"a\",\"extra\":true}"[..])
        ]
    );
    assert_eq!(docs[1].source, json!({"msg": "a", "extra": true}));
    assert_eq!(docs[1].doc_type, None);
}

#[test]
fn item_key_order_matches_real_responses() {
    // 7.x: the first item of a real response (fluent-bit issue #8413, see fixtures/README.md).
    let real = String::from_utf8(fixture("bulk-errors-mixed-es7.json")).unwrap();
    let first = &real[..real.find("\"status\":201}}").unwrap() + 14];
    let es = start(EsVersion::Es7_17_27);
    let r = bulk(es.addr(), "/_bulk", "{\"create\":{\"_index\":\"x\"}}\n{}\n");
    assert_eq!(keys_in_order(&r.text()), keys_in_order(first));
    // 8.x: errors before took, no _type.
    let real = String::from_utf8(fixture("bulk-success-es8.json")).unwrap();
    let es = start(EsVersion::Es8_17_0);
    let r = bulk(
        es.addr(),
        "/_bulk",
        "{\"create\":{\"_index\":\"x\"}}\n{}\n{\"create\":{\"_index\":\"x\"}}\n{}\n",
    );
    assert_eq!(keys_in_order(&r.text()), keys_in_order(&real));
}

#[test]
fn same_id_overwrites_and_counts_duplicates() {
    let es = start(EsVersion::Es7_17_27);
    let body = concat!(
        "{\"index\":{\"_index\":\"a\",\"_id\":\"1\"}}\n{\"n\":1}\n",
        "{\"index\":{\"_index\":\"a\",\"_id\":\"1\"}}\n{\"n\":2}\n",
        "{\"index\":{\"_index\":\"b\",\"_id\":\"1\"}}\n{\"n\":3}\n",
        "{\"index\":{\"_index\":\"a\"}}\n{\"n\":4}\n",
    );
    let r = bulk(
        es.addr(),
        "/_bulk?filter_path=items.*.result,items.*._version,items.*.status",
        body,
    );
    assert_eq!(
        r.text(),
        r#"{"items":[{"index":{"_version":1,"result":"created","status":201}},{"index":{"_version":2,"result":"updated","status":200}},{"index":{"_version":1,"result":"created","status":201}},{"index":{"_version":1,"result":"created","status":201}}]}"#
    );
    // Resending the whole batch, as an agent does after a lost answer.
    bulk(es.addr(), "/_bulk", body);
    let s = es.stats();
    assert_eq!(
        (
            s.raw_docs,
            s.distinct_docs,
            s.explicit_id_accepted,
            s.explicit_id_distinct
        ),
        (8, 4, 6, 2)
    );
    assert_eq!((s.duplicates, s.auto_id_accepted), (4, 2));
    assert_eq!(s.indices["a"].docs, 3);
    assert_eq!(s.indices["a"].raw_accepted, 6);
    assert_eq!(s.indices["a"].deleted, 3);
    assert_eq!(s.indices["b"].docs, 1);
    let one = &es.docs_in("a")[1];
    assert_eq!(
        (one.id.as_str(), one.version, &one.source),
        ("1", 4, &json!({"n": 2}))
    );
    es.reset();
    assert_eq!(es.stats().raw_docs, 0);
    assert!(es.docs().is_empty());
}

#[test]
fn create_on_existing_id_is_a_conflict() {
    for (v, prefix) in [
        (EsVersion::Es7_17_27, "[k]"),
        (EsVersion::Es6_8_23, "[_doc][k]"),
    ] {
        let es = start(v);
        let body = "{\"create\":{\"_index\":\"c\",\"_type\":\"_doc\",\"_id\":\"k\"}}\n{\"n\":1}\n";
        assert_eq!(bulk(es.addr(), "/_bulk", body).json()["errors"], false);
        let r = bulk(es.addr(), "/_bulk", body);
        let cat = get(es.addr(), "/_cat/indices?format=json&h=uuid").json();
        let uuid = cat[0]["uuid"].as_str().unwrap();
        assert_eq!(
            no_took(&r.text()),
            format!(
                r#"{{"took":0,"errors":true,"items":[{{"create":{{"_index":"c","_type":"_doc","_id":"k","status":409,"error":{{"type":"version_conflict_engine_exception","reason":"{prefix}: version conflict, document already exists (current version [1])","index_uuid":"{uuid}","shard":"0","index":"c"}}}}}}]}}"#
            )
        );
        let s = es.stats();
        assert_eq!((s.raw_docs, s.distinct_docs, s.duplicates), (1, 1, 0));
        assert_eq!(s.items_by_status, BTreeMap::from([(201, 1), (409, 1)]));
    }
}

#[test]
fn malformed_action_lines_fail_the_whole_request() {
    let iae = |reason: &str| error_body(400, "illegal_argument_exception", reason);
    let cases = [
        (EsVersion::Es7_17_27, "{\"index\":{},\"delete\":{}}\n{}\n", iae("Malformed action/metadata line [1], expected END_OBJECT but found [FIELD_NAME]")),
        (EsVersion::Es7_17_27, "{\"upsert\":{}}\n{}\n", iae("Malformed action/metadata line [2], expected one of [create, delete, index, update] but found [upsert]")),
        (EsVersion::Es8_17_0, "{\"upsert\":{}}\n{}\n", iae("Malformed action/metadata line [1], expected field [create], [delete], [index] or [update] but found [upsert]")),
        (EsVersion::Es7_17_27, "{\"index\":{}}\n{}\n[]\n", iae("Malformed action/metadata line [3], expected START_OBJECT but found [START_ARRAY]")),
        (EsVersion::Es7_17_27, "{\"index\":{\"_idx\":\"a\"}}\n{}\n", iae("Action/metadata line [1] contains an unknown parameter [_idx]")),
        // An action whose source line never comes is dropped, as BulkRequestParser does.
        (EsVersion::Es7_17_27, "{\"index\":{\"_index\":\"a\"}}\n", error_body(400, "action_request_validation_exception", "Validation Failed: 1: no requests added;")),
        (EsVersion::Es7_17_27, "{\"delete\":{\"_index\":\"a\"}}\n", error_body(400, "action_request_validation_exception", "Validation Failed: 1: id is missing;")),
        (EsVersion::Es7_17_27, "{\"index\":{}}\n{}\n", error_body(400, "action_request_validation_exception", "Validation Failed: 1: index is missing;")),
        (EsVersion::Es7_17_27, "\n", error_body(400, "action_request_validation_exception", "Validation Failed: 1: no requests added;")),
    ];
    for (v, body, want) in cases {
        let es = start(v);
        let r = bulk(es.addr(), "/_bulk", body);
        assert_eq!((r.status, r.text()), (400, want), "{v} {body:?}");
        let s = es.stats();
        assert_eq!((s.bulk_requests, s.raw_docs, s.distinct_docs), (0, 0, 0));
    }
    let es = start(EsVersion::Es7_17_27);
    let v = bulk(es.addr(), "/_bulk", "{\"index\":\n").json();
    assert_eq!(
        (v["status"].as_u64(), v["error"]["type"].as_str()),
        (Some(400), Some("json_parse_exception"))
    );
    let es = start(EsVersion::Es8_17_0);
    let v = bulk(es.addr(), "/_bulk", "{\"index\":\n").json();
    assert_eq!(v["error"]["type"], "x_content_parse_exception");
    assert!(v["error"]["reason"].as_str().unwrap().starts_with("[1:1] "));
    let r = request(
        es.addr(),
        "POST",
        "/_bulk",
        &[("Content-Type", "application/x-ndjson")],
        b"",
    )
    .unwrap();
    assert_eq!(
        (r.status, r.text()),
        (
            400,
            error_body(400, "parse_exception", "request body is required")
        )
    );
}

#[test]
fn type_rules_per_version() {
    let with_type = "{\"index\":{\"_index\":\"l\",\"_type\":\"log\",\"_id\":\"1\"}}\n{\"a\":1}\n";
    let without = "{\"index\":{\"_index\":\"l\",\"_id\":\"2\"}}\n{\"a\":1}\n";

    let es = start(EsVersion::Es5_6_16);
    let r = bulk(es.addr(), "/_bulk", without);
    assert_eq!(
        r.text(),
        error_body(
            400,
            "action_request_validation_exception",
            "Validation Failed: 1: type is missing;"
        )
    );
    let r = bulk(es.addr(), "/_bulk", with_type);
    let item = format!(
        r#"{{"index":{{"_index":"l","_type":"log","_id":"1","_version":1,"result":"created",{SHARDS},"created":true,"status":201}}}}"#
    );
    assert_eq!(
        no_took(&r.text()),
        format!(r#"{{"took":0,"errors":false,"items":[{item}]}}"#)
    );
    let r = bulk(es.addr(), "/l/other/_bulk", without);
    assert_eq!(
        r.json()["items"][0]["index"]["_type"],
        "other",
        "5.x keeps several types"
    );

    let es = start(EsVersion::Es6_8_23);
    bulk(es.addr(), "/_bulk", &with_type.replace("log", "_doc"));
    let r = bulk(es.addr(), "/_bulk", &with_type.replace("\"1\"", "\"3\""));
    assert_eq!(
        r.json()["items"][0]["index"]["error"],
        json!({"type": "illegal_argument_exception", "reason": "Rejecting mapping update to [l] as the final mapping would have more than 1 type: [_doc, log]"})
    );

    let es = start(EsVersion::Es7_17_27);
    assert_eq!(
        bulk(es.addr(), "/_bulk", without).json()["items"][0]["index"]["_type"],
        "_doc"
    );
    let r = bulk(es.addr(), "/_bulk", &with_type.replace("\"l\"", "\"m\""));
    assert_eq!(r.json()["items"][0]["index"]["_type"], "log");
    let types: Vec<Option<String>> = es.docs().into_iter().map(|d| d.doc_type).collect();
    assert_eq!(types, vec![None, Some("log".to_string())]);

    for v in [EsVersion::Es8_17_0, EsVersion::OpenSearch2_13_0] {
        let es = start(v);
        let r = bulk(es.addr(), "/_bulk", with_type);
        assert_eq!(
            r.text(),
            error_body(
                400,
                "illegal_argument_exception",
                "Action/metadata line [1] contains an unknown parameter [_type]"
            )
        );
        let r = bulk(es.addr(), "/_bulk", without);
        assert!(r.json()["items"][0]["index"].get("_type").is_none(), "{v}");
        let r = bulk(es.addr(), "/l/t/_bulk", without);
        assert_eq!(
            r.text(),
            r#"{"error":"no handler found for uri [/l/t/_bulk] and method [POST]","status":400}"#
        );
        let r = bulk(es.addr(), "/_bulk?type=t", without);
        assert_eq!(
            r.text(),
            error_body(
                400,
                "illegal_argument_exception",
                "request [/_bulk] contains unrecognized parameter: [type]"
            )
        );
    }
}

#[test]
fn final_newline_and_content_type() {
    let unterminated = "{\"index\":{\"_index\":\"l\",\"_type\":\"t\"}}\n{\"a\":1}\n{\"index\":{\"_index\":\"l\",\"_type\":\"t\"}}\n{\"a\":2}";
    for v in [
        EsVersion::Es6_8_23,
        EsVersion::Es7_17_27,
        EsVersion::Es8_17_0,
        EsVersion::OpenSearch2_13_0,
    ] {
        let es = start(v);
        let body = if matches!(v, EsVersion::Es8_17_0 | EsVersion::OpenSearch2_13_0) {
            unterminated.replace(",\"_type\":\"t\"", "")
        } else {
            unterminated.to_string()
        };
        let r = bulk(es.addr(), "/_bulk", &body);
        assert_eq!(
            r.text(),
            error_body(
                400,
                "illegal_argument_exception",
                "The bulk request must be terminated by a newline [\\n]"
            ),
            "{v}"
        );
        let r = request(
            es.addr(),
            "POST",
            "/_bulk",
            &[],
            b"{\"delete\":{\"_index\":\"l\",\"_id\":\"1\"}}\n",
        )
        .unwrap();
        assert_eq!(
            r.text(),
            r#"{"error":"Content-Type header is missing","status":406}"#
        );
        let r = request(
            es.addr(),
            "POST",
            "/_bulk",
            &[("Content-Type", "text/plain")],
            b"\n",
        )
        .unwrap();
        assert_eq!(
            r.text(),
            r#"{"error":"Content-Type header [text/plain] is not supported","status":406}"#
        );
    }
    // 5.x drops the unterminated last line silently and needs no Content-Type.
    let es = start(EsVersion::Es5_6_16);
    let r = request(es.addr(), "POST", "/_bulk", &[], unterminated.as_bytes()).unwrap();
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    assert_eq!(es.stats().raw_docs, 1);
}
