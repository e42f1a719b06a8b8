//! The ping: `GET /v2/` without credentials, to learn a registry's scheme and how it
//! authenticates (ggcr's `ping` and `pingParallel`), with https and http raced for
//! registries that may speak plain http, and the retry policy applied to the race.

use std::time::Duration;

use http::{HeaderMap, Method, StatusCode, Uri};
use tracing::{debug, warn};

use crate::body::Body;
use crate::challenge::{Challenge, parse_www_authenticate, pick};
use crate::client::{ClientInner, HopPolicy, Pinged};
use crate::error::{Error, Result, summary};
use crate::retry::RetryPolicy;
use crate::target::Origin;
use crate::transport::{decode_error, drain, retrying};

/// How long https gets alone before http joins the race (as ggcr's `pingParallel`).
const HTTP_PING_DELAY: Duration = Duration::from_millis(300);

/// `GET /v2/` without credentials, retried with the client's [`RetryPolicy`].
///
/// Over https only, unless http is allowed: then each attempt is a race in which https
/// starts first, http joins after 300 ms or as soon as https fails, and the first success
/// wins (https when both would). A race that fails is run again, after the policy's backoff
/// and within its attempts, while a scheme failed transiently (refused, reset, early EOF,
/// timeout, 408/429/5xx). A scheme that failed for good (a TLS handshake failure: the
/// registry speaks plain http) is not tried again; a definitive answer (another status, an
/// unusable redirect) from either scheme ends the retries.
///
/// A registry set to plain http only ([`plain_http_for`](crate::ClientBuilder::plain_http_for))
/// is pinged over http alone, whatever `allow_http` says.
pub(crate) async fn ping(client: &ClientInner, name: &str, allow_http: bool) -> Result<Pinged> {
    if client.http_only(name) {
        return ping_one(client, name, "http", &client.retry).await;
    }
    if !allow_http {
        return ping_one(client, name, "https", &client.retry).await;
    }
    let retry = &client.retry;
    let mut attempt = 0;
    let mut failed = None;
    // Whether both schemes were refused on every attempt so far (see RetryPolicy).
    let mut refused = true;
    loop {
        attempt += 1;
        let (https_err, http_err) = match ping_race(client, name, failed).await {
            Ok(found) => return Ok(found),
            Err(errors) => errors,
        };
        refused &= https_err.is_connection_refused() && http_err.is_connection_refused();
        let retry_again = attempt < retry.attempts(refused)
            && (https_err.is_transient() || http_err.is_transient())
            && !is_definitive(&https_err)
            && !is_definitive(&http_err);
        if !retry_again {
            return Err(ping_error(name, attempt, https_err, http_err));
        }
        let wait = retry.wait(attempt, refused);
        warn!(
            registry = %name,
            attempt,
            https_error = %summary(&https_err),
            http_error = %summary(&http_err),
            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            "retrying the ping after a transient error"
        );
        tokio::time::sleep(wait).await;
        failed = Some((https_err, http_err));
    }
}

/// [`Error::Ping`] with the failure that says most as its source (see there).
fn ping_error(name: &str, attempts: u32, https: Error, http: Error) -> Error {
    let (scheme, error, other) = if ping_rank(&http) > ping_rank(&https) {
        ("http", http, https)
    } else {
        ("https", https, http)
    };
    Error::Ping {
        registry: name.to_owned(),
        attempts,
        scheme,
        error: Box::new(error),
        other: Box::new(other),
    }
}

