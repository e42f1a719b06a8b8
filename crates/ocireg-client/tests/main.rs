//! ocireg-client against CNCF distribution on loopback: every method, and each of the
//! Deckhouse document's example programs (through `ocireg_client::examples`, which the
//! programs in `examples/` print).

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use ocireg_client::examples::{self, FailureKind, ManifestSummary};
use ocireg_client::{Client, Error, ImageGetOptions, ListOptions};
use ocireg_testsupport::{Distribution, FaultServer, Reply};
use ocireg_v1::{Image, Platform};

async fn distribution() -> Distribution {
    Distribution::start()
        .await
        .expect("distribution starts (scripts/install-deps.sh installs docker-registry)")
}

fn client(d: &Distribution) -> Client {
    Client::builder(d.host())
        .transport(ocireg_transport::Client::builder().for_tests())
        .build()
        .expect("client builds")
}

/// A random image with `labels` in its config.
async fn labelled(seed: u64, labels: &[(&str, &str)]) -> Arc<dyn Image> {
    let img = ocireg_v1::random::image(256, 2, seed).expect("random image");
    let mut config = img.config_file().await.expect("config").config;
    config.labels = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    ocireg_mutate::config(img, config)
        .await
        .expect("config set")
}

#[tokio::test]
async fn quick_start_lists_tags_and_reads_labels() {
    let d = distribution().await;
    let module = client(&d)
        .with_segment("deckhouse")
        .with_segment("modules")
        .with_segment("my-module");
    assert_eq!(
        module.registry(),
        format!("{}/deckhouse/modules/my-module", d.host())
    );
    module
        .push_image(
            "v1.0.0",
            labelled(1, &[("org.example/owner", "team")]).await,
        )
        .await
        .expect("push");
    module
        .push_image("v1.1.0", labelled(2, &[]).await)
        .await
        .expect("push");
    let found = examples::quick_start(&module, "v1.0.0")
        .await
        .expect("quick start");
    let mut tags = found.tags;
    tags.sort();
    assert_eq!(tags, ["v1.0.0", "v1.1.0"]);
    assert_eq!(
        found.labels,
        BTreeMap::from([("org.example/owner".to_owned(), "team".to_owned())])
    );
}

#[tokio::test]
async fn digest_manifest_config_and_existence_by_tag_and_by_digest() {
    let d = distribution().await;
    let c = client(&d).with_segments(["org", "project"]);
    let img = labelled(3, &[("k", "v")]).await;
    let pushed = c.push_image("v1", Arc::clone(&img)).await.expect("push");
    assert_eq!(pushed, img.digest().await.expect("digest"));

    assert_eq!(c.get_digest("v1").await.expect("digest"), pushed);
    let by_digest = format!("@{pushed}");
    assert_eq!(
        c.get_digest(&by_digest).await.expect("digest by digest"),
        pushed
    );

    let m = c.get_manifest(&by_digest).await.expect("manifest");
    assert_eq!(m.digest(), pushed);
    assert!(!m.is_index());
    assert_eq!(
        m.raw().as_ref(),
        img.raw_manifest().await.expect("raw").as_ref()
    );
    assert_eq!(m.manifest().expect("an image manifest").layers.len(), 2);
    assert!(matches!(
        m.index_manifest(),
        Err(Error::WrongManifestKind { .. })
    ));

    let config = c.get_image_config("v1").await.expect("config");
    assert_eq!(config.config.labels.get("k").map(String::as_str), Some("v"));

    c.check_image_exists("v1").await.expect("exists");
    c.check_image_exists(&by_digest)
        .await
        .expect("exists by digest");
    assert!(c.image_exists("v1").await.expect("asks"));

    let layers = examples::image_layers(&c, "v1").await.expect("layers");
    assert_eq!(layers.len(), 2);
    match examples::manifest_summary(&c, "v1").await.expect("summary") {
        ManifestSummary::Image { config, layers, .. } => {
            assert_eq!(config, img.config_name().await.expect("config digest"));
            assert_eq!(layers.len(), 2);
        }
        other @ ManifestSummary::Index { .. } => panic!("an image manifest, got {other:?}"),
    }
    let info = examples::inspect_image(&c, "v1").await.expect("inspect");
    assert_eq!(info.labels.get("k").map(String::as_str), Some("v"));
    assert!(info.to_string().contains("Labels:\n  k: v\n"), "{info}");
}

