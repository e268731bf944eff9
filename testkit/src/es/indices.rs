//! The index APIs: `PUT /{index}` (create, with aliases), `DELETE /{index}[,{index}...]`,
//! `GET /{index}/_settings` and `GET /_alias`, with each version's answers (the rules of
//! `bench/es_double.py`): a missing index is a 404 with the version's body, deleting an alias
//! resolves it on 5.x, is a 404 on 6.x and a 400 from 7.x on, and 8.x refuses wildcard deletes.

use super::error::EsError;
use super::json::{glob_match, parse_strict, Json};
use super::reply::Reply;
use super::resolve::Resolve;
use super::store::{invalid_index_name, Index, Store};
use super::versions::Profile;

fn acknowledged() -> Json {
    Json::obj([("acknowledged", Json::Bool(true))])
}

/// `PUT /{index}` with an optional body; only its `aliases` are kept (settings and mappings are
/// accepted and ignored).
pub(crate) fn create(
    prof: &Profile,
    store: &mut Store,
    name: &str,
    body: &[u8],
) -> Result<Reply, EsError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        Json::Obj(Vec::new())
    } else {
        parse_strict(body, prof.strict_dups).map_err(|e| {
            EsError::new(
                400,
                prof.parse_exc,
                format!("failed to parse request body: {e}"),
            )
        })?
    };
    if let Some(problem) = prof.index_name_problem(name) {
        return Err(invalid_index_name(name, &problem));
    }
    if let Some(ix) = store.indices.get(name) {
        let etype = if prof.esv < (6, 0, 0) {
            "index_already_exists_exception"
        } else {
            "resource_already_exists_exception"
        };
        return Err(EsError::new(
            400,
            etype,
            format!("index [{name}/{}] already exists", ix.uuid),
        )
        .with("index_uuid", ix.uuid.clone())
        .with("index", name));
    }
    if store.alias_map().contains_key(name) {
        return Err(invalid_index_name(name, "already exists as alias"));
    }
    let aliases = match body.get("aliases") {
        Some(Json::Obj(a)) => a.clone(),
        _ => Vec::new(),
    };
    for (alias, _) in &aliases {
        if store.indices.contains_key(alias) {
            return Err(EsError::new(
                400,
                "invalid_alias_name_exception",
                format!(
                    "Invalid alias name [{alias}], an index exists with the same name as the alias"
                ),
            )
            .with("index_uuid", "_na_")
            .with("index", alias.clone()));
        }
    }
    store.create_index_at(name, None);
    if let Some(ix) = store.indices.get_mut(name) {
        ix.aliases.extend(aliases);
    }
    let mut ack = vec![
        ("acknowledged".to_string(), Json::Bool(true)),
        ("shards_acknowledged".to_string(), Json::Bool(true)),
    ];
    if prof.esv >= (6, 0, 0) {
        ack.push(("index".to_string(), Json::str(name)));
    }
    Ok(Reply::json(200, Json::Obj(ack)))
}

/// `DELETE /{expr}`: all the indices the expression names, or none.
pub(crate) fn delete(
    prof: &Profile,
    store: &mut Store,
    expr: &str,
    params: &[(String, String)],
) -> Result<Reply, EsError> {
    let opts = Resolve::delete(prof, params)?;
    let names = store.resolve_with(prof, expr, &opts)?;
    for n in &names {
        store.indices.remove(n);
    }
    Ok(Reply::json(200, acknowledged()))
}

/// The index's settings as ES keeps them: flat `index.*` keys with string values.
pub(crate) fn flat_settings(prof: &Profile, name: &str, ix: &Index) -> Vec<(String, String)> {
    let created_id = {
        let (a, b, c) = prof.version.parts();
        let base = a * 1_000_000 + b * 10_000 + c * 100 + 99;
        if prof.os {
            base + 136_000_000
        } else {
            base
        }
    };
    let mut s = vec![
        ("index.creation_date".to_string(), ix.created_ms.to_string()),
        ("index.number_of_replicas".to_string(), "1".to_string()),
        (
            "index.number_of_shards".to_string(),
            prof.default_shards.to_string(),
        ),
        ("index.provided_name".to_string(), name.to_string()),
        ("index.uuid".to_string(), ix.uuid.clone()),
        ("index.version.created".to_string(), created_id.to_string()),
    ];
    if !prof.os && prof.esv >= (7, 10, 0) {
        s.push((
            "index.routing.allocation.include._tier_preference".to_string(),
            "data_content".to_string(),
        ));
    }
    s.sort();
    s
}

