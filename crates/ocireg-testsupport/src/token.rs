//! A docker token server (GET and OAuth2 POST flows) that signs ES256 JWTs
//! distribution trusts. This file is its set-up and handle; how it answers a
//! request is in `token/answer.rs`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Method;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use tokio::net::TcpListener;

use crate::ca::{IssuedCert, TestCa};
use crate::distribution::TokenAuthConfig;
use crate::error::{Error, Result};
use crate::server::{self, Background, lock};
use crate::util::{b64_std, unix_now};

mod answer;

use answer::parse_scope;

/// The service name (token audience) unless told otherwise.
pub const DEFAULT_SERVICE: &str = "ocireg-test-registry";
/// The issuer name unless told otherwise.
pub const DEFAULT_ISSUER: &str = "ocireg-test-token-server";
/// The largest request body we read.
const MAX_BODY: usize = 1024 * 1024;

/// A user of a [`TokenServer`], with a password and what it may do.
#[derive(Clone)]
#[must_use]
pub struct User {
    name: String,
    password: String,
    grants: Vec<Grant>,
}

#[derive(Clone, Debug)]
struct Grant {
    kind: String,
    name: String,
    actions: Vec<String>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("password", &"****")
            .field("grants", &self.grants)
            .finish()
    }
}

impl User {
    /// A user with no permissions yet.
    pub fn new(name: impl Into<String>, password: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            password: password.into(),
            grants: Vec::new(),
        }
    }

    /// Allows `actions` (`pull`, `push`, `delete`, or `*` for all) on
    /// `repository` (`*` for every repository).
    pub fn allow<I, A>(mut self, repository: impl Into<String>, actions: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<String>,
    {
        self.grants.push(Grant {
            kind: "repository".to_owned(),
            name: repository.into(),
            actions: actions.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// Allows listing the catalog (`registry:catalog:*`).
    pub fn allow_catalog(mut self) -> Self {
        self.grants.push(Grant {
            kind: "registry".to_owned(),
            name: "catalog".to_owned(),
            actions: vec!["*".to_owned()],
        });
        self
    }
}

/// Which token fields a [`TokenServer`] puts in its GET answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenFields {
    /// Both `token` and `access_token` (like Docker Hub).
    #[default]
    Both,
    /// Only `token`.
    TokenOnly,
    /// Only `access_token`.
    AccessTokenOnly,
}

/// One request a [`TokenServer`] received (passwords and tokens left out).
#[derive(Clone, Debug)]
pub struct TokenRequest {
    /// `GET` or `POST` (or anything else a client sent).
    pub method: Method,
    /// The path and query as sent.
    pub target: String,
    /// The user named by Basic auth or the password grant, if any.
    pub username: Option<String>,
    /// Whether an `Authorization` header arrived.
    pub had_authorization: bool,
    /// `grant_type` of a POST.
    pub grant_type: Option<String>,
    /// `service` as sent.
    pub service: Option<String>,
    /// `client_id` as sent.
    pub client_id: Option<String>,
    /// Every requested scope, split on spaces.
    pub scopes: Vec<String>,
    /// The status we answered with.
    pub status: u16,
}

/// Builds a [`TokenServer`]; see [`TokenServer::builder`].
#[derive(Debug)]
#[must_use]
pub struct TokenServerBuilder {
    service: String,
    issuer: String,
    users: Vec<User>,
    anonymous_pull: bool,
    expires_in: Option<Duration>,
    fields: TokenFields,
    tls: Option<TestCa>,
}

impl Default for TokenServerBuilder {
    fn default() -> Self {
        Self {
            service: DEFAULT_SERVICE.to_owned(),
            issuer: DEFAULT_ISSUER.to_owned(),
            users: Vec::new(),
            anonymous_pull: false,
            expires_in: Some(Duration::from_secs(300)),
            fields: TokenFields::Both,
            tls: None,
        }
    }
}

impl TokenServerBuilder {
    /// The service (token audience) the registry expects.
    pub fn service(mut self, service: impl Into<String>) -> Self {
        self.service = service.into();
        self
    }

    /// The issuer the registry expects.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = issuer.into();
        self
    }

    /// Adds a user.
    pub fn user(mut self, user: User) -> Self {
        self.users.push(user);
        self
    }

    /// Grants `pull` on every repository to anyone, credentials or not.
    pub fn anonymous_pull(mut self, enabled: bool) -> Self {
        self.anonymous_pull = enabled;
        self
    }

    /// Token lifetime, sent as `expires_in`; `None` leaves `expires_in` out
    /// of the answers (tokens then live 60 s, the protocol's default).
    pub fn expires_in(mut self, lifetime: Option<Duration>) -> Self {
        self.expires_in = lifetime;
        self
    }

    /// Which token fields GET answers carry.
    pub fn token_fields(mut self, fields: TokenFields) -> Self {
        self.fields = fields;
        self
    }

    /// Serves https with a certificate from `ca`.
    pub fn tls(mut self, ca: &TestCa) -> Self {
        self.tls = Some(ca.clone());
        self
    }

    /// Creates the signing certificate, binds a free 127.0.0.1 port and serves.
    pub async fn start(self) -> Result<TokenServer> {
        let signing_ca = TestCa::new()?;
        let signing_cert = signing_ca.signing_cert("ocireg test token signer")?;
        let key = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            TestCa::pkcs8(&signing_cert),
            &SystemRandom::new(),
        )
        .map_err(|_| Error::Crypto)?;
        let tls = match &self.tls {
            Some(ca) => Some(tokio_rustls::TlsAcceptor::from(Arc::new(
                ca.server_config()?,
            ))),
            None => None,
        };
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| Error::io("binding the token server to 127.0.0.1:0", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::io("reading the token server's address", e))?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{addr}");
        let state = Arc::new(State {
            realm: format!("{url}/token"),
            service: self.service,
            issuer: self.issuer,
            users: self.users,
            anonymous_pull: self.anonymous_pull,
            expires_in: self.expires_in,
            fields: self.fields,
            signer: Signer {
                key,
                x5c: b64_std(signing_cert.cert_der().as_ref()),
                rng: SystemRandom::new(),
            },
            signing_ca,
            _signing_cert: signing_cert,
            requests: Mutex::new(Vec::new()),
            failures: Mutex::new((0, 503)),
            post_not_found: Mutex::new(false),
            refresh_tokens: Mutex::new(HashMap::new()),
        });
        let background = server::spawn(listener, tls, Arc::clone(&state));
        Ok(TokenServer {
            addr,
            url,
            state,
            _background: background,
        })
    }
}

