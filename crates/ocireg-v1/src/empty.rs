//! The empty image and the empty index (ggcr's `pkg/v1/empty`): the bases
//! that images and indexes are built up from.
//!
//! Their bytes are exactly ggcr's, so anything built on them has the digests
//! ggcr would give it: the empty image's config is
//! `{"architecture":"","created":"0001-01-01T00:00:00Z","os":"","rootfs":{"type":"layers","diff_ids":null},"config":{}}`
//! (115 bytes, [`IMAGE_CONFIG_DIGEST`]) under a Docker schema 2 manifest with
//! `"layers":[]`; the empty index is an OCI index with `"manifests":[]` (88
//! bytes, [`INDEX_DIGEST`]).
//!
//! ```
//! use ocireg_v1::{empty, Image, ImageIndex};
//!
//! # futures_executor::block_on(async {
//! let img = empty::image();
//! assert_eq!(img.config_name().await?.to_string(), empty::IMAGE_CONFIG_DIGEST);
//! assert_eq!(empty::index().digest().await?.to_string(), empty::INDEX_DIGEST);
//! # Ok::<(), ocireg_v1::Error>(())
//! # }).unwrap();
//! ```

use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use crate::partial::memory::{MemoryImage, MemoryIndex};
use crate::{
    ConfigFile, Descriptor, Image, ImageIndex, IndexManifest, Manifest, MediaType, RootFs,
};

/// The digest of the empty image's config (its image ID), as ggcr computes it.
pub const IMAGE_CONFIG_DIGEST: &str =
    "sha256:5b943e2b943f6c81dbbd4e2eca5121f4fcc39139e3d1219d6d89bd925b77d9fe";

/// The digest of the empty image's manifest.
pub const IMAGE_DIGEST: &str =
    "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4";

/// The digest of the empty index's manifest.
pub const INDEX_DIGEST: &str =
    "sha256:dff9de10919148711140d349bf03f1a99eb06f94b03e51715ccebfa7cdc518e2";

/// The empty image: no layers, a config with nothing but `rootfs.type`
/// `"layers"`, a Docker schema 2 manifest (ggcr's `empty.Image`).
///
/// Asking it for any layer fails with [`crate::Error::NotFound`].
pub fn image() -> Arc<dyn Image> {
    static IMAGE: OnceLock<Arc<MemoryImage>> = OnceLock::new();
    let img = IMAGE.get_or_init(|| {
        let config = ConfigFile {
            rootfs: RootFs::layers(None),
            ..ConfigFile::default()
        };
        let raw_config = Bytes::from(
            crate::to_go_json(&config).expect("the empty config has no value JSON cannot encode"),
        );
        let manifest = Manifest::new(
            MediaType::DockerManifestSchema2,
            Descriptor::for_bytes(MediaType::DockerConfig, &raw_config),
        );
        let raw_manifest =
            Bytes::from(crate::to_go_json(&manifest).expect("a manifest always encodes as JSON"));
        Arc::new(MemoryImage {
            raw_manifest,
            raw_config,
            media_type: MediaType::DockerManifestSchema2,
            layers: Vec::new(),
        })
    });
    Arc::clone(img) as Arc<dyn Image>
}

/// The empty index: an OCI image index listing nothing (ggcr's `empty.Index`).
///
/// Asking it for any child fails with [`crate::Error::NotFound`].
pub fn index() -> Arc<dyn ImageIndex> {
    static INDEX: OnceLock<Arc<MemoryIndex>> = OnceLock::new();
    let idx = INDEX.get_or_init(|| {
        let manifest = IndexManifest::new(MediaType::OciImageIndex);
        let raw_manifest = Bytes::from(
            crate::to_go_json(&manifest).expect("an index manifest always encodes as JSON"),
        );
        Arc::new(MemoryIndex {
            raw_manifest,
            media_type: MediaType::OciImageIndex,
            images: Vec::new(),
            indexes: Vec::new(),
        })
    });
    Arc::clone(idx) as Arc<dyn ImageIndex>
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_executor::block_on;

    #[test]
    fn golden_bytes() {
        block_on(async {
            let img = image();
            let config = img.raw_config_file().await.unwrap();
            assert_eq!(
                &config[..],
                br#"{"architecture":"","created":"0001-01-01T00:00:00Z","os":"","rootfs":{"type":"layers","diff_ids":null},"config":{}}"#
            );
            assert_eq!(config.len(), 115);
            assert_eq!(
                img.config_name().await.unwrap().to_string(),
                IMAGE_CONFIG_DIGEST
            );
            let manifest = img.raw_manifest().await.unwrap();
            assert_eq!(manifest.len(), 264);
            assert!(
                std::str::from_utf8(&manifest)
                    .unwrap()
                    .ends_with(r#","layers":[]}"#)
            );
            assert_eq!(img.digest().await.unwrap().to_string(), IMAGE_DIGEST);

            let idx = index();
            let raw = idx.raw_manifest().await.unwrap();
            assert_eq!(
                &raw[..],
                br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#
            );
            assert_eq!(idx.digest().await.unwrap().to_string(), INDEX_DIGEST);
        });
    }
}
