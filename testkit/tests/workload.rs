//! The generator: deterministic, manifest equal to what is on disk, runtime splitting right.

use logship_testkit::workload::decode::{self, count_file};
use logship_testkit::workload::{
    generate, Format, Layout, Manifest, WorkloadOptions, WorkloadSpec,
};
use std::path::Path;

fn spec(files: usize, lines: u64) -> WorkloadSpec {
    WorkloadSpec {
        files,
        lines_per_file: lines,
        line_size: 120,
        json_ratio: 0.5,
        seed: 7,
        ..WorkloadSpec::default()
    }
}

fn gen(dir: &Path, spec: WorkloadSpec, jobs: usize) -> Manifest {
    let mut o = WorkloadOptions::new(dir, spec);
    o.jobs = jobs;
    generate(&o).unwrap()
}

/// FNV-1a over every log file, in manifest order: a fingerprint of the output. (The API
/// objects are left out: their key order depends on serde_json features other crates enable.)
fn fingerprint(dir: &Path, m: &Manifest) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut eat = |data: &[u8]| {
        for &b in data {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    };
    for p in m.container_paths(dir) {
        eat(&std::fs::read(p).unwrap());
    }
    h
}

#[test]
fn same_seed_same_bytes() {
    let t = tempfile::tempdir().unwrap();
    let (a, b, c) = (t.path().join("a"), t.path().join("b"), t.path().join("c"));
    // Thread count must not matter: every file has its own PRNG stream.
    let ma = gen(&a, spec(5, 300), 1);
    let mb = gen(&b, spec(5, 300), 3);
    assert_eq!(ma, mb);
    assert_eq!(fingerprint(&a, &ma), fingerprint(&b, &mb));
    let podlist = |d: &Path| std::fs::read(d.join("podlist.json")).unwrap();
    assert_eq!(podlist(&a), podlist(&b));
    // Pinned so that an unintended change of the generator's output is noticed. When the
    // output changes on purpose, bump workload::GENERATOR_VERSION (cached workloads are keyed
    // by it) and update this value.
    assert_eq!(
        fingerprint(&a, &ma),
        0xaf5e_3a72_260b_c3be,
        "fingerprint {:#x}",
        fingerprint(&a, &ma)
    );
    let mc = gen(
        &c,
        WorkloadSpec {
            seed: 8,
            ..spec(5, 300)
        },
        1,
    );
    assert_ne!(fingerprint(&a, &ma), fingerprint(&c, &mc));
}

#[test]
fn manifest_matches_disk() {
    let t = tempfile::tempdir().unwrap();
    for (name, format) in [("docker", Format::Docker), ("cri", Format::Cri)] {
        let dir = t.path().join(name);
        let m = gen(
            &dir,
            WorkloadSpec {
                format,
                ..spec(4, 500)
            },
            0,
        );
        assert_eq!(m.file_count, 4);
        assert_eq!(m.files.len(), 4);
        let (mut lines, mut records, mut bytes) = (0, 0, 0);
        for (f, path) in m.files.iter().zip(m.container_paths(&dir)) {
            let c = count_file(&path, Some(format)).unwrap();
            assert_eq!(
                (c.lines, c.records, c.json_records, c.bytes),
                (f.lines, f.records, f.json_records, f.bytes)
            );
            assert_eq!(c.records, 500);
            lines += c.lines;
            records += c.records;
            bytes += c.bytes;
        }
        assert_eq!((m.lines, m.records, m.bytes), (lines, records, bytes));
        assert_eq!(m.dates, vec!["2026.11.22".to_string()]);
        // The manifest on disk is the one returned.
        assert_eq!(Manifest::load(&dir).unwrap(), m);
    }
}

#[test]
fn json_ratio_respected() {
    let t = tempfile::tempdir().unwrap();
    for ratio in [0.0, 0.3, 1.0] {
        let dir = t.path().join(format!("r{ratio}"));
        let m = gen(
            &dir,
            WorkloadSpec {
                json_ratio: ratio,
                ..spec(5, 1000)
            },
            0,
        );
        let share = m.json_records as f64 / m.records as f64;
        assert!((share - ratio).abs() < 0.03, "ratio {ratio}: got {share}");
    }
}

