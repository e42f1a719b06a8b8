//! The Layer / Image / ImageIndex views: trait objects from different
//! sources mixed together, the partial adapters, the empty and random fixtures.

#![expect(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fns fail the test by panicking, like the tests"
)]

use std::io::Write as _;
use std::sync::Arc;

use bytes::Bytes;
use futures_executor::block_on;
use ocireg_v1::partial::{
    CompressedLayer, CompressedToLayer, UncompressedImageCore, UncompressedLayer,
    UncompressedToImage, UncompressedToLayer,
};
use ocireg_v1::{
    Blob, ConfigFile, Digest, Error, Image, ImageExt as _, ImageIndex, ImageIndexExt as _, Layer,
    LayerExt as _, MediaType, Result, RootFs, StaticLayer, StreamLayer, async_trait, empty, random,
    sha256, validate,
};

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// A tar with one file, built by the random fixtures (uncompressed type).
async fn some_tar(seed: u64) -> Bytes {
    let layer = random::layer(100, MediaType::DockerUncompressedLayer, seed).unwrap();
    layer
        .uncompressed()
        .await
        .unwrap()
        .read_to_end(1 << 20)
        .await
        .unwrap()
}

#[derive(Debug)]
struct Gz {
    bytes: Bytes,
    known_diff_id: Option<Digest>,
}

#[async_trait]
impl CompressedLayer for Gz {
    async fn digest(&self) -> Result<Digest> {
        Ok(sha256(&self.bytes))
    }
    async fn size(&self) -> Result<u64> {
        Ok(self.bytes.len() as u64)
    }
    async fn media_type(&self) -> Result<MediaType> {
        Ok(MediaType::OciLayer)
    }
    async fn compressed(&self) -> Result<Blob> {
        Ok(Blob::from_bytes(self.bytes.clone()))
    }
    async fn diff_id(&self) -> Result<Option<Digest>> {
        Ok(self.known_diff_id)
    }
}

#[derive(Debug)]
struct Tar {
    bytes: Bytes,
    media_type: MediaType,
}

#[async_trait]
impl UncompressedLayer for Tar {
    async fn diff_id(&self) -> Result<Digest> {
        Ok(sha256(&self.bytes))
    }
    async fn uncompressed(&self) -> Result<Blob> {
        Ok(Blob::from_bytes(self.bytes.clone()))
    }
    async fn media_type(&self) -> Result<MediaType> {
        Ok(self.media_type.clone())
    }
}

#[test]
fn trait_objects_from_every_source_mix() {
    block_on(async {
        let tar = some_tar(1).await;
        let layers: Vec<Arc<dyn Layer>> = vec![
            Arc::new(StaticLayer::new(
                tar.clone(),
                MediaType::OciUncompressedLayer,
            )),
            Arc::new(StreamLayer::new(Blob::from_bytes(tar.clone()))),
            random::layer(300, MediaType::DockerLayer, 5).unwrap(),
            Arc::new(UncompressedToLayer::new(Tar {
                bytes: tar.clone(),
                media_type: MediaType::OciLayer,
            })),
            Arc::new(CompressedToLayer::new(Gz {
                bytes: gzip(&tar).into(),
                known_diff_id: None,
            })),
            // Forwarding impls: an Arc and a Box of layers are layers too.
            Arc::new(
                Box::new(StaticLayer::new("x", MediaType::OciUncompressedLayer)) as Box<dyn Layer>,
            ),
        ];
        for (i, layer) in layers.iter().enumerate() {
            // Read first: the stream layer only knows its digest afterwards.
            let compressed = layer
                .compressed()
                .await
                .unwrap()
                .read_to_end(1 << 20)
                .await
                .unwrap();
            assert_eq!(
                layer.digest().await.unwrap(),
                sha256(&compressed),
                "layer {i}"
            );
            assert_eq!(
                layer.size().await.unwrap(),
                compressed.len() as u64,
                "layer {i}"
            );
            let desc = layer.to_descriptor().await.unwrap();
            assert_eq!(desc.digest, sha256(&compressed));
            assert!(layer.exists().await.unwrap());
        }
        // The same tar gives the same diff id whichever way it arrived.
        for i in [0, 1, 3, 4] {
            assert_eq!(
                layers[i].diff_id().await.unwrap(),
                sha256(&tar),
                "layer {i}"
            );
        }
        // They all validate (the stream layer's missing uncompressed form is skipped).
        for (i, layer) in layers.iter().enumerate() {
            if i == 1 {
                continue; // consumed above: a stream layer is one-shot
            }
            validate::layer(&**layer, validate::Options::default())
                .await
                .unwrap_or_else(|e| panic!("layer {i}: {e}"));
        }
        let fresh = StreamLayer::new(Blob::from_bytes(tar.clone()));
        validate::layer(&fresh, validate::Options::default())
            .await
            .unwrap();
        assert_eq!(Layer::diff_id(&fresh).await.unwrap(), sha256(&tar));
    });
}

