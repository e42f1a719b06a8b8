//! Manifest endpoints: GET/HEAD/PUT/DELETE by tag or digest.
//!
//! Manifests are stored per repository, byte for byte, under their digest,
//! with tags pointing at digests. A PUT checks what it can:
//! * a digest reference must be the digest of the body (400 `DIGEST_INVALID`);
//! * the body must be at most the manifest size limit (413 `SIZE_INVALID`);
//! * the body must pass the same document checks as the client's
//!   ([`AnyManifest::parse`]): valid UTF-8, no duplicate keys at any depth,
//!   nesting at most 128 levels deep, not both index (`manifests`) and image
//!   (`config`, `layers`) fields, fields that fit its kind, and an image or
//!   index media type (schema 1 and unknown types are refused), else 400
//!   `MANIFEST_INVALID`; its `mediaType`, when present, must equal
//!   `Content-Type`;
//! * an index's children must be manifests of this repository, and an image
//!   manifest's config and layers must be blobs of this repository
//!   (400 `MANIFEST_BLOB_UNKNOWN`). ggcr checks only index children; we also
//!   check blobs, as distribution does, so clients that push a manifest before
//!   its blobs fail here as they would against a real registry. Layers with
//!   `urls` (foreign, non-distributable) are exempt, as in distribution.
//!   A `subject` need not exist.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::BodyExt as _;
use ocireg_v1::{AnyManifest, Descriptor, Digest, MediaType};

use crate::body::ResponseBody;
use crate::error::{ApiError, Code};
use crate::limits::MAX_TAGS_PER_PUSH;
use crate::memory::{Charge, MemoryFull};
use crate::names::is_valid_tag;
use crate::registry::{
    Inner, Req, ReqBody, StoredManifest, empty_response, head_if, header_value, parse_digest,
    response, valid_name,
};

/// A manifest reference from a URL: a tag or a digest.
enum Reference {
    Tag(String),
    Digest(Digest),
}

fn parse_reference(reference: &str) -> Result<Reference, ApiError> {
    if reference.contains(':') {
        parse_digest(reference).map(Reference::Digest)
    } else if is_valid_tag(reference) {
        Ok(Reference::Tag(reference.to_owned()))
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::ManifestInvalid,
            "invalid tag",
        )
        .detail(serde_json::json!({ "tag": reference })))
    }
}

fn manifest_invalid(message: &str, reason: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, Code::ManifestInvalid, message)
        .detail(serde_json::json!({ "reason": reason.to_string() }))
}

/// The answer to a manifest the document checks of `ocireg-v1` refused:
/// 400 `MANIFEST_INVALID`, saying why (with the parser's own words, e.g.
/// "recursion limit exceeded at line 1 column 129").
fn document_invalid(err: &ocireg_v1::Error) -> ApiError {
    let mut reason = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        reason.push_str(": ");
        reason.push_str(&cause.to_string());
        source = cause.source();
    }
    ApiError::new(
        StatusCode::BAD_REQUEST,
        Code::ManifestInvalid,
        format!("manifest invalid: {reason}"),
    )
    .detail(serde_json::json!({ "reason": reason }))
}

fn too_large(size: u64, limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        Code::SizeInvalid,
        format!("manifest too large: the limit is {limit} bytes"),
    )
    .detail(serde_json::json!({ "limit": limit, "size": size }))
}

/// `GET`/`HEAD /v2/<name>/manifests/<reference>`.
pub(crate) fn get(
    reg: &Inner,
    name: &str,
    reference: &str,
    req: &Req,
) -> Result<Response<ResponseBody>, ApiError> {
    let name = valid_name(name)?;
    let parsed = parse_reference(reference)?;
    let (digest, media_type, bytes) = {
        let state = reg.state();
        let repo = state
            .repos
            .get(name)
            .ok_or_else(|| ApiError::name_unknown(name))?;
        let digest = match parsed {
            Reference::Digest(d) => d,
            Reference::Tag(tag) => *repo
                .tags
                .get(&tag)
                .ok_or_else(|| ApiError::manifest_unknown(reference))?,
        };
        let stored = repo
            .manifests
            .get(&digest)
            .ok_or_else(|| ApiError::manifest_unknown(reference))?;
        (digest, stored.media_type.clone(), stored.bytes.clone())
    };
    let len = bytes.len();
    let mut response = response(StatusCode::OK, ResponseBody::full(bytes));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, media_type);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    headers.insert("Docker-Content-Digest", header_value(digest.to_string()));
    Ok(head_if(response, req))
}

