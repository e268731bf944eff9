//! A kubelet double for the metrics source's tests: `GET /stats/summary` over HTTPS (the test
//! PKI of [`crate::tls`]) or plain HTTP, behind a bearer token check as the real kubelet's
//! authentication filter does it (401 `Unauthorized` without a token or with a wrong one).
//!
//! It serves a queue of summaries: each request takes the next one, and the last one is served
//! from then on, so a test gets an exact sequence of samples whatever the agent's timing. Faults
//! on demand: down (connection refused, open connections dropped), garbage (200 with a body
//! that is not JSON), or any status. Runs on its own thread and runtime, binds 127.0.0.1 only,
//! and is driven from synchronous tests like the other doubles.

pub mod sample;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio_rustls::TlsAcceptor;

pub use sample::advance;

use crate::tls::TestPki;

/// What the double answers instead of a summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeletFault {
    /// 200 with this body (not a summary).
    Garbage(String),
    /// This status with a short text body.
    Status(u16),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeletStats {
    /// Requests received (answered or not).
    pub requests: u64,
    /// Answered 401 (no token, or a wrong one).
    pub unauthorized: u64,
    /// Summaries served.
    pub summaries: u64,
}

struct State {
    token: String,
    summaries: VecDeque<Bytes>,
    fault: Option<KubeletFault>,
    stats: KubeletStats,
}

struct Shared {
    state: Mutex<State>,
    down: watch::Sender<bool>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct KubeletOptions {
    /// `None`: plain HTTP.
    pub pki: Option<TestPki>,
    /// The bearer token requests must carry.
    pub token: String,
    /// Served in order; the last one from then on.
    pub summaries: Vec<Vec<u8>>,
}

/// A running double. Dropping it stops the server.
pub struct KubeletDouble {
    addr: SocketAddr,
    https: bool,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl KubeletDouble {
    pub fn start(opts: KubeletOptions) -> anyhow::Result<KubeletDouble> {
        let listener =
            std::net::TcpListener::bind(("127.0.0.1", 0)).context("binding 127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let tls = match &opts.pki {
            Some(pki) => Some(TlsAcceptor::from(pki.server_config()?)),
            None => None,
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                token: opts.token,
                summaries: opts.summaries.into_iter().map(Bytes::from).collect(),
                fault: None,
                stats: KubeletStats::default(),
            }),
            down: watch::Sender::new(false),
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("building the kubelet double runtime")?;
        let (stop_tx, stop_rx) = oneshot::channel();
        let sh = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("kubelet-double".into())
            .spawn(move || {
                rt.block_on(serve(listener, addr, sh, tls, stop_rx));
            })?;
        Ok(KubeletDouble {
            addr,
            https: opts.pki.is_some(),
            shared,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:PORT` (or `http://`): what `LOGSHIP_KUBELET_URL` is set to.
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Replaces the queue of summaries.
    pub fn set_summaries(&self, summaries: Vec<Vec<u8>>) {
        self.shared.lock().summaries = summaries.into_iter().map(Bytes::from).collect();
    }

    pub fn set_fault(&self, fault: Option<KubeletFault>) {
        self.shared.lock().fault = fault;
    }

    pub fn set_token(&self, token: &str) {
        self.shared.lock().token = token.to_owned();
    }

    /// Down: connections are refused and open ones dropped, until set up again.
    pub fn set_down(&self, down: bool) {
        self.shared.down.send_replace(down);
    }

    pub fn stats(&self) -> KubeletStats {
        self.shared.lock().stats.clone()
    }
}

impl Drop for KubeletDouble {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(
    listener: std::net::TcpListener,
    addr: SocketAddr,
    shared: Arc<Shared>,
    tls: Option<TlsAcceptor>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut listener = TcpListener::from_std(listener).ok();
    let mut down = shared.down.subscribe();
    loop {
        if *down.borrow_and_update() {
            listener = None;
        } else if listener.is_none() {
            listener = rebind(addr).await;
        }
        let accept = async {
            match &listener {
                Some(l) => l.accept().await.map(|(s, _)| s),
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut stop => return,
            changed = down.changed() => if changed.is_err() { return },
            accepted = accept => if let Ok(stream) = accepted {
                tokio::spawn(connection(Arc::clone(&shared), stream, tls.clone()));
            },
        }
    }
}

/// The port was ours a moment ago; it may be held briefly by a closing socket.
async fn rebind(addr: SocketAddr) -> Option<TcpListener> {
    for _ in 0..200 {
        if let Ok(l) = TcpListener::bind(addr).await {
            return Some(l);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    None
}

async fn connection(shared: Arc<Shared>, stream: TcpStream, tls: Option<TlsAcceptor>) {
    let _ = stream.set_nodelay(true);
    let mut down = shared.down.subscribe();
    let svc = {
        let shared = Arc::clone(&shared);
        service_fn(move |req| handle(Arc::clone(&shared), req))
    };
    let serve = async {
        match tls {
            None => {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            }
            Some(acceptor) => {
                if let Ok(stream) = acceptor.accept(stream).await {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                }
            }
        }
    };
    tokio::select! {
        _ = serve => {}
        // Going down drops the connection mid-way, as a stopped kubelet would.
        _ = down.wait_for(|d| *d) => {}
    }
}

fn reply(status: u16, content_type: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static(content_type),
    );
    resp
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut st = shared.lock();
    st.stats.requests += 1;
    let expected = format!("Bearer {}", st.token);
    let authorized = req
        .headers()
        .get("authorization")
        .is_some_and(|v| v.as_bytes() == expected.as_bytes());
    if !authorized {
        // The kubelet's authentication filter: plain text, no JSON.
        st.stats.unauthorized += 1;
        return Ok(reply(
            401,
            "text/plain; charset=utf-8",
            Bytes::from_static(b"Unauthorized"),
        ));
    }
    if req.uri().path() != "/stats/summary" {
        return Ok(reply(
            404,
            "text/plain; charset=utf-8",
            Bytes::from_static(b"404 page not found\n"),
        ));
    }
    match st.fault.clone() {
        Some(KubeletFault::Garbage(body)) => {
            return Ok(reply(200, "application/json", Bytes::from(body)));
        }
        Some(KubeletFault::Status(code)) => {
            return Ok(reply(
                code,
                "text/plain; charset=utf-8",
                Bytes::from_static(b"injected failure"),
            ));
        }
        None => {}
    }
    let body = if st.summaries.len() > 1 {
        st.summaries.pop_front()
    } else {
        st.summaries.front().cloned()
    };
    match body {
        Some(body) => {
            st.stats.summaries += 1;
            Ok(reply(200, "application/json", body))
        }
        None => Ok(reply(
            503,
            "text/plain; charset=utf-8",
            Bytes::from_static(b"no summary yet"),
        )),
    }
}
