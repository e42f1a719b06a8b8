//! The [`Image`] view (ggcr's `v1.Image`, with `partial`'s derivations as
//! provided methods) and its conveniences.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::{
    ConfigFile, Descriptor, Digest, Error, Layer, Manifest, MediaType, Result, StaticLayer,
};

/// The most bytes a manifest or index may have when a source reads one into
/// memory: 8 MiB, twice the 4 MiB the distribution spec tells registries to
/// accept at least (its conformance suite pushes a 3.9 MB manifest).
pub const MANIFEST_LIMIT: u64 = 8 * 1024 * 1024;

/// The most bytes a config blob may have when a source reads one into memory
/// (8 MiB: configs with long histories are large, but never layer-sized).
pub const CONFIG_LIMIT: u64 = 8 * 1024 * 1024;

/// An image: a manifest, a config and layers.
///
/// A port of ggcr's `v1.Image`. The four required methods are the raw core
/// that every source can answer (the manifest and config bytes are the
/// source of truth: digests are computed over them, never over re-serialised
/// JSON). Everything else is derived in provided methods, the way ggcr's
/// `partial` package derives it, and a source overrides any of them when it
/// knows better (a registry knows the digest it asked for).
///
/// Use images as `Arc<dyn Image>`: views from different sources mix freely.
/// [`ImageExt`] adds conveniences that are never overridden.
///
/// ```
/// use ocireg_v1::{empty, Image, MediaType};
///
/// # futures_executor::block_on(async {
/// let img = empty::image();
/// assert_eq!(img.media_type().await?, MediaType::DockerManifestSchema2);
/// assert!(img.layers().await?.is_empty());
/// assert_eq!(img.config_file().await?.rootfs.kind, "layers");
/// # Ok::<(), ocireg_v1::Error>(())
/// # }).unwrap();
/// ```
#[async_trait]
pub trait Image: Send + Sync + fmt::Debug {
    /// The manifest, byte for byte as stored or produced.
    ///
    /// Sources that read it from a stream bound the read by [`MANIFEST_LIMIT`].
    async fn raw_manifest(&self) -> Result<Bytes>;

    /// The config blob, byte for byte as stored or produced.
    ///
    /// Sources that read it from a stream bound the read by [`CONFIG_LIMIT`].
    async fn raw_config_file(&self) -> Result<Bytes>;

    /// The media type of the manifest.
    async fn media_type(&self) -> Result<MediaType>;

    /// The layer whose compressed digest is `digest` (the config blob too, for
    /// sources that can serve it as a layer).
    async fn layer_by_digest(&self, digest: Digest) -> Result<Arc<dyn Layer>>;

    /// The SHA-256 digest of [`Image::raw_manifest`].
    async fn digest(&self) -> Result<Digest> {
        Ok(crate::sha256(self.raw_manifest().await?))
    }

    /// The size of [`Image::raw_manifest`] in bytes.
    async fn size(&self) -> Result<u64> {
        Ok(self.raw_manifest().await?.len() as u64)
    }

    /// The parsed manifest.
    async fn manifest(&self) -> Result<Manifest> {
        Manifest::parse(&self.raw_manifest().await?)
    }

    /// The SHA-256 digest of [`Image::raw_config_file`] (ggcr's `ConfigName`,
    /// the image ID docker shows).
    async fn config_name(&self) -> Result<Digest> {
        Ok(crate::sha256(self.raw_config_file().await?))
    }

    /// The parsed config.
    async fn config_file(&self) -> Result<ConfigFile> {
        ConfigFile::parse(&self.raw_config_file().await?)
    }

    /// The layers in manifest order, each looked up by its digest.
    async fn layers(&self) -> Result<Vec<Arc<dyn Layer>>> {
        let manifest = self.manifest().await?;
        let mut layers = Vec::with_capacity(manifest.layers.len());
        for desc in &manifest.layers {
            layers.push(self.layer_by_digest(desc.digest).await?);
        }
        Ok(layers)
    }

    /// The layer whose uncompressed digest is `diff_id`: the manifest layer at
    /// the same position as `diff_id` in the config's `rootfs.diff_ids`.
    async fn layer_by_diff_id(&self, diff_id: Digest) -> Result<Arc<dyn Layer>> {
        let manifest = self.manifest().await?;
        let config = self.config_file().await?;
        let digest = diff_id_to_blob(&manifest, &config, diff_id)?;
        self.layer_by_digest(digest).await
    }

    /// The config blob as a layer, e.g. to upload it like any other blob.
    ///
    /// The default serves [`Image::raw_config_file`] with the digest and media
    /// type the manifest gives the config, failing with
    /// [`Error::DigestMismatch`] when the bytes do not have that digest.
    async fn config_layer(&self) -> Result<Arc<dyn Layer>> {
        let manifest = self.manifest().await?;
        let raw = self.raw_config_file().await?;
        Ok(Arc::new(StaticLayer::with_digest(
            raw,
            manifest.config.media_type,
            manifest.config.digest,
        )?))
    }

    /// The image's own descriptor, when it has one that says more than its
    /// digest, size and media type (e.g. the platform it was found under).
    ///
    /// Optional capability, `None` by default; [`ImageExt::to_descriptor`]
    /// gives a descriptor for any image.
    async fn descriptor(&self) -> Result<Option<Descriptor>> {
        Ok(None)
    }