/// Reads a manifest body, refusing more than the manifest size limit
/// (whatever `Content-Length` says, the bytes are counted as they arrive)
/// and charging what it reads to the memory budget.
async fn read_body(
    reg: &Inner,
    req: &Req,
    body: &mut ReqBody,
) -> Result<(Bytes, Charge), ApiError> {
    const WHAT: &str = "receiving a manifest";
    let limit = reg.limits.max_manifest_size;
    let declared = req
        .header(&header::CONTENT_LENGTH)
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(size) = declared.filter(|&size| size > limit) {
        return Err(too_large(size, limit));
    }
    let full = |full: MemoryFull| ApiError::storage_full(WHAT, &full);
    if let Some(size) = declared {
        reg.memory.check_room(size).map_err(full)?;
    }
    let mut charge = reg.memory.charge(0).map_err(full)?;
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError::body_failed(Code::ManifestInvalid, WHAT, &e))?;
        if let Ok(data) = frame.into_data() {
            let size = (buf.len() + data.len()) as u64;
            if size > limit {
                return Err(too_large(size, limit));
            }
            charge.grow(data.len() as u64).map_err(full)?;
            buf.extend_from_slice(&data);
        }
    }
    Ok((buf.freeze(), charge))
}

/// The `?tag=` parameters of a manifest PUT, checked, without repeats, in
/// the order given; at most [`MAX_TAGS_PER_PUSH`].
fn tag_parameters(req: &Req) -> Result<Vec<String>, ApiError> {
    let mut tags: Vec<String> = Vec::new();
    for (_, tag) in req.query.iter().filter(|(k, _)| k == "tag") {
        if !is_valid_tag(tag) {
            return Err(manifest_invalid("invalid tag parameter", tag));
        }
        if !tags.contains(tag) {
            tags.push(tag.clone());
        }
        if tags.len() > MAX_TAGS_PER_PUSH {
            return Err(manifest_invalid(
                "too many tag parameters",
                format!("at most {MAX_TAGS_PER_PUSH} tags may be pushed at once"),
            ));
        }
    }
    Ok(tags)
}

/// `Content-Type` without parameters, if set and not empty.
fn content_type(req: &Req) -> Option<&str> {
    req.header(&header::CONTENT_TYPE)
        .map(|v| v.split(';').next().unwrap_or_default().trim())
        .filter(|v| !v.is_empty())
}

/// The media type a pushed manifest is stored and served with:
/// `Content-Type` (without parameters), else the body's `mediaType`; they
/// must be equal when both are present.
fn media_type(req: &Req, manifest: &AnyManifest) -> Result<HeaderValue, ApiError> {
    let from_header = content_type(req);
    let from_body = manifest
        .media_type()
        .map(MediaType::as_str)
        .filter(|v| !v.is_empty());
    let chosen = match (from_header, from_body) {
        (Some(h), Some(b)) if h != b => {
            return Err(manifest_invalid(
                "manifest mediaType does not match Content-Type",
                format!("Content-Type {h}, mediaType {b}"),
            ));
        }
        (Some(t), _) | (None, Some(t)) => t,
        (None, None) => {
            return Err(manifest_invalid(
                "manifest has no media type",
                "neither Content-Type nor mediaType is set",
            ));
        }
    };
    HeaderValue::from_str(chosen).map_err(|e| manifest_invalid("invalid media type", e))
}

/// What the referrers API reports of a manifest: its `subject`, its
/// artifact type (for an image without `artifactType`, the config's media
/// type) and its annotations.
fn referrer_fields(
    manifest: &AnyManifest,
) -> (Option<Digest>, Option<String>, BTreeMap<String, String>) {
    match manifest {
        AnyManifest::Image(m) => (
            m.subject.as_ref().map(|s| s.digest),
            Some(
                m.artifact_type
                    .as_ref()
                    .unwrap_or(&m.config.media_type)
                    .as_str()
                    .to_owned(),
            ),
            m.annotations.clone(),
        ),
        AnyManifest::Index(i) => (
            i.subject.as_ref().map(|s| s.digest),
            i.artifact_type.as_ref().map(|t| t.as_str().to_owned()),
            i.annotations.clone(),
        ),
    }
}

