//! `_bulk`: strict NDJSON parsing with ES's messages, whole-request validation, and one result
//! per item in request order with the version's item shape.

use std::time::Instant;

use super::error::EsError;
use super::faults::{mapping_item_error, rejected_item_error, ItemFault};
use super::json::{parse_strict, Json};
use super::reply::Reply;
use super::versions::{Profile, Types};
use super::write::{Op, Outcome, Write};
use super::State;

pub(crate) struct Item<'a> {
    pub op: Op,
    pub meta: Json,
    pub source: Option<&'a [u8]>,
}

/// What the URL and query string contribute to a bulk request.
pub(crate) struct BulkRequest<'a> {
    pub raw_path: &'a str,
    pub path_index: Option<&'a str>,
    pub path_type: Option<&'a str>,
    pub params: &'a [(String, String)],
    pub body: &'a [u8],
    pub gzip: bool,
}

const UNTERMINATED: &str = "The bulk request must be terminated by a newline [\\n]";

fn find_nl(data: &[u8], from: usize) -> Option<usize> {
    data[from..]
        .iter()
        .position(|b| *b == b'\n')
        .map(|i| from + i)
}

/// Splits the body into items. Any malformed action line fails the whole request, as in ES.
pub(crate) fn parse<'a>(data: &'a [u8], prof: &Profile) -> Result<Vec<Item<'a>>, EsError> {
    let es8 = !prof.os && prof.major >= 8;
    let mut items = Vec::new();
    let (mut pos, mut line) = (0usize, 0usize);
    loop {
        let Some(nl) = find_nl(data, pos) else {
            if pos != data.len() && prof.trailing_newline {
                return Err(EsError::iae(UNTERMINATED));
            }
            // 5.x drops an unterminated last line without a word.
            break;
        };
        line += 1;
        let raw = &data[pos..nl];
        pos = nl + 1;
        if raw.iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
            continue;
        }
        let action = parse_strict(raw, prof.strict_dups).map_err(|msg| {
            let reason = if es8 {
                format!("[{line}:1] {msg}")
            } else {
                msg
            };
            EsError::new(400, prof.parse_exc, reason)
        })?;
        let malformed =
            |what: String| EsError::iae(format!("Malformed action/metadata line [{line}], {what}"));
        let Json::Obj(fields) = &action else {
            return Err(malformed(format!(
                "expected START_OBJECT but found [{}]",
                action.token_name()
            )));
        };
        let Some((op_name, meta)) = fields.first() else {
            return Err(malformed(
                "expected FIELD_NAME but found [END_OBJECT]".into(),
            ));
        };
        let op = match op_name.as_str() {
            "index" => Some(Op::Index),
            "create" => Some(Op::Create),
            "update" => Some(Op::Update),
            "delete" => Some(Op::Delete),
            _ => None,
        };
        if es8 && op.is_none() {
            // 8.x checks the action name at once; 7.x only after reading the source line.
            return Err(malformed(format!(
                "expected field [create], [delete], [index] or [update] but found [{op_name}]"
            )));
        }
        check_meta(prof, meta, line)?;
        if fields.len() > 1 {
            return Err(malformed(
                "expected END_OBJECT but found [FIELD_NAME]".into(),
            ));
        }
        if op == Some(Op::Delete) {
            items.push(Item {
                op: Op::Delete,
                meta: meta.clone(),
                source: None,
            });
            continue;
        }
        let Some(nl2) = find_nl(data, pos) else {
            if pos != data.len() && prof.trailing_newline {
                return Err(EsError::iae(UNTERMINATED));
            }
            break;
        };
        line += 1;
        let mut src = &data[pos..nl2];
        if let Some(s) = src.strip_suffix(b"\r") {
            src = s;
        }
        pos = nl2 + 1;
        let Some(mut op) = op else {
            return Err(EsError::iae(format!(
                "Malformed action/metadata line [{line}], expected one of [create, delete, index, update] but found [{op_name}]"
            )));
        };
        if op == Op::Index
            && meta
                .get("op_type")
                .is_some_and(|v| v.to_plain_string() == "create")
        {
            op = Op::Create;
        }
        items.push(Item {
            op,
            meta: meta.clone(),
            source: Some(src),
        });
    }
    Ok(items)
}

fn check_meta(prof: &Profile, meta: &Json, line: usize) -> Result<(), EsError> {
    let Json::Obj(entries) = meta else {
        return Err(EsError::iae(format!(
            "Malformed action/metadata line [{line}], expected START_OBJECT or END_OBJECT but found [{}]",
            meta.token_name()
        )));
    };
    let unknown = |k: &str| {
        EsError::iae(format!(
            "Action/metadata line [{line}] contains an unknown parameter [{k}]"
        ))
    };
    for (k, v) in entries {
        let simple = |token: &str| {
            EsError::iae(format!(
                "Malformed action/metadata line [{line}], expected a simple value for field [{k}] but found [{token}]"
            ))
        };
        if matches!(v, Json::Arr(_)) {
            return Err(simple("START_ARRAY"));
        }
        if !prof.bulk_field_ok(k) {
            return Err(unknown(k));
        }
        if matches!(v, Json::Obj(_)) && k != "_source" && k != "dynamic_templates" {
            return Err(simple("START_OBJECT"));
        }
    }
    Ok(())
}

