//! The forward output against the forward server double: every message checked, and the
//! faults the output must ride out without holding its batches (and so Elasticsearch and the
//! checkpoints) back: down, slow, late acks, no acks, a connection closed mid-message, a full
//! spool, a restart with a non-empty spool, the shared_key handshake. Exact counts everywhere.

use logship_collector::counters;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use logship_collector::{pipe, BatchSender, EventTime, JsonText, Record, RecordKind, Source};
use logship_forwarder::{
    run_forward, Compress, ForwardOutputConfig, ForwardStats, OutputFeed, OutputStats,
};
use logship_testkit::forward::{Faults, ForwardOptions, ForwardServer};
use tokio::sync::oneshot;

const TAGS: [&str; 3] = ["kube.a", "kube.b", "app.c"];

struct Run {
    rt: tokio::runtime::Runtime,
    input: Option<BatchSender>,
    file_side: Option<BatchSender>,
    task: Option<tokio::task::JoinHandle<Result<(), String>>>,
    stats: Arc<OutputStats>,
    fstats: Arc<ForwardStats>,
    next: u64,
    sources: Vec<Arc<Source>>,
}

fn config(server: &ForwardServer, spool: &tempfile::TempDir) -> ForwardOutputConfig {
    let mut cfg = ForwardOutputConfig::new(server.addr().to_string(), spool.path().into());
    cfg.backoff_base = Duration::from_millis(50);
    cfg.backoff_cap = Duration::from_millis(200);
    cfg.max_wait = Duration::from_millis(300);
    cfg.timeout = Duration::from_secs(2);
    cfg.drain = Duration::from_millis(500);
    cfg
}

impl Run {
    fn start(cfg: ForwardOutputConfig) -> Run {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let (tx, rx) = pipe(32 << 20, rt.handle().clone());
        let input = tx.another_input(32 << 20);
        let stats = Arc::new(OutputStats::default());
        let fstats = Arc::new(ForwardStats::default());
        let task = rt.spawn(run_forward(
            cfg,
            OutputFeed::direct(rx),
            Arc::clone(&stats),
            Arc::clone(&fstats),
        ));
        let sources = TAGS
            .iter()
            .enumerate()
            .map(|(i, tag)| {
                Arc::new(Source {
                    id: i as u64,
                    path: PathBuf::from(format!("/x/{tag}")).into(),
                    tag: (*tag).into(),
                    pod: None,
                    meta: None,
                })
            })
            .collect();
        Run {
            rt,
            input: Some(input),
            file_side: Some(tx),
            task: Some(task),
            stats,
            fstats,
            next: 0,
            sources,
        }
    }

    /// A batch of `n` records `m<k>` (k counting on), spread over the tags; returns the receiver
    /// that fires when the output has settled it.
    fn send(&mut self, n: usize) -> oneshot::Receiver<()> {
        let records: Vec<Record> = (0..n)
            .map(|_| {
                let k = self.next;
                self.next += 1;
                Record {
                    source: Arc::clone(&self.sources[(k % 3) as usize]),
                    start_offset: k,
                    end_offset: k + 1,
                    time: EventTime {
                        secs: 1_800_000_000 + k as i64,
                        nanos: k as u32,
                    },
                    time_text: "".into(),
                    stream: None,
                    log: JsonText::escape(&format!("m{k}")).into(),
                    merged: None,
                    truncated: false,
                    kind: RecordKind::Line,
                }
            })
            .collect();
        let (tx, rx) = oneshot::channel();
        let input = self.input.as_ref().unwrap();
        self.rt.block_on(input.send(records, Some(tx))).unwrap();
        rx
    }

    /// Closes the pipe and waits for the output to finish.
    fn stop(mut self) -> (Arc<OutputStats>, Arc<ForwardStats>) {
        self.input.take();
        self.file_side.take();
        let task = self.task.take().unwrap();
        self.rt.block_on(task).unwrap().unwrap();
        (self.stats, self.fstats)
    }
}

