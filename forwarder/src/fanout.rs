//! Fan-out: one pipe, several outputs. Every output gets the same records, shared (an
//! `Arc<Records>`, never a copy per output), and its own share of the batch's delivery; the
//! batch is settled (the files' checkpoints may move) when every output has settled its share.
//!
//! With one output there is no fan-out task: [`OutputFeed::direct`] reads the pipe itself and
//! only wraps each batch's vector in an `Arc`, so a single output costs what it did before.
//!
//! Outputs must not block each other: the fan-out hands a batch to each output in turn and waits
//! only while an output's queue is full. An output that can fall behind (the forward output,
//! whose server may be down for an hour) must therefore keep taking batches and settle its share
//! on its own terms (by spooling them); see `crate::forward`.

use std::sync::Arc;

use logship_collector::{BatchReceiver, Delivery, Records};
use tokio::sync::mpsc;

/// Records shared by the outputs that receive them, and this output's share of the delivery.
pub struct SharedBatch {
    pub records: Arc<Records>,
    pub delivery: Delivery,
}

/// What an output reads its batches from: the pipe itself (one output) or its queue from the
/// fan-out (several).
pub struct OutputFeed {
    inner: Feed,
}

enum Feed {
    Direct(BatchReceiver),
    Shared(mpsc::Receiver<SharedBatch>),
}

impl OutputFeed {
    /// The only output: it reads the pipe directly.
    pub fn direct(rx: BatchReceiver) -> OutputFeed {
        OutputFeed {
            inner: Feed::Direct(rx),
        }
    }

    /// The next batch; `None` once the pipe is closed and drained.
    pub async fn recv(&mut self) -> Option<SharedBatch> {
        match &mut self.inner {
            Feed::Direct(rx) => rx.recv().await.map(|b| SharedBatch {
                records: Arc::new(b.records),
                delivery: b.delivery,
            }),
            Feed::Shared(rx) => rx.recv().await,
        }
    }

    /// Like [`recv`](Self::recv), from a blocking thread.
    pub fn blocking_recv(&mut self) -> Option<SharedBatch> {
        match &mut self.inner {
            Feed::Direct(rx) => rx.blocking_recv().map(|b| SharedBatch {
                records: Arc::new(b.records),
                delivery: b.delivery,
            }),
            Feed::Shared(rx) => rx.blocking_recv(),
        }
    }
}

/// Batches queued per output between the fan-out and the output. Small: batches hold memory of
/// the pipe's bound, and the outputs take them promptly.
const QUEUE: usize = 16;

/// Feeds `n` outputs from one pipe. Returns one feed per output and the task that moves the
/// batches (run it on the runtime; it ends when the pipe closes). With `n == 1` the feed reads
/// the pipe directly and the task does nothing.
pub fn fan_out(
    rx: BatchReceiver,
    n: usize,
) -> (
    Vec<OutputFeed>,
    impl std::future::Future<Output = ()> + Send + 'static,
) {
    let mut direct = None;
    let mut senders = Vec::new();
    let mut feeds = Vec::new();
    if n <= 1 {
        feeds.push(OutputFeed::direct(rx));
    } else {
        for _ in 0..n {
            let (tx, out) = mpsc::channel(QUEUE);
            senders.push(tx);
            feeds.push(OutputFeed {
                inner: Feed::Shared(out),
            });
        }
        direct = Some(rx);
    }
    let task = async move {
        let Some(mut rx) = direct else { return };
        while let Some(batch) = rx.recv().await {
            let records = Arc::new(batch.records);
            let shares = batch.delivery.split(senders.len());
            for (tx, delivery) in senders.iter().zip(shares) {
                let share = SharedBatch {
                    records: Arc::clone(&records),
                    delivery,
                };
                // An output that has stopped drops its share: the batch stays unsettled and
                // is read again after a restart, and the other outputs go on.
                let _ = tx.send(share).await;
            }
        }
    };
    (feeds, task)
}

#[cfg(test)]
mod tests {
    use super::*;
    use logship_collector::pipe;
    use tokio::sync::oneshot;

    #[tokio::test]
    async fn every_output_gets_the_same_records_and_the_batch_settles_after_all() {
        let (tx, rx) = pipe(1 << 20, tokio::runtime::Handle::current());
        let input = tx.another_input(1 << 20);
        let (mut feeds, task) = fan_out(rx, 2);
        let task = tokio::spawn(task);
        let (settled_tx, mut settled) = oneshot::channel();
        input.send(Vec::new(), Some(settled_tx)).await.unwrap();
        let mut b = feeds.pop().unwrap();
        let mut a = feeds.pop().unwrap();
        let batch_a = a.recv().await.unwrap();
        let batch_b = b.recv().await.unwrap();
        assert!(
            Arc::ptr_eq(&batch_a.records, &batch_b.records),
            "shared, not copied"
        );
        batch_b.delivery.ack();
        tokio::task::yield_now().await;
        assert!(
            settled.try_recv().is_err(),
            "one output has not settled yet"
        );
        assert_eq!(
            input.memory_gauge().in_use(),
            1,
            "memory held until all settle"
        );
        batch_a.delivery.ack();
        assert!(settled.await.is_ok());
        assert_eq!(input.memory_gauge().in_use(), 0);
        drop((tx, input));
        task.await.unwrap();
        assert!(a.recv().await.is_none() && b.recv().await.is_none());
    }

    #[tokio::test]
    async fn one_output_reads_the_pipe_directly() {
        let (tx, rx) = pipe(1 << 20, tokio::runtime::Handle::current());
        let input = tx.another_input(1 << 20);
        let (mut feeds, task) = fan_out(rx, 1);
        task.await;
        let (settled_tx, settled) = oneshot::channel();
        input.send(Vec::new(), Some(settled_tx)).await.unwrap();
        let batch = feeds[0].recv().await.unwrap();
        batch.delivery.ack();
        assert!(settled.await.is_ok());
    }
}
