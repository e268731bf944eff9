//! `/_double/*`: inspection and fault control over HTTP, for the standalone binary and for
//! scripts. Never subject to faults.

use super::error::EsError;
use super::faults::Faults;
use super::json::{parse_strict, Json};
use super::reply::{Body, Reply, JSON};
use super::store::StoredDoc;
use super::{SeedIndex, Shared};

pub(crate) fn handle(
    shared: &Shared,
    method: &str,
    segs: &[String],
    params: &[(String, String)],
    body: &[u8],
) -> Reply {
    match handle_inner(shared, method, segs, params, body) {
        Ok(r) => r,
        Err(e) => Reply::error(&e),
    }
}

fn raw_json(v: &impl serde::Serialize) -> Reply {
    let bytes = serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec());
    Reply {
        status: 200,
        body: Body::Raw(bytes, JSON),
    }
}

fn handle_inner(
    shared: &Shared,
    method: &str,
    segs: &[String],
    params: &[(String, String)],
    body: &[u8],
) -> Result<Reply, EsError> {
    let what = segs.first().map(String::as_str).unwrap_or("");
    match (what, method) {
        ("health", _) => Ok(Reply::json(
            200,
            Json::obj([
                ("ok", Json::Bool(true)),
                ("version", Json::str(shared.prof.version.key())),
            ]),
        )),
        ("stats", "GET") => {
            let (stats, faults) = {
                let st = shared.lock();
                (st.store.snapshot(&shared.prof), st.faults.faults.clone())
            };
            let mut v = serde_json::to_value(&stats).unwrap_or_default();
            if let Some(m) = v.as_object_mut() {
                m.insert(
                    "faults".into(),
                    serde_json::to_value(&faults).unwrap_or_default(),
                );
            }
            Ok(raw_json(&v))
        }
        ("reset", "POST") => {
            let opts = if body.iter().all(u8::is_ascii_whitespace) {
                Json::Obj(Vec::new())
            } else {
                parse_strict(body, false)
                    .map_err(|e| EsError::iae(format!("reset body is not JSON: {e}")))?
            };
            let keep_faults = opts.get("faults") == Some(&Json::Bool(false));
            shared.reset(!keep_faults);
            Ok(Reply::json(200, Json::obj([("reset", Json::Bool(true))])))
        }
        ("faults", "GET") => Ok(raw_json(&shared.lock().faults.faults)),
        ("requests", "GET") => {
            let log: Vec<_> = shared.lock().store.requests.iter().cloned().collect();
            Ok(raw_json(&log))
        }
        ("seed", "POST" | "PUT") => {
            let list: Vec<SeedIndex> = serde_json::from_slice(body)
                .map_err(|e| EsError::iae(format!("seed body: {e}")))?;
            shared.seed(&list).map_err(EsError::iae)?;
            Ok(Reply::json(
                200,
                Json::obj([("seeded", Json::from(list.len() as u64))]),
            ))
        }
        ("faults", "POST" | "PUT") => {
            let faults = {
                let mut st = shared.lock();
                st.faults.merge(body)?;
                st.faults.faults.clone()
            };
            shared.set_down(faults.down);
            Ok(raw_json(&faults))
        }
        ("faults", "DELETE") => {
            shared.set_faults(Faults::default());
            Ok(raw_json(&Faults::default()))
        }
        ("docs", "GET") => {
            let expr = params
                .iter()
                .find(|(k, _)| k == "index")
                .map(|(_, v)| v.as_str());
            let docs = {
                let st = shared.lock();
                match expr {
                    Some(e) => {
                        let names = st.store.resolve(&shared.prof, e, true)?;
                        st.store.docs(Some(&names))
                    }
                    None => st.store.docs(None),
                }
            };
            let mut out = Vec::new();
            for d in &docs {
                out.extend_from_slice(&ndjson_line(d));
            }
            Ok(Reply {
                status: 200,
                body: Body::Raw(out, "application/x-ndjson"),
            })
        }
        ("stats" | "reset" | "docs" | "requests" | "seed", _) => Err(EsError::simple(
            405,
            format!("method {method} not allowed on /_double/{what}"),
        )),
        _ => Err(EsError::new(
            404,
            "resource_not_found_exception",
            format!("unknown es_double control endpoint [{what}]"),
        )),
    }
}

/// `{"index","id","type","version","seq_no","doc"}` with `doc` as the source bytes received, so
/// key order and number spelling are the client's own.
pub(crate) fn ndjson_line(d: &StoredDoc) -> Vec<u8> {
    let head = Json::obj([
        ("index", Json::str(d.index.clone())),
        ("id", Json::str(d.id.clone())),
        (
            "type",
            d.doc_type.clone().map(Json::Str).unwrap_or(Json::Null),
        ),
        ("version", Json::from(d.version)),
        ("seq_no", Json::from(d.seq_no)),
    ])
    .to_compact();
    let mut line = head[..head.len() - 1].to_vec();
    line.extend_from_slice(b",\"doc\":");
    line.extend_from_slice(&d.raw_source);
    line.extend_from_slice(b"}\n");
    line
}