#[tokio::test]
async fn a_missing_image_is_a_typed_not_found() {
    let d = distribution().await;
    let c = client(&d).with_segment("app");
    c.push_image("present", labelled(4, &[]).await)
        .await
        .expect("push");
    // A missing tag in an existing repository, and a missing repository.
    for (client, tag) in [(&c, "absent"), (&client(&d).with_segment("nowhere"), "v1")] {
        let err = client.check_image_exists(tag).await.expect_err("missing");
        assert!(matches!(err, Error::ImageNotFound { .. }), "{err:?}");
        assert!(err.is_image_not_found());
        assert_eq!(examples::classify(&err), FailureKind::NotFound);
        assert!(!client.image_exists(tag).await.expect("asks"));
        assert!(
            client
                .get_image(tag, ImageGetOptions::new())
                .await
                .expect_err("missing")
                .is_image_not_found()
        );
        assert!(
            client
                .get_digest(tag)
                .await
                .expect_err("missing")
                .is_image_not_found()
        );
        assert!(
            client
                .get_manifest(tag)
                .await
                .expect_err("missing")
                .is_image_not_found()
        );
    }
    let hex = "0".repeat(64);
    assert!(
        c.get_digest(&format!("@sha256:{hex}"))
            .await
            .expect_err("missing")
            .is_image_not_found()
    );
}

#[tokio::test]
async fn error_handling_examples_fall_back_and_classify() {
    let d = distribution().await;
    let c = client(&d).with_segment("org/project");
    // Graceful Error Handling: the first tag that exists.
    assert!(
        examples::pull_first_available(&c, &["latest", "stable"])
            .await
            .expect("none")
            .is_none()
    );
    let digest = c
        .push_image("stable", labelled(5, &[]).await)
        .await
        .expect("push");
    let (tag, img) = examples::pull_first_available(&c, &["latest", "stable", "v1.0.0"])
        .await
        .expect("search")
        .expect("found");
    assert_eq!(tag, "stable");
    assert_eq!(img.digest().await.expect("digest"), digest);
    // Check Image Existence with a default.
    assert_eq!(
        examples::check_or_default(&c, "stable", "dflt")
            .await
            .expect("ok"),
        "stable"
    );
    assert_eq!(
        examples::check_or_default(&c, "v9", "dflt")
            .await
            .expect("ok"),
        "dflt"
    );

    // Transport errors: 401 from a registry that wants credentials, typed, no strings.
    let locked = Distribution::builder()
        .htpasswd([("user", "secret")])
        .start()
        .await
        .expect("distribution with htpasswd starts");
    let anon = client(&locked).with_segment("org/project");
    let err = anon.check_image_exists("v1").await.expect_err("401");
    assert_eq!(
        err.status(),
        Some(http::StatusCode::UNAUTHORIZED),
        "{err:?}"
    );
    assert_eq!(examples::classify(&err), FailureKind::Unauthorized);
    assert!(!err.is_image_not_found());
    // The fallback stops at an error that is not "not found".
    assert!(
        examples::pull_first_available(&anon, &["latest"])
            .await
            .is_err()
    );
    // With the credentials it works.
    let authed = Client::builder(locked.host())
        .transport(ocireg_transport::Client::builder().for_tests())
        .auth(Arc::new(ocireg_authn::Basic::new("user", "secret")))
        .build()
        .expect("client")
        .with_segment("org/project");
    authed
        .push_image("v1", labelled(6, &[]).await)
        .await
        .expect("push with credentials");
    authed.check_image_exists("v1").await.expect("exists");
}

