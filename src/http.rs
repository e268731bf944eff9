//! The agent's HTTP endpoint: `/metrics` (Prometheus text), `/healthz` (the process serves) and
//! `/readyz` (the input has started and an output is running), used as the DaemonSet's probes.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

pub struct Endpoint {
    pub registry: Registry,
    pub ready: Arc<dyn Fn() -> bool + Send + Sync>,
    pub alive: Arc<AtomicBool>,
}

/// Binds the address (a failure stops start-up: the probes would fail anyway) and serves in the
/// background. Returns the bound address (port 0 picks one).
pub async fn serve(addr: SocketAddr, endpoint: Endpoint) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let endpoint = Arc::new(endpoint);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let endpoint = Arc::clone(&endpoint);
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let endpoint = Arc::clone(&endpoint);
                    async move { Ok::<_, Infallible>(answer(&endpoint, req)) }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(bound)
}

fn answer(endpoint: &Endpoint, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let text = |status: StatusCode, body: String, content_type: &'static str| {
        let mut resp = Response::new(Full::new(Bytes::from(body)));
        *resp.status_mut() = status;
        resp.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static(content_type),
        );
        resp
    };
    match req.uri().path() {
        "/metrics" => {
            let mut body = String::new();
            match prometheus_client::encoding::text::encode(&mut body, &endpoint.registry) {
                Ok(()) => text(
                    StatusCode::OK,
                    body,
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
                Err(_) => text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "encoding failed\n".into(),
                    "text/plain",
                ),
            }
        }
        "/healthz" if endpoint.alive.load(Ordering::Relaxed) => {
            text(StatusCode::OK, "ok\n".into(), "text/plain")
        }
        "/healthz" => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "stopping\n".into(),
            "text/plain",
        ),
        "/readyz" if (endpoint.ready)() => text(StatusCode::OK, "ready\n".into(), "text/plain"),
        "/readyz" => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "not ready\n".into(),
            "text/plain",
        ),
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: try /metrics, /healthz, /readyz\n".into(),
            "text/plain",
        ),
    }
}
