//! Adapters that complete partial views (what is left of ggcr's
//! `pkg/v1/partial` once provided trait methods do the derivations).
//!
//! Some sources know a layer only in one form:
//!
//! - a registry or an OCI layout stores the **compressed** blob; implement
//!   [`CompressedLayer`] and wrap it in [`CompressedToLayer`], which
//!   decompresses on demand (sniffing gzip, zstd or plain tar, because blobs
//!   labelled compressed often are not) and hashes that for the diff id;
//! - a docker tarball or a fixture has the **uncompressed** tar; implement
//!   [`UncompressedLayer`] and wrap it in [`UncompressedToLayer`], which gzips
//!   on the fly (level 1, ggcr's `BestSpeed`) and compresses once, memoised, to
//!   learn the digest and size.
//!
//! An image known by its config and uncompressed layers (a docker tarball)
//! implements [`UncompressedImageCore`]; [`UncompressedToImage`] synthesises
//! its manifest. An image known by its manifest needs no adapter: that is
//! the required core of [`Image`] itself.
//!
//! ```
//! use std::sync::Arc;
//! use ocireg_v1::partial::{UncompressedLayer, UncompressedToLayer};
//! use ocireg_v1::{async_trait, Blob, Digest, Layer, MediaType, Result};
//!
//! #[derive(Debug)]
//! struct Tar(&'static [u8]);
//!
//! #[async_trait]
//! impl UncompressedLayer for Tar {
//!     async fn diff_id(&self) -> Result<Digest> {
//!         Ok(ocireg_v1::sha256(self.0))
//!     }
//!     async fn uncompressed(&self) -> Result<Blob> {
//!         Ok(Blob::from_bytes(self.0))
//!     }
//!     async fn media_type(&self) -> Result<MediaType> {
//!         Ok(MediaType::DockerLayer)
//!     }
//! }
//!
//! # futures_executor::block_on(async {
//! let layer: Arc<dyn Layer> = Arc::new(UncompressedToLayer::new(Tar(b"not really a tar")));
//! let gz = layer.compressed().await?.read_to_end(1 << 20).await?;
//! assert_eq!(&gz[..2], &[0x1f, 0x8b]);
//! assert_eq!(layer.size().await?, gz.len() as u64);
//! assert_eq!(layer.digest().await?, ocireg_v1::sha256(&gz));
//! # Ok::<(), ocireg_v1::Error>(())
//! # }).unwrap();
//! ```

pub(crate) mod memory;

use std::fmt;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt as _;

use crate::compression::{GzipLevel, decompress, gzip};
use crate::{
    Blob, ConfigFile, Descriptor, Digest, Error, Hasher, Image, Layer, LayerExt as _, Manifest,
    MediaType, Result,
};

/// Hashes a whole stream with SHA-256, returning its digest and length.
async fn hash_stream<S>(mut stream: S) -> Result<(Digest, u64)>
where
    S: futures_core::Stream<Item = std::io::Result<Bytes>> + Unpin,
{
    let mut hasher = Hasher::sha256();
    while let Some(chunk) = stream.next().await {
        hasher.update(&chunk.map_err(Error::from_io)?);
    }
    let len = hasher.len();
    Ok((hasher.finish(), len))
}

/// A layer known by its compressed form only (ggcr `partial.CompressedLayer`).
///
/// Wrap it in [`CompressedToLayer`] to get a full [`Layer`].
#[async_trait]
pub trait CompressedLayer: Send + Sync + fmt::Debug {
    /// The digest of the compressed form.
    async fn digest(&self) -> Result<Digest>;

    /// The size of the compressed form in bytes.
    async fn size(&self) -> Result<u64>;

    /// The media type of the layer.
    async fn media_type(&self) -> Result<MediaType>;

    /// The compressed form.
    async fn compressed(&self) -> Result<Blob>;

    /// The diff id, when the source knows it without decompressing (e.g. from
    /// the image config). `None` by default: it is then computed.
    async fn diff_id(&self) -> Result<Option<Digest>> {
        Ok(None)
    }

    /// See [`Layer::descriptor`]. `None` by default.
    async fn descriptor(&self) -> Result<Option<Descriptor>> {
        Ok(None)
    }

    /// See [`Layer::uncompressed_size`]. `None` by default.
    async fn uncompressed_size(&self) -> Result<Option<u64>> {
        Ok(None)
    }

