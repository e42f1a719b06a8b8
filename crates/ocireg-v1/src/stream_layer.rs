//! [`StreamLayer`]: a one-shot layer compressed on the fly (ggcr's `pkg/v1/stream`).

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_core::Stream;

use crate::{
    Blob, BoxByteStream, Digest, Error, GzipEncoder, GzipLevel, Hasher, MediaType, Result, gzip,
};

/// A layer read once from an uncompressed stream (a tar being produced, a
/// file being read), gzipped on the fly.
///
/// Its digest, diff id and size are known only after its compressed stream
/// has been read to the end: until then they fail with
/// [`Error::NotComputed`]. The compressed stream can be taken once; a second
/// [`StreamLayer::compressed`] fails with [`Error::Consumed`]. The uncompressed
/// form is not available ([`Error::Unsupported`]), as in ggcr.
///
/// Unlike ggcr, which records whatever it had hashed when the reader is
/// closed, the values are recorded only when the stream ends cleanly: a
/// stream dropped early or failed leaves them uncomputed.
///
/// ```
/// use ocireg_v1::{sha256, Blob, Error, StreamLayer};
///
/// # futures_executor::block_on(async {
/// let layer = StreamLayer::new(Blob::from_bytes("tar bytes"));
/// assert!(matches!(layer.digest(), Err(Error::NotComputed { .. })));
///
/// let gz = layer.compressed()?.read_to_end(1 << 20).await?;
/// assert_eq!(layer.digest()?, sha256(&gz));
/// assert_eq!(layer.diff_id()?, sha256(b"tar bytes"));
/// assert_eq!(layer.size()?, gz.len() as u64);
/// assert!(matches!(layer.compressed(), Err(Error::Consumed)));
/// # Ok::<(), Error>(())
/// # }).unwrap();
/// ```
pub struct StreamLayer {
    shared: Arc<Mutex<Shared>>,
    media_type: MediaType,
    level: GzipLevel,
}

struct Shared {
    /// The uncompressed input, until [`StreamLayer::compressed`] takes it.
    source: Option<BoxByteStream>,
    computed: Option<Computed>,
}

#[derive(Debug, Clone, Copy)]
struct Computed {
    digest: Digest,
    diff_id: Digest,
    size: u64,
}

impl StreamLayer {
    /// A layer whose uncompressed content is `stream`, with ggcr's defaults:
    /// media type [`MediaType::DockerLayer`] and gzip level
    /// [`GzipLevel::BEST_SPEED`].
    pub fn new(stream: impl Stream<Item = io::Result<Bytes>> + Send + 'static) -> Self {
        Self {
            shared: Arc::new(Mutex::new(Shared {
                source: Some(Box::pin(stream)),
                computed: None,
            })),
            media_type: MediaType::DockerLayer,
            level: GzipLevel::BEST_SPEED,
        }
    }

    /// Sets the media type (ggcr's `WithMediaType`), e.g. [`MediaType::OciLayer`].
    #[must_use]
    pub fn with_media_type(mut self, media_type: MediaType) -> Self {
        self.media_type = media_type;
        self
    }

    /// Sets the gzip level (ggcr's `WithCompressionLevel`).
    #[must_use]
    pub fn with_compression_level(mut self, level: GzipLevel) -> Self {
        self.level = level;
        self
    }

    /// The media type.
    pub fn media_type(&self) -> &MediaType {
        &self.media_type
    }

    /// The gzip level the compressed stream uses.
    pub fn compression_level(&self) -> GzipLevel {
        self.level
    }

    /// The compressed stream; once it has been read to the end, the digest,
    /// diff id and size are known.
    ///
    /// Fails with [`Error::Consumed`] when called a second time.
    pub fn compressed(&self) -> Result<Blob> {
        let source = self.lock().source.take().ok_or(Error::Consumed)?;
        let stream = Compressing {
            encoder: gzip(
                HashTap {
                    inner: source,
                    hasher: Hasher::sha256(),
                },
                self.level,
            ),
            hasher: Hasher::sha256(),
            shared: Arc::clone(&self.shared),
            done: false,
        };
        Ok(Blob::new(stream, None))
    }