#[tokio::test]
async fn get_image_extract_streams_the_flattened_filesystem() {
    let d = distribution().await;
    let c = client(&d).with_segment("app");
    let img = labelled(7, &[]).await;
    c.push_image("v1", Arc::clone(&img)).await.expect("push");
    let pulled = c
        .get_image("v1", ImageGetOptions::new())
        .await
        .expect("image");
    // The stream equals the flattening of the image we pushed, byte for byte.
    let mut want = Vec::new();
    let mut local = ocireg_mutate::extract(img);
    while let Some(chunk) = local.next().await {
        want.extend_from_slice(&chunk.expect("local chunk"));
    }
    let mut got = Vec::new();
    let mut remote = pulled.extract();
    while let Some(chunk) = remote.next().await {
        got.extend_from_slice(&chunk.expect("remote chunk"));
    }
    assert_eq!(got, want);
    // The example writes it to a file, which is a tar with the image's entries.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fs.tar");
    let n = examples::extract_to_file(&c, "v1", &path)
        .await
        .expect("extract");
    assert_eq!(n, got.len() as u64);
    let file = fs_err::File::open(&path).expect("open");
    let mut archive = tar::Archive::new(file);
    let mut entries = 0;
    for e in archive.entries().expect("entries") {
        let mut e = e.expect("entry");
        let mut sink = Vec::new();
        e.read_to_end(&mut sink).expect("read entry");
        entries += 1;
    }
    assert!(entries > 0, "the flattened filesystem has entries");
    assert!(
        !dir.path().join("fs.tar.partial").exists(),
        "temp file renamed"
    );
}

#[tokio::test]
async fn mirror_and_sync_tags_between_repositories() {
    let d = distribution().await;
    let base = client(&d);
    let source = base.with_segments(["org", "project"]);
    let target = base.with_segments(["mirror", "org", "project"]);
    assert_eq!(
        target.registry(),
        format!("{}/mirror/org/project", d.host())
    );
    let d1 = source
        .push_image("v1.0.0", labelled(8, &[]).await)
        .await
        .expect("push");
    let mirrored = examples::mirror_image(&source, &target, "v1.0.0")
        .await
        .expect("mirror");
    assert_eq!(mirrored, d1);
    assert_eq!(
        target.get_digest("v1.0.0").await.expect("mirrored digest"),
        d1
    );

    source
        .push_image("v1.1.0", labelled(9, &[]).await)
        .await
        .expect("push");
    source
        .push_image("v1.2.0", labelled(10, &[]).await)
        .await
        .expect("push");
    let report = examples::sync_tags(&source, &target).await.expect("sync");
    let mut mirrored = report.mirrored.clone();
    mirrored.sort();
    assert_eq!(mirrored, ["v1.1.0", "v1.2.0"]);
    assert_eq!(report.present, ["v1.0.0"]);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    for tag in ["v1.1.0", "v1.2.0"] {
        assert_eq!(
            target.get_digest(tag).await.expect("target"),
            source.get_digest(tag).await.expect("source")
        );
    }
    // A second sync has nothing to do; a fresh target repository is created.
    let again = examples::sync_tags(&source, &target)
        .await
        .expect("sync again");
    assert!(again.mirrored.is_empty());
    let fresh = base.with_segment("fresh/copy");
    assert_eq!(
        examples::sync_tags(&source, &fresh)
            .await
            .expect("sync")
            .mirrored
            .len(),
        3
    );
}

#[tokio::test]
async fn process_tags_fetches_digests_concurrently() {
    let d = distribution().await;
    let c = client(&d).with_segment("many");
    let mut want = Vec::new();
    for i in 0..6u64 {
        let tag = format!("t{i}");
        want.push((
            tag.clone(),
            c.push_image(&tag, labelled(20 + i, &[]).await)
                .await
                .expect("push"),
        ));
    }
    let mut tags: Vec<String> = want.iter().map(|(t, _)| t.clone()).collect();
    tags.push("absent".to_owned());
    let got = examples::process_tags(&c, &tags, 3).await;
    assert_eq!(got.len(), 7);
    for ((tag, digest), (got_tag, got_digest)) in want.iter().zip(&got) {
        assert_eq!(tag, got_tag);
        assert_eq!(got_digest.as_ref().expect("digest"), digest);
    }
    let (last_tag, last) = &got[6];
    assert_eq!(last_tag, "absent");
    assert!(last.as_ref().expect_err("missing").is_image_not_found());
}

