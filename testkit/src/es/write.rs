//! The write path: one bulk item against the store, with ES's `_id` semantics (same index and
//! id overwrite, `create` conflicts, optimistic concurrency, external versions, partial updates,
//! deletes) and the item-level errors of each version.

use super::document::{check_fields, deep_merge, parse_source, parse_update_body};
use super::error::EsError;
use super::json::Json;
use super::store::{invalid_index_name, not_found, Doc, Index, Store};
use super::versions::{Profile, Types};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Index,
    Create,
    Update,
    Delete,
}

impl Op {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Op::Index => "index",
            Op::Create => "create",
            Op::Update => "update",
            Op::Delete => "delete",
        }
    }
}

/// One item of a bulk request, as parsed.
pub(crate) struct Write<'a> {
    pub op: Op,
    pub index: String,
    pub id: Option<String>,
    pub type_sent: Option<String>,
    pub source: Option<&'a [u8]>,
    pub meta: &'a Json,
    pub pipeline_param: Option<&'a str>,
}

pub(crate) struct Done {
    pub version: u64,
    pub result: &'static str,
    pub status: u16,
    pub seq_no: i64,
}

/// What a write did; `index`/`resp_type`/`id` are what the item response shows either way.
pub(crate) struct Outcome {
    pub index: String,
    pub resp_type: Option<String>,
    pub type_sent: Option<String>,
    pub id: String,
    pub result: Result<Done, EsError>,
}

impl Store {
    /// Applies one bulk item. Item-level failures are in the outcome, never a panic.
    pub(crate) fn write(&mut self, prof: &Profile, mut w: Write<'_>) -> Outcome {
        let auto = w.id.is_none() && matches!(w.op, Op::Index | Op::Create);
        let id = match &w.id {
            Some(id) => id.clone(),
            None => self.auto_id(),
        };
        let mut resp_type = None;
        let result = match self.write_index(&w.index) {
            Ok(concrete) => {
                if let Some(concrete) = concrete {
                    w.index = concrete;
                }
                self.try_write(prof, &w, &id, &mut resp_type)
            }
            Err(e) => Err(e),
        };
        match &result {
            Ok(done) if done.status < 300 && w.op != Op::Delete && done.result != "noop" => {
                self.stats.raw_docs += 1;
                if let Some(ix) = self.indices.get_mut(&w.index) {
                    ix.raw_accepted += 1;
                }
                match w.op {
                    Op::Update => self.stats.updates += 1,
                    _ if auto => self.stats.auto_id_accepted += 1,
                    _ => {
                        self.stats.explicit_id_accepted += 1;
                        self.explicit_ever.insert((w.index.clone(), id.clone()));
                    }
                }
            }
            Ok(done) if w.op == Op::Delete && done.status == 200 => self.stats.deletes += 1,
            Ok(_) => {}
            Err(_) => self.stats.failed_items += 1,
        }
        Outcome {
            index: w.index,
            resp_type,
            type_sent: w.type_sent,
            id,
            result,
        }
    }

    /// The index a write to `name` goes to when `name` is an alias: its only index, or the one
    /// marked `is_write_index`. `None` when `name` is not an alias.
    fn write_index(&self, name: &str) -> Result<Option<String>, EsError> {
        if self.indices.contains_key(name) {
            return Ok(None);
        }
        let flag = |ix: &str| {
            self.indices
                .get(ix)
                .and_then(|i| i.aliases.get(name))
                .and_then(|p| p.get("is_write_index"))
                .cloned()
        };
        let Some(targets) = self.alias_map().remove(name) else {
            return Ok(None);
        };
        let writers: Vec<&String> = targets
            .iter()
            .filter(|t| flag(t) == Some(Json::Bool(true)))
            .collect();
        match (writers.as_slice(), targets.as_slice()) {
            ([one], _) => Ok(Some((*one).clone())),
            ([], [only]) if flag(only) != Some(Json::Bool(false)) => Ok(Some(only.clone())),
            _ => Err(EsError::iae(format!(
                "no write index is defined for alias [{name}]. The write index may be explicitly disabled using \
                 is_write_index=false or the alias points to multiple indices without one being designated as a \
                 write index"
            ))),
        }
    }

