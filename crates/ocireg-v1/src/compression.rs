//! Compression sniffing, streaming decompression and streaming gzip compression
//! (ggcr's `internal/compression`, `internal/gzip` and `internal/zstd`).
//!
//! Everything here is sans-IO: the adapters wrap any
//! `Stream<Item = io::Result<Bytes>>` and drive the codecs chunk by chunk, so
//! no reader, thread or runtime is involved and memory stays bounded by one
//! input chunk plus one output chunk, whatever the blob's size.
//!
//! # Behaviour at the edges
//!
//! - **Sniffing** looks at the first bytes only (gzip `1f 8b 08`, zstd
//!   `28 b5 2f fd`), reading as many chunks as needed when the first chunk is
//!   shorter than a magic number, and replays every byte it read.
//!   Data that is neither (including streams shorter than a magic) passes
//!   through unchanged: as in ggcr, a blob labelled compressed often is not.
//! - **Several gzip members** (or zstd frames) one after another decode to the
//!   concatenation of their contents, as Go's `gzip.Reader` does by default.
//! - **Trailing bytes after a gzip member** are read as the header of a further
//!   member, exactly as Go does, so anything that is not one (zero padding,
//!   garbage) fails with [`Error::Decompress`] instead of ending cleanly; the
//!   same holds for bytes after a zstd frame.
//! - **Truncated input** (ending inside a member or frame, or an empty stream
//!   given to an explicit decoder) fails with [`Error::Decompress`] whose
//!   source has kind `UnexpectedEof`; it never ends cleanly.
//! - **Decompression bombs**: [`DecompressOptions::max_output`] caps the bytes
//!   produced and fails with [`Error::DecompressedTooLarge`]; zstd frames that
//!   ask for a window larger than 2^27 bytes (128 MiB, libzstd's default limit)
//!   are refused unless [`DecompressOptions::zstd_window_log_max`] raises it.
//!
//! Errors travel through the streams inside `io::Error`s
//! ([`Error::into_io`]); recover them with [`Error::from_io`].

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf as _, Bytes};
use futures_core::Stream;

use crate::Error;

/// The first bytes of a gzip stream (ID1, ID2 and CM = deflate), as ggcr's `gzip.Is` checks.
pub const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];

/// The first bytes of a zstd frame (its little-endian magic number `0xFD2FB528`).
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Size of the output chunks the decoders produce.
const OUT_CHUNK: usize = 32 * 1024;

/// libzstd's default window limit: frames needing more than 2^27 bytes are refused.
const DEFAULT_ZSTD_WINDOW_LOG_MAX: u32 = 27;

/// The compression of a blob, as recognised from its first bytes (ggcr's `compression.Compression`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// Not compressed (or compressed with something we do not recognise).
    None,
    /// gzip (RFC 1952), possibly several members one after another.
    Gzip,
    /// zstd (RFC 8878), possibly several frames one after another.
    Zstd,
}

impl Compression {
    /// A short lowercase name: `none`, `gzip` or `zstd`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Gzip => "gzip",
            Self::Zstd => "zstd",
        }
    }

    /// Recognises the compression from the first bytes of a blob.
    ///
    /// `prefix` should hold at least four bytes when the blob has them; a
    /// shorter prefix that does not start with a whole magic number is
    /// [`Compression::None`].
    ///
    /// ```
    /// use ocireg_v1::Compression;
    ///
    /// assert_eq!(Compression::detect(&[0x1f, 0x8b, 0x08, 0x00]), Compression::Gzip);
    /// assert_eq!(Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd]), Compression::Zstd);
    /// assert_eq!(Compression::detect(b"ustar"), Compression::None);
    /// ```
    pub fn detect(prefix: &[u8]) -> Self {
        classify(prefix).unwrap_or(Self::None)
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Decides the compression from a prefix, or `None` when the prefix is a
/// proper prefix of a magic number and more bytes are needed.
fn classify(prefix: &[u8]) -> Option<Compression> {
    const MAGICS: [(&[u8], Compression); 2] = [
        (&GZIP_MAGIC, Compression::Gzip),
        (&ZSTD_MAGIC, Compression::Zstd),
    ];
    if let Some((_, c)) = MAGICS.iter().find(|(m, _)| prefix.starts_with(m)) {
        return Some(*c);
    }
    if MAGICS.iter().any(|(m, _)| m.starts_with(prefix)) {
        return None;
    }
    Some(Compression::None)
}

/// Classifies the bytes queued so far (only the first four matter).
fn classify_queue(queue: &VecDeque<Bytes>) -> Option<Compression> {
    let mut prefix = [0u8; 4];
    let mut len = 0;
    for chunk in queue {
        let take = (prefix.len() - len).min(chunk.len());
        prefix[len..len + take].copy_from_slice(&chunk[..take]);
        len += take;
        if len == prefix.len() {
            break;
        }
    }
    classify(&prefix[..len])
}

/// Polls `inner` once and queues a non-empty chunk; `Ok(false)` at its end.
fn poll_fill<S>(
    inner: &mut S,
    queue: &mut VecDeque<Bytes>,
    cx: &mut Context<'_>,
) -> Poll<io::Result<bool>>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    match ready!(Pin::new(inner).poll_next(cx)) {
        Some(Ok(chunk)) => {
            if !chunk.is_empty() {
                queue.push_back(chunk);
            }
            Poll::Ready(Ok(true))
        }
        Some(Err(e)) => Poll::Ready(Err(e)),
        None => Poll::Ready(Ok(false)),
    }
}

