//! Reading container log files back: the inverse of `encode`, used by the tests (counts on disk
//! must equal the manifest) and by the bench's stand-in agent.

use super::encode::Format;
use anyhow::{bail, Context};
use serde::Deserialize;
use std::borrow::Cow;
use std::path::Path;

/// One physical line, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    pub time: Cow<'a, str>,
    pub stream: Cow<'a, str>,
    /// The message piece, without Docker's trailing `\n`.
    pub msg: Cow<'a, str>,
    /// More pieces of the same message follow (Docker: no trailing `\n`; CRI: tag `P`).
    pub partial: bool,
}

#[derive(Deserialize)]
struct DockerLine<'a> {
    #[serde(borrow)]
    log: Cow<'a, str>,
    #[serde(borrow)]
    stream: Cow<'a, str>,
    #[serde(borrow)]
    time: Cow<'a, str>,
}

/// Docker lines start with `{`; CRI lines with a digit of the time.
pub fn detect_format(line: &[u8]) -> Format {
    if line.first() == Some(&b'{') {
        Format::Docker
    } else {
        Format::Cri
    }
}

/// Decodes one physical line (without its terminating `\n`).
pub fn decode_line(format: Format, line: &[u8]) -> anyhow::Result<Entry<'_>> {
    match format {
        Format::Docker => {
            let d: DockerLine<'_> = serde_json::from_slice(line).context("bad docker json line")?;
            let (msg, partial) = match d.log {
                Cow::Borrowed(s) => match s.strip_suffix('\n') {
                    Some(m) => (Cow::Borrowed(m), false),
                    None => (Cow::Borrowed(s), true),
                },
                Cow::Owned(mut s) => {
                    let partial = !s.ends_with('\n');
                    if !partial {
                        s.pop();
                    }
                    (Cow::Owned(s), partial)
                }
            };
            Ok(Entry {
                time: d.time,
                stream: d.stream,
                msg,
                partial,
            })
        }
        Format::Cri => {
            let text = std::str::from_utf8(line).context("cri line is not UTF-8")?;
            let mut it = text.splitn(4, ' ');
            let (Some(time), Some(stream), Some(tag)) = (it.next(), it.next(), it.next()) else {
                bail!("short cri line");
            };
            let partial = match tag {
                "P" => true,
                "F" => false,
                _ => bail!("bad cri tag {tag:?}"),
            };
            Ok(Entry {
                time: Cow::Borrowed(time),
                stream: Cow::Borrowed(stream),
                msg: Cow::Borrowed(it.next().unwrap_or("")),
                partial,
            })
        }
    }
}

/// A whole message after joining its pieces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub time: String,
    pub stream: String,
    pub msg: String,
}

/// What one file holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileCounts {
    /// Physical lines.
    pub lines: u64,
    /// Messages after joining split pieces.
    pub records: u64,
    /// Records whose message is a whole JSON object.
    pub json_records: u64,
    pub bytes: u64,
}

pub fn is_json_object(msg: &str) -> bool {
    msg.starts_with('{') && serde_json::from_str::<serde::de::IgnoredAny>(msg).is_ok()
}

/// Decodes every line of `data`, joins split messages per stream (runtimes interleave pieces
/// of stdout and stderr), and calls `each` per whole record. A trailing partial message
/// without its final piece is not a record yet (the writer may still be appending).
pub fn for_each_record(
    data: &[u8],
    format: Option<Format>,
    mut each: impl FnMut(Record),
) -> anyhow::Result<FileCounts> {
    let mut counts = FileCounts {
        bytes: data.len() as u64,
        ..FileCounts::default()
    };
    let mut pending: Vec<(String, String)> = Vec::new(); // (stream, joined pieces)
    for (n, line) in data.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        counts.lines += 1;
        let fmt = format.unwrap_or_else(|| detect_format(line));
        let e = decode_line(fmt, line).with_context(|| format!("line {}", n + 1))?;
        let slot = pending.iter().position(|(s, _)| *s == e.stream);
        if e.partial {
            match slot {
                Some(i) => pending[i].1.push_str(&e.msg),
                None => pending.push((e.stream.into_owned(), e.msg.into_owned())),
            }
            continue;
        }
        let msg = match slot {
            Some(i) => {
                let (_, mut joined) = pending.swap_remove(i);
                joined.push_str(&e.msg);
                joined
            }
            None => e.msg.into_owned(),
        };
        counts.records += 1;
        if is_json_object(&msg) {
            counts.json_records += 1;
        }
        each(Record {
            time: e.time.into_owned(),
            stream: e.stream.into_owned(),
            msg,
        });
    }
    Ok(counts)
}

/// Reads a log file and counts what it holds (see [`for_each_record`]).
pub fn count_file(path: &Path, format: Option<Format>) -> anyhow::Result<FileCounts> {
    let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    for_each_record(&data, format, |_| {}).with_context(|| format!("decoding {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_both_formats() {
        let d = br#"{"log":"a \u003cb\u003e\n","stream":"stderr","time":"T"}"#;
        let e = decode_line(Format::Docker, d).unwrap();
        assert_eq!(
            (e.msg.as_ref(), e.stream.as_ref(), e.partial),
            ("a <b>", "stderr", false)
        );
        let e = decode_line(Format::Cri, b"T stdout P  two spaces").unwrap();
        assert_eq!((e.msg.as_ref(), e.partial), (" two spaces", true));
        let e = decode_line(Format::Cri, b"T stdout F").unwrap();
        assert_eq!(e.msg, "");
        assert!(decode_line(Format::Cri, b"T stdout X m").is_err());
    }

    #[test]
    fn joins_per_stream() {
        let data = b"T stdout P ab\nT stderr F err\nT stdout F cd\nT stdout P tail\n";
        let mut got = Vec::new();
        let c = for_each_record(data, None, |r| got.push(r.msg)).unwrap();
        assert_eq!(got, vec!["err", "abcd"]);
        assert_eq!((c.lines, c.records), (4, 2));
    }
}
