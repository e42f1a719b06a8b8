//! `crane auth`: log in and out, act as a credential helper, fetch tokens.

use std::fmt;
use std::io::Read;

use ocireg_authn::{
    AuthConfig, LoginOutcome, LogoutOutcome, Resource, Secret, TOKEN_USERNAME, login, logout,
};
use ocireg_transport::{Scope, Scopes};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::options::Options;

/// What credential helpers print when they hold nothing for a server; `crane
/// auth get` prints it (on stdout) and exits 1, as the protocol wants.
pub const CREDENTIALS_NOT_FOUND: &str = "credentials not found in native keychain";

/// Credentials in the credential-helper protocol's shape (`auth get`).
///
/// `Debug` shows the secret as `****`; [`to_json`](Self::to_json) is the
/// only way out for the secret, and it is meant for stdout.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Credentials {
    /// The user name, or `<token>` when [`secret`](Self::secret) is an
    /// identity token.
    pub username: String,
    /// The password or identity token.
    pub secret: Secret,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("secret", &self.secret)
            .finish()
    }
}

#[derive(Serialize)]
struct WireCredentials<'a> {
    #[serde(rename = "Username")]
    username: &'a str,
    #[serde(rename = "Secret")]
    secret: &'a str,
}

impl Credentials {
    /// From the credentials a keychain answered (an identity token wins
    /// over a password, as docker's native store does).
    fn from_auth_config(config: &AuthConfig) -> Self {
        if let Some(token) = &config.identity_token {
            return Self {
                username: TOKEN_USERNAME.to_owned(),
                secret: token.clone(),
            };
        }
        Self {
            username: config.username.clone().unwrap_or_default(),
            secret: config.password.clone().unwrap_or_else(|| Secret::new("")),
        }
    }

    /// `{"Username":"...","Secret":"..."}` and a newline, what a credential
    /// helper's `get` prints. Contains the secret.
    #[must_use]
    pub fn to_json(&self) -> String {
        let wire = WireCredentials {
            username: &self.username,
            secret: self.secret.expose(),
        };
        let mut text = serde_json::to_string(&wire).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// A registry token from `auth token`, with what the token service said along with it.
///
/// `Debug` shows the secrets as `****`; [`to_json`](Self::to_json) and
/// [`header`](Self::header) are for stdout.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Token {
    /// The bearer token.
    pub token: Secret,
    /// Its lifetime in seconds, when the token service said.
    pub expires_in: Option<u64>,
    /// The refresh token, when the token service sent one.
    pub refresh_token: Option<Secret>,
}

/// [`Token`] as ggcr's `crane auth token` prints it (its `transport.Token`, fields in
/// that order, `refresh_token` and `expires_in` always present).
#[derive(Serialize)]
struct WireToken<'a> {
    token: &'a str,
    refresh_token: &'a str,
    expires_in: u64,
}

impl Token {
    /// `{"token":"...","refresh_token":"...","expires_in":N}` and a newline, as ggcr
    /// prints it: an unknown refresh token is `""` and an unknown lifetime `0`. Go's JSON
    /// escapes (`<`, `>`, `&` as `\u003c`...) and, since the token service chose the
    /// text, any [unsafe character](crate::is_unsafe_char) as a JSON `\u` escape.
    #[must_use]
    pub fn to_json(&self) -> String {
        let wire = WireToken {
            token: self.token.expose(),
            refresh_token: self.refresh_token.as_ref().map_or("", Secret::expose),
            expires_in: self.expires_in.unwrap_or(0),
        };
        let bytes = ocireg_v1::to_go_json(&wire).unwrap_or_default();
        let mut text = String::from_utf8_lossy(&bytes).into_owned();
        text.push('\n');
        crate::escape_json(&text).into_owned()
    }

    /// `Authorization: Bearer <token>` (no newline, as crane prints it, for
    /// `curl -H "$(crane auth token -H REPO)"`), with any
    /// [unsafe character](crate::is_unsafe_char) of the token escaped (such a
    /// token is no valid header value anyway).
    #[must_use]
    pub fn header(&self) -> String {
        format!(
            "Authorization: Bearer {}",
            crate::escape_text(self.token.expose())
        )
    }
}

/// Reads a password from `reader` (crane's `--password-stdin`): everything,
/// less one trailing `\n` and then one trailing `\r`.
pub fn read_password(mut reader: impl Read) -> Result<Secret> {
    let mut text = String::new();
    reader
        .read_to_string(&mut text)
        .map_err(|source| Error::Io {
            doing: "reading the password from stdin".to_owned(),
            source,
        })?;
    if text.ends_with('\n') {
        text.pop();
    }
    if text.ends_with('\r') {
        text.pop();
    }
    Ok(Secret::new(text))
}

