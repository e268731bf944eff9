//! Injected failures: what the agent must survive. Decisions are deterministic: counters are
//! consumed in arrival order and ratios draw from an RNG seeded by `seed`.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use super::error::EsError;
use super::json::{glob_match, Json};
use super::reply::{Body, Reply};
use super::versions::Profile;

/// Fault settings. Request faults apply to `_bulk` requests, and to `GET`/`HEAD /` when
/// `include_root`, or, when `fail_match` is set, to the requests it matches instead; the control
/// API is never affected. Counters (`*_next_*`) count down as they fire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// The next N requests fail whole with `fail_status`.
    pub fail_next_requests: u32,
    /// 503 cluster_block_exception, 429 es_rejected_execution_exception, 500, 502/504 proxy HTML,
    /// 413 empty, 401/403 security_exception; any other status gets a generic ES error body.
    pub fail_status: u16,
    /// Each request fails whole with this probability.
    pub fail_requests_ratio: f64,
    /// The next N bulk items get an item-level 429 es_rejected_execution_exception.
    pub reject_next_items: u32,
    pub reject_items_ratio: f64,
    /// The next N bulk items get an item-level 400 mapping error (never retryable).
    pub fail_item_status_next: u32,
    /// Sleep before answering.
    pub delay_ms: u64,
    /// Apply the next N bulk requests, then reset the connection instead of answering.
    pub drop_next_responses: u32,
    /// Switching it on resets every open connection at once (one busy with a control request is
    /// spared); while on, each bulk request (and root request, with `include_root`) is answered
    /// by a reset. The control API keeps working.
    pub down: bool,
    /// Apply the next N bulk requests, then answer 200 with a body that is not JSON.
    pub garbage_next_responses: u32,
    /// Apply the next N bulk requests, then answer with their last item left out (what a proxy
    /// or a server that read the body differently would give: one item short of the documents).
    pub short_next_responses: u32,
    /// Faults also hit `GET /` and `HEAD /` (the agent's version probe).
    pub include_root: bool,
    /// A pattern (`*` matches any text) on `METHOD /path` (no query string), e.g. `DELETE /*`:
    /// the request faults (and `down`, `delay_ms`) hit the requests it matches instead of
    /// `_bulk`. Empty: the default. (bench/es_double.py takes a regex here.)
    pub fail_match: String,
    /// The next N requests the faults apply to pass untouched before the request counters and
    /// ratios start (`skip_next_requests: 1, fail_next_requests: 1` fails the second request).
    pub skip_next_requests: u32,
    /// Seed of the RNG behind the ratios.
    pub seed: u64,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            fail_next_requests: 0,
            fail_status: 503,
            fail_requests_ratio: 0.0,
            reject_next_items: 0,
            reject_items_ratio: 0.0,
            fail_item_status_next: 0,
            delay_ms: 0,
            drop_next_responses: 0,
            down: false,
            garbage_next_responses: 0,
            short_next_responses: 0,
            include_root: false,
            fail_match: String::new(),
            skip_next_requests: 0,
            seed: 0,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RequestFault {
    None,
    Fail(u16),
    Drop,
    Garbage,
    Short,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ItemFault {
    None,
    Reject,
    MappingError,
}

pub(crate) struct FaultState {
    pub faults: Faults,
    rng: StdRng,
}

impl FaultState {
    pub(crate) fn new(faults: Faults) -> FaultState {
        let rng = StdRng::seed_from_u64(faults.seed);
        FaultState { faults, rng }
    }

    pub(crate) fn set(&mut self, faults: Faults) {
        *self = FaultState::new(faults);
    }

    /// Merges a JSON object of fault fields (nulls are ignored), as `POST /_double/faults` does.
    pub(crate) fn merge(&mut self, body: &[u8]) -> Result<(), EsError> {
        let patch: serde_json::Value = if body.iter().all(u8::is_ascii_whitespace) {
            serde_json::Value::Object(Default::default())
        } else {
            serde_json::from_slice(body)
                .map_err(|e| EsError::iae(format!("faults body is not JSON: {e}")))?
        };
        let serde_json::Value::Object(patch) = patch else {
            return Err(EsError::iae("faults body must be a JSON object"));
        };
        let mut cur = match serde_json::to_value(&self.faults) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => return Err(EsError::iae("faults cannot be serialized")),
        };
        for (k, v) in &patch {
            if !cur.contains_key(k) {
                let known: Vec<&str> = cur.keys().map(String::as_str).collect();
                return Err(EsError::iae(format!(
                    "unknown fault [{k}]; known: {}",
                    known.join(", ")
                )));
            }
            if !v.is_null() {
                cur.insert(k.clone(), v.clone());
            }
        }
        let merged: Faults = serde_json::from_value(serde_json::Value::Object(cur))
            .map_err(|e| EsError::iae(format!("bad fault value: {e}")))?;
        let reseed = patch.get("seed").is_some_and(|v| !v.is_null());
        self.faults = merged;
        if reseed {
            self.rng = StdRng::seed_from_u64(self.faults.seed);
        }
        Ok(())
    }

    fn chance(&mut self, ratio: f64) -> bool {
        ratio > 0.0 && self.rng.gen::<f64>() < ratio
    }

    /// Whether the request faults apply to this request.
    pub(crate) fn applies(&self, method: &str, path: &str, bulk: bool, root: bool) -> bool {
        let f = &self.faults;
        if f.fail_match.is_empty() {
            return bulk || (root && f.include_root);
        }
        glob_match(&f.fail_match, &format!("{method} {path}"))
    }

    pub(crate) fn decide_request(&mut self) -> RequestFault {
        let f = &mut self.faults;
        if f.skip_next_requests > 0 {
            f.skip_next_requests -= 1;
            return RequestFault::None;
        }
        if f.fail_next_requests > 0 {
            f.fail_next_requests -= 1;
            return RequestFault::Fail(f.fail_status);
        }
        let (ratio, status) = (f.fail_requests_ratio, f.fail_status);
        if self.chance(ratio) {
            return RequestFault::Fail(status);
        }
        let f = &mut self.faults;
        if f.drop_next_responses > 0 {
            f.drop_next_responses -= 1;
            return RequestFault::Drop;
        }
        if f.garbage_next_responses > 0 {
            f.garbage_next_responses -= 1;
            return RequestFault::Garbage;
        }
        if f.short_next_responses > 0 {
            f.short_next_responses -= 1;
            return RequestFault::Short;
        }
        RequestFault::None
    }

    pub(crate) fn decide_item(&mut self) -> ItemFault {
        if self.faults.reject_next_items > 0 {
            self.faults.reject_next_items -= 1;
            return ItemFault::Reject;
        }
        if self.chance(self.faults.reject_items_ratio) {
            return ItemFault::Reject;
        }
        if self.faults.fail_item_status_next > 0 {
            self.faults.fail_item_status_next -= 1;
            return ItemFault::MappingError;
        }
        ItemFault::None
    }
}

