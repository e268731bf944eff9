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
    body.to_owned() + &checksum_line(fnv1a(FNV_OFFSET, body.as_bytes()))
}

/// What follows a body with checksum `sum`.
fn checksum_line(sum: u64) -> String {
    format!("\n{CHECKSUM_PREFIX}{sum:016x}\n")
}

/// Hashes what passes through it, for a checksum line written after a streamed body.
struct Summing<W> {
    inner: W,
    sum: u64,
}

impl<W: Write> Write for Summing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sum = fnv1a(self.sum, &buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
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
    replace_with(dir, name, |f| f.write_all(text))
}

/// [`replace`] with what `write_body` writes, sealed: the text is streamed to the file, never
/// held whole (the checkpoints of a node with thousands of files are most of a megabyte,
/// written ten times a second).
pub fn replace_sealed(
    dir: &Path,
    name: &str,
    write_body: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    replace_with(dir, name, |f| {
        let mut out = Summing {
            inner: io::BufWriter::new(f),
            sum: FNV_OFFSET,
        };
        write_body(&mut out)?;
        out.inner.write_all(checksum_line(out.sum).as_bytes())?;
        out.inner.flush()
    })
}

fn replace_with(
    dir: &Path,
    name: &str,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let tmp = dir.join(format!("{name}.tmp"));
    let written = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .and_then(|mut f| {
            write(&mut f)?;
            f.sync_all()
        });
    if let Err(e) = written {
        // The old file is untouched; a half-written copy beside it would only mislead whoever
        // looks at the state directory (the next write truncates it anyway).
        let _ = fs::remove_file(&tmp);
        return Err(e);
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
    fn a_streamed_body_is_sealed_as_a_whole_one() {
        let dir = tempfile::tempdir().unwrap();
        // In pieces, and more than the writer's buffer holds.
        let body = format!("{{\"files\":[{}]}}", "\"x\",".repeat(5000));
        replace_sealed(dir.path(), "f", |w| {
            for piece in body.as_bytes().chunks(7) {
                w.write_all(piece)?;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("f")).unwrap(),
            seal(&body)
        );
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
    fn a_write_that_fails_partway_leaves_the_old_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        replace_sealed(dir.path(), "f", |w| w.write_all(b"old body")).unwrap();
        let before = fs::read(dir.path().join("f")).unwrap();
        // Half a body (more than the writer's buffer, so some of it reached the file), then a
        // failure, as a full disk would give.
        let failed = replace_sealed(dir.path(), "f", |w| {
            w.write_all(&vec![b'x'; 64 * 1024])?;
            Err(io::Error::other("disk full"))
        });
        assert_eq!(failed.map_err(|e| e.to_string()), Err("disk full".into()));
        let after = fs::read(dir.path().join("f")).unwrap();
        assert_eq!(after, before);
        assert_eq!(unseal(&after), Ok("old body"));
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["f"], "no half-written copy left beside it");
        // And the next write goes through.
        replace_sealed(dir.path(), "f", |w| w.write_all(b"new body")).unwrap();
        assert_eq!(
            unseal(&fs::read(dir.path().join("f")).unwrap()),
            Ok("new body")
        );
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
