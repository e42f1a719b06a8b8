//! Mutated indexes (ggcr `mutate.AppendManifests`, `RemoveManifests`,
//! `Annotations` on an index, `IndexMediaType`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use ocireg_v1::{
    Descriptor, Digest, Image, ImageExt as _, ImageIndex, ImageIndexExt as _, Layer, LayerExt as _,
    Matcher, MediaType, Platform, async_trait,
};

/// What can be added to an index (ggcr `mutate.Appendable`).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Appendable {
    /// An image.
    Image(Arc<dyn Image>),
    /// An index.
    Index(Arc<dyn ImageIndex>),
    /// A plain blob.
    Layer(Arc<dyn Layer>),
}

/// A manifest to add to an index, with the descriptor fields that override
/// the computed ones (ggcr `mutate.IndexAddendum`: its non-zero fields win).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct IndexAddendum {
    /// What to add.
    pub add: Appendable,
    /// Overrides the size.
    pub size: Option<u64>,
    /// Overrides the media type.
    pub media_type: Option<MediaType>,
    /// Overrides the digest.
    pub digest: Option<Digest>,
    /// Sets the platform.
    pub platform: Option<Platform>,
    /// Sets the URLs (when not empty).
    pub urls: Vec<String>,
    /// Sets the annotations (when not empty).
    pub annotations: BTreeMap<String, String>,
    /// Sets the embedded data.
    pub data: Option<Bytes>,
    /// Sets the artifact type.
    pub artifact_type: Option<MediaType>,
}

impl IndexAddendum {
    /// `add` with nothing overridden.
    pub fn new(add: Appendable) -> Self {
        Self {
            add,
            size: None,
            media_type: None,
            digest: None,
            platform: None,
            urls: Vec::new(),
            annotations: BTreeMap::new(),
            data: None,
            artifact_type: None,
        }
    }

    /// Overrides every field `desc` sets, as ggcr does with the addendum's
    /// embedded descriptor (a zero size or an empty list overrides nothing).
    #[must_use]
    pub fn with_descriptor(mut self, desc: &Descriptor) -> Self {
        self.size = (desc.size != 0).then_some(desc.size);
        self.media_type = Some(desc.media_type.clone());
        self.digest = Some(desc.digest);
        self.platform.clone_from(&desc.platform);
        self.urls.clone_from(&desc.urls);
        self.annotations.clone_from(&desc.annotations);
        self.data.clone_from(&desc.data);
        self
    }

    /// The descriptor ggcr computes: the added thing's own (an image that has
    /// none gets its config media type as `artifactType`, as ggcr v0.21's
    /// `partial.Descriptor` gives it), then the overrides.
    async fn descriptor(&self) -> ocireg_v1::Result<Descriptor> {
        let mut desc = match &self.add {
            Appendable::Image(img) => {
                // An image found in an index has its descriptor from there.
                if let Some(d) = img.descriptor().await? {
                    d
                } else {
                    let mut d = img.to_descriptor().await?;
                    if d.artifact_type.is_none() {
                        let m = img.manifest().await?;
                        d.artifact_type = Some(m.artifact_type.unwrap_or(m.config.media_type));
                    }
                    d
                }
            }
            Appendable::Index(idx) => idx.to_descriptor().await?,
            Appendable::Layer(l) => l.to_descriptor().await?,
        };
        if let Some(size) = self.size {
            desc.size = size;
        }
        if let Some(mt) = &self.media_type {
            desc.media_type = mt.clone();
        }
        if let Some(d) = self.digest {
            desc.digest = d;
        }
        if let Some(p) = &self.platform {
            desc.platform = Some(p.clone());
        }
        if !self.urls.is_empty() {
            desc.urls.clone_from(&self.urls);
        }
        if !self.annotations.is_empty() {
            desc.annotations.clone_from(&self.annotations);
        }
        if let Some(data) = &self.data {
            desc.data = Some(data.clone());
        }
        if let Some(at) = &self.artifact_type {
            desc.artifact_type = Some(at.clone());
        }
        Ok(desc)
    }
}

