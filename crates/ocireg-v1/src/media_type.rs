//! Media types of manifests, configs and layers (ggcr's `pkg/v1/types`).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

macro_rules! media_types {
    ($( $(#[$doc:meta])* $variant:ident => $s:literal, )*) => {
        /// A media type: every OCI and Docker type ggcr knows, plus anything else
        /// kept verbatim in [`MediaType::Other`].
        ///
        /// Parsing never fails: an unknown type is not an error (the image spec
        /// says unknown types must not stop a copy), it just has no predicates set.
        ///
        /// ```
        /// use ocireg_v1::MediaType;
        ///
        /// let mt: MediaType = "application/vnd.oci.image.index.v1+json".parse()?;
        /// assert_eq!(mt, MediaType::OciImageIndex);
        /// assert!(mt.is_index());
        /// let odd = MediaType::from("application/x-custom");
        /// assert_eq!(odd.as_str(), "application/x-custom");
        /// assert!(!odd.is_layer());
        /// # Ok::<(), std::convert::Infallible>(())
        /// ```
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum MediaType {
            $( $(#[$doc])* $variant, )*
            /// Any other media type, kept exactly as written.
            Other(String),
        }

        impl MediaType {
            /// Every known media type (not [`MediaType::Other`]).
            pub const KNOWN: &'static [Self] = &[$( Self::$variant, )*];

            /// The media type string, exactly as it appears in JSON and HTTP headers.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $s, )*
                    Self::Other(s) => s,
                }
            }

            fn known(s: &str) -> Option<Self> {
                match s {
                    $( $s => Some(Self::$variant), )*
                    _ => None,
                }
            }
        }
    };
}

media_types! {
    /// `application/vnd.oci.descriptor.v1+json`
    OciContentDescriptor => "application/vnd.oci.descriptor.v1+json",
    /// `application/vnd.oci.image.index.v1+json`
    OciImageIndex => "application/vnd.oci.image.index.v1+json",
    /// `application/vnd.oci.image.manifest.v1+json` (ggcr's `OCIManifestSchema1`)
    OciManifest => "application/vnd.oci.image.manifest.v1+json",
    /// `application/vnd.oci.image.config.v1+json`
    OciConfig => "application/vnd.oci.image.config.v1+json",
    /// `application/vnd.oci.image.layer.v1.tar+gzip`
    OciLayer => "application/vnd.oci.image.layer.v1.tar+gzip",
    /// `application/vnd.oci.image.layer.v1.tar+zstd`
    OciLayerZstd => "application/vnd.oci.image.layer.v1.tar+zstd",
    /// `application/vnd.oci.image.layer.v1.tar`
    OciUncompressedLayer => "application/vnd.oci.image.layer.v1.tar",
    /// `application/vnd.oci.image.layer.nondistributable.v1.tar+gzip` (deprecated)
    OciRestrictedLayer => "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    /// `application/vnd.oci.image.layer.nondistributable.v1.tar+zstd` (deprecated)
    OciRestrictedLayerZstd => "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    /// `application/vnd.oci.image.layer.nondistributable.v1.tar` (deprecated)
    OciUncompressedRestrictedLayer => "application/vnd.oci.image.layer.nondistributable.v1.tar",
    /// `application/vnd.oci.empty.v1+json`: the `{}` blob of artifacts.
    OciEmpty => "application/vnd.oci.empty.v1+json",
    /// `application/vnd.oci.layout.header.v1+json` (the `oci-layout` file)
    OciLayoutHeader => "application/vnd.oci.layout.header.v1+json",
    /// `application/vnd.docker.distribution.manifest.v1+json` (schema 1)
    DockerManifestSchema1 => "application/vnd.docker.distribution.manifest.v1+json",
    /// `application/vnd.docker.distribution.manifest.v1+prettyjws` (signed schema 1)
    DockerManifestSchema1Signed => "application/vnd.docker.distribution.manifest.v1+prettyjws",
    /// `application/vnd.docker.distribution.manifest.v2+json`
    DockerManifestSchema2 => "application/vnd.docker.distribution.manifest.v2+json",
    /// `application/vnd.docker.distribution.manifest.list.v2+json`
    DockerManifestList => "application/vnd.docker.distribution.manifest.list.v2+json",
    /// `application/vnd.docker.image.rootfs.diff.tar.gzip`
    DockerLayer => "application/vnd.docker.image.rootfs.diff.tar.gzip",
    /// `application/vnd.docker.image.rootfs.diff.tar.zstd`
    DockerLayerZstd => "application/vnd.docker.image.rootfs.diff.tar.zstd",
    /// `application/vnd.docker.image.rootfs.diff.tar`
    DockerUncompressedLayer => "application/vnd.docker.image.rootfs.diff.tar",
    /// `application/vnd.docker.image.rootfs.foreign.diff.tar.gzip`
    DockerForeignLayer => "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    /// `application/vnd.docker.container.image.v1+json`
    DockerConfig => "application/vnd.docker.container.image.v1+json",
    /// `application/vnd.docker.plugin.v1+json`
    DockerPluginConfig => "application/vnd.docker.plugin.v1+json",
}

impl MediaType {
    /// Whether this is an image manifest (OCI or Docker schema 2), as opposed to an index.
    pub fn is_image(&self) -> bool {
        matches!(self, Self::OciManifest | Self::DockerManifestSchema2)
    }

    /// Whether this is an index (OCI image index or Docker manifest list).
    pub fn is_index(&self) -> bool {
        matches!(self, Self::OciImageIndex | Self::DockerManifestList)
    }

    /// Whether this is an image config (OCI or Docker).
    pub fn is_config(&self) -> bool {
        matches!(self, Self::OciConfig | Self::DockerConfig)
    }

    /// Whether this is a Docker schema 1 manifest (signed or not).
    pub fn is_schema1(&self) -> bool {
        matches!(
            self,
            Self::DockerManifestSchema1 | Self::DockerManifestSchema1Signed
        )
    }

    /// Whether this is a layer type: tar, gzip or zstd, OCI or Docker,
    /// distributable or not.
    pub fn is_layer(&self) -> bool {
        matches!(
            self,
            Self::DockerLayer
                | Self::DockerLayerZstd
                | Self::DockerUncompressedLayer
                | Self::DockerForeignLayer
                | Self::OciLayer
                | Self::OciLayerZstd
                | Self::OciUncompressedLayer
                | Self::OciRestrictedLayer
                | Self::OciRestrictedLayerZstd
                | Self::OciUncompressedRestrictedLayer
        )
    }

    /// Whether blobs of this type may be pushed and pulled like any other.
    ///
    /// Only Docker foreign layers and OCI non-distributable layers are not;
    /// every other type (including unknown ones) is.
    pub fn is_distributable(&self) -> bool {
        !matches!(
            self,
            Self::DockerForeignLayer
                | Self::OciRestrictedLayer
                | Self::OciRestrictedLayerZstd
                | Self::OciUncompressedRestrictedLayer
        )
    }

    /// Whether this is a manifest of any kind (image, index or schema 1).
    pub fn is_manifest(&self) -> bool {
        self.is_image() || self.is_index() || self.is_schema1()
    }

    /// Whether this is one of ggcr's known types (not [`MediaType::Other`]).
    pub fn is_known(&self) -> bool {
        !matches!(self, Self::Other(_))
    }

    /// Whether this is an OCI (`vnd.oci`) type.
    pub fn is_oci(&self) -> bool {
        self.as_str().starts_with("application/vnd.oci.")
    }

    /// Whether this is a Docker (`vnd.docker`) type.
    pub fn is_docker(&self) -> bool {
        self.as_str().starts_with("application/vnd.docker.")
    }
}

impl From<&str> for MediaType {
    fn from(s: &str) -> Self {
        Self::known(s).unwrap_or_else(|| Self::Other(s.to_owned()))
    }
}

impl From<String> for MediaType {
    fn from(s: String) -> Self {
        Self::known(&s).unwrap_or(Self::Other(s))
    }
}

impl From<MediaType> for String {
    fn from(mt: MediaType) -> Self {
        match mt {
            MediaType::Other(s) => s,
            known => known.as_str().to_owned(),
        }
    }
}

impl FromStr for MediaType {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::from(s))
    }
}

