//! The write side against distribution 2.8 and ocireg-registry: round trips, skopeo interop,
//! chunked and resumed uploads, streaming layers, multi-write, referrers fallback, auth.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use futures_util::StreamExt as _;
use ocireg_remote::{
    BlobOutcome, Direction, ProgressEvent, ProgressTracker, RawManifest, Writable,
};
use ocireg_v1::{
    Blob, Descriptor, Digest, Image, ImageIndex, IndexManifest, Layer, Manifest, MediaType,
    StaticLayer, StreamLayer, async_trait, validate,
};

use super::write_support::{self as support, Recording, Target};

fn fast() -> validate::Options {
    validate::Options::default()
}

async fn round_trip(t: &Target) {
    let opts = support::options();
    let img = ocireg_v1::random::image(4096, 3, 11).expect("random image");
    let want = img.digest().await.expect("digest");
    let reference = t.reference("rt/image:v1");
    let got = ocireg_remote::write_image(&reference, img, &opts)
        .await
        .expect("push image");
    assert_eq!(got, want, "{}", t.name);
    let back = ocireg_remote::image(&reference, &opts).await.expect("pull");
    assert_eq!(back.digest().await.expect("digest"), want);
    validate::image(&*back, fast())
        .await
        .expect("pulled image validates");

    let idx = ocireg_v1::random::index(1024, 2, 3, 12).expect("random index");
    let want = idx.digest().await.expect("digest");
    let reference = t.reference("rt/index:v1");
    let got = ocireg_remote::write_index(&reference, idx, &opts)
        .await
        .expect("push index");
    assert_eq!(got, want, "{}", t.name);
    let back = ocireg_remote::index(&reference, &opts)
        .await
        .expect("pull index");
    assert_eq!(back.digest().await.expect("digest"), want);
    validate::index(&*back, fast())
        .await
        .expect("pulled index validates");

    // Pushing again is a no-op that still answers the digest.
    let again = ocireg_remote::write_index(&reference, back, &opts)
        .await
        .expect("push again");
    assert_eq!(again, want);
}

#[tokio::test]
async fn round_trips_keep_digests() {
    for t in support::both().await {
        round_trip(&t).await;
    }
}

#[tokio::test]
async fn skopeo_reads_what_we_push() {
    let t = support::distribution().await;
    let opts = support::options();
    let img = ocireg_v1::random::image(2048, 2, 21).expect("image");
    let want = img.digest().await.expect("digest");
    ocireg_remote::write_image(&t.reference("sk/img:v1"), img, &opts)
        .await
        .expect("push");
    let url = format!("docker://{}/sk/img:v1", t.host);
    let raw = support::skopeo(&["inspect", "--tls-verify=false", "--raw", &url]);
    assert_eq!(
        ocireg_v1::sha256(raw.as_bytes()),
        want,
        "skopeo sees our bytes"
    );
    let info = support::skopeo(&["inspect", "--tls-verify=false", &url]);
    assert!(
        info.contains(&want.to_string()),
        "skopeo inspect digest: {info}"
    );

    let idx = ocireg_v1::random::index(512, 1, 2, 22).expect("index");
    let want = idx.digest().await.expect("digest");
    ocireg_remote::write_index(&t.reference("sk/idx:v1"), idx, &opts)
        .await
        .expect("push index");
    support::skopeo(&[
        "copy",
        "--all",
        "--preserve-digests",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        &format!("docker://{}/sk/idx:v1", t.host),
        &format!("docker://{}/sk/copied:v1", t.host),
    ]);
    let copied = ocireg_remote::head(&t.reference("sk/copied:v1"), &opts)
        .await
        .expect("head the skopeo copy");
    assert_eq!(copied.digest, want, "skopeo copy kept the index digest");
    let back = ocireg_remote::index(&t.reference("sk/copied:v1"), &opts)
        .await
        .expect("pull");
    validate::index(&*back, fast()).await.expect("valid");
}

