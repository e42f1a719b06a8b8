//! The [`Layer`] view (ggcr's `v1.Layer`) and its conveniences.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::{Blob, Descriptor, Digest, MediaType, Result, StaticLayer, StreamLayer};

/// One layer of an image: a blob with a compressed and an uncompressed form.
///
/// A port of ggcr's `v1.Layer`. Implementations come from everywhere (a
/// registry, an OCI layout, a tarball, a mutation, a [`static`](crate::StaticLayer)
/// buffer, a one-shot [`stream`](crate::StreamLayer)), and they mix freely as
/// `Arc<dyn Layer>`.
///
/// The six required methods are the whole contract; the provided ones are
/// optional capabilities (ggcr discovers them by type assertion) that
/// implementations override when they know better. [`LayerExt`] adds
/// conveniences on top that are never overridden.
///
/// The `compressed` form is what a registry stores and what
/// [`digest`](Layer::digest) and [`size`](Layer::size) describe; the
/// `uncompressed` form is the tar whose hash is the
/// [`diff_id`](Layer::diff_id) listed in the image config. For uncompressed
/// layer media types the two forms are the same bytes.
///
/// ```
/// use std::sync::Arc;
/// use ocireg_v1::{Layer, MediaType, StaticLayer};
///
/// # futures_executor::block_on(async {
/// let layer: Arc<dyn Layer> = Arc::new(StaticLayer::new("hello", MediaType::OciUncompressedLayer));
/// assert_eq!(layer.size().await?, 5);
/// assert_eq!(layer.digest().await?, layer.diff_id().await?);
/// assert_eq!(layer.compressed().await?.read_to_end(1024).await?, "hello");
/// # Ok::<(), ocireg_v1::Error>(())
/// # }).unwrap();
/// ```
#[async_trait]
pub trait Layer: Send + Sync + fmt::Debug {
    /// The digest of the compressed form: the address of the blob in a registry.
    async fn digest(&self) -> Result<Digest>;

    /// The digest of the uncompressed form, as listed in the config's
    /// `rootfs.diff_ids`.
    async fn diff_id(&self) -> Result<Digest>;

    /// The size of the compressed form in bytes.
    async fn size(&self) -> Result<u64>;

    /// The media type of the layer as it appears in a manifest.
    async fn media_type(&self) -> Result<MediaType>;

    /// The compressed form, as stored in a registry.
    async fn compressed(&self) -> Result<Blob>;

    /// The uncompressed form: the layer's tar.
    async fn uncompressed(&self) -> Result<Blob>;

    /// The layer's own descriptor, when it has one that says more than its
    /// digest, size and media type (URLs of a foreign layer, annotations).
    ///
    /// Optional capability (ggcr: `partial.Describable`/`withDescriptor`):
    /// `None` by default. Use [`LayerExt::to_descriptor`] to get a descriptor
    /// for any layer.
    async fn descriptor(&self) -> Result<Option<Descriptor>> {
        Ok(None)
    }

    /// The size of the uncompressed form, when known without reading it.
    ///
    /// Optional capability (ggcr: `withUncompressedSize`): `None` by default.
    /// [`LayerExt::uncompressed_size_or_count`] falls back to counting.
    async fn uncompressed_size(&self) -> Result<Option<u64>> {
        Ok(None)
    }

    /// Whether the blob exists, checked as cheaply as the source allows (a
    /// registry can answer with a `HEAD`).
    ///
    /// The default opens the compressed form and drops it, which is enough
    /// for sources that fail when the blob is missing (ggcr: `partial.Exists`).
    async fn exists(&self) -> Result<bool> {
        self.compressed().await.map(|_| true)
    }

    /// The repository this blob can be mounted from, when the layer lives in a
    /// registry (ggcr: `remote.MountableLayer`).
    ///
    /// Optional capability, `None` by default: a push to another repository
    /// of the same registry asks the registry to mount the blob from here
    /// instead of uploading its bytes.
    fn mount_source(&self) -> Option<ocireg_name::Repository> {
        None
    }
}

