//! [`Client`] and its builder: one pooled hyper client with its options, and the single-request
//! machinery under every [`Transport`](crate::Transport): timeouts, redirects followed by us,
//! and the credential and SSRF rules applied on each hop.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::header::{AUTHORIZATION, HOST, LOCATION, PROXY_AUTHORIZATION, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use ocireg_authn::Secret;
use tracing::debug;

use crate::body::{Body, HyperBody, ResponseBody};
use crate::connector::{ConnectFailure, Connector, proxy_for};
use crate::error::{BoxError, Error, Result};
use crate::redact::{redact_header, redact_url};
use crate::retry::RetryPolicy;
use crate::settings::{DEFAULT_MIN_BODY_RATE, ProxyConfig, Timeouts};
use crate::target::{Origin, check_target, resolve};
use crate::tls::{TlsConfigs, TlsSettings, TrustRoots, parse_pem_certs, read_pem_file};
use crate::warning::WarningSink;

/// The user agent: `ocireg/<version>`.
pub const USER_AGENT_BASE: &str = concat!("ocireg/", env!("CARGO_PKG_VERSION"));

/// The default maximum size of a token response (1 MiB).
pub const DEFAULT_TOKEN_RESPONSE_LIMIT: u64 = 1024 * 1024;
/// The default maximum error body read (64 KiB; at most 1 KiB of it is shown).
pub const DEFAULT_ERROR_BODY_LIMIT: usize = 64 * 1024;
/// The default maximum number of redirects followed.
pub const DEFAULT_MAX_REDIRECTS: usize = 10;
/// The most header lines an HTTP/1 response may have (1024; hyper's default is 100, which
/// real CDNs and proxies exceed). More fails the request; the total size of the header
/// block is bounded by [`HTTP1_MAX_BUFFER`].
pub const MAX_RESPONSE_HEADERS: usize = 1024;
/// The largest read (and write) buffer of an HTTP/1 connection: 64 KiB (hyper's default is
/// about 400 KiB).
///
/// It bounds each read, and so each chunk of a response body (to at most twice this: a
/// read fills the buffer's spare capacity, and growing the buffer may double it), which is
/// most of the memory a copy needs: every blob in flight holds a chunk or two between its
/// download and its upload. With hyper's default a four-blob copy peaked at about 4 MiB more
/// (16 MiB RSS instead of 12); reads of 64 KiB cost no measurable time on loopback.
///
/// It also bounds a response head (status line and headers), which registries and the
/// proxies in front of them keep to a few KiB (nginx refuses upstream heads over 4-8 KiB by
/// default).
pub const HTTP1_MAX_BUFFER: usize = 64 * 1024;
/// The most bytes of headers an HTTP/2 response may have (256 KiB).
pub const MAX_RESPONSE_HEADER_BYTES: u32 = 256 * 1024;
/// The most values kept for one header name after duplicates are removed (32); the rest are
/// dropped, so a registry cannot make us carry thousands of copies of a header.
pub const MAX_VALUES_PER_HEADER: usize = 32;

/// Which registries get one token per repository instead of one token for all scopes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
enum RepoAuth {
    #[default]
    Never,
    Always,
    Hosts(HashSet<String>),
}

/// Builds a [`Client`]. Every setter has a sensible default; see each.
#[derive(Clone, Debug)]
#[must_use]
pub struct ClientBuilder {
    user_agent_suffix: Option<String>,
    headers: Vec<(String, String)>,
    plain_http: bool,
    tls: TlsSettings,
    extra_ca_files: Vec<PathBuf>,
    extra_ca_pems: Vec<Vec<u8>>,
    proxy: ProxyConfig,
    retry: RetryPolicy,
    timeouts: Timeouts,
    max_redirects: usize,
    token_response_limit: u64,
    error_body_limit: usize,
    repo_auth: RepoAuth,
    http_only: HashSet<String>,
    pool_idle_timeout: Duration,
    warning_sink: Option<WarningSink>,
}

