//! Where a msgpack value ends. Forward-protocol messages follow each other on a connection with
//! no length prefix, so the reader must know when it has a whole one before decoding it. The
//! scanner walks headers only (never copies or decodes), and resumes where it stopped when more
//! bytes arrive, so a large message costs one pass however it is split.

/// The deepest nesting accepted (records are maps of maps, not much deeper).
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scan {
    /// A whole value is the first `n` bytes.
    Complete(usize),
    /// More bytes are needed.
    Incomplete,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

/// Resumable scan of one value at the start of a buffer.
#[derive(Debug, Default)]
pub struct Scanner {
    pos: usize,
    /// Items still expected in each open array or map.
    open: Vec<u64>,
    started: bool,
    /// Bytes the value needs at least, as far as the headers seen tell.
    need: u64,
}

impl Scanner {
    pub fn new() -> Scanner {
        Scanner::default()
    }

    /// Scans on from where the last call stopped; `buf` must begin with the same bytes.
    /// After `Complete` the scanner is ready for the next value (whose bytes start at `n`: the
    /// caller removes the first `n`).
    pub fn scan(&mut self, buf: &[u8]) -> Result<Scan, Malformed> {
        loop {
            if self.started && self.open.is_empty() {
                let n = self.pos;
                *self = Scanner::default();
                return Ok(Scan::Complete(n));
            }
            let Some(&marker) = buf.get(self.pos) else {
                return Ok(Scan::Incomplete);
            };
            let Some((header, payload, children)) = item(marker, &buf[self.pos..])? else {
                return Ok(Scan::Incomplete);
            };
            let end = self.pos as u64 + header as u64 + payload;
            if (buf.len() as u64) < end {
                self.need = self.need.max(end);
                return Ok(Scan::Incomplete);
            }
            self.pos = end as usize;
            self.started = true;
            if children > 0 {
                if self.open.len() >= MAX_DEPTH {
                    return Err(Malformed("msgpack nested too deeply"));
                }
                self.open.push(children);
                continue;
            }
            // A scalar or an empty container: it completes items of the open containers.
            while let Some(left) = self.open.last_mut() {
                *left -= 1;
                if *left > 0 {
                    break;
                }
                self.open.pop();
            }
        }
    }

    /// Bytes the value needs at least, as far as its headers tell so far.
    pub fn needed(&self) -> u64 {
        self.need.max(self.pos as u64)
    }
}

/// `(header bytes, payload bytes, child items)` of the item starting at `b[0]`; `None` when the
/// header itself is not all there yet.
fn item(marker: u8, b: &[u8]) -> Result<Option<(usize, u64, u64)>, Malformed> {
    let be = |n: usize| -> Option<u64> {
        let bytes = b.get(1..1 + n)?;
        Some(bytes.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    };
    let sized = |n: usize| be(n).map(|len| (1 + n, len, 0));
    let counted = |n: usize, per: u64| be(n).map(|len| (1 + n, 0, len * per));
    Ok(match marker {
        0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => Some((1, 0, 0)),
        0x80..=0x8f => Some((1, 0, u64::from(marker & 0x0f) * 2)),
        0x90..=0x9f => Some((1, 0, u64::from(marker & 0x0f))),
        0xa0..=0xbf => Some((1, u64::from(marker & 0x1f), 0)),
        0xc1 => return Err(Malformed("msgpack marker 0xc1 is never used")),
        0xc4 | 0xd9 => sized(1),
        0xc5 | 0xda => sized(2),
        0xc6 | 0xdb => sized(4),
        // ext 8/16/32: length, then the type byte, then the data.
        0xc7 => be(1).map(|len| (3, len, 0)),
        0xc8 => be(2).map(|len| (4, len, 0)),
        0xc9 => be(4).map(|len| (6, len, 0)),
        0xca => Some((1, 4, 0)),
        0xcb => Some((1, 8, 0)),
        0xcc | 0xd0 => Some((1, 1, 0)),
        0xcd | 0xd1 => Some((1, 2, 0)),
        0xce | 0xd2 => Some((1, 4, 0)),
        0xcf | 0xd3 => Some((1, 8, 0)),
        // fixext 1/2/4/8/16: the type byte, then the data.
        0xd4 => Some((2, 1, 0)),
        0xd5 => Some((2, 2, 0)),
        0xd6 => Some((2, 4, 0)),
        0xd7 => Some((2, 8, 0)),
        0xd8 => Some((2, 16, 0)),
        0xdc => counted(2, 1),
        0xdd => counted(4, 1),
        0xde => counted(2, 2),
        0xdf => counted(4, 2),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(bytes: &[u8]) -> Result<Scan, Malformed> {
        Scanner::new().scan(bytes)
    }

    #[test]
    fn finds_the_end_of_each_kind_of_value() {
        assert_eq!(whole(&[0xc0, 0xff]), Ok(Scan::Complete(1)));
        assert_eq!(whole(&[0x92, 0x01, 0x90, 0x05]), Ok(Scan::Complete(3)));
        assert_eq!(whole(&[0x81, 0xa1, b'k', 0x80]), Ok(Scan::Complete(4)));
        assert_eq!(
            whole(&[0xd7, 0, 1, 2, 3, 4, 5, 6, 7, 8]),
            Ok(Scan::Complete(10))
        );
        assert_eq!(whole(&[0xc4, 2, 9, 9]), Ok(Scan::Complete(4)));
        assert_eq!(whole(&[0xc7, 1, 5, 9]), Ok(Scan::Complete(4)));
        assert_eq!(whole(&[0xdc, 0, 2, 0xc3, 0xc2]), Ok(Scan::Complete(5)));
        assert_eq!(
            whole(&[0xc1]),
            Err(Malformed("msgpack marker 0xc1 is never used"))
        );
        assert!(whole(&[0x91; 100]).is_err(), "too deep");
    }

    #[test]
    fn resumes_across_any_split() {
        // The fixture frame `forward.msgpack`: three entries, size option.
        let frame: Vec<u8> = [
            &b"\x93\xa8tag.name\x93"[..],
            b"\x92\xce\x55\xec\xe6\xf8\x81\xa7message\xa3foo",
            b"\x92\xce\x55\xec\xe6\xf9\x81\xa7message\xa3bar",
            b"\x92\xce\x55\xec\xe6\xfa\x81\xa7message\xa3baz",
            b"\x81\xa4size\x03",
        ]
        .concat();
        assert_eq!(frame.len(), 75);
        for split in 0..frame.len() {
            let mut s = Scanner::new();
            assert_eq!(s.scan(&frame[..split]), Ok(Scan::Incomplete), "{split}");
            let mut more = frame.clone();
            more.push(0xc0);
            assert_eq!(s.scan(&more), Ok(Scan::Complete(75)), "{split}");
        }
    }
}
