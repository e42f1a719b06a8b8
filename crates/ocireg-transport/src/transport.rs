//! [`Transport`]: an authenticated, retrying connection to one registry (ggcr's
//! `transport.NewWithContext` result).

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri};
use ocireg_authn::{AuthConfig, Authenticator, Secret};
use ocireg_name::{Registry, Repository};
use tracing::{debug, warn};

use crate::body::{Body, ResponseBody};
use crate::challenge::{Challenge, parse_www_authenticate};
use crate::client::{CachedToken, Client, ClientInner, HopPolicy, Pinged, TokenKey};
use crate::error::{Error, RegistryError, Result};
use crate::ping::ping;
use crate::redact::redact_url;
use crate::retry::{RetryPolicy, is_retryable_status, parse_retry_after};
use crate::scope::{Scope, Scopes};
use crate::target::{Origin, check_target, resolve};
use crate::token::{self, DEFAULT_TOKEN_LIFETIME, TokenReply, basic_authorization};

mod auth;
use auth::validate_realm;

/// How the registry wants to be authenticated, as learned from the ping.
#[derive(Clone, Debug)]
enum AuthMode {
    /// `/v2/` answered 200, or a non-Bearer challenge: credentials (if any) go as Basic
    /// (or as a bearer when the authenticator holds a registry token), as ggcr does.
    Basic,
    /// A Bearer challenge: tokens from the realm.
    Bearer {
        realm: Uri,
        realm_origin: Origin,
        service: String,
    },
}

