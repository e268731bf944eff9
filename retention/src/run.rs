//! One retention run: list the cluster, plan, print the plan, delete group by group, and print
//! what happened to each index. Output is one line per index or alias, `VERB NAME: REASON`, so a
//! CronJob's log says what was deleted and why.

use std::io::Write;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use logship_config::{EsEndpoint, Settings};

use crate::api::{self, ApiError, Deleted};
use crate::client::{EsClient, Security};
use crate::plan::{groups, Action, Plan};
use crate::select::Window;

/// The longest comma-joined list of names in one `DELETE` (Curator cuts at 3 KiB too): request
/// lines stay well under the 4 KiB ES (and most proxies) accept.
pub const MAX_GROUP_BYTES: usize = 3000;

/// Everything a run needs, resolved by the caller.
#[derive(Debug, Clone)]
pub struct Options {
    /// The Elasticsearch endpoints, in fail-over order.
    pub endpoints: Vec<EsEndpoint>,
    /// Which setting chose them, for the first line of output.
    pub chosen: String,
    /// `KEEP_LOG_DAYS`; 0 deletes nothing.
    pub keep_days: u8,
    /// The moment the ages are computed from.
    pub now: DateTime<Utc>,
    /// Plan and print, delete nothing.
    pub dry_run: bool,
    /// Bound on each request.
    pub timeout: Duration,
    /// Bound on the names of one `DELETE`, see [`MAX_GROUP_BYTES`].
    pub max_group_bytes: usize,
    /// TLS and credentials from the `LOGSHIP_ES_*` settings (the caller reads the files).
    pub security: Security,
}

/// `LOGSHIP_OUTPUT` is stdout or a file: there is no Elasticsearch to prune.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("retention needs an Elasticsearch, but LOGSHIP_OUTPUT={0} sends the documents elsewhere; unset LOGSHIP_OUTPUT (or set it to elasticsearch) so the Elasticsearch settings (LOG_NODE_COUNT, ELK_SERVICE_HOSTS, ES_SERVER) apply")]
pub struct NoElasticsearch(pub String);

impl Options {
    /// The options for the Elasticsearch the agent ships to (DESIGN §3), with the defaults.
    pub fn from_settings(
        settings: &Settings,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<Options, NoElasticsearch> {
        let plan = settings
            .es
            .as_ref()
            .ok_or_else(|| NoElasticsearch(settings.output.to_string()))?;
        Ok(Options {
            endpoints: plan.endpoints.clone(),
            chosen: plan.chosen.env().to_string(),
            keep_days: settings.keep_log_days.get(),
            now,
            dry_run,
            timeout: Duration::from_secs(30),
            max_group_bytes: MAX_GROUP_BYTES,
            security: Security::default(),
        })
    }
}

/// What a run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Deleted (or, in a dry run, to be deleted).
    pub deleted: usize,
    pub kept: usize,
    pub skipped: usize,
}

/// Why a run failed. Whatever was deleted before is already in the output.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Setup(String),
    #[error("listing the indices failed: {0}")]
    Listing(ApiError),
    #[error("deleting {failed} failed ({deleted} deleted before, {not_attempted} not attempted after; the next run retries them): {error}")]
    Deletion {
        deleted: usize,
        failed: String,
        not_attempted: usize,
        error: ApiError,
    },
    #[error("writing the report failed: {0}")]
    Output(#[from] std::io::Error),
}

