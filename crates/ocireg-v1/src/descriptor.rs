//! [`Descriptor`]: a typed, sized, content-addressed pointer (ggcr's `v1.Descriptor`).

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::{Digest, Error, MediaType, Platform, Result};

/// The annotation naming an image in an OCI layout's `index.json`.
pub const ANNOTATION_REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Describes content by media type, size and digest, optionally with
/// embedded data, mirror URLs, annotations, a platform and an artifact type.
///
/// Fields serialise in ggcr's order: `mediaType`, `size`, `digest` always;
/// `data`, `urls`, `annotations`, `platform`, `artifactType` only when set.
/// Parsing requires the first three, rejects negative sizes (and sizes above
/// `i64::MAX`, which Go cannot represent) and digests that break the strict
/// grammar. Unknown fields are ignored, as in ggcr.
///
/// ```
/// use ocireg_v1::{Descriptor, MediaType};
///
/// let d = Descriptor::new(MediaType::OciEmpty, 2, ocireg_v1::sha256(b"{}"));
/// let json = ocireg_v1::to_go_json(&d)?;
/// assert_eq!(
///     std::str::from_utf8(&json)?,
///     r#"{"mediaType":"application/vnd.oci.empty.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "Repr")]
#[non_exhaustive]
pub struct Descriptor {
    /// The media type of the content.
    pub media_type: MediaType,
    /// The size of the content in bytes.
    #[serde(with = "size")]
    pub size: u64,
    /// The digest of the content.
    pub digest: Digest,
    /// The content itself, embedded (base64 in JSON). Untrusted until
    /// checked with [`Descriptor::verified_data`].
    #[serde(default, with = "data", skip_serializing_if = "data::is_none_or_empty")]
    pub data: Option<Bytes>,
    /// Other places the content may be fetched from (foreign layers).
    #[serde(
        default,
        deserialize_with = "crate::gojson::null_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub urls: Vec<String>,
    /// Arbitrary string metadata, serialised with sorted keys.
    #[serde(
        default,
        deserialize_with = "crate::gojson::null_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
    /// The platform of an index child.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// The type of an artifact (OCI 1.1).
    #[serde(
        default,
        deserialize_with = "crate::gojson::empty_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub artifact_type: Option<MediaType>,
}

impl Descriptor {
    /// A descriptor with just the three required fields.
    pub fn new(media_type: MediaType, size: u64, digest: Digest) -> Self {
        Self {
            media_type,
            size,
            digest,
            data: None,
            urls: Vec::new(),
            annotations: BTreeMap::new(),
            platform: None,
            artifact_type: None,
        }
    }

    /// A descriptor for `bytes` (SHA-256), with the given media type.
    pub fn for_bytes(media_type: MediaType, bytes: &[u8]) -> Self {
        Self::new(media_type, bytes.len() as u64, crate::sha256(bytes))
    }

    /// The OCI empty descriptor: `{}` as `application/vnd.oci.empty.v1+json`,
    /// size 2, with `data` `e30=` (the config of artifacts).
    pub fn empty_json() -> Self {
        Self {
            data: Some(Bytes::from_static(b"{}")),
            ..Self::for_bytes(MediaType::OciEmpty, b"{}")
        }
    }

    /// The same descriptor with one annotation added (or replaced).
    #[must_use]
    pub fn with_annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations.insert(key.into(), value.into());
        self
    }

    /// The same descriptor with `annotations` in place of its own.
    #[must_use]
    pub fn with_annotations(mut self, annotations: BTreeMap<String, String>) -> Self {
        self.annotations = annotations;
        self
    }

    /// The same descriptor with `platform` set (an index child's).
    #[must_use]
    pub fn with_platform(mut self, platform: Platform) -> Self {
        self.platform = Some(platform);
        self
    }

    /// The same descriptor with `urls` set (foreign layers).
    #[must_use]
    pub fn with_urls(mut self, urls: Vec<String>) -> Self {
        self.urls = urls;
        self
    }

    /// The same descriptor with `artifact_type` set.
    #[must_use]
    pub fn with_artifact_type(mut self, artifact_type: MediaType) -> Self {
        self.artifact_type = Some(artifact_type);
        self
    }

    /// The same descriptor with the content embedded as `data` (not checked
    /// against size and digest here; readers check with [`Self::verified_data`]).
    #[must_use]
    pub fn with_data(mut self, data: Bytes) -> Self {
        self.data = Some(data);
        self
    }

    /// The `org.opencontainers.image.ref.name` annotation, if any.
    pub fn ref_name(&self) -> Option<&str> {
        self.annotations
            .get(ANNOTATION_REF_NAME)
            .map(String::as_str)
    }

    /// The embedded `data`, after checking that it has the declared size and
    /// digest (`None` when there is no data).
    pub fn verified_data(&self) -> Result<Option<&Bytes>> {
        let Some(data) = self
            .data
            .as_ref()
            .filter(|d| !d.is_empty() || self.size == 0)
        else {
            return Ok(None);
        };
        let actual_size = data.len() as u64;
        if actual_size != self.size {
            return Err(Error::SizeMismatch {
                digest: self.digest,
                expected: self.size,
                actual: actual_size,
            });
        }
        let actual = crate::hash::digest_of(self.digest.algorithm(), data);
        if actual != self.digest {
            return Err(Error::DigestMismatch {
                expected: self.digest,
                actual,
            });
        }
        Ok(Some(data))
    }
}

