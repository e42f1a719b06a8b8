//! The distribution protocol, in one place: the routes (every `/v2/...` path this crate
//! requests), the header names, the `Accept` lists, the parsing of response headers, the
//! request helpers, and the manifest `HEAD` and `GET` that the read and the write side both
//! use. Everything here is wire format; what a response means for an operation is decided by
//! the modules that call it.

use std::fmt::Write as _;

use bytes::Bytes;
use http::header::{ACCEPT, AsHeaderName, CONTENT_LENGTH, CONTENT_TYPE, HeaderName};
use http::{HeaderMap, Method, Request, Response, StatusCode, Uri};
use ocireg_name::{DigestReference, Reference, Repository};
use ocireg_transport::{Body, ResponseBody, Transport};
use ocireg_v1::{Digest, MANIFEST_LIMIT, MediaType};

use crate::error::{Error, Result, Subject};

/// How deep nested indexes may go, reading (platform resolution, child indexes) and
/// writing (children pushed depth first).
pub(crate) const MAX_INDEX_DEPTH: usize = 16;

// ---- routes ----

/// The API root, the base foreign layer URLs are resolved against.
pub(crate) const ROOT: &str = "/v2/";

/// The catalog of a registry.
pub(crate) const CATALOG: &str = "/v2/_catalog";

/// `/v2/<repo>/manifests/<tag or digest>`.
pub(crate) fn manifest(repo: &Repository, identifier: &str) -> String {
    format!("/v2/{}/manifests/{identifier}", repo.repository_str())
}

/// `/v2/<repo>/blobs/<digest>`.
pub(crate) fn blob(repo: &Repository, digest: &Digest) -> String {
    format!("/v2/{}/blobs/{digest}", repo.repository_str())
}

/// `/v2/<repo>/blobs/uploads/`: where an upload session is opened.
pub(crate) fn uploads(repo: &Repository) -> String {
    format!("/v2/{}/blobs/uploads/", repo.repository_str())
}

/// `/v2/<repo>/blobs/uploads/?mount=<digest>&from=<source repo>`: a cross-repository mount.
pub(crate) fn mount(repo: &Repository, digest: &Digest, from: &Repository) -> String {
    format!(
        "{}?mount={digest}&from={}",
        uploads(repo),
        from.repository_str()
    )
}

/// `/v2/<repo>/tags/list`.
pub(crate) fn tags(repo: &Repository) -> String {
    format!("/v2/{}/tags/list", repo.repository_str())
}

/// `/v2/<repo>/referrers/<digest>`, with `?artifactType=` when filtering.
pub(crate) fn referrers(
    repo: &Repository,
    subject: &Digest,
    artifact_type: Option<&MediaType>,
) -> String {
    let mut path = format!("/v2/{}/referrers/{subject}", repo.repository_str());
    if let Some(at) = artifact_type {
        path.push_str("?artifactType=");
        path.push_str(&query_value(at.as_str(), false));
    }
    path
}

/// A query parameter value, percent-encoding everything but unreserved characters (and `/`
/// when `keep_slash`, as listings send `last`).
pub(crate) fn query_value(value: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

// ---- headers ----

/// `Docker-Content-Digest`: the digest of a manifest or blob, sent by the registry.
pub(crate) const DOCKER_CONTENT_DIGEST: HeaderName =
    HeaderName::from_static("docker-content-digest");
/// `OCI-Chunk-Min-Length`: the smallest chunk a registry takes (OCI distribution 1.1).
pub(crate) const OCI_CHUNK_MIN_LENGTH: HeaderName = HeaderName::from_static("oci-chunk-min-length");
/// `OCI-Filters-Applied`: the filters a registry applied to a referrers list.
pub(crate) const OCI_FILTERS_APPLIED: HeaderName = HeaderName::from_static("oci-filters-applied");
/// `OCI-Subject`: a registry confirming it indexed the `subject` of a pushed manifest.
pub(crate) const OCI_SUBJECT: HeaderName = HeaderName::from_static("oci-subject");

/// The `Content-Type` of blob uploads.
pub(crate) const OCTET_STREAM: &str = "application/octet-stream";

/// A header's value as text: present, ASCII, trimmed and not empty.
pub(crate) fn header_str(headers: &HeaderMap, name: impl AsHeaderName) -> Option<&str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

/// The media type of a `Content-Type` value, without parameters (`; charset=utf-8`).
pub(crate) fn media_type_of(value: &str) -> MediaType {
    MediaType::from(value.split(';').next().unwrap_or_default().trim())
}

/// The media type a response's `Content-Type` names, without parameters.
pub(crate) fn content_type(headers: &HeaderMap) -> Option<MediaType> {
    header_str(headers, CONTENT_TYPE).map(media_type_of)
}

/// A response's `Content-Length`, when it is a number.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    header_str(headers, CONTENT_LENGTH).and_then(|v| v.parse().ok())
}

