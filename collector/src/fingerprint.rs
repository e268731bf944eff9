//! File identity. A file is known by its first line (up to 4 KiB), which survives renames and
//! restarts and changes when a file is truncated and rewritten (copytruncate) or when an inode is
//! reused for a new file — the cases where inode-only identity loses or duplicates lines.

use std::fs::File;
use std::io;
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
    let mut buf = [0u8; FINGERPRINT_BYTES];
    let mut n = 0;
    while n < buf.len() {
        let r = file.read_at(&mut buf[n..], n as u64)?;
        if r == 0 {
            break;
        }
        n += r;
    }
    let head = &buf[..n];
    match memchr::memchr(b'\n', head) {
        Some(i) => Ok(Some(fnv1a(FNV_OFFSET, &head[..=i]))),
        None if n == FINGERPRINT_BYTES => Ok(Some(fnv1a(FNV_OFFSET, head))),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

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
    fn fnv_is_the_reference_function() {
        assert_eq!(fnv1a(FNV_OFFSET, b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(FNV_OFFSET, b"a"), 0xaf63dc4c8601ec8c);
    }
}