#[derive(Debug)]
struct MutatedIndex {
    base: Arc<dyn ImageIndex>,
    adds: Vec<IndexAddendum>,
    remove: Option<Matcher>,
    annotations: Option<BTreeMap<String, String>>,
    media_type: Option<MediaType>,
    computed: OnceLock<Arc<Computed>>,
}

#[derive(Debug)]
struct Computed {
    raw: Bytes,
    added: HashMap<Digest, Appendable>,
}

impl MutatedIndex {
    fn over(base: Arc<dyn ImageIndex>) -> Self {
        Self {
            base,
            adds: Vec::new(),
            remove: None,
            annotations: None,
            media_type: None,
            computed: OnceLock::new(),
        }
    }

    async fn compute(&self) -> ocireg_v1::Result<Arc<Computed>> {
        if let Some(c) = self.computed.get() {
            return Ok(Arc::clone(c));
        }
        let mut manifest = self.base.index_manifest().await?;
        if let Some(remove) = &self.remove {
            manifest.manifests.retain(|d| !remove.matches(d));
        }
        let mut added = HashMap::new();
        for add in &self.adds {
            let desc = add.descriptor().await?;
            added.insert(desc.digest, add.add.clone());
            manifest.manifests.push(desc);
        }
        if let Some(mt) = &self.media_type {
            manifest.media_type = Some(mt.clone());
        }
        if let Some(annotations) = &self.annotations {
            for (k, v) in annotations {
                manifest.annotations.insert(k.clone(), v.clone());
            }
        }
        let computed = Arc::new(Computed {
            raw: Bytes::from(ocireg_v1::to_go_json(&manifest)?),
            added,
        });
        Ok(Arc::clone(self.computed.get_or_init(|| computed)))
    }
}

#[async_trait]
impl ImageIndex for MutatedIndex {
    async fn raw_manifest(&self) -> ocireg_v1::Result<Bytes> {
        Ok(self.compute().await?.raw.clone())
    }

    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        match &self.media_type {
            Some(mt) => Ok(mt.clone()),
            None => self.base.media_type().await,
        }
    }

    async fn image(&self, digest: Digest) -> ocireg_v1::Result<Arc<dyn Image>> {
        if let Some(Appendable::Image(img)) = self.compute().await?.added.get(&digest) {
            return Ok(Arc::clone(img));
        }
        self.base.image(digest).await
    }

    async fn image_index(&self, digest: Digest) -> ocireg_v1::Result<Arc<dyn ImageIndex>> {
        if let Some(Appendable::Index(idx)) = self.compute().await?.added.get(&digest) {
            return Ok(Arc::clone(idx));
        }
        self.base.image_index(digest).await
    }

    async fn layer(&self, digest: Digest) -> ocireg_v1::Result<Option<Arc<dyn Layer>>> {
        if let Some(Appendable::Layer(l)) = self.compute().await?.added.get(&digest) {
            return Ok(Some(Arc::clone(l)));
        }
        self.base.layer(digest).await
    }
}

/// `idx` with `adds` appended to its manifests (ggcr
/// `mutate.AppendManifests`); nothing is read until the result is asked for
/// something. The added images and indexes are served as its children.
pub fn append_manifests(idx: Arc<dyn ImageIndex>, adds: Vec<IndexAddendum>) -> Arc<dyn ImageIndex> {
    let mut m = MutatedIndex::over(idx);
    m.adds = adds;
    Arc::new(m)
}

/// `idx` without the manifests `matcher` matches (ggcr
/// `mutate.RemoveManifests`).
pub fn remove_manifests(idx: Arc<dyn ImageIndex>, matcher: Matcher) -> Arc<dyn ImageIndex> {
    let mut m = MutatedIndex::over(idx);
    m.remove = Some(matcher);
    Arc::new(m)
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
