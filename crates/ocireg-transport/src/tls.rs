//! rustls configuration: trust roots, extra CA bundles, docker's `certs.d/<host>/` directories
//! (CAs and client certificates) and the skip-verify verifier.
//!
//! The built-in roots are gathered when the first server certificate is to be verified, not
//! when the client is built: reading the system store means opening and parsing a few hundred
//! files (milliseconds of CPU, hundreds of KiB kept), which a run that only talks plain http
//! (the https attempt of the ping fails before any certificate arrives) never needs. Go's
//! `crypto/x509` loads its system pool lazily in the same way.

use fs_err as fs;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::error::{Error, Result};

/// Which built-in trust roots to start from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrustRoots {
    /// The operating system's store (rustls-native-certs), falling back to the bundled
    /// Mozilla roots (webpki-roots) when the system store is empty or unreadable.
    #[default]
    System,
    /// The bundled Mozilla roots only.
    Bundled,
    /// No built-in roots: only the extra CAs and `certs.d` CAs are trusted.
    None,
}

/// The TLS settings of a [`Client`](crate::Client).
#[derive(Clone, Debug, Default)]
pub(crate) struct TlsSettings {
    pub(crate) roots: TrustRoots,
    pub(crate) extra_roots: Vec<CertificateDer<'static>>,
    pub(crate) certs_dirs: Vec<PathBuf>,
    pub(crate) skip_verify: bool,
    /// The authorities (see [`authority_key`]) whose certificates are not verified.
    pub(crate) skip_verify_for: HashSet<String>,
}

/// How a URL authority (`host[:port]`) is compared for [`TlsSettings::skip_verify_for`]:
/// lower case, without the default https port.
pub(crate) fn authority_key(authority: &str) -> String {
    let lower = authority.to_ascii_lowercase();
    match lower.strip_suffix(":443") {
        Some(host) if !host.is_empty() => host.to_owned(),
        _ => lower,
    }
}

/// Builds (and caches) one rustls configuration per `host[:port]`, since `certs.d` gives each
/// host its own CAs and client certificate.
#[derive(Debug)]
pub(crate) struct TlsConfigs {
    settings: TlsSettings,
    provider: Arc<CryptoProvider>,
    base_roots: Arc<BaseRoots>,
    cache: Mutex<HashMap<String, Arc<ClientConfig>>>,
}

