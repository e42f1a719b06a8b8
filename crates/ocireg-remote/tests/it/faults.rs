//! A scripted registry that misbehaves: dropped connections mid-blob (resumed with Range),
//! servers that ignore Range, lie in Content-Range, send wrong bytes, huge or ambiguous
//! manifests.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use ocireg_name::Reference;
use ocireg_remote::Error;
use ocireg_testsupport::{FaultServer, RecordedRequest, Reply};
use ocireg_v1::{Descriptor, Digest, Image, Manifest, MediaType};

use super::support;

/// A one-layer image served by hand.
struct Fake {
    layer: Bytes,
    layer_digest: Digest,
    manifest: Bytes,
    manifest_digest: Digest,
}

fn fake(layer_size: usize) -> Fake {
    let layer: Bytes = (0..layer_size)
        .map(|i| u8::try_from((i * 31 + i / 7) % 251).expect("below 251"))
        .collect::<Vec<u8>>()
        .into();
    let config = Bytes::from_static(b"{}");
    let mut m = Manifest::new(
        MediaType::OciManifest,
        Descriptor::for_bytes(MediaType::from("application/x-test-config"), &config),
    );
    m.layers
        .push(Descriptor::for_bytes(MediaType::OciLayer, &layer));
    let manifest = Bytes::from(ocireg_v1::to_go_json(&m).expect("json"));
    Fake {
        layer_digest: ocireg_v1::sha256(&layer),
        manifest_digest: ocireg_v1::sha256(&manifest),
        layer,
        manifest,
    }
}

fn range_start(req: &RecordedRequest) -> Option<u64> {
    let v = req.header("range")?;
    v.strip_prefix("bytes=")?.strip_suffix('-')?.parse().ok()
}

type BlobScript = dyn Fn(usize, Option<u64>, &Bytes) -> Reply + Send + Sync;

/// Serves `/v2/`, the manifest under `v1`, and the layer through `script(n, range, bytes)`
/// for the n-th layer request (0-based).
async fn serve(fake: &Fake, script: Arc<BlobScript>) -> FaultServer {
    let manifest = fake.manifest.clone();
    let layer = fake.layer.clone();
    let layer_path = format!("/v2/t/blobs/{}", fake.layer_digest);
    let config_path = format!("/v2/t/blobs/{}", ocireg_v1::sha256(b"{}"));
    let count = Arc::new(AtomicUsize::new(0));
    FaultServer::builder()
        .handler(move |req| {
            let path = req.path();
            if path == "/v2/" {
                Reply::ok().body("{}")
            } else if path.starts_with("/v2/t/manifests/") {
                Reply::ok()
                    .header("content-type", MediaType::OciManifest.as_str())
                    .body(manifest.clone())
            } else if path == layer_path {
                let n = count.fetch_add(1, Ordering::SeqCst);
                script(n, range_start(req), &layer)
            } else if path == config_path {
                Reply::ok().body(Bytes::from_static(b"{}"))
            } else {
                Reply::status(404)
            }
        })
        .start()
        .await
        .expect("fault server")
}

fn partial(bytes: &Bytes, start: u64) -> Reply {
    let s = usize::try_from(start).expect("small");
    Reply::status(206)
        .header(
            "content-range",
            format!("bytes {start}-{}/{}", bytes.len() - 1, bytes.len()),
        )
        .body(bytes.slice(s..))
}

async fn pull_layer(server: &FaultServer) -> ocireg_v1::Result<Bytes> {
    let r: Reference = format!("{}/t:v1", server.host()).parse().expect("ref");
    let img = ocireg_remote::image(&r, &support::options())
        .await
        .expect("image");
    let layer = img.layers().await.expect("layers").remove(0);
    layer.compressed().await?.read_to_end(1 << 24).await
}

fn layer_requests(server: &FaultServer, fake: &Fake) -> Vec<RecordedRequest> {
    let p = format!("/v2/t/blobs/{}", fake.layer_digest);
    server
        .requests()
        .into_iter()
        .filter(|r| r.path() == p)
        .collect()
}

