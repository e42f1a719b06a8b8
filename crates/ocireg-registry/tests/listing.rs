//! Tags, catalog and referrers over loopback HTTP.

mod common;

use std::collections::BTreeSet;

use common::{Harness, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST, image_manifest};
use ocireg_registry::Registry;
use ocireg_v1::Digest;

/// The target of a `Link: <...>; rel="next"` header.
fn next_link(resp: &common::Resp) -> Option<String> {
    let link = resp.header("Link")?;
    let target = link.strip_prefix('<')?.split_once('>')?.0;
    assert!(link.ends_with("rel=\"next\""), "{link}");
    Some(target.to_owned())
}

#[tokio::test]
async fn tags_pagination_over_1200_tags() {
    let h = Harness::start().await;
    let (manifest, digest) = h.push_image("many/tags", "seed", 1).await;
    // PUT by digest with many ?tag= parameters keeps this fast.
    let mut expected: BTreeSet<String> = BTreeSet::from(["seed".to_owned()]);
    // (at most 64 tags a PUT: each is echoed in an `OCI-Tag` header).
    for batch in 0..24 {
        let tags: Vec<String> = (0..50).map(|i| format!("t{:04}", batch * 50 + i)).collect();
        let query: Vec<String> = tags.iter().map(|t| format!("tag={t}")).collect();
        let resp = h
            .req(
                "PUT",
                &format!("/v2/many/tags/manifests/{digest}?{}", query.join("&")),
                &[("Content-Type", OCI_MANIFEST)],
                manifest.clone(),
            )
            .await;
        assert_eq!(resp.status, 201);
        expected.extend(tags);
    }
    assert_eq!(expected.len(), 1201);

    // Everything at once, sorted.
    let all = h.get("/v2/many/tags/tags/list").await;
    assert!(all.header("Link").is_none());
    let json = all.json();
    assert_eq!(json["name"], "many/tags");
    let tags: Vec<String> = serde_json::from_value(json["tags"].clone()).expect("tags");
    assert_eq!(tags, expected.iter().cloned().collect::<Vec<_>>());

    // Page by page, following Link.
    let mut seen = Vec::new();
    let mut next = Some("/v2/many/tags/tags/list?n=100".to_owned());
    let mut pages = 0;
    while let Some(path) = next {
        let resp = h.get(&path).await;
        assert_eq!(resp.status, 200);
        let page: Vec<String> = serde_json::from_value(resp.json()["tags"].clone()).expect("tags");
        assert!(page.len() <= 100);
        seen.extend(page);
        next = next_link(&resp);
        pages += 1;
        assert!(pages < 20, "runaway pagination");
    }
    assert_eq!(pages, 13);
    assert_eq!(seen, tags, "no tag dropped or repeated, in order");

    // `last` alone; `last` past the end; n=0.
    let resp = h.get("/v2/many/tags/tags/list?last=t1197").await;
    assert_eq!(resp.json()["tags"], serde_json::json!(["t1198", "t1199"]));
    let resp = h.get("/v2/many/tags/tags/list?last=zzz&n=5").await;
    assert_eq!(resp.json()["tags"], serde_json::json!([]));
    assert!(resp.header("Link").is_none());
    // n=0: an empty list and no Link (a spec MUST).
    let resp = h.get("/v2/many/tags/tags/list?n=0").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["tags"], serde_json::json!([]));
    assert!(resp.header("Link").is_none());
    let resp = h.get("/v2/many/tags/tags/list?n=x").await;
    assert_eq!(resp.status, 400);

    let resp = h.get("/v2/unknown/tags/list").await;
    assert_eq!(resp.status, 404);
    assert_eq!(resp.error_code(), "NAME_UNKNOWN");
}

#[tokio::test]
async fn catalog_pagination() {
    let h = Harness::start().await;
    let mut names = Vec::new();
    for i in 0..25 {
        let name = format!("ns{}/repo{i:02}", i % 3);
        h.push_blob(&name, b"x").await;
        names.push(name);
    }
    names.sort();

    let all = h.get("/v2/_catalog").await;
    let repos: Vec<String> =
        serde_json::from_value(all.json()["repositories"].clone()).expect("list");
    assert_eq!(repos, names);
    assert!(all.header("Link").is_none());

    let mut seen = Vec::new();
    let mut next = Some("/v2/_catalog?n=10".to_owned());
    let mut pages = 0;
    while let Some(path) = next {
        let resp = h.get(&path).await;
        let page: Vec<String> =
            serde_json::from_value(resp.json()["repositories"].clone()).expect("list");
        assert!(page.len() <= 10);
        seen.extend(page);
        next = next_link(&resp);
        pages += 1;
        assert!(pages < 10);
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, names);

    let resp = h.get("/v2/_catalog?n=0").await;
    assert_eq!(resp.json()["repositories"], serde_json::json!([]));
    assert!(resp.header("Link").is_none());

    // A huge n is capped, not trusted.
    let resp = h.get("/v2/_catalog?n=18446744073709551615").await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.json()["repositories"].as_array().expect("list").len(),
        25
    );
    assert!(resp.header("Link").is_none());
    let resp = h.get("/v2/_catalog?n=99999999999999999999999").await;
    assert_eq!(resp.status, 400);
    let resp = h.get("/v2/_catalog?last=ns1/repo04&n=2").await;
    assert_eq!(
        resp.json()["repositories"],
        serde_json::json!(["ns1/repo07", "ns1/repo10"])
    );
    assert_eq!(
        next_link(&resp).as_deref(),
        Some("/v2/_catalog?last=ns1/repo10&n=2")
    );
}