impl TlsConfigs {
    pub(crate) fn new(settings: TlsSettings) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let base_roots = Arc::new(BaseRoots {
            which: settings.roots,
            extra: settings.extra_roots.clone(),
            store: OnceLock::new(),
        });
        Self {
            settings,
            provider,
            base_roots,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The configuration for `authority` (`host[:port]` as written in the URL).
    pub(crate) fn config_for(&self, authority: &str) -> Result<Arc<ClientConfig>> {
        if let Some(c) = lock(&self.cache).get(authority) {
            return Ok(Arc::clone(c));
        }
        let config = Arc::new(self.build(authority)?);
        lock(&self.cache).insert(authority.to_owned(), Arc::clone(&config));
        Ok(config)
    }

    fn build(&self, authority: &str) -> Result<ClientConfig> {
        // The host's own CAs are checked now (a bad one fails here, not mid-handshake); the
        // built-in roots join them when the first certificate is verified.
        let mut roots = RootCertStore::empty();
        let mut client_cert = None;
        for dir in &self.settings.certs_dirs {
            let host_dir = dir.join(authority);
            if host_dir.is_dir() {
                let found = read_certs_d(&host_dir)?;
                for ca in found.cas {
                    roots.add(ca).map_err(|e| Error::TlsConfig {
                        path: host_dir.display().to_string(),
                        reason: format!("bad CA certificate: {e}"),
                    })?;
                }
                if client_cert.is_none() {
                    client_cert = found.client;
                }
            }
        }
        let builder = ClientConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::TlsConfig {
                path: String::new(),
                reason: e.to_string(),
            })?;
        let skip = self.settings.skip_verify
            || (!self.settings.skip_verify_for.is_empty()
                && self
                    .settings
                    .skip_verify_for
                    .contains(&authority_key(authority)));
        let builder = if skip {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(SkipVerify(Arc::clone(&self.provider))))
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(LazyVerifier {
                    base: Arc::clone(&self.base_roots),
                    host: roots,
                    provider: Arc::clone(&self.provider),
                    verifier: OnceLock::new(),
                }))
        };
        let mut config = match client_cert {
            Some((path, chain, key)) => {
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| Error::TlsConfig {
                        path: path.display().to_string(),
                        reason: format!("bad client certificate or key: {e}"),
                    })?
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The built-in roots (system, bundled or none) and the extra CAs, gathered on first use.
#[derive(Debug)]
struct BaseRoots {
    which: TrustRoots,
    extra: Vec<CertificateDer<'static>>,
    store: OnceLock<Arc<RootCertStore>>,
}

impl BaseRoots {
    fn get(&self) -> &Arc<RootCertStore> {
        self.store.get_or_init(|| {
            let mut roots = RootCertStore::empty();
            match self.which {
                TrustRoots::System => {
                    let native = native_roots();
                    if native.is_empty() {
                        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                    } else {
                        roots.add_parsable_certificates(native.iter().cloned());
                    }
                }
                TrustRoots::Bundled => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
                TrustRoots::None => {}
            }
            roots.add_parsable_certificates(self.extra.iter().cloned());
            Arc::new(roots)
        })
    }

    /// Whether the roots have been gathered yet.
    #[cfg(test)]
    fn loaded(&self) -> bool {
        self.store.get().is_some()
    }
}

/// The webpki verifier over [`BaseRoots`] plus one host's `certs.d` CAs, made when the first
/// server certificate arrives. Handshake signatures are checked with the provider's
/// algorithms, exactly as `WebPkiServerVerifier` checks them, so nothing is loaded for them.
#[derive(Debug)]
struct LazyVerifier {
    base: Arc<BaseRoots>,
    host: RootCertStore,
    provider: Arc<CryptoProvider>,
    /// `None` when there is no root at all: every certificate is then of an unknown issuer.
    verifier: OnceLock<Option<Arc<WebPkiServerVerifier>>>,
}

impl LazyVerifier {
    fn verifier(&self) -> Option<&Arc<WebPkiServerVerifier>> {
        self.verifier
            .get_or_init(|| {
                let base = self.base.get();
                let roots = if self.host.is_empty() {
                    Arc::clone(base)
                } else {
                    let mut all = (**base).clone();
                    all.roots.extend(self.host.roots.iter().cloned());
                    Arc::new(all)
                };
                WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&self.provider))
                    .build()
                    .ok()
            })
            .as_ref()
    }
}

impl ServerCertVerifier for LazyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.verifier() {
            Some(v) => {
                v.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            }
            None => Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            )),
        }
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
            &self.provider.signature_verification_algorithms,
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
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The system roots, loaded once per process (reading them takes a while), on first use.
fn native_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let result = rustls_native_certs::load_native_certs();
        for e in &result.errors {
            tracing::debug!(error = %e, "skipping unreadable system certificate");
        }
        result.certs
    })
}

/// Parses every certificate in a PEM bundle.
pub(crate) fn parse_pem_certs(pem: &[u8], origin: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::TlsConfig {
            path: origin.display().to_string(),
            reason: format!("bad PEM: {e}"),
        })?;
    if certs.is_empty() {
        return Err(Error::TlsConfig {
            path: origin.display().to_string(),
            reason: "no certificate found".to_owned(),
        });
    }
    Ok(certs)
}

/// Reads a CA bundle file.
pub(crate) fn read_pem_file(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let pem = fs::read(path).map_err(|source| Error::TlsFile {
        path: path.to_path_buf(),
        source,
    })?;
    parse_pem_certs(&pem, path)
}

type ClientCert = (
    PathBuf,
    Vec<CertificateDer<'static>>,
    PrivateKeyDer<'static>,
);

struct CertsD {
    cas: Vec<CertificateDer<'static>>,
    client: Option<ClientCert>,
}

