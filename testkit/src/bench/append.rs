//! Writing new lines into a workload's files while the agent tails them, the way a runtime
//! does: one `write` per line on a descriptor opened for appending, so a line is never seen
//! half-written.

use crate::workload::encode::push_record;
use crate::workload::timefmt::rfc3339_nano;
use crate::workload::Format;
use anyhow::Context;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

pub struct Appender {
    files: Vec<File>,
    format: Format,
    line: Vec<u8>,
}

impl Appender {
    /// Opens every path (kubelet's symlinks are followed) for appending.
    pub fn open(paths: &[PathBuf], format: Format) -> anyhow::Result<Appender> {
        let files = paths
            .iter()
            .map(|p| {
                std::fs::OpenOptions::new()
                    .append(true)
                    .open(p)
                    .with_context(|| format!("opening {} for appending", p.display()))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Appender {
            files,
            format,
            line: Vec::with_capacity(256),
        })
    }

    pub fn files(&self) -> usize {
        self.files.len()
    }

    /// Appends one line to every file, stamped with the current time; returns the lines written.
    pub fn write_round(&mut self, round: u64) -> anyhow::Result<u64> {
        for (i, f) in self.files.iter_mut().enumerate() {
            let now_ns = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
            let msg = format!(
                "GET /api/v1/items/{round}-{i} 200 {}us round={round} file={i} user-agent=bench-appender/1.0",
                (round * 7919 + i as u64 * 104_729) % 100_000
            );
            self.line.clear();
            push_record(
                &mut self.line,
                self.format,
                &rfc3339_nano(now_ns),
                "stdout",
                &msg,
                0,
            );
            f.write_all(&self.line).context("appending a line")?;
        }
        Ok(self.files.len() as u64)
    }
}