#[tokio::test]
async fn get_image_picks_the_platform_asked_for() {
    let d = distribution().await;
    let c = client(&d).with_segment("myapp");
    let platforms = [
        Platform::new("linux", "amd64"),
        Platform::new("linux", "arm64"),
        Platform::new("linux", "arm").with_variant("v7"),
    ];
    let digest = examples::seed_multi_platform_index(&c, "latest", &platforms)
        .await
        .expect("index pushed");
    let m = c.get_manifest("latest").await.expect("manifest");
    assert!(m.is_index() && m.media_type().is_index());
    assert_eq!(m.digest(), digest);
    assert_eq!(m.index_manifest().expect("index").manifests.len(), 3);
    assert!(matches!(m.manifest(), Err(Error::WrongManifestKind { .. })));
    match examples::manifest_summary(&c, "latest")
        .await
        .expect("summary")
    {
        ManifestSummary::Index { manifests, .. } => {
            let names: Vec<_> = manifests.iter().filter_map(|(p, _, _)| p.clone()).collect();
            assert_eq!(names, ["linux/amd64", "linux/arm64", "linux/arm/v7"]);
        }
        other @ ManifestSummary::Image { .. } => panic!("an index, got {other:?}"),
    }
    let mut asked = platforms.to_vec();
    asked.push(Platform::new("windows", "amd64"));
    let got = examples::platform_images(&c, "latest", &asked).await;
    for (platform, info) in got.iter().take(3) {
        let info = info.as_ref().expect("platform present");
        assert_eq!(info.os, platform.os);
        assert_eq!(info.architecture, platform.architecture);
        assert_eq!(info.variant, platform.variant);
        assert_eq!(info.layers, 1);
    }
    assert!(got[3].1.is_err(), "windows/amd64 is not in the index");
    let arm = c
        .get_image(
            "latest",
            ImageGetOptions::new().with_platform(platforms[1].clone()),
        )
        .await
        .expect("arm64");
    assert_eq!(
        arm.config_file().await.expect("config").architecture,
        "arm64"
    );
}

#[tokio::test]
async fn list_tags_pages_with_limit_and_last() {
    let d = distribution().await;
    let c = client(&d).with_segment("paged");
    let mut want = Vec::new();
    for i in 0..7u64 {
        let tag = format!("v{i}");
        c.push_image(&tag, labelled(40 + i, &[]).await)
            .await
            .expect("push");
        want.push(tag);
    }
    let mut all = c.list_tags(ListOptions::new()).await.expect("all");
    all.sort();
    assert_eq!(all, want);
    let first = c
        .list_tags(ListOptions::new().with_limit(3))
        .await
        .expect("page 1");
    assert_eq!(first, ["v0", "v1", "v2"]);
    let next = c
        .list_tags(ListOptions::new().with_limit(3).with_last("v2"))
        .await
        .expect("page 2");
    assert_eq!(next, ["v3", "v4", "v5"]);
    let pages = examples::tag_pages(&c, 3).await.expect("pages");
    assert_eq!(
        pages,
        [vec!["v0", "v1", "v2"], vec!["v3", "v4", "v5"], vec!["v6"]]
    );
}

#[tokio::test]
async fn list_repositories_is_scoped_to_the_path_and_paginated() {
    let d = distribution().await;
    let base = client(&d);
    for path in [
        "a/x", "a/y/z", "a/y", "ab/q", "a-b/q", "b/one", "b/two", "b/three",
    ] {
        base.with_segment(path)
            .push_image("v1", labelled(60, &[]).await)
            .await
            .expect("push");
    }
    let mut all = base
        .list_repositories(ListOptions::new())
        .await
        .expect("catalog");
    // In the registry's order (distribution's is path by path); the set is what counts.
    all.sort();
    assert_eq!(
        all,
        [
            "a-b/q", "a/x", "a/y", "a/y/z", "ab/q", "b/one", "b/three", "b/two"
        ]
    );
    let page = base
        .list_repositories(ListOptions::new().with_limit(2).with_last("a/x"))
        .await
        .expect("catalog page");
    assert_eq!(page, ["a/y", "a/y/z"]);

    let a = base.with_segment("a");
    assert_eq!(
        a.list_repositories(ListOptions::new()).await.expect("a"),
        ["x", "y", "y/z"]
    );
    assert_eq!(
        a.list_repositories(ListOptions::new().with_limit(2))
            .await
            .expect("a page"),
        ["x", "y"]
    );
    assert_eq!(
        a.list_repositories(ListOptions::new().with_limit(2).with_last("y"))
            .await
            .expect("a page 2"),
        ["y/z"]
    );
    let b = base.with_segment("b");
    assert_eq!(
        b.list_repositories(ListOptions::new().with_limit(1))
            .await
            .expect("b"),
        ["one"]
    );
    assert!(
        base.with_segment("none")
            .list_repositories(ListOptions::new())
            .await
            .expect("none")
            .is_empty()
    );

    // Discover Repository Structure: each listed name reaches its repositories.
    let tree = examples::discover(&a, 10, 10).await.expect("discover");
    assert_eq!(
        tree,
        [
            ("x".to_owned(), vec![]),
            ("y".to_owned(), vec!["z".to_owned()]),
            ("y/z".to_owned(), vec![]),
        ]
    );
}

