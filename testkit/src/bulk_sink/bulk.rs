//! `POST /_bulk`: count, optionally verify, answer.

use super::{reply, FilterPath, ResponsePlan, Shared, NO_REQUESTS_BODY};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use std::io::{Read, Write};
use std::sync::atomic::Ordering;

fn inflate(encoding: &str, wire: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut out = Vec::with_capacity(wire.len().saturating_mul(6));
    let res = match encoding {
        "" | "identity" => return Ok(None),
        // MultiGz: concatenated gzip members are one valid body.
        "gzip" | "x-gzip" => flate2::read::MultiGzDecoder::new(wire).read_to_end(&mut out),
        "deflate" => flate2::read::ZlibDecoder::new(wire).read_to_end(&mut out),
        other => return Err(format!("unsupported content-encoding {other:?}")),
    };
    res.map(|_| Some(out))
        .map_err(|e| format!("bad {encoding} body: {e}"))
}

/// (op, `_index`) of the first action line; parses only that line.
fn first_action(body: &[u8]) -> (String, Option<String>) {
    let end = memchr::memchr(b'\n', body).unwrap_or(body.len());
    let v: serde_json::Value = serde_json::from_slice(&body[..end]).unwrap_or_default();
    match v.as_object().and_then(|m| m.iter().next()) {
        Some((op, meta)) => (
            op.clone(),
            meta.get("_index")
                .and_then(|i| i.as_str())
                .map(str::to_string),
        ),
        None => ("index".to_string(), None),
    }
}

/// `/{index}/_bulk` or `/{index}/{type}/_bulk` -> index.
fn path_index(path: &str) -> Option<&str> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    (parts.len() >= 2).then(|| parts[0])
}

pub(super) fn bulk(
    sh: &Shared,
    path: &str,
    query: Option<&str>,
    encoding: &str,
    wire: &Bytes,
) -> Response<Full<Bytes>> {
    let inflated = match inflate(encoding, wire) {
        Ok(b) => b,
        Err(reason) => {
            sh.bad_requests.fetch_add(1, Ordering::Relaxed);
            let body = serde_json::json!({"error": {"type": "parse_exception", "reason": reason}, "status": 400});
            return reply(StatusCode::BAD_REQUEST, body.to_string());
        }
    };
    let body: &[u8] = inflated.as_deref().unwrap_or(wire);
    let mut lines = memchr::memchr_iter(b'\n', body).count();
    if !body.is_empty() && !body.ends_with(b"\n") {
        lines += 1;
    }
    let docs = lines / 2;
    if docs == 0 {
        sh.bad_requests.fetch_add(1, Ordering::Relaxed);
        return reply(StatusCode::BAD_REQUEST, NO_REQUESTS_BODY);
    }
    let (op, action_index) = first_action(body);
    let default_index = path_index(path).map(str::to_string);
    let index = action_index
        .or_else(|| default_index.clone())
        .unwrap_or_else(|| "unknown".to_string());

    if let Ok(mut slow) = sh.slow.lock() {
        if sh.opts.verify {
            verify_pairs(body, default_index.as_deref(), &mut slow);
        } else {
            *slow.indices.entry(index.clone()).or_insert(0) += docs as u64;
        }
        let want = sh.opts.sample_docs.saturating_sub(slow.samples.len());
        if want > 0 {
            let mut it = body.split(|&b| b == b'\n').filter(|l| !l.is_empty());
            for _ in 0..want {
                let (Some(a), Some(d)) = (it.next(), it.next()) else {
                    break;
                };
                let pair = format!(
                    "{}\n{}",
                    String::from_utf8_lossy(a),
                    String::from_utf8_lossy(d)
                );
                slow.samples.push(pair);
            }
        }
    }

    let now = sh.start.elapsed().as_nanos() as u64 + 1;
    let _ = sh
        .first_doc_ns
        .compare_exchange(0, now, Ordering::AcqRel, Ordering::Relaxed);
    sh.last_doc_ns.fetch_max(now, Ordering::AcqRel);
    sh.bulk_requests.fetch_add(1, Ordering::Relaxed);
    sh.wire_bytes
        .fetch_add(wire.len() as u64, Ordering::Relaxed);
    sh.body_bytes
        .fetch_add(body.len() as u64, Ordering::Relaxed);
    if inflated.is_some() {
        sh.gzip_requests.fetch_add(1, Ordering::Relaxed);
    }
    sh.max_docs.fetch_max(docs as u64, Ordering::Relaxed);
    // Last: the bench polls this counter and then reads the times stored above.
    sh.docs.fetch_add(docs as u64, Ordering::AcqRel);

    let filter = super::query_param(query, "filter_path").and_then(|f| FilterPath::parse(&f));
    let plan = ResponsePlan::new(&op, &index, filter.as_ref());
    let out = if plan.needs_ids() {
        // Echo the ids the agent chose; number the others, as ES generates ids.
        let ids: Vec<Option<&[u8]>> = body
            .split(|&b| b == b'\n')
            .step_by(2)
            .take(docs)
            .map(super::response::action_id)
            .collect();
        let first_generated = sh.next_id.fetch_add(docs as u64, Ordering::Relaxed);
        plan.render(docs, |i, out| match ids.get(i).copied().flatten() {
            Some(id) => out.extend_from_slice(id),
            None => {
                let _ = write!(out, "sink{:016}", first_generated + i as u64);
            }
        })
    } else {
        plan.render(docs, |_, _| {})
    };
    reply(StatusCode::OK, out)
}

fn verify_pairs(body: &[u8], default_index: Option<&str>, slow: &mut super::Slow) {
    let mut it = body.split(|&b| b == b'\n').filter(|l| !l.is_empty());
    while let Some(action) = it.next() {
        let doc = it.next();
        let v: serde_json::Value = serde_json::from_slice(action).unwrap_or_default();
        let (op, meta) = match v.as_object().and_then(|m| m.iter().next()) {
            Some((op, meta)) => (op.as_str(), meta),
            None => ("", &serde_json::Value::Null),
        };
        if !matches!(op, "index" | "create") {
            slow.verify.invalid_actions += 1;
        }
        let doc_ok = doc.is_some_and(|d| {
            d.first() == Some(&b'{') && serde_json::from_slice::<serde::de::IgnoredAny>(d).is_ok()
        });
        if !doc_ok {
            slow.verify.invalid_docs += 1;
        }
        let index = meta
            .get("_index")
            .and_then(|i| i.as_str())
            .or(default_index)
            .unwrap_or("unknown");
        *slow.indices.entry(index.to_string()).or_insert(0) += 1;
        match meta.get("_id").and_then(|i| i.as_str()) {
            Some(id) => {
                let mut key = Vec::with_capacity(index.len() + id.len() + 1);
                key.extend_from_slice(index.as_bytes());
                key.push(0);
                key.extend_from_slice(id.as_bytes());
                if slow.ids.insert(key) {
                    slow.verify.distinct_ids += 1;
                } else {
                    slow.verify.duplicate_ids += 1;
                }
            }
            None => slow.verify.docs_without_id += 1,
        }
    }
}