/// How a registry name (`host[:port]`) is compared for the per-registry settings: host
/// names are case-insensitive.
pub(crate) fn registry_key(registry: &str) -> String {
    registry.to_ascii_lowercase()
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            user_agent_suffix: None,
            headers: Vec::new(),
            plain_http: false,
            tls: TlsSettings {
                roots: TrustRoots::System,
                extra_roots: Vec::new(),
                certs_dirs: vec![
                    PathBuf::from("/etc/docker/certs.d"),
                    PathBuf::from("/etc/containers/certs.d"),
                ],
                skip_verify: false,
                skip_verify_for: HashSet::new(),
            },
            extra_ca_files: Vec::new(),
            extra_ca_pems: Vec::new(),
            proxy: ProxyConfig::from_env(),
            retry: RetryPolicy::default(),
            timeouts: Timeouts::default(),
            max_redirects: DEFAULT_MAX_REDIRECTS,
            token_response_limit: DEFAULT_TOKEN_RESPONSE_LIMIT,
            error_body_limit: DEFAULT_ERROR_BODY_LIMIT,
            repo_auth: RepoAuth::Never,
            http_only: HashSet::new(),
            pool_idle_timeout: Duration::from_secs(90),
            warning_sink: None,
        }
    }
}

impl ClientBuilder {
    /// Appends ` <suffix>` to the user agent `ocireg/<version>` (crane passes
    /// `crane/<version>`).
    pub fn user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.user_agent_suffix = Some(suffix.into());
        self
    }

    /// Extra headers sent to registries (never to token services or redirect targets on
    /// other hosts): docker's `config.json` `HttpHeaders`. Invalid names or values fail
    /// [`build`](Self::build).
    pub fn http_headers<K: Into<String>, V: Into<String>>(
        mut self,
        headers: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.headers
            .extend(headers.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Allows plain http for every registry: the ping tries https, then http (default: only
    /// registries that `Registry::scheme()` says are http — insecure ones, loopback and
    /// RFC 1918 addresses — fall back to http). Does not affect certificate checks.
    pub fn plain_http(mut self, allow: bool) -> Self {
        self.plain_http = allow;
        self
    }

    /// Speaks plain http only to this registry (`host[:port]`, as
    /// [`Registry::name`](ocireg_name::Registry::name) spells it, compared without regard to
    /// case): the ping and every request use `http://`, and https is never attempted
    /// (regclient's `tls: disabled`). Redirects from it may still lead to https hosts (a
    /// CDN), which are verified as usual. May be called for several registries.
    pub fn plain_http_for(mut self, registry: impl AsRef<str>) -> Self {
        self.http_only.insert(registry_key(registry.as_ref()));
        self
    }

    /// Accepts any TLS certificate (default off). Does not allow plain http.
    pub fn skip_tls_verify(mut self, skip: bool) -> Self {
        self.tls.skip_verify = skip;
        self
    }

    /// Accepts any TLS certificate from this registry (`host[:port]`, as
    /// [`Registry::name`](ocireg_name::Registry::name) spells it) only: regclient's
    /// `tls: insecure`. Every other host, including the hosts its redirects lead to (a CDN)
    /// and its token service, is verified as usual. Does not allow plain http.
    ///
    /// The granularity is the URL authority, port included: TLS configurations are chosen
    /// per `host[:port]` before the handshake (the TLS server name, SNI, carries no port,
    /// so a verifier choosing by server name alone could only tell hosts apart). A default
    /// port may be written or not (`r.example` and `r.example:443` are the same). May be
    /// called for several registries.
    pub fn skip_tls_verify_for(mut self, registry: impl AsRef<str>) -> Self {
        self.tls
            .skip_verify_for
            .insert(crate::tls::authority_key(registry.as_ref()));
        self
    }

    /// crane's `--insecure`: both [`plain_http`](Self::plain_http) and
    /// [`skip_tls_verify`](Self::skip_tls_verify).
    pub fn insecure(self, insecure: bool) -> Self {
        self.plain_http(insecure).skip_tls_verify(insecure)
    }

    /// The built-in trust roots (default: the system store, or the bundled Mozilla roots
    /// when it is empty).
    pub fn trust_roots(mut self, roots: TrustRoots) -> Self {
        self.tls.roots = roots;
        self
    }

    /// Trusts the CA certificates of a PEM bundle file (read by [`build`](Self::build)).
    pub fn add_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.extra_ca_files.push(path.into());
        self
    }

    /// Trusts the CA certificates of a PEM bundle in memory.
    pub fn add_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.extra_ca_pems.push(pem.into());
        self
    }

    /// The `certs.d` directories searched for `<host[:port]>/` subdirectories holding CA
    /// bundles (`*.crt`) and a client certificate (`*.cert` + `*.key`), as docker does
    /// (default: `/etc/docker/certs.d` and `/etc/containers/certs.d`).
    pub fn certs_dirs(mut self, dirs: impl IntoIterator<Item = impl Into<PathBuf>>) -> Self {
        self.tls.certs_dirs = dirs.into_iter().map(Into::into).collect();
        self
    }

    /// The proxy settings (default: [`ProxyConfig::from_env`]).
    pub fn proxy(mut self, proxy: ProxyConfig) -> Self {
        self.proxy = proxy;
        self
    }

    /// The retry policy (default: [`RetryPolicy::default`]).
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The timeouts (default: [`Timeouts::default`]).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Redirects followed per request (default 10).
    pub fn max_redirects(mut self, max: usize) -> Self {
        self.max_redirects = max;
        self
    }

    /// Largest accepted token response (default 1 MiB).
    pub fn token_response_limit(mut self, bytes: u64) -> Self {
        self.token_response_limit = bytes;
        self
    }

    /// Largest error body read to build an error (default 64 KiB).
    pub fn error_body_limit(mut self, bytes: usize) -> Self {
        self.error_body_limit = bytes;
        self
    }

    /// One token per repository for every registry (regclient's `repoAuth`), for registries
    /// that cannot grant scopes on several repositories in one token.
    pub fn per_repository_auth(mut self, enabled: bool) -> Self {
        self.repo_auth = if enabled {
            RepoAuth::Always
        } else {
            RepoAuth::Never
        };
        self
    }

    /// One token per repository for this registry (`host[:port]`, compared without regard
    /// to case) only.
    pub fn per_repository_auth_for(mut self, registry: impl Into<String>) -> Self {
        let registry = registry_key(&registry.into());
        match &mut self.repo_auth {
            RepoAuth::Always => {}
            RepoAuth::Hosts(hosts) => {
                hosts.insert(registry);
            }
            RepoAuth::Never => self.repo_auth = RepoAuth::Hosts(HashSet::from([registry])),
        }
        self
    }

    /// How long idle pooled connections are kept (default 90 s).
    pub fn pool_idle_timeout(mut self, idle: Duration) -> Self {
        self.pool_idle_timeout = idle;
        self
    }

    /// Receives the text of every registry warning: each `Warning` header with warn-code 299
    /// (`299 <agent> "<text>" [<date>]`, RFC 7234 §5.5) on any response from a registry's own
    /// origin, pings and retried attempts included (default: none; warnings are dropped).
    ///
    /// The text is unescaped, stripped of control characters and trimmed (see
    /// [`parse_warning_header`](crate::parse_warning_header)). Other codes, header values over
    /// [`MAX_WARNING_BYTES`](crate::MAX_WARNING_BYTES) and anything beyond that many warning
    /// bytes in one response are ignored. Responses of token services and of redirect targets
    /// on other hosts (CDNs) never reach the sink. The same text arrives once per response
    /// that carries it: deduplicating is the caller's job (crane shows each once at exit).
    /// The sink runs on the task that sent the request; keep it quick.
    ///
    /// The sink also gets rate-limit warnings: once per registry when a response's
    /// `RateLimit-Remaining` is at most [`RATE_LIMIT_WARN_PERCENT`](crate::RATE_LIMIT_WARN_PERCENT)%
    /// of its `RateLimit-Limit`, and once more when it reaches zero (naming the registry
    /// and, when given, when the window resets).
    pub fn warning_sink(mut self, sink: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.warning_sink = Some(WarningSink::new(sink));
        self
    }

    /// Short timeouts and millisecond backoffs, no proxy, no `certs.d` lookup: for tests.
    pub fn for_tests(self) -> Self {
        self.retry(RetryPolicy::fast_for_tests())
            .timeouts(Timeouts {
                connect: Duration::from_secs(5),
                tls_handshake: Duration::from_secs(5),
                response_headers: Duration::from_secs(5),
                idle_read: Duration::from_secs(5),
                body_grace: Duration::from_secs(5),
                min_body_rate: DEFAULT_MIN_BODY_RATE,
            })
            .proxy(ProxyConfig::none())
            .certs_dirs(Vec::<PathBuf>::new())
    }

    /// Builds the client (reads CA files; the system roots are loaded once per process, when
    /// the first server certificate is verified).
    pub fn build(self) -> Result<Client> {
        let mut tls = self.tls;
        for path in &self.extra_ca_files {
            tls.extra_roots.extend(read_pem_file(path)?);
        }
        for pem in &self.extra_ca_pems {
            tls.extra_roots
                .extend(parse_pem_certs(pem, Path::new("<in-memory CA bundle>"))?);
        }
        let mut headers = HeaderMap::new();
        for (k, v) in &self.headers {
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| Error::InvalidRequest {
                reason: format!("invalid header name {k:?} in HttpHeaders"),
            })?;
            let value = HeaderValue::from_str(v).map_err(|_| Error::InvalidRequest {
                reason: format!("invalid value for header {k:?} in HttpHeaders"),
            })?;
            headers.append(name, value);
        }
        let user_agent = match &self.user_agent_suffix {
            Some(s) => format!("{USER_AGENT_BASE} {s}"),
            None => USER_AGENT_BASE.to_owned(),
        };
        let user_agent = HeaderValue::from_str(&user_agent).map_err(|_| Error::InvalidRequest {
            reason: "invalid user agent suffix".to_owned(),
        })?;
        let matcher = self.proxy.matcher();
        let tls = Arc::new(TlsConfigs::new(tls));
        let connector = Connector::new(
            tls,
            self.proxy.matcher(),
            self.timeouts.connect,
            self.timeouts.tls_handshake,
        );
        let hyper = HyperClient::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .pool_idle_timeout(self.pool_idle_timeout)
            .http1_max_headers(MAX_RESPONSE_HEADERS)
            .http1_max_buf_size(HTTP1_MAX_BUFFER)
            .http2_max_header_list_size(MAX_RESPONSE_HEADER_BYTES)
            .build(connector);
        Ok(Client {
            inner: Arc::new(ClientInner {
                hyper,
                proxy: matcher,
                user_agent,
                headers,
                plain_http: self.plain_http,
                retry: self.retry,
                timeouts: self.timeouts,
                max_redirects: self.max_redirects,
                token_response_limit: self.token_response_limit,
                error_body_limit: self.error_body_limit,
                repo_auth: self.repo_auth,
                http_only: self.http_only,
                warning_sink: self.warning_sink,
                tokens: Mutex::new(HashMap::new()),
                pings: Mutex::new(HashMap::new()),
                hasher: std::collections::hash_map::RandomState::new(),
            }),
        })
    }
}

