//! The streaming pieces of an upload: the [`Source`] a blob is read from (skipping what the
//! registry holds, cutting chunks), the [`Tap`] a streamed body passes through, and the
//! [`Meter`] both feed: what was sent, its digest, whether it ended, and the source's own
//! failure.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use futures_util::StreamExt as _;
use ocireg_v1::{Blob, BoxByteStream, Digest, Hasher};

use crate::progress::Reporter;

/// The count (and, unless the source checks itself, the running hash) of the bytes sent,
/// shared with the body stream.
#[derive(Debug)]
pub(crate) struct Meter {
    check: Check,
    sent: u64,
    /// Whether the whole body was sent.
    pub(crate) ended: bool,
    /// The error the source stream failed with while hyper was sending it (a download cut
    /// short in a copy, a file that failed to read): the upload request then fails too,
    /// and this, not the request's failure, is what went wrong.
    pub(crate) source_error: Option<io::Error>,
}

/// How the content sent is checked against the digest committed.
#[derive(Debug)]
enum Check {
    /// Hash every byte sent.
    Hash(Hasher),
    /// The source is a [`Blob::verified`] stream for this digest: it fails (withholding
    /// its last chunk) unless its content has the digest, so hashing the same bytes
    /// again here would only cost CPU (a copy would hash every layer twice).
    VerifiedSource(Digest),
}

impl Meter {
    /// A meter hashing with `algorithm`, or trusting a source verified against
    /// `verified_source`.
    pub(crate) fn new(algorithm: ocireg_v1::Algorithm, verified_source: Option<Digest>) -> Self {
        let check = match verified_source {
            Some(d) => Check::VerifiedSource(d),
            None => Check::Hash(Hasher::new(algorithm)),
        };
        Self {
            check,
            sent: 0,
            ended: false,
            source_error: None,
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        self.sent += bytes.len() as u64;
        if let Check::Hash(h) = &mut self.check {
            h.update(bytes);
        }
    }

    /// The digest of what was sent (or the verified source's), and how many bytes.
    pub(crate) fn result(&self) -> (Digest, u64) {
        let digest = match &self.check {
            Check::Hash(h) => h.clone().finish(),
            Check::VerifiedSource(d) => *d,
        };
        (digest, self.sent)
    }
}

/// A meter shared by the body stream and the upload.
pub(crate) type SharedMeter = Arc<Mutex<Meter>>;

/// The meter, even if a panicking holder poisoned it.
pub(crate) fn lock(m: &SharedMeter) -> std::sync::MutexGuard<'_, Meter> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A body stream that hashes and counts what passes and reports progress.
///
/// `complete_at` is the blob size when known: hyper stops polling a body of known length
/// once it has that many bytes, so reaching it counts as the end.
pub(crate) struct Tap {
    inner: BoxByteStream,
    meter: SharedMeter,
    reporter: Option<Reporter>,
    complete_at: Option<u64>,
}

impl Tap {
    /// A tap over `inner`. A body that is complete before its first byte (a 0-byte blob,
    /// or a resume at the very end) counts as ended at once: hyper never polls a body of
    /// length 0, so waiting for its end would wrongly report an early answer.
    pub(crate) fn new(
        inner: BoxByteStream,
        meter: &SharedMeter,
        reporter: Option<Reporter>,
        complete_at: Option<u64>,
    ) -> Self {
        {
            let mut m = lock(meter);
            if complete_at == Some(m.sent) {
                m.ended = true;
            }
        }
        Self {
            inner,
            meter: Arc::clone(meter),
            reporter,
            complete_at,
        }
    }
}

impl Stream for Tap {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = self.inner.as_mut().poll_next(cx);
        match item {
            Poll::Ready(Some(Ok(chunk))) => {
                let done = {
                    let mut m = lock(&self.meter);
                    m.update(&chunk);
                    if self.complete_at == Some(m.sent) {
                        m.ended = true;
                    }
                    m.sent
                };
                if let Some(r) = &self.reporter {
                    r.bytes(done);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(None) => {
                lock(&self.meter).ended = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Err(e))) => {
                // Keep the real error for the upload's report; hyper gets a stand-in.
                let stand_in = io::Error::new(e.kind(), "the upload source failed");
                lock(&self.meter).source_error = Some(e);
                Poll::Ready(Some(Err(stand_in)))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// A source stream with one chunk of look-ahead, for skipping and chunking.
pub(crate) struct Source {
    stream: BoxByteStream,
    pending: Option<Bytes>,
}

impl Source {
    /// The source of `blob`.
    pub(crate) fn new(blob: Blob) -> Self {
        Self {
            stream: blob.into_stream(),
            pending: None,
        }
    }

    async fn next(&mut self) -> Option<io::Result<Bytes>> {
        if let Some(p) = self.pending.take() {
            return Some(Ok(p));
        }
        self.stream.next().await
    }

    /// Reads up to `n` bytes (fewer only at the end), feeding them to `meter`.
    pub(crate) async fn take(&mut self, n: u64, meter: &SharedMeter) -> io::Result<Bytes> {
        let want = usize::try_from(n).unwrap_or(usize::MAX);
        let mut buf = BytesMut::new();
        while buf.len() < want {
            let Some(chunk) = self.next().await.transpose()? else {
                break;
            };
            let room = want - buf.len();
            let mut chunk = chunk;
            if chunk.len() > room {
                self.pending = Some(chunk.split_off(room));
            }
            buf.extend_from_slice(&chunk);
        }
        let bytes = buf.freeze();
        lock(meter).update(&bytes);
        Ok(bytes)
    }

    /// Skips `n` bytes, hashing them (they were sent before); fails if the source is shorter.
    pub(crate) async fn skip(&mut self, n: u64, meter: &SharedMeter) -> io::Result<()> {
        let mut left = n;
        while left > 0 {
            let Some(chunk) = self.next().await.transpose()? else {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the re-opened source is shorter than what the registry already holds",
                ));
            };
            let mut chunk = chunk;
            if chunk.len() as u64 > left {
                #[expect(
                    clippy::cast_possible_truncation,
                    reason = "left < chunk.len(), which is a usize"
                )]
                let rest = chunk.split_off(left as usize);
                self.pending = Some(rest);
            }
            lock(meter).update(&chunk);
            left -= chunk.len() as u64;
        }
        Ok(())
    }

