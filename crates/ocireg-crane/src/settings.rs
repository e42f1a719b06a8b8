//! Per-registry settings: how to speak to each registry host (regclient's
//! `~/.regctl/config.json` `hosts`, set with `crane registry set`). See [`RegistrySettings`].

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ocireg_authn::{Environment, Secret};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The variable naming the settings file.
pub const SETTINGS_PATH_VAR: &str = "OCIREG_CONFIG";

/// The largest settings file read (1 MiB).
pub const MAX_SETTINGS_SIZE: u64 = 1024 * 1024;

/// How TLS is used with a registry (regclient's `tls`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum TlsMode {
    /// https with verified certificates (the default).
    #[default]
    Enabled,
    /// https without certificate verification, for this registry only.
    Insecure,
    /// Plain http only: https is never tried.
    Disabled,
}

impl TlsMode {
    /// The spelling in the file and on the command line.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Insecure => "insecure",
            Self::Disabled => "disabled",
        }
    }
}

impl fmt::Display for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TlsMode {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "enabled" => Ok(Self::Enabled),
            "insecure" => Ok(Self::Insecure),
            "disabled" => Ok(Self::Disabled),
            _ => Err(format!(
                "unknown TLS mode {s:?}: expected enabled, insecure or disabled"
            )),
        }
    }
}

/// Another API a host offers beside the registry API (regclient's `api`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum HostApi {
    /// Docker Hub's own API on `hub.docker.com` (tag deletion), spelled `hub`.
    Hub,
}

impl HostApi {
    /// The spelling in the file and on the command line.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hub => "hub",
        }
    }
}

impl fmt::Display for HostApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HostApi {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "hub" => Ok(Self::Hub),
            _ => Err(format!("unknown API {s:?}: expected hub")),
        }
    }
}

/// The settings of one registry host. Build with [`HostSettings::new`] (or `Default`) and the
/// `with_*` setters; every setting left alone keeps its default and stays out of the file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub struct HostSettings {
    tls: TlsMode,
    repo_auth: bool,
    api: Option<HostApi>,
    token: Option<Secret>,
    /// Fields this version does not know, kept as they are.
    extra: Map<String, Value>,
}

impl HostSettings {
    /// The defaults: TLS enabled, one token for all scopes, no other API, no token.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same settings with TLS used as `tls` says.
    pub fn with_tls(mut self, tls: TlsMode) -> Self {
        self.tls = tls;
        self
    }

    /// The same settings with one token per repository (`true`) or one for all scopes.
    pub fn with_repo_auth(mut self, repo_auth: bool) -> Self {
        self.repo_auth = repo_auth;
        self
    }

    /// The same settings with another API on the host (or none).
    pub fn with_api(mut self, api: Option<HostApi>) -> Self {
        self.api = api;
        self
    }

    /// The same settings with the token of that API (or none).
    pub fn with_token(mut self, token: Option<Secret>) -> Self {
        self.token = token.filter(|t| !t.is_empty());
        self
    }

    /// How TLS is used.
    #[must_use]
    pub fn tls(&self) -> TlsMode {
        self.tls
    }

    /// Whether one token is fetched per repository.
    #[must_use]
    pub fn repo_auth(&self) -> bool {
        self.repo_auth
    }

    /// The other API the host offers, if any.
    #[must_use]
    pub fn api(&self) -> Option<HostApi> {
        self.api
    }

    /// The token of that API, if any. Never print it.
    #[must_use]
    pub fn token(&self) -> Option<&Secret> {
        self.token.as_ref()
    }

    /// Whether nothing differs from the defaults (such an entry is left out of the file).
    #[must_use]
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    fn to_file(&self, redact: bool) -> HostFile {
        HostFile {
            tls: self.tls,
            repo_auth: self.repo_auth,
            api: self.api,
            token: self.token.as_ref().map(|t| {
                if redact {
                    "***".to_owned()
                } else {
                    t.expose().to_owned()
                }
            }),
            extra: self.extra.clone(),
        }
    }

    fn from_file(file: HostFile) -> Self {
        Self {
            tls: file.tls,
            repo_auth: file.repo_auth,
            api: file.api,
            token: file.token.filter(|t| !t.is_empty()).map(Secret::new),
            extra: file.extra,
        }
    }
}