// ---------------------------------------------------------------------------
// Sniffing
// ---------------------------------------------------------------------------

/// Reads just enough of `stream` to recognise its compression and returns it
/// with a stream that replays every byte (ggcr's `compression.PeekCompression`).
///
/// A stream ending before a whole magic number is [`Compression::None`]; an
/// error from the stream while peeking is returned as is.
///
/// ```
/// use bytes::Bytes;
/// use futures_util::stream;
/// use ocireg_v1::{peek_compression, Blob, Compression};
///
/// # futures_executor::block_on(async {
/// // The magic number split across chunks is still recognised, and nothing is lost.
/// let chunks = [&[0x1f][..], &[0x8b, 0x08], b"rest"].map(|c| Ok(Bytes::copy_from_slice(c)));
/// let (compression, replay) = peek_compression(stream::iter(chunks)).await?;
/// assert_eq!(compression, Compression::Gzip);
/// let all = Blob::new(replay, None).read_to_end(1024).await?;
/// assert_eq!(all, &b"\x1f\x8b\x08rest"[..]);
/// # Ok::<(), ocireg_v1::Error>(())
/// # }).unwrap();
/// ```
pub async fn peek_compression<S>(mut stream: S) -> crate::Result<(Compression, Peeked<S>)>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    let mut queue = VecDeque::new();
    let mut ended = false;
    let compression = loop {
        if let Some(c) = classify_queue(&queue) {
            break c;
        }
        if ended {
            break Compression::None;
        }
        ended = !futures_util::future::poll_fn(|cx| poll_fill(&mut stream, &mut queue, cx))
            .await
            .map_err(Error::from_io)?;
    };
    Ok((
        compression,
        Peeked {
            prefix: queue,
            inner: (!ended).then_some(stream),
        },
    ))
}

/// The stream returned by [`peek_compression`]: the bytes read while peeking,
/// then the rest of the original stream.
pub struct Peeked<S> {
    prefix: VecDeque<Bytes>,
    // `None` once the inner stream is known to have ended (it is not polled again).
    inner: Option<S>,
}

impl<S> Stream for Peeked<S>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(chunk) = self.prefix.pop_front() {
            return Poll::Ready(Some(Ok(chunk)));
        }
        match self.inner.as_mut() {
            Some(inner) => Pin::new(inner).poll_next(cx),
            None => Poll::Ready(None),
        }
    }
}

impl<S> fmt::Debug for Peeked<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Peeked")
            .field("buffered_chunks", &self.prefix.len())
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------
// Decompression
// ---------------------------------------------------------------------------

/// How [`decompress_with`] treats its input.
///
/// ```
/// use ocireg_v1::{Compression, DecompressOptions};
///
/// let opts = DecompressOptions::new()
///     .compression(Compression::Gzip) // do not sniff: the input must be gzip
///     .max_output(1 << 30); // refuse to produce more than 1 GiB
/// # let _ = opts;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecompressOptions {
    compression: Option<Compression>,
    max_output: Option<u64>,
    zstd_window_log_max: u32,
}

impl Default for DecompressOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl DecompressOptions {
    /// Sniff the compression, no output limit, zstd windows up to 2^27 bytes.
    pub const fn new() -> Self {
        Self {
            compression: None,
            max_output: None,
            zstd_window_log_max: DEFAULT_ZSTD_WINDOW_LOG_MAX,
        }
    }

    /// Decode as `compression` instead of sniffing: input that is not in that
    /// format is an error ([`Compression::None`] passes the input through).
    #[must_use]
    pub const fn compression(mut self, compression: Compression) -> Self {
        self.compression = Some(compression);
        self
    }

    /// Fail with [`Error::DecompressedTooLarge`] once more than `limit` bytes
    /// would be produced (a decompression-bomb guard; pass-through data counts too).
    #[must_use]
    pub const fn max_output(mut self, limit: u64) -> Self {
        self.max_output = Some(limit);
        self
    }

    /// The base-2 logarithm of the largest zstd window accepted (default 27,
    /// libzstd's own default; zstd allows up to 31).
    #[must_use]
    pub const fn zstd_window_log_max(mut self, log: u32) -> Self {
        self.zstd_window_log_max = log;
        self
    }
}