/// An authenticated connection to one registry, made by [`Client::transport`].
///
/// [`send`](Self::send) adds the `Authorization` the registry asked for (only to the
/// registry's own origin), retries transient failures, follows redirects safely, and on a
/// 401 adds the scope the challenge names, refreshes the token once and retries once. Cheap
/// to clone.
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    name: String,
    origin: Origin,
    auth: Arc<dyn Authenticator>,
    creds: tokio::sync::OnceCell<AuthConfig>,
    mode: AuthMode,
    challenge: Option<Challenge>,
    scopes: Mutex<Scopes>,
    refresh_token: Mutex<Option<Secret>>,
    refresh_lock: tokio::sync::Mutex<()>,
    per_repo: bool,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("registry", &self.inner.name)
            .field("scheme", &self.inner.origin.scheme)
            .field("mode", &self.inner.mode)
            .field("scopes", &*lock(&self.inner.scopes))
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Client {
    /// Pings `registry`, learns how it authenticates and returns a transport for it.
    ///
    /// The registry is pinged once per client: what the first successful ping learned (the
    /// scheme and the challenge, which depend on neither the repository, the scopes nor the
    /// credentials, since the ping carries none) serves every later transport for it, so a
    /// copy that needs transports with different scopes on one registry (push, pull on the
    /// source, mount) pings it once. Concurrent calls wait for one ping; a failed ping is
    /// not remembered. The token exchange, which does depend on scopes and credentials,
    /// still happens per transport (through the token cache).
    ///
    /// The ping is `GET /v2/` over https; when `registry.scheme()` is `http` (the insecure
    /// option, loopback, RFC 1918 hosts) or [`plain_http`](crate::ClientBuilder::plain_http)
    /// is set, https and http are raced (http joins after 300 ms or when https fails). Either
    /// way the ping follows the client's [`RetryPolicy`]: a registry that refuses
    /// connections, resets them or answers 503 for a moment is pinged again after the
    /// backoff; a TLS handshake failure with http allowed only rules https out, and any
    /// other answer is final (not retried). When both schemes fail the error is
    /// [`Error::Ping`], naming both. For a Bearer challenge the realm is checked
    /// (https unless the registry itself is on http; no private or loopback IP literal
    /// unless the registry is one too) and a first token is fetched for `scopes`, so bad
    /// credentials fail here.
    pub async fn transport(
        &self,
        registry: &Registry,
        scopes: Scopes,
        auth: Arc<dyn Authenticator>,
    ) -> Result<Transport> {
        let name = registry.name().to_owned();
        let allow_http = registry.scheme() == "http" || self.inner.plain_http;
        let (origin, challenge) = self.pinged(&name, allow_http).await?;
        let mode = match challenge.as_ref() {
            Some(c) if c.is_bearer() => {
                let realm_text = c.realm().ok_or_else(|| Error::Challenge {
                    registry: name.clone(),
                    reason: "malformed WWW-Authenticate: Bearer challenge without realm".to_owned(),
                })?;
                let realm: Uri = realm_text.parse().map_err(|_| Error::UnsafeUrl {
                    registry: name.clone(),
                    what: "token realm",
                    url: redact_url(realm_text),
                    reason: "it is not a valid URL",
                })?;
                let realm_origin = validate_realm(&name, &origin, &realm)?;
                AuthMode::Bearer {
                    realm,
                    realm_origin,
                    service: c.service().unwrap_or_default().to_owned(),
                }
            }
            _ => AuthMode::Basic,
        };
        debug!(registry = %name, scheme = %origin.scheme, ?mode, "pinged registry");
        let transport = Transport {
            inner: Arc::new(Inner {
                per_repo: self.inner.per_repository_auth(&name),
                client: self.clone(),
                name,
                origin,
                auth,
                creds: tokio::sync::OnceCell::new(),
                mode,
                challenge,
                scopes: Mutex::new(scopes),
                refresh_token: Mutex::new(None),
                refresh_lock: tokio::sync::Mutex::new(()),
            }),
        };
        if matches!(transport.inner.mode, AuthMode::Bearer { .. }) {
            // Fail fast on bad credentials, as ggcr does.
            let scopes = lock(&transport.inner.scopes).clone();
            if transport.inner.per_repo {
                let mut repos: Vec<Option<&str>> =
                    scopes.iter().map(Scope::repository_name).collect();
                repos.dedup();
                for repo in repos {
                    transport.token(&scopes.for_repository(repo), false).await?;
                }
            } else {
                transport.token(&scopes, false).await?;
            }
        }
        Ok(transport)
    }

    /// What the ping of `name` learned: from the client's cache, else from a new ping.
    async fn pinged(&self, name: &str, allow_http: bool) -> Result<Pinged> {
        let cell = {
            let mut pings = lock(&self.inner.pings);
            Arc::clone(pings.entry((name.to_owned(), allow_http)).or_default())
        };
        let found = cell
            .get_or_try_init(|| ping(&self.inner, name, allow_http))
            .await?;
        Ok(found.clone())
    }

    /// Sends one request to an absolute http(s) URL outside the registry API (a
    /// registry's web API, such as Docker Hub's tag deletion), with the client's retry
    /// policy, timeouts and redirect checks. `authorization` goes only to the URL's own
    /// origin (never to a redirect target elsewhere); the configured extra headers are not
    /// sent and `Warning` headers are not passed on. Any status is returned; the body is
    /// the caller's to read, with a bound.
    pub async fn send_api(
        &self,
        request: Request<Body>,
        authorization: Option<&Secret>,
    ) -> Result<Response<ResponseBody>> {
        let (parts, body) = request.into_parts();
        let uri = parts.uri;
        let origin = Origin::of(&uri)
            .filter(|o| o.scheme == "https" || o.scheme == "http")
            .ok_or_else(|| Error::InvalidRequest {
                reason: format!("URL {} is not an http(s) URL", redact_url(&uri.to_string())),
            })?;
        let authorization = authorization
            .map(|s| {
                HeaderValue::from_str(s.expose()).map_err(|_| Error::InvalidRequest {
                    reason: "the authorization is not a valid header value".to_owned(),
                })
            })
            .transpose()?;
        let name = match origin.port {
            80 | 443 => origin.host.clone(),
            port => format!("{}:{port}", origin.host),
        };
        let policy = HopPolicy {
            registry_name: &name,
            registry: &origin,
            credential_origin: Some(&origin),
            authorization: authorization.as_ref(),
            registry_request: false,
            what: "redirect",
        };
        let (response, _) = retrying(
            &self.inner,
            &self.inner.retry,
            &policy,
            &parts.method,
            &uri,
            &parts.headers,
            &body,
        )
        .await?;
        Ok(response)
    }

    /// [`transport`](Self::transport) for the registry of `repository`.
    pub async fn for_repository(
        &self,
        repository: &Repository,
        scopes: Scopes,
        auth: Arc<dyn Authenticator>,
    ) -> Result<Transport> {
        self.transport(repository.registry(), scopes, auth).await
    }
}

