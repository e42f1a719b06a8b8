//! Manifest endpoints over loopback HTTP.

mod common;

use bytes::Bytes;
use common::{
    Harness, OCI_CONFIG, OCI_INDEX, OCI_LAYER, OCI_MANIFEST, image_manifest, index_manifest,
};
use ocireg_v1::Algorithm;

#[tokio::test]
async fn put_get_head_by_tag_and_digest() {
    let h = Harness::start().await;
    let (manifest, digest) = h.push_image("org/app/web", "v1", 1).await;
    for reference in ["v1".to_owned(), digest.to_string()] {
        let path = format!("/v2/org/app/web/manifests/{reference}");
        let get = h.get(&path).await;
        assert_eq!(get.status, 200, "{reference}");
        assert_eq!(&get.body[..], &manifest[..], "byte-identical");
        assert_eq!(get.header("Content-Type"), Some(OCI_MANIFEST));
        assert_eq!(
            get.header("Docker-Content-Digest"),
            Some(digest.to_string().as_str())
        );
        assert_eq!(
            get.header("Content-Length"),
            Some(manifest.len().to_string().as_str())
        );
        let head = h.send("HEAD", &path, Bytes::new()).await;
        assert_eq!(head.status, 200);
        assert!(head.body.is_empty());
        assert_eq!(
            head.header("Content-Length"),
            Some(manifest.len().to_string().as_str())
        );
        assert_eq!(
            head.header("Docker-Content-Digest"),
            Some(digest.to_string().as_str())
        );
    }
    // PUT answers with the digest and a Location that can be fetched.
    let resp = h
        .put_manifest("org/app/web", "v2", OCI_MANIFEST, &manifest)
        .await;
    assert_eq!(resp.status, 201);
    let location = resp.header("Location").expect("Location").to_owned();
    assert_eq!(location, format!("/v2/org/app/web/manifests/{digest}"));
    assert_eq!(h.get(&location).await.status, 200);

    let missing = h.get("/v2/org/app/web/manifests/nope").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.error_code(), "MANIFEST_UNKNOWN");
    let unknown_repo = h.get("/v2/nobody/manifests/v1").await;
    assert_eq!(unknown_repo.status, 404);
    assert_eq!(unknown_repo.error_code(), "NAME_UNKNOWN");
}

#[tokio::test]
async fn put_by_digest_is_verified() {
    let h = Harness::start().await;
    let (manifest, digest) = h.push_image("v", "t", 2).await;
    let ok = h
        .put_manifest("v", &digest.to_string(), OCI_MANIFEST, &manifest)
        .await;
    assert_eq!(ok.status, 201);

    // The conformance suite's bad-digest image: trailing spaces.
    let mut padded = manifest.clone();
    padded.extend_from_slice(b"  ");
    let bad = h
        .put_manifest("v", &digest.to_string(), OCI_MANIFEST, &padded)
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.error_code(), "DIGEST_INVALID");

    let bad_ref = h
        .put_manifest("v", "sha256:baddigeststring", OCI_MANIFEST, &manifest)
        .await;
    assert_eq!(bad_ref.status, 400);
    let bad_tag = h
        .put_manifest("v", ".hidden", OCI_MANIFEST, &manifest)
        .await;
    assert_eq!(bad_tag.status, 400);

    // sha512 references.
    let d512 = ocireg_v1::digest_of(Algorithm::Sha512, &manifest);
    let ok = h
        .put_manifest("v", &d512.to_string(), OCI_MANIFEST, &manifest)
        .await;
    assert_eq!(ok.status, 201, "{ok:?}");
    assert_eq!(
        ok.header("Docker-Content-Digest"),
        Some(d512.to_string().as_str())
    );
    assert_eq!(
        &h.get(&format!("/v2/v/manifests/{d512}")).await.body[..],
        &manifest[..]
    );

    // Tags given as query parameters of a digest PUT.
    let ok = h
        .req(
            "PUT",
            &format!("/v2/v/manifests/{digest}?tag=a&tag=b"),
            &[("Content-Type", OCI_MANIFEST)],
            manifest.clone(),
        )
        .await;
    assert_eq!(ok.status, 201);
    let tags = h.get("/v2/v/tags/list").await.json();
    assert_eq!(tags["tags"], serde_json::json!(["a", "b", "t"]));
}

