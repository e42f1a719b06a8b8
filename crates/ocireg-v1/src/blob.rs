//! [`Blob`]: the one byte-stream type every layer, config and manifest read goes through.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use futures_util::StreamExt as _;

/// The boxed stream inside a [`Blob`].
pub type BoxByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send + 'static>>;

/// A `'static` stream of byte chunks, with its size when known.
///
/// Blobs are never whole buffers: a layer of any size flows through a `Blob`
/// chunk by chunk, so it can move into a spawned upload task or a hyper body
/// without copying. Errors are `io::Error`s so the stream plugs into readers;
/// typed errors of this crate (digest or size mismatches) travel inside them
/// and are recovered with [`crate::Error::from_io`].
///
/// ```
/// use ocireg_v1::Blob;
/// # futures_executor::block_on(async {
/// let blob = Blob::from_bytes("hello");
/// assert_eq!(blob.size(), Some(5));
/// assert_eq!(blob.read_to_end(1024).await?, "hello");
/// # Ok::<(), ocireg_v1::Error>(())
/// # }).unwrap();
/// ```
pub struct Blob {
    size: Option<u64>,
    verified: Option<crate::Digest>,
    stream: BoxByteStream,
}

impl Blob {
    /// Wraps a stream; `size` is the total length when known in advance.
    pub fn new(
        stream: impl Stream<Item = io::Result<Bytes>> + Send + 'static,
        size: Option<u64>,
    ) -> Self {
        Self {
            size,
            verified: None,
            stream: Box::pin(stream),
        }
    }

    /// A blob of bytes already in memory (small things: manifests, configs, test data).
    pub fn from_bytes(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        let size = Some(bytes.len() as u64);
        let once = futures_util::stream::iter((!bytes.is_empty()).then_some(Ok(bytes)));
        Self::new(once, size)
    }

    /// The total size in bytes, when known before reading.
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// The digest this blob's content is checked against as it streams, when it
    /// comes from [`Blob::verified`]: such a blob never ends cleanly, and with a
    /// known size never yields its last chunk, unless its content has this
    /// digest. Consumers that would hash the same bytes again (an upload checking
    /// what it sends) can rely on it instead.
    pub fn verified_digest(&self) -> Option<crate::Digest> {
        self.verified
    }

    /// Calls `observe` with every item this blob yields, and with `None` once at its
    /// clean end, without changing any byte: the blob keeps its size and its
    /// [`verified_digest`](Self::verified_digest). For progress reporting, and for
    /// holding a resource while the blob is read (a concurrency permit captured by
    /// `observe` is released when the blob is dropped).
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use ocireg_v1::{sha256, Blob};
    ///
    /// # futures_executor::block_on(async {
    /// let seen = Arc::new(Mutex::new(0));
    /// let counter = seen.clone();
    /// let blob = Blob::from_bytes("hello")
    ///     .verified(sha256(b"hello"), None)
    ///     .inspect(move |item| {
    ///         if let Some(Ok(chunk)) = item {
    ///             *counter.lock().unwrap() += chunk.len();
    ///         }
    ///     });
    /// assert_eq!(blob.verified_digest(), Some(sha256(b"hello")));
    /// assert_eq!(blob.read_to_end(10).await?, "hello");
    /// assert_eq!(*seen.lock().unwrap(), 5);
    /// # Ok::<(), ocireg_v1::Error>(())
    /// # }).unwrap();
    /// ```
    #[must_use]
    pub fn inspect(self, observe: impl FnMut(Option<&io::Result<Bytes>>) + Send + 'static) -> Self {
        let Self {
            size,
            verified,
            stream,
        } = self;
        Self {
            size,
            verified,
            stream: Box::pin(Inspect {
                inner: stream,
                observe: Box::new(observe),
                ended: false,
            }),
        }
    }

