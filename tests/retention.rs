//! End to end: the real `logship retention` against the ES double seeded with a table of indices
//! (dates around today, month and year boundaries, no dates, bad dates, other prefixes, aliases,
//! a closed index), for KEEP_LOG_DAYS 0, 1, 3 and 30 at a fixed `--now`; dry runs; Elasticsearch
//! down, denying access, failing mid-run (retention/failures.rs); the ES precedence and ELK
//! fail-over. The cross-check with the real Curator is in retention/curator.rs.

mod common;
#[path = "retention/curator.rs"]
mod curator;
#[path = "retention/failures.rs"]
mod failures;
#[path = "retention/support.rs"]
mod support;

use std::collections::BTreeSet;

use logship_testkit::es::{EsVersion, RequestRecord, SeedIndex};
use support::*;

#[test]
fn table_against_keep_1_3_and_30_days() {
    for n in [1u8, 3, 30] {
        let es = seeded(EsVersion::Es7_17_27, true);
        let run = retention(&env_for(&es, n), &["--now", NOW]);
        assert_eq!(run.code, Some(0), "N={n}: {}{}", run.stdout, run.stderr);
        assert_eq!(run.stderr, "", "N={n}");
        let deleted = expected_deleted(n);
        assert_eq!(run.names("deleted"), deleted, "N={n}");
        let all = all_indices(true);
        let remaining: BTreeSet<String> = all.difference(&deleted).cloned().collect();
        assert_eq!(names_now(&es), remaining, "N={n}");
        let mut skipped = set(UNDATED);
        skipped.insert(BAD_DATE.to_string());
        skipped.extend(ALIASES.iter().map(|(a, _)| a.to_string()));
        assert_eq!(run.names("skipped"), skipped, "N={n}");
        let kept: BTreeSet<String> = remaining.difference(&skipped).cloned().collect();
        assert_eq!(run.names("kept"), kept, "N={n}");
        // One DELETE carries them all (far below the 3000-byte limit), after the two listings.
        let mut want_path: Vec<&str> = deleted.iter().map(String::as_str).collect();
        want_path.sort();
        let rec = |method: &str, path: String, query: &str| RequestRecord {
            method: method.into(),
            path,
            query: query.into(),
            status: Some(200),
        };
        assert_eq!(
            es.requests(),
            [
                rec(
                    "GET",
                    "/_all/_settings".into(),
                    "expand_wildcards=open,closed"
                ),
                rec("GET", "/_alias".into(), ""),
                rec("DELETE", format!("/{}", want_path.join(",")), ""),
            ],
            "N={n}"
        );
    }
}

