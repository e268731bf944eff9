//! The container-log input: discovers files, tails each of them, hands records to the pipe, and
//! moves each file's checkpoint once the outputs have settled its records. It runs on a thread
//! of its own, because reading and decoding are plain CPU and file work.

use crate::counters;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::acks::{AckTracker, Progress};
use crate::changes::{Changes, Woken};
use crate::checkpoint::CheckpointStore;
use crate::discovery::{scan, Found};
use crate::kube::PodMetadata;
use crate::line_decoder::DecodeOptions;
use crate::pipe::{BatchSender, Closed};
use crate::read_size::{sized_for_a_batch, ReadSize, BATCH_RECORDS, READ_CHUNK};
use crate::record::Record;
use crate::rotated_away::{self, RotatedFinder};
use crate::stats::{CollectorStats, Problem};
use crate::tailer::{identify, open_log, FileKey, Tailer};

#[derive(Debug, Clone)]
pub struct FileSourceConfig {
    pub globs: Vec<String>,
    pub refresh_interval: Duration,
    pub decode: DecodeOptions,
    /// On the very first start (no checkpoints yet), files start at their end.
    pub start_at_end: bool,
    /// Read every file to its end, ship, and stop (fluent-bit's Exit_On_Eof).
    pub exit_on_eof: bool,
    /// How long a file with nothing new is left before it is looked at again, when changes are
    /// not notified (no inotify) or a file waits for its pod's metadata. With inotify, files are
    /// looked at when they change, and all of them at every rescan as a safety net.
    pub idle_poll: Duration,
    /// Use inotify to learn what changed (falls back to polling when it is not available).
    pub notify: bool,
    /// A rotated-away or deleted file with nothing new for this long is closed.
    pub orphan_grace: Duration,
    /// The shortest time between two writes of the checkpoint file. Delivered progress is
    /// written as soon as this allows, so that a crash re-sends little.
    pub persist_interval: Duration,
    /// How long a stopping input waits for the outputs to settle what it sent.
    pub drain_timeout: Duration,
    /// With `exit_on_eof`, how long a file whose reads fail is tried again before the input
    /// finishes without the rest of it: a transient error must not end a one-off import early,
    /// and a lasting one must not keep it from ever ending.
    pub eof_read_retry: Duration,
}

impl FileSourceConfig {
    pub fn new(globs: Vec<String>, decode: DecodeOptions) -> FileSourceConfig {
        FileSourceConfig {
            globs,
            refresh_interval: Duration::from_secs(1),
            decode,
            start_at_end: false,
            exit_on_eof: false,
            idle_poll: Duration::from_millis(100),
            notify: true,
            orphan_grace: Duration::from_secs(5),
            persist_interval: Duration::from_millis(100),
            drain_timeout: Duration::from_secs(10),
            eof_read_retry: Duration::from_secs(10),
        }
    }
}

/// Whether the path `tailer` was found by still leads to its file, or cannot be looked at now
/// (anything but "not there"): glob says nothing of a directory it reached by a wildcard and
/// could not look into, nor of a file renamed back while it scanned. A path that cannot be
/// looked at is a scan error, counted once a refresh however many files are behind it (as a
/// directory that failed in the scan is), through `counted`.
fn still_reachable(tailer: &Tailer, stats: &CollectorStats, counted: &mut bool) -> bool {
    match std::fs::metadata(tailer.path()) {
        Ok(meta) => FileKey::of(&meta) == tailer.key(),
        Err(e) if crate::discovery::gone(&e) => false,
        Err(error) => {
            if !*counted {
                *counted = true;
                count_scan_failure(stats, tailer.path(), &error);
            }
            true
        }
    }
}

/// Counts a path of the globs that could not be looked at; the first of the agent is logged.
fn count_scan_failure(stats: &CollectorStats, path: &std::path::Path, error: &std::io::Error) {
    if stats.problem(Problem::ScanError) {
        tracing::warn!(path = %path.display(), %error,
            "a path of the globs could not be looked at; files there are not taken for gone until it can (further failures are only counted)");
    }
}

/// How often an exit-on-EOF input reads a file whose reads fail again, until
/// [`FileSourceConfig::eof_read_retry`].
const EOF_READ_RETRY_EVERY: Duration = Duration::from_secs(1);

/// With inotify, the globs are rescanned this many refresh intervals apart.
const RESCAN_FACTOR_WITH_INOTIFY: u32 = 10;
/// The longest the input waits without looking at the stop flag.
const STOP_CHECK: Duration = Duration::from_millis(250);
/// Checkpoints of files not seen for this long are forgotten (files deleted while the agent was
/// down).
const CHECKPOINT_MAX_AGE_SECS: u64 = 24 * 3600;

pub struct FileSource {
    cfg: FileSourceConfig,
    stats: Arc<CollectorStats>,
    /// Boxed: a table with room for thousands of files holds pointers, not tailers.
    /// A B-tree for its size with thousands of files (see `CheckpointStore`); looked up per
    /// read, not per line.
    tailers: BTreeMap<FileKey, Box<Tailer>>,
    stop: Arc<AtomicBool>,
    checkpoints: Option<CheckpointStore>,
    acks: AckTracker,
    /// Pod metadata from the Kubernetes API, when it is on.
    kube: Option<PodMetadata>,
    changes: Changes,
    /// The files of the current read round (kept to reuse its allocation).
    round_keys: Vec<FileKey>,
    /// With `exit_on_eof`: since when each file whose last read failed has been failing.
    failing: HashMap<FileKey, Failing>,
}