/// Reads a little of a body so the connection can be reused; errors do not matter.
pub(crate) async fn drain(response: Response<ResponseBody>, limit: usize) {
    drop(response.into_body().bytes_truncated(limit).await);
}

/// Decodes a non-success response into a [`RegistryError`] (reads at most the error limit).
pub(crate) async fn decode_error(client: &ClientInner, response: Response<ResponseBody>) -> Error {
    let status = response.status();
    let body = response.into_body();
    let method = body_method(&body);
    let url = body.url().to_owned();
    let bytes = match body.bytes_truncated(client.error_body_limit).await {
        Ok((b, _)) => b,
        Err(_) => Bytes::new(),
    };
    RegistryError::from_body(status, method, url, &bytes).into()
}

fn body_method(body: &ResponseBody) -> Method {
    body.method().clone()
}

/// One request with the retry policy: transient errors and statuses are retried with
/// backoff, `Retry-After` honoured up to the cap. The last response is returned as is when
/// attempts run out (the caller turns it into an error).
pub(crate) async fn retrying(
    client: &ClientInner,
    retry: &RetryPolicy,
    policy: &HopPolicy<'_>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Body,
) -> Result<(Response<ResponseBody>, Uri)> {
    let mut attempt = 0;
    // Whether every attempt so far was refused (fewer, shorter retries: see RetryPolicy).
    let mut refused = true;
    loop {
        attempt += 1;
        let this_body = body.try_clone().unwrap_or_default();
        let result = client
            .execute(policy, method.clone(), uri.clone(), headers, this_body)
            .await;
        refused &= result.as_ref().is_err_and(Error::is_connection_refused);
        let last = attempt >= retry.attempts(refused);
        match result {
            Err(e) if e.is_transient() && !last => {
                let wait = retry.wait(attempt, refused);
                warn!(
                    method = %method,
                    url = %redact_url(&uri.to_string()),
                    attempt,
                    error = %e,
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "retrying after a transient error"
                );
                tokio::time::sleep(wait).await;
            }
            Err(e) => return Err(e),
            Ok((response, final_uri)) => {
                let status = response.status();
                if !is_retryable_status(status) {
                    return Ok((response, final_uri));
                }
                let asked = parse_retry_after(response.headers(), SystemTime::now());
                if let Some(asked) = asked
                    && asked > retry.max_retry_after
                {
                    drain(response, client.error_body_limit).await;
                    return Err(Error::RateLimited {
                        registry: policy.registry_name.to_owned(),
                        method: method.clone(),
                        url: redact_url(&final_uri.to_string()),
                        retry_after: asked,
                        max_wait: retry.max_retry_after,
                    });
                }
                if last {
                    return Ok((response, final_uri));
                }
                let wait = asked.unwrap_or_else(|| retry.backoff(attempt));
                warn!(
                    method = %method,
                    url = %redact_url(&final_uri.to_string()),
                    status = status.as_u16(),
                    attempt,
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "retrying after a transient status"
                );
                drain(response, client.error_body_limit).await;
                tokio::time::sleep(wait).await;
            }
        }
    }
}

/// The repository a `/v2/<name>/{manifests,blobs,tags,referrers}/...` path names.
fn repository_of_path(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/v2/")?;
    let cut = ["/manifests/", "/blobs/", "/tags/", "/referrers/"]
        .iter()
        .filter_map(|m| rest.rfind(m))
        .max()?;
    Some(&rest[..cut]).filter(|r| !r.is_empty())
}

impl Transport {
    /// The registry (`host[:port]`).
    pub fn registry(&self) -> &str {
        &self.inner.name
    }

    /// The scheme the ping settled on (`https` or `http`).
    pub fn scheme(&self) -> &str {
        &self.inner.origin.scheme
    }

