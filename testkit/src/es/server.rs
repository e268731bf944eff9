//! The HTTP side: accept loop, one hyper connection per client that the double can reset at
//! will (the `down` and `drop_next_responses` faults), body limits, gzip, the request-level
//! faults and the request log. Which handler answers is routes.rs's business.

use std::convert::Infallible;
use std::io::Read;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, Notify};
use tokio_rustls::TlsAcceptor;

use super::error::EsError;
use super::faults::{injected_failure, RequestFault};
use super::json::Json;
use super::reply::{Body, Reply, JSON};
use super::routes::{self, Route};
use super::{control, Shared};

pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    tls: Option<TlsAcceptor>,
    mut stop: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut stop => return,
            acc = listener.accept() => match acc {
                Ok((stream, _)) => {
                    tokio::spawn(connection(shared.clone(), stream, tls.clone()));
                }
                // Out of descriptors and the like: pause instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
        }
    }
}

#[derive(Default)]
struct ConnCtl {
    abort: Notify,
    control_in_flight: AtomicUsize,
    /// Set when a control request on this connection switched `down` on: its answer must
    /// still reach the client.
    spare_next_down: AtomicBool,
}

/// Makes the kernel answer with RST instead of FIN when the socket is closed, which is what a
/// crashed or firewalled server looks like to the client.
fn arm_reset(fd: RawFd) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: fd belongs to a socket this task still owns (the hyper connection holding it has
    // not been dropped yet), and the option value is a properly sized `linger`.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

async fn connection(shared: Arc<Shared>, stream: TcpStream, tls: Option<TlsAcceptor>) {
    let _ = stream.set_nodelay(true);
    let fd = stream.as_raw_fd();
    match tls {
        None => drive(shared, TokioIo::new(stream), fd).await,
        // A client that does not trust the certificate aborts the handshake: nothing to serve.
        Some(acceptor) => {
            if let Ok(stream) = acceptor.accept(stream).await {
                drive(shared, TokioIo::new(stream), fd).await;
            }
        }
    }
}

/// Serves one connection; `fd` is the socket under `io`, still open while this runs.
async fn drive<I>(shared: Arc<Shared>, io: I, fd: RawFd)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let ctl = Arc::new(ConnCtl::default());
    let mut down = shared.down.subscribe();
    let svc = {
        let (shared, ctl) = (shared.clone(), ctl.clone());
        service_fn(move |req| handle(shared.clone(), ctl.clone(), req))
    };
    let mut builder = http1::Builder::new();
    builder.auto_date_header(false).keep_alive(true);
    let conn = builder.serve_connection(io, svc);
    tokio::pin!(conn);
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = ctl.abort.notified() => break,
            changed = down.changed() => {
                if changed.is_err() {
                    return;
                }
                let spared = ctl.spare_next_down.swap(false, Ordering::SeqCst)
                    || ctl.control_in_flight.load(Ordering::SeqCst) > 0;
                if *down.borrow_and_update() && !spared {
                    shared.with_stats(|s| s.reset_connections += 1);
                    break;
                }
            }
        }
    }
    arm_reset(fd);
}

struct ControlGuard(Arc<ConnCtl>);

impl Drop for ControlGuard {
    fn drop(&mut self) {
        self.0.control_in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

pub(crate) fn pct_decode(s: &str, plus_is_space: bool) -> String {
    let b = s.as_bytes();
    let hex = |c: u8| (c as char).to_digit(16);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' && plus_is_space {
            b' '
        } else {
            b[i]
        });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_query(q: Option<&str>) -> Vec<(String, String)> {
    q.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (pct_decode(k, true), pct_decode(v, true))
        })
        .collect()
}

/// Reads the whole body; `None` when it is longer than `max` (the rest is drained so the
/// client reads the 413 instead of a reset).
async fn read_body(mut body: Incoming, max: usize) -> Result<Option<Vec<u8>>, hyper::Error> {
    let mut buf = Vec::new();
    let mut too_big = false;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            if !too_big && buf.len() + data.len() > max {
                too_big = true;
                buf = Vec::new();
            }
            if !too_big {
                buf.extend_from_slice(&data);
            }
        }
    }
    Ok((!too_big).then_some(buf))
}

