//! `GET /_cluster/health` and `GET /_cat/indices`: one node, every index with one replica that
//! can never be assigned (so yellow), like a single-node test cluster.

use super::error::EsError;
use super::json::Json;
use super::reply::Reply;
use super::resolve::Resolve;
use super::store::Store;
use super::versions::Profile;

fn param<'a>(params: &'a [(String, String)], k: &str) -> Option<&'a str> {
    params.iter().find(|(p, _)| p == k).map(|(_, v)| v.as_str())
}

pub(crate) fn health(
    prof: &Profile,
    store: &Store,
    expr: Option<&str>,
    params: &[(String, String)],
) -> Result<Reply, EsError> {
    let names = match expr {
        Some(e) => store.resolve(prof, e, false)?,
        None => store.indices.keys().cloned().collect(),
    };
    let active = u64::from(prof.default_shards) * names.len() as u64;
    let unassigned = active;
    let status = if unassigned == 0 { "green" } else { "yellow" };
    let total = active + unassigned;
    let percent = if total == 0 {
        100.0
    } else {
        100.0 * active as f64 / total as f64
    };
    let rank = |s: &str| ["green", "yellow", "red"].iter().position(|x| *x == s);
    let timed_out = match param(params, "wait_for_status").and_then(rank) {
        Some(want) => rank(status).is_some_and(|have| have > want),
        None => false,
    };
    let mut f: Vec<(String, Json)> = vec![
        ("cluster_name".into(), Json::str(prof.cluster_name.clone())),
        ("status".into(), Json::str(status)),
        ("timed_out".into(), Json::Bool(timed_out)),
        ("number_of_nodes".into(), 1u64.into()),
        ("number_of_data_nodes".into(), 1u64.into()),
    ];
    if prof.os {
        f.push(("discovered_master".into(), Json::Bool(true)));
        f.push(("discovered_cluster_manager".into(), Json::Bool(true)));
    }
    f.push(("active_primary_shards".into(), active.into()));
    f.push(("active_shards".into(), active.into()));
    f.push(("relocating_shards".into(), 0u64.into()));
    f.push(("initializing_shards".into(), 0u64.into()));
    f.push(("unassigned_shards".into(), unassigned.into()));
    if !prof.os && prof.esv >= (8, 7, 0) {
        f.push(("unassigned_primary_shards".into(), 0u64.into()));
    }
    for k in [
        "delayed_unassigned_shards",
        "number_of_pending_tasks",
        "number_of_in_flight_fetch",
        "task_max_waiting_in_queue_millis",
    ] {
        f.push((k.into(), 0u64.into()));
    }
    f.push(("active_shards_percent_as_number".into(), percent.into()));
    Ok(Reply::json(if timed_out { 408 } else { 200 }, Json::Obj(f)))
}

/// ES's human-readable sizes ("208b", "44.1mb").
fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["b", "kb", "mb", "gb", "tb", "pb"];
    if n < 1024 {
        return format!("{n}b");
    }
    let (mut v, mut i) = (n as f64, 0);
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    let s = format!("{v:.1}");
    format!("{}{}", s.strip_suffix(".0").unwrap_or(&s), UNITS[i])
}

/// (name, aliases, numeric, shown by default)
const COLUMNS: [(&str, &[&str], bool, bool); 12] = [
    ("health", &["h"], false, true),
    ("status", &["s"], false, true),
    ("index", &["i", "idx"], false, true),
    ("uuid", &["id"], false, true),
    ("pri", &["p", "shards.primary", "shardsPrimary"], true, true),
    ("rep", &["r", "shards.replica", "shardsReplica"], true, true),
    ("docs.count", &["dc", "docsCount"], true, true),
    ("docs.deleted", &["dd", "docsDeleted"], true, true),
    ("creation.date", &["cd"], true, false),
    ("store.size", &["ss", "storeSize"], true, true),
    ("pri.store.size", &[], true, true),
    ("dataset.size", &[], true, true),
];

