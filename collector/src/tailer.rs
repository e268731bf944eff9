//! Tailing one file: reading what was appended, cutting it into lines, and noticing truncation.
//! The file is read through the descriptor opened at discovery, so a renamed or deleted file is
//! still read to its end.

use crate::counters;
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::fingerprint::{first_line, fnv1a, starts_with, starts_with_bytes, Head, FNV_OFFSET};
use crate::kube::{PodLink, PodMeta};
use crate::line_decoder::{DecodeOptions, LineDecoder};
use crate::pod_ref::PodRef;
use crate::record::{Record, Source, Tag};
use crate::stats::{CollectorStats, Problem};

/// Device and inode: which file a path points at right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileKey {
    pub dev: u64,
    pub ino: u64,
}

impl FileKey {
    pub fn of(meta: &std::fs::Metadata) -> FileKey {
        FileKey {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// What one poll of a file found.
#[derive(Debug, Default, Clone, Copy)]
pub struct PollOutcome {
    pub bytes: usize,
    /// The file has nothing more to read right now.
    pub at_eof: bool,
}

pub struct Tailer {
    file: File,
    key: FileKey,
    /// The next byte to read.
    read_offset: u64,
    /// Bytes after the last newline read so far, starting at `line_start`.
    line_buf: Vec<u8>,
    line_start: u64,
    /// Inside a physical line longer than the maximum: its beginning was shipped, the rest is
    /// skipped up to the next newline.
    skipping: bool,
    decoder: LineDecoder,
    /// What the records of this file carry: its path (shared with the checkpoint), the pod
    /// from its name, the pod's metadata from the API, and the identity's id. The one place
    /// the tailer keeps these (a node keeps a tailer per file, so each copy counted).
    /// The id is the content's while `head` is known, and one of the path while the first
    /// line is incomplete (no checkpoint is kept then).
    source: Arc<Source>,
    /// The first line the content being read was identified by, once it is complete (the
    /// rest of its [`Identity`] is the source's id).
    head: Option<Head>,
    pub(crate) pod_link: PodLink,
    /// The size seen at the last poll, for the lag gauge.
    last_size: u64,
    /// No path of the globs leads to this file any more (rotated away or deleted): finish it
    /// and close it. Cleared when one does again.
    pub orphaned: bool,
    /// When the file was opened, last gave bytes, or was found orphaned. An orphaned file quiet
    /// this long is closed; a file held back for its pod is not read, so its wait counts from
    /// here too.
    pub last_activity: Instant,
}

/// Opens a log file to tail it, without updating its access time where the agent may
/// (`O_NOATIME`: the file's owner may, as the agent running as root is of kubelet's files).
/// Under `relatime` a file written since its last read has its atime, and so its inode, written
/// again at the next read: on a quiet node that was every read, a line each.
pub fn open_log(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let no_atime = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOATIME)
        .open(path);
    match no_atime {
        Ok(file) => Ok(file),
        // Not its owner (nor CAP_FOWNER): EPERM. Any other failure is the open's own, which
        // an ordinary open reports again; a file system that refused the flag otherwise would
        // not keep the file from being read.
        Err(_) => File::open(path),
    }
}

/// A file's identity: stable across restarts and renames, new after a truncation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub id: u64,
    /// The first line it was taken from, to notice the file being rewritten.
    pub head: Head,
}

/// Identifies an open file by the fingerprint of its first line, which carries the runtime's
/// nanosecond timestamp, and the container id in its path when there is one: the same content
/// under another name (a rename, a copytruncate copy) is the same file, new content in a reused
/// inode is not, and two containers that happen to start with the same line are told apart.
/// `None` while the first line is incomplete (no line of it can have been shipped yet).
pub fn identify(path: &Path, file: &File) -> io::Result<Option<Identity>> {
    #[cfg(test)]
    if tests::IDENTIFY_FAILS.get() {
        return Err(io::Error::other("identify made to fail by a test"));
    }
    let seed = container_id_in(path).map_or(FNV_OFFSET, |id| fnv1a(FNV_OFFSET, id.as_bytes()));
    Ok(first_line(file)?.map(|head| Identity {
        id: fnv1a(seed, &head.fingerprint.to_le_bytes()),
        head,
    }))
}

/// The id of a file's content while its first line is incomplete: of its path and inode, so
/// that two such files' records do not share document ids (a file renamed to another name the
/// globs match is read on under its first name, where a new file may be).
fn unidentified_id(path: &Path, key: FileKey) -> u64 {
    let id = fnv1a(FNV_OFFSET, path.as_os_str().as_encoded_bytes());
    let id = fnv1a(id, &key.dev.to_le_bytes());
    fnv1a(id, &key.ino.to_le_bytes())
}

/// The first run of exactly 64 hex digits in a path: the container id that kubelet's symlink
/// names and Docker's own files (`<id>/<id>-json.log.1`) both carry.
fn container_id_in(path: &Path) -> Option<&str> {
    let s = path.to_str()?;
    let b = s.as_bytes();
    let mut run = 0;
    for (i, c) in b.iter().enumerate() {
        if c.is_ascii_digit() || (b'a'..=b'f').contains(c) {
            run += 1;
            continue;
        }
        if run == 64 {
            return s.get(i - 64..i);
        }
        run = 0;
    }
    (run == 64).then(|| &s[b.len() - 64..])
}

impl Tailer {
    /// Starts tailing an open file at `offset` (0, its end, or a checkpoint). `identity` is
    /// what [`identify`] found at open, if the first line was complete then.
    pub fn new(
        path: &Path,
        file: File,
        offset: u64,
        identity: Option<Identity>,
        opts: DecodeOptions,
        stats: Arc<CollectorStats>,
    ) -> io::Result<Tailer> {
        let meta = file.metadata()?;
        let key = FileKey::of(&meta);
        counters::add(&stats.files_opened, 1);
        let path: Arc<Path> = Arc::from(path);
        let source = Arc::new(Source {
            id: identity.map_or_else(|| unidentified_id(&path, key), |known| known.id),
            tag: Tag::OfPath,
            pod: PodRef::from_path(&path),
            path,
            meta: None,
        });
        Ok(Tailer {
            file,
            key,
            read_offset: offset,
            line_buf: Vec::new(),
            line_start: offset,
            skipping: false,
            decoder: LineDecoder::new(opts, stats),
            source,
            head: identity.map(|known| known.head),
            pod_link: PodLink::default(),
            last_size: offset,
            orphaned: false,
            last_activity: Instant::now(),
        })
    }

