//! A streaming zstd encoder (ocireg-v1 has a gzip one only), for layers made
//! from plain tars with zstd compression (ggcr `WithCompression(ZStd)`).

use std::io::Write as _;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_core::Stream;

/// Compresses `inner` with zstd at `level`, chunk by chunk: one frame,
/// deterministic for a given level.
pub(crate) struct ZstdEncoder<S> {
    inner: S,
    encoder: Option<zstd::stream::write::Encoder<'static, Vec<u8>>>,
}

impl<S> ZstdEncoder<S> {
    pub(crate) fn new(inner: S, level: i32) -> std::io::Result<Self> {
        Ok(Self {
            inner,
            encoder: Some(zstd::stream::write::Encoder::new(Vec::new(), level)?),
        })
    }
}

impl<S> Stream for ZstdEncoder<S>
where
    S: Stream<Item = std::io::Result<Bytes>> + Unpin,
{
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            let Some(encoder) = this.encoder.as_mut() else {
                return Poll::Ready(None);
            };
            match ready!(Pin::new(&mut this.inner).poll_next(cx)) {
                Some(Ok(chunk)) => {
                    if let Err(e) = encoder.write_all(&chunk) {
                        this.encoder = None;
                        return Poll::Ready(Some(Err(e)));
                    }
                    let out = std::mem::take(encoder.get_mut());
                    if !out.is_empty() {
                        return Poll::Ready(Some(Ok(Bytes::from(out))));
                    }
                }
                Some(Err(e)) => {
                    this.encoder = None;
                    return Poll::Ready(Some(Err(e)));
                }
                None => {
                    let Some(encoder) = this.encoder.take() else {
                        return Poll::Ready(None);
                    };
                    return match encoder.finish() {
                        Ok(out) if out.is_empty() => Poll::Ready(None),
                        Ok(out) => Poll::Ready(Some(Ok(Bytes::from(out)))),
                        Err(e) => Poll::Ready(Some(Err(e))),
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::TryStreamExt as _;

    #[test]
    fn round_trips_and_is_deterministic() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let run = || {
            let chunks: Vec<std::io::Result<Bytes>> = data
                .chunks(7000)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            let enc = ZstdEncoder::new(futures_util::stream::iter(chunks), 3).expect("encoder");
            let chunks: Vec<Bytes> = futures_executor::block_on(enc.try_collect()).expect("encode");
            chunks.concat()
        };
        let a = run();
        assert_eq!(a, run());
        assert_eq!(zstd::decode_all(&a[..]).expect("decode"), data);
    }
}
