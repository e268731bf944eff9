//! What ES refuses inside one document, independent of any mapping: unparsable or duplicate-key
//! JSON, non-objects, metadata fields at the root, empty or blank field names, names that make
//! object paths ambiguous, and objects nested deeper than `index.mapping.depth.limit` (20).
//! Type conflicts between documents need a mapping and are not emulated.

use super::error::EsError;
use super::json::{parse_strict, Json};
use super::versions::Profile;

const DEPTH_LIMIT: usize = 20;

/// Parses an index/create source line into the document object.
pub(crate) fn parse_source(prof: &Profile, source: &[u8]) -> Result<Json, EsError> {
    if source.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(parse_err(
            prof,
            "failed to parse, document is empty",
            "[1:1] ",
        ));
    }
    let doc = parse_strict(source, prof.strict_dups).map_err(|msg| {
        if prof.doc_parsing {
            EsError::new(
                400,
                "document_parsing_exception",
                format!("[1:1] failed to parse: {msg}"),
            )
            .caused_by(prof.parse_exc, msg)
        } else {
            EsError::new(400, "mapper_parsing_exception", "failed to parse")
                .caused_by(prof.parse_exc, msg)
        }
    })?;
    if !matches!(doc, Json::Obj(_)) {
        return Err(parse_err(
            prof,
            "Malformed content, must start with an object",
            "[1:1] ",
        ));
    }
    check_fields(prof, &doc)?;
    Ok(doc)
}

/// Parses the body line of an `update` action (`{"doc":..}`, `{"upsert":..}`, ...).
pub(crate) fn parse_update_body(prof: &Profile, source: &[u8]) -> Result<Json, EsError> {
    if source.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(parse_err(
            prof,
            "failed to parse, document is empty",
            "[1:1] ",
        ));
    }
    let body = parse_strict(source, prof.strict_dups)
        .map_err(|msg| EsError::new(400, prof.parse_exc, msg))?;
    if !matches!(body, Json::Obj(_)) {
        return Err(EsError::new(
            400,
            prof.parse_exc,
            "Malformed content, must start with an object",
        ));
    }
    Ok(body)
}

fn parse_err(prof: &Profile, reason: &str, prefix: &str) -> EsError {
    if prof.doc_parsing {
        EsError::new(
            400,
            "document_parsing_exception",
            format!("{prefix}{reason}"),
        )
    } else {
        EsError::new(400, "mapper_parsing_exception", reason)
    }
}

pub(crate) fn check_fields(prof: &Profile, doc: &Json) -> Result<(), EsError> {
    if let Json::Obj(fields) = doc {
        walk(prof, fields, "", 0, true)?;
    }
    Ok(())
}

fn walk(
    prof: &Profile,
    fields: &[(String, Json)],
    prefix: &str,
    depth: usize,
    root: bool,
) -> Result<(), EsError> {
    for (key, val) in fields {
        if key.is_empty() {
            return Err(parse_err(prof, "failed to parse", "[1:2] ").caused_by(
                "illegal_argument_exception",
                "field name cannot be an empty string",
            ));
        }
        if root && prof.is_metadata_field(key) {
            let reason = format!(
                "Field [{key}] is a metadata field and cannot be added inside a document. Use the index API request parameters."
            );
            return Err(parse_err(prof, &reason, "[1:2] "));
        }
        if key.trim().is_empty() {
            let reason = format!("Field name cannot contain only whitespace: [{prefix}{key}]");
            return Err(parse_err(prof, &reason, "[1:2] "));
        }
        let parts: Vec<&str> = key.split('.').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(parse_err(prof, "failed to parse", "[1:2] ").caused_by(
                "illegal_argument_exception",
                format!("object field starting or ending with a [.] makes object resolution ambiguous: [{key}]"),
            ));
        }
        value(
            prof,
            val,
            &format!("{prefix}{key}"),
            depth + parts.len() - 1,
        )?;
    }
    Ok(())
}

fn value(prof: &Profile, val: &Json, path: &str, depth: usize) -> Result<(), EsError> {
    match val {
        Json::Arr(items) => items.iter().try_for_each(|v| value(prof, v, path, depth)),
        Json::Obj(fields) => {
            if depth + 1 > DEPTH_LIMIT {
                return Err(EsError::iae(format!(
                    "Limit of mapping depth [{DEPTH_LIMIT}] has been exceeded due to object field [{path}]"
                )));
            }
            walk(prof, fields, &format!("{path}."), depth + 1, false)
        }
        _ => Ok(()),
    }
}

/// ES's partial update: objects merge recursively, anything else replaces.
pub(crate) fn deep_merge(old: &Json, patch: &Json) -> Json {
    let (Json::Obj(base), Json::Obj(changes)) = (old, patch) else {
        return patch.clone();
    };
    let mut out = base.clone();
    for (k, v) in changes {
        match out.iter_mut().find(|(ok, _)| ok == k) {
            Some((_, cur)) if matches!((&*cur, v), (Json::Obj(_), Json::Obj(_))) => {
                *cur = deep_merge(cur, v)
            }
            Some((_, cur)) => *cur = v.clone(),
            None => out.push((k.clone(), v.clone())),
        }
    }
    Json::Obj(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::es::versions::EsVersion;

    fn err(v: EsVersion, src: &str) -> String {
        parse_source(&Profile::new(v), src.as_bytes())
            .unwrap_err()
            .cause()
            .to_compact_string()
    }

    #[test]
    fn refusals() {
        let v7 = EsVersion::Es7_17_27;
        assert_eq!(
            err(v7, r#"{"a":1,"a":2}"#),
            r#"{"type":"mapper_parsing_exception","reason":"failed to parse","caused_by":{"type":"json_parse_exception","reason":"Duplicate field 'a'"}}"#
        );
        assert!(parse_source(&Profile::new(EsVersion::Es5_6_16), br#"{"a":1,"a":2}"#).is_ok());
        assert_eq!(
            err(v7, r#"{"x":{"_id":1},"_id":"a"}"#),
            r#"{"type":"mapper_parsing_exception","reason":"Field [_id] is a metadata field and cannot be added inside a document. Use the index API request parameters."}"#
        );
        assert_eq!(
            err(EsVersion::Es8_17_0, "[1]"),
            r#"{"type":"document_parsing_exception","reason":"[1:1] Malformed content, must start with an object"}"#
        );
        assert_eq!(
            err(v7, "  "),
            r#"{"type":"mapper_parsing_exception","reason":"failed to parse, document is empty"}"#
        );
        assert!(err(v7, r#"{"a":{" ":1}}"#)
            .contains("Field name cannot contain only whitespace: [a. ]"));
        assert!(err(v7, r#"{"a.":1}"#).contains("makes object resolution ambiguous: [a.]"));
        // The root is not counted: 21 objects below it (a field at depth 22) is one too many.
        let deep = format!("{}1{}", r#"{"a":"#.repeat(22), "}".repeat(22));
        assert!(err(v7, &deep).contains("Limit of mapping depth [20]"));
        let ok = format!("{}1{}", r#"{"a":"#.repeat(21), "}".repeat(21));
        assert!(parse_source(&Profile::new(v7), ok.as_bytes()).is_ok());
    }

    #[test]
    fn merge() {
        let old = parse_strict(br#"{"a":1,"o":{"x":1,"y":2}}"#, true).unwrap();
        let patch = parse_strict(br#"{"o":{"y":3},"b":true}"#, true).unwrap();
        assert_eq!(
            deep_merge(&old, &patch).to_compact_string(),
            r#"{"a":1,"o":{"x":1,"y":3},"b":true}"#
        );
    }
}
