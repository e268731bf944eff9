//! Checkpoints: how far each file has been read *and delivered*, kept in the state directory so
//! that a restarted agent continues exactly where the acknowledged data ends.
//!
//! The file is replaced atomically and carries a checksum ([`crate::state_file`]), so a crash
//! mid-write leaves the previous version and a damaged file is detected, set aside and reported
//! instead of crashing start-up.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::state_file::{self, unix_now};

/// Where one file stands: everything before `offset` has been delivered. Kept under the file's
/// identity (see [`crate::record::Source::id`]), which is not repeated here: a node keeps one
/// per file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Shared with the file's tailer and records (a node's thousands of files keep one copy).
    pub path: Arc<Path>,
    pub dev: u64,
    pub ino: u64,
    pub offset: u64,
    /// Unix seconds when the file was last seen by discovery; old entries are pruned.
    pub last_seen: u64,
}

/// A checkpoint as the file has it: the id in hex.
#[derive(Deserialize)]
struct Stored {
    id: String,
    path: PathBuf,
    dev: u64,
    ino: u64,
    offset: u64,
    last_seen: u64,
}

/// [`Stored`] as written, from the entries by reference (a node's thousand files are written
/// every time one of them moves on).
#[derive(Serialize)]
struct StoredRef<'a> {
    id: HexId,
    path: &'a Path,
    dev: u64,
    ino: u64,
    offset: u64,
    last_seen: u64,
}

/// An identity written as 16 hex digits, without a string per entry.
struct HexId(u64);

impl Serialize for HexId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{:016x}", self.0))
    }
}

#[derive(Deserialize)]
struct Body {
    version: u32,
    files: Vec<Stored>,
}

#[derive(Serialize)]
struct BodyRef<'a> {
    version: u32,
    files: Vec<StoredRef<'a>>,
}

const FILE_NAME: &str = "checkpoints.json";

/// Why the stored checkpoints could not be used (start-up goes on without them).
#[derive(Debug, thiserror::Error)]
pub enum LoadProblem {
    #[error("checkpoint file {path} is damaged ({reason}); it was moved to {moved_to} and files are read from their beginning")]
    Corrupt {
        path: PathBuf,
        reason: String,
        moved_to: PathBuf,
    },
}

pub struct CheckpointStore {
    dir: PathBuf,
    /// A B-tree, not a hash table: a node's thousands of entries take about two thirds of the
    /// room (a table is half empty after it grows), and a lookup is per acknowledged batch.
    entries: BTreeMap<u64, Checkpoint>,
    dirty: bool,
    /// Whether a checkpoint file existed at start (a first start reads files per `read_from`).
    pub existed: bool,
}

