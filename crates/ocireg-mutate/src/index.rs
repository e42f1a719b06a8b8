//! Mutated indexes (ggcr `mutate.Annotations` on an index,
//! `mutate.IndexMediaType`).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use ocireg_v1::{Digest, Image, ImageIndex, Layer, MediaType, async_trait};

#[derive(Debug)]
struct MutatedIndex {
    base: Arc<dyn ImageIndex>,
    annotations: Option<BTreeMap<String, String>>,
    media_type: Option<MediaType>,
    raw: OnceLock<Bytes>,
}

impl MutatedIndex {
    fn over(base: Arc<dyn ImageIndex>) -> Self {
        Self {
            base,
            annotations: None,
            media_type: None,
            raw: OnceLock::new(),
        }
    }
}

#[async_trait]
impl ImageIndex for MutatedIndex {
    async fn raw_manifest(&self) -> ocireg_v1::Result<Bytes> {
        if let Some(raw) = self.raw.get() {
            return Ok(raw.clone());
        }
        let mut manifest = self.base.index_manifest().await?;
        if let Some(mt) = &self.media_type {
            manifest.media_type = Some(mt.clone());
        }
        if let Some(annotations) = &self.annotations {
            for (k, v) in annotations {
                manifest.annotations.insert(k.clone(), v.clone());
            }
        }
        let raw = Bytes::from(ocireg_v1::to_go_json(&manifest)?);
        Ok(self.raw.get_or_init(|| raw).clone())
    }

    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        match &self.media_type {
            Some(mt) => Ok(mt.clone()),
            None => self.base.media_type().await,
        }
    }

    async fn image(&self, digest: Digest) -> ocireg_v1::Result<Arc<dyn Image>> {
        self.base.image(digest).await
    }

    async fn image_index(&self, digest: Digest) -> ocireg_v1::Result<Arc<dyn ImageIndex>> {
        self.base.image_index(digest).await
    }

    async fn layer(&self, digest: Digest) -> ocireg_v1::Result<Option<Arc<dyn Layer>>> {
        self.base.layer(digest).await
    }
}

/// `idx` with `annotations` merged into its manifest's (ggcr
/// `mutate.Annotations` on an index); existing keys are overwritten.
pub fn index_annotations(
    idx: Arc<dyn ImageIndex>,
    annotations: BTreeMap<String, String>,
) -> Arc<dyn ImageIndex> {
    let mut m = MutatedIndex::over(idx);
    m.annotations = Some(annotations);
    Arc::new(m)
}

/// `idx` with its manifest's media type set (ggcr `mutate.IndexMediaType`).
pub fn index_media_type(idx: Arc<dyn ImageIndex>, media_type: MediaType) -> Arc<dyn ImageIndex> {
    let mut m = MutatedIndex::over(idx);
    m.media_type = Some(media_type);
    Arc::new(m)
}