    pub fn key(&self) -> FileKey {
        self.key
    }

    /// The open file's descriptor (to watch the very file being read).
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        std::os::fd::AsRawFd::as_raw_fd(&self.file)
    }

    pub fn path(&self) -> &Path {
        &self.source.path
    }

    /// Reads up to `buf.len()` new bytes and turns every complete line into records.
    ///
    /// The read comes first and the file's size is asked only when it finds nothing (a quiet
    /// node polls a file per line written: one `pread` instead of an `fstat` and a `pread`).
    /// Truncation shows either way: a file cut below the offset reads nothing and is then
    /// shorter than the offset; a file cut and refilled past it has another first line, which
    /// is checked after the read, so that what was read is known to be of the content checked.
    pub fn poll(&mut self, buf: &mut [u8], out: &mut Vec<Record>) -> io::Result<PollOutcome> {
        let polled = self.read_new(buf, out);
        self.decoder.count_decoded();
        polled
    }

    fn read_new(&mut self, buf: &mut [u8], out: &mut Vec<Record>) -> io::Result<PollOutcome> {
        #[cfg(test)]
        if tests::READ_FAILS.get() {
            return Err(io::Error::other("reading made to fail by a test"));
        }
        // A truncation found restarts the read from 0, once.
        for _ in 0..2 {
            let n = self.file.read_at(buf, self.read_offset)?;
            if n == 0 {
                let size = self.file.metadata()?.len();
                self.last_size = size;
                if size < self.read_offset {
                    self.truncated(out);
                    continue;
                }
                return Ok(PollOutcome {
                    bytes: 0,
                    at_eof: true,
                });
            }
            if self.rewritten()? {
                self.truncated(out);
                continue;
            }
            // Identified before the offset moves: if reading the first line fails, the chunk
            // is read again at the next poll instead of being skipped.
            let source = self.source()?;
            let chunk_start = self.read_offset;
            self.read_offset += n as u64;
            self.last_size = self.last_size.max(self.read_offset);
            counters::add(&self.decoder.stats().bytes_read, n as u64);
            self.last_activity = Instant::now();
            self.split_lines(&buf[..n], chunk_start, &source, out);
            return Ok(PollOutcome {
                bytes: n,
                // A short read reached the end of what was written.
                at_eof: n < buf.len(),
            });
        }
        Ok(PollOutcome {
            bytes: 0,
            at_eof: false,
        })
    }

