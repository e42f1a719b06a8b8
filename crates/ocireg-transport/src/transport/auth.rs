//! How a [`Transport`] authenticates: the credentials it resolves, the `Authorization`
//! header of each request, and the token exchange with the realm (cached per client, renewed
//! on a 401). Split from `transport.rs` so each file reads as one concern.

use super::{
    AuthConfig, AuthMode, Body, CONTENT_TYPE, CachedToken, ClientInner, DEFAULT_TOKEN_LIFETIME,
    Duration, Error, HeaderMap, HeaderValue, HopPolicy, Instant, Method, Origin, Response,
    ResponseBody, Result, Scopes, Secret, StatusCode, TokenKey, TokenReply, Transport, Uri,
    basic_authorization, body_method, check_target, debug, decode_error, drain, lock, redact_url,
    repository_of_path, retrying, token, warn,
};

impl Transport {
    pub(super) async fn credentials(&self) -> Result<&AuthConfig> {
        self.inner
            .creds
            .get_or_try_init(|| async {
                self.inner
                    .auth
                    .authorization()
                    .await
                    .map_err(|source| Error::Credentials {
                        registry: self.inner.name.clone(),
                        source,
                    })
            })
            .await
    }

    /// The `Authorization` for a request to `uri` (only ever attached to the registry
    /// origin by the hop policy).
    pub(super) async fn authorization(
        &self,
        uri: &Uri,
        force_refresh: bool,
    ) -> Result<Option<HeaderValue>> {
        match &self.inner.mode {
            AuthMode::Basic => Ok(basic_authorization(self.credentials().await?, true)),
            AuthMode::Bearer { .. } => {
                let scopes = self.scopes_for(uri);
                let token = self.token(&scopes, force_refresh).await?;
                let mut v =
                    HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                        Error::TokenResponse {
                            registry: self.inner.name.clone(),
                            realm: String::new(),
                            reason: "the token is not a valid header value".to_owned(),
                        }
                    })?;
                v.set_sensitive(true);
                Ok(Some(v))
            }
        }
    }

    pub(super) fn scopes_for(&self, uri: &Uri) -> Scopes {
        let all = lock(&self.inner.scopes).clone();
        if !self.inner.per_repo {
            return all;
        }
        match repository_of_path(uri.path()) {
            Some(repo) => {
                let mine = all.for_repository(Some(repo));
                if mine.is_empty() {
                    Scopes::pull(repo)
                } else {
                    mine
                }
            }
            None => all.for_repository(None),
        }
    }

    /// A token for `scopes`: from the cache while valid, else from the realm (one exchange
    /// at a time per transport).
    pub(super) async fn token(&self, scopes: &Scopes, force_refresh: bool) -> Result<Secret> {
        self.token_reply(scopes, force_refresh, false)
            .await
            .map(|reply| reply.token)
    }

    /// [`token`](Self::token) with what the token service said along with it. From the
    /// cache only the token is known; `fresh` always asks the realm.
    pub(super) async fn token_reply(
        &self,
        scopes: &Scopes,
        force_refresh: bool,
        fresh: bool,
    ) -> Result<TokenReply> {
        let AuthMode::Bearer {
            realm,
            realm_origin,
            service,
        } = &self.inner.mode
        else {
            return Err(Error::Challenge {
                registry: self.inner.name.clone(),
                reason: "no bearer challenge".to_owned(),
            });
        };
        let creds = self.credentials().await?;
        if let Some(t) = creds.registry_token.as_ref().filter(|t| !t.is_empty()) {
            // A registry token is used as is, without exchange.
            return Ok(TokenReply::bare(t.clone()));
        }
        let client = &self.inner.client.inner;
        let key = TokenKey {
            registry: self.inner.name.clone(),
            realm: realm.to_string(),
            service: service.clone(),
            scopes: scopes.cache_key(),
            who: client.fingerprint(&[
                creds.username.as_deref(),
                creds.password.as_ref().map(Secret::expose),
                creds.auth.as_ref().map(Secret::expose),
                creds.identity_token.as_ref().map(Secret::expose),
            ]),
        };
        let started = Instant::now();
        if !force_refresh
            && !fresh
            && let Some(t) = cached(client, &key)
        {
            return Ok(TokenReply::bare(t));
        }
        let _guard = self.inner.refresh_lock.lock().await;
        // Someone else may have refreshed while we waited.
        if !fresh
            && let Some(t) = lock(&client.tokens).get(&key)
            && t.valid_until > Instant::now()
            && (!force_refresh || t.issued_after(started))
        {
            return Ok(TokenReply::bare(t.token.clone()));
        }
        let reply = self
            .exchange(realm, realm_origin, service, scopes, creds)
            .await?;
        let lifetime = reply
            .expires_in
            .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs);
        // Refresh a little early so a token does not expire in flight.
        let margin = (lifetime / 10).min(Duration::from_secs(10));
        let now = Instant::now();
        lock(&client.tokens).insert(
            key,
            CachedToken {
                token: reply.token.clone(),
                valid_until: now + lifetime.saturating_sub(margin),
                issued: now,
            },
        );
        if let Some(rt) = &reply.refresh_token {
            *lock(&self.inner.refresh_token) = Some(rt.clone());
        }
        Ok(reply)
    }

    /// The token exchange: OAuth2 refresh-token POST when we hold an identity (or refresh)
    /// token, falling back to GET on 404; else GET with Basic credentials if we have them.
    pub(super) async fn exchange(
        &self,
        realm: &Uri,
        realm_origin: &Origin,
        service: &str,
        scopes: &Scopes,
        creds: &AuthConfig,
    ) -> Result<TokenReply> {
        let client = &self.inner.client.inner;
        let refresh = lock(&self.inner.refresh_token)
            .clone()
            .or_else(|| creds.identity_token.clone().filter(|t| !t.is_empty()));
        if let Some(refresh) = refresh {
            let form = token::post_form(service, scopes, &refresh);
            let mut headers = HeaderMap::new();
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
            let policy = self.token_policy(realm_origin, None);
            let (response, _) = retrying(
                client,
                &client.retry,
                &policy,
                &Method::POST,
                realm,
                &headers,
                &Body::from_bytes(form),
            )
            .await?;
            if response.status() != StatusCode::NOT_FOUND {
                return self.read_token(response, realm, creds).await;
            }
            drain(response, client.error_body_limit).await;
            debug!(registry = %self.inner.name, "token POST answered 404, falling back to GET");
        }
        let url = token::get_url(realm, service, scopes)?;
        let authorization = basic_authorization(creds, false);
        let policy = self.token_policy(realm_origin, authorization.as_ref());
        let (response, _) = retrying(
            client,
            &client.retry,
            &policy,
            &Method::GET,
            &url,
            &HeaderMap::new(),
            &Body::empty(),
        )
        .await?;
        self.read_token(response, realm, creds).await
    }

    pub(super) fn token_policy<'a>(
        &'a self,
        realm_origin: &'a Origin,
        authorization: Option<&'a HeaderValue>,
    ) -> HopPolicy<'a> {
        HopPolicy {
            registry_name: &self.inner.name,
            registry: &self.inner.origin,
            credential_origin: Some(realm_origin),
            authorization,
            registry_request: false,
            what: "token service redirect",
        }
    }

    pub(super) async fn read_token(
        &self,
        response: Response<ResponseBody>,
        realm: &Uri,
        creds: &AuthConfig,
    ) -> Result<TokenReply> {
        let client = &self.inner.client.inner;
        let status = response.status();
        if status == StatusCode::OK {
            let body = response
                .into_body()
                .bytes(client.token_response_limit)
                .await?;
            return token::decode(&body, &self.inner.name, realm);
        }
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            let method = body_method(response.body());
            let url = response.body().url().to_owned();
            drain(response, client.error_body_limit).await;
            if creds.is_anonymous() {
                warn!(registry = %self.inner.name, "no matching credentials were found");
                return Err(Error::AuthenticationRequired {
                    registry: self.inner.name.clone(),
                    method,
                    url,
                });
            }
            return Err(Error::AuthenticationFailed {
                registry: self.inner.name.clone(),
                method,
                url,
                status,
            });
        }
        Err(decode_error(client, response).await)
    }

    pub(super) async fn auth_error(
        &self,
        method: Method,
        url: String,
        status: StatusCode,
    ) -> Error {
        let anonymous = match self.credentials().await {
            Ok(c) => c.is_anonymous(),
            Err(e) => return e,
        };
        if anonymous {
            Error::AuthenticationRequired {
                registry: self.inner.name.clone(),
                method,
                url,
            }
        } else {
            Error::AuthenticationFailed {
                registry: self.inner.name.clone(),
                method,
                url,
                status,
            }
        }
    }
}

/// The token realm must be https unless the registry itself is on http, and must pass the
/// SSRF guard.
pub(super) fn validate_realm(name: &str, registry: &Origin, realm: &Uri) -> Result<Origin> {
    let refuse = |reason| Error::UnsafeUrl {
        registry: name.to_owned(),
        what: "token realm",
        url: redact_url(&realm.to_string()),
        reason,
    };
    let realm_origin = Origin::of(realm).ok_or_else(|| refuse("it is not an absolute URL"))?;
    match realm_origin.scheme.as_str() {
        "https" => {}
        "http" if registry.scheme == "http" => {}
        "http" => return Err(refuse("it is plain http for an https registry")),
        _ => return Err(refuse("it is not an http or https URL")),
    }
    check_target(registry, &realm_origin).map_err(refuse)?;
    Ok(realm_origin)
}

pub(super) fn cached(client: &ClientInner, key: &TokenKey) -> Option<Secret> {
    let tokens = lock(&client.tokens);
    let t = tokens.get(key)?;
    (t.valid_until > Instant::now()).then(|| t.token.clone())
}
