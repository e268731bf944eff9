//! ES's two error body shapes: the structured one (`{"error":{"root_cause":[..],"type",..},
//! "status"}`) and `createSimpleErrorResponse`'s `{"error":"text","status":N}`.

use super::json::Json;

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct EsError {
    pub status: u16,
    kind: Kind,
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Typed {
        etype: String,
        reason: String,
        extra: Vec<(String, Json)>,
        caused_by: Option<Json>,
    },
    Simple(String),
}

impl EsError {
    pub(crate) fn new(status: u16, etype: &str, reason: impl Into<String>) -> EsError {
        EsError {
            status,
            kind: Kind::Typed {
                etype: etype.to_string(),
                reason: reason.into(),
                extra: Vec::new(),
                caused_by: None,
            },
        }
    }

    pub(crate) fn simple(status: u16, text: impl Into<String>) -> EsError {
        EsError {
            status,
            kind: Kind::Simple(text.into()),
        }
    }

    /// `illegal_argument_exception`, the answer to most malformed requests.
    pub(crate) fn iae(reason: impl Into<String>) -> EsError {
        EsError::new(400, "illegal_argument_exception", reason)
    }

    /// Fields ES puts after `reason` (index_uuid, shard, index, ...), in that order.
    pub(crate) fn with(mut self, key: &str, v: impl Into<Json>) -> EsError {
        if let Kind::Typed { extra, .. } = &mut self.kind {
            extra.push((key.to_string(), v.into()));
        }
        self
    }

    pub(crate) fn caused_by(mut self, etype: &str, reason: impl Into<String>) -> EsError {
        if let Kind::Typed { caused_by, .. } = &mut self.kind {
            *caused_by = Some(Json::obj([
                ("type", Json::str(etype)),
                ("reason", Json::str(reason.into())),
            ]));
        }
        self
    }

    /// The `error` object of a failed bulk item: no `root_cause`.
    pub(crate) fn cause(&self) -> Json {
        match &self.kind {
            Kind::Typed {
                etype,
                reason,
                extra,
                caused_by,
            } => {
                let mut o = vec![
                    ("type".to_string(), Json::str(etype.clone())),
                    ("reason".to_string(), Json::str(reason.clone())),
                ];
                o.extend(extra.iter().cloned());
                if let Some(c) = caused_by {
                    o.push(("caused_by".to_string(), c.clone()));
                }
                Json::Obj(o)
            }
            Kind::Simple(text) => Json::str(text.clone()),
        }
    }

    /// The whole-request error body.
    pub(crate) fn body(&self) -> Json {
        match &self.kind {
            Kind::Typed {
                etype,
                reason,
                extra,
                ..
            } => {
                let mut root = vec![
                    ("type".to_string(), Json::str(etype.clone())),
                    ("reason".to_string(), Json::str(reason.clone())),
                ];
                root.extend(extra.iter().cloned());
                let mut err = vec![("root_cause".to_string(), Json::Arr(vec![Json::Obj(root)]))];
                if let Json::Obj(fields) = self.cause() {
                    err.extend(fields);
                }
                Json::obj([
                    ("error", Json::Obj(err)),
                    ("status", Json::from(self.status)),
                ])
            }
            Kind::Simple(text) => Json::obj([
                ("error", Json::str(text.clone())),
                ("status", Json::from(self.status)),
            ]),
        }
    }
}

pub(crate) fn no_handler(path: &str, method: &str) -> EsError {
    EsError::simple(
        400,
        format!("no handler found for uri [{path}] and method [{method}]"),
    )
}

pub(crate) fn method_not_allowed(path: &str, method: &str, allowed: &[&str]) -> EsError {
    EsError::simple(
        405,
        format!(
            "Incorrect HTTP method for uri [{path}] and method [{method}], allowed: [{}]",
            allowed.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let e =
            EsError::new(404, "index_not_found_exception", "no such index [x]").with("index", "x");
        assert_eq!(
            e.body().to_compact_string(),
            r#"{"error":{"root_cause":[{"type":"index_not_found_exception","reason":"no such index [x]","index":"x"}],"type":"index_not_found_exception","reason":"no such index [x]","index":"x"},"status":404}"#
        );
        let e = EsError::new(400, "mapper_parsing_exception", "failed to parse")
            .caused_by("json_parse_exception", "d");
        assert_eq!(
            e.cause().to_compact_string(),
            r#"{"type":"mapper_parsing_exception","reason":"failed to parse","caused_by":{"type":"json_parse_exception","reason":"d"}}"#
        );
        assert_eq!(
            EsError::simple(406, "Content-Type header is missing")
                .body()
                .to_compact_string(),
            r#"{"error":"Content-Type header is missing","status":406}"#
        );
    }
}
