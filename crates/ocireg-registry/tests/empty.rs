//! Empty (0-byte) blobs through every push, pull and mount path, in memory
//! and on disk.

mod common;

use bytes::Bytes;
use common::{Harness, OCI_MANIFEST, image_manifest};
use ocireg_registry::{Registry, Storage};
use ocireg_v1::{Algorithm, Digest};

/// Asserts that `repo` serves `digest` as an empty blob: GET, HEAD and
/// ranges.
async fn assert_empty_blob(h: &Harness, repo: &str, digest: &Digest) {
    let path = format!("/v2/{repo}/blobs/{digest}");
    let get = h.get(&path).await;
    assert_eq!(get.status, 200, "{get:?}");
    assert!(get.body.is_empty());
    assert_eq!(get.header("Content-Length"), Some("0"));
    assert_eq!(
        get.header("Docker-Content-Digest"),
        Some(digest.to_string().as_str())
    );
    let head = h.send("HEAD", &path, Bytes::new()).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("Content-Length"), Some("0"));
    assert_eq!(
        head.header("Docker-Content-Digest"),
        Some(digest.to_string().as_str())
    );
    // No byte position exists: 416 with the size...
    for range in ["bytes=0-", "bytes=0-0", "bytes=0-99"] {
        let resp = h.req("GET", &path, &[("Range", range)], Bytes::new()).await;
        assert_eq!(resp.status, 416, "{range}");
        assert_eq!(resp.header("Content-Range"), Some("bytes */0"), "{range}");
    }
    // ...but a suffix range is satisfiable (RFC 9110): the empty whole.
    let resp = h
        .req("GET", &path, &[("Range", "bytes=-10")], Bytes::new())
        .await;
    assert_eq!(resp.status, 200);
    assert!(resp.body.is_empty());
    assert_eq!(resp.header("Content-Length"), Some("0"));
}

/// Issue 9: every way of pushing a 0-byte blob, then pulling and mounting
/// it, and an image whose layer is empty.
async fn empty_blob_paths(h: &Harness, algorithm: Algorithm) {
    let digest = ocireg_v1::digest_of(algorithm, b"");
    let created = |resp: &common::Resp, repo: &str| resp.assert_blob_created(repo, &digest);

    // Monolithic POST with an empty body, with and without Content-Length.
    let monolithic = |repo: &str| format!("/v2/{repo}/blobs/uploads/?digest={digest}");
    created(
        &h.send("POST", &monolithic("mono"), Bytes::new()).await,
        "mono",
    );
    assert_eq!(
        h.send_chunked("POST", &monolithic("chunked"), b"").await,
        201
    );
    assert_empty_blob(h, "mono", &digest).await;
    assert_empty_blob(h, "chunked", &digest).await;

    // POST, then PUT with no body and no PATCH.
    let start = h.send("POST", "/v2/put/blobs/uploads/", Bytes::new()).await;
    assert_eq!(start.status, 202);
    let location = start.header("Location").expect("Location").to_owned();
    let put = h
        .send("PUT", &format!("{location}?digest={digest}"), Bytes::new())
        .await;
    created(&put, "put");
    assert_empty_blob(h, "put", &digest).await;

    // POST, an empty streamed PATCH, then PUT.
    let start = h
        .send("POST", "/v2/patch/blobs/uploads/", Bytes::new())
        .await;
    let location = start.header("Location").expect("Location").to_owned();
    let patch = h.send("PATCH", &location, Bytes::new()).await;
    assert_eq!(patch.status, 202, "{patch:?}");
    assert_eq!(patch.header("Location"), Some(location.as_str()));
    assert!(patch.header("Range").is_some());
    let status = h.get(&location).await;
    assert_eq!(status.status, 204);
    let put = h
        .send("PUT", &format!("{location}?digest={digest}"), Bytes::new())
        .await;
    created(&put, "patch");
    assert_empty_blob(h, "patch", &digest).await;

    // A wrong digest for an empty body is still a mismatch.
    let other = ocireg_v1::digest_of(algorithm, b"x");
    let bad = h
        .send(
            "POST",
            &format!("/v2/bad/blobs/uploads/?digest={other}"),
            Bytes::new(),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.error_code(), "DIGEST_INVALID");

    // Mount into another repository.
    let mount = h
        .send(
            "POST",
            &format!("/v2/mounted/blobs/uploads/?mount={digest}&from=mono"),
            Bytes::new(),
        )
        .await;
    created(&mount, "mounted");
    assert_empty_blob(h, "mounted", &digest).await;

    // An image whose config and layer are both the empty blob.
    let manifest = image_manifest((&digest, 0), &[(&digest, 0)], None);
    let resp = h
        .put_manifest("mono", "empty", OCI_MANIFEST, &manifest)
        .await;
    assert_eq!(resp.status, 201, "{resp:?}");

    // Deleting it from one repository leaves the others.
    let del = h
        .send("DELETE", &format!("/v2/put/blobs/{digest}"), Bytes::new())
        .await;
    assert_eq!(del.status, 202);
    assert_eq!(h.get(&format!("/v2/put/blobs/{digest}")).await.status, 404);
    assert_empty_blob(h, "mounted", &digest).await;
}

#[tokio::test]
async fn empty_blobs_in_memory() {
    let h = Harness::start().await;
    empty_blob_paths(&h, Algorithm::Sha256).await;
    let h = Harness::start().await;
    empty_blob_paths(&h, Algorithm::Sha512).await;
}

#[tokio::test]
async fn empty_blobs_on_disk() {
    for algorithm in [Algorithm::Sha256, Algorithm::Sha512] {
        let dir = tempfile::tempdir().expect("tempdir");
        let h =
            Harness::with(Registry::builder().storage(Storage::Disk(dir.path().to_owned()))).await;
        empty_blob_paths(&h, algorithm).await;
        let leftovers = fs_err::read_dir(dir.path().join("uploads"))
            .expect("uploads dir")
            .count();
        assert_eq!(leftovers, 0);
    }
}
