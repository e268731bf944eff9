//! What changed on disk, so that the file input looks at its files when they change instead of
//! every 100 ms: inotify (through the `notify` crate) on every tailed file and on the
//! directories the globs read. A quiet node with a thousand files then costs nothing between
//! lines.
//!
//! inotify is a hint, never the only way a change is seen: the input still looks at every file
//! and rescans the globs on a slow timer (rotations on filesystems without inotify such as NFS,
//! events lost to a full queue, watches refused past `max_user_watches`). When inotify cannot be
//! set up at all, the input polls as it did before.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use notify::event::{EventKind, ModifyKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};

use crate::tailer::FileKey;

/// How long events are gathered after the first one (adds at most this to a line's latency).
const GATHER: Duration = Duration::from_millis(20);

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
    inotify: Option<Inotify>,
}

struct Inotify {
    watcher: RecommendedWatcher,
    events: Receiver<notify::Result<notify::Event>>,
    /// The file each watched path was watched for: a path that leads to a new file after a
    /// rotation is watched again for it, and closing the old file must not drop that watch.
    files: HashMap<PathBuf, FileKey>,
    /// Watches refused (usually `max_user_watches`): logged once, those files are polled.
    refused: bool,
    /// Files that changed since the last [`Changes::take_changed`].
    changed: HashSet<FileKey>,
    /// Something changed that is not a known file (the next round reads every file).
    unknown: bool,
}

impl Changes {
    /// Watches the directories of `globs`. Without inotify (`None` inside), [`Changes::wait`]
    /// just sleeps and the input polls.
    pub fn new(globs: &[String]) -> Changes {
        let (tx, events) = std::sync::mpsc::channel();
        let watcher = match notify::recommended_watcher(tx) {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "inotify is not available; files are polled every 100ms");
                return Changes { inotify: None };
            }
        };
        let mut inotify = Inotify {
            watcher,
            events,
            files: HashMap::new(),
            refused: false,
            changed: HashSet::new(),
            unknown: false,
        };
        for dir in globs.iter().filter_map(|g| literal_dir(g)) {
            if let Err(e) = inotify.watcher.watch(&dir, RecursiveMode::NonRecursive) {
                // A directory that does not exist yet is found by the rescans.
                tracing::debug!(dir = %dir.display(), error = %e, "cannot watch a log directory; it is rescanned on the timer");
            }
        }
        Changes {
            inotify: Some(inotify),
        }
    }

    /// Changes without inotify: the input polls (tests, and systems without it).
    pub fn polling() -> Changes {
        Changes { inotify: None }
    }

    /// Whether changes are being notified (otherwise the input must poll).
    pub fn notified(&self) -> bool {
        self.inotify.is_some()
    }

    /// Watches a file that is being tailed (through its path: a kubelet symlink is followed).
    pub fn watch_file(&mut self, path: &Path, key: FileKey) {
        let Some(n) = &mut self.inotify else { return };
        match n.watcher.watch(path, RecursiveMode::NonRecursive) {
            Ok(()) => {
                n.files.insert(path.to_owned(), key);
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

    /// Stops watching a file that is closed, unless its path is now watched for another file.
    pub fn unwatch_file(&mut self, path: &Path, key: FileKey) {
        let Some(n) = &mut self.inotify else { return };
        if n.files.get(path) == Some(&key) {
            n.files.remove(path);
            let _ = n.watcher.unwatch(path);
        }
    }

    /// Waits up to `timeout` for a change (without inotify: sleeps for `timeout`).
    pub fn wait(&mut self, timeout: Duration) -> Woken {
        let Some(n) = &mut self.inotify else {
            std::thread::sleep(timeout);
            return Woken::default();
        };
        let mut woken = Woken::default();
        match n.events.recv_timeout(timeout) {
            Ok(event) => n.note(&event, &mut woken),
            Err(RecvTimeoutError::Timeout) => return woken,
            Err(RecvTimeoutError::Disconnected) => {
                tracing::warn!("inotify stopped; files are polled every 100ms from now on");
                self.inotify = None;
                return Woken {
                    files: true,
                    names: true,
                };
            }
        }
        // Writes come in bursts (a line each to many files, a line in several writes): gather
        // what arrives in the next moment too, so that one round reads it all.
        let gather_until = std::time::Instant::now() + GATHER;
        loop {
            while let Ok(event) = n.events.try_recv() {
                n.note(&event, &mut woken);
            }
            let left = gather_until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            match n.events.recv_timeout(left) {
                Ok(event) => n.note(&event, &mut woken),
                Err(_) => break,
            }
        }
        woken
    }

    /// The files that changed since the last call, or `None` when it is not known which (no
    /// inotify, or a change that was not to a known file): then every file must be looked at.
    pub fn take_changed(&mut self) -> Option<HashSet<FileKey>> {
        let n = self.inotify.as_mut()?;
        let changed = std::mem::take(&mut n.changed);
        if std::mem::take(&mut n.unknown) {
            return None;
        }
        Some(changed)
    }
}

impl Inotify {
    fn note(&mut self, event: &notify::Result<notify::Event>, woken: &mut Woken) {
        classify(event, woken);
        let mut known = false;
        if let Ok(e) = event {
            for p in &e.paths {
                if let Some(key) = self.files.get(p) {
                    self.changed.insert(*key);
                    known = true;
                }
            }
        }
        if woken.files && !known {
            self.unknown = true;
        }
    }
}

fn classify(event: &notify::Result<notify::Event>, woken: &mut Woken) {
    match event {
        Ok(e) => match e.kind {
            EventKind::Access(_) => {}
            EventKind::Modify(ModifyKind::Data(_) | ModifyKind::Any) => woken.files = true,
            EventKind::Modify(ModifyKind::Metadata(_)) => {
                // A deleted file's link count changes: its path may be gone.
                woken.files = true;
                woken.names = true;
            }
            _ => {
                woken.files = true;
                woken.names = true;
            }
        },
        // An overflowed queue or a read error: anything may have changed.
        Err(_) => {
            woken.files = true;
            woken.names = true;
        }
    }
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
        let key = FileKey::of(&std::fs::metadata(&path).unwrap());
        c.watch_file(&path, key);
        while c.wait(Duration::from_millis(50)) != Woken::default() {}
        c.take_changed();
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
        c.unwatch_file(&path, key);
        assert!(c.inotify.as_ref().unwrap().files.is_empty());
    }

    #[test]
    fn a_path_watched_again_for_a_new_file_keeps_its_watch() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Changes::new(&[]);
        let path = dir.path().join("a.log");
        std::fs::write(&path, b"x\n").unwrap();
        let old = FileKey::of(&std::fs::metadata(&path).unwrap());
        c.watch_file(&path, old);
        let new = FileKey {
            dev: old.dev,
            ino: old.ino + 1,
        };
        c.watch_file(&path, new);
        c.unwatch_file(&path, old);
        assert_eq!(c.inotify.as_ref().unwrap().files.get(&path), Some(&new));
    }

    #[test]
    fn without_inotify_waiting_is_sleeping() {
        let mut c = Changes::polling();
        let t = Instant::now();
        assert_eq!(c.wait(Duration::from_millis(20)), Woken::default());
        assert!(t.elapsed() >= Duration::from_millis(20));
        c.watch_file(Path::new("/nonexistent"), FileKey { dev: 0, ino: 0 });
    }
}
