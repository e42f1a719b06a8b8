//! A verifying stream: checks the size and digest of the bytes flowing through
//! it (ggcr's `internal/verify`, stricter).
//!
//! Every blob read from somewhere untrusted (a registry, a layout on disk, a
//! tarball) goes through [`VerifyStream`], usually via [`Blob::verified`]. It
//! hashes and counts as chunks pass, and:
//!
//! - fails with [`Error::SizeMismatch`] as soon as more bytes than expected
//!   arrive (without passing the excess on), so a lying server cannot make us
//!   read forever;
//! - at the end, fails with [`Error::SizeMismatch`] for a short stream and
//!   with [`Error::DigestMismatch`] for wrong content, as the stream's last
//!   item instead of a clean end;
//! - when the size is known, checks the digest as soon as the last byte
//!   arrives and withholds that last chunk on a mismatch, so a consumer that
//!   stops after `size` bytes (hyper sending a body of known length does) never
//!   receives complete wrong content;
//! - offers [`VerifyStream::drain`] (and [`Blob::drain`]) for consumers that
//!   stop early (a tar reader stops at the end-of-archive marker, ggcr
//!   `d807d512`): it reads the rest and reports any mismatch.
//!
//! Bytes are passed on before the stream is known to be good: callers must
//! treat their work as provisional until the stream ends cleanly (write to a
//! temporary file, then persist).

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt as _;

use crate::{Blob, Digest, Error, Hasher, Result};

/// Wraps `stream` to check that it has `size` bytes (when known) hashing to `digest`.
///
/// ```
/// use futures_util::TryStreamExt as _;
/// use ocireg_v1::{sha256, verify, Blob, Error};
///
/// # futures_executor::block_on(async {
/// let good = verify(Blob::from_bytes("hello"), sha256(b"hello"), Some(5));
/// let chunks: Vec<_> = good.try_collect().await?;
/// assert_eq!(chunks.concat(), b"hello");
///
/// let bad = verify(Blob::from_bytes("jello"), sha256(b"hello"), Some(5));
/// let err = Error::from_io(bad.try_collect::<Vec<_>>().await.unwrap_err());
/// assert!(matches!(err, Error::DigestMismatch { .. }));
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub fn verify<S>(stream: S, digest: Digest, size: Option<u64>) -> VerifyStream<S>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    VerifyStream {
        inner: stream,
        hasher: Some(Hasher::new(digest.algorithm())),
        digest,
        size,
        seen: 0,
        digest_checked: false,
        state: State::Reading,
    }
}

/// The stream returned by [`verify`]: the same chunks, then either a clean end
/// (size and digest checked) or one error, after which it yields nothing.
pub struct VerifyStream<S> {
    inner: S,
    hasher: Option<Hasher>,
    digest: Digest,
    size: Option<u64>,
    seen: u64,
    /// The digest was checked (and right) when the last expected byte arrived.
    digest_checked: bool,
    state: State,
}

/// Where a [`VerifyStream`] stands; failures are kept so that [`VerifyStream::drain`]
/// can report them again after the consumer saw (and dropped) the error.
#[derive(Debug)]
enum State {
    Reading,
    Verified,
    /// The content was wrong: the typed error can be rebuilt from its fields.
    Mismatch(Mismatch),
    /// The inner stream failed; `io::Error` is not `Clone`, so keep its kind and text.
    Upstream(io::ErrorKind, String),
}

#[derive(Debug, Clone, Copy)]
enum Mismatch {
    Size { expected: u64, actual: u64 },
    Digest { actual: Digest },
}

impl<S> VerifyStream<S> {
    /// The digest the content must have.
    pub fn expected_digest(&self) -> Digest {
        self.digest
    }

    /// The size the content must have, when known.
    pub fn expected_size(&self) -> Option<u64> {
        self.size
    }

    /// How many bytes have passed so far.
    pub fn bytes_seen(&self) -> u64 {
        self.seen
    }

