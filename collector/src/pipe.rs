//! The hand-over from the collector to the outputs: batches of records, with the memory they hold
//! reserved against a bound. When the outputs fall behind, the reservation blocks and reading
//! pauses; the files on disk are the buffer.

use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use crate::record::Record;

/// Records on their way to the outputs, and the memory reserved for them. The reservation is
/// released when the batch's `Delivery` is dropped, which outputs do once the records are
/// acknowledged.
pub struct RecordBatch {
    pub records: Records,
    pub delivery: Delivery,
}

/// The records of a batch. When the outputs are done with them, an input that asked for it
/// ([`BatchSender::recycle`]) gets the vector back and frees the records on its own thread:
/// glibc's allocator takes the lock of the allocating thread's arena for every block another
/// thread frees, and with the file input allocating and an output freeing millions of small
/// blocks, the two threads spent a fifth of their CPU waking each other on that lock.
pub struct Records {
    records: Vec<Record>,
    home: Option<mpsc::UnboundedSender<Vec<Record>>>,
}

impl Records {
    /// Records freed wherever they are dropped.
    pub fn new(records: Vec<Record>) -> Records {
        Records {
            records,
            home: None,
        }
    }

    pub fn into_vec(mut self) -> Vec<Record> {
        self.home = None;
        std::mem::take(&mut self.records)
    }
}

impl From<Vec<Record>> for Records {
    fn from(records: Vec<Record>) -> Records {
        Records::new(records)
    }
}

impl Deref for Records {
    type Target = Vec<Record>;

    fn deref(&self) -> &Vec<Record> {
        &self.records
    }
}

impl DerefMut for Records {
    fn deref_mut(&mut self) -> &mut Vec<Record> {
        &mut self.records
    }
}

impl Drop for Records {
    fn drop(&mut self) {
        if let Some(home) = self.home.take() {
            // The input is gone (stopping): the records are freed here instead.
            let _ = home.send(std::mem::take(&mut self.records));
        }
    }
}

impl std::fmt::Debug for Records {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.records.iter()).finish()
    }
}

/// Records in flight. An output calls [`Delivery::ack`] once it has settled every record of the
/// batch (delivered, dead-lettered or given up on with a counter); only then may the files'
/// checkpoints move past them. Dropping it without `ack` (an output stopped mid-way) releases
/// the memory but leaves the records to be read again after a restart.
pub struct Delivery {
    _memory: Option<OwnedSemaphorePermit>,
    ack: Option<AckTo>,
}

/// Whom a settled delivery tells.
enum AckTo {
    /// The file input's tracker: batch `seq` is settled.
    Seq(u64, std::sync::mpsc::Sender<u64>),
    /// A network input waiting to acknowledge its sender.
    Notify(oneshot::Sender<()>),
    /// One output's share of a batch that several outputs receive.
    Share(Arc<Shares>),
}

/// A delivery split between outputs: the whole is settled when the last share is.
struct Shares {
    left: AtomicUsize,
    whole: Mutex<Option<Delivery>>,
}

impl Delivery {
    /// A delivery that holds no reservation and reports to no one (for tests).
    pub fn detached() -> Delivery {
        Delivery {
            _memory: None,
            ack: None,
        }
    }

    /// A delivery that holds no reservation and fires `tx` once settled (for tests, and for
    /// an output that splits its own work).
    pub fn notify(tx: oneshot::Sender<()>) -> Delivery {
        Delivery {
            _memory: None,
            ack: Some(AckTo::Notify(tx)),
        }
    }

    pub fn ack(mut self) {
        match self.ack.take() {
            // The collector may be gone already (stopping); nothing to record then.
            Some(AckTo::Seq(seq, tx)) => {
                let _ = tx.send(seq);
            }
            Some(AckTo::Notify(tx)) => {
                let _ = tx.send(());
            }
            // The last share settles the whole.
            Some(AckTo::Share(shares)) if shares.left.fetch_sub(1, Ordering::AcqRel) == 1 => {
                let whole = shares.whole.lock().map(|mut w| w.take());
                if let Ok(Some(whole)) = whole {
                    whole.ack();
                }
            }
            Some(AckTo::Share(_)) | None => {}
        }
    }

