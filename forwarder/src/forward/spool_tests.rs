use super::*;

fn chunk(tag: &str, n: u32, fill: u8) -> Chunk {
    Chunk {
        frames: vec![Frame {
            tag: tag.into(),
            count: n,
            entries: vec![fill; 1000],
        }],
        records: n as usize,
    }
}

fn drain(s: &mut Spool) -> Vec<Chunk> {
    let mut out = Vec::new();
    while let (Some(u), 0) = s.next_unsent().unwrap() {
        s.commit(u.ticket).unwrap();
        out.push(u.chunk);
    }
    out
}

#[test]
fn chunks_come_back_in_order_and_an_idle_spool_takes_no_disk() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, opened) = Spool::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(opened, Opened::default());
    for i in 0..5 {
        s.append(&chunk("t", i + 1, i as u8)).unwrap();
    }
    s.sync().unwrap();
    assert_eq!(s.len(), 5);
    let first = s.next_unsent().unwrap().0.unwrap();
    assert_eq!(first.chunk, chunk("t", 1, 0));
    // A lost connection: the chunk is sent again.
    s.rewind();
    let got = drain(&mut s);
    assert_eq!(
        got,
        (0..5)
            .map(|i| chunk("t", i + 1, i as u8))
            .collect::<Vec<_>>()
    );
    assert!(s.is_empty());
    assert_eq!(s.bytes(), 0);
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_restart_reads_back_what_was_not_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = Spool::open(dir.path(), 1 << 20).unwrap();
    for i in 0..4 {
        s.append(&chunk("a.b", 10, i)).unwrap();
    }
    s.sync().unwrap();
    let u = s.next_unsent().unwrap().0.unwrap();
    s.commit(u.ticket).unwrap();
    s.persist_cursor(true).unwrap();
    // Delivered after the cursor was written: sent again after the restart (at least once).
    let u = s.next_unsent().unwrap().0.unwrap();
    s.commit(u.ticket).unwrap();
    drop(s);
    let (mut s, opened) = Spool::open(dir.path(), 1 << 20).unwrap();
    assert_eq!(
        opened,
        Opened {
            chunks: 3,
            records: 30,
            damaged: 0
        }
    );
    let got: Vec<u8> = drain(&mut s)
        .iter()
        .map(|c| c.frames[0].entries[0])
        .collect();
    assert_eq!(got, [1, 2, 3]);
    // New chunks go after, in a new segment.
    s.append(&chunk("a.b", 1, 9)).unwrap();
    assert_eq!(drain(&mut s)[0].frames[0].entries[0], 9);
}

#[test]
fn a_damaged_tail_is_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = Spool::open(dir.path(), 1 << 20).unwrap();
    for i in 0..3 {
        s.append(&chunk("t", 5, i)).unwrap();
    }
    s.sync().unwrap();
    drop(s);
    let seg = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "seg"))
        .unwrap();
    // A crash mid-write: the last frame is cut short.
    let len = fs::metadata(&seg).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len - 100)
        .unwrap();
    let (mut s, opened) = Spool::open(dir.path(), 1 << 20).unwrap();
    assert_eq!((opened.chunks, opened.records, opened.damaged), (2, 10, 1));
    assert_eq!(drain(&mut s).len(), 2);
    drop(s);

    // A flipped byte: the checksum catches it, and what follows in the segment goes too.
    let (mut s, _) = Spool::open(dir.path(), 1 << 20).unwrap();
    for i in 0..3 {
        s.append(&chunk("t", 5, i)).unwrap();
    }
    s.sync().unwrap();
    drop(s);
    let seg = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "seg"))
        .unwrap();
    let mut bytes = fs::read(&seg).unwrap();
    let frame = bytes.len() / 3;
    bytes[frame + 200] ^= 0xff;
    fs::write(&seg, &bytes).unwrap();
    let (_, opened) = Spool::open(dir.path(), 1 << 20).unwrap();
    assert_eq!((opened.chunks, opened.records, opened.damaged), (1, 5, 1));
}

#[test]
fn a_full_spool_drops_the_oldest_and_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    // 640 KiB: segments of 80 KiB hold 78 chunks of 1 KiB.
    let limit = 640 << 10;
    let (mut s, _) = Spool::open(dir.path(), limit).unwrap();
    let mut dropped = 0;
    let n = 1000u32;
    for i in 0..n {
        let mut c = chunk("t", 1, 0);
        c.frames[0].entries[..4].copy_from_slice(&i.to_be_bytes());
        dropped += s.append(&c).unwrap();
        assert!(s.bytes() <= limit);
    }
    assert!(dropped > 0);
    let got: Vec<u32> = drain(&mut s)
        .iter()
        .map(|c| u32::from_be_bytes(c.frames[0].entries[..4].try_into().unwrap()))
        .collect();
    assert_eq!(got.len() as u64 + dropped, n as u64);
    // The newest survive, contiguous.
    let first = n - got.len() as u32;
    assert_eq!(got, (first..n).collect::<Vec<_>>());
    // A chunk larger than the whole spool is refused and counted.
    let big = Chunk {
        frames: vec![Frame {
            tag: "t".into(),
            count: 3,
            entries: vec![0; 700 << 10],
        }],
        records: 3,
    };
    assert_eq!(s.append(&big).unwrap(), 3);
}
