//! Bulk responses built by repetition: the item for one document is rendered once per request
//! (after `filter_path`), and the response is that item repeated with each document's `_id`,
//! so answering 20,000 documents costs a memcpy each rather than a JSON serialization.

use super::filter_path::FilterPath;
use serde_json::{json, Value};

/// Stands for the `_id` in the rendered template; serialized as `\u0001id\u0001`.
const ID_MARK: &str = "\u{1}id\u{1}";
const ID_MARK_JSON: &str = "\\u0001id\\u0001";

/// A rendered response with a hole for the items.
#[derive(Debug, Clone)]
pub struct ResponsePlan {
    head: String,
    /// The item up to its `_id` value (or the whole item when `_id` is filtered out).
    item_prefix: String,
    /// The rest of the item after `_id`; `None` when the filtered item has no `_id`.
    item_suffix: Option<String>,
    tail: String,
    has_items: bool,
}

impl ResponsePlan {
    /// A successful response whose items are all `op` into `index`, as ES 7.17 answers.
    pub fn new(op: &str, index: &str, filter: Option<&FilterPath>) -> ResponsePlan {
        let op = if op == "create" { "create" } else { "index" };
        let full = json!({"took": 1, "errors": false, "items": [{op: {
            "_index": index, "_type": "_doc", "_id": ID_MARK, "_version": 1, "result": "created",
            "_shards": {"total": 2, "successful": 1, "failed": 0},
            "_seq_no": 0, "_primary_term": 1, "status": 201}}]});
        let filtered = match filter {
            Some(f) => f.apply(&full),
            None => full,
        };
        let text = to_es_order(&filtered);
        let item = filtered
            .get("items")
            .and_then(|i| i.get(0))
            .map(to_es_order);
        // The one item sits right after `"items":[`; cut the text around it.
        let cut = item.as_ref().and_then(|item| {
            let start = text.find("\"items\":[")? + "\"items\":[".len();
            text[start..].starts_with(item.as_str()).then_some(start)
        });
        match (item, cut) {
            (Some(item), Some(start)) => {
                let (item_prefix, item_suffix) = match item.find(ID_MARK_JSON) {
                    // The mark sits between the value's quotes, which stay in prefix/suffix.
                    Some(i) => (
                        item[..i].to_string(),
                        Some(item[i + ID_MARK_JSON.len()..].to_string()),
                    ),
                    None => (item.clone(), None),
                };
                ResponsePlan {
                    head: text[..start].to_string(),
                    item_prefix,
                    item_suffix,
                    tail: text[start + item.len()..].to_string(),
                    has_items: true,
                }
            }
            _ => ResponsePlan {
                head: text,
                item_prefix: String::new(),
                item_suffix: None,
                tail: String::new(),
                has_items: false,
            },
        }
    }

    /// Whether the items echo `_id`s (worth extracting them from the request).
    pub fn needs_ids(&self) -> bool {
        self.has_items && self.item_suffix.is_some()
    }

    /// Renders `docs` items; `id(i, out)` appends the `_id` of document `i` (JSON string
    /// contents, without quotes) and is only called when the items contain `_id`.
    pub fn render(&self, docs: usize, mut id: impl FnMut(usize, &mut Vec<u8>)) -> Vec<u8> {
        if !self.has_items {
            return self.head.as_bytes().to_vec();
        }
        let per_item =
            self.item_prefix.len() + self.item_suffix.as_ref().map_or(0, |s| s.len() + 24) + 1;
        let mut out = Vec::with_capacity(self.head.len() + self.tail.len() + docs * per_item);
        out.extend_from_slice(self.head.as_bytes());
        for i in 0..docs {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(self.item_prefix.as_bytes());
            if let Some(suffix) = &self.item_suffix {
                id(i, &mut out);
                out.extend_from_slice(suffix.as_bytes());
            }
        }
        out.extend_from_slice(self.tail.as_bytes());
        out
    }
}