    /// See [`Layer::exists`]. By default opens the compressed form and drops it.
    async fn exists(&self) -> Result<bool> {
        self.compressed().await.map(|_| true)
    }
}

/// A full [`Layer`] from a [`CompressedLayer`] (ggcr `partial.CompressedToLayer`).
///
/// The uncompressed form is the compressed one decompressed by sniffing
/// (gzip, zstd, or passed through when it is not compressed after all); the
/// diff id, unless the core knows it, is the SHA-256 of that, computed on
/// first use and remembered.
pub struct CompressedToLayer<T> {
    inner: T,
    diff_id: OnceLock<Digest>,
}

impl<T: CompressedLayer> CompressedToLayer<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            diff_id: OnceLock::new(),
        }
    }

    /// The wrapped core.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// Unwraps the core.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: fmt::Debug> fmt::Debug for CompressedToLayer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompressedToLayer")
            .field("inner", &self.inner)
            .field("diff_id", &self.diff_id.get())
            .finish()
    }
}

#[async_trait]
impl<T: CompressedLayer> Layer for CompressedToLayer<T> {
    async fn digest(&self) -> Result<Digest> {
        self.inner.digest().await
    }

    async fn diff_id(&self) -> Result<Digest> {
        if let Some(d) = self.diff_id.get() {
            return Ok(*d);
        }
        let d = match self.inner.diff_id().await? {
            Some(d) => d,
            None => {
                hash_stream(decompress(self.inner.compressed().await?))
                    .await?
                    .0
            }
        };
        Ok(*self.diff_id.get_or_init(|| d))
    }

    async fn size(&self) -> Result<u64> {
        self.inner.size().await
    }

    async fn media_type(&self) -> Result<MediaType> {
        self.inner.media_type().await
    }

    async fn compressed(&self) -> Result<Blob> {
        self.inner.compressed().await
    }

    async fn uncompressed(&self) -> Result<Blob> {
        let size = self.inner.uncompressed_size().await?;
        Ok(Blob::new(decompress(self.inner.compressed().await?), size))
    }

    async fn descriptor(&self) -> Result<Option<Descriptor>> {
        self.inner.descriptor().await
    }

    async fn uncompressed_size(&self) -> Result<Option<u64>> {
        self.inner.uncompressed_size().await
    }

    async fn exists(&self) -> Result<bool> {
        self.inner.exists().await
    }
}

/// A layer known by its uncompressed form only (ggcr `partial.UncompressedLayer`).
///
/// Wrap it in [`UncompressedToLayer`] to get a full [`Layer`].
#[async_trait]
pub trait UncompressedLayer: Send + Sync + fmt::Debug {
    /// The digest of the uncompressed form.
    async fn diff_id(&self) -> Result<Digest>;

    /// The uncompressed form: the layer's tar.
    async fn uncompressed(&self) -> Result<Blob>;

    /// The media type the layer should have in a manifest.
    async fn media_type(&self) -> Result<MediaType>;

    /// See [`Layer::descriptor`] (e.g. the URLs of a foreign layer). `None` by default.
    async fn descriptor(&self) -> Result<Option<Descriptor>> {
        Ok(None)
    }

    /// See [`Layer::uncompressed_size`]. `None` by default.
    async fn uncompressed_size(&self) -> Result<Option<u64>> {
        Ok(None)
    }
}

/// A full [`Layer`] from an [`UncompressedLayer`] (ggcr `partial.UncompressedToLayer`).
///
/// The compressed form is the tar gzipped on the fly at level 1 (ggcr's
/// `BestSpeed`), a deterministic encoding, so every read gives the same
/// bytes. The digest and size are learnt by compressing once, the first time
/// either is asked, and remembered.
///
/// Unlike ggcr, a layer whose media type is an uncompressed tar type
/// (`...layer.v1.tar`, `...rootfs.diff.tar`) is not gzipped: its compressed
/// form is its tar, so the bytes agree with the media type. A zstd media type
/// is gzipped, as in ggcr (there is no streaming zstd encoder here): give such
/// layers a gzip type, or use a source that has the zstd bytes.
pub struct UncompressedToLayer<T> {
    inner: T,
    /// Digest and size of the compressed form.
    computed: OnceLock<(Digest, u64)>,
}

