//! Micro-benchmarks of the outputs' encoding, so that a regression shows where it happens:
//! records to Elasticsearch `_bulk` NDJSON (action line and document, with the pod's
//! `kubernetes` object) and to fluent forward msgpack. The records are shaped like the standard
//! benchmark workload's (120-byte messages, half JSON objects, pod labels and annotations). Run
//! with `cargo bench -p logship-forwarder`.

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use logship_collector::kube::{PodMeta, PodMetaParts};
use logship_collector::line_decoder::LineDecoder;
use logship_collector::pod_ref::PodRef;
use logship_collector::{CollectorStats, DecodeOptions, Record, Source, Tag};
use logship_forwarder::es::bulk_request::{BulkEncoder, BulkRequest};
use logship_forwarder::forward::encode::ForwardEncoder;
use logship_forwarder::{DocumentEncoder, DocumentOptions};

const DOCKER_TEXT: &[u8] = br#"{"log":"2026-11-22 01:02:03 INFO  [auth.jwt-12] PUT /healthz/60331 status=200 dur_ms=219 msg=flush token timeout consumer stream session rollback\n","stream":"stdout","time":"2026-11-22T01:02:03.378370856Z"}"#;
const DOCKER_JSON: &[u8] = br#"{"log":"{\"level\":\"info\",\"ts\":\"2026-11-22T01:02:03.377597382Z\",\"msg\":\"ok flush token\",\"request_id\":\"ccce5a47591200a8\",\"status\":200}\n","stream":"stdout","time":"2026-11-22T01:02:03.377597382Z"}"#;
/// The same two lines as a CRI runtime writes them: their `log` is escaped as it is written.
const CRI_TEXT: &[u8] = b"2026-11-22T01:02:03.378370856Z stdout F 2026-11-22 01:02:03 INFO  [auth.jwt-12] PUT /healthz/60331 status=200 dur_ms=219 msg=flush token timeout consumer stream session rollback";
const CRI_JSON: &[u8] = br#"2026-11-22T01:02:03.377597382Z stdout F {"level":"info","ts":"2026-11-22T01:02:03.377597382Z","msg":"ok flush token","request_id":"ccce5a47591200a8","status":200}"#;

/// 1,000 records of one pod, half text and half JSON, from `text` and `json` lines.
fn records(text: &[u8], json: &[u8]) -> Vec<Record> {
    let path: Arc<std::path::Path> = PathBuf::from("/var/log/containers/ingest-9-vjpq9nf7gw-6zm58_kube-system_sidecar-e3b39de92f4c80cb19577ac3834620d946e70f019f4f5fc5bf4b3820e00bb6b7.log").into();
    let meta = PodMeta::new(PodMetaParts {
        namespace: "kube-system",
        name: "ingest-9-vjpq9nf7gw-6zm58",
        uid: "240f3544-6f9c-4c14-a7c5-5d61eb98f150",
        labels: vec![
            ("app", "ingest-9"),
            ("app.kubernetes.io/name", "ingest-9"),
            ("app.kubernetes.io/version", "1.0.0"),
            ("pod-template-hash", "vjpq9nf7gw"),
            ("team", "t-kube-system"),
        ],
        annotations: vec![
            ("kubectl.kubernetes.io/restartedAt", "2026-11-20T12:00:00Z"),
            ("prometheus.io/port", "9090"),
            ("prometheus.io/scrape", "true"),
        ],
        host: Some("bench-node-1"),
        ..PodMetaParts::default()
    });
    let source = Arc::new(Source {
        id: 0xa76f_77a4_624a_47e1,
        tag: Tag::OfPath,
        pod: PodRef::from_path(&path),
        path,
        meta: Some(Arc::new(meta)),
    });
    let opts = DecodeOptions {
        merge_json: true,
        max_line_bytes: 1 << 20,
    };
    let mut decoder = LineDecoder::new(opts, Arc::new(CollectorStats::default()));
    let mut out = Vec::new();
    let mut offset = 0;
    for i in 0..1000 {
        let line = if i % 2 == 0 { text } else { json };
        let end = offset + line.len() as u64 + 1;
        decoder.line(line, offset, end, false, &source, &mut out);
        offset = end;
    }
    out
}

fn ndjson(c: &mut Criterion) {
    let mut g = c.benchmark_group("ndjson");
    for (name, records) in [
        ("bulk_1000_records", records(DOCKER_TEXT, DOCKER_JSON)),
        ("bulk_1000_cri_records", records(CRI_TEXT, CRI_JSON)),
    ] {
        let mut encoder = BulkEncoder::new(
            DocumentEncoder::new(DocumentOptions { replace_dots: true }),
            None,
            true,
        );
        let mut req = BulkRequest::new(4 << 20);
        for r in &records {
            encoder.push(r, &mut req);
        }
        g.throughput(Throughput::Bytes(req.body.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                req.body.clear();
                req.items.clear();
                for r in black_box(&records) {
                    encoder.push(r, &mut req);
                }
            })
        });
    }
    g.finish();
}

fn msgpack(c: &mut Criterion) {
    let records = records(DOCKER_TEXT, DOCKER_JSON);
    let mut encoder = ForwardEncoder::new();
    let mut g = c.benchmark_group("forward");
    g.throughput(Throughput::Elements(records.len() as u64));
    g.bench_function("msgpack_1000_records", |b| {
        b.iter(|| encoder.encode(black_box(&records)))
    });
    g.finish();
}

criterion_group!(benches, ndjson, msgpack);
criterion_main!(benches);
