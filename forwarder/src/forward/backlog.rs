//! What the forward output has not delivered yet: recent chunks in memory, older ones in the
//! spool, and the sender's chunks in flight. This is where the output settles its share of each
//! pipe batch, so that it never holds Elasticsearch (or the files' checkpoints) back:
//!
//! - connected, and keeping up: chunks wait in memory and are settled when the server acks them;
//! - not connected (down, in backoff), or behind (more than `memory_limit` bytes waiting, or the
//!   oldest waiting longer than `max_wait`): chunks go to the spool, oldest first, and are
//!   settled once the spool is synced.
//!
//! Order: the spool only ever receives the oldest chunks in memory, and the sender takes from
//! the spool before memory, so chunks go out in the order they came. The exception: chunks in
//! flight when a connection fails are spooled after whatever was spooled while they were in
//! flight (at most a window of chunks).

use logship_collector::counters;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use logship_collector::Delivery;

use super::encode::Chunk;
use super::spool::Spool;
use super::ForwardStats;
use crate::log_limit::LogLimiter;
use crate::stats::OutputStats;

/// A chunk waiting in memory, with the pipe batch's share it settles.
pub struct Waiting {
    chunk: Chunk,
    share: Delivery,
    since: Instant,
}

/// A chunk the sender took.
pub struct Outgoing {
    pub chunk: Chunk,
    from: From,
}

enum From {
    Memory(Delivery),
    Spool(u64),
}

pub struct Backlog {
    memory: VecDeque<Waiting>,
    memory_bytes: usize,
    /// Bytes of chunks from memory that the sender holds.
    in_flight_bytes: usize,
    spool: Spool,
    /// Shares of chunks appended to the spool, settled at the next sync.
    unsynced: Vec<Delivery>,
    connected: bool,
    memory_limit: usize,
    max_wait: Duration,
    stats: Arc<OutputStats>,
    fstats: Arc<ForwardStats>,
    warn: LogLimiter,
}

impl Backlog {
    pub fn new(
        spool: Spool,
        memory_limit: usize,
        max_wait: Duration,
        stats: Arc<OutputStats>,
        fstats: Arc<ForwardStats>,
    ) -> Backlog {
        let b = Backlog {
            memory: VecDeque::new(),
            memory_bytes: 0,
            in_flight_bytes: 0,
            spool,
            unsynced: Vec::new(),
            connected: false,
            memory_limit,
            max_wait,
            stats,
            fstats,
            warn: LogLimiter::new(Duration::from_secs(10)),
        };
        b.gauges();
        b
    }

    /// A new chunk from the pipe. Call [`sync`](Self::sync) after a round of these.
    pub fn push(&mut self, chunk: Chunk, share: Delivery) {
        if chunk.records == 0 {
            share.ack();
            return;
        }
        if !self.connected {
            self.spill(chunk, share);
            return;
        }
        self.memory_bytes += chunk.bytes();
        self.memory.push_back(Waiting {
            chunk,
            share,
            since: Instant::now(),
        });
        self.relieve();
    }

    /// Spools what has waited too long or does not fit in memory.
    pub fn relieve(&mut self) {
        while let Some(front) = self.memory.front() {
            let over = self.memory_bytes + self.in_flight_bytes > self.memory_limit;
            if !over && front.since.elapsed() < self.max_wait {
                break;
            }
            self.spill_front();
        }
    }

    fn spill_front(&mut self) {
        if let Some(w) = self.memory.pop_front() {
            self.memory_bytes -= w.chunk.bytes();
            self.spill(w.chunk, w.share);
        }
    }

    fn spill(&mut self, chunk: Chunk, share: Delivery) {
        let records = chunk.records as u64;
        match self.spool.append(&chunk) {
            Ok(dropped) => {
                counters::add(&self.fstats.spooled_records, records);
                if dropped > 0 {
                    self.dropped(dropped, "the forward spool is full: the oldest records were dropped (LOGSHIP_FORWARD_SPOOL_LIMIT)");
                }
            }
            Err(e) => {
                counters::add(&self.stats.errors, 1);
                self.dropped(
                    records,
                    &format!("cannot write the forward spool ({e}): records dropped"),
                );
            }
        }
        // Settled either way: spooled, or given up on with a counter. Elasticsearch and the
        // checkpoints never wait for the forward server.
        self.unsynced.push(share);
        self.gauges();
    }

    fn dropped(&mut self, records: u64, why: &str) {
        counters::add(&self.stats.dropped, records);
        counters::add(&self.fstats.spool_dropped_records, records);
        if let Some(suppressed) = self.warn.check() {
            tracing::warn!(records, suppressed, "{why}");
        }
    }

