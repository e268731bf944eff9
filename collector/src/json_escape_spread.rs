//! JSON escaping sixteen bytes at a time with SSSE3's byte shuffle, for a string's text from its
//! first escape on (a JSON line quotes every few bytes, and every CRI line that is JSON goes
//! through here). Each half block is spread over sixteen bytes by one shuffle from a table,
//! with a backslash before each quote or backslash, and stored whole: no work per escape. A
//! block with a control character, rare, goes byte by byte.

use std::arch::x86_64::{
    __m128i, _mm_loadu_si128, _mm_or_si128, _mm_shuffle_epi8, _mm_srli_si128, _mm_storeu_si128,
};

use crate::json_escape::{block_masks, escape_sequence};

/// For each mask of the bytes to escape among eight: the shuffle that spreads them with a gap
/// before each escaped one, the backslashes that fill the gaps, and the spread length.
struct SpreadTable {
    shuffle: [[u8; 16]; 256],
    backslashes: [[u8; 16]; 256],
    len: [u8; 256],
}

static SPREAD: SpreadTable = spread_table();

const fn spread_table() -> SpreadTable {
    // A shuffle index with the high bit set gives a zero byte, which the backslashes fill.
    let mut t = SpreadTable {
        shuffle: [[0x80; 16]; 256],
        backslashes: [[0; 16]; 256],
        len: [0; 256],
    };
    let mut mask = 0;
    while mask < 256 {
        let mut out = 0;
        let mut k = 0;
        while k < 8 {
            if mask & (1 << k) != 0 {
                t.backslashes[mask][out] = b'\\';
                out += 1;
            }
            t.shuffle[mask][out] = k as u8;
            out += 1;
            k += 1;
        }
        t.len[mask] = out as u8;
        mask += 1;
    }
    t
}

/// Bytes a block may write: six per byte escaped as `\u00XX`, or two stores of sixteen.
const BLOCK_ROOM: usize = 16 * 6;

/// Appends `bytes` to `out` JSON-escaped. `false`, with nothing appended, on a CPU without
/// SSSE3 (every x86_64 CPU since 2006 has it, but it is not in the baseline).
pub(crate) fn escape(bytes: &[u8], out: &mut Vec<u8>) -> bool {
    if !std::is_x86_feature_detected!("ssse3") {
        return false;
    }
    // SAFETY: SSSE3 is there, which is all `escape_ssse3` requires.
    unsafe { escape_ssse3(bytes, out) };
    true
}

#[target_feature(enable = "ssse3")]
unsafe fn escape_ssse3(bytes: &[u8], out: &mut Vec<u8>) {
    let mut blocks = bytes.chunks_exact(16);
    for src in &mut blocks {
        let mut block = [0; 16];
        block.copy_from_slice(src);
        escape_block(block, src, out);
    }
    let rest = blocks.remainder();
    if !rest.is_empty() {
        // Padded with spaces, which need no escape; only `rest.len()` bytes are kept.
        let mut padded = [b' '; 16];
        padded[..rest.len()].copy_from_slice(rest);
        escape_block(padded, rest, out);
    }
}

/// Appends the escaped form of `src`, the first `src.len()` (at most sixteen) bytes of `block`.
#[target_feature(enable = "ssse3")]
fn escape_block(block: [u8; 16], src: &[u8], out: &mut Vec<u8>) {
    let keep = (1u32 << src.len()) - 1;
    let masks = block_masks(block);
    out.reserve(BLOCK_ROOM);
    if masks.controls & keep != 0 {
        for &b in src {
            let (seq, n) = escape_sequence(b);
            out.extend_from_slice(&seq[..n]);
        }
        return;
    }
    // Without control characters, what is escaped is quotes and backslashes.
    let escapes = masks.escapes & keep;
    // SAFETY: the array is sixteen bytes.
    let v = unsafe { _mm_loadu_si128(block.as_ptr().cast()) };
    let len = out.len();
    let lo = (escapes & 0xff) as usize;
    let hi = (escapes >> 8) as usize;
    let lo_len = usize::from(SPREAD.len[lo]);
    let hi_len = usize::from(SPREAD.len[hi]);
    // SAFETY: `reserve` left room for BLOCK_ROOM bytes past `len`, and the stores write at
    // most 32 (the second starts at most 16 in). The bytes kept (`set_len`) are all written:
    // the bytes of `src` and a backslash for each escape among them; what the stores
    // wrote past that (the padding, spread) is not kept. They are UTF-8 as `src` is: bytes
    // copied in order, and ASCII backslashes before ASCII bytes.
    unsafe {
        let dst = out.as_mut_ptr().add(len);
        _mm_storeu_si128(dst.cast(), spread(v, lo));
        _mm_storeu_si128(dst.add(lo_len).cast(), spread(_mm_srli_si128::<8>(v), hi));
        out.set_len(len + src.len() + (lo_len - 8) + (hi_len - 8));
    }
}

/// The low eight bytes of `half` with a backslash before each byte `mask` marks.
#[target_feature(enable = "ssse3")]
fn spread(half: __m128i, mask: usize) -> __m128i {
    // SAFETY: each table row is sixteen bytes.
    let (shuffle, backslashes) = unsafe {
        (
            _mm_loadu_si128(SPREAD.shuffle[mask].as_ptr().cast()),
            _mm_loadu_si128(SPREAD.backslashes[mask].as_ptr().cast()),
        )
    };
    _mm_or_si128(_mm_shuffle_epi8(half, shuffle), backslashes)
}
