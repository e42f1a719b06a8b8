//! docker's `config.json` (and podman's `auth.json`, the same format):
//! reading credentials the way docker/cli does, and writing them back
//! atomically without disturbing what we do not own.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::auth_config::{AuthConfig, Wire};
use crate::environment::Environment;
use crate::error::{Error, Result, json_problem};
use crate::helper::{CredentialHelper, TOKEN_USERNAME};
use crate::resource::DOCKER_HUB_HOST;

/// The key docker uses for Docker Hub in config files (ggcr's
/// `authn.DefaultAuthKey`), kept for historical reasons.
pub const DEFAULT_AUTH_KEY: &str = "https://index.docker.io/v1/";

/// The config file's name inside the docker config directory.
pub const CONFIG_FILE_NAME: &str = "config.json";

/// Where a [`DockerConfigFile`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigKind {
    /// docker's `config.json` (`$DOCKER_CONFIG` or `~/.docker`).
    Docker,
    /// podman's `auth.json` (`$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers`,
    /// `${XDG_CONFIG_HOME:-~/.config}/containers`).
    Podman,
}

/// The docker config key for a registry host: Docker Hub's aliases become
/// [`DEFAULT_AUTH_KEY`], anything else is the host (scheme and path
/// stripped, so `https://r.io/v2/` gives `r.io`).
#[must_use]
pub fn auth_key_for_registry(registry: &str) -> String {
    let host = convert_to_hostname(registry);
    if is_hub_alias(host) {
        DEFAULT_AUTH_KEY.to_owned()
    } else {
        host.to_owned()
    }
}

/// docker/cli's `ConvertToHostname`: drop `http://`/`https://` and anything
/// from the first `/`.
fn convert_to_hostname(key: &str) -> &str {
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    rest.split('/').next().unwrap_or(rest)
}

fn is_hub_alias(host: &str) -> bool {
    matches!(
        host,
        "index.docker.io" | "docker.io" | "registry-1.docker.io"
    )
}

/// The host a key stands for when it names a whole registry: URLs
/// (`https://r.io/v1/`) and bare hosts (`r.io`); `None` for repository keys
/// (`r.io/team/app`), which only ever match exactly. Hub aliases are folded.
fn registry_host_of_key(key: &str) -> Option<&str> {
    let has_scheme = key.starts_with("https://") || key.starts_with("http://");
    let host = convert_to_hostname(key);
    if !has_scheme && host.len() != key.len() {
        return None;
    }
    Some(if is_hub_alias(host) {
        DOCKER_HUB_HOST
    } else {
        host
    })
}

/// One `auths` entry: its bytes as read, and what they mean.
#[derive(Clone)]
struct AuthEntry {
    raw: Box<RawValue>,
    config: AuthConfig,
}

/// A parsed docker config file.
///
/// Reading follows docker/cli: `credHelpers[key]`, else `credsStore`, else
/// the `auths` map (exact key, else an entry for the same registry written
/// as a URL such as `https://r.io/v1/`). Writing ([`DockerConfigFile::save`])
/// keeps every top-level member and every `auths` entry it did not change
/// byte for byte, in file order.
#[derive(Clone)]
pub struct DockerConfigFile {
    path: PathBuf,
    kind: ConfigKind,
    /// Top-level members in file order; `auths` is kept separately.
    members: Vec<(String, Box<RawValue>)>,
    auths: Vec<(String, AuthEntry)>,
    creds_store: Option<String>,
    cred_helpers: BTreeMap<String, String>,
    http_headers: Vec<(String, String)>,
}

impl fmt::Debug for DockerConfigFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DockerConfigFile")
            .field("path", &self.path)
            .field("kind", &self.kind)
            .field(
                "auths",
                &self.auths.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("creds_store", &self.creds_store)
            .field("cred_helpers", &self.cred_helpers)
            .finish_non_exhaustive()
    }
}

