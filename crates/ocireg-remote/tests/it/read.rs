//! get, head, image, index, layer against distribution and ocireg-registry.

use ocireg_name::{DigestReference, Reference};
use ocireg_remote::Error;
use ocireg_v1::{Image, ImageIndex, Layer, MediaType, Platform, validate};

use super::support::{self, Target};

async fn image_round_trip(t: &Target) {
    let repo = t.repo("read/img");
    let img = ocireg_v1::random::image(2048, 3, 11).expect("image");
    let digest = support::push_image(&repo, "v1", &*img).await;
    let opts = support::options();

    // get: exact bytes, computed digest, media type from Content-Type.
    let got = ocireg_remote::get(&t.reference("read/img:v1"), &opts)
        .await
        .expect("get");
    assert_eq!(
        got.raw_manifest(),
        &img.raw_manifest().await.expect("raw"),
        "{}",
        t.name
    );
    assert_eq!(got.digest(), digest);
    assert_eq!(got.media_type(), &MediaType::DockerManifestSchema2);
    assert!(got.is_image() && !got.is_index());
    assert!(got.image_index().is_err(), "an image is not an index");

    // head agrees with get.
    let head = ocireg_remote::head(&t.reference("read/img:v1"), &opts)
        .await
        .expect("head");
    assert_eq!((head.digest, head.size), (digest, got.size()));
    assert_eq!(head.media_type, MediaType::DockerManifestSchema2);
    assert!(
        ocireg_remote::exists(&t.reference("read/img:v1"), &opts)
            .await
            .expect("exists")
    );
    assert!(
        !ocireg_remote::exists(&t.reference("read/img:nope"), &opts)
            .await
            .expect("absent")
    );

    // image by tag and by digest: a lazy view that validates in full (every blob read
    // through the verifying stream).
    for r in ["read/img:v1".to_owned(), format!("read/img@{digest}")] {
        let pulled = ocireg_remote::image(&t.reference(&r), &opts)
            .await
            .expect("image");
        assert_eq!(pulled.digest().await.expect("digest"), digest);
        assert_eq!(
            pulled.raw_config_file().await.expect("config"),
            img.raw_config_file().await.expect("config")
        );
        validate::image(&*pulled, validate::Options::default())
            .await
            .expect("pulled image validates");
        // Layers remember where they can be mounted from.
        let layers = pulled.layers().await.expect("layers");
        assert_eq!(layers.len(), 3);
        assert_eq!(layers[0].mount_source(), Some(repo.clone()));
        assert!(layers[0].exists().await.expect("exists"));
        assert_eq!(
            layers[1].diff_id().await.expect("diff id"),
            img.layers().await.expect("layers")[1]
                .diff_id()
                .await
                .expect("diff id")
        );
    }

    // layer by digest reference: size from HEAD, bytes verified.
    let want = img.layers().await.expect("layers")[2].clone();
    let d = want.digest().await.expect("digest");
    let layer = ocireg_remote::layer(
        &DigestReference::new(&format!("{repo}@{d}")).expect("ref"),
        &opts,
    )
    .await
    .expect("layer");
    assert_eq!(
        layer.size().await.expect("size"),
        want.size().await.expect("size")
    );
    let bytes = layer
        .compressed()
        .await
        .expect("open")
        .read_to_end(1 << 20)
        .await
        .expect("read");
    assert_eq!(ocireg_v1::sha256(&bytes), d);
    validate::layer(&*layer, validate::Options::default())
        .await
        .expect("layer validates");

    // A missing manifest is a not-found error that names the reference.
    let err = ocireg_remote::get(&t.reference("read/img:missing"), &opts)
        .await
        .expect_err("missing");
    assert!(err.is_not_found(), "{err:?}");
    assert!(err.to_string().contains("read/img:missing"), "{err}");
}

#[tokio::test]
async fn image_round_trip_distribution() {
    image_round_trip(&support::distribution().await).await;
}

#[tokio::test]
async fn image_round_trip_ocireg_registry() {
    image_round_trip(&support::in_process(false).await).await;
}

