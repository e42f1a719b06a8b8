//! The keychains that read docker's and podman's files, the default
//! composition with the environment keychain, and login/logout.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::auth_config::AuthConfig;
use crate::authenticator::Authenticator;
use crate::docker_config::{
    CONFIG_FILE_NAME, ConfigKind, DEFAULT_AUTH_KEY, DockerConfigFile, Stored, auth_key_for_registry,
};
use crate::env_keychain::EnvKeychain;
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::keychain::{Keychain, anonymous};
use crate::resource::Resource;

/// docker's config directory: `$DOCKER_CONFIG`, else `~/.docker`.
pub fn docker_config_dir(env: &Environment) -> Result<PathBuf> {
    if let Some(dir) = env.var("DOCKER_CONFIG") {
        return Ok(PathBuf::from(dir));
    }
    env.home()
        .map(|h| h.join(".docker"))
        .ok_or(Error::NoConfigDir)
}

async fn is_file(path: &Path) -> bool {
    fs_err::tokio::metadata(path)
        .await
        .is_ok_and(|m| m.is_file())
}

/// Finds the config file to read credentials from, in ggcr's order:
///
/// 1. if `~/.docker/config.json` or `$DOCKER_CONFIG/config.json` is a file,
///    docker's config in `$DOCKER_CONFIG` (when set) else `~/.docker`; so a
///    set `DOCKER_CONFIG` wins even when `~/.docker/config.json` exists;
/// 2. else `$REGISTRY_AUTH_FILE`, if it is a file (podman);
/// 3. else `$XDG_RUNTIME_DIR/containers/auth.json`, if it is a file;
/// 4. else `${XDG_CONFIG_HOME:-~/.config}/containers/auth.json`, if it is a file;
/// 5. else nothing (anonymous).
///
/// A `config.json` that is a directory (an optional Kubernetes secret
/// mount) does not count as found.
pub async fn find_config_file(env: &Environment) -> Option<(PathBuf, ConfigKind)> {
    let home = env.home();
    let mut found = false;
    if let Some(home) = &home {
        found = is_file(&home.join(".docker").join(CONFIG_FILE_NAME)).await;
    }
    if !found && let Some(dir) = env.var("DOCKER_CONFIG") {
        found = is_file(&Path::new(dir).join(CONFIG_FILE_NAME)).await;
    }
    if found && let Ok(dir) = docker_config_dir(env) {
        return Some((dir.join(CONFIG_FILE_NAME), ConfigKind::Docker));
    }
    let mut podman = Vec::new();
    if let Some(file) = env.var("REGISTRY_AUTH_FILE") {
        podman.push(PathBuf::from(file));
    }
    if let Some(dir) = env.var("XDG_RUNTIME_DIR") {
        podman.push(Path::new(dir).join("containers").join("auth.json"));
    }
    let config_home = env
        .var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".config")));
    if let Some(dir) = config_home {
        podman.push(dir.join("containers").join("auth.json"));
    }
    for path in podman {
        if is_file(&path).await {
            return Some((path, ConfigKind::Podman));
        }
    }
    None
}

/// The keys to look up for a resource, most specific first: the repository
/// (`r.io/team/app`; for Docker Hub also podman's `docker.io/team/app`), then
/// the registry (`r.io`, or [`DEFAULT_AUTH_KEY`] for Docker Hub).
fn lookup_keys(resource: &Resource) -> Vec<String> {
    let mut keys = Vec::new();
    if let Some(repo) = resource.repository_str() {
        keys.push(resource.to_string());
        if resource.is_docker_hub() {
            keys.push(format!("docker.io/{repo}"));
        }
    }
    keys.push(if resource.is_docker_hub() {
        DEFAULT_AUTH_KEY.to_owned()
    } else {
        resource.registry_str().to_owned()
    });
    keys
}

/// The keychain that reads docker's `config.json` or podman's `auth.json`
/// (ggcr's `authn.DefaultKeychain`).
///
/// The file is found with [`find_config_file`] and read on every
/// `resolve`, so a login in another process is picked up. For each key from
/// most to least specific (repository, then registry) the credentials come
/// from the responsible credential helper or the file
/// ([`DockerConfigFile::auth_config`]); the first non-empty answer wins.
/// An unparsable file or a helper that is missing or fails is an error.
#[derive(Clone, Debug)]
pub struct DockerConfigKeychain {
    env: Environment,
}

impl DockerConfigKeychain {
    /// Reads files located through `env`.
    #[must_use]
    pub fn new(env: Environment) -> Self {
        Self { env }
    }

    /// Reads files located through the process environment.
    #[must_use]
    pub fn from_process() -> Self {
        Self::new(Environment::from_process())
    }

    /// Loads the config file `resolve` would read now, if there is one.
    pub async fn config_file(&self) -> Result<Option<DockerConfigFile>> {
        match find_config_file(&self.env).await {
            Some((path, kind)) => DockerConfigFile::load(path, kind).await.map(Some),
            None => Ok(None),
        }
    }
}

