//! The ES double's index APIs, as a retention job and Curator use them: create, list (settings,
//! `_cat/indices`, cluster state, stats), aliases, delete (comma lists, 404s, aliases and
//! wildcards per version), faults on them, and the request log.

mod common;

use common::*;
use logship_testkit::es::{EsVersion, Faults, RequestRecord, SeedIndex};
use serde_json::{json, Value};

fn put(es: &logship_testkit::es::EsDouble, path: &str, body: &str) -> Resp {
    let headers: &[(&str, &str)] = if body.is_empty() {
        &[]
    } else {
        &[("Content-Type", "application/json")]
    };
    request(es.addr(), "PUT", path, headers, body.as_bytes()).expect("PUT")
}

fn delete(es: &logship_testkit::es::EsDouble, path: &str) -> Resp {
    request(es.addr(), "DELETE", path, &[], b"").expect("DELETE")
}

#[test]
fn create_and_delete_with_each_versions_bodies() {
    let cases = [
        (
            EsVersion::Es5_6_16,
            "index_already_exists_exception",
            false,
            "articles",
            "error-404-index-not-found-es5.json",
        ),
        (
            EsVersion::Es6_8_23,
            "resource_already_exists_exception",
            true,
            "test",
            "error-404-index-not-found-es6.8.0.json",
        ),
        (
            EsVersion::Es7_17_27,
            "resource_already_exists_exception",
            true,
            "logstash-2026.10.01",
            "error-404-index-not-found-es7plus.json",
        ),
        (
            EsVersion::Es8_17_0,
            "resource_already_exists_exception",
            true,
            "logstash-2026.10.01",
            "error-404-index-not-found-es7plus.json",
        ),
        (
            EsVersion::OpenSearch2_13_0,
            "resource_already_exists_exception",
            true,
            "logstash-2026.10.01",
            "error-404-index-not-found-es7plus.json",
        ),
    ];
    for (v, exists, with_index, missing, fixture_404) in cases {
        let es = start(v);
        let r = put(&es, "/logstash-2020.01.01", "");
        let want = if with_index {
            r#"{"acknowledged":true,"shards_acknowledged":true,"index":"logstash-2020.01.01"}"#
        } else {
            r#"{"acknowledged":true,"shards_acknowledged":true}"#
        };
        assert_eq!((r.status, r.text().as_str()), (200, want), "{v}");
        let again = put(&es, "/logstash-2020.01.01", "");
        assert_eq!(again.status, 400, "{v}");
        assert_eq!(again.json()["error"]["type"], exists, "{v}");
        let uuid = again.json()["error"]["index_uuid"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            again.json()["error"]["reason"],
            format!("index [logstash-2020.01.01/{uuid}] already exists"),
            "{v}"
        );
        assert_eq!(
            put(&es, "/Bad", "").json()["error"]["type"],
            "invalid_index_name_exception"
        );
        let gone = delete(&es, "/logstash-2020.01.01");
        assert_eq!(
            (gone.status, gone.body),
            (200, fixture("delete-index-ack.json")),
            "{v}"
        );
        assert!(es.index_names().is_empty(), "{v}");
        let r = delete(&es, &format!("/{missing}"));
        assert_eq!((r.status, r.body), (404, fixture(fixture_404)), "{v}");
    }
}

#[test]
fn comma_lists_are_all_or_nothing() {
    let es = start(EsVersion::Es7_17_27);
    let names = [
        "logstash-2020.01.01",
        "logstash-2020.01.02",
        "heapster-2020.01.01",
    ];
    es.seed(&names.map(SeedIndex::new)).unwrap();
    let r = delete(&es, "/logstash-2020.01.01,logstash-2020.01.02");
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, r#"{"acknowledged":true}"#)
    );
    assert_eq!(es.index_names(), ["heapster-2020.01.01"]);
    let r = delete(&es, "/heapster-2020.01.01,nope");
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["index"], "nope");
    assert_eq!(es.index_names(), ["heapster-2020.01.01"], "nothing deleted");
    let r = delete(&es, "/heapster-2020.01.01,nope?ignore_unavailable=true");
    assert_eq!(r.status, 200);
    assert!(es.index_names().is_empty());
}

