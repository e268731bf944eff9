//! Real journal files for the journald tests: entries written in the journal export format
//! (https://systemd.io/JOURNAL_EXPORT_FORMATS/) and turned into `.journal` files by
//! `systemd-journal-remote` (Debian package systemd-journal-remote, installed by
//! .ci/install-test-deps.sh), the way a journal directory gets them. journalctl (package
//! systemd) reads them back, as the agent does.

// The hash itself is pinned by known values in collector/src/fingerprint.rs.
use logship_collector::fingerprint::{fnv1a, FNV_OFFSET};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// 2026-11-27T08:00:00Z in microseconds since the epoch: the entries' time base.
pub const T0_US: u64 = 1_795_766_400_000_000;
pub const BOOT: &str = "5f6d5e0f3c0a4b8a9d1e2f3a4b5c6d7e";
pub const MACHINE: &str = "0b7a6c4e2d1f4e3a8c9b0a1d2e3f4a5b";

/// One journal entry: its fields in order, values as bytes (export format keeps them binary).
#[derive(Clone, Debug)]
pub struct JournalEntry {
    pub fields: Vec<(String, Vec<u8>)>,
}

impl JournalEntry {
    /// An entry a unit logged through its stdout, as journald stores it: the trusted fields
    /// (`_PID`, `_SYSTEMD_UNIT`, …) and the message, at `T0_US + offset_us`.
    pub fn of(unit: &str, pid: u32, comm: &str, offset_us: u64, message: &str) -> JournalEntry {
        let t = T0_US + offset_us;
        JournalEntry {
            fields: [
                ("__REALTIME_TIMESTAMP", t.to_string()),
                ("__MONOTONIC_TIMESTAMP", (1_000_000 + offset_us).to_string()),
                ("_BOOT_ID", BOOT.to_string()),
                ("_MACHINE_ID", MACHINE.to_string()),
                ("_HOSTNAME", "node-1".to_string()),
                ("PRIORITY", "6".to_string()),
                ("SYSLOG_FACILITY", "3".to_string()),
                ("SYSLOG_IDENTIFIER", comm.to_string()),
                ("_TRANSPORT", "stdout".to_string()),
                ("_UID", "0".to_string()),
                ("_GID", "0".to_string()),
                ("_COMM", comm.to_string()),
                ("_PID", pid.to_string()),
                ("_SYSTEMD_CGROUP", format!("/system.slice/{unit}")),
                ("_SYSTEMD_UNIT", unit.to_string()),
                ("_SYSTEMD_SLICE", "system.slice".to_string()),
                ("MESSAGE", message.to_string()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.into_bytes()))
            .collect(),
        }
    }

    /// Replaces a field's value (or adds the field).
    pub fn set(mut self, key: &str, value: &[u8]) -> JournalEntry {
        match self.fields.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value.to_vec(),
            None => self.fields.push((key.to_string(), value.to_vec())),
        }
        self
    }

    /// Adds a field, also when it is there already (a field set twice).
    pub fn add(mut self, key: &str, value: &[u8]) -> JournalEntry {
        self.fields.push((key.to_string(), value.to_vec()));
        self
    }
}

/// The export format: `KEY=value` lines, or for a value with a newline or other control
/// bytes, `KEY`, its length as 64-bit little endian, the bytes and a newline; a blank line after
/// each entry.
pub fn export(entries: &[JournalEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        for (k, v) in &e.fields {
            out.extend_from_slice(k.as_bytes());
            if v.iter().any(|&b| b < 0x20 && b != b'\t') {
                out.push(b'\n');
                out.extend_from_slice(&(v.len() as u64).to_le_bytes());
                out.extend_from_slice(v);
            } else {
                out.push(b'=');
                out.extend_from_slice(v);
            }
            out.push(b'\n');
        }
        out.push(b'\n');
    }
    out
}

fn journal_remote() -> PathBuf {
    [
        "/lib/systemd/systemd-journal-remote",
        "/usr/lib/systemd/systemd-journal-remote",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
    .expect("systemd-journal-remote is not installed: run .ci/install-test-deps.sh")
}

/// A journal directory, as `/var/log/journal/<machine id>` is one.
pub struct Journal {
    pub dir: PathBuf,
}

impl Journal {
    pub fn new(dir: &Path) -> Journal {
        std::fs::create_dir_all(dir).expect("mkdir journal");
        Journal {
            dir: dir.to_owned(),
        }
    }

    /// Writes the entries into `<name>.journal` in the directory (appending when it exists, as
    /// journald appends to its active file; a new name is a new file, as after a rotation).
    pub fn write(&self, name: &str, entries: &[JournalEntry]) {
        let out = self.dir.join(format!("{name}.journal"));
        let mut child = Command::new(journal_remote())
            .arg(format!("--output={}", out.display()))
            .arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start systemd-journal-remote");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(&export(entries))
            .expect("write the export stream");
        let done = child.wait_with_output().expect("systemd-journal-remote");
        let said = String::from_utf8_lossy(&done.stderr);
        assert!(done.status.success(), "systemd-journal-remote: {said}");
        assert!(
            said.contains(&format!("writing {} entries", entries.len())),
            "systemd-journal-remote did not write every entry: {said}"
        );
    }

    /// Every entry as journalctl gives it (JSON objects), oldest first.
    pub fn read_back(&self) -> Vec<serde_json::Value> {
        let out = Command::new("journalctl")
            .arg(format!("--directory={}", self.dir.display()))
            .args(["--output=json", "--all", "--merge"])
            .output()
            .expect("journalctl (package systemd) runs");
        assert!(
            out.status.success(),
            "journalctl: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("UTF-8")
            .lines()
            .map(|l| serde_json::from_str(l).expect("journalctl JSON"))
            .collect()
    }
}

/// The document `_id` of an entry: its unit and its cursor.
pub fn document_id(unit: &str, cursor: &str) -> String {
    let source = fnv1a(fnv1a(FNV_OFFSET, b"journald:"), unit.as_bytes());
    format!("{source:016x}-{:x}", fnv1a(FNV_OFFSET, cursor.as_bytes()))
}