/// Per-registry settings: how to speak to each registry host (regclient's
/// `~/.regctl/config.json` `hosts`, set with `crane registry set`).
///
/// One JSON file holds a map from registry (`host[:port]`) to its settings:
///
/// ```json
/// {
///   "hosts": {
///     "registry.example:5000": { "tls": "disabled" },
///     "dev.example": { "tls": "insecure" },
///     "gcr.io": { "repoAuth": true },
///     "hub.docker.com": { "api": "hub", "token": "..." }
///   }
/// }
/// ```
///
/// - `tls`: `enabled` (the default, left out of the file: https with verified certificates;
///   names that ggcr's heuristics treat as local, such as `localhost:5000`, may still fall
///   back to http), `insecure` (https without certificate verification, for this host only)
///   or `disabled` (plain http only; https is never tried).
/// - `repoAuth`: one bearer token per repository instead of one token for all the scopes of
///   an operation, for registries such as `gcr.io` that cannot grant several repositories in
///   one token.
/// - `api` and `token`: another API on the host (only `hub`, Docker Hub's own API on
///   `hub.docker.com`) and its token. The token is a [`Secret`]: `Debug` shows `****`, and
///   [`RegistrySettings::to_redacted_json`] shows `***`.
///
/// Fields this version does not know (regclient's `user`, `regcert`, ...) are kept as they
/// are when the file is rewritten. Host names are compared without regard to case, and
/// `docker.io` is `index.docker.io`, as in references.
///
/// The file is [`settings_path`]: `$OCIREG_CONFIG` when set, else
/// `$XDG_CONFIG_HOME/ocireg/config.json`, else `$HOME/.config/ocireg/config.json`, all read
/// from an [`Environment`]. A missing file means no settings; a file that is not valid
/// (bad JSON, an unknown `tls` value, an invalid host, larger than
/// [`MAX_SETTINGS_SIZE`]) is an error naming the path. [`RegistrySettings::update`] changes
/// the file under a lock file beside it (`config.json.lock`): read, change, write a
/// temporary file (mode 0600 from creation) beside it, fsync, rename, fsync the directory
/// (created 0700 when missing). Two processes updating different hosts at once both land.
///
/// ```
/// use ocireg_authn::Environment;
/// use ocireg_crane::{HostSettings, RegistrySettings, TlsMode};
///
/// let dir = tempfile::tempdir()?;
/// let env = Environment::empty().with_var("OCIREG_CONFIG", dir.path().join("config.json").to_string_lossy());
/// RegistrySettings::update(&env, |settings| {
///     let host = settings.host("gcr.io").cloned().unwrap_or_default().with_repo_auth(true);
///     settings.set_host("gcr.io", host)
/// })?;
/// RegistrySettings::update(&env, |settings| {
///     settings.set_host("r.example:5000", HostSettings::new().with_tls(TlsMode::Disabled))
/// })?;
/// let loaded = RegistrySettings::load(&env)?;
/// assert!(loaded.host("GCR.io").is_some_and(HostSettings::repo_auth));
/// assert_eq!(loaded.host("r.example:5000").map(HostSettings::tls), Some(TlsMode::Disabled));
/// assert_eq!(
///     String::from_utf8(loaded.to_json())?,
///     "{\n  \"hosts\": {\n    \"gcr.io\": {\n      \"repoAuth\": true\n    },\n    \
///      \"r.example:5000\": {\n      \"tls\": \"disabled\"\n    }\n  }\n}\n"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// The value is the contents of the file: the [`HostSettings`] of each registry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub struct RegistrySettings {
    hosts: BTreeMap<String, HostSettings>,
    /// Top-level fields this version does not know, kept as they are.
    extra: Map<String, Value>,
}

