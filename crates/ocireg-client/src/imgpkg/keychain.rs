//! [`keychain`]: imgpkg's composed keychain, [`KeychainOpts`], [`CustomRegistryKeychain`] and
//! [`SingleAuthKeychain`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ocireg_authn::{
    Anonymous, Authenticator, Basic, Bearer, DockerConfigKeychain, EnvKeychain, Environment,
    Keychain, MultiKeychain, Resource, Secret,
};
use ocireg_name::Repository;

use crate::error::{Error, Result};

/// The prefix of the environment variables carvel imgpkg reads credentials from
/// (`IMGPKG_REGISTRY_HOSTNAME`, `IMGPKG_REGISTRY_USERNAME`, `IMGPKG_REGISTRY_PASSWORD`,
/// `IMGPKG_REGISTRY_IDENTITY_TOKEN`, `IMGPKG_REGISTRY_REGISTRY_TOKEN`, each optionally
/// followed by `_<suffix>` for more registries).
pub const IMGPKG_ENV_PREFIX: &str = "IMGPKG_REGISTRY_";

/// Credentials for "any host", as imgpkg's `--registry-username`, `--registry-password`,
/// `--registry-token` and `--registry-anon` flags give them (imgpkg's `auth.KeychainOpts`),
/// and the prefix of the per-host environment variables.
///
/// `Debug` never shows the password or the token.
///
/// ```
/// use ocireg_client::imgpkg::KeychainOpts;
///
/// let opts = KeychainOpts::new().with_username("ci").with_password("s3cret");
/// assert!(!format!("{opts:?}").contains("s3cret"));
/// assert_eq!(opts.env_prefix, "IMGPKG_REGISTRY_");
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct KeychainOpts {
    /// User name for every registry (with [`password`](Self::password)).
    pub username: Option<String>,
    /// Password for every registry.
    pub password: Option<Secret>,
    /// Registry token for every registry, sent as `Bearer` (used when no username is set).
    pub token: Option<Secret>,
    /// Anonymous for every registry that the environment does not name (used when neither
    /// a username nor a token is set); the docker config is then not read.
    pub anon: bool,
    /// The prefix of the per-host variables; default [`IMGPKG_ENV_PREFIX`].
    pub env_prefix: String,
}

impl fmt::Debug for KeychainOpts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeychainOpts")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "****"))
            .field("token", &self.token.as_ref().map(|_| "****"))
            .field("anon", &self.anon)
            .field("env_prefix", &self.env_prefix)
            .finish()
    }
}

impl KeychainOpts {
    /// No "any host" credentials; the `IMGPKG_REGISTRY_` variables.
    pub fn new() -> Self {
        Self {
            env_prefix: IMGPKG_ENV_PREFIX.to_owned(),
            ..Self::default()
        }
    }

    /// Sets the user name.
    #[must_use]
    pub fn with_username(mut self, username: impl Into<String>) -> Self {
        self.username = Some(username.into());
        self
    }

    /// Sets the password.
    #[must_use]
    pub fn with_password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(Secret::new(password.into()));
        self
    }

    /// Sets the registry token.
    #[must_use]
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Secret::new(token.into()));
        self
    }

    /// Sets anonymous access.
    #[must_use]
    pub fn with_anon(mut self, anon: bool) -> Self {
        self.anon = anon;
        self
    }

    /// Reads the per-host variables with another prefix (`OCIREG_REGISTRY_`, `KBLD_REGISTRY_`...).
    #[must_use]
    pub fn with_env_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.env_prefix = prefix.into();
        self
    }

    fn prefix(&self) -> &str {
        if self.env_prefix.is_empty() {
            IMGPKG_ENV_PREFIX
        } else {
            &self.env_prefix
        }
    }
}

/// imgpkg's `registry.Keychain`: the keychains that hold credentials for a specific host
/// come before the one that holds credentials for any host.
///
/// 1. The environment: `<prefix>HOSTNAME`, `<prefix>USERNAME`, `<prefix>PASSWORD`,
///    `<prefix>IDENTITY_TOKEN`, `<prefix>REGISTRY_TOKEN` (also `<prefix>TOKEN`), with
///    numbered sets `_0`, `_1`... ([`EnvKeychain::with_prefix`]; the prefix is
///    [`KeychainOpts::env_prefix`], `IMGPKG_REGISTRY_` by default).
/// 2. The "any host" credentials of `opts` ([`CustomRegistryKeychain`]): a username (Basic),
///    else a token (Bearer), else anonymous when [`KeychainOpts::anon`], else the docker
///    config of `env` (`config.json` and its credential helpers).
///
/// The first keychain with a non-anonymous answer wins (ggcr's `MultiKeychain`). Read `env`
/// with [`Environment::from_process`] for imgpkg's behaviour; tests pass their own.
///
/// ```
/// use ocireg_authn::{Environment, Resource};
/// use ocireg_client::imgpkg::{keychain, KeychainOpts};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let env = Environment::empty()
///     .with_var("IMGPKG_REGISTRY_HOSTNAME", "registry.example")
///     .with_var("IMGPKG_REGISTRY_USERNAME", "env-user")
///     .with_var("IMGPKG_REGISTRY_PASSWORD", "env-pass");
/// let kc = keychain(&KeychainOpts::new().with_username("flag-user"), &env)?;
/// let named = kc.resolve(&Resource::registry("registry.example")).await?;
/// assert_eq!(named.authorization().await?.username.as_deref(), Some("env-user"));
/// let other = kc.resolve(&Resource::registry("other.example")).await?;
/// assert_eq!(other.authorization().await?.username.as_deref(), Some("flag-user"));
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(demo())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn keychain(opts: &KeychainOpts, env: &Environment) -> Result<Arc<dyn Keychain>> {
    let env_keychain = EnvKeychain::with_prefix(env, opts.prefix())
        .map_err(|source| Error::Keychain { source })?;
    let custom = CustomRegistryKeychain::new(opts.clone(), env.clone());
    Ok(Arc::new(MultiKeychain::new([
        Arc::new(env_keychain) as Arc<dyn Keychain>,
        Arc::new(custom),
    ])))
}

