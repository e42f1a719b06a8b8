//! Progress of reading a tarball's layers ([`Tarball::with_progress`](crate::Tarball::with_progress)):
//! an image view whose layer streams report [`ocireg_v1::progress`] events as they are read,
//! as the registry client reports its downloads.

use std::sync::Arc;

use bytes::Bytes;
use ocireg_v1::progress::{BlobOutcome, Direction, Progress, Reporter};
use ocireg_v1::{Blob, Descriptor, Digest, Image, Layer, MediaType, async_trait};

/// An image whose layers report their reads to a sink.
pub(crate) struct ReportingImage {
    inner: Arc<dyn Image>,
    sink: Arc<dyn Progress>,
}

impl std::fmt::Debug for ReportingImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportingImage")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl ReportingImage {
    pub(crate) fn wrap(inner: Arc<dyn Image>, sink: Arc<dyn Progress>) -> Arc<dyn Image> {
        Arc::new(Self { inner, sink })
    }
}

#[async_trait]
impl Image for ReportingImage {
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
        Ok(Arc::new(ReportingLayer {
            inner,
            sink: Arc::clone(&self.sink),
        }))
    }

    async fn descriptor(&self) -> ocireg_v1::Result<Option<Descriptor>> {
        self.inner.descriptor().await
    }
}

/// A layer whose streams report their reads: the compressed stream by the layer's digest,
/// the uncompressed one by its diff id.
struct ReportingLayer {
    inner: Arc<dyn Layer>,
    sink: Arc<dyn Progress>,
}

impl std::fmt::Debug for ReportingLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReportingLayer")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// `blob`, reporting `BlobStarted` now, the bytes as they pass, and `BlobDone`
/// (downloaded) at its clean end or `BlobFailed` on an error.
fn reported(blob: Blob, sink: &Arc<dyn Progress>, digest: Digest, total: Option<u64>) -> Blob {
    let reporter = Reporter::new(Some(Arc::clone(sink)), digest);
    reporter.started(total, Direction::Pull);
    let mut done = 0u64;
    blob.inspect(move |item| match item {
        Some(Ok(chunk)) => {
            done += chunk.len() as u64;
            reporter.bytes(done);
        }
        Some(Err(_)) => reporter.failed(),
        None => reporter.done(BlobOutcome::Downloaded),
    })
}

#[async_trait]
impl Layer for ReportingLayer {
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
        let blob = self.inner.compressed().await?;
        Ok(reported(blob, &self.sink, digest, Some(size)))
    }

    async fn uncompressed(&self) -> ocireg_v1::Result<Blob> {
        let diff_id = self.inner.diff_id().await?;
        let size = self.inner.uncompressed_size().await?;
        let blob = self.inner.uncompressed().await?;
        Ok(reported(blob, &self.sink, diff_id, size))
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
