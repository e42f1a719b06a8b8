//! The [`ImageIndex`] view (ggcr's `v1.ImageIndex`, with `partial`'s
//! derivations as provided methods) and its conveniences.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::{Descriptor, Digest, Image, IndexManifest, Layer, MediaType, Result};

/// An image index (or Docker manifest list): a manifest pointing at images,
/// other indexes and sometimes plain blobs.
///
/// A port of ggcr's `v1.ImageIndex`. The required core is the raw manifest,
/// its media type and child lookups by digest; the rest is derived in
/// provided methods that a source may override. Use indexes as
/// `Arc<dyn ImageIndex>`.
///
/// ```
/// use ocireg_v1::{empty, ImageIndex};
///
/// # futures_executor::block_on(async {
/// let idx = empty::index();
/// assert_eq!(idx.size().await?, 88);
/// assert!(idx.index_manifest().await?.manifests.is_empty());
/// assert!(idx.image(idx.digest().await?).await.is_err());
/// # Ok::<(), ocireg_v1::Error>(())
/// # }).unwrap();
/// ```
#[async_trait]
pub trait ImageIndex: Send + Sync + fmt::Debug {
    /// The index manifest, byte for byte as stored or produced.
    ///
    /// Sources that read it from a stream bound the read by
    /// [`MANIFEST_LIMIT`](crate::MANIFEST_LIMIT).
    async fn raw_manifest(&self) -> Result<Bytes>;

    /// The media type of the index manifest.
    async fn media_type(&self) -> Result<MediaType>;

    /// The child image with manifest digest `digest`.
    async fn image(&self, digest: Digest) -> Result<Arc<dyn Image>>;

    /// The child index with manifest digest `digest`.
    async fn image_index(&self, digest: Digest) -> Result<Arc<dyn ImageIndex>>;

    /// The SHA-256 digest of [`ImageIndex::raw_manifest`].
    async fn digest(&self) -> Result<Digest> {
        Ok(crate::sha256(self.raw_manifest().await?))
    }

    /// The size of [`ImageIndex::raw_manifest`] in bytes.
    async fn size(&self) -> Result<u64> {
        Ok(self.raw_manifest().await?.len() as u64)
    }

    /// The parsed index manifest.
    async fn index_manifest(&self) -> Result<IndexManifest> {
        IndexManifest::parse(&self.raw_manifest().await?)
    }

    /// The index's own descriptor, when it has one that says more than its
    /// digest, size and media type.
    ///
    /// Optional capability, `None` by default; [`ImageIndexExt::to_descriptor`]
    /// gives a descriptor for any index.
    async fn descriptor(&self) -> Result<Option<Descriptor>> {
        Ok(None)
    }

    /// The index's `artifactType`, if it declares one.
    async fn artifact_type(&self) -> Result<Option<MediaType>> {
        Ok(self.index_manifest().await?.artifact_type)
    }

    /// A child that is neither an image nor an index (a plain blob listed in
    /// the index), served as a layer.
    ///
    /// Optional capability (ggcr's workaround for #819): `None` by default,
    /// meaning this source cannot serve such children.
    async fn layer(&self, digest: Digest) -> Result<Option<Arc<dyn Layer>>> {
        let _ = digest;
        Ok(None)
    }
}

/// Conveniences over any [`ImageIndex`], not meant to be overridden.
#[async_trait]
pub trait ImageIndexExt: ImageIndex {
    /// The index's descriptor: its own if it has one (see
    /// [`ImageIndex::descriptor`]), else its media type, size, digest and
    /// artifact type (ggcr: `partial.Descriptor`).
    async fn to_descriptor(&self) -> Result<Descriptor> {
        if let Some(desc) = self.descriptor().await? {
            return Ok(desc);
        }
        let mut desc = Descriptor::new(
            self.media_type().await?,
            self.size().await?,
            self.digest().await?,
        );
        desc.artifact_type = self.artifact_type().await?;
        Ok(desc)
    }
}

impl<T: ImageIndex + ?Sized> ImageIndexExt for T {}

crate::forward::forward_to_pointee!(ImageIndex for [Arc, Box] {
    async fn raw_manifest(&self) -> Result<Bytes>;
    async fn media_type(&self) -> Result<MediaType>;
    async fn image(&self, digest: Digest) -> Result<Arc<dyn Image>>;
    async fn image_index(&self, digest: Digest) -> Result<Arc<dyn ImageIndex>>;
    async fn digest(&self) -> Result<Digest>;
    async fn size(&self) -> Result<u64>;
    async fn index_manifest(&self) -> Result<IndexManifest>;
    async fn descriptor(&self) -> Result<Option<Descriptor>>;
    async fn artifact_type(&self) -> Result<Option<MediaType>>;
    async fn layer(&self, digest: Digest) -> Result<Option<Arc<dyn Layer>>>;
});