fn meta_str(meta: &Json, key: &str) -> Option<String> {
    meta.get(key)
        .filter(|v| **v != Json::Null)
        .map(Json::to_plain_string)
}

/// BulkRequest.validate(): problems of the request as a whole, numbered.
fn validate(
    prof: &Profile,
    items: &[Item<'_>],
    path_index: Option<&str>,
    path_type: Option<&str>,
) -> Result<(), EsError> {
    let mut errs: Vec<&str> = Vec::new();
    if items.is_empty() {
        errs.push("no requests added");
    }
    for it in items {
        if meta_str(&it.meta, "_index").is_none() && path_index.is_none() {
            errs.push("index is missing");
        }
        if prof.types == Types::Required
            && meta_str(&it.meta, "_type").is_none()
            && path_type.is_none()
        {
            errs.push("type is missing");
        }
        if prof.esv >= (7, 0, 0) && meta_str(&it.meta, "_id").is_some_and(|id| id.is_empty()) {
            errs.push("if _id is specified it must not be empty");
        }
        if matches!(it.op, Op::Delete | Op::Update) && meta_str(&it.meta, "_id").is_none() {
            errs.push("id is missing");
        }
    }
    if errs.is_empty() {
        return Ok(());
    }
    let listed: String = errs
        .iter()
        .enumerate()
        .map(|(i, e)| format!("{}: {e};", i + 1))
        .collect();
    Err(EsError::new(
        400,
        "action_request_validation_exception",
        format!("Validation Failed: {listed}"),
    ))
}

/// Runs one bulk request against the store. The caller holds the state lock, so a bulk is
/// applied as one step and fault counters are consumed in item order.
pub(crate) fn run(
    prof: &Profile,
    state: &mut State,
    req: &BulkRequest<'_>,
) -> Result<Reply, EsError> {
    let t0 = Instant::now();
    if let Some((p, _)) = req.params.iter().find(|(p, _)| !prof.bulk_param_ok(p)) {
        return Err(EsError::iae(format!(
            "request [{}] contains unrecognized parameter: [{p}]",
            req.raw_path
        )));
    }
    let param = |k: &str| {
        req.params
            .iter()
            .find(|(p, _)| p == k)
            .map(|(_, v)| v.as_str())
    };
    let path_type = req.path_type.or(if prof.types != Types::Removed {
        param("type")
    } else {
        None
    });
    let items = parse(req.body, prof)?;
    validate(prof, &items, req.path_index, path_type)?;
    let stats = &mut state.store.stats;
    stats.bulk_requests += 1;
    stats.bulk_items += items.len() as u64;
    stats.gzip_requests += u64::from(req.gzip);
    let req_no = stats.bulk_requests;
    let mut errors = false;
    let mut out = Vec::with_capacity(items.len());
    for it in &items {
        let index = meta_str(&it.meta, "_index")
            .or(req.path_index.map(str::to_string))
            .unwrap_or_default();
        let type_sent = meta_str(&it.meta, "_type").or(path_type.map(str::to_string));
        let id = meta_str(&it.meta, "_id");
        let (item, status) = match state.faults.decide_item() {
            ItemFault::None => {
                let w = Write {
                    op: it.op,
                    index,
                    id,
                    type_sent,
                    source: it.source,
                    meta: &it.meta,
                    pipeline_param: param("pipeline"),
                };
                let outcome = state.store.write(prof, w);
                item_json(prof, it.op, outcome)
            }
            fault => {
                let id = id.unwrap_or_else(|| state.store.auto_id());
                let (status, error) = if fault == ItemFault::Reject {
                    (429, rejected_item_error(prof, req_no, &index))
                } else {
                    (400, mapping_item_error(prof, &id))
                };
                state.store.stats.injected_item_failures += 1;
                let mut o = vec![("_index".to_string(), Json::str(index))];
                if prof.resp_type() {
                    o.push((
                        "_type".into(),
                        Json::str(type_sent.unwrap_or_else(|| "_doc".into())),
                    ));
                }
                o.push(("_id".into(), Json::str(id)));
                o.push(("status".into(), Json::from(status)));
                o.push(("error".into(), error));
                (Json::Obj(o), status)
            }
        };
        let stats = &mut state.store.stats;
        *stats.items_by_status.entry(status).or_default() += 1;
        *stats
            .items_by_op
            .entry(it.op.name().to_string())
            .or_default() += 1;
        if status >= 300 && !(it.op == Op::Delete && status == 404) {
            errors = true;
        }
        out.push(Json::obj([(it.op.name(), item)]));
    }
    let took = Json::from(t0.elapsed().as_millis().max(1) as u64);
    let (errors, items) = (Json::Bool(errors), Json::Arr(out));
    let body = if prof.errors_first {
        Json::obj([("errors", errors), ("took", took), ("items", items)])
    } else {
        Json::obj([("took", took), ("errors", errors), ("items", items)])
    };
    Ok(Reply::json(200, body))
}

fn item_json(prof: &Profile, op: Op, o: Outcome) -> (Json, u16) {
    let mut f: Vec<(String, Json)> = vec![("_index".into(), Json::str(o.index))];
    match o.result {
        Ok(done) => {
            if prof.resp_type() {
                f.push((
                    "_type".into(),
                    Json::str(o.resp_type.unwrap_or_else(|| "_doc".into())),
                ));
            }
            f.push(("_id".into(), Json::str(o.id)));
            f.push(("_version".into(), Json::from(done.version)));
            f.push(("result".into(), Json::str(done.result)));
            let shards = Json::obj([
                ("total", Json::from(2u64)),
                ("successful", 1u64.into()),
                ("failed", 0u64.into()),
            ]);
            f.push(("_shards".into(), shards));
            if prof.created_flag && matches!(op, Op::Index | Op::Create) {
                f.push(("created".into(), Json::Bool(done.result == "created")));
            }
            if prof.seq_no {
                f.push(("_seq_no".into(), Json::from(done.seq_no)));
                f.push(("_primary_term".into(), Json::from(1u64)));
            }
            f.push(("status".into(), Json::from(done.status)));
            (Json::Obj(f), done.status)
        }
        Err(e) => {
            if prof.resp_type() {
                f.push((
                    "_type".into(),
                    Json::str(o.resp_type.or(o.type_sent).unwrap_or_else(|| "_doc".into())),
                ));
            }
            f.push(("_id".into(), Json::str(o.id)));
            f.push(("status".into(), Json::from(e.status)));
            f.push(("error".into(), e.cause()));
            (Json::Obj(f), e.status)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::es::versions::EsVersion;

    fn perr(v: EsVersion, body: &str) -> String {
        match parse(body.as_bytes(), &Profile::new(v)) {
            Ok(_) => "ok".into(),
            Err(e) => e.body().to_compact_string(),
        }
    }

    #[test]
    fn whole_request_errors() {
        let v7 = EsVersion::Es7_17_27;
        assert!(perr(v7, "{\"index\":{}}\n{}\n{\"delete\":{\"_id\":\"1\"}}\n") == "ok");
        assert!(
            perr(v7, "{\"index\":{}}\n{}").contains(UNTERMINATED.replace('\\', "\\\\").as_str())
        );
        assert_eq!(perr(EsVersion::Es5_6_16, "{\"index\":{}}\n{}"), "ok");
        assert!(perr(v7, "{\"index\":{},\"create\":{}}\n{}\n")
            .contains("line [1], expected END_OBJECT but found [FIELD_NAME]"));
        assert!(perr(v7, "{\"nope\":{}}\n{}\n").contains(
            "line [2], expected one of [create, delete, index, update] but found [nope]"
        ));
        assert!(perr(EsVersion::Es8_17_0, "{\"nope\":{}}\n{}\n").contains(
            "line [1], expected field [create], [delete], [index] or [update] but found [nope]"
        ));
        assert!(perr(v7, "[1]\n").contains("expected START_OBJECT but found [START_ARRAY]"));
        assert!(perr(v7, "{}\n").contains("expected FIELD_NAME but found [END_OBJECT]"));
        assert!(perr(v7, "{\"index\":5}\n")
            .contains("expected START_OBJECT or END_OBJECT but found [VALUE_NUMBER_INT]"));
        assert!(perr(v7, "{\"index\":{\"_id\":[1]}}\n{}\n")
            .contains("expected a simple value for field [_id] but found [START_ARRAY]"));
        assert!(perr(
            EsVersion::Es8_17_0,
            "{\"index\":{\"_type\":\"_doc\"}}\n{}\n"
        )
        .contains("Action/metadata line [1] contains an unknown parameter [_type]"));
        assert!(perr(v7, "{\"index\":\n").contains("json_parse_exception"));
        assert!(perr(EsVersion::Es8_17_0, "{\"index\":\n")
            .contains(r#""type":"x_content_parse_exception","reason":"[1:1] "#));
        assert!(perr(v7, "{\"index\":{\"_id\":\"1\",\"_id\":\"2\"}}\n{}\n")
            .contains("Duplicate field '_id'"));
    }
}