/// How many times [`CustomRegistryKeychain`] asks the docker config when a credential
/// helper fails (imgpkg's `retryDefaultKeychain`: 5).
pub const DEFAULT_KEYCHAIN_ATTEMPTS: u32 = 5;
/// How long it waits between those attempts (imgpkg: 2 s).
pub const DEFAULT_KEYCHAIN_RETRY_WAIT: Duration = Duration::from_secs(2);

/// The "any host" keychain of [`KeychainOpts`] (imgpkg's `auth.CustomRegistryKeychain`):
/// Basic with the username and password, else Bearer with the token, else anonymous when
/// asked, else the docker config (ggcr's default keychain).
///
/// A credential helper of the docker config that fails is asked again, up to
/// [`DEFAULT_KEYCHAIN_ATTEMPTS`] times [`DEFAULT_KEYCHAIN_RETRY_WAIT`] apart, unless it
/// says the server URL or the username is missing (as imgpkg does); "credentials not
/// found" is anonymous and never retried.
#[derive(Clone, Debug)]
pub struct CustomRegistryKeychain {
    opts: KeychainOpts,
    docker: DockerConfigKeychain,
    attempts: u32,
    wait: Duration,
}

impl CustomRegistryKeychain {
    /// The keychain of `opts`; the docker config is found through `env` (`DOCKER_CONFIG`,
    /// the home directory).
    pub fn new(opts: KeychainOpts, env: Environment) -> Self {
        Self {
            opts,
            docker: DockerConfigKeychain::new(env),
            attempts: DEFAULT_KEYCHAIN_ATTEMPTS,
            wait: DEFAULT_KEYCHAIN_RETRY_WAIT,
        }
    }

    /// Asks a failing credential helper at most `attempts` times (at least once), `wait`
    /// apart.
    #[must_use]
    pub fn with_retries(mut self, attempts: u32, wait: Duration) -> Self {
        self.attempts = attempts.max(1);
        self.wait = wait;
        self
    }
}

/// Whether asking the docker config again may help: a helper that failed, timed out or
/// answered nonsense, but not one saying its input was incomplete.
fn worth_retrying(e: &ocireg_authn::Error) -> bool {
    match e {
        ocireg_authn::Error::HelperFailed { message, .. } => {
            !message.contains("no credentials server URL")
                && !message.contains("no credentials username")
        }
        ocireg_authn::Error::HelperIo { .. }
        | ocireg_authn::Error::HelperTimeout { .. }
        | ocireg_authn::Error::HelperOutput { .. } => true,
        _ => false,
    }
}

#[async_trait::async_trait]
impl Keychain for CustomRegistryKeychain {
    async fn resolve(&self, resource: &Resource) -> ocireg_authn::Result<Arc<dyn Authenticator>> {
        if let Some(username) = self.opts.username.as_deref().filter(|u| !u.is_empty()) {
            let password = self.opts.password.as_ref().map_or("", Secret::expose);
            return Ok(Arc::new(Basic::new(username, password)));
        }
        if let Some(token) = self.opts.token.as_ref().filter(|t| !t.expose().is_empty()) {
            return Ok(Arc::new(Bearer::new(token.expose())));
        }
        if self.opts.anon {
            return Ok(Arc::new(Anonymous));
        }
        let mut attempt = 1;
        loop {
            match self.docker.resolve(resource).await {
                Err(e) if attempt < self.attempts && worth_retrying(&e) => {
                    tracing::warn!(resource = %resource, attempt, error = %e, "asking the credential helper again");
                    tokio::time::sleep(self.wait).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

/// A keychain with one authenticator, for one repository (imgpkg's
/// `auth.SingleAuthKeychain`, made by
/// [`clone_with_single_auth`](crate::imgpkg::ImagesReaderWriter::clone_with_single_auth)):
/// it answers its authenticator for that repository and anonymous for everything else.
#[derive(Clone, Debug)]
pub struct SingleAuthKeychain {
    auth: Arc<dyn Authenticator>,
    repository: Repository,
}

impl SingleAuthKeychain {
    /// Answers `auth` for `repository` only.
    pub fn new(auth: Arc<dyn Authenticator>, repository: Repository) -> Self {
        Self { auth, repository }
    }

    /// The one repository it authenticates for.
    pub fn repository(&self) -> &Repository {
        &self.repository
    }
}

#[async_trait::async_trait]
impl Keychain for SingleAuthKeychain {
    async fn resolve(&self, resource: &Resource) -> ocireg_authn::Result<Arc<dyn Authenticator>> {
        let ours = Resource::from(&self.repository);
        if resource.registry_str() == ours.registry_str()
            && resource.repository_str() == ours.repository_str()
        {
            Ok(Arc::clone(&self.auth))
        } else {
            Ok(Arc::new(Anonymous))
        }
    }
}
