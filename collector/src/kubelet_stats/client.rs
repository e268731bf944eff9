//! The kubelet's `/stats/summary` over HTTPS, with the service account's bearer token, as
//! heapster read it. The token file is read before every request: projected service account
//! tokens are rotated by the kubelet, and a long-running agent must follow.
//!
//! TLS: kubelet serving certificates are self-signed on most clusters (the kubelet makes its
//! own unless serving-certificate bootstrap is on), so by default the certificate is not
//! verified, as heapster's `insecure=true` and most Prometheus kubelet jobs do; the request goes
//! to this node's own IP, which does not leave the host. With a CA file the certificate is
//! verified against that CA only.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use hyper::Request;
use rustls::ClientConfig;

use super::summary::Summary;
use crate::http_client::{https_client, HttpsClient};
use crate::tls::{TlsClient, TlsSettingNames};

/// The largest summary read: a node with hundreds of pods answers a few MiB.
const MAX_BODY: usize = 64 << 20;

/// Why a scrape failed, by the kinds the agent counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScrapeError {
    /// The token file could not be read.
    Token(String),
    /// No answer: connection refused, TLS failure, timeout.
    Unreachable(String),
    /// An answer other than 200 (401 without a valid token, 403 without `nodes/stats`).
    Status(u16, String),
    /// A 200 whose body is not a summary.
    BadSummary(String),
}

impl ScrapeError {
    /// The `kind` label of the error counter.
    pub fn kind(&self) -> &'static str {
        match self {
            ScrapeError::Token(_) => "token",
            ScrapeError::Unreachable(_) => "unreachable",
            ScrapeError::Status(..) => "http_status",
            ScrapeError::BadSummary(_) => "bad_summary",
        }
    }
}

impl std::fmt::Display for ScrapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScrapeError::Token(why) | ScrapeError::Unreachable(why) => f.write_str(why),
            ScrapeError::Status(code, body) => write!(f, "HTTP {code}: {body}"),
            ScrapeError::BadSummary(why) => f.write_str(why),
        }
    }
}

/// How the kubelet's certificate is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeletTls {
    /// Any certificate (self-signed kubelet certificates); still encrypted.
    InsecureSkipVerify,
    /// Only certificates issued by the CAs in this PEM file (`LOGSHIP_KUBELET_CA_FILE`).
    CaFile(PathBuf),
}

impl KubeletTls {
    /// The rustls configuration; an error names the setting and the file.
    pub fn client_config(&self) -> Result<ClientConfig, String> {
        let tls = match self {
            KubeletTls::InsecureSkipVerify => TlsClient {
                insecure_skip_verify: true,
                names: TlsSettingNames::KUBELET,
                ..TlsClient::default()
            },
            KubeletTls::CaFile(path) => TlsClient {
                ca_file: Some(path.clone()),
                ca_file_only: true,
                names: TlsSettingNames::KUBELET,
                ..TlsClient::default()
            },
        };
        tls.client_config()
    }
}

pub struct KubeletClient {
    http: HttpsClient<Empty<Bytes>>,
    summary_url: String,
    token_file: Option<PathBuf>,
    timeout: Duration,
}

impl KubeletClient {
    /// `base_url`: `https://<node IP>:10250` (an http:// URL works too, for a kubelet's
    /// read-only port).
    pub fn new(
        base_url: &str,
        token_file: Option<PathBuf>,
        tls: ClientConfig,
        timeout: Duration,
    ) -> KubeletClient {
        KubeletClient {
            // hyper-util's default idle time.
            http: https_client(tls, timeout, Duration::from_secs(90)),
            summary_url: format!("{}/stats/summary", base_url.trim_end_matches('/')),
            token_file,
            timeout,
        }
    }

    pub fn summary_url(&self) -> &str {
        &self.summary_url
    }

    /// `GET /stats/summary`, parsed.
    pub async fn summary(&self) -> Result<Summary, ScrapeError> {
        let mut req = Request::get(&self.summary_url)
            .header(ACCEPT, "application/json")
            .body(Empty::new())
            .map_err(|e| ScrapeError::Unreachable(format!("{}: {e}", self.summary_url)))?;
        if let Some(auth) = self.authorization()? {
            req.headers_mut().insert(AUTHORIZATION, auth);
        }
        let exchange = async {
            let resp = self.http.request(req).await.map_err(|e| {
                ScrapeError::Unreachable(format!("{}: {}", self.summary_url, chain(&e)))
            })?;
            let status = resp.status().as_u16();
            let body = Limited::new(resp.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| {
                    ScrapeError::Unreachable(format!(
                        "{}: reading the answer: {e}",
                        self.summary_url
                    ))
                })?
                .to_bytes();
            Ok::<_, ScrapeError>((status, body))
        };
        let (status, body) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| {
                ScrapeError::Unreachable(format!(
                    "{}: no answer within {:?}",
                    self.summary_url, self.timeout
                ))
            })??;
        if status != 200 {
            let text = String::from_utf8_lossy(&body[..body.len().min(200)])
                .trim()
                .to_owned();
            return Err(ScrapeError::Status(status, text));
        }
        Summary::parse(&body).map_err(|e| ScrapeError::BadSummary(e.0))
    }

    /// `Bearer <token>` from the token file; none for an empty file.
    fn authorization(&self) -> Result<Option<HeaderValue>, ScrapeError> {
        let Some(path) = &self.token_file else {
            return Ok(None);
        };
        let token = std::fs::read_to_string(path).map_err(|e| {
            ScrapeError::Token(format!(
                "LOGSHIP_KUBELET_TOKEN_FILE: cannot read {}: {e}",
                path.display()
            ))
        })?;
        let token = token.trim();
        if token.is_empty() {
            return Ok(None);
        }
        let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            ScrapeError::Token(format!(
                "LOGSHIP_KUBELET_TOKEN_FILE: {}: the token holds characters not allowed in an HTTP header",
                path.display()
            ))
        })?;
        value.set_sensitive(true);
        Ok(Some(value))
    }
}

/// An error with its causes (hyper's own message alone is "client error (Connect)").
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_ca_file_names_the_setting() {
        let err = KubeletTls::CaFile("/nonexistent/ca.pem".into())
            .client_config()
            .unwrap_err();
        assert!(
            err.starts_with("LOGSHIP_KUBELET_CA_FILE: cannot read /nonexistent/ca.pem"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "nothing\n").unwrap();
        let err = KubeletTls::CaFile(path).client_config().unwrap_err();
        assert!(err.contains("no PEM certificate"), "{err}");
        KubeletTls::InsecureSkipVerify.client_config().unwrap();
    }

    #[tokio::test]
    async fn an_unreadable_token_is_its_own_error_and_sends_nothing() {
        let tls = KubeletTls::InsecureSkipVerify.client_config().unwrap();
        let client = KubeletClient::new(
            "https://127.0.0.1:1",
            Some("/nonexistent/token".into()),
            tls,
            Duration::from_secs(1),
        );
        let err = client.summary().await.unwrap_err();
        assert_eq!(err.kind(), "token");
        assert!(err.to_string().contains("/nonexistent/token"), "{err}");
    }
}
