//! A throw-away certificate authority for TLS tests.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::{Error, Result};

/// A test certificate authority: a fresh ECDSA P-256 root that issues server
/// certificates for `127.0.0.1`, `::1` and `localhost`, and client
/// certificates.
///
/// Its certificate is also written to `ca.crt` in a private temporary
/// directory ([`TestCa::ca_path`]) for code that wants a CA bundle file.
/// Cloning is cheap and shares the same CA.
#[derive(Clone)]
pub struct TestCa {
    inner: Arc<CaInner>,
}

struct CaInner {
    cert: rcgen::Certificate,
    key: KeyPair,
    _dir: tempfile::TempDir,
    ca_path: PathBuf,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa")
            .field("ca_path", &self.inner.ca_path)
            .finish_non_exhaustive()
    }
}

/// A certificate and its private key, issued by a [`TestCa`].
#[derive(Clone)]
pub struct IssuedCert {
    cert_pem: String,
    key_pem: String,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl std::fmt::Debug for IssuedCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCert")
            .field("key", &"****")
            .finish_non_exhaustive()
    }
}

impl IssuedCert {
    /// The certificate, PEM encoded.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// The private key, PKCS#8 PEM encoded.
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// The certificate, DER encoded.
    pub fn cert_der(&self) -> CertificateDer<'static> {
        self.cert_der.clone()
    }

    /// The private key, DER encoded.
    pub fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()))
    }

    /// Writes `<stem>.crt` and `<stem>.key` into `dir` and returns their paths.
    pub fn write(&self, dir: &Path, stem: &str) -> Result<(PathBuf, PathBuf)> {
        let cert = dir.join(format!("{stem}.crt"));
        let key = dir.join(format!("{stem}.key"));
        write_file(&cert, &self.cert_pem)?;
        write_file(&key, &self.key_pem)?;
        Ok((cert, key))
    }
}

pub(crate) fn write_file(path: &Path, contents: &str) -> Result<()> {
    // fs_err's error names the path.
    fs_err::write(path, contents).map_err(|e| Error::io("writing a PEM file", e))
}

fn ring_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl TestCa {
    /// Creates a new CA with a fresh key.
    pub fn new() -> Result<Self> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, "ocireg test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key)?;
        let dir = tempfile::Builder::new()
            .prefix("ocireg-test-ca-")
            .tempdir()
            .map_err(|e| Error::io("creating a temporary directory for the test CA", e))?;
        let ca_path = dir.path().join("ca.crt");
        write_file(&ca_path, &cert.pem())?;
        Ok(Self {
            inner: Arc::new(CaInner {
                cert,
                key,
                _dir: dir,
                ca_path,
            }),
        })
    }

    /// The CA certificate, PEM encoded.
    pub fn cert_pem(&self) -> String {
        self.inner.cert.pem()
    }

    /// The CA certificate, DER encoded.
    pub fn cert_der(&self) -> CertificateDer<'static> {
        self.inner.cert.der().clone()
    }

    /// A file holding the CA certificate (PEM); it lives as long as the CA.
    pub fn ca_path(&self) -> &Path {
        &self.inner.ca_path
    }

    /// Writes the CA certificate (PEM) to `path`.
    pub fn write_pem(&self, path: &Path) -> Result<()> {
        write_file(path, &self.cert_pem())
    }

    /// Issues a server certificate for `127.0.0.1`, `::1` and `localhost`.
    pub fn server_cert(&self) -> Result<IssuedCert> {
        self.server_cert_for(&["localhost", "127.0.0.1", "::1"])
    }

    /// Issues a server certificate for the given DNS names and IP addresses.
    pub fn server_cert_for(&self, names: &[&str]) -> Result<IssuedCert> {
        let mut sans = Vec::with_capacity(names.len());
        for name in names {
            sans.push(match name.parse::<IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName((*name).try_into()?),
            });
        }
        let mut params = CertificateParams::default();
        params.subject_alt_names = sans;
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().copied().unwrap_or("ocireg test server"),
        );
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.issue(params)
    }

    /// Issues a client certificate with the given common name.
    pub fn client_cert(&self, common_name: &str) -> Result<IssuedCert> {
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(params)
    }

    /// Issues a certificate for signing (tokens, for instance), not for TLS.
    pub(crate) fn signing_cert(&self, common_name: &str) -> Result<IssuedCert> {
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        self.issue(params)
    }

    /// The PKCS#8 DER of an issued certificate's key.
    pub(crate) fn pkcs8(cert: &IssuedCert) -> &[u8] {
        &cert.key_der
    }

    fn issue(&self, params: CertificateParams) -> Result<IssuedCert> {
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.inner.cert, &self.inner.key)?;
        Ok(IssuedCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().clone(),
            key_der: key.serialize_der(),
        })
    }

    /// A root store that trusts only this CA.
    pub fn root_store(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots
            .add(self.cert_der())
            .expect("rcgen produces a certificate webpki accepts as a trust anchor");
        roots
    }

    /// A rustls client configuration (ring provider) that trusts only this CA.
    pub fn client_config(&self) -> Result<ClientConfig> {
        Ok(ClientConfig::builder_with_provider(ring_provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(self.root_store())
            .with_no_client_auth())
    }

    /// Like [`TestCa::client_config`], presenting `client` as a client certificate.
    pub fn client_config_with_cert(&self, client: &IssuedCert) -> Result<ClientConfig> {
        Ok(ClientConfig::builder_with_provider(ring_provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(self.root_store())
            .with_client_auth_cert(vec![client.cert_der()], client.key_der())?)
    }

    /// A rustls server configuration (ring provider) with a fresh certificate
    /// from [`TestCa::server_cert`], offering HTTP/1.1 by ALPN.
    pub fn server_config(&self) -> Result<ServerConfig> {
        let cert = self.server_cert()?;
        let mut config = ServerConfig::builder_with_provider(ring_provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert_der()], cert.key_der())?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }

    /// Writes docker's per-host certificate directory layout:
    /// `<certs_d>/<host>/ca.crt`, plus `client.cert` and `client.key` when
    /// `client` is given. Returns the host directory.
    pub fn write_certs_d(
        &self,
        certs_d: &Path,
        host: &str,
        client: Option<&IssuedCert>,
    ) -> Result<PathBuf> {
        let dir = certs_d.join(host);
        fs_err::create_dir_all(&dir).map_err(|e| Error::io("creating a certs.d directory", e))?;
        self.write_pem(&dir.join("ca.crt"))?;
        if let Some(client) = client {
            write_file(&dir.join("client.cert"), client.cert_pem())?;
            write_file(&dir.join("client.key"), client.key_pem())?;
        }
        Ok(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_certificates_and_configs() {
        let ca = TestCa::new().expect("ca");
        assert!(ca.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
        let on_disk = fs_err::read_to_string(ca.ca_path()).expect("ca file");
        assert_eq!(on_disk, ca.cert_pem());
        let server = ca.server_cert().expect("server cert");
        assert!(server.key_pem().contains("PRIVATE KEY"));
        assert!(format!("{server:?}").contains("****"));
        assert!(!format!("{server:?}").contains("PRIVATE"));
        ca.client_config().expect("client config");
        ca.server_config().expect("server config");
        let client = ca.client_cert("alice").expect("client cert");
        ca.client_config_with_cert(&client)
            .expect("client config with cert");
    }
}