#[test]
fn deleting_an_alias_or_a_wildcard_per_version() {
    let reject = "The provided expression [heapster-cpu] matches an alias, specify the corresponding concrete indices instead.";
    let cases = [
        (EsVersion::Es5_6_16, 200, None, 200),
        (EsVersion::Es6_8_23, 404, Some("no such index"), 200),
        (EsVersion::Es7_17_27, 400, Some(reject), 200),
        (EsVersion::OpenSearch2_13_0, 400, Some(reject), 200),
        (EsVersion::Es8_17_0, 400, Some(reject), 400),
    ];
    for (v, alias_status, reason, wildcard_status) in cases {
        let es = start(v);
        es.seed(&[
            SeedIndex::new("heapster-2020.01.01").alias("heapster-cpu"),
            SeedIndex::new("logstash-2020.01.01"),
        ])
        .unwrap();
        let r = delete(&es, "/heapster-cpu");
        assert_eq!(r.status, alias_status, "{v}: {}", r.text());
        match reason {
            Some(reason) => {
                assert_eq!(r.json()["error"]["reason"], reason, "{v}");
                assert_eq!(es.index_names().len(), 2, "{v}: nothing deleted");
            }
            None => assert_eq!(es.index_names(), ["logstash-2020.01.01"], "{v}"),
        }
        let r = delete(&es, "/logstash-*");
        assert_eq!(r.status, wildcard_status, "{v}: {}", r.text());
        if wildcard_status == 400 {
            assert_eq!(
                r.json()["error"]["reason"],
                "Wildcard expressions or all indices are not allowed"
            );
        }
    }
}

