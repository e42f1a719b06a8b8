//! Copies: across registries (digests kept), whole indexes and one platform, mounts within a
//! registry (no layer bytes sent), and a re-copy that costs a handful of requests.

use std::sync::Arc;

use bytes::Bytes;
use ocireg_remote::{BlobOutcome, CopyOptions, Direction, ProgressTracker};
use ocireg_v1::{
    Descriptor, Digest, Image, ImageIndex, IndexManifest, MediaType, Platform, async_trait,
    validate,
};

use super::write_support::{self as support, Recording};

/// An index of random images with platforms (random::index has none).
#[derive(Debug)]
struct PlatformIndex {
    raw: Bytes,
    images: Vec<(Digest, Arc<dyn Image>)>,
}

impl PlatformIndex {
    async fn new(platforms: &[&str]) -> Self {
        let mut manifest = IndexManifest::new(MediaType::OciImageIndex);
        let mut images = Vec::new();
        for (i, p) in platforms.iter().enumerate() {
            let img = ocireg_v1::random::image(2048, 2, 500 + i as u64).expect("image");
            let raw = img.raw_manifest().await.expect("raw");
            let mut desc = Descriptor::for_bytes(img.media_type().await.expect("mt"), &raw);
            desc.platform = Some(p.parse::<Platform>().expect("platform"));
            images.push((desc.digest, img));
            manifest.manifests.push(desc);
        }
        Self {
            raw: Bytes::from(ocireg_v1::to_go_json(&manifest).expect("json")),
            images,
        }
    }
}

#[async_trait]
impl ImageIndex for PlatformIndex {
    async fn raw_manifest(&self) -> ocireg_v1::Result<Bytes> {
        Ok(self.raw.clone())
    }
    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        Ok(MediaType::OciImageIndex)
    }
    async fn image(&self, digest: Digest) -> ocireg_v1::Result<Arc<dyn Image>> {
        self.images
            .iter()
            .find(|(d, _)| *d == digest)
            .map(|(_, i)| Arc::clone(i))
            .ok_or_else(|| ocireg_v1::Error::NotFound {
                what: digest.to_string(),
            })
    }
    async fn image_index(&self, digest: Digest) -> ocireg_v1::Result<Arc<dyn ImageIndex>> {
        Err(ocireg_v1::Error::NotFound {
            what: digest.to_string(),
        })
    }
}

#[tokio::test]
async fn copies_across_registries_keep_digests() {
    let src = support::distribution().await;
    let dst = support::in_process(false).await;
    let opts = support::options();

    let img = ocireg_v1::random::image(50_000, 3, 1).expect("image");
    let want = img.digest().await.expect("digest");
    ocireg_remote::write_image(&src.reference("cp/img:v1"), img, &opts)
        .await
        .expect("seed");
    let got = ocireg_remote::copy(
        &src.reference("cp/img:v1"),
        &dst.reference("cp/img:v1"),
        &opts,
    )
    .await
    .expect("copy image");
    assert_eq!(got, want);
    let back = ocireg_remote::image(&dst.reference("cp/img:v1"), &opts)
        .await
        .expect("pull");
    validate::image(&*back, validate::Options::default())
        .await
        .expect("valid");

    let idx = PlatformIndex::new(&["linux/amd64", "linux/arm64", "linux/s390x"]).await;
    let children: Vec<Digest> = idx.images.iter().map(|(d, _)| *d).collect();
    let want = ocireg_v1::sha256(&idx.raw);
    ocireg_remote::write_index(&src.reference("cp/idx:v1"), Arc::new(idx), &opts)
        .await
        .expect("seed index");
    // The whole index, by digest to a tag.
    let got = ocireg_remote::copy(
        &src.reference(&format!("cp/idx@{want}")),
        &dst.reference("cp/idx:all"),
        &opts,
    )
    .await
    .expect("copy index");
    assert_eq!(got, want);
    let back = ocireg_remote::index(&dst.reference("cp/idx:all"), &opts)
        .await
        .expect("pull index");
    // (The fixture's configs carry no platform, so validate the children one by one.)
    for child in &children {
        let img = back.image(*child).await.expect("child");
        validate::image(&*img, validate::Options::default())
            .await
            .expect("every child copied");
    }
    // One platform: the child's digest.
    let one = CopyOptions::default().platform("linux/arm64".parse().expect("platform"));
    let got = ocireg_remote::copy_with(
        &src.reference("cp/idx:v1"),
        &dst.reference("cp/arm:v1"),
        &opts,
        &one,
    )
    .await
    .expect("copy one platform");
    assert_eq!(got, children[1]);
    let head = ocireg_remote::head(&dst.reference("cp/arm:v1"), &opts)
        .await
        .expect("head");
    assert!(head.media_type.is_image(), "{head:?}");
}

