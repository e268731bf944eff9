//! How much the file input reads from one file in one turn: as much as the batch being filled
//! has room for. Reads are the input's unit of fairness (one busy file cannot starve the
//! others) and batches its unit of memory (what the pipe and the outputs hold), and this keeps
//! the second from depending on the files' sizes.

/// Bytes read from one file per turn at most, so that one busy file cannot starve the others.
pub(crate) const READ_CHUNK: usize = 256 * 1024;
/// Records per batch handed to the outputs.
pub(crate) const BATCH_RECORDS: usize = 2048;
/// Records a batch's vector has room for: [`BATCH_RECORDS`] and what the read that reaches it
/// adds past it (a [`MIN_READ`] of lines of 64 bytes or more). A vector left to grow by
/// doubling has room for 4,096 records once a batch passes 2,048: 344 KB more per batch in
/// flight, or kept for reuse.
pub(crate) const BATCH_CAPACITY: usize = BATCH_RECORDS + MIN_READ / 64;
/// The least read from a file in one turn, however little room the batch has left (a few dozen
/// lines: fewer would only add reads).
const MIN_READ: usize = 16 * 1024;

/// How much to read from the next file: as much as the batch has room for, from the input
/// bytes per record lately, so that a batch ends near `BATCH_RECORDS`, not up to a whole
/// `READ_CHUNK` past it. The records in flight, and so the peak memory, then depend on neither
/// the files' sizes nor their number (with whole chunks, 2,000 files of 1,000 lines made
/// batches of 3,000 records, 100 larger files batches of 2,400).
pub(crate) struct ReadSize {
    bytes_per_record: usize,
}

impl Default for ReadSize {
    fn default() -> ReadSize {
        ReadSize {
            bytes_per_record: READ_CHUNK / BATCH_RECORDS,
        }
    }
}

impl ReadSize {
    /// For a batch that holds `batched` records.
    pub(crate) fn len_for(&self, batched: usize) -> usize {
        let room = BATCH_RECORDS.saturating_sub(batched);
        room.saturating_mul(self.bytes_per_record)
            .clamp(MIN_READ, READ_CHUNK)
    }

    /// Takes in what a read of `bytes` made. Reads that made no record (inside a long line)
    /// or were too short to be typical (a line or two written on a quiet node) teach nothing.
    pub(crate) fn learn(&mut self, bytes: usize, records: usize) {
        if records > 0 && bytes >= MIN_READ {
            self.bytes_per_record = (self.bytes_per_record * 3 + bytes / records) / 4;
        }
    }
}

/// `records` (empty) with room for [`BATCH_CAPACITY`] records: made so when new, and cut back
/// to it when a batch of many short lines made it grow. The capacity is not a bound: a read
/// sized from a wrong guess of the bytes per record may add up to a [`READ_CHUNK`] of lines.
pub(crate) fn sized_for_a_batch<T>(mut records: Vec<T>) -> Vec<T> {
    debug_assert!(records.is_empty(), "a batch starts empty");
    if records.capacity() < BATCH_CAPACITY {
        records.reserve_exact(BATCH_CAPACITY);
    } else {
        records.shrink_to(BATCH_CAPACITY);
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_vectors_have_room_for_a_batch_and_no_more() {
        let sized = |v: Vec<u64>| sized_for_a_batch(v).capacity();
        assert_eq!(sized(Vec::new()), BATCH_CAPACITY);
        assert_eq!(sized(Vec::with_capacity(2 * BATCH_RECORDS)), BATCH_CAPACITY);
        assert_eq!(sized(Vec::with_capacity(BATCH_CAPACITY)), BATCH_CAPACITY);
    }

    /// Reads files of `lines` lines of `line_bytes` each, in rounds as the input does (a read
    /// per file and round), and returns the size of each batch sent.
    fn batch_sizes(files: usize, lines: usize, line_bytes: usize) -> Vec<usize> {
        let mut reads = ReadSize::default();
        let mut left = vec![lines * line_bytes; files];
        // Bytes of a line split by the end of a read.
        let mut split = vec![0; files];
        let (mut pending, mut sizes) = (0, Vec::new());
        while left.iter().any(|&l| l > 0) {
            for f in 0..files {
                let read = reads.len_for(pending).min(left[f]);
                if read == 0 {
                    continue;
                }
                left[f] -= read;
                let made = (split[f] + read) / line_bytes;
                split[f] = (split[f] + read) % line_bytes;
                reads.learn(read, made);
                pending += made;
                if pending >= BATCH_RECORDS {
                    sizes.push(pending);
                    pending = 0;
                }
            }
        }
        sizes
    }

    #[test]
    fn batches_end_near_the_record_count_whatever_the_file_sizes() {
        // One overshooting read at most: the least read of the longest lines here.
        let most = BATCH_RECORDS + MIN_READ / 100;
        for (files, lines, line_bytes) in [(2000, 1000, 219), (100, 20_000, 219), (200, 300, 1500)]
        {
            let sizes = batch_sizes(files, lines, line_bytes);
            assert!(sizes.len() > 10);
            // The first batches teach the estimate.
            for &n in &sizes[3..] {
                assert!(
                    (BATCH_RECORDS..=most).contains(&n),
                    "{files} files of {lines} lines of {line_bytes} bytes: a batch of {n}"
                );
            }
        }
    }

    #[test]
    fn reads_that_made_no_record_teach_nothing() {
        let mut reads = ReadSize::default();
        let before = reads.bytes_per_record;
        reads.learn(READ_CHUNK, 0); // inside a line longer than a read
        reads.learn(100, 1); // one short line on a quiet node
        assert_eq!(reads.bytes_per_record, before);
        reads.learn(READ_CHUNK, READ_CHUNK / 1000);
        assert!(reads.bytes_per_record > before);
        assert_eq!(
            reads.len_for(0),
            READ_CHUNK,
            "an empty batch reads a whole chunk"
        );
        assert_eq!(reads.len_for(BATCH_RECORDS - 1), MIN_READ);
    }
}
