//! `GET /_cluster/state[/{metrics}[/{indices}]]` and `GET /{indices}/_stats[/{metrics}]`: the
//! parts Curator reads before it acts (each index's state, creation date, shard counts, size and
//! document count), in the shapes of `bench/es_double.py`.

use super::error::EsError;
use super::indices::{flat_settings, nest};
use super::json::Json;
use super::reply::Reply;
use super::resolve::Resolve;
use super::store::Store;
use super::versions::Profile;

const NODE_ID: &str = "es-double-node-0000000";

fn cluster_uuid(prof: &Profile) -> String {
    let root: serde_json::Value =
        serde_json::from_str(prof.version.root_body()).unwrap_or_default();
    root.get("cluster_uuid")
        .and_then(|v| v.as_str())
        .unwrap_or("es-double-cluster-uuid")
        .to_string()
}

pub(crate) fn cluster_state(
    prof: &Profile,
    store: &Store,
    metrics: Option<&str>,
    expr: Option<&str>,
    params: &[(String, String)],
) -> Result<Reply, EsError> {
    let metrics: Vec<&str> = metrics.unwrap_or("_all").split(',').collect();
    let has = |m: &str| metrics.contains(&"_all") || metrics.contains(&m);
    let names = match expr {
        Some(e) => {
            let mut opts = Resolve::read(params, "open,closed")?;
            opts.ignore_unavailable = true;
            store.resolve_with(prof, e, &opts)?
        }
        None => store.indices.keys().cloned().collect(),
    };
    let uuid = cluster_uuid(prof);
    let mut d: Vec<(String, Json)> = vec![
        ("cluster_name".into(), Json::str(prof.cluster_name.clone())),
        ("cluster_uuid".into(), Json::str(uuid.clone())),
    ];
    if has("version") {
        d.push((
            "version".into(),
            Json::from(store.indices.len() as u64 + 10),
        ));
        d.push(("state_uuid".into(), Json::str("es-double-state-uuid")));
    }
    if has("master_node") {
        d.push(("master_node".into(), Json::str(NODE_ID)));
    }
    if has("blocks") {
        d.push(("blocks".into(), Json::Obj(Vec::new())));
    }
    if has("nodes") {
        let node = Json::obj([
            ("name", Json::str(prof.node_name.clone())),
            ("ephemeral_id", Json::str("es-double-ephemeral")),
            ("transport_address", Json::str("127.0.0.1:9300")),
            ("attributes", Json::Obj(Vec::new())),
        ]);
        d.push(("nodes".into(), Json::obj([(NODE_ID, node)])));
    }
    if has("metadata") {
        let mut indices = Vec::new();
        for name in &names {
            let Some(ix) = store.indices.get(name) else {
                continue;
            };
            let mut e: Vec<(String, Json)> = vec![("version".into(), Json::from(3u64))];
            if prof.esv >= (6, 0, 0) {
                for k in ["mapping_version", "settings_version", "aliases_version"] {
                    e.push((k.into(), Json::from(1u64)));
                }
            }
            let routing_shards = if prof.esv >= (7, 0, 0) {
                1024
            } else {
                u64::from(prof.default_shards)
            };
            e.push(("routing_num_shards".into(), Json::from(routing_shards)));
            let state = if ix.closed { "close" } else { "open" };
            e.push(("state".into(), Json::str(state)));
            e.push(("settings".into(), nest(&flat_settings(prof, name, ix))));
            e.push(("mappings".into(), Json::Obj(Vec::new())));
            let aliases = ix.aliases.keys().map(|a| Json::str(a.clone())).collect();
            e.push(("aliases".into(), Json::Arr(aliases)));
            e.push(("primary_terms".into(), Json::obj([("0", Json::from(1u64))])));
            let alloc = Json::Arr(vec![Json::str("es-double-alloc")]);
            e.push(("in_sync_allocations".into(), Json::obj([("0", alloc)])));
            e.push(("rollover_info".into(), Json::Obj(Vec::new())));
            if prof.esv >= (6, 0, 0) {
                e.push(("system".into(), Json::Bool(false)));
            }
            indices.push((name.clone(), Json::Obj(e)));
        }
        let meta = Json::obj([
            ("cluster_uuid", Json::str(uuid)),
            ("templates", Json::Obj(Vec::new())),
            ("indices", Json::Obj(indices)),
            (
                "index-graveyard",
                Json::obj([("tombstones", Json::Arr(Vec::new()))]),
            ),
        ]);
        d.push(("metadata".into(), meta));
    }
    Ok(Reply::json(200, Json::Obj(d)))
}

/// `_stats` for the open indices the expression names (closed ones have no stats).
pub(crate) fn index_stats(
    prof: &Profile,
    store: &Store,
    expr: Option<&str>,
    metric: Option<&str>,
    params: &[(String, String)],
) -> Result<Reply, EsError> {
    let opts = Resolve::read(params, "open")?;
    let names: Vec<String> = store
        .resolve_with(prof, expr.unwrap_or("_all"), &opts)?
        .into_iter()
        .filter(|n| store.indices.get(n).is_some_and(|ix| !ix.closed))
        .collect();
    let metrics: Vec<&str> = metric.unwrap_or("_all").split(',').collect();
    let has = |m: &str| metrics.contains(&"_all") || metrics.contains(&m);
    let block = |list: &[String]| {
        let ixs: Vec<_> = list.iter().filter_map(|n| store.indices.get(n)).collect();
        let docs: u64 = ixs.iter().map(|ix| ix.doc_count()).sum();
        let deleted: u64 = ixs.iter().map(|ix| ix.deleted).sum();
        let size: u64 = ixs.iter().map(|ix| 208 + ix.store_bytes).sum();
        let mut b = Vec::new();
        if has("docs") {
            let d = Json::obj([
                ("count", Json::from(docs)),
                ("deleted", Json::from(deleted)),
            ]);
            b.push(("docs".to_string(), d));
        }
        if has("store") {
            let mut st = vec![("size_in_bytes".to_string(), Json::from(size))];
            if prof.esv >= (7, 9, 0) {
                st.push(("reserved_in_bytes".to_string(), Json::from(0u64)));
            }
            if !prof.os && prof.esv >= (7, 13, 0) {
                st.push(("total_data_set_size_in_bytes".to_string(), Json::from(size)));
            }
            b.push(("store".to_string(), Json::Obj(st)));
        }
        Json::Obj(b)
    };
    let shards = u64::from(prof.default_shards) * names.len() as u64;
    let mut per_index = Vec::new();
    for n in &names {
        let Some(ix) = store.indices.get(n) else {
            continue;
        };
        let one = std::slice::from_ref(n);
        let mut e = vec![("uuid".to_string(), Json::str(ix.uuid.clone()))];
        if !prof.os && prof.major >= 8 {
            e.push(("health".to_string(), Json::str("yellow")));
            e.push(("status".to_string(), Json::str("open")));
        }
        e.push(("primaries".to_string(), block(one)));
        e.push(("total".to_string(), block(one)));
        per_index.push((n.clone(), Json::Obj(e)));
    }
    let body = Json::obj([
        (
            "_shards",
            Json::obj([
                ("total", Json::from(shards * 2)),
                ("successful", Json::from(shards)),
                ("failed", Json::from(0u64)),
            ]),
        ),
        (
            "_all",
            Json::obj([("primaries", block(&names)), ("total", block(&names))]),
        ),
        ("indices", Json::Obj(per_index)),
    ]);
    Ok(Reply::json(200, body))
}