/// Stores `username` and `password` for `server` in docker's config file
/// (through its credential helper when one is configured), as `crane auth
/// login` does. Nothing is sent to the registry.
///
/// Both must be non-empty ("username and password required", a usage error).
pub async fn auth_login(
    server: &str,
    username: &str,
    password: &Secret,
    opts: &Options,
) -> Result<LoginOutcome> {
    if username.is_empty() || password.is_empty() {
        return Err(Error::InvalidArgument {
            doing: format!("logging in to {server}"),
            reason: "username and password required",
        });
    }
    let registry = opts.parse_registry(server)?;
    login(
        opts.environment(),
        registry.name(),
        &AuthConfig::basic(username, password.clone()),
    )
    .await
    .map_err(|source| Error::Credentials {
        doing: format!("storing credentials for {}", registry.name()),
        source,
    })
}

/// Removes the credentials for `server` from docker's config file and its
/// credential helper, as `crane auth logout` does. Having none is fine.
pub async fn auth_logout(server: &str, opts: &Options) -> Result<LogoutOutcome> {
    let registry = opts.parse_registry(server)?;
    logout(opts.environment(), registry.name())
        .await
        .map_err(|source| Error::Credentials {
            doing: format!("removing credentials for {}", registry.name()),
            source,
        })
}

/// The credentials the keychain holds for `server` (crane's `auth get`, a
/// credential helper over every configured source); `None` when there are
/// none, which the CLI reports with [`CREDENTIALS_NOT_FOUND`] and exit code 1.
pub async fn auth_get(server: &str, opts: &Options) -> Result<Option<Credentials>> {
    let registry = opts.parse_registry(server.trim())?;
    let resource = Resource::from(&registry);
    let auth = opts.authenticator(&resource).await?;
    if auth.is_anonymous() {
        return Ok(None);
    }
    let config = auth
        .authorization()
        .await
        .map_err(|source| Error::Credentials {
            doing: format!("reading credentials for {}", registry.name()),
            source,
        })?;
    Ok(Some(Credentials::from_auth_config(&config)))
}

