//! CNCF distribution (`docker-registry serve`) on a loopback port.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt as _};
use tokio::process::{Child, Command};

use crate::ca::{IssuedCert, TestCa, write_file};
use crate::client::TestClient;
use crate::error::{Error, Result};
use crate::util::{find_program, free_port};

/// The program we run, from the Debian package `docker-registry`.
const PROGRAM: &str = "docker-registry";
/// Environment variable that overrides the path of `docker-registry`.
pub const DISTRIBUTION_BIN_ENV: &str = "OCIREG_DOCKER_REGISTRY";
/// How long one start attempt may take before we give up.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How many ports we try when another process steals the one we picked.
const BIND_ATTEMPTS: usize = 5;
/// The most child output we keep (the tail).
const OUTPUT_CAP: usize = 64 * 1024;

/// The settings distribution needs to trust a token server
/// (`auth.token.{realm,service,issuer,rootcertbundle}`).
#[derive(Clone, Debug)]
pub struct TokenAuthConfig {
    /// Where clients get tokens (`auth.token.realm`, sent in the challenge).
    pub realm: String,
    /// The audience tokens must name (`auth.token.service`).
    pub service: String,
    /// The issuer tokens must name (`auth.token.issuer`).
    pub issuer: String,
    /// PEM certificates the token signing chain must lead to (`rootcertbundle`).
    pub root_cert_bundle_pem: String,
}

/// Builds a [`Distribution`]; see [`Distribution::builder`].
#[derive(Debug, Default)]
#[must_use]
pub struct DistributionBuilder {
    htpasswd: Option<Vec<(String, String)>>,
    token: Option<TokenAuthConfig>,
    tls: Option<TestCa>,
    client_auth: bool,
    program: Option<PathBuf>,
}

impl DistributionBuilder {
    /// Requires HTTP Basic auth against these `(user, password)` pairs
    /// (an htpasswd file with bcrypt hashes made by `htpasswd -B`).
    pub fn htpasswd<I, U, P>(mut self, users: I) -> Self
    where
        I: IntoIterator<Item = (U, P)>,
        U: Into<String>,
        P: Into<String>,
    {
        self.htpasswd = Some(
            users
                .into_iter()
                .map(|(u, p)| (u.into(), p.into()))
                .collect(),
        );
        self
    }

    /// Requires bearer tokens from `server` (distribution verifies them
    /// against the server's signing CA through `rootcertbundle`).
    pub fn token_auth(self, server: &crate::TokenServer) -> Self {
        self.token_auth_config(server.auth_config())
    }

    /// Runs this binary instead of `docker-registry` from `PATH` (the
    /// environment variable [`DISTRIBUTION_BIN_ENV`] does the same).
    pub fn program(mut self, path: impl Into<PathBuf>) -> Self {
        self.program = Some(path.into());
        self
    }
    /// Requires bearer tokens described by `config` (for token servers other
    /// than [`TokenServer`](crate::TokenServer)).
    pub fn token_auth_config(mut self, config: TokenAuthConfig) -> Self {
        self.token = Some(config);
        self
    }

    /// Serves https with a certificate for 127.0.0.1/localhost issued by `ca`.
    pub fn tls(mut self, ca: &TestCa) -> Self {
        self.tls = Some(ca.clone());
        self
    }

    /// With [`tls`](Self::tls): also require a client certificate issued by
    /// the same CA (`http.tls.clientcas`). [`Distribution::client_cert`]
    /// gives one that works.
    pub fn require_client_cert(mut self) -> Self {
        self.client_auth = true;
        self
    }

    /// The `auth:` section, writing the files it points at into `root`.
    async fn auth_block(&self, root: &Path) -> Result<String> {
        let mut auth = String::new();
        if let Some(users) = &self.htpasswd {
            let path = root.join("htpasswd");
            write_file(&path, &htpasswd_file(users).await?)?;
            let _ = write!(
                auth,
                "auth:\n  htpasswd:\n    realm: {}\n    path: {}\n",
                quote("ocireg-test-registry"),
                quote_path(&path)
            );
        }
        if let Some(token) = &self.token {
            let path = root.join("token-roots.pem");
            write_file(&path, &token.root_cert_bundle_pem)?;
            let _ = write!(
                auth,
                "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: {}\n    rootcertbundle: {}\n",
                quote(&token.realm),
                quote(&token.service),
                quote(&token.issuer),
                quote_path(&path)
            );
        }
        Ok(auth)
    }

    /// The `http.tls` section and the client certificate it requires, if any.
    fn tls_block(&self, root: &Path) -> Result<(String, Option<IssuedCert>)> {
        let mut tls_block = String::new();
        let mut client_cert = None;
        if let Some(ca) = &self.tls {
            let server = ca.server_cert()?;
            let (cert, key) = server.write(root, "server")?;
            let _ = write!(
                tls_block,
                "  tls:\n    certificate: {}\n    key: {}\n",
                quote_path(&cert),
                quote_path(&key)
            );
            if self.client_auth {
                let _ = write!(
                    tls_block,
                    "    clientcas:\n      - {}\n",
                    quote_path(ca.ca_path())
                );
                client_cert = Some(ca.client_cert("ocireg test client")?);
            }
        }
        Ok((tls_block, client_cert))
    }

