//! The `docker-credential-<name>` protocol (docker-credential-helpers).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use std::sync::Arc;

use crate::auth_config::AuthConfig;
use crate::authenticator::Authenticator;
use crate::docker_config::DEFAULT_AUTH_KEY;
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::keychain::{Keychain, anonymous};
use crate::resource::Resource;
use crate::secret::Secret;

/// The user name a helper stores to say "the secret is an identity token".
pub const TOKEN_USERNAME: &str = "<token>";

/// The exact message helpers print when they hold nothing for a server.
const NOT_FOUND_MESSAGE: &str = "credentials not found in native keychain";

/// Helpers answer a few hundred bytes; anything near this is not the protocol.
const MAX_OUTPUT: u64 = 1 << 20;

/// Longest helper message we quote back in an error.
const MAX_MESSAGE: usize = 256;

/// What a helper returned for `get`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HelperCredentials {
    /// The server URL the helper answered for.
    pub server_url: String,
    /// The user name (`<token>` when `secret` is an identity token).
    pub username: String,
    /// The password or identity token.
    pub secret: Secret,
}

impl HelperCredentials {
    /// As an [`AuthConfig`]: `<token>` turns the secret into an identity
    /// token, anything else is a username and password.
    #[must_use]
    pub fn to_auth_config(&self) -> AuthConfig {
        if self.username == TOKEN_USERNAME {
            AuthConfig::identity_token(TOKEN_USERNAME, self.secret.clone())
        } else {
            AuthConfig::basic(self.username.clone(), self.secret.clone())
        }
    }
}

#[derive(Serialize, Deserialize)]
struct WireCredentials {
    #[serde(rename = "ServerURL", default)]
    server_url: String,
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

/// A credential helper program, `docker-credential-<name>` found on the
/// `PATH` of an [`Environment`].
///
/// The name must be a plain name (`[A-Za-z0-9._-]`, no `..`) so it cannot
/// point at a path; relative `PATH` entries (including the current
/// directory) are never searched. The helper runs with exactly the
/// environment's variables, its stderr goes to ours, its stdout is parsed as
/// the protocol's JSON and never logged, and it is killed after the
/// environment's helper timeout.
#[derive(Clone, Debug)]
pub struct CredentialHelper {
    name: String,
    env: Environment,
}

impl CredentialHelper {
    /// The helper `docker-credential-<name>`; fails if the name is not a
    /// plain name. The program is looked up when it is first run.
    pub fn new(name: impl Into<String>, env: &Environment) -> Result<Self> {
        let name = name.into();
        validate_name(&name)?;
        Ok(Self {
            name,
            env: env.clone(),
        })
    }

    /// The configured name (without `docker-credential-`).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The program file, searched on the environment's `PATH`.
    pub fn program(&self) -> Result<PathBuf> {
        let file = format!("docker-credential-{}", self.name);
        let path = self.env.var("PATH").unwrap_or_default();
        for dir in std::env::split_paths(path) {
            if !dir.is_absolute() {
                continue;
            }
            for candidate in candidates(&dir, &file) {
                if is_executable(&candidate) {
                    return Ok(candidate);
                }
            }
        }
        Err(Error::HelperNotFound {
            helper: self.name.clone(),
        })
    }

    /// `get`: the credentials for `server_url`, or `None` when the helper
    /// says it has none.
    pub async fn get(&self, server_url: &str) -> Result<Option<HelperCredentials>> {
        let out = self
            .run("get", server_url, server_url.as_bytes(), None)
            .await?;
        let Some(out) = out else { return Ok(None) };
        parse_get_output(&self.name, server_url, &out)
    }

    /// `store`: saves `username` and `secret` for `server_url`.
    pub async fn store(&self, server_url: &str, username: &str, secret: &Secret) -> Result<()> {
        let body = serde_json::to_vec(&WireCredentials {
            server_url: server_url.to_owned(),
            username: username.to_owned(),
            secret: secret.expose().to_owned(),
        })
        .map_err(|e| Error::HelperOutput {
            helper: self.name.clone(),
            action: "store",
            reason: format!("encoding the request ({})", crate::error::json_problem(&e)),
        })?;
        match self.run("store", server_url, &body, Some(secret)).await? {
            Some(_) => Ok(()),
            None => Err(self.failed("store", server_url, "exit status 1", NOT_FOUND_MESSAGE)),
        }
    }