/// A JSON object read as its members in order, values left as raw bytes.
struct OrderedObject(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for OrderedObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<Self::Value, E> {
                Ok(OrderedObject(Vec::new()))
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut out: Vec<(String, Box<RawValue>)> = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Box<RawValue>>()? {
                    // Duplicate keys: the last value wins (as Go's decoder), in the first position.
                    if let Some(slot) = out.iter_mut().find(|(existing, _)| *existing == k) {
                        slot.1 = v;
                    } else {
                        out.push((k, v));
                    }
                }
                Ok(OrderedObject(out))
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl DockerConfigFile {
    /// An empty config that will be saved to `path`.
    pub fn empty(path: impl Into<PathBuf>, kind: ConfigKind) -> Self {
        Self {
            path: path.into(),
            kind,
            members: Vec::new(),
            auths: Vec::new(),
            creds_store: None,
            cred_helpers: BTreeMap::new(),
            http_headers: Vec::new(),
        }
    }

    /// Parses the bytes of a config file (`path` is for errors and saving).
    /// Empty input is an empty config.
    pub fn parse(path: impl Into<PathBuf>, kind: ConfigKind, bytes: &[u8]) -> Result<Self> {
        let mut cfg = Self::empty(path, kind);
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(cfg);
        }
        let parse_err = |path: &Path, e: &serde_json::Error| Error::ParseConfig {
            path: path.to_owned(),
            problem: json_problem(e),
        };
        let top: OrderedObject =
            serde_json::from_slice(bytes).map_err(|e| parse_err(&cfg.path, &e))?;
        for (key, raw) in top.0 {
            let field = |e: serde_json::Error| Error::ParseConfig {
                path: cfg.path.clone(),
                problem: format!("field {key:?}: {}", json_problem(&e)),
            };
            match key.as_str() {
                "auths" => {
                    let auths: OrderedObject = serde_json::from_str(raw.get()).map_err(field)?;
                    for (server, raw) in auths.0 {
                        let wire: Wire =
                            serde_json::from_str(raw.get()).map_err(|e| Error::ParseConfig {
                                path: cfg.path.clone(),
                                problem: format!("auths entry {server:?}: {}", json_problem(&e)),
                            })?;
                        let config = AuthConfig::from_wire(wire).map_err(|e| match e {
                            Error::InvalidAuth { reason, .. } => Error::InvalidAuth {
                                key: Some(server.clone()),
                                path: Some(cfg.path.clone()),
                                reason,
                            },
                            other => other,
                        })?;
                        cfg.auths.push((server, AuthEntry { raw, config }));
                    }
                }
                "credsStore" => {
                    cfg.creds_store = serde_json::from_str::<Option<String>>(raw.get())
                        .map_err(field)?
                        .filter(|s| !s.is_empty());
                }
                "credHelpers" => {
                    cfg.cred_helpers =
                        serde_json::from_str::<Option<BTreeMap<String, String>>>(raw.get())
                            .map_err(field)?
                            .unwrap_or_default();
                }
                "HttpHeaders" => {
                    cfg.http_headers = serde_json::from_str::<Option<OrderedObject>>(raw.get())
                        .map_err(field)?
                        .map(|o| o.0)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| Ok((k, serde_json::from_str::<String>(v.get())?)))
                        .collect::<std::result::Result<_, serde_json::Error>>()
                        .map_err(field)?;
                }
                _ => {}
            }
            cfg.members.push((key, raw));
        }
        Ok(cfg)
    }

    /// Reads and parses `path`; a missing file is an empty config.
    pub async fn load(path: impl Into<PathBuf>, kind: ConfigKind) -> Result<Self> {
        let path = path.into();
        match fs_err::tokio::read(&path).await {
            Ok(bytes) => Self::parse(path, kind, &bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::empty(path, kind)),
            Err(source) => Err(Error::ReadConfig { path, source }),
        }
    }

    /// The file this config was read from (and is saved to).
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// docker's or podman's.
    #[must_use]
    pub fn kind(&self) -> ConfigKind {
        self.kind
    }

    /// `credsStore`, the default credential helper.
    #[must_use]
    pub fn creds_store(&self) -> Option<&str> {
        self.creds_store.as_deref()
    }

    /// `credHelpers`: registry key → credential helper.
    #[must_use]
    pub fn cred_helpers(&self) -> &BTreeMap<String, String> {
        &self.cred_helpers
    }

    /// `HttpHeaders`: extra headers docker sends to every registry.
    #[must_use]
    pub fn http_headers(&self) -> &[(String, String)] {
        &self.http_headers
    }

    /// The keys of the `auths` map, in file order.
    pub fn auth_keys(&self) -> impl Iterator<Item = &str> {
        self.auths.iter().map(|(k, _)| k.as_str())
    }

    /// The credential helper responsible for `key`: `credHelpers[key]`
    /// (exact key), else `credsStore`.
    #[must_use]
    pub fn helper_for(&self, key: &str) -> Option<&str> {
        self.cred_helpers
            .get(key)
            .map(String::as_str)
            .filter(|h| !h.is_empty())
            .or(self.creds_store.as_deref())
    }

    /// The `auths` entry for `key` without asking any helper: the exact key,
    /// else (for a registry key) the first entry in file order naming the same
    /// registry as a URL or bare host (`http://r.io/v1/`, `https://r.io/v2/`).
    /// Repository keys (`r.io/team/app`) only match exactly.
    #[must_use]
    pub fn file_auth(&self, key: &str) -> Option<&AuthConfig> {
        if let Some((_, entry)) = self.auths.iter().find(|(k, _)| k == key) {
            return Some(&entry.config);
        }
        let host = registry_host_of_key(key)?;
        self.auths
            .iter()
            .find(|(k, _)| registry_host_of_key(k) == Some(host))
            .map(|(_, entry)| &entry.config)
    }

    /// docker/cli's `GetAuthConfig(key)`: through the responsible credential
    /// helper if there is one (a helper that cannot run, or fails for any
    /// reason but "credentials not found", is an error), else from the file.
    /// An empty config means "nothing stored".
    pub async fn auth_config(&self, key: &str, env: &Environment) -> Result<AuthConfig> {
        if let Some(helper) = self.helper_for(key) {
            let helper = CredentialHelper::new(helper, env)?;
            return Ok(helper
                .get(key)
                .await?
                .map(|c| c.to_auth_config())
                .unwrap_or_default());
        }
        let mut cfg = self.file_auth(key).cloned().unwrap_or_default();
        // The keychain hands out user and password; the encoded form is docker's storage detail.
        if cfg.username.is_some() || cfg.password.is_some() {
            cfg.auth = None;
        }
        Ok(cfg)
    }

    /// Stores credentials for `key` the way docker/cli does: through the
    /// responsible helper when there is one (the file then keeps an empty
    /// entry for the key and no secret), else in the file as `auth` (base64 of
    /// `user:password`) plus any tokens. Call [`DockerConfigFile::save`] after.
    /// Returns where the secret went.
    pub async fn store(
        &mut self,
        key: &str,
        auth: &AuthConfig,
        env: &Environment,
    ) -> Result<Stored> {
        if let Some(helper) = self.helper_for(key).map(str::to_owned) {
            let helper = CredentialHelper::new(helper, env)?;
            let (username, secret) = match (&auth.identity_token, &auth.password) {
                (Some(token), _) => (TOKEN_USERNAME.to_owned(), token.clone()),
                (None, Some(password)) => {
                    (auth.username.clone().unwrap_or_default(), password.clone())
                }
                (None, None) => {
                    return Err(Error::InvalidCredentials {
                        server: key.to_owned(),
                        reason: "a credential helper stores a password or an identity token, and neither was given",
                    });
                }
            };
            helper.store(key, &username, &secret).await?;
            self.set_entry(key, AuthConfig::default());
            return Ok(Stored::Helper(helper.name().to_owned()));
        }
        let mut file_cfg = AuthConfig::default();
        let user = auth.username.clone().unwrap_or_default();
        let pass = auth
            .password
            .as_ref()
            .map(|p| p.expose().to_owned())
            .unwrap_or_default();
        if !user.is_empty() || !pass.is_empty() {
            file_cfg.auth = Some(AuthConfig::encode_auth(&user, &pass));
        } else {
            file_cfg.auth.clone_from(&auth.auth);
        }
        file_cfg.identity_token.clone_from(&auth.identity_token);
        file_cfg.registry_token.clone_from(&auth.registry_token);
        self.set_entry(key, file_cfg);
        Ok(Stored::File(self.path.clone()))
    }

    /// Removes the credentials for `key`: from the responsible helper (where
    /// "not found" is not an error) and from the file. Call
    /// [`DockerConfigFile::save`] after. Returns whether anything was removed.
    pub async fn erase(&mut self, key: &str, env: &Environment) -> Result<bool> {
        let mut removed = false;
        if let Some(helper) = self.helper_for(key) {
            let helper = CredentialHelper::new(helper, env)?;
            removed |= helper.erase(key).await?;
        }
        removed |= self.remove_entry(key);
        Ok(removed)
    }

    /// Drops the `auths` entry for exactly `key`; returns whether there was one.
    pub(crate) fn remove_entry(&mut self, key: &str) -> bool {
        let before = self.auths.len();
        self.auths.retain(|(k, _)| k != key);
        self.auths.len() != before
    }

    fn set_entry(&mut self, key: &str, config: AuthConfig) {
        // Only `auth`, `identitytoken` and `registrytoken` are written, as docker does.
        let wire = Wire {
            auth: config.auth.as_ref().map(|s| s.expose().to_owned()),
            identitytoken: config
                .identity_token
                .as_ref()
                .map(|s| s.expose().to_owned()),
            registrytoken: config
                .registry_token
                .as_ref()
                .map(|s| s.expose().to_owned()),
            ..Wire::default()
        };
        let raw = pretty_raw(&wire, 2);
        let entry = AuthEntry { raw, config };
        if let Some(slot) = self.auths.iter_mut().find(|(k, _)| k == key) {
            slot.1 = entry;
        } else {
            self.auths.push((key.to_owned(), entry));
        }
    }

    /// The file's bytes as [`DockerConfigFile::save`] writes them: `auths`
    /// first if it was not in the file, every other member in its place with
    /// its bytes untouched, tab-indented like docker.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut members: Vec<(&str, String)> = Vec::new();
        let mut auths_text = String::from("{");
        for (i, (key, entry)) in self.auths.iter().enumerate() {
            auths_text.push_str(if i == 0 { "\n" } else { ",\n" });
            auths_text.push_str("\t\t");
            auths_text.push_str(&json_string(key));
            auths_text.push_str(": ");
            auths_text.push_str(entry.raw.get());
        }
        auths_text.push_str(if self.auths.is_empty() { "}" } else { "\n\t}" });
        let mut auths_slot = Some(auths_text);
        if !self.members.iter().any(|(k, _)| k == "auths") {
            // docker always writes `auths`, first.
            members.push(("auths", auths_slot.take().unwrap_or_default()));
        }
        for (key, raw) in &self.members {
            if key == "auths" {
                members.push(("auths", auths_slot.take().unwrap_or_default()));
            } else {
                members.push((key, raw.get().to_owned()));
            }
        }
        let mut out = String::from("{");
        for (i, (key, value)) in members.iter().enumerate() {
            out.push_str(if i == 0 { "\n\t" } else { ",\n\t" });
            out.push_str(&json_string(key));
            out.push_str(": ");
            out.push_str(value);
        }
        out.push_str("\n}");
        out.into_bytes()
    }

    /// Writes the file atomically: a temporary file in the same directory
    /// (mode 0600), synced, then renamed over the target. The directory is
    /// created with mode 0700 if missing; if the path is a symlink, the file it
    /// points to is replaced and the link kept.
    pub fn save(&self) -> Result<()> {
        write_atomically(&self.path, &self.to_bytes())
    }
}