#[tokio::test]
async fn copies_within_a_registry_mount_and_recopies_are_cheap() {
    let r = Recording::start().await;
    let opts = support::options();
    let img = ocireg_v1::random::image(300_000, 3, 2).expect("image");
    let want = img.digest().await.expect("digest");
    ocireg_remote::write_image(&r.reference("mnt/a:v1"), img, &opts)
        .await
        .expect("seed");

    // A copy into another repository of the same registry sends no layer bytes.
    r.reset();
    let tracker = Arc::new(ProgressTracker::new());
    let tracked = support::builder()
        .progress(tracker.clone())
        .build()
        .expect("options");
    let got = ocireg_remote::copy(&r.reference("mnt/a:v1"), &r.reference("mnt/b:v1"), &tracked)
        .await
        .expect("copy");
    assert_eq!(got, want);
    assert_eq!(r.upload_bytes(), 0, "nothing uploaded: {:?}", r.seen());
    let mounts = r
        .seen()
        .iter()
        .filter(|s| {
            s.method == http::Method::POST
                && s.query.contains("mount=")
                && s.query.contains("from=mnt/a")
        })
        .count();
    assert_eq!(mounts, 4, "one mount request per blob");
    // The push, mount and pull transports on the one registry share one ping.
    let pings = r
        .seen()
        .iter()
        .filter(|s| s.method == http::Method::GET && s.path == "/v2/")
        .count();
    assert_eq!(pings, 1, "{:?}", r.seen());
    let pushed: Vec<_> = tracker
        .snapshot()
        .blobs
        .into_iter()
        .filter(|b| b.direction == Direction::Push)
        .collect();
    assert_eq!(pushed.len(), 4, "3 layers and the config");
    assert!(
        pushed
            .iter()
            .all(|b| b.outcome == Some(BlobOutcome::Mounted))
    );
    assert!(
        !r.seen()
            .iter()
            .any(|s| s.method == http::Method::GET && s.path.contains("/blobs/")),
        "no blob was even read from the source"
    );

    // A re-copy where everything exists, with a fresh session (so its ping counts).
    r.reset();
    let fresh = support::options();
    let again = ocireg_remote::copy(&r.reference("mnt/a:v1"), &r.reference("mnt/b:v1"), &fresh)
        .await
        .expect("re-copy");
    assert_eq!(again, want);
    let seen: Vec<String> = r
        .seen()
        .iter()
        .map(|s| format!("{} {}", s.method, s.path))
        .collect();
    // GET /v2/ (ping), HEAD source tag, HEAD destination tag.
    assert_eq!(seen.len(), 3, "{seen:?}");

    // A retag within the repository: the manifest exists, only the tag is put.
    r.reset();
    ocireg_remote::copy(&r.reference("mnt/b:v1"), &r.reference("mnt/b:v2"), &fresh)
        .await
        .expect("retag");
    let puts = r
        .seen()
        .iter()
        .filter(|s| s.method == http::Method::PUT)
        .count();
    assert_eq!(puts, 1, "only the tag: {:?}", r.seen());
    assert_eq!(r.upload_bytes(), 0);
}