    /// Passes every error this blob yields through `f`, leaving the bytes, the size
    /// and the [`verified_digest`](Self::verified_digest) as they are: for adding
    /// context (such as a file's path) to the errors of a verified blob without
    /// losing the verification, so a consumer need not hash it again. An error stays
    /// an error, so a verified blob still never ends cleanly unless it checked good.
    ///
    /// ```
    /// use std::io;
    /// use futures_util::StreamExt as _;
    /// use ocireg_v1::{sha256, Blob};
    ///
    /// # futures_executor::block_on(async {
    /// let mut blob = Blob::from_bytes("hello!")
    ///     .verified(sha256(b"hello"), Some(5))
    ///     .map_err(|e| io::Error::new(e.kind(), format!("reading blobs/x: {e}")));
    /// assert_eq!(blob.verified_digest(), Some(sha256(b"hello")));
    /// let err = blob.next().await.unwrap().unwrap_err(); // too long: refused
    /// assert!(err.to_string().contains("reading blobs/x"), "{err}");
    /// # });
    /// ```
    #[must_use]
    pub fn map_err(self, f: impl FnMut(io::Error) -> io::Error + Send + 'static) -> Self {
        let Self {
            size,
            verified,
            stream,
        } = self;
        let mut f = f;
        Self {
            size,
            verified,
            stream: Box::pin(stream.map(move |item| item.map_err(&mut f))),
        }
    }

    pub(crate) fn with_verified_digest(mut self, digest: crate::Digest) -> Self {
        self.verified = Some(digest);
        self
    }

    /// The stream inside, boxed.
    pub fn into_stream(self) -> BoxByteStream {
        self.stream
    }

    /// Reads the whole blob into memory, failing once more than `limit` bytes
    /// arrive (or are announced). Only for small documents such as manifests
    /// and configs: layers are streamed.
    pub async fn read_to_end(mut self, limit: u64) -> crate::Result<Bytes> {
        if let Some(size) = self.size
            && size > limit
        {
            return Err(crate::Error::TooLarge { limit, size });
        }
        let mut buf = BytesMut::new();
        while let Some(chunk) = self.stream.next().await {
            let chunk = chunk.map_err(crate::Error::from_io)?;
            if (buf.len() + chunk.len()) as u64 > limit {
                return Err(crate::Error::TooLarge {
                    limit,
                    size: (buf.len() + chunk.len()) as u64,
                });
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }
}

impl Stream for Blob {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.stream.as_mut().poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.stream.size_hint()
    }
}

/// What [`Blob::inspect`] calls with each item (`None` at the end).
type Observer = dyn FnMut(Option<&io::Result<Bytes>>) + Send;

/// The stream behind [`Blob::inspect`].
struct Inspect {
    inner: BoxByteStream,
    observe: Box<Observer>,
    ended: bool,
}

impl Stream for Inspect {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.ended {
            return Poll::Ready(None);
        }
        let item = std::task::ready!(this.inner.as_mut().poll_next(cx));
        this.ended = item.is_none();
        (this.observe)(item.as_ref());
        Poll::Ready(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl fmt::Debug for Blob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Blob")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_executor::block_on;

    #[test]
    fn read_to_end_enforces_limit_on_announced_and_actual_size() {
        let err = block_on(Blob::from_bytes(vec![0u8; 10]).read_to_end(9)).unwrap_err();
        assert!(
            matches!(err, crate::Error::TooLarge { limit: 9, size: 10 }),
            "{err:?}"
        );

        // A stream that lies about (or does not announce) its size is still capped.
        let chunks = futures_util::stream::iter((0..3).map(|_| Ok(Bytes::from_static(b"abcd"))));
        let err = block_on(Blob::new(chunks, None).read_to_end(10)).unwrap_err();
        assert!(
            matches!(
                err,
                crate::Error::TooLarge {
                    limit: 10,
                    size: 12
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn empty_blob_yields_nothing() {
        let got = block_on(Blob::from_bytes(Bytes::new()).read_to_end(0)).unwrap();
        assert!(got.is_empty());
    }
}