impl<T: UncompressedLayer> UncompressedToLayer<T> {
    /// Wraps `inner`.
    pub fn new(inner: T) -> Self {
        Self {
            inner,
            computed: OnceLock::new(),
        }
    }

    /// The wrapped core.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// Unwraps the core.
    pub fn into_inner(self) -> T {
        self.inner
    }

    async fn passes_through(&self) -> Result<bool> {
        Ok(is_uncompressed_type(&self.inner.media_type().await?))
    }

    async fn computed(&self) -> Result<(Digest, u64)> {
        if let Some(c) = self.computed.get() {
            return Ok(*c);
        }
        let c = if self.passes_through().await? {
            (
                self.inner.diff_id().await?,
                match self.inner.uncompressed_size().await? {
                    Some(size) => size,
                    None => crate::layer::count(self.inner.uncompressed().await?).await?,
                },
            )
        } else {
            hash_stream(gzip(
                self.inner.uncompressed().await?,
                GzipLevel::BEST_SPEED,
            ))
            .await?
        };
        Ok(*self.computed.get_or_init(|| c))
    }
}

/// Whether a layer media type says the blob is a plain tar.
fn is_uncompressed_type(mt: &MediaType) -> bool {
    matches!(
        mt,
        MediaType::OciUncompressedLayer
            | MediaType::OciUncompressedRestrictedLayer
            | MediaType::DockerUncompressedLayer
    )
}

impl<T: fmt::Debug> fmt::Debug for UncompressedToLayer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UncompressedToLayer")
            .field("inner", &self.inner)
            .field("computed", &self.computed.get())
            .finish()
    }
}

#[async_trait]
impl<T: UncompressedLayer> Layer for UncompressedToLayer<T> {
    async fn digest(&self) -> Result<Digest> {
        Ok(self.computed().await?.0)
    }

    async fn diff_id(&self) -> Result<Digest> {
        self.inner.diff_id().await
    }

    async fn size(&self) -> Result<u64> {
        Ok(self.computed().await?.1)
    }

    async fn media_type(&self) -> Result<MediaType> {
        self.inner.media_type().await
    }

    async fn compressed(&self) -> Result<Blob> {
        let size = self.computed.get().map(|c| c.1);
        let uncompressed = self.inner.uncompressed().await?;
        if self.passes_through().await? {
            return Ok(uncompressed);
        }
        Ok(Blob::new(gzip(uncompressed, GzipLevel::BEST_SPEED), size))
    }

    async fn uncompressed(&self) -> Result<Blob> {
        self.inner.uncompressed().await
    }

    async fn descriptor(&self) -> Result<Option<Descriptor>> {
        self.inner.descriptor().await
    }

    async fn uncompressed_size(&self) -> Result<Option<u64>> {
        self.inner.uncompressed_size().await
    }

    async fn exists(&self) -> Result<bool> {
        self.inner.uncompressed().await.map(|_| true)
    }
}

crate::forward::forward_to_pointee!(UncompressedLayer for [Arc] {
    async fn diff_id(&self) -> Result<Digest>;
    async fn uncompressed(&self) -> Result<Blob>;
    async fn media_type(&self) -> Result<MediaType>;
    async fn descriptor(&self) -> Result<Option<Descriptor>>;
    async fn uncompressed_size(&self) -> Result<Option<u64>>;
});

crate::forward::forward_to_pointee!(CompressedLayer for [Arc] {
    async fn digest(&self) -> Result<Digest>;
    async fn size(&self) -> Result<u64>;
    async fn media_type(&self) -> Result<MediaType>;
    async fn compressed(&self) -> Result<Blob>;
    async fn diff_id(&self) -> Result<Option<Digest>>;
    async fn descriptor(&self) -> Result<Option<Descriptor>>;
    async fn uncompressed_size(&self) -> Result<Option<u64>>;
    async fn exists(&self) -> Result<bool>;
});

/// An image known by its config and uncompressed layers (ggcr
/// `partial.UncompressedImageCore`), e.g. a docker tarball.
///
/// Wrap it in [`UncompressedToImage`] to get a full [`Image`].
#[async_trait]
pub trait UncompressedImageCore: Send + Sync + fmt::Debug {
    /// The config blob, byte for byte.
    async fn raw_config_file(&self) -> Result<Bytes>;

