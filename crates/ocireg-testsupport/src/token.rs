//! A docker token server (GET and OAuth2 POST flows) that signs ES256 JWTs
//! distribution trusts.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use ring::rand::{SecureRandom as _, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde_json::json;
use tokio::net::TcpListener;

use crate::ca::{IssuedCert, TestCa};
use crate::distribution::TokenAuthConfig;
use crate::error::{Error, Result};
use crate::server::{self, Background, Conn, Handler, lock};
use crate::util::{b64_std, parse_form, rfc3339, unix_now};

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

/// A requested or granted resource: type, name, actions.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Access {
    kind: String,
    name: String,
    actions: Vec<String>,
}

/// `type:name:actions`; the name may itself hold colons (`host:5000/repo`).
fn parse_scope(scope: &str) -> Option<Access> {
    let (kind, rest) = scope.split_once(':')?;
    let (name, actions) = rest.rsplit_once(':')?;
    if kind.is_empty() || name.is_empty() {
        return None;
    }
    Some(Access {
        kind: kind.to_owned(),
        name: name.to_owned(),
        actions: actions
            .split(',')
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// Who is asking.
enum Principal<'a> {
    Anonymous,
    User(&'a User),
}

impl State {
    fn sign(&self, subject: &str, access: Vec<Access>, iat: u64, exp: u64) -> Result<String> {
        let mut jti = [0u8; 16];
        self.signer.rng.fill(&mut jti).map_err(|_| Error::Crypto)?;
        let header = json!({"typ": "JWT", "alg": "ES256", "x5c": [self.signer.x5c]});
        let access: Vec<serde_json::Value> = access
            .into_iter()
            .map(|a| json!({"type": a.kind, "name": a.name, "actions": a.actions}))
            .collect();
        let claims = json!({
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": exp,
            "nbf": iat,
            "iat": iat,
            "jti": URL_SAFE_NO_PAD.encode(jti),
            "access": access,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .signer
            .key
            .sign(&self.signer.rng, signing_input.as_bytes())
            .map_err(|_| Error::Crypto)?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }

    fn check_password(&self, name: &str, password: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.name == name && ring_eq(u.password.as_bytes(), password.as_bytes()))
    }

    /// What `who` gets of `requested`.
    fn grant(&self, who: &Principal<'_>, requested: &[Access]) -> Vec<Access> {
        let mut granted = Vec::new();
        for want in requested {
            let mut allowed: Vec<&str> = Vec::new();
            if self.anonymous_pull && want.kind == "repository" {
                allowed.push("pull");
            }
            if let Principal::User(user) = who {
                for g in &user.grants {
                    if g.kind == want.kind && (g.name == want.name || g.name == "*") {
                        allowed.extend(g.actions.iter().map(String::as_str));
                    }
                }
            }
            let actions: Vec<String> = want
                .actions
                .iter()
                .filter(|a| allowed.iter().any(|ok| *ok == "*" || ok == a))
                .cloned()
                .collect();
            if !actions.is_empty() {
                granted.push(Access {
                    kind: want.kind.clone(),
                    name: want.name.clone(),
                    actions,
                });
            }
        }
        granted
    }

    fn lifetime(&self) -> u64 {
        self.expires_in.map_or(60, |d| d.as_secs().max(1))
    }

    fn new_refresh_token(&self, user: &str) -> Result<String> {
        let mut raw = [0u8; 24];
        self.signer.rng.fill(&mut raw).map_err(|_| Error::Crypto)?;
        let token = format!("ocireg-refresh-{}", URL_SAFE_NO_PAD.encode(raw));
        lock(&self.refresh_tokens).insert(token.clone(), user.to_owned());
        Ok(token)
    }
}

/// Constant-time comparison, because we can.
fn ring_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Handler for State {
    fn accepted(&self) -> usize {
        0
    }

    async fn serve<S: Conn>(self: Arc<Self>, stream: S, _connection: usize) {
        let service = hyper::service::service_fn(move |req| {
            let state = Arc::clone(&self);
            async move { Ok::<_, Infallible>(handle(&state, req).await) }
        });
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service)
            .await;
    }
}

/// An answer before it becomes a response.
struct Answer {
    status: StatusCode,
    body: serde_json::Value,
    basic_challenge: bool,
}

impl Answer {
    fn ok(body: serde_json::Value) -> Self {
        Self {
            status: StatusCode::OK,
            body,
            basic_challenge: false,
        }
    }

    fn error(status: StatusCode, code: &str, message: &str) -> Self {
        Self {
            status,
            body: json!({
                "error": code,
                "error_description": message,
                "errors": [{"code": code.to_ascii_uppercase(), "message": message}],
            }),
            basic_challenge: status == StatusCode::UNAUTHORIZED,
        }
    }
}

async fn handle(state: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| "/".to_owned(), ToString::to_string);
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let mut record = TokenRequest {
        method: parts.method.clone(),
        target,
        username: None,
        had_authorization: parts.headers.contains_key(http::header::AUTHORIZATION),
        grant_type: None,
        service: None,
        client_id: None,
        scopes: Vec::new(),
        status: 0,
    };
    let query = parts.uri.query().map(parse_form).unwrap_or_default();
    let form = if parts.method == Method::POST {
        parse_form(&String::from_utf8_lossy(&body))
    } else {
        Vec::new()
    };
    let params = if parts.method == Method::POST {
        &form
    } else {
        &query
    };
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    record.grant_type = get("grant_type");
    record.service = get("service");
    record.client_id = get("client_id");
    record.scopes = params
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split(' ').filter(|s| !s.is_empty()).map(str::to_owned))
        .collect();

    let answer = answer(state, &parts, &mut record, &get);
    record.status = answer.status.as_u16();
    tracing::debug!(
        method = %record.method,
        status = record.status,
        user = record.username.as_deref().unwrap_or("-"),
        "token request"
    );
    lock(&state.requests).push(record);

    let mut response = Response::builder()
        .status(answer.status)
        .header(http::header::CONTENT_TYPE, "application/json");
    if answer.basic_challenge {
        response = response.header(
            http::header::WWW_AUTHENTICATE,
            "Basic realm=\"ocireg-test-token-server\"",
        );
    }
    response
        .body(Full::new(Bytes::from(answer.body.to_string())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn answer(
    state: &State,
    parts: &http::request::Parts,
    record: &mut TokenRequest,
    get: &dyn Fn(&str) -> Option<String>,
) -> Answer {
    {
        let mut failures = lock(&state.failures);
        if failures.0 > 0 {
            failures.0 -= 1;
            let status =
                StatusCode::from_u16(failures.1).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return Answer::error(status, "unavailable", "scripted failure");
        }
    }
    if let Some(service) = get("service")
        && service != state.service
    {
        return Answer::error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "unknown service",
        );
    }
    let requested: Vec<Access> = record
        .scopes
        .iter()
        .filter_map(|s| parse_scope(s))
        .collect();
    let result = match parts.method {
        Method::GET => answer_get(state, parts, record, get, &requested),
        Method::POST if *lock(&state.post_not_found) => Err(Answer::error(
            StatusCode::NOT_FOUND,
            "not_found",
            "POST is not supported here",
        )),
        Method::POST => answer_post(state, record, get, &requested),
        _ => Err(Answer::error(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request",
            "use GET or POST",
        )),
    };
    result.unwrap_or_else(|a| a)
}

fn bad_credentials() -> Answer {
    Answer::error(
        StatusCode::UNAUTHORIZED,
        "invalid_grant",
        "incorrect username or password",
    )
}

fn answer_get(
    state: &State,
    parts: &http::request::Parts,
    record: &mut TokenRequest,
    get: &dyn Fn(&str) -> Option<String>,
    requested: &[Access],
) -> std::result::Result<Answer, Answer> {
    let who = match parts
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        None => Principal::Anonymous,
        Some(value) => {
            let (name, password) = basic_credentials(value).ok_or_else(|| {
                Answer::error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_request",
                    "only Basic auth",
                )
            })?;
            record.username = Some(name.clone());
            Principal::User(
                state
                    .check_password(&name, &password)
                    .ok_or_else(bad_credentials)?,
            )
        }
    };
    let subject = match &who {
        Principal::Anonymous => String::new(),
        Principal::User(u) => u.name.clone(),
    };
    let now = unix_now();
    let token = state
        .sign(
            &subject,
            state.grant(&who, requested),
            now,
            now + state.lifetime(),
        )
        .map_err(|_| Answer::error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "signing"))?;
    let mut body = serde_json::Map::new();
    if state.fields != TokenFields::AccessTokenOnly {
        body.insert("token".into(), token.clone().into());
    }
    if state.fields != TokenFields::TokenOnly {
        body.insert("access_token".into(), token.into());
    }
    if let Some(lifetime) = state.expires_in {
        body.insert("expires_in".into(), lifetime.as_secs().into());
    }
    body.insert("issued_at".into(), rfc3339(now).into());
    if let Principal::User(user) = &who
        && get("offline_token").as_deref() == Some("true")
    {
        let refresh = state
            .new_refresh_token(&user.name)
            .map_err(|_| Answer::error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "rng"))?;
        body.insert("refresh_token".into(), refresh.into());
    }
    Ok(Answer::ok(body.into()))
}