/// The target of the `rel="next"` entry of a `Link` header value, if any (only the text
/// between `<` and `>` is used, as in ggcr).
pub(crate) fn next_link(header: &str) -> Option<String> {
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let close = after.find('>')?;
        let target = &after[..close];
        let params_end = after[close..].find('<').map_or(after.len(), |i| close + i);
        let params = &after[close + 1..params_end];
        let is_next = params.split(';').any(|p| {
            let p = p.trim().trim_end_matches(',').trim();
            p.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("rel")
                    && v.trim()
                        .trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
            })
        });
        if is_next {
            return Some(target.to_owned());
        }
        rest = &after[params_end..];
    }
    None
}

/// Parses a download's `Content-Range` (`bytes <start>-<end>/<total|*>`) into the start and
/// the total.
pub(crate) fn parse_content_range(value: &str) -> Option<(u64, Option<u64>)> {
    let rest = value.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end: u64 = end.trim().parse().ok()?;
    if end < start {
        return None;
    }
    let total = match total.trim() {
        "*" => None,
        t => {
            let t: u64 = t.parse().ok()?;
            if end >= t {
                return None;
            }
            Some(t)
        }
    };
    Some((start, total))
}

/// Parses an upload's `Range` header (`0-N`, optionally `bytes=0-N`): the number of bytes
/// the registry holds, or `None` when it cannot be told (`0-0` means 0 or 1 bytes).
pub(crate) fn parse_upload_range(value: &str) -> Option<u64> {
    let v = value.trim();
    let v = v.strip_prefix("bytes=").unwrap_or(v);
    let (start, end) = v.split_once('-')?;
    if start.trim() != "0" {
        return None;
    }
    let end: u64 = end.trim().parse().ok()?;
    if end == 0 {
        return None;
    }
    end.checked_add(1)
}

// ---- Accept lists ----

/// Every manifest type we read, for `get`, `image` and `head` (ggcr's
/// `allManifestMediaTypes`).
pub(crate) const ALL_MANIFESTS: &[MediaType] = &[
    MediaType::DockerManifestSchema1,
    MediaType::DockerManifestSchema1Signed,
    MediaType::DockerManifestSchema2,
    MediaType::OciManifest,
    MediaType::DockerManifestList,
    MediaType::OciImageIndex,
];

/// The index types, for `index`.
pub(crate) const INDEXES: &[MediaType] = &[MediaType::DockerManifestList, MediaType::OciImageIndex];

/// Every manifest type we push, for the existence checks of a push or a copy.
pub(crate) const PUSHED_MANIFESTS: &[MediaType] = &[
    MediaType::OciManifest,
    MediaType::OciImageIndex,
    MediaType::DockerManifestSchema2,
    MediaType::DockerManifestList,
];

/// The OCI index: the referrers API, and the fallback tag when we update it.
pub(crate) const OCI_INDEX: &[MediaType] = &[MediaType::OciImageIndex];

/// The fallback tag when we read referrers from it.
pub(crate) const REFERRERS_TAG: &[MediaType] =
    &[MediaType::OciImageIndex, MediaType::DockerManifestList];

/// What a tag or catalog listing accepts.
pub(crate) const JSON: &str = "application/json";

/// The comma-joined `Accept` value (no spaces, as ggcr sends it).
pub(crate) fn accept_header(types: &[MediaType]) -> String {
    types
        .iter()
        .map(MediaType::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

// ---- requests ----

/// The absolute URL of `path` on the registry of `transport`.
pub(crate) fn url(transport: &Transport, path: &str, subject: &Subject) -> Result<Uri> {
    transport
        .url(path)
        .map_err(|e| Error::transport("building the URL for", subject.clone(), e))
}

/// Builds a request; header values we build are always valid, but a bad one (a media type
/// from a hostile index in `Accept`) is an error, not a panic.
pub(crate) fn request(
    method: Method,
    uri: Uri,
    headers: &[(HeaderName, String)],
    body: Body,
    subject: &Subject,
) -> Result<Request<Body>> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(name, value.as_str());
    }
    builder
        .body(body)
        .map_err(|e| Error::protocol("building a request for", subject.clone(), e.to_string()))
}