/// Where [`DockerConfigFile::store`] put the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stored {
    /// In the config file itself, base64-encoded but not encrypted.
    File(PathBuf),
    /// In the named credential helper.
    Helper(String),
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// Pretty JSON with tabs, indented to sit `depth` levels deep.
fn pretty_raw(value: &impl serde::Serialize, depth: usize) -> Box<RawValue> {
    let mut buf = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"\t");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
    let text = if value.serialize(&mut ser).is_ok() {
        String::from_utf8(buf).unwrap_or_else(|_| "{}".to_owned())
    } else {
        "{}".to_owned()
    };
    let indent = "\t".repeat(depth);
    let text = text.replace('\n', &format!("\n{indent}"));
    RawValue::from_string(text).unwrap_or_else(|_| empty_object())
}

fn empty_object() -> Box<RawValue> {
    RawValue::from_string("{}".to_owned()).expect("`{}` is valid JSON")
}

/// Follows symlinks (at most 40) to the file that should be replaced,
/// so a symlinked config stays a symlink.
fn resolve_target(path: &Path) -> PathBuf {
    let mut current = path.to_owned();
    for _ in 0..40 {
        match fs_err::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => match fs_err::read_link(&current) {
                Ok(next) => {
                    current = if next.is_absolute() {
                        next
                    } else {
                        current.parent().map_or(next.clone(), |p| p.join(&next))
                    };
                }
                Err(_) => break,
            },
            _ => break,
        }
    }
    current
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    #[expect(
        clippy::disallowed_types,
        reason = "fs_err has no blocking DirBuilder; the error is worded to name the path below"
    )]
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| named(dir, "create directory", &e))
}

