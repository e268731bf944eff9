//! Running journalctl and turning its lines into records: start it from where the journal
//! stands, read entries in batches (a batch is what journalctl has written so far, up to a
//! limit), hand them to the pipe, and queue each batch's last cursor for the committer. When
//! journalctl ends or cannot be started, say why and start it again, with backoff, just after
//! the last entry read (what is in flight stays in flight).

use crate::counters;
use crate::time_text::TimeText;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};
use tokio::sync::{mpsc, oneshot, watch};

use super::command::{self, Start};
use super::commit::Pending;
use super::entry::{self, NotAnEntry};
use super::stats::{JournaldStats, Problem};
use super::JournaldConfig;
use crate::fingerprint::{fnv1a, FNV_OFFSET};
use crate::json_merge::MergedObject;
use crate::log_text::LogText;
use crate::pipe::BatchSender;
use crate::record::{Record, RecordKind, Source};
use crate::time::EventTime;

/// Records per batch at most.
const BATCH_RECORDS: usize = 1024;
/// journalctl that ran this long was healthy: the next restart waits the shortest time again.
const HEALTHY_RUN: Duration = Duration::from_secs(10);

pub struct Reader {
    cfg: JournaldConfig,
    tx: BatchSender,
    stats: Arc<JournaldStats>,
    commits: mpsc::UnboundedSender<Pending>,
    /// The cursor of the last entry read (at start: the saved one).
    last_read: Option<String>,
    /// One source per unit: its tag and identity.
    sources: HashMap<String, Arc<Source>>,
    /// Ended journalctl runs and failed starts in a row, for the log.
    failures: u32,
}

/// How one run of journalctl ended.
enum Ended {
    /// The agent is stopping, or the outputs are gone.
    Stop,
    /// journalctl ended by itself (or its output could not be read): why.
    Exited(String),
}

#[derive(Default)]
struct Batch {
    records: Vec<Record>,
    /// The cursor of the last entry read into the batch, shipped or skipped.
    cursor: Option<String>,
}

impl Reader {
    pub fn new(
        cfg: JournaldConfig,
        tx: BatchSender,
        stats: Arc<JournaldStats>,
        commits: mpsc::UnboundedSender<Pending>,
        resume: Option<String>,
    ) -> Reader {
        Reader {
            cfg,
            tx,
            stats,
            commits,
            last_read: resume,
            sources: HashMap::new(),
            failures: 0,
        }
    }