fn answer_post(
    state: &State,
    record: &mut TokenRequest,
    get: &dyn Fn(&str) -> Option<String>,
    requested: &[Access],
) -> std::result::Result<Answer, Answer> {
    if get("client_id").is_none_or(|c| c.is_empty()) {
        return Err(Answer::error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id is required",
        ));
    }
    let (user, refresh) = match get("grant_type").as_deref() {
        Some("password") => {
            let name = get("username").unwrap_or_default();
            record.username = Some(name.clone());
            let password = get("password").unwrap_or_default();
            let user = state
                .check_password(&name, &password)
                .ok_or_else(bad_credentials)?;
            let refresh = if get("access_type").as_deref() == Some("offline") {
                Some(state.new_refresh_token(&user.name).map_err(|_| {
                    Answer::error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "rng")
                })?)
            } else {
                None
            };
            (user, refresh)
        }
        Some("refresh_token") => {
            let token = get("refresh_token").unwrap_or_default();
            let name = lock(&state.refresh_tokens).get(&token).cloned();
            let user = name
                .and_then(|n| state.users.iter().find(|u| u.name == n))
                .ok_or_else(|| {
                    Answer::error(
                        StatusCode::UNAUTHORIZED,
                        "invalid_grant",
                        "unknown refresh token",
                    )
                })?;
            record.username = Some(user.name.clone());
            (user, Some(token))
        }
        _ => {
            return Err(Answer::error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be password or refresh_token",
            ));
        }
    };
    let who = Principal::User(user);
    let granted = state.grant(&who, requested);
    let scope = granted
        .iter()
        .map(|a| format!("{}:{}:{}", a.kind, a.name, a.actions.join(",")))
        .collect::<Vec<_>>()
        .join(" ");
    let now = unix_now();
    let token = state
        .sign(&user.name, granted, now, now + state.lifetime())
        .map_err(|_| Answer::error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "signing"))?;
    let mut body = serde_json::Map::new();
    body.insert("access_token".into(), token.into());
    body.insert("scope".into(), scope.into());
    if let Some(lifetime) = state.expires_in {
        body.insert("expires_in".into(), lifetime.as_secs().into());
    }
    body.insert("issued_at".into(), rfc3339(now).into());
    if let Some(refresh) = refresh {
        body.insert("refresh_token".into(), refresh.into());
    }
    Ok(Answer::ok(body.into()))
}

