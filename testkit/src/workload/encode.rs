//! Writing messages the way container runtimes put them on disk.
//!
//! Docker json-file: one JSON object per line, the message in `log` with its trailing `\n`,
//! escaped as Go's encoding/json does (HTML-safe: `<`, `>`, `&` as `\u003c`...). Messages longer
//! than the runtime's buffer (16 KiB) are cut into pieces; only the last piece carries the `\n`.
//! CRI (containerd/CRI-O): `<time> <stream> <P|F> <message>`, partial pieces tagged `P`.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Docker,
    Cri,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Docker => "docker",
            Format::Cri => "cri",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Appends `s` escaped as Go's encoding/json escapes string contents (without the quotes).
pub fn push_go_json_escaped(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let esc: Option<&[u8]> = match b {
            b'"' => Some(b"\\\""),
            b'\\' => Some(b"\\\\"),
            b'\n' => Some(b"\\n"),
            b'\r' => Some(b"\\r"),
            b'\t' => Some(b"\\t"),
            0x08 => Some(b"\\b"),
            0x0c => Some(b"\\f"),
            b'<' => Some(b"\\u003c"),
            b'>' => Some(b"\\u003e"),
            b'&' => Some(b"\\u0026"),
            _ => None,
        };
        if let Some(e) = esc {
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(e);
            i += 1;
            start = i;
        } else if b < 0x20 {
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
            i += 1;
            start = i;
        } else if b == 0xE2
            && i + 2 < bytes.len()
            && bytes[i + 1] == 0x80
            && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9)
        {
            // U+2028 / U+2029: Go escapes them so the output is valid JavaScript too.
            out.extend_from_slice(&bytes[start..i]);
            out.extend_from_slice(if bytes[i + 2] == 0xA8 {
                b"\\u2028"
            } else {
                b"\\u2029"
            });
            i += 3;
            start = i;
        } else {
            i += 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Splits `msg` into pieces of at most `split_at` bytes, cutting only at char boundaries (a
/// runtime cuts at the byte, but then the pieces would not be valid UTF-8 strings here; the
/// generated messages are almost all ASCII so the sizes match). `split_at == 0` never splits.
pub fn split_message(msg: &str, split_at: usize) -> Vec<&str> {
    if split_at == 0 || msg.len() <= split_at {
        return vec![msg];
    }
    let mut pieces = Vec::with_capacity(msg.len() / split_at + 1);
    let mut rest = msg;
    while rest.len() > split_at {
        let mut cut = split_at;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        // A split_at smaller than one character still makes progress.
        if cut == 0 {
            cut = rest.char_indices().nth(1).map_or(rest.len(), |(i, _)| i);
        }
        let (a, b) = rest.split_at(cut);
        pieces.push(a);
        rest = b;
    }
    pieces.push(rest);
    pieces
}

/// Appends one logical message as the runtime writes it; returns the physical lines written.
pub fn push_record(
    out: &mut Vec<u8>,
    format: Format,
    ts: &str,
    stream: &str,
    msg: &str,
    split_at: usize,
) -> u64 {
    let pieces = split_message(msg, split_at);
    let last = pieces.len() - 1;
    for (k, piece) in pieces.iter().enumerate() {
        match format {
            Format::Docker => {
                out.extend_from_slice(b"{\"log\":\"");
                push_go_json_escaped(out, piece);
                if k == last {
                    out.extend_from_slice(b"\\n");
                }
                out.extend_from_slice(b"\",\"stream\":\"");
                out.extend_from_slice(stream.as_bytes());
                out.extend_from_slice(b"\",\"time\":\"");
                out.extend_from_slice(ts.as_bytes());
                out.extend_from_slice(b"\"}\n");
            }
            Format::Cri => {
                out.extend_from_slice(ts.as_bytes());
                out.push(b' ');
                out.extend_from_slice(stream.as_bytes());
                out.extend_from_slice(if k == last { b" F " } else { b" P " });
                out.extend_from_slice(piece.as_bytes());
                out.push(b'\n');
            }
        }
    }
    pieces.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &str) -> String {
        let mut v = Vec::new();
        push_go_json_escaped(&mut v, s);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn go_escaping() {
        assert_eq!(esc("a<b>&c"), "a\\u003cb\\u003e\\u0026c");
        assert_eq!(esc("q\"\\\t\n\r\u{1}"), "q\\\"\\\\\\t\\n\\r\\u0001");
        assert_eq!(esc("x\u{2028}y\u{2029}\u{e9}"), "x\\u2028y\\u2029\u{e9}");
        // The escaped text decodes back to the original.
        let s = "mixed <html> & \"quotes\"\t\u{2603}\u{2028}";
        let back: String = serde_json::from_str(&format!("\"{}\"", esc(s))).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn splitting() {
        assert_eq!(split_message("abcdef", 0), vec!["abcdef"]);
        assert_eq!(split_message("abcdef", 6), vec!["abcdef"]);
        assert_eq!(split_message("abcdefg", 3), vec!["abc", "def", "g"]);
        // Never cut inside a character.
        assert_eq!(split_message("a\u{e9}b", 2), vec!["a", "\u{e9}", "b"]);
    }

    #[test]
    fn docker_and_cri_pieces() {
        let mut out = Vec::new();
        let n = push_record(&mut out, Format::Docker, "T", "stdout", "abcde", 2);
        assert_eq!(n, 3);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], r#"{"log":"ab","stream":"stdout","time":"T"}"#);
        assert_eq!(lines[2], r#"{"log":"e\n","stream":"stdout","time":"T"}"#);
        let mut out = Vec::new();
        push_record(&mut out, Format::Cri, "T", "stderr", "abcde", 2);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "T stderr P ab\nT stderr P cd\nT stderr F e\n"
        );
    }
}
