//! The ES double's HTTP surface: root bodies and headers per version, gzip, `filter_path`,
//! query parameters, the 413 limit, `_cluster/health` and `_cat/indices`.

mod common;

use std::collections::BTreeMap;

use common::*;
use logship_testkit::es::{EsDouble, EsOptions, EsVersion};

#[test]
fn root_bodies_and_headers_per_version() {
    let cases = [
        (
            EsVersion::Es5_6_16,
            "root-es5.6.16.json",
            "application/json; charset=UTF-8",
            None,
        ),
        (
            EsVersion::Es6_8_23,
            "root-es6.8.23.json",
            "application/json; charset=UTF-8",
            None,
        ),
        (
            EsVersion::Es7_17_27,
            "root-es7.17.27.json",
            "application/json; charset=UTF-8",
            Some("Elasticsearch"),
        ),
        (
            EsVersion::Es8_17_0,
            "root-es8.17.0.json",
            "application/json",
            Some("Elasticsearch"),
        ),
        (
            EsVersion::OpenSearch2_13_0,
            "root-opensearch2.13.0.json",
            "application/json; charset=UTF-8",
            None,
        ),
    ];
    for (v, file, ctype, product) in cases {
        let es = start(v);
        let want = fixture(file);
        let mut conn = Conn::open(es.addr());
        let r = conn.request("GET", "/", &[], b"").unwrap();
        assert_eq!((r.status, &r.body), (200, &want), "{v}");
        assert_eq!(r.header("content-type"), Some(ctype), "{v}");
        assert_eq!(r.header("x-elastic-product"), product, "{v}");
        assert_eq!(r.header("date"), None, "ES sends no Date header");
        let h = conn.request("HEAD", "/", &[], b"").unwrap();
        assert_eq!(h.status, 200);
        assert_eq!(
            h.header("content-length"),
            Some(want.len().to_string().as_str())
        );
        // The same connection still parses: HEAD sent no body bytes.
        let again = conn.request("GET", "/", &[], b"").unwrap();
        assert_eq!(again.body, want);
        let post = conn
            .request("POST", "/", &[("Content-Type", "application/json")], b"{}")
            .unwrap();
        assert_eq!(post.status, 405);
    }
}

#[test]
fn gzip_request_and_response_bodies() {
    let es = start(EsVersion::Es7_17_27);
    let nd = "{\"index\":{\"_index\":\"z\",\"_id\":\"1\"}}\n{\"m\":\"x\"}\n{\"index\":{\"_index\":\"z\",\"_id\":\"2\"}}\n{\"m\":\"y\"}\n";
    let headers = [
        ("Content-Type", "application/x-ndjson"),
        ("Content-Encoding", "gzip"),
    ];
    let r = request(
        es.addr(),
        "POST",
        "/_bulk?filter_path=errors",
        &headers,
        &gzip(nd.as_bytes()),
    )
    .unwrap();
    assert_eq!(r.text(), r#"{"errors":false}"#);
    assert_eq!((es.stats().gzip_requests, es.stats().distinct_docs), (1, 2));
    let r = request(es.addr(), "POST", "/_bulk", &headers, b"not gzip at all").unwrap();
    assert_eq!(r.status, 400);
    assert!(r.json()["error"]["reason"]
        .as_str()
        .unwrap()
        .starts_with("invalid gzip content: "));
    let r = request(es.addr(), "GET", "/", &[("Accept-Encoding", "gzip")], b"").unwrap();
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&r.body[..]), &mut plain).unwrap();
    assert_eq!(plain, fixture("root-es7.17.27.json"));
}

#[test]
fn filter_path_output_is_exact() {
    let es = start(EsVersion::Es7_17_27);
    let body = "{\"index\":{\"_index\":\"a\",\"_id\":\"1\"}}\n{}\n{\"index\":{\"_index\":\"A\",\"_id\":\"2\"}}\n{}\n";
    let r = bulk(
        es.addr(),
        "/_bulk?filter_path=errors,items.*.error,items.*.status",
        body,
    );
    assert_eq!(
        r.text(),
        r#"{"errors":true,"items":[{"index":{"status":201}},{"index":{"status":400,"error":{"type":"invalid_index_name_exception","reason":"Invalid index name [A], must be lowercase","index_uuid":"_na_","index":"A"}}}]}"#
    );
    let r = bulk(es.addr(), "/_bulk?filter_path=items.*._id", body);
    assert_eq!(
        r.text(),
        r#"{"items":[{"index":{"_id":"1"}},{"index":{"_id":"2"}}]}"#
    );
    let r = bulk(
        es.addr(),
        "/_bulk?filter_path=items.*.error",
        &body[..body.len() / 2],
    );
    assert_eq!(r.text(), "{}");
    let r = bulk(es.addr(), "/_bulk?filter_path=took", body);
    assert_eq!(keys_in_order(&r.text()), vec!["took"]);
    let r = bulk(es.addr(), "/_bulk?filter_path=-items,-took&pretty", body);
    assert_eq!(r.text(), "{\n  \"errors\" : true\n}\n");
    let es8 = start(EsVersion::Es8_17_0);
    let r = bulk(
        es8.addr(),
        "/_bulk?filter_path=took,errors",
        &body[..body.len() / 2],
    );
    assert_eq!(keys_in_order(&r.text()), vec!["errors", "took"]);
}