/// Pings the registry of `repository` and exchanges the keychain's
/// credentials for a bearer token with pull scope on it (push and pull with
/// `push`), plus pull scope on each repository in `mounts` (crane's `auth
/// token`). The token comes with its lifetime and refresh token when the token
/// service sent them.
pub async fn auth_token(
    repository: &str,
    push: bool,
    mounts: &[String],
    opts: &Options,
) -> Result<Token> {
    let repo = opts.parse_repository(repository)?;
    let mut scopes = Scopes::none();
    scopes.push_back(if push {
        Scope::push(repo.repository_str())
    } else {
        Scope::pull(repo.repository_str())
    });
    for mount in mounts {
        let from = opts.parse_repository(mount)?;
        scopes.push_back(Scope::pull(from.repository_str()));
    }
    let auth = opts.authenticator(&Resource::from(&repo)).await?;
    let doing = || format!("getting a token for {}", repo.name());
    let transport = opts
        .client()
        .await?
        .for_repository(&repo, scopes, auth)
        .await
        .map_err(|source| Error::Transport {
            doing: doing(),
            source,
        })?;
    let reply = transport
        .bearer_token_reply()
        .await
        .map_err(|source| Error::Transport {
            doing: doing(),
            source,
        })?;
    reply
        .map(|reply| Token {
            token: reply.token,
            expires_in: reply.expires_in,
            refresh_token: reply.refresh_token,
        })
        .ok_or_else(|| Error::NoBearerToken {
            registry: repo.registry().name().to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use ocireg_authn::Environment;

    fn opts_in(dir: &std::path::Path) -> Options {
        Options::new().with_environment(
            Environment::empty()
                .with_home(dir)
                .with_var("DOCKER_CONFIG", dir.join("docker").to_string_lossy()),
        )
    }

    #[test]
    fn password_from_reader_strips_one_line_end() {
        let table = [
            ("s3cret\n", "s3cret"),
            ("s3cret\r\n", "s3cret"),
            ("s3cret", "s3cret"),
            ("s3cret\n\n", "s3cret\n"),
            (" spaced \n", " spaced "),
        ];
        for (input, want) in table {
            let got = read_password(input.as_bytes()).expect("read");
            assert_eq!(got.expose(), want, "{input:?}");
        }
    }

    #[test]
    fn credentials_json_and_debug() {
        let c = Credentials {
            username: "alice".to_owned(),
            secret: Secret::new("hunter2"),
        };
        assert_eq!(
            c.to_json(),
            "{\"Username\":\"alice\",\"Secret\":\"hunter2\"}\n"
        );
        assert!(!format!("{c:?}").contains("hunter2"));
        let token = Credentials::from_auth_config(&AuthConfig::identity_token("alice", "idtok"));
        assert_eq!(token.username, "<token>");
        assert_eq!(token.secret.expose(), "idtok");
    }

    fn bare(token: &str) -> Token {
        Token {
            token: Secret::new(token),
            expires_in: None,
            refresh_token: None,
        }
    }

    #[test]
    fn token_output_forms() {
        let t = bare("abc.def");
        assert_eq!(
            t.to_json(),
            "{\"token\":\"abc.def\",\"refresh_token\":\"\",\"expires_in\":0}\n"
        );
        assert_eq!(t.header(), "Authorization: Bearer abc.def");
        assert!(!format!("{t:?}").contains("abc.def"));

        // What the token service said along with it, in ggcr's order and escapes.
        let t = Token {
            token: Secret::new("a<b>&c"),
            expires_in: Some(300),
            refresh_token: Some(Secret::new("r.e.f")),
        };
        assert_eq!(
            t.to_json(),
            "{\"token\":\"a\\u003cb\\u003e\\u0026c\",\"refresh_token\":\"r.e.f\",\"expires_in\":300}\n"
        );
        let debug = format!("{t:?}");
        assert!(
            !debug.contains("r.e.f") && !debug.contains("a<b>"),
            "{debug}"
        );

        // The token server chose the token: nothing in it reaches a terminal raw.
        let t = bare("a\u{1b}[2J\u{9b}\u{202e}");
        assert_eq!(
            t.to_json(),
            "{\"token\":\"a\\u001b[2J\\u009b\\u202e\",\"refresh_token\":\"\",\"expires_in\":0}\n"
        );
        assert_eq!(t.header(), r"Authorization: Bearer a\x1b[2J\u{9b}\u{202e}");
    }

    #[tokio::test]
    async fn login_get_logout_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = opts_in(dir.path());
        assert_eq!(auth_get("r.example", &opts).await.expect("get"), None);

        let out = auth_login("r.example", "alice", &Secret::new("hunter2"), &opts)
            .await
            .expect("login");
        assert_eq!(out.key, "r.example");
        let text = fs_err::read_to_string(dir.path().join("docker/config.json")).expect("read");
        assert!(!text.contains("hunter2"), "stored base64, not in the clear");

        let got = auth_get("r.example", &opts)
            .await
            .expect("get")
            .expect("found");
        assert_eq!(got.username, "alice");
        assert_eq!(got.secret.expose(), "hunter2");
        assert_eq!(auth_get("other.example", &opts).await.expect("get"), None);

        assert!(
            auth_logout("r.example", &opts)
                .await
                .expect("logout")
                .removed
        );
        assert_eq!(auth_get("r.example", &opts).await.expect("get"), None);
        assert!(
            !auth_logout("r.example", &opts)
                .await
                .expect("logout")
                .removed
        );
    }

    #[tokio::test]
    async fn login_needs_both_fields_and_a_valid_server() {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = opts_in(dir.path());
        for (user, pass) in [("", "p"), ("u", ""), ("", "")] {
            let err = auth_login("r.example", user, &Secret::new(pass), &opts)
                .await
                .expect_err("refused");
            assert_eq!(err.kind(), ErrorKind::Usage);
            assert!(
                err.to_string().ends_with("username and password required"),
                "{err}"
            );
        }
        let err = auth_login("a b", "u", &Secret::new("p"), &opts)
            .await
            .expect_err("bad server");
        assert_eq!(err.kind(), ErrorKind::Usage);
        assert!(!dir.path().join("docker/config.json").exists());
    }

    #[tokio::test]
    async fn token_from_a_registry_without_bearer_auth_is_an_error() {
        let registry = ocireg_registry::Registry::builder()
            .build()
            .expect("build")
            .spawn_on("127.0.0.1:0")
            .await
            .expect("spawn");
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = opts_in(dir.path());
        let err = auth_token(&format!("{}/app", registry.host()), false, &[], &opts)
            .await
            .expect_err("no bearer");
        assert!(matches!(err, Error::NoBearerToken { .. }), "{err:?}");
        registry.shutdown().await.expect("shutdown");
    }
}