/// `source` worded as `fs_err` words its errors (`failed to <doing> `<path>`: <cause>`),
/// for the few operations it does not wrap.
fn named(path: &Path, doing: &str, source: &std::io::Error) -> std::io::Error {
    std::io::Error::new(
        source.kind(),
        format!("failed to {doing} `{}`: {source}", path.display()),
    )
}

/// Writes `contents` to `path` through a temp file in the same directory and
/// a rename; the temp file is removed on any error.
pub(crate) fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    let target = resolve_target(path);
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."))
        .to_owned();
    let write_err = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::WriteConfig { path, source }
    };
    create_private_dir(&dir).map_err(write_err(&dir))?;
    warn_if_loose(&target);
    let mut tmp = tempfile::Builder::new()
        .prefix(".config.json.")
        .suffix(".tmp")
        .make_in(&dir, |p| {
            let mut options = fs_err::OpenOptions::new();
            options.read(true).write(true).create_new(true);
            #[cfg(unix)]
            fs_err::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            options.open(p)
        })
        .map_err(write_err(&dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(write_err(tmp.path()))?;
    }
    // Through the fs_err file, whose errors name it (tempfile's own would name it again).
    tmp.as_file_mut()
        .write_all(contents)
        .map_err(write_err(&target))?;
    tmp.as_file().sync_all().map_err(write_err(&target))?;
    let temp_path = tmp.path().to_owned();
    tmp.persist(&target).map_err(|e| Error::WriteConfig {
        source: named(
            &temp_path,
            &format!("rename to `{}` from", target.display()),
            &e.error,
        ),
        path: target.clone(),
    })?;
    tracing::debug!(path = %target.display(), "saved credentials file");
    Ok(())
}