impl FileSource {
    /// Without a checkpoint store (local runs to stdout), nothing is remembered across runs.
    pub fn new(
        cfg: FileSourceConfig,
        stats: Arc<CollectorStats>,
        stop: Arc<AtomicBool>,
        checkpoints: Option<CheckpointStore>,
    ) -> Self {
        FileSource {
            cfg,
            stats,
            tailers: BTreeMap::new(),
            stop,
            checkpoints,
            acks: AckTracker::new(),
            kube: None,
            changes: Changes::polling(),
            round_keys: Vec::new(),
            failing: HashMap::new(),
        }
    }

    /// Records of kubelet's files carry their pod's metadata from `kube`; a file whose pod is
    /// not known yet is read only once it is, or once `kube.wait` has passed.
    pub fn with_pod_metadata(mut self, kube: PodMetadata) -> Self {
        self.kube = Some(kube);
        self
    }

    /// Runs until stopped (or, with `exit_on_eof`, until every file is read), waits for the
    /// outputs to settle what was sent, records the checkpoints, and returns. Dropping the sender
    /// tells the outputs that no more records come.
    pub fn run(mut self, mut tx: BatchSender) {
        tx.report_to(self.acks.sender());
        tx.recycle();
        if self.cfg.notify {
            self.changes = Changes::new(&self.cfg.globs);
        }
        let stop = Arc::clone(&self.stop);
        let stopping = move || stop.load(Ordering::Relaxed);
        let mut buf = vec![0u8; READ_CHUNK];
        let mut batch = Batch::new();
        let mut first_scan = true;
        let mut next_scan = Instant::now();
        let mut next_persist = Instant::now() + self.cfg.persist_interval;
        // Files are read when a change was notified, when the last round left them unfinished
        // (a file may hold more than a round reads), and all of them on the safety-net timer.
        let mut dirty = true;
        let mut full_round = true;
        let mut unfinished: HashSet<FileKey> = HashSet::new();
        let mut next_poll = Instant::now();
        let finished_reading = loop {
            if stopping() {
                // What a refresh flushed (a truncated file's pending split lines) goes out with
                // the rest: its old content is gone, so nothing would read it again.
                let _ = batch.send(&mut self.acks, &mut tx, &stopping);
                break false;
            }
            self.take_settled();
            if Instant::now() >= next_persist {
                self.persist();
                next_persist = Instant::now() + self.cfg.persist_interval;
            }
            if Instant::now() >= next_scan {
                let opened = self.refresh(first_scan, &mut batch.records);
                dirty |= opened;
                full_round |= opened;
                first_scan = false;
                next_scan = Instant::now() + self.rescan_interval();
            }
            let notified = self.changes.notified();
            let mut round = Round::default();
            let poll_all = full_round || !notified || Instant::now() >= next_poll;
            if dirty || poll_all {
                // Only the files inotify named and those left unfinished, when that is all.
                let mut only = self.changes.take_changed().filter(|_| !poll_all);
                if let Some(only) = &mut only {
                    only.extend(unfinished.drain());
                }
                round = match self.read_round(
                    &mut buf,
                    &mut batch,
                    &mut tx,
                    only.as_ref(),
                    &stopping,
                ) {
                    Err(Closed) => break false,
                    Ok(round) => round,
                };
                unfinished.clear();
                unfinished.extend(round.unfinished.drain(..));
                dirty = !unfinished.is_empty();
                // Finishing at EOF needs a round over every file that reads nothing.
                full_round = round.waiting || (self.cfg.exit_on_eof && round.read_any);
                if poll_all {
                    next_poll = Instant::now() + self.rescan_interval();
                }
                if self.failing.values().any(|f| !f.given_up) {
                    // A file whose reads fail holds the end back: tried again every second
                    // until its bound, not at the next rescan (10 s away with inotify).
                    next_poll = next_poll.min(Instant::now() + EOF_READ_RETRY_EVERY);
                }
                if self.cfg.exit_on_eof && poll_all && round.all_eof && !round.read_any {
                    self.finish_files(&mut batch);
                    let sent = batch.send(&mut self.acks, &mut tx, &stopping);
                    tracing::info!(
                        files = self.tailers.len(),
                        "every file read to its end; input done"
                    );
                    break sent.is_ok();
                }
            }
            if dirty {
                continue;
            }
            let now = Instant::now();
            // A stop is a flag, not an event: look at it a few times a second even when
            // nothing else is due (with inotify the next rescan can be 10 s away).
            let mut wake = next_scan.min(now + STOP_CHECK);
            if !notified || round.waiting {
                wake = wake.min(now + self.cfg.idle_poll);
            } else {
                wake = wake.min(next_poll);
            }
            if self.acks.in_flight() > 0 {
                // Delivered progress is recorded promptly even when nothing else happens.
                wake = wake.min(next_persist);
            }
            tx.reclaim();
            let Woken { files, names } = self.changes.wait(wake.saturating_duration_since(now));
            dirty |= files;
            if names {
                next_scan = Instant::now();
            }
        };
        drop(tx);
        self.drain(finished_reading, &stopping);
    }