#[tokio::test]
async fn reset_mid_blob_resumes_with_range() {
    let f = fake(512 * 1024);
    let half = f.layer.len() / 2;
    let server = serve(
        &f,
        Arc::new(move |n, range, bytes| match (n, range) {
            (0, None) => Reply::ok().body(bytes.clone()).reset_after(half),
            (_, Some(start)) => partial(bytes, start),
            (_, None) => Reply::ok().body(bytes.clone()),
        }),
    )
    .await;
    let got = pull_layer(&server).await.expect("the pull resumes");
    assert_eq!(ocireg_v1::sha256(&got), f.layer_digest);
    assert_eq!(got, f.layer);
    let reqs = layer_requests(&server, &f);
    assert!(reqs.len() >= 2, "reconnected after the reset");
    let resumed_at = reqs.iter().filter_map(range_start).collect::<Vec<_>>();
    assert!(
        resumed_at.iter().all(|s| *s > 0 && *s <= half as u64),
        "Range requests start after what was received: {resumed_at:?}"
    );
}

#[tokio::test]
async fn early_eof_resumes_exactly_where_it_stopped() {
    let f = fake(300_000);
    let cut = 123_457;
    let server = serve(
        &f,
        Arc::new(move |n, range, bytes| match (n, range) {
            (0, _) => Reply::ok().body(bytes.clone()).eof_after(cut),
            (_, Some(start)) => partial(bytes, start),
            (_, None) => Reply::status(500),
        }),
    )
    .await;
    let got = pull_layer(&server).await.expect("resumed");
    assert_eq!(got, f.layer);
    let reqs = layer_requests(&server, &f);
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        reqs[1].header("range"),
        Some(format!("bytes={cut}-").as_str())
    );
}

#[tokio::test]
async fn a_200_answer_to_range_restarts_without_duplicating_bytes() {
    let f = fake(200_000);
    let server = serve(
        &f,
        Arc::new(|n, _range, bytes| {
            if n == 0 {
                Reply::ok().body(bytes.clone()).eof_after(70_000)
            } else {
                // Ignores Range: the whole blob again.
                Reply::ok().body(bytes.clone())
            }
        }),
    )
    .await;
    let got = pull_layer(&server).await.expect("restarted cleanly");
    assert_eq!(got.len(), f.layer.len(), "the verifier saw each byte once");
    assert_eq!(got, f.layer);
}

#[tokio::test]
async fn a_content_range_that_starts_elsewhere_is_refused() {
    let f = fake(100_000);
    let server = serve(
        &f,
        Arc::new(|n, _range, bytes| {
            if n == 0 {
                Reply::ok().body(bytes.clone()).eof_after(40_000)
            } else {
                partial(bytes, 0)
            }
        }),
    )
    .await;
    let err = pull_layer(&server).await.expect_err("nothing spliced");
    let msg = support::chain(&err);
    assert!(
        msg.contains("does not start at the requested byte 40000"),
        "{msg}"
    );
}

#[tokio::test]
async fn gives_up_after_three_reconnects_without_progress() {
    let f = fake(100_000);
    let server = serve(
        &f,
        Arc::new(|n, range, bytes| match (n, range) {
            (0, _) => Reply::ok().body(bytes.clone()).eof_after(10_000),
            (_, Some(start)) => partial(bytes, start).eof_after(0),
            (_, None) => Reply::status(500),
        }),
    )
    .await;
    let err = pull_layer(&server).await.expect_err("gave up");
    let remote = Error::remote_in(&err).expect("our error inside");
    assert!(
        matches!(
            remote,
            Error::ResumeExhausted {
                attempts: 3,
                offset: 10_000,
                ..
            }
        ),
        "{remote:?}"
    );
    assert_eq!(
        layer_requests(&server, &f).len(),
        4,
        "one first try and three resumes"
    );
}