    /// `scheme://host[:port]`, the base of registry URLs.
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.inner.origin.scheme, self.inner.name)
    }

    /// A URL on the registry for `path_and_query` (which starts with `/`).
    pub fn url(&self, path_and_query: &str) -> Result<Uri> {
        format!("{}{path_and_query}", self.base_url())
            .parse()
            .map_err(|_| Error::InvalidRequest {
                reason: format!("bad registry path {:?}", redact_url(path_and_query)),
            })
    }

    /// The challenge the registry answered the ping with (`None` when `/v2/` was open).
    pub fn challenge(&self) -> Option<&Challenge> {
        self.inner.challenge.as_ref()
    }

    /// The scopes tokens are requested for.
    pub fn scopes(&self) -> Scopes {
        lock(&self.inner.scopes).clone()
    }

    /// Adds a scope (for example `pull` on a mount source); the next request fetches a token
    /// that covers it.
    pub fn add_scope(&self, scope: Scope) {
        lock(&self.inner.scopes).push_back(scope);
    }

    /// Resolves a registry-supplied URL (an upload `Location`, a `Link` target) against the
    /// URL it came with, refusing non-http schemes, https→http downgrades and private,
    /// loopback or link-local IP literals on another host (unless the registry is one).
    pub fn resolve_url(&self, base: &Uri, reference: &str, what: &'static str) -> Result<Uri> {
        let refuse = |reason| Error::UnsafeUrl {
            registry: self.inner.name.clone(),
            what,
            url: redact_url(reference),
            reason,
        };
        let next =
            resolve(base, reference).ok_or_else(|| refuse("it is not an http or https URL"))?;
        let target = Origin::of(&next).ok_or_else(|| refuse("it has no host"))?;
        if base.scheme_str() == Some("https") && target.scheme == "http" {
            return Err(refuse("it downgrades https to http"));
        }
        check_target(&self.inner.origin, &target).map_err(refuse)?;
        Ok(next)
    }

    /// A bearer token for the current scopes (ggcr's `transport.Exchange`, for
    /// `crane auth token`). `None` when the registry does not use bearer tokens.
    pub async fn bearer_token(&self) -> Result<Option<Secret>> {
        match self.inner.mode {
            AuthMode::Bearer { .. } => {
                let scopes = self.scopes();
                Ok(Some(self.token(&scopes, false).await?))
            }
            AuthMode::Basic => Ok(None),
        }
    }

    /// A new bearer token for the current scopes, asked of the token service now, with
    /// its lifetime and refresh token as the service sent them (ggcr's
    /// `transport.Exchange`, all of whose answer `crane auth token` prints). The token is
    /// cached and used for this transport's requests as one from
    /// [`bearer_token`](Self::bearer_token) would be. A registry token from the
    /// credentials is returned as is, without lifetime or refresh token. `None` when the
    /// registry does not use bearer tokens.
    pub async fn bearer_token_reply(&self) -> Result<Option<TokenReply>> {
        match self.inner.mode {
            AuthMode::Bearer { .. } => {
                let scopes = self.scopes();
                Ok(Some(self.token_reply(&scopes, false, true).await?))
            }
            AuthMode::Basic => Ok(None),
        }
    }

    /// Sends a request to the registry with authentication, retries and redirects.
    ///
    /// A request URI without scheme and host (`/v2/...`) is made relative to the registry;
    /// one on the registry's host gets the scheme the ping chose. Any status is returned
    /// (after retries); use [`check`](Self::check) or [`send_expect`](Self::send_expect) to
    /// turn unexpected statuses into errors. With a streaming body there is exactly one
    /// attempt (see [`Body`]).
    pub async fn send(&self, request: Request<Body>) -> Result<Response<ResponseBody>> {
        let (parts, body) = request.into_parts();
        let uri = self.absolute(parts.uri)?;
        let method = parts.method;
        let headers = parts.headers;
        let replayable = body.is_replayable();
        let mut body = Some(body);
        let mut refreshed = false;
        loop {
            let authorization = self.authorization(&uri, refreshed).await?;
            let policy = HopPolicy {
                registry_name: &self.inner.name,
                registry: &self.inner.origin,
                credential_origin: Some(&self.inner.origin),
                authorization: authorization.as_ref(),
                registry_request: true,
                what: "redirect",
            };
            let (response, final_uri) = if replayable {
                let body = body
                    .as_ref()
                    .map_or_else(Body::empty, |b| b.try_clone().unwrap_or_default());
                retrying(
                    &self.inner.client.inner,
                    &self.inner.client.inner.retry,
                    &policy,
                    &method,
                    &uri,
                    &headers,
                    &body,
                )
                .await?
            } else {
                let body = body.take().ok_or_else(|| Error::NotReplayable {
                    method: method.clone(),
                    url: redact_url(&uri.to_string()),
                    action: "send it twice",
                })?;
                self.inner
                    .client
                    .inner
                    .execute(&policy, method.clone(), uri.clone(), &headers, body)
                    .await?
            };
            let same_origin = Origin::of(&final_uri).as_ref() == Some(&self.inner.origin);
            if response.status() == StatusCode::UNAUTHORIZED
                && !refreshed
                && same_origin
                && matches!(self.inner.mode, AuthMode::Bearer { .. })
            {
                let challenges = parse_www_authenticate(response.headers());
                if let Some(c) = challenges.iter().find(|c| c.is_bearer()) {
                    let mut scopes = lock(&self.inner.scopes);
                    for s in c.scopes().into_iter().rev() {
                        scopes.push_front(Scope::raw(s));
                    }
                }
                if !replayable {
                    // The body is gone, so this request cannot be sent again, but the
                    // token it carried was refused (expired mid-push, say): fetch a new
                    // one now, so that the caller's next attempt (a restarted upload)
                    // carries it instead of the refused one. A second 401 then is final.
                    debug!(
                        registry = %self.inner.name,
                        url = %redact_url(&uri.to_string()),
                        "401 on a streaming request: refreshing the token for the next attempt"
                    );
                    let scopes = self.scopes_for(&uri);
                    if let Err(e) = self.token(&scopes, true).await {
                        debug!(error = %e, "refreshing the token after a 401 failed");
                    }
                    return Ok(response);
                }
                debug!(
                    registry = %self.inner.name,
                    url = %redact_url(&uri.to_string()),
                    "401: refreshing the token once"
                );
                drain(response, self.inner.client.inner.error_body_limit).await;
                refreshed = true;
                continue;
            }
            return Ok(response);
        }
    }

    /// [`send`](Self::send), then [`check`](Self::check).
    pub async fn send_expect(
        &self,
        request: Request<Body>,
        ok: &[StatusCode],
    ) -> Result<Response<ResponseBody>> {
        let response = self.send(request).await?;
        self.check(response, ok).await
    }

    /// Passes a response whose status is in `ok`; otherwise reads at most the error body
    /// limit and returns the error: [`Error::AuthenticationRequired`] or
    /// [`Error::AuthenticationFailed`] for 401, else a decoded [`Error::Registry`].
    pub async fn check(
        &self,
        response: Response<ResponseBody>,
        ok: &[StatusCode],
    ) -> Result<Response<ResponseBody>> {
        if ok.contains(&response.status()) {
            return Ok(response);
        }
        let status = response.status();
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
            && let Some(foreign) = response
                .body()
                .url()
                .parse::<Uri>()
                .ok()
                .as_ref()
                .and_then(Origin::of)
                .filter(|o| *o != self.inner.origin)
        {
            // A redirect target (CDN) refused: our credentials never went there.
            let method = body_method(response.body());
            let url = response.body().url().to_owned();
            drain(response, self.inner.client.inner.error_body_limit).await;
            return Err(Error::RedirectRefused {
                registry: self.inner.name.clone(),
                host: format!("{}:{}", foreign.host, foreign.port),
                method,
                url,
                status,
            });
        }
        if response.status() == StatusCode::UNAUTHORIZED {
            let method = body_method(response.body());
            let url = response.body().url().to_owned();
            drain(response, self.inner.client.inner.error_body_limit).await;
            return Err(self.auth_error(method, url, StatusCode::UNAUTHORIZED).await);
        }
        Err(decode_error(&self.inner.client.inner, response).await)
    }

    /// Sends a request and reads the whole body (at most `limit` bytes), retrying the whole
    /// exchange when the body fails transiently (reset, early EOF, idle timeout). For
    /// manifests, tag lists and other small documents.
    pub async fn fetch_bytes(
        &self,
        request: Request<Body>,
        ok: &[StatusCode],
        limit: u64,
    ) -> Result<Response<Bytes>> {
        let (parts, body) = request.into_parts();
        let retry = &self.inner.client.inner.retry;
        let mut body = Some(body);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let this_body = match body.as_ref().and_then(Body::try_clone) {
                Some(b) => b,
                None => body.take().ok_or_else(|| Error::NotReplayable {
                    method: parts.method.clone(),
                    url: redact_url(&parts.uri.to_string()),
                    action: "retry",
                })?,
            };
            let mut request = Request::new(this_body);
            *request.method_mut() = parts.method.clone();
            *request.uri_mut() = parts.uri.clone();
            *request.headers_mut() = parts.headers.clone();
            let response = self.send_expect(request, ok).await?;
            let (head, body_stream) = response.into_parts();
            match body_stream.bytes(limit).await {
                Ok(bytes) => return Ok(Response::from_parts(head, bytes)),
                Err(e)
                    if e.is_transient()
                        && attempt < retry.max_attempts
                        && body.as_ref().is_some_and(Body::is_replayable) =>
                {
                    let wait = retry.backoff(attempt);
                    warn!(error = %e, attempt, "retrying after the response body failed");
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Makes the URI absolute on the registry and applies the pinged scheme to it.
    fn absolute(&self, uri: Uri) -> Result<Uri> {
        let Some(authority) = uri.authority() else {
            let pq = uri.path_and_query().map_or("/", |p| p.as_str());
            return self.url(pq);
        };
        if authority.as_str().eq_ignore_ascii_case(&self.inner.name)
            && uri.scheme_str() != Some(self.inner.origin.scheme.as_str())
        {
            let pq = uri.path_and_query().map_or("/", |p| p.as_str());
            return self.url(pq);
        }
        Ok(uri)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_of_path_table() {
        let cases = [
            ("/v2/a/b/manifests/latest", Some("a/b")),
            ("/v2/a/blobs/sha256:00", Some("a")),
            ("/v2/a/blobs/uploads/", Some("a")),
            ("/v2/a/blobs/uploads/uuid", Some("a")),
            ("/v2/x/tags/y/tags/list", Some("x/tags/y")),
            ("/v2/x/tags/y/manifests/v1", Some("x/tags/y")),
            ("/v2/a/referrers/sha256:00", Some("a")),
            ("/v2/_catalog", None),
            ("/v2/", None),
            ("/other", None),
        ];
        for (path, want) in cases {
            assert_eq!(repository_of_path(path), want, "{path}");
        }
    }

    #[test]
    fn realm_validation_table() {
        let https_reg = Origin::of(&"https://registry.example".parse().unwrap()).unwrap();
        let http_local = Origin::of(&"http://127.0.0.1:5000".parse().unwrap()).unwrap();
        let https_local = Origin::of(&"https://127.0.0.1:5000".parse().unwrap()).unwrap();
        let cases = [
            (&https_reg, "https://auth.example/token", true),
            (&https_reg, "http://auth.example/token", false),
            (&https_reg, "https://169.254.169.254/token", false),
            (&https_reg, "https://10.1.2.3/token", false),
            (&https_reg, "ftp://auth.example/token", false),
            (&http_local, "http://127.0.0.1:5001/token", true),
            (&https_local, "http://127.0.0.1:5001/token", false),
            (&https_local, "https://127.0.0.1:5001/token", true),
        ];
        for (registry, realm, ok) in cases {
            let realm: Uri = realm.parse().unwrap();
            assert_eq!(
                validate_realm("r", registry, &realm).is_ok(),
                ok,
                "{registry:?} {realm}"
            );
        }
    }
}
