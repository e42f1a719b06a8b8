//! The layer cache of `pull -c/--cache_path` (ggcr's `pkg/v1/cache` with
//! `NewFilesystemCache`): the compressed layers of pulled images are kept in a directory,
//! one file per layer named by its digest (`sha256:<hex>`, ggcr's naming), and later pulls
//! read them from there instead of from the registry.
//!
//! Beyond ggcr: a cached file is used only when it is a regular file (not a symlink: checked
//! with `lstat` before it is opened) of
//! the layer's size whose bytes hash to its digest (anything else is a miss, and the file
//! is replaced), and the stream read from it is verified again as it is read. A layer
//! fetched on a miss is written into a temporary file beside its final name while it
//! streams, and only once the whole layer has arrived and verified is that file fsynced
//! and renamed into place (and the directory fsynced): an interrupted pull never leaves a
//! partial file under a layer's name. A failure of the cache itself (a full disk, a
//! read-only directory) is logged and the pull goes on without it.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures_util::StreamExt as _;
use ocireg_v1::bytes::{Bytes, BytesMut};
use ocireg_v1::{Blob, Descriptor, Digest, Image, ImageIndex, Layer, MediaType};
use tokio::io::AsyncReadExt as _;

/// Bytes read from a cached file at once.
const CHUNK: usize = 64 * 1024;

/// A directory of cached compressed layers.
#[derive(Debug)]
pub(crate) struct LayerCache {
    dir: PathBuf,
}

impl LayerCache {
    /// The cache in `dir`, created when missing.
    pub(crate) fn new(dir: &Path) -> crate::Result<Arc<Self>> {
        fs_err::create_dir_all(dir).map_err(|source| crate::Error::File {
            action: "creating the layer cache directory",
            path: dir.to_owned(),
            source,
        })?;
        Ok(Arc::new(Self {
            dir: dir.to_owned(),
        }))
    }

    /// The file of `digest` (ggcr's name for it).
    pub(crate) fn path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(digest.to_string())
    }

    /// The cached layer `digest` of `size` bytes, when a good copy is there: a regular file
    /// of that size that hashes to `digest`, streamed verified. A wrong file is removed.
    async fn get(&self, digest: Digest, size: u64) -> Option<Blob> {
        let path = self.path(&digest);
        let meta = fs_err::tokio::symlink_metadata(&path).await.ok()?;
        let good = meta.is_file()
            && meta.len() == size
            && match read_file(&path, size).await {
                Ok(blob) => blob.verified(digest, Some(size)).drain().await.is_ok(),
                Err(_) => false,
            };
        if !good {
            tracing::debug!(path = %path.display(), "layer cache: not using a wrong file");
            let _ = fs_err::tokio::remove_file(&path).await;
            return None;
        }
        let blob = read_file(&path, size).await.ok()?;
        Some(blob.verified(digest, Some(size)))
    }

    /// `blob` (the layer `digest` of `size` bytes, from its source), written into the
    /// cache as it streams: verified, and moved under its name only at its clean end.
    fn tee(self: &Arc<Self>, digest: Digest, size: u64, blob: Blob) -> Blob {
        let blob = if blob.verified_digest() == Some(digest) {
            blob
        } else {
            blob.verified(digest, Some(size))
        };
        let path = self.path(&digest);
        let mut temp = match tempfile::Builder::new()
            .prefix(&format!(".{digest}."))
            .suffix(".tmp")
            .tempfile_in(&self.dir)
        {
            Ok(t) => Some(t),
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "layer cache: not caching");
                None
            }
        };
        blob.inspect(move |item| {
            let Some(file) = temp.as_mut() else {
                return;
            };
            let written = match item {
                Some(Ok(chunk)) => blocking_io(|| file.write_all(chunk)),
                // The source failed: drop (and so remove) the temporary file.
                Some(Err(_)) => {
                    temp = None;
                    return;
                }
                None => match temp.take() {
                    Some(t) => blocking_io(|| persist(t, &path)),
                    None => Ok(()),
                },
            };
            if let Err(error) = written {
                tracing::warn!(path = %path.display(), %error, "layer cache: not caching");
                temp = None;
            }
        })
    }
}

