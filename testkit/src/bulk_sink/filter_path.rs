//! Elasticsearch's `filter_path` response filtering, for the forms bulk clients use.
//!
//! A bulk response has one item per document; clients that only need to know about failures
//! ask for `filter_path=errors,items.*.error,items.*.status` so the response stays small.
//! Supported: comma-separated dotted paths, `*` within a segment (`items.*.status`,
//! `items.*._s*`), `**` for any depth. Arrays are transparent, and objects or arrays left
//! empty by the filter are dropped, as ES does. Exclusions (`-path`) are not supported and are
//! ignored.

use serde_json::{Map, Value};

/// Parsed `filter_path`: one segment list per comma-separated path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterPath {
    paths: Vec<Vec<String>>,
}

impl FilterPath {
    /// `None` when the parameter is empty or holds only (unsupported) exclusions.
    pub fn parse(spec: &str) -> Option<FilterPath> {
        let paths: Vec<Vec<String>> = spec
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty() && !p.starts_with('-'))
            .map(|p| p.split('.').map(str::to_string).collect())
            .collect();
        (!paths.is_empty()).then_some(FilterPath { paths })
    }

    /// The filtered value; `{}` when nothing matched (as ES answers).
    pub fn apply(&self, v: &Value) -> Value {
        let pats: Vec<&[String]> = self.paths.iter().map(Vec::as_slice).collect();
        filter(v, &pats).unwrap_or_else(|| Value::Object(Map::new()))
    }
}

/// Glob match of one path segment, `*` matching any run of characters.
fn seg_match(pat: &str, key: &str) -> bool {
    let parts: Vec<&str> = pat.split('*').collect();
    if parts.len() == 1 {
        return pat == key;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !key.starts_with(first) || key.len() < first.len() + last.len() || !key.ends_with(last) {
        return false;
    }
    let mut rest = &key[first.len()..key.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

fn filter(v: &Value, pats: &[&[String]]) -> Option<Value> {
    if pats
        .iter()
        .any(|p| p.is_empty() || (p.len() == 1 && p[0] == "**"))
    {
        return Some(v.clone());
    }
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, child) in m {
                let mut sub: Vec<&[String]> = Vec::new();
                for p in pats {
                    if p[0] == "**" {
                        // `**` may swallow this key and keep going, or end here.
                        sub.push(p);
                        if seg_match(&p[1], k) {
                            sub.push(&p[2..]);
                        }
                    } else if seg_match(&p[0], k) {
                        sub.push(&p[1..]);
                    }
                }
                if !sub.is_empty() {
                    if let Some(f) = filter(child, &sub) {
                        out.insert(k.clone(), f);
                    }
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Value::Array(a) => {
            let items: Vec<Value> = a.iter().filter_map(|e| filter(e, pats)).collect();
            (!items.is_empty()).then_some(Value::Array(items))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resp() -> Value {
        json!({"took": 1, "errors": false, "items": [
            {"index": {"_index": "i", "_id": "1", "status": 201, "_shards": {"total": 2, "failed": 0}}},
            {"create": {"_index": "i", "_id": "2", "status": 201}}
        ]})
    }

    #[test]
    fn agent_form() {
        let f = FilterPath::parse("errors,items.*.error,items.*.status").unwrap();
        assert_eq!(
            f.apply(&resp()),
            json!({"errors": false, "items": [{"index": {"status": 201}}, {"create": {"status": 201}}]})
        );
        let f = FilterPath::parse("errors,items.*.error").unwrap();
        assert_eq!(f.apply(&resp()), json!({"errors": false}));
    }

    #[test]
    fn wildcards_and_depth() {
        let f = FilterPath::parse("items.index._s*.total").unwrap();
        assert_eq!(
            f.apply(&resp()),
            json!({"items": [{"index": {"_shards": {"total": 2}}}]})
        );
        let f = FilterPath::parse("**.failed").unwrap();
        assert_eq!(
            f.apply(&resp()),
            json!({"items": [{"index": {"_shards": {"failed": 0}}}]})
        );
        let f = FilterPath::parse("nothing").unwrap();
        assert_eq!(f.apply(&resp()), json!({}));
        assert!(FilterPath::parse("-took").is_none());
        assert!(seg_match("a*c*e", "abcde") && !seg_match("a*c", "ab"));
    }
}