/// Conveniences over any [`Layer`], not meant to be overridden.
#[async_trait]
pub trait LayerExt: Layer {
    /// The layer's descriptor: its own if it has one (see [`Layer::descriptor`]),
    /// else one made of its media type, size and digest (ggcr: `partial.Descriptor`).
    async fn to_descriptor(&self) -> Result<Descriptor> {
        if let Some(desc) = self.descriptor().await? {
            return Ok(desc);
        }
        Ok(Descriptor::new(
            self.media_type().await?,
            self.size().await?,
            self.digest().await?,
        ))
    }

    /// The size of the uncompressed form: [`Layer::uncompressed_size`] when the
    /// layer knows it, else counted by reading the whole uncompressed stream
    /// (expensive, and it consumes a one-shot streaming layer).
    async fn uncompressed_size_or_count(&self) -> Result<u64> {
        if let Some(size) = self.uncompressed_size().await? {
            return Ok(size);
        }
        count(self.uncompressed().await?).await
    }
}

impl<T: Layer + ?Sized> LayerExt for T {}

/// Counts the bytes of a blob without keeping them.
pub(crate) async fn count(blob: Blob) -> Result<u64> {
    use futures_util::TryStreamExt as _;
    blob.try_fold(0u64, |n, chunk| async move { Ok(n + chunk.len() as u64) })
        .await
        .map_err(crate::Error::from_io)
}

crate::forward::forward_to_pointee!(Layer for [Arc, Box] {
    async fn digest(&self) -> Result<Digest>;
    async fn diff_id(&self) -> Result<Digest>;
    async fn size(&self) -> Result<u64>;
    async fn media_type(&self) -> Result<MediaType>;
    async fn compressed(&self) -> Result<Blob>;
    async fn uncompressed(&self) -> Result<Blob>;
    async fn descriptor(&self) -> Result<Option<Descriptor>>;
    async fn uncompressed_size(&self) -> Result<Option<u64>>;
    async fn exists(&self) -> Result<bool>;
    fn mount_source(&self) -> Option<ocireg_name::Repository>;
});

#[async_trait]
impl Layer for StaticLayer {
    async fn digest(&self) -> Result<Digest> {
        Ok(Self::digest(self))
    }
    async fn diff_id(&self) -> Result<Digest> {
        Ok(Self::diff_id(self))
    }
    async fn size(&self) -> Result<u64> {
        Ok(Self::size(self))
    }
    async fn media_type(&self) -> Result<MediaType> {
        Ok(Self::media_type(self).clone())
    }
    async fn compressed(&self) -> Result<Blob> {
        Ok(Self::compressed(self))
    }
    async fn uncompressed(&self) -> Result<Blob> {
        Ok(Self::uncompressed(self))
    }
    async fn uncompressed_size(&self) -> Result<Option<u64>> {
        Ok(Some(Self::size(self)))
    }
    async fn exists(&self) -> Result<bool> {
        Ok(true)
    }
}

/// A one-shot layer: digest, diff id and size fail with
/// [`Error::NotComputed`](crate::Error::NotComputed) until the compressed
/// stream has been read to the end, and the uncompressed form is not
/// available.
#[async_trait]
impl Layer for StreamLayer {
    async fn digest(&self) -> Result<Digest> {
        Self::digest(self)
    }
    async fn diff_id(&self) -> Result<Digest> {
        Self::diff_id(self)
    }
    async fn size(&self) -> Result<u64> {
        Self::size(self)
    }
    async fn media_type(&self) -> Result<MediaType> {
        Ok(Self::media_type(self).clone())
    }
    async fn compressed(&self) -> Result<Blob> {
        Self::compressed(self)
    }
    async fn uncompressed(&self) -> Result<Blob> {
        Self::uncompressed(self)
    }
    /// Always `true`, and never takes the stream: the default would consume it.
    async fn exists(&self) -> Result<bool> {
        Ok(true)
    }
}