/// Runs blocking file IO (a write that may wait for writeback, an fsync) without stalling
/// the runtime's other tasks: on a multi-thread runtime the worker hands its tasks over
/// first (`block_in_place`); elsewhere (a current-thread runtime, none) it runs inline.
fn blocking_io<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Syncs the verified temporary file and renames it to `path`, then syncs the directory.
fn persist(temp: tempfile::NamedTempFile, path: &Path) -> std::io::Result<()> {
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    if let Some(dir) = path.parent() {
        fs_err::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// A stream of the file at `path` (checked to be a regular file by the caller), of `size`
/// bytes.
async fn read_file(path: &Path, size: u64) -> std::io::Result<Blob> {
    let file = fs_err::tokio::File::open(path).await?;
    let stream = futures_util::stream::unfold(Some(file), |state| async move {
        let mut file = state?;
        let mut buf = BytesMut::with_capacity(CHUNK);
        match file.read_buf(&mut buf).await {
            Ok(0) => None,
            Ok(_) => Some((Ok(buf.freeze()), Some(file))),
            Err(e) => Some((Err(e), None)),
        }
    });
    Ok(Blob::new(
        stream.map(|r: std::io::Result<Bytes>| r),
        Some(size),
    ))
}

/// An image whose layers go through the cache.
#[derive(Debug)]
pub(crate) struct CachedImage {
    inner: Arc<dyn Image>,
    cache: Arc<LayerCache>,
}

impl CachedImage {
    /// `inner` with its layers read through `cache`.
    pub(crate) fn wrap(inner: Arc<dyn Image>, cache: &Arc<LayerCache>) -> Arc<dyn Image> {
        Arc::new(Self {
            inner,
            cache: Arc::clone(cache),
        })
    }
}

#[ocireg_v1::async_trait]
impl Image for CachedImage {
    async fn raw_manifest(&self) -> ocireg_v1::Result<Bytes> {
        self.inner.raw_manifest().await
    }

    async fn raw_config_file(&self) -> ocireg_v1::Result<Bytes> {
        self.inner.raw_config_file().await
    }

    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        self.inner.media_type().await
    }

    async fn layer_by_digest(&self, digest: Digest) -> ocireg_v1::Result<Arc<dyn Layer>> {
        let inner = self.inner.layer_by_digest(digest).await?;
        Ok(Arc::new(CachedLayer {
            inner,
            cache: Arc::clone(&self.cache),
        }))
    }

    async fn descriptor(&self) -> ocireg_v1::Result<Option<Descriptor>> {
        self.inner.descriptor().await
    }
}

/// An index whose images' layers go through the cache.
#[derive(Debug)]
pub(crate) struct CachedIndex {
    inner: Arc<dyn ImageIndex>,
    cache: Arc<LayerCache>,
}

impl CachedIndex {
    /// `inner` with the layers of its images read through `cache`.
    pub(crate) fn wrap(inner: Arc<dyn ImageIndex>, cache: &Arc<LayerCache>) -> Arc<dyn ImageIndex> {
        Arc::new(Self {
            inner,
            cache: Arc::clone(cache),
        })
    }
}

#[ocireg_v1::async_trait]
impl ImageIndex for CachedIndex {
    async fn raw_manifest(&self) -> ocireg_v1::Result<Bytes> {
        self.inner.raw_manifest().await
    }

    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        self.inner.media_type().await
    }

    async fn image(&self, digest: Digest) -> ocireg_v1::Result<Arc<dyn Image>> {
        let img = self.inner.image(digest).await?;
        Ok(CachedImage::wrap(img, &self.cache))
    }

    async fn image_index(&self, digest: Digest) -> ocireg_v1::Result<Arc<dyn ImageIndex>> {
        let idx = self.inner.image_index(digest).await?;
        Ok(Self::wrap(idx, &self.cache))
    }

    async fn descriptor(&self) -> ocireg_v1::Result<Option<Descriptor>> {
        self.inner.descriptor().await
    }

    async fn layer(&self, digest: Digest) -> ocireg_v1::Result<Option<Arc<dyn Layer>>> {
        self.inner.layer(digest).await
    }
}