    /// The media type of the manifest to synthesise: Docker schema 2 (as ggcr
    /// always does) or OCI.
    async fn media_type(&self) -> Result<MediaType>;

    /// The layer whose diff id is `diff_id`.
    async fn layer_by_diff_id(&self, diff_id: Digest) -> Result<Arc<dyn UncompressedLayer>>;
}

type WrappedLayer = UncompressedToLayer<Arc<dyn UncompressedLayer>>;

/// A full [`Image`] from an [`UncompressedImageCore`] (ggcr
/// `partial.UncompressedToImage`).
///
/// The manifest is synthesised once and remembered: schema 2 with the core's
/// media type, the config as a Docker config (an OCI config for an OCI
/// manifest), and one descriptor per `rootfs.diff_ids` entry from the
/// layers wrapped in [`UncompressedToLayer`], which compresses each layer once
/// to learn its digest and size.
pub struct UncompressedToImage<T> {
    core: T,
    layers: OnceLock<Vec<Arc<WrappedLayer>>>,
    manifest: OnceLock<Bytes>,
}

impl<T: UncompressedImageCore> UncompressedToImage<T> {
    /// Wraps `core`.
    pub fn new(core: T) -> Self {
        Self {
            core,
            layers: OnceLock::new(),
            manifest: OnceLock::new(),
        }
    }

    /// The wrapped core.
    pub fn get_ref(&self) -> &T {
        &self.core
    }

    async fn wrapped_layers(&self) -> Result<&[Arc<WrappedLayer>]> {
        if let Some(layers) = self.layers.get() {
            return Ok(layers);
        }
        let config = ConfigFile::parse(&self.core.raw_config_file().await?)?;
        let diff_ids = config.rootfs.diff_ids.unwrap_or_default();
        let mut layers = Vec::with_capacity(diff_ids.len());
        for diff_id in diff_ids {
            let layer = self.core.layer_by_diff_id(diff_id).await?;
            layers.push(Arc::new(UncompressedToLayer::new(layer)));
        }
        Ok(self.layers.get_or_init(|| layers))
    }
}

impl<T: fmt::Debug> fmt::Debug for UncompressedToImage<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UncompressedToImage")
            .field("core", &self.core)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<T: UncompressedImageCore> Image for UncompressedToImage<T> {
    async fn raw_manifest(&self) -> Result<Bytes> {
        if let Some(m) = self.manifest.get() {
            return Ok(m.clone());
        }
        let media_type = self.core.media_type().await?;
        let config_type = if media_type == MediaType::OciManifest {
            MediaType::OciConfig
        } else {
            MediaType::DockerConfig
        };
        let raw_config = self.core.raw_config_file().await?;
        let mut manifest =
            Manifest::new(media_type, Descriptor::for_bytes(config_type, &raw_config));
        for layer in self.wrapped_layers().await? {
            manifest.layers.push(layer.to_descriptor().await?);
        }
        let raw = Bytes::from(crate::to_go_json(&manifest)?);
        Ok(self.manifest.get_or_init(|| raw).clone())
    }

    async fn raw_config_file(&self) -> Result<Bytes> {
        self.core.raw_config_file().await
    }

    async fn media_type(&self) -> Result<MediaType> {
        self.core.media_type().await
    }

    async fn layer_by_digest(&self, digest: Digest) -> Result<Arc<dyn Layer>> {
        for layer in self.wrapped_layers().await? {
            if layer.digest().await? == digest {
                return Ok(Arc::clone(layer) as Arc<dyn Layer>);
            }
        }
        if self.config_name().await? == digest {
            return self.config_layer().await;
        }
        Err(Error::NotFound {
            what: format!("layer {digest}"),
        })
    }

    async fn layers(&self) -> Result<Vec<Arc<dyn Layer>>> {
        Ok(self
            .wrapped_layers()
            .await?
            .iter()
            .map(|l| Arc::clone(l) as Arc<dyn Layer>)
            .collect())
    }

    async fn layer_by_diff_id(&self, diff_id: Digest) -> Result<Arc<dyn Layer>> {
        for layer in self.wrapped_layers().await? {
            if layer.diff_id().await? == diff_id {
                return Ok(Arc::clone(layer) as Arc<dyn Layer>);
            }
        }
        Err(Error::NotFound {
            what: format!("layer with diff id {diff_id}"),
        })
    }
}