async fn platforms(t: &Target) {
    let repo = t.repo("read/multi");
    let (index_digest, children) = support::push_platform_index(
        &repo,
        "multi",
        &["linux/amd64", "linux/arm/v7", "linux/arm64/v8"],
    )
    .await;
    let r = t.reference("read/multi:multi");

    // index(): the index itself, children by digest.
    let opts = support::options();
    let idx = ocireg_remote::index(&r, &opts).await.expect("index");
    assert_eq!(idx.digest().await.expect("digest"), index_digest);
    validate::index(&*idx, validate::Options::default())
        .await
        .expect("index validates");
    let child = idx.image(children[1].1).await.expect("child image");
    assert_eq!(child.digest().await.expect("digest"), children[1].1);

    // image() picks by platform: explicit ones, and variant-less requests match.
    for (want, platform) in [(2, "linux/arm64"), (1, "linux/arm/v7"), (0, "linux/amd64")] {
        let opts = support::builder()
            .platform(platform.parse().expect("platform"))
            .build()
            .expect("options");
        let img = ocireg_remote::image(&r, &opts)
            .await
            .expect("image for platform");
        assert_eq!(
            img.digest().await.expect("digest"),
            children[want].1,
            "{platform}"
        );
        let desc = img.descriptor().await.expect("desc").expect("has one");
        assert_eq!(desc.platform.as_ref(), Some(&children[want].0));
    }

    // The default is the host platform.
    let host = Platform::host();
    let got = ocireg_remote::image(&r, &opts).await;
    match children.iter().find(|(p, _)| p.matches_for_pull(&host)) {
        Some((_, d)) => assert_eq!(got.expect("host image").digest().await.expect("d"), *d),
        None => assert!(got.is_err()),
    }

    // No match: a clear error listing what there is.
    let opts = support::builder()
        .platform("windows/amd64".parse().expect("platform"))
        .build()
        .expect("options");
    let err = ocireg_remote::image(&r, &opts)
        .await
        .expect_err("no windows");
    assert!(matches!(err, Error::NoMatchingPlatform { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("matches windows/amd64; available: linux/amd64, linux/arm/v7, linux/arm64/v8"),
        "{msg}"
    );

    // get() of an index resolves lazily too.
    let got = ocireg_remote::get(&r, &opts).await.expect("get index");
    assert!(got.is_index());
    let arm = got
        .image_for_platform(&"linux/arm/v7".parse().expect("p"))
        .await
        .expect("arm image");
    assert_eq!(arm.digest().await.expect("d"), children[1].1);
}

#[tokio::test]
async fn platforms_distribution() {
    platforms(&support::distribution().await).await;
}

#[tokio::test]
async fn platforms_ocireg_registry() {
    platforms(&support::in_process(false).await).await;
}

#[tokio::test]
async fn digest_references_are_verified_and_index_refuses_images() {
    let t = support::in_process(false).await;
    let repo = t.repo("read/verify");
    let img = ocireg_v1::random::image(32, 1, 5).expect("image");
    let digest = support::push_image(&repo, "v1", &*img).await;
    let opts = support::options();
    // index() of an image: a typed error, not a misparse.
    let err = ocireg_remote::index(&t.reference("read/verify:v1"), &opts)
        .await
        .expect_err("not an index");
    assert!(matches!(err, Error::UnexpectedMediaType { .. }), "{err:?}");
    // A digest reference that exists is fine; one that does not is not found.
    let by_digest: Reference = t.reference(&format!("read/verify@{digest}"));
    ocireg_remote::get(&by_digest, &opts)
        .await
        .expect("by digest");
    let other = ocireg_v1::sha256(b"something else");
    let err = ocireg_remote::get(&t.reference(&format!("read/verify@{other}")), &opts)
        .await
        .expect_err("absent");
    assert!(err.is_not_found());
}

#[tokio::test]
async fn sessions_reuse_transports() {
    let t = support::in_process(false).await;
    let repo = t.repo("read/session");
    let img = ocireg_v1::random::image(32, 1, 6).expect("image");
    support::push_image(&repo, "v1", &*img).await;
    let opts = support::options();
    for _ in 0..3 {
        ocireg_remote::get(&t.reference("read/session:v1"), &opts)
            .await
            .expect("get");
    }
    assert_eq!(opts.session().cached_transports(), 1);
    // A failed init is not cached: a registry that is not there fails each time, and a
    // later success on another key caches only that one.
    let dead = ocireg_testsupport::free_port().expect("a free port");
    let r: Reference = format!("127.0.0.1:{dead}/x:y").parse().expect("ref");
    assert!(ocireg_remote::get(&r, &opts).await.is_err());
    assert!(ocireg_remote::get(&r, &opts).await.is_err());
    assert_eq!(opts.session().cached_transports(), 1);
}
