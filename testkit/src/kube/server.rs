//! The HTTP side: the accept loop (closed while the server is "down", so clients get connection
//! refused, and bound again on the same port when it comes back), one hyper connection per
//! client, dropped at once when the server goes down, and the routes.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::selector::FieldSelector;
use super::state::WatchStart;
use super::watch::{spawn_keeper, WatchBody};
use super::{fixtures, status, Shared};

type Body = BoxBody<Bytes, Infallible>;

/// The longest watch when the client names no `timeoutSeconds` (the API server's default is
/// between 30 and 60 minutes; tests never wait that long).
const DEFAULT_WATCH_TIMEOUT: Duration = Duration::from_secs(1800);

/// `listener` is `None` when the server starts down; `addr` is where it listens when up.
pub(crate) async fn serve(
    listener: Option<std::net::TcpListener>,
    addr: std::net::SocketAddr,
    shared: Arc<Shared>,
    mut stop: oneshot::Receiver<()>,
) {
    let addr = Some(addr);
    let mut listener = listener.and_then(|l| TcpListener::from_std(l).ok());
    let mut down = shared.down.subscribe();
    loop {
        let is_down = *down.borrow_and_update();
        if is_down {
            listener = None;
        } else if listener.is_none() {
            listener = match addr {
                Some(addr) => rebind(addr).await,
                None => None,
            };
        }
        shared.set_listening(listener.is_some());
        tokio::select! {
            _ = &mut stop => return,
            changed = down.changed() => if changed.is_err() { return },
            accepted = accept(listener.as_ref()) => match accepted {
                Ok(stream) => {
                    tokio::spawn(connection(shared.clone(), stream));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
    }
}

async fn accept(listener: Option<&TcpListener>) -> std::io::Result<TcpStream> {
    match listener {
        Some(l) => l.accept().await.map(|(s, _)| s),
        None => std::future::pending().await,
    }
}

/// The port was ours a moment ago; another process may hold it briefly (a connection's
/// ephemeral port), so binding is retried for a while.
async fn rebind(addr: std::net::SocketAddr) -> Option<TcpListener> {
    for _ in 0..200 {
        if let Ok(l) = TcpListener::bind(addr).await {
            return Some(l);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    eprintln!("kube-api double: cannot bind {addr} again");
    None
}

async fn connection(shared: Arc<Shared>, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut down = shared.down.subscribe();
    let svc = {
        let shared = shared.clone();
        service_fn(move |req| handle(shared.clone(), req))
    };
    let conn = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), svc);
    tokio::pin!(conn);
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            changed = down.changed() => {
                if changed.is_err() || *down.borrow_and_update() {
                    // Dropping the connection closes the socket mid-stream, as a crash would.
                    return;
                }
            }
        }
    }
}

fn reply(code: u16, body: String) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from(body)).boxed());
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    headers(&mut resp);
    resp
}

fn headers(resp: &mut Response<Body>) {
    let h = resp.headers_mut();
    h.insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/json"),
    );
    h.insert(
        "cache-control",
        hyper::header::HeaderValue::from_static("no-cache, private"),
    );
}

/// Query parameters, percent-decoded (`+` is a space, as in forms).
fn query(req: &Request<Incoming>) -> Vec<(String, String)> {
    req.uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            ) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
    shared
        .lock()
        .requests
        .push(format!("{} {target}", req.method()));
    if req.method() != Method::GET {
        return Ok(reply(405, status::method_not_allowed()));
    }
    let path = req.uri().path().trim_end_matches('/').to_owned();
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let q = query(&req);
    let param = |name: &str| q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let resp = match parts.as_slice() {
        ["version"] => reply(200, fixtures::VERSION.to_owned()),
        ["api"] => reply(200, fixtures::API.to_owned()),
        ["api", "v1"] => reply(200, fixtures::API_V1.to_owned()),
        ["apis"] => reply(200, fixtures::APIS.to_owned()),
        // Group versions listed in /apis: this server has no resources there.
        ["apis", group, version] => reply(
            200,
            format!(
                r#"{{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"{group}/{version}","resources":[]}}"#
            ),
        ),
        ["api", "v1", "pods"] => pods(&shared, None, &param),
        ["api", "v1", "namespaces", ns, "pods"] => pods(&shared, Some(ns), &param),
        ["api", "v1", "namespaces", ns, "pods", name] => get_pod(&shared, ns, name),
        ["api", "v1", "nodes", name] => match shared.nodes.get(*name) {
            Some(node) => reply(200, node.to_string()),
            None => reply(404, status::node_not_found(name)),
        },
        _ => reply(404, status::not_found_path()),
    };
    Ok(resp)
}

fn get_pod(shared: &Arc<Shared>, ns: &str, name: &str) -> Response<Body> {
    let mut st = shared.lock();
    st.stats.gets += 1;
    if st.forbidden {
        st.stats.forbidden += 1;
        return reply(403, status::forbidden("get", Some(ns), Some(name)));
    }
    match st.pod(ns, name) {
        Some(pod) => reply(200, super::state::with_kind(pod)),
        None => reply(404, status::pod_not_found(name)),
    }
}

fn pods<'a>(
    shared: &Arc<Shared>,
    namespace: Option<&str>,
    param: &dyn Fn(&str) -> Option<&'a str>,
) -> Response<Body> {
    let watch = matches!(param("watch"), Some("true" | "1"));
    let mut st = shared.lock();
    if st.forbidden {
        st.stats.forbidden += 1;
        let verb = if watch { "watch" } else { "list" };
        return reply(403, status::forbidden(verb, namespace, None));
    }
    if param("labelSelector").is_some_and(|s| !s.is_empty()) {
        return reply(
            400,
            status::bad_request("labelSelector is not supported by this test API server"),
        );
    }
    let selector = match FieldSelector::parse(param("fieldSelector").unwrap_or("")) {
        Ok(s) => s,
        Err(message) => return reply(400, status::bad_request(&message)),
    };
    let rv = match param("resourceVersion") {
        None | Some("") | Some("0") => None,
        Some(text) => match text.parse::<u64>() {
            Ok(rv) => Some(rv),
            Err(_) => {
                return reply(
                    400,
                    status::bad_request(&format!("invalid resource version: {text:?}")),
                )
            }
        },
    };
    if !watch {
        let limit = param("limit").and_then(|l| l.parse().ok());
        return match st.list(
            namespace,
            &selector,
            limit,
            param("continue").filter(|c| !c.is_empty()),
        ) {
            Ok(body) => reply(200, body),
            Err((code, body)) => reply(code, body),
        };
    }
    let bookmarks = param("allowWatchBookmarks") == Some("true");
    let (rx, tx) = st.watch(WatchStart {
        namespace: namespace.map(str::to_owned),
        selector,
        resource_version: rv,
        send_initial_events: param("sendInitialEvents") == Some("true"),
        bookmarks,
    });
    let timeout = param("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map_or(DEFAULT_WATCH_TIMEOUT, Duration::from_secs);
    let every = bookmarks.then_some(shared.bookmark_every).flatten();
    if let Some(tx) = tx {
        spawn_keeper(shared.clone(), tx, timeout, every);
    }
    drop(st);
    let mut resp = Response::new(WatchBody::new(rx).boxed());
    headers(&mut resp);
    resp
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn percent_decoding() {
        assert_eq!(decode("spec.nodeName%3Dnode-1"), "spec.nodeName=node-1");
        assert_eq!(decode("a+b%2Cc"), "a b,c");
        assert_eq!(decode("bad%zz%"), "bad%zz%");
    }
}