    /// The end of an exit-on-EOF run: every file's unfinished lines are shipped as they are,
    /// except those of a file given up because its reads kept failing, whose rest was never
    /// read: its checkpoint stays at the start of its unfinished line, so that a later run
    /// reads that line whole.
    fn finish_files(&mut self, batch: &mut Batch) {
        for (key, t) in self.tailers.iter_mut() {
            if !self.failing.get(key).is_some_and(|f| f.given_up) {
                let from = batch.records.len();
                t.finish(&mut batch.records);
                if let Some(kube) = &self.kube {
                    kube.drop_excluded(t, &mut batch.records, from);
                }
            }
            batch.progress.extend(t.progress(false));
        }
    }

    /// How often the globs are expanded again, and every file is looked at whether or not it
    /// was reported to change. With inotify, writes, new, deleted and rotated files are
    /// reported as they happen and both are a slow safety net (they stat every file: with a
    /// thousand files, doing it every second cost a quiet node 2 % of a core).
    fn rescan_interval(&self) -> Duration {
        if self.changes.notified() {
            self.cfg.refresh_interval * RESCAN_FACTOR_WITH_INOTIFY
        } else {
            self.cfg.refresh_interval
        }
    }

    /// Waits for the outputs to settle what was sent, then records the checkpoints. An input that
    /// finished by itself waits as long as the outputs need (until a stop); a stopped one for the
    /// drain timeout at most.
    fn drain(&mut self, finished_reading: bool, stopping: &dyn Fn() -> bool) {
        if finished_reading {
            while self.acks.in_flight() > 0 && !stopping() {
                let settled = self.acks.drain(Instant::now() + Duration::from_millis(200));
                self.record_progress(settled);
            }
        }
        let settled = self.acks.drain(Instant::now() + self.cfg.drain_timeout);
        self.record_progress(settled);
        if self.acks.in_flight() > 0 {
            tracing::warn!(batches = self.acks.in_flight(),
                "stopping with records not yet acknowledged; they will be read again at the next start");
        }
        self.persist();
    }

    /// One turn over every file.
    fn read_round(
        &mut self,
        buf: &mut [u8],
        batch: &mut Batch,
        tx: &mut BatchSender,
        only: Option<&HashSet<FileKey>>,
        stopping: &dyn Fn() -> bool,
    ) -> Result<Round, Closed> {
        let mut round = Round {
            all_eof: true,
            ..Round::default()
        };
        let mut closed = Vec::new();
        let now = Instant::now();
        // With inotify, a quiet node's round reads the few files that changed, not all of them.
        let mut keys = std::mem::take(&mut self.round_keys);
        keys.clear();
        match only {
            Some(only) => keys.extend(only.iter().copied()),
            None => keys.extend(self.tailers.keys().copied()),
        }
        for key in &keys {
            let Some(tailer) = self.tailers.get_mut(key) else {
                continue;
            };
            let from = batch.records.len();
            if let Some(kube) = &self.kube {
                if kube.refresh(tailer, now) {
                    // Its pod may show up any moment: not at its end, not to be closed yet.
                    round.all_eof = false;
                    round.waiting = true;
                    continue;
                }
            }
            let read_len = batch.reads.len_for(batch.records.len());
            let polled = tailer.poll(&mut buf[..read_len], &mut batch.records);
            if let Ok(o) = &polled {
                batch.reads.learn(o.bytes, batch.records.len() - from);
            }
            if let Some(kube) = &self.kube {
                kube.drop_excluded(tailer, &mut batch.records, from);
            }
            match polled {
                Ok(o) => {
                    if !self.failing.is_empty() {
                        self.failing.remove(key);
                    }
                    round.read_any |= o.bytes > 0;
                    round.all_eof &= o.at_eof;
                    if !o.at_eof {
                        round.unfinished.push(*key);
                    }
                    if o.bytes > 0 {
                        batch.progress.extend(tailer.progress(false));
                    }
                    if o.at_eof && tailer.gone_for(self.cfg.orphan_grace) {
                        closed.push(*key);
                    }
                }
                Err(e) => {
                    tailer.read_failed(&e);
                    if self.cfg.exit_on_eof {
                        let failing = self.failing.entry(*key).or_insert(Failing {
                            since: now,
                            given_up: false,
                        });
                        if now.duration_since(failing.since) < self.cfg.eof_read_retry {
                            // Not at its end: the input does not finish yet, and the file is
                            // read again at the next round over every file.
                            round.all_eof = false;
                        } else if !failing.given_up {
                            failing.given_up = true;
                            tracing::error!(path = %tailer.path().display(),
                                offset = tailer.safe_offset(), error = %e,
                                failing_for = ?now.duration_since(failing.since),
                                "reading the file keeps failing; the input finishes without the rest of it (its checkpoint stays at the offset)");
                        }
                    }
                    // Read again next round from where it stands: closing a file a path still
                    // leads to would forget its checkpoint and read it all again once the
                    // next refresh finds it. One that no path leads to is given up as above.
                    if tailer.gone_for(self.cfg.orphan_grace) {
                        closed.push(*key);
                    }
                }
            }
            if batch.records.len() >= BATCH_RECORDS {
                batch.send(&mut self.acks, tx, stopping)?;
                // A round over thousands of files sends hundreds of batches: each one's progress
                // (an entry per file it read) is let go as soon as it is settled, not held until
                // the round ends (with 2,000 files that was 90 bytes a file at the peak).
                self.take_settled();
            }
        }
        self.round_keys = keys;
        for key in closed {
            self.failing.remove(&key);
            if let Some(mut t) = self.tailers.remove(&key) {
                self.changes.unwatch_file(key);
                let from = batch.records.len();
                t.finish(&mut batch.records);
                if let Some(kube) = &self.kube {
                    kube.drop_excluded(&t, &mut batch.records, from);
                }
                batch.progress.extend(t.progress(true));
                tracing::debug!(path = %t.path().display(), "closed a rotated or deleted file");
            }
        }
        batch.send(&mut self.acks, tx, stopping)?;
        Ok(round)
    }

