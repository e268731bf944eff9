//! What changed on disk, so that the file input looks at its files when they change instead of
//! every 100 ms: inotify on every tailed file and on the directories the globs read. A quiet
//! node with a thousand files then costs nothing between lines.
//!
//! The inotify descriptor is read on the input's own thread (no watcher thread, no channel):
//! each line written to a quiet node costs one wake-up, and a file's watch is found by its
//! watch descriptor, with no path kept per file. Files are watched through the descriptor the
//! input holds (`/proc/self/fd/N`), so the watch is on the very file being read even if its
//! path was rotated between the open and the watch.
//!
//! inotify is a hint, never the only way a change is seen: the input still looks at every file
//! and rescans the globs on a slow timer (rotations on filesystems without inotify such as NFS,
//! events lost to a full queue, watches refused past `max_user_watches`). When inotify cannot be
//! set up at all, the input polls as it did before.

use std::collections::HashSet;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask};

use crate::tailer::FileKey;

/// How long events are gathered after the first one (adds at most this to a line's latency).
const GATHER: Duration = Duration::from_millis(20);
/// Bytes read from the inotify descriptor at once: hundreds of events (16 bytes each, plus a
/// name for directory events).
const EVENT_BUFFER_BYTES: usize = 16 * 1024;

/// What a tailed file is watched for: writes (and truncation), and losing its name (a deletion
/// changes the link count; a rename moves it).
const FILE_EVENTS: WatchMask = WatchMask::MODIFY
    .union(WatchMask::ATTRIB)
    .union(WatchMask::DELETE_SELF)
    .union(WatchMask::MOVE_SELF);
/// What a log directory is watched for: names coming and going. Writes to the files in it are
/// reported by the files' own watches.
const DIR_EVENTS: WatchMask = WatchMask::CREATE
    .union(WatchMask::DELETE)
    .union(WatchMask::MOVED_FROM)
    .union(WatchMask::MOVED_TO)
    .union(WatchMask::DELETE_SELF)
    .union(WatchMask::MOVE_SELF);

/// What a wait for changes found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Woken {
    /// A tailed file changed: worth a read round (of the files in [`Changes::take_changed`],
    /// unless something else than a known file changed).
    pub files: bool,
    /// A name was created, removed or renamed (in a watched directory, or a tailed file was
    /// deleted or moved): worth a rescan of the globs.
    pub names: bool,
}

pub struct Changes {
    inotify: Option<Watching>,
}

/// What a watch descriptor stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Watched {
    File(FileKey),
    Dir,
}

/// What each watch descriptor stands for: files and directories apart, each in a vector sorted
/// by descriptor. The kernel hands descriptors out in increasing order, so a new watch goes at
/// the end, and a node's thousands of files take 32 to 64 bytes each as the vector grows (the
/// B-tree before took about 80).
/// Also how a closed file's watch is found: closing is rare next to events, and a second table
/// from file to watch cost 65 bytes a file.
#[derive(Default)]
struct WatchTable {
    files: Vec<(WatchDescriptor, FileKey)>,
    dirs: Vec<WatchDescriptor>,
}

impl WatchTable {
    fn add(&mut self, wd: WatchDescriptor, what: Watched) {
        match what {
            // The same inode watched twice gets its descriptor again: the newer tailer's it is.
            Watched::File(key) => match self.files.binary_search_by(|(w, _)| w.cmp(&wd)) {
                Ok(at) => self.files[at].1 = key,
                Err(at) => self.files.insert(at, (wd, key)),
            },
            Watched::Dir => {
                if !self.dirs.iter().any(|w| w.cmp(&wd).is_eq()) {
                    self.dirs.push(wd);
                }
            }
        }
    }

    fn get(&self, wd: &WatchDescriptor) -> Option<Watched> {
        if let Ok(at) = self.files.binary_search_by(|(w, _)| w.cmp(wd)) {
            return Some(Watched::File(self.files[at].1));
        }
        self.dirs
            .iter()
            .any(|w| w.cmp(wd).is_eq())
            .then_some(Watched::Dir)
    }

    fn remove(&mut self, wd: &WatchDescriptor) {
        if let Ok(at) = self.files.binary_search_by(|(w, _)| w.cmp(wd)) {
            self.files.remove(at);
        }
        self.dirs.retain(|w| w.cmp(wd).is_ne());
    }

