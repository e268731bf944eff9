//! The forward output's spool: chunks the forward server has not taken yet, on disk in the state
//! directory, bounded in bytes, read back in order (also after a restart).
//!
//! Layout: `<dir>/<id>.seg` segment files, written in id order, and `<dir>/cursor`, where
//! delivery stands. A segment is a sequence of frames:
//!
//! ```text
//! len u32 BE | crc32 u32 BE | records u32 BE | payload (len bytes)
//! ```
//!
//! where the CRC-32 covers `records` and the payload, and the payload is msgpack: an array of
//! `[tag, count, entries]` (entries: a bin holding the msgpack event stream). A frame cut short
//! by a crash, or damaged, ends its segment: it and whatever follows in that segment are dropped
//! when the spool is opened, and counted. The cursor file (`<segment id> <offset> <crc32>`) is
//! replaced atomically and names the first frame not delivered; it is written at most once a
//! second (and when the output stops), so a crash re-sends at most about a second of chunks.
//!
//! When the spool is full, whole segments are dropped, oldest first (a segment is an eighth of
//! the limit), and their records counted: the forward server loses the oldest data, never the
//! newest, and Elasticsearch loses nothing (it does not depend on the spool).

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::encode::{Chunk, Frame};
use super::msgpack;

const HEADER: usize = 12;
/// Larger frames are taken for damage (a chunk is a pipe batch, far smaller).
const MAX_FRAME: u32 = 256 << 20;
const CURSOR: &str = "cursor";
const CURSOR_EVERY: Duration = Duration::from_secs(1);

/// A spooled chunk not delivered yet, in order.
#[derive(Debug, Clone, Copy)]
struct Meta {
    seq: u64,
    segment: u64,
    offset: u64,
    len: u64,
    records: u32,
}

#[derive(Debug)]
struct Segment {
    id: u64,
    bytes: u64,
}

/// What opening found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Opened {
    pub chunks: usize,
    pub records: u64,
    /// Damaged or cut-short tails dropped (one per segment that had one).
    pub damaged: u64,
}

pub struct Spool {
    dir: PathBuf,
    limit: u64,
    segment_bytes: u64,
    segments: VecDeque<Segment>,
    writer: Option<File>,
    queue: VecDeque<Meta>,
    /// The first `sent` chunks of the queue are with the sender.
    sent: usize,
    next_seq: u64,
    /// Segment ids only grow, even across an empty spool, so that a cursor never names a
    /// newer segment than it meant.
    next_id: u64,
    bytes: u64,
    cursor_dirty: bool,
    cursor_written: Instant,
}

/// A chunk read back for sending; `ticket` settles it.
pub struct Unspooled {
    pub ticket: u64,
    pub chunk: Chunk,
}

impl Spool {
    /// Opens (creating) the spool in `dir`, reading what a previous run left.
    pub fn open(dir: &Path, limit: u64) -> io::Result<(Spool, Opened)> {
        fs::create_dir_all(dir)?;
        let mut ids: Vec<u64> = Vec::new();
        for entry in fs::read_dir(dir)? {
            let name = entry?.file_name();
            let name = name.to_string_lossy();
            if let Some(id) = name.strip_suffix(".seg").and_then(|s| s.parse().ok()) {
                ids.push(id);
            }
        }
        ids.sort_unstable();
        let mut spool = Spool {
            dir: dir.to_owned(),
            limit: limit.max(1),
            segment_bytes: (limit / 8).clamp(64 << 10, 64 << 20),
            segments: VecDeque::new(),
            writer: None,
            queue: VecDeque::new(),
            sent: 0,
            next_seq: 0,
            next_id: 0,
            bytes: 0,
            cursor_dirty: false,
            cursor_written: Instant::now(),
        };
        let cursor = read_cursor(&dir.join(CURSOR));
        spool.next_id = ids
            .last()
            .map_or(0, |id| id + 1)
            .max(cursor.map_or(0, |c| c.0));
        let mut opened = Opened::default();
        for id in ids {
            let path = spool.segment_path(id);
            let (frames, good_len, damaged) = scan(&path)?;
            if damaged {
                opened.damaged += 1;
                OpenOptions::new()
                    .write(true)
                    .open(&path)?
                    .set_len(good_len)?;
            }
            let before_cursor = |offset: u64| match cursor {
                Some((cs, co)) => id < cs || (id == cs && offset < co),
                None => false,
            };
            for (offset, len, records) in frames {
                if before_cursor(offset) {
                    continue;
                }
                let seq = spool.next_seq;
                spool.next_seq += 1;
                spool.queue.push_back(Meta {
                    seq,
                    segment: id,
                    offset,
                    len,
                    records,
                });
                opened.chunks += 1;
                opened.records += u64::from(records);
            }
            spool.bytes += good_len;
            spool.segments.push_back(Segment {
                id,
                bytes: good_len,
            });
        }
        spool.forget_delivered_segments();
        Ok((spool, opened))
    }