    /// Records in the checkpoints what the outputs settled since the last look.
    fn take_settled(&mut self) {
        let settled = self.acks.poll();
        self.record_progress(settled);
    }

    fn record_progress(&mut self, settled: Vec<Progress>) {
        let Some(store) = &mut self.checkpoints else {
            return;
        };
        for p in settled {
            if p.forget {
                store.remove(p.id);
            } else {
                store.set(p.id, &p.path, p.dev, p.ino, p.offset);
            }
        }
    }

    fn persist(&mut self) {
        let Some(store) = &mut self.checkpoints else {
            return;
        };
        store.prune(CHECKPOINT_MAX_AGE_SECS);
        match store.persist() {
            Ok(()) => {
                let now_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                counters::set(&self.stats.checkpoints_current_at_ms, now_ms);
            }
            Err(e) => {
                if self.stats.problem(Problem::CheckpointWrite) {
                    tracing::error!(error = %e, "cannot write the checkpoint file (further failures are only counted)");
                }
            }
        }
    }

    /// Opens new files (at their checkpoint), and marks the files no path leads to any more
    /// (rotated away or deleted), or again. True when a file was opened (it has not been read
    /// yet).
    fn refresh(&mut self, first_scan: bool, out: &mut Vec<Record>) -> bool {
        let mut opened = false;
        let scanned = scan(&self.cfg.globs);
        for failure in &scanned.failed {
            count_scan_failure(&self.stats, &failure.path, &failure.error);
        }
        // The files some path leads to now.
        let mut seen: HashSet<FileKey> = HashSet::with_capacity(scanned.found.len());
        for Found { path, key, size } in &scanned.found {
            let (path, key) = (path.as_path(), *key);
            seen.insert(key);
            if let Some(t) = self.tailers.get_mut(&key) {
                t.observe_size(*size);
                continue;
            }
            match self.open(path, key, first_scan) {
                Ok(Some(t)) => {
                    tracing::debug!(path = %path.display(), "tailing");
                    // Watched once open: a write between the two is read by the first round.
                    self.changes.watch_file(path, t.raw_fd(), key);
                    self.tailers.insert(key, Box::new(t));
                    opened = true;
                }
                Ok(None) => {} // replaced between scan and open: the next refresh picks it up
                Err(e) => tracing::debug!(path = %path.display(), error = %e, "cannot open"),
            }
        }
        if first_scan {
            opened |= self.reopen_rotated_away();
        }
        let mut lag = 0;
        let mut unlookable_counted = false;
        for (key, tailer) in self.tailers.iter_mut() {
            lag += tailer.lag();
            // Under any path: a file renamed to another name the globs match (Docker's
            // `-json.log.1`) is still there, and is read on under the name it was found by. A
            // file a scan missed once (a directory that could not be read) is taken back.
            // A path that could not be looked at does not say that its file is gone (unless it
            // was deleted: with the descriptors used up, no directory can be read, and only
            // closing files frees them).
            // Before a file no scanned path led to is taken for gone, its own path is asked
            // (a stat each refresh while that lasts, for such files only).
            let reachable = seen.contains(key)
                || (!tailer.orphaned
                    && !tailer.deleted()
                    && (scanned.missed(tailer.path())
                        || still_reachable(tailer, &self.stats, &mut unlookable_counted)));
            if reachable == tailer.orphaned {
                if reachable {
                    tracing::debug!(path = %tailer.path().display(), "a path leads to the file again; tailing it on");
                } else {
                    tracing::debug!(path = %tailer.path().display(), "no path leads to the file any more (rotated away or deleted); finishing it");
                    // Its grace counts from here too: a file quiet for a while before its path
                    // went away is not closed at once (the path may come back). Not for a file
                    // held back for its pod, whose wait counts from the same instant (it is not
                    // read, so not closed, while it waits).
                    if !self.kube.as_ref().is_some_and(|k| k.may_hold(tailer)) {
                        tailer.last_activity = Instant::now();
                    }
                }
                tailer.orphaned = !reachable;
            }
            let from = out.len();
            let rewritten = tailer.check_rewritten(out);
            if let Some(kube) = &self.kube {
                kube.drop_excluded(tailer, out, from);
            }
            if let Err(e) = rewritten {
                tailer.read_failed(&e);
            }
            if let (Some(store), Some(id)) = (&mut self.checkpoints, tailer.source_id()) {
                store.touch(id);
            }
        }
        counters::set(&self.stats.lag_bytes, lag);
        counters::set(&self.stats.files_tailed, self.tailers.len() as u64);
        self.stats.started.store(true, Ordering::Relaxed);
        opened
    }

