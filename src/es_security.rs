//! The Elasticsearch credentials and TLS settings, for the agent's output and for retention:
//! the `Authorization` header (built once) and the rustls configuration. Password and key files
//! are read here, at start-up: one that cannot be read stops the start, naming the setting and
//! the path (never the content).

use anyhow::anyhow;
use hyper::header::HeaderValue;
use logship_config::{read_secret_file, EsEndpoint, Key, Scheme, Settings};
use logship_forwarder::{EsTarget, TlsClient, TlsSettingNames};

/// The `Authorization` header from `LOGSHIP_ES_API_KEY(_FILE)` or `LOGSHIP_ES_USERNAME` with
/// `LOGSHIP_ES_PASSWORD(_FILE)`; `None` when neither is set (an endpoint URL's user then
/// applies).
pub fn shared_auth(settings: &Settings) -> anyhow::Result<Option<HeaderValue>> {
    let api_key = match (&settings.es_api_key, &settings.es_api_key_file) {
        (Some(key), _) => Some(key.clone()),
        (None, Some(path)) => {
            Some(read_secret_file(Key::EsApiKeyFile, path).map_err(|e| anyhow!(e))?)
        }
        (None, None) => None,
    };
    if let Some(key) = api_key {
        let value =
            EsTarget::api_key(key.expose()).map_err(|e| anyhow!("LOGSHIP_ES_API_KEY: {e}"))?;
        return Ok(Some(value));
    }
    let password = match (&settings.es_password, &settings.es_password_file) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(path)) => {
            Some(read_secret_file(Key::EsPasswordFile, path).map_err(|e| anyhow!(e))?)
        }
        (None, None) => None,
    };
    match (&settings.es_username, password) {
        (Some(user), Some(password)) => EsTarget::basic_auth(user, password.expose())
            .map(Some)
            .map_err(|e| anyhow!("LOGSHIP_ES_USERNAME/LOGSHIP_ES_PASSWORD: {e}")),
        _ => Ok(None),
    }
}

/// The header for one endpoint: the settings' credentials, else the URL's user and password.
pub fn endpoint_auth(
    shared: &Option<HeaderValue>,
    endpoint: &EsEndpoint,
) -> anyhow::Result<Option<HeaderValue>> {
    match (shared, endpoint.username()) {
        (Some(auth), _) => Ok(Some(auth.clone())),
        (None, Some(user)) => EsTarget::basic_auth(user, endpoint.password().unwrap_or(""))
            .map(Some)
            .map_err(|e| anyhow!("{endpoint}: the user in the URL: {e}")),
        (None, None) => Ok(None),
    }
}

/// The TLS configuration for https endpoints; warns once when verification is off.
pub fn tls_config(
    settings: &Settings,
    endpoints: &[EsEndpoint],
) -> anyhow::Result<rustls::ClientConfig> {
    if settings.es_insecure_skip_verify && endpoints.iter().any(|e| e.scheme() == Scheme::Https) {
        tracing::warn!(
            "LOGSHIP_ES_INSECURE_SKIP_VERIFY=true: the Elasticsearch server certificate is not verified; anyone on the path can read and change what is shipped"
        );
    }
    let tls = TlsClient {
        ca_file: settings.es_ca_file.clone(),
        insecure_skip_verify: settings.es_insecure_skip_verify,
        ca_file_only: false,
        client_cert: settings
            .es_client_cert_file
            .clone()
            .zip(settings.es_client_key_file.clone()),
        names: TlsSettingNames::ES,
    };
    tls.client_config().map_err(|e| anyhow!(e))
}

/// The agent's Elasticsearch targets, each with its `Authorization` header, and the TLS
/// configuration.
pub fn es_connection(
    settings: &Settings,
    endpoints: &[EsEndpoint],
) -> anyhow::Result<(Vec<EsTarget>, rustls::ClientConfig)> {
    let shared = shared_auth(settings)?;
    let mut targets = Vec::with_capacity(endpoints.len());
    for e in endpoints {
        targets.push(EsTarget {
            base_url: e.base_url(),
            auth: endpoint_auth(&shared, e)?,
        });
    }
    Ok((targets, tls_config(settings, endpoints)?))
}
