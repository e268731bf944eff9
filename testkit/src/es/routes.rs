//! Which handler answers a request: the routing table of the REST API the double serves, and
//! the dispatch to the handlers (bulk.rs, cluster.rs, indices.rs, state.rs).

use super::bulk::{self, BulkRequest};
use super::error::{method_not_allowed, no_handler, EsError};
use super::reply::{Body, Reply, JSON};
use super::versions::{Profile, Types};
use super::{cluster, indices, state, Shared};

pub(crate) enum Route {
    Root,
    Health(Option<String>),
    CatIndices(Option<String>),
    Bulk(Option<String>, Option<String>),
    /// Metrics, indices.
    State(Option<String>, Option<String>),
    /// Indices, metrics.
    Stats(Option<String>, Option<String>),
    /// Indices, setting-name filter.
    Settings(Option<String>, Option<String>),
    /// Indices, alias names.
    Aliases(Option<String>, Option<String>),
    CreateIndex(String),
    DeleteIndex(String),
    /// `GET`/`HEAD /{index}`.
    GetIndex(String),
}

impl Route {
    pub(crate) fn is_bulk(&self) -> bool {
        matches!(self, Route::Bulk(..))
    }
}

/// An index expression in the path: a name, a comma list or a pattern; `_all` is one too.
fn is_expr(s: &str) -> bool {
    !s.starts_with('_') || s == "_all"
}

pub(crate) fn route(
    prof: &Profile,
    method: &str,
    path: &str,
    segs: &[String],
) -> Result<Route, EsError> {
    let get = matches!(method, "GET" | "HEAD");
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let need = |ok: bool, allowed: &[&str], r: Route| {
        if ok {
            Ok(r)
        } else {
            Err(method_not_allowed(path, method, allowed))
        }
    };
    let post = matches!(method, "POST" | "PUT");
    let some = |x: &str| Some(x.to_string());
    match s.as_slice() {
        [] => need(get, &["GET", "HEAD"], Route::Root),
        ["_cluster", "health"] => need(get, &["GET"], Route::Health(None)),
        ["_cluster", "health", ix] => need(get, &["GET"], Route::Health(some(ix))),
        ["_cluster", "state"] => need(get, &["GET"], Route::State(None, None)),
        ["_cluster", "state", m] => need(get, &["GET"], Route::State(some(m), None)),
        ["_cluster", "state", m, ix] => need(get, &["GET"], Route::State(some(m), some(ix))),
        ["_cat", "indices"] => need(get, &["GET"], Route::CatIndices(None)),
        ["_cat", "indices", ix] => need(get, &["GET"], Route::CatIndices(some(ix))),
        ["_stats"] => need(get, &["GET"], Route::Stats(None, None)),
        ["_stats", m] => need(get, &["GET"], Route::Stats(None, some(m))),
        [ix, "_stats"] if is_expr(ix) => need(get, &["GET"], Route::Stats(some(ix), None)),
        [ix, "_stats", m] if is_expr(ix) => need(get, &["GET"], Route::Stats(some(ix), some(m))),
        ["_settings"] => need(get, &["GET"], Route::Settings(None, None)),
        ["_settings", n] => need(get, &["GET"], Route::Settings(None, some(n))),
        [ix, "_settings"] if is_expr(ix) => need(get, &["GET"], Route::Settings(some(ix), None)),
        [ix, "_settings", n] if is_expr(ix) => {
            need(get, &["GET"], Route::Settings(some(ix), some(n)))
        }
        ["_alias" | "_aliases"] => need(get, &["GET", "HEAD"], Route::Aliases(None, None)),
        ["_alias", n] => need(get, &["GET", "HEAD"], Route::Aliases(None, some(n))),
        [ix, "_alias" | "_aliases"] if is_expr(ix) => {
            need(get, &["GET", "HEAD"], Route::Aliases(some(ix), None))
        }
        [ix, "_alias", n] if is_expr(ix) => {
            need(get, &["GET", "HEAD"], Route::Aliases(some(ix), some(n)))
        }
        ["_bulk"] => need(post, &["POST", "PUT"], Route::Bulk(None, None)),
        [ix, "_bulk"] if !ix.starts_with('_') => need(
            post,
            &["POST", "PUT"],
            Route::Bulk(Some(ix.to_string()), None),
        ),
        [ix, t, "_bulk"] if !ix.starts_with('_') && prof.types != Types::Removed => need(
            post,
            &["POST", "PUT"],
            Route::Bulk(Some(ix.to_string()), Some(t.to_string())),
        ),
        [ix] if is_expr(ix) => match method {
            "PUT" => Ok(Route::CreateIndex(ix.to_string())),
            "DELETE" => Ok(Route::DeleteIndex(ix.to_string())),
            "GET" | "HEAD" => Ok(Route::GetIndex(ix.to_string())),
            _ => Err(method_not_allowed(
                path,
                method,
                &["DELETE", "GET", "HEAD", "PUT"],
            )),
        },
        _ => Err(no_handler(path, method)),
    }
}