/// The registry client: a shared connection pool and its options. Cheap to clone.
///
/// Make [`Transport`](crate::Transport)s from it with [`Client::transport`] or
/// [`Client::for_repository`].
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<ClientInner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("user_agent", &self.inner.user_agent)
            .field("plain_http", &self.inner.plain_http)
            .field("retry", &self.inner.retry)
            .field("timeouts", &self.inner.timeouts)
            .finish_non_exhaustive()
    }
}

/// A cached bearer token.
#[derive(Clone, Debug)]
pub(crate) struct CachedToken {
    pub(crate) token: Secret,
    pub(crate) valid_until: Instant,
    pub(crate) issued: Instant,
}

impl CachedToken {
    /// Whether the token was fetched at or after `instant`.
    pub(crate) fn issued_after(&self, instant: Instant) -> bool {
        self.issued >= instant
    }
}

/// The token cache key: registry, realm, service, scope set and a keyed fingerprint of the
/// credentials (so two users of one client never share a token).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct TokenKey {
    pub(crate) registry: String,
    pub(crate) realm: String,
    pub(crate) service: String,
    pub(crate) scopes: String,
    pub(crate) who: u64,
}

pub(crate) struct ClientInner {
    hyper: HyperClient<Connector, HyperBody>,
    proxy: Option<Matcher>,
    user_agent: HeaderValue,
    pub(crate) headers: HeaderMap,
    pub(crate) plain_http: bool,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeouts: Timeouts,
    max_redirects: usize,
    pub(crate) token_response_limit: u64,
    pub(crate) error_body_limit: usize,
    repo_auth: RepoAuth,
    /// Registries spoken to over plain http only (see [`ClientBuilder::plain_http_for`]).
    http_only: HashSet<String>,
    warning_sink: Option<WarningSink>,
    pub(crate) tokens: Mutex<HashMap<TokenKey, CachedToken>>,
    /// What each registry's ping learned, per `(registry, http allowed)`: see
    /// [`Client::transport`](crate::Client::transport).
    pub(crate) pings: Mutex<HashMap<(String, bool), PingCell>>,
    hasher: std::collections::hash_map::RandomState,
}