/// Content-Encoding of the request. `Ok(None)`: larger than `max` once inflated (ES limits the
/// decompressed content, its decompressor sits before the aggregator).
fn inflate(enc: &str, data: &[u8], max: usize) -> Result<Option<Vec<u8>>, EsError> {
    fn drain(r: impl Read, max: usize) -> std::io::Result<Option<Vec<u8>>> {
        let mut out = Vec::new();
        r.take(max as u64 + 1).read_to_end(&mut out)?;
        Ok((out.len() <= max).then_some(out))
    }
    let res = match enc {
        "gzip" | "x-gzip" => drain(flate2::read::MultiGzDecoder::new(data), max),
        "deflate" => drain(flate2::read::ZlibDecoder::new(data), max)
            .or_else(|_| drain(flate2::read::DeflateDecoder::new(data), max)),
        _ => return Ok(Some(data.to_vec())),
    };
    res.map_err(|e| EsError::iae(format!("invalid {enc} content: {e}")))
}

async fn handle(
    shared: Arc<Shared>,
    ctl: Arc<ConnCtl>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let prof = &shared.prof;
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| pct_decode(s, false))
        .collect();
    let params = parse_query(req.uri().query());
    let query = req.uri().query().unwrap_or("").to_string();
    let head = method == "HEAD";
    let header = |name: &str| -> Vec<String> {
        req.headers()
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect()
    };
    let gzip_ok = header("accept-encoding")
        .iter()
        .any(|v| v.to_ascii_lowercase().contains("gzip"));
    let encoding = header("content-encoding")
        .first()
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let ctypes = header("content-type");
    let max = shared.max_content_length;

    if segs.first().is_some_and(|s| s == "_double") {
        ctl.control_in_flight.fetch_add(1, Ordering::SeqCst);
        let _guard = ControlGuard(ctl.clone());
        let reply = match read_body(req.into_body(), max).await {
            Ok(Some(body)) => {
                let was_down = *shared.down.borrow();
                let r = control::handle(&shared, &method, &segs[1..], &params, &body);
                if !was_down && *shared.down.borrow() {
                    ctl.spare_next_down.store(true, Ordering::SeqCst);
                }
                r
            }
            Ok(None) => Reply {
                status: 413,
                body: Body::Empty,
            },
            Err(_) => Reply::error(&EsError::iae("unreadable request body")),
        };
        return Ok(reply.into_response(prof, head, gzip_ok));
    }

    if let Some(denied) = check_auth(&shared, &header("authorization"), &path) {
        shared.record(&method, &path, &query, Some(401));
        return Ok(denied);
    }

    let route = routes::route(prof, &method, &path, &segs);
    let faultable = {
        let bulk = route.as_ref().is_ok_and(Route::is_bulk);
        let root = matches!(route, Ok(Route::Root));
        shared.lock().faults.applies(&method, &path, bulk, root)
    };
    if faultable {
        let (down, delay) = {
            let st = shared.lock();
            (st.faults.faults.down, st.faults.faults.delay_ms)
        };
        if down {
            shared.with_stats(|s| {
                s.requests += 1;
                s.reset_connections += 1;
            });
            shared.record(&method, &path, &query, None);
            ctl.abort.notify_one();
            std::future::pending::<()>().await;
        }
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
    }
    let mut fault = RequestFault::None;
    let mut reply = match read_body(req.into_body(), max).await {
        // The client went away mid-body: nobody to answer.
        Err(_) => {
            return Ok(Reply {
                status: 400,
                body: Body::Empty,
            }
            .into_response(prof, true, false))
        }
        Ok(None) => Reply {
            status: 413,
            body: Body::Empty,
        },
        Ok(Some(wire)) => {
            let gzip_req = !encoding.is_empty() && !wire.is_empty();
            let body = if gzip_req {
                inflate(&encoding, &wire, max)
            } else {
                Ok(Some(wire))
            };
            if faultable {
                fault = shared.lock().faults.decide_request();
            }
            match (body, fault) {
                (_, RequestFault::Fail(status)) => {
                    shared.with_stats(|s| s.injected_request_failures += 1);
                    injected_failure(status, &method, &path)
                }
                (Err(e), _) => Reply::error(&e),
                (Ok(None), _) => Reply {
                    status: 413,
                    body: Body::Empty,
                },
                (Ok(Some(body)), _) => {
                    let req = routes::Request {
                        path: &path,
                        params: &params,
                        body: &body,
                        gzip: gzip_req,
                        ctypes: &ctypes,
                    };
                    let mut r = routes::answer(&shared, route, &req);
                    let pretty = params.iter().any(|(k, v)| k == "pretty" && v != "false");
                    let filter = params
                        .iter()
                        .find(|(k, _)| k == "filter_path")
                        .map(|(_, v)| v.as_str());
                    r.shape(filter, pretty);
                    r
                }
            }
        }
    };
    if fault == RequestFault::Drop {
        shared.with_stats(|s| {
            s.requests += 1;
            s.dropped_responses += 1;
        });
        shared.record(&method, &path, &query, None);
        ctl.abort.notify_one();
        std::future::pending::<()>().await;
    }
    if fault == RequestFault::Garbage {
        shared.with_stats(|s| s.garbage_responses += 1);
        reply = Reply {
            status: 200,
            body: Body::Raw(
                b"not json: es-double garbage_next_responses\n".to_vec(),
                JSON,
            ),
        };
    }
    if fault == RequestFault::Short {
        if let Body::Json(Json::Obj(fields)) = &mut reply.body {
            for (key, value) in fields.iter_mut() {
                if let (true, Json::Arr(items)) = (key == "items", value) {
                    items.pop();
                }
            }
        }
        shared.with_stats(|s| s.short_responses += 1);
    }
    let status = reply.status;
    shared.with_stats(|s| {
        s.requests += 1;
        *s.requests_by_status.entry(status).or_default() += 1;
    });
    shared.record(&method, &path, &query, Some(status));
    Ok(reply.into_response(prof, head, gzip_ok))
}