/// `Basic base64(user:password)` → (user, password).
fn basic_credentials(value: &str) -> Option<(String, String)> {
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(rest.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse() {
        type Want = Option<(&'static str, &'static str, &'static [&'static str])>;
        let cases: &[(&str, Want)] = &[
            (
                "repository:foo:pull",
                Some(("repository", "foo", &["pull"])),
            ),
            (
                "repository:a/b:pull,push",
                Some(("repository", "a/b", &["pull", "push"])),
            ),
            (
                "repository:localhost:5000/x:pull",
                Some(("repository", "localhost:5000/x", &["pull"])),
            ),
            ("registry:catalog:*", Some(("registry", "catalog", &["*"]))),
            ("repository:foo:", Some(("repository", "foo", &[]))),
            ("repository:foo", None),
            ("nonsense", None),
            (":foo:pull", None),
        ];
        for (input, want) in cases {
            let got = parse_scope(input);
            let want = want.map(|(k, n, a)| Access {
                kind: k.to_owned(),
                name: n.to_owned(),
                actions: a.iter().map(|s| (*s).to_owned()).collect(),
            });
            assert_eq!(got, want, "{input}");
        }
    }

    #[test]
    fn basic_credentials_parse() {
        let header = format!("Basic {}", STANDARD.encode("alice:pa:ss"));
        assert_eq!(
            basic_credentials(&header),
            Some(("alice".to_owned(), "pa:ss".to_owned()))
        );
        assert_eq!(basic_credentials("Bearer abc"), None);
        assert_eq!(basic_credentials("Basic !!!"), None);
        assert!(ring_eq(b"abc", b"abc"));
        assert!(!ring_eq(b"abc", b"abd"));
        assert!(!ring_eq(b"abc", b"ab"));
    }
}