/// Reads a docker `certs.d/<host>/` directory: `*.crt` are CA bundles, `*.cert` with a
/// matching `*.key` are a client certificate chain and its key. A `*.cert` without its key
/// (or the reverse) is an error, as in docker.
fn read_certs_d(dir: &Path) -> Result<CertsD> {
    let io_err = |source: std::io::Error| Error::TlsFile {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(io_err)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    let mut out = CertsD {
        cas: Vec::new(),
        client: None,
    };
    for path in &entries {
        match path.extension().and_then(|e| e.to_str()) {
            Some("crt") => out.cas.extend(read_pem_file(path)?),
            Some("cert") => {
                let key_path = path.with_extension("key");
                if !key_path.is_file() {
                    return Err(Error::TlsConfig {
                        path: path.display().to_string(),
                        reason: format!("missing key {}", key_path.display()),
                    });
                }
                if out.client.is_none() {
                    let chain = read_pem_file(path)?;
                    let key =
                        PrivateKeyDer::from_pem_file(&key_path).map_err(|e| Error::TlsConfig {
                            path: key_path.display().to_string(),
                            reason: format!("bad private key: {e}"),
                        })?;
                    out.client = Some((path.clone(), chain, key));
                }
            }
            Some("key") => {
                let cert_path = path.with_extension("cert");
                if !cert_path.is_file() {
                    return Err(Error::TlsConfig {
                        path: path.display().to_string(),
                        reason: format!("missing client certificate {}", cert_path.display()),
                    });
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Accepts any server certificate (the TLS handshake signatures are still checked, so the
/// connection is encrypted to whoever holds the key). Only with `skip_tls_verify`, or for
/// the authorities of `skip_tls_verify_for`.
#[derive(Debug)]
struct SkipVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for SkipVerify {
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
    fn an_unreadable_ca_bundle_names_its_path_once() {
        let path =
            std::env::temp_dir().join(format!("ocireg-tls-missing-{}.crt", std::process::id()));
        let err = read_pem_file(&path).unwrap_err();
        assert!(
            matches!(&err, Error::TlsFile { path: p, .. } if *p == path),
            "{err:?}"
        );
        let mut shown = err.to_string();
        let mut cause = std::error::Error::source(&err);
        while let Some(c) = cause {
            shown = format!("{shown}: {c}");
            cause = c.source();
        }
        assert_eq!(
            shown.matches(&*path.display().to_string()).count(),
            1,
            "{shown}"
        );
        assert!(
            shown.starts_with("loading TLS material: failed to open file `"),
            "{shown}"
        );
    }

    #[test]
    fn certs_d_key_without_cert_is_an_error() {
        let dir = std::env::temp_dir().join(format!("ocireg-tls-test-{}", std::process::id()));
        let host = dir.join("reg.example:5000");
        fs::create_dir_all(&host).unwrap();
        fs::write(host.join("client.key"), "not a key").unwrap();
        let configs = TlsConfigs::new(TlsSettings {
            roots: TrustRoots::None,
            certs_dirs: vec![dir.clone()],
            ..TlsSettings::default()
        });
        let err = configs.config_for("reg.example:5000").unwrap_err();
        assert!(
            err.to_string().contains("missing client certificate"),
            "{err}"
        );
        // Another host has no directory: fine.
        assert!(configs.config_for("other.example").is_ok());
        fs::write(host.join("ca.crt"), "garbage").unwrap();
        fs::remove_file(host.join("client.key")).unwrap();
        let configs = TlsConfigs::new(TlsSettings {
            roots: TrustRoots::None,
            certs_dirs: vec![dir.clone()],
            ..TlsSettings::default()
        });
        let err = configs.config_for("reg.example:5000").unwrap_err();
        assert!(err.to_string().contains("no certificate found"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }

    /// A TLS handshake with the configuration for `authority` against `addr`.
    async fn handshake(configs: &TlsConfigs, addr: std::net::SocketAddr) -> std::io::Result<()> {
        let config = configs.config_for(&addr.to_string()).unwrap();
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        let name = ServerName::try_from(addr.ip().to_string()).unwrap();
        tokio_rustls::TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map(drop)
    }

    /// A listener answering every connection as a plain-http server answers a ClientHello.
    async fn plain_http_listener() -> std::net::SocketAddr {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = socket.read(&mut buf).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
                    .await;
            }
        });
        addr
    }

    /// A TLS listener with a certificate from `ca` (for 127.0.0.1).
    async fn tls_listener(ca: &ocireg_testsupport::TestCa) -> std::net::SocketAddr {
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(ca.server_config().unwrap()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move { drop(acceptor.accept(socket).await) });
            }
        });
        addr
    }

    #[tokio::test]
    async fn roots_are_gathered_only_when_a_certificate_is_verified() {
        let ca = ocireg_testsupport::TestCa::new().unwrap();
        let configs = TlsConfigs::new(TlsSettings {
            roots: TrustRoots::System,
            extra_roots: vec![ca.cert_der()],
            ..TlsSettings::default()
        });
        // The https attempt of a ping against a plain-http registry: the handshake fails
        // before any certificate, and no root has been read for it.
        let plain = plain_http_listener().await;
        assert!(handshake(&configs, plain).await.is_err());
        assert!(
            !configs.base_roots.loaded(),
            "roots read for a plain-http peer"
        );
        // A real TLS server: the roots are gathered, and the extra CA is among them.
        let tls = tls_listener(&ca).await;
        handshake(&configs, tls).await.unwrap();
        assert!(configs.base_roots.loaded());
    }

    #[tokio::test]
    async fn the_lazy_verifier_trusts_what_it_should_and_nothing_else() {
        let ca = ocireg_testsupport::TestCa::new().unwrap();
        let tls = tls_listener(&ca).await;
        // No roots at all: an unknown issuer.
        let none = TlsConfigs::new(TlsSettings {
            roots: TrustRoots::None,
            ..TlsSettings::default()
        });
        let err = handshake(&none, tls).await.unwrap_err();
        assert!(err.to_string().contains("UnknownIssuer"), "{err}");
        // The bundled roots do not know the test CA either.
        let bundled = TlsConfigs::new(TlsSettings {
            roots: TrustRoots::Bundled,
            ..TlsSettings::default()
        });
        assert!(handshake(&bundled, tls).await.is_err());
        // The CA in the host's certs.d directory: trusted for that host, with or without
        // built-in roots beside it.
        let dir = std::env::temp_dir().join(format!("ocireg-lazy-roots-{}", std::process::id()));
        ca.write_certs_d(&dir, &tls.to_string(), None).unwrap();
        for roots in [TrustRoots::None, TrustRoots::Bundled] {
            let certs_d = TlsConfigs::new(TlsSettings {
                roots,
                certs_dirs: vec![dir.clone()],
                ..TlsSettings::default()
            });
            handshake(&certs_d, tls).await.unwrap();
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn authority_keys_ignore_case_and_the_default_port() {
        assert_eq!(authority_key("R.Example"), "r.example");
        assert_eq!(authority_key("r.example:443"), "r.example");
        assert_eq!(authority_key("r.example:5000"), "r.example:5000");
        assert_eq!(authority_key("[::1]:443"), "[::1]");
        assert_eq!(authority_key(":443"), ":443");
    }

    #[tokio::test]
    async fn skip_verify_for_applies_to_the_listed_authority_only() {
        let ca = ocireg_testsupport::TestCa::new().unwrap();
        let lax = tls_listener(&ca).await;
        let strict = tls_listener(&ca).await;
        let configs = TlsConfigs::new(TlsSettings {
            roots: TrustRoots::None,
            skip_verify_for: HashSet::from([authority_key(&lax.to_string())]),
            ..TlsSettings::default()
        });
        handshake(&configs, lax).await.unwrap();
        // Same host, another port: verified, and the CA is unknown.
        let err = handshake(&configs, strict).await.unwrap_err();
        assert!(err.to_string().contains("UnknownIssuer"), "{err}");
    }

    #[test]
    fn alpn_offers_h2_and_http1() {
        let configs = TlsConfigs::new(TlsSettings {
            roots: TrustRoots::Bundled,
            ..TlsSettings::default()
        });
        let c = configs.config_for("r.example").unwrap();
        assert_eq!(c.alpn_protocols, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
        // Cached: the same Arc comes back.
        assert!(Arc::ptr_eq(&c, &configs.config_for("r.example").unwrap()));
    }
}