/// ES with security on: the request's credentials against [`super::EsAuth`]; `Some(401)` when
/// they are missing or wrong, with ES's body and `WWW-Authenticate` challenges.
fn check_auth(
    shared: &Shared,
    authorization: &[String],
    path: &str,
) -> Option<Response<Full<Bytes>>> {
    use base64::Engine;
    let auth = shared.auth.as_ref()?;
    let given = authorization.first().map(|v| v.trim()).unwrap_or("");
    let mut user = None;
    if let Some(token) = given.strip_prefix("Basic ") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok());
        if let Some((u, p)) = decoded.as_deref().and_then(|d| d.split_once(':')) {
            if auth
                .basic
                .as_ref()
                .is_some_and(|(bu, bp)| bu == u && bp == p)
            {
                return None;
            }
            user = Some(u.to_string());
        }
    } else if let Some(key) = given.strip_prefix("ApiKey ") {
        if auth.api_key.as_deref() == Some(key.trim()) {
            return None;
        }
    }
    let reason = match (given.is_empty(), user) {
        (true, _) => format!("missing authentication credentials for REST request [{path}]"),
        (false, Some(u)) => format!("unable to authenticate user [{u}] for REST request [{path}]"),
        (false, None) => "unable to authenticate with provided credentials and anonymous access is not allowed for this request".to_string(),
    };
    let challenges = serde_json::json!(["Basic realm=\"security\" charset=\"UTF-8\"", "ApiKey"]);
    let cause = serde_json::json!({
        "type": "security_exception",
        "reason": reason,
        "header": {"WWW-Authenticate": challenges},
    });
    let body = serde_json::json!({
        "error": {
            "root_cause": [cause.clone()],
            "type": "security_exception",
            "reason": reason,
            "header": {"WWW-Authenticate": challenges},
        },
        "status": 401,
    });
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = hyper::StatusCode::UNAUTHORIZED;
    let headers = resp.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    headers.append(
        hyper::header::WWW_AUTHENTICATE,
        hyper::header::HeaderValue::from_static("Basic realm=\"security\" charset=\"UTF-8\""),
    );
    headers.append(
        hyper::header::WWW_AUTHENTICATE,
        hyper::header::HeaderValue::from_static("ApiKey"),
    );
    Some(resp)
}