    /// Splits the delivery into `n` shares, one per output: the whole is settled when every
    /// share is, and its memory is released when the last share is settled or dropped. A share
    /// dropped without `ack` leaves the whole unsettled (read again after a restart). One share
    /// is the delivery itself; zero shares settle it at once.
    pub fn split(self, n: usize) -> Vec<Delivery> {
        match n {
            0 => {
                self.ack();
                Vec::new()
            }
            1 => vec![self],
            n => {
                let shares = Arc::new(Shares {
                    left: AtomicUsize::new(n),
                    whole: Mutex::new(Some(self)),
                });
                (0..n)
                    .map(|_| Delivery {
                        _memory: None,
                        ack: Some(AckTo::Share(Arc::clone(&shares))),
                    })
                    .collect()
            }
        }
    }
}

#[derive(Debug)]
pub struct Closed;

pub struct BatchSender {
    tx: mpsc::Sender<RecordBatch>,
    acks: Option<std::sync::mpsc::Sender<u64>>,
    memory: Arc<Semaphore>,
    limit: usize,
    runtime: tokio::runtime::Handle,
    recycle: Option<Recycler>,
}

/// Where the vectors of a blocking input's batches come back to, to be freed (and reused) on
/// its thread.
struct Recycler {
    tx: mpsc::UnboundedSender<Vec<Record>>,
    rx: mpsc::UnboundedReceiver<Vec<Record>>,
    /// Emptied vectors kept for the next batches (their capacity is what a batch needs).
    spare: Vec<Vec<Record>>,
}

/// Emptied vectors kept for reuse while the input reads; more are freed. More than one output
/// keeps away at once (the pipe's batches and the one being encoded), so that every batch gets
/// a vector that came back; with several outputs, whose queues hold more, the extra vectors are
/// freed. A batch's vector is larger than glibc's mmap threshold (2,304 records of 168 bytes,
/// 387 KB): a new one is mapped afresh and each of its pages faulted in as records are pushed,
/// and a freed one is unmapped. With two kept, the input made a new vector for about one batch
/// in six (`cri`: 20,600 page faults a run against 3,900 with eight, and 0.09 s more system
/// time). A vector is only made when none is kept, so those kept never outnumber those that
/// were away at once.
const SPARE_VECTORS: usize = 8;

/// Emptied vectors kept once the input has caught up: a quiet node does not hold a burst's
/// vectors until the next one, and an input that catches up every few milliseconds (a steady
/// node, one small batch at a time) still reuses its vectors rather than mapping new ones.
const QUIET_SPARE_VECTORS: usize = 2;

// A quiet input keeps fewer than a busy one (and the test below needs two more).
const _: () = assert!(QUIET_SPARE_VECTORS + 2 <= SPARE_VECTORS);

impl Recycler {
    fn take_back(&mut self, mut v: Vec<Record>) {
        v.clear();
        if self.spare.len() < SPARE_VECTORS && v.capacity() > 0 {
            self.spare.push(v);
        }
    }

    fn drain(&mut self) {
        while let Ok(v) = self.rx.try_recv() {
            self.take_back(v);
        }
    }
}

pub type BatchReceiver = mpsc::Receiver<RecordBatch>;

/// Batches waiting for the outputs. The memory bound is the limit; this keeps the input from
/// running further ahead of the outputs than they need (the batch being encoded and the next
/// ones), so that when the input is faster, as it usually is, the pipe does not sit full at
/// the memory bound: the files on disk are the buffer. Eight batches made the peak memory
/// depend on which side was faster (a faster CRI decoder peaked 7 MiB above Docker); three
/// keep the outputs as busy (same lines/s) with 5 MiB less at the peak.
const PIPE_BATCHES: usize = 3;

/// A pipe whose batches may hold at most `memory_limit` bytes of records in all.
pub fn pipe(memory_limit: usize, runtime: tokio::runtime::Handle) -> (BatchSender, BatchReceiver) {
    let limit = memory_limit.clamp(1, Semaphore::MAX_PERMITS);
    let (tx, rx) = mpsc::channel(PIPE_BATCHES);
    (
        BatchSender {
            tx,
            acks: None,
            memory: Arc::new(Semaphore::new(limit)),
            limit,
            runtime,
            recycle: None,
        },
        rx,
    )
}

impl BatchSender {
    /// Deliveries of batches sent from now on report to `acks`.
    pub fn report_to(&mut self, acks: std::sync::mpsc::Sender<u64>) {
        self.acks = Some(acks);
    }

