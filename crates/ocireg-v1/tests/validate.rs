//! `validate` passes on good views and fails, listing every problem, on
//! broken ones (small hand-written bad implementations of the traits).

#![expect(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fns fail the test by panicking, like the tests"
)]

use std::io::Write as _;
use std::sync::Arc;

use bytes::Bytes;
use futures_executor::block_on;
use ocireg_v1::validate::{self, Options};
use ocireg_v1::{
    Algorithm, Blob, ConfigFile, Descriptor, Digest, Error, Image, ImageIndex, IndexManifest,
    Layer, LayerExt as _, Manifest, MediaType, Platform, Result, RootFs, async_trait, digest_of,
    empty, random, sha256,
};

/// The problems of an `Error::Invalid`, or a panic.
fn problems(result: Result<()>) -> Vec<String> {
    match result {
        Err(Error::Invalid { problems, .. }) => problems,
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
}

fn has(problems: &[String], needle: &str) -> bool {
    problems.iter().any(|p| p.contains(needle))
}

/// A layer that can lie about any of its values or serve other bytes.
#[derive(Debug, Clone)]
struct Lying {
    inner: Arc<dyn Layer>,
    digest: Option<Digest>,
    diff_id: Option<Digest>,
    size: Option<u64>,
    compressed: Option<Bytes>,
}

impl Lying {
    fn new(inner: Arc<dyn Layer>) -> Self {
        Self {
            inner,
            digest: None,
            diff_id: None,
            size: None,
            compressed: None,
        }
    }
}

#[async_trait]
impl Layer for Lying {
    async fn digest(&self) -> Result<Digest> {
        match self.digest {
            Some(d) => Ok(d),
            None => self.inner.digest().await,
        }
    }
    async fn diff_id(&self) -> Result<Digest> {
        match self.diff_id {
            Some(d) => Ok(d),
            None => self.inner.diff_id().await,
        }
    }
    async fn size(&self) -> Result<u64> {
        match self.size {
            Some(s) => Ok(s),
            None => self.inner.size().await,
        }
    }
    async fn media_type(&self) -> Result<MediaType> {
        self.inner.media_type().await
    }
    async fn compressed(&self) -> Result<Blob> {
        match &self.compressed {
            Some(b) => Ok(Blob::from_bytes(b.clone())),
            None => self.inner.compressed().await,
        }
    }
    async fn uncompressed(&self) -> Result<Blob> {
        self.inner.uncompressed().await
    }
}

/// An image assembled from whatever its layers claim, with hooks to break
/// the config and the manifest.
#[derive(Debug)]
struct Assembled {
    manifest: Bytes,
    config: Bytes,
    layers: Vec<Arc<dyn Layer>>,
}

impl Assembled {
    async fn new(
        layers: Vec<Arc<dyn Layer>>,
        edit_config: impl FnOnce(&mut ConfigFile),
        edit_manifest: impl FnOnce(&mut Manifest),
    ) -> Self {
        {
            let mut diff_ids = Vec::new();
            let mut descs = Vec::new();
            for l in &layers {
                diff_ids.push(l.diff_id().await.unwrap());
                descs.push(l.to_descriptor().await.unwrap());
            }
            let mut config =
                ConfigFile::new("linux", "arm64").with_rootfs(RootFs::layers(Some(diff_ids)));
            edit_config(&mut config);
            let config = Bytes::from(ocireg_v1::to_go_json(&config).unwrap());
            let mut manifest = Manifest::new(
                MediaType::OciManifest,
                Descriptor::for_bytes(MediaType::OciConfig, &config),
            );
            manifest.layers = descs;
            edit_manifest(&mut manifest);
            Self {
                manifest: ocireg_v1::to_go_json(&manifest).unwrap().into(),
                config,
                layers,
            }
        }
    }

    async fn good(layers: Vec<Arc<dyn Layer>>) -> Self {
        Self::new(layers, |_| {}, |_| {}).await
    }
}

#[async_trait]
impl Image for Assembled {
    async fn raw_manifest(&self) -> Result<Bytes> {
        Ok(self.manifest.clone())
    }
    async fn raw_config_file(&self) -> Result<Bytes> {
        Ok(self.config.clone())
    }
    async fn media_type(&self) -> Result<MediaType> {
        Ok(MediaType::OciManifest)
    }
    async fn layer_by_digest(&self, digest: Digest) -> Result<Arc<dyn Layer>> {
        for l in &self.layers {
            if l.digest().await? == digest {
                return Ok(Arc::clone(l));
            }
        }
        Err(Error::NotFound {
            what: format!("layer {digest}"),
        })
    }
}

fn layers(n: u64, seed: u64) -> Vec<Arc<dyn Layer>> {
    (0..n)
        .map(|i| random::layer(300, MediaType::OciLayer, seed * 100 + i).unwrap())
        .collect()
}

#[test]
fn good_images_pass() {
    block_on(async {
        validate::image(&Assembled::good(layers(3, 1)).await, Options::default())
            .await
            .unwrap();
        validate::image(&Assembled::good(Vec::new()).await, Options::default())
            .await
            .unwrap();
        validate::image(&*empty::image(), Options::fast())
            .await
            .unwrap();
    });
}

#[test]
fn layer_bytes_that_do_not_match_the_digest() {
    block_on(async {
        let good = layers(1, 2).remove(0);
        let mut bad = Lying::new(Arc::clone(&good));
        // Other (valid gzip) bytes behind the same digest and size claims.
        let other = random::layer(300, MediaType::OciLayer, 999).unwrap();
        bad.compressed = Some(
            other
                .compressed()
                .await
                .unwrap()
                .read_to_end(1 << 20)
                .await
                .unwrap(),
        );

        let p = problems(validate::layer(&bad, Options::default()).await);
        assert!(has(&p, "digest() is"), "{p:#?}");
        assert!(has(&p, "decompressed compressed stream hashes"), "{p:#?}");

        let img = Assembled::good(vec![Arc::new(bad)]).await;
        let p = problems(validate::image(&img, Options::default()).await);
        assert!(has(&p, "layer[0]: digest() is"), "{p:#?}");
        assert!(
            has(&p, "layer[0]: manifest digest vs hash of compressed stream"),
            "{p:#?}"
        );
        assert!(has(&p, "layer[0]: config diff id vs hash"), "{p:#?}");
        // Several problems are listed, not just the first.
        assert!(p.len() >= 3, "{p:#?}");
        // Fast mode does not read layers, so it cannot see this.
        validate::image(&img, Options::fast()).await.unwrap();
    });
}

#[test]
fn wrong_diff_ids() {
    block_on(async {
        // In the config only.
        let img = Assembled::new(
            layers(2, 3),
            |c| c.rootfs = RootFs::layers(Some(vec![sha256(b"a"), sha256(b"b")])),
            |_| {},
        )
        .await;
        let p = problems(validate::image(&img, Options::default()).await);
        assert!(has(&p, "layer[0]: config diff id"), "{p:#?}");
        assert!(has(&p, "layer[1]: config diff id"), "{p:#?}");
        assert!(has(&p, "layer_by_diff_id() failed"), "{p:#?}");

        // Claimed by the layer itself.
        let mut lying = Lying::new(layers(1, 4).remove(0));
        lying.diff_id = Some(sha256(b"lie"));
        let p = problems(validate::layer(&lying, Options::default()).await);
        assert!(has(&p, "diff_id() is"), "{p:#?}");
        assert!(has(&p, "uncompressed stream hashes"), "{p:#?}");

        // Too few diff ids for the layers.
        let img = Assembled::new(layers(2, 5), |c| c.rootfs = RootFs::layers(None), |_| {}).await;
        let p = problems(validate::image(&img, Options::default()).await);
        assert!(
            has(
                &p,
                "the manifest lists 2 layers but the config lists 0 diff ids"
            ),
            "{p:#?}"
        );
        // Lookups by diff id cannot line layers up with diff ids.
        assert!(matches!(
            img.layer_by_diff_id(sha256(b"any")).await,
            Err(Error::LayerCountMismatch {
                layers: 2,
                diff_ids: 0
            })
        ));
        // ... which fast mode sees too, as it costs nothing.
        let p = problems(validate::image(&img, Options::fast()).await);
        assert!(has(&p, "0 diff ids"), "{p:#?}");
    });
}

#[test]
fn wrong_sizes() {
    block_on(async {
        let mut lying = Lying::new(layers(1, 6).remove(0));
        let real = lying.inner.size().await.unwrap();
        lying.size = Some(real + 1);
        let p = problems(validate::layer(&lying, Options::default()).await);
        assert_eq!(
            p,
            [format!(
                "size() is {} but the compressed stream has {real} bytes",
                real + 1
            )]
        );

        // Only the manifest is wrong.
        let img = Assembled::new(layers(1, 7), |_| {}, |m| m.layers[0].size += 10).await;
        let p = problems(validate::image(&img, Options::default()).await);
        assert!(
            has(&p, "manifest size vs length of compressed stream"),
            "{p:#?}"
        );

        // The config size in the manifest.
        let img = Assembled::new(layers(1, 8), |_| {}, |m| m.config.size -= 1).await;
        let p = problems(validate::image(&img, Options::default()).await);
        assert!(has(&p, "config size is"), "{p:#?}");
    });
}

#[test]
fn config_digest_mismatch() {
    block_on(async {
        let img = Assembled::new(layers(1, 9), |_| {}, |m| m.config.digest = sha256(b"x")).await;
        let p = problems(validate::image(&img, Options::default()).await);
        assert!(has(&p, "the manifest's config digest is"), "{p:#?}");
        // Serving the config as a blob checks it against the manifest.
        assert!(matches!(
            img.config_layer().await,
            Err(Error::DigestMismatch { .. })
        ));
        assert!(problems(validate::image(&img, Options::fast()).await).len() == 1);
    });
}

#[test]
fn bad_rootfs_type_and_manifest_digest() {
    #[derive(Debug)]
    struct WrongDigest(Assembled);

    #[async_trait]
    impl Image for WrongDigest {
        async fn raw_manifest(&self) -> Result<Bytes> {
            self.0.raw_manifest().await
        }
        async fn raw_config_file(&self) -> Result<Bytes> {
            self.0.raw_config_file().await
        }
        async fn media_type(&self) -> Result<MediaType> {
            self.0.media_type().await
        }
        async fn layer_by_digest(&self, digest: Digest) -> Result<Arc<dyn Layer>> {
            self.0.layer_by_digest(digest).await
        }
        async fn digest(&self) -> Result<Digest> {
            Ok(sha256(b"not the manifest"))
        }
        async fn size(&self) -> Result<u64> {
            Ok(1)
        }
    }

    block_on(async {
        let img = WrongDigest(
            Assembled::new(Vec::new(), |c| c.rootfs.kind = "layerz".into(), |_| {}).await,
        );
        let p = problems(validate::image(&img, Options::default()).await);
        assert!(has(&p, "rootfs.type is \"layerz\""), "{p:#?}");
        assert!(has(&p, "digest() is sha256:"), "{p:#?}");
        assert!(has(&p, "size() is 1 but the raw manifest has"), "{p:#?}");
    });
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

#[test]
fn truncated_and_duplicate_path_layers() {
    block_on(async {
        // Two copies of the same one-file tar (minus the end blocks) make a
        // tar with a duplicate path.
        let one = random::layer(10, MediaType::OciUncompressedLayer, 1).unwrap();
        let tar = one
            .uncompressed()
            .await
            .unwrap()
            .read_to_end(1 << 20)
            .await
            .unwrap();
        let entry = &tar[..tar.len() - 1024];
        let dup = [entry, entry, &tar[tar.len() - 1024..]].concat();
        let layer = ocireg_v1::StaticLayer::new(gzip(&dup), MediaType::OciLayer);
        // A gzip layer served as a static layer has diff id = digest: that is
        // wrong too, but the point is the duplicate.
        let p = problems(validate::layer(&layer, Options::default()).await);
        assert!(has(&p, "duplicate file path"), "{p:#?}");

        // A gzip stream cut short.
        let big = random::layer(5000, MediaType::OciLayer, 2).unwrap();
        let gz = big
            .compressed()
            .await
            .unwrap()
            .read_to_end(1 << 20)
            .await
            .unwrap();
        let mut cut = Lying::new(big);
        cut.compressed = Some(gz.slice(..gz.len() / 2));
        let p = problems(validate::layer(&cut, Options::default()).await);
        assert!(has(&p, "undersized content"), "{p:#?}");
    });
}

/// An index over given children, with room to lie.
#[derive(Debug)]
struct TestIndex {
    manifest: Bytes,
    images: Vec<(Digest, Arc<dyn Image>)>,
}

impl TestIndex {
    fn new(children: Vec<(Descriptor, Option<Arc<dyn Image>>)>) -> Self {
        let mut m = IndexManifest::new(MediaType::OciImageIndex);
        let mut images = Vec::new();
        for (desc, img) in children {
            if let Some(img) = img {
                images.push((desc.digest, img));
            }
            m.manifests.push(desc);
        }
        Self {
            manifest: ocireg_v1::to_go_json(&m).unwrap().into(),
            images,
        }
    }
}

#[async_trait]
impl ImageIndex for TestIndex {
    async fn raw_manifest(&self) -> Result<Bytes> {
        Ok(self.manifest.clone())
    }
    async fn media_type(&self) -> Result<MediaType> {
        Ok(MediaType::OciImageIndex)
    }
    async fn image(&self, digest: Digest) -> Result<Arc<dyn Image>> {
        self.images
            .iter()
            .find(|(d, _)| *d == digest)
            .map(|(_, i)| Arc::clone(i))
            .ok_or_else(|| Error::NotFound {
                what: format!("image {digest}"),
            })
    }
    async fn image_index(&self, digest: Digest) -> Result<Arc<dyn ImageIndex>> {
        Err(Error::NotFound {
            what: format!("index {digest}"),
        })
    }
}

async fn child(img: Arc<dyn Image>) -> (Descriptor, Option<Arc<dyn Image>>) {
    use ocireg_v1::ImageExt as _;
    (img.to_descriptor().await.unwrap(), Some(img))
}

#[test]
fn index_with_a_missing_child_fails() {
    block_on(async {
        let present = child(random::image(50, 1, 1).unwrap()).await;
        let missing = Descriptor::new(MediaType::DockerManifestSchema2, 123, sha256(b"gone"));
        let idx = TestIndex::new(vec![present.clone(), (missing, None)]);
        let p = problems(validate::index(&idx, Options::default()).await);
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(p[0].starts_with("manifests[1] sha256:"), "{p:#?}");
        assert!(has(&p, "image() failed: not found"), "{p:#?}");
        // Fast mode asks for children too.
        assert_eq!(
            problems(validate::index(&idx, Options::fast()).await).len(),
            1
        );

        let fine = TestIndex::new(vec![present]);
        validate::index(&fine, Options::default()).await.unwrap();
    });
}

#[test]
fn index_descriptor_mismatches_and_platforms() {
    block_on(async {
        let img: Arc<dyn Image> = Arc::new(Assembled::good(layers(1, 12)).await);
        let (mut desc, some) = child(Arc::clone(&img)).await;
        desc.platform = Some(Platform::new("linux", "arm64"));
        let idx = TestIndex::new(vec![(desc.clone(), some.clone())]);
        validate::index(&idx, Options::default()).await.unwrap();

        // A platform the config does not have.
        let mut wrong = desc.clone();
        wrong.platform = Some(Platform::new("windows", "amd64"));
        let p = problems(
            validate::index(
                &TestIndex::new(vec![(wrong, some.clone())]),
                Options::default(),
            )
            .await,
        );
        assert!(has(&p, "the index declares platform"), "{p:#?}");

        // A size and a media type that do not match the child.
        let mut wrong = desc.clone();
        wrong.size += 1;
        let p = problems(
            validate::index(
                &TestIndex::new(vec![(wrong, some.clone())]),
                Options::default(),
            )
            .await,
        );
        assert!(has(&p, "descriptor size vs size()"), "{p:#?}");
        let mut wrong = desc;
        wrong.media_type = MediaType::DockerManifestSchema2;
        let p = problems(
            validate::index(&TestIndex::new(vec![(wrong, some)]), Options::default()).await,
        );
        assert!(has(&p, "descriptor media type vs media_type()"), "{p:#?}");
    });
}

#[test]
fn index_problems_in_children_are_reported_with_their_path() {
    block_on(async {
        let mut lying = Lying::new(layers(1, 13).remove(0));
        lying.size = Some(1);
        let bad: Arc<dyn Image> = Arc::new(Assembled::good(vec![Arc::new(lying)]).await);
        let idx = TestIndex::new(vec![
            child(random::image(10, 1, 2).unwrap()).await,
            child(bad).await,
        ]);
        let p = problems(validate::index(&idx, Options::default()).await);
        assert!(p.iter().all(|p| p.starts_with("manifests[1] ")), "{p:#?}");
        assert!(has(&p, "layer[0]: size() is 1"), "{p:#?}");
        let err = validate::index(&idx, Options::default()).await.unwrap_err();
        assert!(err.to_string().starts_with("index sha256:"), "{err}");
    });
}

#[test]
fn transient_errors_are_returned_as_such() {
    #[derive(Debug)]
    struct Flaky;

    #[async_trait]
    impl Image for Flaky {
        async fn raw_manifest(&self) -> Result<Bytes> {
            Err(Error::Io(std::io::ErrorKind::ConnectionReset.into()))
        }
        async fn raw_config_file(&self) -> Result<Bytes> {
            Ok(Bytes::from_static(b"{}"))
        }
        async fn media_type(&self) -> Result<MediaType> {
            Ok(MediaType::OciManifest)
        }
        async fn layer_by_digest(&self, digest: Digest) -> Result<Arc<dyn Layer>> {
            Err(Error::NotFound {
                what: format!("layer {digest}"),
            })
        }
    }

    block_on(async {
        let err = validate::image(&Flaky, Options::default())
            .await
            .unwrap_err();
        assert!(err.is_transient(), "{err:?}");
    });
}

#[test]
fn sha512_digests_are_checked_with_sha512() {
    block_on(async {
        let good = layers(1, 14).remove(0);
        let bytes = good
            .compressed()
            .await
            .unwrap()
            .read_to_end(1 << 20)
            .await
            .unwrap();
        let tar = good
            .uncompressed()
            .await
            .unwrap()
            .read_to_end(1 << 20)
            .await
            .unwrap();
        let mut claims = Lying::new(Arc::clone(&good));
        claims.digest = Some(digest_of(Algorithm::Sha512, &bytes));
        claims.diff_id = Some(digest_of(Algorithm::Sha512, &tar));
        validate::layer(&claims, Options::default()).await.unwrap();

        claims.digest = Some(digest_of(Algorithm::Sha512, b"other"));
        let p = problems(validate::layer(&claims, Options::default()).await);
        assert_eq!(p.len(), 1, "{p:#?}");
        assert!(has(&p, "digest() is sha512:"), "{p:#?}");
    });
}

#[test]
fn invalid_error_lists_problems_one_per_line() {
    let err = Error::Invalid {
        what: "image sha256:abc".into(),
        problems: vec!["first".into(), "second".into()],
    };
    assert_eq!(
        err.to_string(),
        "image sha256:abc is invalid:\n  - first\n  - second"
    );
}