fn settled(rx: &mut oneshot::Receiver<()>, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        match rx.try_recv() {
            Ok(()) => return true,
            Err(oneshot::error::TryRecvError::Closed) => return false,
            Err(oneshot::error::TryRecvError::Empty) if Instant::now() > deadline => return false,
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Each `m<k>` the server holds, and how often.
fn logs(server: &ForwardServer) -> Vec<u64> {
    server
        .events()
        .iter()
        .map(|e| {
            e.record["log"].as_str().unwrap()[1..]
                .parse::<u64>()
                .unwrap()
        })
        .collect()
}

/// Every `m<k>` for k in `range` exactly once, in order within each tag; a short message if not.
fn assert_once_in_order(server: &ForwardServer, range: std::ops::Range<u64>) {
    let events = server.events();
    let mut last: std::collections::HashMap<String, u64> = Default::default();
    let mut seen = vec![0u32; (range.end - range.start) as usize];
    for e in &events {
        let k: u64 = e.record["log"].as_str().unwrap()[1..].parse().unwrap();
        assert!(range.contains(&k), "m{k} is outside {range:?}");
        seen[(k - range.start) as usize] += 1;
        if let Some(prev) = last.insert(e.tag.clone(), k) {
            assert!(prev < k, "{}: m{k} after m{prev}", e.tag);
        }
    }
    let missing = seen.iter().filter(|&&n| n == 0).count();
    let repeated = seen.iter().filter(|&&n| n > 1).count();
    assert_eq!(
        (missing, repeated, events.len()),
        (0, 0, seen.len()),
        "missing, repeated, total"
    );
}

fn sorted_unique(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v.dedup();
    v
}

#[test]
fn every_record_arrives_checked_and_acked_plain_and_gzip() {
    for compress in [Compress::None, Compress::Gzip] {
        let server = ForwardServer::start(ForwardOptions::default()).unwrap();
        let spool = tempfile::tempdir().unwrap();
        let mut cfg = config(&server, &spool);
        cfg.compress = compress;
        let mut run = Run::start(cfg);
        let mut rxs: Vec<_> = (0..10).map(|_| run.send(100)).collect();
        for rx in &mut rxs {
            assert!(settled(rx, Duration::from_secs(10)));
        }
        assert!(server.wait_for_events(1000, Duration::from_secs(10)));
        assert_eq!(server.violations(), Vec::<String>::new());
        // Exactly once each, in order within each tag.
        assert_once_in_order(&server, 0..1000);
        for tag in TAGS {
            let e = server.events().into_iter().find(|e| e.tag == tag).unwrap();
            let k: u64 = e.record["log"].as_str().unwrap()[1..].parse().unwrap();
            assert_eq!((e.secs, e.nanos), (1_800_000_000 + k as u32, k as u32));
        }
        let mode = if compress == Compress::Gzip {
            "compressed"
        } else {
            "forward"
        };
        let messages = server.messages();
        assert!(messages.iter().all(|m| m.mode == mode && m.chunk.is_some()));
        // One frame per tag per batch.
        assert_eq!(messages.len(), 30);
        assert_eq!(server.stats().acks, 30);
        let (stats, _) = run.stop();
        assert_eq!(counters::get(&stats.records_out), 1000);
        assert_eq!(counters::get(&stats.dropped), 0);
    }
}

#[test]
fn a_down_server_holds_nothing_back_and_gets_the_backlog_in_order_when_back() {
    let server = ForwardServer::start(ForwardOptions {
        faults: Faults {
            down: true,
            ..Faults::default()
        },
        ..ForwardOptions::default()
    })
    .unwrap();
    let spool = tempfile::tempdir().unwrap();
    let mut run = Run::start(config(&server, &spool));
    for _ in 0..20 {
        let mut rx = run.send(50);
        // Settled by spooling, while the server is down.
        assert!(settled(&mut rx, Duration::from_secs(5)));
    }
    assert_eq!(counters::get(&run.fstats.spooled_records), 1000);
    assert_eq!(server.stats().events, 0);
    assert!(counters::get(&run.fstats.spool_bytes) > 0);
    server.set_faults(Faults::default());
    assert!(server.wait_for_events(1000, Duration::from_secs(20)));
    std::thread::sleep(Duration::from_millis(300));
    assert_once_in_order(&server, 0..1000);
    assert_eq!(server.violations(), Vec::<String>::new());
    let (stats, fstats) = run.stop();
    assert_eq!(counters::get(&stats.records_out), 1000);
    assert_eq!(
        counters::get(&fstats.spool_bytes),
        0,
        "an idle spool takes no disk"
    );
}

#[test]
fn slow_late_and_missing_acks_never_hold_batches() {
    let server = ForwardServer::start(ForwardOptions {
        faults: Faults {
            never_ack: true,
            ..Faults::default()
        },
        ..ForwardOptions::default()
    })
    .unwrap();
    let spool = tempfile::tempdir().unwrap();
    let mut cfg = config(&server, &spool);
    cfg.timeout = Duration::from_millis(500);
    let mut run = Run::start(cfg);
    let mut rxs: Vec<_> = (0..20).map(|_| run.send(50)).collect();
    // Never acked: the batches are settled anyway (spooled after max_wait or the ack timeout).
    for rx in &mut rxs {
        assert!(settled(rx, Duration::from_secs(5)));
    }
    assert!(
        server.stats().events > 0,
        "the server got data, it just never acks"
    );
    // Slow and late now: still nothing held, and everything arrives.
    server.set_faults(Faults {
        ack_delay: Duration::from_millis(150),
        read_delay: Duration::from_millis(20),
        ..Faults::default()
    });
    let mut rxs: Vec<_> = (0..20).map(|_| run.send(50)).collect();
    for rx in &mut rxs {
        assert!(settled(rx, Duration::from_secs(5)));
    }
    server.set_faults(Faults::default());
    let deadline = Instant::now() + Duration::from_secs(20);
    while sorted_unique(logs(&server)).len() < 2000 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    // At least once: every record, some more than once (sent again after a missing ack).
    let distinct = sorted_unique(logs(&server));
    assert_eq!(
        (distinct.len(), distinct.first(), distinct.last()),
        (2000, Some(&0), Some(&1999))
    );
    assert_eq!(server.violations(), Vec::<String>::new());
    let (stats, _) = run.stop();
    assert_eq!(counters::get(&stats.records_out), 2000);
    assert!(counters::get(&stats.errors) > 0);
}

#[test]
fn a_connection_closed_mid_message_is_sent_again() {
    let server = ForwardServer::start(ForwardOptions {
        faults: Faults {
            close_mid_message_next: 2,
            ..Faults::default()
        },
        ..ForwardOptions::default()
    })
    .unwrap();
    let spool = tempfile::tempdir().unwrap();
    let mut run = Run::start(config(&server, &spool));
    // Big messages, so that a read ends in the middle of one.
    let mut rxs: Vec<_> = (0..3).map(|_| run.send(3000)).collect();
    for rx in &mut rxs {
        assert!(settled(rx, Duration::from_secs(10)));
    }
    assert!(server.wait_for_events(9000, Duration::from_secs(20)));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.stats().closed_mid_message, 2);
    // A cut message is not kept, so exactly once each.
    assert_once_in_order(&server, 0..9000);
    let (stats, _) = run.stop();
    assert_eq!(counters::get(&stats.records_out), 9000);
}

#[test]
fn a_full_spool_drops_the_oldest_with_a_count() {
    let server = ForwardServer::start(ForwardOptions {
        faults: Faults {
            down: true,
            ..Faults::default()
        },
        ..ForwardOptions::default()
    })
    .unwrap();
    let spool = tempfile::tempdir().unwrap();
    let mut cfg = config(&server, &spool);
    cfg.spool_limit = 1 << 20;
    let mut run = Run::start(cfg);
    let n = 40_000;
    for _ in 0..n / 500 {
        let mut rx = run.send(500);
        assert!(settled(&mut rx, Duration::from_secs(5)));
    }
    let dropped = counters::get(&run.stats.dropped);
    assert!(dropped > 0 && dropped < n, "{dropped}");
    assert_eq!(counters::get(&run.fstats.spool_dropped_records), dropped);
    assert!(counters::get(&run.fstats.spool_bytes) <= 1 << 20);
    server.set_faults(Faults::default());
    let kept = n - dropped;
    assert!(server.wait_for_events(kept as usize, Duration::from_secs(20)));
    std::thread::sleep(Duration::from_millis(300));
    // The newest survive, all of them, once, in order.
    assert_once_in_order(&server, dropped..n);
    run.stop();
}

#[test]
fn a_restart_sends_what_the_spool_kept() {
    let server = ForwardServer::start(ForwardOptions {
        faults: Faults {
            down: true,
            ..Faults::default()
        },
        ..ForwardOptions::default()
    })
    .unwrap();
    let spool = tempfile::tempdir().unwrap();
    let mut run = Run::start(config(&server, &spool));
    for _ in 0..10 {
        let mut rx = run.send(100);
        assert!(settled(&mut rx, Duration::from_secs(5)));
    }
    run.stop();
    assert_eq!(server.stats().events, 0);
    server.set_faults(Faults::default());
    let run = Run::start(config(&server, &spool));
    assert!(server.wait_for_events(1000, Duration::from_secs(20)));
    std::thread::sleep(Duration::from_millis(300));
    assert_once_in_order(&server, 0..1000);
    let (stats, _) = run.stop();
    assert_eq!(counters::get(&stats.records_out), 1000);
}

#[test]
fn the_shared_key_handshake() {
    let server = ForwardServer::start(ForwardOptions {
        shared_key: Some("s3cret".into()),
        ..ForwardOptions::default()
    })
    .unwrap();
    let spool = tempfile::tempdir().unwrap();
    let mut cfg = config(&server, &spool);
    cfg.shared_key = Some("s3cret".into());
    let mut run = Run::start(cfg);
    let mut rx = run.send(30);
    assert!(settled(&mut rx, Duration::from_secs(10)));
    assert!(server.wait_for_events(30, Duration::from_secs(10)));
    assert_eq!(server.stats().handshakes_ok, 1);
    run.stop();

    // A wrong key: nothing is delivered, the batch is settled by the spool, errors counted.
    let spool = tempfile::tempdir().unwrap();
    let mut cfg = config(&server, &spool);
    cfg.shared_key = Some("wrong".into());
    let mut run = Run::start(cfg);
    let mut rx = run.send(30);
    assert!(settled(&mut rx, Duration::from_secs(10)));
    std::thread::sleep(Duration::from_millis(500));
    assert!(server.stats().handshakes_failed >= 1);
    assert_eq!(server.stats().events, 30);
    let (stats, _) = run.stop();
    assert_eq!(counters::get(&stats.records_out), 0);
    assert!(counters::get(&stats.errors) >= 1);
}