    fn split_lines(
        &mut self,
        chunk: &[u8],
        chunk_start: u64,
        source: &Arc<Source>,
        out: &mut Vec<Record>,
    ) {
        let mut pos = 0;
        for nl in memchr::memchr_iter(b'\n', chunk) {
            let end = chunk_start + nl as u64 + 1;
            if self.skipping {
                self.skipping = false;
            } else if self.line_buf.is_empty() {
                self.decoder
                    .line(&chunk[pos..nl], self.line_start, end, false, source, out);
            } else {
                self.line_buf.extend_from_slice(&chunk[pos..nl]);
                // Freed, not kept for the next split line: a file holds no buffer between its
                // reads, which with thousands of files (most reads end inside a line) was
                // a few hundred bytes each. One allocation per read is nothing.
                let line = std::mem::take(&mut self.line_buf);
                self.decoder
                    .line(&line, self.line_start, end, false, source, out);
            }
            pos = nl + 1;
            self.line_start = end;
        }
        if self.skipping {
            return;
        }
        self.line_buf.extend_from_slice(&chunk[pos..]);
        let max = self.decoder.max_line_bytes();
        if self.line_buf.len() > max {
            // A physical line this long cannot be a runtime's line (they split at 16 KiB). Ship
            // its beginning, marked, and skip the rest.
            let end = chunk_start + chunk.len() as u64;
            let line = std::mem::take(&mut self.line_buf);
            self.decoder
                .line(&line[..max], self.line_start, end, true, source, out);
            self.skipping = true;
        }
    }

    /// Copytruncate: the file was cut back. What was pending belongs to the old content; reading
    /// starts over at 0 under a new identity.
    fn truncated(&mut self, out: &mut Vec<Record>) {
        counters::add(&self.decoder.stats().truncations_detected, 1);
        tracing::info!(path = %self.path().display(), offset = self.read_offset, "file was truncated; reading it again from the start");
        self.decoder.flush_pending(&self.source, out);
        self.head = None;
        self.decoder.reset();
        self.read_offset = 0;
        self.line_start = 0;
        self.line_buf = Vec::new();
        self.skipping = false;
    }

    /// The source of the records about to be read: identified first if the content is new.
    fn source(&mut self) -> io::Result<Arc<Source>> {
        if self.head.is_none() {
            let id = match identify(self.path(), &self.file)? {
                Some(found) => {
                    self.head = Some(found.head);
                    found.id
                }
                // The first line is not complete yet: what was read is part of it, shipped only
                // if the file ends so (`finish`), or lines of a file cut between two reads. They
                // are told apart from other files' by an id of the path; the identity is looked
                // for again at the next read (a stand-in first line would make every later read
                // look like a rewrite).
                None => unidentified_id(self.path(), self.key),
            };
            if self.source.id != id {
                // In place when nothing else holds the source; a copy when records of the
                // content before, or an output's cache, still do (they keep the old id).
                Arc::make_mut(&mut self.source).id = id;
            }
        }
        Ok(Arc::clone(&self.source))
    }

    /// The pod the file belongs to, from its name.
    pub fn pod(&self) -> Option<&PodRef> {
        self.source.pod.as_ref()
    }

    pub fn pod_meta(&self) -> Option<&Arc<PodMeta>> {
        self.source.meta.as_ref()
    }

