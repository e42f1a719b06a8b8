//! [`StaticLayer`]: a layer made of bytes already in memory (ggcr's `pkg/v1/static`).

use std::fmt;
use std::sync::OnceLock;

use bytes::Bytes;

use crate::{Blob, Digest, Error, MediaType, Result, digest_of, sha256};

/// A layer whose content is a buffer in memory, served as is.
///
/// The compressed and uncompressed forms are the same bytes, so the digest
/// is the diff id (as in ggcr's `static.NewLayer`, whatever the media type
/// says). Use it for configs, small artifacts and test fixtures; real layers
/// are streamed. Cloning is cheap: the bytes are shared.
///
/// ```
/// use ocireg_v1::{sha256, MediaType, StaticLayer};
///
/// let layer = StaticLayer::new("{}", MediaType::OciEmpty);
/// assert_eq!(layer.digest(), sha256(b"{}"));
/// assert_eq!(layer.diff_id(), layer.digest());
/// assert_eq!(layer.size(), 2);
/// # futures_executor::block_on(async {
/// assert_eq!(layer.compressed().read_to_end(16).await?, "{}");
/// # Ok::<(), ocireg_v1::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct StaticLayer {
    bytes: Bytes,
    media_type: MediaType,
    /// SHA-256 of `bytes` unless given (and checked) at construction; computed on first use.
    digest: OnceLock<Digest>,
}

impl StaticLayer {
    /// A layer of `bytes` with `media_type`; its digest is their SHA-256.
    pub fn new(bytes: impl Into<Bytes>, media_type: MediaType) -> Self {
        Self {
            bytes: bytes.into(),
            media_type,
            digest: OnceLock::new(),
        }
    }

    /// A layer of `bytes` addressed by `digest`, e.g. a config known by the
    /// digest a manifest gives it (possibly SHA-512).
    ///
    /// Fails with [`Error::DigestMismatch`] when the bytes do not hash to `digest`.
    pub fn with_digest(
        bytes: impl Into<Bytes>,
        media_type: MediaType,
        digest: Digest,
    ) -> Result<Self> {
        let bytes = bytes.into();
        let actual = digest_of(digest.algorithm(), &bytes);
        if actual != digest {
            return Err(Error::DigestMismatch {
                expected: digest,
                actual,
            });
        }
        Ok(Self {
            bytes,
            media_type,
            digest: OnceLock::from(digest),
        })
    }

    /// The layer's content.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The digest of the content (SHA-256 unless given to [`StaticLayer::with_digest`]).
    pub fn digest(&self) -> Digest {
        *self.digest.get_or_init(|| sha256(&self.bytes))
    }

    /// The same as [`StaticLayer::digest`]: the content is not compressed separately.
    pub fn diff_id(&self) -> Digest {
        self.digest()
    }

    /// The size of the content in bytes.
    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// The media type given at construction.
    pub fn media_type(&self) -> &MediaType {
        &self.media_type
    }

    /// The content as a blob (no copy).
    pub fn compressed(&self) -> Blob {
        Blob::from_bytes(self.bytes.clone())
    }

    /// The content as a blob: the same bytes as [`StaticLayer::compressed`].
    pub fn uncompressed(&self) -> Blob {
        self.compressed()
    }
}

impl fmt::Debug for StaticLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticLayer")
            .field("media_type", &self.media_type)
            .field("size", &self.bytes.len())
            .field("digest", &self.digest.get())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Algorithm;
    use futures_executor::block_on;

    #[test]
    fn digests_sizes_and_blobs() {
        let content = Bytes::from_static(b"some layer bytes");
        let layer = StaticLayer::new(content.clone(), MediaType::DockerLayer);
        let want: Digest =
            "sha256:ee7ef0c56fd26288866931a6a67c45b228f00d3d452a740f08ed6dd42c1e378c"
                .parse()
                .unwrap();
        assert_eq!(sha256(&content), want, "known vector");
        assert_eq!(layer.digest(), want);
        assert_eq!(layer.diff_id(), want);
        assert_eq!(layer.size(), 16);
        assert_eq!(layer.media_type(), &MediaType::DockerLayer);
        assert_eq!(
            block_on(layer.compressed().read_to_end(100)).unwrap(),
            content
        );
        assert_eq!(
            block_on(layer.uncompressed().read_to_end(100)).unwrap(),
            content
        );
        assert_eq!(layer.compressed().size(), Some(16));
        // Blobs are independent and repeatable.
        assert_eq!(
            block_on(layer.compressed().read_to_end(100)).unwrap(),
            content
        );
    }

    #[test]
    fn empty_layer() {
        let layer = StaticLayer::new(Bytes::new(), MediaType::OciUncompressedLayer);
        assert_eq!(
            layer.digest().to_string(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(layer.size(), 0);
        assert!(
            block_on(layer.compressed().read_to_end(0))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn clones_share_the_bytes() {
        let layer = StaticLayer::new(vec![1u8; 1024], MediaType::OciLayer);
        let copy = layer.clone();
        assert_eq!(copy.bytes().as_ptr(), layer.bytes().as_ptr());
        assert_eq!(copy.digest(), layer.digest());
    }

    #[test]
    fn with_digest_checks_and_keeps_the_algorithm() {
        let d512 = digest_of(Algorithm::Sha512, b"{}");
        let layer = StaticLayer::with_digest("{}", MediaType::OciConfig, d512).unwrap();
        assert_eq!(layer.digest(), d512);
        assert_eq!(layer.diff_id(), d512);

        let err = StaticLayer::with_digest("{ }", MediaType::OciConfig, sha256(b"{}")).unwrap_err();
        assert!(
            matches!(err, Error::DigestMismatch { expected, actual } if expected == sha256(b"{}") && actual == sha256(b"{ }")),
            "{err:?}"
        );
    }
}
