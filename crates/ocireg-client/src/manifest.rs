//! [`ManifestResult`]: what [`Client::get_manifest`](crate::Client::get_manifest) returns.

use ocireg_name::{Digest, Reference};
use ocireg_v1::bytes::Bytes;
use ocireg_v1::{AnyManifest, Descriptor, IndexManifest, Manifest, MediaType};

use crate::error::{Error, Result};

/// A manifest as fetched: an image manifest or an index, with its descriptor (media type,
/// size, digest) and exact bytes (the Deckhouse `ManifestResult`).
///
/// Match on [`kind`](Self::kind), or ask [`manifest`](Self::manifest) /
/// [`index_manifest`](Self::index_manifest), which fail with
/// [`Error::WrongManifestKind`] for the other kind.
#[derive(Clone, Debug)]
pub struct ManifestResult {
    reference: Reference,
    descriptor: Descriptor,
    raw: Bytes,
    kind: Option<AnyManifest>,
}

impl ManifestResult {
    pub(crate) fn new(got: &ocireg_remote::RemoteDescriptor) -> Self {
        Self {
            reference: got.reference().clone(),
            descriptor: got.descriptor().clone(),
            raw: got.raw_manifest().clone(),
            kind: got.manifest().cloned(),
        }
    }

    /// The reference it was fetched by.
    pub fn reference(&self) -> &Reference {
        &self.reference
    }

    /// Its descriptor: media type, size, digest (the Deckhouse `GetDescriptor`).
    pub fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    /// Its media type (the Deckhouse `GetMediaType`); `.is_index()` tells a multi-platform
    /// index.
    pub fn media_type(&self) -> &MediaType {
        &self.descriptor.media_type
    }

    /// Its digest.
    pub fn digest(&self) -> Digest {
        self.descriptor.digest
    }

    /// Its size in bytes.
    pub fn size(&self) -> u64 {
        self.descriptor.size
    }

    /// The exact bytes the registry sent.
    pub fn raw(&self) -> &Bytes {
        &self.raw
    }

    /// The parsed manifest, image or index; `None` for a kind we do not parse (schema 1).
    pub fn kind(&self) -> Option<&AnyManifest> {
        self.kind.as_ref()
    }

    /// Whether it is an index (or a docker manifest list).
    pub fn is_index(&self) -> bool {
        matches!(self.kind, Some(AnyManifest::Index(_)))
    }

    /// The image manifest (the Deckhouse `GetManifest`); an error for an index.
    pub fn manifest(&self) -> Result<&Manifest> {
        match &self.kind {
            Some(AnyManifest::Image(doc)) => Ok(doc.value()),
            _ => Err(self.wrong("an image manifest")),
        }
    }

    /// The index (the Deckhouse `GetIndexManifest`); an error for an image manifest.
    pub fn index_manifest(&self) -> Result<&IndexManifest> {
        match &self.kind {
            Some(AnyManifest::Index(doc)) => Ok(doc.value()),
            _ => Err(self.wrong("an index")),
        }
    }

    fn wrong(&self, wanted: &'static str) -> Error {
        Error::WrongManifestKind {
            reference: Box::new(self.reference.clone()),
            wanted,
            actual: self.descriptor.media_type.to_string(),
        }
    }
}