/// What a successful ping learned: the registry's origin (with the scheme it answered on)
/// and its challenge (`None` when `/v2/` was open).
pub(crate) type Pinged = (Origin, Option<crate::challenge::Challenge>);

/// One registry's ping, shared by everyone waiting for it.
pub(crate) type PingCell = Arc<tokio::sync::OnceCell<Pinged>>;

impl Client {
    /// A builder with the defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client with the defaults.
    pub fn new() -> Result<Self> {
        Self::builder().build()
    }

    /// The user agent sent with every request.
    pub fn user_agent(&self) -> &str {
        self.inner.user_agent.to_str().unwrap_or(USER_AGENT_BASE)
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }
}

/// Who may receive what on one request: the registry origin gets `authorization` and the
/// configured extra headers; registry-supplied URLs are checked against `registry`.
pub(crate) struct HopPolicy<'a> {
    pub(crate) registry_name: &'a str,
    pub(crate) registry: &'a Origin,
    /// The origin that receives `authorization` (the registry, or the token realm).
    pub(crate) credential_origin: Option<&'a Origin>,
    pub(crate) authorization: Option<&'a HeaderValue>,
    /// A request to the registry API (false for token exchanges): the configured extra
    /// headers go to the registry origin, and its `Warning` headers to the warning sink.
    pub(crate) registry_request: bool,
    /// What the redirect targets are called in errors.
    pub(crate) what: &'static str,
}