/// The whole-request answer of an injected failure, as ES (or the proxy in front of it) sends it.
/// 401 and 403 are those of ES security for a user `logship` (the body's `header` field is
/// there; the `WWW-Authenticate` response header is not sent).
pub(crate) fn injected_failure(status: u16, method: &str, path: &str) -> Reply {
    let err = match status {
        401 => {
            let reason = format!("unable to authenticate user [logship] for REST request [{path}]");
            let header = Json::obj([(
                "WWW-Authenticate",
                Json::str("Basic realm=\"security\" charset=\"UTF-8\""),
            )]);
            EsError::new(401, "security_exception", reason).with("header", header)
        }
        403 => {
            let action = if method == "DELETE" {
                "indices:admin/delete"
            } else if path.contains("/_settings") {
                "indices:monitor/settings/get"
            } else if path.contains("/_alias") {
                "indices:admin/aliases/get"
            } else if path.contains("/_bulk") {
                "indices:data/write/bulk"
            } else {
                "cluster:monitor/main"
            };
            EsError::new(
                403,
                "security_exception",
                format!("action [{action}] is unauthorized for user [logship]"),
            )
        }
        503 => EsError::new(
            503,
            "cluster_block_exception",
            "blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];",
        ),
        429 => EsError::new(
            429,
            "es_rejected_execution_exception",
            "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, \
             all_bytes=0, coordinating_operation_bytes=108400734, max_coordinating_and_primary_bytes=107374182]",
        ),
        413 => return Reply { status, body: Body::Empty },
        502 | 504 => {
            let title = if status == 502 { "Bad Gateway" } else { "Gateway Time-out" };
            let html = format!(
                "<html>\r\n<head><title>{status} {title}</title></head>\r\n<body>\r\n<center><h1>{status} {title}</h1>\
                 </center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
            );
            return Reply { status, body: Body::Raw(html.into_bytes(), "text/html") };
        }
        500 => EsError::new(500, "null_pointer_exception", "es_double injected internal error"),
        other => EsError::new(
            other,
            "es_double_injected_exception",
            format!("es_double injected failure with status {other}"),
        ),
    };
    Reply::error(&err)
}

