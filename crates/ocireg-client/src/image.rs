//! [`ClientImage`]: what [`Client::get_image`](crate::Client::get_image) returns.

use std::sync::Arc;

use ocireg_name::{Digest, Reference};
use ocireg_v1::bytes::Bytes;
use ocireg_v1::{Blob, ConfigFile, Descriptor, Image, Layer, Manifest, MediaType, async_trait};

/// An image from the registry (the Deckhouse `registry.Image`): a lazy, verified view
/// that implements [`ocireg_v1::Image`], plus [`extract`](Self::extract).
///
/// Cloning is cheap. Pass it (or [`image`](Self::image)) to
/// [`Client::push_image`](crate::Client::push_image) or any `ocireg` function that takes an
/// image.
#[derive(Clone, Debug)]
pub struct ClientImage {
    reference: Reference,
    image: Arc<dyn Image>,
}

impl ClientImage {
    pub(crate) fn new(reference: Reference, image: Arc<dyn Image>) -> Self {
        Self { reference, image }
    }

    /// The reference it was pulled by.
    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    /// The image as a shareable trait object.
    pub fn image(&self) -> Arc<dyn Image> {
        Arc::clone(&self.image)
    }

    /// The flattened filesystem as one tar stream (the Deckhouse `Extract`): the layers
    /// applied in order with whiteouts honoured, each layer fetched and verified as the
    /// stream reaches it (`ocireg_mutate::extract`, ggcr's `mutate.Extract`). Nothing is
    /// held whole in memory; dropping the stream closes it.
    pub fn extract(&self) -> Blob {
        ocireg_mutate::extract(Arc::clone(&self.image))
    }
}

#[async_trait]
impl Image for ClientImage {
    async fn raw_manifest(&self) -> ocireg_v1::Result<Bytes> {
        self.image.raw_manifest().await
    }
    async fn raw_config_file(&self) -> ocireg_v1::Result<Bytes> {
        self.image.raw_config_file().await
    }
    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        self.image.media_type().await
    }
    async fn layer_by_digest(&self, digest: Digest) -> ocireg_v1::Result<Arc<dyn Layer>> {
        self.image.layer_by_digest(digest).await
    }
    async fn digest(&self) -> ocireg_v1::Result<Digest> {
        self.image.digest().await
    }
    async fn size(&self) -> ocireg_v1::Result<u64> {
        self.image.size().await
    }
    async fn manifest(&self) -> ocireg_v1::Result<Manifest> {
        self.image.manifest().await
    }
    async fn config_name(&self) -> ocireg_v1::Result<Digest> {
        self.image.config_name().await
    }
    async fn config_file(&self) -> ocireg_v1::Result<ConfigFile> {
        self.image.config_file().await
    }
    async fn layers(&self) -> ocireg_v1::Result<Vec<Arc<dyn Layer>>> {
        self.image.layers().await
    }
    async fn layer_by_diff_id(&self, diff_id: Digest) -> ocireg_v1::Result<Arc<dyn Layer>> {
        self.image.layer_by_diff_id(diff_id).await
    }
    async fn config_layer(&self) -> ocireg_v1::Result<Arc<dyn Layer>> {
        self.image.config_layer().await
    }
    async fn descriptor(&self) -> ocireg_v1::Result<Option<Descriptor>> {
        self.image.descriptor().await
    }
    async fn artifact_type(&self) -> ocireg_v1::Result<Option<MediaType>> {
        self.image.artifact_type().await
    }
}
