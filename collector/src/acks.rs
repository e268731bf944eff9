//! Acknowledgements back to the collector: a file's checkpoint may move past records only when
//! every output has settled them. Batches are numbered in the order they are sent; outputs settle
//! them in any order (requests run concurrently), and progress is applied in batch order, so a
//! checkpoint never jumps over a batch that is still in flight.

use std::collections::{HashSet, VecDeque};
use std::path::Path;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where a file stands once a batch is settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub id: u64,
    pub path: Arc<Path>,
    pub dev: u64,
    pub ino: u64,
    pub offset: u64,
    /// The file is finished and gone: forget its checkpoint once this is settled.
    pub forget: bool,
}

pub struct AckTracker {
    next_seq: u64,
    pending: VecDeque<(u64, Vec<Progress>)>,
    settled: HashSet<u64>,
    rx: Receiver<u64>,
    tx: Sender<u64>,
}

impl Default for AckTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl AckTracker {
    pub fn new() -> AckTracker {
        let (tx, rx) = channel();
        AckTracker {
            next_seq: 0,
            pending: VecDeque::new(),
            settled: HashSet::new(),
            rx,
            tx,
        }
    }

    /// The sender outputs use (through `Delivery::ack`) to settle a batch.
    pub fn sender(&self) -> Sender<u64> {
        self.tx.clone()
    }

    /// Numbers the next batch and remembers the progress it carries.
    pub fn register(&mut self, progress: Vec<Progress>) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.pending.push_back((seq, progress));
        seq
    }

    /// Settles a batch directly (one that carried no records).
    pub fn settle(&mut self, seq: u64) {
        self.settled.insert(seq);
    }

    /// Takes back the batch just registered, which could not be sent (the input is stopping):
    /// its progress is never recorded, so its lines are read again at the next start, and
    /// nothing waits for it. Only the last one registered can be taken back: a later batch's
    /// progress could otherwise be recorded past lines that were never delivered.
    pub fn withdraw(&mut self, seq: u64) {
        if self.pending.back().is_some_and(|(last, _)| *last == seq) {
            self.pending.pop_back();
        }
    }

    /// Takes in what outputs settled and returns the progress now safe to record, in order.
    pub fn poll(&mut self) -> Vec<Progress> {
        while let Ok(seq) = self.rx.try_recv() {
            self.settled.insert(seq);
        }
        self.advance()
    }

    /// Like [`poll`](Self::poll), waiting up to `deadline` for everything pending to settle.
    pub fn drain(&mut self, deadline: Instant) -> Vec<Progress> {
        let mut out = self.poll();
        while !self.pending.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            match self.rx.recv_timeout(left.min(Duration::from_millis(100))) {
                Ok(seq) => {
                    self.settled.insert(seq);
                    out.extend(self.advance());
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        out
    }

    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    fn advance(&mut self) -> Vec<Progress> {
        let mut out = Vec::new();
        while let Some((seq, _)) = self.pending.front() {
            if !self.settled.remove(seq) {
                break;
            }
            if let Some((_, progress)) = self.pending.pop_front() {
                out.extend(progress);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(offset: u64) -> Progress {
        Progress {
            id: 1,
            path: Arc::from(Path::new("/a")),
            dev: 0,
            ino: 0,
            offset,
            forget: false,
        }
    }

    #[test]
    fn progress_is_applied_in_batch_order() {
        let mut t = AckTracker::new();
        let tx = t.sender();
        let a = t.register(vec![p(10)]);
        let b = t.register(vec![p(20)]);
        let c = t.register(vec![p(30)]);
        tx.send(b).unwrap();
        assert!(t.poll().is_empty(), "b waits for a");
        tx.send(a).unwrap();
        assert_eq!(t.poll(), vec![p(10), p(20)]);
        assert_eq!(t.in_flight(), 1);
        t.settle(c);
        assert_eq!(t.poll(), vec![p(30)]);
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn a_withdrawn_batch_is_not_waited_for_and_its_progress_never_recorded() {
        let mut t = AckTracker::new();
        let tx = t.sender();
        let a = t.register(vec![p(10)]);
        let b = t.register(vec![p(20)]);
        t.withdraw(a);
        assert_eq!(t.in_flight(), 2, "only the last one can be taken back");
        t.withdraw(b);
        assert_eq!(t.in_flight(), 1);
        tx.send(a).unwrap();
        let got = t.drain(Instant::now() + Duration::from_secs(5));
        assert_eq!(got, vec![p(10)]);
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn drain_waits_until_the_deadline() {
        let mut t = AckTracker::new();
        let tx = t.sender();
        let a = t.register(vec![p(10)]);
        t.register(vec![p(20)]);
        std::thread::spawn(move || tx.send(a));
        let got = t.drain(Instant::now() + Duration::from_millis(300));
        assert_eq!(got, vec![p(10)]);
        assert_eq!(t.in_flight(), 1);
    }
}