/// The error of an item rejected by a full write queue (the real 7.x thread-pool message).
pub(crate) fn rejected_item_error(prof: &Profile, req_no: u64, index: &str) -> Json {
    let reason = format!(
        "rejected execution of processing of [{req_no}][indices:data/write/bulk[s][p]]: request: BulkShardRequest \
         [[{index}][0]] containing [1] requests, target allocation id: es-double-alloc, primary term: 1 on \
         EsThreadPoolExecutor[name = {}/write, queue capacity = 200, \
         org.elasticsearch.common.util.concurrent.EsThreadPoolExecutor@3601e410[Running, pool size = 2, active \
         threads = 2, queued tasks = 200, completed tasks = 10627640]]",
        prof.node_name
    );
    EsError::new(429, "es_rejected_execution_exception", reason).cause()
}

/// The error of an item failed by `fail_item_status_next`: a field type conflict, in the
/// version's own wording.
pub(crate) fn mapping_item_error(prof: &Profile, id: &str) -> Json {
    let value = "not-a-number";
    let reason = format!(
        "failed to parse field [es_double.injected] of type [long] in document with id '{id}'. Preview of field's value: '{value}'"
    );
    let cause = if prof.esv < (7, 0, 0) {
        "number_format_exception"
    } else {
        "illegal_argument_exception"
    };
    let err = if prof.doc_parsing {
        EsError::new(400, "document_parsing_exception", format!("[1:2] {reason}"))
    } else {
        EsError::new(400, "mapper_parsing_exception", reason)
    };
    err.caused_by(cause, format!("For input string: \"{value}\""))
        .cause()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_and_counters() {
        let mut st = FaultState::new(Faults::default());
        st.merge(br#"{"fail_next_requests":1,"fail_status":429,"drop_next_responses":1,"delay_ms":null}"#).unwrap();
        assert_eq!(st.decide_request(), RequestFault::Fail(429));
        assert_eq!(st.decide_request(), RequestFault::Drop);
        assert_eq!(st.decide_request(), RequestFault::None);
        let e = st.merge(br#"{"nope":1}"#).unwrap_err();
        assert!(e
            .cause()
            .to_compact_string()
            .contains("unknown fault [nope]"));
        assert!(st.merge(br#"{"delay_ms":"x"}"#).is_err());
        assert!(st.merge(b"[1]").is_err());
        st.merge(br#"{"reject_next_items":1,"fail_item_status_next":1}"#)
            .unwrap();
        assert_eq!(st.decide_item(), ItemFault::Reject);
        assert_eq!(st.decide_item(), ItemFault::MappingError);
        assert_eq!(st.decide_item(), ItemFault::None);
    }

    #[test]
    fn match_and_skip() {
        let mut st = FaultState::new(Faults::default());
        assert!(st.applies("POST", "/_bulk", true, false));
        assert!(!st.applies("GET", "/", false, true));
        assert!(!st.applies("DELETE", "/a,b", false, false));
        st.merge(br#"{"fail_match":"DELETE /*","skip_next_requests":1,"fail_next_requests":1}"#)
            .unwrap();
        assert!(st.applies("DELETE", "/a,b", false, false));
        assert!(!st.applies("POST", "/_bulk", true, false));
        assert_eq!(st.decide_request(), RequestFault::None);
        assert_eq!(st.decide_request(), RequestFault::Fail(503));
        assert_eq!(st.decide_request(), RequestFault::None);
    }

    #[test]
    fn ratios_are_deterministic() {
        let draw = |seed| {
            let mut st = FaultState::new(Faults {
                reject_items_ratio: 0.5,
                seed,
                ..Faults::default()
            });
            (0..64)
                .map(|_| st.decide_item() == ItemFault::Reject)
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(3), draw(3));
        let hits = draw(3).iter().filter(|x| **x).count();
        assert!(hits > 10 && hits < 54, "{hits}");
    }
}
