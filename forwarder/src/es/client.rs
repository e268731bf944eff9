//! HTTP to Elasticsearch: the root document and `_bulk`, over one pooled hyper client, failing
//! over across the endpoints of the plan (the ELK app's hosts) on connection errors.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request};

use logship_collector::http_client::{https_client, HttpsClient};
use logship_collector::tls::TlsClient;

/// One Elasticsearch endpoint: `http(s)://host:port[/prefix]`, without a trailing slash and
/// without credentials, and the `Authorization` header sent to it, built once.
#[derive(Debug, Clone)]
pub struct EsTarget {
    pub base_url: String,
    /// `Basic …` or `ApiKey …`, marked sensitive; `None`: no authentication.
    pub auth: Option<HeaderValue>,
}

impl EsTarget {
    /// An endpoint without authentication.
    pub fn new(base_url: impl Into<String>) -> EsTarget {
        EsTarget {
            base_url: base_url.into(),
            auth: None,
        }
    }

    /// `Authorization: Basic base64(user:password)`.
    pub fn basic_auth(user: &str, password: &str) -> Result<HeaderValue, String> {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        sensitive(format!("Basic {token}"))
    }

    /// `Authorization: ApiKey <key>` (the key as Elasticsearch hands it out, base64 of id:key).
    pub fn api_key(key: &str) -> Result<HeaderValue, String> {
        sensitive(format!("ApiKey {}", key.trim()))
    }
}

fn sensitive(text: String) -> Result<HeaderValue, String> {
    // The message never quotes the value: it holds a secret.
    let mut value = HeaderValue::from_str(&text)
        .map_err(|_| "the credentials hold characters not allowed in an HTTP header".to_string())?;
    value.set_sensitive(true);
    Ok(value)
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("{endpoint}: {reason}")]
    Transport { endpoint: String, reason: String },
    #[error("{endpoint}: no answer within {timeout:?}")]
    Timeout { endpoint: String, timeout: Duration },
}

/// Asks only for what the agent reads: a response with one full item per document is as large
/// as a fifth of the request.
pub const BULK_PATH: &str = "/_bulk?filter_path=errors,items.*.error,items.*.status";

pub struct EsClient {
    http: HttpsClient<Full<Bytes>>,
    targets: Vec<EsTarget>,
    current: AtomicUsize,
    timeout: Duration,
}

impl EsClient {
    /// A client for http:// endpoints, and https:// ones trusting the system roots.
    pub fn new(targets: Vec<EsTarget>, timeout: Duration) -> Result<EsClient, String> {
        EsClient::with_tls(targets, timeout, None)
    }

    /// `tls`: the rustls configuration for https:// endpoints; `None`: the system roots.
    pub fn with_tls(
        targets: Vec<EsTarget>,
        timeout: Duration,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> Result<EsClient, String> {
        if targets.is_empty() {
            return Err("no Elasticsearch endpoint".into());
        }
        for t in &targets {
            if !t.base_url.starts_with("http://") && !t.base_url.starts_with("https://") {
                return Err(format!(
                    "{}: expected an http:// or https:// endpoint",
                    t.base_url
                ));
            }
        }
        let tls = match tls {
            Some(config) => (*config).clone(),
            None => TlsClient::default().client_config()?,
        };
        let http = https_client(tls, Duration::from_secs(5), Duration::from_secs(30));
        Ok(EsClient {
            http,
            targets,
            current: AtomicUsize::new(0),
            timeout,
        })
    }

    pub fn endpoint(&self) -> &str {
        &self.target().base_url
    }

    fn target(&self) -> &EsTarget {
        let i = self.current.load(Ordering::Relaxed) % self.targets.len();
        &self.targets[i]
    }

    pub async fn root(&self) -> Result<Reply, SendError> {
        self.send(Method::GET, "/", None).await
    }

    pub async fn bulk(&self, body: Bytes) -> Result<Reply, SendError> {
        self.send(Method::POST, BULK_PATH, Some(body)).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<Reply, SendError> {
        let target = self.target();
        let endpoint = target.base_url.clone();
        let auth = target.auth.clone();
        let result = tokio::time::timeout(
            self.timeout,
            self.send_to(&endpoint, auth, method, path, body),
        )
        .await
        .unwrap_or_else(|_| {
            Err(SendError::Timeout {
                endpoint: endpoint.clone(),
                timeout: self.timeout,
            })
        });
        if result.is_err() && self.targets.len() > 1 {
            // Fail over: the next request goes to the next endpoint of the list.
            self.current.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    async fn send_to(
        &self,
        endpoint: &str,
        auth: Option<HeaderValue>,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<Reply, SendError> {
        let transport = |reason: String| SendError::Transport {
            endpoint: endpoint.to_owned(),
            reason,
        };
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{endpoint}{path}"));
        if let Some(auth) = auth {
            req = req.header(AUTHORIZATION, auth);
        }
        if body.is_some() {
            req = req.header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-ndjson"),
            );
        }
        let req = req
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| transport(e.to_string()))?;
        let resp = self
            .http
            .request(req)
            .await
            .map_err(|e| transport(error_chain(&e)))?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| transport(error_chain(&e)))?
            .to_bytes();
        Ok(Reply { status, body })
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