#[test]
fn stream_layer_exists_does_not_consume_it() {
    block_on(async {
        let layer = StreamLayer::new(Blob::from_bytes("abc"));
        assert!(Layer::exists(&layer).await.unwrap());
        assert!(!layer.is_consumed());
        assert!(matches!(
            Layer::digest(&layer).await,
            Err(Error::NotComputed { .. })
        ));
    });
}

#[test]
fn compressed_to_layer_decompresses_by_sniffing() {
    block_on(async {
        let tar = some_tar(2).await;
        let gz: Bytes = gzip(&tar).into();
        let layer = CompressedToLayer::new(Gz {
            bytes: gz.clone(),
            known_diff_id: None,
        });
        assert_eq!(
            layer
                .uncompressed()
                .await
                .unwrap()
                .read_to_end(1 << 20)
                .await
                .unwrap(),
            tar
        );
        assert_eq!(layer.diff_id().await.unwrap(), sha256(&tar));
        // Mislabelled: "compressed" but really a plain tar. Passed through.
        let plain = CompressedToLayer::new(Gz {
            bytes: tar.clone(),
            known_diff_id: None,
        });
        assert_eq!(plain.diff_id().await.unwrap(), sha256(&tar));
        // A known diff id is trusted, not recomputed (validate would catch a lie).
        let told = CompressedToLayer::new(Gz {
            bytes: gz,
            known_diff_id: Some(sha256(b"told")),
        });
        assert_eq!(told.diff_id().await.unwrap(), sha256(b"told"));
        assert!(
            validate::layer(&told, validate::Options::default())
                .await
                .is_err()
        );
    });
}

#[test]
fn uncompressed_to_layer_gzips_deterministically_and_passes_tar_through() {
    block_on(async {
        let tar = some_tar(3).await;
        let layer = UncompressedToLayer::new(Tar {
            bytes: tar.clone(),
            media_type: MediaType::DockerLayer,
        });
        let a = layer
            .compressed()
            .await
            .unwrap()
            .read_to_end(1 << 20)
            .await
            .unwrap();
        let b = layer
            .compressed()
            .await
            .unwrap()
            .read_to_end(1 << 20)
            .await
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(&a[..2], &[0x1f, 0x8b]);
        assert_eq!(layer.digest().await.unwrap(), sha256(&a));
        assert_eq!(layer.size().await.unwrap(), a.len() as u64);
        // Once known, the compressed blob announces its size.
        assert_eq!(
            layer.compressed().await.unwrap().size(),
            Some(a.len() as u64)
        );

        let plain = UncompressedToLayer::new(Tar {
            bytes: tar.clone(),
            media_type: MediaType::OciUncompressedLayer,
        });
        assert_eq!(plain.digest().await.unwrap(), sha256(&tar));
        assert_eq!(plain.size().await.unwrap(), tar.len() as u64);
        assert_eq!(
            plain
                .compressed()
                .await
                .unwrap()
                .read_to_end(1 << 20)
                .await
                .unwrap(),
            tar
        );
    });
}

#[derive(Debug)]
struct TarballLike {
    config: Bytes,
    layers: Vec<Arc<dyn UncompressedLayer>>,
    media_type: MediaType,
}

impl TarballLike {
    async fn new(n: u64, media_type: MediaType) -> Self {
        let mut layers: Vec<Arc<dyn UncompressedLayer>> = Vec::new();
        let mut diff_ids = Vec::new();
        for i in 0..n {
            let tar = Tar {
                bytes: some_tar(100 + i).await,
                media_type: MediaType::DockerLayer,
            };
            diff_ids.push(tar.diff_id().await.unwrap());
            layers.push(Arc::new(tar));
        }
        let config = ConfigFile::new("linux", "amd64").with_rootfs(RootFs::layers(Some(diff_ids)));
        Self {
            config: ocireg_v1::to_go_json(&config).unwrap().into(),
            layers,
            media_type,
        }
    }
}

#[async_trait]
impl UncompressedImageCore for TarballLike {
    async fn raw_config_file(&self) -> Result<Bytes> {
        Ok(self.config.clone())
    }
    async fn media_type(&self) -> Result<MediaType> {
        Ok(self.media_type.clone())
    }
    async fn layer_by_diff_id(&self, diff_id: Digest) -> Result<Arc<dyn UncompressedLayer>> {
        for l in &self.layers {
            if l.diff_id().await? == diff_id {
                return Ok(Arc::clone(l));
            }
        }
        Err(Error::NotFound {
            what: format!("layer {diff_id}"),
        })
    }
}