    /// Whether the stream has ended cleanly: all bytes seen, size and digest right.
    pub fn is_verified(&self) -> bool {
        matches!(self.state, State::Verified)
    }

    fn mismatch_error(&self, m: Mismatch) -> Error {
        match m {
            Mismatch::Size { expected, actual } => Error::SizeMismatch {
                digest: self.digest,
                expected,
                actual,
            },
            Mismatch::Digest { actual } => Error::DigestMismatch {
                expected: self.digest,
                actual,
            },
        }
    }

    fn fail(&mut self, m: Mismatch) -> Poll<Option<io::Result<Bytes>>> {
        self.state = State::Mismatch(m);
        self.hasher = None;
        Poll::Ready(Some(Err(self.mismatch_error(m).into_io())))
    }

    /// The checks at the end of the inner stream.
    fn finish(&mut self) -> Poll<Option<io::Result<Bytes>>> {
        if let Some(expected) = self.size
            && self.seen != expected
        {
            return self.fail(Mismatch::Size {
                expected,
                actual: self.seen,
            });
        }
        if !self.digest_checked {
            let actual = match self.hasher.take() {
                Some(h) => h.finish(),
                None => return Poll::Ready(None),
            };
            if actual != self.digest {
                return self.fail(Mismatch::Digest { actual });
            }
        }
        self.state = State::Verified;
        Poll::Ready(None)
    }
}

impl<S> VerifyStream<S>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    /// Reads and discards the rest of the stream, then reports whether the
    /// whole content was right; returns the total size.
    ///
    /// Use it when the consumer stopped before the end (a tar reader at the
    /// end-of-archive marker): bytes after that point count too. A failure the
    /// stream already yielded is reported again.
    ///
    /// ```
    /// use futures_util::StreamExt as _;
    /// use ocireg_v1::{sha256, verify, Blob, Error};
    ///
    /// # futures_executor::block_on(async {
    /// let chunks = ["tar data", "garbage the digest does not cover"].map(|c| Ok(c.into()));
    /// let mut stream = verify(Blob::new(futures_util::stream::iter(chunks), None), sha256(b"tar data"), None);
    /// assert_eq!(stream.next().await.unwrap().unwrap(), "tar data"); // the consumer stops here
    /// assert!(matches!(stream.drain().await, Err(Error::DigestMismatch { .. })));
    /// # });
    /// ```
    pub async fn drain(mut self) -> Result<u64> {
        while let Some(chunk) = self.next().await {
            chunk.map_err(Error::from_io)?;
        }
        match &self.state {
            State::Verified => Ok(self.seen),
            State::Mismatch(m) => Err(self.mismatch_error(*m)),
            State::Upstream(kind, text) => Err(Error::Io(io::Error::new(*kind, text.clone()))),
            // `next` returned `None`, which only happens in one of the states above.
            State::Reading => Err(Error::Io(io::Error::other("stream ended unverified"))),
        }
    }
}