    fn try_write(
        &mut self,
        prof: &Profile,
        w: &Write<'_>,
        id: &str,
        resp_type: &mut Option<String>,
    ) -> Result<Done, EsError> {
        let target = w.index.as_str();
        if w.meta
            .get("require_alias")
            .is_some_and(|v| v.to_plain_string() == "true")
        {
            return Err(EsError::new(
                404,
                "index_not_found_exception",
                format!("require_alias request flag is [true] and [{target}] is not an alias"),
            )
            .with("resource.type", "index_expression")
            .with("resource.id", target)
            .with("index_uuid", "_na_")
            .with("index", target));
        }
        if !self.indices.contains_key(target) {
            if let Some(problem) = prof.index_name_problem(target) {
                return Err(invalid_index_name(target, &problem));
            }
            if w.op == Op::Delete {
                return Err(not_found(prof, target));
            }
            self.create_index(target);
        }
        let pipeline = w.meta.get("pipeline").map(Json::to_plain_string);
        if let Some(p) = pipeline
            .as_deref()
            .or(w.pipeline_param)
            .filter(|p| *p != "_none")
        {
            return Err(EsError::iae(format!(
                "pipeline with id [{p}] does not exist"
            )));
        }
        let Some(ix) = self.indices.get_mut(target) else {
            return Err(not_found(prof, target));
        };
        if ix.closed {
            return Err(EsError::new(400, "index_closed_exception", "closed")
                .with("index_uuid", ix.uuid.clone())
                .with("index", target));
        }
        if prof.types != Types::Removed {
            let sent = w.type_sent.clone();
            if prof.multi_types {
                *resp_type = sent;
            } else {
                let t = match sent.as_deref() {
                    None | Some("_doc") => ix.doc_type.clone().unwrap_or_else(|| "_doc".into()),
                    Some(t) => t.to_string(),
                };
                match &ix.doc_type {
                    Some(cur) if *cur != t => {
                        let mut both = [cur.clone(), t];
                        both.sort();
                        return Err(EsError::iae(format!(
                            "Rejecting mapping update to [{target}] as the final mapping would have more than 1 type: [{}]",
                            both.join(", ")
                        )));
                    }
                    _ => *resp_type = Some(t),
                }
            }
        }
        if id.len() > 512 {
            return Err(EsError::new(
                400,
                "action_request_validation_exception",
                format!("Validation Failed: 1: id [{id}] is too long, must be no longer than 512 bytes but was: {};", id.len()),
            ));
        }
        let existing = ix.docs.get(id).map(|d| (d.version, d.seq_no));
        let conflict = |what: String| {
            let prefix = match resp_type.as_deref() {
                Some(t) if prof.esv < (7, 0, 0) => format!("[{t}][{id}]: "),
                _ => format!("[{id}]: "),
            };
            EsError::new(
                409,
                "version_conflict_engine_exception",
                format!("{prefix}version conflict, {what}"),
            )
            .with("index_uuid", ix.uuid.clone())
            .with("shard", "0")
            .with("index", target)
        };
        if w.meta.get("if_seq_no").is_some() || w.meta.get("if_primary_term").is_some() {
            let want_seq = meta_int(w.meta, "if_seq_no").unwrap_or(-2);
            let want_term = meta_int(w.meta, "if_primary_term").unwrap_or(0);
            match existing {
                None => {
                    return Err(conflict(format!(
                        "required seqNo [{want_seq}], primary term [{want_term}] but no document was found"
                    )))
                }
                Some((_, seq)) if seq as i64 != want_seq || want_term != 1 => {
                    return Err(conflict(format!(
                        "required seqNo [{want_seq}], primary term [{want_term}]. current document has seqNo [{seq}] and primary term [1]"
                    )))
                }
                _ => {}
            }
        }
        let vtype = w
            .meta
            .get("version_type")
            .map(Json::to_plain_string)
            .unwrap_or_else(|| "internal".into());
        let external = vtype.starts_with("external");
        let ext_version = meta_int(w.meta, "version").filter(|_| external && w.op != Op::Update);
        if let (Some(v), Some((cur, _))) = (ext_version, existing) {
            let refused = if vtype == "external_gte" {
                cur as i64 > v
            } else {
                cur as i64 >= v
            };
            if refused {
                return Err(conflict(format!(
                    "current version [{cur}] is higher or equal to the one provided [{v}]"
                )));
            }
        }
        let source = w.source.unwrap_or_default();
        let (version, result, status) = match w.op {
            Op::Index | Op::Create => {
                if let (Op::Create, Some((cur, _))) = (w.op, existing) {
                    return Err(conflict(format!(
                        "document already exists (current version [{cur}])"
                    )));
                }
                let doc = parse_source(prof, source)?;
                let version = ext_version
                    .map(|v| v.max(0) as u64)
                    .unwrap_or(existing.map_or(1, |(v, _)| v + 1));
                let raw = trim_line(source).to_vec();
                store(
                    ix,
                    &mut self.order,
                    id,
                    version,
                    doc,
                    raw,
                    (w.type_sent.clone(), resp_type.clone()),
                );
                if existing.is_some() {
                    (version, "updated", 200)
                } else {
                    (version, "created", 201)
                }
            }
            Op::Update => {
                let body = parse_update_body(prof, source)?;
                if body.get("script").is_some_and(|s| *s != Json::Null) {
                    return Err(EsError::iae("es_double does not run scripts"));
                }
                let partial = body.get("doc");
                match existing {
                    None => {
                        let newdoc = match (body.get("doc_as_upsert"), partial, body.get("upsert"))
                        {
                            (Some(Json::Bool(true)), Some(d @ Json::Obj(_)), _) => d.clone(),
                            (_, _, Some(u @ Json::Obj(_))) => u.clone(),
                            _ => {
                                let reason = match resp_type.as_deref() {
                                    Some(t) if prof.esv < (8, 0, 0) => {
                                        format!("[{t}][{id}]: document missing")
                                    }
                                    _ => format!("[{id}]: document missing"),
                                };
                                return Err(EsError::new(
                                    404,
                                    "document_missing_exception",
                                    reason,
                                )
                                .with("index_uuid", ix.uuid.clone())
                                .with("shard", "0")
                                .with("index", target));
                            }
                        };
                        check_fields(prof, &newdoc)?;
                        let raw = newdoc.to_compact();
                        store(
                            ix,
                            &mut self.order,
                            id,
                            1,
                            newdoc,
                            raw,
                            (w.type_sent.clone(), resp_type.clone()),
                        );
                        (1, "created", 201)
                    }
                    Some((cur, _)) => {
                        let Some(partial @ Json::Obj(_)) = partial else {
                            return Err(EsError::new(
                                400,
                                "action_request_validation_exception",
                                "Validation Failed: 1: script or doc is missing;",
                            ));
                        };
                        let old = ix
                            .docs
                            .get(id)
                            .map(|d| d.source.clone())
                            .unwrap_or(Json::Obj(Vec::new()));
                        let merged = deep_merge(&old, partial);
                        let noop_check =
                            !matches!(body.get("detect_noop"), Some(Json::Bool(false)));
                        if noop_check && merged == old {
                            (cur, "noop", 200)
                        } else {
                            check_fields(prof, &merged)?;
                            let raw = merged.to_compact();
                            store(
                                ix,
                                &mut self.order,
                                id,
                                cur + 1,
                                merged,
                                raw,
                                (w.type_sent.clone(), resp_type.clone()),
                            );
                            (cur + 1, "updated", 200)
                        }
                    }
                }
            }
            Op::Delete => {
                ix.seq += 1;
                match existing {
                    None => (1, "not_found", 404),
                    Some((cur, _)) => {
                        ix.docs.remove(id);
                        ix.deleted += 1;
                        (cur + 1, "deleted", 200)
                    }
                }
            }
        };
        Ok(Done {
            version,
            result,
            status,
            seq_no: ix.seq,
        })
    }
}

/// `types` is (what the client sent, the mapping type the write used).
fn store(
    ix: &mut Index,
    order: &mut u64,
    id: &str,
    version: u64,
    source: Json,
    raw: Vec<u8>,
    types: (Option<String>, Option<String>),
) {
    let (type_sent, mapping_type) = types;
    ix.seq += 1;
    *order += 1;
    if ix.docs.contains_key(id) {
        ix.deleted += 1;
    }
    ix.store_bytes += raw.len() as u64;
    if ix.doc_type.is_none() {
        ix.doc_type = mapping_type;
    }
    let doc = Doc {
        version,
        seq_no: ix.seq.max(0) as u64,
        type_sent,
        source,
        raw,
        order: *order,
    };
    ix.docs.insert(id.to_string(), doc);
}

fn trim_line(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

fn meta_int(meta: &Json, key: &str) -> Option<i64> {
    meta.get(key)
        .and_then(|v| v.to_plain_string().trim().parse().ok())
}