/// A layer read from the cache when it holds a good copy, else from its source and
/// written into the cache as it streams.
#[derive(Debug)]
struct CachedLayer {
    inner: Arc<dyn Layer>,
    cache: Arc<LayerCache>,
}

#[ocireg_v1::async_trait]
impl Layer for CachedLayer {
    async fn digest(&self) -> ocireg_v1::Result<Digest> {
        self.inner.digest().await
    }

    async fn diff_id(&self) -> ocireg_v1::Result<Digest> {
        self.inner.diff_id().await
    }

    async fn size(&self) -> ocireg_v1::Result<u64> {
        self.inner.size().await
    }

    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        self.inner.media_type().await
    }

    async fn compressed(&self) -> ocireg_v1::Result<Blob> {
        let (digest, size) = (self.inner.digest().await?, self.inner.size().await?);
        if let Some(hit) = self.cache.get(digest, size).await {
            tracing::debug!(%digest, "layer cache: hit");
            return Ok(hit);
        }
        let blob = self.inner.compressed().await?;
        Ok(self.cache.tee(digest, size, blob))
    }

    async fn uncompressed(&self) -> ocireg_v1::Result<Blob> {
        let compressed = self.compressed().await?.into_stream();
        let out = ocireg_v1::decompress(compressed);
        Ok(Blob::new(out, None))
    }

    async fn descriptor(&self) -> ocireg_v1::Result<Option<Descriptor>> {
        self.inner.descriptor().await
    }

    async fn uncompressed_size(&self) -> ocireg_v1::Result<Option<u64>> {
        self.inner.uncompressed_size().await
    }

    async fn exists(&self) -> ocireg_v1::Result<bool> {
        self.inner.exists().await
    }

    fn mount_source(&self) -> Option<ocireg_name::Repository> {
        self.inner.mount_source()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_are_written_whole_and_checked_on_reuse() {
        let dir = tempfile::tempdir().expect("tmp");
        let cache = LayerCache::new(&dir.path().join("c")).expect("cache");
        let bytes = vec![7u8; 200_000];
        let digest = ocireg_v1::sha256(&bytes);
        let size = bytes.len() as u64;
        let names = || -> Vec<String> {
            fs_err::read_dir(dir.path().join("c"))
                .expect("ls")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        };

        // A source that lies: nothing enters the cache, no temporary file stays.
        let mut lie = bytes.clone();
        lie[5] = 8;
        let tee = cache.tee(digest, size, Blob::from_bytes(lie));
        assert!(tee.drain().await.is_err());
        assert!(names().is_empty(), "{:?}", names());
        // A reader that stops early: nothing either.
        let mut tee = cache
            .tee(digest, size, Blob::from_bytes(bytes.clone()))
            .into_stream();
        drop(tee.next().await);
        drop(tee);
        assert!(names().is_empty(), "{:?}", names());
        assert!(cache.get(digest, size).await.is_none());

        // Read to its verified end: the entry appears, under its digest, and is used.
        let tee = cache.tee(digest, size, Blob::from_bytes(bytes.clone()));
        assert_eq!(tee.drain().await.expect("drain"), size);
        assert_eq!(names(), [digest.to_string()]);
        let hit = cache.get(digest, size).await.expect("hit");
        assert_eq!(hit.read_to_end(size).await.expect("read"), bytes);

        // A short file is a miss, and goes.
        let path = cache.path(&digest);
        fs_err::write(&path, &bytes[..100]).expect("truncate");
        assert!(cache.get(digest, size).await.is_none());
        assert!(!path.exists());
    }
}