/// `PUT /v2/<name>/manifests/<reference>` (with optional `?tag=` parameters
/// when the reference is a digest).
pub(crate) async fn put(
    reg: &Inner,
    name: &str,
    reference: &str,
    req: &Req,
    body: &mut ReqBody,
) -> Result<Response<ResponseBody>, ApiError> {
    let name = valid_name(name)?;
    let parsed = parse_reference(reference)?;
    let query_tags = tag_parameters(req)?;
    let mut tags = query_tags.clone();
    let (body, charge) = read_body(reg, req, body).await?;

    let digest = match &parsed {
        Reference::Digest(expected) => {
            let actual = ocireg_v1::digest_of(expected.algorithm(), &body);
            if actual != *expected {
                return Err(ApiError::digest_invalid(
                    "provided digest did not match uploaded content",
                )
                .detail(serde_json::json!({
                    "expected": expected.to_string(),
                    "actual": actual.to_string(),
                })));
            }
            *expected
        }
        Reference::Tag(tag) => {
            tags.push(tag.clone());
            ocireg_v1::sha256(&body)
        }
    };

    // The same checks a client applies to what it pulls.
    let declared = content_type(req).map(MediaType::from);
    let manifest =
        AnyManifest::parse(body.clone(), declared.as_ref()).map_err(|e| document_invalid(&e))?;
    let media_type = media_type(req, &manifest)?;
    let (subject, artifact_type, annotations) = referrer_fields(&manifest);

    store(
        reg,
        name,
        digest,
        &tags,
        &manifest,
        StoredManifest {
            media_type,
            bytes: body,
            _charge: charge,
            subject,
            artifact_type,
            annotations,
        },
    )?;

    let mut response = empty_response(StatusCode::CREATED);
    let headers = response.headers_mut();
    headers.insert(
        header::LOCATION,
        header_value(format!("/v2/{name}/manifests/{digest}")),
    );
    headers.insert("Docker-Content-Digest", header_value(digest.to_string()));
    // One `OCI-Tag` per tag applied from `?tag=` ("Pushing Manifests with
    // tags").
    for tag in &query_tags {
        headers.append("OCI-Tag", header_value(tag.as_str()));
    }
    // `OCI-Subject` tells the client that the referrers API lists this
    // manifest, so it must not maintain the fallback tag: only say so when
    // the API is served.
    if let Some(subject) = subject.filter(|_| reg.referrers) {
        headers.insert("OCI-Subject", header_value(subject.to_string()));
    }
    Ok(response)
}

/// `DELETE /v2/<name>/manifests/<reference>`: a tag removes only the tag; a
/// digest removes the manifest and every tag pointing at it. 202.
pub(crate) fn delete(
    reg: &Inner,
    name: &str,
    reference: &str,
) -> Result<Response<ResponseBody>, ApiError> {
    let name = valid_name(name)?;
    let parsed = parse_reference(reference)?;
    let mut state = reg.state();
    let repo = state
        .repos
        .get_mut(name)
        .ok_or_else(|| ApiError::name_unknown(name))?;
    let found = match parsed {
        Reference::Tag(tag) => repo.tags.remove(&tag).is_some(),
        Reference::Digest(digest) => {
            let found = repo.manifests.remove(&digest).is_some();
            if found {
                repo.tags.retain(|_, d| *d != digest);
            }
            found
        }
    };
    if !found {
        return Err(ApiError::manifest_unknown(reference));
    }
    if repo.is_empty() {
        state.repos.remove(name);
    }
    Ok(empty_response(StatusCode::ACCEPTED))
}

/// Checks that what `manifest` references is present, then stores it under
/// `digest` and points `tags` at it.
fn store(
    reg: &Inner,
    name: &str,
    digest: Digest,
    tags: &[String],
    manifest: &AnyManifest,
    stored: StoredManifest,
) -> Result<(), ApiError> {
    let mut state = reg.state();
    let repo = state.repos.entry(name.to_owned()).or_default();
    let missing: Option<&Descriptor> = match manifest {
        AnyManifest::Index(index) => index
            .manifests
            .iter()
            .find(|child| !repo.manifests.contains_key(&child.digest)),
        AnyManifest::Image(image) => std::iter::once(&image.config)
            .chain(&image.layers)
            .filter(|d| d.urls.is_empty())
            .find(|d| !repo.blobs.contains(&d.digest)),
    };
    if let Some(missing) = missing {
        let err = ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::ManifestBlobUnknown,
            "manifest references a manifest or blob unknown to the repository",
        )
        .detail(serde_json::json!({
            "digest": missing.digest.to_string(),
            "mediaType": missing.media_type.as_str(),
        }));
        if repo.is_empty() {
            state.repos.remove(name);
        }
        return Err(err);
    }
    repo.manifests.insert(digest, stored);
    for tag in tags {
        repo.tags.insert(tag.clone(), digest);
    }
    Ok(())
}