    /// `erase`: forgets `server_url`. Returns `false` if the helper had
    /// nothing stored for it.
    pub async fn erase(&self, server_url: &str) -> Result<bool> {
        Ok(self
            .run("erase", server_url, server_url.as_bytes(), None)
            .await?
            .is_some())
    }

    /// `list`: server URL → user name for everything the helper stores.
    pub async fn list(&self) -> Result<BTreeMap<String, String>> {
        let Some(out) = self.run("list", "", b"unused", None).await? else {
            return Ok(BTreeMap::new());
        };
        parse_list_output(&self.name, &out)
    }

    fn failed(&self, action: &'static str, server: &str, status: &str, message: &str) -> Error {
        Error::HelperFailed {
            helper: self.name.clone(),
            action,
            server: server.to_owned(),
            status: status.to_owned(),
            message: message.to_owned(),
        }
    }

    /// Runs the helper; `Ok(None)` means "credentials not found". A
    /// `secret` in the input is scrubbed from any failure message quoted back.
    async fn run(
        &self,
        action: &'static str,
        server: &str,
        input: &[u8],
        secret: Option<&Secret>,
    ) -> Result<Option<Vec<u8>>> {
        let program = self.program()?;
        let io_err = |source| Error::HelperIo {
            helper: self.name.clone(),
            action,
            source,
        };
        tracing::debug!(helper = %self.name, action, server, "running credential helper");
        let mut cmd = tokio::process::Command::new(&program);
        cmd.arg(action)
            .env_clear()
            .envs(self.env.vars())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(io_err)?;
        let mut stdin = child.stdin.take();
        let mut stdout = child.stdout.take();
        let timeout = self.env.helper_timeout();

        let talk = async {
            let write = async {
                if let Some(mut stdin) = stdin.take() {
                    // A helper may exit without reading (list ignores stdin).
                    match stdin.write_all(input).await {
                        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e),
                        _ => {}
                    }
                    drop(stdin);
                }
                Ok(())
            };
            let read = async {
                let mut buf = Vec::new();
                if let Some(out) = stdout.take() {
                    out.take(MAX_OUTPUT + 1).read_to_end(&mut buf).await?;
                }
                Ok::<_, std::io::Error>(buf)
            };
            let (written, read) = tokio::join!(write, read);
            written?;
            let out = read?;
            let status = child.wait().await?;
            Ok::<_, std::io::Error>((status, out))
        };
        let (status, out) = match tokio::time::timeout(timeout, talk).await {
            Ok(result) => result.map_err(io_err)?,
            Err(_) => {
                // kill_on_drop reaps the child when `child` goes out of scope.
                return Err(Error::HelperTimeout {
                    helper: self.name.clone(),
                    action,
                    timeout,
                });
            }
        };
        if out.len() as u64 > MAX_OUTPUT {
            return Err(Error::HelperOutput {
                helper: self.name.clone(),
                action,
                reason: format!("more than {MAX_OUTPUT} bytes of output"),
            });
        }
        if status.success() {
            return Ok(Some(out));
        }
        // On failure the protocol puts the message on stdout.
        let Some(message) = failure_message(&out, secret) else {
            tracing::debug!(helper = %self.name, action, server, "credential helper has no credentials");
            return Ok(None);
        };
        let status = status
            .code()
            .map_or_else(|| status.to_string(), |c| format!("exit status {c}"));
        Err(self.failed(action, server, &status, &message))
    }
}

/// A credential helper used directly as a keychain (ggcr's
/// `authn.NewKeychainFromHelper`): asks `get` for the registry (Docker Hub
/// as `https://index.docker.io/v1/`). "Credentials not found" is anonymous;
/// unlike ggcr, any other helper failure is an error rather than anonymous.
#[async_trait::async_trait]
impl Keychain for CredentialHelper {
    async fn resolve(&self, resource: &Resource) -> Result<Arc<dyn Authenticator>> {
        let key = if resource.is_docker_hub() {
            DEFAULT_AUTH_KEY.to_owned()
        } else {
            resource.registry_str().to_owned()
        };
        Ok(match self.get(&key).await? {
            Some(creds) => Arc::new(creds.to_auth_config()),
            None => anonymous(),
        })
    }
}