    /// Forgets the watch of a file; its descriptor, to remove the watch itself.
    fn remove_file(&mut self, key: FileKey) -> Option<WatchDescriptor> {
        let at = self.files.iter().position(|(_, k)| *k == key)?;
        Some(self.files.remove(at).0)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.files.len() + self.dirs.len()
    }
}

struct Watching {
    inotify: Inotify,
    buffer: Box<[u8]>,
    watched: WatchTable,
    /// Watches refused (usually `max_user_watches`): logged once, those files are polled.
    refused: bool,
    /// Files that changed since the last [`Changes::take_changed`].
    changed: HashSet<FileKey>,
    /// Events were lost (the queue overflowed): the next round reads every file.
    unknown: bool,
}

impl Changes {
    /// Watches the directories of `globs`. Without inotify (`None` inside), [`Changes::wait`]
    /// just sleeps and the input polls.
    pub fn new(globs: &[String]) -> Changes {
        let inotify = match Inotify::init() {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(error = %e, "inotify is not available; files are polled every 100ms");
                return Changes { inotify: None };
            }
        };
        let mut w = Watching {
            inotify,
            buffer: vec![0; EVENT_BUFFER_BYTES].into_boxed_slice(),
            watched: WatchTable::default(),
            refused: false,
            changed: HashSet::new(),
            unknown: false,
        };
        for dir in globs.iter().filter_map(|g| literal_dir(g)) {
            match w.inotify.watches().add(&dir, DIR_EVENTS) {
                Ok(wd) => {
                    w.watched.add(wd, Watched::Dir);
                }
                // A directory that does not exist yet is found by the rescans.
                Err(e) => {
                    tracing::debug!(dir = %dir.display(), error = %e, "cannot watch a log directory; it is rescanned on the timer")
                }
            }
        }
        Changes { inotify: Some(w) }
    }

    /// Changes without inotify: the input polls (tests, and systems without it).
    pub fn polling() -> Changes {
        Changes { inotify: None }
    }

    /// Whether changes are being notified (otherwise the input must poll).
    pub fn notified(&self) -> bool {
        self.inotify.is_some()
    }

    /// Watches a file that is being tailed: the open file `fd` (its `path` where `/proc` is not
    /// mounted).
    pub fn watch_file(&mut self, path: &Path, fd: RawFd, key: FileKey) {
        let Some(n) = &mut self.inotify else { return };
        let mut watches = n.inotify.watches();
        let added = watches
            .add(format!("/proc/self/fd/{fd}"), FILE_EVENTS)
            .or_else(|_| watches.add(path, FILE_EVENTS));
        match added {
            Ok(wd) => {
                n.watched.add(wd, Watched::File(key));
            }
            Err(e) => {
                if !n.refused {
                    n.refused = true;
                    tracing::warn!(path = %path.display(), error = %e,
                        "cannot watch a file (fs.inotify.max_user_watches?); such files are looked at on the rescan timer (logged once)");
                }
            }
        }
    }

    /// Stops watching a file that is closed.
    pub fn unwatch_file(&mut self, key: FileKey) {
        let Some(n) = &mut self.inotify else { return };
        let Some(wd) = n.watched.remove_file(key) else {
            return;
        };
        // Already gone when the kernel dropped it (IN_IGNORED not read yet): nothing to do.
        let _ = n.inotify.watches().remove(wd);
    }

    /// Waits up to `timeout` for a change (without inotify: sleeps for `timeout`).
    pub fn wait(&mut self, timeout: Duration) -> Woken {
        let Some(n) = &mut self.inotify else {
            std::thread::sleep(timeout);
            return Woken::default();
        };
        let mut woken = Woken::default();
        let read = match readable(n.inotify.as_raw_fd(), timeout) {
            Ok(false) => return woken,
            Ok(true) => {
                // Writes come in bursts (a line each to many files, a line in several writes):
                // let the rest of the burst arrive, so that one read and one round take it all.
                std::thread::sleep(GATHER);
                n.read_events(&mut woken)
            }
            Err(e) => Err(e),
        };
        if let Err(e) = read {
            tracing::warn!(error = %e, "inotify stopped; files are polled every 100ms from now on");
            self.inotify = None;
            return Woken {
                files: true,
                names: true,
            };
        }
        woken
    }

    /// The files that changed since the last call, or `None` when it is not known which (no
    /// inotify, or events were lost): then every file must be looked at.
    pub fn take_changed(&mut self) -> Option<HashSet<FileKey>> {
        let n = self.inotify.as_mut()?;
        let changed = std::mem::take(&mut n.changed);
        if std::mem::take(&mut n.unknown) {
            return None;
        }
        Some(changed)
    }
}