/// Reads and drops a small response body so the connection can be reused.
pub(crate) async fn discard(response: Response<ResponseBody>) {
    /// The most of a small response body we read before dropping it.
    const SMALL_BODY: u64 = 64 * 1024;
    drop(response.into_body().bytes(SMALL_BODY).await);
}

/// Sends a request without a body for `path`; the response is returned whatever its
/// status. A failure to send is an error of `action` on `subject`.
async fn send_bodyless(
    transport: &Transport,
    method: Method,
    path: &str,
    headers: &[(HeaderName, String)],
    action: &'static str,
    subject: Subject,
) -> Result<Response<ResponseBody>> {
    let uri = url(transport, path, &subject)?;
    let req = request(method, uri, headers, Body::empty(), &subject)?;
    transport
        .send(req)
        .await
        .map_err(|e| Error::transport(action, subject, e))
}

/// `HEAD /v2/<repo>/blobs/<digest>`; the response is returned whatever its status. A
/// failure to send is an error of `action`.
pub(crate) async fn head_blob(
    transport: &Transport,
    blob_ref: &DigestReference,
    action: &'static str,
) -> Result<Response<ResponseBody>> {
    let path = blob(blob_ref.repository(), &blob_ref.digest());
    send_bodyless(transport, Method::HEAD, &path, &[], action, blob_ref.into()).await
}

/// `GET /v2/<repo>/referrers/<digest>` (filtered by `artifact_type`), accepting an OCI
/// index; the response is returned whatever its status. A failure to send is an error of
/// `action`.
pub(crate) async fn get_referrers(
    transport: &Transport,
    subject: &DigestReference,
    artifact_type: Option<&MediaType>,
    action: &'static str,
) -> Result<Response<ResponseBody>> {
    let path = referrers(subject.repository(), &subject.digest(), artifact_type);
    let accept = [(ACCEPT, accept_header(OCI_INDEX))];
    send_bodyless(
        transport,
        Method::GET,
        &path,
        &accept,
        action,
        subject.into(),
    )
    .await
}

/// Whether a referrers response comes from the referrers API: a 200 with an OCI index. (A
/// registry without the API may answer 200 with something else, e.g. a web page.)
pub(crate) fn is_referrers_api<B>(response: &Response<B>) -> bool {
    response.status() == StatusCode::OK
        && content_type(response.headers()) == Some(MediaType::OciImageIndex)
}

// ---- manifests ----

/// `HEAD /v2/<repo>/manifests/<tag or digest>`, accepting `accept`; the response is
/// returned whatever its status. A failure to send is an error of `action`.
pub(crate) async fn head_manifest(
    transport: &Transport,
    reference: &Reference,
    accept: &[MediaType],
    action: &'static str,
) -> Result<Response<ResponseBody>> {
    let path = manifest(reference.repository(), reference.identifier());
    let accept = [(ACCEPT, accept_header(accept))];
    send_bodyless(
        transport,
        Method::HEAD,
        &path,
        &accept,
        action,
        reference.into(),
    )
    .await
}

/// Whether a manifest is there, and under which digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Presence {
    /// The registry says it is not there (404, or 403 as ggcr takes it).
    Missing,
    /// Present; the digest when the registry said it.
    Present(Option<Digest>),
}

/// The existence check of a push or a copy: a manifest `HEAD` accepting every type we push,
/// where 404 and 403 (as in ggcr) mean missing and any other status but 200 is an error.
pub(crate) async fn manifest_presence(
    transport: &Transport,
    reference: &Reference,
) -> Result<Presence> {
    const ACTION: &str = "checking for manifest";
    let response = head_manifest(transport, reference, PUSHED_MANIFESTS, ACTION).await?;
    let response = transport
        .check(
            response,
            &[StatusCode::OK, StatusCode::NOT_FOUND, StatusCode::FORBIDDEN],
        )
        .await
        .map_err(|e| Error::transport(ACTION, reference, e))?;
    let presence = if response.status() == StatusCode::OK {
        Presence::Present(
            header_str(response.headers(), DOCKER_CONTENT_DIGEST).and_then(|d| d.parse().ok()),
        )
    } else {
        Presence::Missing
    };
    discard(response).await;
    Ok(presence)
}