/// Decodes the stdout of a successful `get` for `server_url`: `None` when
/// the helper answered with neither user name nor secret.
pub(crate) fn parse_get_output(
    helper: &str,
    server_url: &str,
    out: &[u8],
) -> Result<Option<HelperCredentials>> {
    let wire: WireCredentials = serde_json::from_slice(out).map_err(|e| Error::HelperOutput {
        helper: helper.to_owned(),
        action: "get",
        reason: format!(
            "not the credentials JSON ({})",
            crate::error::json_problem(&e)
        ),
    })?;
    if wire.username.is_empty() && wire.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(HelperCredentials {
        server_url: if wire.server_url.is_empty() {
            server_url.to_owned()
        } else {
            wire.server_url
        },
        username: wire.username,
        secret: Secret::new(wire.secret),
    }))
}

/// Decodes the stdout of a successful `list`: server URL to user name.
pub(crate) fn parse_list_output(helper: &str, out: &[u8]) -> Result<BTreeMap<String, String>> {
    serde_json::from_slice(out).map_err(|e| Error::HelperOutput {
        helper: helper.to_owned(),
        action: "list",
        reason: format!(
            "not a JSON object of server URL to user name ({})",
            crate::error::json_problem(&e)
        ),
    })
}

/// The message to quote from the stdout of a failed helper run: its first
/// line, `secret` scrubbed, at most [`MAX_MESSAGE`] characters. `None` when
/// the helper said it has no credentials.
pub(crate) fn failure_message(out: &[u8], secret: Option<&Secret>) -> Option<String> {
    let message = String::from_utf8_lossy(out);
    let message = message.trim();
    if message == NOT_FOUND_MESSAGE {
        return None;
    }
    let mut first = message.lines().next().unwrap_or_default().to_owned();
    if let Some(secret) = secret.filter(|s| !s.is_empty()) {
        first = first.replace(secret.expose(), "****");
    }
    let mut message: String = first.chars().take(MAX_MESSAGE).collect();
    if message.len() < first.len() {
        message.push('…');
    }
    Some(message)
}

fn validate_name(name: &str) -> Result<()> {
    let plain = !name.is_empty()
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if plain {
        Ok(())
    } else {
        Err(Error::InvalidHelperName {
            helper: name.to_owned(),
        })
    }
}

fn candidates(dir: &Path, file: &str) -> Vec<PathBuf> {
    let mut out = vec![dir.join(file)];
    if cfg!(windows) {
        for ext in ["exe", "cmd", "bat"] {
            out.push(dir.join(format!("{file}.{ext}")));
        }
    }
    out
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    fs_err::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    fs_err::metadata(path).is_ok_and(|m| m.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helper_names() {
        for ok in [
            "desktop",
            "ecr-login",
            "pass",
            "gcloud",
            "osxkeychain",
            "a.b_c-d",
        ] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "../evil",
            "a/b",
            "a\\b",
            "..",
            "x y",
            "#definitely-does-not-exist",
            "é",
        ] {
            let err = validate_name(bad).unwrap_err();
            assert!(matches!(err, Error::InvalidHelperName { .. }), "{bad}");
        }
    }

    #[test]
    fn token_username_means_identity_token() {
        let c = HelperCredentials {
            server_url: "r.io".into(),
            username: TOKEN_USERNAME.into(),
            secret: Secret::new("idt"),
        };
        let cfg = c.to_auth_config();
        assert_eq!(cfg.identity_token.unwrap().expose(), "idt");
        assert!(cfg.password.is_none());
        let c = HelperCredentials {
            username: "u".into(),
            ..c
        };
        assert_eq!(c.to_auth_config(), AuthConfig::basic("u", "idt"));
        assert!(!format!("{c:?}").contains("idt"));
    }

    #[test]
    fn missing_program_names_helper() {
        let env = Environment::empty().with_var("PATH", "/nonexistent-dir-for-test:relative/dir");
        let h = CredentialHelper::new("nope", &env).unwrap();
        let err = h.program().unwrap_err();
        assert!(err.to_string().contains("docker-credential-nope"), "{err}");
    }
}