#[test]
fn query_parameters_like_es() {
    let es = start(EsVersion::Es7_17_27);
    let body = "{\"index\":{\"_index\":\"a\"}}\n{}\n";
    let r = bulk(es.addr(), "/_bulk?foo=1", body);
    assert_eq!(
        r.text(),
        error_body(
            400,
            "illegal_argument_exception",
            "request [/_bulk] contains unrecognized parameter: [foo]"
        )
    );
    let ok = "/a/_bulk?refresh=true&routing=r&timeout=1m&wait_for_active_shards=1&pipeline=_none&error_trace=true&require_alias=false&_source=false&filter_path=errors";
    assert_eq!(bulk(es.addr(), ok, body).text(), r#"{"errors":false}"#);
    let r = bulk(
        es.addr(),
        "/_bulk?pipeline=p&filter_path=items.*.error.reason",
        body,
    );
    assert_eq!(
        r.text(),
        r#"{"items":[{"index":{"error":{"reason":"pipeline with id [p] does not exist"}}}]}"#
    );
}

#[test]
fn body_over_max_content_length_is_413() {
    let es = EsDouble::start(EsOptions {
        max_content_length: 1000,
        ..EsOptions::version(EsVersion::Es6_8_23)
    })
    .unwrap();
    let line = format!(
        "{{\"index\":{{\"_index\":\"a\",\"_type\":\"_doc\"}}}}\n{{\"m\":\"{}\"}}\n",
        "x".repeat(80)
    );
    let big = line.repeat(15);
    assert!(big.len() > 1000);
    let mut conn = Conn::open(es.addr());
    let r = conn
        .request(
            "POST",
            "/_bulk",
            &[("Content-Type", "application/x-ndjson")],
            big.as_bytes(),
        )
        .unwrap();
    let real = String::from_utf8(fixture("bulk-413-response.http")).unwrap();
    let mut want = real.split("\r\n");
    assert_eq!(r.status_line, want.next().unwrap());
    assert_eq!(
        r.headers,
        vec![("content-length".to_string(), "0".to_string())]
    );
    assert_eq!(want.next(), Some("content-length: 0"));
    assert!(r.body.is_empty());
    // Small on the wire, too big once inflated: ES limits the decompressed content.
    let headers = [
        ("Content-Type", "application/x-ndjson"),
        ("Content-Encoding", "gzip"),
    ];
    let r = conn
        .request("POST", "/_bulk", &headers, &gzip(big.as_bytes()))
        .unwrap();
    assert_eq!(r.status, 413);
    let r = conn
        .request("POST", "/_bulk", &headers[..1], line.as_bytes())
        .unwrap();
    assert_eq!(r.status, 200, "the connection stays usable");
    let s = es.stats();
    assert_eq!(s.requests_by_status, BTreeMap::from([(200, 1), (413, 2)]));
    assert_eq!((s.bulk_requests, s.raw_docs), (1, 1));
}

#[test]
fn cluster_health_and_cat_indices() {
    let es = start(EsVersion::Es7_17_27);
    let h = get(es.addr(), "/_cluster/health");
    let real = String::from_utf8(fixture("cluster-health-es7.13.1.json")).unwrap();
    assert_eq!(keys_in_order(&h.text()), keys_in_order(&real));
    assert_eq!(
        (
            h.json()["status"].as_str(),
            h.json()["active_shards_percent_as_number"].as_f64()
        ),
        (Some("green"), Some(100.0))
    );
    bulk(es.addr(), "/_bulk", "{\"index\":{\"_index\":\"b\"}}\n{}\n{\"index\":{\"_index\":\"a\"}}\n{}\n{\"index\":{\"_index\":\"a\"}}\n{}\n");
    let h = get(es.addr(), "/_cluster/health").json();
    assert_eq!(
        (h["status"].as_str(), h["unassigned_shards"].as_u64()),
        (Some("yellow"), Some(2))
    );
    let cat = get(es.addr(), "/_cat/indices?format=json");
    let real = String::from_utf8(fixture("cat-indices-es8.6.0.json")).unwrap();
    let row_keys = |t: &str| keys_in_order(t).into_iter().take(10).collect::<Vec<_>>();
    assert_eq!(row_keys(&cat.text()), row_keys(&real));
    let rows = cat.json();
    assert_eq!(
        (
            rows[0]["index"].as_str(),
            rows[0]["docs.count"].as_str(),
            rows[0]["health"].as_str()
        ),
        (Some("a"), Some("2"), Some("yellow"))
    );
    let r = get(
        es.addr(),
        "/_cat/indices?format=json&h=index,docs.count&s=docs.count:desc",
    );
    assert_eq!(
        r.text(),
        r#"[{"index":"a","docs.count":"2"},{"index":"b","docs.count":"1"}]"#
    );
    assert_eq!(get(es.addr(), "/_cat/indices/b?h=index,dc").text(), "b 1\n");
    let r = get(es.addr(), "/_cat/indices/nope?format=json");
    assert_eq!(
        (r.status, r.json()["error"]["reason"].as_str()),
        (404, Some("no such index [nope]"))
    );
    let es8 = start(EsVersion::Es8_17_0);
    bulk(es8.addr(), "/_bulk", "{\"index\":{\"_index\":\"a\"}}\n{}\n");
    assert!(get(es8.addr(), "/_cat/indices?format=json").json()[0]
        .get("dataset.size")
        .is_some());
}
