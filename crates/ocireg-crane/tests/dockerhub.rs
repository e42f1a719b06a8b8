//! Issue 13's Docker Hub items: tag-only delete (against CNCF distribution 2.8, which
//! refuses to delete tags, and ocireg-registry, which deletes them), tag deletion through
//! the Docker Hub API (against the fault server) and the rate-limit headers.

use std::sync::{Arc, Mutex};

use ocireg_crane::{ErrorKind, HubApi, HubAuthScheme, Options, Secret, TagDeletion};
use ocireg_testsupport::{Distribution, FaultServer, RecordedRequest, Reply};

/// Writes a random image to `host/at`; returns its digest.
async fn seed(host: &str, at: &str, seed: u64) -> ocireg_v1::Digest {
    let image = ocireg_v1::random::image(1024, 1, seed).expect("random image");
    let opts = ocireg_remote::Options::builder()
        .auth(Arc::new(ocireg_authn::Anonymous))
        .build()
        .expect("remote options");
    let reference: ocireg_name::Reference = format!("{host}/{at}").parse().expect("reference");
    ocireg_remote::write_image(&reference, image, &opts)
        .await
        .expect("seed image")
}

/// Two tags on one manifest, one more on another; `--tag-only` on `v1` must leave `v2`
/// on the same digest, the manifest by digest, and `other` alone. Returns how it went.
async fn tag_only_keeps_the_manifest(host: &str) -> TagDeletion {
    let opts = Options::new();
    let digest = seed(host, "app:v1", 1).await;
    ocireg_crane::tag(&format!("{host}/app:v1"), "v2", &opts)
        .await
        .expect("tag v2");
    let other = seed(host, "app:other", 2).await;

    let how = ocireg_crane::delete_tag(&format!("{host}/app:v1"), &opts, None)
        .await
        .expect("tag-only delete");

    let v1 = ocireg_crane::digest(&format!("{host}/app:v1"), false, &opts)
        .await
        .expect_err("v1 is gone");
    assert_eq!(v1.kind(), ErrorKind::NotFound, "{v1}");
    let v2 = ocireg_crane::digest(&format!("{host}/app:v2"), false, &opts)
        .await
        .expect("v2 stays");
    assert_eq!(v2, digest.to_string());
    let pinned = ocireg_crane::digest(&format!("{host}/app@{digest}"), false, &opts)
        .await
        .expect("the manifest stays");
    assert_eq!(pinned, digest.to_string());
    assert_eq!(
        ocireg_crane::digest(&format!("{host}/app:other"), false, &opts)
            .await
            .expect("other stays"),
        other.to_string()
    );
    let mut tags = ocireg_crane::list_tags(&format!("{host}/app"), false, false, &opts)
        .await
        .expect("tags");
    tags.sort();
    assert_eq!(tags, ["other", "v2"]);

    // The same again: the tag is gone now.
    let again = ocireg_crane::delete_tag(&format!("{host}/app:v1"), &opts, None)
        .await
        .expect_err("no such tag");
    assert_eq!(again.kind(), ErrorKind::NotFound, "{again}");
    // A digest is refused, and nothing is deleted.
    let by_digest = ocireg_crane::delete_tag(&format!("{host}/app@{digest}"), &opts, None)
        .await
        .expect_err("a digest");
    assert_eq!(by_digest.kind(), ErrorKind::Usage, "{by_digest}");
    assert!(
        ocireg_crane::digest(&format!("{host}/app@{digest}"), false, &opts)
            .await
            .is_ok()
    );
    how
}

#[tokio::test]
async fn tag_only_delete_on_distribution_uses_a_placeholder() {
    let d = Distribution::start()
        .await
        .expect("distribution starts (scripts/install-deps.sh installs docker-registry)");
    let how = tag_only_keeps_the_manifest(d.host()).await;
    let TagDeletion::Placeholder { digest } = how else {
        panic!("distribution 2.8 refuses tag deletes, so a placeholder was needed: {how:?}");
    };
    // The placeholder itself is gone too.
    let gone = ocireg_crane::digest(
        &format!("{}/app@{digest}", d.host()),
        false,
        &Options::new(),
    )
    .await
    .expect_err("the placeholder was deleted");
    assert_eq!(gone.kind(), ErrorKind::NotFound, "{gone}");
    d.stop().await.expect("stop");
}

