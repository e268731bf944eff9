//! Which files to tail: the configured globs, expanded on every refresh. Symlinks (kubelet's
//! `/var/log/containers/*.log`) are followed to the file they point at.

use std::path::{Path, PathBuf};

use crate::tailer::FileKey;

/// A file found by the globs, with the identity of what the path points at now.
#[derive(Debug, Clone)]
pub struct Found {
    pub path: PathBuf,
    pub key: FileKey,
    /// The size when looked at (for the lag gauge).
    pub size: u64,
}

/// What the globs lead to now.
#[derive(Debug, Default)]
pub struct Scan {
    pub found: Vec<Found>,
    /// Paths that could not be looked at: a directory that could not be read, a file whose
    /// metadata could not be read. Files at or under them may still be there, missing from
    /// `found`: the scan does not say that those are gone.
    pub failed: Vec<ScanFailure>,
}

#[derive(Debug)]
pub struct ScanFailure {
    pub path: PathBuf,
    pub error: std::io::Error,
}

impl Scan {
    /// Whether `path` is at or under a path that could not be looked at.
    pub fn missed(&self, path: &Path) -> bool {
        self.failed.iter().any(|f| path.starts_with(&f.path))
    }
}

/// Expands the globs. Paths that vanish while being looked at (a dangling symlink: its file was
/// rotated away or deleted; a pod's directory removed) and directories are skipped; anything
/// else that keeps a path from being looked at is told in [`Scan::failed`]. The next refresh
/// sees the directory as it is then.
pub fn scan(globs: &[String]) -> Scan {
    let mut found = Vec::new();
    let mut failed = Vec::new();
    for pattern in globs {
        let paths = match glob::glob(pattern) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(pattern, error = %e, "invalid glob pattern");
                continue;
            }
        };
        let mut any = false;
        for entry in paths {
            any = true;
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) if gone(e.error()) => continue,
                Err(e) => {
                    let path = e.path().to_path_buf();
                    failed.push(ScanFailure {
                        path,
                        error: e.into(),
                    });
                    continue;
                }
            };
            // `metadata` follows symlinks: the key is the target's.
            match std::fs::metadata(&entry) {
                Ok(meta) if meta.is_file() => found.push(Found {
                    key: FileKey::of(&meta),
                    size: meta.len(),
                    path: entry,
                }),
                Ok(_) => {}
                Err(e) if gone(&e) => {}
                Err(error) => failed.push(ScanFailure { path: entry, error }),
            }
        }
        if !any {
            // glob takes a fixed part it cannot look at (a directory behind a symlink loop or
            // an unreachable mount) for one that is not there, and says nothing.
            let fixed = fixed_part(pattern);
            if let Err(error) = look_at(&fixed) {
                failed.push(ScanFailure { path: fixed, error });
            }
        }
    }
    // One file reached by several paths (a symlink and its target both matched) is tailed once,
    // under the first path in order.
    // (Byte order: a component-wise `Path` comparison costs several times more.)
    found.sort_by(|a, b| {
        a.path
            .as_os_str()
            .as_encoded_bytes()
            .cmp(b.path.as_os_str().as_encoded_bytes())
    });
    let mut keys = std::collections::HashSet::with_capacity(found.len());
    found.retain(|f| keys.insert(f.key));
    Scan { found, failed }
}

/// Looks at `path` (following symlinks): an error only when something keeps it from being
/// looked at, not when it is not there (or a file stands where a directory should).
fn look_at(path: &Path) -> std::io::Result<()> {
    match std::fs::metadata(path) {
        Err(e) if !gone(&e) => Err(e),
        _ => Ok(()),
    }
}

/// What an error of looking at a path says: that nothing is there (or a file stands where a
/// directory should be, so nothing can be), as opposed to that it could not be looked at.
pub(crate) fn gone(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
    )
}