impl Watching {
    /// Reads every queued event.
    fn read_events(&mut self, woken: &mut Woken) -> io::Result<()> {
        // The events borrow the buffer: taken out while they are noted, put back after.
        let mut buffer = std::mem::take(&mut self.buffer);
        let read = loop {
            let events = match self.inotify.read_events(&mut buffer) {
                Ok(events) => events,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(e),
            };
            for event in events {
                self.note(event.wd, event.mask, woken);
            }
        };
        self.buffer = buffer;
        read
    }

    fn note(&mut self, wd: WatchDescriptor, mask: EventMask, woken: &mut Woken) {
        if mask.contains(EventMask::Q_OVERFLOW) {
            // Events were dropped: anything may have changed.
            self.unknown = true;
            woken.files = true;
            woken.names = true;
            return;
        }
        // An event of a watch removed since it was queued tells nothing.
        let Some(what) = self.watched.get(&wd) else {
            return;
        };
        if mask.contains(EventMask::IGNORED) {
            // The kernel dropped the watch (its file or directory is gone).
            self.watched.remove(&wd);
            woken.names = true;
            return;
        }
        match what {
            Watched::Dir => woken.names = true,
            Watched::File(key) => {
                self.changed.insert(key);
                woken.files = true;
                if mask
                    .intersects(EventMask::ATTRIB | EventMask::DELETE_SELF | EventMask::MOVE_SELF)
                {
                    // A deleted file's link count changes; a moved one left its path.
                    woken.names = true;
                }
            }
        }
    }
}

/// Whether `fd` has something to read within `timeout`.
fn readable(fd: RawFd, timeout: Duration) -> io::Result<bool> {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // Rounded up: a wait for 0.5 ms must not become a busy loop of zero-timeout polls.
    let ms = timeout.as_nanos().div_ceil(1_000_000);
    let ms = libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX);
    // SAFETY: one valid pollfd for the duration of the call.
    let n = unsafe { libc::poll(&mut pfd, 1, ms) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(false)
        } else {
            Err(e)
        };
    }
    Ok(n > 0)
}

