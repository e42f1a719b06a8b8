//! Docker Hub's own web API, for what its registry API refuses: deleting a tag.
//!
//! Docker Hub answers the distribution API's manifest `DELETE` with an access denied. Its
//! web API at `hub.docker.com` deletes a tag given a token (regclient's `"api": "hub"`
//! host setting): `DELETE /v2/repositories/<namespace>/<repo>/tags/<tag>/` with
//! `Authorization: JWT <token>`. [`delete_tag`](crate::delete_tag) uses a [`HubApi`] when
//! it is given one.

use std::fmt;

use http::{Method, Request, StatusCode, Uri};
use ocireg_authn::Secret;
use ocireg_transport::{Body, Client};

use crate::error::{Error, Result};
use crate::text::escape_text;

/// The Docker Hub web API's address.
pub const HUB_API_URL: &str = "https://hub.docker.com";

/// At most this much of an error answer is read (its `detail` is shown, cut short).
const MAX_ERROR_BODY: u64 = 16 * 1024;

/// At most this many characters of an error's `detail` are shown.
const MAX_DETAIL_CHARS: usize = 200;

/// How the token is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum HubAuthScheme {
    /// `Authorization: JWT <token>`: the session token of `POST /v2/users/login` or of the
    /// browser's cookies, as regclient sends it.
    #[default]
    Jwt,
    /// `Authorization: Bearer <token>`: the token of `POST /v2/auth/token` (a personal
    /// access token exchanged).
    Bearer,
}

/// The Docker Hub web API with a token. `Debug` never shows the token.
#[derive(Clone)]
pub struct HubApi {
    base: String,
    token: Secret,
    scheme: HubAuthScheme,
}

impl fmt::Debug for HubApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubApi")
            .field("base", &self.base)
            .field("token", &self.token)
            .field("scheme", &self.scheme)
            .finish()
    }
}

impl HubApi {
    /// The API at [`HUB_API_URL`] with `token`.
    #[must_use]
    pub fn new(token: Secret) -> Self {
        Self::with_base(HUB_API_URL, token)
    }

    /// The API at `base` (`https://hub.docker.com`, or a test server), with `token`.
    #[must_use]
    pub fn with_base(base: impl Into<String>, token: Secret) -> Self {
        let base = base.into().trim_end_matches('/').to_owned();
        Self {
            base,
            token,
            scheme: HubAuthScheme::default(),
        }
    }

    /// The same API sending the token with `scheme`.
    #[must_use]
    pub fn with_scheme(mut self, scheme: HubAuthScheme) -> Self {
        self.scheme = scheme;
        self
    }

    /// The base URL.
    #[must_use]
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The URL that deletes `tag` of `repository` (`namespace/name`; a bare `name` is the
    /// official image `library/name`, as for `hub.docker.com/alpine:3`).
    fn tag_url(&self, repository: &str, tag: &str) -> Result<Uri> {
        let parts: Vec<&str> = repository.splitn(3, '/').collect();
        let (namespace, name) = match parts[..] {
            [name] if !name.is_empty() => ("library", name),
            [namespace, name] if !namespace.is_empty() && !name.is_empty() => (namespace, name),
            _ => {
                return Err(Error::InvalidArgument {
                    doing: format!("deleting tag {tag} of {repository} through the Docker Hub API"),
                    reason: "a Docker Hub repository is NAMESPACE/NAME (library/NAME for \
                             official images)",
                });
            }
        };
        let url = format!(
            "{}/v2/repositories/{namespace}/{name}/tags/{tag}/",
            self.base
        );
        url.parse().map_err(|_| Error::InvalidArgument {
            doing: format!("deleting tag {tag} of {repository} through the Docker Hub API"),
            reason: "the Docker Hub API URL is not valid",
        })
    }

    /// Deletes `tag` of `repository` (`namespace/name`, or `name` for `library/name`)
    /// through the API: `DELETE
    /// {base}/v2/repositories/{namespace}/{name}/tags/{tag}/`. 200, 202 and 204 are
    /// success; 401 says the token is expired or invalid, 404 that there is no such tag
    /// ([`Error::HubApi`], whose hint says what to do).
    pub async fn delete_tag(&self, client: &Client, repository: &str, tag: &str) -> Result<()> {
        let doing = format!("deleting tag {tag} of {repository} through the Docker Hub API");
        let uri = self.tag_url(repository, tag)?;
        let request = Request::builder()
            .method(Method::DELETE)
            .uri(uri)
            .header(http::header::ACCEPT, "application/json")
            .body(Body::empty())
            .map_err(|_| Error::InvalidArgument {
                doing: doing.clone(),
                reason: "the request could not be built",
            })?;
        let prefix = match self.scheme {
            HubAuthScheme::Jwt => "JWT",
            HubAuthScheme::Bearer => "Bearer",
        };
        let authorization = Secret::new(format!("{prefix} {}", self.token.expose()));
        let response = client
            .send_api(request, Some(&authorization))
            .await
            .map_err(|source| Error::Transport {
                doing: doing.clone(),
                source,
            })?;
        let status = response.status();
        let body = response
            .into_body()
            .bytes(MAX_ERROR_BODY)
            .await
            .unwrap_or_default();
        if matches!(
            status,
            StatusCode::OK | StatusCode::ACCEPTED | StatusCode::NO_CONTENT
        ) {
            return Ok(());
        }
        Err(Error::HubApi {
            doing,
            status: status.as_u16(),
            detail: detail(&body),
        })
    }
}

/// The `detail` (or `message`) of a Hub API error answer, escaped for a terminal and cut
/// to [`MAX_DETAIL_CHARS`].
fn detail(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let text = ["detail", "message", "errinfo"]
        .iter()
        .find_map(|k| value.get(k).and_then(serde_json::Value::as_str))?;
    let text: String = text.chars().take(MAX_DETAIL_CHARS).collect();
    let text = escape_text(text.trim()).into_owned();
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_prints() {
        let api = HubApi::new(Secret::new("s3cr3t-token"));
        let shown = format!("{api:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("hub.docker.com"), "{shown}");
    }

    #[test]
    fn urls_need_namespace_and_name() {
        let api = HubApi::with_base("http://127.0.0.1:1/", Secret::new("t"));
        assert_eq!(
            api.tag_url("library/alpine", "3.19")
                .expect("valid")
                .to_string(),
            "http://127.0.0.1:1/v2/repositories/library/alpine/tags/3.19/"
        );
        assert_eq!(
            api.tag_url("alpine", "3").expect("valid").path(),
            "/v2/repositories/library/alpine/tags/3/"
        );
        for bad in ["", "a/b/c", "a/ b", "/b"] {
            assert!(api.tag_url(bad, "v1").is_err(), "{bad}");
        }
    }

    #[test]
    fn details_are_escaped_and_cut() {
        assert_eq!(
            detail(br#"{"detail":"Object not found"}"#).as_deref(),
            Some("Object not found")
        );
        let long = format!(r#"{{"message":"{}"}}"#, "x".repeat(1000));
        assert_eq!(
            detail(long.as_bytes()).map(|d| d.len()),
            Some(MAX_DETAIL_CHARS)
        );
        let shown = detail(b"{\"detail\":\"a\\u001b[31mb\"}").expect("detail");
        assert!(!shown.contains('\u{1b}'), "{shown:?}");
        assert_eq!(detail(b"not json"), None);
    }
}
