//! Index expressions to concrete indices, like ES's `IndexNameExpressionResolver`: comma lists,
//! `_all` and `*` patterns filtered by `expand_wildcards` (open, closed), `-name` exclusions,
//! `ignore_unavailable`, and what an API does with a name that is an alias (resolve it to its
//! indices, or refuse it as `DELETE` does from 6.x on). The rules follow `bench/es_double.py`.

use std::collections::BTreeMap;

use super::error::EsError;
use super::json::glob_match;
use super::store::{not_found, Store};
use super::versions::Profile;

/// What a concrete name that is an alias means to the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AliasMode {
    /// Its indices (reads; `DELETE` on 5.x).
    Resolve,
    /// 404 `index_not_found_exception` (`DELETE` on 6.x).
    NotFound,
    /// 400 "matches an alias" (`DELETE` on 7.x and later, and OpenSearch).
    Reject,
}

#[derive(Clone, Debug)]
pub(crate) struct Resolve {
    pub open: bool,
    pub closed: bool,
    pub ignore_unavailable: bool,
    pub alias_mode: AliasMode,
    /// Patterns also match alias names (everywhere but `DELETE` from 6.x on).
    pub wildcard_aliases: bool,
    /// Refuse wildcards, as 8.x does for destructive operations
    /// (`action.destructive_requires_name` defaults to true).
    pub refuse_wildcards: bool,
}

impl Resolve {
    /// The options of a read API: `expand_wildcards` (or `default_expand`) and
    /// `ignore_unavailable` from the query.
    pub(crate) fn read(
        params: &[(String, String)],
        default_expand: &str,
    ) -> Result<Resolve, EsError> {
        let param = |k: &str| params.iter().find(|(p, _)| p == k).map(|(_, v)| v.as_str());
        let (open, closed) = expand(param("expand_wildcards").unwrap_or(default_expand))?;
        Ok(Resolve {
            open,
            closed,
            ignore_unavailable: param("ignore_unavailable").is_some_and(|v| v != "false"),
            alias_mode: AliasMode::Resolve,
            wildcard_aliases: true,
            refuse_wildcards: false,
        })
    }

    /// The options of `DELETE /{index}` on this version.
    pub(crate) fn delete(prof: &Profile, params: &[(String, String)]) -> Result<Resolve, EsError> {
        let mut r = Resolve::read(params, "open,closed")?;
        r.alias_mode = if prof.esv < (6, 0, 0) {
            AliasMode::Resolve
        } else if prof.esv < (7, 0, 0) {
            AliasMode::NotFound
        } else {
            AliasMode::Reject
        };
        r.wildcard_aliases = prof.esv < (6, 0, 0);
        r.refuse_wildcards = !prof.os && prof.major >= 8;
        Ok(r)
    }
}

/// `expand_wildcards` to (open, closed); `hidden` is accepted (the double has no hidden indices).
fn expand(spec: &str) -> Result<(bool, bool), EsError> {
    let (mut open, mut closed) = (false, false);
    for part in spec.split(',').map(str::trim) {
        match part {
            "all" => (open, closed) = (true, true),
            "open" => open = true,
            "closed" => closed = true,
            "hidden" | "none" => {}
            other => {
                return Err(EsError::iae(format!(
                    "No enum constant org.elasticsearch.action.support.IndicesOptions.WildcardStates.{}",
                    other.to_ascii_uppercase()
                )))
            }
        }
    }
    Ok((open, closed))
}

