//! Manifest endpoints: GET/HEAD/PUT/DELETE by tag or digest.
//!
//! Manifests are stored per repository, byte for byte, under their digest,
//! with tags pointing at digests. A PUT checks what it can:
//! * a digest reference must be the digest of the body (400 `DIGEST_INVALID`);
//! * the body must be a JSON object of at most 8 MiB (400 `MANIFEST_INVALID`,
//!   413 `SIZE_INVALID`) whose `mediaType`, when present, agrees with
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
use ocireg_v1::{Descriptor, Digest, MediaType};
use serde::Deserialize;

use crate::body::ResponseBody;
use crate::error::{ApiError, Code};
use crate::names::is_valid_tag;
use crate::registry::{
    Inner, Req, ReqBody, StoredManifest, empty_response, head_if, header_value, parse_digest,
    response, valid_name,
};

/// The largest manifest accepted: above the spec's 4 MB minimum, so the
/// conformance suite's 3.9 MB manifest fits with room to spare.
pub(crate) const MAX_MANIFEST_SIZE: u64 = 8 * 1024 * 1024;

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

/// The fields of a manifest or index the registry looks at. Unknown fields
/// are ignored; everything is optional because artifacts and schema 1
/// manifests have different shapes.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestFields {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    artifact_type: Option<String>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    subject: Option<Descriptor>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, String>>,
}

fn manifest_invalid(message: &str, reason: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, Code::ManifestInvalid, message)
        .detail(serde_json::json!({ "reason": reason.to_string() }))
}

fn too_large(size: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        Code::SizeInvalid,
        "manifest too large",
    )
    .detail(serde_json::json!({ "limit": MAX_MANIFEST_SIZE, "size": size }))
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

/// Reads a manifest body, refusing more than [`MAX_MANIFEST_SIZE`] bytes.
async fn read_body(req: &Req, body: &mut ReqBody) -> Result<Bytes, ApiError> {
    let declared = req
        .header(&header::CONTENT_LENGTH)
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(size) = declared.filter(|&size| size > MAX_MANIFEST_SIZE) {
        return Err(too_large(size));
    }
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| manifest_invalid("reading the manifest body failed", e))?;
        if let Ok(data) = frame.into_data() {
            let size = (buf.len() + data.len()) as u64;
            if size > MAX_MANIFEST_SIZE {
                return Err(too_large(size));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

/// The media type of a pushed manifest: `Content-Type` without parameters,
/// else the body's `mediaType`; they must agree when both are present.
fn media_type(req: &Req, fields: &ManifestFields) -> Result<HeaderValue, ApiError> {
    let from_header = req
        .header(&header::CONTENT_TYPE)
        .map(|v| v.split(';').next().unwrap_or_default().trim())
        .filter(|v| !v.is_empty());
    let from_body = fields.media_type.as_deref().filter(|v| !v.is_empty());
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
    let mut tags: Vec<String> = req
        .query
        .iter()
        .filter(|(k, _)| k == "tag")
        .map(|(_, v)| v.clone())
        .collect();
    if let Some(bad) = tags.iter().find(|t| !is_valid_tag(t)) {
        return Err(manifest_invalid("invalid tag parameter", bad));
    }
    let body = read_body(req, body).await?;

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

    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(manifest_invalid(
            "manifest is not a JSON object",
            "expected '{'",
        ));
    }
    let fields: ManifestFields =
        serde_json::from_slice(&body).map_err(|e| manifest_invalid("invalid manifest JSON", e))?;
    let media_type = media_type(req, &fields)?;
    let kind = MediaType::from(media_type.to_str().unwrap_or_default());

    let subject = fields.subject.as_ref().map(|s| s.digest);
    let artifact_type = fields
        .artifact_type
        .clone()
        .filter(|t| !t.is_empty())
        .or_else(|| {
            // For an image manifest without artifactType, the referrers API
            // reports the config's media type.
            kind.is_image()
                .then(|| {
                    fields
                        .config
                        .as_ref()
                        .map(|c| c.media_type.as_str().to_owned())
                })
                .flatten()
        });

    store(
        reg,
        name,
        digest,
        &tags,
        &kind,
        &fields,
        StoredManifest {
            media_type,
            bytes: body,
            subject,
            artifact_type,
            annotations: fields.annotations.clone().unwrap_or_default(),
        },
    )?;

    let mut response = empty_response(StatusCode::CREATED);
    let headers = response.headers_mut();
    headers.insert(
        header::LOCATION,
        header_value(format!("/v2/{name}/manifests/{digest}")),
    );
    headers.insert("Docker-Content-Digest", header_value(digest.to_string()));
    if let Some(subject) = subject {
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

/// Checks that what `fields` references is present, then stores the
/// manifest under `digest` and points `tags` at it.
fn store(
    reg: &Inner,
    name: &str,
    digest: Digest,
    tags: &[String],
    kind: &MediaType,
    fields: &ManifestFields,
    manifest: StoredManifest,
) -> Result<(), ApiError> {
    let mut state = reg.state();
    let repo = state.repos.entry(name.to_owned()).or_default();
    let missing = if kind.is_index() {
        fields
            .manifests
            .iter()
            .flatten()
            .find(|child| !repo.manifests.contains_key(&child.digest))
    } else if kind.is_image() {
        fields
            .config
            .iter()
            .chain(fields.layers.iter().flatten())
            .filter(|d| d.urls.is_empty())
            .find(|d| !repo.blobs.contains(&d.digest))
    } else {
        None
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
    repo.manifests.insert(digest, manifest);
    for tag in tags {
        repo.tags.insert(tag.clone(), digest);
    }
    Ok(())
}
