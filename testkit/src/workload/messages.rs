//! Log messages that look like what services print: a mix of plain "level logger request"
//! lines and whole-line JSON objects, with occasional quotes, HTML characters, tabs and
//! non-ASCII text so that escaping paths are exercised. Sizes vary ±50% around the target,
//! like the reference generator.

use super::rng::Rng;
use std::fmt::Write;

pub const NAMESPACES: &[&str] = &[
    "default",
    "kube-system",
    "prod",
    "staging",
    "monitoring",
    "payments",
    "search",
    "ingress",
];
pub const APPS: &[&str] = &[
    "api",
    "web",
    "worker",
    "frontend",
    "checkout",
    "auth",
    "cart",
    "search",
    "indexer",
    "ingest",
    "billing",
    "mailer",
    "scheduler",
    "gateway",
    "profile",
    "catalog",
    "recommend",
    "queue",
];
pub const CONTAINERS: &[&str] = &["app", "main", "server", "sidecar", "proxy", "envoy"];
const WORDS: &[&str] = &[
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
    "request",
    "response",
    "handler",
    "cache",
    "miss",
    "hit",
    "user",
    "session",
    "token",
    "upstream",
    "downstream",
    "latency",
    "retry",
    "backoff",
    "timeout",
    "connection",
    "pool",
    "worker",
    "queue",
    "message",
    "batch",
    "flush",
    "commit",
    "rollback",
    "shard",
    "replica",
    "leader",
    "follower",
    "snapshot",
    "compaction",
    "index",
    "query",
    "filter",
    "bucket",
    "object",
    "stream",
    "partition",
    "offset",
    "consumer",
    "producer",
];
// Weighted like real services: mostly info.
const LEVELS: &[&str] = &[
    "info", "info", "info", "info", "info", "info", "info", "debug", "debug", "warn", "error",
];
const LEVELS_UPPER: &[&str] = &[
    "INFO", "INFO", "INFO", "INFO", "INFO", "INFO", "INFO", "DEBUG", "DEBUG", "WARN", "ERROR",
];
const PATHS: &[&str] = &[
    "/api/v1/items",
    "/api/v1/users",
    "/healthz",
    "/metrics",
    "/api/v2/orders",
    "/login",
    "/search",
];
const METHODS: &[&str] = &[
    "GET", "GET", "GET", "GET", "GET", "GET", "POST", "POST", "POST", "PUT", "DELETE",
];
const LOGGERS: &[&str] = &[
    "http.server",
    "db.pool",
    "cache",
    "worker.loop",
    "grpc.client",
    "auth.jwt",
];

pub struct MessageGen {
    line_size: usize,
    json_ratio: f64,
    fields: Vec<(&'static str, String)>,
}

impl MessageGen {
    pub fn new(line_size: usize, json_ratio: f64) -> MessageGen {
        MessageGen {
            line_size,
            json_ratio,
            fields: Vec::with_capacity(16),
        }
    }

    fn target(&self, r: &mut Rng) -> usize {
        ((self.line_size as f64 * (0.5 + r.unit())) as usize).max(16)
    }

    /// Appends space-separated words until at least `n` bytes were added.
    fn pad(r: &mut Rng, n: usize, out: &mut String) {
        let start = out.len();
        let mut first = true;
        while out.len() - start < n {
            if !first {
                out.push(' ');
            }
            first = false;
            out.push_str(r.pick(WORDS));
        }
    }

    /// Writes one message into `out` (cleared first); returns whether it is a JSON object.
    /// `ts` is the line's RFC 3339 time, echoed in the message as services do.
    pub fn message(&mut self, r: &mut Rng, ts: &str, out: &mut String) -> bool {
        out.clear();
        if r.chance(self.json_ratio) {
            self.json_line(r, ts, out);
            true
        } else {
            self.plain(r, ts, out);
            false
        }
    }

