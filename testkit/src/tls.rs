//! Test certificates: a throw-away CA, a server certificate for 127.0.0.1 and `localhost` and a
//! client certificate, both signed by it, made with the `openssl` command line (no certificate-generation crate builds
//! offline here), and the rustls server configuration for the doubles.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use anyhow::{bail, Context};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// PEM files in a directory the test owns.
#[derive(Debug, Clone)]
pub struct TestPki {
    /// The CA certificate: what `LOGSHIP_ES_CA_FILE` points at.
    pub ca_cert: PathBuf,
    /// The server certificate (SAN 127.0.0.1, localhost) and its key.
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// A client certificate (CN logship-agent, extendedKeyUsage clientAuth) and its key.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .context("running openssl")?;
    if !out.status.success() {
        bail!(
            "openssl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

impl TestPki {
    /// Makes the CA, the server and the client certificates in `dir`.
    pub fn generate(dir: &Path) -> anyhow::Result<TestPki> {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=logship test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        )?;
        sign(
            dir,
            "server",
            "/CN=localhost",
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
        )?;
        sign(
            dir,
            "client",
            "/CN=logship-agent",
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
        )?;
        Ok(TestPki {
            ca_cert: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client.key"),
        })
    }

    /// Like [`TestPki::server_config`], and the client must show a certificate signed by the CA
    /// (Elasticsearch's `xpack.security.http.ssl.client_authentication: required`).
    pub fn server_config_requiring_client_cert(&self) -> anyhow::Result<Arc<rustls::ServerConfig>> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(&self.ca_cert).context("reading the CA")? {
            roots.add(cert.context("parsing the CA")?)?;
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            Arc::clone(&provider),
        )
        .build()?;
        let (certs, key) = self.server_identity()?;
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    fn server_identity(
        &self,
    ) -> anyhow::Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
        let certs = CertificateDer::pem_file_iter(&self.server_cert)
            .context("reading the server certificate")?
            .collect::<Result<Vec<_>, _>>()
            .context("parsing the server certificate")?;
        let key =
            PrivateKeyDer::from_pem_file(&self.server_key).context("reading the server key")?;
        Ok((certs, key))
    }

    /// A rustls server configuration (ring, http/1.1) serving the server certificate.
    pub fn server_config(&self) -> anyhow::Result<Arc<rustls::ServerConfig>> {
        let (certs, key) = self.server_identity()?;
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// A key and a certificate `<name>.pem` signed by the CA in `dir`, with the extensions `ext`.
fn sign(dir: &Path, name: &str, subject: &str, ext: &str) -> anyhow::Result<()> {
    let (key, csr, pem, extfile) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
        format!("{name}.ext"),
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            subject,
        ],
    )?;
    std::fs::write(dir.join(&extfile), ext)?;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            &extfile,
        ],
    )
}
