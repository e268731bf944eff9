//! The hand-over from the collector to the outputs: batches of records, with the memory they hold
//! reserved against a bound. When the outputs fall behind, the reservation blocks and reading
//! pauses; the files on disk are the buffer.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

use crate::record::Record;

/// Records on their way to the outputs, and the memory reserved for them. The reservation is
/// released when the batch's `Delivery` is dropped, which outputs do once the records are
/// acknowledged.
pub struct RecordBatch {
    pub records: Vec<Record>,
    pub delivery: Delivery,
}

/// Records in flight. An output calls [`Delivery::ack`] once it has settled every record of the
/// batch (delivered, dead-lettered or given up on with a counter); only then may the files'
/// checkpoints move past them. Dropping it without `ack` (an output stopped mid-way) releases
/// the memory but leaves the records to be read again after a restart.
pub struct Delivery {
    _memory: Option<OwnedSemaphorePermit>,
    ack: Option<(u64, std::sync::mpsc::Sender<u64>)>,
}

impl Delivery {
    /// A delivery that holds no reservation and reports to no one (for tests).
    pub fn detached() -> Delivery {
        Delivery {
            _memory: None,
            ack: None,
        }
    }

    pub fn ack(mut self) {
        if let Some((seq, tx)) = self.ack.take() {
            // The collector may be gone already (stopping); nothing to record then.
            let _ = tx.send(seq);
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
}

pub type BatchReceiver = mpsc::Receiver<RecordBatch>;

/// A pipe whose batches may hold at most `memory_limit` bytes of records in all.
pub fn pipe(memory_limit: usize, runtime: tokio::runtime::Handle) -> (BatchSender, BatchReceiver) {
    let limit = memory_limit.clamp(1, Semaphore::MAX_PERMITS);
    let (tx, rx) = mpsc::channel(1024);
    (
        BatchSender {
            tx,
            acks: None,
            memory: Arc::new(Semaphore::new(limit)),
            limit,
            runtime,
        },
        rx,
    )
}

impl BatchSender {
    /// Deliveries of batches sent from now on report to `acks`.
    pub fn report_to(&mut self, acks: std::sync::mpsc::Sender<u64>) {
        self.acks = Some(acks);
    }

    /// Sends records from a plain (non-async) thread, waiting while the memory bound is reached.
    /// `stop` is checked while waiting, so a stopping agent is not held up by a stuck output.
    /// `seq` numbers the batch for acknowledgements.
    pub fn send_blocking(
        &self,
        records: Vec<Record>,
        seq: u64,
        stop: &dyn Fn() -> bool,
    ) -> Result<(), Closed> {
        let bytes: usize = records.iter().map(Record::size).sum();
        let want = bytes.clamp(1, self.limit).min(u32::MAX as usize) as u32;
        let permit = loop {
            let acquire = self.memory.clone().acquire_many_owned(want);
            let got = self.runtime.block_on(async {
                tokio::time::timeout(Duration::from_millis(200), acquire).await
            });
            match got {
                Ok(Ok(p)) => break p,
                Ok(Err(_)) => return Err(Closed),
                Err(_) if stop() => return Err(Closed),
                Err(_) => continue,
            }
        };
        let batch = RecordBatch {
            records,
            delivery: Delivery {
                _memory: Some(permit),
                ack: self.acks.clone().map(|tx| (seq, tx)),
            },
        };
        self.tx.blocking_send(batch).map_err(|_| Closed)
    }

    /// Bytes currently reserved by batches in flight.
    pub fn memory_in_use(&self) -> usize {
        self.limit - self.memory.available_permits()
    }
}
