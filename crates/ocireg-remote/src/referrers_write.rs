//! The write half of referrers: the `sha256-<hex>` tag schema of the OCI distribution spec
//! for registries without the referrers API (ggcr's fallback in `pusher.go`).
//!
//! When a manifest with a `subject` is pushed and the registry neither answers with an
//! `OCI-Subject` header nor serves `GET /v2/<repo>/referrers/<digest>`, the referrers of the
//! subject are kept in an OCI index tagged `<alg>-<hex of the subject digest>`. Each entry
//! is the referrer's descriptor with its `artifactType` and (beyond ggcr) its annotations, so
//! that filtering by annotation works on both kinds of registry. The update is a
//! read-modify-write: read the tag (404: a new empty index), append the entry unless it is
//! listed, write the tag. Within one [`Pusher`](crate::Pusher) updates of one tag are
//! serialised; concurrent writers in other processes can still race, as with every client
//! of the tag schema.

use http::header::ACCEPT;
use http::{Method, StatusCode};
use ocireg_name::Repository;
use ocireg_transport::{Body, Transport};
use ocireg_v1::{Descriptor, Digest, IndexManifest, MANIFEST_LIMIT, MediaType};

use crate::error::{Error, Result};
use crate::upload::{discard, header_str, request, url};
use crate::write::RawManifest;

/// The fallback tag of `subject`: `<algorithm>-<hex>`.
pub(crate) fn fallback_tag(subject: Digest) -> String {
    format!("{}-{}", subject.algorithm().as_str(), subject.hex())
}

/// Whether the registry serves the referrers API: `GET /v2/<repo>/referrers/<digest>`
/// answers 200 with an OCI index.
pub(crate) async fn has_referrers_api(
    t: &Transport,
    repo: &Repository,
    subject: Digest,
) -> Result<bool> {
    let name = format!("{}@{subject}", repo.name());
    let path = format!("/v2/{}/referrers/{subject}", repo.repository_str());
    let req = request(
        Method::GET,
        url(t, &path, &name)?,
        &[(ACCEPT.as_str(), MediaType::OciImageIndex.to_string())],
        Body::empty(),
        &name,
    )?;
    let response = t
        .send(req)
        .await
        .map_err(|e| Error::transport("checking for the referrers API of", &name, e))?;
    let ok = response.status() == StatusCode::OK
        && header_str(response.headers(), "content-type").is_some_and(|ct| {
            ct.split(';').next().map(str::trim) == Some(MediaType::OciImageIndex.as_str())
        });
    discard(response).await;
    Ok(ok)
}

/// Reads the fallback index under `tag` and returns it with `entry` added, or `None` when
/// `entry` is listed already.
pub(crate) async fn add_to_fallback(
    t: &Transport,
    repo: &Repository,
    tag: &str,
    entry: Descriptor,
) -> Result<Option<RawManifest>> {
    let name = format!("{}:{tag}", repo.name());
    let path = format!("/v2/{}/manifests/{tag}", repo.repository_str());
    let req = request(
        Method::GET,
        url(t, &path, &name)?,
        &[(ACCEPT.as_str(), MediaType::OciImageIndex.to_string())],
        Body::empty(),
        &name,
    )?;
    let response = t
        .fetch_bytes(
            req,
            &[StatusCode::OK, StatusCode::NOT_FOUND],
            MANIFEST_LIMIT,
        )
        .await
        .map_err(|e| Error::transport("reading the referrers tag", &name, e))?;
    let mut index = if response.status() == StatusCode::NOT_FOUND {
        IndexManifest::new(MediaType::OciImageIndex)
    } else {
        let index = IndexManifest::parse(response.body())
            .map_err(|e| Error::content("parsing the referrers tag", &name, e))?;
        let content_type = header_str(response.headers(), "content-type").unwrap_or_default();
        let is_oci_index = index.media_type.as_ref() == Some(&MediaType::OciImageIndex)
            || content_type.starts_with(MediaType::OciImageIndex.as_str());
        if index.schema_version != 2 || !is_oci_index {
            return Err(Error::protocol(
                "updating the referrers tag",
                &name,
                "the tag holds something other than an OCI image index",
            ));
        }
        index
    };
    if index.manifests.iter().any(|d| d.digest == entry.digest) {
        return Ok(None);
    }
    index.manifests.push(entry);
    let bytes = ocireg_v1::to_go_json(&index)
        .map_err(|e| Error::content("encoding the referrers tag", &name, e))?;
    Ok(Some(RawManifest::new(bytes, MediaType::OciImageIndex)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_tags_follow_the_schema() {
        let d = ocireg_v1::sha256(b"x");
        assert_eq!(fallback_tag(d), format!("sha256-{}", d.hex()));
        let d = ocireg_v1::digest_of(ocireg_v1::Algorithm::Sha512, b"x");
        assert!(fallback_tag(d).starts_with("sha512-"));
        assert_eq!(fallback_tag(d).len(), "sha512-".len() + 128);
    }
}