/// Sniffs the compression of `stream` and decompresses it, or passes it
/// through unchanged when it is not gzip or zstd.
///
/// ```
/// use std::io::Write as _;
/// use bytes::Bytes;
/// use ocireg_v1::{decompress, Blob};
///
/// let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
/// gz.write_all(b"hello, layer")?;
/// let gz = gz.finish()?;
///
/// # futures_executor::block_on(async {
/// let plain = decompress(Blob::from_bytes(gz));
/// assert_eq!(Blob::new(plain, None).read_to_end(1024).await?, "hello, layer");
///
/// // Not compressed after all: passed through.
/// let same = decompress(Blob::from_bytes("just tar"));
/// assert_eq!(Blob::new(same, None).read_to_end(1024).await?, "just tar");
/// # Ok::<(), ocireg_v1::Error>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn decompress<S>(stream: S) -> Decompressor<S>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    decompress_with(stream, DecompressOptions::new())
}

/// [`decompress`] with options: a forced format, an output limit, a zstd window limit.
pub fn decompress_with<S>(stream: S, options: DecompressOptions) -> Decompressor<S>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    Decompressor {
        inner: stream,
        options,
        queue: VecDeque::new(),
        ended: false,
        mode: match options.compression {
            None => Mode::Sniffing,
            Some(c) => Mode::Start(c),
        },
        compression: options.compression,
        consumed: 0,
        produced: 0,
        buf: Vec::new(),
    }
}

/// The stream returned by [`decompress`] and [`decompress_with`]: the
/// decompressed bytes, in chunks of at most 32 KiB.
///
/// It ends cleanly only after the last gzip member or zstd frame was complete
/// and checked; otherwise its last item is an error (truncated input,
/// trailing bytes that are not another member or frame, a failed checksum).
pub struct Decompressor<S> {
    inner: S,
    options: DecompressOptions,
    /// Input read from `inner` but not yet decoded (or passed through).
    queue: VecDeque<Bytes>,
    /// Whether `inner` has ended.
    ended: bool,
    mode: Mode,
    compression: Option<Compression>,
    /// Compressed bytes handed to the decoder so far.
    consumed: u64,
    /// Bytes produced so far.
    produced: u64,
    /// The output buffer, reused while decoding produces nothing.
    buf: Vec<u8>,
}

enum Mode {
    Sniffing,
    Start(Compression),
    Pass,
    Decode(Box<Codec>),
    Done,
}

impl<S> Decompressor<S> {
    /// The compression being decoded, once known (after sniffing or when forced).
    pub fn compression(&self) -> Option<Compression> {
        self.compression
    }

    /// How many bytes the stream has produced so far.
    pub fn bytes_out(&self) -> u64 {
        self.produced
    }

    fn fail(&mut self, err: Error) -> Poll<Option<io::Result<Bytes>>> {
        self.mode = Mode::Done;
        Poll::Ready(Some(Err(err.into_io())))
    }

    fn decode_error(&self, source: io::Error) -> Error {
        Error::Decompress {
            compression: self.compression.unwrap_or(Compression::None),
            offset: self.consumed,
            source,
        }
    }

    /// Counts produced bytes against the limit and yields them.
    fn emit(&mut self, chunk: Bytes) -> Poll<Option<io::Result<Bytes>>> {
        self.produced += chunk.len() as u64;
        if let Some(limit) = self.options.max_output
            && self.produced > limit
        {
            let compression = self.compression.unwrap_or(Compression::None);
            return self.fail(Error::DecompressedTooLarge { compression, limit });
        }
        Poll::Ready(Some(Ok(chunk)))
    }
}

impl<S> Stream for Decompressor<S>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            match &mut this.mode {
                Mode::Done => return Poll::Ready(None),
                Mode::Sniffing => {
                    let decided = match classify_queue(&this.queue) {
                        None if this.ended => Some(Compression::None),
                        decided => decided,
                    };
                    if let Some(c) = decided {
                        this.mode = Mode::Start(c);
                        continue;
                    }
                }
                Mode::Start(c) => {
                    let c = *c;
                    this.compression = Some(c);
                    this.mode = match Codec::new(c, &this.options) {
                        Ok(None) => Mode::Pass,
                        Ok(Some(codec)) => Mode::Decode(Box::new(codec)),
                        Err(e) => {
                            let err = this.decode_error(e);
                            return this.fail(err);
                        }
                    };
                    continue;
                }
                Mode::Pass => {
                    if let Some(chunk) = this.queue.pop_front() {
                        return this.emit(chunk);
                    }
                    if this.ended {
                        this.mode = Mode::Done;
                        return Poll::Ready(None);
                    }
                }
                Mode::Decode(codec) => {
                    if this.queue.is_empty() && !this.ended {
                        // Fall through to read more input.
                    } else {
                        let input = this.queue.front().map_or(&[][..], |b| &b[..]);
                        let had_input = !input.is_empty();
                        let out = &mut this.buf;
                        out.reserve(OUT_CHUNK);
                        let used = match codec.decode(input, out) {
                            Ok(used) => used,
                            Err(e) => {
                                let err = this.decode_error(e);
                                return this.fail(err);
                            }
                        };
                        if let Some(front) = this.queue.front_mut() {
                            front.advance(used);
                            if front.is_empty() {
                                this.queue.pop_front();
                            }
                        }
                        this.consumed += used as u64;
                        if !this.buf.is_empty() {
                            let chunk = take_output(&mut this.buf);
                            return this.emit(chunk);
                        }
                        if used == 0 {
                            if had_input {
                                let err = this.decode_error(io::Error::new(
                                    io::ErrorKind::InvalidData,
                                    "decoder made no progress",
                                ));
                                return this.fail(err);
                            }
                            // End of input and nothing left to flush.
                            let finished = codec.finish();
                            this.mode = Mode::Done;
                            return match finished {
                                Ok(()) => Poll::Ready(None),
                                Err(e) => {
                                    let err = this.decode_error(e);
                                    this.fail(err)
                                }
                            };
                        }
                        continue;
                    }
                }
            }
            // Every mode that gets here needs more input.
            match ready!(poll_fill(&mut this.inner, &mut this.queue, cx)) {
                Ok(more) => this.ended = !more,
                Err(e) => {
                    this.mode = Mode::Done;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
    }
}