impl CheckpointStore {
    /// Opens the store in `dir`, creating the directory, and checks that it is writable: a state
    /// directory the agent cannot write would silently lose every checkpoint.
    pub fn open(dir: &Path) -> io::Result<(CheckpointStore, Option<LoadProblem>)> {
        fs::create_dir_all(dir)?;
        let probe = dir.join(".write-test");
        File::create(&probe)?;
        let _ = fs::remove_file(&probe);
        let path = dir.join(FILE_NAME);
        let mut store = CheckpointStore {
            dir: dir.to_owned(),
            entries: BTreeMap::new(),
            dirty: false,
            existed: false,
        };
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((store, None)),
            Err(e) => return Err(e),
        };
        store.existed = true;
        match parse(&text) {
            Ok(files) => {
                store.entries = files
                    .into_iter()
                    .filter_map(|c| {
                        let id = u64::from_str_radix(&c.id, 16).ok()?;
                        let checkpoint = Checkpoint {
                            path: c.path.into(),
                            dev: c.dev,
                            ino: c.ino,
                            offset: c.offset,
                            last_seen: c.last_seen,
                        };
                        Some((id, checkpoint))
                    })
                    .collect();
                Ok((store, None))
            }
            Err(reason) => {
                let moved_to = state_file::set_aside(dir, FILE_NAME)?;
                Ok((
                    store,
                    Some(LoadProblem::Corrupt {
                        path,
                        reason,
                        moved_to,
                    }),
                ))
            }
        }
    }

    pub fn get(&self, id: u64) -> Option<&Checkpoint> {
        self.entries.get(&id)
    }

    /// Every file's checkpoint, under its identity.
    pub fn entries(&self) -> impl Iterator<Item = (u64, &Checkpoint)> {
        self.entries.iter().map(|(&id, c)| (id, c))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Records delivered progress of a file.
    pub fn set(&mut self, id: u64, path: &Arc<Path>, dev: u64, ino: u64, offset: u64) {
        let now = unix_now();
        match self.entries.get_mut(&id) {
            Some(c) if c.offset == offset && c.path == *path => {
                if !Arc::ptr_eq(&c.path, path) {
                    // Loaded from the file: share the tailer's copy from now on.
                    c.path = Arc::clone(path);
                }
            }
            Some(c) => {
                c.offset = offset;
                c.path = Arc::clone(path);
                c.dev = dev;
                c.ino = ino;
                c.last_seen = now;
                self.dirty = true;
            }
            None => {
                self.entries.insert(
                    id,
                    Checkpoint {
                        path: Arc::clone(path),
                        dev,
                        ino,
                        offset,
                        last_seen: now,
                    },
                );
                self.dirty = true;
            }
        }
    }

    /// Marks files as still present, so that pruning keeps them.
    pub fn touch(&mut self, id: u64) {
        if let Some(c) = self.entries.get_mut(&id) {
            let now = unix_now();
            if now.saturating_sub(c.last_seen) >= 60 {
                c.last_seen = now;
                self.dirty = true;
            }
        }
    }

    /// Forgets a file that is finished and gone.
    pub fn remove(&mut self, id: u64) {
        if self.entries.remove(&id).is_some() {
            self.dirty = true;
        }
    }

    /// Drops entries not seen for `max_age_secs` (files deleted while the agent was down).
    pub fn prune(&mut self, max_age_secs: u64) {
        let now = unix_now();
        let before = self.entries.len();
        self.entries
            .retain(|_, c| now.saturating_sub(c.last_seen) <= max_age_secs);
        self.dirty |= self.entries.len() != before;
    }

    /// Writes the checkpoints if they changed.
    pub fn persist(&mut self) -> io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let mut files: Vec<StoredRef> = self
            .entries
            .iter()
            .map(|(&id, c)| StoredRef {
                id: HexId(id),
                path: &c.path,
                dev: c.dev,
                ino: c.ino,
                offset: c.offset,
                last_seen: c.last_seen,
            })
            .collect();
        // Byte order of the paths (a component-wise `Path` comparison was a tenth of a quiet
        // node's CPU: the file is written every second there).
        files.sort_by(|a, b| {
            (a.path.as_os_str().as_encoded_bytes(), a.id.0)
                .cmp(&(b.path.as_os_str().as_encoded_bytes(), b.id.0))
        });
        state_file::replace_sealed(&self.dir, FILE_NAME, |out| {
            serde_json::to_writer(out, &BodyRef { version: 1, files }).map_err(io::Error::from)
        })?;
        self.dirty = false;
        Ok(())
    }
}

fn parse(text: &[u8]) -> Result<Vec<Stored>, String> {
    let body = state_file::unseal(text)?;
    let body: Body = serde_json::from_str(body).map_err(|e| e.to_string())?;
    if body.version != 1 {
        return Err(format!("unknown version {}", body.version));
    }
    Ok(body.files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, problem) = CheckpointStore::open(dir.path()).unwrap();
        assert!(problem.is_none() && !s.existed);
        s.set(0xabc, &Arc::from(Path::new("/a.log")), 1, 2, 300);
        s.persist().unwrap();
        let (s, problem) = CheckpointStore::open(dir.path()).unwrap();
        assert!(problem.is_none() && s.existed);
        assert_eq!(s.get(0xabc).unwrap().offset, 300);
        let text = fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
        assert!(text.contains(r#""id":"0000000000000abc""#), "{text}");
    }

    #[test]
    fn damage_is_detected_and_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) = CheckpointStore::open(dir.path()).unwrap();
        s.set(1, &Arc::from(Path::new("/a.log")), 1, 2, 300);
        s.persist().unwrap();
        let path = dir.path().join(FILE_NAME);
        let text = fs::read_to_string(&path).unwrap();
        for damaged in [
            text.replace("300", "301"),
            text[..text.len() / 2].to_owned(),
            String::new(),
            "\u{0}\u{0}\u{0}".to_owned(),
        ] {
            fs::write(&path, damaged).unwrap();
            let (s, problem) = CheckpointStore::open(dir.path()).unwrap();
            assert!(s.is_empty());
            let msg = problem.unwrap().to_string();
            assert!(msg.contains("damaged"), "{msg}");
            assert!(!path.exists(), "moved aside");
        }
    }

    #[test]
    fn prune_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) = CheckpointStore::open(dir.path()).unwrap();
        s.set(1, &Arc::from(Path::new("/a")), 0, 0, 1);
        s.set(2, &Arc::from(Path::new("/b")), 0, 0, 1);
        s.remove(1);
        s.prune(3600);
        assert_eq!(s.len(), 1);
        s.entries.get_mut(&2).unwrap().last_seen = 0;
        s.prune(3600);
        assert!(s.is_empty());
    }
}
