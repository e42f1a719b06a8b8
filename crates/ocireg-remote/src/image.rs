//! [`RemoteImage`]: an image in a registry as a lazy [`Image`], and [`image`], which
//! resolves a reference (an index by platform) to one.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use ocireg_name::Reference;
use ocireg_v1::{
    AnyManifest, CONFIG_LIMIT, ConfigFile, Descriptor, Digest, Document, Image, Layer, Manifest,
    MediaType, async_trait,
};
use tokio::sync::OnceCell;

use crate::error::{Error, Result};
use crate::fetch::{FetchedManifest, Fetcher};
use crate::index::{self, RemoteIndex};
use crate::layer::RemoteLayer;
use crate::options::Options;
use crate::protocol::{ALL_MANIFESTS, MAX_INDEX_DEPTH};

/// The shared state of one remote image: its manifest (exact bytes, parsed), the config
/// once fetched, and the fetcher of its repository.
pub(crate) struct ImageCore {
    pub(crate) fetcher: Arc<Fetcher>,
    pub(crate) reference: Reference,
    pub(crate) manifest: Document<Manifest>,
    pub(crate) descriptor: Descriptor,
    config: OnceCell<Bytes>,
}

impl ImageCore {
    async fn raw_config(&self) -> Result<Bytes> {
        let config = &self.manifest.config;
        let bytes = self
            .config
            .get_or_try_init(|| async {
                if let Some(data) = config.verified_data().map_err(|e| {
                    Error::content("reading the embedded config of", &self.reference, e)
                })? {
                    return Ok::<_, Error>(data.clone());
                }
                self.fetcher
                    .small_blob(config.digest, config.size, CONFIG_LIMIT)
                    .await
            })
            .await?;
        Ok(bytes.clone())
    }

    /// The diff id of layer `digest` from the config, when the config has one for it.
    pub(crate) async fn diff_id_of(&self, digest: Digest) -> Result<Option<Digest>> {
        let Some(position) = self.manifest.layers.iter().position(|l| l.digest == digest) else {
            return Ok(None);
        };
        if !self.manifest.config.media_type.is_config() {
            return Ok(None);
        }
        let raw = self.raw_config().await?;
        let config = ConfigFile::parse(&raw)
            .map_err(|e| Error::content("parsing the config of", &self.reference, e))?;
        let diff_ids = config.rootfs.diff_ids.unwrap_or_default();
        if diff_ids.len() != self.manifest.layers.len() {
            return Err(Error::content(
                "mapping layers to diff ids in",
                &self.reference,
                ocireg_v1::Error::LayerCountMismatch {
                    layers: self.manifest.layers.len(),
                    diff_ids: diff_ids.len(),
                },
            ));
        }
        Ok(Some(diff_ids[position]))
    }
}

/// An image in a registry, read lazily: the manifest was fetched (and verified when
/// addressed by digest); the config is fetched once, on first use; layers are
/// [`RemoteLayer`]s streamed on demand.
#[derive(Clone)]
pub struct RemoteImage {
    core: Arc<ImageCore>,
}

impl fmt::Debug for RemoteImage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteImage")
            .field("reference", &self.core.reference)
            .field("digest", &self.core.descriptor.digest)
            .finish_non_exhaustive()
    }
}

impl RemoteImage {
    pub(crate) fn new(
        fetcher: Arc<Fetcher>,
        reference: Reference,
        manifest: Document<Manifest>,
        descriptor: Descriptor,
    ) -> Self {
        Self {
            core: Arc::new(ImageCore {
                fetcher,
                reference,
                manifest,
                descriptor,
                config: OnceCell::new(),
            }),
        }
    }

    /// The reference the image was read from (`repo@digest` for an index child).
    pub fn reference(&self) -> &Reference {
        &self.core.reference
    }

    /// The descriptor the image was found under: media type, size and digest, plus the
    /// platform and annotations of its index entry when it was picked from an index.
    pub fn remote_descriptor(&self) -> &Descriptor {
        &self.core.descriptor
    }

    /// The parsed manifest, without copying the bytes.
    pub fn manifest_document(&self) -> &Document<Manifest> {
        &self.core.manifest
    }

    fn layer_for(&self, descriptor: &Descriptor) -> Arc<dyn Layer> {
        Arc::new(RemoteLayer::from_descriptor(
            Arc::clone(&self.core.fetcher),
            descriptor.clone(),
            Some(Arc::clone(&self.core)),
        ))
    }
}

#[async_trait]
impl Image for RemoteImage {
    async fn raw_manifest(&self) -> ocireg_v1::Result<Bytes> {
        Ok(self.core.manifest.bytes().clone())
    }

