//! The journald checkpoint: the cursor of the last entry every output has settled, in
//! `journald-cursor.json` in the state directory. Written the crash-safe way of the file
//! checkpoints ([`crate::state_file`]): atomic replace, fsync, checksum; a damaged file is set
//! aside and reported, and reading starts as on a first start.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::state_file;

const FILE_NAME: &str = "journald-cursor.json";

#[derive(Serialize, Deserialize)]
struct Body {
    version: u32,
    cursor: String,
}

/// Why the saved cursor could not be used.
#[derive(Debug, thiserror::Error)]
#[error("journald cursor file {path} is damaged ({reason}); it was moved to {moved_to} and the journal is read as on a first start")]
pub struct Damaged {
    pub path: PathBuf,
    pub reason: String,
    pub moved_to: PathBuf,
}

pub struct CursorStore {
    dir: PathBuf,
    cursor: Option<String>,
    dirty: bool,
}

impl CursorStore {
    /// Opens the store in `dir` (which must exist and be writable: the file checkpoints check
    /// that first).
    pub fn open(dir: &Path) -> io::Result<(CursorStore, Option<Damaged>)> {
        let mut store = CursorStore {
            dir: dir.to_owned(),
            cursor: None,
            dirty: false,
        };
        let path = dir.join(FILE_NAME);
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((store, None)),
            Err(e) => return Err(e),
        };
        match parse(&text) {
            Ok(cursor) => {
                store.cursor = Some(cursor);
                Ok((store, None))
            }
            Err(reason) => {
                let moved_to = state_file::set_aside(dir, FILE_NAME)?;
                Ok((
                    store,
                    Some(Damaged {
                        path,
                        reason,
                        moved_to,
                    }),
                ))
            }
        }
    }

    /// The cursor of the last entry delivered, if any.
    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    pub fn set(&mut self, cursor: String) {
        if self.cursor.as_deref() != Some(cursor.as_str()) {
            self.cursor = Some(cursor);
            self.dirty = true;
        }
    }

    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Writes the cursor if it changed.
    pub fn persist(&mut self) -> io::Result<()> {
        let Some(cursor) = &self.cursor else {
            return Ok(());
        };
        if !self.dirty {
            return Ok(());
        }
        let body = serde_json::to_string(&Body {
            version: 1,
            cursor: cursor.clone(),
        })
        .map_err(|e| io::Error::other(e.to_string()))?;
        state_file::replace(&self.dir, FILE_NAME, state_file::seal(&body).as_bytes())?;
        self.dirty = false;
        Ok(())
    }
}

fn parse(text: &[u8]) -> Result<String, String> {
    let body: Body = serde_json::from_str(state_file::unseal(text)?).map_err(|e| e.to_string())?;
    if body.version != 1 {
        return Err(format!("unknown version {}", body.version));
    }
    if body.cursor.is_empty() {
        return Err("empty cursor".into());
    }
    Ok(body.cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CURSOR: &str = "s=eda0aede144f4daaa40bf52acedb9a84;i=3;b=0123456789abcdef0123456789abcdef;m=2dc6c0;t=661533d7c4c80;x=24e229c822326e63";

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, problem) = CursorStore::open(dir.path()).unwrap();
        assert!(problem.is_none() && s.cursor().is_none());
        s.persist().unwrap();
        assert!(!dir.path().join(FILE_NAME).exists(), "nothing to write yet");
        s.set(CURSOR.into());
        assert!(s.is_dirty());
        s.persist().unwrap();
        assert!(!s.is_dirty());
        let (s, problem) = CursorStore::open(dir.path()).unwrap();
        assert!(problem.is_none());
        assert_eq!(s.cursor(), Some(CURSOR));
    }

    #[test]
    fn damage_is_detected_and_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let (mut s, _) = CursorStore::open(dir.path()).unwrap();
        s.set(CURSOR.into());
        s.persist().unwrap();
        let path = dir.path().join(FILE_NAME);
        let text = fs::read_to_string(&path).unwrap();
        for damaged in [
            text.replace("i=3", "i=4"),
            text[..text.len() / 2].to_owned(),
            state_file::seal(r#"{"version":1,"cursor":""}"#),
            state_file::seal(r#"{"version":2,"cursor":"x"}"#),
        ] {
            fs::write(&path, damaged).unwrap();
            let (s, problem) = CursorStore::open(dir.path()).unwrap();
            assert!(s.cursor().is_none());
            let msg = problem.unwrap().to_string();
            assert!(msg.contains("damaged"), "{msg}");
            assert!(!path.exists(), "moved aside");
        }
    }
}