/// One host entry as written in the file.
#[derive(Deserialize, Serialize)]
struct HostFile {
    #[serde(default, skip_serializing_if = "is_enabled")]
    tls: TlsMode,
    #[serde(rename = "repoAuth", default, skip_serializing_if = "is_false")]
    repo_auth: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    api: Option<HostApi>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

/// The whole file.
#[derive(Deserialize, Serialize)]
struct SettingsFile {
    #[serde(default)]
    hosts: BTreeMap<String, HostFile>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_enabled(tls: &TlsMode) -> bool {
    *tls == TlsMode::Enabled
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_false(b: &bool) -> bool {
    !*b
}

/// The key a registry is filed under: `host[:port]` as [`ocireg_name::Registry::name`]
/// spells it (`docker.io` is `index.docker.io`), in lower case. An empty or invalid name is
/// a usage error.
pub fn registry_key(registry: &str) -> Result<String> {
    let invalid = |source| Error::InvalidRegistry {
        registry: registry.to_owned(),
        source,
    };
    if registry.trim().is_empty() {
        // An empty name would mean the default registry to the name parser.
        return Err(Error::InvalidArgument {
            doing: format!("parsing registry {registry:?}"),
            reason: "a registry (HOST[:PORT]) is required",
        });
    }
    let parsed = ocireg_name::Registry::new(&registry.to_ascii_lowercase()).map_err(invalid)?;
    Ok(parsed.name().to_owned())
}

/// Where the settings file is: `$OCIREG_CONFIG` when set, else
/// `$XDG_CONFIG_HOME/ocireg/config.json` (when that is an absolute path), else
/// `$HOME/.config/ocireg/config.json`; `None` without any of them.
#[must_use]
pub fn settings_path(env: &Environment) -> Option<PathBuf> {
    if let Some(path) = env.var(SETTINGS_PATH_VAR) {
        return Some(PathBuf::from(path));
    }
    let config_home = env
        .var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| env.home().map(|h| h.join(".config")))?;
    Some(config_home.join("ocireg").join("config.json"))
}

/// An error about the settings file at `path`.
fn settings_error(doing: &str, path: &Path, source: io::Error) -> Error {
    Error::Settings {
        doing: doing.to_owned(),
        path: path.to_owned(),
        source,
    }
}

/// An error about the contents of the settings file at `path` (the message names it, since
/// the cause does not).
fn invalid_settings(path: &Path, reason: impl Into<String>) -> Error {
    settings_error(
        &format!("reading registry settings {}", path.display()),
        path,
        io::Error::new(io::ErrorKind::InvalidData, reason.into()),
    )
}

impl RegistrySettings {
    /// No settings: every registry gets the defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads the settings file of `env` (see [`settings_path`]); no file (or no home
    /// directory to look in) means no settings.
    pub fn load(env: &Environment) -> Result<Self> {
        match settings_path(env) {
            Some(path) => Self::load_from(&path),
            None => Ok(Self::new()),
        }
    }

    /// Reads the settings file at `path`; a missing file means no settings.
    pub fn load_from(path: &Path) -> Result<Self> {
        let file = match fs_err::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Self::new()),
            Err(e) => return Err(settings_error("reading registry settings", path, e)),
        };
        let mut bytes = Vec::new();
        file.take(MAX_SETTINGS_SIZE + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| settings_error("reading registry settings", path, e))?;
        if bytes.len() as u64 > MAX_SETTINGS_SIZE {
            return Err(invalid_settings(
                path,
                format!("the file is larger than {MAX_SETTINGS_SIZE} bytes"),
            ));
        }
        Self::from_json(&bytes).map_err(|reason| invalid_settings(path, reason))
    }

