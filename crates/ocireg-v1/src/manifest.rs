//! [`Manifest`] and [`IndexManifest`] (ggcr's `v1.Manifest`, `v1.IndexManifest`),
//! and [`Document`], which keeps a parsed document next to its exact bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Deref;

use bytes::Bytes;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::gojson::{self, empty_as_none, is_empty_media_type, null_default};
use crate::{Algorithm, ConfigFile, Descriptor, Digest, Error, MediaType, Result};

/// An image manifest: a config descriptor and the layers, base first.
///
/// Fields serialise in ggcr's order: `schemaVersion`, `mediaType` (when
/// set), `config`, `layers`, then `annotations`, `subject`, `artifactType`
/// when set, then any unknown fields (kept from parsing, sorted by key).
///
/// Parse untrusted bytes with [`Manifest::parse`] or [`Document::parse`],
/// which reject what ggcr would silently accept: duplicate keys, invalid
/// UTF-8, index fields (`manifests`), and a `mediaType` that is not an image
/// manifest type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Manifest {
    /// Always 2 for OCI and Docker schema 2 manifests.
    pub schema_version: i64,
    /// The manifest's own media type, when written into it.
    #[serde(
        default,
        deserialize_with = "empty_as_none",
        skip_serializing_if = "is_empty_media_type"
    )]
    pub media_type: Option<MediaType>,
    /// The config blob.
    pub config: Descriptor,
    /// The layers, base first.
    #[serde(deserialize_with = "null_default")]
    pub layers: Vec<Descriptor>,
    /// Arbitrary string metadata.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
    /// The manifest this one refers to (OCI 1.1 referrers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// The artifact type (OCI 1.1), when the config does not say it.
    #[serde(
        default,
        deserialize_with = "empty_as_none",
        skip_serializing_if = "is_empty_media_type"
    )]
    pub artifact_type: Option<MediaType>,
    /// Fields ggcr does not know, kept so that a parsed and re-written
    /// manifest loses nothing (ggcr drops them).
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// An image index (or Docker manifest list): a list of child manifests.
///
/// Fields serialise in ggcr's order: `schemaVersion`, `mediaType` (when
/// set), `manifests` (always, `[]` when empty), then `annotations`,
/// `subject`, `artifactType` when set, then unknown fields.
///
/// ```
/// use ocireg_v1::{Document, IndexManifest, MediaType};
///
/// let doc = Document::from_value(IndexManifest::new(MediaType::OciImageIndex))?;
/// assert_eq!(
///     doc.bytes().as_ref(),
///     br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#
/// );
/// assert_eq!(doc.size(), 88);
/// assert_eq!(doc.digest().to_string(), "sha256:dff9de10919148711140d349bf03f1a99eb06f94b03e51715ccebfa7cdc518e2");
/// # Ok::<(), ocireg_v1::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct IndexManifest {
    /// Always 2.
    pub schema_version: i64,
    /// The index's own media type, when written into it.
    #[serde(
        default,
        deserialize_with = "empty_as_none",
        skip_serializing_if = "is_empty_media_type"
    )]
    pub media_type: Option<MediaType>,
    /// The children: images, indexes or anything else.
    #[serde(deserialize_with = "null_default")]
    pub manifests: Vec<Descriptor>,
    /// Arbitrary string metadata.
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
    /// The manifest this one refers to (OCI 1.1 referrers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Descriptor>,
    /// The artifact type (OCI 1.1).
    #[serde(
        default,
        deserialize_with = "empty_as_none",
        skip_serializing_if = "is_empty_media_type"
    )]
    pub artifact_type: Option<MediaType>,
    /// Fields ggcr does not know, kept on round trips.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

const IMAGE: &str = "image manifest";
/// Every top-level field of either kind, for the case-variant check (a
/// `Manifests` key in an image manifest must not slip past the ambiguity check).
const FIELDS: &[&str] = &[
    "schemaVersion",
    "mediaType",
    "config",
    "layers",
    "manifests",
    "annotations",
    "subject",
    "artifactType",
];
const INDEX: &str = "image index";

impl Manifest {
    /// An empty schema-2 manifest of the given media type around `config`.
    pub fn new(media_type: MediaType, config: Descriptor) -> Self {
        Self {
            schema_version: 2,
            media_type: Some(media_type),
            config,
            layers: Vec::new(),
            annotations: BTreeMap::new(),
            subject: None,
            artifact_type: None,
            extra: BTreeMap::new(),
        }
    }

