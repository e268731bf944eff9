//! Micro-benchmarks of the collector's hot path, so that a regression shows where it happens:
//! Docker and CRI line decoding, JSON string escaping (every CRI message), the whole-line JSON
//! merge, a line becoming a record, and the checkpoint file. The lines are shaped like the standard benchmark workload's (120-byte
//! messages, half of them JSON objects). Run with `cargo bench -p logship-collector`.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use logship_collector::json_merge::MergedObject;
use logship_collector::json_text::escape_into_bytes;
use logship_collector::line_decoder::LineDecoder;
use logship_collector::pod_ref::PodRef;
use logship_collector::{cri, docker, CheckpointStore, CollectorStats, DecodeOptions, Source, Tag};

const DOCKER_TEXT: &[u8] = br#"{"log":"2026-11-22 01:02:03 INFO  [auth.jwt-12] PUT /healthz/60331 status=200 dur_ms=219 msg=flush token timeout consumer stream session rollback\n","stream":"stdout","time":"2026-11-22T01:02:03.378370856Z"}"#;
const DOCKER_JSON: &[u8] = br#"{"log":"{\"level\":\"info\",\"ts\":\"2026-11-22T01:02:03.377597382Z\",\"msg\":\"ok flush token\",\"request_id\":\"ccce5a47591200a8\",\"status\":200}\n","stream":"stdout","time":"2026-11-22T01:02:03.377597382Z"}"#;
const CRI_TEXT: &[u8] = b"2026-11-22T01:02:03.378370856Z stdout F 2026-11-22 01:02:03 INFO  [auth.jwt-12] PUT /healthz/60331 status=200 dur_ms=219 msg=flush token timeout consumer stream session rollback";
const CRI_JSON: &[u8] = br#"2026-11-22T01:02:03.377597382Z stdout F {"level":"info","ts":"2026-11-22T01:02:03.377597382Z","msg":"ok flush token","request_id":"ccce5a47591200a8","status":200}"#;
const MERGED: &str = r#"{"level":"info","ts":"2026-11-22T01:02:03.377597382Z","msg":"ok flush token","request_id":"ccce5a47591200a8","status":200}"#;

fn source() -> Arc<Source> {
    let path: Arc<std::path::Path> = PathBuf::from("/var/log/containers/ingest-9-vjpq9nf7gw-6zm58_kube-system_sidecar-e3b39de92f4c80cb19577ac3834620d946e70f019f4f5fc5bf4b3820e00bb6b7.log").into();
    Arc::new(Source {
        id: 0xa76f_77a4_624a_47e1,
        tag: Tag::OfPath,
        pod: PodRef::from_path(&path),
        path,
        meta: None,
    })
}

fn decoding(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    for (name, line) in [("docker_text", DOCKER_TEXT), ("docker_json", DOCKER_JSON)] {
        g.throughput(Throughput::Bytes(line.len() as u64));
        g.bench_function(name, |b| b.iter(|| docker::decode(black_box(line))));
    }
    for (name, line) in [("cri_text", CRI_TEXT), ("cri_json", CRI_JSON)] {
        g.throughput(Throughput::Bytes(line.len() as u64));
        g.bench_function(name, |b| b.iter(|| cri::decode(black_box(line))));
    }
    g.finish();
}

/// A CRI message written as the `log` value into a request body: plain text (nothing to
/// escape) and a JSON line (a backslash before each quote).
fn escaping(c: &mut Criterion) {
    let mut g = c.benchmark_group("json_escape");
    let plain = &CRI_TEXT[CRI_TEXT.len() - 120..];
    let plain = std::str::from_utf8(plain).unwrap_or_default();
    let mut body = Vec::with_capacity(1 << 16);
    for (name, text) in [("plain", plain), ("json_line", MERGED)] {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                body.clear();
                escape_into_bytes(black_box(text), &mut body);
                black_box(body.len())
            })
        });
    }
    g.finish();
}

fn merging(c: &mut Criterion) {
    let mut g = c.benchmark_group("json_merge");
    g.throughput(Throughput::Bytes(MERGED.len() as u64));
    g.bench_function("parse_any", |b| {
        b.iter_batched(
            || MERGED.to_owned(),
            |text| MergedObject::parse_any(black_box(text)),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// A physical line to a record: format, decode, time, merge (what the file input does per line).
fn records(c: &mut Criterion) {
    let mut g = c.benchmark_group("line_to_record");
    let opts = DecodeOptions {
        merge_json: true,
        max_line_bytes: 1 << 20,
    };
    let source = source();
    for (name, lines) in [
        ("docker_mix", [DOCKER_TEXT, DOCKER_JSON]),
        ("cri_mix", [CRI_TEXT, CRI_JSON]),
    ] {
        let mut decoder = LineDecoder::new(opts, Arc::new(CollectorStats::default()));
        let mut out = Vec::with_capacity(1024);
        g.throughput(Throughput::Elements(2));
        g.bench_function(name, |b| {
            b.iter(|| {
                for line in lines {
                    decoder.line(
                        black_box(line),
                        0,
                        line.len() as u64 + 1,
                        false,
                        &source,
                        &mut out,
                    );
                }
                if out.len() >= 1024 {
                    // As the tailer does after each read.
                    decoder.count_decoded();
                    out.clear();
                }
            })
        });
    }
    g.finish();
}

/// The checkpoint file of a node with a thousand files: written after deliveries, read at start.
fn checkpoints(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let fill = |store: &mut CheckpointStore, offset: u64| {
        for i in 0..1000u64 {
            let path: std::sync::Arc<std::path::Path> = PathBuf::from(format!(
                "/var/log/containers/app-{i}-5d8f7c9b4-x2x9z_default_app-{i:064x}.log"
            ))
            .into();
            store.set(i, &path, 2049, 100_000 + i, offset + i);
        }
    };
    let (mut store, _) = CheckpointStore::open(dir.path()).expect("a checkpoint store");
    fill(&mut store, 0);
    store.persist().expect("written");
    let mut g = c.benchmark_group("checkpoint");
    g.sample_size(20);
    let mut offset = 0;
    g.bench_function("persist_1000_files", |b| {
        b.iter(|| {
            offset += 1;
            fill(&mut store, offset);
            store.persist().expect("written");
        })
    });
    g.bench_function("load_1000_files", |b| {
        b.iter(|| {
            let (store, problem) = CheckpointStore::open(dir.path()).expect("read");
            assert!(problem.is_none() && store.len() == 1000);
            store
        })
    });
    g.finish();
}

criterion_group!(benches, decoding, escaping, merging, records, checkpoints);
criterion_main!(benches);