    /// The vectors of batches sent from now on come back to this sender once the outputs are
    /// done with them, and their records are freed by [`BatchSender::send_blocking`] and
    /// [`BatchSender::spare_vec`], on the sending thread. For an input on a thread of its own.
    pub fn recycle(&mut self) {
        let (tx, rx) = mpsc::unbounded_channel();
        self.recycle = Some(Recycler {
            tx,
            rx,
            spare: Vec::new(),
        });
    }

    /// Frees the records of the batches that came back, and the vectors kept for reuse past
    /// `QUIET_SPARE_VECTORS`. Sending frees the records too; an input that goes quiet calls
    /// this before it waits, so that a finished burst is not kept in memory until the next one.
    pub fn reclaim(&mut self) {
        if let Some(r) = &mut self.recycle {
            r.drain();
            r.spare.truncate(QUIET_SPARE_VECTORS);
        }
    }

    /// An empty vector for the next batch: one that came back, when there is one.
    pub fn spare_vec(&mut self) -> Vec<Record> {
        match &mut self.recycle {
            Some(r) => {
                r.drain();
                r.spare.pop().unwrap_or_default()
            }
            None => Vec::new(),
        }
    }

    /// Sends records from a plain (non-async) thread, waiting while the memory bound is reached
    /// or the pipe is full.
    /// `stop` is checked while waiting, so a stopping agent is not held up by a stuck output.
    /// `seq` numbers the batch for acknowledgements. Vectors coming back meanwhile are freed
    /// as they come, so that what the outputs are done with never waits for the bound.
    pub fn send_blocking(
        &mut self,
        records: Vec<Record>,
        seq: u64,
        stop: &dyn Fn() -> bool,
    ) -> Result<(), Closed> {
        // The vector's spare capacity is memory too.
        let bytes: usize = records.iter().map(Record::heap_size).sum::<usize>()
            + records.capacity() * std::mem::size_of::<Record>();
        let want = bytes.clamp(1, self.limit).min(u32::MAX as usize) as u32;
        if let Some(r) = &mut self.recycle {
            r.drain();
        }
        let acquire = self.memory.clone().acquire_many_owned(want);
        tokio::pin!(acquire);
        let permit = match wait_for(&self.runtime, self.recycle.as_mut(), acquire, stop) {
            Some(Ok(permit)) => permit,
            Some(Err(_)) | None => return Err(Closed),
        };
        let batch = RecordBatch {
            records: Records {
                records,
                home: self.recycle.as_ref().map(|r| r.tx.clone()),
            },
            delivery: Delivery {
                _memory: Some(permit),
                ack: self.acks.clone().map(|tx| AckTo::Seq(seq, tx)),
            },
        };
        // While the pipe is full, the batches the outputs finish come back too: freed as they
        // come, not when this one is through, or a faster input holds the pipe's batches and as
        // many finished ones.
        let room = self.tx.reserve();
        tokio::pin!(room);
        match wait_for(&self.runtime, self.recycle.as_mut(), room, stop) {
            Some(Ok(room)) => {
                room.send(batch);
                Ok(())
            }
            Some(Err(_)) | None => Err(Closed),
        }
    }

    /// A sender for another input into the same pipe, with a memory bound of its own
    /// (`memory_limit` bytes: the bound is per input) and no acknowledgement channel.
    pub fn another_input(&self, memory_limit: usize) -> BatchSender {
        let limit = memory_limit.clamp(1, Semaphore::MAX_PERMITS);
        BatchSender {
            tx: self.tx.clone(),
            acks: None,
            memory: Arc::new(Semaphore::new(limit)),
            limit,
            runtime: self.runtime.clone(),
            recycle: None,
        }
    }

    /// Sends records from async code, waiting while the memory bound is reached; `settled`
    /// fires when the outputs have settled every record (it is dropped unfired if they stop
    /// first). A batch larger than the whole bound waits for all of it.
    pub async fn send(
        &self,
        records: Vec<Record>,
        settled: Option<oneshot::Sender<()>>,
    ) -> Result<(), Closed> {
        let bytes: usize = records.iter().map(Record::heap_size).sum::<usize>()
            + records.capacity() * std::mem::size_of::<Record>();
        let want = bytes.clamp(1, self.limit).min(u32::MAX as usize) as u32;
        let permit = Arc::clone(&self.memory)
            .acquire_many_owned(want)
            .await
            .map_err(|_| Closed)?;
        let batch = RecordBatch {
            records: Records::new(records),
            delivery: Delivery {
                _memory: Some(permit),
                ack: settled.map(AckTo::Notify),
            },
        };
        self.tx.send(batch).await.map_err(|_| Closed)
    }

