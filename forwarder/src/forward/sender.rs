//! The sender: connects when there is something to send, sends up to a window of chunks, and
//! hands each chunk back to the backlog as delivered once the server acks every frame of it
//! (or once written, with acknowledgements off). A connection that fails, or a missing ack,
//! gives the chunks in flight back (to be sent again: at least once) and reconnects with
//! backoff; while it is down, the backlog spools.

use logship_collector::counters;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep, sleep_until, timeout, Instant};

use super::backlog::Outgoing;
use super::conn::{ack_of, connect, message_of, Auth, ServerReader, ServerWriter};
use super::encode::message;
use super::{with_backlog, Shared};
use crate::backoff::Backoff;

struct Flight {
    out: Outgoing,
    /// Chunk ids of the frames not acked yet.
    waiting: Vec<String>,
    wire_bytes: u64,
    deadline: Instant,
}

enum Ended {
    /// The output is stopping.
    Stopped(Vec<Outgoing>),
    /// The server closed a connection with nothing in flight.
    Idle,
    Failed {
        why: String,
        in_flight: Vec<Outgoing>,
        delivered_any: bool,
    },
}

pub(crate) async fn run(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let cfg = &shared.cfg;
    let mut backoff = Backoff::new(cfg.backoff_base, cfg.backoff_cap);
    loop {
        if *stop.borrow() {
            return;
        }
        if !shared.backlog().has_work() {
            tokio::select! {
                _ = shared.work.notified() => {}
                _ = stop.changed() => return,
                _ = sleep(Duration::from_secs(1)) => {}
            }
            continue;
        }
        let auth = cfg.shared_key.as_deref().map(|key| Auth {
            shared_key: key,
            hostname: &cfg.hostname,
        });
        let conn = tokio::select! {
            c = connect(&cfg.server, cfg.tls.as_ref(), auth, cfg.timeout) => c,
            _ = stop.changed() => return,
        };
        let (rd, wr) = match conn {
            Ok(c) => c,
            Err(why) => {
                failed(&shared, &why);
                with_backlog(&shared, |b| b.set_connected(false)).await;
                if pause(&mut stop, backoff.next_delay()).await {
                    return;
                }
                continue;
            }
        };
        counters::add(&shared.fstats.connections, 1);
        shared.backlog().set_connected(true);
        tracing::info!(server = %cfg.server, "connected to the forward server");
        match session(&shared, rd, wr, &mut stop).await {
            Ended::Stopped(in_flight) => {
                with_backlog(&shared, move |b| b.give_back(in_flight)).await;
                return;
            }
            Ended::Idle => {}
            Ended::Failed {
                why,
                in_flight,
                delivered_any,
            } => {
                if !in_flight.is_empty() {
                    counters::add(&shared.stats.retries, 1);
                }
                failed(&shared, &why);
                with_backlog(&shared, move |b| b.give_back(in_flight)).await;
                if delivered_any {
                    backoff.reset();
                }
                if pause(&mut stop, backoff.next_delay()).await {
                    return;
                }
            }
        }
    }
}