#[tokio::test]
async fn chunked_uploads_use_content_range() {
    let r = Recording::start().await;
    let opts = support::builder()
        .chunk_size(1000)
        .build()
        .expect("options");
    let img = ocireg_v1::random::image(4500, 1, 31).expect("image");
    let want = img.digest().await.expect("digest");
    let got = ocireg_remote::write_image(&r.reference("chunk/a:v1"), img, &opts)
        .await
        .expect("push in chunks");
    assert_eq!(got, want);
    let ranges: Vec<String> = r
        .seen()
        .iter()
        .filter(|s| s.method == http::Method::PATCH)
        .filter_map(|s| s.content_range.clone())
        .collect();
    // The layer (4500 bytes, gzip adds a little) takes at least five chunks.
    assert!(ranges.len() >= 6, "chunks: {ranges:?}");
    assert!(ranges.contains(&"0-999".to_owned()), "{ranges:?}");
    assert!(ranges.contains(&"1000-1999".to_owned()), "{ranges:?}");
    let back = ocireg_remote::image(&r.reference("chunk/a:v1"), &opts)
        .await
        .expect("pull");
    validate::image(&*back, fast()).await.expect("valid");

    // Distribution takes chunks too.
    let d = support::distribution().await;
    let img = ocireg_v1::random::image(3000, 2, 32).expect("image");
    let want = img.digest().await.expect("digest");
    let got = ocireg_remote::write_image(&d.reference("chunk/b:v1"), img, &opts)
        .await
        .expect("push in chunks to distribution");
    assert_eq!(got, want);
    let back = ocireg_remote::image(&d.reference("chunk/b:v1"), &opts)
        .await
        .expect("pull");
    validate::image(&*back, fast()).await.expect("valid");
}

/// Random bytes produced on the fly, in 64 KiB chunks.
fn generated(len: u64, seed: u64) -> impl futures_core::Stream<Item = io::Result<Bytes>> + Send {
    let mut state = seed | 1;
    let mut left = len;
    futures_util::stream::poll_fn(move |_| {
        if left == 0 {
            return std::task::Poll::Ready(None);
        }
        let n = left.min(64 * 1024);
        left -= n;
        let mut buf = Vec::with_capacity(usize::try_from(n).expect("small"));
        while (buf.len() as u64) < n {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            buf.extend_from_slice(&state.to_le_bytes());
        }
        buf.truncate(usize::try_from(n).expect("small"));
        std::task::Poll::Ready(Some(Ok(Bytes::from(buf))))
    })
}

#[tokio::test]
async fn streaming_layers_upload_under_the_digest_computed_on_the_way() {
    for t in support::both().await {
        let opts = support::options();
        let layer = Arc::new(StreamLayer::new(generated(300_000, 5)));
        let pushed = ocireg_remote::write_layer(&t.repo("stream/a"), layer.clone(), &opts)
            .await
            .expect("streamed upload");
        assert_eq!(
            pushed,
            StreamLayer::digest(&layer).expect("known once consumed"),
            "{}",
            t.name
        );
        let remote = ocireg_remote::layer(&t.repo("stream/a").digest(pushed), &opts)
            .await
            .expect("remote layer");
        assert!(remote.exists().await.expect("HEAD"), "{}", t.name);
        let bytes = remote
            .compressed()
            .await
            .expect("open")
            .read_to_end(1 << 20)
            .await
            .expect("read back");
        assert_eq!(ocireg_v1::sha256(&bytes), pushed);
    }
}

#[tokio::test]
async fn a_consumed_stream_is_never_replayed() {
    let r = Recording::start().await;
    let opts = support::options();
    // The stream fails part way: it cannot be re-opened, so the upload fails cleanly.
    let failing = generated(200_000, 9)
        .take(2)
        .chain(futures_util::stream::once(async {
            Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "source lost",
            ))
        }));
    let layer = Arc::new(StreamLayer::new(failing));
    let err = ocireg_remote::write_layer(&r.repo("stream/b"), layer, &opts)
        .await
        .expect_err("a broken one-shot stream fails");
    let seen = r.seen();
    let count = |m: http::Method| seen.iter().filter(|s| s.method == m).count();
    // The body may fail before hyper flushes the request head, so at most one PATCH arrives.
    assert!(
        count(http::Method::PATCH) <= 1,
        "no second PATCH replays the stream: {err}"
    );
    assert_eq!(count(http::Method::POST), 1, "no restart either: {seen:?}");
    assert_eq!(count(http::Method::PUT), 0, "nothing committed");
}

/// A layer whose first read fails part way (a source that loses its connection once).
#[derive(Debug)]
struct FlakyLayer {
    inner: Arc<dyn Layer>,
    failed: AtomicBool,
    fail_after: usize,
}

