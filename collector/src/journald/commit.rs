//! Moving the journald checkpoint: batches are settled by the outputs in any order, the cursor
//! moves in the order they were read, and only past batches every output has settled. A batch
//! dropped unsettled (the outputs stopped first) stops the cursor for good: what follows it is
//! read again at the next start.

use crate::counters;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, Instant};

use super::cursor::CursorStore;
use super::stats::{JournaldStats, Problem};

/// A batch on its way to the outputs.
pub struct Pending {
    /// Fires once the outputs settled its records; `None`: nothing to deliver (every entry of
    /// the batch was skipped), the cursor may move at once.
    pub settled: Option<oneshot::Receiver<()>>,
    /// The cursor of the batch's last entry.
    pub cursor: String,
    pub records: u64,
}

/// Takes batches in reading order until the reader is gone and every batch is settled or
/// dropped, writing the cursor at most every `interval`, and once more at the end.
pub async fn commit(
    mut batches: mpsc::UnboundedReceiver<Pending>,
    mut store: Option<CursorStore>,
    stats: Arc<JournaldStats>,
    interval: Duration,
) {
    let mut next_write = Instant::now();
    let mut broken = false;
    loop {
        let dirty = store.as_ref().is_some_and(CursorStore::is_dirty);
        let batch = tokio::select! {
            b = batches.recv() => b,
            _ = sleep_until(next_write), if dirty => {
                next_write = write(&mut store, &stats, interval);
                continue;
            }
        };
        let Some(batch) = batch else { break };
        if let Some(mut settled) = batch.settled {
            let done = loop {
                let dirty = store.as_ref().is_some_and(CursorStore::is_dirty);
                tokio::select! {
                    r = &mut settled => break r.is_ok(),
                    _ = sleep_until(next_write), if dirty => {
                        next_write = write(&mut store, &stats, interval);
                    }
                }
            };
            broken |= !done;
        }
        if broken {
            continue;
        }
        counters::add(&stats.delivered, batch.records);
        if let Some(store) = &mut store {
            store.set(batch.cursor);
        }
    }
    write(&mut store, &stats, interval);
    if broken {
        tracing::warn!("journald input stopped with entries not yet acknowledged; they will be read again at the next start");
    }
}

/// Writes the cursor if it changed; returns when the next write may happen.
fn write(store: &mut Option<CursorStore>, stats: &JournaldStats, interval: Duration) -> Instant {
    if let Some(store) = store {
        match store.persist() {
            Ok(()) => {
                let now_ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                counters::set(&stats.cursor_current_at_ms, now_ms);
            }
            Err(e) => {
                if stats.problem(Problem::CursorWrite) {
                    tracing::error!(error = %e, "cannot write the journald cursor file (further failures are only counted)");
                }
            }
        }
    }
    Instant::now() + interval
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(cursor: &str, records: u64) -> (Pending, oneshot::Sender<()>) {
        let (tx, rx) = oneshot::channel();
        (
            Pending {
                settled: Some(rx),
                cursor: cursor.into(),
                records,
            },
            tx,
        )
    }

    fn saved(dir: &std::path::Path) -> Option<String> {
        CursorStore::open(dir)
            .unwrap()
            .0
            .cursor()
            .map(str::to_owned)
    }

    #[tokio::test]
    async fn the_cursor_moves_in_reading_order_past_settled_batches_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = CursorStore::open(dir.path()).unwrap().0;
        let stats = Arc::new(JournaldStats::default());
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(commit(
            rx,
            Some(store),
            Arc::clone(&stats),
            Duration::from_millis(10),
        ));
        let (a, a_done) = pending("a", 2);
        let (b, b_done) = pending("b", 3);
        tx.send(a).unwrap();
        tx.send(b).unwrap();
        tx.send(Pending {
            settled: None,
            cursor: "c".into(),
            records: 0,
        })
        .unwrap();
        b_done.send(()).unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(saved(dir.path()), None, "b is settled, but a is not");
        assert_eq!(counters::get(&stats.delivered), 0);
        a_done.send(()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while saved(dir.path()).as_deref() != Some("c") {
            assert!(Instant::now() < deadline, "the cursor never reached c");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(counters::get(&stats.delivered), 5);

        let (d, d_done) = pending("d", 1);
        let (e, e_done) = pending("e", 1);
        tx.send(d).unwrap();
        tx.send(e).unwrap();
        e_done.send(()).unwrap();
        drop(d_done); // the outputs stopped before settling d
        drop(tx);
        task.await.unwrap();
        assert_eq!(saved(dir.path()).as_deref(), Some("c"), "never past d");
        assert_eq!(counters::get(&stats.delivered), 5);
    }
}