#[test]
fn aliases_like_es() {
    let es = start(EsVersion::Es7_17_27);
    put(&es, "/foo_1", "");
    put(&es, "/foo_2", r#"{"aliases":{"foo_alias_2_1":{}}}"#);
    let props = r#"{"index_routing":"title","search_routing":"title","is_write_index":true}"#;
    let body = format!(r#"{{"aliases":{{"foo_alias_3_1":{props},"foo_alias_3_2":{{}}}}}}"#);
    assert_eq!(put(&es, "/foo_3", &body).status, 200);
    let want: Value = serde_json::from_slice(&fixture("alias-es7.17.3.json")).unwrap();
    assert_eq!(get(es.addr(), "/_alias").json(), want);
    assert_eq!(
        get(es.addr(), "/_alias/foo_alias_3_2").json(),
        json!({"foo_3": {"aliases": {"foo_alias_3_2": {}}}})
    );
    assert_eq!(
        get(es.addr(), "/foo_2/_alias").json(),
        json!({"foo_2": {"aliases": {"foo_alias_2_1": {}}}})
    );
    let r = get(es.addr(), "/_alias/nope");
    assert_eq!(
        (r.status, r.text().as_str()),
        (404, r#"{"error":"alias [nope] missing","status":404}"#)
    );
    let clash = put(&es, "/foo_alias_2_1", "");
    assert_eq!(
        clash.json()["error"]["reason"],
        "Invalid index name [foo_alias_2_1], already exists as alias"
    );

    let es6 = start(EsVersion::Es6_8_23);
    es6.seed(&[SeedIndex::new("new_cortex_4").alias("cortex_4")])
        .unwrap();
    assert_eq!(
        get(es6.addr(), "/_alias?pretty").body,
        fixture("alias-es6.8.2.json")
    );
    assert_eq!(
        es6.aliases().get("cortex_4").map(Vec::as_slice),
        Some(&["new_cortex_4".to_string()][..])
    );
}

#[test]
fn settings_and_cat_indices_list_open_and_closed() {
    let es = start(EsVersion::Es7_17_27);
    es.seed(&[
        SeedIndex::new("logstash-2026.11.22").created_ms(1_795_305_600_000),
        SeedIndex::new("logstash-2026.11.01")
            .created_ms(1_793_491_200_000)
            .closed(),
    ])
    .unwrap();
    let all = get(es.addr(), "/_all/_settings?expand_wildcards=open,closed").json();
    let names: Vec<&String> = all.as_object().unwrap().keys().collect();
    assert_eq!(names, ["logstash-2026.11.01", "logstash-2026.11.22"]);
    let index = &all["logstash-2026.11.22"]["settings"]["index"];
    assert_eq!(index["creation_date"], "1795305600000");
    assert_eq!(index["number_of_shards"], "1");
    assert_eq!(index["provided_name"], "logstash-2026.11.22");
    assert_eq!(index["version"]["created"], "7172799");
    let open = get(es.addr(), "/_settings").json();
    assert_eq!(open.as_object().unwrap().len(), 1);
    let flat = get(
        es.addr(),
        "/logstash-2026.11.22/_settings/index.creation_date?flat_settings=true",
    );
    assert_eq!(
        flat.text(),
        r#"{"logstash-2026.11.22":{"settings":{"index.creation_date":"1795305600000"}}}"#
    );

    let cat = get(
        es.addr(),
        "/_cat/indices?format=json&h=index,status&s=index",
    );
    assert_eq!(
        cat.text(),
        r#"[{"index":"logstash-2026.11.01","status":"close"},{"index":"logstash-2026.11.22","status":"open"}]"#
    );
    let open_only = get(es.addr(), "/_cat/indices?h=index&expand_wildcards=open");
    assert_eq!(open_only.text(), "logstash-2026.11.22\n");
    let text = get(
        es.addr(),
        "/_cat/indices?v&h=index,status,docs.count&s=index:desc",
    );
    assert_eq!(
        text.text(),
        "index               status docs.count\nlogstash-2026.11.22 open            0\nlogstash-2026.11.01 close\n"
    );
    // A closed row has the layout of the constructed fixture's closed index: nulls for stats.
    let real: Value =
        serde_json::from_slice(&fixture("cat-indices-multi-constructed.json")).unwrap();
    let real_closed = real
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == "close")
        .unwrap();
    let ours = get(es.addr(), "/_cat/indices?format=json&s=index").json();
    let closed = &ours[0];
    let layout = |row: &Value| -> Vec<(String, bool)> {
        row.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.is_null()))
            .collect()
    };
    assert_eq!(layout(closed), layout(real_closed));
}

#[test]
fn cluster_state_and_stats_as_curator_reads_them() {
    let es = start(EsVersion::Es7_17_27);
    es.seed(&[
        SeedIndex::new("logstash-2026.11.22")
            .created_ms(1_795_305_600_000)
            .alias("today"),
        SeedIndex::new("logstash-2026.11.01").closed(),
    ])
    .unwrap();
    let st = get(
        es.addr(),
        "/_cluster/state/metadata/logstash-2026.11.22,logstash-2026.11.01,gone",
    )
    .json();
    let ix = &st["metadata"]["indices"]["logstash-2026.11.22"];
    assert_eq!(ix["state"], "open");
    assert_eq!(ix["settings"]["index"]["creation_date"], "1795305600000");
    assert_eq!(ix["settings"]["index"]["number_of_replicas"], "1");
    assert_eq!(ix["aliases"], json!(["today"]));
    assert_eq!(
        st["metadata"]["indices"]["logstash-2026.11.01"]["state"],
        "close"
    );
    assert!(st.get("master_node").is_none());
    let stats = get(es.addr(), "/logstash-2026.11.22/_stats/store,docs").json();
    let total = &stats["indices"]["logstash-2026.11.22"]["total"];
    assert_eq!(total["docs"]["count"], 0);
    assert_eq!(total["store"]["size_in_bytes"], 208);
    assert!(total.get("indexing").is_none());
    let all = get(es.addr(), "/_stats").json();
    assert_eq!(
        all["indices"].as_object().unwrap().len(),
        1,
        "closed indices have no stats"
    );
}