impl<S> fmt::Debug for Decompressor<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decompressor")
            .field("compression", &self.compression)
            .field("options", &self.options)
            .field("bytes_in", &self.consumed)
            .field("bytes_out", &self.produced)
            .finish_non_exhaustive()
    }
}

/// A chunk-driven decoder.
enum Codec {
    Gzip {
        inflate: flate2::Decompress,
        /// The last member ended with its trailer checked.
        member_done: bool,
    },
    Zstd {
        decoder: zstd::stream::raw::Decoder<'static>,
        /// The last frame ended and all its output was flushed.
        frame_done: bool,
    },
}

impl Codec {
    /// A decoder for `compression`, or `None` for pass-through.
    fn new(compression: Compression, options: &DecompressOptions) -> io::Result<Option<Self>> {
        Ok(match compression {
            Compression::None => None,
            Compression::Gzip => Some(Self::Gzip {
                inflate: flate2::Decompress::new_gzip(15),
                member_done: false,
            }),
            Compression::Zstd => {
                let mut decoder = zstd::stream::raw::Decoder::new()?;
                decoder.set_parameter(zstd::stream::raw::DParameter::WindowLogMax(
                    options.zstd_window_log_max,
                ))?;
                Some(Self::Zstd {
                    decoder,
                    frame_done: false,
                })
            }
        })
    }

    /// Decodes from `input` into the spare capacity of `out`; returns how much
    /// input was used. Called with empty input only at the end, to flush.
    fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> io::Result<usize> {
        match self {
            Self::Gzip {
                inflate,
                member_done,
            } => {
                if *member_done {
                    if input.is_empty() {
                        return Ok(0);
                    }
                    // More bytes after a member: they must be another member (Go's multistream).
                    *inflate = flate2::Decompress::new_gzip(15);
                    *member_done = false;
                }
                let before = inflate.total_in();
                let status = inflate
                    .decompress_vec(input, out, flate2::FlushDecompress::None)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                *member_done = status == flate2::Status::StreamEnd;
                used(inflate.total_in() - before)
            }
            Self::Zstd {
                decoder,
                frame_done,
            } => {
                use zstd::stream::raw::{InBuffer, Operation as _, OutBuffer};
                if *frame_done && input.is_empty() {
                    return Ok(0);
                }
                let mut src = InBuffer::around(input);
                let mut dst = OutBuffer::around(out);
                let hint = decoder
                    .run(&mut src, &mut dst)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                *frame_done = hint == 0;
                Ok(src.pos())
            }
        }
    }

    /// Checks, at the end of the input, that the last member or frame was complete.
    fn finish(&self) -> io::Result<()> {
        let (complete, what) = match self {
            Self::Gzip { member_done, .. } => (*member_done, "gzip stream ended inside a member"),
            Self::Zstd { frame_done, .. } => (*frame_done, "zstd stream ended inside a frame"),
        };
        if complete {
            Ok(())
        } else {
            Err(io::Error::new(io::ErrorKind::UnexpectedEof, what))
        }
    }
}

/// Hands the filled part of `buf` out as a chunk, leaving `buf` empty: moved
/// when mostly full, copied when small so that chunks do not pin mostly-empty
/// allocations (and the allocation is reused).
fn take_output(buf: &mut Vec<u8>) -> Bytes {
    if buf.len() >= buf.capacity() / 4 {
        Bytes::from(std::mem::take(buf))
    } else {
        let chunk = Bytes::copy_from_slice(buf);
        buf.clear();
        chunk
    }
}

fn used(n: u64) -> io::Result<usize> {
    usize::try_from(n).map_err(io::Error::other)
}

mod encode;
pub use encode::{GzipEncoder, GzipLevel, gzip};

#[cfg(test)]
mod tests {
    use super::*;
    use futures_executor::block_on;
    use futures_util::{StreamExt as _, stream};
    use proptest::prelude::*;
    use std::io::{Read as _, Write as _};