    /// Parses the file's contents; the error says what is wrong, and where.
    pub fn from_json(bytes: &[u8]) -> std::result::Result<Self, String> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self::new());
        }
        let file: SettingsFile = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let mut hosts = BTreeMap::new();
        for (name, host) in file.hosts {
            let key = registry_key(&name).map_err(|e| {
                let cause = std::error::Error::source(&e).map(ToString::to_string);
                format!(
                    "host {name:?} is not a registry (HOST[:PORT]){}",
                    cause.map(|c| format!(": {c}")).unwrap_or_default()
                )
            })?;
            if hosts.contains_key(&key) {
                return Err(format!(
                    "host {name:?} is listed twice (as {key:?} under another spelling)"
                ));
            }
            hosts.insert(key, HostSettings::from_file(host));
        }
        Ok(Self {
            hosts,
            extra: file.extra,
        })
    }

    /// The file's contents: pretty JSON, the token in the clear, with a final newline.
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        self.render(false)
    }

    /// [`to_json`](Self::to_json) with every token replaced by `***`, for showing.
    #[must_use]
    pub fn to_redacted_json(&self) -> Vec<u8> {
        self.render(true)
    }

    /// The JSON value of one host's entry, tokens replaced by `***` (`{}` for a host with
    /// the defaults), for showing.
    #[must_use]
    pub fn host_redacted_value(&self, registry: &str) -> Value {
        self.host(registry)
            .and_then(|h| serde_json::to_value(h.to_file(true)).ok())
            .unwrap_or_else(|| Value::Object(Map::new()))
    }

    /// The JSON value of the whole file, tokens replaced by `***`, for showing.
    #[must_use]
    pub fn redacted_value(&self) -> Value {
        serde_json::to_value(self.to_file(true)).unwrap_or_else(|_| Value::Object(Map::new()))
    }

    fn to_file(&self, redact: bool) -> SettingsFile {
        SettingsFile {
            hosts: self
                .hosts
                .iter()
                .map(|(k, h)| (k.clone(), h.to_file(redact)))
                .collect(),
            extra: self.extra.clone(),
        }
    }

    fn render(&self, redact: bool) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(&self.to_file(redact))
            .expect("settings are strings, booleans and JSON values: they always serialise");
        out.push(b'\n');
        out
    }

    /// The settings of `registry` (`host[:port]`; `docker.io` is `index.docker.io`, case
    /// does not matter), when the file has an entry for it.
    #[must_use]
    pub fn host(&self, registry: &str) -> Option<&HostSettings> {
        let key = registry_key(registry).ok()?;
        self.hosts.get(&key)
    }

    /// Every registry with settings, by its key (see [`registry_key`]), in order.
    pub fn hosts(&self) -> impl Iterator<Item = (&str, &HostSettings)> {
        self.hosts.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Sets the settings of `registry`; settings equal to the defaults remove its entry.
    /// An invalid registry name is a usage error.
    pub fn set_host(&mut self, registry: &str, host: HostSettings) -> Result<()> {
        let key = registry_key(registry)?;
        if host.is_default() {
            self.hosts.remove(&key);
        } else {
            self.hosts.insert(key, host);
        }
        Ok(())
    }

    /// [`set_host`](Self::set_host), by value.
    pub fn with_host(mut self, registry: &str, host: HostSettings) -> Result<Self> {
        self.set_host(registry, host)?;
        Ok(self)
    }

    /// Applies every host's settings to a client builder: `tls: disabled` →
    /// [`plain_http_for`](ocireg_transport::ClientBuilder::plain_http_for), `insecure` →
    /// [`skip_tls_verify_for`](ocireg_transport::ClientBuilder::skip_tls_verify_for),
    /// `repoAuth` →
    /// [`per_repository_auth_for`](ocireg_transport::ClientBuilder::per_repository_auth_for).
    pub fn apply(
        &self,
        mut builder: ocireg_transport::ClientBuilder,
    ) -> ocireg_transport::ClientBuilder {
        for (host, settings) in &self.hosts {
            builder = match settings.tls {
                TlsMode::Enabled => builder,
                TlsMode::Insecure => builder.skip_tls_verify_for(host),
                TlsMode::Disabled => builder.plain_http_for(host),
            };
            if settings.repo_auth {
                builder = builder.per_repository_auth_for(host.clone());
            }
        }
        builder
    }

    /// Changes the settings file of `env` (see [`settings_path`]) with `change`, under the
    /// lock file beside it: the file is read (a missing one is empty), changed, and written
    /// back atomically (mode 0600) when `change` succeeds. Returns the new settings. Blocks
    /// while another process holds the lock.
    pub fn update(env: &Environment, change: impl FnOnce(&mut Self) -> Result<()>) -> Result<Self> {
        let path = settings_path(env).ok_or_else(|| Error::InvalidArgument {
            doing: "finding the registry settings file".to_owned(),
            reason: "set OCIREG_CONFIG, XDG_CONFIG_HOME or HOME",
        })?;
        Self::update_at(&path, change)
    }

    /// [`update`](Self::update) on tokio's blocking pool, for async callers (waiting for the
    /// lock must not hold up a runtime thread).
    pub async fn update_async(
        env: Environment,
        change: impl FnOnce(&mut Self) -> Result<()> + Send + 'static,
    ) -> Result<Self> {
        tokio::task::spawn_blocking(move || Self::update(&env, change))
            .await
            .map_err(|e| Error::Io {
                doing: "updating registry settings".to_owned(),
                source: io::Error::other(e.to_string()),
            })?
    }

    /// [`update`](Self::update) of the file at `path`.
    pub fn update_at(path: &Path, change: impl FnOnce(&mut Self) -> Result<()>) -> Result<Self> {
        let dir = parent_dir(path);
        create_private_dir(&dir)?;
        let lock_path = lock_path(path);
        let _lock = FileLock::exclusive(&lock_path)?;
        let mut settings = Self::load_from(path)?;
        change(&mut settings)?;
        write_atomically(path, &dir, &settings.to_json())?;
        Ok(settings)
    }
}