#[async_trait::async_trait]
impl Keychain for DockerConfigKeychain {
    async fn resolve(&self, resource: &Resource) -> Result<Arc<dyn Authenticator>> {
        let Some(file) = self.config_file().await? else {
            return Ok(anonymous());
        };
        for key in lookup_keys(resource) {
            let cfg = file.auth_config(&key, &self.env).await?;
            if !cfg.is_anonymous() {
                tracing::debug!(
                    resource = %resource,
                    key = %key,
                    path = %file.path().display(),
                    "found credentials"
                );
                return Ok(Arc::new(cfg));
            }
        }
        tracing::debug!(resource = %resource, path = %file.path().display(), "no credentials, anonymous");
        Ok(anonymous())
    }
}

/// The keychain to use by default: [`EnvKeychain`] first, then
/// [`DockerConfigKeychain`] (the precedence of carvel imgpkg's composed
/// keychain: credentials named for a host in the environment beat files).
#[derive(Clone, Debug)]
pub struct DefaultKeychain {
    env: EnvKeychain,
    files: DockerConfigKeychain,
}

impl DefaultKeychain {
    /// Reads variables and files through `env`; fails if the
    /// `OCIREG_REGISTRY_*` variables are inconsistent.
    pub fn new(env: Environment) -> Result<Self> {
        Ok(Self {
            env: EnvKeychain::new(&env)?,
            files: DockerConfigKeychain::new(env),
        })
    }

    /// Reads the process environment and the files it points to.
    pub fn from_process() -> Result<Self> {
        Self::new(Environment::from_process())
    }
}

#[async_trait::async_trait]
impl Keychain for DefaultKeychain {
    async fn resolve(&self, resource: &Resource) -> Result<Arc<dyn Authenticator>> {
        let auth = self.env.resolve(resource).await?;
        if !auth.is_anonymous() {
            return Ok(auth);
        }
        self.files.resolve(resource).await
    }
}

/// What [`login`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoginOutcome {
    /// The key the credentials were stored under (Docker Hub:
    /// `https://index.docker.io/v1/`).
    pub key: String,
    /// The docker config file that was written.
    pub path: PathBuf,
    /// Where the secret went; [`Stored::File`] means it is stored
    /// unencrypted (base64) and callers should say so.
    pub stored: Stored,
}

/// What [`logout`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogoutOutcome {
    /// The key that was erased.
    pub key: String,
    /// The docker config file.
    pub path: PathBuf,
    /// Whether any credentials were found and removed.
    pub removed: bool,
}

/// The config key for a registry given to login or logout: `docker.io` and
/// its aliases become [`DEFAULT_AUTH_KEY`]; a scheme and path are dropped.
fn server_key(registry: &str) -> Result<String> {
    let bad = || Error::InvalidServer {
        server: registry.to_owned(),
    };
    let trimmed = registry.trim();
    if trimmed.is_empty() || trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let key = auth_key_for_registry(trimmed);
    if key.is_empty() || key.contains('@') {
        return Err(bad());
    }
    Ok(key)
}

/// Stores credentials for `registry` in docker's config the way `docker
/// login` (and crane's `auth login`) do: through the credential helper the
/// config names for it (`credHelpers`, else `credsStore`) with only an empty
/// entry in the file, else in the file as `auth`. The file is
/// `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`, written
/// atomically with mode 0600 in a directory created 0700. Nothing is sent to
/// the registry.
pub async fn login(env: &Environment, registry: &str, auth: &AuthConfig) -> Result<LoginOutcome> {
    let key = server_key(registry)?;
    if auth.is_anonymous() {
        return Err(Error::InvalidCredentials {
            server: key,
            reason: "no credentials given",
        });
    }
    let path = docker_config_dir(env)?.join(CONFIG_FILE_NAME);
    let mut file = DockerConfigFile::load(&path, ConfigKind::Docker).await?;
    let stored = file.store(&key, auth, env).await?;
    file.save()?;
    tracing::info!(key = %key, path = %path.display(), "stored credentials");
    Ok(LoginOutcome { key, path, stored })
}

/// Removes the credentials for `registry` from docker's config: erases them
/// from the responsible credential helper ("not found" is fine) and removes
/// the file entries for that registry (`r.io`, `https://r.io/v1/`, ...).
/// The file is rewritten only when it changed.
pub async fn logout(env: &Environment, registry: &str) -> Result<LogoutOutcome> {
    let key = server_key(registry)?;
    let path = docker_config_dir(env)?.join(CONFIG_FILE_NAME);
    let mut file = DockerConfigFile::load(&path, ConfigKind::Docker).await?;
    let before = file.auth_keys().count();
    let mut removed = file.erase(&key, env).await?;
    let host = auth_key_for_registry(&key);
    let same: Vec<String> = file
        .auth_keys()
        .filter(|k| !k.contains('/') || k.contains("://"))
        .filter(|k| auth_key_for_registry(k) == host)
        .map(str::to_owned)
        .collect();
    for k in &same {
        file.remove_entry(k);
    }
    let file_changed = file.auth_keys().count() != before;
    removed |= file_changed;
    if file_changed {
        file.save()?;
    }
    Ok(LogoutOutcome { key, path, removed })
}
