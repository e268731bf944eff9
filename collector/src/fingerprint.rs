//! File identity. A file is known by its first line (up to 4 KiB), which survives renames and
//! restarts and changes when a file is truncated and rewritten (copytruncate) or when an inode is
//! reused for a new file — the cases where inode-only identity loses or duplicates lines.

use std::fs::File;
use std::io;
use std::num::NonZeroU32;
use std::os::unix::fs::FileExt;

pub const FINGERPRINT_BYTES: usize = 4096;

/// FNV-1a, 64 bit: tiny, and stable across Rust versions (unlike `DefaultHasher`), which matters
/// because the ids it makes are stored in checkpoints and in Elasticsearch `_id`s.
pub fn fnv1a(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = seed;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// The fingerprint of a file's first line, or `None` while the file has neither a complete first
/// line nor 4 KiB.
pub fn first_line_fingerprint(file: &File) -> io::Result<Option<u64>> {
    Ok(first_line(file)?.map(|h| h.fingerprint))
}

/// A file's first line (or first 4 KiB) as identity: its fingerprint and how many bytes it
/// covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub fingerprint: u64,
    /// At least 1 (a newline) and at most `FINGERPRINT_BYTES`: 32 non-zero bits keep a
    /// tailer's `Option<Head>` in 16 bytes.
    pub len: NonZeroU32,
}

/// The [`Head`] of a file, or `None` while it has neither a complete first line nor 4 KiB.
pub fn first_line(file: &File) -> io::Result<Option<Head>> {
    let mut buf = [0u8; FINGERPRINT_BYTES];
    let n = read_head(file, &mut buf)?;
    let head = &buf[..n];
    let len = match memchr::memchr(b'\n', head) {
        Some(i) => i + 1,
        None if n == FINGERPRINT_BYTES => n,
        None => return Ok(None),
    };
    let Some(len) = u32::try_from(len).ok().and_then(NonZeroU32::new) else {
        return Ok(None); // not reached: 1 to FINGERPRINT_BYTES
    };
    Ok(Some(Head {
        fingerprint: fnv1a(FNV_OFFSET, &head[..len.get() as usize]),
        len,
    }))
}

/// Whether the file still starts with `head`: the same answer as comparing [`first_line`]
/// with it, from only the bytes it covers (a first line is a few hundred bytes, the look-ahead
/// 4 KiB, and this runs before every read of a tailed file).
pub fn starts_with(file: &File, head: Head) -> io::Result<bool> {
    let mut buf = [0u8; FINGERPRINT_BYTES];
    let want = (head.len.get() as usize).min(FINGERPRINT_BYTES);
    let n = read_head(file, &mut buf[..want])?;
    Ok(n == head.len.get() as usize && fnv1a(FNV_OFFSET, &buf[..n]) == head.fingerprint)
}

/// Whether the file still starts with `bytes` (what was read of a first line not complete yet),
/// compared up to 4 KiB: past that the first line is identified by its [`Head`].
pub fn starts_with_bytes(file: &File, bytes: &[u8]) -> io::Result<bool> {
    let mut buf = [0u8; FINGERPRINT_BYTES];
    let want = bytes.len().min(FINGERPRINT_BYTES);
    let n = read_head(file, &mut buf[..want])?;
    Ok(buf[..n] == bytes[..want])
}

/// Reads from offset 0 until `buf` is full or the file ends.
fn read_head(file: &File, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let r = file.read_at(&mut buf[n..], n as u64)?;
        if r == 0 {
            break;
        }
        n += r;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::fs::FileExt;

    #[test]
    fn fingerprint_needs_a_complete_first_line() {
        let mut f = tempfile::tempfile().unwrap();
        assert_eq!(first_line_fingerprint(&f).unwrap(), None);
        f.write_all(b"first").unwrap();
        assert_eq!(first_line_fingerprint(&f).unwrap(), None);
        f.write_all(b" line\nsecond").unwrap();
        let a = first_line_fingerprint(&f).unwrap().unwrap();
        f.write_all(b" more\n").unwrap();
        assert_eq!(first_line_fingerprint(&f).unwrap(), Some(a));
        assert_eq!(a, fnv1a(FNV_OFFSET, b"first line\n"));
    }

    #[test]
    fn a_head_is_checked_from_its_own_bytes() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(b"first line\nsecond\n").unwrap();
        let head = first_line(&f).unwrap().unwrap();
        assert_eq!(head.len.get(), 11);
        assert!(starts_with(&f, head).unwrap());
        // Rewritten (copytruncate and refill): another first line, longer, shorter, or none.
        for other in [
            &b"first linf\n"[..],
            b"first line!\n",
            b"first\n",
            b"first li",
        ] {
            f.set_len(0).unwrap();
            f.write_all_at(other, 0).unwrap();
            assert!(
                !starts_with(&f, head).unwrap(),
                "{}",
                String::from_utf8_lossy(other)
            );
            assert_ne!(first_line_fingerprint(&f).unwrap(), Some(head.fingerprint));
        }
        let long = tempfile::tempfile().unwrap();
        long.write_all_at(&[b'x'; FINGERPRINT_BYTES + 10], 0)
            .unwrap();
        let head = first_line(&long).unwrap().unwrap();
        assert_eq!(head.len.get() as usize, FINGERPRINT_BYTES);
        assert!(starts_with(&long, head).unwrap());
    }

    #[test]
    fn fnv_is_the_reference_function() {
        assert_eq!(fnv1a(FNV_OFFSET, b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xaf63dc4c8601ec8c);
    }
}