#[test]
fn the_report_for_three_days() {
    let es = seeded(EsVersion::Es7_17_27, true);
    let run = retention(&env_for(&es, 3), &["--now", NOW]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let want = format!(
        "\
retention: Elasticsearch {url} (chosen by ES_SERVER)
retention: KEEP_LOG_DAYS=3 at 2026-11-22T01:00:00Z: deleting logstash-* and heapster-* indices dated before 2026-11-20 (today, 2026-11-22 UTC, and the 2 days before are kept)
retention: 21 indices and 4 aliases on {url}
skipped .kibana: an alias (of .kibana_1), not an index; aliases are never deleted
skipped .kibana_1: not a logstash- or heapster- index
kept heapster-2026.11.21: dated 2026-11-21, not older than 3 days
skipped heapster-cpu: an alias (of heapster-2026.11.21), not an index; aliases are never deleted
skipped heapster-cpu-latest: no %Y.%m.%d date in the name
skipped heapster-events-2026.11.18: an alias (of heapster-2026.11.18), not an index; aliases are never deleted
kept heapster-memory-2026.11.22: dated 2026-11-22, not older than 3 days
skipped logstash-2019.01.01: an alias (of .kibana_1), not an index; aliases are never deleted
skipped logstash-2026.02.30: 2026.02.30 in the name is not a calendar date
kept logstash-2026.11.20: dated 2026-11-20, not older than 3 days
kept logstash-2026.11.21: dated 2026-11-21, not older than 3 days
kept logstash-2026.11.22: dated 2026-11-22, not older than 3 days
kept logstash-2026.11.23: dated 2026-11-23, not older than 3 days
skipped logstash-foo: no %Y.%m.%d date in the name
skipped mylogstash-2020.01.01: not a logstash- or heapster- index
deleted heapster-2026.11.18: dated 2026-11-18, older than 3 days; its aliases go with it: heapster-events-2026.11.18
deleted heapster-cpu-2026.11.01: dated 2026-11-01, older than 3 days
deleted logstash-2025.12.31: dated 2025-12-31, older than 3 days
deleted logstash-2026.01.01: dated 2026-01-01, older than 3 days
deleted logstash-2026.10.23: dated 2026-10-23, older than 3 days
deleted logstash-2026.10.24: dated 2026-10-24, older than 3 days
deleted logstash-2026.10.31: dated 2026-10-31, older than 3 days
deleted logstash-2026.11.01: dated 2026-11-01, older than 3 days
deleted logstash-2026.11.10: dated 2026-11-10, older than 3 days
deleted logstash-2026.11.19: dated 2026-11-19, older than 3 days
retention: 10 deleted, 6 kept, 9 skipped
",
        url = es.url()
    );
    assert_eq!(run.stdout, want);
    assert_eq!(es.aliases().len(), 3, "heapster-events went with its index");
}

#[test]
fn keep_zero_days_deletes_nothing_and_says_so() {
    let es = seeded(EsVersion::Es7_17_27, true);
    let run = retention(&env_for(&es, 0), &["--now", NOW]);
    assert_eq!(run.code, Some(0));
    assert_eq!(
        run.stdout,
        "retention: off: KEEP_LOG_DAYS=0 keeps every index; nothing is deleted\n"
    );
    assert_eq!(names_now(&es), all_indices(true));
    assert!(es.requests().is_empty(), "{:?}", es.requests());
}

#[test]
fn dry_run_prints_the_plan_and_deletes_nothing() {
    let es = seeded(EsVersion::Es7_17_27, true);
    let run = retention(&env_for(&es, 3), &["--now", NOW, "--dry-run"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.names("would delete"), expected_deleted(3));
    assert!(run.names("deleted").is_empty());
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[2], "retention: dry run: nothing is deleted");
    assert_eq!(
        lines.last().copied(),
        Some("retention: dry run: 10 would be deleted, 6 kept, 9 skipped")
    );
    assert_eq!(names_now(&es), all_indices(true));
    let methods: Vec<String> = es.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["GET", "GET"]);
}