pub(crate) fn cat_indices(
    prof: &Profile,
    store: &Store,
    expr: Option<&str>,
    params: &[(String, String)],
) -> Result<Reply, EsError> {
    let opts = Resolve::read(params, "all")?;
    let names = store.resolve_with(prof, expr.unwrap_or("_all"), &opts)?;
    let unit = param(params, "bytes");
    let size = |n: u64| match unit {
        Some(u) => {
            let div: u64 = match u.to_ascii_lowercase().as_str() {
                "kb" => 1 << 10,
                "mb" => 1 << 20,
                "gb" => 1 << 30,
                "tb" => 1 << 40,
                "pb" => 1 << 50,
                _ => 1,
            };
            (n / div).to_string()
        }
        None => human_bytes(n),
    };
    // A closed index has no stats: `null` in JSON, blank in text.
    let mut rows: Vec<Vec<(&str, Option<String>)>> = Vec::new();
    for name in &names {
        let Some(ix) = store.indices.get(name) else {
            continue;
        };
        let bytes = 208 + ix.store_bytes;
        let open = |v: String| (!ix.closed).then_some(v);
        rows.push(vec![
            ("health", Some("yellow".into())),
            (
                "status",
                Some(if ix.closed { "close" } else { "open" }.into()),
            ),
            ("index", Some(name.clone())),
            ("uuid", Some(ix.uuid.clone())),
            ("pri", Some(prof.default_shards.to_string())),
            ("rep", Some("1".into())),
            ("docs.count", open(ix.doc_count().to_string())),
            ("docs.deleted", open(ix.deleted.to_string())),
            ("creation.date", Some(ix.created_ms.to_string())),
            ("store.size", open(size(bytes))),
            ("pri.store.size", open(size(bytes))),
            ("dataset.size", open(size(bytes))),
        ]);
    }
    let available: Vec<_> = COLUMNS
        .iter()
        .filter(|c| c.0 != "dataset.size" || prof.dataset_size)
        .collect();
    let lookup = |h: &str| {
        available
            .iter()
            .find(|c| c.0 == h || c.1.contains(&h))
            .map(|c| (c.0, c.2))
    };
    let mut cols: Vec<(&str, bool)> = Vec::new();
    match param(params, "h").filter(|h| !h.is_empty()) {
        Some(h) => {
            for want in h.split(',').map(str::trim) {
                if let Some(c) = lookup(want).filter(|c| !cols.contains(c)) {
                    cols.push(c);
                }
            }
        }
        None => cols.extend(available.iter().filter(|c| c.3).map(|c| (c.0, c.2))),
    }
    if let Some(spec) = param(params, "s").filter(|s| !s.is_empty()) {
        for key in spec.split(',').rev() {
            let (k, desc) = match key.split_once(':') {
                Some((k, o)) => (k, o == "desc"),
                None => (key, false),
            };
            let Some((col, numeric)) = lookup(k) else {
                return Err(EsError::iae(format!(
                    "Unable to sort by unknown sort key `{k}`"
                )));
            };
            let val = |r: &Vec<(&str, Option<String>)>| {
                r.iter()
                    .find(|(c, _)| *c == col)
                    .and_then(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            rows.sort_by(|a, b| {
                let (x, y) = (val(a), val(b));
                let ord = if numeric {
                    let num = |s: &str| {
                        s.trim_end_matches(|c: char| c.is_ascii_alphabetic())
                            .parse::<f64>()
                            .unwrap_or(0.0)
                    };
                    num(&x).total_cmp(&num(&y))
                } else {
                    x.cmp(&y)
                };
                if desc {
                    ord.reverse()
                } else {
                    ord
                }
            });
        }
    }
    let pick = |r: &Vec<(&str, Option<String>)>, col: &str| {
        r.iter()
            .find(|(c, _)| *c == col)
            .and_then(|(_, v)| v.clone())
    };
    match param(params, "format")
        .unwrap_or("text")
        .to_ascii_lowercase()
        .as_str()
    {
        "json" => {
            let arr = rows
                .iter()
                .map(|r| {
                    Json::obj(
                        cols.iter()
                            .map(|(c, _)| (*c, pick(r, c).map_or(Json::Null, Json::Str))),
                    )
                })
                .collect();
            Ok(Reply::json(200, Json::Arr(arr)))
        }
        "text" | "txt" => {
            let header = param(params, "v").is_some_and(|v| v.is_empty() || v == "true");
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    cols.iter()
                        .map(|(c, _)| pick(r, c).unwrap_or_default())
                        .collect()
                })
                .collect();
            let widths: Vec<usize> = (0..cols.len())
                .map(|i| {
                    table
                        .iter()
                        .map(|r| r[i].len())
                        .chain(header.then_some(cols[i].0.len()))
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let mut text = String::new();
            if header {
                let line: Vec<String> = cols
                    .iter()
                    .zip(&widths)
                    .map(|((c, _), w)| format!("{c:<w$}"))
                    .collect();
                text.push_str(line.join(" ").trim_end());
                text.push('\n');
            }
            for r in &table {
                let line: Vec<String> = r
                    .iter()
                    .zip(cols.iter().zip(&widths))
                    .map(|(v, ((_, numeric), w))| {
                        if *numeric {
                            format!("{v:>w$}")
                        } else {
                            format!("{v:<w$}")
                        }
                    })
                    .collect();
                text.push_str(line.join(" ").trim_end());
                text.push('\n');
            }
            Ok(Reply {
                status: 200,
                body: super::reply::Body::Raw(text.into_bytes(), "text/plain; charset=UTF-8"),
            })
        }
        other => Err(EsError::iae(format!("illegal format [{other}]"))),
    }
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn sizes() {
        assert_eq!(human_bytes(208), "208b");
        assert_eq!(human_bytes(1024), "1kb");
        assert_eq!(human_bytes(46_242_611), "44.1mb");
    }
}