    /// The same manifest with `layers` in place of its own.
    #[must_use]
    pub fn with_layers(mut self, layers: Vec<Descriptor>) -> Self {
        self.layers = layers;
        self
    }

    /// The same manifest with `annotations` in place of its own.
    #[must_use]
    pub fn with_annotations(mut self, annotations: BTreeMap<String, String>) -> Self {
        self.annotations = annotations;
        self
    }

    /// The same manifest with `subject` set (OCI 1.1 referrers).
    #[must_use]
    pub fn with_subject(mut self, subject: Descriptor) -> Self {
        self.subject = Some(subject);
        self
    }

    /// The same manifest with `artifact_type` set.
    #[must_use]
    pub fn with_artifact_type(mut self, artifact_type: MediaType) -> Self {
        self.artifact_type = Some(artifact_type);
        self
    }

    /// Parses an image manifest from untrusted bytes (see the type's docs
    /// for what is rejected).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let manifest: Self = parse_kind(bytes, IMAGE, &["manifests"])?;
        check_media_type(IMAGE, manifest.media_type.as_ref(), MediaType::is_image)?;
        Ok(manifest)
    }
}

impl IndexManifest {
    /// An empty schema-2 index of the given media type.
    pub fn new(media_type: MediaType) -> Self {
        Self {
            schema_version: 2,
            media_type: Some(media_type),
            manifests: Vec::new(),
            annotations: BTreeMap::new(),
            subject: None,
            artifact_type: None,
            extra: BTreeMap::new(),
        }
    }

    /// The same index with `manifests` in place of its own.
    #[must_use]
    pub fn with_manifests(mut self, manifests: Vec<Descriptor>) -> Self {
        self.manifests = manifests;
        self
    }

    /// The same index with `annotations` in place of its own.
    #[must_use]
    pub fn with_annotations(mut self, annotations: BTreeMap<String, String>) -> Self {
        self.annotations = annotations;
        self
    }

    /// The same index with `subject` set (OCI 1.1 referrers).
    #[must_use]
    pub fn with_subject(mut self, subject: Descriptor) -> Self {
        self.subject = Some(subject);
        self
    }

    /// The same index with `artifact_type` set.
    #[must_use]
    pub fn with_artifact_type(mut self, artifact_type: MediaType) -> Self {
        self.artifact_type = Some(artifact_type);
        self
    }

    /// Parses an image index from untrusted bytes: like [`Manifest::parse`],
    /// rejecting image fields (`config`, `layers`) and a `mediaType` that is
    /// not an index type.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let index: Self = parse_kind(bytes, INDEX, &["config", "layers"])?;
        check_media_type(INDEX, index.media_type.as_ref(), MediaType::is_index)?;
        Ok(index)
    }

    /// The child to pull for `platform` (see [`crate::Platform::select`]).
    pub fn child_for_platform(&self, platform: &crate::Platform) -> Option<&Descriptor> {
        crate::Platform::select(&self.manifests, platform)
    }
}

/// Parses a manifest of kind `what` strictly (duplicate keys, invalid
/// UTF-8), rejecting the `foreign` fields of the other kind and case
/// variants of any known field.
fn parse_kind<T: DeserializeOwned>(
    bytes: &[u8],
    what: &'static str,
    foreign: &[&str],
) -> Result<T> {
    let (value, keys): (T, _) = gojson::parse_strict(bytes, what)?;
    reject_fields(&keys, what, foreign)?;
    gojson::reject_case_variants(&keys, FIELDS, what)?;
    Ok(value)
}

/// Rejects a media type written into a manifest of kind `what` that `fits`
/// says is not of that kind.
fn check_media_type(
    what: &'static str,
    media_type: Option<&MediaType>,
    fits: fn(&MediaType) -> bool,
) -> Result<()> {
    match media_type {
        Some(mt) if !fits(mt) => Err(unexpected(what, mt)),
        _ => Ok(()),
    }
}

fn reject_fields(keys: &BTreeSet<String>, what: &'static str, foreign: &[&str]) -> Result<()> {
    match foreign.iter().find(|f| keys.contains(**f)) {
        Some(field) => Err(Error::AmbiguousDocument {
            what,
            reason: format!("it has a {field:?} field, which belongs to another kind of document"),
        }),
        None => Ok(()),
    }
}

