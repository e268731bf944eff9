//! The Elasticsearch output: turns record batches into `_bulk` requests of about
//! `batch_bytes`, sends up to `concurrency` of them at once, and settles every item: accepted,
//! sent again with backoff (connection errors, 429, 5xx), or dead-lettered (other 4xx). A batch's
//! delivery is released only when every one of its items is settled.

use logship_collector::counters;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use logship_collector::Delivery;
use tokio::sync::Semaphore;

use super::bulk_request::{BodyPool, BulkBody, BulkEncoder, BulkRequest};
use super::client::{EsClient, EsTarget};
use super::flavor::EsFlavor;
use super::response::{parse, BulkOutcome, ItemOutcome};
use crate::backoff::Backoff;
use crate::dead_letter::DeadLetters;
use crate::document::{DocumentEncoder, DocumentOptions};
use crate::fanout::OutputFeed;
use crate::log_limit::LogLimiter;
use crate::stats::OutputStats;

#[derive(Debug, Clone)]
pub struct EsOutputConfig {
    pub targets: Vec<EsTarget>,
    pub batch_bytes: usize,
    pub flush_interval: Duration,
    pub concurrency: usize,
    pub doc_ids: bool,
    pub documents: DocumentOptions,
    /// Attempts per request before its records are given up; `None` retries forever.
    pub retry_limit: Option<u32>,
    pub request_timeout: Duration,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    pub dead_letter_path: PathBuf,
    /// TLS for https endpoints; `None`: the system roots.
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl EsOutputConfig {
    pub fn new(targets: Vec<EsTarget>, dead_letter_path: PathBuf) -> EsOutputConfig {
        EsOutputConfig {
            targets,
            batch_bytes: 2 << 20,
            flush_interval: Duration::from_secs(1),
            concurrency: 2,
            doc_ids: true,
            documents: DocumentOptions { replace_dots: true },
            retry_limit: None,
            request_timeout: Duration::from_secs(60),
            backoff_base: Duration::from_millis(250),
            backoff_cap: Duration::from_secs(30),
            dead_letter_path,
            tls: None,
        }
    }
}

struct Shared {
    client: EsClient,
    bodies: BodyPool,
    cfg: EsOutputConfig,
    stats: Arc<OutputStats>,
    dead_letters: DeadLetters,
    warn: LogLimiter,
}

/// Runs until the pipe closes and every request is settled.
pub async fn run_elasticsearch(
    cfg: EsOutputConfig,
    mut rx: OutputFeed,
    stats: Arc<OutputStats>,
) -> Result<(), String> {
    let client = EsClient::with_tls(cfg.targets.clone(), cfg.request_timeout, cfg.tls.clone())?;
    // Room for a document past the batch size; one buffer per request in flight and the one
    // being filled. A full request waits for its slot before the next buffer is taken: taken
    // before, it was a fourth buffer (2 MiB more) whenever the server was slower than the
    // encoder for a moment, and the pool kept it.
    let bodies = BodyPool::new(cfg.concurrency.max(1) + 1, cfg.batch_bytes + (1 << 20));
    let shared = Arc::new(Shared {
        client,
        bodies,
        dead_letters: DeadLetters::new(cfg.dead_letter_path.clone()),
        cfg,
        stats,
        warn: LogLimiter::new(Duration::from_secs(10)),
    });
    let flavor = detect(&shared).await;
    tracing::info!(endpoint = shared.client.endpoint(), version = %flavor.version,
        opensearch = flavor.opensearch, "connected to Elasticsearch");
    let mut encoder = BulkEncoder::new(
        DocumentEncoder::new(shared.cfg.documents),
        flavor.mapping_type(),
        shared.cfg.doc_ids,
    );
    encoder.family_types = flavor.types_per_family();
    let concurrency = shared.cfg.concurrency.max(1);
    let slots = Arc::new(Semaphore::new(concurrency));
    let batch_bytes = shared.cfg.batch_bytes;
    let flush_every = shared.cfg.flush_interval;
    let mut current = shared.bodies.request();
    let mut oldest: Option<Instant> = None;
    let mut ticker = tokio::time::interval(flush_every.min(Duration::from_millis(100)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            batch = rx.recv() => {
                let Some(batch) = batch else { break };
                // A request ends as soon as it reaches the batch size, even inside a batch of
                // records (whose delivery is then shared by the requests it spans): a body
                // never outgrows its buffer by more than one document.
                let mut delivery = Some(batch.delivery);
                let n = batch.records.len();
                for (i, r) in batch.records.iter().enumerate() {
                    if let Some(next) = batch.records.get(i + 1) {
                        next.prefetch();
                    }
                    encoder.push(r, &mut current);
                    if current.body.len() < batch_bytes {
                        continue;
                    }
                    if let Some(d) = delivery.take() {
                        if i + 1 == n {
                            current.deliveries.push(d);
                        } else {
                            let mut halves = d.split(2).into_iter();
                            current.deliveries.extend(halves.next());
                            delivery = halves.next();
                        }
                    }
                    send_and_renew(&shared, &slots, &mut current).await;
                    oldest = None;
                }
                if let Some(d) = delivery {
                    current.deliveries.push(d);
                    oldest.get_or_insert_with(Instant::now);
                }
            }
            _ = ticker.tick() => {
                if oldest.is_some_and(|t| t.elapsed() >= flush_every) {
                    send_and_renew(&shared, &slots, &mut current).await;
                    oldest = None;
                }
            }
        }
    }
    dispatch(&shared, &slots, current).await;
    // Every request in flight holds a slot: taking them all waits for the last to settle.
    let _all = slots
        .acquire_many(concurrency as u32)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Reads the server's version, retrying until it answers: without it, action lines cannot be
/// written correctly. Records wait in the (bounded) pipe meanwhile.
async fn detect(shared: &Shared) -> EsFlavor {
    let mut backoff = Backoff::new(shared.cfg.backoff_base, shared.cfg.backoff_cap);
    loop {
        let problem = match shared.client.root().await {
            Ok(reply) if reply.status == 200 => match EsFlavor::from_root(&reply.body) {
                Ok(f) => return f,
                Err(e) => e,
            },
            Ok(reply) if reply.status == 401 || reply.status == 403 => format!(
                "GET / answered {}: authentication failed, check the Elasticsearch user and password or API key",
                reply.status
            ),
            Ok(reply) => format!("GET / answered {}", reply.status),
            Err(e) => e.to_string(),
        };
        counters::add(&shared.stats.errors, 1);
        if let Some(suppressed) = shared.warn.check() {
            tracing::warn!(error = %problem, suppressed, "Elasticsearch not ready; retrying");
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

/// Sends the request being filled and starts the next in a buffer taken only once the sent one
/// has its slot: by then a finished request has given its buffer back, so the pool never needs
/// more than one per slot and the one being filled.
async fn send_and_renew(shared: &Arc<Shared>, slots: &Arc<Semaphore>, current: &mut BulkRequest) {
    dispatch(shared, slots, std::mem::take(current)).await;
    *current = shared.bodies.request();
}

async fn dispatch(shared: &Arc<Shared>, slots: &Arc<Semaphore>, req: BulkRequest) {
    if req.is_empty() {
        return;
    }
    let Ok(slot) = Arc::clone(slots).acquire_owned().await else {
        return;
    };
    let shared = Arc::clone(shared);
    tokio::spawn(async move {
        let (body, deliveries) = req.finish();
        deliver(&shared, body).await;
        // Every item is settled (accepted, dead-lettered, or given up on and counted).
        deliveries.into_iter().for_each(Delivery::ack);
        drop(slot);
    });
}

/// Sends a body until each of its items is settled.
async fn deliver(shared: &Shared, body: BulkBody) {
    let stats = &shared.stats;
    let mut queue = VecDeque::from([body]);
    let mut backoff = Backoff::new(shared.cfg.backoff_base, shared.cfg.backoff_cap);
    while let Some(part) = queue.pop_front() {
        let n = part.len();
        counters::add(&stats.requests, 1);
        // What went wrong, and what has to go again.
        let (problem, again) = match shared.client.bulk(part.body.clone()).await {
            Err(e) => (e.to_string(), part),
            Ok(reply) => match reply.status {
                200 => match parse(&reply.body, n) {
                    Ok(BulkOutcome::AllAccepted) => {
                        accepted(stats, n, part.body.len());
                        backoff.reset();
                        shared.bodies.give_back(part.body);
                        continue;
                    }
                    Ok(BulkOutcome::Items(outcomes)) => {
                        match settle_items(shared, &part, outcomes) {
                            None => {
                                backoff.reset();
                                continue;
                            }
                            Some(rest) => (
                                format!("{} of {n} items refused for now (429/5xx)", rest.len()),
                                rest,
                            ),
                        }
                    }
                    Err(e) => (e, part),
                },
                413 if n > 1 => {
                    let (a, b) = part.halves();
                    queue.push_front(b);
                    queue.push_front(a);
                    continue;
                }
                // The request itself is wrong for this server: sending it again cannot help.
                400 | 406 | 413 => {
                    let reason = format!(
                        "request refused with {}: {}",
                        reply.status,
                        String::from_utf8_lossy(&reply.body[..reply.body.len().min(500)])
                    );
                    let all: Vec<(u16, String, Vec<u8>)> = (0..n)
                        .map(|i| (reply.status, reason.clone(), part.document(i).to_vec()))
                        .collect();
                    dead_letter(shared, &all);
                    continue;
                }
                status => (format!("_bulk answered {status}"), part),
            },
        };
        counters::add(&stats.errors, 1);
        if let Some(suppressed) = shared.warn.check() {
            tracing::warn!(endpoint = shared.client.endpoint(), error = %problem, suppressed,
                "sending to Elasticsearch failed; retrying with backoff");
        }
        queue.push_front(again);
        if let Some(limit) = shared.cfg.retry_limit {
            if backoff.attempts() + 1 >= limit {
                let lost: usize = queue.iter().map(BulkBody::len).sum();
                counters::add(&stats.dropped, lost as u64);
                tracing::error!(
                    records = lost,
                    limit,
                    "retry limit reached; records given up"
                );
                return;
            }
        }
        counters::add(&stats.retries, 1);
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

fn accepted(stats: &OutputStats, records: usize, bytes: usize) {
    counters::add(&stats.records_out, records as u64);
    counters::add(&stats.bytes_out, bytes as u64);
}

/// Accepted items are done, rejected ones go to the dead-letter file; returns the others.
fn settle_items(shared: &Shared, part: &BulkBody, outcomes: Vec<ItemOutcome>) -> Option<BulkBody> {
    let mut again = Vec::new();
    let mut dead = Vec::new();
    let mut ok = 0;
    for (i, outcome) in outcomes.into_iter().enumerate() {
        match outcome {
            ItemOutcome::Accepted => ok += 1,
            ItemOutcome::Retry => again.push(i),
            ItemOutcome::Rejected { status, reason } => {
                dead.push((status, reason, part.document(i).to_vec()))
            }
        }
    }
    accepted(&shared.stats, ok, 0);
    if !dead.is_empty() {
        dead_letter(shared, &dead);
    }
    (!again.is_empty()).then(|| part.subset(&again))
}

fn dead_letter(shared: &Shared, entries: &[(u16, String, Vec<u8>)]) {
    counters::add(&shared.stats.dead_lettered, entries.len() as u64);
    if let Err(e) = shared.dead_letters.write(entries) {
        tracing::error!(path = %shared.dead_letters.path().display(), error = %e,
            records = entries.len(), "cannot write the dead-letter file; records dropped");
    } else if let Some(suppressed) = shared.warn.check() {
        tracing::warn!(path = %shared.dead_letters.path().display(), records = entries.len(),
            first_reason = %entries.first().map(|e| e.1.as_str()).unwrap_or(""), suppressed,
            "Elasticsearch refused documents; kept in the dead-letter file");
    }
}