/// The directory of `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."))
        .to_owned()
}

/// `config.json` → `config.json.lock`, beside it.
fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(ToOwned::to_owned).unwrap_or_default();
    name.push(".lock");
    path.with_file_name(name)
}

/// Creates `dir` (and its parents) with mode 0700 when missing.
fn create_private_dir(dir: &Path) -> Result<()> {
    #[expect(
        clippy::disallowed_types,
        reason = "fs_err has no blocking DirBuilder; the error is worded to name the path"
    )]
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| {
        settings_error(
            &format!("creating the registry settings directory {}", dir.display()),
            dir,
            e,
        )
    })
}

/// Writes `bytes` to `path`: a temporary file beside it created with mode 0600, synced,
/// renamed over it, the directory synced. The temporary file is removed on failure.
fn write_atomically(path: &Path, dir: &Path, bytes: &[u8]) -> Result<()> {
    let writing = "writing registry settings";
    let mut tmp = tempfile::Builder::new()
        .prefix(".config.json.")
        .suffix(".tmp")
        .make_in(dir, |p| {
            let mut options = fs_err::OpenOptions::new();
            options.read(true).write(true).create_new(true);
            #[cfg(unix)]
            fs_err::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            options.open(p)
        })
        .map_err(|e| settings_error(writing, path, e))?;
    tmp.as_file_mut()
        .write_all(bytes)
        .map_err(|e| settings_error(writing, path, e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| settings_error(writing, path, e))?;
    let temp_path = tmp.path().to_owned();
    tmp.persist(path).map_err(|e| {
        settings_error(
            &format!(
                "writing registry settings: renaming {} to {}",
                temp_path.display(),
                path.display()
            ),
            path,
            e.error,
        )
    })?;
    fs_err::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| settings_error(writing, path, e))?;
    tracing::debug!(path = %path.display(), "saved registry settings");
    Ok(())
}

/// An exclusive advisory lock (`flock`) on a lock file, released on drop. The lock file
/// stays (removing it would let a waiter lock a file no longer at that path).
struct FileLock {
    _file: fs_err::File,
}