    /// Writes the configuration, starts `docker-registry serve` and waits
    /// until `/v2/` answers.
    ///
    /// Fails with [`Error::NotInstalled`] when `docker-registry` (or
    /// `htpasswd`, when needed) is missing, and with [`Error::Startup`]
    /// (including the registry's own output) when it does not come up.
    pub async fn start(self) -> Result<Distribution> {
        // Boxed so that callers' futures stay small (clippy::large_futures).
        Box::pin(self.start_inner()).await
    }

    async fn start_inner(self) -> Result<Distribution> {
        if self.htpasswd.is_some() && self.token.is_some() {
            return Err(Error::config(
                "distribution supports one auth method at a time: htpasswd or token, not both",
            ));
        }
        if self.client_auth && self.tls.is_none() {
            return Err(Error::config("require_client_cert needs tls"));
        }
        let program = self
            .program
            .clone()
            .or_else(|| std::env::var_os(DISTRIBUTION_BIN_ENV).map(PathBuf::from))
            .or_else(|| find_program(PROGRAM))
            .filter(|p| p.is_file())
            .ok_or(Error::NotInstalled {
                program: "docker-registry (CNCF distribution)",
            })?;
        let dir = tempfile::Builder::new()
            .prefix("ocireg-distribution-")
            .tempdir()
            .map_err(|e| Error::io("creating a temporary directory for distribution", e))?;
        let root = dir.path();
        let storage = root.join("storage");
        fs_err::create_dir_all(&storage)
            .map_err(|e| Error::io("creating the storage directory", e))?;

        let auth = self.auth_block(root).await?;
        let (tls_block, client_cert) = self.tls_block(root)?;

        let probe = match (&self.tls, &client_cert) {
            (None, _) => TestClient::new(),
            (Some(ca), None) => TestClient::with_tls(ca.client_config()?),
            (Some(ca), Some(cert)) => TestClient::with_tls(ca.client_config_with_cert(cert)?),
        }
        .timeout(Duration::from_secs(2));
        let scheme = if self.tls.is_some() { "https" } else { "http" };

        let prepared = Prepared {
            program,
            storage,
            auth,
            tls_block,
            scheme,
            probe,
        };
        let mut last_err = None;
        for _ in 0..BIND_ATTEMPTS {
            match prepared.launch(&dir).await {
                Ok((child, host, port, output)) => {
                    let url = format!("{scheme}://{host}");
                    tracing::debug!(%url, "distribution is up");
                    return Ok(Distribution {
                        child,
                        host,
                        url,
                        port,
                        ca: self.tls,
                        client_cert,
                        output,
                        config_path: dir.path().join("config.yml"),
                        storage: prepared.storage,
                        dir,
                    });
                }
                Err(err @ Error::Startup { .. })
                    if err.to_string().contains("address already in use") =>
                {
                    tracing::debug!("port taken before distribution bound it; retrying");
                    last_err = Some(err);
                }
                Err(err) => return Err(err),
            }
        }
        Err(last_err.unwrap_or_else(|| Error::config("no start attempts made")))
    }
}

/// Everything decided before picking a port.
struct Prepared {
    program: PathBuf,
    storage: PathBuf,
    auth: String,
    tls_block: String,
    scheme: &'static str,
    probe: TestClient,
}

impl Prepared {
    /// One attempt: pick a port, write the config, spawn, wait for `/v2/`.
    async fn launch(&self, dir: &tempfile::TempDir) -> Result<(Child, String, u16, Output)> {
        let root = dir.path();
        let port = free_port()?;
        let host = format!("127.0.0.1:{port}");
        let config = format!(
            "version: 0.1\n\
             log:\n  level: warn\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {storage}\n  delete:\n    enabled: true\n  \
             maintenance:\n    uploadpurging:\n      enabled: false\n\
             http:\n  addr: {addr}\n  secret: ocireg-test-secret\n{tls}\
             {auth}",
            storage = quote_path(&self.storage),
            addr = quote(&host),
            tls = self.tls_block,
            auth = self.auth,
        );
        let config_path = root.join("config.yml");
        write_file(&config_path, &config)?;

        let mut child = Command::new(&self.program)
            .arg("serve")
            .arg(&config_path)
            .env_clear()
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| Error::io(format!("starting {}", self.program.display()), e))?;
        let output = Output::default();
        let readers = [
            child.stdout.take().map(|s| output.capture(s)),
            child.stderr.take().map(|s| output.capture(s)),
        ];

        let url = format!("{}://{host}", self.scheme);
        match wait_ready(&mut child, &self.probe, &url).await {
            Ok(()) => Ok((child, host, port, output)),
            Err(reason) => {
                let _ = child.kill().await;
                for reader in readers.into_iter().flatten() {
                    let _ = tokio::time::timeout(Duration::from_secs(1), reader).await;
                }
                Err(Error::Startup {
                    addr: host,
                    reason,
                    output: output.text(),
                })
            }
        }
    }
}

