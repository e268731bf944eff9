//! JSON string escaping, for every CRI message (and the strings documents carry), and the scan
//! for the bytes that need it, which Docker's `log` strings go through too: hand-written and
//! sixteen bytes at a time, because they run once per line on the hot path.

/// The position of the first byte JSON strings must escape, if any.
pub(crate) fn first_escaped(bytes: &[u8]) -> Option<usize> {
    let Some(last) = bytes.len().checked_sub(BLOCK) else {
        // Shorter than a block (a stream's name): byte by byte.
        return bytes.iter().position(|&b| ESCAPED[usize::from(b)]);
    };
    let mut i = 0;
    while i < last {
        if let Some(block) = block_at(bytes, i) {
            let at = first_escaped_in(block);
            if at < BLOCK {
                return Some(i + at);
            }
        }
        i += BLOCK;
    }
    // The last sixteen bytes, overlapping the block before (whose bytes had nothing to escape):
    // neither a tail byte by byte nor a padded copy. (Padding it, as `masks_at` does, made a
    // 120-byte message 20 % slower: `json_escape/plain` 26 → 32 ns.)
    let at = first_escaped_in(block_at(bytes, last)?);
    (at < BLOCK).then_some(last + at)
}

/// The bytes JSON strings must escape: quote, backslash, control characters (also the bytes
/// that end a run of plain content when a JSON string is read).
pub(crate) static ESCAPED: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = true;
        c += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// Appends `text` to `out` with JSON string escaping (quotes, backslashes, control characters).
pub fn escape_into(text: &str, out: &mut String) {
    // SAFETY: `escape_into_bytes` appends valid UTF-8 for valid UTF-8: the bytes of `text` in
    // order, cut only at ASCII bytes, with ASCII escape sequences between them.
    escape_into_bytes(text, unsafe { out.as_mut_vec() });
}

/// Appends `text` to `out` with JSON string escaping: how outputs write the text of CRI lines
/// straight into a request body.
///
/// This runs over every CRI message. Most messages have nothing to escape, which a scan of
/// sixteen bytes at a time finds, and are copied as they are. From the first escape on, the
/// text is spread sixteen bytes at a time with SSSE3 ([`crate::json_escape_spread`]: a JSON
/// line, which escapes every quote, 82 → 58 ns), or else taken eight bytes at a time
/// ([`escape_by_words`]).
#[inline]
pub fn escape_into_bytes(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    match first_escaped(bytes) {
        None => out.extend_from_slice(bytes),
        Some(i) => escape_from(bytes, i, out),
    }
}

/// [`escape_into_bytes`] from the first escape, at `i`: out of line, as most text has none.
fn escape_from(bytes: &[u8], i: usize, out: &mut Vec<u8>) {
    #[cfg(target_arch = "x86_64")]
    if escape_by_spreading(bytes, i, out) {
        return;
    }
    escape_by_words(bytes, i, out);
}

/// [`escape_into_bytes`] from the first escape at `i` on, sixteen bytes at a time
/// ([`crate::json_escape_spread`]); `false`, with nothing appended, without SSSE3.
#[cfg(target_arch = "x86_64")]
fn escape_by_spreading(bytes: &[u8], i: usize, out: &mut Vec<u8>) -> bool {
    let (plain, rest) = bytes.split_at(i);
    let len = out.len();
    out.extend_from_slice(plain);
    if crate::json_escape_spread::escape(rest, out) {
        return true;
    }
    out.truncate(len);
    false
}

