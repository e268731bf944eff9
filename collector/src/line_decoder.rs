//! From raw lines to records: the per-file format (Docker json-file or CRI, detected from the
//! first line), split-line reassembly, the event time, and the whole-line JSON merge.

use crate::counters;
use crate::time_text::TimeText;
use std::cell::{Cell, RefCell};
use std::sync::Arc;

use crate::assembler::{Assembler, Line, Piece};
use crate::json_merge::{MergeScratch, MergedObject};
use crate::log_text::LogText;
use crate::record::{Record, RecordKind, Source};
use crate::stats::{CollectorStats, Problem};
use crate::time::{EventTime, TimeParser};
use crate::{cri, docker};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Docker,
    Cri,
}

impl LogFormat {
    /// A file's format, from its first non-empty line.
    pub fn detect(line: &[u8]) -> LogFormat {
        if line.first() != Some(&b'{') && cri::looks_like_cri(line) {
            LogFormat::Cri
        } else {
            LogFormat::Docker
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct DecodeOptions {
    pub merge_json: bool,
    pub max_line_bytes: usize,
}

pub struct LineDecoder {
    format: Option<LogFormat>,
    assembler: Assembler,
    merge_json: bool,
    /// 32 bits (lines of up to 4 GiB) with the flags beside it keep a tailer in 248 bytes.
    max_line_bytes: u32,
    stats: Arc<CollectorStats>,
}

/// What the merge reuses from line to line: one set per input thread, not per file, since a
/// node tails thousands of files and a thread merges one line at a time.
#[derive(Default)]
struct MergeBuffers {
    unescaped: String,
    spans: MergeScratch,
}

/// Lines, records and merges decoded on this thread and not yet added to the input's counters.
/// An atomic add is a locked instruction, and each waits for the record just written to leave
/// the store buffer: counted per line (four for a JSON line), they made a CRI line's decode
/// 13 % slower (`line_to_record/cri_mix`, docs/performance.md item 34).
/// The tailer adds them up once per read ([`LineDecoder::count_decoded`]).
#[derive(Clone, Copy, Default)]
struct Tally {
    lines: u64,
    records: u64,
    merged: u64,
    merge_failed: u64,
}

thread_local! {
    static UNCOUNTED: Cell<Tally> = const {
        Cell::new(Tally { lines: 0, records: 0, merged: 0, merge_failed: 0 })
    };
    static MERGE_BUFFERS: RefCell<MergeBuffers> = RefCell::default();
    /// Per input thread too: a file is read many lines at a time, so consecutive lines nearly
    /// always share their minute even with files taking turns.
    static TIMES: RefCell<TimeParser> = RefCell::default();
}

impl LineDecoder {
    pub fn new(opts: DecodeOptions, stats: Arc<CollectorStats>) -> LineDecoder {
        LineDecoder {
            format: None,
            assembler: Assembler::default(),
            max_line_bytes: u32::try_from(opts.max_line_bytes).unwrap_or(u32::MAX),
            merge_json: opts.merge_json,
            stats,
        }
    }

    /// The longest line shipped whole.
    pub fn max_line_bytes(&self) -> usize {
        self.max_line_bytes as usize
    }

    /// The input's counters, which the file's tailer counts into too.
    pub fn stats(&self) -> &CollectorStats {
        &self.stats
    }

    pub fn format(&self) -> Option<LogFormat> {
        self.format
    }

    /// Adds what this thread decoded since the last call (lines, records, merges) to the
    /// input's counters. The tailer calls it at the end of each of its calls that decode (a
    /// read, a rewrite check, a finish), so the figures lag a read at most.
    pub fn count_decoded(&self) {
        let t = UNCOUNTED.take();
        for (counter, n) in [
            (&self.stats.lines, t.lines),
            (&self.stats.records, t.records),
            (&self.stats.merged, t.merged),
            (&self.stats.merge_failed, t.merge_failed),
        ] {
            if n > 0 {
                counters::add(counter, n);
            }
        }
    }

    /// Decodes one physical line (without its newline) spanning `start..end` in the file.
    /// `cut` says the line was longer than the maximum and only its beginning is here.
    pub fn line(
        &mut self,
        raw: &[u8],
        start: u64,
        end: u64,
        cut: bool,
        source: &Arc<Source>,
        out: &mut Vec<Record>,
    ) {
        tally(|t| t.lines += 1);
        let raw = strip_cr(raw);
        if raw.is_empty() {
            if self.stats.problem(Problem::EmptyLine) {
                tracing::warn!(path = %source.path.display(), offset = start,
                    "empty line skipped (further empty lines are only counted)");
            }
            return;
        }
        let format = *self.format.get_or_insert_with(|| LogFormat::detect(raw));
        let piece = if cut {
            None
        } else {
            match format {
                LogFormat::Docker => self.decode_docker(raw, source).map(|l| Piece {
                    log: LogText::Escaped(l.log),
                    stream: l.stream,
                    time_text: TimeText::new(&l.time),
                    partial: l.partial,
                    start_offset: start,
                    end_offset: end,
                }),
                LogFormat::Cri => cri::decode(raw).ok().map(|l| {
                    if l.invalid_utf8 && self.stats.problem(Problem::InvalidUtf8) {
                        tracing::warn!(path = %source.path.display(), offset = start,
                            "invalid UTF-8 replaced by U+FFFD (further cases are only counted)");
                    }
                    Piece {
                        log: LogText::Plain(l.text),
                        stream: Some(l.stream),
                        time_text: TimeText::new(l.time),
                        partial: l.partial,
                        start_offset: start,
                        end_offset: end,
                    }
                }),
            }
        };
        let line = match piece {
            Some(p) => match self.assembler.push(p, self.max_line_bytes as usize) {
                Some(line) => line,
                None => return,
            },
            None => {
                if !cut && self.stats.problem(Problem::DecodeError) {
                    tracing::warn!(path = %source.path.display(), offset = start, format = ?format,
                        "line is not in the file's format; shipped as plain text (further cases are only counted)");
                }
                self.text_line(raw, start, end, cut)
            }
        };
        out.push(self.finish(line, source));
    }

    /// Docker writes valid UTF-8 (it replaces bad bytes with `\ufffd`), but a file written by
    /// something else may not be: such a line is decoded after replacing the bad bytes, so its
    /// fields survive.
    fn decode_docker<'a>(
        &self,
        raw: &'a [u8],
        source: &Arc<Source>,
    ) -> Option<docker::DockerLine<'a>> {
        match docker::decode(raw) {
            Ok(l) => Some(l),
            Err(_) if std::str::from_utf8(raw).is_err() => {
                let fixed = String::from_utf8_lossy(raw);
                let l = docker::decode(fixed.as_bytes()).ok()?;
                if self.stats.problem(Problem::InvalidUtf8) {
                    tracing::warn!(path = %source.path.display(),
                        "invalid UTF-8 replaced by U+FFFD (further cases are only counted)");
                }
                Some(docker::DockerLine {
                    log: l.log,
                    stream: l.stream,
                    time: std::borrow::Cow::Owned(l.time.into_owned()),
                    partial: l.partial,
                })
            }
            Err(_) => None,
        }
    }

    /// A line that could not be decoded travels as text, so that nothing is lost.
    fn text_line<'a>(&self, raw: &'a [u8], start: u64, end: u64, cut: bool) -> Line<'a> {
        let mut line = Line {
            log: LogText::Plain(String::from_utf8_lossy(raw)),
            stream: None,
            time_text: TimeText::default(),
            start_offset: start,
            end_offset: end,
            truncated: cut,
        };
        line.cut_to(self.max_line_bytes());
        line
    }

    /// Ships unfinished split lines as they are (the file is finished or gone).
    pub fn flush_pending(&mut self, source: &Arc<Source>, out: &mut Vec<Record>) {
        for line in self.assembler.drain() {
            out.push(self.finish(line, source));
        }
    }

    pub fn oldest_pending_start(&self) -> Option<u64> {
        self.assembler.oldest_pending_start()
    }

    /// Forgets unfinished lines and the format (the file was truncated and starts over).
    pub fn reset(&mut self) {
        self.assembler = Assembler::default();
        self.format = None;
    }

    fn finish(&self, line: Line<'_>, source: &Arc<Source>) -> Record {
        let time = if line.time_text.is_empty() {
            EventTime::now()
        } else {
            match TIMES.with_borrow_mut(|times| times.parse(line.time_text.as_str())) {
                Some(t) => t,
                None => {
                    if self.stats.problem(Problem::BadTime) {
                        tracing::warn!(path = %source.path.display(), time = %line.time_text,
                            "unparseable time; the time of reading is used (further cases are only counted)");
                    }
                    EventTime::now()
                }
            }
        };
        if line.truncated && self.stats.problem(Problem::Truncated) {
            tracing::warn!(path = %source.path.display(), offset = line.start_offset,
                max = self.max_line_bytes(),
                "line longer than the maximum was cut and marked (further cases are only counted)");
        }
        let merged = if self.merge_json && !line.truncated {
            self.merge(&line.log)
        } else {
            None
        };
        let log = match (line.log, &merged) {
            // A whole CRI line that is one JSON object is kept once.
            (LogText::Plain(text), Some(m)) if m.text() == text => LogText::Merged,
            (log, _) => log.into_owned(),
        };
        tally(|t| t.records += 1);
        Record {
            source: Arc::clone(source),
            start_offset: line.start_offset,
            end_offset: line.end_offset,
            time,
            time_text: line.time_text,
            stream: line.stream,
            log,
            merged,
            truncated: line.truncated,
            kind: RecordKind::Line,
        }
    }

    /// Merges only when the whole `log` (less its trailing newline) is a JSON object.
    fn merge(&self, log: &LogText<'_>) -> Option<MergedObject> {
        let text: &str = match log {
            LogText::Plain(text) => text,
            LogText::Escaped(escaped) => escaped.as_escaped(),
            LogText::Merged => return None,
        };
        if !text.starts_with('{') {
            return None;
        }
        let merged = MERGE_BUFFERS.with_borrow_mut(|buffers| {
            let MergeBuffers { unescaped, spans } = buffers;
            let text = match log {
                LogText::Escaped(escaped) if text.contains('\\') => {
                    escaped.unescape_into(unescaped);
                    unescaped
                }
                _ => text,
            };
            let text = text.strip_suffix('\n').unwrap_or(text);
            MergedObject::parse_any_with(text, spans)
        });
        match merged {
            Some(m) => {
                tally(|t| t.merged += 1);
                Some(m)
            }
            None => {
                // Counted, not logged per line: JSON-looking text that is not an object is common.
                tally(|t| t.merge_failed += 1);
                None
            }
        }
    }
}