    /// Records read from now on carry `meta`. Records already made keep the source they have:
    /// the source is changed in place only when no record or output cache holds it, and
    /// copied otherwise.
    pub fn set_pod_meta(&mut self, meta: Option<Arc<PodMeta>>) {
        Arc::make_mut(&mut self.source).meta = meta;
    }

    /// No path leads to the file, and it has been quiet (and known so) for `grace`: it is
    /// given up.
    pub fn gone_for(&self, grace: Duration) -> bool {
        self.orphaned && self.last_activity.elapsed() >= grace
    }

    /// The file was deleted (no name leads to it in any directory): whatever a scan could or
    /// could not look at, it is gone.
    pub fn deleted(&self) -> bool {
        self.file.metadata().is_ok_and(|m| m.nlink() == 0)
    }

    /// The identity of the content being read, once known.
    pub fn source_id(&self) -> Option<u64> {
        self.head.map(|_| self.source.id)
    }

    /// Copytruncate can refill a file past the old offset between two looks at its size; a
    /// changed first line gives it away.
    pub fn check_rewritten(&mut self, out: &mut Vec<Record>) -> io::Result<()> {
        if self.rewritten()? {
            self.truncated(out);
            self.decoder.count_decoded();
        }
        Ok(())
    }

    /// The file no longer starts with the first line it was identified by, or with what was
    /// read of a first line not complete yet.
    fn rewritten(&self) -> io::Result<bool> {
        match self.head {
            Some(head) => Ok(!starts_with(&self.file, head)?),
            None if self.line_start == 0 && !self.line_buf.is_empty() => {
                Ok(!starts_with_bytes(&self.file, &self.line_buf)?)
            }
            None => Ok(false),
        }
    }

    /// The file is finished (gone, or the input is stopping at EOF): unfinished split lines and
    /// a last line without newline are shipped as they are.
    pub fn finish(&mut self, out: &mut Vec<Record>) {
        let Ok(source) = self.source() else {
            return;
        };
        if !self.line_buf.is_empty() && !self.skipping {
            let line = std::mem::take(&mut self.line_buf);
            self.decoder.line(
                &line,
                self.line_start,
                self.read_offset,
                false,
                &source,
                out,
            );
            self.line_start = self.read_offset;
        }
        self.decoder.flush_pending(&source, out);
        self.decoder.count_decoded();
    }

    /// Records that a read failed; the first failure of the agent is logged.
    pub fn read_failed(&self, err: &io::Error) {
        if self.decoder.stats().problem(Problem::ReadError) {
            tracing::warn!(path = %self.path().display(), error = %err, "reading a file failed (further failures are only counted)");
        }
    }

    /// A size seen by discovery, fresher than the last poll when reading is paused.
    pub fn observe_size(&mut self, size: u64) {
        self.last_size = size;
    }

    /// Bytes written and not read yet (as of the last poll or discovery).
    pub fn lag(&self) -> u64 {
        self.last_size.saturating_sub(self.read_offset)
    }

    /// Where this file stands once everything read so far is delivered.
    pub fn progress(&self, forget: bool) -> Option<crate::acks::Progress> {
        Some(crate::acks::Progress {
            id: self.source_id()?,
            path: Arc::clone(&self.source.path),
            dev: self.key.dev,
            ino: self.key.ino,
            offset: self.safe_offset(),
            forget,
        })
    }

    /// The offset up to which every line has been handed on (for checkpoints).
    pub fn safe_offset(&self) -> u64 {
        self.decoder
            .oldest_pending_start()
            .map_or(self.line_start, |p| p.min(self.line_start))
    }
}

impl Drop for Tailer {
    fn drop(&mut self) {
        counters::add(&self.decoder.stats().files_closed, 1);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        /// Makes [`identify`] fail on this thread: reading a file's first line failing (an I/O
        /// error) after a read of new bytes succeeded cannot be caused from outside.
        pub(super) static IDENTIFY_FAILS: Cell<bool> = const { Cell::new(false) };
        /// Makes [`Tailer::poll`] fail on this thread, as a disk's I/O error would.
        pub(crate) static READ_FAILS: Cell<bool> = const { Cell::new(false) };
    }

    /// Lines read as they are: no merge, no cut.
    pub(crate) const PLAIN: DecodeOptions = DecodeOptions {
        merge_json: false,
        max_line_bytes: 1 << 20,
    };