/// A re-copy across two registries where the destination tag already names the source's
/// manifest: one ping and one `HEAD` on each side, nothing else, and the two registries are
/// worked on at once (both pinged together, both `HEAD`s together) rather than one after
/// the other.
#[tokio::test]
async fn a_cross_registry_recopy_checks_both_sides_at_once() {
    use std::time::Duration;

    use ocireg_testsupport::{FaultServer, RecordedRequest, Reply};

    // Every answer takes this long: done one after the other, the two sides' requests would
    // arrive at least this far apart.
    const SLOW: Duration = Duration::from_millis(500);
    let digest = ocireg_v1::sha256(b"the manifest");
    let fake = || {
        let d = digest.to_string();
        FaultServer::with_handler(move |req: &RecordedRequest| {
            match (req.method.as_str(), req.path()) {
                ("GET", "/v2/") => Reply::ok().json(&serde_json::json!({})),
                ("HEAD", "/v2/app/manifests/v1") => Reply::ok()
                    .header("Docker-Content-Digest", d.clone())
                    .header("Content-Type", MediaType::OciManifest.as_str()),
                _ => Reply::status(404),
            }
            .delay(SLOW)
        })
    };
    let (src, dst) = (fake().await.expect("src"), fake().await.expect("dst"));
    let reference = |s: &FaultServer| {
        format!("{}/app:v1", s.host())
            .parse::<ocireg_name::Reference>()
            .expect("reference")
    };
    let got = ocireg_remote::copy(&reference(&src), &reference(&dst), &support::options())
        .await
        .expect("re-copy");
    assert_eq!(got, digest);
    let seen = |s: &FaultServer| -> Vec<(String, std::time::Instant)> {
        s.requests()
            .iter()
            .map(|r| (format!("{} {}", r.method, r.path()), r.received_at))
            .collect()
    };
    let (at_src, at_dst) = (seen(&src), seen(&dst));
    let names = |v: &[(String, std::time::Instant)]| -> Vec<String> {
        v.iter().map(|(n, _)| n.clone()).collect()
    };
    let want = ["GET /v2/", "HEAD /v2/app/manifests/v1"];
    assert_eq!(names(&at_src), want);
    assert_eq!(names(&at_dst), want);
    for step in 0..2 {
        let (a, b) = (at_src[step].1, at_dst[step].1);
        let apart = a.max(b) - a.min(b);
        assert!(
            apart < SLOW,
            "{}: the two registries were asked {apart:?} apart",
            want[step]
        );
    }
}

/// An OCI image whose one layer is 0 bytes (as `crane attach` of an empty file, or a
/// BuildKit image with an empty layer, makes).
#[derive(Debug)]
struct EmptyLayerImage {
    raw: Bytes,
    config: Bytes,
    layer: Arc<ocireg_v1::StaticLayer>,
}

impl EmptyLayerImage {
    fn new() -> Self {
        let layer = Arc::new(ocireg_v1::StaticLayer::new(
            Bytes::new(),
            MediaType::OciUncompressedLayer,
        ));
        let config = Bytes::from_static(b"{}");
        let mut manifest = ocireg_v1::Manifest::new(
            MediaType::OciManifest,
            Descriptor::for_bytes(MediaType::OciEmpty, &config),
        );
        manifest.layers.push(Descriptor::new(
            MediaType::OciUncompressedLayer,
            0,
            layer.digest(),
        ));
        Self {
            raw: Bytes::from(ocireg_v1::to_go_json(&manifest).expect("json")),
            config,
            layer,
        }
    }
}

#[async_trait]
impl Image for EmptyLayerImage {
    async fn raw_manifest(&self) -> ocireg_v1::Result<Bytes> {
        Ok(self.raw.clone())
    }
    async fn raw_config_file(&self) -> ocireg_v1::Result<Bytes> {
        Ok(self.config.clone())
    }
    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        Ok(MediaType::OciManifest)
    }
    async fn layer_by_digest(
        &self,
        digest: Digest,
    ) -> ocireg_v1::Result<Arc<dyn ocireg_v1::Layer>> {
        if digest == self.layer.digest() {
            return Ok(Arc::clone(&self.layer) as Arc<dyn ocireg_v1::Layer>);
        }
        if digest == ocireg_v1::sha256(&self.config) {
            return Ok(Arc::new(ocireg_v1::StaticLayer::new(
                self.config.clone(),
                MediaType::OciEmpty,
            )));
        }
        Err(ocireg_v1::Error::NotFound {
            what: digest.to_string(),
        })
    }
}