    /// A handle that reads the memory in use, for metrics.
    pub fn memory_gauge(&self) -> MemoryGauge {
        MemoryGauge {
            memory: Arc::clone(&self.memory),
            limit: self.limit,
        }
    }
}

/// How often a blocked input looks at its stop flag.
const STOP_CHECK: Duration = Duration::from_millis(200);

/// Waits on a blocking input's thread for `wanted` (memory, or room in the pipe), freeing the
/// batches that come back meanwhile, and looks at `stop` every [`STOP_CHECK`]. `None`: stopping.
fn wait_for<F: Future>(
    runtime: &tokio::runtime::Handle,
    mut recycle: Option<&mut Recycler>,
    mut wanted: Pin<&mut F>,
    stop: &dyn Fn() -> bool,
) -> Option<F::Output> {
    loop {
        let got = runtime.block_on(async {
            let deadline = tokio::time::sleep(STOP_CHECK);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    out = &mut wanted => return Some(out),
                    _ = &mut deadline => return None,
                    // Without a recycler this branch is off at once.
                    Some(v) = async {
                        match recycle.as_deref_mut() {
                            Some(r) => r.rx.recv().await,
                            None => None,
                        }
                    } => {
                        if let Some(r) = recycle.as_deref_mut() {
                            r.take_back(v);
                        }
                    }
                }
            }
        });
        match got {
            Some(out) => return Some(out),
            None if stop() => return None,
            None => {}
        }
    }
}

/// Reads how much of the memory bound batches in flight hold.
#[derive(Debug, Clone)]
pub struct MemoryGauge {
    memory: Arc<Semaphore>,
    limit: usize,
}

impl MemoryGauge {
    pub fn in_use(&self) -> usize {
        self.limit - self.memory.available_permits()
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn a_split_delivery_settles_when_every_share_has() {
        let (tx, mut rx) = oneshot::channel();
        let mut shares = Delivery::notify(tx).split(3);
        assert_eq!(shares.len(), 3);
        shares.pop().unwrap().ack();
        shares.pop().unwrap().ack();
        assert!(rx.try_recv().is_err(), "one share is still out");
        shares.pop().unwrap().ack();
        assert!(rx.try_recv().is_ok());
    }

    #[test]
    fn a_dropped_share_leaves_the_whole_unsettled() {
        let (tx, mut rx) = oneshot::channel();
        let mut shares = Delivery::notify(tx).split(2);
        shares.pop().unwrap().ack();
        drop(shares);
        assert!(matches!(
            rx.try_recv(),
            Err(oneshot::error::TryRecvError::Closed)
        ));
        let (tx, mut rx) = oneshot::channel();
        assert!(Delivery::notify(tx).split(0).is_empty());
        assert!(rx.try_recv().is_ok(), "no outputs: settled at once");
    }

    /// A line of a file of its own (its source counts the records that hold it).
    pub(crate) fn line_of(path: &str) -> Record {
        Record {
            source: Arc::new(crate::Source {
                id: 1,
                path: Arc::from(std::path::Path::new(path)),
                tag: crate::Tag::OfPath,
                pod: None,
                meta: None,
            }),
            start_offset: 0,
            end_offset: 2,
            time: crate::time::EventTime::default(),
            time_text: crate::time_text::TimeText::default(),
            stream: None,
            log: crate::LogText::plain("x"),
            merged: None,
            truncated: false,
            kind: crate::RecordKind::Line,
        }
    }

    #[test]
    fn records_that_came_back_are_freed_on_reclaim_without_another_send() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let (mut tx, mut rx) = pipe(1 << 20, runtime.handle().clone());
        tx.recycle();
        let record = line_of("/x.log");
        let source = Arc::clone(&record.source);
        tx.send_blocking(vec![record; 3], 1, &|| false).unwrap();
        let batch = rx.blocking_recv().unwrap();
        assert_eq!(Arc::strong_count(&source), 4);
        drop(batch);
        // Back home, but not freed there yet.
        assert_eq!(Arc::strong_count(&source), 4);
        tx.reclaim();
        assert_eq!(Arc::strong_count(&source), 1);
    }