/// The directory a glob reads, up to its first wildcard: `/var/log/containers/*.log` →
/// `/var/log/containers`. `None` when a wildcard is in the first component.
fn literal_dir(glob: &str) -> Option<PathBuf> {
    let wild = |s: &str| s.contains(['*', '?', '[', '{']);
    let path = Path::new(glob);
    let mut dir = PathBuf::new();
    let components: Vec<_> = path.components().collect();
    for (i, c) in components.iter().enumerate() {
        let s = c.as_os_str().to_string_lossy();
        if wild(&s) || i + 1 == components.len() {
            break;
        }
        dir.push(c);
    }
    (!dir.as_os_str().is_empty()).then_some(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::time::Instant;

    #[test]
    fn the_directory_of_a_glob() {
        let d = |g: &str| literal_dir(g).map(|p| p.display().to_string());
        assert_eq!(
            d("/var/log/containers/*.log").as_deref(),
            Some("/var/log/containers")
        );
        assert_eq!(
            d("/var/log/pods/*/*/*.log").as_deref(),
            Some("/var/log/pods")
        );
        assert_eq!(d("/var/log/syslog").as_deref(), Some("/var/log"));
        assert_eq!(d("*.log"), None);
    }

    /// Waits until `want` is seen (events may arrive in pieces).
    fn wait_for(c: &mut Changes, want: Woken) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut seen = Woken::default();
        while Instant::now() < deadline {
            let w = c.wait(Duration::from_millis(100));
            seen.files |= w.files;
            seen.names |= w.names;
            if (seen.files || !want.files) && (seen.names || !want.names) {
                return true;
            }
        }
        false
    }

    /// Waits until nothing more arrives, and forgets what did.
    fn settle(c: &mut Changes) {
        while c.wait(Duration::from_millis(50)) != Woken::default() {}
        c.take_changed();
    }

    fn key_of(f: &std::fs::File) -> FileKey {
        FileKey::of(&f.metadata().unwrap())
    }

    #[test]
    fn writes_new_names_and_deletions_are_seen() {
        let dir = tempfile::tempdir().unwrap();
        let glob = format!("{}/*.log", dir.path().display());
        let mut c = Changes::new(std::slice::from_ref(&glob));
        assert!(c.notified());
        let path = dir.path().join("a.log");
        let mut f = std::fs::File::create(&path).unwrap();
        assert!(
            wait_for(
                &mut c,
                Woken {
                    files: false,
                    names: true
                }
            ),
            "a new name"
        );
        let key = key_of(&f);
        c.watch_file(&path, f.as_raw_fd(), key);
        settle(&mut c);
        writeln!(f, "line").unwrap();
        assert!(
            wait_for(
                &mut c,
                Woken {
                    files: true,
                    names: false
                }
            ),
            "a write"
        );
        assert_eq!(
            c.take_changed(),
            Some(HashSet::from([key])),
            "and which file"
        );
        std::fs::remove_file(&path).unwrap();
        assert!(
            wait_for(
                &mut c,
                Woken {
                    files: true,
                    names: true
                }
            ),
            "a deletion"
        );
        c.unwatch_file(key);
        let n = c.inotify.as_ref().unwrap();
        assert_eq!(n.watched.len(), 1, "the directory's watch only");
    }

    #[test]
    fn a_rotated_file_and_its_successor_are_watched_apart() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Changes::new(&[]);
        let path = dir.path().join("a.log");
        let mut old = std::fs::File::create(&path).unwrap();
        let old_key = key_of(&old);
        c.watch_file(&path, old.as_raw_fd(), old_key);
        std::fs::rename(&path, dir.path().join("a.log.1")).unwrap();
        let mut new = std::fs::File::create(&path).unwrap();
        let new_key = key_of(&new);
        c.watch_file(&path, new.as_raw_fd(), new_key);
        settle(&mut c);

        writeln!(old, "late line of the old file").unwrap();
        assert!(wait_for(
            &mut c,
            Woken {
                files: true,
                names: false
            }
        ));
        assert_eq!(c.take_changed(), Some(HashSet::from([old_key])));

        // Closing the old file leaves the new one watched.
        c.unwatch_file(old_key);
        settle(&mut c);
        writeln!(new, "first line of the new file").unwrap();
        assert!(wait_for(
            &mut c,
            Woken {
                files: true,
                names: false
            }
        ));
        assert_eq!(c.take_changed(), Some(HashSet::from([new_key])));
        writeln!(old, "not reported any more").unwrap();
        assert_eq!(c.wait(Duration::from_millis(200)), Woken::default());
        assert_eq!(c.take_changed(), Some(HashSet::new()));
    }

    #[test]
    fn each_watched_file_is_told_apart_and_closed_ones_are_not_told() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Changes::new(&[]);
        let mut files = Vec::new();
        for i in 0..6 {
            let path = dir.path().join(format!("{i}.log"));
            let f = std::fs::File::create(&path).unwrap();
            let key = key_of(&f);
            c.watch_file(&path, f.as_raw_fd(), key);
            files.push((f, key));
        }
        c.unwatch_file(files[1].1);
        c.unwatch_file(files[3].1);
        assert_eq!(c.inotify.as_ref().unwrap().watched.len(), 4);
        settle(&mut c);
        for (f, _) in &mut files {
            writeln!(f, "line").unwrap();
        }
        let want: HashSet<FileKey> = [0, 2, 4, 5].map(|i| files[i].1).into();
        let mut seen = HashSet::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while seen != want && Instant::now() < deadline {
            c.wait(Duration::from_millis(100));
            seen.extend(c.take_changed().unwrap());
        }
        // Whatever else was coming has arrived well before this.
        c.wait(Duration::from_millis(200));
        seen.extend(c.take_changed().unwrap());
        assert_eq!(seen, want);
    }

    #[test]
    fn without_inotify_waiting_is_sleeping() {
        let mut c = Changes::polling();
        let t = Instant::now();
        assert_eq!(c.wait(Duration::from_millis(20)), Woken::default());
        assert!(t.elapsed() >= Duration::from_millis(20));
        c.watch_file(Path::new("/nonexistent"), -1, FileKey { dev: 0, ino: 0 });
        c.unwatch_file(FileKey { dev: 0, ino: 0 });
    }
}