    /// At start-up, the files rotated away while the agent was down ([`crate::rotated_away`]):
    /// each is read on from its checkpoint, as if the agent had followed it, under the path it
    /// was read by (the same pod, tag and checkpoint), and closed once read like any file no
    /// glob leads to, which forgets its checkpoint. True when one was opened.
    fn reopen_rotated_away(&mut self) -> bool {
        let Some(store) = &self.checkpoints else {
            return false;
        };
        let taken: HashSet<u64> = self
            .tailers
            .values()
            .filter_map(|t| t.source_id())
            .collect();
        let mut finder = RotatedFinder::default();
        let rotated: Vec<_> = store
            .entries()
            .filter(|(id, c)| {
                // A file the scan found under another identity is other content in the inode.
                let key = FileKey {
                    dev: c.dev,
                    ino: c.ino,
                };
                !taken.contains(id) && !self.tailers.contains_key(&key)
            })
            .filter_map(|(id, c)| Some((id, c.clone(), finder.find(c)?)))
            .collect();
        if let Some((path, error)) = finder.failed.first() {
            for _ in &finder.failed {
                self.stats.problem(Problem::ScanError);
            }
            tracing::warn!(path = %path.display(), %error, paths = finder.failed.len(),
                "cannot look for files rotated away while the agent was stopped; what they hold past their checkpoints is not read");
        }
        let mut opened = false;
        for (id, checkpoint, found) in rotated {
            match rotated_away::open(id, &checkpoint, &found, self.cfg.decode, &self.stats) {
                Ok(Some(mut t)) => {
                    tracing::info!(path = %found.display(), was = %checkpoint.path.display(),
                        offset = checkpoint.offset,
                        "reading on a file rotated away while the agent was stopped");
                    t.orphaned = true;
                    self.changes.watch_file(&found, t.raw_fd(), t.key());
                    self.tailers.insert(t.key(), Box::new(t));
                    opened = true;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(path = %found.display(), error = %e,
                        "cannot read on a file rotated away while the agent was stopped")
                }
            }
        }
        opened
    }

    fn open(
        &self,
        path: &std::path::Path,
        key: FileKey,
        first_scan: bool,
    ) -> std::io::Result<Option<Tailer>> {
        let file = open_log(path)?;
        let meta = file.metadata()?;
        if FileKey::of(&meta) != key {
            return Ok(None);
        }
        let identity = identify(path, &file)?;
        let checkpoint = match (&self.checkpoints, identity) {
            (Some(store), Some(identity)) => store.get(identity.id).map(|c| c.offset),
            _ => None,
        };
        let first_start = self.checkpoints.as_ref().is_none_or(|s| !s.existed);
        let offset = match checkpoint {
            // The file is shorter than what was delivered: it was truncated while we were away.
            Some(offset) if offset > meta.len() => 0,
            Some(offset) => offset,
            None if first_scan && first_start && self.cfg.start_at_end => meta.len(),
            None => 0,
        };
        if offset > 0 {
            tracing::debug!(path = %path.display(), offset, "resuming");
        }
        // Whether it must wait for its pod's metadata is asked before each read.
        Tailer::new(
            path,
            file,
            offset,
            identity,
            self.cfg.decode,
            Arc::clone(&self.stats),
        )
        .map(Some)
    }

    pub fn files(&self) -> usize {
        self.tailers.len()
    }
}

#[derive(Default)]
struct Round {
    read_any: bool,
    all_eof: bool,
    /// Files with more to read than the round took.
    unfinished: Vec<FileKey>,
    /// A file was held back for its pod's metadata: look again soon.
    waiting: bool,
}

/// A file whose reads fail, in an input that finishes at the end of its files.
struct Failing {
    since: Instant,
    /// Counted as finished: the input may end without the rest of it.
    given_up: bool,
}