impl<S> Stream for VerifyStream<S>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if !matches!(this.state, State::Reading) {
            return Poll::Ready(None);
        }
        match ready!(Pin::new(&mut this.inner).poll_next(cx)) {
            Some(Ok(chunk)) => {
                this.seen += chunk.len() as u64;
                if let Some(expected) = this.size
                    && this.seen > expected
                {
                    // Too long: fail now, without passing the excess on.
                    return this.fail(Mismatch::Size {
                        expected,
                        actual: this.seen,
                    });
                }
                if let Some(h) = this.hasher.as_mut() {
                    h.update(&chunk);
                }
                if this.size == Some(this.seen)
                    && let Some(h) = this.hasher.take()
                {
                    // The last expected byte: check now and withhold the chunk if wrong.
                    let actual = h.finish();
                    if actual != this.digest {
                        return this.fail(Mismatch::Digest { actual });
                    }
                    this.digest_checked = true;
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Some(Err(e)) => {
                this.state = State::Upstream(e.kind(), e.to_string());
                this.hasher = None;
                Poll::Ready(Some(Err(e)))
            }
            None => this.finish(),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self.state {
            State::Reading => self.inner.size_hint(),
            _ => (0, Some(0)),
        }
    }
}

impl<S> fmt::Debug for VerifyStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyStream")
            .field("digest", &self.digest)
            .field("size", &self.size)
            .field("seen", &self.seen)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Blob {
    /// This blob, checked to have `digest` and `size` bytes (see [`verify`]).
    ///
    /// When `size` is `None` the blob's own announced size, if any, is
    /// enforced instead; the result announces the size it enforces.
    ///
    /// ```
    /// use ocireg_v1::{sha256, Blob, Error};
    ///
    /// # futures_executor::block_on(async {
    /// let ok = Blob::from_bytes("hello").verified(sha256(b"hello"), Some(5));
    /// assert_eq!(ok.read_to_end(1024).await?, "hello");
    ///
    /// let lie = Blob::from_bytes("hello!").verified(sha256(b"hello"), Some(5));
    /// assert!(matches!(lie.read_to_end(1024).await, Err(Error::SizeMismatch { .. })));
    /// # Ok::<(), Error>(())
    /// # }).unwrap();
    /// ```
    #[must_use]
    pub fn verified(self, digest: Digest, size: Option<u64>) -> Self {
        let size = size.or(self.size());
        Self::new(verify(self.into_stream(), digest, size), size).with_verified_digest(digest)
    }

    /// Reads the rest of the blob without keeping it and returns how many bytes
    /// that was, surfacing any error on the way, including a verification
    /// failure at the end of a [`Blob::verified`] blob.
    pub async fn drain(mut self) -> Result<u64> {
        let mut n = 0u64;
        while let Some(chunk) = self.next().await {
            n += chunk.map_err(Error::from_io)?.len() as u64;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sha256;
    use futures_executor::block_on;
    use futures_util::stream;
    use proptest::prelude::*;

    fn chunks(parts: &[&'static [u8]]) -> impl Stream<Item = io::Result<Bytes>> + Unpin + use<> {
        stream::iter(
            parts
                .iter()
                .map(|p| Ok(Bytes::from_static(p)))
                .collect::<Vec<_>>(),
        )
    }

    /// Collects every item: the good bytes and the final error, if any.
    fn run<S>(mut s: S) -> (Vec<u8>, Option<Error>)
    where
        S: Stream<Item = io::Result<Bytes>> + Unpin,
    {
        block_on(async {
            let mut data = Vec::new();
            while let Some(item) = s.next().await {
                match item {
                    Ok(b) => data.extend_from_slice(&b),
                    Err(e) => {
                        // Nothing may follow an error.
                        assert!(s.next().await.is_none(), "item after an error");
                        return (data, Some(Error::from_io(e)));
                    }
                }
            }
            (data, None)
        })
    }

    #[test]
    fn right_content_passes_with_and_without_size() {
        let d = sha256(b"hello world");
        for size in [Some(11), None] {
            let mut v = verify(chunks(&[b"hello", b" ", b"", b"world"]), d, size);
            let (data, err) = run(&mut v);
            assert_eq!(data, b"hello world");
            assert!(err.is_none(), "{err:?}");
            assert!(v.is_verified());
            assert_eq!(v.bytes_seen(), 11);
        }
    }

    #[test]
    fn wrong_content_of_known_size_withholds_the_last_chunk() {
        // A consumer that stops after `size` bytes (as hyper does for a body of known
        // length) must not receive complete wrong content.
        let (data, err) = run(verify(chunks(&[b"jel", b"lo"]), sha256(b"hello"), Some(5)));
        assert_eq!(data, b"jel");
        assert!(matches!(err, Some(Error::DigestMismatch { .. })), "{err:?}");
        // Without a size the mismatch can only show at the end.
        let (data, err) = run(verify(chunks(&[b"jel", b"lo"]), sha256(b"hello"), None));
        assert_eq!(data, b"jello");
        assert!(matches!(err, Some(Error::DigestMismatch { .. })), "{err:?}");
    }

    #[test]
    fn verified_blobs_say_what_they_check() {
        let d = sha256(b"hello");
        assert_eq!(Blob::from_bytes("hello").verified_digest(), None);
        let blob = Blob::from_bytes("hello").verified(d, None);
        assert_eq!(blob.verified_digest(), Some(d));
        assert_eq!(blob.size(), Some(5));
    }

    #[test]
    fn empty_content() {
        let (data, err) = run(verify(chunks(&[]), sha256(b""), Some(0)));
        assert!(data.is_empty());
        assert!(err.is_none());
        let (_, err) = run(verify(chunks(&[]), sha256(b"x"), Some(1)));
        assert!(matches!(
            err,
            Some(Error::SizeMismatch {
                expected: 1,
                actual: 0,
                ..
            })
        ));
    }

    #[test]
    fn wrong_digest_is_the_last_item() {
        let want = sha256(b"hello world");
        // With a known size the last chunk is withheld; without, it passes before the error.
        for (size, passed) in [(Some(11), &b"hello"[..]), (None, &b"hello worle"[..])] {
            let (data, err) = run(verify(chunks(&[b"hello", b" worle"]), want, size));
            assert_eq!(data, passed);
            match err {
                Some(Error::DigestMismatch { expected, actual }) => {
                    assert_eq!(expected, want);
                    assert_eq!(actual, sha256(b"hello worle"));
                }
                other => panic!("expected a digest mismatch, got {other:?}"),
            }
        }
    }

    #[test]
    fn truncated_stream_is_a_size_mismatch() {
        let want = sha256(b"hello world");
        let (data, err) = run(verify(chunks(&[b"hello"]), want, Some(11)));
        assert_eq!(data, b"hello");
        assert!(
            matches!(err, Some(Error::SizeMismatch { digest, expected: 11, actual: 5 }) if digest == want),
            "{err:?}"
        );
        // Without a size the digest still catches it.
        let (_, err) = run(verify(chunks(&[b"hello"]), want, None));
        assert!(matches!(err, Some(Error::DigestMismatch { .. })), "{err:?}");
    }

    #[test]
    fn long_stream_fails_as_soon_as_it_passes_the_size() {
        // The excess arrives in the second chunk; the third (and an endless
        // tail) must never be read.
        let endless =
            chunks(&[b"hello", b" world!"]).chain(stream::repeat_with(|| -> io::Result<Bytes> {
                panic!("read past the declared size")
            }));
        let (data, err) = run(verify(endless, sha256(b"hello world"), Some(11)));
        assert_eq!(
            data, b"hello",
            "the chunk carrying the excess is not passed on"
        );
        assert!(
            matches!(
                err,
                Some(Error::SizeMismatch {
                    expected: 11,
                    actual: 12,
                    ..
                })
            ),
            "{err:?}"
        );
    }

    #[test]
    fn upstream_errors_pass_through_and_end_the_stream() {
        let s = chunks(&[b"hel"]).chain(stream::iter([Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "peer went away",
        ))]));
        let mut v = verify(s, sha256(b"hello"), Some(5));
        let (data, err) = run(&mut v);
        assert_eq!(data, b"hel");
        assert!(matches!(&err, Some(Error::Io(e)) if e.kind() == io::ErrorKind::ConnectionReset));
        assert!(err.is_some_and(|e| e.is_transient()));
        let again = block_on(v.drain()).unwrap_err();
        assert!(matches!(&again, Error::Io(e) if e.kind() == io::ErrorKind::ConnectionReset));
    }

    #[test]
    fn early_stop_then_drain_verifies_the_rest() {
        let want = sha256(b"tar-end");
        // Good: drain reads the rest and succeeds.
        let mut v = verify(chunks(&[b"tar", b"-", b"end"]), want, Some(7));
        assert_eq!(block_on(v.next()).unwrap().unwrap(), "tar");
        assert_eq!(block_on(v.drain()).unwrap(), 7);

        // Garbage after what the consumer needed: drain fails loudly.
        let mut v = verify(chunks(&[b"tar", b"-", b"end", b"garbage"]), want, None);
        assert_eq!(block_on(v.next()).unwrap().unwrap(), "tar");
        let err = block_on(v.drain()).unwrap_err();
        assert!(matches!(err, Error::DigestMismatch { .. }), "{err:?}");

        // With a size, the excess is caught as a size mismatch.
        let mut v = verify(chunks(&[b"tar", b"-", b"end", b"garbage"]), want, Some(7));
        assert_eq!(block_on(v.next()).unwrap().unwrap(), "tar");
        let err = block_on(v.drain()).unwrap_err();
        assert!(matches!(err, Error::SizeMismatch { .. }), "{err:?}");
    }

    #[test]
    fn drain_reports_a_failure_already_yielded() {
        let mut v = verify(chunks(&[b"jello"]), sha256(b"hello"), Some(5));
        let (_, err) = run(&mut v);
        assert!(matches!(err, Some(Error::DigestMismatch { .. })));
        // The consumer saw the error, dropped it, and drains: still a failure.
        assert!(matches!(
            block_on(v.drain()),
            Err(Error::DigestMismatch { .. })
        ));
    }

    #[test]
    fn blob_verified_uses_the_announced_size_when_none_is_given() {
        let want = sha256(b"hello");
        // The blob announces 5 bytes and delivers 6: caught even without an explicit size.
        let lying = Blob::new(chunks(&[b"hello!"]), Some(5)).verified(want, None);
        assert_eq!(lying.size(), Some(5));
        let err = block_on(lying.read_to_end(100)).unwrap_err();
        assert!(
            matches!(
                err,
                Error::SizeMismatch {
                    expected: 5,
                    actual: 6,
                    ..
                }
            ),
            "{err:?}"
        );

        let ok = Blob::from_bytes("hello").verified(want, None);
        assert_eq!(block_on(ok.drain()).unwrap(), 5);
        let bad = Blob::from_bytes("hellO").verified(want, Some(5));
        assert!(matches!(
            block_on(bad.drain()),
            Err(Error::DigestMismatch { .. })
        ));
    }

    #[test]
    fn sha512_digests_are_verified() {
        let want = crate::digest_of(crate::Algorithm::Sha512, b"abc");
        let (_, err) = run(verify(chunks(&[b"a", b"bc"]), want, Some(3)));
        assert!(err.is_none(), "{err:?}");
        let (_, err) = run(verify(chunks(&[b"abd"]), want, Some(3)));
        assert!(matches!(err, Some(Error::DigestMismatch { .. })));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Any chunking of the right content verifies; flipping any byte never does.
        #[test]
        fn any_chunking_verifies(data in proptest::collection::vec(any::<u8>(), 0..2048),
                                 cuts in proptest::collection::vec(any::<usize>(), 0..8),
                                 flip in any::<usize>()) {
            let want = sha256(&data);
            let split = |bytes: Vec<u8>| {
                let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
                cuts.sort_unstable();
                let bytes = Bytes::from(bytes);
                let mut parts = Vec::new();
                let mut start = 0;
                for c in cuts.into_iter().chain([bytes.len()]) {
                    parts.push(Ok(bytes.slice(start..c)));
                    start = c;
                }
                stream::iter(parts)
            };
            let (got, err) = run(verify(split(data.clone()), want, Some(data.len() as u64)));
            prop_assert!(err.is_none());
            prop_assert_eq!(&got, &data);
            if !data.is_empty() {
                let mut bad = data.clone();
                let i = flip % bad.len();
                bad[i] ^= 0x01;
                let (_, err) = run(verify(split(bad), want, Some(data.len() as u64)));
                let is_mismatch = matches!(err, Some(Error::DigestMismatch { .. }));
                prop_assert!(is_mismatch);
            }
        }
    }
}