impl Store {
    /// Alias name to the indices it points to.
    pub(crate) fn alias_map(&self) -> BTreeMap<String, Vec<String>> {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, ix) in &self.indices {
            for a in ix.aliases.keys() {
                m.entry(a.clone()).or_default().push(name.clone());
            }
        }
        m
    }

    /// A comma list of names, aliases and `*` patterns to concrete index names, with the
    /// defaults of most read APIs (open and closed, aliases resolved).
    pub(crate) fn resolve(
        &self,
        prof: &Profile,
        expr: &str,
        ignore_unavailable: bool,
    ) -> Result<Vec<String>, EsError> {
        let opts = Resolve {
            open: true,
            closed: true,
            ignore_unavailable,
            alias_mode: AliasMode::Resolve,
            wildcard_aliases: true,
            refuse_wildcards: false,
        };
        self.resolve_with(prof, expr, &opts)
    }

    pub(crate) fn resolve_with(
        &self,
        prof: &Profile,
        expr: &str,
        opts: &Resolve,
    ) -> Result<Vec<String>, EsError> {
        let aliases = self.alias_map();
        let state_ok = |name: &str| {
            self.indices
                .get(name)
                .is_some_and(|ix| if ix.closed { opts.closed } else { opts.open })
        };
        let mut out: Vec<String> = Vec::new();
        let add = |out: &mut Vec<String>, name: &str| {
            if !out.iter().any(|n| n == name) {
                out.push(name.to_string());
            }
        };
        let mut had_wildcard = false;
        let parts: Vec<&str> = expr.split(',').filter(|p| !p.is_empty()).collect();
        let parts = if parts.is_empty() {
            vec!["_all"]
        } else {
            parts
        };
        for part in parts {
            if let Some(pat) = part.strip_prefix('-').filter(|p| !p.is_empty()) {
                if had_wildcard || prof.esv < (7, 0, 0) {
                    out.retain(|n| !glob_match(pat, n));
                    continue;
                }
            }
            if part == "_all" || part.contains('*') {
                if opts.refuse_wildcards {
                    return Err(EsError::iae(
                        "Wildcard expressions or all indices are not allowed",
                    ));
                }
                had_wildcard = true;
                let pat = if part == "_all" { "*" } else { part };
                for name in self.indices.keys() {
                    if glob_match(pat, name) && state_ok(name) {
                        add(&mut out, name);
                    }
                }
                if opts.wildcard_aliases {
                    for (alias, targets) in &aliases {
                        if glob_match(pat, alias) {
                            for t in targets.iter().filter(|t| state_ok(t)) {
                                add(&mut out, t);
                            }
                        }
                    }
                }
            } else if self.indices.contains_key(part) {
                add(&mut out, part);
            } else if let Some(targets) = aliases.get(part) {
                match opts.alias_mode {
                    AliasMode::Resolve => targets.iter().for_each(|t| add(&mut out, t)),
                    AliasMode::NotFound => return Err(not_found(prof, part)),
                    AliasMode::Reject => {
                        return Err(EsError::iae(format!(
                            "The provided expression [{part}] matches an alias, specify the corresponding concrete indices instead."
                        )))
                    }
                }
            } else if !opts.ignore_unavailable {
                return Err(not_found(prof, part));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::es::json::Json;
    use crate::es::versions::EsVersion;

    fn store() -> Store {
        let mut s = Store::new(Some(1));
        for n in ["logstash-2020.01.01", "logstash-2020.01.02", "other"] {
            s.create_index(n);
        }
        if let Some(ix) = s.indices.get_mut("logstash-2020.01.02") {
            ix.closed = true;
        }
        if let Some(ix) = s.indices.get_mut("other") {
            ix.aliases
                .insert("logstash-alias".into(), Json::obj::<&str>([]));
        }
        s
    }

    fn names(r: Result<Vec<String>, EsError>) -> Vec<String> {
        r.unwrap_or_else(|e| panic!("{}", e.body().to_compact_string()))
    }

    #[test]
    fn patterns_states_and_aliases() {
        let s = store();
        let p = Profile::new(EsVersion::Es7_17_27);
        let open = Resolve::read(&[], "open").unwrap();
        assert_eq!(
            names(s.resolve_with(&p, "logstash-*", &open)),
            ["logstash-2020.01.01", "other"]
        );
        let both =
            Resolve::read(&[("expand_wildcards".into(), "open,closed".into())], "open").unwrap();
        assert_eq!(
            names(s.resolve_with(&p, "_all", &both)),
            ["logstash-2020.01.01", "logstash-2020.01.02", "other"]
        );
        assert_eq!(
            names(s.resolve_with(&p, "logstash-*,-logstash-2020.01.01", &both)),
            ["logstash-2020.01.02", "other"]
        );
        assert_eq!(names(s.resolve(&p, "logstash-alias", false)), ["other"]);
        assert_eq!(s.resolve(&p, "nope", false).unwrap_err().status, 404);
        assert!(names(s.resolve(&p, "nope", true)).is_empty());
        assert!(Resolve::read(&[("expand_wildcards".into(), "bogus".into())], "open").is_err());
    }

    #[test]
    fn delete_per_version() {
        let s = store();
        let cases = [
            (EsVersion::Es5_6_16, Ok(vec!["other".to_string()]), Ok(3)),
            (EsVersion::Es6_8_23, Err(404), Ok(3)),
            (EsVersion::Es7_17_27, Err(400), Ok(3)),
            (EsVersion::OpenSearch2_13_0, Err(400), Ok(3)),
            (EsVersion::Es8_17_0, Err(400), Err(400)),
        ];
        for (v, alias, wildcard) in cases {
            let p = Profile::new(v);
            let opts = Resolve::delete(&p, &[]).unwrap();
            let got = s
                .resolve_with(&p, "logstash-alias", &opts)
                .map_err(|e| e.status);
            assert_eq!(got, alias, "{v}");
            let got = s
                .resolve_with(&p, "*", &opts)
                .map(|v| v.len())
                .map_err(|e| e.status);
            assert_eq!(got, wildcard, "{v}");
        }
    }
}
