//! Files rotated away while the agent was down. A running agent follows a rotated file through
//! its open descriptor and reads it to its end; a stopped one cannot, and after a restart the
//! globs (`/var/log/containers/*.log`) lead only to the new file, so whatever the old one held
//! past its checkpoint would never be read (fluent-bit loses it too). At start-up, each
//! checkpoint that no found file took is looked for where the runtimes put a rotated file:
//! beside a file its path led to, through its symlinks, under the same name with a suffix
//! (kubelet's `0.log.20261207-021500`, Docker's `<id>-json.log.1`, logrotate's `app.log.1`),
//! with the checkpoint's inode (not its device, whose number may change across a reboot).
//! [`open`] checks the content's identity before anything is read: an inode may have been
//! reused.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::checkpoint::Checkpoint;
use crate::discovery::gone;
use crate::line_decoder::DecodeOptions;
use crate::stats::CollectorStats;
use crate::tailer::{identify, open_log, FileKey, Tailer};

/// The most symlinks followed from a checkpoint's path (kubelet's link to the pod's log and,
/// with Docker, the pod's log on to Docker's own file make two).
const MAX_LINKS: usize = 8;

/// Looks for the rotated files of many checkpoints, listing each directory once: a start-up
/// after many pods went away has a checkpoint for each, all under `/var/log/containers`.
#[derive(Default)]
pub struct RotatedFinder {
    /// `None`: the directory could not be read.
    listings: HashMap<PathBuf, Option<Vec<OsString>>>,
    /// Directories and links on the way that could not be read (other than gone): a file there
    /// cannot be found, which the caller reports.
    pub failed: Vec<(PathBuf, io::Error)>,
}

impl RotatedFinder {
    /// Where the file of `checkpoint` is now, if it was renamed beside its path or beside a
    /// file a symlink on that path led to. Matched by inode only: a filesystem's device number
    /// may change across a reboot, and the caller checks the content's identity anyway.
    pub fn find(&mut self, checkpoint: &Checkpoint) -> Option<PathBuf> {
        let mut path = checkpoint.path.to_path_buf();
        for _ in 0..=MAX_LINKS {
            let listing = self.listing(path.parent()?)?;
            if let Some(found) = renamed_beside(&path, listing, checkpoint.ino) {
                return Some(found);
            }
            // A link to a file that is gone still says where that file was.
            let target = match std::fs::read_link(&path) {
                Ok(target) => target,
                Err(e) => {
                    // Not a link (EINVAL) or not there: the search ends here.
                    if !(gone(&e) || e.kind() == io::ErrorKind::InvalidInput) {
                        self.failed.push((path, e));
                    }
                    return None;
                }
            };
            path = match path.parent() {
                // An absolute target replaces the directory; a relative one is under it.
                Some(dir) => dir.join(target),
                None => target,
            };
        }
        None
    }

    /// `dir`'s entry names, read once; `None` when it cannot be read (a failure other than
    /// gone is reported the first time).
    fn listing(&mut self, dir: &Path) -> Option<&[OsString]> {
        let RotatedFinder { listings, failed } = self;
        listings
            .entry(dir.to_path_buf())
            .or_insert_with(|| match list(dir) {
                Ok(names) => Some(names),
                Err(e) => {
                    if !gone(&e) {
                        failed.push((dir.to_path_buf(), e));
                    }
                    None
                }
            })
            .as_deref()
    }
}

/// A regular file `<name>.<suffix>` beside `path` (in its directory's `listing`) with inode
/// `ino`.
fn renamed_beside(path: &Path, listing: &[OsString], ino: u64) -> Option<PathBuf> {
    let dir = path.parent()?;
    let name = path.file_name()?.as_encoded_bytes();
    listing.iter().find_map(|entry| {
        let e = entry.as_encoded_bytes();
        let renamed = e.len() > name.len() + 1 && e.starts_with(name) && e[name.len()] == b'.';
        if !renamed {
            return None;
        }
        let candidate = dir.join(entry);
        let meta = std::fs::metadata(&candidate).ok()?;
        if !(meta.is_file() && meta.ino() == ino) {
            return None;
        }
        // Without the `..` of a relative link, for the log.
        Some(std::fs::canonicalize(&candidate).unwrap_or(candidate))
    })
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
    let file = open_log(found)?;
    let meta = file.metadata()?;
    let key = FileKey::of(&meta);
    // Not the device: see [`RotatedFinder::find`].
    if key.ino != checkpoint.ino || meta.len() <= checkpoint.offset {
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

/// A directory's entry names.
fn list(dir: &Path) -> io::Result<Vec<OsString>> {
    std::fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.file_name()))
        .collect()
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

    /// The checkpoint of a new file `real` read through the symlink `link`.
    fn checkpoint_through_link(real: &Path, link: &Path) -> Checkpoint {
        fs::write(real, "old\n").unwrap();
        std::os::unix::fs::symlink(real, link).unwrap();
        Checkpoint {
            path: Arc::from(link),
            ..checkpoint_of(real)
        }
    }

    #[test]
    fn a_file_renamed_beside_its_path_is_found() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = fs::canonicalize(tmp.path()).unwrap();
        let current = dir.join("app.log");
        fs::write(&current, "old\n").unwrap();
        let checkpoint = checkpoint_of(&current);
        fs::rename(&current, dir.join("app.log.1")).unwrap();
        fs::write(&current, "new\n").unwrap();
        // Names that only start the same, or the same name, are not the rotated file.
        fs::write(dir.join("app.logx"), "other\n").unwrap();
        fs::write(dir.join("app.log."), "other\n").unwrap();
        assert_eq!(
            RotatedFinder::default().find(&checkpoint),
            Some(dir.join("app.log.1"))
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
        let link = dir.path().join("link.log");
        let checkpoint = checkpoint_through_link(&real, &link);
        // kubelet compresses older rotated files: a copy, another inode.
        fs::copy(&real, dir.path().join("0.log.20261207-021500.gz")).unwrap();
        fs::remove_file(&real).unwrap();
        assert_eq!(RotatedFinder::default().find(&checkpoint), None);
        // The pod went away with its link.
        fs::remove_file(&link).unwrap();
        assert_eq!(RotatedFinder::default().find(&checkpoint), None);
    }

    #[test]
    fn a_directory_that_cannot_be_read_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let pods = tmp.path().join("pods");
        fs::create_dir(&pods).unwrap();
        let checkpoint = checkpoint_through_link(&pods.join("0.log"), &tmp.path().join("link.log"));
        // A loop where the pods' directory was: it cannot be listed, and is not just gone.
        fs::rename(&pods, tmp.path().join("moved")).unwrap();
        std::os::unix::fs::symlink(&pods, &pods).unwrap();
        let mut finder = RotatedFinder::default();
        assert_eq!(finder.find(&checkpoint), None);
        let failed: Vec<&Path> = finder.failed.iter().map(|(p, _)| p.as_path()).collect();
        assert_eq!(failed, [pods.as_path()]);
        // Gone is not a failure.
        fs::remove_file(&pods).unwrap();
        let mut finder = RotatedFinder::default();
        assert_eq!(finder.find(&checkpoint), None);
        assert!(finder.failed.is_empty());
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
