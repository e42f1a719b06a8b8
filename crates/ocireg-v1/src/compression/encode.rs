//! Streaming gzip compression (the encoder half of [`crate::compression`]).

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_core::Stream;

use super::{take_output, used};

/// A gzip compression level, 0 (store) to 9 (smallest).
///
/// The default is [`GzipLevel::BEST_SPEED`], which ggcr uses for every layer it
/// compresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GzipLevel(u8);

impl GzipLevel {
    /// Level 0: deflate "stored" blocks, no compression.
    pub const NONE: Self = Self(0);
    /// Level 1 (Go's `gzip.BestSpeed`), the default.
    pub const BEST_SPEED: Self = Self(1);
    /// Level 6, what Go's `gzip.DefaultCompression` means.
    pub const DEFAULT_COMPRESSION: Self = Self(6);
    /// Level 9 (Go's `gzip.BestCompression`).
    pub const BEST_COMPRESSION: Self = Self(9);

    /// The level `level`, or `None` above 9.
    pub const fn new(level: u32) -> Option<Self> {
        if level <= 9 {
            #[expect(clippy::cast_possible_truncation, reason = "checked to be at most 9")]
            Some(Self(level as u8))
        } else {
            None
        }
    }

    /// The level as a number, 0 to 9.
    pub const fn get(self) -> u32 {
        self.0 as u32
    }
}

impl Default for GzipLevel {
    fn default() -> Self {
        Self::BEST_SPEED
    }
}

/// Compresses `stream` with gzip on the fly, at `level`.
///
/// Output chunks are produced as input flows, never buffering the whole
/// input. The header is Go's (no name, no mtime, OS "unknown", the XFL byte
/// set for levels 1 and 9), so a layer compressed here differs from ggcr's only
/// in the deflate data.
///
/// ```
/// use std::io::Read as _;
/// use ocireg_v1::{gzip, Blob, GzipLevel};
///
/// # futures_executor::block_on(async {
/// let gz = Blob::new(gzip(Blob::from_bytes("some layer"), GzipLevel::default()), None)
///     .read_to_end(1024)
///     .await?;
/// let mut plain = String::new();
/// flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut plain)?;
/// assert_eq!(plain, "some layer");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn gzip<S>(stream: S, level: GzipLevel) -> GzipEncoder<S>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    GzipEncoder {
        inner: stream,
        deflate: flate2::Compress::new(flate2::Compression::new(level.get()), false),
        crc: flate2::Crc::new(),
        level,
        header_sent: false,
        done: false,
        buf: Vec::new(),
    }
}

/// The stream returned by [`gzip`]: a single gzip member.
pub struct GzipEncoder<S> {
    inner: S,
    deflate: flate2::Compress,
    crc: flate2::Crc,
    level: GzipLevel,
    header_sent: bool,
    done: bool,
    /// The output buffer, reused while compression produces nothing.
    buf: Vec<u8>,
}

impl<S> GzipEncoder<S> {
    /// The input stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The input stream, mutably (reading from it directly loses those bytes).
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Uncompressed bytes read so far.
    pub fn bytes_in(&self) -> u64 {
        self.deflate.total_in()
    }

    /// Puts the gzip header in front of the first output.
    fn start(&mut self) {
        if !self.header_sent {
            self.header_sent = true;
            let xfl = match self.level.0 {
                1 => 4,
                9 => 2,
                _ => 0,
            };
            self.buf
                .extend_from_slice(&[0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, xfl, 0xff]);
        }
    }

    fn compress(&mut self, mut input: &[u8]) -> io::Result<()> {
        self.crc.update(input);
        while !input.is_empty() {
            self.buf.reserve(input.len() / 2 + 1024);
            let before = self.deflate.total_in();
            self.deflate
                .compress_vec(input, &mut self.buf, flate2::FlushCompress::None)
                .map_err(io::Error::other)?;
            input = &input[used(self.deflate.total_in() - before)?..];
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        loop {
            self.buf.reserve(4096);
            let status = self
                .deflate
                .compress_vec(&[], &mut self.buf, flate2::FlushCompress::Finish)
                .map_err(io::Error::other)?;
            if status == flate2::Status::StreamEnd {
                break;
            }
        }
        self.buf.extend_from_slice(&self.crc.sum().to_le_bytes());
        self.buf.extend_from_slice(&self.crc.amount().to_le_bytes());
        Ok(())
    }
}

impl<S> Stream for GzipEncoder<S>
where
    S: Stream<Item = io::Result<Bytes>> + Unpin,
{
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            let polled = ready!(Pin::new(&mut this.inner).poll_next(cx));
            this.start();
            let result = match polled {
                Some(Ok(chunk)) => this.compress(&chunk),
                Some(Err(e)) => Err(e),
                None => {
                    this.done = true;
                    this.finish()
                }
            };
            if let Err(e) = result {
                this.done = true;
                this.buf = Vec::new();
                return Poll::Ready(Some(Err(e)));
            }
            if !this.buf.is_empty() {
                return Poll::Ready(Some(Ok(take_output(&mut this.buf))));
            }
        }
    }
}

impl<S> fmt::Debug for GzipEncoder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GzipEncoder")
            .field("level", &self.level)
            .field("bytes_in", &self.deflate.total_in())
            .field("bytes_out", &self.deflate.total_out())
            .finish_non_exhaustive()
    }
}