    /// Deterministic test data: runs of text, zeros and noise, so it compresses a little.
    fn data(len: usize) -> Vec<u8> {
        let mut x: u32 = 0x1234_5678;
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            match (x >> 28) % 4 {
                0 => out.extend_from_slice(b"the quick brown fox "),
                1 => out.extend(std::iter::repeat_n(0u8, (x >> 20) as usize % 64)),
                _ => out.extend((0..16).map(|i| (x >> i).to_le_bytes()[0])),
            }
        }
        out.truncate(len);
        out
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zst(data: &[u8]) -> Vec<u8> {
        zstd::encode_all(data, 3).unwrap()
    }

    /// `bytes` as a stream of chunks cut at `cuts` (sorted, in range).
    fn cut(bytes: &[u8], cuts: &[usize]) -> stream::Iter<std::vec::IntoIter<io::Result<Bytes>>> {
        let bytes = Bytes::copy_from_slice(bytes);
        let mut parts = Vec::new();
        let mut start = 0;
        for &c in cuts.iter().chain([&bytes.len()]) {
            parts.push(Ok(bytes.slice(start..c)));
            start = c;
        }
        stream::iter(parts)
    }

    fn single_bytes(bytes: &[u8]) -> stream::Iter<std::vec::IntoIter<io::Result<Bytes>>> {
        let cuts: Vec<usize> = (1..bytes.len()).collect();
        cut(bytes, &cuts)
    }

    /// Drives a stream to its end: all bytes, then the error that ended it (if any).
    fn run<S>(mut s: S) -> (Vec<u8>, Option<Error>)
    where
        S: Stream<Item = io::Result<Bytes>> + Unpin,
    {
        block_on(async {
            let mut data = Vec::new();
            while let Some(item) = s.next().await {
                match item {
                    Ok(b) => {
                        assert!(
                            b.len() <= OUT_CHUNK.max(1 << 20),
                            "chunk of {} bytes",
                            b.len()
                        );
                        data.extend_from_slice(&b);
                    }
                    Err(e) => {
                        assert!(s.next().await.is_none(), "item after an error");
                        return (data, Some(Error::from_io(e)));
                    }
                }
            }
            (data, None)
        })
    }

    fn ok(result: (Vec<u8>, Option<Error>)) -> Vec<u8> {
        if let Some(e) = result.1 {
            panic!("unexpected error: {e:?}");
        }
        result.0
    }

    fn decode_kind(err: Option<Error>) -> io::ErrorKind {
        match err {
            Some(Error::Decompress { source, .. }) => source.kind(),
            other => panic!("expected a decompression error, got {other:?}"),
        }
    }

    #[test]
    fn classify_table() {
        let cases: &[(&[u8], Option<Compression>)] = &[
            (b"", None),
            (&[0x1f], None),
            (&[0x1f, 0x8b], None),
            (&[0x1f, 0x8b, 0x08], Some(Compression::Gzip)),
            (&[0x1f, 0x8b, 0x08, 0x00, 0xff], Some(Compression::Gzip)),
            (&[0x1f, 0x8b, 0x07], Some(Compression::None)),
            (&[0x1f, 0x00], Some(Compression::None)),
            (&[0x28], None),
            (&[0x28, 0xb5, 0x2f], None),
            (&[0x28, 0xb5, 0x2f, 0xfd], Some(Compression::Zstd)),
            (&[0x28, 0xb5, 0x2f, 0xfe], Some(Compression::None)),
            (b"ustar", Some(Compression::None)),
            (&[0x00], Some(Compression::None)),
        ];
        for (prefix, want) in cases {
            assert_eq!(classify(prefix), *want, "prefix {prefix:02x?}");
            assert_eq!(
                Compression::detect(prefix),
                want.unwrap_or(Compression::None),
                "prefix {prefix:02x?}"
            );
        }
    }

    #[test]
    fn peek_replays_every_byte_whatever_the_chunking() {
        let inputs: Vec<(Vec<u8>, Compression)> = vec![
            (gz(b"x"), Compression::Gzip),
            (zst(b"x"), Compression::Zstd),
            (b"plain tar".to_vec(), Compression::None),
            (vec![0x1f, 0x8b], Compression::None), // shorter than the magic
            (vec![0x28, 0xb5, 0x2f], Compression::None),
            (vec![], Compression::None),
        ];
        for (input, want) in inputs {
            for s in [single_bytes(&input), cut(&input, &[])] {
                let (got, replay) = block_on(peek_compression(s)).unwrap();
                assert_eq!(got, want, "{input:02x?}");
                assert_eq!(ok(run(replay)), input);
            }
        }
    }

    #[test]
    fn gzip_round_trip_at_every_split_position() {
        let plain = data(3000);
        let z = gz(&plain);
        assert_eq!(ok(run(decompress(single_bytes(&z)))), plain);
        for k in 0..=z.len() {
            assert_eq!(ok(run(decompress(cut(&z, &[k])))), plain, "split at {k}");
        }
        // Three chunks with the magic number split every way.
        for a in 0..=4 {
            for b in a..=4 {
                assert_eq!(ok(run(decompress(cut(&z, &[a, b])))), plain, "cuts {a},{b}");
            }
        }
    }