/// Records on their way out, with the file progress they complete.
struct Batch {
    records: Vec<Record>,
    progress: Vec<Progress>,
    reads: ReadSize,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            records: sized_for_a_batch(Vec::new()),
            progress: Vec::new(),
            reads: ReadSize::default(),
        }
    }

    fn send(
        &mut self,
        acks: &mut AckTracker,
        tx: &mut BatchSender,
        stopping: &dyn Fn() -> bool,
    ) -> Result<(), Closed> {
        if self.records.is_empty() && self.progress.is_empty() {
            return Ok(());
        }
        let seq = acks.register(std::mem::take(&mut self.progress));
        if self.records.is_empty() {
            // Nothing to deliver (empty lines, a finished file): settled at once, in order.
            acks.settle(seq);
            return Ok(());
        }
        let next = sized_for_a_batch(tx.spare_vec());
        let sent = tx.send_blocking(std::mem::replace(&mut self.records, next), seq, stopping);
        if sent.is_err() {
            // Stopping (or the outputs are gone): nothing is sent after it, and a stop does not
            // wait for a batch that never left.
            acks.withdraw(seq);
        }
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipe::{pipe, BatchReceiver};
    use crate::tailer::tests::{logs, PLAIN, READ_FAILS};

    /// A runtime for the pipe: with a worker, which drives the timers a blocking send waits with
    /// (a current-thread runtime's handle does not).
    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    }

    /// A file input over `dir/*.log`, and its pipe. No grace: a file no path leads to is closed
    /// at the first round that finds it so and at its end.
    fn source_over(
        dir: &std::path::Path,
        rt: &tokio::runtime::Runtime,
    ) -> (FileSource, Arc<CollectorStats>, BatchSender, BatchReceiver) {
        source_of(&format!("{}/*.log", dir.display()), rt)
    }

    /// [`source_over`] with any glob.
    fn source_of(
        pattern: &str,
        rt: &tokio::runtime::Runtime,
    ) -> (FileSource, Arc<CollectorStats>, BatchSender, BatchReceiver) {
        let mut cfg = FileSourceConfig::new(vec![pattern.to_owned()], PLAIN);
        cfg.orphan_grace = Duration::ZERO;
        let stats = Arc::new(CollectorStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let source = FileSource::new(cfg, Arc::clone(&stats), stop, None);
        let (tx, rx) = pipe(1 << 20, rt.handle().clone());
        (source, stats, tx, rx)
    }

    /// Rounds of a file input as its run loop takes them: a refresh (which flushes nothing in
    /// these tests), then a read of every file.
    struct Rounds {
        buf: Vec<u8>,
        batch: Batch,
        tx: BatchSender,
    }

    impl Rounds {
        fn new(tx: BatchSender) -> Rounds {
            Rounds {
                buf: vec![0; READ_CHUNK],
                batch: Batch::new(),
                tx,
            }
        }

        fn run(&mut self, source: &mut FileSource) {
            let mut flushed = Vec::new();
            source.refresh(false, &mut flushed);
            assert!(flushed.is_empty());
            self.read(source);
        }

        /// A read of every file, without a refresh.
        fn read(&mut self, source: &mut FileSource) -> Round {
            let never = || false;
            let read =
                source.read_round(&mut self.buf, &mut self.batch, &mut self.tx, None, &never);
            assert!(read.is_ok());
            read.unwrap_or_default()
        }
    }

    #[test]
    fn a_file_whose_read_fails_is_kept_and_read_again() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.log"), "one\ntwo\nthree\n").unwrap();
        let rt = runtime();
        let (mut source, _, tx, mut rx) = source_over(dir.path(), &rt);
        assert!(source.refresh(true, &mut Vec::new()));
        let mut rounds = Rounds::new(tx);
        READ_FAILS.set(true);
        rounds.read(&mut source);
        READ_FAILS.set(false);
        // Closing it would have forgotten its checkpoint, and the next refresh would have
        // opened it again from its start.
        assert_eq!(source.tailers.len(), 1, "kept: a path still leads to it");
        assert!(rx.try_recv().is_err(), "nothing read");
        rounds.read(&mut source);
        let sent = rx.try_recv().map(|b| b.records.into_vec()).unwrap();
        assert_eq!(logs(&sent), ["one", "two", "three"]);
    }

    #[test]
    fn with_exit_on_eof_a_file_whose_reads_fail_is_not_finished_until_the_retry_bound() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.log"), "one\ntwo\n").unwrap();
        let rt = runtime();
        let (mut source, _, tx, mut rx) = source_over(dir.path(), &rt);
        source.cfg.exit_on_eof = true;
        source.cfg.eof_read_retry = Duration::from_secs(3600);
        assert!(source.refresh(true, &mut Vec::new()));
        let mut rounds = Rounds::new(tx);
        READ_FAILS.set(true);
        let failing = rounds.read(&mut source);
        assert!(!failing.all_eof, "not at its end: the input goes on");
        source.cfg.eof_read_retry = Duration::ZERO;
        let given_up = rounds.read(&mut source);
        READ_FAILS.set(false);
        assert!(given_up.all_eof, "past the bound: the input may end");
        // Read again after all: read as usual, and no longer failing.
        assert!(rounds.read(&mut source).read_any);
        assert!(source.failing.is_empty());
        let sent = rx.try_recv().map(|b| b.records.into_vec()).unwrap();
        assert_eq!(logs(&sent), ["one", "two"]);
    }

    #[test]
    fn with_exit_on_eof_a_failing_file_is_tried_again_every_second_until_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.log"), "one\n").unwrap();
        let rt = runtime();
        let (mut source, stats, tx, _rx) = source_over(dir.path(), &rt);
        source.cfg.exit_on_eof = true;
        // With inotify, the next round over every file would otherwise be a rescan, 10 s away.
        source.cfg.notify = true;
        source.cfg.eof_read_retry = Duration::from_millis(2500);
        READ_FAILS.set(true);
        let started = Instant::now();
        source.run(tx);
        READ_FAILS.set(false);
        // Reads at about 0, 1 and 2 s hold the end back; the one at 3 s gives the file up. A
        // slower machine spaces them further, never closer: three at least either way, where a
        // retry at the next rescan would have made two, 10 s apart.
        let tries = stats.read_errors.load(Ordering::Relaxed);
        assert!(tries >= 3, "{tries} reads in {:?}", started.elapsed());
        assert!(started.elapsed() >= Duration::from_millis(2500));
    }

    #[test]
    fn with_exit_on_eof_a_file_given_up_keeps_its_unfinished_line_for_a_later_run() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("app.log"), "one\npar").unwrap();
        let rt = runtime();
        // What finishing ships of each file, and where its checkpoint goes.
        let finished = |give_up: bool| {
            let (mut source, _, tx, mut rx) = source_over(dir.path(), &rt);
            source.cfg.exit_on_eof = true;
            source.cfg.eof_read_retry = Duration::ZERO;
            assert!(source.refresh(true, &mut Vec::new()));
            let mut rounds = Rounds::new(tx);
            assert!(rounds.read(&mut source).read_any);
            assert_eq!(logs(&rx.try_recv().unwrap().records.into_vec()), ["one"]);
            if give_up {
                READ_FAILS.set(true);
                let failed = rounds.read(&mut source);
                READ_FAILS.set(false);
                assert!(failed.all_eof, "given up at once with no retry time");
            }
            let mut end = Batch::new();
            source.finish_files(&mut end);
            let offsets: Vec<u64> = end.progress.iter().map(|p| p.offset).collect();
            (logs(&end.records), offsets)
        };
        assert_eq!(finished(false), (vec!["par".to_owned()], vec![7]));
        // Its rest was never read: "par" may be the start of a longer line.
        assert_eq!(finished(true), (vec![], vec![4]));
    }

    /// Files rotated away while the agent was stopped: each is read on from its checkpoint
    /// when it is the content checkpointed, not when its inode now holds something else, nor
    /// when the checkpoint lies past its end (nothing is left to read, or it is not the file).
    #[test]
    fn a_file_rotated_away_is_read_on_from_its_checkpoint_if_it_is_the_same_content() {
        let dir = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        let (mut store, _) = CheckpointStore::open(state.path()).unwrap();
        for (name, id_of_other_content, past_its_end) in [
            ("same", false, false),
            ("reused", true, false),
            ("short", false, true),
        ] {
            let path = dir.path().join(format!("{name}.log"));
            std::fs::write(&path, format!("{name} 1\n{name} 2\n")).unwrap();
            let file = std::fs::File::open(&path).unwrap();
            let key = FileKey::of(&file.metadata().unwrap());
            let id = identify(&path, &file).unwrap().unwrap().id;
            let id = if id_of_other_content { id ^ 1 } else { id };
            let offset = match past_its_end {
                false => format!("{name} 1\n").len() as u64,
                true => std::fs::metadata(&path).unwrap().len() + 100,
            };
            store.set(id, &Arc::from(path.as_path()), key.dev, key.ino, offset);
            std::fs::rename(&path, dir.path().join(format!("{name}.log.1"))).unwrap();
            std::fs::write(&path, format!("{name} new\n")).unwrap();
        }
        let rt = runtime();
        let (source, _, tx, mut rx) = source_over(dir.path(), &rt);
        let mut source = FileSource {
            checkpoints: Some(store),
            ..source
        };
        assert!(source.refresh(true, &mut Vec::new()));
        assert_eq!(source.tailers.len(), 4, "the new files and one rotated");
        Rounds::new(tx).read(&mut source);
        let sent = rx.try_recv().map(|b| b.records.into_vec()).unwrap();
        let mut lines = logs(&sent);
        lines.sort();
        assert_eq!(lines, ["reused new", "same 2", "same new", "short new"]);
        // Read to its end, the rotated file is closed (no grace here) and let go.
        assert_eq!(source.tailers.len(), 3);
    }

    #[test]
    fn a_file_is_closed_only_when_no_path_leads_to_it() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let (deleted, link) = (dir.path().join("a.log"), dir.path().join("b.log"));
        std::fs::write(&deleted, "a\n").unwrap();
        let target = dir.path().join("b.target");
        std::fs::write(&target, "b\n").unwrap();
        symlink(&target, &link).unwrap();
        let (deleted_behind, its_target) = (dir.path().join("c.log"), dir.path().join("c.target"));
        std::fs::write(&its_target, "c\n").unwrap();
        symlink(&its_target, &deleted_behind).unwrap();
        let rt = runtime();
        let (mut source, stats, tx, mut rx) = source_over(dir.path(), &rt);
        let mut rounds = Rounds::new(tx);
        rounds.run(&mut source);
        let read = rx.try_recv().map(|b| b.records.into_vec().len()).unwrap();
        assert_eq!(read, 3);
        // One file deleted; the other two paths cannot be looked at (a symlink loop in their
        // place, as with a target that cannot be reached): one of their files is not taken for
        // gone, the other is, because it was deleted.
        std::fs::remove_file(&deleted).unwrap();
        for path in [&link, &deleted_behind] {
            std::fs::remove_file(path).unwrap();
            symlink(path, path).unwrap();
        }
        std::fs::remove_file(&its_target).unwrap();
        rounds.run(&mut source);
        assert_eq!(source.tailers.len(), 1);
        assert_eq!(
            source.tailers.values().next().map(|t| t.path()),
            Some(link.as_path())
        );
        assert_eq!(stats.files_closed.load(Ordering::Relaxed), 2);
        assert_eq!(stats.scan_errors.load(Ordering::Relaxed), 2);
        // The path leads to it again: read on, not opened a second time.
        std::fs::remove_file(&link).unwrap();
        symlink(&target, &link).unwrap();
        rounds.run(&mut source);
        assert_eq!(source.tailers.len(), 1);
        assert_eq!(stats.files_opened.load(Ordering::Relaxed), 3);
        assert!(rx.try_recv().is_err(), "nothing read twice");
    }

    #[test]
    fn files_under_a_glob_directory_that_cannot_be_looked_at_are_not_taken_for_gone() {
        let top = tempfile::tempdir().unwrap();
        let dir = top.path().join("containers");
        let pattern = format!("{}/*.log", dir.display());
        a_directory_behind_a_symlink_loop_for_a_round(&pattern, &dir, &top.path().join("away"));
    }

    #[test]
    fn files_under_a_directory_a_wildcard_reaches_that_cannot_be_looked_at_are_not_taken_for_gone()
    {
        // glob skips such a directory without a word.
        let top = tempfile::tempdir().unwrap();
        let pods = top.path().join("pods");
        let pattern = format!("{}/*/*.log", pods.display());
        let pod = pods.join("ns_pod_uid");
        a_directory_behind_a_symlink_loop_for_a_round(&pattern, &pod, &top.path().join("away"));
    }

    #[test]
    fn a_file_its_own_path_still_leads_to_is_not_taken_for_gone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.log"), "a\n").unwrap();
        let rt = runtime();
        let (mut source, stats, tx, mut rx) = source_over(dir.path(), &rt);
        let mut rounds = Rounds::new(tx);
        rounds.run(&mut source);
        assert_eq!(rx.try_recv().map(|b| b.records.len()).unwrap(), 1);
        // A scan that does not find it (as one racing a rename away and back would): its path
        // still leads to it.
        source.cfg.globs = vec![format!("{}/*.none", dir.path().display())];
        rounds.run(&mut source);
        assert_eq!(source.tailers.len(), 1);
        assert_eq!(stats.files_closed.load(Ordering::Relaxed), 0);
        assert_eq!(stats.scan_errors.load(Ordering::Relaxed), 0);
    }

    /// Two files in `dir`, which `pattern` reaches: `dir` is put behind a symlink loop (moved
    /// to `away`, where the pattern does not reach) for a round, then back. With no grace, a
    /// file taken for gone would be closed at once, and read again from its start afterwards.
    /// The failure counts once, not once per file.
    fn a_directory_behind_a_symlink_loop_for_a_round(
        pattern: &str,
        dir: &std::path::Path,
        away: &std::path::Path,
    ) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("0.log"), "a\n").unwrap();
        std::fs::write(dir.join("1.log"), "b\n").unwrap();
        let rt = runtime();
        let (mut source, stats, tx, mut rx) = source_of(pattern, &rt);
        let mut rounds = Rounds::new(tx);
        let closed = || stats.files_closed.load(Ordering::Relaxed);
        rounds.run(&mut source);
        assert_eq!(rx.try_recv().map(|b| b.records.len()).unwrap(), 2);
        std::fs::rename(dir, away).unwrap();
        std::os::unix::fs::symlink(dir, dir).unwrap();
        rounds.run(&mut source);
        assert_eq!(source.tailers.len(), 2);
        assert_eq!(closed(), 0);
        assert_eq!(stats.scan_errors.load(Ordering::Relaxed), 1);
        std::fs::remove_file(dir).unwrap();
        std::fs::rename(away, dir).unwrap();
        rounds.run(&mut source);
        assert_eq!(stats.files_opened.load(Ordering::Relaxed), 2);
        assert!(rx.try_recv().is_err(), "nothing read twice");
        // Deleted for good: taken for gone, and closed.
        std::fs::remove_dir_all(dir).unwrap();
        rounds.run(&mut source);
        assert_eq!(closed(), 2);
    }

    #[test]
    fn a_batch_that_cannot_be_sent_at_stop_is_not_waited_for() {
        let rt = runtime();
        // Nothing receives: the pipe fills, and the send after that waits until the stop.
        let (mut tx, _rx) = pipe(1 << 30, rt.handle().clone());
        let mut acks = AckTracker::new();
        let mut batch = Batch::new();
        let stop_at = Instant::now() + Duration::from_secs(1);
        let stopping = || Instant::now() >= stop_at;
        let mut sent = 0;
        loop {
            batch.records.push(crate::pipe::tests::line_of("/x.log"));
            match batch.send(&mut acks, &mut tx, &stopping) {
                Ok(()) => sent += 1,
                Err(Closed) => break,
            }
        }
        assert!(sent > 0);
        assert_eq!(
            acks.in_flight(),
            sent,
            "the batch that did not leave is not waited for"
        );
    }
}