/// Polls `/v2/` until it answers with any HTTP status, the child exits, or
/// the start timeout passes.
async fn wait_ready(
    child: &mut Child,
    probe: &TestClient,
    url: &str,
) -> std::result::Result<(), String> {
    let deadline = Instant::now() + START_TIMEOUT;
    let v2 = format!("{url}/v2/");
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("it exited with {status}"));
        }
        match probe.get(&v2).await {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() > deadline => {
                return Err(format!(
                    "/v2/ did not answer within {START_TIMEOUT:?} (last error: {e})"
                ));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// A shared, bounded buffer of what the child wrote.
#[derive(Clone, Debug, Default)]
struct Output(Arc<Mutex<Vec<u8>>>);

impl Output {
    fn capture<R>(&self, mut reader: R) -> tokio::task::JoinHandle<()>
    where
        R: AsyncRead + Unpin + Send + 'static,
    {
        let sink = self.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                let mut out = sink
                    .0
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                out.extend_from_slice(&buf[..n]);
                if out.len() > OUTPUT_CAP {
                    let excess = out.len() - OUTPUT_CAP;
                    out.drain(..excess);
                }
            }
        })
    }

    fn text(&self) -> String {
        let out = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// A running `docker-registry serve`, killed when dropped.
///
/// Storage lives in a temporary directory that is removed on drop, so every
/// test gets an empty registry. Deletes are enabled.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use ocireg_testsupport::Distribution;
/// let registry = Distribution::builder()
///     .htpasswd([("alice", "s3cret")])
///     .start()
///     .await?;
/// let response = registry.client().get(&format!("{}/v2/", registry.url())).await?;
/// assert_eq!(response.status, 401);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Distribution {
    child: Child,
    host: String,
    url: String,
    port: u16,
    ca: Option<TestCa>,
    client_cert: Option<IssuedCert>,
    output: Output,
    config_path: PathBuf,
    storage: PathBuf,
    // Last, so the directory goes after the process is killed.
    dir: tempfile::TempDir,
}

impl Distribution {
    /// A builder: no auth, plain http, unless told otherwise.
    pub fn builder() -> DistributionBuilder {
        DistributionBuilder::default()
    }

    /// Starts an anonymous, plain-http registry.
    pub async fn start() -> Result<Self> {
        Self::builder().start().await
    }

    /// `127.0.0.1:PORT`, the registry host for references (`127.0.0.1:PORT/foo:tag`).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether it serves https.
    pub fn is_tls(&self) -> bool {
        self.ca.is_some()
    }

    /// The CA that issued its server certificate, when it serves https.
    pub fn ca(&self) -> Option<&TestCa> {
        self.ca.as_ref()
    }

    /// A client certificate it accepts, when it requires one.
    pub fn client_cert(&self) -> Option<&IssuedCert> {
        self.client_cert.as_ref()
    }

    /// A [`TestClient`] that can reach it (trusting its CA and presenting the
    /// client certificate when needed).
    pub fn client(&self) -> TestClient {
        let config = match (&self.ca, &self.client_cert) {
            (None, _) => return TestClient::new(),
            (Some(ca), None) => ca.client_config(),
            (Some(ca), Some(cert)) => ca.client_config_with_cert(cert),
        };
        TestClient::with_tls(config.expect("a TLS configuration that worked at start works again"))
    }

    /// The configuration file it was started with.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// Its storage root (`storage.filesystem.rootdirectory`).
    pub fn storage_dir(&self) -> &Path {
        &self.storage
    }

    /// The temporary directory holding config, storage and auth files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What it has written to stdout and stderr so far (the last 64 KiB).
    pub fn output(&self) -> String {
        self.output.text()
    }

    /// Stops it now rather than on drop.
    pub async fn stop(mut self) -> Result<()> {
        self.child
            .kill()
            .await
            .map_err(|e| Error::io("killing docker-registry", e))
    }
}

/// Makes an htpasswd file with bcrypt hashes through `htpasswd -nbBC 4`.
async fn htpasswd_file(users: &[(String, String)]) -> Result<String> {
    let program = find_program("htpasswd").ok_or(Error::NotInstalled {
        program: "htpasswd (apache2-utils)",
    })?;
    let mut file = String::new();
    for (user, password) in users {
        if user.contains(':') {
            return Err(Error::config(format!(
                "htpasswd user {user:?} contains ':'"
            )));
        }
        // Cost 4 is the minimum bcrypt allows; fine for tests and much faster.
        let out = Command::new(&program)
            .args(["-n", "-b", "-B", "-C", "4", user, password])
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|e| Error::io("running htpasswd", e))?;
        if !out.status.success() {
            return Err(Error::Program {
                program: "htpasswd",
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        let line = String::from_utf8_lossy(&out.stdout);
        file.push_str(line.trim_end());
        file.push('\n');
    }
    Ok(file)
}

/// A YAML double-quoted scalar (JSON strings are valid YAML).
fn quote(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

fn quote_path(p: &Path) -> String {
    quote(&p.to_string_lossy())
}
