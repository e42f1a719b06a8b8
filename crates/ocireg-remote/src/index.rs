//! [`RemoteIndex`]: an index in a registry as a lazy [`ImageIndex`], and [`index`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use ocireg_name::Reference;
use ocireg_v1::{
    Descriptor, Digest, Document, Image, ImageIndex, IndexManifest, Layer, MediaType, Platform,
    async_trait,
};

use crate::error::{Error, Result};
use crate::fetch::{FetchedManifest, Fetcher};
use crate::image::{RemoteImage, into_index, not_an_image};
use crate::layer::RemoteLayer;
use crate::options::Options;
use crate::protocol::{INDEXES, MAX_INDEX_DEPTH};

/// The most manifest bytes an index keeps of the children it fetched (32 MiB); children
/// past it are fetched again when asked for again.
pub const CHILD_CACHE_BYTES: u64 = 32 * 1024 * 1024;

/// An index (or manifest list) in a registry, read lazily: children are fetched by digest
/// (and verified) when asked for, each digest once: an index that lists one child a
/// thousand times costs one `GET` (up to [`CHILD_CACHE_BYTES`] of children are kept).
#[derive(Clone)]
pub struct RemoteIndex {
    fetcher: Arc<Fetcher>,
    reference: Reference,
    manifest: Arc<Document<IndexManifest>>,
    descriptor: Descriptor,
    depth: usize,
    children: Arc<ChildCache>,
}

/// Children fetched once per digest, shared by the clones of one index.
#[derive(Default)]
struct ChildCache {
    cells: Mutex<HashMap<Digest, Arc<tokio::sync::OnceCell<FetchedManifest>>>>,
    bytes: Mutex<u64>,
}

impl fmt::Debug for RemoteIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteIndex")
            .field("reference", &self.reference)
            .field("digest", &self.descriptor.digest)
            .finish_non_exhaustive()
    }
}

impl RemoteIndex {
    pub(crate) fn new(
        fetcher: Arc<Fetcher>,
        reference: Reference,
        manifest: Document<IndexManifest>,
        descriptor: Descriptor,
        depth: usize,
    ) -> Self {
        Self {
            fetcher,
            reference,
            manifest: Arc::new(manifest),
            descriptor,
            depth,
            children: Arc::default(),
        }
    }

    /// The reference the index was read from.
    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    /// The parsed index, without copying the bytes.
    pub fn manifest_document(&self) -> &Document<IndexManifest> {
        &self.manifest
    }

    /// The child image for `platform` (ggcr's platform matching; nested indexes followed).
    pub async fn image_for_platform(&self, platform: &Platform) -> Result<Arc<dyn Image>> {
        let fetcher = self.fetcher.with_platform(platform.clone());
        let fetched = FetchedManifest {
            bytes: self.manifest.bytes().clone(),
            descriptor: self.descriptor.clone(),
            parsed: Some(ocireg_v1::AnyManifest::Index(Box::new(
                (*self.manifest).clone(),
            ))),
        };
        Ok(Arc::new(
            crate::image::resolve_image(Arc::new(fetcher), self.reference.clone(), fetched).await?,
        ))
    }

    fn child(&self, digest: Digest) -> ocireg_v1::Result<&Descriptor> {
        self.manifest
            .manifests
            .iter()
            .find(|d| d.digest == digest)
            .ok_or_else(|| ocireg_v1::Error::NotFound {
                what: format!("child {digest} of index {}", self.reference),
            })
    }

    /// The child manifest, fetched once per digest while the cache has room.
    async fn fetch_child(&self, child: &Descriptor) -> Result<FetchedManifest> {
        let cell = {
            let mut cells = self
                .children
                .cells
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let room = *self
                .children
                .bytes
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                < CHILD_CACHE_BYTES;
            match cells.get(&child.digest) {
                Some(c) => Some(Arc::clone(c)),
                None if room => Some(Arc::clone(cells.entry(child.digest).or_default())),
                None => None,
            }
        };
        let Some(cell) = cell else {
            return self.fetch_child_uncached(child).await;
        };
        let fetched = cell
            .get_or_try_init(|| async {
                let fetched = self.fetch_child_uncached(child).await?;
                *self
                    .children
                    .bytes
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) += fetched.bytes.len() as u64;
                Ok::<_, Error>(fetched)
            })
            .await?;
        // The same digest may stand in the index under another descriptor.
        let mut fetched = fetched.clone();
        let mut kept = child.clone();
        kept.media_type = fetched.descriptor.media_type.clone();
        fetched.descriptor = kept;
        Ok(fetched)
    }

    async fn fetch_child_uncached(&self, child: &Descriptor) -> Result<FetchedManifest> {
        let reference = Reference::Digest(self.fetcher.repository.digest(child.digest));
        let mut fetched = self
            .fetcher
            .manifest(&reference, std::slice::from_ref(&child.media_type))
            .await?;
        let mut kept = child.clone();
        kept.media_type = fetched.descriptor.media_type.clone();
        fetched.descriptor = kept;
        Ok(fetched)
    }
}