    /// Makes the spool durable and settles the chunks appended to it.
    pub fn sync(&mut self) {
        if self.unsynced.is_empty() {
            return;
        }
        if let Err(e) = self.spool.sync() {
            counters::add(&self.stats.errors, 1);
            if let Some(suppressed) = self.warn.check() {
                tracing::warn!(error = %e, suppressed, "cannot sync the forward spool");
            }
        }
        self.unsynced.drain(..).for_each(Delivery::ack);
    }

    /// The sender is connected (chunks may wait in memory), or not (everything is spooled).
    pub fn set_connected(&mut self, connected: bool) {
        self.connected = connected;
        if !connected {
            while !self.memory.is_empty() {
                self.spill_front();
            }
        }
    }

    pub fn connected(&self) -> bool {
        self.connected
    }

    /// Whether there is anything for the sender to take.
    pub fn has_work(&self) -> bool {
        !self.memory.is_empty() || self.spool.has_unsent()
    }

    /// Chunks in memory or spooled and not delivered (in flight included).
    pub fn undelivered(&self) -> usize {
        self.memory.len() + self.spool.len()
    }

    pub fn memory_chunks(&self) -> usize {
        self.memory.len()
    }

    pub fn in_flight_from_memory(&self) -> usize {
        self.in_flight_bytes
    }

    /// The next chunk to send: the spool first (it holds the oldest), then memory.
    pub fn take(&mut self) -> Option<Outgoing> {
        if self.spool.has_unsent() {
            match self.spool.next_unsent() {
                Ok((next, lost)) => {
                    if lost > 0 {
                        counters::add(&self.fstats.spool_damaged, 1);
                        self.dropped(
                            lost,
                            "a spooled chunk was damaged on disk: its records were dropped",
                        );
                    }
                    if let Some(u) = next {
                        self.gauges();
                        return Some(Outgoing {
                            chunk: u.chunk,
                            from: From::Spool(u.ticket),
                        });
                    }
                }
                Err(e) => {
                    counters::add(&self.stats.errors, 1);
                    if let Some(suppressed) = self.warn.check() {
                        tracing::warn!(error = %e, suppressed, "cannot read the forward spool");
                    }
                    return None;
                }
            }
        }
        let w = self.memory.pop_front()?;
        let bytes = w.chunk.bytes();
        self.memory_bytes -= bytes;
        self.in_flight_bytes += bytes;
        Some(Outgoing {
            chunk: w.chunk,
            from: From::Memory(w.share),
        })
    }

    /// The server has the chunk.
    pub fn delivered(&mut self, out: Outgoing, wire_bytes: u64) {
        counters::add(&self.stats.records_out, out.chunk.records as u64);
        counters::add(&self.stats.bytes_out, wire_bytes);
        match out.from {
            From::Memory(share) => {
                self.in_flight_bytes -= out.chunk.bytes();
                share.ack();
            }
            From::Spool(ticket) => {
                if let Err(e) = self.spool.commit(ticket) {
                    counters::add(&self.stats.errors, 1);
                    tracing::warn!(error = %e, "cannot update the forward spool");
                }
            }
        }
        self.gauges();
    }

    /// The connection failed with these chunks (oldest first) in flight: they are sent again,
    /// those from memory by way of the spool.
    pub fn give_back(&mut self, outs: Vec<Outgoing>) {
        let mut back = Vec::new();
        for out in outs {
            match out.from {
                From::Memory(share) => {
                    self.in_flight_bytes -= out.chunk.bytes();
                    back.push((out.chunk, share));
                }
                From::Spool(_) => {}
            }
        }
        self.spool.rewind();
        for (chunk, share) in back.into_iter().rev() {
            self.memory_bytes += chunk.bytes();
            self.memory.push_front(Waiting {
                chunk,
                share,
                since: Instant::now(),
            });
        }
        self.set_connected(false);
    }

    /// Spools everything in memory (the output is stopping) and records where delivery stands.
    pub fn close(&mut self) {
        self.set_connected(false);
        self.sync();
        self.persist_cursor(true);
    }

    pub fn persist_cursor(&mut self, now: bool) {
        if let Err(e) = self.spool.persist_cursor(now) {
            if let Some(suppressed) = self.warn.check() {
                tracing::warn!(error = %e, suppressed, "cannot write the forward spool cursor");
            }
        }
    }

    fn gauges(&self) {
        counters::set(&self.fstats.spool_bytes, self.spool.bytes());
        counters::set(&self.fstats.spool_chunks, self.spool.len() as u64);
    }
}
