//! Documents Elasticsearch refused for good (mapping errors and other 4xx) are kept in an NDJSON
//! file in the state directory with the reason, instead of blocking the rest or vanishing.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

use serde_json::value::RawValue;

pub struct DeadLetters {
    path: PathBuf,
}

impl DeadLetters {
    pub fn new(path: PathBuf) -> DeadLetters {
        DeadLetters { path }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Appends one entry per document: `{"status":…,"reason":…,"document":…}`.
    pub fn write(&self, entries: &[(u16, String, Vec<u8>)]) -> std::io::Result<()> {
        let mut buf = Vec::new();
        for (status, reason, doc) in entries {
            let reason: Box<RawValue> = match RawValue::from_string(reason.clone()) {
                Ok(r) => r,
                Err(_) => RawValue::from_string(serde_json::to_string(reason)?)?,
            };
            let document = match std::str::from_utf8(doc)
                .ok()
                .and_then(|d| RawValue::from_string(d.to_owned()).ok())
            {
                Some(d) => d,
                None => {
                    RawValue::from_string(serde_json::to_string(&String::from_utf8_lossy(doc))?)?
                }
            };
            serde_json::to_writer(
                &mut buf,
                &serde_json::json!({"status": status, "reason": reason, "document": document}),
            )?;
            buf.push(b'\n');
        }
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        f.write_all(&buf)?;
        f.sync_data()
    }
}