    /// The records' `log`s, in order.
    pub(crate) fn logs(records: &[Record]) -> Vec<String> {
        records
            .iter()
            .map(|r| r.log().text().into_owned())
            .collect()
    }

    #[test]
    fn a_log_is_read_without_touching_its_access_time() {
        use std::time::{Duration, SystemTime};
        let dir = tempfile::tempdir().unwrap();
        let long_ago = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        // A file read before its last write: under relatime an ordinary read writes the atime.
        let read_after_opening_with = |name: &str, open: fn(&Path) -> io::Result<File>| {
            let path = dir.path().join(name);
            std::fs::write(&path, "one\n").unwrap();
            let times = std::fs::FileTimes::new().set_accessed(long_ago);
            let file = File::options().write(true).open(&path).unwrap();
            file.set_times(times).unwrap();
            assert_eq!(open(&path).unwrap().read_at(&mut [0; 16], 0).unwrap(), 4);
            std::fs::metadata(&path).unwrap().accessed().unwrap()
        };
        if read_after_opening_with("plain.log", |p| File::open(p)) == long_ago {
            eprintln!("this file system does not update access times: nothing to test");
            return;
        }
        assert_eq!(read_after_opening_with("app.log", open_log), long_ago);
    }

    #[test]
    fn files_whose_first_line_is_incomplete_get_ids_of_their_own_and_no_false_rewrite() {
        use std::io::Write;
        use std::sync::atomic::Ordering;
        let dir = tempfile::tempdir().unwrap();
        let opts = PLAIN;
        let stats = Arc::new(CollectorStats::default());
        let tailer = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            let file = File::open(&path).unwrap();
            assert_eq!(identify(&path, &file).unwrap(), None);
            let mut t = Tailer::new(&path, file, 0, None, opts, Arc::clone(&stats)).unwrap();
            let mut records = Vec::new();
            t.poll(&mut vec![0; 4096], &mut records).unwrap();
            assert!(records.is_empty());
            (t, path)
        };
        // Both end without a newline: each ships its line at the end, under an id of its own
        // (with id 0 for both, the second document overwrote the first).
        let (mut a, _) = tailer("a.log", "alpha");
        let (mut b, _) = tailer("b.log", "beta");
        let (mut ends_a, mut ends_b) = (Vec::new(), Vec::new());
        a.finish(&mut ends_a);
        b.finish(&mut ends_b);
        assert_eq!(ends_a.len(), 1);
        assert_eq!(ends_b.len(), 1);
        assert_ne!(ends_a[0].source.id, ends_b[0].source.id);
        assert_eq!(
            a.source_id(),
            None,
            "no checkpoint for an unidentified file"
        );