fn unexpected(what: &'static str, mt: &MediaType) -> Error {
    Error::UnexpectedMediaType {
        what,
        media_type: mt.as_str().to_owned(),
    }
}

/// A JSON document type that can be parsed strictly from untrusted bytes and
/// written as Go would: [`Manifest`], [`IndexManifest`], [`ConfigFile`].
pub trait JsonDocument: Serialize + DeserializeOwned + Sized {
    /// What the document is called in errors (`image manifest`...).
    const WHAT: &'static str;

    /// Parses untrusted bytes, rejecting duplicate keys, invalid UTF-8 and
    /// documents of another kind.
    fn parse_json(bytes: &[u8]) -> Result<Self>;
}

impl JsonDocument for Manifest {
    const WHAT: &'static str = IMAGE;

    fn parse_json(bytes: &[u8]) -> Result<Self> {
        Self::parse(bytes)
    }
}

impl JsonDocument for IndexManifest {
    const WHAT: &'static str = INDEX;

    fn parse_json(bytes: &[u8]) -> Result<Self> {
        Self::parse(bytes)
    }
}

impl JsonDocument for ConfigFile {
    const WHAT: &'static str = crate::config::WHAT;

    fn parse_json(bytes: &[u8]) -> Result<Self> {
        Self::parse(bytes)
    }
}

/// A parsed document together with the exact bytes it came from and their
/// SHA-256 digest.
///
/// The bytes are the truth: the digest is computed over them, never over a
/// re-serialisation, and [`Document::bytes`] is what gets pushed or written.
/// It dereferences to the parsed value.
///
/// ```
/// use ocireg_v1::{Document, Manifest};
///
/// let raw = br#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.empty.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}, "layers":[]}"#;
/// let doc = Document::<Manifest>::parse(&raw[..])?;
/// assert_eq!(doc.layers.len(), 0);
/// assert_eq!(doc.digest(), ocireg_v1::sha256(raw)); // the odd space is kept
/// # Ok::<(), ocireg_v1::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document<T> {
    bytes: Bytes,
    digest: Digest,
    value: T,
}

impl<T: JsonDocument> Document<T> {
    /// Parses untrusted bytes (see [`JsonDocument::parse_json`]).
    pub fn parse(bytes: impl Into<Bytes>) -> Result<Self> {
        let bytes = bytes.into();
        let value = T::parse_json(&bytes)?;
        Ok(Self {
            digest: crate::sha256(&bytes),
            bytes,
            value,
        })
    }

    /// Parses `bytes` that are expected to have `digest`, checking the
    /// digest before parsing (any algorithm [`crate::Hasher`] knows).
    pub fn parse_verified(bytes: impl Into<Bytes>, digest: Digest) -> Result<Self> {
        let bytes = bytes.into();
        let actual = crate::digest_of(digest.algorithm(), &bytes);
        if actual != digest {
            return Err(Error::DigestMismatch {
                expected: digest,
                actual,
            });
        }
        let value = T::parse_json(&bytes)?;
        Ok(Self {
            bytes,
            digest,
            value,
        })
    }

    /// Serialises `value` as Go's `encoding/json` would and keeps those bytes.
    pub fn from_value(value: T) -> Result<Self> {
        let bytes = Bytes::from(gojson::to_go_json(&value)?);
        Ok(Self {
            digest: crate::sha256(&bytes),
            bytes,
            value,
        })
    }
}

impl<T> Document<T> {
    /// The exact bytes.
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The digest of the bytes (SHA-256 unless built by
    /// [`Document::parse_verified`] with another algorithm).
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// The digest of the bytes with another algorithm.
    pub fn digest_with(&self, algorithm: Algorithm) -> Digest {
        if algorithm == self.digest.algorithm() {
            self.digest
        } else {
            crate::digest_of(algorithm, &self.bytes)
        }
    }

    /// The size of the bytes.
    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    /// The parsed value.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// A descriptor of these bytes with the given media type.
    pub fn descriptor(&self, media_type: MediaType) -> Descriptor {
        Descriptor::new(media_type, self.size(), self.digest)
    }

    /// The bytes and the value.
    pub fn into_parts(self) -> (Bytes, T) {
        (self.bytes, self.value)
    }

    /// The parsed value, dropping the bytes.
    pub fn into_value(self) -> T {
        self.value
    }
}

impl<T> Deref for Document<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> AsRef<[u8]> for Document<T> {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

/// A manifest of either kind, told apart safely (CVE-2021-41190).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::exhaustive_enums,
    reason = "a manifest is an image or an index, and callers match both"
)]
pub enum AnyManifest {
    /// An image manifest.
    Image(Box<Document<Manifest>>),
    /// An index or manifest list.
    Index(Box<Document<IndexManifest>>),
}

