//! [`get`], [`head`] and [`exists`], and [`RemoteDescriptor`] (ggcr's `remote.Descriptor`):
//! a manifest of any kind with its exact bytes.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use ocireg_name::Reference;
use ocireg_v1::{AnyManifest, Descriptor, Digest, Image, ImageIndex, MediaType, Platform};

use crate::error::Result;
use crate::fetch::{FetchedManifest, Fetcher};
use crate::image::{into_index, resolve_image};
use crate::options::Options;
use crate::protocol::ALL_MANIFESTS;

/// A manifest fetched from a registry: its descriptor, its exact bytes and, for images and
/// indexes, the parsed document; with lazy accessors for the image or index it is.
///
/// Schema 1 and unknown manifest types are kept as bytes (so they can be copied) but not
/// parsed.
#[derive(Clone)]
pub struct RemoteDescriptor {
    fetcher: Arc<Fetcher>,
    reference: Reference,
    fetched: FetchedManifest,
}

impl fmt::Debug for RemoteDescriptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteDescriptor")
            .field("reference", &self.reference)
            .field("descriptor", &self.fetched.descriptor)
            .finish_non_exhaustive()
    }
}

impl RemoteDescriptor {
    /// The reference it was fetched by.
    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    /// Its descriptor: media type (from `Content-Type`, else the document), size, digest
    /// (computed over the bytes, and checked for a digest reference), the manifest's
    /// annotations, and its artifact type (the manifest's `artifactType`, else a non-image
    /// config media type).
    pub fn descriptor(&self) -> &Descriptor {
        &self.fetched.descriptor
    }

    /// The exact manifest bytes.
    pub fn raw_manifest(&self) -> &Bytes {
        &self.fetched.bytes
    }

    /// The media type.
    pub fn media_type(&self) -> &MediaType {
        &self.fetched.descriptor.media_type
    }

    /// The digest.
    pub fn digest(&self) -> Digest {
        self.fetched.descriptor.digest
    }

    /// The size in bytes.
    pub fn size(&self) -> u64 {
        self.fetched.descriptor.size
    }

    /// The parsed manifest, for images and indexes.
    pub fn manifest(&self) -> Option<&AnyManifest> {
        self.fetched.parsed.as_ref()
    }

    /// Whether it is an index (or manifest list).
    pub fn is_index(&self) -> bool {
        matches!(self.fetched.parsed, Some(AnyManifest::Index(_)))
    }

    /// Whether it is an image manifest.
    pub fn is_image(&self) -> bool {
        matches!(self.fetched.parsed, Some(AnyManifest::Image(_)))
    }

    /// The image: this manifest, or for an index its child for the options' platform.
    pub async fn image(&self) -> Result<Arc<dyn Image>> {
        Ok(Arc::new(
            resolve_image(
                Arc::clone(&self.fetcher),
                self.reference.clone(),
                self.fetched.clone(),
            )
            .await?,
        ))
    }

    /// The image for `platform` (ignoring the options' platform).
    pub async fn image_for_platform(&self, platform: &Platform) -> Result<Arc<dyn Image>> {
        let fetcher = Arc::new(self.fetcher.with_platform(platform.clone()));
        Ok(Arc::new(
            resolve_image(fetcher, self.reference.clone(), self.fetched.clone()).await?,
        ))
    }

    /// The index; an error for anything else.
    pub fn image_index(&self) -> Result<Arc<dyn ImageIndex>> {
        Ok(Arc::new(into_index(
            Arc::clone(&self.fetcher),
            self.reference.clone(),
            self.fetched.clone(),
            0,
        )?))
    }
}

/// Fetches the manifest at `reference`, whatever its kind (ggcr's `remote.Get`).
///
/// `Accept` lists every manifest type we understand; the body is capped at
/// [`MANIFEST_LIMIT`](ocireg_v1::MANIFEST_LIMIT); a digest reference is verified against
/// the bytes; an image or index whose kind contradicts its `Content-Type` is refused.
pub async fn get(reference: &Reference, options: &Options) -> Result<RemoteDescriptor> {
    let fetcher = Arc::new(Fetcher::new(reference.repository(), options).await?);
    let fetched = fetcher.manifest(reference, ALL_MANIFESTS).await?;
    Ok(RemoteDescriptor {
        fetcher,
        reference: reference.clone(),
        fetched,
    })
}

/// The descriptor of the manifest at `reference` from a `HEAD` (ggcr's `remote.Head`): media
/// type, size and digest, without the body. A registry that refuses `HEAD` or omits
/// `Docker-Content-Digest` is asked with `GET` instead.
pub async fn head(reference: &Reference, options: &Options) -> Result<Descriptor> {
    let fetcher = Fetcher::new(reference.repository(), options).await?;
    fetcher.head_manifest(reference).await
}

/// Whether a manifest exists at `reference` (the Deckhouse client's `CheckImageExists`):
/// `false` when the registry says it does not, an error for anything else that fails.
pub async fn exists(reference: &Reference, options: &Options) -> Result<bool> {
    match head(reference, options).await {
        Ok(_) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
}
