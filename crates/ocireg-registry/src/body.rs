//! The response body: empty, in-memory chunks, or a region of a file read in
//! bounded pieces (so a disk-stored blob is never held in memory); and the
//! idle timeout put on request bodies.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, ReadBuf};

use crate::memory::Charge;
use crate::registry::BoxError;

/// How much of a file one body frame carries at most.
const FILE_CHUNK: u64 = 64 * 1024;

/// The body of every response the registry sends.
///
/// It reports its exact length, so responses carry `Content-Length`.
pub struct ResponseBody {
    kind: Kind,
    /// The memory charge of the bytes sent, held until the body is dropped
    /// so that a slow reader of a deleted blob still counts against the cap.
    _charge: Option<Arc<Charge>>,
}

enum Kind {
    Chunks {
        chunks: VecDeque<Bytes>,
        remaining: u64,
    },
    File {
        file: fs_err::tokio::File,
        remaining: u64,
    },
}

impl ResponseBody {
    /// An empty body.
    pub(crate) fn empty() -> Self {
        Self::chunks(VecDeque::new())
    }

    /// A body of one buffer.
    pub(crate) fn full(bytes: impl Into<Bytes>) -> Self {
        Self::chunks(VecDeque::from([bytes.into()]))
    }

    /// A body of several buffers sent in order.
    pub(crate) fn chunks(chunks: VecDeque<Bytes>) -> Self {
        let remaining = chunks.iter().map(|c| c.len() as u64).sum();
        Self {
            kind: Kind::Chunks { chunks, remaining },
            _charge: None,
        }
    }

    /// The same body, holding `charge` until it is dropped.
    pub(crate) fn charged(self, charge: Arc<Charge>) -> Self {
        Self {
            _charge: Some(charge),
            ..self
        }
    }

    /// `len` bytes of `file` from its current position.
    pub(crate) fn file(file: fs_err::tokio::File, len: u64) -> Self {
        Self {
            kind: Kind::File {
                file,
                remaining: len,
            },
            _charge: None,
        }
    }

    fn remaining(&self) -> u64 {
        match &self.kind {
            Kind::Chunks { remaining, .. } | Kind::File { remaining, .. } => *remaining,
        }
    }
}

impl fmt::Debug for ResponseBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            Kind::Chunks { .. } => "memory",
            Kind::File { .. } => "file",
        };
        f.debug_struct("ResponseBody")
            .field("kind", &kind)
            .field("remaining", &self.remaining())
            .finish_non_exhaustive()
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match &mut self.get_mut().kind {
            Kind::Chunks { chunks, remaining } => {
                while let Some(chunk) = chunks.pop_front() {
                    if !chunk.is_empty() {
                        *remaining -= chunk.len() as u64;
                        return Poll::Ready(Some(Ok(Frame::data(chunk))));
                    }
                }
                Poll::Ready(None)
            }
            Kind::File { file, remaining } => {
                if *remaining == 0 {
                    return Poll::Ready(None);
                }
                let want = usize::try_from((*remaining).min(FILE_CHUNK))
                    .expect("a 64 KiB chunk fits in usize");
                let mut buf = vec![0u8; want];
                let mut read_buf = ReadBuf::new(&mut buf);
                ready!(Pin::new(file).poll_read(cx, &mut read_buf))?;
                let n = read_buf.filled().len();
                if n == 0 {
                    // The file shrank under us: end with an error, never with short content.
                    return Poll::Ready(Some(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "blob file ended early",
                    ))));
                }
                buf.truncate(n);
                *remaining -= n as u64;
                Poll::Ready(Some(Ok(Frame::data(Bytes::from(buf)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining() == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining())
    }
}

/// A request body that fails when no frame arrives for `timeout` (see
/// [`DEFAULT_BODY_IDLE_TIMEOUT`](crate::limits::DEFAULT_BODY_IDLE_TIMEOUT)).
///
/// The clock starts when the body is made (the request head has arrived)
/// and restarts with every frame; it only matters while a handler waits for
/// the next frame.
pub(crate) struct IdleTimeout<B> {
    inner: B,
    timeout: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl<B> IdleTimeout<B> {
    pub(crate) fn new(inner: B, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            sleep: Box::pin(tokio::time::sleep(timeout)),
        }
    }
}

/// The error of a request body that went quiet for too long.
#[derive(Debug, thiserror::Error)]
#[error("no request body bytes arrived for {} ms", timeout.as_millis())]
pub(crate) struct BodyTimedOut {
    pub(crate) timeout: Duration,
}

impl<B> Body for IdleTimeout<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                let deadline = tokio::time::Instant::now() + this.timeout;
                this.sleep.as_mut().reset(deadline);
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => match this.sleep.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyTimedOut {
                    timeout: this.timeout,
                })))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt as _;
    use tokio::io::AsyncWriteExt as _;

    #[tokio::test]
    async fn chunks_are_sent_in_order_with_exact_size() {
        let body = ResponseBody::chunks(VecDeque::from([
            Bytes::from_static(b"ab"),
            Bytes::new(),
            Bytes::from_static(b"cde"),
        ]));
        assert_eq!(body.size_hint().exact(), Some(5));
        let all = body.collect().await.expect("memory").to_bytes();
        assert_eq!(&all[..], b"abcde");
        assert!(ResponseBody::empty().is_end_stream());
    }

    #[tokio::test]
    async fn file_region_is_read_in_pieces() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("blob");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut f = fs_err::tokio::File::create(&path).await.expect("create");
        f.write_all(&data).await.expect("write");
        f.flush().await.expect("flush");
        drop(f);
        let file = fs_err::tokio::File::open(&path).await.expect("open");
        let mut body = ResponseBody::file(file, 150_000);
        let mut got = Vec::new();
        let mut frames = 0;
        while let Some(frame) = body.frame().await {
            let frame = frame.expect("read");
            let chunk = frame.into_data().expect("data frame");
            assert!(chunk.len() as u64 <= FILE_CHUNK);
            got.extend_from_slice(&chunk);
            frames += 1;
        }
        assert!(frames >= 3, "{frames} frames");
        assert_eq!(got, data[..150_000]);
    }

    #[tokio::test]
    async fn truncated_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("blob");
        fs_err::tokio::write(&path, b"short").await.expect("write");
        let file = fs_err::tokio::File::open(&path).await.expect("open");
        let result = ResponseBody::file(file, 10).collect().await;
        assert!(result.is_err());
    }
}