/// `GET /v2/<repo>/manifests/<identifier>`, accepting `accept`: the whole body, capped at
/// [`MANIFEST_LIMIT`], when the status is one of `ok`. A larger body is
/// [`Error::TooLarge`]; any other failure is an error of `action` on `subject`.
pub(crate) async fn get_manifest(
    transport: &Transport,
    repo: &Repository,
    identifier: &str,
    accept: &[MediaType],
    ok: &[StatusCode],
    action: &'static str,
    subject: &Subject,
) -> Result<Response<Bytes>> {
    let req = request(
        Method::GET,
        url(transport, &manifest(repo, identifier), subject)?,
        &[(ACCEPT, accept_header(accept))],
        Body::empty(),
        subject,
    )?;
    transport
        .fetch_bytes(req, ok, MANIFEST_LIMIT)
        .await
        .map_err(|e| manifest_error(action, subject, e))
}

/// A failed manifest request: [`Error::TooLarge`] past the limit, else an error of `action`.
pub(crate) fn manifest_error(
    action: &'static str,
    subject: &Subject,
    e: ocireg_transport::Error,
) -> Error {
    if let ocireg_transport::Error::BodyTooLarge { limit, .. } = &e {
        return Error::TooLarge {
            what: "manifest",
            reference: subject.clone(),
            size: limit + 1,
            limit: *limit,
        };
    }
    Error::transport(action, subject.clone(), e)
}

/// `PUT /v2/<repo>/manifests/<identifier>` with the exact bytes and their media type as
/// `Content-Type`; the response of a 200, 201 or 202. Any other failure is an error of
/// `action` on `subject`.
pub(crate) async fn put_manifest(
    transport: &Transport,
    repo: &Repository,
    identifier: &str,
    (media_type, bytes): (&MediaType, &Bytes),
    action: &'static str,
    subject: &Subject,
) -> Result<Response<ResponseBody>> {
    let req = request(
        Method::PUT,
        url(transport, &manifest(repo, identifier), subject)?,
        &[(CONTENT_TYPE, media_type.to_string())],
        Body::from_bytes(bytes.clone()),
        subject,
    )?;
    transport
        .send_expect(
            req,
            &[StatusCode::OK, StatusCode::CREATED, StatusCode::ACCEPTED],
        )
        .await
        .map_err(|e| Error::transport(action, subject.clone(), e))
}

