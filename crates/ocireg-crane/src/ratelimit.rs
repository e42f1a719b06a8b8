//! `ratelimit`: what a registry says is left of its rate limit (Docker Hub's pull limit),
//! read from the `RateLimit-Limit`, `RateLimit-Remaining` and `Docker-RateLimit-Source`
//! headers of a manifest `HEAD`, which Docker Hub does not count as a pull.

use http::header::ACCEPT;
use http::{Method, Request, StatusCode};
use ocireg_transport::{Body, RateLimit, parse_rate_limit};
use ocireg_v1::MediaType;

use crate::error::{Error, Result};
use crate::options::Options;
use crate::setup::{Doing, remote_options};

/// The manifest types a `HEAD` accepts (every type crane reads).
const ACCEPT_MANIFESTS: &[MediaType] = &[
    MediaType::DockerManifestSchema2,
    MediaType::OciManifest,
    MediaType::DockerManifestList,
    MediaType::OciImageIndex,
    MediaType::DockerManifestSchema1,
    MediaType::DockerManifestSchema1Signed,
];

/// The rate limit the registry of `reference` reports, from one manifest `HEAD` (crane's
/// `ratelimit`; regctl's `image ratelimit`). Fields the registry does not send (or sends
/// garbled) are `None`; a registry without a limit gives a [`RateLimit`] whose
/// [`is_reported`](RateLimit::is_reported) is false. A missing manifest is a not-found
/// error; other statuses are errors too, except 429, whose headers are the answer.
pub async fn ratelimit(reference: &str, opts: &Options) -> Result<RateLimit> {
    let r = opts.parse_reference(reference)?;
    let remote = remote_options(opts, None).await?;
    let doing = || Doing::on("checking the rate limit of", &r);
    let transport = remote
        .session()
        .pull(r.repository())
        .await
        .map_err(|e| doing().remote(e))?;
    let path = format!(
        "/v2/{}/manifests/{}",
        r.repository().repository_str(),
        r.identifier()
    );
    let accept = ACCEPT_MANIFESTS
        .iter()
        .map(MediaType::as_str)
        .collect::<Vec<_>>()
        .join(",");
    let transport_err = |source| Error::Transport {
        doing: format!("checking the rate limit of {r}"),
        source,
    };
    let request = Request::builder()
        .method(Method::HEAD)
        .uri(transport.url(&path).map_err(transport_err)?)
        .header(ACCEPT, accept)
        .body(Body::empty())
        .map_err(|_| Error::InvalidArgument {
            doing: format!("checking the rate limit of {r}"),
            reason: "the request could not be built",
        })?;
    let response = transport.send(request).await.map_err(transport_err)?;
    let rate = parse_rate_limit(response.headers());
    if response.status() == StatusCode::TOO_MANY_REQUESTS && rate.is_reported() {
        return Ok(rate);
    }
    transport
        .check(response, &[StatusCode::OK])
        .await
        .map_err(transport_err)?;
    Ok(rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_bad_reference_is_a_usage_error() {
        let err = ratelimit("bad ref!", &Options::new())
            .await
            .expect_err("bad");
        assert_eq!(err.kind(), crate::ErrorKind::Usage);
    }
}