fn tally(count: impl FnOnce(&mut Tally)) {
    UNCOUNTED.with(|cell| {
        let mut t = cell.get();
        count(&mut t);
        cell.set(t);
    });
}

fn strip_cr(raw: &[u8]) -> &[u8] {
    raw.strip_suffix(b"\r").unwrap_or(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log_text::LogRef;
    use std::path::PathBuf;

    fn a_source() -> Arc<Source> {
        Arc::new(Source {
            id: 1,
            path: PathBuf::from("/var/log/containers/x.log").into(),
            tag: "".into(),
            pod: None,
            meta: None,
        })
    }

    fn decode_all(lines: &[&[u8]]) -> Vec<Record> {
        decode_cut_at(1 << 20, lines)
    }

    fn decode_cut_at(max_line_bytes: usize, lines: &[&[u8]]) -> Vec<Record> {
        let opts = DecodeOptions {
            merge_json: true,
            max_line_bytes,
        };
        let source = a_source();
        let mut decoder = LineDecoder::new(opts, Arc::new(CollectorStats::default()));
        let mut out = Vec::new();
        let mut offset = 0;
        for line in lines {
            let end = offset + line.len() as u64 + 1;
            decoder.line(line, offset, end, false, &source, &mut out);
            offset = end;
        }
        out
    }

    #[test]
    fn lines_records_and_merges_are_counted_once_each_when_the_caller_counts_them() {
        let source = a_source();
        let stats = Arc::new(CollectorStats::default());
        let opts = DecodeOptions {
            merge_json: true,
            max_line_bytes: 1 << 20,
        };
        let mut decoder = LineDecoder::new(opts, Arc::clone(&stats));
        // What other tests decoded on this thread without counting it.
        UNCOUNTED.take();
        let lines: [&[u8]; 5] = [
            b"2026-11-22T01:02:03.000000001Z stdout F plain",
            b"2026-11-22T01:02:03.000000002Z stdout P split ",
            b"2026-11-22T01:02:03.000000003Z stdout F line",
            b"2026-11-22T01:02:03.000000004Z stdout F {\"level\":\"info\"}",
            b"2026-11-22T01:02:03.000000005Z stderr F {not json",
        ];
        let mut out = Vec::new();
        for (i, line) in lines.iter().enumerate() {
            decoder.line(
                line,
                i as u64 * 100,
                i as u64 * 100 + 99,
                false,
                &source,
                &mut out,
            );
        }
        let counted = |s: &CollectorStats| {
            [&s.lines, &s.records, &s.merged, &s.merge_failed].map(counters::get)
        };
        assert_eq!(out.len(), 4);
        assert_eq!(counted(&stats), [0; 4], "counted only when the caller says");
        decoder.count_decoded();
        assert_eq!(counted(&stats), [5, 4, 1, 1]);
        decoder.count_decoded();
        assert_eq!(counted(&stats), [5, 4, 1, 1], "nothing counted twice");
    }

    fn merged(r: &Record) -> Vec<(String, String)> {
        let m = r.merged.as_ref().expect("merged");
        m.fields()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    #[test]
    fn cri_json_lines_merge_as_docker_ones_do() {
        // The CRI line is merged from its text, joined from pieces or not, the Docker one from
        // its unescaped `log`.
        let docker = decode_all(&[
            br#"{"log":"{\"a\":\"q\\\"b\\\\\\t\",\"n\":[1,{\"x\":null}]}\n","stream":"stdout","time":"2026-11-22T01:02:03Z"}"#,
        ]);
        let cri = decode_all(&[
            b"2026-11-22T01:02:03Z stdout F {\"a\":\"q\\\"b\\\\\\t\",\"n\":[1,{\"x\":null}]}",
            b"2026-11-22T01:02:04Z stdout P {\"a\":\"q\\\"b",
            b"2026-11-22T01:02:05Z stdout F \\\\\\t\",\"n\":[1,{\"x\":null}]}",
        ]);
        assert_eq!(cri.len(), 2);
        let want = vec![
            ("a".to_owned(), r#""q\"b\\\t""#.to_owned()),
            ("n".to_owned(), r#"[1,{"x":null}]"#.to_owned()),
        ];
        assert_eq!(merged(&docker[0]), want);
        assert_eq!(merged(&cri[0]), want);
        assert_eq!(merged(&cri[1]), want);
        // Kept once, as the merged object's text, and written escaped.
        assert_eq!(cri[0].log, LogText::Merged);
        assert_eq!(cri[1].log, LogText::Merged);
        assert_eq!(cri[0].log(), cri[1].log());
        let mut escaped = Vec::new();
        cri[0].log().write_escaped(&mut escaped);
        assert_eq!(
            String::from_utf8(escaped).unwrap(),
            r#"{\"a\":\"q\\\"b\\\\\\t\",\"n\":[1,{\"x\":null}]}"#
        );
    }

    #[test]
    fn cri_text_is_kept_as_read_and_cut_by_its_own_bytes() {
        let out = decode_cut_at(
            10,
            &[
                b"2026-11-22T01:02:05Z stdout F {\"not\":}",
                b"2026-11-22T01:02:06Z stdout F \"quoted\" words",
                b"2026-11-22T01:02:07Z stdout F \"quoted\"\xe9\xe9",
            ],
        );
        assert_eq!(out.len(), 3);
        assert!(out[0].merged.is_none());
        assert_eq!(out[0].log, LogText::plain("{\"not\":}"));
        assert!(!out[0].truncated);
        // Ten bytes of the text (twelve once escaped), not ten of its escaped form.
        assert_eq!(out[1].log(), LogRef::Plain("\"quoted\" w"));
        assert!(out[1].truncated);
        // Bad UTF-8 replaced, then cut at a character boundary: U+FFFD is three bytes.
        assert_eq!(out[2].log().text(), "\"quoted\"");
        assert!(out[2].truncated);
    }

    #[test]
    fn merging_reuses_its_buffers_without_mixing_lines() {
        // A decoder per format, as per file; the merge buffers are the thread's.
        let mut out = decode_all(&[
            br#"{"log":"{\"long_key_one\":\"a value longer than the next line\"}\n","stream":"stdout","time":"2026-11-22T01:02:03Z"}"#,
            br#"{"log":"{\"k\":2}\n","stream":"stdout","time":"2026-11-22T01:02:04.5Z"}"#,
        ]);
        out.extend(decode_all(&[
            b"2026-11-22T01:02:05Z stdout F {\"long\":\"a value longer than the next line\"}",
            b"2026-11-22T01:02:05Z stdout F {\"b\":\"\xff\"}",
            b"2026-11-22T01:02:06Z stdout F {\"c\\u00e9\":3}",
        ]));
        let want = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
        assert_eq!(
            merged(&out[0]),
            want("long_key_one", r#""a value longer than the next line""#)
        );
        assert_eq!(merged(&out[1]), want("k", "2"));
        assert_eq!(
            merged(&out[2]),
            want("long", r#""a value longer than the next line""#)
        );
        // Bad UTF-8 replaced: merged from the text with U+FFFD, not the bytes read.
        assert_eq!(merged(&out[3]), want("b", "\"\u{fffd}\""));
        // An escaped key: re-encoded, the slow way.
        assert_eq!(merged(&out[4]), want("c\u{e9}", "3"));
        // CRI lines are kept once when the merged text is the line (bad UTF-8 replaced in
        // both), and as read beside a re-encoded object.
        assert_eq!(out[2].log, LogText::Merged);
        assert_eq!(out[3].log, LogText::Merged);
        assert_eq!(out[3].log().text(), "{\"b\":\"\u{fffd}\"}");
        assert_eq!(out[4].log, LogText::plain(r#"{"c\u00e9":3}"#));
        let times: Vec<&str> = out.iter().map(|r| r.time_text.as_str()).collect();
        assert_eq!(
            times,
            [
                "2026-11-22T01:02:03Z",
                "2026-11-22T01:02:04.5Z",
                "2026-11-22T01:02:05Z",
                "2026-11-22T01:02:05Z",
                "2026-11-22T01:02:06Z"
            ]
        );
    }
}
