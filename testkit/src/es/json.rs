//! An order-keeping JSON value, the strict parser ES uses for bulk lines, the writers, and
//! `filter_path`.
//!
//! serde_json's `Value` sorts object keys (the workspace does not enable `preserve_order`, and
//! turning it on here would change the product's serde_json through feature unification), but ES
//! answers with keys in a fixed order (`took` before `errors` before 8.x, `status` before `error`
//! in items) and clients and tests compare bodies byte for byte. So responses are built from
//! [`Json`], whose objects are ordered lists.

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Number;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Num(Number),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub(crate) fn obj<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Json)>) -> Json {
        Json::Obj(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    pub(crate) fn str(s: impl Into<String>) -> Json {
        Json::Str(s.into())
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(pairs) => pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text ES uses for a metadata value that is not a string (`"_id": 5` is id "5").
    pub(crate) fn to_plain_string(&self) -> String {
        match self {
            Json::Str(s) => s.clone(),
            other => other.to_compact_string(),
        }
    }

    /// Jackson's token name, which ES puts into its "found [...]" messages.
    pub(crate) fn token_name(&self) -> &'static str {
        match self {
            Json::Null => "VALUE_NULL",
            Json::Bool(_) => "VALUE_BOOLEAN",
            Json::Num(n) if n.is_f64() => "VALUE_NUMBER_FLOAT",
            Json::Num(_) => "VALUE_NUMBER_INT",
            Json::Str(_) => "VALUE_STRING",
            Json::Arr(_) => "START_ARRAY",
            Json::Obj(_) => "START_OBJECT",
        }
    }

    pub(crate) fn to_compact(&self) -> Vec<u8> {
        // Serializing an in-memory tree with string keys cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub(crate) fn to_compact_string(&self) -> String {
        String::from_utf8(self.to_compact()).unwrap_or_default()
    }

    /// ES's `?pretty`: two-space indent, `" : "` between key and value, final newline.
    pub(crate) fn to_pretty(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, JacksonPretty::default());
        if self.serialize(&mut ser).is_err() {
            return self.to_compact();
        }
        out.push(b'\n');
        out
    }

    pub(crate) fn to_value(&self) -> serde_json::Value {
        match self {
            Json::Null => serde_json::Value::Null,
            Json::Bool(b) => serde_json::Value::Bool(*b),
            Json::Num(n) => serde_json::Value::Number(n.clone()),
            Json::Str(s) => serde_json::Value::String(s.clone()),
            Json::Arr(a) => serde_json::Value::Array(a.iter().map(Json::to_value).collect()),
            Json::Obj(o) => serde_json::Value::Object(
                o.iter().map(|(k, v)| (k.clone(), v.to_value())).collect(),
            ),
        }
    }
}