/// Runs retention once, writing the report to `out`.
pub async fn run(opts: &Options, out: &mut dyn Write) -> Result<Summary, RunError> {
    let today = opts.now.date_naive();
    let Some(window) = Window::new(today, opts.keep_days) else {
        writeln!(
            out,
            "retention: off: KEEP_LOG_DAYS=0 keeps every index; nothing is deleted"
        )?;
        return Ok(Summary::default());
    };
    let shown: Vec<String> = opts.endpoints.iter().map(ToString::to_string).collect();
    writeln!(
        out,
        "retention: Elasticsearch {} (chosen by {})",
        shown.join(", "),
        opts.chosen
    )?;
    let kept_days = match window.keep_days() {
        1 => format!("today, {today} UTC, is kept"),
        2 => format!("today, {today} UTC, and the day before are kept"),
        n => format!("today, {today} UTC, and the {} days before are kept", n - 1),
    };
    writeln!(
        out,
        "retention: KEEP_LOG_DAYS={} at {}: deleting logstash-* and heapster-* indices dated before {} ({kept_days})",
        window.keep_days(),
        opts.now.to_rfc3339_opts(SecondsFormat::Secs, true),
        window.oldest_kept(),
    )?;
    if opts.dry_run {
        writeln!(out, "retention: dry run: nothing is deleted")?;
    }
    let client = EsClient::with_security(&opts.endpoints, opts.timeout, &opts.security)
        .map_err(RunError::Setup)?;
    let indices = api::list_indices(&client)
        .await
        .map_err(RunError::Listing)?;
    let aliases = api::list_aliases(&client)
        .await
        .map_err(RunError::Listing)?;
    let alias_count: usize = aliases.values().map(Vec::len).sum();
    writeln!(
        out,
        "retention: {} and {} on {}",
        count(indices.len(), "index", "indices"),
        count(alias_count, "alias", "aliases"),
        client.endpoint()
    )?;
    let plan = Plan::build(&indices, &aliases, window);
    for entry in &plan.entries {
        match entry.action {
            Action::Keep(_) => writeln!(out, "kept {}: {}", entry.name, plan.reason(entry))?,
            Action::Skip(_) => writeln!(out, "skipped {}: {}", entry.name, plan.reason(entry))?,
            Action::Delete(..) => {}
        }
    }
    let (kept, skipped) = plan.counts();
    let doomed = plan.to_delete();
    if opts.dry_run {
        for entry in &doomed {
            writeln!(out, "would delete {}: {}", entry.name, plan.reason(entry))?;
        }
        writeln!(
            out,
            "retention: dry run: {} would be deleted, {kept} kept, {skipped} skipped",
            doomed.len()
        )?;
        return Ok(Summary {
            deleted: doomed.len(),
            kept,
            skipped,
        });
    }
    let names: Vec<&str> = doomed.iter().map(|e| e.name.as_str()).collect();
    let mut deleted = 0;
    let mut done = 0;
    for group in groups(&names, opts.max_group_bytes) {
        let entries = &doomed[done..done + group.len()];
        done += group.len();
        match api::delete(&client, &group).await {
            Ok(ack) => {
                let note = match ack {
                    Deleted::Acknowledged => "",
                    Deleted::NotYetAcknowledged => {
                        " (not acknowledged within the timeout; Elasticsearch completes it)"
                    }
                };
                for entry in entries {
                    writeln!(out, "deleted {}: {}{note}", entry.name, plan.reason(entry))?;
                }
                deleted += group.len();
            }
            Err(error) => {
                for entry in entries {
                    writeln!(out, "failed {}: {error}", entry.name)?;
                }
                for entry in &doomed[done..] {
                    writeln!(
                        out,
                        "not deleted {}: not attempted after the failure above",
                        entry.name
                    )?;
                }
                let not_attempted = doomed.len() - done;
                writeln!(
                    out,
                    "retention: failed: {deleted} deleted, {} failed, {not_attempted} not attempted, {kept} kept, {skipped} skipped",
                    group.len()
                )?;
                let failed = count(group.len(), "index", "indices");
                return Err(RunError::Deletion {
                    deleted,
                    failed: format!("{failed} ({})", group.join(", ")),
                    not_attempted,
                    error,
                });
            }
        }
    }
    writeln!(
        out,
        "retention: {deleted} deleted, {kept} kept, {skipped} skipped"
    )?;
    Ok(Summary {
        deleted,
        kept,
        skipped,
    })
}

fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}