impl AsRef<str> for MediaType {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for MediaType {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for MediaType {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for MediaType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for MediaType {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <Cow<'de, str>>::deserialize(deserializer)?;
        Ok(match s {
            Cow::Borrowed(b) => Self::from(b),
            Cow::Owned(o) => Self::from(o),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_type_round_trips() {
        for mt in MediaType::KNOWN {
            let parsed = MediaType::from(mt.as_str());
            assert_eq!(&parsed, mt);
            assert!(parsed.is_known());
            assert_eq!(String::from(parsed.clone()), mt.as_str());
            let json = serde_json::to_string(mt).unwrap();
            assert_eq!(serde_json::from_str::<MediaType>(&json).unwrap(), *mt);
        }
        assert_eq!(MediaType::KNOWN.len(), 22);
    }

    #[test]
    fn unknown_types_kept_verbatim() {
        for s in [
            "application/x-custom",
            "APPLICATION/VND.OCI.IMAGE.INDEX.V1+JSON",
            "application/vnd.oci.image.index.v1+json ",
            "",
            "text/plain; charset=utf-8",
        ] {
            let mt: MediaType = s.parse().unwrap();
            assert_eq!(mt, MediaType::Other(s.to_owned()));
            assert_eq!(mt.to_string(), s);
            assert!(!mt.is_known() && !mt.is_image() && !mt.is_index() && !mt.is_layer());
            assert!(mt.is_distributable());
            let json = serde_json::to_string(&mt).unwrap();
            assert_eq!(serde_json::from_str::<MediaType>(&json).unwrap(), mt);
        }
    }

    #[test]
    fn predicates_match_ggcr() {
        use MediaType as M;
        // (type, image, index, config, schema1, layer, distributable)
        #[rustfmt::skip]
        let table = [
            (M::OciContentDescriptor,           false, false, false, false, false, true),
            (M::OciImageIndex,                  false, true,  false, false, false, true),
            (M::OciManifest,                    true,  false, false, false, false, true),
            (M::OciConfig,                      false, false, true,  false, false, true),
            (M::OciLayer,                       false, false, false, false, true,  true),
            (M::OciLayerZstd,                   false, false, false, false, true,  true),
            (M::OciUncompressedLayer,           false, false, false, false, true,  true),
            (M::OciRestrictedLayer,             false, false, false, false, true,  false),
            (M::OciRestrictedLayerZstd,         false, false, false, false, true,  false),
            (M::OciUncompressedRestrictedLayer, false, false, false, false, true,  false),
            (M::OciEmpty,                       false, false, false, false, false, true),
            (M::OciLayoutHeader,                false, false, false, false, false, true),
            (M::DockerManifestSchema1,          false, false, false, true,  false, true),
            (M::DockerManifestSchema1Signed,    false, false, false, true,  false, true),
            (M::DockerManifestSchema2,          true,  false, false, false, false, true),
            (M::DockerManifestList,             false, true,  false, false, false, true),
            (M::DockerLayer,                    false, false, false, false, true,  true),
            (M::DockerLayerZstd,                false, false, false, false, true,  true),
            (M::DockerUncompressedLayer,        false, false, false, false, true,  true),
            (M::DockerForeignLayer,             false, false, false, false, true,  false),
            (M::DockerConfig,                   false, false, true,  false, false, true),
            (M::DockerPluginConfig,             false, false, false, false, false, true),
        ];
        assert_eq!(table.len(), MediaType::KNOWN.len());
        for (mt, image, index, config, schema1, layer, dist) in table {
            assert_eq!(mt.is_image(), image, "{mt} is_image");
            assert_eq!(mt.is_index(), index, "{mt} is_index");
            assert_eq!(mt.is_config(), config, "{mt} is_config");
            assert_eq!(mt.is_schema1(), schema1, "{mt} is_schema1");
            assert_eq!(mt.is_layer(), layer, "{mt} is_layer");
            assert_eq!(mt.is_distributable(), dist, "{mt} is_distributable");
            assert_eq!(mt.is_manifest(), image || index || schema1, "{mt}");
            assert!(mt.is_oci() != mt.is_docker(), "{mt}");
        }
    }

    #[test]
    fn compares_with_str() {
        assert!(MediaType::OciEmpty == "application/vnd.oci.empty.v1+json");
        assert_eq!(
            MediaType::DockerLayer.as_ref(),
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
        );
    }
}