impl ClientInner {
    pub(crate) fn fingerprint(&self, parts: &[Option<&str>]) -> u64 {
        let mut h = self.hasher.build_hasher();
        for p in parts {
            match p {
                Some(s) => {
                    h.write_u8(1);
                    h.write(s.as_bytes());
                    h.write_u8(0xff);
                }
                None => h.write_u8(0),
            }
        }
        h.finish()
    }

    pub(crate) fn per_repository_auth(&self, registry: &str) -> bool {
        match &self.repo_auth {
            RepoAuth::Never => false,
            RepoAuth::Always => true,
            RepoAuth::Hosts(h) => h.contains(&registry_key(registry)),
        }
    }

    /// Whether `registry` is spoken to over plain http only.
    pub(crate) fn http_only(&self, registry: &str) -> bool {
        !self.http_only.is_empty() && self.http_only.contains(&registry_key(registry))
    }

    /// Sends one request, following redirects ourselves. Returns the final response and the
    /// URL that answered it. No retries here.
    pub(crate) async fn execute(
        &self,
        policy: &HopPolicy<'_>,
        method: Method,
        uri: Uri,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<(Response<ResponseBody>, Uri)> {
        let original = redact_url(&uri.to_string());
        let mut method = method;
        let mut uri = uri;
        let mut body = Some(body);
        let mut replay = body.as_ref().and_then(Body::try_clone);
        for _hop in 0..=self.max_redirects {
            let this_body = body.take().unwrap_or_default();
            let response = self
                .send_once(policy, &method, &uri, headers, this_body)
                .await?;
            let status = response.status();
            let is_redirect = matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308);
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok());
            let (true, Some(location)) = (is_redirect, location) else {
                return Ok((response, uri));
            };
            let next = resolve(&uri, location).ok_or_else(|| Error::UnsafeUrl {
                registry: policy.registry_name.to_owned(),
                what: policy.what,
                url: redact_url(location),
                reason: "it is not an http or https URL",
            })?;
            Self::check_hop(policy, &uri, &next)?;
            debug!(
                status = status.as_u16(),
                from = %redact_url(&uri.to_string()),
                to = %redact_url(&next.to_string()),
                "following redirect"
            );
            // Drain a little of the redirect body so the connection can be reused.
            drop(response.into_body().bytes_truncated(4096).await);
            if status == StatusCode::SEE_OTHER
                || (matches!(status.as_u16(), 301 | 302) && method == Method::POST)
            {
                method = Method::GET;
                replay = Some(Body::empty());
            }
            body = match &replay {
                Some(b) => b.try_clone(),
                None if matches!(status.as_u16(), 307 | 308) => {
                    return Err(Error::NotReplayable {
                        method,
                        url: redact_url(&next.to_string()),
                        action: "follow a redirect",
                    });
                }
                None => Some(Body::empty()),
            };
            uri = next;
        }
        Err(Error::TooManyRedirects {
            method,
            url: original,
            max: self.max_redirects,
        })
    }

    /// Refuses https→http downgrades and SSRF targets on a redirect.
    fn check_hop(policy: &HopPolicy<'_>, from: &Uri, to: &Uri) -> Result<()> {
        let refuse = |reason| Error::UnsafeUrl {
            registry: policy.registry_name.to_owned(),
            what: policy.what,
            url: redact_url(&to.to_string()),
            reason,
        };
        let (Some(from_o), Some(to_o)) = (Origin::of(from), Origin::of(to)) else {
            return Err(refuse("it has no host"));
        };
        if from_o.scheme == "https" && to_o.scheme == "http" {
            return Err(refuse("it downgrades https to http"));
        }
        check_target(policy.registry, &to_o).map_err(refuse)
    }

    /// Waits for the response headers. With a streaming request body the registry may
    /// answer only once it has the whole body, which can take far longer than the
    /// response-header timeout: while the body is being sent the limit is the idle timeout
    /// (the registry must keep taking bytes), and the response-header timeout starts when
    /// the last byte is taken.
    async fn await_response<F, T>(
        &self,
        fut: F,
        upload: Option<&crate::body::UploadClock>,
    ) -> std::result::Result<T, (crate::TimeoutPhase, Duration)>
    where
        F: Future<Output = T>,
    {
        let started = tokio::time::Instant::now();
        let headers = self.timeouts.response_headers;
        let mut fut = std::pin::pin!(fut);
        loop {
            let (deadline, phase, after) = match upload.map(crate::body::UploadClock::state) {
                None => (
                    started.checked_add(headers),
                    crate::TimeoutPhase::ResponseHeaders,
                    headers,
                ),
                Some((_, Some(done))) => (
                    done.checked_add(headers),
                    crate::TimeoutPhase::ResponseHeaders,
                    headers,
                ),
                Some((last, None)) => {
                    let idle = self.timeouts.idle_read.max(headers);
                    (
                        last.checked_add(idle),
                        crate::TimeoutPhase::RequestBody,
                        idle,
                    )
                }
            };
            let Some(deadline) = deadline else {
                return Ok(fut.await);
            };
            if let Ok(r) = tokio::time::timeout_at(deadline, fut.as_mut()).await {
                return Ok(r);
            }
            // The upload may have moved on since the deadline was set: look again.
            let moved = upload.is_some_and(|c| {
                let (last, done) = c.state();
                let now = tokio::time::Instant::now();
                match done {
                    Some(d) => d.checked_add(headers).is_some_and(|t| t > now),
                    None => last
                        .checked_add(self.timeouts.idle_read.max(headers))
                        .is_some_and(|t| t > now),
                }
            });
            if !moved {
                return Err((phase, after));
            }
        }
    }

    /// One HTTP exchange: headers attached by the origin rules, response-header timeout.
    async fn send_once(
        &self,
        policy: &HopPolicy<'_>,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Response<ResponseBody>> {
        let redacted = redact_url(&uri.to_string());
        let origin = Origin::of(uri).ok_or_else(|| Error::InvalidRequest {
            reason: format!("URL {redacted} has no scheme or host"),
        })?;
        let (hyper_body, upload) = body.into_hyper();
        let mut req = Request::builder()
            .method(method.clone())
            .uri(uri.clone())
            .body(hyper_body)
            .map_err(|e| Error::InvalidRequest {
                reason: e.to_string(),
            })?;
        let h = req.headers_mut();
        for (k, v) in headers {
            if k != AUTHORIZATION && k != HOST && k != PROXY_AUTHORIZATION {
                h.append(k, v.clone());
            }
        }
        h.insert(USER_AGENT, self.user_agent.clone());
        if origin == *policy.registry && policy.registry_request {
            for (k, v) in &self.headers {
                h.insert(k, v.clone());
            }
        }
        if let (Some(cred_origin), Some(auth)) = (policy.credential_origin, policy.authorization)
            && origin == *cred_origin
        {
            let mut auth = auth.clone();
            auth.set_sensitive(true);
            h.insert(AUTHORIZATION, auth);
        }
        if uri.scheme_str() == Some("http")
            && let Some(auth) = proxy_for(self.proxy.as_ref(), uri)
                .as_ref()
                .and_then(|p| p.basic_auth())
        {
            h.insert(PROXY_AUTHORIZATION, auth.clone());
        }
        if tracing::enabled!(tracing::Level::TRACE) {
            for (k, v) in h.iter() {
                tracing::trace!(header = %k, value = %redact_header(k, v), "request header");
            }
        }
        debug!(
            method = %method,
            url = %redacted,
            auth = h.contains_key(AUTHORIZATION),
            "--> request"
        );
        let started = Instant::now();
        let fut = self.hyper.request(req);
        let response = match self.await_response(fut, upload.as_deref()).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return Err(map_client_error(method, &redacted, e)),
            Err((phase, after)) => {
                return Err(Error::Timeout {
                    method: method.clone(),
                    url: redacted,
                    phase,
                    after,
                });
            }
        };
        debug!(
            method = %method,
            url = %redacted,
            status = response.status().as_u16(),
            elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "<-- response"
        );
        if tracing::enabled!(tracing::Level::TRACE) {
            for (k, v) in response.headers() {
                tracing::trace!(header = %k, value = %redact_header(k, v), "response header");
            }
        }
        if let Some(sink) = &self.warning_sink
            && policy.registry_request
            && origin == *policy.registry
        {
            sink.deliver(Some(policy.registry_name), response.headers());
        }
        let (mut parts, incoming) = response.into_parts();
        tidy_headers(&mut parts.headers);
        let body = ResponseBody::incoming(incoming, method.clone(), redacted, &self.timeouts);
        Ok(Response::from_parts(parts, body))
    }
}