#[derive(Deserialize)]
struct MediaTypeOnly {
    #[serde(rename = "mediaType", default, deserialize_with = "empty_as_none")]
    media_type: Option<MediaType>,
}

impl AnyManifest {
    /// Parses a manifest whose kind is not known in advance, e.g. a registry
    /// response with its `Content-Type`.
    ///
    /// The kind comes from the document's `mediaType` field, else from
    /// `content_type`, else from which fields it has. It is an error when the
    /// field and `content_type` name different kinds (an index served as an
    /// image, say), when a document has fields of both kinds, when its fields
    /// contradict its kind, and when the kind is neither (schema 1, unknown
    /// types: those are not parsed at all).
    ///
    /// ```
    /// use ocireg_v1::{AnyManifest, Error, MediaType};
    ///
    /// let both = br#"{"schemaVersion":2,"manifests":[],"layers":[]}"#;
    /// assert!(matches!(AnyManifest::parse(&both[..], None), Err(Error::AmbiguousDocument { .. })));
    /// let index = br#"{"schemaVersion":2,"manifests":[]}"#;
    /// assert!(matches!(AnyManifest::parse(&index[..], None)?, AnyManifest::Index(_)));
    /// let served_as = MediaType::OciManifest;
    /// let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
    /// assert!(AnyManifest::parse(&index[..], Some(&served_as)).is_err());
    /// # Ok::<(), ocireg_v1::Error>(())
    /// ```
    pub fn parse(bytes: impl Into<Bytes>, content_type: Option<&MediaType>) -> Result<Self> {
        const WHAT: &str = "manifest";
        let bytes = bytes.into();
        let keys = gojson::check_document(&bytes, WHAT)?;
        gojson::reject_case_variants(&keys, FIELDS, WHAT)?;
        let has_index = keys.contains("manifests");
        let has_image = keys.contains("config") || keys.contains("layers");
        if has_index && has_image {
            return Err(Error::AmbiguousDocument {
                what: WHAT,
                reason: "it has both \"manifests\" and \"config\"/\"layers\" fields".to_owned(),
            });
        }
        let declared: MediaTypeOnly =
            serde_json::from_slice(&bytes).map_err(|source| Error::Json { what: WHAT, source })?;
        let content_type = content_type.filter(|c| !c.as_str().is_empty());
        if let (Some(field), Some(header)) = (&declared.media_type, content_type)
            && kind(field) != kind(header)
        {
            return Err(Error::AmbiguousDocument {
                what: WHAT,
                reason: format!("its mediaType is {field} but it was served as {header}"),
            });
        }
        let image = match declared.media_type.as_ref().or(content_type) {
            Some(mt) => match kind(mt) {
                Kind::Image => true,
                Kind::Index => false,
                Kind::Other => return Err(unexpected(WHAT, mt)),
            },
            None if has_index => false,
            None if has_image => true,
            None => {
                return Err(Error::AmbiguousDocument {
                    what: WHAT,
                    reason: "it has no mediaType and neither manifest nor index fields".to_owned(),
                });
            }
        };
        if image {
            Document::parse(bytes).map(|d| Self::Image(Box::new(d)))
        } else {
            Document::parse(bytes).map(|d| Self::Index(Box::new(d)))
        }
    }

    /// The exact bytes.
    pub fn bytes(&self) -> &Bytes {
        match self {
            Self::Image(d) => d.bytes(),
            Self::Index(d) => d.bytes(),
        }
    }

    /// The SHA-256 digest of the bytes.
    pub fn digest(&self) -> Digest {
        match self {
            Self::Image(d) => d.digest(),
            Self::Index(d) => d.digest(),
        }
    }

