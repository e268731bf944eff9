//! TLS clients (https Elasticsearch endpoints, a TLS forward server, the kubelet): the rustls
//! client configuration (ring provider), trusting the system roots plus an optional PEM CA
//! bundle (or the bundle only), with an optional client certificate, or, only when asked for
//! explicitly, trusting any server certificate. Errors name the setting the file came from, so
//! each user passes its own setting names. It lives here, in the crate every other depends on,
//! so that sources and outputs share one implementation.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// The settings a [`TlsClient`] comes from, for error messages.
#[derive(Debug, Clone, Copy)]
pub struct TlsSettingNames {
    pub ca_file: &'static str,
    pub client_cert_file: &'static str,
    pub client_key_file: &'static str,
}

impl TlsSettingNames {
    pub const ES: TlsSettingNames = TlsSettingNames {
        ca_file: "LOGSHIP_ES_CA_FILE",
        client_cert_file: "LOGSHIP_ES_CLIENT_CERT_FILE",
        client_key_file: "LOGSHIP_ES_CLIENT_KEY_FILE",
    };
    pub const FORWARD: TlsSettingNames = TlsSettingNames {
        ca_file: "LOGSHIP_FORWARD_TLS_CA_FILE",
        client_cert_file: "LOGSHIP_FORWARD_TLS_CLIENT_CERT_FILE",
        client_key_file: "LOGSHIP_FORWARD_TLS_CLIENT_KEY_FILE",
    };
    /// The kubelet source shows no client certificate: only the CA file is ever named.
    pub const KUBELET: TlsSettingNames = TlsSettingNames {
        ca_file: "LOGSHIP_KUBELET_CA_FILE",
        client_cert_file: "",
        client_key_file: "",
    };
}

impl Default for TlsSettingNames {
    fn default() -> TlsSettingNames {
        TlsSettingNames::ES
    }
}

/// What the TLS side of an output's client is built from.
#[derive(Debug, Clone, Default)]
pub struct TlsClient {
    /// PEM CA certificates trusted in addition to the system roots.
    pub ca_file: Option<PathBuf>,
    /// Trust only `ca_file`, not the system roots (a kubelet's private cluster CA).
    pub ca_file_only: bool,
    /// Accept any server certificate.
    pub insecure_skip_verify: bool,
    /// PEM client certificate chain and its key.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    pub names: TlsSettingNames,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_certs(setting: &str, path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("{setting}: cannot read {}: {e}", path.display()))?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{setting}: {}: not PEM certificates: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "{setting}: {}: no PEM certificate in the file",
            path.display()
        ));
    }
    Ok(certs)
}

impl TlsClient {
    /// The client configuration; an error names the setting and the file.
    pub fn client_config(&self) -> Result<ClientConfig, String> {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?;
        let builder = if self.insecure_skip_verify {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert(provider())))
        } else {
            let mut roots = RootCertStore::empty();
            if !self.ca_file_only {
                // The system roots: those that do not parse are skipped, as a browser would.
                let native = rustls_native_certs::load_native_certs();
                for cert in native.certs {
                    let _ = roots.add(cert);
                }
            }
            if let Some(path) = &self.ca_file {
                for cert in read_certs(self.names.ca_file, path)? {
                    roots.add(cert).map_err(|e| {
                        format!(
                            "{}: {}: bad CA certificate: {e}",
                            self.names.ca_file,
                            path.display()
                        )
                    })?;
                }
            }
            builder.with_root_certificates(roots)
        };
        let config = match &self.client_cert {
            None => builder.with_no_client_auth(),
            Some((cert_path, key_path)) => {
                let certs = read_certs(self.names.client_cert_file, cert_path)?;
                let key_bytes = std::fs::read(key_path).map_err(|e| {
                    format!(
                        "{}: cannot read {}: {e}",
                        self.names.client_key_file,
                        key_path.display()
                    )
                })?;
                let key = PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|e| {
                    format!(
                        "{}: {}: no PEM private key: {e}",
                        self.names.client_key_file,
                        key_path.display()
                    )
                })?;
                builder.with_client_auth_cert(certs, key).map_err(|e| {
                    format!(
                        "{}: {} with {}: {e}",
                        self.names.client_cert_file,
                        cert_path.display(),
                        key_path.display()
                    )
                })?
            }
        };
        Ok(config)
    }
}

/// `…_INSECURE_SKIP_VERIFY=true`: any certificate for any name; the handshake
/// signatures are still checked, so the connection is encrypted, just not authenticated.
#[derive(Debug)]
struct AcceptAnyServerCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_ca_file_names_the_setting_and_path() {
        let tls = TlsClient {
            ca_file: Some(PathBuf::from("/nonexistent/ca.pem")),
            ..TlsClient::default()
        };
        let err = tls.client_config().unwrap_err();
        assert!(
            err.starts_with("LOGSHIP_ES_CA_FILE: cannot read /nonexistent/ca.pem"),
            "{err}"
        );
    }

    #[test]
    fn a_file_without_certificates_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let tls = TlsClient {
            ca_file: Some(path),
            ..TlsClient::default()
        };
        let err = tls.client_config().unwrap_err();
        assert!(err.contains("no PEM certificate"), "{err}");
    }

    #[test]
    fn defaults_and_insecure_build() {
        TlsClient::default().client_config().unwrap();
        let insecure = TlsClient {
            insecure_skip_verify: true,
            ..TlsClient::default()
        };
        insecure.client_config().unwrap();
    }
}
