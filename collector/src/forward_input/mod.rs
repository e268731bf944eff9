//! The forward input: a TCP listener (default `0.0.0.0:24224`, the `fluentbit-logging` Service)
//! for pods that log over the fluent forward protocol, with the UDP heartbeat on the same port.
//!
//! Each message (Message, Forward, PackedForward, CompressedPackedForward; see [`decode`])
//! becomes records that keep the sender's tag and carry the sender's map as their fields
//! ([`RecordKind::Event`], no pod), handed to the outputs through the same pipe as the files,
//! with a memory bound of this input's own. A message with a `chunk` option is acknowledged
//! (`{"ack": chunk}`) only once the outputs have settled its records (delivered, or spooled by
//! the forward output): the same promise the file input makes before it moves a checkpoint, so
//! that a crash loses nothing the sender was told is safe. Messages on one connection are
//! read and handed on while earlier ones wait for their acks, which go out in order.
//!
//! Limits: a message larger than `max_message` (or inflating beyond it), or malformed msgpack,
//! closes that connection with a counted error; other connections go on. At most
//! `max_connections` at once: more are closed at once, counted. No `shared_key` or TLS on
//! this side.

pub mod decode;
pub mod scan;

use crate::counters;
use crate::time_text::TimeText;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot, watch, Semaphore};

use crate::fingerprint::{fnv1a, FNV_OFFSET};
use crate::json_merge::MergedObject;
use crate::log_text::LogText;
use crate::pipe::BatchSender;
use crate::record::{Record, RecordKind, Source};
use decode::{decode, Message};
use scan::{Scan, Scanner};

#[derive(Debug, Clone)]
pub struct ForwardInputConfig {
    pub listen: SocketAddr,
    /// The largest message, and the most a compressed one may inflate to.
    pub max_message: usize,
    pub max_connections: usize,
    /// Acks waiting per connection before reading pauses.
    pub max_pending_acks: usize,
}

impl ForwardInputConfig {
    pub fn new(listen: SocketAddr) -> ForwardInputConfig {
        ForwardInputConfig {
            listen,
            max_message: 16 << 20,
            max_connections: 256,
            max_pending_acks: 64,
        }
    }
}

/// Counters of the forward input.
#[derive(Debug, Default)]
pub struct ForwardInputStats {
    pub connections: AtomicU64,
    /// Connections closed at once because `max_connections` were open.
    pub refused_connections: AtomicU64,
    pub messages: AtomicU64,
    pub records: AtomicU64,
    pub bytes: AtomicU64,
    /// Connections closed for malformed msgpack or a message the protocol does not allow.
    pub malformed: AtomicU64,
    /// Connections closed for a message over the size limit.
    pub oversized: AtomicU64,
    pub acks: AtomicU64,
    pub heartbeats: AtomicU64,
}

struct Ctx {
    cfg: ForwardInputConfig,
    tx: BatchSender,
    stats: Arc<ForwardInputStats>,
    /// Distinguishes this run's messages without a chunk id (their records' identities).
    run_id: u64,
}

/// Binds the listener and the heartbeat socket and serves until `stop` turns true. Returns the
/// bound address and the task; the task drops `tx` (and so its side of the pipe) when it ends.
pub async fn start(
    cfg: ForwardInputConfig,
    tx: BatchSender,
    stats: Arc<ForwardInputStats>,
    stop: watch::Receiver<bool>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(cfg.listen).await?;
    let addr = listener.local_addr()?;
    match UdpSocket::bind(addr).await {
        Ok(udp) => {
            tokio::spawn(heartbeat(udp, Arc::clone(&stats), stop.clone()));
        }
        Err(e) => {
            tracing::warn!(%addr, error = %e, "forward input: no UDP heartbeat (cannot bind)")
        }
    }
    let ctx = Arc::new(Ctx {
        cfg,
        tx,
        stats,
        run_id: rand::random(),
    });
    let task = tokio::spawn(accept(listener, ctx, stop));
    Ok((addr, task))
}

async fn accept(listener: TcpListener, ctx: Arc<Ctx>, mut stop: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(ctx.cfg.max_connections.max(1)));
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "forward input: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            counters::add(&ctx.stats.refused_connections, 1);
            tracing::warn!(%peer, limit = ctx.cfg.max_connections,
                "forward input: too many connections; this one is closed");
            drop(stream);
            continue;
        };
        counters::add(&ctx.stats.connections, 1);
        let ctx = Arc::clone(&ctx);
        let stop = stop.clone();
        tokio::spawn(async move {
            if let Err(why) = connection(stream, &ctx, stop).await {
                tracing::warn!(%peer, "forward input: connection closed: {why}");
            }
            drop(slot);
        });
    }
}