#[async_trait]
impl ImageIndex for RemoteIndex {
    async fn raw_manifest(&self) -> ocireg_v1::Result<Bytes> {
        Ok(self.manifest.bytes().clone())
    }

    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        Ok(self.descriptor.media_type.clone())
    }

    async fn image(&self, digest: Digest) -> ocireg_v1::Result<Arc<dyn Image>> {
        let child = self.child(digest)?;
        let fetched = self.fetch_child(child).await?;
        let reference = Reference::Digest(self.fetcher.repository.digest(digest));
        match fetched.parsed {
            Some(ocireg_v1::AnyManifest::Image(doc)) => Ok(Arc::new(RemoteImage::new(
                Arc::clone(&self.fetcher),
                reference,
                *doc,
                fetched.descriptor,
            ))),
            _ => Err(not_an_image(reference, &fetched.descriptor.media_type).into()),
        }
    }

    async fn image_index(&self, digest: Digest) -> ocireg_v1::Result<Arc<dyn ImageIndex>> {
        if self.depth >= MAX_INDEX_DEPTH {
            return Err(Error::TooDeep {
                reference: (&self.reference).into(),
                limit: MAX_INDEX_DEPTH,
            }
            .into());
        }
        let child = self.child(digest)?;
        let fetched = self.fetch_child(child).await?;
        let reference = Reference::Digest(self.fetcher.repository.digest(digest));
        Ok(Arc::new(into_index(
            Arc::clone(&self.fetcher),
            reference,
            fetched,
            self.depth + 1,
        )?))
    }

    async fn digest(&self) -> ocireg_v1::Result<Digest> {
        Ok(self.descriptor.digest)
    }

    async fn size(&self) -> ocireg_v1::Result<u64> {
        Ok(self.manifest.size())
    }

    async fn index_manifest(&self) -> ocireg_v1::Result<IndexManifest> {
        Ok(self.manifest.value().clone())
    }

    async fn descriptor(&self) -> ocireg_v1::Result<Option<Descriptor>> {
        Ok(Some(self.descriptor.clone()))
    }

    /// Children that are neither images nor indexes are served as remote blobs (ggcr's
    /// workaround for #819), so copies carry them along.
    async fn layer(&self, digest: Digest) -> ocireg_v1::Result<Option<Arc<dyn Layer>>> {
        let Some(child) = self.manifest.manifests.iter().find(|d| d.digest == digest) else {
            return Ok(None);
        };
        if child.media_type.is_image() || child.media_type.is_index() {
            return Ok(None);
        }
        Ok(Some(Arc::new(RemoteLayer::from_descriptor(
            Arc::clone(&self.fetcher),
            child.clone(),
            None,
        ))))
    }
}

/// The platforms of index children, as shown in "no matching platform" errors (a child
/// without a platform counts as `linux/amd64`, as in ggcr).
/// Platforms that show the same are listed once.
pub(crate) fn platforms_of(children: &[Descriptor]) -> Vec<Platform> {
    let mut out: Vec<Platform> = Vec::new();
    let mut shown: Vec<String> = Vec::new();
    for d in children {
        let p = d.platform.clone().unwrap_or_else(Platform::linux_amd64);
        let text = p.to_string();
        if !shown.contains(&text) {
            shown.push(text);
            out.push(p);
        }
    }
    out
}

/// Reads the index at `reference` (ggcr's `remote.Index`), asking only for index types.
pub async fn index(reference: &Reference, options: &Options) -> Result<Arc<dyn ImageIndex>> {
    let fetcher = Arc::new(Fetcher::new(reference.repository(), options).await?);
    let fetched = fetcher.manifest(reference, INDEXES).await?;
    Ok(Arc::new(into_index(
        fetcher,
        reference.clone(),
        fetched,
        0,
    )?))
}
