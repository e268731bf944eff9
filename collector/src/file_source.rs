//! The container-log input: discovers files, tails each of them, and hands records to the pipe.
//! It runs on a thread of its own, because reading and decoding are plain CPU and file work.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::discovery::{scan, Found};
use crate::line_decoder::DecodeOptions;
use crate::pipe::BatchSender;
use crate::record::Record;
use crate::stats::CollectorStats;
use crate::tailer::{FileKey, Tailer};

#[derive(Debug, Clone)]
pub struct FileSourceConfig {
    pub globs: Vec<String>,
    pub refresh_interval: Duration,
    pub decode: DecodeOptions,
    /// Files found at the first scan start at their end instead of their beginning.
    pub start_at_end: bool,
    /// Read every file to its end, ship, and stop (fluent-bit's Exit_On_Eof).
    pub exit_on_eof: bool,
    /// How long a file with nothing new is left before it is looked at again.
    pub idle_poll: Duration,
    /// A rotated-away or deleted file with nothing new for this long is closed.
    pub orphan_grace: Duration,
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
            orphan_grace: Duration::from_secs(5),
        }
    }
}

/// Bytes read from one file per turn, so that one busy file cannot starve the others.
const READ_CHUNK: usize = 256 * 1024;
/// Records per batch handed to the outputs.
const BATCH_RECORDS: usize = 2048;

pub struct FileSource {
    cfg: FileSourceConfig,
    stats: Arc<CollectorStats>,
    tailers: HashMap<FileKey, Tailer>,
    stop: Arc<AtomicBool>,
}

impl FileSource {
    pub fn new(cfg: FileSourceConfig, stats: Arc<CollectorStats>, stop: Arc<AtomicBool>) -> Self {
        FileSource {
            cfg,
            stats,
            tailers: HashMap::new(),
            stop,
        }
    }

    /// Runs until stopped (or, with `exit_on_eof`, until every file is read), then returns.
    /// Dropping the sender at the end tells the outputs that no more records come.
    pub fn run(mut self, tx: BatchSender) {
        let stop = Arc::clone(&self.stop);
        let stopping = move || stop.load(Ordering::Relaxed);
        let mut buf = vec![0u8; READ_CHUNK];
        let mut out: Vec<Record> = Vec::with_capacity(BATCH_RECORDS);
        let mut first_scan = true;
        let mut next_scan = Instant::now();
        loop {
            if stopping() {
                break;
            }
            if Instant::now() >= next_scan {
                self.refresh(first_scan);
                first_scan = false;
                next_scan = Instant::now() + self.cfg.refresh_interval;
            }
            let mut read_any = false;
            let mut all_eof = true;
            let mut closed = Vec::new();
            for (key, tailer) in self.tailers.iter_mut() {
                match tailer.poll(&mut buf, &mut out) {
                    Ok(o) => {
                        read_any |= o.bytes > 0;
                        all_eof &= o.at_eof;
                        if o.at_eof
                            && tailer.orphaned
                            && tailer.last_activity.elapsed() >= self.cfg.orphan_grace
                        {
                            closed.push(*key);
                        }
                    }
                    Err(e) => {
                        tailer.read_failed(&e);
                        closed.push(*key);
                    }
                }
                if out.len() >= BATCH_RECORDS
                    && tx
                        .send_blocking(std::mem::take(&mut out), &stopping)
                        .is_err()
                {
                    return;
                }
            }
            for key in closed {
                if let Some(mut t) = self.tailers.remove(&key) {
                    t.finish(&mut out);
                    tracing::debug!(path = %t.path().display(), "closed a rotated or deleted file");
                }
            }
            if tx
                .send_blocking(std::mem::take(&mut out), &stopping)
                .is_err()
            {
                return;
            }
            if self.cfg.exit_on_eof && all_eof && !read_any {
                for t in self.tailers.values_mut() {
                    t.finish(&mut out);
                }
                let _ = tx.send_blocking(std::mem::take(&mut out), &stopping);
                tracing::info!(
                    files = self.tailers.len(),
                    "every file read to its end; input done"
                );
                return;
            }
            if !read_any {
                let wake = (Instant::now() + self.cfg.idle_poll).min(next_scan);
                std::thread::sleep(wake.saturating_duration_since(Instant::now()));
            }
        }
    }

    /// Opens new files, and marks files whose path is gone or leads elsewhere (rotation).
    fn refresh(&mut self, first_scan: bool) {
        let found = scan(&self.cfg.globs);
        let mut seen: HashMap<PathBuf, FileKey> = HashMap::with_capacity(found.len());
        for Found { path, key } in found {
            seen.insert(path.clone(), key);
            if self.tailers.contains_key(&key) {
                continue;
            }
            let start_at_end = first_scan && self.cfg.start_at_end;
            match Tailer::open(
                &path,
                start_at_end,
                self.cfg.decode,
                Arc::clone(&self.stats),
            ) {
                Ok(t) if t.key() == key => {
                    tracing::debug!(path = %path.display(), "tailing");
                    self.tailers.insert(key, t);
                }
                Ok(_) => {} // replaced between scan and open: the next refresh picks it up
                Err(e) => tracing::debug!(path = %path.display(), error = %e, "cannot open"),
            }
        }
        for (key, tailer) in self.tailers.iter_mut() {
            let still_there = seen.get(tailer.path()) == Some(key);
            if !still_there && !tailer.orphaned {
                tracing::debug!(path = %tailer.path().display(), "path rotated away or deleted; finishing the file");
                tailer.orphaned = true;
            }
        }
    }

    pub fn files(&self) -> usize {
        self.tailers.len()
    }
}