    #[test]
    fn zstd_round_trip_at_every_split_position() {
        let plain = data(3000);
        let z = zst(&plain);
        assert_eq!(ok(run(decompress(single_bytes(&z)))), plain);
        for k in 0..=z.len() {
            assert_eq!(ok(run(decompress(cut(&z, &[k])))), plain, "split at {k}");
        }
        for a in 0..=4 {
            for b in a..=4 {
                assert_eq!(ok(run(decompress(cut(&z, &[a, b])))), plain, "cuts {a},{b}");
            }
        }
    }

    #[test]
    fn large_output_comes_in_bounded_chunks() {
        let plain = vec![7u8; 5 << 20];
        for z in [gz(&plain), zst(&plain)] {
            let mut d = decompress(cut(&z, &[]));
            let mut total = 0;
            while let Some(chunk) = block_on(d.next()) {
                let chunk = chunk.unwrap();
                assert!(chunk.len() <= OUT_CHUNK);
                total += chunk.len();
            }
            assert_eq!(total, plain.len());
            assert_eq!(d.bytes_out(), plain.len() as u64);
        }
    }

    #[test]
    fn multi_member_gzip_decodes_every_member() {
        let mut z = gz(b"first member, ");
        z.extend(gz(b""));
        z.extend(gz(b"second member"));
        // A member with a name, a comment and an extra field, as other tools write.
        let mut named = flate2::GzBuilder::new()
            .filename("layer.tar")
            .comment("hi")
            .extra(vec![1, 2, 3])
            .write(Vec::new(), flate2::Compression::best());
        named.write_all(b", third").unwrap();
        z.extend(named.finish().unwrap());
        assert_eq!(
            ok(run(decompress(single_bytes(&z)))),
            b"first member, second member, third"
        );
        assert_eq!(
            ok(run(decompress(cut(&z, &[])))),
            b"first member, second member, third"
        );
    }

    #[test]
    fn multi_frame_zstd_decodes_every_frame() {
        let mut z = zst(b"frame one, ");
        // A skippable frame (magic 0x184D2A50, 4-byte length, payload) is ignored.
        z.extend([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, b'a', b'b', b'c']);
        z.extend(zst(b"frame two"));
        assert_eq!(
            ok(run(decompress(single_bytes(&z)))),
            b"frame one, frame two"
        );
    }

    #[test]
    fn truncated_input_never_ends_cleanly() {
        let plain = data(2000);
        for (format, z) in [
            (Compression::Gzip, gz(&plain)),
            (Compression::Zstd, zst(&plain)),
        ] {
            for k in 0..z.len() {
                let forced = decompress_with(
                    cut(&z[..k], &[k / 2]),
                    DecompressOptions::new().compression(format),
                );
                let (_, err) = run(forced);
                assert_eq!(
                    decode_kind(err),
                    io::ErrorKind::UnexpectedEof,
                    "{format} cut at {k}"
                );
                if k >= 4 {
                    let (_, err) = run(decompress(cut(&z[..k], &[])));
                    assert_eq!(
                        decode_kind(err),
                        io::ErrorKind::UnexpectedEof,
                        "{format} cut at {k}"
                    );
                }
            }
        }
    }

    #[test]
    fn trailing_bytes_after_gzip_fail_like_go() {
        let z = gz(b"payload");
        for (trailer, kind) in [
            (&b"garbage!"[..], io::ErrorKind::InvalidData),
            (&[0u8; 512][..], io::ErrorKind::InvalidData), // zero padding
            (&[0x1f][..], io::ErrorKind::UnexpectedEof),   // a member that never comes
            (&[0x1f, 0x8b, 0x08, 0][..], io::ErrorKind::UnexpectedEof),
        ] {
            let mut input = z.clone();
            input.extend_from_slice(trailer);
            let (got, err) = run(decompress(cut(&input, &[z.len()])));
            assert_eq!(got, b"payload");
            match err {
                Some(Error::Decompress {
                    compression: Compression::Gzip,
                    offset,
                    source,
                }) => {
                    assert_eq!(source.kind(), kind, "trailer {trailer:02x?}");
                    assert!(offset >= z.len() as u64, "offset {offset}");
                }
                other => panic!("trailer {trailer:02x?}: {other:?}"),
            }
        }
    }

    #[test]
    fn trailing_bytes_after_zstd_fail() {
        let mut z = zst(b"payload");
        z.extend_from_slice(b"garbage!");
        let (_, err) = run(decompress(cut(&z, &[])));
        assert_eq!(decode_kind(err), io::ErrorKind::InvalidData);
    }

    #[test]
    fn corrupt_gzip_is_invalid_data() {
        let mut z = gz(b"payload payload payload");
        let n = z.len();
        z[n - 5] ^= 0xff; // the CRC
        let (_, err) = run(decompress(cut(&z, &[])));
        assert_eq!(decode_kind(err), io::ErrorKind::InvalidData);

        // Forcing gzip on something that is not.
        let forced = decompress_with(
            cut(b"not gzip at all", &[]),
            DecompressOptions::new().compression(Compression::Gzip),
        );
        assert_eq!(decode_kind(run(forced).1), io::ErrorKind::InvalidData);
    }