impl FileLock {
    fn exclusive(path: &Path) -> Result<Self> {
        let mut options = fs_err::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        fs_err::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(path)
            .map_err(|e| settings_error("locking registry settings", path, e))?;
        rustix::fs::flock(file.file(), rustix::fs::FlockOperation::LockExclusive).map_err(|e| {
            settings_error(
                &format!("locking registry settings {}", path.display()),
                path,
                io::Error::from(e),
            )
        })?;
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn env_for(path: &Path) -> Environment {
        Environment::empty().with_var(SETTINGS_PATH_VAR, path.to_string_lossy())
    }

    #[test]
    fn paths_follow_the_environment() {
        let env = Environment::empty()
            .with_var("OCIREG_CONFIG", "/x/settings.json")
            .with_var("XDG_CONFIG_HOME", "/xdg")
            .with_var("HOME", "/home/u");
        assert_eq!(settings_path(&env), Some(PathBuf::from("/x/settings.json")));
        let env = env.without_var("OCIREG_CONFIG");
        assert_eq!(
            settings_path(&env),
            Some(PathBuf::from("/xdg/ocireg/config.json"))
        );
        let env = env.with_var("XDG_CONFIG_HOME", "relative");
        assert_eq!(
            settings_path(&env),
            Some(PathBuf::from("/home/u/.config/ocireg/config.json"))
        );
        assert_eq!(settings_path(&Environment::empty()), None);
        assert_eq!(
            RegistrySettings::load(&Environment::empty()).unwrap(),
            RegistrySettings::new()
        );
    }

    #[test]
    fn the_file_round_trips_and_keeps_unknown_fields() {
        let text = r#"{"hosts": {"Docker.io": {"tls": "insecure", "user": "u", "repoAuth": true},
            "hub.docker.com": {"api": "hub", "token": "s3cr3t"},
            "r.example:5000": {"tls": "disabled"}}, "version": 2}"#;
        let s = RegistrySettings::from_json(text.as_bytes()).unwrap();
        let hub = s.host("index.docker.io").unwrap();
        assert_eq!(hub.tls(), TlsMode::Insecure);
        assert!(hub.repo_auth());
        assert_eq!(s.host("docker.io"), Some(hub));
        let api = s.host("hub.docker.com").unwrap();
        assert_eq!(api.api(), Some(HostApi::Hub));
        assert_eq!(api.token().map(Secret::expose), Some("s3cr3t"));
        assert!(!format!("{s:?}").contains("s3cr3t"));
        let redacted = String::from_utf8(s.to_redacted_json()).unwrap();
        assert!(!redacted.contains("s3cr3t"), "{redacted}");
        assert!(redacted.contains("\"token\": \"***\""), "{redacted}");
        let json = s.to_json();
        let again = RegistrySettings::from_json(&json).unwrap();
        assert_eq!(again, s);
        let value: Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(value["version"], 2);
        assert_eq!(value["hosts"]["index.docker.io"]["user"], "u");
        assert_eq!(
            value["hosts"]["r.example:5000"],
            serde_json::json!({"tls": "disabled"})
        );
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let table = [
            (
                r#"{"hosts": {"r.example": {"tls": "maybe"}}}"#,
                "unknown variant `maybe`",
            ),
            (
                r#"{"hosts": {"r.example": {"repoAuth": "yes"}}}"#,
                "invalid type",
            ),
            (
                r#"{"hosts": {"a b": {}}}"#,
                "host \"a b\" is not a registry",
            ),
            (r#"{"hosts": {"": {}}}"#, "host \"\" is not a registry"),
            (
                r#"{"hosts": {"docker.io": {}, "index.docker.io": {}}}"#,
                "listed twice",
            ),
            ("{not json", "key must be a string"),
            (r#"{"hosts": []}"#, "invalid type"),
            (
                r#"{"hosts": {"r.example": {"api": "gitlab"}}}"#,
                "unknown variant `gitlab`",
            ),
        ];
        for (text, want) in table {
            let err = RegistrySettings::from_json(text.as_bytes()).expect_err(text);
            assert!(err.contains(want), "{text}: {err}");
        }
        assert_eq!(
            RegistrySettings::from_json(b"  \n").unwrap(),
            RegistrySettings::new()
        );
    }

    #[test]
    fn a_corrupt_or_huge_file_is_an_error_naming_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        fs_err::write(&path, "{\"hosts\": {\"r.example\": {\"tls\": 1}}}").unwrap();
        let err = RegistrySettings::load(&env_for(&path)).unwrap_err();
        assert!(
            err.to_string().contains(&*path.display().to_string()),
            "{err}"
        );
        assert_eq!(err.kind(), ErrorKind::Other);
        assert!(err.hint().is_some_and(|h| h.contains("config.json")));
        fs_err::write(&path, vec![b' '; 2 << 20]).unwrap();
        let err = RegistrySettings::load_from(&path).unwrap_err();
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert!(cause.contains("larger than"), "{cause}");
        // A missing file is no settings.
        let missing = dir.path().join("missing.json");
        assert_eq!(
            RegistrySettings::load_from(&missing).unwrap(),
            RegistrySettings::new()
        );
    }

    #[test]
    fn updates_write_a_private_file_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new").join("config.json");
        let env = env_for(&path);
        let s = RegistrySettings::update(&env, |s| {
            s.set_host(
                "r.example",
                HostSettings::new()
                    .with_api(Some(HostApi::Hub))
                    .with_token(Some(Secret::new("t0k"))),
            )
        })
        .unwrap();
        assert_eq!(RegistrySettings::load(&env).unwrap(), s);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs_err::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
            let mode = fs_err::metadata(path.parent().unwrap())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o700, "{mode:o}");
        }
        // Back to the defaults: the entry goes.
        let s = RegistrySettings::update(&env, |s| s.set_host("r.example", HostSettings::new()))
            .unwrap();
        assert_eq!(s.hosts().count(), 0);
        // A failed change writes nothing.
        let err =
            RegistrySettings::update(&env, |s| s.set_host("a b", HostSettings::new())).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
        let mut names: Vec<String> = fs_err::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["config.json", "config.json.lock"]);
    }

    #[test]
    fn settings_reach_the_client_builder() {
        let s = RegistrySettings::new()
            .with_host("r.example", HostSettings::new().with_tls(TlsMode::Disabled))
            .unwrap()
            .with_host("gcr.io", HostSettings::new().with_repo_auth(true))
            .unwrap();
        let text = format!("{:?}", s.apply(ocireg_transport::Client::builder()));
        assert!(text.contains("r.example"), "{text}");
        assert!(text.contains("gcr.io"), "{text}");
    }
}