#[test]
fn writes_go_through_aliases_and_not_into_closed_indices() {
    let es = start(EsVersion::Es7_17_27);
    es.seed(&[
        SeedIndex::new("logs-000001").alias("logs"),
        SeedIndex::new("old").closed(),
    ])
    .unwrap();
    let nd = "{\"index\":{\"_index\":\"logs\",\"_id\":\"1\"}}\n{\"m\":1}\n{\"index\":{\"_index\":\"old\",\"_id\":\"2\"}}\n{\"m\":2}\n";
    let r = bulk(es.addr(), "/_bulk", nd).json();
    assert_eq!(r["items"][0]["index"]["_index"], "logs-000001");
    assert_eq!(r["items"][0]["index"]["status"], 201);
    assert_eq!(r["items"][1]["index"]["status"], 400);
    assert_eq!(
        r["items"][1]["index"]["error"]["type"],
        "index_closed_exception"
    );
    assert_eq!(es.index_names(), ["logs-000001", "old"]);
    assert_eq!(es.docs_in("logs-000001").len(), 1);
}

#[test]
fn faults_hit_matching_requests_and_requests_are_logged() {
    let es = start(EsVersion::Es7_17_27);
    es.seed(&["a", "b"].map(SeedIndex::new)).unwrap();
    es.set_faults(Faults {
        fail_match: "DELETE /*".into(),
        skip_next_requests: 1,
        fail_next_requests: 1,
        ..Faults::default()
    });
    assert_eq!(get(es.addr(), "/_alias").status, 200);
    assert_eq!(delete(&es, "/a").status, 200);
    let failed = delete(&es, "/b");
    assert_eq!(failed.status, 503);
    assert_eq!(failed.json()["error"]["type"], "cluster_block_exception");
    assert_eq!(es.index_names(), ["b"]);
    assert_eq!(delete(&es, "/b?master_timeout=30s").status, 200);
    let rec = |method: &str, path: &str, query: &str, status| RequestRecord {
        method: method.into(),
        path: path.into(),
        query: query.into(),
        status: Some(status),
    };
    assert_eq!(
        es.requests(),
        [
            rec("GET", "/_alias", "", 200),
            rec("DELETE", "/a", "", 200),
            rec("DELETE", "/b", "", 503),
            rec("DELETE", "/b", "master_timeout=30s", 200),
        ]
    );
    assert_eq!(es.stats().injected_request_failures, 1);

    es.set_faults(Faults {
        fail_match: "GET /_all/_settings".into(),
        fail_next_requests: 1,
        fail_status: 403,
        ..Faults::default()
    });
    let denied = get(es.addr(), "/_all/_settings");
    assert_eq!(
        (denied.status, denied.text().as_str()),
        (
            403,
            r#"{"error":{"root_cause":[{"type":"security_exception","reason":"action [indices:monitor/settings/get] is unauthorized for user [logship]"}],"type":"security_exception","reason":"action [indices:monitor/settings/get] is unauthorized for user [logship]"},"status":403}"#
        )
    );
    assert_eq!(get(es.addr(), "/_all/_settings").status, 200);
}

#[test]
fn seed_and_request_log_over_http() {
    let es = start(EsVersion::Es8_17_0);
    let r = post_json(
        es.addr(),
        "/_double/seed",
        r#"[{"index":"logstash-2020.01.01","creation_date":1577836800000,"aliases":["x"]},{"index":"c","closed":true}]"#,
    );
    assert_eq!((r.status, r.text().as_str()), (200, r#"{"seeded":2}"#));
    assert_eq!(es.index_names(), ["c", "logstash-2020.01.01"]);
    let bad = post_json(es.addr(), "/_double/seed", r#"[{"index":"x"}]"#);
    assert_eq!(bad.status, 400, "{}", bad.text());
    get(es.addr(), "/_cat/indices?format=json");
    let log = get(es.addr(), "/_double/requests").json();
    assert_eq!(
        log,
        json!([{"method":"GET","path":"/_cat/indices","query":"format=json","status":200}])
    );
}