/// Compares the registry's `Docker-Content-Digest` (`said`) with the digest of what we
/// sent, when it sent one in the same algorithm. `pushed` names what was pushed (see
/// [`Error::RegistryDigestMismatch`]).
pub(crate) fn check_registry_digest(
    said: Option<&str>,
    sent: Digest,
    pushed: &Subject,
) -> Result<()> {
    let Some(said) = said.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(());
    };
    match said.parse::<Digest>() {
        Ok(d) if d == sent || d.algorithm() != sent.algorithm() => Ok(()),
        _ => Err(Error::RegistryDigestMismatch {
            reference: pushed.clone(),
            sent,
            registry: said.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Parsed = Option<(u64, Option<u64>)>;

    #[test]
    fn content_range_table() {
        let cases: &[(&str, Parsed)] = &[
            ("bytes 0-9/10", Some((0, Some(10)))),
            ("bytes 5-9/10", Some((5, Some(10)))),
            ("bytes 5-9/*", Some((5, None))),
            (" bytes 7-7/8 ", Some((7, Some(8)))),
            ("bytes 5-4/10", None),
            ("bytes 5-10/10", None),
            ("bytes=5-9/10", None),
            ("bytes 5-/10", None),
            ("bytes -5/10", None),
            ("items 0-1/2", None),
            ("bytes 0-1", None),
            ("bytes a-b/c", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_content_range(input), *want, "{input}");
        }
    }

    #[test]
    fn upload_range_table() {
        let cases = [
            ("0-99", Some(100)),
            ("bytes=0-99", Some(100)),
            (" 0-1 ", Some(2)),
            ("0-0", None),
            ("1-99", None),
            ("0-", None),
            ("garbage", None),
            ("0-18446744073709551615", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_upload_range(input), want, "{input}");
        }
    }

    #[test]
    fn link_header_table() {
        let cases: &[(&str, Option<&str>)] = &[
            (
                r#"</v2/a/tags/list?n=2&last=b>; rel="next""#,
                Some("/v2/a/tags/list?n=2&last=b"),
            ),
            (r"</x>; rel=next", Some("/x")),
            (
                r#"<https://r.example/v2/_catalog?last=z>; rel="next""#,
                Some("https://r.example/v2/_catalog?last=z"),
            ),
            (r#"</prev>; rel="prev", </next>; rel="next""#, Some("/next")),
            (r#"</a>; rel="prev""#, None),
            (r#"</a>; title="x""#, None),
            (r"no brackets; rel=next", None),
            (r#"</unterminated; rel="next""#, None),
            ("", None),
        ];
        for (input, want) in cases {
            assert_eq!(next_link(input).as_deref(), *want, "{input}");
        }
    }

    #[test]
    fn accept_is_comma_joined_without_spaces() {
        assert_eq!(
            accept_header(INDEXES),
            "application/vnd.docker.distribution.manifest.list.v2+json,application/vnd.oci.image.index.v1+json"
        );
        assert_eq!(
            accept_header(PUSHED_MANIFESTS),
            "application/vnd.oci.image.manifest.v1+json,application/vnd.oci.image.index.v1+json,application/vnd.docker.distribution.manifest.v2+json,application/vnd.docker.distribution.manifest.list.v2+json"
        );
        assert_eq!(
            accept_header(OCI_INDEX),
            "application/vnd.oci.image.index.v1+json"
        );
    }

    #[test]
    fn media_type_drops_parameters() {
        assert_eq!(
            media_type_of("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
            MediaType::OciManifest
        );
    }

    #[test]
    fn header_values_are_trimmed_and_never_empty() {
        let mut h = HeaderMap::new();
        h.insert(
            DOCKER_CONTENT_DIGEST,
            "  sha256:ab ".parse().expect("valid"),
        );
        h.insert(CONTENT_TYPE, "".parse().expect("valid"));
        assert_eq!(header_str(&h, DOCKER_CONTENT_DIGEST), Some("sha256:ab"));
        assert_eq!(header_str(&h, CONTENT_TYPE), None);
        assert_eq!(content_type(&h), None);
    }

    #[test]
    fn registry_digest_check() {
        let r = Subject::Other("r".into());
        let d = ocireg_v1::sha256(b"x");
        assert!(check_registry_digest(None, d, &r).is_ok());
        assert!(check_registry_digest(Some(""), d, &r).is_ok());
        assert!(check_registry_digest(Some(&d.to_string()), d, &r).is_ok());
        let other = ocireg_v1::sha256(b"y").to_string();
        assert!(matches!(
            check_registry_digest(Some(&other), d, &r),
            Err(Error::RegistryDigestMismatch { .. })
        ));
        assert!(check_registry_digest(Some("nonsense"), d, &r).is_err());
        let sha512 = ocireg_v1::digest_of(ocireg_v1::Algorithm::Sha512, b"x").to_string();
        assert!(check_registry_digest(Some(&sha512), d, &r).is_ok());
    }

    #[test]
    fn routes() {
        let repo = Repository::new("reg.example/team/app").expect("valid");
        let d = ocireg_v1::sha256(b"x");
        assert_eq!(manifest(&repo, "v1"), "/v2/team/app/manifests/v1");
        assert_eq!(blob(&repo, &d), format!("/v2/team/app/blobs/{d}"));
        assert_eq!(uploads(&repo), "/v2/team/app/blobs/uploads/");
        let from = Repository::new("reg.example/other").expect("valid");
        assert_eq!(
            mount(&repo, &d, &from),
            format!("/v2/team/app/blobs/uploads/?mount={d}&from=other")
        );
        assert_eq!(tags(&repo), "/v2/team/app/tags/list");
        assert_eq!(
            referrers(&repo, &d, Some(&MediaType::from("application/vnd.x+json"))),
            format!("/v2/team/app/referrers/{d}?artifactType=application%2Fvnd.x%2Bjson")
        );
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(query_value("v1.2_x-y", true), "v1.2_x-y");
        assert_eq!(query_value("a/b", true), "a/b");
        assert_eq!(query_value("a/b", false), "a%2Fb");
        assert_eq!(query_value("a b&c", true), "a%20b%26c");
    }
}