/// Sleeps; true if the output is stopping.
async fn pause(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    tokio::select! {
        _ = sleep(d) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}

fn failed(shared: &Shared, why: &str) {
    counters::add(&shared.stats.errors, 1);
    if let Some(suppressed) = shared.warn.check() {
        tracing::warn!(server = %shared.cfg.server, error = %why, suppressed,
            "forward server unavailable; spooling and retrying with backoff (Elasticsearch is not affected)");
    }
}

fn chunk_id() -> String {
    let id: [u8; 16] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(id)
}

async fn session(
    shared: &Arc<Shared>,
    rd: ServerReader,
    mut wr: ServerWriter,
    stop: &mut watch::Receiver<bool>,
) -> Ended {
    let cfg = &shared.cfg;
    let (ack_tx, mut acks) = mpsc::unbounded_channel();
    let reader = tokio::spawn(read_acks(rd, ack_tx));
    let _abort = AbortOnDrop(reader);
    let mut in_flight: VecDeque<Flight> = VecDeque::new();
    let mut delivered_any = false;
    let mut buf = Vec::new();
    let fail = |why: String, in_flight: VecDeque<Flight>, delivered_any| Ended::Failed {
        why,
        in_flight: in_flight.into_iter().map(|f| f.out).collect(),
        delivered_any,
    };
    loop {
        while in_flight.len() < cfg.window {
            let Some(out) = with_backlog(shared, |b| b.take()).await else {
                break;
            };
            buf.clear();
            let mut ids = Vec::new();
            for frame in &out.chunk.frames {
                let id = cfg.ack.then(chunk_id);
                message(frame, id.as_deref(), cfg.compress, &mut buf);
                ids.extend(id);
            }
            counters::add(&shared.stats.requests, out.chunk.frames.len() as u64);
            let wire_bytes = buf.len() as u64;
            // TLS holds written bytes in its buffer until flushed.
            let send = async {
                wr.write_all(&buf).await?;
                wr.flush().await
            };
            let written = match timeout(cfg.timeout, send).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(format!("sending: {e}")),
                Err(_) => Err(format!("sending: no progress within {:?}", cfg.timeout)),
            };
            if let Err(why) = written {
                in_flight.push_back(Flight {
                    out,
                    waiting: ids,
                    wire_bytes,
                    deadline: Instant::now(),
                });
                return fail(why, in_flight, delivered_any);
            }
            if cfg.ack {
                in_flight.push_back(Flight {
                    out,
                    waiting: ids,
                    wire_bytes,
                    deadline: Instant::now() + cfg.timeout,
                });
            } else {
                with_backlog(shared, move |b| b.delivered(out, wire_bytes)).await;
                delivered_any = true;
            }
        }
        let deadline = in_flight.front().map(|f| f.deadline);
        let room = in_flight.len() < cfg.window;
        tokio::select! {
            msg = acks.recv() => match msg {
                Some(Ok(id)) => {
                    if let Some(f) = in_flight.iter_mut().find(|f| f.waiting.contains(&id)) {
                        f.waiting.retain(|w| *w != id);
                    }
                    while in_flight.front().is_some_and(|f| f.waiting.is_empty()) {
                        if let Some(f) = in_flight.pop_front() {
                            with_backlog(shared, move |b| b.delivered(f.out, f.wire_bytes)).await;
                            delivered_any = true;
                        }
                    }
                }
                Some(Err(why)) => return fail(why, in_flight, delivered_any),
                None if in_flight.is_empty() => return Ended::Idle,
                None => return fail("the forward server closed the connection before acking".into(), in_flight, delivered_any),
            },
            _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                let why = format!("no ack within {:?}", cfg.timeout);
                return fail(why, in_flight, delivered_any);
            }
            _ = shared.work.notified(), if room => {}
            _ = stop.changed() => {
                let _ = wr.shutdown().await;
                return Ended::Stopped(in_flight.into_iter().map(|f| f.out).collect());
            }
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Reads the server's answers: acks, or a HELO the output did not expect.
async fn read_acks(mut rd: ServerReader, tx: mpsc::UnboundedSender<Result<String, String>>) {
    loop {
        let msg = match rd.next().await {
            Ok(Some(v)) => v,
            Ok(None) => return,
            Err(e) => {
                let _ = tx.send(Err(format!("reading acks: {e}")));
                return;
            }
        };
        if let Some(id) = ack_of(&msg) {
            if tx.send(Ok(id.to_owned())).is_err() {
                return;
            }
        } else if message_of(&msg, "HELO").is_some() {
            let _ = tx.send(Err(
                "the forward server asks for a shared_key handshake: set LOGSHIP_FORWARD_SHARED_KEY"
                    .into(),
            ));
            return;
        }
    }
}