#[test]
fn uncompressed_to_image_synthesises_a_valid_manifest() {
    block_on(async {
        let img =
            UncompressedToImage::new(TarballLike::new(2, MediaType::DockerManifestSchema2).await);
        let m = img.manifest().await.unwrap();
        assert_eq!(m.media_type, Some(MediaType::DockerManifestSchema2));
        assert_eq!(m.config.media_type, MediaType::DockerConfig);
        assert_eq!(m.layers.len(), 2);
        assert_eq!(m.layers[0].media_type, MediaType::DockerLayer);
        // The manifest is produced once: the same bytes every time.
        assert_eq!(
            img.raw_manifest().await.unwrap(),
            img.raw_manifest().await.unwrap()
        );
        validate::image(&img, validate::Options::default())
            .await
            .unwrap();

        let oci = UncompressedToImage::new(TarballLike::new(1, MediaType::OciManifest).await);
        assert_eq!(
            oci.manifest().await.unwrap().config.media_type,
            MediaType::OciConfig
        );
        validate::image(&oci, validate::Options::default())
            .await
            .unwrap();
    });
}

#[test]
fn empty_image_golden_vectors() {
    block_on(async {
        let img = empty::image();
        let config = img.raw_config_file().await.unwrap();
        assert_eq!(config.len(), 115);
        assert_eq!(
            img.config_name().await.unwrap().to_string(),
            "sha256:5b943e2b943f6c81dbbd4e2eca5121f4fcc39139e3d1219d6d89bd925b77d9fe"
        );
        let m = img.manifest().await.unwrap();
        assert_eq!(m.media_type, Some(MediaType::DockerManifestSchema2));
        assert_eq!(m.config.media_type, MediaType::DockerConfig);
        assert_eq!(m.config.size, 115);
        assert!(
            std::str::from_utf8(&img.raw_manifest().await.unwrap())
                .unwrap()
                .contains(r#""layers":[]"#)
        );
        assert_eq!(img.config_file().await.unwrap().rootfs.kind, "layers");
        assert!(img.layers().await.unwrap().is_empty());
        assert!(matches!(
            img.layer_by_digest(sha256(b"nope")).await,
            Err(Error::NotFound { .. })
        ));
        // The config is served as a blob.
        let cl = img.config_layer().await.unwrap();
        assert_eq!(cl.digest().await.unwrap(), m.config.digest);
        let by_digest = img.layer_by_digest(m.config.digest).await.unwrap();
        assert_eq!(by_digest.size().await.unwrap(), 115);
        // As ggcr's partial.ArtifactType: the config media type of an ordinary image.
        assert_eq!(
            img.artifact_type().await.unwrap(),
            Some(MediaType::DockerConfig)
        );
        let desc = img.to_descriptor().await.unwrap();
        assert_eq!(desc.size, 264);
        assert_eq!(desc.digest.to_string(), empty::IMAGE_DIGEST);
        validate::image(&*img, validate::Options::default())
            .await
            .unwrap();
    });
}

#[test]
fn empty_index_golden_vectors() {
    block_on(async {
        let idx = empty::index();
        assert_eq!(idx.size().await.unwrap(), 88);
        assert_eq!(
            idx.digest().await.unwrap().to_string(),
            "sha256:dff9de10919148711140d349bf03f1a99eb06f94b03e51715ccebfa7cdc518e2"
        );
        assert_eq!(idx.media_type().await.unwrap(), MediaType::OciImageIndex);
        assert!(idx.index_manifest().await.unwrap().manifests.is_empty());
        let any = sha256(b"child");
        assert!(matches!(idx.image(any).await, Err(Error::NotFound { .. })));
        assert!(matches!(
            idx.image_index(any).await,
            Err(Error::NotFound { .. })
        ));
        assert!(idx.layer(any).await.unwrap().is_none());
        assert_eq!(idx.to_descriptor().await.unwrap().size, 88);
        validate::index(&*idx, validate::Options::default())
            .await
            .unwrap();
    });
}

async fn layer_digests(img: &dyn Image) -> Vec<Digest> {
    let mut out = Vec::new();
    for l in img.layers().await.unwrap() {
        out.push(l.digest().await.unwrap());
    }
    out
}

#[test]
fn random_is_deterministic_per_seed() {
    block_on(async {
        let a = random::image(512, 3, 1).unwrap();
        let b = random::image(512, 3, 1).unwrap();
        let c = random::image(512, 3, 2).unwrap();
        assert_eq!(a.digest().await.unwrap(), b.digest().await.unwrap());
        assert_eq!(layer_digests(&*a).await, layer_digests(&*b).await);
        assert_ne!(a.digest().await.unwrap(), c.digest().await.unwrap());
        let (da, dc) = (layer_digests(&*a).await, layer_digests(&*c).await);
        assert!(da.iter().all(|d| !dc.contains(d)));
        // Layers of one image differ from each other.
        assert_ne!(da[0], da[1]);

        let la = random::layer(64, MediaType::OciLayer, 9).unwrap();
        let lb = random::layer(64, MediaType::OciLayer, 9).unwrap();
        let lc = random::layer(64, MediaType::OciLayer, 10).unwrap();
        assert_eq!(la.digest().await.unwrap(), lb.digest().await.unwrap());
        assert_ne!(la.digest().await.unwrap(), lc.digest().await.unwrap());

        let ia = random::index(64, 2, 3, 5).unwrap();
        let ib = random::index(64, 2, 3, 5).unwrap();
        let ic = random::index(64, 2, 3, 6).unwrap();
        assert_eq!(ia.digest().await.unwrap(), ib.digest().await.unwrap());
        assert_ne!(ia.digest().await.unwrap(), ic.digest().await.unwrap());
    });
}

#[test]
fn random_image_shape() {
    block_on(async {
        let img = random::image(1000, 2, 3).unwrap();
        let m = img.manifest().await.unwrap();
        assert_eq!(m.media_type, Some(MediaType::DockerManifestSchema2));
        assert_eq!(m.config.media_type, MediaType::DockerConfig);
        assert!(
            m.layers
                .iter()
                .all(|l| l.media_type == MediaType::DockerLayer)
        );
        let cf = img.config_file().await.unwrap();
        assert_eq!(cf.rootfs.diff_ids().len(), 2);
        assert_eq!(cf.history.len(), 2);
        assert!(cf.history.iter().all(|h| h.author == "random.Image"));
        // No timestamps (ggcr #1678): the zero time.
        assert!(
            std::str::from_utf8(&img.raw_config_file().await.unwrap())
                .unwrap()
                .contains("0001-01-01T00:00:00Z")
        );
        // The layer holds one file random_file_<n>.txt of the requested size.
        let layer = &img.layers().await.unwrap()[0];
        let tar = layer
            .uncompressed()
            .await
            .unwrap()
            .read_to_end(1 << 20)
            .await
            .unwrap();
        assert!(tar.starts_with(b"random_file_"));
        assert_eq!(&tar[124..135], format!("{:011o}", 1000).as_bytes());
        // Lookups by diff id and digest agree.
        let diff_id = layer.diff_id().await.unwrap();
        let by_diff = img.layer_by_diff_id(diff_id).await.unwrap();
        assert_eq!(
            by_diff.digest().await.unwrap(),
            layer.digest().await.unwrap()
        );
        assert_eq!(
            img.blob_to_diff_id(layer.digest().await.unwrap())
                .await
                .unwrap(),
            diff_id
        );
        assert_eq!(
            img.diff_id_to_blob(diff_id).await.unwrap(),
            layer.digest().await.unwrap()
        );
        assert_eq!(
            img.blob_descriptor(m.config.digest).await.unwrap(),
            m.config
        );
        validate::image(&*img, validate::Options::default())
            .await
            .unwrap();
    });
}

#[test]
fn random_layers_honour_their_media_type() {
    block_on(async {
        for (mt, magic) in [
            (MediaType::OciLayer, &[0x1f, 0x8b][..]),
            (MediaType::OciLayerZstd, &[0x28, 0xb5, 0x2f, 0xfd][..]),
            (MediaType::OciUncompressedLayer, &b"random_file_"[..]),
        ] {
            let layer = random::layer(200, mt.clone(), 1).unwrap();
            let c = layer
                .compressed()
                .await
                .unwrap()
                .read_to_end(1 << 20)
                .await
                .unwrap();
            assert!(c.starts_with(magic), "{mt}");
            validate::layer(&*layer, validate::Options::default())
                .await
                .unwrap_or_else(|e| panic!("{mt}: {e}"));
        }
    });
}

#[test]
fn random_index_children_validate() {
    block_on(async {
        let idx = random::index(128, 2, 3, 11).unwrap();
        let m = idx.index_manifest().await.unwrap();
        assert_eq!(m.manifests.len(), 3);
        for desc in &m.manifests {
            assert_eq!(desc.media_type, MediaType::DockerManifestSchema2);
            assert!(desc.platform.is_none());
            let child = idx.image(desc.digest).await.unwrap();
            assert_eq!(child.digest().await.unwrap(), desc.digest);
        }
        validate::index(&*idx, validate::Options::default())
            .await
            .unwrap();
        validate::index(&*idx, validate::Options::fast())
            .await
            .unwrap();
    });
}
