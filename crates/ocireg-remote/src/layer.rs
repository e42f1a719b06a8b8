//! [`RemoteLayer`]: a blob in a registry as a lazy [`Layer`] (ggcr's `remoteLayer`,
//! `remoteImageLayer` and `MountableLayer` in one).

use std::fmt;
use std::sync::Arc;

use futures_util::StreamExt as _;
use ocireg_name::{DigestReference, Repository};
use ocireg_v1::{Blob, Descriptor, Digest, Hasher, Layer, MediaType, async_trait, decompress};
use tokio::sync::OnceCell;
use tracing::{debug, warn};

use crate::error::{Error, Result};
use crate::fetch::Fetcher;
use crate::image::ImageCore;
use crate::options::Options;
use crate::protocol;

/// A layer (or any blob) in a registry, read lazily.
///
/// Every read goes through the verifying, resumable download (see the
/// [crate docs](crate#reading)): the digest and size are checked at the end of the stream,
/// a lost connection resumes with `Range`, and at most `jobs` downloads run at once.
/// Its [`mount_source`](Layer::mount_source) is its repository, so pushing it to another
/// repository of the same registry mounts it instead of uploading it.
///
/// Foreign (non-distributable) layers are read from the registry first and then from
/// their `urls` (https only, or http when the registry itself is plain http; no private
/// or loopback addresses unless the registry is one; never with credentials). Embedded
/// `data` is used after verification.
pub struct RemoteLayer {
    fetcher: Arc<Fetcher>,
    descriptor: Descriptor,
    size_known: bool,
    image: Option<Arc<ImageCore>>,
    diff_id: OnceCell<Digest>,
    size: OnceCell<u64>,
}

impl fmt::Debug for RemoteLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteLayer")
            .field("repository", &self.fetcher.repository)
            .field("digest", &self.descriptor.digest)
            .field("media_type", &self.descriptor.media_type)
            .finish_non_exhaustive()
    }
}

impl RemoteLayer {
    /// A layer described by a manifest (`image` gives the config for its diff id).
    pub(crate) fn from_descriptor(
        fetcher: Arc<Fetcher>,
        descriptor: Descriptor,
        image: Option<Arc<ImageCore>>,
    ) -> Self {
        Self {
            fetcher,
            descriptor,
            size_known: true,
            image,
            diff_id: OnceCell::new(),
            size: OnceCell::new(),
        }
    }

    /// The repository the blob is read from.
    pub fn repository(&self) -> &Repository {
        &self.fetcher.repository
    }

    /// The blob's reference (`repo@digest`).
    pub fn reference(&self) -> DigestReference {
        self.fetcher.repository.digest(self.descriptor.digest)
    }

    fn known_size(&self) -> Option<u64> {
        if self.size_known {
            return Some(self.descriptor.size);
        }
        self.size.get().copied()
    }

    async fn open(&self) -> Result<Blob> {
        let desc = &self.descriptor;
        if let Some(data) = desc
            .verified_data()
            .map_err(|e| Error::content("reading embedded data of", self.reference(), e))?
        {
            return Ok(Blob::from_bytes(data.clone()));
        }
        let size = self.known_size();
        let from_registry = self.fetcher.blob(desc.digest, size, None).await;
        let err = match from_registry {
            Ok(blob) => return Ok(blob),
            Err(e) if desc.urls.is_empty() => return Err(e),
            Err(e) => e,
        };
        debug!(blob = %self.reference(), error = %err, "not in the registry; trying the layer's urls");
        let base = protocol::url(
            &self.fetcher.transport,
            protocol::ROOT,
            &self.reference().into(),
        )?;
        let mut last = err;
        for url in &desc.urls {
            let uri = match self
                .fetcher
                .transport
                .resolve_url(&base, url, "foreign layer URL")
            {
                Ok(u) => u,
                Err(e) => {
                    warn!(blob = %self.reference(), error = %e, "skipping a foreign layer URL");
                    last = Error::transport("reading foreign layer", self.reference(), e);
                    continue;
                }
            };
            match self.fetcher.blob(desc.digest, size, Some(uri)).await {
                Ok(blob) => return Ok(blob),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

#[async_trait]
impl Layer for RemoteLayer {
    async fn digest(&self) -> ocireg_v1::Result<Digest> {
        Ok(self.descriptor.digest)
    }

    async fn diff_id(&self) -> ocireg_v1::Result<Digest> {
        if let Some(image) = &self.image
            && let Some(d) = image.diff_id_of(self.descriptor.digest).await?
        {
            return Ok(d);
        }
        let d = self
            .diff_id
            .get_or_try_init(|| async {
                let mut stream = self.uncompressed().await?;
                let mut hasher = Hasher::sha256();
                while let Some(chunk) = stream.next().await {
                    hasher.update(&chunk.map_err(ocireg_v1::Error::from_io)?);
                }
                Ok::<_, ocireg_v1::Error>(hasher.finish())
            })
            .await?;
        Ok(*d)
    }

    async fn size(&self) -> ocireg_v1::Result<u64> {
        if self.size_known {
            return Ok(self.descriptor.size);
        }
        let size = self
            .size
            .get_or_try_init(|| async {
                self.fetcher
                    .head_blob(&self.descriptor.digest)
                    .await?
                    .ok_or_else(|| {
                        ocireg_v1::Error::from(Error::protocol(
                            "checking blob",
                            self.reference(),
                            "the registry has no such blob",
                        ))
                    })
            })
            .await?;
        Ok(*size)
    }

    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        Ok(self.descriptor.media_type.clone())
    }

    async fn compressed(&self) -> ocireg_v1::Result<Blob> {
        Ok(self.open().await?)
    }

    async fn uncompressed(&self) -> ocireg_v1::Result<Blob> {
        let blob = self.open().await?;
        Ok(Blob::new(decompress(blob.into_stream()), None))
    }

    async fn descriptor(&self) -> ocireg_v1::Result<Option<Descriptor>> {
        if !self.size_known {
            let mut d = self.descriptor.clone();
            d.size = self.size().await?;
            return Ok(Some(d));
        }
        Ok(Some(self.descriptor.clone()))
    }

    async fn exists(&self) -> ocireg_v1::Result<bool> {
        Ok(self
            .fetcher
            .head_blob(&self.descriptor.digest)
            .await?
            .is_some())
    }

    fn mount_source(&self) -> Option<Repository> {
        Some(self.fetcher.repository.clone())
    }
}

/// A blob of a registry as a [`Layer`] (ggcr's `remote.Layer`): its size comes from a
/// `HEAD` when asked, its media type is Docker's gzip layer type, as in ggcr.
pub async fn layer(reference: &DigestReference, options: &Options) -> Result<Arc<dyn Layer>> {
    let fetcher = Arc::new(Fetcher::new(reference.repository(), options).await?);
    let descriptor = Descriptor::new(MediaType::DockerLayer, 0, reference.digest());
    Ok(Arc::new(RemoteLayer {
        fetcher,
        descriptor,
        size_known: false,
        image: None,
        diff_id: OnceCell::new(),
        size: OnceCell::new(),
    }))
}
