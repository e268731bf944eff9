//! Small files in the state directory that must survive a crash at any moment (the file
//! checkpoints, the journald cursor): replaced atomically (write a temporary file, fsync it,
//! rename it over the old one, fsync the directory), and sealed with a checksum line, so that a
//! crash mid-write leaves the previous version and a damaged file is detected instead of
//! trusted.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::fingerprint::{fnv1a, FNV_OFFSET};

const CHECKSUM_PREFIX: &str = "# fnv1a64 ";

/// `body`, a newline and its checksum line.
pub fn seal(body: &str) -> String {
    format!(
        "{body}\n{CHECKSUM_PREFIX}{:016x}\n",
        fnv1a(FNV_OFFSET, body.as_bytes())
    )
}

/// [`seal`] for a body already in a buffer (the checkpoint store reuses its buffer).
pub fn seal_in_place(body: &mut Vec<u8>) {
    let sum = fnv1a(FNV_OFFSET, body);
    body.extend_from_slice(format!("\n{CHECKSUM_PREFIX}{sum:016x}\n").as_bytes());
}

/// The body of a sealed file, or why it cannot be trusted.
pub fn unseal(text: &[u8]) -> Result<&str, String> {
    let text = std::str::from_utf8(text).map_err(|_| "not UTF-8".to_owned())?;
    let text = text
        .strip_suffix('\n')
        .ok_or("truncated (no final newline)")?;
    let (body, sum) = text.rsplit_once('\n').ok_or("no checksum line")?;
    let sum = sum
        .strip_prefix(CHECKSUM_PREFIX)
        .ok_or("no checksum line")?;
    let want = u64::from_str_radix(sum, 16).map_err(|_| "unreadable checksum".to_owned())?;
    if fnv1a(FNV_OFFSET, body.as_bytes()) != want {
        return Err("checksum mismatch".into());
    }
    Ok(body)
}

/// Replaces `dir/name` with `text`, durably: after a crash the file holds either the old or
/// the new text, never a mix.
pub fn replace(dir: &Path, name: &str, text: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(text)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, dir.join(name))?;
    // The rename is durable only once the directory is.
    File::open(dir)?.sync_all()
}

/// Moves a damaged `dir/name` aside (kept for a post-mortem) and returns where it went.
pub fn set_aside(dir: &Path, name: &str) -> io::Result<PathBuf> {
    let moved_to = dir.join(format!("{name}.corrupt-{}", unix_now()));
    fs::rename(dir.join(name), &moved_to)?;
    Ok(moved_to)
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealing_in_place_is_sealing() {
        let mut buf = b"{\"version\":1}".to_vec();
        seal_in_place(&mut buf);
        assert_eq!(buf, seal("{\"version\":1}").into_bytes());
    }

    #[test]
    fn sealed_text_round_trips_and_damage_is_refused() {
        let text = seal("{\"a\":1}");
        assert_eq!(unseal(text.as_bytes()), Ok("{\"a\":1}"));
        assert_eq!(
            unseal(text.replacen("1}", "2}", 1).as_bytes()),
            Err("checksum mismatch".into())
        );
        assert!(unseal(&text.as_bytes()[..text.len() - 3]).is_err());
        assert!(unseal(b"").is_err());
    }

    #[test]
    fn replace_writes_the_whole_text() {
        let dir = tempfile::tempdir().unwrap();
        replace(dir.path(), "f", b"one").unwrap();
        replace(dir.path(), "f", b"two").unwrap();
        assert_eq!(fs::read(dir.path().join("f")).unwrap(), b"two");
        assert!(!dir.path().join("f.tmp").exists());
        let aside = set_aside(dir.path(), "f").unwrap();
        assert!(!dir.path().join("f").exists() && aside.exists());
    }
}
