//! Which files to tail: the configured globs, expanded on every refresh. Symlinks (kubelet's
//! `/var/log/containers/*.log`) are followed to the file they point at.

use std::path::PathBuf;

use crate::tailer::FileKey;

/// A file found by the globs, with the identity of what the path points at now.
#[derive(Debug, Clone)]
pub struct Found {
    pub path: PathBuf,
    pub key: FileKey,
    /// The size when looked at (for the lag gauge).
    pub size: u64,
}

/// Expands the globs. Paths that vanish while being looked at, directories and unreadable
/// entries are skipped: the next refresh sees the directory as it is then.
pub fn scan(globs: &[String]) -> Vec<Found> {
    let mut found = Vec::new();
    for pattern in globs {
        let paths = match glob::glob(pattern) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(pattern, error = %e, "invalid glob pattern");
                continue;
            }
        };
        for entry in paths.flatten() {
            // `metadata` follows symlinks: the key is the target's.
            match std::fs::metadata(&entry) {
                Ok(meta) if meta.is_file() => found.push(Found {
                    key: FileKey::of(&meta),
                    size: meta.len(),
                    path: entry,
                }),
                _ => {}
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
    found
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
        let found = scan(&[format!("{}/*.log", links.display())]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].path, links.join("a.log"));
        let meta = std::fs::metadata(real.join("0.log")).unwrap();
        assert_eq!(found[0].key, FileKey::of(&meta));
    }
}