    fn segment_path(&self, id: u64) -> PathBuf {
        self.dir.join(format!("{id:016}.seg"))
    }

    /// Bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Chunks not delivered (including those with the sender).
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Whether there are chunks the sender has not taken yet.
    pub fn has_unsent(&self) -> bool {
        self.sent < self.queue.len()
    }

    /// Appends a chunk. Returns the records dropped to make room (the oldest chunks; or this
    /// chunk itself if it is larger than the whole spool). Call [`sync`](Self::sync) before
    /// counting the chunk as safe.
    pub fn append(&mut self, chunk: &Chunk) -> io::Result<u64> {
        let payload = payload(chunk);
        let len = (HEADER + payload.len()) as u64;
        let records = u32::try_from(chunk.records).unwrap_or(u32::MAX);
        if len > self.limit || payload.len() as u64 > u64::from(MAX_FRAME) {
            return Ok(u64::from(records));
        }
        let mut dropped = 0;
        while self.bytes + len > self.limit && !self.segments.is_empty() {
            dropped += self.drop_oldest_segment()?;
        }
        let need_new = match self.segments.back() {
            None => true,
            Some(s) => self.writer.is_none() || s.bytes + len > self.segment_bytes && s.bytes > 0,
        };
        if need_new {
            self.start_segment()?;
        }
        let mut frame = Vec::with_capacity(len as usize);
        let mut crc = crc32fast::Hasher::new();
        crc.update(&records.to_be_bytes());
        crc.update(&payload);
        frame.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        frame.extend_from_slice(&crc.finalize().to_be_bytes());
        frame.extend_from_slice(&records.to_be_bytes());
        frame.extend_from_slice(&payload);
        let (Some(writer), Some(seg)) = (self.writer.as_mut(), self.segments.back_mut()) else {
            return Err(io::Error::other("spool segment not open"));
        };
        let offset = seg.bytes;
        if let Err(e) = writer.write_all(&frame) {
            // Whatever part was written is past the recorded end: cut it off again.
            let _ = writer.set_len(offset);
            let _ = writer.seek(SeekFrom::Start(offset));
            return Err(e);
        }
        seg.bytes += len;
        self.bytes += len;
        let seq = self.next_seq;
        self.next_seq += 1;
        self.queue.push_back(Meta {
            seq,
            segment: seg.id,
            offset,
            len,
            records,
        });
        Ok(dropped)
    }

    /// Makes what was appended durable.
    pub fn sync(&mut self) -> io::Result<()> {
        match &self.writer {
            Some(w) => w.sync_data(),
            None => Ok(()),
        }
    }

    fn start_segment(&mut self) -> io::Result<()> {
        if let Some(w) = &self.writer {
            w.sync_data()?;
        }
        let id = self.next_id;
        self.next_id += 1;
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(self.segment_path(id))?;
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        self.writer = Some(file);
        self.segments.push_back(Segment { id, bytes: 0 });
        Ok(())
    }