        // The first line completed later: read on, identified, not taken for a rewrite.
        let (mut c, path) = tailer("c.log", "gam");
        writeln!(
            std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap(),
            "ma\ndelta"
        )
        .unwrap();
        let mut records = Vec::new();
        c.poll(&mut vec![0; 4096], &mut records).unwrap();
        let logs = logs(&records);
        assert_eq!(logs, ["gamma", "delta"]);
        let id = identify(&path, &File::open(&path).unwrap())
            .unwrap()
            .map(|i| i.id);
        assert_eq!(c.source_id(), id);
        assert!(records.iter().all(|r| Some(r.source.id) == id));
        assert_eq!(stats.truncations_detected.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_file_cut_and_refilled_inside_its_incomplete_first_line_is_read_again() {
        use std::sync::atomic::Ordering;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        std::fs::write(&path, "gam").unwrap();
        let opts = PLAIN;
        let stats = Arc::new(CollectorStats::default());
        let file = File::open(&path).unwrap();
        let mut t = Tailer::new(&path, file, 0, None, opts, Arc::clone(&stats)).unwrap();
        let mut records = Vec::new();
        t.poll(&mut vec![0; 4096], &mut records).unwrap();
        assert!(records.is_empty());
        // Copytruncate, then new content past what was read: its bytes from offset 3 on are
        // not the rest of "gam".
        std::fs::write(&path, "hello\nworld\n").unwrap();
        t.poll(&mut vec![0; 4096], &mut records).unwrap();
        let logs = logs(&records);
        assert_eq!(logs, ["hello", "world"]);
        assert_eq!(stats.truncations_detected.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_chunk_read_while_the_first_line_cannot_be_read_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let lines: Vec<String> = (0..3)
            .map(|i| {
                format!(r#"{{"log":"line {i}\n","stream":"stdout","time":"2026-11-22T01:02:03Z"}}"#)
            })
            .collect();
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let opts = PLAIN;
        let stats = Arc::new(CollectorStats::default());
        // Opened before its first line was written: identified at the first read.
        let mut t = Tailer::new(&path, File::open(&path).unwrap(), 0, None, opts, stats).unwrap();
        let mut records = Vec::new();
        IDENTIFY_FAILS.set(true);
        assert!(t.poll(&mut vec![0; 4096], &mut records).is_err());
        IDENTIFY_FAILS.set(false);
        assert!(records.is_empty());
        t.poll(&mut vec![0; 4096], &mut records).unwrap();
        let logs = logs(&records);
        assert_eq!(logs, ["line 0\n", "line 1\n", "line 2\n"]);
        let size = std::fs::metadata(&path).unwrap().len();
        assert_eq!(records.last().map(|r| r.end_offset), Some(size));
        assert_eq!(t.safe_offset(), size);
        assert!(t.source_id().is_some());
    }

    #[test]
    fn container_ids_are_found_in_kubelet_and_docker_paths() {
        let id = "c053db7370be9c33d64677f9759863d850ebe35104069bec241cd1bb4674bd19";
        for p in [
            format!("/var/log/containers/json-logs_default_json-logs-{id}.log"),
            format!("/var/lib/docker/containers/{id}/{id}-json.log.1"),
        ] {
            assert_eq!(container_id_in(Path::new(&p)), Some(id), "{p}");
        }
        assert_eq!(
            container_id_in(Path::new("/var/log/pods/ns_pod_uid/app/0.log")),
            None
        );
        let too_long = format!("/x/{id}0.log");
        assert_eq!(container_id_in(Path::new(&too_long)), None);
    }

    #[test]
    fn new_content_after_a_truncation_gets_a_new_identity_and_the_old_records_keep_theirs() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let line = |s: &str| {
            format!(r#"{{"log":"{s}\n","stream":"stdout","time":"2026-11-22T01:02:03Z"}}"#)
        };
        std::fs::write(&path, format!("{}\n{}\n", line("old 1"), line("old 2"))).unwrap();
        let opts = PLAIN;
        let stats = Arc::new(CollectorStats::default());
        let file = File::open(&path).unwrap();
        let identity = identify(&path, &file).unwrap();
        let mut t = Tailer::new(&path, file, 0, identity, opts, stats).unwrap();
        let old_id = t.source_id().unwrap();
        let mut before = Vec::new();
        t.poll(&mut vec![0; 4096], &mut before).unwrap();
        assert_eq!(before.len(), 2);

        // Copytruncate, then new content, shorter than what was read.
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        writeln!(f, "{}", line("new")).unwrap();
        let mut after = Vec::new();
        t.poll(&mut vec![0; 4096], &mut after).unwrap();
        let mut empty = Vec::new();
        t.poll(&mut vec![0; 4096], &mut empty).unwrap();
        after.append(&mut empty);
        assert_eq!(after.len(), 1);
        let new_id = t.source_id().unwrap();
        assert_ne!(new_id, old_id);
        assert!(before.iter().all(|r| r.source.id == old_id));
        assert_eq!(after[0].source.id, new_id);
        assert_eq!(
            t.progress(false).map(|p| (p.id, p.offset)),
            Some((new_id, after[0].end_offset))
        );
    }

    #[test]
    fn a_tailer_fits_a_176_byte_block() {
        // A node keeps one per file, boxed: glibc hands out 176 bytes for up to 168, 192 past
        // that (the bench's 2,000 files; docs/performance.md items 27 and 33).
        let size = std::mem::size_of::<Tailer>();
        assert!(size <= 168, "{size}");
    }
}
