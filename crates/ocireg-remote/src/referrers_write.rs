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

use http::StatusCode;
use ocireg_name::Repository;
use ocireg_transport::Transport;
use ocireg_v1::{Descriptor, Digest, IndexManifest, MediaType};

use crate::error::{Error, Result, Subject};
use crate::protocol::{self, OCI_INDEX, content_type};
use crate::writable::RawManifest;

/// The fallback tag of `subject` (`<algorithm>-<hex>`), and how errors name it: as a tag of
/// `repo` (the tag of a sha512 subject is longer than a tag may be, and is only text).
pub(crate) fn fallback_tag(repo: &Repository, subject: Digest) -> (String, Subject) {
    let tag = crate::referrers_tag(&subject);
    let name = repo
        .tag(&tag)
        .map_or_else(|_| Subject::Other(format!("{repo}:{tag}")), Subject::from);
    (tag, name)
}

/// Whether the registry serves the referrers API: `GET /v2/<repo>/referrers/<digest>`
/// answers 200 with an OCI index.
pub(crate) async fn has_referrers_api(
    t: &Transport,
    repo: &Repository,
    subject: Digest,
) -> Result<bool> {
    let response = protocol::get_referrers(
        t,
        &repo.digest(subject),
        None,
        "checking for the referrers API of",
    )
    .await?;
    let api = protocol::is_referrers_api(&response);
    protocol::discard(response).await;
    Ok(api)
}

/// Reads the fallback index under `tag` and returns it with `entry` added, or `None` when
/// `entry` is listed already.
pub(crate) async fn add_to_fallback(
    t: &Transport,
    repo: &Repository,
    (tag, name): (&str, &Subject),
    entry: Descriptor,
) -> Result<Option<RawManifest>> {
    const ACTION: &str = "reading the referrers tag";
    let response = protocol::get_manifest(
        t,
        repo,
        tag,
        OCI_INDEX,
        &[StatusCode::OK, StatusCode::NOT_FOUND],
        ACTION,
        name,
    )
    .await?;
    let mut index = if response.status() == StatusCode::NOT_FOUND {
        IndexManifest::new(MediaType::OciImageIndex)
    } else {
        let index = IndexManifest::parse(response.body())
            .map_err(|e| Error::content("parsing the referrers tag", name, e))?;
        let is_oci_index = index.media_type.as_ref() == Some(&MediaType::OciImageIndex)
            || content_type(response.headers()) == Some(MediaType::OciImageIndex);
        if index.schema_version != 2 || !is_oci_index {
            return Err(Error::protocol(
                "updating the referrers tag",
                name,
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
        .map_err(|e| Error::content("encoding the referrers tag", name, e))?;
    Ok(Some(RawManifest::new(bytes, MediaType::OciImageIndex)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_tags_follow_the_schema() {
        let repo = Repository::new("reg.example/app").expect("valid");
        let d = ocireg_v1::sha256(b"x");
        let (tag, name) = fallback_tag(&repo, d);
        assert_eq!(tag, format!("sha256-{}", d.hex()));
        assert!(matches!(name, Subject::Reference(_)));
        assert_eq!(
            name.to_string(),
            format!("reg.example/app:sha256-{}", d.hex())
        );
        let d = ocireg_v1::digest_of(ocireg_v1::Algorithm::Sha512, b"x");
        let (tag, name) = fallback_tag(&repo, d);
        assert!(tag.starts_with("sha512-"));
        assert_eq!(tag.len(), "sha512-".len() + 128);
        assert_eq!(name.to_string(), format!("reg.example/app:{tag}"));
    }
}