    #[test]
    fn empty_input() {
        assert!(ok(run(decompress(cut(b"", &[])))).is_empty());
        for format in [Compression::Gzip, Compression::Zstd] {
            let forced =
                decompress_with(cut(b"", &[]), DecompressOptions::new().compression(format));
            assert_eq!(decode_kind(run(forced).1), io::ErrorKind::UnexpectedEof);
        }
        let forced = decompress_with(
            cut(b"", &[]),
            DecompressOptions::new().compression(Compression::None),
        );
        assert!(ok(run(forced)).is_empty());
    }

    #[test]
    fn uncompressed_data_passes_through_untouched() {
        let plain = data(10_000);
        let mut d = decompress(single_bytes(&plain));
        assert_eq!(ok(run(&mut d)), plain);
        assert_eq!(d.compression(), Some(Compression::None));
        // Nearly-magic prefixes are data too.
        for input in [
            &[0x1f, 0x8b][..],
            &[0x1f, 0x8b, 0x09, 1, 2],
            &[0x28, 0xb5, 0x2f],
        ] {
            assert_eq!(ok(run(decompress(single_bytes(input)))), input);
        }
    }

    #[test]
    fn upstream_errors_pass_through() {
        let z = gz(&data(5000));
        let s = cut(&z[..100], &[]).chain(stream::iter([Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "slow",
        ))]));
        let (_, err) = run(decompress(s));
        assert!(matches!(err, Some(Error::Io(e)) if e.kind() == io::ErrorKind::TimedOut));
    }

    #[test]
    fn bomb_guard_stops_at_the_limit() {
        let zeros = vec![0u8; 8 << 20];
        for (format, z) in [
            (Compression::Gzip, gz(&zeros)),
            (Compression::Zstd, zst(&zeros)),
        ] {
            assert!(z.len() < 64 << 10, "{format} bomb is {} bytes", z.len());
            let limit = 1 << 20;
            let (got, err) = run(decompress_with(
                cut(&z, &[]),
                DecompressOptions::new().max_output(limit),
            ));
            assert!(got.len() as u64 <= limit);
            assert!(
                matches!(err, Some(Error::DecompressedTooLarge { compression, limit: l }) if compression == format && l == limit),
                "{format}: {err:?}"
            );
            // Exactly at the limit is fine.
            let exact = decompress_with(
                cut(&z, &[]),
                DecompressOptions::new().max_output(zeros.len() as u64),
            );
            assert_eq!(ok(run(exact)).len(), zeros.len());
        }
        // Pass-through data counts too.
        let (_, err) = run(decompress_with(
            cut(b"0123456789", &[4]),
            DecompressOptions::new().max_output(5),
        ));
        assert!(matches!(
            err,
            Some(Error::DecompressedTooLarge {
                compression: Compression::None,
                limit: 5
            })
        ));
    }

    #[test]
    fn zstd_frames_asking_for_huge_windows_are_refused() {
        // Frame header: magic, descriptor (no single segment, no checksum), then a
        // window descriptor with exponent 21: 2^(10+21) = 2 GiB. One raw block follows.
        let frame = [
            0x28,
            0xb5,
            0x2f,
            0xfd,
            0x00,
            21 << 3,
            0x09,
            0x00,
            0x00,
            b'x',
        ];
        let (_, err) = run(decompress(cut(&frame, &[])));
        assert_eq!(decode_kind(err), io::ErrorKind::InvalidData);
        // The same frame with a 1 KiB window decodes, so it is the window that was refused.
        let small = [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x00, 0x09, 0x00, 0x00, b'x'];
        assert_eq!(ok(run(decompress(cut(&small, &[])))), b"x");
        // Raising the limit lets the 2 GiB window through (nothing is allocated for one byte).
        let raised = decompress_with(
            cut(&frame, &[]),
            DecompressOptions::new().zstd_window_log_max(31),
        );
        assert_eq!(ok(run(raised)), b"x");
    }

    #[test]
    fn gzip_compresses_megabytes_in_small_chunks() {
        let plain = data(3 << 20);
        let chunks: Vec<usize> = (1..plain.len()).step_by(1000).collect();
        let mut enc = gzip(cut(&plain, &chunks), GzipLevel::default());
        let mut out = Vec::new();
        let mut first_output_at = None;
        while let Some(chunk) = block_on(enc.next()) {
            let chunk = chunk.unwrap();
            assert!(!chunk.is_empty());
            if first_output_at.is_none() && chunk.len() > 10 {
                first_output_at = Some(enc.bytes_in());
            }
            out.extend_from_slice(&chunk);
        }
        // Output flowed long before the input ended: nothing buffers the whole input.
        let first = first_output_at.unwrap();
        assert!(
            first < plain.len() as u64 / 4,
            "first compressed output after {first} bytes"
        );
        // Go's header: no flags, no mtime, XFL 4 (fastest), OS unknown.
        assert_eq!(out[..10], [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 4, 0xff]);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&out[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, plain);
        assert!(out.len() < plain.len());
    }

    #[test]
    fn gzip_levels_and_empty_input() {
        let plain = data(50_000);
        for level in [0, 1, 6, 9] {
            let level = GzipLevel::new(level).unwrap();
            let out = ok(run(gzip(
                single_bytes(&plain[..2000]).chain(cut(&plain[2000..], &[])),
                level,
            )));
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&out[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, plain, "level {level:?}");
            assert_eq!(ok(run(decompress(cut(&out, &[])))), plain);
        }
        assert_eq!(GzipLevel::new(10), None);
        assert_eq!(GzipLevel::default(), GzipLevel::BEST_SPEED);
        let empty = ok(run(gzip(cut(b"", &[]), GzipLevel::BEST_COMPRESSION)));
        assert_eq!(empty[8], 2, "XFL for the best compression");
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&empty[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(back.is_empty());
    }

    #[test]
    fn gzip_encoder_passes_errors_on() {
        let s = cut(b"abc", &[]).chain(stream::iter([Err(io::Error::new(
            io::ErrorKind::BrokenPipe,
            "gone",
        ))]));
        let (_, err) = run(gzip(s, GzipLevel::default()));
        assert!(matches!(err, Some(Error::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe));
    }

    /// A stream that panics when polled again after it ended.
    struct Strict {
        chunks: VecDeque<Bytes>,
        ended: bool,
    }

    impl Stream for Strict {
        type Item = io::Result<Bytes>;

        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            assert!(!self.ended, "polled after the end");
            let next = self.chunks.pop_front();
            self.ended = next.is_none();
            Poll::Ready(next.map(Ok))
        }
    }

    fn strict(parts: &[&[u8]]) -> Strict {
        Strict {
            chunks: parts.iter().map(|p| Bytes::copy_from_slice(p)).collect(),
            ended: false,
        }
    }

    #[test]
    fn ended_input_is_never_polled_again() {
        let z = gz(b"abc");
        let inputs: [&[&[u8]]; 5] = [&[], &[&[0x1f]], &[b"plain"], &[&z[..2], &z[2..]], &[&z]];
        for parts in inputs {
            let want: Vec<u8> = if parts.concat() == z {
                b"abc".to_vec()
            } else {
                parts.concat()
            };
            assert_eq!(ok(run(decompress(strict(parts)))), want);
            let (_, replay) = block_on(peek_compression(strict(parts))).unwrap();
            assert_eq!(ok(run(replay)), parts.concat());
        }
        let forced = decompress_with(
            strict(&[&z[..5]]),
            DecompressOptions::new().compression(Compression::Gzip),
        );
        assert!(run(forced).1.is_some());
        let mut v = crate::verify(strict(&[b"abc"]), crate::sha256(b"abc"), Some(3));
        assert_eq!(ok(run(&mut v)), b"abc");
        assert!(v.is_verified());
        assert!(ok(run(gzip(strict(&[b"abc"]), GzipLevel::default()))).len() > 10);
    }

    #[test]
    fn adapters_fit_in_a_blob() {
        fn assert_send<T: Send + 'static>(_: &T) {}
        let z = gz(b"abc");
        let d = decompress(crate::Blob::from_bytes(z));
        assert_send(&d);
        let e = gzip(crate::Blob::from_bytes("abc"), GzipLevel::default());
        assert_send(&e);
        let round = crate::Blob::new(decompress(crate::Blob::new(e, None)), None);
        assert_eq!(block_on(round.read_to_end(16)).unwrap(), "abc");
        assert_eq!(ok(run(d)), b"abc");
    }

    fn sorted_cuts(len: usize, raw: &[usize]) -> Vec<usize> {
        let mut cuts: Vec<usize> = raw.iter().map(|c| c % (len + 1)).collect();
        cuts.sort_unstable();
        cuts
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Our gzip then our decoder, both fed random chunkings, give back the input.
        #[test]
        fn gzip_round_trips_with_random_chunking(
            plain in proptest::collection::vec(prop_oneof![Just(0u8), any::<u8>()], 0..20_000),
            in_cuts in proptest::collection::vec(any::<usize>(), 0..16),
            out_cuts in proptest::collection::vec(any::<usize>(), 0..16),
        ) {
            let z = ok(run(gzip(cut(&plain, &sorted_cuts(plain.len(), &in_cuts)), GzipLevel::default())));
            let back = ok(run(decompress(cut(&z, &sorted_cuts(z.len(), &out_cuts)))));
            prop_assert_eq!(back, plain);
        }

        /// zstd from the reference encoder, fed to our decoder in random chunks.
        #[test]
        fn zstd_round_trips_with_random_chunking(
            plain in proptest::collection::vec(prop_oneof![Just(0u8), any::<u8>()], 0..20_000),
            cuts in proptest::collection::vec(any::<usize>(), 0..16),
        ) {
            let z = zst(&plain);
            let back = ok(run(decompress(cut(&z, &sorted_cuts(z.len(), &cuts)))));
            prop_assert_eq!(back, plain);
        }
    }
}