/// A 0-byte blob pushes, pulls, mounts and copies between every pair of registries
/// (it used to fail with "the registry accepted the blob before the whole body was sent":
/// hyper never polls an empty body, so the upload never saw its end).
#[tokio::test]
async fn images_with_an_empty_blob_push_pull_mount_and_copy() {
    let dist = support::distribution().await;
    let mem = support::in_process(false).await;
    let opts = support::options();
    let img = Arc::new(EmptyLayerImage::new());
    let empty = img.layer.digest();
    assert_eq!(empty, ocireg_v1::sha256(b""));
    let want = img.digest().await.expect("digest");
    for (from, to) in [(&dist, &mem), (&mem, &dist)] {
        ocireg_remote::write_image(&from.reference("empty/src:v1"), img.clone(), &opts)
            .await
            .expect("push an image holding a 0-byte blob");
        // Across registries: the empty blob is downloaded and uploaded.
        let got = ocireg_remote::copy(
            &from.reference("empty/src:v1"),
            &to.reference("empty/dst:v1"),
            &opts,
        )
        .await
        .expect("copy across registries");
        assert_eq!(got, want);
        // Within one registry: the empty blob is mounted.
        let got = ocireg_remote::copy(
            &to.reference("empty/dst:v1"),
            &to.reference("empty/mounted:v1"),
            &opts,
        )
        .await
        .expect("copy within a registry");
        assert_eq!(got, want);
        for r in ["empty/dst:v1", "empty/mounted:v1"] {
            let back = ocireg_remote::image(&to.reference(r), &opts)
                .await
                .expect("pull");
            let layer = back.layer_by_digest(empty).await.expect("layer");
            let bytes = layer
                .compressed()
                .await
                .expect("open")
                .read_to_end(1024)
                .await
                .expect("read the 0-byte blob");
            assert!(bytes.is_empty(), "{r}");
        }
    }
}

/// An index listing one child a thousand times: a copy and a validation each fetch the
/// child once (they used to GET it once per entry).
#[tokio::test]
async fn an_index_repeating_one_child_costs_one_fetch_per_walk() {
    let src = Recording::start().await;
    let dst = support::in_process(false).await;
    let opts = support::options();
    let img = ocireg_v1::random::image(1024, 1, 77).expect("image");
    let child = ocireg_remote::write_image(&src.reference("dup/idx:child"), img.clone(), &opts)
        .await
        .expect("seed child");
    let raw = img.raw_manifest().await.expect("raw");
    let desc = Descriptor::for_bytes(img.media_type().await.expect("mt"), &raw);
    let mut manifest = IndexManifest::new(MediaType::OciImageIndex);
    manifest.manifests = vec![desc; 1000];
    let index = ocireg_remote::RawManifest::new(
        ocireg_v1::to_go_json(&manifest).expect("json"),
        MediaType::OciImageIndex,
    );
    ocireg_remote::put(&src.reference("dup/idx:v1"), &index, &opts)
        .await
        .expect("seed index");
    let child_gets = |r: &Recording| {
        r.seen()
            .iter()
            .filter(|s| {
                s.method == http::Method::GET && s.path == format!("/v2/dup/idx/manifests/{child}")
            })
            .count()
    };

    src.reset();
    let got = ocireg_remote::copy(
        &src.reference("dup/idx:v1"),
        &dst.reference("dup/idx:v1"),
        &opts,
    )
    .await
    .expect("copy");
    assert_eq!(got, index.digest());
    assert_eq!(child_gets(&src), 1, "the child is fetched once");

    src.reset();
    let remote = ocireg_remote::index(&src.reference("dup/idx:v1"), &opts)
        .await
        .expect("index");
    validate::index(&*remote, validate::Options::default())
        .await
        .expect("valid");
    assert_eq!(child_gets(&src), 1, "validation fetches the child once");
}