/// What a descriptor is read as: its fields plus the names of unknown ones,
/// to refuse keys Go would take for a field (`Digest`, `SIZE`...).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Repr {
    media_type: MediaType,
    #[serde(with = "size")]
    size: u64,
    digest: Digest,
    #[serde(default, with = "data")]
    data: Option<Bytes>,
    #[serde(default, deserialize_with = "crate::gojson::null_default")]
    urls: Vec<String>,
    #[serde(default, deserialize_with = "crate::gojson::null_default")]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    platform: Option<Platform>,
    #[serde(default, deserialize_with = "crate::gojson::empty_as_none")]
    artifact_type: Option<MediaType>,
    #[serde(flatten)]
    #[expect(
        clippy::zero_sized_map_values,
        reason = "serde's flatten needs a map; only the keys are looked at"
    )]
    unknown: BTreeMap<String, serde::de::IgnoredAny>,
}

const FIELDS: &[&str] = &[
    "mediaType",
    "size",
    "digest",
    "data",
    "urls",
    "annotations",
    "platform",
    "artifactType",
];

impl TryFrom<Repr> for Descriptor {
    type Error = String;

    fn try_from(r: Repr) -> std::result::Result<Self, String> {
        if let Some((key, field)) = crate::gojson::case_variant(r.unknown.keys(), FIELDS) {
            return Err(format!(
                "descriptor key {key:?} is not {field:?} but Go would read it as that field"
            ));
        }
        Ok(Self {
            media_type: r.media_type,
            size: r.size,
            digest: r.digest,
            data: r.data,
            urls: r.urls,
            annotations: r.annotations,
            platform: r.platform,
            artifact_type: r.artifact_type,
        })
    }
}

/// Sizes: Go's `int64`, so negative values and values above `i64::MAX` are
/// rejected with a clear message.
mod size {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    #[expect(
        clippy::trivially_copy_pass_by_ref,
        reason = "serde's `with` signature"
    )]
    pub(super) fn serialize<S: Serializer>(size: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(*size)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let n = i128::deserialize(d)?;
        if n < 0 {
            return Err(D::Error::custom(format_args!(
                "size must not be negative, got {n}"
            )));
        }
        i64::try_from(n)
            .ok()
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| D::Error::custom(format_args!("size {n} is larger than an int64")))
    }
}

/// `data`: standard base64 with padding, as Go encodes `[]byte`.
mod data {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    #[expect(clippy::ref_option, reason = "serde's `with` signature")]
    pub(super) fn is_none_or_empty(data: &Option<Bytes>) -> bool {
        data.as_ref().is_none_or(Bytes::is_empty)
    }