#[cfg(unix)]
fn warn_if_loose(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(meta) = fs_err::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format_args!("{mode:o}"),
                "credentials file was readable by others; rewriting it with mode 600"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_loose(_path: &Path) {}

#[cfg(test)]
mod tests {
    use base64::Engine as _;

    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn parse(json: &str) -> DockerConfigFile {
        DockerConfigFile::parse("/x/config.json", ConfigKind::Docker, json.as_bytes()).unwrap()
    }

    /// The error and its causes, as a report shows them on one line.
    fn chain(err: &Error) -> String {
        let mut shown = err.to_string();
        let mut cause = std::error::Error::source(err);
        while let Some(c) = cause {
            shown = format!("{shown}: {c}");
            cause = c.source();
        }
        shown
    }

    #[tokio::test]
    async fn file_errors_name_the_path_once() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the file should be: reading it fails (it is not missing).
        let err = DockerConfigFile::load(dir.path(), ConfigKind::Docker)
            .await
            .unwrap_err();
        assert!(matches!(&err, Error::ReadConfig { path, .. } if path == dir.path()));
        let shown = chain(&err);
        let path = dir.path().display().to_string();
        assert_eq!(shown.matches(&*path).count(), 1, "{shown}");
        assert!(
            shown.starts_with("reading credentials file: failed to "),
            "{shown}"
        );

        // Writing through a file where the directory should be.
        let blocker = dir.path().join("blocker");
        fs_err::write(&blocker, b"").unwrap();
        let err = write_atomically(&blocker.join("config.json"), b"{}").unwrap_err();
        let shown = chain(&err);
        let path = blocker.display().to_string();
        assert_eq!(shown.matches(&*path).count(), 1, "{shown}");
        assert!(
            shown.starts_with("writing credentials file: failed to "),
            "{shown}"
        );
    }

    #[test]
    fn key_normalisation() {
        let cases = [
            ("index.docker.io", DEFAULT_AUTH_KEY),
            ("docker.io", DEFAULT_AUTH_KEY),
            ("https://index.docker.io/v1/", DEFAULT_AUTH_KEY),
            ("registry-1.docker.io", DEFAULT_AUTH_KEY),
            ("http://test.io/v1/", "test.io"),
            ("https://test.io/v2/", "test.io"),
            ("localhost:5000", "localhost:5000"),
            ("gcr.io", "gcr.io"),
        ];
        for (input, want) in cases {
            assert_eq!(auth_key_for_registry(input), want, "{input}");
        }
        assert_eq!(registry_host_of_key("test.io/repo"), None);
        assert_eq!(registry_host_of_key("https://test.io/v1/"), Some("test.io"));
        assert_eq!(
            registry_host_of_key(DEFAULT_AUTH_KEY),
            Some("index.docker.io")
        );
        assert_eq!(registry_host_of_key("docker.io"), Some("index.docker.io"));
    }

    #[test]
    fn file_lookup() {
        let cfg = parse(&format!(
            r#"{{"auths": {{
                "test.io/other": {{"auth": "{a}"}},
                "http://test.io/v1/": {{"auth": "{b}"}},
                "docker.io": {{"auth": "{c}"}}
            }}}}"#,
            a = b64("repo:x"),
            b = b64("v1:y"),
            c = b64("hub:z"),
        ));
        assert_eq!(
            cfg.file_auth("test.io").unwrap().username.as_deref(),
            Some("v1")
        );
        assert_eq!(
            cfg.file_auth("test.io/other").unwrap().username.as_deref(),
            Some("repo")
        );
        assert!(
            cfg.file_auth("test.io/mine").is_none(),
            "repo keys only match exactly"
        );
        assert_eq!(
            cfg.file_auth(DEFAULT_AUTH_KEY).unwrap().username.as_deref(),
            Some("hub")
        );
        assert!(cfg.file_auth("other.io").is_none());
        assert_eq!(cfg.auth_keys().count(), 3);
    }

    #[test]
    fn parse_errors_name_file_not_content() {
        for json in [
            "}{".to_owned(),
            r#"{"auths": "secret-canary"}"#.to_owned(),
            r#"{"auths": {"r.io": {"auth": ["secret-canary"]}}}"#.to_owned(),
            r#"{"credsStore": 5}"#.to_owned(),
            format!(
                r#"{{"auths": {{"r.io": {{"auth": "{}"}}}}}}"#,
                b64("secret-canary")
            ),
        ] {
            let err =
                DockerConfigFile::parse("/x/config.json", ConfigKind::Docker, json.as_bytes())
                    .unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains("/x/config.json"), "{msg}");
            assert!(!msg.contains("canary"), "{msg}");
        }
        let err = DockerConfigFile::parse(
            "/x/config.json",
            ConfigKind::Docker,
            format!(
                r#"{{"auths": {{"r.io": {{"auth": "{}"}}}}}}"#,
                b64("nocolon")
            )
            .as_bytes(),
        )
        .unwrap_err();
        assert!(
            matches!(err, Error::InvalidAuth { key: Some(ref k), .. } if k == "r.io"),
            "{err}"
        );
    }

    #[test]
    fn empty_and_null_fields() {
        let cfg = parse("  \n");
        assert_eq!(cfg.auth_keys().count(), 0);
        let cfg = parse(r#"{"auths": null, "credsStore": "", "credHelpers": null}"#);
        assert_eq!(cfg.creds_store(), None);
        assert!(cfg.cred_helpers().is_empty());
        let cfg = parse(
            r#"{"credsStore": "desktop", "credHelpers": {"gcr.io": "gcloud"}, "HttpHeaders": {"X-A": "1"}}"#,
        );
        assert_eq!(cfg.helper_for("gcr.io"), Some("gcloud"));
        assert_eq!(cfg.helper_for("r.io"), Some("desktop"));
        assert_eq!(cfg.http_headers(), &[("X-A".to_owned(), "1".to_owned())]);
    }

    #[tokio::test]
    async fn store_writes_auth_only_and_preserves_the_rest() {
        let original = "{\n\t\"auths\": {\n\t\t\"keep.io\": {\"auth\": \"a2VlcDpr\", \"email\": \"x@y\"}\n\t},\n\t\"psFormat\": \"table {{.ID}}\",\n\t\"future\": {\"nested\": [1, 2.50, \"x\"]}\n}";
        let mut cfg = parse(original);
        let stored = cfg
            .store(
                "new.io",
                &AuthConfig::basic("u", "p"),
                &Environment::empty(),
            )
            .await
            .unwrap();
        assert_eq!(stored, Stored::File(PathBuf::from("/x/config.json")));
        let text = String::from_utf8(cfg.to_bytes()).unwrap();
        assert!(
            text.contains(r#""keep.io": {"auth": "a2VlcDpr", "email": "x@y"}"#),
            "{text}"
        );
        assert!(
            text.contains(r#""future": {"nested": [1, 2.50, "x"]}"#),
            "{text}"
        );
        assert!(text.contains(r#""psFormat": "table {{.ID}}""#), "{text}");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value["auths"]["new.io"],
            serde_json::json!({"auth": b64("u:p")})
        );
        let keys: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys.len(), 3);
        // Reparses to the same meaning.
        let again = parse(&text);
        assert_eq!(
            again
                .file_auth("new.io")
                .unwrap()
                .password
                .as_ref()
                .unwrap()
                .expose(),
            "p"
        );

        assert!(cfg.erase("new.io", &Environment::empty()).await.unwrap());
        assert!(!cfg.erase("new.io", &Environment::empty()).await.unwrap());
        let text = String::from_utf8(cfg.to_bytes()).unwrap();
        assert!(!text.contains("new.io"));
    }

    #[test]
    fn to_bytes_of_empty_config_adds_auths() {
        let cfg = parse(r#"{"credsStore":"desktop"}"#);
        let text = String::from_utf8(cfg.to_bytes()).unwrap();
        assert_eq!(
            text,
            "{\n\t\"auths\": {},\n\t\"credsStore\": \"desktop\"\n}"
        );
    }

    #[test]
    fn debug_lists_keys_not_secrets() {
        let cfg = parse(&format!(
            r#"{{"auths": {{"r.io": {{"auth": "{}"}}}}}}"#,
            b64("u:canary")
        ));
        let dbg = format!("{cfg:?}");
        assert!(dbg.contains("r.io"));
        assert!(
            !dbg.contains("canary") && !dbg.contains(&b64("u:canary")),
            "{dbg}"
        );
    }
}