    #[test]
    fn vectors_that_came_back_are_reused_until_the_input_goes_quiet() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let (mut tx, mut rx) = pipe(1 << 30, runtime.handle().clone());
        tx.recycle();
        // More batches away at once than are kept: the test holds all of them.
        let away = SPARE_VECTORS + 2;
        let mut taken = Vec::new();
        let mut sent = std::collections::HashSet::new();
        for seq in 0..away as u64 {
            let mut v = Vec::with_capacity(1000);
            v.push(line_of("/a.log"));
            sent.insert(v.as_ptr() as usize);
            tx.send_blocking(v, seq, &|| false).unwrap();
            taken.push(rx.blocking_recv().unwrap());
        }
        drop(taken);
        let mut reused = std::collections::HashSet::new();
        for _ in 0..SPARE_VECTORS {
            let v = tx.spare_vec();
            assert!(v.is_empty() && v.capacity() >= 1000);
            assert!(sent.contains(&(v.as_ptr() as usize)), "one of those sent");
            reused.insert(v.as_ptr() as usize);
        }
        assert_eq!(reused.len(), SPARE_VECTORS, "each kept once");
        assert_eq!(tx.spare_vec().capacity(), 0, "the rest were freed");

        for seq in 0..(QUIET_SPARE_VECTORS + 2) as u64 {
            tx.send_blocking(vec![line_of("/a.log")], 100 + seq, &|| false)
                .unwrap();
            drop(rx.blocking_recv().unwrap());
        }
        tx.reclaim();
        for _ in 0..QUIET_SPARE_VECTORS {
            assert_ne!(tx.spare_vec().capacity(), 0, "a quiet input keeps a few");
        }
        assert_eq!(tx.spare_vec().capacity(), 0, "and frees the others");
    }

    #[test]
    fn records_that_come_back_while_the_pipe_is_full_are_freed_meanwhile() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_time()
            .build()
            .unwrap();
        let (mut tx, mut rx) = pipe(1 << 20, runtime.handle().clone());
        tx.recycle();
        let first = line_of("/first.log");
        let source = Arc::clone(&first.source);
        tx.send_blocking(vec![first; 3], 1, &|| false).unwrap();
        let taken = rx.blocking_recv().unwrap();
        for seq in 0..PIPE_BATCHES as u64 {
            tx.send_blocking(vec![line_of("/more.log")], 2 + seq, &|| false)
                .unwrap();
        }
        // The pipe is full: this send waits for room, once it has reserved its memory.
        let gauge = tx.memory_gauge();
        let before = gauge.in_use();
        let blocked = std::thread::spawn(move || {
            tx.send_blocking(vec![line_of("/last.log")], 9, &|| false)
                .unwrap();
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while gauge.in_use() == before && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(gauge.in_use() > before, "the last send reserved its memory");
        drop(taken);
        while Arc::strong_count(&source) > 1 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(Arc::strong_count(&source), 1, "freed while the send waits");
        assert!(!blocked.is_finished(), "the pipe is still full");
        let _room = rx.blocking_recv().unwrap();
        blocked.join().unwrap();
    }

    #[test]
    fn a_stopping_input_does_not_wait_for_room_in_a_full_pipe() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_time()
            .build()
            .unwrap();
        let (mut tx, _rx) = pipe(1 << 20, runtime.handle().clone());
        tx.recycle();
        for seq in 0..PIPE_BATCHES as u64 {
            tx.send_blocking(vec![line_of("/a.log")], seq, &|| false)
                .unwrap();
        }
        let sent = tx.send_blocking(vec![line_of("/a.log")], 9, &|| true);
        assert!(matches!(sent, Err(Closed)));
    }

    #[tokio::test]
    async fn another_input_has_its_own_bound_and_hears_its_acks() {
        let (tx, mut rx) = pipe(1 << 20, tokio::runtime::Handle::current());
        let other = tx.another_input(1 << 10);
        assert_eq!(other.memory_gauge().limit(), 1 << 10);
        let (done_tx, done_rx) = oneshot::channel();
        other.send(Vec::new(), Some(done_tx)).await.unwrap();
        let batch = rx.recv().await.unwrap();
        assert_eq!(other.memory_gauge().in_use(), 1);
        batch.delivery.ack();
        done_rx.await.unwrap();
        assert_eq!(other.memory_gauge().in_use(), 0);
    }
}