/// Pushes an artifact manifest with `subject`; returns its digest. The
/// registry confirms the subject with `OCI-Subject` exactly when it serves
/// the referrers API (`confirmed`).
async fn push_referrer(
    h: &Harness,
    confirmed: bool,
    repo: &str,
    subject: &Digest,
    artifact_type: Option<&str>,
    annotation: &str,
) -> Digest {
    let config = h.push_blob(repo, b"{}").await;
    let artifact_type = artifact_type
        .map(|t| format!(r#","artifactType":"{t}""#))
        .unwrap_or_default();
    let extra = format!(
        r#""subject":{{"mediaType":"{OCI_MANIFEST}","size":100,"digest":"{subject}"}},"annotations":{{"note":"{annotation}"}}{artifact_type}"#
    );
    let manifest = image_manifest((&config, 2), &[], Some(&extra));
    let resp = h
        .put_manifest(
            repo,
            &ocireg_v1::sha256(&manifest).to_string(),
            OCI_MANIFEST,
            &manifest,
        )
        .await;
    assert_eq!(resp.status, 201, "{resp:?}");
    let expected = confirmed.then(|| subject.to_string());
    assert_eq!(resp.header("OCI-Subject"), expected.as_deref());
    ocireg_v1::sha256(&manifest)
}

#[tokio::test]
async fn referrers_with_and_without_filter() {
    let h = Harness::with(Registry::builder().referrers(true)).await;
    let (_, subject) = h.push_image("ref", "subject", 1).await;

    // Nothing yet: an empty index.
    let resp = h.get(&format!("/v2/ref/referrers/{subject}")).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("Content-Type"), Some(OCI_INDEX));
    let json = resp.json();
    assert_eq!(json["schemaVersion"], 2);
    assert_eq!(json["mediaType"], OCI_INDEX);
    assert_eq!(json["manifests"], serde_json::json!([]));

    let sig = push_referrer(
        &h,
        true,
        "ref",
        &subject,
        Some("application/vnd.example.sig"),
        "sig",
    )
    .await;
    let sbom = push_referrer(
        &h,
        true,
        "ref",
        &subject,
        Some("application/vnd.example.sbom"),
        "sbom",
    )
    .await;
    // No artifactType: the config's media type stands in.
    let plain = push_referrer(&h, true, "ref", &subject, None, "plain").await;

    let resp = h.get(&format!("/v2/ref/referrers/{subject}")).await;
    assert!(resp.header("OCI-Filters-Applied").is_none());
    let manifests = resp.json()["manifests"].as_array().expect("list").clone();
    assert_eq!(manifests.len(), 3);
    let by_digest = |d: &Digest| {
        manifests
            .iter()
            .find(|m| m["digest"] == d.to_string())
            .expect("listed")
            .clone()
    };
    assert_eq!(
        by_digest(&sig)["artifactType"],
        "application/vnd.example.sig"
    );
    assert_eq!(by_digest(&sig)["annotations"]["note"], "sig");
    assert_eq!(by_digest(&sig)["mediaType"], OCI_MANIFEST);
    assert!(by_digest(&sig)["size"].as_u64().expect("size") > 0);
    assert_eq!(by_digest(&sbom)["annotations"]["note"], "sbom");
    assert_eq!(by_digest(&plain)["artifactType"], OCI_CONFIG);

    let resp = h
        .get(&format!(
            "/v2/ref/referrers/{subject}?artifactType=application%2Fvnd.example.sbom"
        ))
        .await;
    assert_eq!(resp.header("OCI-Filters-Applied"), Some("artifactType"));
    let manifests = resp.json()["manifests"].as_array().expect("list").clone();
    assert_eq!(manifests.len(), 1);
    assert_eq!(manifests[0]["digest"], sbom.to_string());

    // A referrer whose subject was never pushed is still listed.
    let ghost = ocireg_v1::sha256(b"never pushed");
    let orphan = push_referrer(
        &h,
        true,
        "ref",
        &ghost,
        Some("application/vnd.example.sig"),
        "o",
    )
    .await;
    let resp = h.get(&format!("/v2/ref/referrers/{ghost}")).await;
    assert_eq!(resp.json()["manifests"][0]["digest"], orphan.to_string());

    // Unknown repository: empty; malformed digest: 400.
    let resp = h.get(&format!("/v2/nothing/referrers/{subject}")).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json()["manifests"], serde_json::json!([]));
    let resp = h.get("/v2/ref/referrers/sha256:nope").await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.error_code(), "DIGEST_INVALID");

    // Deleting a referrer removes it from the list.
    h.send(
        "DELETE",
        &format!("/v2/ref/manifests/{sig}"),
        bytes::Bytes::new(),
    )
    .await;
    let resp = h.get(&format!("/v2/ref/referrers/{subject}")).await;
    assert_eq!(resp.json()["manifests"].as_array().expect("list").len(), 2);
}

#[tokio::test]
async fn referrers_are_off_by_default() {
    let h = Harness::start().await;
    let (_, subject) = h.push_image("ref", "subject", 2).await;
    let resp = h.get(&format!("/v2/ref/referrers/{subject}")).await;
    assert_eq!(resp.status, 404);
    // Pushing a manifest with a subject still works (clients then maintain
    // the fallback tag themselves).
    push_referrer(&h, false, "ref", &subject, Some("application/x"), "a").await;
}