/// 6.x+ refuse a body without a JSON-ish Content-Type.
fn check_content_type(prof: &Profile, values: &[&str]) -> Result<(), EsError> {
    let Some(first) = values.first() else {
        return Err(EsError::simple(406, "Content-Type header is missing"));
    };
    let all = values.join(",");
    let base = first
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    const OK: [&str; 7] = [
        "application/json",
        "application/x-ndjson",
        "application/vnd.elasticsearch+json",
        "application/vnd.elasticsearch+x-ndjson",
        "application/smile",
        "application/cbor",
        "application/yaml",
    ];
    if !OK.contains(&base.as_str())
        || (base.starts_with("application/vnd.elasticsearch") && prof.esv < (7, 11, 0))
    {
        return Err(EsError::simple(
            406,
            format!("Content-Type header [{all}] is not supported"),
        ));
    }
    let compat = all
        .to_ascii_lowercase()
        .split("compatible-with")
        .nth(1)
        .map(|rest| {
            rest.trim_start_matches([' ', '='])
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        });
    if let Some(n) = compat.and_then(|n| n.parse::<u32>().ok()) {
        if !prof.os && n != prof.major && n + 1 != prof.major {
            return Err(EsError::new(400, "media_type_header_exception", "Invalid media-type value on headers [Content-Type]")
                .caused_by(
                    "status_exception",
                    format!(
                        "A compatible version is required on both Content-Type and Accept headers if either one has \
                         requested a compatible version and the compatible versions must match. Accept=null, Content-Type={n}"
                    ),
                ));
        }
    }
    Ok(())
}

pub(crate) struct Request<'a> {
    pub path: &'a str,
    pub params: &'a [(String, String)],
    pub body: &'a [u8],
    pub gzip: bool,
    pub ctypes: &'a [String],
}

pub(crate) fn answer(shared: &Shared, route: Result<Route, EsError>, req: &Request<'_>) -> Reply {
    let prof = &shared.prof;
    let (params, body) = (req.params, req.body);
    let content_type = || {
        if prof.strict_content_type {
            let v: Vec<&str> = req.ctypes.iter().map(String::as_str).collect();
            check_content_type(prof, &v)?;
        }
        Ok::<(), EsError>(())
    };
    let res = route.and_then(|r| match r {
        Route::Root => Ok(Reply {
            status: 200,
            body: Body::Raw(prof.version.root_body().as_bytes().to_vec(), JSON),
        }),
        Route::Health(ix) => cluster::health(prof, &shared.lock().store, ix.as_deref(), params),
        Route::CatIndices(ix) => {
            cluster::cat_indices(prof, &shared.lock().store, ix.as_deref(), params)
        }
        Route::State(m, ix) => state::cluster_state(
            prof,
            &shared.lock().store,
            m.as_deref(),
            ix.as_deref(),
            params,
        ),
        Route::Stats(ix, m) => state::index_stats(
            prof,
            &shared.lock().store,
            ix.as_deref(),
            m.as_deref(),
            params,
        ),
        Route::Settings(ix, n) => indices::get_settings(
            prof,
            &shared.lock().store,
            ix.as_deref(),
            n.as_deref(),
            params,
        ),
        Route::Aliases(ix, n) => indices::get_aliases(
            prof,
            &shared.lock().store,
            ix.as_deref(),
            n.as_deref(),
            params,
        ),
        Route::GetIndex(ix) => indices::get_index(prof, &shared.lock().store, &ix, params),
        Route::CreateIndex(ix) => {
            if !body.is_empty() {
                content_type()?;
            }
            let res = indices::create(prof, &mut shared.lock().store, &ix, body);
            shared.changed.notify_all();
            res
        }
        Route::DeleteIndex(ix) => {
            let res = indices::delete(prof, &mut shared.lock().store, &ix, params);
            shared.changed.notify_all();
            res
        }
        Route::Bulk(ix, t) => {
            if body.is_empty() {
                return Err(EsError::new(
                    400,
                    "parse_exception",
                    "request body is required",
                ));
            }
            content_type()?;
            let bulk_req = BulkRequest {
                raw_path: req.path,
                path_index: ix.as_deref(),
                path_type: t.as_deref(),
                params,
                body,
                gzip: req.gzip,
            };
            let res = bulk::run(prof, &mut shared.lock(), &bulk_req);
            shared.changed.notify_all();
            res
        }
    });
    res.unwrap_or_else(|e| Reply::error(&e))
}