/// [`escape_into_bytes`] from the first escape at `i` on, eight bytes at a time (SWAR), where
/// SSSE3 is not: words without anything to escape are copied later in one run, and from the
/// first ASCII word with escapes on, ASCII words are escaped into a buffer on the stack,
/// appended once it is full or the text ends (a copy call per escape, or pushing byte by byte,
/// cost twice as much). A word with non-ASCII bytes is cut only at its escapes, which are
/// ASCII, so every cut is on a character boundary.
fn escape_by_words(bytes: &[u8], mut i: usize, out: &mut Vec<u8>) {
    // Room for a few escapes: a JSON line escapes each of its quotes, about one byte in six.
    out.reserve(bytes.len() + bytes.len() / 4 + 8);
    let mut staged = Staged::new();
    // `bytes[start..i]` is plain and not yet in `out`; while words are staged it is empty.
    let mut start = 0;
    while let Some(word) = word_at(bytes, i) {
        let flags = escaped_flags(word);
        if flags == 0 && staged.is_empty() {
            i += 8;
        } else if word & HIGH == 0 {
            if start < i {
                out.extend_from_slice(&bytes[start..i]);
            }
            staged.push_ascii_word(word, out);
            i += 8;
            start = i;
        } else {
            staged.flush(out);
            if flags == 0 {
                i += 8;
                continue;
            }
            let at = i + (flags.trailing_zeros() / 8) as usize;
            out.extend_from_slice(&bytes[start..at]);
            push_escape(bytes[at], out);
            i = at + 1;
            start = i;
        }
    }
    staged.flush(out);
    for (at, &b) in bytes.iter().enumerate().skip(i) {
        if ESCAPED[usize::from(b)] {
            out.extend_from_slice(&bytes[start..at]);
            push_escape(b, out);
            start = at + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

/// The eight bytes at `i` as a little-endian word, if there are eight.
#[inline]
fn word_at(bytes: &[u8], i: usize) -> Option<u64> {
    let mut word = [0u8; 8];
    word.copy_from_slice(bytes.get(i..i + 8)?);
    Some(u64::from_le_bytes(word))
}

/// Escaped ASCII words waiting to be appended (one append, and one ASCII check, per line or
/// so).
struct Staged {
    buf: [u8; STAGED_BYTES],
    len: usize,
}

const STAGED_BYTES: usize = 256;

impl Staged {
    fn new() -> Staged {
        Staged {
            buf: [0; STAGED_BYTES],
            len: 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stages eight ASCII bytes (`word`, little-endian), escaped: at most 48 bytes, six per
    /// control character. Once a line has escapes, the plain words between them are staged too
    /// rather than appended on their own.
    ///
    /// Quotes and backslashes, the escapes of JSON lines, are done a run at a time: the rest of
    /// the word is stored whole (one 8-byte store; what lies past the run is overwritten next)
    /// and a backslash goes after the run.
    #[inline]
    fn push_ascii_word(&mut self, word: u64, out: &mut Vec<u8>) {
        if self.len > STAGED_BYTES - 48 {
            self.flush(out);
        }
        let mut n = self.len;
        if ascii_controls(word) != 0 {
            for b in word.to_le_bytes() {
                n += self.push_ascii_byte(n, b);
            }
            self.len = n;
            return;
        }
        let mut quotes = ascii_bytes_equal(word, b'"') | ascii_bytes_equal(word, b'\\');
        let mut from = 0;
        while quotes != 0 {
            let at = (quotes.trailing_zeros() / 8) as usize;
            self.buf[n..n + 8].copy_from_slice(&(word >> (8 * from)).to_le_bytes());
            n += at - from;
            self.buf[n] = b'\\';
            n += 1;
            from = at;
            quotes &= quotes - 1;
        }
        self.buf[n..n + 8].copy_from_slice(&(word >> (8 * from)).to_le_bytes());
        self.len = n + 8 - from;
    }

    /// Stages one ASCII byte at `n`, escaped; returns the bytes written.
    fn push_ascii_byte(&mut self, n: usize, b: u8) -> usize {
        let (seq, len) = escape_sequence(b);
        self.buf[n..n + len].copy_from_slice(&seq[..len]);
        len
    }

    fn flush(&mut self, out: &mut Vec<u8>) {
        // Only ASCII is ever staged: words without a high bit (`push_ascii_word` is called for
        // no other) and the ASCII escapes of their bytes.
        out.extend_from_slice(self.buf.get(..self.len).unwrap_or_default());
        self.len = 0;
    }
}

/// For each byte: 0 when it stands for itself, 1 when it is written `\u00XX`, else the letter
/// after the backslash of its short escape.
static SHORT_ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = 1;
        c += 1;
    }
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\t' as usize] = b't';
    t[0x08] = b'b';
    t[0x0c] = b'f';
    t
};

/// `b` as a JSON string writes it: itself, a backslash and a letter, or `\u00XX`; the bytes and
/// how many of them are used.
pub(crate) fn escape_sequence(b: u8) -> ([u8; 6], usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match SHORT_ESCAPE[usize::from(b)] {
        0 => ([b, 0, 0, 0, 0, 0], 1),
        1 => (
            [
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ],
            6,
        ),
        c => ([b'\\', c, 0, 0, 0, 0], 2),
    }
}

/// Appends the escape sequence of a byte that [`ESCAPED`] marks.
fn push_escape(b: u8, out: &mut Vec<u8>) {
    let (seq, len) = escape_sequence(b);
    out.extend_from_slice(&seq[..len]);
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of the ASCII word `w` that is `b`; exact for every byte (ASCII
/// bytes cannot carry into each other).
fn ascii_bytes_equal(w: u64, b: u8) -> u64 {
    let v = w ^ (ONES * u64::from(b));
    !(v + ONES * 0x7f) & HIGH
}

/// The high bit of each byte of the ASCII word `w` that is a control character; exact.
fn ascii_controls(w: u64) -> u64 {
    !(w + ONES * 0x60) & HIGH
}

/// The high bit of each byte of `w` (little-endian) that is a quote, a backslash or a control
/// character. Exact for the lowest flagged byte, which is all [`escape_into`] relies on: a false
/// flag can only come from a borrow out of a truly flagged byte below it.
fn escaped_flags(w: u64) -> u64 {
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let control = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    control | zero_byte(w ^ (ONES * u64::from(b'"'))) | zero_byte(w ^ (ONES * u64::from(b'\\')))
}

const BLOCK: usize = 16;

/// How many bytes [`masks_at`] looks at.
pub(crate) const ESCAPE_BLOCK: usize = BLOCK;

/// What one scan of a block finds: one bit per byte (bit `k` for byte `k`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockMasks {
    /// The bytes to escape.
    pub escapes: u32,
    /// Those of them that are control characters (the rest are quotes and backslashes).
    pub controls: u32,
    /// The bytes that are not ASCII: when there are none, the text is UTF-8 without a check.
    pub non_ascii: u32,
}

/// The masks of the sixteen bytes at `i` (bit `k` for `bytes[i + k]`), or of those left when
/// there are fewer.
#[inline]
pub(crate) fn masks_at(bytes: &[u8], i: usize) -> BlockMasks {
    match block_at(bytes, i) {
        Some(block) => block_masks(block),
        None => {
            let rest = bytes.get(i..).unwrap_or_default();
            let mut block = [b' '; BLOCK];
            block[..rest.len()].copy_from_slice(rest);
            block_masks(block)
        }
    }
}

/// The sixteen bytes at `i`, if there are sixteen.
#[inline]
fn block_at(bytes: &[u8], i: usize) -> Option<[u8; BLOCK]> {
    bytes.get(i..i + BLOCK)?.try_into().ok()
}

/// The position of the first byte of `block` that is escaped, or `BLOCK` when none is.
#[inline]
fn first_escaped_in(block: [u8; BLOCK]) -> usize {
    (escape_mask(block) | (1 << BLOCK)).trailing_zeros() as usize
}

/// One bit per byte of `block` that is escaped (bit `i` for byte `i`).
#[inline(always)]
fn escape_mask(block: [u8; BLOCK]) -> u32 {
    block_masks(block).escapes
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn block_masks(block: [u8; BLOCK]) -> BlockMasks {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    // SAFETY: `__m128i` is 16 plain bytes, like the array; SSE2, all these intrinsics need, is
    // part of every x86_64 CPU and enabled in every x86_64 build.
    let (escapes, controls, non_ascii) = unsafe {
        let v: __m128i = std::mem::transmute(block);
        let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
        let backslash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
        // Unsigned max(b, 0x1f) is 0x1f exactly for the control characters.
        let limit = _mm_set1_epi8(0x1f);
        let control = _mm_cmpeq_epi8(_mm_max_epu8(v, limit), limit);
        (
            _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)),
            _mm_movemask_epi8(control),
            // The high bit of each byte is what marks it as not ASCII.
            _mm_movemask_epi8(v),
        )
    };
    BlockMasks {
        escapes: escapes as u32,
        controls: controls as u32,
        non_ascii: non_ascii as u32,
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub(crate) fn block_masks(block: [u8; BLOCK]) -> BlockMasks {
    block_masks_by_words(block)
}

/// [`block_masks`] a word at a time, where SSE2 is not there (and in the tests, which compare
/// the two). Each byte is tested on its own seven low bits, so no carry crosses into the next.
#[cfg(any(not(target_arch = "x86_64"), test))]
fn block_masks_by_words(block: [u8; BLOCK]) -> BlockMasks {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // The high bit of each byte of `w` that is zero.
    let zero = |w: u64| !(((w & LOW7) + LOW7) | w | LOW7);
    // One bit per byte, from the high bit of each.
    let gather =
        |high_bits: u64| ((high_bits >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32;
    let mut masks = BlockMasks {
        escapes: 0,
        controls: 0,
        non_ascii: 0,
    };
    for (half, word) in block.chunks_exact(8).enumerate() {
        let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
        let quotes = zero(w ^ (ONES * u64::from(b'"'))) | zero(w ^ (ONES * u64::from(b'\\')));
        // Below 0x20: the high bit clear, and the low seven bits plus 0x60 still below 0x80.
        let controls = !(((w & LOW7) + ONES * 0x60) | w | LOW7);
        masks.escapes |= gather(quotes | controls) << (8 * half);
        masks.controls |= gather(controls) << (8 * half);
        masks.non_ascii |= gather(w & HIGH) << (8 * half);
    }
    masks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json_text::JsonText;

    #[test]
    fn escape_finds_every_escaped_byte_at_every_position() {
        // Each special byte at each position of words and tails, next to bytes that are close
        // to them (0x1f/0x20, 0x21/0x23, 0x5b/0x5d, 0x7f, 0x80..0xff through UTF-8).
        let specials = ['"', '\\', '\n', '\u{0}', '\u{1f}', '\u{8}'];
        let neighbours = " !#[]~\u{7f}é€🌍ab";
        for len in 0..40 {
            for pos in 0..len {
                for &sp in &specials {
                    for fill in neighbours.chars() {
                        let text: String =
                            (0..len).map(|i| if i == pos { sp } else { fill }).collect();
                        let j = JsonText::escape(&text);
                        let want = serde_json::to_string(&text).unwrap();
                        assert_eq!(format!("\"{}\"", j.as_escaped()), want, "{text:?}");
                    }
                }
            }
        }
        for text in [
            "",
            "plain",
            "ends with quote\"",
            "\"\"\"\\\\",
            "0123456789abcdef\u{1}",
        ] {
            let want = serde_json::to_string(text).unwrap();
            assert_eq!(format!("\"{}\"", JsonText::escape(text).as_escaped()), want);
        }
    }

    #[test]
    fn escape_matches_serde_on_mixed_text() {
        let alphabet: Vec<char> = "ab \"\\\n\t\r\u{0}\u{1f}\u{7f}é{}:,".chars().collect();
        let mut seed: u64 = 7;
        for _ in 0..5000 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let len = (seed >> 59) as usize * 2;
            let text: String = (0..len)
                .map(|k| {
                    let r = seed.rotate_left(7 * k as u32) >> 32;
                    alphabet[r as usize % alphabet.len()]
                })
                .collect();
            let want = serde_json::to_string(&text).unwrap();
            assert_eq!(
                format!("\"{}\"", JsonText::escape(&text).as_escaped()),
                want
            );
        }
    }

    /// Both ways of escaping past the first escape, on text of every length up to a few
    /// blocks, mixing what a JSON line has (quotes, backslashes) with control characters and
    /// characters of two to four bytes, at every phase against the blocks: each gives what
    /// serde gives.
    #[test]
    fn escaping_by_words_and_by_spreading_agree_with_serde() {
        let pieces = [
            "\"", "\\", "a", "\n", "\u{1}", "é", "🌍", "{\"k\":", "x\\\"y",
        ];
        let mut state = 11u64;
        let mut spread = 0;
        for len in 0..80 {
            for _ in 0..20 {
                let mut text = String::new();
                while text.len() < len {
                    state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                    text.push_str(pieces[(state >> 33) as usize % pieces.len()]);
                }
                let want = serde_json::to_string(&text).unwrap();
                let want = &want[1..want.len() - 1];
                let Some(i) = first_escaped(text.as_bytes()) else {
                    continue;
                };
                let mut by_words = b"[".to_vec();
                escape_by_words(text.as_bytes(), i, &mut by_words);
                assert_eq!(by_words[1..], *want.as_bytes(), "{text:?}");
                #[cfg(target_arch = "x86_64")]
                {
                    // After other text, as in a request body.
                    let mut by_spreading = b"[".to_vec();
                    if escape_by_spreading(text.as_bytes(), i, &mut by_spreading) {
                        spread += 1;
                        assert_eq!(by_spreading[1..], *want.as_bytes(), "{text:?}");
                    }
                }
            }
        }
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("ssse3") {
            assert!(spread > 1000, "{spread}");
        }
    }

    #[test]
    fn both_block_scans_find_every_escaped_and_non_ascii_byte() {
        // Every byte value at every position, over a background of every other byte value:
        // the SSE2 scan, the scan by words and the table agree.
        for background in 0u8..=255 {
            for pos in 0..BLOCK {
                for b in [
                    0u8,
                    0x1f,
                    0x20,
                    b'"',
                    b'\\',
                    0x7f,
                    0x80,
                    0xff,
                    background ^ 1,
                ] {
                    let mut block = [background; BLOCK];
                    block[pos] = b;
                    let want: u32 = (0..BLOCK)
                        .filter(|&i| ESCAPED[usize::from(block[i])])
                        .map(|i| 1 << i)
                        .sum();
                    let non_ascii: u32 = (0..BLOCK)
                        .filter(|&i| !block[i].is_ascii())
                        .map(|i| 1 << i)
                        .sum();
                    let controls: u32 = (0..BLOCK)
                        .filter(|&i| block[i] < 0x20)
                        .map(|i| 1 << i)
                        .sum();
                    let want = BlockMasks {
                        escapes: want,
                        controls,
                        non_ascii,
                    };
                    assert_eq!(block_masks(block), want, "{block:?}");
                    assert_eq!(block_masks_by_words(block), want, "{block:?}");
                    let want = want.escapes;
                    assert_eq!(
                        first_escaped_in(block),
                        (want | 1 << BLOCK).trailing_zeros() as usize
                    );
                }
            }
        }
    }

    #[test]
    fn escaped_text_is_held_in_an_allocation_of_its_size() {
        // Records hold this text in the memory budget.
        let plain = "2026-11-22 01:02:03 INFO  [auth.jwt-12] PUT /healthz/60331 status=200";
        assert_eq!(JsonText::escape(plain).capacity(), plain.len());
        let json = r#"{"level":"info","ts":"2026-11-22T01:02:03.377597382Z","msg":"ok flush token","request_id":"ccce5a47591200a8","status":200}"#;
        let escaped = JsonText::escape(json);
        assert_eq!(escaped.len(), json.len() + json.matches('"').count());
        assert_eq!(escaped.capacity(), escaped.len());
    }

    #[test]
    fn the_first_escape_is_found_anywhere() {
        assert_eq!(first_escaped(b""), None);
        assert_eq!(
            first_escaped("2026-11-22T01:02:03.123456789Z é 🌍".as_bytes()),
            None
        );
        for len in 1..40 {
            for pos in 0..len {
                let text: String = (0..len).map(|k| if k == pos { '"' } else { 'a' }).collect();
                assert_eq!(first_escaped(text.as_bytes()), Some(pos), "{text}");
            }
        }
    }
}