#[async_trait]
impl Layer for FlakyLayer {
    async fn digest(&self) -> ocireg_v1::Result<Digest> {
        self.inner.digest().await
    }
    async fn diff_id(&self) -> ocireg_v1::Result<Digest> {
        self.inner.diff_id().await
    }
    async fn size(&self) -> ocireg_v1::Result<u64> {
        self.inner.size().await
    }
    async fn media_type(&self) -> ocireg_v1::Result<MediaType> {
        self.inner.media_type().await
    }
    async fn compressed(&self) -> ocireg_v1::Result<Blob> {
        let blob = self.inner.compressed().await?;
        if self.failed.swap(true, Ordering::SeqCst) {
            return Ok(blob);
        }
        let size = blob.size();
        let mut stream = blob.into_stream();
        let mut left = self.fail_after;
        let cut = futures_util::stream::poll_fn(move |cx| {
            if left == 0 {
                return std::task::Poll::Ready(Some(Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "source lost its connection",
                ))));
            }
            match stream.as_mut().poll_next(cx) {
                std::task::Poll::Ready(Some(Ok(mut chunk))) => {
                    if chunk.len() > left {
                        chunk.truncate(left);
                    }
                    left -= chunk.len();
                    std::task::Poll::Ready(Some(Ok(chunk)))
                }
                other => other,
            }
        });
        Ok(Blob::new(cut, size))
    }
    async fn uncompressed(&self) -> ocireg_v1::Result<Blob> {
        self.inner.uncompressed().await
    }
}

#[tokio::test]
async fn interrupted_uploads_resume_from_the_registry_offset() {
    let r = Recording::start().await;
    let opts = support::options();
    let layer = StaticLayer::new(
        Bytes::from(vec![7u8; 3 << 20]),
        MediaType::OciUncompressedLayer,
    );
    let digest = layer.digest();
    r.cut_next_patch_after(1 << 20);
    let pushed = ocireg_remote::write_layer(&r.repo("resume/a"), Arc::new(layer), &opts)
        .await
        .expect("the upload resumes");
    assert_eq!(pushed, digest);
    let seen = r.seen();
    assert!(
        seen.iter()
            .any(|s| s.method == http::Method::GET && s.path.contains("/blobs/uploads/")),
        "asked for the upload status"
    );
    assert!(
        seen.iter()
            .any(|s| s.content_range.as_deref() == Some("1048576-3145727")),
        "resumed at the registry's offset: {seen:?}"
    );
    // Only the rest was sent again: 1 MiB + 2 MiB in all, not 4 MiB.
    assert_eq!(r.upload_bytes(), 3 << 20);
}

#[tokio::test]
async fn a_source_failing_part_way_restarts_cleanly() {
    for t in support::both().await {
        let opts = support::options();
        let inner = ocireg_v1::random::layer(2 << 20, MediaType::OciLayer, 77).expect("layer");
        let digest = inner.digest().await.expect("digest");
        let layer = Arc::new(FlakyLayer {
            inner,
            failed: AtomicBool::new(false),
            fail_after: 700_000,
        });
        let pushed = ocireg_remote::write_layer(&t.repo("flaky/a"), layer, &opts)
            .await
            .expect("resumed or restarted");
        assert_eq!(pushed, digest, "{}", t.name);
        let remote = ocireg_remote::layer(&t.repo("flaky/a").digest(digest), &opts)
            .await
            .expect("layer");
        let n = remote
            .compressed()
            .await
            .expect("open")
            .read_to_end(4 << 20)
            .await
            .expect("verified read")
            .len();
        assert_eq!(n as u64, inner_size(&t, digest).await);
    }
}

async fn inner_size(t: &Target, digest: Digest) -> u64 {
    ocireg_remote::layer(&t.repo("flaky/a").digest(digest), &support::options())
        .await
        .expect("layer")
        .size()
        .await
        .expect("size")
}

#[tokio::test]
async fn multi_write_uploads_each_blob_once() {
    let r = Recording::start().await;
    let tracker = Arc::new(ProgressTracker::new());
    let opts = support::builder()
        .progress(tracker.clone())
        .build()
        .expect("options");
    let img = ocireg_v1::random::image(2048, 3, 41).expect("image");
    let idx = ocireg_v1::random::index(1024, 2, 2, 42).expect("index");
    let items = vec![
        (r.reference("multi/app:a"), Writable::Image(img.clone())),
        (r.reference("multi/app:b"), Writable::Image(img.clone())),
        (r.reference("multi/app:c"), Writable::Index(idx.clone())),
        (r.reference("multi/app:d"), Writable::Index(idx)),
    ];
    let pushed = ocireg_remote::multi_write(items, &opts)
        .await
        .expect("multi write");
    assert_eq!(pushed.len(), 4);
    assert_eq!(pushed[0].1, pushed[1].1);
    assert_eq!(pushed[2].1, pushed[3].1);
    // 4 blobs for the image, 2 × 3 for the index children: 10 distinct blobs.
    let snapshot = tracker.snapshot();
    let uploaded = snapshot
        .blobs
        .iter()
        .filter(|b| b.outcome == Some(BlobOutcome::Uploaded))
        .count();
    assert_eq!(uploaded, 10, "{snapshot:?}");
    let commits = r
        .seen()
        .iter()
        .filter(|s| s.method == http::Method::PUT && s.path.contains("/blobs/uploads/"))
        .count();
    assert_eq!(commits, 10, "each blob committed once");
    for tag in ["a", "b", "c", "d"] {
        assert!(
            ocireg_remote::exists(&r.reference(&format!("multi/app:{tag}")), &opts)
                .await
                .expect("head")
        );
    }
}