/// Removes repeated identical values of a header and keeps at most
/// [`MAX_VALUES_PER_HEADER`] values per name, in their order.
fn tidy_headers(headers: &mut HeaderMap) {
    let crowded: Vec<HeaderName> = headers
        .keys()
        .filter(|k| headers.get_all(*k).iter().nth(1).is_some())
        .cloned()
        .collect();
    for name in crowded {
        let mut kept: Vec<HeaderValue> = Vec::new();
        for v in headers.get_all(&name) {
            if kept.len() < MAX_VALUES_PER_HEADER && !kept.contains(v) {
                kept.push(v.clone());
            }
        }
        headers.remove(&name);
        for v in kept {
            headers.append(name.clone(), v);
        }
    }
}

/// Turns a hyper-util client error into ours, surfacing connect timeouts and failures.
fn map_client_error(method: &Method, url: &str, e: hyper_util::client::legacy::Error) -> Error {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = cur {
        if let Some(cf) = err.downcast_ref::<ConnectFailure>() {
            if let Some((phase, after)) = cf.timeout {
                return Error::Timeout {
                    method: method.clone(),
                    url: url.to_owned(),
                    phase,
                    after,
                };
            }
            return Error::Connect {
                host: cf.host.clone(),
                source: Box::new(e),
            };
        }
        cur = err.source();
    }
    Error::Request {
        method: method.clone(),
        url: url.to_owned(),
        source: BoxError::from(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_headers_are_deduplicated_and_capped() {
        let mut h = HeaderMap::new();
        for i in 0..500 {
            h.append("x-many", HeaderValue::from_str(&format!("v{i}")).unwrap());
            h.append("x-same", HeaderValue::from_static("same"));
        }
        h.append("link", HeaderValue::from_static("<a>; rel=next"));
        h.append("link", HeaderValue::from_static("<b>; rel=prev"));
        tidy_headers(&mut h);
        assert_eq!(h.get_all("x-same").iter().count(), 1);
        let many: Vec<_> = h.get_all("x-many").iter().collect();
        assert_eq!(many.len(), MAX_VALUES_PER_HEADER);
        assert_eq!(many[0], "v0");
        assert_eq!(
            h.get_all("link").iter().count(),
            2,
            "distinct values are kept in order"
        );
    }

    #[test]
    fn proxy_from_lookup() {
        let vars = HashMap::from([
            ("https_proxy", "http://proxy.example:3128"),
            ("ALL_PROXY", "http://all.example:1"),
            ("NO_PROXY", "internal.example"),
        ]);
        let p = ProxyConfig::from_lookup(|n| vars.get(n).map(|s| (*s).to_owned()));
        assert_eq!(
            p,
            ProxyConfig::none()
                .https("http://proxy.example:3128")
                .http("http://all.example:1")
                .no_proxy("internal.example")
        );
        let m = p.matcher().unwrap();
        let via = m
            .intercept(&"https://r.example/v2/".parse().unwrap())
            .unwrap();
        assert_eq!(via.uri(), "http://proxy.example:3128/");
        assert!(
            m.intercept(&"https://internal.example/v2/".parse().unwrap())
                .is_none()
        );
        // Loopback never goes through the proxy.
        assert!(proxy_for(Some(&m), &"https://127.0.0.1:5000/v2/".parse().unwrap()).is_none());
        assert!(proxy_for(Some(&m), &"https://localhost:5000/v2/".parse().unwrap()).is_none());
        assert!(ProxyConfig::none().matcher().is_none());
    }

    #[test]
    fn proxy_credentials_do_not_show_in_debug() {
        let p = ProxyConfig::none().https("http://user:hunter2@proxy.example:3128");
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn builder_validates_headers_and_sets_user_agent() {
        let c = Client::builder()
            .for_tests()
            .user_agent_suffix("crane/1.2.3")
            .http_headers([("X-Meta", "1")])
            .build()
            .unwrap();
        assert_eq!(
            c.user_agent(),
            format!("ocireg/{} crane/1.2.3", env!("CARGO_PKG_VERSION"))
        );
        let err = Client::builder()
            .for_tests()
            .http_headers([("bad header", "1")])
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("invalid header name"), "{err}");
    }

    #[test]
    fn repo_auth_selection() {
        let c = Client::builder()
            .for_tests()
            .per_repository_auth_for("gcr.io")
            .build()
            .unwrap();
        assert!(c.inner.per_repository_auth("gcr.io"));
        assert!(!c.inner.per_repository_auth("docker.io"));
        let c = Client::builder()
            .for_tests()
            .per_repository_auth(true)
            .build()
            .unwrap();
        assert!(c.inner.per_repository_auth("docker.io"));
    }

    #[test]
    fn http_only_selection() {
        let c = Client::builder()
            .for_tests()
            .plain_http_for("Reg.Example:5000")
            .per_repository_auth_for("GCR.io")
            .build()
            .unwrap();
        assert!(c.inner.http_only("reg.example:5000"));
        assert!(c.inner.http_only("REG.EXAMPLE:5000"));
        assert!(!c.inner.http_only("reg.example"));
        assert!(!c.inner.http_only("reg.example:5001"));
        assert!(c.inner.per_repository_auth("gcr.io"));
        let c = Client::builder().for_tests().build().unwrap();
        assert!(!c.inner.http_only("reg.example:5000"));
    }

    #[test]
    fn fingerprints_differ_by_credentials() {
        let c = Client::builder().for_tests().build().unwrap();
        let a = c.inner.fingerprint(&[Some("u"), Some("p")]);
        let b = c.inner.fingerprint(&[Some("u"), Some("q")]);
        let n = c.inner.fingerprint(&[Some("up"), None]);
        assert_ne!(a, b);
        assert_ne!(a, n);
        assert_eq!(a, c.inner.fingerprint(&[Some("u"), Some("p")]));
    }
}
