//! What a push takes: [`RawManifest`], manifest bytes with their media type (ggcr's
//! `Taggable`), and [`Writable`], an image or an index.

use std::sync::Arc;

use bytes::Bytes;
use ocireg_v1::{Digest, Image, ImageIndex, MediaType};

use crate::error::{Error, Result, Subject};

/// A manifest as bytes with its media type: what a registry stores under a tag or digest
/// (ggcr's `Taggable`). The bytes are pushed exactly as they are.
///
/// ```
/// use ocireg_remote::RawManifest;
/// use ocireg_v1::MediaType;
///
/// let m = RawManifest::new(r#"{"schemaVersion":2}"#, MediaType::OciImageIndex);
/// assert_eq!(m.digest(), ocireg_v1::sha256(br#"{"schemaVersion":2}"#));
/// assert_eq!(m.size(), 19);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawManifest {
    bytes: Bytes,
    media_type: MediaType,
    digest: Digest,
}

impl RawManifest {
    /// Manifest `bytes` of `media_type` (its digest is the SHA-256 of the bytes).
    pub fn new(bytes: impl Into<Bytes>, media_type: MediaType) -> Self {
        let bytes = bytes.into();
        Self {
            digest: ocireg_v1::sha256(&bytes),
            bytes,
            media_type,
        }
    }

    /// Manifest bytes addressed by `digest` (any algorithm), checked.
    pub fn with_digest(
        bytes: impl Into<Bytes>,
        media_type: MediaType,
        digest: Digest,
    ) -> Result<Self> {
        let bytes = bytes.into();
        let actual = ocireg_v1::digest_of(digest.algorithm(), &bytes);
        if actual != digest {
            return Err(Error::content(
                "checking manifest",
                Subject::from(digest),
                ocireg_v1::Error::DigestMismatch {
                    expected: digest,
                    actual,
                },
            ));
        }
        Ok(Self {
            bytes,
            media_type,
            digest,
        })
    }

    /// The exact bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The media type (sent as `Content-Type`).
    pub fn media_type(&self) -> &MediaType {
        &self.media_type
    }

    /// The digest of the bytes.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// The size of the bytes.
    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }
}

/// Something [`write`](crate::Pusher::push) can push: an image or an index.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Writable {
    /// An image (manifest, config, layers).
    Image(Arc<dyn Image>),
    /// An index (and every child, recursively).
    Index(Arc<dyn ImageIndex>),
}

impl From<Arc<dyn Image>> for Writable {
    fn from(img: Arc<dyn Image>) -> Self {
        Self::Image(img)
    }
}

impl From<Arc<dyn ImageIndex>> for Writable {
    fn from(idx: Arc<dyn ImageIndex>) -> Self {
        Self::Index(idx)
    }
}

impl Writable {
    /// The manifest bytes and media type (for a streaming image this fails until its
    /// layers have been consumed).
    pub async fn raw_manifest(&self) -> Result<RawManifest> {
        let (bytes, media_type, digest) = match self {
            Self::Image(i) => (
                i.raw_manifest().await?,
                i.media_type().await?,
                i.digest().await?,
            ),
            Self::Index(i) => (
                i.raw_manifest().await?,
                i.media_type().await?,
                i.digest().await?,
            ),
        };
        RawManifest::with_digest(bytes, media_type, digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_manifest_checks_its_digest() {
        let d = ocireg_v1::sha256(b"{}");
        assert!(RawManifest::with_digest("{}", MediaType::OciManifest, d).is_ok());
        assert!(RawManifest::with_digest("{ }", MediaType::OciManifest, d).is_err());
    }
}