    async fn raw_config_file(&self) -> ocireg_v1::Result<Bytes> {
        Ok(self.core.raw_config().await?)
    }

    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        Ok(self.core.descriptor.media_type.clone())
    }

    async fn layer_by_digest(&self, digest: Digest) -> ocireg_v1::Result<Arc<dyn Layer>> {
        let m = &self.core.manifest;
        if let Some(d) = m.layers.iter().find(|l| l.digest == digest) {
            return Ok(self.layer_for(d));
        }
        if m.config.digest == digest {
            return Ok(self.layer_for(&m.config));
        }
        Err(ocireg_v1::Error::NotFound {
            what: format!("blob {digest} in image {}", self.core.reference),
        })
    }

    async fn digest(&self) -> ocireg_v1::Result<Digest> {
        Ok(self.core.descriptor.digest)
    }

    async fn size(&self) -> ocireg_v1::Result<u64> {
        Ok(self.core.manifest.size())
    }

    async fn manifest(&self) -> ocireg_v1::Result<Manifest> {
        Ok(self.core.manifest.value().clone())
    }

    /// The config as a mountable remote blob (so a push to the same registry mounts it).
    async fn config_layer(&self) -> ocireg_v1::Result<Arc<dyn Layer>> {
        Ok(self.layer_for(&self.core.manifest.config))
    }

    async fn descriptor(&self) -> ocireg_v1::Result<Option<Descriptor>> {
        Ok(Some(self.core.descriptor.clone()))
    }
}

/// Reads the image at `reference` (ggcr's `remote.Image`).
///
/// When the reference names an index, the child for [`Options::platform`] is picked (the
/// host's platform unless one was set; nested indexes are followed), with an error listing
/// the available platforms when none matches. Schema 1 manifests are refused.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use ocireg_v1::Image;
/// let opts = ocireg_remote::Options::new()?;
/// let img = ocireg_remote::image(&"alpine:3.20".parse()?, &opts).await?;
/// println!("{} layers", img.manifest().await?.layers.len());
/// # Ok(()) }
/// ```
pub async fn image(reference: &Reference, options: &Options) -> Result<Arc<dyn Image>> {
    let fetcher = Arc::new(Fetcher::new(reference.repository(), options).await?);
    let fetched = fetcher.manifest(reference, ALL_MANIFESTS).await?;
    Ok(Arc::new(
        resolve_image(fetcher, reference.clone(), fetched).await?,
    ))
}

/// Turns a fetched manifest into an image: an image as is, an index by platform.
pub(crate) async fn resolve_image(
    fetcher: Arc<Fetcher>,
    reference: Reference,
    fetched: FetchedManifest,
) -> Result<RemoteImage> {
    let platform = fetcher.options.platform();
    let mut current = fetched;
    let mut current_ref = reference.clone();
    for _ in 0..=MAX_INDEX_DEPTH {
        match current.parsed {
            Some(AnyManifest::Image(doc)) => {
                return Ok(RemoteImage::new(
                    fetcher,
                    current_ref,
                    *doc,
                    current.descriptor,
                ));
            }
            Some(AnyManifest::Index(doc)) => {
                let child = doc.child_for_platform(&platform).cloned().ok_or_else(|| {
                    Error::NoMatchingPlatform {
                        reference: Box::new(current_ref.clone()),
                        platform: platform.clone(),
                        available: index::platforms_of(&doc.manifests),
                    }
                })?;
                let child_ref = Reference::Digest(fetcher.repository.digest(child.digest));
                let mut next = fetcher
                    .manifest(&child_ref, std::slice::from_ref(&child.media_type))
                    .await?;
                // Keep what the index says about the child (platform, annotations).
                let media_type = next.descriptor.media_type.clone();
                let mut kept = child;
                kept.media_type = media_type;
                next.descriptor = kept;
                current = next;
                current_ref = child_ref;
            }
            None => return Err(not_an_image(current_ref, &current.descriptor.media_type)),
        }
    }
    Err(Error::TooDeep {
        reference: reference.into(),
        limit: MAX_INDEX_DEPTH,
    })
}

pub(crate) fn not_an_image(reference: Reference, media_type: &MediaType) -> Error {
    if media_type.is_schema1() {
        Error::Schema1 {
            reference: Box::new(reference),
            media_type: media_type.clone(),
        }
    } else {
        Error::UnexpectedMediaType {
            reference: Box::new(reference),
            media_type: media_type.clone(),
            expected: "an image manifest or index",
        }
    }
}

/// Builds a remote index from a fetched manifest (shared with [`crate::index`]).
pub(crate) fn into_index(
    fetcher: Arc<Fetcher>,
    reference: Reference,
    fetched: FetchedManifest,
    depth: usize,
) -> Result<RemoteIndex> {
    match fetched.parsed {
        Some(AnyManifest::Index(doc)) => Ok(RemoteIndex::new(
            fetcher,
            reference,
            *doc,
            fetched.descriptor,
            depth,
        )),
        _ if fetched.descriptor.media_type.is_schema1() => Err(Error::Schema1 {
            reference: Box::new(reference),
            media_type: fetched.descriptor.media_type,
        }),
        _ => Err(Error::UnexpectedMediaType {
            reference: Box::new(reference),
            media_type: fetched.descriptor.media_type,
            expected: "an image index",
        }),
    }
}
