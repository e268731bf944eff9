//! The local output: the same documents Elasticsearch would get, one per line, to stdout or a
//! file. It makes `logship run` useful on a laptop and in the examples.

use logship_collector::counters;
use std::io::Write;
use std::sync::Arc;

use crate::document::{DocumentEncoder, DocumentOptions};
use crate::fanout::OutputFeed;
use crate::stats::OutputStats;

/// Writes every record until the pipe closes. Runs on a blocking thread: writes to a pipe or
/// a file block.
pub fn run_ndjson(
    mut rx: OutputFeed,
    mut sink: Box<dyn Write + Send>,
    opts: DocumentOptions,
    stats: Arc<OutputStats>,
) -> std::io::Result<()> {
    let mut enc = DocumentEncoder::new(opts);
    let mut buf = Vec::with_capacity(1 << 16);
    while let Some(batch) = rx.blocking_recv() {
        buf.clear();
        for r in batch.records.iter() {
            enc.encode(r, &mut buf);
            buf.push(b'\n');
        }
        sink.write_all(&buf)?;
        sink.flush()?;
        counters::add(&stats.records_out, batch.records.len() as u64);
        counters::add(&stats.bytes_out, buf.len() as u64);
        batch.delivery.ack();
    }
    sink.flush()
}