    /// The media type written in the document, if any.
    pub fn media_type(&self) -> Option<&MediaType> {
        match self {
            Self::Image(d) => d.media_type.as_ref(),
            Self::Index(d) => d.media_type.as_ref(),
        }
    }
}

#[derive(PartialEq, Eq)]
enum Kind {
    Image,
    Index,
    Other,
}

fn kind(mt: &MediaType) -> Kind {
    if mt.is_image() {
        Kind::Image
    } else if mt.is_index() {
        Kind::Index
    } else {
        Kind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Platform;

    const CONFIG: &str = r#"{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}"#;

    fn image_json(extra: &str) -> String {
        format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{CONFIG},"layers":[{CONFIG}]{extra}}}"#
        )
    }

    #[test]
    fn empty_index_golden_vector() {
        let doc = Document::from_value(IndexManifest::new(MediaType::OciImageIndex)).unwrap();
        assert_eq!(
            doc.bytes().as_ref(),
            br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#
        );
        assert_eq!(doc.size(), 88);
        assert_eq!(
            doc.digest().to_string(),
            "sha256:dff9de10919148711140d349bf03f1a99eb06f94b03e51715ccebfa7cdc518e2"
        );
        let back = Document::<IndexManifest>::parse(doc.bytes().clone()).unwrap();
        assert_eq!(back, doc);
    }

    #[test]
    fn manifest_round_trip_is_byte_exact() {
        let json = image_json("");
        let m = Manifest::parse(json.as_bytes()).unwrap();
        assert_eq!(m.layers.len(), 1);
        assert_eq!(m.config.media_type, MediaType::OciConfig);
        assert_eq!(gojson::to_string(&m).unwrap(), json);
    }

    #[test]
    fn manifest_field_order_and_omission() {
        let mut m = Manifest::new(MediaType::DockerManifestSchema2, Descriptor::empty_json());
        m.config.data = None;
        m.media_type = None;
        assert_eq!(
            gojson::to_string(&m).unwrap(),
            r#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.empty.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}"#
        );
        m.annotations.insert("k".into(), "v".into());
        m.subject = Some(m.config.clone());
        m.artifact_type = Some(MediaType::from("application/x.sig"));
        m.extra.insert("zz".into(), serde_json::json!(1));
        let s = gojson::to_string(&m).unwrap();
        let pos = |k: &str| s.find(k).unwrap();
        assert!(pos("\"layers\"") < pos("\"annotations\""));
        assert!(pos("\"annotations\"") < pos("\"subject\""));
        assert!(pos("\"subject\"") < pos("\"artifactType\""));
        assert!(pos("\"artifactType\"") < pos("\"zz\""));
        assert_eq!(Manifest::parse(s.as_bytes()).unwrap(), m);
    }

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let json = image_json(r#","x-extra":{"b":[1,"<"],"a":null},"y":true"#);
        let m = Manifest::parse(json.as_bytes()).unwrap();
        assert_eq!(m.extra.len(), 2);
        let out = gojson::to_string(&m).unwrap();
        assert!(out.ends_with(r#""layers":[{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}],"x-extra":{"a":null,"b":[1,"\u003c"]},"y":true}"#), "{out}");
    }

    #[test]
    fn unknown_numbers_are_read_exactly() {
        // Found by the `manifest` fuzz target: serde_json's default float parsing read
        // 1.5e303 as 1.5000000000000005e303, so a parsed manifest was written back with
        // another number (and another digest). The workspace enables float_roundtrip.
        let json = image_json(r#","x":[1.5e+303,0.1,-2.2250738585072014e-308]"#);
        let m = Manifest::parse(json.as_bytes()).unwrap();
        assert_eq!(m.extra["x"][0].as_f64(), Some(1.5e303));
        assert_eq!(gojson::to_string(&m).unwrap(), json);
        assert_eq!(
            Manifest::parse(gojson::to_string(&m).unwrap().as_bytes()).unwrap(),
            m
        );
    }

    #[test]
    fn hostile_manifests_are_rejected() {
        let dup_layers =
            format!(r#"{{"schemaVersion":2,"config":{CONFIG},"layers":[],"layers":[{CONFIG}]}}"#);
        let dup_in_unknown = image_json(r#","x":{"a":1,"a":2}"#);
        let dup_in_descriptor = r#"{"schemaVersion":2,"config":{"mediaType":"a/b","size":2,"size":3,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}"#.to_owned();
        let dup_annotation = image_json(r#","annotations":{"k":"1","k":"2"}"#);
        for doc in [
            &dup_layers,
            &dup_in_unknown,
            &dup_in_descriptor,
            &dup_annotation,
        ] {
            assert!(
                matches!(
                    Manifest::parse(doc.as_bytes()),
                    Err(Error::DuplicateKey { .. })
                ),
                "{doc}"
            );
        }
        let both = image_json(r#","manifests":[]"#);
        assert!(matches!(
            Manifest::parse(both.as_bytes()),
            Err(Error::AmbiguousDocument {
                what: "image manifest",
                ..
            })
        ));
        let wrong_type = image_json("").replace("image.manifest", "image.index");
        assert!(matches!(
            Manifest::parse(wrong_type.as_bytes()),
            Err(Error::UnexpectedMediaType { .. })
        ));
        let mut invalid_utf8 = image_json(r#","annotations":{"k":"?"}"#).into_bytes();
        let q = invalid_utf8.iter().rposition(|b| *b == b'?').unwrap();
        invalid_utf8[q] = 0xC3;
        assert!(matches!(
            Manifest::parse(&invalid_utf8),
            Err(Error::InvalidUtf8 { .. })
        ));
        let missing = [
            format!(r#"{{"config":{CONFIG},"layers":[]}}"#),
            r#"{"schemaVersion":2,"layers":[]}"#.to_owned(),
            format!(r#"{{"schemaVersion":2,"config":{CONFIG}}}"#),
            image_json("").replace(r#""size":2"#, r#""size":-2"#),
            image_json("").replace("sha256:4413", "sha256:X413"),
            image_json("").replace("sha256:", "md5:"),
            "[]".to_owned(),
            String::new(),
        ];
        for doc in missing {
            assert!(
                matches!(Manifest::parse(doc.as_bytes()), Err(Error::Json { .. })),
                "{doc}"
            );
        }
    }

    #[test]
    fn keys_go_would_fold_into_fields_are_rejected() {
        let docs = [
            image_json(r#","Layers":[]"#),
            image_json(r#","LAYERS":[]"#),
            image_json(r#","Manifests":[]"#),
            image_json(r#","mediatype":"application/vnd.oci.image.index.v1+json""#),
            image_json("").replace(r#""size":2,"#, r#""size":2,"Size":3,"#),
            image_json("").replace(r#""digest""#, r#""Digest""#),
            image_json("").replacen(r#""size":2,"#, r#""size":2,"\u017fize":3,"#, 1),
            image_json("").replacen(
                r#""size":2,"#,
                "\"size\":2,\"\u{212a}\":1,\"\u{17f}ize\":3,",
                1,
            ),
        ];
        for doc in &docs[..7] {
            assert!(Manifest::parse(doc.as_bytes()).is_err(), "{doc}");
            assert!(
                AnyManifest::parse(doc.clone().into_bytes(), None).is_err(),
                "{doc}"
            );
        }
        assert!(Manifest::parse(docs[7].as_bytes()).is_err());
        let index = r#"{"schemaVersion":2,"manifests":[],"Config":{}}"#;
        assert!(matches!(
            IndexManifest::parse(index.as_bytes()),
            Err(Error::AmbiguousDocument { .. })
        ));
        // Unrelated unknown keys are fine, and annotation keys may differ in case.
        let ok = image_json(r#","annotations":{"Layers":"1","layers":"2"},"layerz":1"#);
        assert_eq!(Manifest::parse(ok.as_bytes()).unwrap().annotations.len(), 2);
    }

    #[test]
    fn hostile_indexes_are_rejected() {
        for field in [r#""layers":[]"#, &format!(r#""config":{CONFIG}"#)] {
            let doc = format!(r#"{{"schemaVersion":2,"manifests":[],{field}}}"#);
            assert!(
                matches!(
                    IndexManifest::parse(doc.as_bytes()),
                    Err(Error::AmbiguousDocument { .. })
                ),
                "{doc}"
            );
        }
        let wrong = r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","manifests":[]}"#;
        assert!(matches!(
            IndexManifest::parse(wrong.as_bytes()),
            Err(Error::UnexpectedMediaType { .. })
        ));
        let unknown = r#"{"schemaVersion":2,"mediaType":"application/x-foo","manifests":[]}"#;
        assert!(IndexManifest::parse(unknown.as_bytes()).is_err());
        assert!(IndexManifest::parse(br#"{"schemaVersion":2}"#).is_err());
        let null_list =
            IndexManifest::parse(br#"{"schemaVersion":2,"manifests":null,"mediaType":""}"#)
                .unwrap();
        assert!(null_list.manifests.is_empty() && null_list.media_type.is_none());
    }

    #[test]
    fn index_children_keep_unknown_media_types_and_platforms() {
        let doc = r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[
            {"mediaType":"application/vnd.example.thing","size":1,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
            {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":7,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","platform":{"architecture":"arm64","os":"linux","variant":"v8"}}]}"#;
        let index = Document::<IndexManifest>::parse(doc.as_bytes().to_vec()).unwrap();
        assert_eq!(index.digest(), crate::sha256(doc));
        assert_eq!(
            index.manifests[0].media_type,
            MediaType::Other("application/vnd.example.thing".into())
        );
        let pick = index
            .child_for_platform(&"linux/arm64".parse().unwrap())
            .unwrap();
        assert_eq!(pick.size, 7);
        // The first child has no platform, so it counts as linux/amd64.
        assert_eq!(
            index
                .child_for_platform(&Platform::linux_amd64())
                .unwrap()
                .size,
            1
        );
    }

    #[test]
    fn any_manifest_tells_kinds_apart() {
        let image = image_json("");
        let index = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        let bare_index = r#"{"schemaVersion":2,"manifests":[]}"#;
        let bare_image = format!(r#"{{"schemaVersion":2,"config":{CONFIG},"layers":[]}}"#);
        let index_with_config = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[],"config":{CONFIG}}}"#
        );
        let oci_m = MediaType::OciManifest;
        let docker_m = MediaType::DockerManifestSchema2;
        let oci_i = MediaType::OciImageIndex;
        let other = MediaType::from("application/octet-stream");
        let table: [(&str, Option<&MediaType>, Option<bool>); 12] = [
            (&image, None, Some(true)),
            (&image, Some(&oci_m), Some(true)),
            (&image, Some(&docker_m), Some(true)),
            (&image, Some(&oci_i), None),
            (index, None, Some(false)),
            (index, Some(&oci_m), None),
            (bare_index, None, Some(false)),
            (bare_index, Some(&oci_m), None),
            (&bare_image, None, Some(true)),
            (&bare_image, Some(&oci_i), None),
            (&index_with_config, None, None),
            (&bare_image, Some(&other), None),
        ];
        for (doc, ct, want) in table {
            let got = AnyManifest::parse(doc.as_bytes().to_vec(), ct);
            match (want, &got) {
                (Some(true), Ok(AnyManifest::Image(_)))
                | (Some(false), Ok(AnyManifest::Index(_)))
                | (None, Err(_)) => {}
                _ => panic!("{doc} as {ct:?}: {got:?}"),
            }
            if let Ok(m) = got {
                assert_eq!(m.digest(), crate::sha256(doc));
                assert_eq!(m.bytes().as_ref(), doc.as_bytes());
            }
        }
        assert!(AnyManifest::parse(&b"{}"[..], None).is_err());
        assert!(
            AnyManifest::parse(
                &b"{\"schemaVersion\":1,\"fsLayers\":[]}"[..],
                Some(&MediaType::DockerManifestSchema1Signed)
            )
            .is_err()
        );
    }

    #[test]
    fn parse_verified_checks_the_digest_first() {
        let json = image_json("");
        let good = crate::sha256(&json);
        assert!(Document::<Manifest>::parse_verified(json.clone().into_bytes(), good).is_ok());
        let other = crate::sha256(b"other");
        assert!(matches!(
            Document::<Manifest>::parse_verified(json.clone().into_bytes(), other),
            Err(Error::DigestMismatch { .. })
        ));
        let sha512 = crate::digest_of(Algorithm::Sha512, &json);
        let doc = Document::<Manifest>::parse_verified(json.into_bytes(), sha512).unwrap();
        assert_eq!(doc.digest(), sha512);
        assert_eq!(doc.digest_with(Algorithm::Sha256), good);
        assert_eq!(doc.descriptor(MediaType::OciManifest).size, doc.size());
    }
}