/// Flat keys to nested objects, keys in order.
pub(crate) fn nest(flat: &[(String, String)]) -> Json {
    fn insert(obj: &mut Vec<(String, Json)>, path: &[&str], value: &str) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        if rest.is_empty() {
            obj.push((first.to_string(), Json::str(value)));
            return;
        }
        if !obj
            .iter()
            .any(|(k, v)| k == first && matches!(v, Json::Obj(_)))
        {
            obj.push((first.to_string(), Json::Obj(Vec::new())));
        }
        if let Some((_, Json::Obj(child))) = obj.iter_mut().find(|(k, _)| k == first) {
            insert(child, rest, value);
        }
    }
    let mut root = Vec::new();
    for (k, v) in flat {
        let path: Vec<&str> = k.split('.').collect();
        insert(&mut root, &path, v);
    }
    Json::Obj(root)
}

/// `GET /_settings`, `/_all/_settings`, `/{expr}/_settings[/{name}]`.
pub(crate) fn get_settings(
    prof: &Profile,
    store: &Store,
    expr: Option<&str>,
    filter: Option<&str>,
    params: &[(String, String)],
) -> Result<Reply, EsError> {
    let opts = Resolve::read(params, "open")?;
    let names = store.resolve_with(prof, expr.unwrap_or("_all"), &opts)?;
    let flat = params
        .iter()
        .any(|(k, v)| k == "flat_settings" && v != "false");
    let mut out = Vec::new();
    for name in names {
        let Some(ix) = store.indices.get(&name) else {
            continue;
        };
        let mut s = flat_settings(prof, &name, ix);
        if let Some(f) = filter.filter(|f| *f != "_all") {
            s.retain(|(k, _)| f.split(',').any(|p| glob_match(p, k)));
            if s.is_empty() {
                continue;
            }
        }
        let settings = if flat {
            Json::Obj(s.into_iter().map(|(k, v)| (k, Json::Str(v))).collect())
        } else {
            nest(&s)
        };
        out.push((name, Json::obj([("settings", settings)])));
    }
    Ok(Reply::json(200, Json::Obj(out)))
}

/// `GET /_alias[/{names}]`, `/{expr}/_alias[/{names}]` (and `_aliases`): every index with its
/// aliases, or, with names, the indices that have them; a named alias that does not exist adds
/// `"error"` and makes the answer a 404.
pub(crate) fn get_aliases(
    prof: &Profile,
    store: &Store,
    expr: Option<&str>,
    wanted: Option<&str>,
    params: &[(String, String)],
) -> Result<Reply, EsError> {
    let default_expand = if expr.is_some() { "open" } else { "all" };
    let opts = Resolve::read(params, default_expand)?;
    let names = store.resolve_with(prof, expr.unwrap_or("_all"), &opts)?;
    let wanted: Option<Vec<&str>> = wanted
        .filter(|w| *w != "_all" && *w != "*")
        .map(|w| w.split(',').collect());
    let mut found: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for name in &names {
        let Some(ix) = store.indices.get(name) else {
            continue;
        };
        let mut al = Vec::new();
        for (alias, props) in &ix.aliases {
            let hit = match &wanted {
                None => true,
                Some(w) => w.iter().any(|p| glob_match(p, alias)),
            };
            if hit {
                al.push((alias.clone(), props.clone()));
                found.push(alias);
            }
        }
        if wanted.is_none() || !al.is_empty() {
            out.push((name.clone(), Json::obj([("aliases", Json::Obj(al))])));
        }
    }
    let missing: Vec<&str> = wanted
        .iter()
        .flatten()
        .filter(|w| !w.contains('*') && !found.contains(w))
        .copied()
        .collect();
    if missing.is_empty() {
        return Ok(Reply::json(200, Json::Obj(out)));
    }
    let error = match missing.as_slice() {
        [one] => format!("alias [{one}] missing"),
        many => format!("aliases [{}] missing", many.join(",")),
    };
    out.push(("error".to_string(), Json::str(error)));
    out.push(("status".to_string(), Json::from(404u16)));
    Ok(Reply::json(404, Json::Obj(out)))
}

/// `GET /{expr}`: each index's aliases, mappings (none kept) and settings.
pub(crate) fn get_index(
    prof: &Profile,
    store: &Store,
    expr: &str,
    params: &[(String, String)],
) -> Result<Reply, EsError> {
    let opts = Resolve::read(params, "open")?;
    let mut out = Vec::new();
    for name in store.resolve_with(prof, expr, &opts)? {
        let Some(ix) = store.indices.get(&name) else {
            continue;
        };
        let aliases = Json::Obj(
            ix.aliases
                .iter()
                .map(|(a, p)| (a.clone(), p.clone()))
                .collect(),
        );
        let entry = Json::obj([
            ("aliases", aliases),
            ("mappings", Json::Obj(Vec::new())),
            ("settings", nest(&flat_settings(prof, &name, ix))),
        ]);
        out.push((name, entry));
    }
    Ok(Reply::json(200, Json::Obj(out)))
}
