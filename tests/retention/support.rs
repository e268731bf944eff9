//! Shared pieces of the retention tests: the table of indices a cluster is seeded with, the
//! expected decisions for it, and the real `logship retention` run as a child process.

use std::collections::BTreeSet;
use std::process::Command;

use logship_testkit::es::{EsDouble, EsOptions, EsVersion, SeedIndex};

use crate::common::BIN;

/// The fixed "now" of the table: 01:00 UTC, when the CronJob runs.
pub const NOW: &str = "2026-11-22T01:00:00Z";
/// [`NOW`] as Unix seconds (for Curator's `epoch`).
pub const NOW_EPOCH: u64 = 1_795_309_200;

/// Indices whose dates are counted from [`NOW`] (D = 2026-11-22).
pub const DATED: &[&str] = &[
    "logstash-2026.11.23",        // tomorrow: never older
    "logstash-2026.11.22",        // today
    "logstash-2026.11.21",        // yesterday
    "logstash-2026.11.20",        // D-2: the oldest kept with N=3
    "logstash-2026.11.19",        // D-3: the newest deleted with N=3
    "logstash-2026.11.01",        // month boundary
    "logstash-2026.10.31",        // month boundary
    "logstash-2026.10.24",        // D-29: the oldest kept with N=30
    "logstash-2026.10.23",        // D-30: the newest deleted with N=30
    "logstash-2026.01.01",        // year boundary
    "logstash-2025.12.31",        // year boundary
    "heapster-2026.11.21",        // aliased by heapster-cpu (Heapster 1.5)
    "heapster-2026.11.18",        // aliased by heapster-events-2026.11.18 (Heapster <= 1.4)
    "heapster-cpu-2026.11.01",    // the date after a longer prefix
    "heapster-memory-2026.11.22", // today, longer prefix
];

/// Indices never touched: no date, not a date, other prefixes.
pub const UNDATED: &[&str] = &[
    "logstash-foo",
    ".kibana_1",
    "mylogstash-2020.01.01",
    "heapster-cpu-latest",
];

/// A closed index, which retention (like Curator) deletes like an open one.
pub const CLOSED: &str = "logstash-2026.11.10";

/// `logstash-2026.02.30`: dated, but not a calendar date. Curator fails on it.
pub const BAD_DATE: &str = "logstash-2026.02.30";

/// The aliases of the table: (alias, index).
pub const ALIASES: &[(&str, &str)] = &[
    ("heapster-cpu", "heapster-2026.11.21"),
    ("heapster-events-2026.11.18", "heapster-2026.11.18"),
    (".kibana", ".kibana_1"),
    // A dated logstash- name that is an alias of an index retention must never touch.
    ("logstash-2019.01.01", ".kibana_1"),
];

/// The table as the ES double seeds it, `with_bad_date` adding [`BAD_DATE`].
pub fn table(with_bad_date: bool) -> Vec<SeedIndex> {
    let mut out: Vec<SeedIndex> = DATED
        .iter()
        .chain(UNDATED)
        .map(|n| SeedIndex::new(*n))
        .collect();
    out.push(SeedIndex::new(CLOSED).closed());
    if with_bad_date {
        out.push(SeedIndex::new(BAD_DATE));
    }
    for (alias, index) in ALIASES {
        if let Some(ix) = out.iter_mut().find(|s| s.name == *index) {
            ix.aliases.push(alias.to_string());
        }
    }
    out
}

/// Every index of the table.
pub fn all_indices(with_bad_date: bool) -> BTreeSet<String> {
    table(with_bad_date).into_iter().map(|s| s.name).collect()
}

/// The indices of the table that keeping `n` days at [`NOW`] deletes.
pub fn expected_deleted(n: u8) -> BTreeSet<String> {
    let names: &[&str] = match n {
        0 => &[],
        1 => &[
            "logstash-2026.11.21",
            "logstash-2026.11.20",
            "logstash-2026.11.19",
            CLOSED,
            "logstash-2026.11.01",
            "logstash-2026.10.31",
            "logstash-2026.10.24",
            "logstash-2026.10.23",
            "logstash-2026.01.01",
            "logstash-2025.12.31",
            "heapster-2026.11.21",
            "heapster-2026.11.18",
            "heapster-cpu-2026.11.01",
        ],
        3 => &[
            "logstash-2026.11.19",
            CLOSED,
            "logstash-2026.11.01",
            "logstash-2026.10.31",
            "logstash-2026.10.24",
            "logstash-2026.10.23",
            "logstash-2026.01.01",
            "logstash-2025.12.31",
            "heapster-2026.11.18",
            "heapster-cpu-2026.11.01",
        ],
        30 => &[
            "logstash-2026.10.23",
            "logstash-2026.01.01",
            "logstash-2025.12.31",
        ],
        other => panic!("no expectation for N={other}"),
    };
    set(names)
}

pub fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// A double of `version` with no index.
pub fn empty(version: EsVersion) -> EsDouble {
    EsDouble::start(EsOptions {
        id_seed: Some(1),
        ..EsOptions::version(version)
    })
    .expect("start the ES double")
}

/// A double of `version` seeded with the table.
pub fn seeded(version: EsVersion, with_bad_date: bool) -> EsDouble {
    let es = empty(version);
    es.seed(&table(with_bad_date)).expect("seed");
    es
}

/// A port nothing listens on: bound, then released.
pub fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// One finished `logship retention`.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The names on the lines that start with `verb ` (`deleted`, `kept`, `would delete`...).
    pub fn names(&self, verb: &str) -> BTreeSet<String> {
        let prefix = format!("{verb} ");
        self.stdout
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix))
            .filter_map(|rest| rest.split_once(": ").map(|(name, _)| name.to_string()))
            .collect()
    }
}

/// Runs `logship retention ARGS` with exactly `env` (plus PATH).
pub fn retention(env: &[(&str, String)], args: &[&str]) -> Run {
    let out = Command::new(BIN)
        .arg("retention")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("run logship retention");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The environment of a run against `es` keeping `n` days.
pub fn env_for(es: &EsDouble, n: u8) -> Vec<(&'static str, String)> {
    vec![("ES_SERVER", es.url()), ("KEEP_LOG_DAYS", n.to_string())]
}

pub fn names_now(es: &EsDouble) -> BTreeSet<String> {
    es.index_names().into_iter().collect()
}
