//! Cross-check with the real Curator: Debian's python3-elasticsearch-curator (5.8) runs the
//! original's action file (reference §4) against the ES double seeded with the table, then the
//! double is seeded again and `logship retention` runs; both must delete the same indices.
//!
//! Curator's "now" is fixed with the age filter's `epoch` option (the one line added to the
//! original's action file), so the comparison does not depend on the clock. Curator 5.8 accepts
//! ES 5.x to 7.x only, and the elasticsearch-py 7.17 it runs on refuses servers before 6.0 ("not
//! Elasticsearch"), so 6.8 and 7.17 are cross-checked, not 5.x, 8.x or OpenSearch.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use logship_testkit::es::{EsDouble, EsVersion};

use crate::support::*;

/// Debian's interpreter, which has the apt-installed module (a pyenv one may come first on PATH).
const PYTHON: &str = "/usr/bin/python3";

/// How to start Curator: its console script if there is one, else its click entry point
/// (Debian's 5.8.1 package ships the module without `/usr/bin/curator`).
fn curator() -> Option<Vec<String>> {
    for bin in ["/usr/bin/curator", "/usr/local/bin/curator"] {
        if Path::new(bin).exists() {
            return Some(vec![bin.to_string()]);
        }
    }
    let importable = Command::new(PYTHON)
        .args(["-c", "import curator.cli"])
        .output()
        .is_ok_and(|o| o.status.success());
    importable.then(|| {
        [
            PYTHON,
            "-c",
            "import sys; from curator.cli import cli; sys.argv[0] = 'curator'; cli()",
        ]
        .map(String::from)
        .to_vec()
    })
}

/// The original's `curator-action.yaml.tmpl` rendered for `n` days, plus `epoch`.
fn action_file(n: u8, epoch: u64) -> String {
    let disable = if n == 0 { "True" } else { "False" };
    format!(
        "\
actions:
  1:
    action: delete_indices
    description: >-
      Delete indices older than x days (based on index name), for logstash-
      prefixed indices. ...
    options:
      ignore_empty_list: True
      disable_action: {disable}
    filters:
    - filtertype: pattern
      kind: regex
      value: '^(logstash-|heapster-).*$'
    - filtertype: age
      source: name
      direction: older
      timestring: '%Y.%m.%d'
      unit: days
      unit_count: {n}
      epoch: {epoch}
"
    )
}

fn client_file(es: &EsDouble) -> String {
    format!(
        "\
client:
  hosts:
    - 127.0.0.1
  port: {}
  timeout: 30
logging:
  loglevel: INFO
",
        es.addr().port()
    )
}

struct CuratorRun {
    ok: bool,
    deleted: BTreeSet<String>,
    log: String,
}

fn run_curator(cmd: &[String], es: &EsDouble, n: u8, epoch: u64) -> CuratorRun {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.yml");
    let action = dir.path().join("action.yml");
    std::fs::write(&config, client_file(es)).expect("write config");
    std::fs::write(&action, action_file(n, epoch)).expect("write action");
    let before = names_now(es);
    let out = Command::new(&cmd[0])
        .args(&cmd[1..])
        .arg("--config")
        .arg(&config)
        .arg(&action)
        .output()
        .expect("run curator");
    let after = names_now(es);
    CuratorRun {
        ok: out.status.success(),
        deleted: before.difference(&after).cloned().collect(),
        log: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn logship_deleted(version: EsVersion, with_bad_date: bool, n: u8, now: &str) -> BTreeSet<String> {
    let es = seeded(version, with_bad_date);
    let run = retention(&env_for(&es, n), &["--now", now]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    all_indices(with_bad_date)
        .difference(&names_now(&es))
        .cloned()
        .collect()
}

#[test]
fn curator_and_logship_delete_the_same_indices() {
    let Some(cmd) = curator() else {
        if std::env::var_os("CI").is_some() {
            panic!("Curator is not installed: .ci/install-test-deps.sh installs python3-elasticsearch-curator");
        }
        println!(
            "SKIP curator_and_logship_delete_the_same_indices: no /usr/bin/curator and {PYTHON} cannot \
             import curator (apt-get install python3-elasticsearch-curator)"
        );
        return;
    };
    let cases = [
        (EsVersion::Es7_17_27, 0u8),
        (EsVersion::Es7_17_27, 1),
        (EsVersion::Es7_17_27, 3),
        (EsVersion::Es7_17_27, 30),
        (EsVersion::Es6_8_23, 3),
    ];
    for (v, n) in cases {
        let es = seeded(v, false);
        let cur = run_curator(&cmd, &es, n, NOW_EPOCH);
        assert!(cur.ok, "{v} N={n}: curator failed:\n{}", cur.log);
        let ours = logship_deleted(v, false, n, NOW);
        assert_eq!(
            cur.deleted, ours,
            "{v} N={n}: Curator (left) and logship (right) differ"
        );
        assert_eq!(ours, expected_deleted(n), "{v} N={n}");
        println!(
            "{v} N={n}: Curator and logship both deleted {} indices",
            ours.len()
        );
    }
}

/// The two documented differences (docs/retention.md).
#[test]
fn where_logship_differs_from_curator() {
    let Some(cmd) = curator() else {
        if std::env::var_os("CI").is_some() {
            panic!("Curator is not installed: .ci/install-test-deps.sh installs python3-elasticsearch-curator");
        }
        println!("SKIP where_logship_differs_from_curator: Curator is not installed");
        return;
    };
    // At exactly 00:00:00 UTC Curator's point of reference (now - N days) equals the midnight
    // of day D-N, and `older` is a strict `<`, so it keeps D-N for that one second; logship goes
    // by date and deletes it.
    let midnight = 1_795_305_600;
    let es = seeded(EsVersion::Es7_17_27, false);
    let cur = run_curator(&cmd, &es, 3, midnight);
    assert!(cur.ok, "{}", cur.log);
    let ours = logship_deleted(EsVersion::Es7_17_27, false, 3, "2026-11-22T00:00:00Z");
    assert_eq!(
        ours.difference(&cur.deleted).cloned().collect::<Vec<_>>(),
        ["logstash-2026.11.19"]
    );
    assert!(cur.deleted.is_subset(&ours));
    assert_eq!(ours, expected_deleted(3));

    // A name whose date is not a calendar date makes Curator's whole action fail (nothing is
    // deleted); logship skips that index and deletes the others.
    let es = seeded(EsVersion::Es7_17_27, true);
    let cur = run_curator(&cmd, &es, 3, NOW_EPOCH);
    assert!(!cur.ok, "{}", cur.log);
    assert!(
        cur.log.contains("day is out of range for month"),
        "{}",
        cur.log
    );
    assert!(cur.deleted.is_empty());
    let ours = logship_deleted(EsVersion::Es7_17_27, true, 3, NOW);
    assert_eq!(ours, expected_deleted(3));
}
