//! The HTTP/1.1 client that talks to Elasticsearch and to the kubelet: hyper over TCP without
//! Nagle's delay, with a connect timeout, speaking TLS through rustls to https:// URLs and plain
//! HTTP to http:// ones. One builder, so that both get the same connection behaviour.

use std::time::Duration;

use hyper::body::Body;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::ClientConfig;

/// A pooled client for http:// and https:// URLs, sending bodies of type `B`.
pub type HttpsClient<B> = Client<HttpsConnector<HttpConnector>, B>;

/// A client trusting what `tls` trusts; idle connections are closed after `pool_idle`.
pub fn https_client<B>(
    mut tls: ClientConfig,
    connect_timeout: Duration,
    pool_idle: Duration,
) -> HttpsClient<B>
where
    B: Body + Send,
    B::Data: Send,
{
    // The connector sets the ALPN protocols itself (http/1.1) and refuses preset ones.
    tls.alpn_protocols.clear();
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(connect_timeout));
    connector.enforce_http(false);
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(connector);
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(pool_idle)
        .build(connector)
}
