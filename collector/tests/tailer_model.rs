//! The tailer against a simple model, in the way Vector tests its file watcher: random writes
//! (lines cut at random points, split lines in pieces), random read sizes and copytruncate
//! rotations, and after every step the records read so far must be exactly the model's lines, in
//! order, each once.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::sync::Arc;

use logship_collector::tailer::Tailer;
use logship_collector::{CollectorStats, DecodeOptions, Record};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A Docker line; `t` makes its time unique, as a runtime's nanosecond timestamps are (file
/// identity relies on the first line).
fn docker(log: &str, partial: bool, t: u64) -> String {
    let log = if partial {
        log.to_owned()
    } else {
        format!("{log}\n")
    };
    format!(
        "{{\"log\":{},\"stream\":\"stdout\",\"time\":\"2026-11-22T10:00:00.{t:09}Z\"}}\n",
        serde_json::to_string(&log).unwrap()
    )
}

fn message(rng: &mut Rng, n: u64) -> String {
    let len = match rng.below(10) {
        0 => 0,
        1..=7 => rng.below(120),
        _ => rng.below(3000),
    };
    let alphabet = b"abcdefghij \"\\\t{}<>&";
    let body: String = (0..len)
        .map(|_| alphabet[rng.below(alphabet.len() as u64) as usize] as char)
        .collect();
    format!("m{n}:{body}")
}

fn first_difference(got: &[String], want: &[String]) -> String {
    let i = got.iter().zip(want).take_while(|(a, b)| a == b).count();
    let show = |v: &[String]| {
        v.iter()
            .skip(i)
            .take(3)
            .map(|s| s.chars().take(60).collect::<String>())
            .collect::<Vec<_>>()
    };
    format!(
        "at record {i} of {}/{}: got {:?}, want {:?}",
        got.len(),
        want.len(),
        show(got),
        show(want)
    )
}

fn logs(records: &[Record]) -> Vec<String> {
    records
        .iter()
        .map(|r| r.log().text().trim_end_matches('\n').to_owned())
        .collect()
}

/// Reads until the tailer has nothing more.
fn drain(t: &mut Tailer, buf_size: usize, out: &mut Vec<Record>) {
    let mut buf = vec![0u8; buf_size];
    loop {
        let o = t.poll(&mut buf, out).unwrap();
        if o.at_eof && o.bytes == 0 {
            break;
        }
    }
}

fn run(seed: u64) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.log");
    File::create(&path).unwrap();
    let opts = DecodeOptions {
        merge_json: true,
        max_line_bytes: 1 << 20,
    };
    let stats = Arc::new(CollectorStats::default());
    let mut tailer = Tailer::new(&path, File::open(&path).unwrap(), 0, None, opts, stats).unwrap();
    let mut writer = OpenOptions::new().append(true).open(&path).unwrap();
    // Model: every message written, in order; bytes written but not yet flushed to the file.
    let mut expected: Vec<String> = Vec::new();
    let mut pending = String::new();
    let mut out: Vec<Record> = Vec::new();
    let mut n = 0;
    for _step in 0..200 {
        match rng.below(10) {
            // Write some lines, possibly one in split pieces, and flush a random prefix.
            0..=5 => {
                for _ in 0..rng.below(4) {
                    let msg = message(&mut rng, n);
                    if rng.below(5) == 0 && msg.len() > 3 {
                        let cut = 1 + rng.below(msg.len() as u64 - 2) as usize;
                        let cut = (cut..msg.len())
                            .find(|&i| msg.is_char_boundary(i))
                            .unwrap_or(msg.len());
                        pending.push_str(&docker(&msg[..cut], true, 2 * n));
                        pending.push_str(&docker(&msg[cut..], false, 2 * n + 1));
                    } else {
                        pending.push_str(&docker(&msg, false, 2 * n));
                    }
                    expected.push(msg);
                    n += 1;
                }
                let take = rng.below(pending.len() as u64 + 1) as usize;
                let take = (take..=pending.len())
                    .find(|&i| pending.is_char_boundary(i))
                    .unwrap_or(pending.len());
                writer.write_all(&pending.as_bytes()[..take]).unwrap();
                pending.drain(..take);
            }
            // Read with a random buffer size.
            6..=8 => {
                let mut buf = vec![0u8; 1 + rng.below(5000) as usize];
                tailer.poll(&mut buf, &mut out).unwrap();
            }
            // copytruncate, once the reader has caught up with what is complete on disk (lines
            // written and not yet read when a file is truncated are gone with it, by design of
            // copytruncate; what matters is that nothing is garbled or repeated).
            _ => {
                writer.write_all(pending.as_bytes()).unwrap();
                pending.clear();
                drain(&mut tailer, 1 + rng.below(5000) as usize, &mut out);
                let got = logs(&out);
                assert!(
                    got == expected,
                    "seed {seed}: before truncation: {}",
                    first_difference(&got, &expected)
                );
                writer.set_len(0).unwrap();
            }
        }
        // Whatever was read is a prefix of the model, in order.
        let got = logs(&out);
        assert!(
            got.len() <= expected.len(),
            "seed {seed}: more records than lines"
        );
        assert!(
            got == expected[..got.len()],
            "seed {seed}: {}",
            first_difference(&got, &expected)
        );
    }
    writer.write_all(pending.as_bytes()).unwrap();
    drain(&mut tailer, 1 + rng.below(5000) as usize, &mut out);
    let got = logs(&out);
    assert!(
        got == expected,
        "seed {seed}: at the end: {}",
        first_difference(&got, &expected)
    );
}

#[test]
fn tailer_matches_the_model() {
    for seed in 0..100 {
        run(seed);
    }
}