/// An artifact manifest about `subject`, with its config blob pushed.
async fn artifact(t: &Target, repo: &str, subject: &Descriptor, n: u32) -> RawManifest {
    let opts = support::options();
    let config = Descriptor::empty_json();
    ocireg_remote::write_layer(
        &t.repo(repo),
        Arc::new(StaticLayer::new("{}", MediaType::OciEmpty)),
        &opts,
    )
    .await
    .expect("empty config");
    let mut m = Manifest::new(MediaType::OciManifest, config);
    m.artifact_type = Some(MediaType::from("application/vnd.example.sbom"));
    m.subject = Some(subject.clone());
    m.annotations.insert("org.example.n".into(), n.to_string());
    RawManifest::new(
        ocireg_v1::to_go_json(&m).expect("json"),
        MediaType::OciManifest,
    )
}

#[tokio::test]
async fn referrers_fallback_tag_on_distribution() {
    let t = support::distribution().await;
    let opts = support::options();
    let img = ocireg_v1::random::image(256, 1, 51).expect("image");
    let subject_ref = t.reference("refs/app:v1");
    ocireg_remote::write_image(&subject_ref, img.clone(), &opts)
        .await
        .expect("subject");
    let subject = ocireg_remote::head(&subject_ref, &opts)
        .await
        .expect("head");
    let fallback = t.reference(&format!("refs/app:sha256-{}", subject.digest.hex()));

    let a = artifact(&t, "refs/app", &subject, 1).await;
    let b = artifact(&t, "refs/app", &subject, 2).await;
    for m in [&a, &b, &a] {
        let r = t.reference(&format!("refs/app@{}", m.digest()));
        ocireg_remote::put(&r, m, &opts)
            .await
            .expect("push artifact");
    }
    let got = ocireg_remote::get(&fallback, &opts)
        .await
        .expect("fallback tag");
    assert_eq!(got.media_type(), &MediaType::OciImageIndex);
    let index = IndexManifest::parse(got.raw_manifest()).expect("an index");
    let digests: Vec<Digest> = index.manifests.iter().map(|d| d.digest).collect();
    assert_eq!(
        digests,
        [a.digest(), b.digest()],
        "each referrer once, in push order"
    );
    let first = &index.manifests[0];
    assert_eq!(first.media_type, MediaType::OciManifest);
    assert_eq!(first.size, a.size());
    assert_eq!(
        first.artifact_type.as_ref().map(MediaType::as_str),
        Some("application/vnd.example.sbom")
    );
    assert_eq!(
        first.annotations.get("org.example.n").map(String::as_str),
        Some("1")
    );

    // With the fallback disabled, a registry without the API is an error.
    let strict = support::builder()
        .referrers_tag_fallback(false)
        .build()
        .expect("options");
    let c = artifact(&t, "refs/app", &subject, 3).await;
    let err = ocireg_remote::put(
        &t.reference(&format!("refs/app@{}", c.digest())),
        &c,
        &strict,
    )
    .await
    .expect_err("no referrers API and no fallback");
    assert!(
        matches!(err, ocireg_remote::Error::ReferrersUnsupported { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn referrers_api_means_no_fallback_tag() {
    let t = support::in_process(true).await;
    let opts = support::options();
    let img = ocireg_v1::random::image(256, 1, 52).expect("image");
    let subject_ref = t.reference("refs/api:v1");
    ocireg_remote::write_image(&subject_ref, img, &opts)
        .await
        .expect("subject");
    let subject = ocireg_remote::head(&subject_ref, &opts)
        .await
        .expect("head");
    let a = artifact(&t, "refs/api", &subject, 1).await;
    ocireg_remote::put(&t.reference(&format!("refs/api@{}", a.digest())), &a, &opts)
        .await
        .expect("push artifact");
    let fallback = t.reference(&format!("refs/api:sha256-{}", subject.digest.hex()));
    assert!(
        !ocireg_remote::exists(&fallback, &opts).await.expect("head"),
        "the registry's referrers API is used, no tag is written"
    );
}

#[tokio::test]
async fn authenticated_pushes_htpasswd_and_token() {
    let t = support::distribution_htpasswd().await;
    let anon = support::options();
    let basic = support::basic_options();
    assert!(
        ocireg_remote::check_push_permission(&t.repo("auth/a"), &anon)
            .await
            .is_err(),
        "anonymous may not push"
    );
    ocireg_remote::check_push_permission(&t.repo("auth/a"), &basic)
        .await
        .expect("user may push");
    let img = ocireg_v1::random::image(1024, 2, 61).expect("image");
    let want = img.digest().await.expect("digest");
    let got = ocireg_remote::write_image(&t.reference("auth/a:v1"), img, &basic)
        .await
        .expect("push with Basic auth");
    assert_eq!(got, want);

    let t = support::distribution_token().await;
    let img = ocireg_v1::random::image(1024, 2, 62).expect("image");
    let want = img.digest().await.expect("digest");
    let got = ocireg_remote::write_image(&t.reference("tok/a:v1"), img, &basic)
        .await
        .expect("push with a bearer token");
    assert_eq!(got, want);
    // A copy to another repository mounts with a token that also covers pull on the source.
    let tracker = Arc::new(ProgressTracker::new());
    let opts = ocireg_remote::Options::builder()
        .client(support::client())
        .auth(Arc::new(ocireg_authn::Basic::new("user", "pass")))
        .progress(tracker.clone())
        .build()
        .expect("options");
    let copied = ocireg_remote::copy(&t.reference("tok/a:v1"), &t.reference("tok/b:v1"), &opts)
        .await
        .expect("copy");
    assert_eq!(copied, want);
    let pushed: Vec<_> = tracker
        .snapshot()
        .blobs
        .into_iter()
        .filter(|b| b.direction == Direction::Push)
        .collect();
    assert!(!pushed.is_empty());
    assert!(
        pushed
            .iter()
            .all(|b| b.outcome == Some(BlobOutcome::Mounted)),
        "{pushed:?}"
    );
}

#[tokio::test]
async fn put_tag_and_delete() {
    for t in support::both().await {
        let opts = support::options();
        let img = ocireg_v1::random::image(128, 1, 71).expect("image");
        let digest = ocireg_remote::write_image(&t.reference("del/a:v1"), img.clone(), &opts)
            .await
            .expect("push");
        let raw = Writable::Image(img).raw_manifest().await.expect("raw");
        let tag: ocireg_name::Tag = format!("{}/del/a:v2", t.host).parse().expect("tag");
        assert_eq!(
            ocireg_remote::tag(&tag, &raw, &opts).await.expect("tag"),
            digest
        );
        assert_eq!(
            ocireg_remote::head(&t.reference("del/a:v2"), &opts)
                .await
                .expect("head")
                .digest,
            digest
        );
        let by_digest = t.reference(&format!("del/a@{digest}"));
        ocireg_remote::delete(&by_digest, &opts)
            .await
            .expect("delete");
        assert!(
            !ocireg_remote::exists(&by_digest, &opts)
                .await
                .expect("head"),
            "{}",
            t.name
        );
    }
}

#[tokio::test]
async fn progress_reports_every_blob_and_manifest() {
    let t = support::in_process(false).await;
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = {
        let seen = Arc::clone(&seen);
        move |e: &ProgressEvent| seen.lock().expect("lock").push(e.clone())
    };
    let opts = support::builder()
        .progress(Arc::new(sink))
        .build()
        .expect("options");
    let img = ocireg_v1::random::image(100_000, 2, 81).expect("image");
    ocireg_remote::write_image(&t.reference("prog/a:v1"), img, &opts)
        .await
        .expect("push");
    let events = seen.lock().expect("lock").clone();
    let done = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                ProgressEvent::BlobDone {
                    outcome: BlobOutcome::Uploaded,
                    ..
                }
            )
        })
        .count();
    assert_eq!(done, 3, "2 layers and the config");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ProgressEvent::BlobBytes { done, .. } if *done > 0))
    );
    assert!(events.iter().any(|e| matches!(
        e,
        ProgressEvent::ManifestDone {
            direction: Direction::Push,
            ..
        }
    )));
}
