//! Retention (`logship retention`, DESIGN §6): deletes the `logstash-*` and `heapster-*` indices
//! whose name carries a `%Y.%m.%d` date older than `KEEP_LOG_DAYS` days, on the Elasticsearch the
//! settings choose (DESIGN §3, the same plan as the agent's), as the original's Curator job did.
//!
//! The crate is three layers. [`select`] and [`plan`] are pure: a name and a day in, a decision
//! and its reason out; a listing in, the plan and the groups of deletions out. [`client`] and
//! [`api`] are the HTTP side: a hyper client failing over across the endpoints, and the three
//! calls retention makes (list the indices, list the aliases, delete). [`run`] ties them together
//! and writes the report, one line per index. Aliases are never deleted, nor any index without a
//! parseable date or with another prefix.
//!
//! It does not read settings (the binary hands it [`Options`], built from `logship-config`'s
//! `Settings`), schedule itself (a Kubernetes CronJob does, see `deploy/`), or print anywhere but
//! the writer it is given.

pub mod api;
pub mod client;
pub mod plan;
pub mod run;
pub mod select;

use chrono::{DateTime, Utc};

pub use run::{run, NoElasticsearch, Options, RunError, Summary, MAX_GROUP_BYTES};

/// The moment of a run: `--now` if given (see [`parse_now`]), else the current time.
pub fn now_from_flag(flag: Option<&str>) -> Result<DateTime<Utc>, String> {
    flag.map_or_else(|| Ok(Utc::now()), parse_now)
}

/// Parses `--now`: an RFC 3339 timestamp with any offset, taken as that instant in UTC.
pub fn parse_now(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            format!("--now {text:?}: {e}: expected an RFC 3339 time such as 2026-11-22T01:00:00Z")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_rfc3339_in_utc() {
        let t = parse_now("2026-11-22T00:30:00+02:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-21T22:30:00+00:00");
        assert_eq!(t.date_naive().to_string(), "2026-11-21");
        let e = parse_now("2026-11-22").unwrap_err();
        assert!(e.starts_with("--now \"2026-11-22\": "), "{e}");
    }
}