    #[expect(clippy::ref_option, reason = "serde's `with` signature")]
    pub(super) fn serialize<S: Serializer>(data: &Option<Bytes>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(data.as_deref().unwrap_or_default()))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Bytes>, D::Error> {
        let Some(text) = Option::<std::borrow::Cow<'de, str>>::deserialize(d)? else {
            return Ok(None);
        };
        STANDARD
            .decode(text.as_bytes())
            .map(|v| Some(Bytes::from(v)))
            .map_err(|e| D::Error::custom(format_args!("data is not valid base64: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gojson;

    const EMPTY_DIGEST: &str =
        "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

    #[test]
    fn full_descriptor_serialises_in_ggcr_order() {
        let mut d = Descriptor::empty_json();
        d.urls = vec!["https://example.com/a?b&c".into()];
        d.annotations.insert("z".into(), "1".into());
        d.annotations.insert("a".into(), "<2>".into());
        d.platform = Some(Platform::new("linux", "amd64"));
        d.artifact_type = Some(MediaType::from("application/x.test"));
        let json = gojson::to_string(&d).unwrap();
        assert_eq!(
            json,
            format!(
                concat!(
                    r#"{{"mediaType":"application/vnd.oci.empty.v1+json","size":2,"digest":"{}","#,
                    r#""data":"e30=","urls":["https://example.com/a?b\u0026c"],"#,
                    r#""annotations":{{"a":"\u003c2\u003e","z":"1"}},"#,
                    r#""platform":{{"architecture":"amd64","os":"linux"}},"artifactType":"application/x.test"}}"#
                ),
                EMPTY_DIGEST
            )
        );
        let back: Descriptor = serde_json::from_str(&json).unwrap();
        assert_eq!(back, d);
        assert_eq!(back.verified_data().unwrap().unwrap().as_ref(), b"{}");
    }

    #[test]
    fn empty_optional_fields_are_omitted() {
        let json = format!(
            r#"{{"mediaType":"a/b","size":0,"digest":"{EMPTY_DIGEST}","data":"","urls":null,"annotations":{{}},"artifactType":""}}"#
        );
        let d: Descriptor = serde_json::from_str(&json).unwrap();
        assert_eq!(d.artifact_type, None);
        assert_eq!(
            gojson::to_string(&d).unwrap(),
            format!(r#"{{"mediaType":"a/b","size":0,"digest":"{EMPTY_DIGEST}"}}"#)
        );
    }

    #[test]
    fn rejects_hostile_descriptors() {
        let cases = [
            (
                format!(r#"{{"mediaType":"a/b","size":-1,"digest":"{EMPTY_DIGEST}"}}"#),
                "negative",
            ),
            (
                format!(
                    r#"{{"mediaType":"a/b","size":9223372036854775808,"digest":"{EMPTY_DIGEST}"}}"#
                ),
                "larger than an int64",
            ),
            (
                format!(r#"{{"mediaType":"a/b","size":1.5,"digest":"{EMPTY_DIGEST}"}}"#),
                "",
            ),
            (
                format!(r#"{{"mediaType":"a/b","size":"2","digest":"{EMPTY_DIGEST}"}}"#),
                "",
            ),
            (
                r#"{"mediaType":"a/b","size":2,"digest":"sha256:../../etc/passwd"}"#.to_owned(),
                "",
            ),
            (
                format!(
                    r#"{{"mediaType":"a/b","size":2,"digest":"{}"}}"#,
                    EMPTY_DIGEST.to_uppercase()
                ),
                "",
            ),
            (
                r#"{"mediaType":"a/b","size":2,"digest":"sha256:"}"#.to_owned(),
                "",
            ),
            (
                format!(r#"{{"size":2,"digest":"{EMPTY_DIGEST}"}}"#),
                "mediaType",
            ),
            (r#"{"mediaType":"a/b","size":2}"#.to_owned(), "digest"),
            (
                format!(r#"{{"mediaType":"a/b","digest":"{EMPTY_DIGEST}"}}"#),
                "size",
            ),
            (
                format!(r#"{{"mediaType":"a/b","size":2,"digest":"{EMPTY_DIGEST}","data":"e30"}}"#),
                "base64",
            ),
        ];
        for (json, needle) in cases {
            let err = serde_json::from_str::<Descriptor>(&json)
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{json}: {err}");
        }
        let max = format!(
            r#"{{"mediaType":"a/b","size":9223372036854775807,"digest":"{EMPTY_DIGEST}"}}"#
        );
        assert_eq!(
            serde_json::from_str::<Descriptor>(&max).unwrap().size,
            i64::MAX as u64
        );
    }

    #[test]
    fn verified_data_catches_lies() {
        let mut d = Descriptor::empty_json();
        assert!(d.verified_data().is_ok());
        d.size = 3;
        assert!(matches!(
            d.verified_data(),
            Err(Error::SizeMismatch {
                expected: 3,
                actual: 2,
                ..
            })
        ));
        d.size = 2;
        d.data = Some(Bytes::from_static(b"[]"));
        assert!(matches!(
            d.verified_data(),
            Err(Error::DigestMismatch { .. })
        ));
        d.data = None;
        assert!(d.verified_data().unwrap().is_none());
        let zero = Descriptor {
            data: Some(Bytes::new()),
            ..Descriptor::for_bytes(MediaType::OciEmpty, b"")
        };
        assert_eq!(zero.verified_data().unwrap().map(Bytes::len), Some(0));
    }

    #[test]
    fn ref_name_annotation() {
        let mut d = Descriptor::empty_json();
        assert_eq!(d.ref_name(), None);
        d.annotations
            .insert(ANNOTATION_REF_NAME.into(), "latest".into());
        assert_eq!(d.ref_name(), Some("latest"));
    }
}