#[tokio::test]
async fn tag_only_delete_on_ocireg_registry_deletes_the_tag() {
    let server = ocireg_registry::Registry::builder()
        .build()
        .expect("registry")
        .spawn_on("127.0.0.1:0")
        .await
        .expect("spawn");
    let how = tag_only_keeps_the_manifest(&server.host()).await;
    assert_eq!(how, TagDeletion::Registry);
    server.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn tag_only_delete_in_a_layout_keeps_other_entries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let layout = format!("ocidir://{}", dir.path().join("l").display());
    let server = ocireg_registry::Registry::builder()
        .build()
        .expect("registry")
        .spawn_on("127.0.0.1:0")
        .await
        .expect("spawn");
    let host = server.host();
    let digest = seed(&host, "app:v1", 3).await;
    let opts = Options::new();
    ocireg_crane::copy(&format!("{host}/app:v1"), &format!("{layout}:v1"), &opts)
        .await
        .expect("copy into the layout");
    ocireg_crane::tag(&format!("{layout}:v1"), "v2", &opts)
        .await
        .expect("tag v2");
    let how = ocireg_crane::delete_tag(&format!("{layout}:v1"), &opts, None)
        .await
        .expect("tag-only delete");
    assert_eq!(how, TagDeletion::Layout);
    assert!(
        ocireg_crane::digest(&format!("{layout}:v1"), false, &opts)
            .await
            .is_err()
    );
    assert_eq!(
        ocireg_crane::digest(&format!("{layout}:v2"), false, &opts)
            .await
            .expect("v2 stays"),
        digest.to_string()
    );
    let by_digest = ocireg_crane::delete_tag(&format!("{layout}@{digest}"), &opts, None)
        .await
        .expect_err("a digest");
    assert_eq!(by_digest.kind(), ErrorKind::Usage);
    server.shutdown().await.expect("shutdown");
}

const TOKEN: &str = "hub-s3cr3t-token";

/// A stand-in for hub.docker.com: checks method, path and `Authorization`, answers
/// `status` (with a JSON `detail`) to a good request and 400 to anything else.
async fn hub(status: u16, detail: &'static str) -> FaultServer {
    FaultServer::with_handler(move |req: &RecordedRequest| {
        let good = req.method == http::Method::DELETE
            && req.path() == "/v2/repositories/team/app/tags/v1/"
            && req.header("authorization") == Some(&format!("JWT {TOKEN}"));
        if !good {
            return Reply::status(400).json(&serde_json::json!({"detail": "unexpected request"}));
        }
        match status {
            204 => Reply::status(204),
            s => Reply::status(s).json(&serde_json::json!({ "detail": detail })),
        }
    })
    .await
    .expect("fault server")
}

#[tokio::test]
async fn hub_api_deletes_a_tag_with_the_token() {
    let server = hub(204, "").await;
    let api = HubApi::with_base(server.url(), Secret::new(TOKEN));
    // Only the Hub API is asked: docker.io itself is never contacted.
    let how = ocireg_crane::delete_tag("docker.io/team/app:v1", &Options::new(), Some(&api))
        .await
        .expect("deleted");
    assert_eq!(how, TagDeletion::HubApi);
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert_eq!(requests[0].method, http::Method::DELETE);
    assert!(!format!("{api:?}").contains(TOKEN));
}