/// How far a ping got before it failed: 4 an answer, 3 a request sent (no answer in time,
/// or a broken one), 2 a connection refused or timed out, 1 a TLS handshake that failed or
/// timed out (what https meets at a plain-http registry).
fn ping_rank(e: &Error) -> u8 {
    match e {
        Error::Timeout { phase, .. } => match phase {
            crate::TimeoutPhase::TlsHandshake => 1,
            crate::TimeoutPhase::Connect => 2,
            _ => 3,
        },
        Error::Connect { source, .. } => {
            let tls = std::iter::successors(
                Some(source.as_ref() as &(dyn std::error::Error + 'static)),
                |c| c.source(),
            )
            .any(|c| {
                c.downcast_ref::<crate::connector::ConnectFailure>()
                    .is_some_and(|f| f.tls_failed)
            });
            if tls { 1 } else { 2 }
        }
        Error::Request { .. } | Error::Body { .. } => 3,
        _ => 4,
    }
}

/// A failure that is an answer from the registry rather than trouble reaching it (another
/// status, a refused redirect): trying again or over the other scheme will not change it.
fn is_definitive(e: &Error) -> bool {
    !e.is_transient()
        && !matches!(
            e,
            Error::Connect { .. } | Error::Request { .. } | Error::Body { .. }
        )
}

/// One attempt of the https/http race, one request per scheme. `failed` holds the previous
/// attempt's errors: a scheme that failed for good then is not tried again and keeps its
/// error. On failure, the https and the http errors.
async fn ping_race(
    client: &ClientInner,
    name: &str,
    failed: Option<(Error, Error)>,
) -> std::result::Result<Pinged, (Error, Error)> {
    use futures_util::future::{Either, select};
    // One attempt per scheme here (ggcr's ping does not retry): `ping` retries the race.
    let once = RetryPolicy::never();
    let (https_done, http_done) = match failed {
        None => (None, None),
        Some((https, http)) => (
            Some(https).filter(|e| !e.is_transient()),
            Some(http).filter(|e| !e.is_transient()),
        ),
    };
    match (https_done, http_done) {
        (Some(https_err), Some(http_err)) => return Err((https_err, http_err)),
        (Some(https_err), None) => {
            return ping_one(client, name, "http", &once)
                .await
                .map_err(|http_err| (https_err, http_err));
        }
        (None, Some(http_err)) => {
            return ping_one(client, name, "https", &once)
                .await
                .map_err(|https_err| (https_err, http_err));
        }
        (None, None) => {}
    }
    let https = Box::pin(ping_one(client, name, "https", &once));
    let delay = Box::pin(tokio::time::sleep(HTTP_PING_DELAY));
    let https = match select(https, delay).await {
        Either::Left((Ok(found), _)) => return Ok(found),
        Either::Left((Err(https_err), _)) => {
            debug!(registry = %name, error = %https_err, "https ping failed, trying http");
            return ping_one(client, name, "http", &once)
                .await
                .map_err(|http_err| (https_err, http_err));
        }
        Either::Right(((), https)) => https,
    };
    let http = Box::pin(ping_one(client, name, "http", &once));
    match select(https, http).await {
        Either::Left((Ok(found), _)) | Either::Right((Ok(found), _)) => Ok(found),
        Either::Left((Err(https_err), http)) => {
            http.await.map_err(|http_err| (https_err, http_err))
        }
        Either::Right((Err(http_err), https)) => {
            https.await.map_err(|https_err| (https_err, http_err))
        }
    }
}

async fn ping_one(
    client: &ClientInner,
    name: &str,
    scheme: &str,
    retry: &RetryPolicy,
) -> Result<(Origin, Option<Challenge>)> {
    let uri: Uri = format!("{scheme}://{name}/v2/")
        .parse()
        .map_err(|_| Error::InvalidRequest {
            reason: format!("registry name {name:?} does not make a valid URL"),
        })?;
    let origin = Origin::of(&uri).ok_or_else(|| Error::InvalidRequest {
        reason: format!("registry name {name:?} has no host"),
    })?;
    let policy = HopPolicy {
        registry_name: name,
        registry: &origin,
        credential_origin: None,
        authorization: None,
        registry_request: true,
        what: "redirect",
    };
    let (response, final_uri) = retrying(
        client,
        retry,
        &policy,
        &Method::GET,
        &uri,
        &HeaderMap::new(),
        &Body::empty(),
    )
    .await?;
    let status = response.status();
    // A redirect to https counts as secure (ggcr #2225).
    let final_origin = Origin::of(&final_uri)
        .filter(|o| o.same_host(&origin))
        .map_or(origin.clone(), |o| Origin {
            scheme: o.scheme,
            ..origin
        });
    match status {
        StatusCode::OK => {
            drain(response, client.error_body_limit).await;
            Ok((final_origin, None))
        }
        StatusCode::UNAUTHORIZED => {
            let challenges = parse_www_authenticate(response.headers());
            let challenge = pick(&challenges).cloned().or_else(|| {
                // Unparseable header: its raw value becomes the scheme, as ggcr does.
                response
                    .headers()
                    .get(http::header::WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| Challenge::new(v, &[]))
            });
            drain(response, client.error_body_limit).await;
            Ok((final_origin, challenge))
        }
        _ => Err(decode_error(client, response).await),
    }
}
