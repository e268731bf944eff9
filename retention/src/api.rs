//! The three Elasticsearch calls retention makes, and what their answers mean:
//! `GET /_all/_settings` (the concrete indices, open and closed: the call Curator lists them
//! with, so both see the same set on every version), `GET /_alias` (which names are aliases) and
//! `DELETE /{index},{index}...`.

use std::collections::BTreeMap;

use hyper::Method;
use serde_json::Value;

use crate::client::{EsClient, Reply, Unreachable};
use crate::plan::encode_name;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("Elasticsearch cannot be reached: {0}")]
    Unreachable(#[from] Unreachable),
    #[error("{endpoint} denied access (HTTP {status}{detail}); the user needs the view_index_metadata and delete_index privileges on logstash-* and heapster-*")]
    Denied {
        endpoint: String,
        status: u16,
        detail: String,
    },
    #[error("{endpoint} answered HTTP {status}{detail}")]
    Status {
        endpoint: String,
        status: u16,
        detail: String,
    },
    #[error("{endpoint} answered with a body that is not what {what} returns: {problem}")]
    Unexpected {
        endpoint: String,
        what: &'static str,
        problem: String,
    },
}

/// `GET /_all/_settings?expand_wildcards=open,closed`: the names of the concrete indices.
pub async fn list_indices(client: &EsClient) -> Result<Vec<String>, ApiError> {
    let what = "GET /_all/_settings";
    let reply = ok(client
        .send(Method::GET, "/_all/_settings?expand_wildcards=open,closed")
        .await?)?;
    let v = json(&reply, what)?;
    let Value::Object(map) = v else {
        return Err(unexpected(&reply, what, "not a JSON object"));
    };
    Ok(map.into_iter().map(|(name, _)| name).collect())
}

/// `GET /_alias`: each index's aliases (indices without any may be left out, as ES 6 does).
pub async fn list_aliases(client: &EsClient) -> Result<BTreeMap<String, Vec<String>>, ApiError> {
    let what = "GET /_alias";
    let reply = ok(client.send(Method::GET, "/_alias").await?)?;
    let v = json(&reply, what)?;
    let Value::Object(map) = v else {
        return Err(unexpected(&reply, what, "not a JSON object"));
    };
    let mut out = BTreeMap::new();
    for (index, entry) in map {
        let names: Vec<String> = match entry.get("aliases") {
            Some(Value::Object(a)) => a.keys().cloned().collect(),
            _ => {
                let problem = format!("{index:?} has no \"aliases\" object");
                return Err(unexpected(&reply, what, &problem));
            }
        };
        if !names.is_empty() {
            out.insert(index, names);
        }
    }
    Ok(out)
}

/// Whether ES acknowledged a deletion within its timeout (it carries it out either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    Acknowledged,
    NotYetAcknowledged,
}

/// `DELETE /{names}`: ES deletes all of them or, if any is missing, none.
pub async fn delete(client: &EsClient, names: &[&str]) -> Result<Deleted, ApiError> {
    let what = "DELETE /{index}";
    let path: Vec<String> = names.iter().map(|n| encode_name(n)).collect();
    let reply = ok(client
        .send(Method::DELETE, &format!("/{}", path.join(",")))
        .await?)?;
    match json(&reply, what)?.get("acknowledged") {
        Some(Value::Bool(true)) => Ok(Deleted::Acknowledged),
        Some(Value::Bool(false)) => Ok(Deleted::NotYetAcknowledged),
        _ => Err(unexpected(&reply, what, "no \"acknowledged\" field")),
    }
}

/// A 2xx reply, or the error its status means.
fn ok(reply: Reply) -> Result<Reply, ApiError> {
    let status = reply.status;
    if (200..300).contains(&status) {
        return Ok(reply);
    }
    let detail = match error_text(&reply.body) {
        Some(text) => format!(": {text}"),
        None => String::new(),
    };
    let endpoint = reply.endpoint;
    if status == 401 || status == 403 {
        return Err(ApiError::Denied {
            endpoint,
            status,
            detail,
        });
    }
    Err(ApiError::Status {
        endpoint,
        status,
        detail,
    })
}

/// The gist of an error body: `type: reason` of ES's structured error, the text of its simple
/// one, or the start of whatever else came (a proxy's HTML page, say).
pub fn error_text(body: &[u8]) -> Option<String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        match v.get("error") {
            Some(Value::String(s)) => return Some(s.clone()),
            Some(e @ Value::Object(_)) => {
                let field = |k: &str| e.get(k).and_then(Value::as_str);
                match (field("type"), field("reason")) {
                    (Some(t), Some(r)) => return Some(format!("{t}: {r}")),
                    (Some(t), None) => return Some(t.to_string()),
                    _ => {}
                }
            }
            _ => {}
        }
    }
    let text = String::from_utf8_lossy(body);
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = flat.chars().take(200).collect();
    if cut.len() < flat.len() {
        cut.push('…');
    }
    Some(cut)
}

fn json(reply: &Reply, what: &'static str) -> Result<Value, ApiError> {
    serde_json::from_slice(&reply.body)
        .map_err(|e| unexpected(reply, what, &format!("not JSON ({e})")))
}

fn unexpected(reply: &Reply, what: &'static str, problem: &str) -> ApiError {
    ApiError::Unexpected {
        endpoint: reply.endpoint.clone(),
        what,
        problem: problem.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_texts() {
        let es7 = br#"{"error":{"root_cause":[],"type":"index_not_found_exception","reason":"no such index [x]","index":"x"},"status":404}"#;
        assert_eq!(
            error_text(es7).as_deref(),
            Some("index_not_found_exception: no such index [x]")
        );
        assert_eq!(
            error_text(br#"{"error":"Incorrect HTTP method","status":405}"#).as_deref(),
            Some("Incorrect HTTP method")
        );
        assert_eq!(
            error_text(b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n</html>")
                .as_deref(),
            Some("<html> <head><title>502 Bad Gateway</title></head> </html>")
        );
        assert_eq!(error_text(b""), None);
        assert_eq!(
            error_text(&[b'x'; 300]).map(|s| s.chars().count()),
            Some(201)
        );
    }
}