#[tokio::test]
async fn invalid_manifests_are_rejected() {
    let h = Harness::start().await;
    let (manifest, _) = h.push_image("inv", "ok", 3).await;
    let cases: &[(&str, &[u8])] = &[
        (OCI_MANIFEST, b"not json"),
        (OCI_MANIFEST, b"[1,2,3]"),
        (OCI_MANIFEST, br#"{"layers":"not a list"}"#),
        // mediaType disagreeing with Content-Type.
        (OCI_INDEX, &manifest),
    ];
    for (content_type, body) in cases {
        let resp = h.put_manifest("inv", "bad", content_type, body).await;
        assert_eq!(resp.status, 400, "{}", String::from_utf8_lossy(body));
        assert_eq!(resp.error_code(), "MANIFEST_INVALID");
    }
    // No Content-Type and no mediaType.
    let resp = h
        .send(
            "PUT",
            "/v2/inv/manifests/bad",
            &br#"{"schemaVersion":2}"#[..],
        )
        .await;
    assert_eq!(resp.status, 400);
    // No Content-Type, but a mediaType: accepted and served with it.
    let resp = h
        .send("PUT", "/v2/inv/manifests/fine", manifest.clone())
        .await;
    assert_eq!(resp.status, 201);
    assert_eq!(
        h.get("/v2/inv/manifests/fine").await.header("Content-Type"),
        Some(OCI_MANIFEST)
    );
    assert_eq!(h.get("/v2/inv/manifests/bad").await.status, 404);
}

#[tokio::test]
async fn image_blobs_must_exist() {
    let h = Harness::start().await;
    let config = h.push_blob("img", b"{}").await;
    let absent = ocireg_v1::sha256(b"absent layer");
    let manifest = image_manifest((&config, 2), &[(&absent, 12)], None);
    let resp = h.put_manifest("img", "x", OCI_MANIFEST, &manifest).await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.error_code(), "MANIFEST_BLOB_UNKNOWN");
    assert_eq!(
        resp.json()["errors"][0]["detail"]["digest"],
        absent.to_string()
    );

    // The layer exists, but in another repository.
    h.push_blob("elsewhere", b"absent layer").await;
    let resp = h.put_manifest("img", "x", OCI_MANIFEST, &manifest).await;
    assert_eq!(resp.error_code(), "MANIFEST_BLOB_UNKNOWN");

    // Foreign layers (with urls) need not be pushed.
    let foreign = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"{OCI_CONFIG}","size":2,"digest":"{config}"}},"layers":[{{"mediaType":"{OCI_LAYER}","size":12,"digest":"{absent}","urls":["https://example.com/layer"]}}]}}"#
    );
    let resp = h
        .put_manifest("img", "foreign", OCI_MANIFEST, foreign.as_bytes())
        .await;
    assert_eq!(resp.status, 201, "{resp:?}");

    // A manifest with no layers is fine.
    let empty = image_manifest((&config, 2), &[], None);
    assert_eq!(
        h.put_manifest("img", "nolayers", OCI_MANIFEST, &empty)
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn index_children_must_exist() {
    let h = Harness::start().await;
    let (m1, d1) = h.push_image("idx", "one", 4).await;
    let (m2, d2) = h.push_image("other", "two", 5).await;

    // d2 lives in another repository.
    let index = index_manifest(&[(&d1, m1.len()), (&d2, m2.len())]);
    let resp = h.put_manifest("idx", "multi", OCI_INDEX, &index).await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.error_code(), "MANIFEST_BLOB_UNKNOWN");
    assert_eq!(resp.json()["errors"][0]["detail"]["digest"], d2.to_string());
    assert_eq!(h.get("/v2/idx/manifests/multi").await.status, 404);

    let index = index_manifest(&[(&d1, m1.len())]);
    let resp = h.put_manifest("idx", "multi", OCI_INDEX, &index).await;
    assert_eq!(resp.status, 201);
    let get = h.get("/v2/idx/manifests/multi").await;
    assert_eq!(get.header("Content-Type"), Some(OCI_INDEX));
    assert_eq!(&get.body[..], &index[..]);

    // Nested: an index of that index.
    let di = ocireg_v1::sha256(&index);
    let nested = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{OCI_INDEX}","size":{},"digest":"{di}"}}]}}"#,
        index.len()
    );
    assert_eq!(
        h.put_manifest("idx", "nested", OCI_INDEX, nested.as_bytes())
            .await
            .status,
        201
    );
    let empty = format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[]}}"#);
    assert_eq!(
        h.put_manifest("idx", "empty", OCI_INDEX, empty.as_bytes())
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn delete_by_tag_and_digest() {
    let h = Harness::start().await;
    let (_, digest) = h.push_image("del", "a", 6).await;
    let path = format!("/v2/del/manifests/{digest}");
    h.req(
        "PUT",
        &format!("{path}?tag=b"),
        &[("Content-Type", OCI_MANIFEST)],
        h.get(&path).await.body,
    )
    .await;

    let resp = h.send("DELETE", "/v2/del/manifests/a", Bytes::new()).await;
    assert_eq!(resp.status, 202);
    assert_eq!(h.get("/v2/del/manifests/a").await.status, 404);
    assert_eq!(
        h.get(&path).await.status,
        200,
        "deleting a tag keeps the manifest"
    );
    assert_eq!(
        h.get("/v2/del/tags/list").await.json()["tags"],
        serde_json::json!(["b"])
    );

    let resp = h.send("DELETE", &path, Bytes::new()).await;
    assert_eq!(resp.status, 202);
    assert_eq!(h.get(&path).await.status, 404);
    assert_eq!(
        h.get("/v2/del/manifests/b").await.status,
        404,
        "its tags go too"
    );
    assert_eq!(
        h.get("/v2/del/tags/list").await.json()["tags"],
        serde_json::json!([])
    );
    let again = h.send("DELETE", &path, Bytes::new()).await;
    assert_eq!(again.status, 404);
    assert_eq!(again.error_code(), "MANIFEST_UNKNOWN");
}

#[tokio::test]
async fn manifest_size_limit() {
    let h = Harness::start().await;
    let config = h.push_blob("big", b"{}").await;
    // About 3.9 MB of annotations, like the conformance suite's large manifest.
    let value = "x".repeat(10_000);
    let annotations: Vec<String> = (0..390).map(|i| format!(r#""key{i}":"{value}""#)).collect();
    let extra = format!(r#""annotations":{{{}}}"#, annotations.join(","));
    let large = image_manifest((&config, 2), &[], Some(&extra));
    assert!(large.len() > 3_900_000);
    let resp = h.put_manifest("big", "large", OCI_MANIFEST, &large).await;
    assert_eq!(resp.status, 201, "{resp:?}");
    assert_eq!(
        h.get("/v2/big/manifests/large").await.body.len(),
        large.len()
    );

    let too_big = vec![b' '; 8 * 1024 * 1024 + 1];
    let resp = h.put_manifest("big", "huge", OCI_MANIFEST, &too_big).await;
    assert_eq!(resp.status, 413);
    assert_eq!(resp.error_code(), "SIZE_INVALID");
}
