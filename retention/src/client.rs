//! HTTP to Elasticsearch for retention: one pooled hyper client over the endpoints of the plan,
//! failing over to the next endpoint when one cannot be reached (the ELK app's hosts), with the
//! endpoint's basic-auth credentials. An HTTP answer, whatever its status, is not a reason to
//! fail over: the caller decides what a 403 or a 500 means.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use hyper::{Method, Request};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use logship_config::EsEndpoint;

/// One endpoint as the client uses it.
struct Target {
    /// `http(s)://host:port[/prefix]`, no trailing slash.
    base_url: String,
    /// The URL to show: the password is `***`.
    shown: String,
    auth: Option<HeaderValue>,
}

/// TLS and credentials beyond what the endpoint URLs say (the agent's `LOGSHIP_ES_*` settings).
#[derive(Debug, Clone, Default)]
pub struct Security {
    /// For https endpoints; `None`: the system roots.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// `Authorization` for every endpoint, winning over a user in the URL; marked sensitive.
    pub auth: Option<HeaderValue>,
}

/// rustls (ring) trusting the system's roots.
fn system_roots_config() -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS: {e}"))?
    .with_root_certificates(roots)
    .with_no_client_auth())
}

/// An HTTP answer and the endpoint that gave it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
    pub endpoint: String,
}

/// No endpoint answered: each attempt, with why it failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .attempts.join("; "))]
pub struct Unreachable {
    pub attempts: Vec<String>,
}

pub struct EsClient {
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    targets: Vec<Target>,
    current: AtomicUsize,
    timeout: Duration,
}

impl EsClient {
    /// A client over `endpoints` in fail-over order; `timeout` bounds each request.
    /// https endpoints trust the system roots; credentials come from the URLs.
    pub fn new(endpoints: &[EsEndpoint], timeout: Duration) -> Result<EsClient, String> {
        EsClient::with_security(endpoints, timeout, &Security::default())
    }

    /// With the agent's TLS configuration and credentials (see [`Security`]).
    pub fn with_security(
        endpoints: &[EsEndpoint],
        timeout: Duration,
        security: &Security,
    ) -> Result<EsClient, String> {
        if endpoints.is_empty() {
            return Err("no Elasticsearch endpoint".into());
        }
        let mut targets = Vec::new();
        for e in endpoints {
            let auth = match e.username() {
                _ if security.auth.is_some() => security.auth.clone(),
                Some(user) => {
                    let pair = format!("{user}:{}", e.password().unwrap_or(""));
                    let value = format!("Basic {}", base64(pair.as_bytes()));
                    let mut v = HeaderValue::from_str(&value)
                        .map_err(|_| format!("{e}: the credentials cannot be sent"))?;
                    v.set_sensitive(true);
                    Some(v)
                }
                None => None,
            };
            targets.push(Target {
                base_url: e.base_url(),
                shown: e.to_string(),
                auth,
            });
        }
        let mut tls = match &security.tls {
            Some(config) => (**config).clone(),
            None => system_roots_config()?,
        };
        // The connector sets ALPN itself and refuses preset protocols.
        tls.alpn_protocols.clear();
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        connector.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(EsClient {
            http,
            targets,
            current: AtomicUsize::new(0),
            timeout,
        })
    }

    /// The endpoint requests go to now (the one that last answered).
    pub fn endpoint(&self) -> &str {
        let i = self.current.load(Ordering::Relaxed) % self.targets.len();
        &self.targets[i].shown
    }

    /// Sends `method path_and_query` to the current endpoint, then to each of the others in
    /// turn while they cannot be reached. The one that answers becomes the current one.
    pub async fn send(&self, method: Method, path_and_query: &str) -> Result<Reply, Unreachable> {
        let n = self.targets.len();
        let start = self.current.load(Ordering::Relaxed) % n;
        let mut attempts = Vec::new();
        for k in 0..n {
            let i = (start + k) % n;
            let target = &self.targets[i];
            let sent = tokio::time::timeout(
                self.timeout,
                self.send_to(target, method.clone(), path_and_query),
            )
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {:?}", self.timeout)));
            match sent {
                Ok((status, body)) => {
                    self.current.store(i, Ordering::Relaxed);
                    return Ok(Reply {
                        status,
                        body,
                        endpoint: target.shown.clone(),
                    });
                }
                Err(why) => attempts.push(format!("{}: {why}", target.shown)),
            }
        }
        Err(Unreachable { attempts })
    }

    async fn send_to(
        &self,
        target: &Target,
        method: Method,
        path_and_query: &str,
    ) -> Result<(u16, Bytes), String> {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path_and_query}", target.base_url))
            .header(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(auth) = &target.auth {
            req = req.header(AUTHORIZATION, auth.clone());
        }
        let req = req
            .body(Full::new(Bytes::new()))
            .map_err(|e| e.to_string())?;
        let resp = self.http.request(req).await.map_err(|e| error_chain(&e))?;
        let status = resp.status().as_u16();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| error_chain(&e))?
            .to_bytes();
        Ok((status, body))
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

/// Standard base64 with padding, for the basic-auth header (no dependency for twenty lines).
fn base64(data: &[u8]) -> String {
    const ALPHA: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHA[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_like_rfc4648() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
            ("elastic:p@ss:w", "ZWxhc3RpYzpwQHNzOnc="),
        ];
        for (plain, want) in cases {
            assert_eq!(base64(plain.as_bytes()), want, "{plain:?}");
        }
    }

    #[test]
    fn https_is_accepted_and_credentials_are_hidden() {
        let https: EsEndpoint = "https://es:9200".parse().unwrap();
        let c = EsClient::new(&[https], Duration::from_secs(1)).unwrap();
        assert_eq!(c.endpoint(), "https://es:9200");
        let mut key = HeaderValue::from_static("ApiKey a2V5");
        key.set_sensitive(true);
        let security = Security {
            tls: None,
            auth: Some(key),
        };
        let with_user: EsEndpoint = "http://u:secret@es:9200".parse().unwrap();
        let c = EsClient::with_security(&[with_user], Duration::from_secs(1), &security).unwrap();
        assert_eq!(
            c.targets[0].auth.as_ref().unwrap().as_bytes(),
            b"ApiKey a2V5"
        );
        let with_auth: EsEndpoint = "http://u:secret@es:9200".parse().unwrap();
        let c = EsClient::new(&[with_auth], Duration::from_secs(1)).unwrap();
        assert_eq!(c.endpoint(), "http://u:***@es:9200");
        assert!(c.targets[0].auth.as_ref().unwrap().is_sensitive());
    }
}