    /// Not supported: the layer's input is read only once, for the compressed stream.
    pub fn uncompressed(&self) -> Result<Blob> {
        Err(Error::Unsupported {
            operation: "uncompressed stream of a streaming layer",
        })
    }

    /// The SHA-256 of the compressed stream, once it has been read to the end.
    pub fn digest(&self) -> Result<Digest> {
        self.computed("digest").map(|c| c.digest)
    }

    /// The SHA-256 of the uncompressed input, once the compressed stream has been read to the end.
    pub fn diff_id(&self) -> Result<Digest> {
        self.computed("diff id").map(|c| c.diff_id)
    }

    /// The size of the compressed stream, once it has been read to the end.
    pub fn size(&self) -> Result<u64> {
        self.computed("size").map(|c| c.size)
    }

    /// Whether the compressed stream has been taken.
    pub fn is_consumed(&self) -> bool {
        self.lock().source.is_none()
    }

    fn computed(&self, value: &'static str) -> Result<Computed> {
        self.lock().computed.ok_or(Error::NotComputed { value })
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        // The state is a couple of options: still consistent after a panic elsewhere.
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for StreamLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shared = self.lock();
        f.debug_struct("StreamLayer")
            .field("media_type", &self.media_type)
            .field("level", &self.level)
            .field("consumed", &shared.source.is_none())
            .field("computed", &shared.computed)
            .finish_non_exhaustive()
    }
}

/// Hashes the uncompressed input on its way into the compressor.
struct HashTap {
    inner: BoxByteStream,
    hasher: Hasher,
}

impl Stream for HashTap {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = ready!(self.inner.as_mut().poll_next(cx));
        if let Some(Ok(chunk)) = &item {
            self.hasher.update(chunk);
        }
        Poll::Ready(item)
    }
}

/// The compressed stream: hashes and counts the output, and records the
/// values in the layer at a clean end.
struct Compressing {
    encoder: GzipEncoder<HashTap>,
    hasher: Hasher,
    shared: Arc<Mutex<Shared>>,
    done: bool,
}

impl Stream for Compressing {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match ready!(Pin::new(&mut this.encoder).poll_next(cx)) {
            Some(Ok(chunk)) => {
                this.hasher.update(&chunk);
                Poll::Ready(Some(Ok(chunk)))
            }
            Some(Err(e)) => {
                this.done = true;
                Poll::Ready(Some(Err(e)))
            }
            None => {
                this.done = true;
                let size = this.hasher.len();
                let digest = std::mem::replace(&mut this.hasher, Hasher::sha256()).finish();
                let tap = this.encoder.get_mut();
                let diff_id = std::mem::replace(&mut tap.hasher, Hasher::sha256()).finish();
                this.shared
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .computed = Some(Computed {
                    digest,
                    diff_id,
                    size,
                });
                Poll::Ready(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sha256;
    use futures_executor::block_on;
    use futures_util::{StreamExt as _, stream};
    use std::io::Read as _;

    fn input(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| ((i % 251) ^ (i / 997)).to_le_bytes()[0])
            .collect()
    }

    fn chunked(data: &[u8], size: usize) -> impl Stream<Item = io::Result<Bytes>> + Send + use<> {
        let chunks: Vec<_> = data
            .chunks(size)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        stream::iter(chunks)
    }

    fn assert_not_computed(layer: &StreamLayer) {
        assert!(matches!(
            layer.digest(),
            Err(Error::NotComputed { value: "digest" })
        ));
        assert!(matches!(
            layer.diff_id(),
            Err(Error::NotComputed { value: "diff id" })
        ));
        assert!(matches!(
            layer.size(),
            Err(Error::NotComputed { value: "size" })
        ));
    }

    #[test]
    fn values_appear_only_after_the_stream_is_consumed() {
        let data = input(300_000);
        let layer = StreamLayer::new(chunked(&data, 4096));
        assert_eq!(layer.media_type(), &MediaType::DockerLayer);
        assert!(!layer.is_consumed());
        assert_not_computed(&layer);

        let mut blob = layer.compressed().unwrap();
        assert!(layer.is_consumed());
        let mut gz = Vec::new();
        // Half way through: still unknown.
        gz.extend_from_slice(&block_on(blob.next()).unwrap().unwrap());
        assert_not_computed(&layer);
        while let Some(chunk) = block_on(blob.next()) {
            gz.extend_from_slice(&chunk.unwrap());
        }

        assert_eq!(layer.digest().unwrap(), sha256(&gz));
        assert_eq!(layer.diff_id().unwrap(), sha256(&data));
        assert_eq!(layer.size().unwrap(), gz.len() as u64);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data);
        assert_eq!(gz[8], 4, "BestSpeed by default");
    }