/// Reads messages until the peer closes, a message is refused, or the input stops.
async fn connection(
    stream: TcpStream,
    ctx: &Ctx,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let _ = stream.set_nodelay(true);
    let (mut rd, wr) = stream.into_split();
    let (ack_tx, ack_rx) = mpsc::channel(ctx.cfg.max_pending_acks.max(1));
    tokio::spawn(write_acks(wr, ack_rx, Arc::clone(&ctx.stats)));
    let max = ctx.cfg.max_message;
    let mut buf: Vec<u8> = Vec::with_capacity(64 << 10);
    let mut scanner = Scanner::new();
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        // Every whole message in the buffer.
        loop {
            match scanner.scan(&buf) {
                Ok(Scan::Complete(n)) => {
                    if n > max {
                        return Err(oversized(ctx, n as u64));
                    }
                    handle(ctx, &buf[..n], &ack_tx).await?;
                    buf.drain(..n);
                }
                Ok(Scan::Incomplete) => {
                    let need = scanner.needed().max(buf.len() as u64);
                    if need > max as u64 {
                        return Err(oversized(ctx, need));
                    }
                    break;
                }
                Err(e) => {
                    counters::add(&ctx.stats.malformed, 1);
                    return Err(e.0.to_string());
                }
            }
        }
        let n = tokio::select! {
            r = rd.read(&mut chunk) => r.map_err(|e| e.to_string())?,
            _ = stop.changed() => return Ok(()),
        };
        if n == 0 {
            return if buf.is_empty() {
                Ok(())
            } else {
                Err("the sender closed the connection in the middle of a message".into())
            };
        }
        counters::add(&ctx.stats.bytes, n as u64);
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn oversized(ctx: &Ctx, n: u64) -> String {
    counters::add(&ctx.stats.oversized, 1);
    format!(
        "message of more than {} bytes (at least {n})",
        ctx.cfg.max_message
    )
}

async fn handle(
    ctx: &Ctx,
    frame: &[u8],
    acks: &mpsc::Sender<(String, oneshot::Receiver<()>)>,
) -> Result<(), String> {
    let msg = match decode(frame, ctx.cfg.max_message) {
        Ok(Some(m)) => m,
        Ok(None) => return Ok(()),
        Err(refused) => {
            let oversize = refused.0.contains("inflates to more than");
            let counter = if oversize {
                &ctx.stats.oversized
            } else {
                &ctx.stats.malformed
            };
            counters::add(counter, 1);
            return Err(refused.0);
        }
    };
    counters::add(&ctx.stats.messages, 1);
    counters::add(&ctx.stats.records, msg.events.len() as u64);
    let chunk = msg.chunk.clone();
    let records = records(ctx, msg);
    let (settled_tx, settled_rx) = oneshot::channel();
    ctx.tx
        .send(records, chunk.is_some().then_some(settled_tx))
        .await
        .map_err(|_| "the agent is stopping".to_string())?;
    if let Some(chunk) = chunk {
        // Waits while too many acks are pending: the sender is ahead of the outputs.
        acks.send((chunk, settled_rx))
            .await
            .map_err(|_| "the connection is closed".to_string())?;
    }
    Ok(())
}

/// The records of a message. Their identity (for Elasticsearch's `_id`) is the tag and chunk
/// id with the index in the message, so a message sent again after a lost ack overwrites
/// itself; without a chunk, a per-run counter makes them unique.
fn records(ctx: &Ctx, msg: Message) -> Vec<Record> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let id = match &msg.chunk {
        Some(c) => fnv1a(fnv1a(FNV_OFFSET, msg.tag.as_bytes()), c.as_bytes()),
        None => {
            let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            fnv1a(ctx.run_id, &n.to_le_bytes())
        }
    };
    let source = Arc::new(Source {
        id,
        path: PathBuf::new().into(),
        tag: msg.tag.into(),
        pod: None,
        meta: None,
    });
    msg.events
        .into_iter()
        .enumerate()
        .map(|(i, e)| Record {
            source: Arc::clone(&source),
            start_offset: i as u64,
            end_offset: i as u64 + 1,
            time: e.time,
            time_text: TimeText::default(),
            stream: None,
            log: LogText::default(),
            merged: MergedObject::parse_any(e.fields),
            truncated: false,
            kind: RecordKind::Event,
        })
        .collect()
}

/// Writes `{"ack": chunk}` for each message, in order, once its records are settled. A message
/// whose records were not settled (the agent stopped first) gets no ack: the sender sends it
/// again.
async fn write_acks(
    mut wr: OwnedWriteHalf,
    mut pending: mpsc::Receiver<(String, oneshot::Receiver<()>)>,
    stats: Arc<ForwardInputStats>,
) {
    while let Some((chunk, settled)) = pending.recv().await {
        if settled.await.is_err() {
            return;
        }
        let mut ack = Vec::with_capacity(chunk.len() + 8);
        ack.push(0x81);
        ack.extend_from_slice(b"\xa3ack");
        let _ = rmpv::encode::write_value(&mut ack, &rmpv::Value::String(chunk.into()));
        if wr.write_all(&ack).await.is_err() {
            return;
        }
        counters::add(&stats.acks, 1);
    }
}

/// The UDP heartbeat: every datagram is answered with one byte `0x00`.
async fn heartbeat(udp: UdpSocket, stats: Arc<ForwardInputStats>, mut stop: watch::Receiver<bool>) {
    let mut buf = [0u8; 64];
    loop {
        let from = tokio::select! {
            r = udp.recv_from(&mut buf) => match r {
                Ok((_, from)) => from,
                Err(_) => continue,
            },
            _ = stop.changed() => return,
        };
        counters::add(&stats.heartbeats, 1);
        let _ = udp.send_to(&[0x00], from).await;
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