#[tokio::test]
async fn wrong_bytes_are_a_digest_error() {
    let f = fake(50_000);
    let server = serve(
        &f,
        Arc::new(|_, _, bytes| {
            let mut evil = bytes.to_vec();
            evil[25_000] ^= 0xff;
            Reply::ok().body(evil)
        }),
    )
    .await;
    let err = pull_layer(&server)
        .await
        .expect_err("never returned as good");
    assert!(
        matches!(err, ocireg_v1::Error::DigestMismatch { expected, .. } if expected == f.layer_digest),
        "{err:?}"
    );
    // And validate, which reads every byte, refuses the image too.
    let r: Reference = format!("{}/t:v1", server.host()).parse().expect("ref");
    let img = ocireg_remote::image(&r, &support::options())
        .await
        .expect("image");
    let layer = img.layers().await.expect("layers").remove(0);
    assert!(
        layer
            .compressed()
            .await
            .expect("open")
            .drain()
            .await
            .is_err()
    );
}

/// A copy streams the source's bytes straight into the destination upload and trusts
/// the source's verification instead of hashing twice: wrong bytes must still fail the
/// copy, and the destination must not end up with the blob or the manifest. Both the
/// one-request path (small blobs) and the streamed PATCH path (over 1 MiB) are covered.
#[tokio::test]
async fn a_copy_of_wrong_bytes_fails_and_commits_nothing() {
    for size in [50_000, 3 << 20] {
        let f = fake(size);
        let server = serve(
            &f,
            Arc::new(|_, _, bytes| {
                let mut evil = bytes.to_vec();
                let last = evil.len() - 1;
                evil[last] ^= 0xff; // only the very last byte is wrong
                Reply::ok().body(evil)
            }),
        )
        .await;
        let dst = support::in_process(false).await;
        let src: Reference = format!("{}/t:v1", server.host()).parse().expect("ref");
        let err = ocireg_remote::copy(&src, &dst.reference("copied:v1"), &support::options())
            .await
            .expect_err("wrong bytes must not copy");
        let chain = support::chain(&err);
        assert!(chain.contains("digest mismatch"), "{size}: {chain}");
        let blob =
            ocireg_name::DigestReference::new(&format!("{}/copied@{}", dst.host, f.layer_digest))
                .expect("digest reference");
        let layer = ocireg_remote::layer(&blob, &support::options())
            .await
            .expect("layer view");
        assert!(
            !layer.exists().await.expect("exists"),
            "{size}: the wrong blob was committed"
        );
        assert!(
            ocireg_remote::head(&dst.reference("copied:v1"), &support::options())
                .await
                .is_err(),
            "{size}: the manifest was pushed"
        );
    }
}

#[tokio::test]
async fn a_wrong_size_fails_before_the_body_is_read() {
    let f = fake(10_000);
    let server = serve(
        &f,
        Arc::new(|_, _, bytes| Reply::ok().body(bytes.slice(..9_000))),
    )
    .await;
    let r: Reference = format!("{}/t:v1", server.host()).parse().expect("ref");
    let img = ocireg_remote::image(&r, &support::options())
        .await
        .expect("image");
    let layer = img.layers().await.expect("layers").remove(0);
    let err = layer
        .compressed()
        .await
        .expect_err("refused at the headers");
    assert!(
        support::chain(&err).contains("announces 9000 bytes"),
        "{err}"
    );
}

async fn manifest_server(content_type: &'static str, body: Bytes) -> FaultServer {
    FaultServer::builder()
        .handler(move |req| {
            if req.path() == "/v2/" {
                Reply::ok().body("{}")
            } else {
                Reply::ok()
                    .header("content-type", content_type)
                    .body(body.clone())
            }
        })
        .start()
        .await
        .expect("server")
}