    #[test]
    fn compressed_can_be_taken_once() {
        let layer = StreamLayer::new(chunked(b"abc", 1));
        let first = layer.compressed().unwrap();
        assert!(matches!(layer.compressed(), Err(Error::Consumed)));
        block_on(first.drain()).unwrap();
        assert!(matches!(layer.compressed(), Err(Error::Consumed)));
        assert_eq!(layer.diff_id().unwrap(), sha256(b"abc"));
    }

    #[test]
    fn uncompressed_is_unsupported() {
        let layer = StreamLayer::new(chunked(b"abc", 1));
        assert!(matches!(
            layer.uncompressed(),
            Err(Error::Unsupported { .. })
        ));
        // And does not consume the layer.
        assert!(!layer.is_consumed());
    }

    #[test]
    fn options() {
        let layer = StreamLayer::new(chunked(&input(10_000), 100))
            .with_media_type(MediaType::OciLayer)
            .with_compression_level(GzipLevel::BEST_COMPRESSION);
        assert_eq!(layer.media_type(), &MediaType::OciLayer);
        assert_eq!(layer.compression_level(), GzipLevel::BEST_COMPRESSION);
        let gz = block_on(layer.compressed().unwrap().read_to_end(1 << 20)).unwrap();
        assert_eq!(gz[8], 2, "XFL of the best compression");
        assert_eq!(layer.digest().unwrap(), sha256(&gz));
    }

    #[test]
    fn empty_input_gives_an_empty_gzip() {
        let layer = StreamLayer::new(stream::empty());
        let gz = block_on(layer.compressed().unwrap().read_to_end(1024)).unwrap();
        assert_eq!(layer.diff_id().unwrap(), sha256(b""));
        assert_eq!(layer.digest().unwrap(), sha256(&gz));
        assert_eq!(layer.size().unwrap(), gz.len() as u64);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(back.is_empty());
    }

    #[test]
    fn early_drop_or_failure_leaves_values_uncomputed() {
        let layer = StreamLayer::new(chunked(&input(200_000), 1000));
        let mut blob = layer.compressed().unwrap();
        block_on(blob.next()).unwrap().unwrap();
        drop(blob);
        assert_not_computed(&layer);

        let failing = chunked(b"abc", 1).chain(stream::iter([Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "source went away",
        ))]));
        let layer = StreamLayer::new(failing);
        let err = block_on(layer.compressed().unwrap().read_to_end(1024)).unwrap_err();
        assert!(
            matches!(&err, Error::Io(e) if e.kind() == io::ErrorKind::ConnectionReset),
            "{err:?}"
        );
        assert_not_computed(&layer);
    }

    #[test]
    fn layer_and_blob_can_cross_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<StreamLayer>();
        let layer = Arc::new(StreamLayer::new(chunked(b"abc", 2)));
        let blob = layer.compressed().unwrap();
        let gz = std::thread::spawn(move || block_on(blob.read_to_end(1024)))
            .join()
            .unwrap()
            .unwrap();
        assert_eq!(layer.digest().unwrap(), sha256(&gz));
    }
}