    /// Drops the oldest segment and the chunks in it; returns their records.
    fn drop_oldest_segment(&mut self) -> io::Result<u64> {
        let Some(seg) = self.segments.pop_front() else {
            return Ok(0);
        };
        if self.segments.is_empty() {
            // It was the one being written: later chunks go to a new one.
            self.writer = None;
        }
        let mut records = 0;
        while self.queue.front().is_some_and(|m| m.segment == seg.id) {
            if let Some(m) = self.queue.pop_front() {
                records += u64::from(m.records);
                self.sent = self.sent.saturating_sub(1);
            }
        }
        self.bytes -= seg.bytes;
        self.cursor_dirty = true;
        remove(&self.segment_path(seg.id))?;
        Ok(records)
    }

    /// Reads the next chunk the sender has not taken. A frame found damaged now (the disk
    /// changed under the spool) is skipped; its records are returned as lost.
    pub fn next_unsent(&mut self) -> io::Result<(Option<Unspooled>, u64)> {
        let mut lost = 0;
        while let Some(meta) = self.queue.get(self.sent).copied() {
            match self.read(&meta) {
                Ok(Some(chunk)) => {
                    self.sent += 1;
                    return Ok((
                        Some(Unspooled {
                            ticket: meta.seq,
                            chunk,
                        }),
                        lost,
                    ));
                }
                Ok(None) => {
                    lost += u64::from(meta.records);
                    self.queue.remove(self.sent);
                    self.cursor_dirty = true;
                }
                Err(e) => return Err(e),
            }
        }
        Ok((None, lost))
    }

    fn read(&self, meta: &Meta) -> io::Result<Option<Chunk>> {
        let mut f = File::open(self.segment_path(meta.segment))?;
        f.seek(SeekFrom::Start(meta.offset))?;
        let mut buf = vec![0u8; meta.len as usize];
        f.read_exact(&mut buf)?;
        Ok(check_frame(&buf).and_then(|(records, payload)| parse_payload(payload, records)))
    }

    /// The sender lost its connection: every chunk it had taken is sent again.
    pub fn rewind(&mut self) {
        self.sent = 0;
    }

    /// The chunk `ticket` (the oldest with the sender) is delivered.
    pub fn commit(&mut self, ticket: u64) -> io::Result<()> {
        if self.queue.front().is_some_and(|m| m.seq == ticket) {
            self.queue.pop_front();
            self.sent = self.sent.saturating_sub(1);
            self.cursor_dirty = true;
            self.forget_delivered_segments();
        }
        Ok(())
    }

    /// Deletes segments all of whose chunks are delivered (the one being written too, once
    /// everything is delivered: an idle spool takes no disk).
    fn forget_delivered_segments(&mut self) {
        while let Some(seg) = self.segments.front() {
            let id = seg.id;
            if self.queue.front().is_some_and(|m| m.segment <= id) {
                break;
            }
            let bytes = seg.bytes;
            self.segments.pop_front();
            if self.segments.is_empty() {
                self.writer = None;
            }
            self.bytes -= bytes;
            let _ = remove(&self.segment_path(id));
        }
    }

    /// Writes the cursor if it moved and a second has passed (or `now` is true).
    pub fn persist_cursor(&mut self, now: bool) -> io::Result<()> {
        if !self.cursor_dirty || (!now && self.cursor_written.elapsed() < CURSOR_EVERY) {
            return Ok(());
        }
        let (segment, offset) = match self.queue.front() {
            Some(m) => (m.segment, m.offset),
            None => (self.next_id, 0),
        };
        let text = format!("{segment} {offset}");
        let line = format!("{text} {:08x}\n", crc32fast::hash(text.as_bytes()));
        let tmp = self.dir.join("cursor.tmp");
        let mut f = File::create(&tmp)?;
        f.write_all(line.as_bytes())?;
        f.sync_data()?;
        fs::rename(&tmp, self.dir.join(CURSOR))?;
        self.cursor_dirty = false;
        self.cursor_written = Instant::now();
        Ok(())
    }
}