    /// The artifact type: the manifest's `artifactType`, else its config media
    /// type (ggcr's `partial.ArtifactType`, and the OCI rule for referrers
    /// entries), so an ordinary image has its config type here.
    async fn artifact_type(&self) -> Result<Option<MediaType>> {
        let manifest = self.manifest().await?;
        Ok(artifact_type_of(&manifest))
    }
}

/// The artifact type of a manifest as ggcr gives it (and as the OCI referrers API
/// lists it): its `artifactType`, else its config media type.
pub fn artifact_type_of(manifest: &Manifest) -> Option<MediaType> {
    Some(
        manifest
            .artifact_type
            .clone()
            .unwrap_or_else(|| manifest.config.media_type.clone()),
    )
}

/// The manifest layer digest at the position of `diff_id` in the config
/// (ggcr `partial.DiffIDToBlob`).
pub(crate) fn diff_id_to_blob(
    manifest: &Manifest,
    config: &ConfigFile,
    diff_id: Digest,
) -> Result<Digest> {
    let diff_ids = config.rootfs.diff_ids.as_deref().unwrap_or_default();
    check_aligned(manifest, diff_ids)?;
    diff_ids
        .iter()
        .position(|d| *d == diff_id)
        .map(|i| manifest.layers[i].digest)
        .ok_or_else(|| Error::NotFound {
            what: format!("layer with diff id {diff_id}"),
        })
}

/// The config diff id at the position of `digest` in the manifest layers
/// (ggcr `partial.BlobToDiffID`).
pub(crate) fn blob_to_diff_id(
    manifest: &Manifest,
    config: &ConfigFile,
    digest: Digest,
) -> Result<Digest> {
    let diff_ids = config.rootfs.diff_ids.as_deref().unwrap_or_default();
    check_aligned(manifest, diff_ids)?;
    manifest
        .layers
        .iter()
        .position(|d| d.digest == digest)
        .map(|i| diff_ids[i])
        .ok_or_else(|| Error::NotFound {
            what: format!("layer {digest}"),
        })
}

fn check_aligned(manifest: &Manifest, diff_ids: &[Digest]) -> Result<()> {
    if manifest.layers.len() == diff_ids.len() {
        Ok(())
    } else {
        Err(Error::LayerCountMismatch {
            layers: manifest.layers.len(),
            diff_ids: diff_ids.len(),
        })
    }
}

/// Conveniences over any [`Image`], not meant to be overridden.
#[async_trait]
pub trait ImageExt: Image {
    /// The image's descriptor: its own if it has one (see [`Image::descriptor`]),
    /// else its media type, size, digest and artifact type (ggcr: `partial.Descriptor`).
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

    /// The diff id of the layer whose compressed digest is `digest` (ggcr:
    /// `partial.BlobToDiffID`).
    async fn blob_to_diff_id(&self, digest: Digest) -> Result<Digest> {
        let manifest = self.manifest().await?;
        let config = self.config_file().await?;
        blob_to_diff_id(&manifest, &config, digest)
    }

    /// The compressed digest of the layer whose diff id is `diff_id` (ggcr:
    /// `partial.DiffIDToBlob`).
    async fn diff_id_to_blob(&self, diff_id: Digest) -> Result<Digest> {
        let manifest = self.manifest().await?;
        let config = self.config_file().await?;
        diff_id_to_blob(&manifest, &config, diff_id)
    }

    /// The manifest's descriptor of the blob `digest`: the config or a layer
    /// (ggcr: `partial.BlobDescriptor`).
    async fn blob_descriptor(&self, digest: Digest) -> Result<Descriptor> {
        let manifest = self.manifest().await?;
        if manifest.config.digest == digest {
            return Ok(manifest.config);
        }
        manifest
            .layers
            .into_iter()
            .find(|l| l.digest == digest)
            .ok_or_else(|| Error::NotFound {
                what: format!("blob {digest}"),
            })
    }
}

impl<T: Image + ?Sized> ImageExt for T {}

crate::forward::forward_to_pointee!(Image for [Arc, Box] {
    async fn raw_manifest(&self) -> Result<Bytes>;
    async fn raw_config_file(&self) -> Result<Bytes>;
    async fn media_type(&self) -> Result<MediaType>;
    async fn layer_by_digest(&self, digest: Digest) -> Result<Arc<dyn Layer>>;
    async fn digest(&self) -> Result<Digest>;
    async fn size(&self) -> Result<u64>;
    async fn manifest(&self) -> Result<Manifest>;
    async fn config_name(&self) -> Result<Digest>;
    async fn config_file(&self) -> Result<ConfigFile>;
    async fn layers(&self) -> Result<Vec<Arc<dyn Layer>>>;
    async fn layer_by_diff_id(&self, diff_id: Digest) -> Result<Arc<dyn Layer>>;
    async fn config_layer(&self) -> Result<Arc<dyn Layer>>;
    async fn descriptor(&self) -> Result<Option<Descriptor>>;
    async fn artifact_type(&self) -> Result<Option<MediaType>>;
});
