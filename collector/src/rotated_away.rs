//! Files rotated away while the agent was down. A running agent follows a rotated file through
//! its open descriptor and reads it to its end; a stopped one cannot, and after a restart the
//! globs (`/var/log/containers/*.log`) lead only to the new file, so whatever the old one held
//! past its checkpoint would never be read (fluent-bit loses it too). At start-up, each
//! checkpoint that no found file took is looked for where the runtimes put a rotated file:
//! beside a file its path led to, through its symlinks, under the same name with a suffix
//! (kubelet's `0.log.20261207-021500`, Docker's `<id>-json.log.1`, logrotate's `app.log.1`),
//! with the checkpoint's device and inode. The caller checks the content's identity before it
//! reads anything: an inode may have been reused.

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::checkpoint::Checkpoint;
use crate::line_decoder::DecodeOptions;
use crate::stats::CollectorStats;
use crate::tailer::{identify, FileKey, Tailer};

/// The most symlinks followed from a checkpoint's path (kubelet's link to the pod's log and,
/// with Docker, the pod's log on to Docker's own file make two).
const MAX_LINKS: usize = 8;

/// Looks for the rotated files of many checkpoints, listing each directory once: a start-up
/// after many pods went away has a checkpoint for each, all under `/var/log/containers`.
#[derive(Default)]
pub struct RotatedFinder {
    listings: HashMap<PathBuf, Vec<OsString>>,
}

impl RotatedFinder {
    /// Where the file of `checkpoint` is now, if it was renamed beside its path or beside a
    /// file a symlink on that path led to.
    pub fn find(&mut self, checkpoint: &Checkpoint) -> Option<PathBuf> {
        let mut path = checkpoint.path.to_path_buf();
        for _ in 0..=MAX_LINKS {
            if let Some(found) = self.renamed_beside(&path, checkpoint.dev, checkpoint.ino) {
                return Some(found);
            }
            // A link to a file that is gone still says where that file was.
            let target = std::fs::read_link(&path).ok()?;
            path = match path.parent() {
                // An absolute target replaces the directory; a relative one is under it.
                Some(dir) => dir.join(target),
                None => target,
            };
        }
        None
    }

    /// A regular file `<name>.<suffix>` in `path`'s directory that is the file `dev`/`ino`.
    fn renamed_beside(&mut self, path: &Path, dev: u64, ino: u64) -> Option<PathBuf> {
        let dir = path.parent()?;
        let name = path.file_name()?.as_encoded_bytes();
        let listing = self
            .listings
            .entry(dir.to_path_buf())
            .or_insert_with(|| list(dir));
        listing.iter().find_map(|entry| {
            let e = entry.as_encoded_bytes();
            let renamed = e.len() > name.len() + 1 && e.starts_with(name) && e[name.len()] == b'.';
            if !renamed {
                return None;
            }
            let candidate = dir.join(entry);
            let meta = std::fs::metadata(&candidate).ok()?;
            if !(meta.is_file() && meta.dev() == dev && meta.ino() == ino) {
                return None;
            }
            // Without the `..` of a relative link, for the log.
            Some(std::fs::canonicalize(&candidate).unwrap_or(candidate))
        })
    }
}

/// The tailer of the rotated file `found` for the checkpoint `id`, at the checkpoint, under the
/// path it was read by (its pod, tag and checkpoint stay the same). None when it holds nothing
/// past the checkpoint, or is not the content checkpointed (an inode reused since).
pub fn open(
    id: u64,
    checkpoint: &Checkpoint,
    found: &Path,
    decode: DecodeOptions,
    stats: &Arc<CollectorStats>,
) -> std::io::Result<Option<Tailer>> {
    let file = std::fs::File::open(found)?;
    let meta = file.metadata()?;
    let key = FileKey::of(&meta);
    let same_file = key.dev == checkpoint.dev && key.ino == checkpoint.ino;
    if !same_file || meta.len() <= checkpoint.offset {
        return Ok(None);
    }
    // Identified under the path it had: the container id in kubelet's link is part of it.
    let Some(identity) = identify(&checkpoint.path, &file)?.filter(|i| i.id == id) else {
        return Ok(None);
    };
    Tailer::new(
        &checkpoint.path,
        file,
        checkpoint.offset,
        Some(identity),
        decode,
        Arc::clone(stats),
    )
    .map(Some)
}

