//! Elasticsearch failing under `logship retention`: unreachable, resetting, denying access,
//! failing a DELETE in the middle of a run. Each is a non-zero exit with one clear line on
//! stderr, and the report says exactly which indices were deleted before.

use std::collections::BTreeSet;

use logship_testkit::es::{EsVersion, Faults, RequestRecord, SeedIndex};

use crate::support::*;

#[test]
fn elasticsearch_down_is_a_clear_failure() {
    let port = dead_port();
    let env = [("ES_SERVER", format!("127.0.0.1:{port}"))];
    let run = retention(&env, &["--now", NOW]);
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stderr,
        format!(
            "logship retention: listing the indices failed: Elasticsearch cannot be reached: \
             http://127.0.0.1:{port}: client error (Connect): tcp connect error: Connection refused (os error 111)\n"
        )
    );
    // A server that resets the connection instead of answering.
    let es = seeded(EsVersion::Es7_17_27, false);
    es.set_faults(Faults {
        fail_match: "*".into(),
        down: true,
        ..Faults::default()
    });
    let run = retention(&env_for(&es, 3), &["--now", NOW]);
    assert_eq!(run.code, Some(1));
    let prefix = format!(
        "logship retention: listing the indices failed: Elasticsearch cannot be reached: {}: ",
        es.url()
    );
    assert!(run.stderr.starts_with(&prefix), "{}", run.stderr);
    assert_eq!(names_now(&es), all_indices(false));
}

#[test]
fn access_denied_is_a_clear_failure() {
    let es = seeded(EsVersion::Es7_17_27, false);
    es.set_faults(Faults {
        fail_match: "GET /_all/_settings".into(),
        fail_next_requests: 1,
        fail_status: 403,
        ..Faults::default()
    });
    let run = retention(&env_for(&es, 3), &["--now", NOW]);
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stderr,
        format!(
            "logship retention: listing the indices failed: {} denied access (HTTP 403: security_exception: \
             action [indices:monitor/settings/get] is unauthorized for user [logship]); the user needs the \
             view_index_metadata and delete_index privileges on logstash-* and heapster-*\n",
            es.url()
        )
    );
    // Allowed to list, not to delete.
    es.set_faults(Faults {
        fail_match: "DELETE /*".into(),
        fail_next_requests: 1,
        fail_status: 403,
        ..Faults::default()
    });
    let run = retention(&env_for(&es, 3), &["--now", NOW]);
    assert_eq!(run.code, Some(1));
    assert_eq!(run.names("failed"), expected_deleted(3));
    assert!(run.names("deleted").is_empty());
    let doomed: Vec<String> = expected_deleted(3).into_iter().collect();
    assert_eq!(
        run.stderr,
        format!(
            "logship retention: deleting 10 indices ({}) failed (0 deleted before, 0 not attempted after; \
             the next run retries them): {} denied access (HTTP 403: security_exception: action \
             [indices:admin/delete] is unauthorized for user [logship]); the user needs the \
             view_index_metadata and delete_index privileges on logstash-* and heapster-*\n",
            doomed.join(", "),
            es.url()
        )
    );
    assert_eq!(names_now(&es), all_indices(false));
}

#[test]
fn a_deletion_failing_mid_run_reports_what_was_deleted() {
    let es = empty(EsVersion::Es7_17_27);
    // 400 names of 27 bytes: more than 3000 bytes, so several DELETEs.
    let old: Vec<String> = (0..400)
        .map(|i| format!("logstash-k8s-{i:03}-2020.01.01"))
        .collect();
    let mut seed: Vec<SeedIndex> = old.iter().map(SeedIndex::new).collect();
    seed.push(SeedIndex::new("logstash-2026.11.22"));
    es.seed(&seed).unwrap();
    es.set_faults(Faults {
        fail_match: "DELETE /*".into(),
        skip_next_requests: 1,
        fail_next_requests: 1,
        fail_status: 503,
        ..Faults::default()
    });
    let run = retention(&env_for(&es, 3), &["--now", NOW]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    let deletes: Vec<RequestRecord> = es
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    assert_eq!(deletes.len(), 2, "no DELETE after the failed one");
    assert_eq!(deletes[0].status, Some(200));
    assert_eq!(deletes[1].status, Some(503));
    let group = |r: &RequestRecord| -> BTreeSet<String> {
        assert!(r.path.len() <= 1 + 3000, "{} bytes", r.path.len());
        r.path[1..].split(',').map(str::to_string).collect()
    };
    let (first, second) = (group(&deletes[0]), group(&deletes[1]));
    assert!(
        first.len() > 100 && second.len() > 100,
        "{} {}",
        first.len(),
        second.len()
    );
    assert_eq!(run.names("deleted"), first);
    assert_eq!(run.names("failed"), second);
    let rest: BTreeSet<String> = set(&old.iter().map(String::as_str).collect::<Vec<_>>())
        .difference(&first)
        .cloned()
        .collect();
    let not_attempted: BTreeSet<String> = rest.difference(&second).cloned().collect();
    assert_eq!(run.names("not deleted"), not_attempted);
    let mut left = rest.clone();
    left.insert("logstash-2026.11.22".into());
    assert_eq!(names_now(&es), left);
    let second_names: Vec<&str> = deletes[1].path[1..].split(',').collect();
    assert_eq!(
        run.stderr,
        format!(
            "logship retention: deleting {} indices ({}) failed ({} deleted before, {} not attempted after; \
             the next run retries them): {} answered HTTP 503: cluster_block_exception: blocked by: \
             [SERVICE_UNAVAILABLE/1/state not recovered / initialized];\n",
            second.len(),
            second_names.join(", "),
            first.len(),
            not_attempted.len(),
            es.url()
        )
    );
}