/// Key order of a real ES response (serde_json's map sorts keys); unknown keys go last.
const ES_KEY_ORDER: &[&str] = &[
    "took",
    "errors",
    "items",
    "index",
    "create",
    "_index",
    "_type",
    "_id",
    "_version",
    "result",
    "_shards",
    "total",
    "successful",
    "failed",
    "_seq_no",
    "_primary_term",
    "status",
    "error",
];

/// Serializes `v` with object keys in Elasticsearch's order, so clients that look at the
/// text (not only the parsed JSON) see what they would see from ES.
fn to_es_order(v: &Value) -> String {
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Object(m) => {
                let rank = |k: &str| {
                    ES_KEY_ORDER
                        .iter()
                        .position(|o| *o == k)
                        .unwrap_or(usize::MAX)
                };
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort_by_key(|k| rank(k));
                out.push('{');
                for (i, k) in keys.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.to_string()).to_string());
                    out.push(':');
                    write(&m[k.as_str()], out);
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, e) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(e, out);
                }
                out.push(']');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    let mut out = String::new();
    write(v, &mut out);
    out
}

/// The `_id` value in one action line (`{"index":{"_index":"x","_id":"abc"}}`), raw.
pub fn action_id(line: &[u8]) -> Option<&[u8]> {
    let key = b"\"_id\":\"";
    let start = memchr::memmem::find(line, key)? + key.len();
    let rest = &line[start..];
    // Skip escaped quotes; ids with escapes are rare but must not cut the value short.
    let mut i = 0;
    while i < rest.len() {
        match rest[i] {
            b'\\' => i += 2,
            b'"' => return Some(&rest[..i]),
            _ => i += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(plan: &ResponsePlan, n: usize) -> Value {
        let out = plan.render(n, |i, o| o.extend_from_slice(format!("id{i}").as_bytes()));
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn full_items() {
        let plan = ResponsePlan::new("index", "logs-2026.11.22", None);
        assert!(plan.needs_ids());
        let text = String::from_utf8(plan.render(1, |_, o| o.push(b'7'))).unwrap();
        assert!(text.starts_with(r#"{"took":1,"errors":false,"items":[{"index":{"_index":"logs-2026.11.22","_type":"_doc","_id":"7","#), "{text}");
        let v = render(&plan, 3);
        assert_eq!(v["errors"], false);
        let items = v["items"].as_array().unwrap();
        assert_eq!(items.len(), 3);
        assert_eq!(items[2]["index"]["_id"], "id2");
        assert_eq!(items[0]["index"]["_index"], "logs-2026.11.22");
        assert_eq!(items[0]["index"]["status"], 201);
    }

    #[test]
    fn filtered_items() {
        let f = FilterPath::parse("errors,items.*.error,items.*.status").unwrap();
        let plan = ResponsePlan::new("create", "x", Some(&f));
        assert!(!plan.needs_ids());
        let v = render(&plan, 2);
        assert_eq!(
            v,
            json!({"errors": false, "items": [{"create": {"status": 201}}, {"create": {"status": 201}}]})
        );
        let f = FilterPath::parse("errors,items.*.error").unwrap();
        assert_eq!(
            render(&ResponsePlan::new("index", "x", Some(&f)), 5),
            json!({"errors": false})
        );
        let f = FilterPath::parse("items.*._id").unwrap();
        let v = render(&ResponsePlan::new("index", "x", Some(&f)), 2);
        assert_eq!(
            v,
            json!({"items": [{"index": {"_id": "id0"}}, {"index": {"_id": "id1"}}]})
        );
        assert_eq!(
            render(&ResponsePlan::new("index", "x", None), 0)["items"],
            json!([])
        );
    }

    #[test]
    fn ids_from_actions() {
        assert_eq!(
            action_id(br#"{"index":{"_index":"a","_id":"x\"y"}}"#),
            Some(&br#"x\"y"#[..])
        );
        assert_eq!(action_id(br#"{"index":{"_index":"a"}}"#), None);
    }
}
