//! Dots in keys become `_` (fluent-bit's `Replace_Dots`, on by default): Elasticsearch reads
//! `app.kubernetes.io/name` as nested objects and then rejects `app` as both a value and an
//! object, one of the most common mapping errors of Kubernetes logs.

use std::borrow::Cow;

use serde_json::Value;

pub fn dedot_key(key: &str) -> Cow<'_, str> {
    if key.contains('.') {
        Cow::Owned(key.replace('.', "_"))
    } else {
        Cow::Borrowed(key)
    }
}

/// Rewrites the keys of every object inside `value`, at any depth.
pub fn dedot_value(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.keys().any(|k| k.contains('.')) {
                let old = std::mem::take(map);
                for (k, mut v) in old {
                    dedot_value(&mut v);
                    let k = dedot_key(&k).into_owned();
                    // The first key wins, as everywhere in a record.
                    map.entry(k).or_insert(v);
                }
            } else {
                map.values_mut().for_each(dedot_value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(dedot_value),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_keys_are_rewritten() {
        let mut v = json!({"a.b": {"c.d": [ {"e.f": 1} ]}, "x": "y.z"});
        dedot_value(&mut v);
        assert_eq!(v, json!({"a_b": {"c_d": [ {"e_f": 1} ]}, "x": "y.z"}));
    }

    #[test]
    fn colliding_keys_keep_the_first() {
        let mut v: Value = serde_json::from_str(r#"{"a.b":1,"a_b":2}"#).unwrap();
        dedot_value(&mut v);
        assert_eq!(v, json!({"a_b": 1}));
    }
}
