//! How the [`TokenServer`](super::TokenServer) answers a request: scopes, credentials,
//! the GET and OAuth2 POST flows, and signing the token.

use std::convert::Infallible;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use ring::rand::SecureRandom as _;
use serde_json::json;

use crate::error::{Error, Result};
use crate::server::{Conn, Handler, lock};
use crate::util::{parse_form, rfc3339, unix_now};

use super::{MAX_BODY, State, TokenFields, TokenRequest, User};

/// A requested or granted resource: type, name, actions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Access {
    kind: String,
    name: String,
    actions: Vec<String>,
}

/// `type:name:actions`; the name may itself hold colons (`host:5000/repo`).
pub(super) fn parse_scope(scope: &str) -> Option<Access> {
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
    pub(super) fn sign(
        &self,
        subject: &str,
        access: Vec<Access>,
        iat: u64,
        exp: u64,
    ) -> Result<String> {
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