impl From<bool> for Json {
    fn from(b: bool) -> Json {
        Json::Bool(b)
    }
}
impl From<u64> for Json {
    fn from(n: u64) -> Json {
        Json::Num(n.into())
    }
}
impl From<i64> for Json {
    fn from(n: i64) -> Json {
        Json::Num(n.into())
    }
}
impl From<u16> for Json {
    fn from(n: u16) -> Json {
        Json::Num(n.into())
    }
}
impl From<&str> for Json {
    fn from(s: &str) -> Json {
        Json::Str(s.to_string())
    }
}
impl From<String> for Json {
    fn from(s: String) -> Json {
        Json::Str(s)
    }
}
impl From<f64> for Json {
    fn from(f: f64) -> Json {
        Number::from_f64(f).map(Json::Num).unwrap_or(Json::Null)
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => s.serialize_unit(),
            Json::Bool(b) => s.serialize_bool(*b),
            Json::Num(n) => n.serialize(s),
            Json::Str(v) => s.serialize_str(v),
            Json::Arr(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for e in a {
                    seq.serialize_element(e)?;
                }
                seq.end()
            }
            Json::Obj(o) => {
                let mut map = s.serialize_map(Some(o.len()))?;
                for (k, v) in o {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

#[derive(Default)]
struct JacksonPretty {
    inner: serde_json::ser::PrettyFormatter<'static>,
    /// One entry per open object or array: still empty? Jackson writes `{ }` and `[ ]`.
    empty: Vec<bool>,
}

impl JacksonPretty {
    fn close_gap<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        if self.empty.pop().unwrap_or(false) {
            w.write_all(b" ")?;
        }
        Ok(())
    }
    fn filled(&mut self) {
        if let Some(top) = self.empty.last_mut() {
            *top = false;
        }
    }
}

impl serde_json::ser::Formatter for JacksonPretty {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.empty.push(true);
        self.inner.begin_array(w)
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close_gap(w)?;
        self.inner.end_array(w)
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.filled();
        self.inner.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.inner.end_array_value(w)
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.empty.push(true);
        self.inner.begin_object(w)
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close_gap(w)?;
        self.inner.end_object(w)
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.filled();
        self.inner.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b" : ")
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.inner.end_object_value(w)
    }
}

/// Parses one JSON text the way ES's Jackson parser does: no NaN, nothing after the value, and,
/// when `reject_dups` (ES 6.x+ enables `STRICT_DUPLICATE_DETECTION`), no repeated key in any
/// object at any depth. The error text is the one the Python double reports.
pub(crate) fn parse_strict(data: &[u8], reject_dups: bool) -> Result<Json, String> {
    let dup = RefCell::new(None);
    let seed = Seed {
        reject_dups,
        dup: &dup,
    };
    let mut de = serde_json::Deserializer::from_slice(data);
    let res = seed.deserialize(&mut de).and_then(|v| de.end().map(|_| v));
    match res {
        Ok(v) => Ok(v),
        Err(e) => match dup.into_inner() {
            Some(key) => Err(format!("Duplicate field '{key}'")),
            None => Err(e.to_string()),
        },
    }
}

#[derive(Clone, Copy)]
struct Seed<'a> {
    reject_dups: bool,
    dup: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Json;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
        Ok(Json::Bool(b))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
        Ok(Json::Num(n.into()))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
        Ok(Json::Num(n.into()))
    }
    fn visit_f64<E: serde::de::Error>(self, f: f64) -> Result<Json, E> {
        Number::from_f64(f)
            .map(Json::Num)
            .ok_or_else(|| E::custom("Non-standard token: non-finite number"))
    }
    fn visit_str<E>(self, s: &str) -> Result<Json, E> {
        Ok(Json::Str(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Json, E> {
        Ok(Json::Str(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Json, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = a.next_element_seed(self)? {
            out.push(v);
        }
        Ok(Json::Arr(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Json, A::Error> {
        let mut out: Vec<(String, Json)> = Vec::new();
        while let Some(k) = a.next_key::<String>()? {
            if self.reject_dups && out.iter().any(|(seen, _)| *seen == k) {
                *self.dup.borrow_mut() = Some(k.clone());
                return Err(A::Error::custom(format!("Duplicate field '{k}'")));
            }
            let v = a.next_value_seed(self)?;
            out.push((k, v));
        }
        Ok(Json::Obj(out))
    }
}

/// ES's `filter_path`: a comma list of dotted paths, `*` matching within one name, `**` any
/// depth, a leading `-` excluding. A response filtered to nothing is `{}`.
pub(crate) fn filter_path(v: Json, spec: &str) -> Json {
    let parts: Vec<&str> = spec
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let incl: Vec<Vec<&str>> = parts
        .iter()
        .filter(|p| !p.starts_with('-'))
        .map(|p| p.split('.').collect())
        .collect();
    let excl: Vec<Vec<&str>> = parts
        .iter()
        .filter_map(|p| p.strip_prefix('-'))
        .filter(|p| !p.is_empty())
        .map(|p| p.split('.').collect())
        .collect();
    let mut out = v;
    if !incl.is_empty() {
        let refs: Vec<&[&str]> = incl.iter().map(Vec::as_slice).collect();
        out = include(&out, &refs).unwrap_or(Json::Obj(Vec::new()));
    }
    if !excl.is_empty() {
        let refs: Vec<&[&str]> = excl.iter().map(Vec::as_slice).collect();
        out = exclude(&out, &refs);
    }
    out
}

/// The paths left to match below key `k`, for each path that `k` matches.
fn next_paths<'a>(paths: &[&'a [&'a str]], k: &str) -> Vec<&'a [&'a str]> {
    let mut out = Vec::new();
    for p in paths {
        let Some((first, rest)) = p.split_first() else {
            continue;
        };
        if *first == "**" {
            out.push(*p);
            if rest.is_empty() {
                out.push(rest);
            } else {
                out.extend(next_paths(&[rest], k));
            }
        } else if glob_match(first, k) {
            out.push(rest);
        }
    }
    out
}

fn include(v: &Json, paths: &[&[&str]]) -> Option<Json> {
    if paths.iter().any(|p| p.is_empty()) {
        return Some(v.clone());
    }
    match v {
        Json::Arr(a) => {
            let kept: Vec<Json> = a.iter().filter_map(|e| include(e, paths)).collect();
            (!kept.is_empty()).then_some(Json::Arr(kept))
        }
        Json::Obj(o) => {
            let mut kept = Vec::new();
            for (k, child) in o {
                let sub = next_paths(paths, k);
                if sub.is_empty() {
                    continue;
                }
                if let Some(x) = include(child, &sub) {
                    kept.push((k.clone(), x));
                }
            }
            (!kept.is_empty()).then_some(Json::Obj(kept))
        }
        _ => None,
    }
}

fn exclude(v: &Json, paths: &[&[&str]]) -> Json {
    match v {
        Json::Arr(a) => Json::Arr(a.iter().map(|e| exclude(e, paths)).collect()),
        Json::Obj(o) => {
            let mut kept = Vec::new();
            for (k, child) in o {
                let sub = next_paths(paths, k);
                if sub.iter().any(|p| p.is_empty()) {
                    continue;
                }
                let x = if sub.is_empty() {
                    child.clone()
                } else {
                    exclude(child, &sub)
                };
                kept.push((k.clone(), x));
            }
            Json::Obj(kept)
        }
        other => other.clone(),
    }
}

/// Shell-style match with `*` only, which is all ES's path and index patterns use.
pub(crate) fn glob_match(pat: &str, s: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pat.chars().collect(), s.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(sp) = star {
            pi = sp + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(s: &str) -> Json {
        parse_strict(s.as_bytes(), true).unwrap()
    }

    #[test]
    fn keeps_key_order_and_rejects_duplicates_at_depth() {
        assert_eq!(
            j(r#"{"b":1,"a":{"z":[1,2.5]}}"#).to_compact_string(),
            r#"{"b":1,"a":{"z":[1,2.5]}}"#
        );
        assert_eq!(
            parse_strict(br#"{"a":{"x":1,"x":2}}"#, true).unwrap_err(),
            "Duplicate field 'x'"
        );
        assert!(parse_strict(br#"{"a":1,"a":2}"#, false).is_ok());
        assert!(parse_strict(b"{} x", true).is_err());
        assert!(parse_strict(b"NaN", true).is_err());
    }

    #[test]
    fn filter_path_like_es() {
        let v = j(
            r#"{"took":3,"errors":true,"items":[{"index":{"_id":"a","status":201}},{"create":{"_id":"b","status":429,"error":{"type":"x"}}}]}"#,
        );
        let f = filter_path(v.clone(), "errors,items.*.error,items.*.status");
        assert_eq!(
            f.to_compact_string(),
            r#"{"errors":true,"items":[{"index":{"status":201}},{"create":{"status":429,"error":{"type":"x"}}}]}"#
        );
        let f = filter_path(v.clone(), "items.*.error");
        assert_eq!(
            f.to_compact_string(),
            r#"{"items":[{"create":{"error":{"type":"x"}}}]}"#
        );
        assert_eq!(filter_path(v.clone(), "nothing").to_compact_string(), "{}");
        assert_eq!(
            filter_path(v.clone(), "**.type").to_compact_string(),
            r#"{"items":[{"create":{"error":{"type":"x"}}}]}"#
        );
        assert_eq!(
            filter_path(v, "-items,-took").to_compact_string(),
            r#"{"errors":true}"#
        );
    }

    #[test]
    fn pretty_is_jackson_style() {
        assert_eq!(
            String::from_utf8(j(r#"{"a":[1]}"#).to_pretty()).unwrap(),
            "{\n  \"a\" : [\n    1\n  ]\n}\n"
        );
        assert_eq!(
            String::from_utf8(j(r#"{"a":{},"b":[],"c":[{}]}"#).to_pretty()).unwrap(),
            "{\n  \"a\" : { },\n  \"b\" : [ ],\n  \"c\" : [\n    { }\n  ]\n}\n"
        );
    }

    #[test]
    fn globs() {
        assert!(glob_match("log*-2026.*", "logstash-2026.01.02"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("a*b", "ac"));
    }
}