#[test]
fn calendar_boundaries_and_offsets() {
    let cases: &[(&str, u8, &[&str], &[&str])] = &[
        // Year boundary.
        (
            "2027-01-02T00:30:00Z",
            3,
            &[
                "logstash-2026.12.30",
                "logstash-2026.12.31",
                "logstash-2027.01.01",
                "logstash-2027.01.02",
            ],
            &["logstash-2026.12.30"],
        ),
        // Month boundary, last second of the day.
        (
            "2026-03-01T23:59:59Z",
            2,
            &[
                "logstash-2026.02.27",
                "logstash-2026.02.28",
                "logstash-2026.03.01",
            ],
            &["logstash-2026.02.27"],
        ),
        // Leap year.
        (
            "2028-03-01T12:00:00Z",
            2,
            &[
                "logstash-2028.02.28",
                "logstash-2028.02.29",
                "logstash-2028.03.01",
            ],
            &["logstash-2028.02.28"],
        ),
        // A local time east of UTC: still 2026-11-21 in UTC, so only the 20th goes.
        (
            "2026-11-22T00:30:00+02:00",
            1,
            &[
                "logstash-2026.11.20",
                "logstash-2026.11.21",
                "logstash-2026.11.22",
            ],
            &["logstash-2026.11.20"],
        ),
    ];
    for (now, n, indices, deleted) in cases {
        let es = empty(EsVersion::Es7_17_27);
        es.seed(
            &indices
                .iter()
                .map(|i| SeedIndex::new(*i))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let run = retention(&env_for(&es, *n), &["--now", now]);
        assert_eq!(run.code, Some(0), "{now}: {}", run.stderr);
        assert_eq!(run.names("deleted"), set(deleted), "{now} N={n}");
        let kept: BTreeSet<String> = set(indices).difference(&set(deleted)).cloned().collect();
        assert_eq!(names_now(&es), kept, "{now} N={n}");
    }
}

#[test]
fn every_server_version_gets_the_same_result() {
    let remaining: BTreeSet<String> = all_indices(true)
        .difference(&expected_deleted(3))
        .cloned()
        .collect();
    for v in EsVersion::ALL {
        let es = seeded(v, true);
        let run = retention(&env_for(&es, 3), &["--now", NOW]);
        assert_eq!(run.code, Some(0), "{v}: {}", run.stderr);
        assert_eq!(names_now(&es), remaining, "{v}");
    }
}

#[test]
fn same_elasticsearch_as_the_agent_with_elk_fail_over() {
    let es = seeded(EsVersion::Es7_17_27, false);
    let dead = dead_port();
    let env = [
        (
            "ELK_SERVICE_HOSTS",
            format!("127.0.0.1:{dead},{}", es.addr()),
        ),
        ("ES_SERVER", "127.0.0.1:1".to_string()),
        ("KEEP_LOG_DAYS", "3".to_string()),
    ];
    let run = retention(&env, &["--now", NOW]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "retention: Elasticsearch http://127.0.0.1:{dead}, {} (chosen by ELK_SERVICE_HOSTS)",
            es.url()
        )
    );
    assert_eq!(
        lines[2],
        format!("retention: 20 indices and 4 aliases on {}", es.url())
    );
    assert_eq!(run.names("deleted"), expected_deleted(3));

    // Log nodes win over ELK and ES_SERVER: only the in-cluster ES is pruned.
    let in_cluster = seeded(EsVersion::Es6_8_23, false);
    let other = seeded(EsVersion::Es7_17_27, false);
    let env = [
        ("LOG_NODE_COUNT", "2".to_string()),
        ("IN_CLUSTER_ES", in_cluster.url()),
        ("ES_SERVER", other.url()),
        ("KEEP_LOG_DAYS", "3".to_string()),
    ];
    let run = retention(&env, &["--now", NOW]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.names("deleted"), expected_deleted(3));
    assert!(other.requests().is_empty());
    assert_eq!(names_now(&other), all_indices(false));
}

#[test]
fn no_elasticsearch_or_a_bad_now_is_a_usage_error() {
    let run = retention(&[("LOGSHIP_OUTPUT", "stdout".into())], &[]);
    assert_eq!(run.code, Some(2));
    assert_eq!(
        run.stderr,
        "logship retention: retention needs an Elasticsearch, but LOGSHIP_OUTPUT=stdout sends the documents \
         elsewhere; unset LOGSHIP_OUTPUT (or set it to elasticsearch) so the Elasticsearch settings \
         (LOG_NODE_COUNT, ELK_SERVICE_HOSTS, ES_SERVER) apply\n"
    );
    let run = retention(
        &[("ES_SERVER", "127.0.0.1:9".into())],
        &["--now", "yesterday"],
    );
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr
            .starts_with("logship retention: --now \"yesterday\": "),
        "{}",
        run.stderr
    );
    let run = retention(&[], &[]);
    assert_eq!(run.code, Some(2));
    assert!(run.stderr.contains("error 101"), "{}", run.stderr);
}