    fn plain(&mut self, r: &mut Rng, ts: &str, out: &mut String) {
        let lvl = r.pick(LEVELS_UPPER);
        let date = ts.get(..19).unwrap_or(ts);
        let (day, time) = date.split_once('T').unwrap_or((date, ""));
        // Writing into a String cannot fail.
        let _ = write!(
            out,
            "{day} {time} {lvl:<5} [{}-{}] {} {}/{} status={} dur_ms={}",
            r.pick(LOGGERS),
            r.below(16),
            r.pick(METHODS),
            r.pick(PATHS),
            r.below(100_000),
            if r.chance(0.9) { 200 } else { 500 },
            r.below(2000)
        );
        if r.chance(0.05) {
            out.push_str(" note=\"quoted \\\"text\\\" <b>&amp;</b>\ttab\"");
        }
        if r.chance(0.03) {
            out.push_str(" unicode=\u{e9}\u{e8}\u{4e2d}\u{6587}\u{2603}");
        }
        let target = self.target(r);
        if target > out.len() {
            let need = target - out.len();
            out.push_str(" msg=");
            Self::pad(r, need, out);
        }
    }

    fn json_line(&mut self, r: &mut Rng, ts: &str, out: &mut String) {
        let target = self.target(r);
        let f = &mut self.fields;
        f.clear();
        f.push(("level", json_str(r.pick(LEVELS))));
        f.push(("ts", json_str(ts)));
        f.push(("msg", "\"\"".to_string()));
        f.push(("request_id", format!("\"{:016x}\"", r.next_u64())));
        let status = if r.chance(0.9) { 200 } else { 503 };
        f.push(("status", status.to_string()));
        // Optional fields, added while the object is below the size target.
        let mut size = 75 + ts.len();
        for k in 0..7 {
            if size >= target {
                break;
            }
            let (key, val) = match k {
                0 => {
                    let us = r.below(250_000);
                    ("latency_ms", format!("{}.{:03}", us / 1000, us % 1000))
                }
                1 => ("logger", json_str(r.pick(LOGGERS))),
                2 => ("method", json_str(r.pick(METHODS))),
                3 => ("path", json_str(r.pick(PATHS))),
                4 => {
                    let c = format!("pkg/{}/handler.go:{}", r.pick(APPS), r.below(900));
                    ("caller", json_str(&c))
                }
                5 => ("bytes", r.below(1 << 20).to_string()),
                _ => {
                    let tier = if r.chance(0.2) { "gold" } else { "free" };
                    let tags = if r.chance(0.5) { "[\"a\",\"b\"]" } else { "[]" };
                    let v = format!(
                        "{{\"id\":{},\"tier\":\"{tier}\",\"tags\":{tags}}}",
                        r.below(1_000_000)
                    );
                    ("user", v)
                }
            };
            size += key.len() + 6 + val.len();
            f.push((key, val));
        }
        if r.chance(0.05) {
            f.push((
                "error",
                json_str("upstream said \"no\" <html>&</html>\tat line\n2"),
            ));
        }
        if r.chance(0.05) {
            f.push(("ok", "true".to_string()));
            f.push(("nothing", "null".to_string()));
        }
        // Length with an empty msg: braces, commas, quoted keys, colons, values.
        let base: usize = 2
            + f.iter().map(|(k, v)| k.len() + 3 + v.len()).sum::<usize>()
            + f.len().saturating_sub(1);
        let mut msg = String::new();
        if target > base {
            Self::pad(r, target - base, &mut msg);
        } else {
            msg.push_str("ok");
        }
        f[2].1 = json_str(&msg);
        out.push('{');
        for (i, (k, v)) in f.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('"');
            out.push_str(k);
            out.push_str("\":");
            out.push_str(v);
        }
        out.push('}');
    }
}

/// A JSON string literal (standard escaping, raw UTF-8), as most JSON loggers write it.
fn json_str(s: &str) -> String {
    // Serializing a &str to a String cannot fail.
    serde_json::to_string(s).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_valid_and_sized() {
        let mut g = MessageGen::new(120, 0.5);
        let mut r = Rng::new(3);
        let mut out = String::new();
        let (mut total, mut json) = (0usize, 0usize);
        for _ in 0..2000 {
            let is_json = g.message(&mut r, "2026-11-22T01:02:03.1Z", &mut out);
            assert!(!out.contains('\n'), "raw newline in {out:?}");
            if is_json {
                json += 1;
                let v: serde_json::Value = serde_json::from_str(&out).unwrap();
                assert!(v.is_object());
                assert!(v["msg"].is_string());
            } else {
                assert!(out.starts_with("2026-11-22 01:02:03 "), "{out}");
            }
            total += out.len();
        }
        let avg = total / 2000;
        assert!((100..=150).contains(&avg), "average size {avg}");
        assert!((850..=1150).contains(&json), "json count {json}");
    }
}