struct Signer {
    key: EcdsaKeyPair,
    x5c: String,
    rng: SystemRandom,
}

struct State {
    realm: String,
    service: String,
    issuer: String,
    users: Vec<User>,
    anonymous_pull: bool,
    expires_in: Option<Duration>,
    fields: TokenFields,
    signer: Signer,
    signing_ca: TestCa,
    _signing_cert: IssuedCert,
    requests: Mutex<Vec<TokenRequest>>,
    failures: Mutex<(usize, u16)>,
    post_not_found: Mutex<bool>,
    refresh_tokens: Mutex<HashMap<String, String>>,
}

/// A docker token server on 127.0.0.1 for registry auth tests.
///
/// - `GET <realm>?service=..&scope=..` with optional Basic auth answers
///   `{"token", "access_token", "expires_in", "issued_at"}` (plus
///   `refresh_token` with `offline_token=true` and credentials).
/// - `POST <realm>` with a form (`grant_type=password|refresh_token`,
///   `username`, `password`, `refresh_token`, `client_id` (required),
///   `scope`, `service`, `access_type=offline`) answers the OAuth2 way.
/// - Bad credentials get 401. Scopes are granted as far as the user's
///   permissions go; the rest is left out of the token, as real servers do.
///
/// Tokens are ES256 JWTs with the signing certificate in `x5c`; that
/// certificate chains to [`TokenServer::signing_ca_pem`], which is what
/// distribution's `rootcertbundle` holds (see
/// [`DistributionBuilder::token_auth`](crate::DistributionBuilder::token_auth)).
/// The server counts requests and can be told to fail
/// ([`TokenServer::fail_next`], [`TokenServer::set_post_not_found`]).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use ocireg_testsupport::{Distribution, TokenServer, User};
/// let tokens = TokenServer::builder()
///     .user(User::new("alice", "s3cret").allow("foo", ["pull", "push"]))
///     .start()
///     .await?;
/// let registry = Distribution::builder().token_auth(&tokens).start().await?;
/// # let _ = registry;
/// # Ok(()) }
/// ```
pub struct TokenServer {
    addr: SocketAddr,
    url: String,
    state: Arc<State>,
    _background: Background,
}