#[test]
fn docker_splits_at_16k_without_newline() {
    let t = tempfile::tempdir().unwrap();
    let m = gen(
        t.path(),
        WorkloadSpec {
            line_size: 40_000,
            ..spec(2, 20)
        },
        0,
    );
    assert_eq!(m.records, 40);
    assert!(m.lines > m.records * 2, "most messages take 3+ pieces");
    for path in m.container_paths(t.path()) {
        let data = std::fs::read(&path).unwrap();
        let mut pieces = 0;
        for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let v: serde_json::Value = serde_json::from_slice(line).unwrap();
            let log = v["log"].as_str().unwrap();
            if log.ends_with('\n') {
                assert!(log.len() <= 16_385);
                pieces = 0;
            } else {
                // Cut at 16 KiB (a few bytes less when a character straddles the cut).
                assert!(
                    (16_381..=16_384).contains(&log.len()),
                    "piece of {} bytes",
                    log.len()
                );
                pieces += 1;
            }
        }
        assert_eq!(pieces, 0, "file ends inside a message");
        let mut joined = Vec::new();
        decode::for_each_record(&data, Some(Format::Docker), |r| joined.push(r.msg)).unwrap();
        assert_eq!(joined.len(), 20);
        assert!(joined.iter().all(|m| m.len() >= 16_384 / 2));
    }
}

#[test]
fn cri_partial_then_full() {
    let t = tempfile::tempdir().unwrap();
    let m = gen(
        t.path(),
        WorkloadSpec {
            line_size: 40_000,
            format: Format::Cri,
            ..spec(2, 20)
        },
        0,
    );
    for path in m.container_paths(t.path()) {
        let data = std::fs::read(&path).unwrap();
        let text = std::str::from_utf8(&data).unwrap();
        let (mut records, mut open) = (0, false);
        for line in text.lines() {
            let parts: Vec<&str> = line.splitn(4, ' ').collect();
            assert!(parts[0].starts_with("2026-11-22T") && parts[0].ends_with('Z'));
            assert!(parts[1] == "stdout" || parts[1] == "stderr");
            match parts[2] {
                "P" => {
                    assert!((16_381..=16_384).contains(&parts[3].len()));
                    open = true;
                }
                "F" => {
                    assert!(parts[3].len() <= 16_384);
                    records += 1;
                    open = false;
                }
                t => panic!("tag {t}"),
            }
        }
        assert!(!open);
        assert_eq!(records, 20);
    }
    assert!(m.lines > m.records);
}

#[test]
fn layouts_and_api_objects() {
    let t = tempfile::tempdir().unwrap();
    let links = t.path().join("links");
    let m = gen(&links, spec(3, 10), 0);
    for f in &m.files {
        let c = links.join("containers").join(&f.file);
        assert!(std::fs::symlink_metadata(&c)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            std::fs::canonicalize(&c).unwrap(),
            std::fs::canonicalize(links.join(&f.pod_file)).unwrap()
        );
        assert!(f
            .file
            .starts_with(&format!("{}_{}_{}-", f.pod, f.namespace, f.container)));
        assert_eq!(f.container_id.len(), 64);
        assert!(links
            .join("meta")
            .join(format!("{}_{}.meta", f.namespace, f.pod))
            .is_file());
    }
    let podlist: serde_json::Value =
        serde_json::from_slice(&std::fs::read(links.join("podlist.json")).unwrap()).unwrap();
    assert_eq!(podlist["kind"], "PodList");
    let items = podlist["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["metadata"]["name"], m.files[0].pod.as_str());
    assert!(items[0]["metadata"]["labels"]["app"].is_string());
    assert!(items[0]["metadata"]["annotations"].is_object());
    let cid = &m.files[0].container_id;
    assert_eq!(
        items[0]["status"]["containerStatuses"][0]["containerID"],
        format!("containerd://{cid}")
    );

    let flat = t.path().join("flat");
    let mf = gen(
        &flat,
        WorkloadSpec {
            layout: Layout::Flat,
            ..spec(3, 10)
        },
        0,
    );
    for f in &mf.files {
        assert!(
            std::fs::symlink_metadata(flat.join("containers").join(&f.file))
                .unwrap()
                .is_file()
        );
        assert!(flat.join(&f.pod_file).is_file(), "pods/ entry links back");
    }
    // Same content either way.
    assert_eq!(fingerprint(&links, &m), fingerprint(&flat, &mf));

    // Refuses to overwrite unless forced.
    assert!(generate(&WorkloadOptions::new(&links, spec(3, 10))).is_err());
    let mut o = WorkloadOptions::new(&links, spec(1, 10));
    o.force = true;
    assert_eq!(generate(&o).unwrap().file_count, 1);
}

#[test]
fn start_time_sets_dates() {
    let t = tempfile::tempdir().unwrap();
    let start = logship_testkit::workload::timefmt::parse_rfc3339("2025-12-31T23:59:59Z").unwrap();
    let m = gen(
        t.path(),
        WorkloadSpec {
            start_time_ns: start,
            ..spec(2, 2000)
        },
        0,
    );
    assert_eq!(
        m.dates,
        vec!["2025.12.31".to_string(), "2026.01.01".to_string()]
    );
    assert!(m.files[0].first_time.starts_with("2025-12-31T23:59:"));
}