/// A directory's entry names; none when it cannot be read (nothing can be found there then).
fn list(dir: &Path) -> Vec<OsString> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.flatten().map(|e| e.file_name()).collect(),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn checkpoint_of(path: &Path) -> Checkpoint {
        let meta = fs::metadata(path).unwrap();
        Checkpoint {
            path: Arc::from(path),
            dev: meta.dev(),
            ino: meta.ino(),
            offset: 0,
            last_seen: 0,
        }
    }

    #[test]
    fn a_file_renamed_beside_its_path_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let current = dir.path().join("app.log");
        fs::write(&current, "old\n").unwrap();
        let checkpoint = checkpoint_of(&current);
        fs::rename(&current, dir.path().join("app.log.1")).unwrap();
        fs::write(&current, "new\n").unwrap();
        // Names that only start the same, or the same name, are not the rotated file.
        fs::write(dir.path().join("app.logx"), "other\n").unwrap();
        fs::write(dir.path().join("app.log."), "other\n").unwrap();
        assert_eq!(
            RotatedFinder::default().find(&checkpoint),
            Some(dir.path().join("app.log.1"))
        );
    }

    #[test]
    fn a_file_renamed_beside_a_symlinks_target_is_found() {
        // kubelet's layout: the glob's link to the pod's log, rotated by kubelet in its directory.
        let dir = tempfile::tempdir().unwrap();
        let dir_path = fs::canonicalize(dir.path()).unwrap();
        let pod_dir = dir_path.join("pods/ns_pod_uid/app");
        fs::create_dir_all(&pod_dir).unwrap();
        fs::create_dir_all(dir.path().join("containers")).unwrap();
        let real = pod_dir.join("0.log");
        fs::write(&real, "old\n").unwrap();
        let link = dir.path().join("containers/pod_ns_app-0123.log");
        // Relative, as a link may be: resolved against the link's directory.
        std::os::unix::fs::symlink("../pods/ns_pod_uid/app/0.log", &link).unwrap();
        let mut checkpoint = checkpoint_of(&real);
        checkpoint.path = Arc::from(link.as_path());
        let rotated = pod_dir.join("0.log.20261207-021500");
        fs::rename(&real, &rotated).unwrap();
        // Found while the link dangles, and once the runtime made the new file too.
        assert_eq!(
            RotatedFinder::default().find(&checkpoint),
            Some(rotated.clone())
        );
        fs::write(&real, "new\n").unwrap();
        assert_eq!(RotatedFinder::default().find(&checkpoint), Some(rotated));
    }

    #[test]
    fn a_copy_or_a_gone_path_is_not_taken_for_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("0.log");
        fs::write(&real, "old\n").unwrap();
        let link = dir.path().join("link.log");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let mut checkpoint = checkpoint_of(&real);
        checkpoint.path = Arc::from(link.as_path());
        // kubelet compresses older rotated files: a copy, another inode.
        fs::copy(&real, dir.path().join("0.log.20261207-021500.gz")).unwrap();
        fs::remove_file(&real).unwrap();
        assert_eq!(RotatedFinder::default().find(&checkpoint), None);
        // The pod went away with its link.
        fs::remove_file(&link).unwrap();
        assert_eq!(RotatedFinder::default().find(&checkpoint), None);
    }

    #[test]
    fn a_symlink_loop_ends_the_search() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.log");
        let b = dir.path().join("b.log");
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        let checkpoint = Checkpoint {
            path: Arc::from(a.as_path()),
            dev: 1,
            ino: 1,
            offset: 0,
            last_seen: 0,
        };
        assert_eq!(RotatedFinder::default().find(&checkpoint), None);
    }
}
