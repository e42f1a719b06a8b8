//! Small in-memory views used by the fixtures ([`crate::empty`],
//! [`crate::random`]).

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use crate::{Blob, Digest, Error, Image, ImageIndex, Layer, MediaType, Result};

/// A layer whose compressed and uncompressed forms are both in memory.
#[derive(Debug, Clone)]
pub(crate) struct BytesLayer {
    compressed: Bytes,
    uncompressed: Bytes,
    digest: Digest,
    diff_id: Digest,
    media_type: MediaType,
}

impl BytesLayer {
    /// A layer with different compressed and uncompressed bytes (SHA-256 digests).
    pub(crate) fn new(compressed: Bytes, uncompressed: Bytes, media_type: MediaType) -> Self {
        Self {
            digest: crate::sha256(&compressed),
            diff_id: crate::sha256(&uncompressed),
            compressed,
            uncompressed,
            media_type,
        }
    }

    /// Digest, diff id, compressed size and media type.
    pub(crate) fn facts(&self) -> (Digest, Digest, u64, MediaType) {
        (
            self.digest,
            self.diff_id,
            self.compressed.len() as u64,
            self.media_type.clone(),
        )
    }
}

#[async_trait]
impl Layer for BytesLayer {
    async fn digest(&self) -> Result<Digest> {
        Ok(self.digest)
    }
    async fn diff_id(&self) -> Result<Digest> {
        Ok(self.diff_id)
    }
    async fn size(&self) -> Result<u64> {
        Ok(self.compressed.len() as u64)
    }
    async fn media_type(&self) -> Result<MediaType> {
        Ok(self.media_type.clone())
    }
    async fn compressed(&self) -> Result<Blob> {
        Ok(Blob::from_bytes(self.compressed.clone()))
    }
    async fn uncompressed(&self) -> Result<Blob> {
        Ok(Blob::from_bytes(self.uncompressed.clone()))
    }
    async fn uncompressed_size(&self) -> Result<Option<u64>> {
        Ok(Some(self.uncompressed.len() as u64))
    }
    async fn exists(&self) -> Result<bool> {
        Ok(true)
    }
}

/// An image whose manifest, config and layers are all in memory.
#[derive(Debug, Clone)]
pub(crate) struct MemoryImage {
    pub(crate) raw_manifest: Bytes,
    pub(crate) raw_config: Bytes,
    pub(crate) media_type: MediaType,
    /// Layers with their compressed digests.
    pub(crate) layers: Vec<(Digest, Arc<dyn Layer>)>,
}

#[async_trait]
impl Image for MemoryImage {
    async fn raw_manifest(&self) -> Result<Bytes> {
        Ok(self.raw_manifest.clone())
    }
    async fn raw_config_file(&self) -> Result<Bytes> {
        Ok(self.raw_config.clone())
    }
    async fn media_type(&self) -> Result<MediaType> {
        Ok(self.media_type.clone())
    }
    async fn layer_by_digest(&self, digest: Digest) -> Result<Arc<dyn Layer>> {
        if let Some((_, layer)) = self.layers.iter().find(|(d, _)| *d == digest) {
            return Ok(Arc::clone(layer));
        }
        if crate::sha256(&self.raw_config) == digest {
            return self.config_layer().await;
        }
        Err(Error::NotFound {
            what: format!("layer {digest}"),
        })
    }
}

/// An index whose manifest and children are all in memory.
#[derive(Debug, Clone)]
pub(crate) struct MemoryIndex {
    pub(crate) raw_manifest: Bytes,
    pub(crate) media_type: MediaType,
    pub(crate) images: Vec<(Digest, Arc<dyn Image>)>,
    pub(crate) indexes: Vec<(Digest, Arc<dyn ImageIndex>)>,
}

#[async_trait]
impl ImageIndex for MemoryIndex {
    async fn raw_manifest(&self) -> Result<Bytes> {
        Ok(self.raw_manifest.clone())
    }
    async fn media_type(&self) -> Result<MediaType> {
        Ok(self.media_type.clone())
    }
    async fn image(&self, digest: Digest) -> Result<Arc<dyn Image>> {
        self.images
            .iter()
            .find(|(d, _)| *d == digest)
            .map(|(_, img)| Arc::clone(img))
            .ok_or_else(|| Error::NotFound {
                what: format!("image {digest}"),
            })
    }
    async fn image_index(&self, digest: Digest) -> Result<Arc<dyn ImageIndex>> {
        self.indexes
            .iter()
            .find(|(d, _)| *d == digest)
            .map(|(_, idx)| Arc::clone(idx))
            .ok_or_else(|| Error::NotFound {
                what: format!("image index {digest}"),
            })
    }
}