    /// The rest of the source, the look-ahead first.
    pub(crate) fn into_stream(self) -> BoxByteStream {
        match self.pending {
            Some(p) => {
                Box::pin(futures_util::stream::once(async move { Ok(p) }).chain(self.stream))
            }
            None => self.stream,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn source_skips_and_chunks_across_chunk_boundaries() {
        let chunks = vec![
            Ok(Bytes::from_static(b"abc")),
            Ok(Bytes::from_static(b"defgh")),
            Ok(Bytes::from_static(b"ij")),
        ];
        let blob = Blob::new(futures_util::stream::iter(chunks), Some(10));
        let meter: SharedMeter =
            Arc::new(Mutex::new(Meter::new(ocireg_v1::Algorithm::Sha256, None)));
        let mut s = Source::new(blob);
        s.skip(4, &meter).await.unwrap();
        assert_eq!(&s.take(3, &meter).await.unwrap()[..], b"efg");
        assert_eq!(&s.take(10, &meter).await.unwrap()[..], b"hij");
        assert!(s.take(10, &meter).await.unwrap().is_empty());
        let (digest, sent) = lock(&meter).result();
        assert_eq!(sent, 10);
        assert_eq!(digest, ocireg_v1::sha256(b"abcdefghij"));
    }

    #[tokio::test]
    async fn skip_past_the_end_fails() {
        let blob = Blob::from_bytes("abc");
        let meter: SharedMeter =
            Arc::new(Mutex::new(Meter::new(ocireg_v1::Algorithm::Sha256, None)));
        let mut s = Source::new(blob);
        assert_eq!(
            s.skip(4, &meter).await.unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }
}