fn remove(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn read_cursor(path: &Path) -> Option<(u64, u64)> {
    let text = fs::read_to_string(path).ok()?;
    let mut parts = text.split_whitespace();
    let (seg, off, crc) = (parts.next()?, parts.next()?, parts.next()?);
    let body = format!("{seg} {off}");
    if format!("{:08x}", crc32fast::hash(body.as_bytes())) != crc {
        return None;
    }
    Some((seg.parse().ok()?, off.parse().ok()?))
}

/// A frame found by [`scan`]: `(offset, length, records)`.
type Found = (u64, u64, u32);

/// The frames of a segment, the length of its good part, and whether anything after that was
/// damaged or cut short.
fn scan(path: &Path) -> io::Result<(Vec<Found>, u64, bool)> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut rd = BufReader::with_capacity(1 << 16, file);
    let mut frames = Vec::new();
    let mut offset = 0u64;
    let mut buf = Vec::new();
    while offset < size {
        let mut header = [0u8; HEADER];
        if size - offset < HEADER as u64 || rd.read_exact(&mut header).is_err() {
            return Ok((frames, offset, true));
        }
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
        let total = HEADER as u64 + u64::from(len);
        if len > MAX_FRAME || size - offset < total {
            return Ok((frames, offset, true));
        }
        buf.clear();
        buf.extend_from_slice(&header);
        buf.resize(total as usize, 0);
        if rd.read_exact(&mut buf[HEADER..]).is_err() {
            return Ok((frames, offset, true));
        }
        match check_frame(&buf) {
            Some((records, _)) => frames.push((offset, total, records)),
            None => return Ok((frames, offset, true)),
        }
        offset += total;
    }
    Ok((frames, offset, false))
}

/// `(records, payload)` if the frame's checksum holds.
fn check_frame(frame: &[u8]) -> Option<(u32, &[u8])> {
    let header = frame.get(..HEADER)?;
    let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
    let records = u32::from_be_bytes([header[8], header[9], header[10], header[11]]);
    let payload = frame.get(HEADER..HEADER + len)?;
    let mut h = crc32fast::Hasher::new();
    h.update(&header[8..12]);
    h.update(payload);
    (h.finalize() == crc).then_some((records, payload))
}

/// `[[tag, count, bin(entries)], …]`.
fn payload(chunk: &Chunk) -> Vec<u8> {
    let mut out = Vec::with_capacity(chunk.bytes() + 16 * chunk.frames.len() + 8);
    msgpack::array_len(&mut out, chunk.frames.len() as u32);
    for f in &chunk.frames {
        msgpack::array_len(&mut out, 3);
        msgpack::str(&mut out, &f.tag);
        msgpack::uint(&mut out, u64::from(f.count));
        msgpack::bin(&mut out, &f.entries);
    }
    out
}

fn parse_payload(mut rd: &[u8], records: u32) -> Option<Chunk> {
    let n = rmp::decode::read_array_len(&mut rd).ok()?;
    let mut frames = Vec::with_capacity(n.min(4096) as usize);
    for _ in 0..n {
        if rmp::decode::read_array_len(&mut rd).ok()? != 3 {
            return None;
        }
        let tag_len = rmp::decode::read_str_len(&mut rd).ok()? as usize;
        let tag = std::str::from_utf8(rd.get(..tag_len)?).ok()?.to_owned();
        rd = &rd[tag_len..];
        let count: u32 = rmp::decode::read_int(&mut rd).ok()?;
        let bin_len = rmp::decode::read_bin_len(&mut rd).ok()? as usize;
        let entries = rd.get(..bin_len)?.to_vec();
        rd = &rd[bin_len..];
        frames.push(Frame {
            tag,
            count,
            entries,
        });
    }
    Some(Chunk {
        frames,
        records: records as usize,
    })
}

#[cfg(test)]
#[path = "spool_tests.rs"]
mod tests;