#[tokio::test]
async fn a_deadline_bounds_each_operation() {
    // A registry that never answers.
    let server = FaultServer::start([Reply::hang(), Reply::hang(), Reply::hang()])
        .await
        .expect("fault server");
    let c = Client::builder(server.host())
        .transport(ocireg_transport::Client::builder().for_tests())
        .timeout(Duration::from_millis(300))
        .build()
        .expect("client")
        .with_segment("app");
    let started = std::time::Instant::now();
    let err = c.get_digest("v1").await.expect_err("times out");
    assert!(matches!(err, Error::TimedOut { .. }), "{err:?}");
    assert!(err.is_transient());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn every_builder_option_makes_a_working_client() {
    let d = distribution().await;
    let c = Client::builder(format!("{}/logged", d.host()))
        .transport(ocireg_transport::Client::builder().for_tests())
        .logger(tracing::info_span!("registry"))
        .plain_http(true)
        .timeouts(ocireg_transport::Timeouts::default().with_connect(Duration::from_secs(5)))
        .build()
        .expect("client");
    assert_eq!(c.path(), "logged");
    c.push_image("v1", labelled(70, &[]).await)
        .await
        .expect("push");
    c.check_image_exists("v1").await.expect("exists");
}

/// A subscriber that records each new span (with its explicit parent's name) and each
/// event (with the name of the span it happened in).
#[derive(Clone, Default)]
struct Recorder {
    names: Arc<std::sync::Mutex<Vec<&'static str>>>,
    stack: Arc<std::sync::Mutex<Vec<u64>>>,
    seen: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Recorder {
    fn name(&self, id: u64) -> &'static str {
        let names = self.names.lock().expect("lock");
        usize::try_from(id - 1)
            .ok()
            .and_then(|i| names.get(i).copied())
            .unwrap_or("?")
    }
}

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, attrs: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let id = {
            let mut names = self.names.lock().expect("lock");
            names.push(attrs.metadata().name());
            names.len() as u64
        };
        let parent = attrs
            .parent()
            .map(tracing::span::Id::into_u64)
            .or_else(|| self.stack.lock().expect("lock").last().copied())
            .map_or("", |p| self.name(p));
        self.seen
            .lock()
            .expect("lock")
            .push(format!("span {} < {parent}", attrs.metadata().name()));
        tracing::span::Id::from_u64(id)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {
        let current = self.stack.lock().expect("lock").last().copied();
        let name = current.map_or("", |c| self.name(c));
        self.seen
            .lock()
            .expect("lock")
            .push(format!("event in {name}"));
    }
    fn enter(&self, span: &tracing::span::Id) {
        self.stack.lock().expect("lock").push(span.into_u64());
    }
    fn exit(&self, _: &tracing::span::Id) {
        self.stack.lock().expect("lock").pop();
    }
}

#[tokio::test]
async fn operations_run_in_a_debug_span_under_the_logger() {
    let d = distribution().await;
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());
    let c = Client::builder(d.host())
        .transport(ocireg_transport::Client::builder().for_tests())
        .logger(tracing::info_span!("deckhouse_registry"))
        .build()
        .expect("client")
        .with_segment("logged");
    let err = c.check_image_exists("v1").await.expect_err("missing");
    assert!(err.is_image_not_found());
    let seen = recorder.seen.lock().expect("lock").clone();
    assert!(
        seen.iter()
            .any(|l| l == "span registry < deckhouse_registry"),
        "{seen:#?}"
    );
    assert!(
        seen.iter().any(|l| l == "event in registry"),
        "the outcome is logged in the operation's span: {seen:#?}"
    );
}