#[tokio::test]
async fn hub_api_failures_say_what_to_do_and_never_show_the_token() {
    for (status, detail, kind, hint) in [
        (
            401,
            "Authentication credentials were not provided",
            ErrorKind::Auth,
            "expired or invalid",
        ),
        (404, "Object not found", ErrorKind::NotFound, "no such tag"),
        (409, "boom \u{1b}[2J", ErrorKind::Other, ""),
    ] {
        let server = hub(status, detail).await;
        let api = HubApi::with_base(server.url(), Secret::new(TOKEN));
        let err = ocireg_crane::delete_tag("docker.io/team/app:v1", &Options::new(), Some(&api))
            .await
            .expect_err("refused");
        let shown = format!("{err} {err:?} {:?}", err.hint());
        assert_eq!(err.kind(), kind, "{shown}");
        assert!(shown.contains(&status.to_string()), "{shown}");
        assert!(!shown.contains(TOKEN), "{shown}");
        assert!(!shown.contains('\u{1b}'), "{shown}");
        assert!(
            err.to_string().contains("deleting tag v1 of team/app"),
            "{err}"
        );
        assert!(err.hint().unwrap_or_default().contains(hint), "{shown}");
        if status == 404 {
            assert!(err.to_string().contains("Object not found"), "{err}");
        }
    }
}

#[tokio::test]
async fn hub_api_bearer_scheme_and_official_images() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let server = {
        let seen = Arc::clone(&seen);
        FaultServer::with_handler(move |req: &RecordedRequest| {
            seen.lock().expect("lock").push((
                req.path().to_owned(),
                req.header("authorization").unwrap_or_default().to_owned(),
            ));
            Reply::status(202)
        })
        .await
        .expect("fault server")
    };
    let api =
        HubApi::with_base(server.url(), Secret::new(TOKEN)).with_scheme(HubAuthScheme::Bearer);
    // `alpine:3` on Docker Hub, and the FAQ's `hub.docker.com/<repo>:<tag>` form.
    for reference in ["alpine:3", "hub.docker.com/alpine:3"] {
        ocireg_crane::delete_tag(reference, &Options::new(), Some(&api))
            .await
            .expect("deleted");
    }
    let want = (
        "/v2/repositories/library/alpine/tags/3/".to_owned(),
        format!("Bearer {TOKEN}"),
    );
    assert_eq!(*seen.lock().expect("lock"), [want.clone(), want]);
}

/// A registry that deletes the manifest when asked to delete a tag (as no registry
/// should): `delete_tag` notices, puts the manifest back by digest and fails saying so.
#[tokio::test]
async fn a_registry_that_deletes_the_manifest_gets_it_back() {
    const MANIFEST: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}"#;
    let digest = ocireg_v1::sha256(MANIFEST.as_bytes()).to_string();
    let gone = Arc::new(Mutex::new(false));
    let put_back = Arc::new(Mutex::new(Vec::<u8>::new()));
    let server = {
        let (gone, put_back, digest) = (Arc::clone(&gone), Arc::clone(&put_back), digest.clone());
        FaultServer::with_handler(move |req: &RecordedRequest| {
            let by_digest = format!("/v2/app/manifests/{digest}");
            let mut gone = gone.lock().expect("lock");
            let found = || {
                Reply::ok()
                    .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
                    .header("Docker-Content-Digest", digest.clone())
                    .body(MANIFEST)
            };
            match (req.method.as_str(), req.path()) {
                (_, "/v2/") => Reply::ok().body("{}"),
                ("DELETE", "/v2/app/manifests/v1") => {
                    *gone = true;
                    Reply::status(202)
                }
                ("PUT", p) if p == by_digest => {
                    *gone = false;
                    put_back.lock().expect("lock").extend_from_slice(&req.body);
                    Reply::status(201).header("Docker-Content-Digest", digest.clone())
                }
                ("GET" | "HEAD", p)
                    if (p == by_digest || p == "/v2/app/manifests/v1") && !*gone =>
                {
                    found()
                }
                _ => Reply::status(404).json(&serde_json::json!({"errors": [{
                    "code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]})),
            }
        })
        .await
        .expect("fault server")
    };
    let err = ocireg_crane::delete_tag(&format!("{}/app:v1", server.host()), &Options::new(), None)
        .await
        .expect_err("the registry deleted the manifest");
    assert!(
        err.to_string().contains("rather than only the tag"),
        "{err}"
    );
    assert!(err.to_string().contains("put back"), "{err}");
    assert_eq!(*put_back.lock().expect("lock"), MANIFEST.as_bytes());
    assert!(!*gone.lock().expect("lock"), "the manifest is back");
}