#[tokio::test]
async fn manifests_are_capped_verified_and_unambiguous() {
    // Too large: refused at 8 MiB.
    let huge = Bytes::from(vec![b' '; 9 * 1024 * 1024]);
    let server = manifest_server(MediaType::OciManifest.as_str(), huge).await;
    let r: Reference = format!("{}/t:v1", server.host()).parse().expect("ref");
    let err = ocireg_remote::get(&r, &support::options())
        .await
        .expect_err("too large");
    assert!(
        matches!(err, Error::TooLarge { limit, .. } if limit == ocireg_v1::MANIFEST_LIMIT),
        "{err:?}"
    );

    // An index served as an image manifest (CVE-2021-41190).
    let index = Bytes::from_static(
        br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#,
    );
    let server = manifest_server(MediaType::OciManifest.as_str(), index.clone()).await;
    let r: Reference = format!("{}/t:v1", server.host()).parse().expect("ref");
    let err = ocireg_remote::get(&r, &support::options())
        .await
        .expect_err("ambiguous");
    assert!(
        matches!(
            err,
            Error::Content {
                source: ocireg_v1::Error::AmbiguousDocument { .. },
                ..
            }
        ),
        "{err:?}"
    );

    // By digest, the bytes must hash to the digest.
    let f = fake(10);
    let server = manifest_server(MediaType::OciManifest.as_str(), f.manifest.clone()).await;
    let wrong = ocireg_v1::sha256(b"other");
    let r: Reference = format!("{}/t@{wrong}", server.host()).parse().expect("ref");
    let err = ocireg_remote::get(&r, &support::options())
        .await
        .expect_err("mismatch");
    assert!(
        matches!(&err, Error::ManifestDigestMismatch { reference, actual, .. } if reference.digest() == wrong && *actual == f.manifest_digest),
        "{err:?}"
    );
    let r: Reference = format!("{}/t@{}", server.host(), f.manifest_digest)
        .parse()
        .expect("ref");
    let got = ocireg_remote::get(&r, &support::options())
        .await
        .expect("matches");
    assert_eq!(got.raw_manifest(), &f.manifest);
    assert_eq!(
        got.descriptor()
            .artifact_type
            .as_ref()
            .map(MediaType::as_str),
        Some("application/x-test-config"),
        "a non-image config type is the artifact type"
    );
}

#[tokio::test]
async fn head_falls_back_to_get_without_docker_content_digest() {
    let f = fake(10);
    let server = manifest_server(MediaType::OciManifest.as_str(), f.manifest.clone()).await;
    let r: Reference = format!("{}/t:v1", server.host()).parse().expect("ref");
    let desc = ocireg_remote::head(&r, &support::options())
        .await
        .expect("head");
    assert_eq!(desc.digest, f.manifest_digest);
    assert_eq!(desc.size, f.manifest.len() as u64);
    let methods: Vec<_> = server
        .requests()
        .iter()
        .filter(|r| r.path().contains("/manifests/"))
        .map(|r| r.method.to_string())
        .collect();
    assert_eq!(methods, ["HEAD", "GET"]);
    // The Image view of this artifact-like manifest still works.
    let img = ocireg_remote::image(&r, &support::options())
        .await
        .expect("image");
    assert_eq!(img.digest().await.expect("d"), f.manifest_digest);
}

/// A copy whose source download is cut short for good fails as a download error (the
/// source's `ResumeExhausted`), not as "uploading blob", for the one-request path and the
/// streamed PATCH path alike.
#[tokio::test]
async fn a_copy_whose_download_is_cut_short_blames_the_download() {
    for size in [500_000, 3 << 20] {
        let f = fake(size);
        let server = serve(
            &f,
            Arc::new(|n, range, bytes| match (n, range) {
                (0, _) => Reply::ok().body(bytes.clone()).eof_after(10_000),
                (_, Some(start)) => partial(bytes, start).eof_after(0),
                (_, None) => Reply::status(500),
            }),
        )
        .await;
        let dst = support::in_process(false).await;
        let src: Reference = format!("{}/t:v1", server.host()).parse().expect("ref");
        let err = ocireg_remote::copy(&src, &dst.reference("cut:v1"), &support::options())
            .await
            .expect_err("a download that never completes fails the copy");
        let chain = support::chain(&err);
        assert!(
            chain.contains("reading the blob to upload"),
            "{size}: {chain}"
        );
        assert!(
            chain.contains("gave up after 3 reconnects"),
            "{size}: {chain}"
        );
        assert!(!chain.starts_with("uploading blob"), "{size}: {chain}");
    }
}