    /// Runs journalctl, again and again, until `stop`.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let (min, max) = self.cfg.restart_backoff;
        let mut backoff = min;
        while !*stop.borrow() {
            let started = Instant::now();
            let read_before = self.last_read.clone();
            match self.spawn() {
                Err(e) => {
                    counters::add(&self.stats.start_errors, 1);
                    self.failures += 1;
                    tracing::error!(
                        program = %self.cfg.journalctl.display(),
                        error = %e,
                        retry_in = ?backoff,
                        attempts = self.failures,
                        "journald input: cannot run journalctl{}; the other inputs go on",
                        if e.kind() == std::io::ErrorKind::NotFound {
                            " (not found: the image or host needs systemd's journalctl in PATH)"
                        } else {
                            ""
                        }
                    );
                }
                Ok(child) => {
                    counters::set(&self.stats.running, 1);
                    let ended = self.follow(child, &mut stop).await;
                    counters::set(&self.stats.running, 0);
                    match ended {
                        Ended::Stop => break,
                        Ended::Exited(why) => {
                            counters::add(&self.stats.exits, 1);
                            self.failures += 1;
                            tracing::error!(
                                retry_in = ?backoff,
                                attempts = self.failures,
                                "journald input: {why}; it is started again after the last entry read, the other inputs go on"
                            );
                        }
                    }
                }
            }
            if started.elapsed() >= HEALTHY_RUN || self.last_read != read_before {
                backoff = min;
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => break,
            }
            backoff = (backoff * 2).min(max);
        }
    }

    fn spawn(&self) -> std::io::Result<Child> {
        let start = match &self.last_read {
            Some(cursor) => Start::After(cursor),
            None if self.cfg.start_at_end => Start::New,
            None => Start::Oldest,
        };
        let args = command::args(&self.cfg.units, self.cfg.directory.as_deref(), start);
        tracing::debug!(program = %self.cfg.journalctl.display(), ?args, "journald input: starting journalctl");
        Command::new(&self.cfg.journalctl)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
    }

    /// Reads one run of journalctl to its end (or until a stop).
    async fn follow(&mut self, mut child: Child, stop: &mut watch::Receiver<bool>) -> Ended {
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Ended::Exited("journalctl started without its output pipes".into());
        };
        let stderr = tokio::spawn(last_stderr_line(stderr));
        let mut out = BufReader::with_capacity(256 << 10, stdout);
        let mut line = Vec::with_capacity(4096);
        let mut batch = Batch::default();
        let why = loop {
            let read = tokio::select! {
                r = read_line(&mut out, &mut line, self.cfg.max_entry_bytes) => r,
                _ = stop.changed() => return Ended::Stop,
            };
            match read {
                Ok(Line::End) => break None,
                Ok(Line::TooLong(n)) => {
                    counters::add(&self.stats.bytes, n as u64);
                    if self.stats.problem(Problem::Oversized) {
                        tracing::warn!(bytes = n, limit = self.cfg.max_entry_bytes,
                            "journald input: an entry longer than LOGSHIP_MAX_LINE_BYTES was skipped (further ones are only counted)");
                    }
                }
                Ok(Line::Complete) => {
                    counters::add(&self.stats.bytes, line.len() as u64);
                    self.take(&line, &mut batch);
                }
                Err(e) => break Some(format!("cannot read journalctl's output: {e}")),
            }
            if batch.records.len() >= BATCH_RECORDS || out.buffer().is_empty() {
                if let Err(ended) = self.send(&mut batch, stop).await {
                    return ended;
                }
            }
        };
        if let Err(ended) = self.send(&mut batch, stop).await {
            return ended;
        }
        // Its output is closed: it has ended or is about to.
        let _ = child.start_kill();
        let status = child.wait().await;
        let last = stderr.await.unwrap_or_default();
        let status = match status {
            Ok(s) => s.to_string(),
            Err(e) => format!("unknown status ({e})"),
        };
        let mut why = why.unwrap_or_else(|| format!("journalctl ended ({status})"));
        if !last.is_empty() {
            why.push_str(&format!(": {last}"));
        }
        Ended::Exited(why)
    }

    /// One line of journalctl's output into the batch.
    fn take(&mut self, line: &[u8], batch: &mut Batch) {
        let entry = match entry::parse(line) {
            Ok(e) => e,
            Err(why) => {
                if self.stats.problem(Problem::NotJson) {
                    let what = match why {
                        NotAnEntry::NotJson => "not a JSON object",
                        NotAnEntry::NoCursor => "no __CURSOR",
                    };
                    tracing::warn!(line = %String::from_utf8_lossy(&line[..line.len().min(200)]),
                        "journald input: a line of journalctl's output is not an entry ({what}); skipped (further ones are only counted)");
                }
                return;
            }
        };
        self.last_read = Some(entry.cursor.clone());
        batch.cursor = Some(entry.cursor.clone());
        let Some(source) = entry.unit.as_deref().and_then(|u| self.source(u)) else {
            if self.stats.problem(Problem::OtherUnit) {
                tracing::warn!(unit = ?entry.unit, "journald input: journalctl gave an entry of a unit not in LOGSHIP_JOURNALD_UNITS; skipped (further ones are only counted)");
            }
            return;
        };
        let time = entry.time.unwrap_or_else(|| {
            if self.stats.problem(Problem::BadTime) {
                tracing::warn!(cursor = %entry.cursor, "journald input: an entry without a readable __REALTIME_TIMESTAMP was shipped with the time of reading (further ones are only counted)");
            }
            EventTime::now()
        });
        let id = fnv1a(FNV_OFFSET, entry.cursor.as_bytes());
        batch.records.push(Record {
            source,
            // The entry's identity within its unit, for the document `_id`.
            start_offset: id,
            end_offset: id,
            time,
            time_text: TimeText::default(),
            stream: None,
            log: LogText::default(),
            merged: MergedObject::parse(entry.fields),
            truncated: false,
            kind: RecordKind::Event,
        });
    }

    /// The source of a listed unit; `None` for any other unit.
    fn source(&mut self, unit: &str) -> Option<Arc<Source>> {
        if let Some(s) = self.sources.get(unit) {
            return Some(Arc::clone(s));
        }
        if !self.cfg.units.iter().any(|u| u == unit) {
            return None;
        }
        let source = Arc::new(Source {
            id: fnv1a(fnv1a(FNV_OFFSET, b"journald:"), unit.as_bytes()),
            path: PathBuf::new().into(),
            tag: format!("host.{unit}").into(),
            pod: None,
            meta: None,
        });
        self.sources.insert(unit.to_owned(), Arc::clone(&source));
        Some(source)
    }

    /// Hands the batch to the pipe (waiting while the memory bound is reached) and its cursor to
    /// the committer.
    async fn send(
        &mut self,
        batch: &mut Batch,
        stop: &mut watch::Receiver<bool>,
    ) -> Result<(), Ended> {
        let Some(cursor) = batch.cursor.take() else {
            return Ok(());
        };
        let records = std::mem::take(&mut batch.records);
        let n = records.len() as u64;
        let settled = if records.is_empty() {
            None
        } else {
            let (settled_tx, settled_rx) = oneshot::channel();
            tokio::select! {
                r = self.tx.send(records, Some(settled_tx)) => r.map_err(|_| Ended::Stop)?,
                _ = stop.changed() => return Err(Ended::Stop),
            }
            counters::add(&self.stats.records, n);
            Some(settled_rx)
        };
        self.commits
            .send(Pending {
                settled,
                cursor,
                records: n,
            })
            .map_err(|_| Ended::Stop)
    }
}

