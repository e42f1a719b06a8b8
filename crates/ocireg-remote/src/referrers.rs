//! Reading referrers (ggcr's `remote.Referrers`): the OCI 1.1 referrers API, with the
//! `sha256-<hex>` tag schema as a fallback for registries without it.

use http::StatusCode;
use ocireg_name::{DigestReference, Reference};
use ocireg_v1::{Digest, Document, IndexManifest, MANIFEST_LIMIT, MediaType};

use crate::error::{Error, Result};
use crate::fetch::Fetcher;
use crate::options::Options;
use crate::protocol::{self, OCI_FILTERS_APPLIED, REFERRERS_TAG, header_str};

/// Where a referrers list came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReferrersSource {
    /// The registry's referrers API (`/v2/<repo>/referrers/<digest>`).
    Api,
    /// The fallback tag (`sha256-<hex>`), for registries without the API.
    FallbackTag,
}

/// The referrers of a subject, as an OCI index of descriptors.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Referrers {
    /// The referrers (already filtered by artifact type when one was asked for).
    pub index: IndexManifest,
    /// Where they came from.
    pub source: ReferrersSource,
}

impl Referrers {
    /// The referrer descriptors.
    pub fn descriptors(&self) -> &[ocireg_v1::Descriptor] {
        &self.index.manifests
    }
}

/// The fallback tag of a subject: `<algorithm>-<hex>` (e.g. `sha256-abcd...`).
pub fn referrers_tag(digest: &Digest) -> String {
    format!("{}-{}", digest.algorithm(), digest.hex())
}

/// The referrers of `subject`, optionally only those of `artifact_type`.
///
/// Asks the referrers API first (passing `artifactType` on to the registry); a 404, 400 or
/// 406, or an answer that is not an OCI index, means the registry has no API and the
/// `sha256-<hex>` tag is read instead (unless [`Options::referrers_tag_fallback`] is off);
/// a missing fallback tag means no referrers. When the registry did not apply the filter
/// (no `OCI-Filters-Applied: artifactType`), it is applied here.
pub async fn referrers(
    subject: &DigestReference,
    artifact_type: Option<&MediaType>,
    options: &Options,
) -> Result<Referrers> {
    let fetcher = Fetcher::new(subject.repository(), options).await?;
    let response = protocol::get_referrers(
        &fetcher.transport,
        subject,
        artifact_type,
        "listing referrers of",
    )
    .await?;
    let status = response.status();
    if protocol::is_referrers_api(&response) {
        let filtered = header_str(response.headers(), OCI_FILTERS_APPLIED)
            .is_some_and(|v| v.split(',').any(|f| f.trim() == "artifactType"));
        let bytes = response
            .into_body()
            .bytes(MANIFEST_LIMIT)
            .await
            .map_err(|e| Error::transport("reading referrers of", subject, e))?;
        let index = Document::<IndexManifest>::parse(bytes)
            .map_err(|e| Error::content("parsing referrers of", subject, e))?
            .into_value();
        let index = if filtered {
            index
        } else {
            filter(index, artifact_type)
        };
        return Ok(Referrers {
            index,
            source: ReferrersSource::Api,
        });
    }
    let no_api = matches!(
        status,
        StatusCode::OK
            | StatusCode::NOT_FOUND
            | StatusCode::BAD_REQUEST
            | StatusCode::NOT_ACCEPTABLE
    );
    if !no_api {
        // Anything else is a real failure (401, 500 after retries...).
        fetcher
            .transport
            .check(response, &[])
            .await
            .map_err(|e| Error::transport("listing referrers of", subject, e))?;
        return Err(Error::protocol(
            "listing referrers of",
            subject,
            format!("unexpected status {status}"),
        ));
    }
    drop(response);
    if !options.referrers_tag_fallback() {
        return Err(Error::ReferrersUnsupported {
            reference: Box::new(subject.clone()),
        });
    }
    from_fallback_tag(&fetcher, subject, artifact_type).await
}

/// Reads the `sha256-<hex>` fallback tag (a missing tag: no referrers).
async fn from_fallback_tag(
    fetcher: &Fetcher,
    subject: &DigestReference,
    artifact_type: Option<&MediaType>,
) -> Result<Referrers> {
    let tag = subject
        .repository()
        .tag(&referrers_tag(&subject.digest()))
        .map_err(|e| Error::protocol("listing referrers of", subject, e.to_string()))?;
    let reference = Reference::Tag(tag);
    let index = match fetcher.manifest(&reference, REFERRERS_TAG).await {
        Ok(fetched) => match fetched.parsed {
            Some(ocireg_v1::AnyManifest::Index(doc)) => doc.into_value(),
            _ => {
                return Err(Error::UnexpectedMediaType {
                    reference: Box::new(reference),
                    media_type: fetched.descriptor.media_type,
                    expected: "an OCI image index (the referrers fallback tag)",
                });
            }
        },
        Err(e) if e.is_not_found() => IndexManifest::new(MediaType::OciImageIndex),
        Err(e) => return Err(e),
    };
    Ok(Referrers {
        index: filter(index, artifact_type),
        source: ReferrersSource::FallbackTag,
    })
}

fn filter(mut index: IndexManifest, artifact_type: Option<&MediaType>) -> IndexManifest {
    if let Some(at) = artifact_type {
        index
            .manifests
            .retain(|d| d.artifact_type.as_ref() == Some(at));
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_tag_schema() {
        let d = ocireg_v1::sha256(b"x");
        let t = referrers_tag(&d);
        assert!(t.starts_with("sha256-"));
        assert_eq!(t.len(), 7 + 64);
    }

    #[test]
    fn filter_keeps_matching_artifact_types() {
        let mut idx = IndexManifest::new(MediaType::OciImageIndex);
        let mut a = ocireg_v1::Descriptor::for_bytes(MediaType::OciManifest, b"a");
        a.artifact_type = Some(MediaType::from("application/x-sig"));
        let b = ocireg_v1::Descriptor::for_bytes(MediaType::OciManifest, b"b");
        idx.manifests = vec![a.clone(), b];
        let only = filter(idx.clone(), Some(&MediaType::from("application/x-sig")));
        assert_eq!(only.manifests, vec![a]);
        assert_eq!(filter(idx, None).manifests.len(), 2);
    }
}