impl std::fmt::Debug for TokenServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenServer")
            .field("realm", &self.state.realm)
            .field("service", &self.state.service)
            .finish_non_exhaustive()
    }
}

impl TokenServer {
    /// A builder: no users, no anonymous access, plain http, 300 s tokens.
    pub fn builder() -> TokenServerBuilder {
        TokenServerBuilder::default()
    }

    /// The realm URL (`http://127.0.0.1:PORT/token`), as in the registry's challenge.
    pub fn realm(&self) -> &str {
        &self.state.realm
    }

    /// `http://127.0.0.1:PORT` (or https), without a trailing slash.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The service (token audience).
    pub fn service(&self) -> &str {
        &self.state.service
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// The PEM of the CA the signing certificate chains to: distribution's `rootcertbundle`.
    pub fn signing_ca_pem(&self) -> String {
        self.state.signing_ca.cert_pem()
    }

    /// What distribution needs to trust this server.
    pub fn auth_config(&self) -> TokenAuthConfig {
        TokenAuthConfig {
            realm: self.state.realm.clone(),
            service: self.state.service.clone(),
            issuer: self.state.issuer.clone(),
            root_cert_bundle_pem: self.signing_ca_pem(),
        }
    }

    /// How many requests arrived so far (failed ones included).
    pub fn request_count(&self) -> usize {
        lock(&self.state.requests).len()
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<TokenRequest> {
        lock(&self.state.requests).clone()
    }

    /// Answers the next `n` requests with `status` (and a JSON error body),
    /// whatever they are.
    pub fn fail_next(&self, n: usize, status: u16) {
        *lock(&self.state.failures) = (n, status);
    }

    /// Answers every POST with 404 (for the POST→GET fallback) while `on`.
    pub fn set_post_not_found(&self, on: bool) {
        *lock(&self.state.post_not_found) = on;
    }

    /// Signs a token directly, without a request: for `subject`, granting
    /// exactly `scopes` (`repository:foo:pull,push`), valid for `valid_for`
    /// from now. Useful to test how a registry treats a given token.
    pub fn mint_token(
        &self,
        subject: &str,
        scopes: &[&str],
        valid_for: Duration,
    ) -> Result<String> {
        let access = scopes.iter().filter_map(|s| parse_scope(s)).collect();
        let now = unix_now();
        self.state.sign(
            subject,
            access,
            now,
            now.saturating_add(valid_for.as_secs()),
        )
    }

    /// Signs a token that expired two minutes ago (beyond distribution's
    /// 60 s leeway), granting `scopes`.
    pub fn mint_expired_token(&self, subject: &str, scopes: &[&str]) -> Result<String> {
        let access = scopes.iter().filter_map(|s| parse_scope(s)).collect();
        let now = unix_now();
        self.state.sign(
            subject,
            access,
            now.saturating_sub(600),
            now.saturating_sub(120),
        )
    }
}