/// What [`read_line`] found.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    /// A whole line is in the buffer (its newline included).
    Complete,
    /// A line longer than the limit was read past; its length.
    TooLong(usize),
    /// The output ended (a last line without its newline is dropped: journalctl was cut off).
    End,
}

/// Reads one line into `line`, keeping at most `max` bytes of it in memory.
async fn read_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    line: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Line> {
    line.clear();
    let mut total = 0usize;
    loop {
        let available = r.fill_buf().await?;
        if available.is_empty() {
            return Ok(Line::End);
        }
        let (chunk, done) = match memchr::memchr(b'\n', available) {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        let n = chunk.len();
        total += n;
        if total <= max.saturating_add(1) {
            line.extend_from_slice(chunk);
        } else {
            line.clear();
        }
        r.consume(n);
        if done {
            return Ok(if total <= max.saturating_add(1) {
                Line::Complete
            } else {
                Line::TooLong(total)
            });
        }
    }
}

/// Logs what journalctl says on stderr (a damaged file, a permission problem) and returns its
/// last line, for the message when it ends.
async fn last_stderr_line(stderr: ChildStderr) -> String {
    let mut lines = BufReader::new(stderr).lines();
    let mut last = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        let line = line.trim().to_owned();
        if line.is_empty() {
            continue;
        }
        tracing::warn!("journalctl: {line}");
        last = line;
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_longer_than_the_limit_are_read_past() {
        let text = b"{\"a\":1}\n0123456789abcdef\n{\"b\":2}\npartial".to_vec();
        // A tiny buffer, so that lines span several reads.
        let mut r = BufReader::with_capacity(4, &text[..]);
        let mut line = Vec::new();
        assert_eq!(
            read_line(&mut r, &mut line, 8).await.unwrap(),
            Line::Complete
        );
        assert_eq!(line, b"{\"a\":1}\n");
        assert_eq!(
            read_line(&mut r, &mut line, 8).await.unwrap(),
            Line::TooLong(17)
        );
        assert_eq!(
            read_line(&mut r, &mut line, 8).await.unwrap(),
            Line::Complete
        );
        assert_eq!(line, b"{\"b\":2}\n");
        assert_eq!(read_line(&mut r, &mut line, 8).await.unwrap(), Line::End);
    }
}
