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

    // The default cap is 4 MiB, whatever Content-Length says.
    let limit = ocireg_registry::limits::DEFAULT_MAX_MANIFEST_SIZE;
    assert_eq!(limit, 4 * 1024 * 1024);
    let too_big = vec![b' '; usize::try_from(limit).expect("fits") + 1];
    let resp = h.put_manifest("big", "huge", OCI_MANIFEST, &too_big).await;
    assert_eq!(resp.status, 413);
    assert_eq!(resp.error_code(), "SIZE_INVALID");
}

/// Documents the client refuses, each with what is wrong and the
/// `Content-Type` it is pushed with; `manifest` is a valid image manifest.
fn hostile_documents(manifest: &[u8]) -> Vec<(&'static str, &'static str, Vec<u8>)> {
    let image = String::from_utf8(manifest.to_vec()).expect("utf-8");
    let body = image.strip_suffix('}').expect("a JSON object");
    let child = ocireg_v1::sha256(manifest);
    let nested = format!(
        r#"{body},"x":{}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let mut invalid_utf8 = format!(r#"{body},"annotations":{{"k":"?"}}}}"#).into_bytes();
    let q = invalid_utf8
        .iter()
        .rposition(|b| *b == b'?')
        .expect("marker");
    invalid_utf8[q] = 0xC3;
    vec![
        (
            "image and index at once",
            OCI_MANIFEST,
            format!(r#"{body},"manifests":[]}}"#).into_bytes(),
        ),
        (
            "index with layers",
            OCI_INDEX,
            format!(
                r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{OCI_MANIFEST}","size":{},"digest":"{child}"}}],"layers":[]}}"#,
                manifest.len()
            )
            .into_bytes(),
        ),
        (
            "duplicate key",
            OCI_MANIFEST,
            format!(r#"{body},"layers":[]}}"#).into_bytes(),
        ),
        (
            "duplicate key deep inside",
            OCI_MANIFEST,
            format!(r#"{body},"x":{{"y":[{{"a":1,"a":2}}]}}}}"#).into_bytes(),
        ),
        ("10,000 levels of nesting", OCI_MANIFEST, nested.into_bytes()),
        (
            "a key Go would fold into a field",
            OCI_MANIFEST,
            format!(r#"{body},"Layers":[]}}"#).into_bytes(),
        ),
        ("invalid UTF-8", OCI_MANIFEST, invalid_utf8),
        (
            "unknown media type",
            "application/vnd.example.thing+json",
            br#"{"schemaVersion":2,"mediaType":"application/vnd.example.thing+json"}"#.to_vec(),
        ),
        (
            "schema 1",
            "application/vnd.docker.distribution.manifest.v1+prettyjws",
            br#"{"schemaVersion":1,"name":"hostile","tag":"x","fsLayers":[],"history":[]}"#
                .to_vec(),
        ),
        (
            "missing layers",
            OCI_MANIFEST,
            image
                .replace(r#","layers":["#, r#","layerz":["#)
                .into_bytes(),
        ),
    ]
}

/// Issue 9: the registry stored documents its own client refuses. Each of
/// these is refused with 400 `MANIFEST_INVALID` and nothing is stored.
#[tokio::test]
async fn hostile_manifests_are_refused_with_manifest_invalid() {
    let h = Harness::start().await;
    let (manifest, _) = h.push_image("hostile", "ok", 4).await;
    let cases = hostile_documents(&manifest);
    for (what, content_type, doc) in cases {
        for reference in ["bad".to_owned(), ocireg_v1::sha256(&doc).to_string()] {
            let resp = h
                .put_manifest("hostile", &reference, content_type, &doc)
                .await;
            assert_eq!(resp.status, 400, "{what}: {resp:?}");
            assert_eq!(resp.error_code(), "MANIFEST_INVALID", "{what}");
            let message = resp.json()["errors"][0]["message"]
                .as_str()
                .expect("message")
                .to_owned();
            assert!(
                message.starts_with("manifest invalid: "),
                "{what}: {message}"
            );
            let get = h.get(&format!("/v2/hostile/manifests/{reference}")).await;
            assert_eq!(get.status, 404, "{what}: nothing is stored");
        }
    }
    // The parser's own words reach the client.
    let body = std::str::from_utf8(&manifest[..manifest.len() - 1]).expect("utf-8");
    let deep = format!(r#"{body},"x":{}{}}}"#, "[".repeat(200), "]".repeat(200)).into_bytes();
    let resp = h.put_manifest("hostile", "deep", OCI_MANIFEST, &deep).await;
    let reason = resp.json()["errors"][0]["detail"]["reason"]
        .as_str()
        .expect("reason")
        .to_owned();
    assert!(reason.contains("recursion limit exceeded"), "{reason}");
    assert_eq!(
        h.get("/v2/hostile/tags/list").await.json()["tags"],
        serde_json::json!(["ok"])
    );
}

#[tokio::test]
async fn manifest_size_limit_is_configurable() {
    let h = Harness::with(ocireg_registry::Registry::builder().max_manifest_size(1000)).await;
    let config = h.push_blob("small", b"{}").await;
    let fits = image_manifest((&config, 2), &[], None);
    assert!(fits.len() <= 1000);
    let resp = h.put_manifest("small", "fits", OCI_MANIFEST, &fits).await;
    assert_eq!(resp.status, 201, "{resp:?}");
    let extra = format!(r#""annotations":{{"k":"{}"}}"#, "x".repeat(1000));
    let over = image_manifest((&config, 2), &[], Some(&extra));
    let resp = h.put_manifest("small", "over", OCI_MANIFEST, &over).await;
    assert_eq!(resp.status, 413);
    assert_eq!(resp.error_code(), "SIZE_INVALID");
    assert_eq!(resp.json()["errors"][0]["detail"]["limit"], 1000);
}

/// Issue 9: a PUT by digest with `?tag=` created the tags but did not say
/// so; the spec wants one `OCI-Tag` header per applied tag.
#[tokio::test]
async fn put_with_tag_parameters_answers_oci_tag_headers() {
    let h = Harness::start().await;
    let (manifest, digest) = h.push_image("tagged", "first", 5).await;
    let resp = h
        .req(
            "PUT",
            &format!("/v2/tagged/manifests/{digest}?tag=a&tag=b&tag=a"),
            &[("Content-Type", OCI_MANIFEST)],
            manifest.clone(),
        )
        .await;
    assert_eq!(resp.status, 201, "{resp:?}");
    let applied: Vec<&str> = resp
        .headers
        .get_all("OCI-Tag")
        .iter()
        .map(|v| v.to_str().expect("ascii"))
        .collect();
    assert_eq!(applied, ["a", "b"]);
    let tags = h.get("/v2/tagged/tags/list").await.json();
    assert_eq!(tags["tags"], serde_json::json!(["a", "b", "first"]));

    // A PUT by tag applies no `?tag=`, so says nothing.
    let resp = h
        .put_manifest("tagged", "second", OCI_MANIFEST, &manifest)
        .await;
    assert_eq!(resp.status, 201);
    assert!(resp.header("OCI-Tag").is_none());

    // More tags than a response can echo: refused, nothing applied.
    let limit = ocireg_registry::limits::MAX_TAGS_PER_PUSH;
    let query: Vec<String> = (0..=limit).map(|i| format!("tag=t{i}")).collect();
    let resp = h
        .req(
            "PUT",
            &format!("/v2/tagged/manifests/{digest}?{}", query.join("&")),
            &[("Content-Type", OCI_MANIFEST)],
            manifest.clone(),
        )
        .await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.error_code(), "MANIFEST_INVALID");
    assert_eq!(h.get("/v2/tagged/manifests/t0").await.status, 404);
}