/// The leading components of `pattern` without wildcards: the directory the matches are under,
/// or the whole path when nothing in it is a wildcard.
fn fixed_part(pattern: &str) -> PathBuf {
    Path::new(pattern)
        .components()
        .take_while(|c| {
            !c.as_os_str()
                .as_encoded_bytes()
                .iter()
                .any(|b| matches!(b, b'*' | b'?' | b'['))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_symlinks_and_skips_dangling_ones() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::fs::write(real.join("0.log"), b"x\n").unwrap();
        let links = dir.path().join("containers");
        std::fs::create_dir(&links).unwrap();
        std::os::unix::fs::symlink(real.join("0.log"), links.join("a.log")).unwrap();
        std::os::unix::fs::symlink(real.join("gone.log"), links.join("b.log")).unwrap();
        std::fs::create_dir(links.join("dir.log")).unwrap();
        let Scan { found, failed } = scan(&[format!("{}/*.log", links.display())]);
        assert!(failed.is_empty(), "{failed:?}");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path, links.join("a.log"));
        let meta = std::fs::metadata(real.join("0.log")).unwrap();
        assert_eq!(found[0].key, FileKey::of(&meta));
    }

    #[test]
    fn a_fixed_directory_of_a_pattern_that_cannot_be_looked_at_is_told() {
        let dir = tempfile::tempdir().unwrap();
        let containers = dir.path().join("containers");
        std::fs::create_dir(&containers).unwrap();
        std::fs::write(containers.join("a.log"), b"x\n").unwrap();
        let globs = [
            format!("{}/*.log", containers.display()),
            format!("{}/a.log", containers.display()),
        ];
        let scanned = scan(&globs);
        assert_eq!(scanned.found.len(), 1);
        assert!(scanned.failed.is_empty(), "{:?}", scanned.failed);
        // The directory replaced by a symlink to itself (ELOOP, as with a mount that cannot be
        // reached): glob finds nothing there and says nothing.
        std::fs::rename(&containers, dir.path().join("away")).unwrap();
        std::os::unix::fs::symlink(&containers, &containers).unwrap();
        let scanned = scan(&globs);
        assert!(scanned.found.is_empty());
        let failed: Vec<&Path> = scanned.failed.iter().map(|f| f.path.as_path()).collect();
        assert_eq!(
            failed,
            [containers.as_path(), containers.join("a.log").as_path()]
        );
        assert!(scanned.missed(&containers.join("a.log")));
        // Gone is gone: a directory that is not there, or a file in its place, is not a
        // failure.
        std::fs::remove_file(&containers).unwrap();
        let scanned = scan(&globs);
        assert!(scanned.found.is_empty() && scanned.failed.is_empty());
        std::fs::write(&containers, b"").unwrap();
        let scanned = scan(&globs);
        assert!(
            scanned.found.is_empty() && scanned.failed.is_empty(),
            "{:?}",
            scanned.failed
        );
    }

    #[test]
    fn a_path_that_cannot_be_looked_at_is_told_not_taken_for_gone() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.log"), b"x\n").unwrap();
        // A symlink to itself: its metadata cannot be read (ELOOP), as with a target that
        // cannot be reached, unlike a dangling link (its file is gone).
        let looped = dir.path().join("loop.log");
        std::os::unix::fs::symlink(&looped, &looped).unwrap();
        std::os::unix::fs::symlink(dir.path().join("gone"), dir.path().join("dangling.log"))
            .unwrap();
        let glob = format!("{}/*.log", dir.path().display());
        let scanned = scan(std::slice::from_ref(&glob));
        assert_eq!(scanned.found.len(), 1);
        let failed: Vec<&Path> = scanned.failed.iter().map(|f| f.path.as_path()).collect();
        assert_eq!(failed, [looped.as_path()]);
        assert!(scanned.missed(&looped));
        assert!(!scanned.missed(&dir.path().join("dangling.log")));
        // A directory that could not be read: every path under it is missed, by components.
        let unreadable = Scan {
            found: Vec::new(),
            failed: vec![ScanFailure {
                path: dir.path().join("pods"),
                error: std::io::Error::from_raw_os_error(24),
            }],
        };
        assert!(unreadable.missed(&dir.path().join("pods/ns_pod_uid/app/0.log")));
        assert!(!unreadable.missed(&dir.path().join("pods2/x.log")));
        std::fs::remove_file(&looped).unwrap();
        let Scan { found, failed } = scan(&[glob]);
        assert_eq!(found.len(), 1);
        assert!(
            failed.is_empty(),
            "a dangling symlink is a file gone: {failed:?}"
        );
    }
}
