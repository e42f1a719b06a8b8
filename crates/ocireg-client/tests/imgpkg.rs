//! `ocireg_client::imgpkg` (carvel imgpkg's registry package) against CNCF distribution on
//! loopback: anonymous, with htpasswd Basic auth, and with bearer tokens from a token
//! server that counts its requests.

#![allow(
    clippy::disallowed_methods,
    reason = "test set-up writes a docker config with std::fs"
)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ocireg_authn::{AuthConfig, Authenticator, Environment, Keychain as _, Resource};
use ocireg_client::Error;
use ocireg_client::imgpkg::{
    ImagesReader, ImagesReaderWriter, KeychainOpts, MultiTransportStorage, Opts, ProgressLogger,
    Registry, RegistryTransport, RemoteSettings, SimpleRegistry, SingleTransportStorage,
    TransportStorage, Update, WithProgress, keychain,
};
use ocireg_name::{Action, Reference, Repository, Tag};
use ocireg_remote::{RawManifest, Writable};
use ocireg_testsupport::{Distribution, TokenServer, User};
use ocireg_transport::Scope;
use ocireg_v1::{Image, ImageIndex};
use tokio::sync::mpsc;

fn test_client() -> ocireg_transport::Client {
    ocireg_transport::Client::builder()
        .for_tests()
        .build()
        .expect("client builds")
}

/// A registry with no credentials anywhere (an empty environment, `anon`).
fn anonymous_registry() -> SimpleRegistry {
    SimpleRegistry::builder(
        Opts::new()
            .with_environment(Environment::empty())
            .with_keychain(KeychainOpts::new().with_anon(true)),
    )
    .transport(ocireg_transport::Client::builder().for_tests())
    .build()
    .expect("registry builds")
}

fn reference(s: &str) -> Reference {
    s.parse().expect("valid reference")
}

async fn distribution() -> Distribution {
    Distribution::start()
        .await
        .expect("distribution starts (scripts/install-deps.sh installs docker-registry)")
}

/// Distribution behind a token server where `user`/`pass` may pull and push `tok/a` and
/// `tok/b` and nothing else; anonymous users get nothing.
async fn token_distribution() -> (Distribution, TokenServer) {
    let tokens = TokenServer::builder()
        .user(
            User::new("user", "pass")
                .allow("tok/a", ["pull", "push"])
                .allow("tok/b", ["pull", "push"]),
        )
        .start()
        .await
        .expect("token server starts");
    let d = Distribution::builder()
        .token_auth(&tokens)
        .start()
        .await
        .expect("distribution with token auth starts");
    (d, tokens)
}

/// A storage that counts the transports it was asked to make.
#[derive(Debug)]
struct Counting<S> {
    inner: S,
    created: AtomicUsize,
}

#[async_trait::async_trait]
impl<S: TransportStorage> TransportStorage for Counting<S> {
    fn transport(&self, repository: &Repository, action: Action) -> Option<RegistryTransport> {
        self.inner.transport(repository, action)
    }

    async fn create_transport(
        &self,
        registry: &ocireg_name::Registry,
        auth: Arc<dyn Authenticator>,
        scope: &Scope,
    ) -> ocireg_client::Result<RegistryTransport> {
        self.created.fetch_add(1, Ordering::SeqCst);
        self.inner.create_transport(registry, auth, scope).await
    }

    fn base_client(&self) -> &ocireg_transport::Client {
        self.inner.base_client()
    }

    fn settings(&self) -> RemoteSettings {
        self.inner.settings()
    }
}

/// A registry authenticating as `user`/`pass` on every host, keeping transports in
/// `storage`.
fn user_registry(storage: Arc<dyn TransportStorage>) -> SimpleRegistry {
    SimpleRegistry::builder(
        Opts::new()
            .with_environment(Environment::empty())
            .with_keychain(
                KeychainOpts::new()
                    .with_username("user")
                    .with_password("pass"),
            ),
    )
    .transport_storage(storage)
    .build()
    .expect("registry builds")
}

#[tokio::test]
async fn reads_writes_tags_and_lists_against_distribution() {
    let d = distribution().await;
    let r = anonymous_registry();
    let host = d.host();
    let img = ocireg_v1::random::image(512, 2, 1).expect("random image");
    let v1 = reference(&format!("{host}/imgpkg/app:v1"));
    let digest = r
        .write_image(&v1, Arc::clone(&img))
        .await
        .expect("write image");
    assert_eq!(digest, img.digest().await.expect("digest"));

    // get, digest, image by tag and by digest.
    let desc = r.get(&v1).await.expect("get");
    assert_eq!(desc.digest(), digest);
    assert!(desc.is_image());
    assert_eq!(r.digest(&v1).await.expect("digest"), digest);
    let by_digest = reference(&format!("{host}/imgpkg/app@{digest}"));
    assert_eq!(r.digest(&by_digest).await.expect("digest"), digest);
    let pulled = r.image(&by_digest).await.expect("image");
    assert_eq!(
        pulled.raw_manifest().await.expect("manifest"),
        img.raw_manifest().await.expect("manifest")
    );

    // An index, written and read back.
    let idx = ocireg_v1::random::index(256, 1, 2, 2).expect("random index");
    let at = reference(&format!("{host}/imgpkg/app:idx"));
    let idx_digest = r
        .write_index(&at, Arc::clone(&idx))
        .await
        .expect("write index");
    assert_eq!(idx_digest, idx.digest().await.expect("digest"));
    let read = r.index(&at).await.expect("index");
    assert_eq!(read.digest().await.expect("digest"), idx_digest);
    assert_eq!(
        read.index_manifest()
            .await
            .expect("manifest")
            .manifests
            .len(),
        2
    );
    assert!(r.get(&at).await.expect("get").is_index());

    // A tag on an existing manifest.
    let v2: Tag = format!("{host}/imgpkg/app:v2").parse().expect("tag");
    let raw = RawManifest::new(desc.raw_manifest().clone(), desc.media_type().clone());
    r.write_tag(&v2, &raw).await.expect("write tag");
    assert_eq!(r.digest(&Reference::Tag(v2)).await.expect("digest"), digest);

    let repo: Repository = format!("{host}/imgpkg/app").parse().expect("repo");
    let mut tags = r.list_tags(&repo).await.expect("tags");
    tags.sort();
    assert_eq!(tags, ["idx", "v1", "v2"]);

    // imgpkg's protocol check: a tag written with a scheme is refused before any request.
    let with_scheme: Tag = "https://registry.example/imgpkg/app:v3"
        .parse()
        .expect("ocireg-name reads it as a tag of registry `https:`");
    assert!(matches!(
        r.write_tag(&with_scheme, &raw).await,
        Err(Error::ProtocolPrefix {
            prefix: "https://",
            ..
        })
    ));

    // Missing images are typed.
    let missing = reference(&format!("{host}/imgpkg/app:absent"));
    for err in [
        r.digest(&missing).await.expect_err("missing"),
        r.get(&missing).await.expect_err("missing"),
        r.image(&missing).await.expect_err("missing"),
    ] {
        assert!(err.is_image_not_found(), "{err:?}");
    }
}

#[tokio::test]
async fn first_image_exists_answers_the_first_present_digest_in_order() {
    let d = distribution().await;
    let r = anonymous_registry();
    let host = d.host();
    let a = ocireg_v1::random::image(128, 1, 10).expect("image");
    let b = ocireg_v1::random::image(128, 1, 11).expect("image");
    let da = r
        .write_image(&reference(&format!("{host}/fie/a:1")), a)
        .await
        .expect("write");
    let db = r
        .write_image(&reference(&format!("{host}/fie/b:1")), b)
        .await
        .expect("write");
    let absent = format!("{host}/fie/a@sha256:{}", "0".repeat(64));
    let present_a = format!("{host}/fie/a@{da}");
    let present_b = format!("{host}/fie/b@{db}");
    // Present first; absent then present; both present (order decides).
    assert_eq!(
        r.first_image_exists(&[present_a.clone(), absent.clone()])
            .await
            .expect("found"),
        present_a
    );
    assert_eq!(
        r.first_image_exists(&[absent.clone(), present_b.clone(), present_a.clone()])
            .await
            .expect("found"),
        present_b
    );
    // Only absent ones (also a digest of one repository asked in another).
    let elsewhere = format!("{host}/fie/b@{da}");
    let err = r
        .first_image_exists(&[absent.clone(), elsewhere])
        .await
        .expect_err("none");
    assert!(
        matches!(&err, Error::NoImageExists { count: 2, last: Some(last) } if last.is_image_not_found()),
        "{err:?}"
    );
    assert!(err.is_not_found());
    assert!(matches!(
        r.first_image_exists(&[]).await,
        Err(Error::NoImageExists {
            count: 0,
            last: None
        })
    ));
    // A string that is not a digest reference fails at once.
    assert!(matches!(
        r.first_image_exists(&[format!("{host}/fie/a:1"), present_a])
            .await,
        Err(Error::InvalidReference { .. })
    ));
}

/// Collects the updates of a write in a task.
fn collect(mut rx: mpsc::Receiver<Update>) -> tokio::task::JoinHandle<Vec<Update>> {
    tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(u) = rx.recv().await {
            seen.push(u);
        }
        seen
    })
}

fn assert_progress(updates: &[Update]) {
    assert!(!updates.is_empty(), "no update");
    for w in updates.windows(2) {
        assert!(
            w[1].total >= w[0].total && w[1].complete >= w[0].complete,
            "not monotone: {updates:?}"
        );
    }
    let last = updates.last().expect("one update");
    assert!(last.total > 0);
    assert_eq!(last.complete, last.total, "{updates:?}");
    assert!(updates.iter().all(|u| u.complete <= u.total), "{updates:?}");
}

#[tokio::test]
async fn multi_write_streams_monotone_progress_and_writes_everything() {
    let d = distribution().await;
    let r = anonymous_registry();
    let host = d.host();
    let shared = ocireg_v1::random::image(64 * 1024, 3, 20).expect("image");
    let other = ocireg_v1::random::image(32 * 1024, 2, 21).expect("image");
    let idx = ocireg_v1::random::index(16 * 1024, 1, 2, 22).expect("index");
    let items = HashMap::from([
        (
            reference(&format!("{host}/mw/one:a")),
            Writable::Image(Arc::clone(&shared)),
        ),
        (
            reference(&format!("{host}/mw/one:b")),
            Writable::Image(Arc::clone(&shared)),
        ),
        (
            reference(&format!("{host}/mw/two:c")),
            Writable::Image(Arc::clone(&other)),
        ),
        (
            reference(&format!("{host}/mw/two:idx")),
            Writable::Index(Arc::clone(&idx)),
        ),
    ]);
    let (tx, rx) = mpsc::channel(4);
    let seen = collect(rx);
    let pushed = r
        .multi_write(items.clone(), 2, Some(tx))
        .await
        .expect("multi write");
    let updates = seen.await.expect("collector");
    assert_progress(&updates);
    let planned: u64 = 3 * 64 * 1024 + 2 * 32 * 1024 + 2 * 16 * 1024;
    assert!(
        updates.last().expect("one").total > planned,
        "layers, configs and manifests: {updates:?}"
    );
    assert_eq!(pushed.len(), 4);
    for (reference, item) in &items {
        let want = match item {
            Writable::Image(i) => i.digest().await.expect("digest"),
            Writable::Index(i) => i.digest().await.expect("digest"),
            _ => unreachable!("only images and indexes here"),
        };
        assert_eq!(pushed[reference], want);
        assert_eq!(r.digest(reference).await.expect("written"), want);
    }

    // Without a channel, and again (everything is there: complete still reaches total).
    r.multi_write(items.clone(), 1, None)
        .await
        .expect("no updates");
    let (tx, rx) = mpsc::channel(1);
    let seen = collect(rx);
    r.multi_write(items, 3, Some(tx)).await.expect("again");
    assert_progress(&seen.await.expect("collector"));
}

#[derive(Debug, Default)]
struct Recording {
    started: AtomicUsize,
    ended: AtomicUsize,
    task: Mutex<Option<tokio::task::JoinHandle<Vec<Update>>>>,
}

impl ProgressLogger for Recording {
    fn start(&self, updates: mpsc::Receiver<Update>) {
        self.started.fetch_add(1, Ordering::SeqCst);
        *self.task.lock().expect("lock") = Some(collect(updates));
    }

    fn end(&self) {
        self.ended.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn with_progress_reports_multi_write_to_its_logger() {
    let d = distribution().await;
    let logger = Arc::new(Recording::default());
    let r = WithProgress::new(
        anonymous_registry(),
        Arc::clone(&logger) as Arc<dyn ProgressLogger>,
    );
    let host = d.host();
    let img = ocireg_v1::random::image(8 * 1024, 2, 30).expect("image");
    let at = reference(&format!("{host}/wp/app:v1"));
    // Other operations pass through without the logger.
    r.write_image(&at, Arc::clone(&img)).await.expect("write");
    assert_eq!(logger.started.load(Ordering::SeqCst), 0);
    assert_eq!(
        r.digest(&at).await.expect("digest"),
        img.digest().await.expect("digest")
    );

    // The caller's channel is ignored, as in imgpkg: the logger gets the updates.
    let (tx, mut ignored) = mpsc::channel(8);
    let other = ocireg_v1::random::image(8 * 1024, 2, 31).expect("image");
    let items = HashMap::from([(
        reference(&format!("{host}/wp/app:v2")),
        Writable::Image(other),
    )]);
    r.multi_write(items, 2, Some(tx))
        .await
        .expect("multi write");
    assert_eq!(logger.started.load(Ordering::SeqCst), 1);
    assert_eq!(logger.ended.load(Ordering::SeqCst), 1);
    let task = logger.task.lock().expect("lock").take().expect("started");
    assert_progress(&task.await.expect("collector"));
    assert!(ignored.recv().await.is_none());

    let repo: Repository = format!("{host}/wp/app").parse().expect("repo");
    let mut tags = r.list_tags(&repo).await.expect("tags");
    tags.sort();
    assert_eq!(tags, ["v1", "v2"]);
    // The clone keeps the logger.
    let single = r
        .clone_with_single_auth(&format!("{host}/wp/app:v1").parse().expect("tag"))
        .await
        .expect("clone");
    assert_eq!(
        single
            .image(&at)
            .await
            .expect("image")
            .digest()
            .await
            .expect("digest"),
        img.digest().await.expect("digest")
    );
}

#[tokio::test]
async fn transports_are_made_once_per_repository_and_scope_and_reused() {
    let (d, tokens) = token_distribution().await;
    let host = d.host();
    let storage = Arc::new(Counting {
        inner: MultiTransportStorage::new(test_client(), RemoteSettings::new()),
        created: AtomicUsize::new(0),
    });
    let r = user_registry(Arc::clone(&storage) as Arc<dyn TransportStorage>);
    let img = ocireg_v1::random::image(1024, 2, 40).expect("image");
    let a = reference(&format!("{host}/tok/a:v1"));
    let b = reference(&format!("{host}/tok/b:v1"));
    let repo_a: Repository = format!("{host}/tok/a").parse().expect("repo");

    let round = |first: bool| {
        let (r, img, a, b, repo_a) = (&r, &img, &a, &b, &repo_a);
        async move {
            r.write_image(a, Arc::clone(img)).await.expect("write a");
            r.digest(a).await.expect("digest a");
            r.image(a).await.expect("image a");
            r.list_tags(repo_a).await.expect("tags a");
            // b is read before it is written: a pull transport first, then a push one.
            let read_b = r.digest(b).await;
            assert_eq!(read_b.is_err(), first, "{read_b:?}");
            r.write_image(b, Arc::clone(img)).await.expect("write b");
            r.get(b).await.expect("get b");
        }
    };
    round(true).await;
    // a: push,pull (its reads reuse it); b: pull, then push,pull.
    assert_eq!(storage.created.load(Ordering::SeqCst), 3);
    assert_eq!(storage.inner.len(), 3);
    let stored = storage
        .transport(&repo_a, Action::Pull)
        .expect("a pull is served by the push transport");
    assert_eq!(stored.actions(), "push,pull");
    assert_eq!(stored.repository(), &repo_a);
    let token_requests = tokens.request_count();
    assert!(token_requests > 0);

    // The same operations again, from a clone too: nothing new is made or fetched.
    round(false).await;
    let clone = r.clone();
    clone.digest(&a).await.expect("digest a");
    assert_eq!(storage.created.load(Ordering::SeqCst), 3);
    assert_eq!(tokens.request_count(), token_requests);
    // A third repository gets its own transport.
    let err = r
        .digest(&reference(&format!("{host}/tok/c:v1")))
        .await
        .expect_err("no permission on tok/c");
    assert!(
        matches!(err.status().map(|s| s.as_u16()), Some(401 | 403)),
        "{err:?}"
    );
    assert_eq!(storage.created.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_single_transport_storage_serves_every_repository() {
    let (d, _tokens) = token_distribution().await;
    let host = d.host();
    let storage = Arc::new(Counting {
        inner: SingleTransportStorage::new(test_client(), RemoteSettings::new()),
        created: AtomicUsize::new(0),
    });
    let r = user_registry(Arc::clone(&storage) as Arc<dyn TransportStorage>);
    let img = ocireg_v1::random::image(1024, 1, 50).expect("image");
    r.write_image(&reference(&format!("{host}/tok/a:v1")), Arc::clone(&img))
        .await
        .expect("write a");
    r.write_image(&reference(&format!("{host}/tok/b:v1")), img)
        .await
        .expect("write b through a's transport");
    r.list_tags(&format!("{host}/tok/b").parse().expect("repo"))
        .await
        .expect("tags b");
    assert_eq!(storage.created.load(Ordering::SeqCst), 1);
    let repo_b: Repository = format!("{host}/tok/b").parse().expect("repo");
    let one = storage.transport(&repo_b, Action::Pull).expect("stored");
    assert_eq!(one.repository().repository_str(), "tok/a");
}

#[tokio::test]
async fn clone_with_single_auth_authenticates_only_for_its_repository() {
    let (d, tokens) = token_distribution().await;
    let host = d.host();
    let r = user_registry(Arc::new(MultiTransportStorage::new(
        test_client(),
        RemoteSettings::new(),
    )));
    let img = ocireg_v1::random::image(1024, 1, 60).expect("image");
    let a = reference(&format!("{host}/tok/a:v1"));
    let b = reference(&format!("{host}/tok/b:v1"));
    r.write_image(&a, Arc::clone(&img)).await.expect("write a");
    r.write_image(&b, Arc::clone(&img)).await.expect("write b");

    let single = r
        .clone_with_single_auth(&format!("{host}/tok/a:v1").parse().expect("tag"))
        .await
        .expect("clone");
    let want = img.digest().await.expect("digest");
    assert_eq!(single.digest(&a).await.expect("a is readable"), want);
    let before = tokens.requests().len();
    let err = single
        .digest(&b)
        .await
        .expect_err("the clone has no credentials for tok/b");
    assert!(
        matches!(err.status().map(|s| s.as_u16()), Some(401 | 403)),
        "{err:?}"
    );
    // What the clone asked the token server for tok/b, it asked anonymously.
    let asked: Vec<_> = tokens.requests()[before..]
        .iter()
        .filter(|t| t.scopes.iter().any(|s| s.contains("tok/b")))
        .cloned()
        .collect();
    assert!(!asked.is_empty());
    assert!(asked.iter().all(|t| t.username.is_none()), "{asked:?}");
    // The original still reads both; the clone's keychain says why.
    assert_eq!(r.digest(&b).await.expect("original reads b"), want);
    let kc = single.keychain();
    let for_a = kc
        .resolve(&Resource::repository(host, "tok/a"))
        .await
        .expect("resolves");
    assert_eq!(
        for_a.authorization().await.expect("config"),
        AuthConfig::basic("user", "pass")
    );
    let for_b = kc
        .resolve(&Resource::repository(host, "tok/b"))
        .await
        .expect("resolves");
    assert!(for_b.is_anonymous());
}

#[tokio::test]
async fn multi_write_errors_name_the_reference() {
    let (d, _tokens) = token_distribution().await;
    let host = d.host();
    let r = user_registry(Arc::new(MultiTransportStorage::new(
        test_client(),
        RemoteSettings::new(),
    )));
    let img = ocireg_v1::random::image(256, 1, 70).expect("image");
    let denied = format!("{host}/tok/denied:v1");
    let items = HashMap::from([(reference(&denied), Writable::Image(img))]);
    let (tx, rx) = mpsc::channel(8);
    let seen = collect(rx);
    let err = r.multi_write(items, 2, Some(tx)).await.expect_err("denied");
    assert!(err.to_string().contains(&denied), "{err}");
    // The stream ends with the failed write.
    let updates = seen.await.expect("collector");
    assert!(
        updates.iter().all(|u| u.complete < u.total || u.total == 0),
        "{updates:?}"
    );
}

fn docker_config(dir: &std::path::Path, host: &str, user: &str, pass: &str) {
    let auth = AuthConfig::encode_auth(user, pass);
    std::fs::write(
        dir.join("config.json"),
        format!(r#"{{"auths":{{"{host}":{{"auth":"{}"}}}}}}"#, auth.expose()),
    )
    .expect("config written");
}

/// One row of the precedence table: name, environment, flags, host, expected credentials.
type Row = (
    &'static str,
    Environment,
    KeychainOpts,
    &'static str,
    AuthConfig,
);

#[allow(clippy::too_many_lines, reason = "a table, one row per case")]
fn precedence_rows(base: &Environment) -> Vec<Row> {
    let env_h1 = |prefix: &str| {
        base.clone()
            .with_var(format!("{prefix}HOSTNAME"), "h1.example")
            .with_var(format!("{prefix}USERNAME"), "env-user")
            .with_var(format!("{prefix}PASSWORD"), "env-pass")
    };
    let basic = AuthConfig::basic;
    let anon = AuthConfig::default();
    vec![
        (
            "env for its host",
            env_h1("IMGPKG_REGISTRY_"),
            KeychainOpts::new(),
            "h1.example",
            basic("env-user", "env-pass"),
        ),
        (
            "docker config for another",
            env_h1("IMGPKG_REGISTRY_"),
            KeychainOpts::new(),
            "docker.example",
            basic("docker-user", "docker-pass"),
        ),
        (
            "nothing anywhere",
            env_h1("IMGPKG_REGISTRY_"),
            KeychainOpts::new(),
            "other.example",
            anon.clone(),
        ),
        (
            "env beats flags",
            env_h1("IMGPKG_REGISTRY_"),
            KeychainOpts::new()
                .with_username("flag")
                .with_password("fp"),
            "h1.example",
            basic("env-user", "env-pass"),
        ),
        (
            "flags beat docker config",
            env_h1("IMGPKG_REGISTRY_"),
            KeychainOpts::new()
                .with_username("flag")
                .with_password("fp"),
            "docker.example",
            basic("flag", "fp"),
        ),
        (
            "token flag",
            base.clone(),
            KeychainOpts::new().with_token("tk"),
            "other.example",
            AuthConfig::bearer("tk"),
        ),
        (
            "username before token",
            base.clone(),
            KeychainOpts::new()
                .with_username("u")
                .with_password("p")
                .with_token("tk"),
            "other.example",
            basic("u", "p"),
        ),
        (
            "anon skips docker config",
            env_h1("IMGPKG_REGISTRY_"),
            KeychainOpts::new().with_anon(true),
            "docker.example",
            anon.clone(),
        ),
        (
            "anon keeps env",
            env_h1("IMGPKG_REGISTRY_"),
            KeychainOpts::new().with_anon(true),
            "h1.example",
            basic("env-user", "env-pass"),
        ),
        (
            "imgpkg's REGISTRY_TOKEN, numbered",
            base.clone()
                .with_var("IMGPKG_REGISTRY_HOSTNAME_0", "h2.example")
                .with_var("IMGPKG_REGISTRY_REGISTRY_TOKEN_0", "rt"),
            KeychainOpts::new().with_username("flag"),
            "h2.example",
            AuthConfig::bearer("rt"),
        ),
        (
            "other prefixes are not read",
            env_h1("OCIREG_REGISTRY_"),
            KeychainOpts::new(),
            "h1.example",
            anon.clone(),
        ),
        (
            "configurable prefix",
            env_h1("KBLD_REGISTRY_"),
            KeychainOpts::new().with_env_prefix("KBLD_REGISTRY_"),
            "h1.example",
            basic("env-user", "env-pass"),
        ),
        (
            "configurable prefix ignores imgpkg's",
            env_h1("IMGPKG_REGISTRY_"),
            KeychainOpts::new().with_env_prefix("KBLD_REGISTRY_"),
            "h1.example",
            anon,
        ),
    ]
}

#[tokio::test]
async fn keychain_precedence_host_specific_before_any_host() {
    let dir = tempfile::tempdir().expect("tempdir");
    docker_config(dir.path(), "docker.example", "docker-user", "docker-pass");
    let base = Environment::empty().with_var("DOCKER_CONFIG", dir.path().display().to_string());
    let rows = precedence_rows(&base);
    for (name, env, opts, host, want) in rows {
        let kc = keychain(&opts, &env).expect(name);
        let got = kc
            .resolve(&Resource::repository(host, "some/app"))
            .await
            .expect(name)
            .authorization()
            .await
            .expect(name);
        assert_eq!(got, want, "{name}");
    }
    // Inconsistent variables fail, naming the variable.
    let bad = base.with_var("IMGPKG_REGISTRY_USERNAME_7", "u");
    assert!(matches!(
        keychain(&KeychainOpts::new(), &bad),
        Err(Error::Keychain { source: ocireg_authn::Error::EnvConfig { var, .. } }) if var == "IMGPKG_REGISTRY_HOSTNAME_7"
    ));
}

#[tokio::test]
async fn imgpkg_registry_variables_authenticate_a_simple_registry() {
    let d = Distribution::builder()
        .htpasswd([("user", "pass")])
        .start()
        .await
        .expect("distribution with htpasswd starts");
    let host = d.host();
    let img = ocireg_v1::random::image(256, 1, 80).expect("image");
    let at = reference(&format!("{host}/env/app:v1"));
    let registry = |env: Environment| {
        SimpleRegistry::builder(
            Opts::new().with_environment(env).with_keychain(
                KeychainOpts::new()
                    .with_username("wrong")
                    .with_password("wrong"),
            ),
        )
        .transport(ocireg_transport::Client::builder().for_tests())
        .build()
        .expect("registry builds")
    };
    // Wrong "any host" flags alone fail...
    let err = registry(Environment::empty())
        .write_image(&at, Arc::clone(&img))
        .await
        .expect_err("wrong credentials");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401), "{err:?}");
    // ...and the host's IMGPKG_REGISTRY_* variables win over them.
    let env = Environment::empty()
        .with_var("IMGPKG_REGISTRY_HOSTNAME", host)
        .with_var("IMGPKG_REGISTRY_USERNAME", "user")
        .with_var("IMGPKG_REGISTRY_PASSWORD", "pass");
    let r = registry(env);
    let digest = r.write_image(&at, Arc::clone(&img)).await.expect("write");
    assert_eq!(r.digest(&at).await.expect("digest"), digest);
}

#[tokio::test]
async fn opts_ca_certs_and_verification_reach_a_tls_registry() {
    let ca = ocireg_testsupport::TestCa::new().expect("ca");
    let d = Distribution::builder()
        .tls(&ca)
        .start()
        .await
        .expect("distribution with TLS starts");
    let host = d.host();
    let img = ocireg_v1::random::image(256, 1, 90).expect("image");
    let registry = |opts: Opts| {
        SimpleRegistry::builder(
            opts.with_environment(Environment::empty())
                .with_keychain(KeychainOpts::new().with_anon(true))
                .with_retry_count(2)
                .with_response_header_timeout(std::time::Duration::from_secs(5)),
        )
        .transport(ocireg_transport::Client::builder().for_tests())
        .build()
        .expect("registry builds")
    };
    let at = reference(&format!("{host}/tls/app:v1"));
    // The test CA is not trusted by default...
    registry(Opts::new())
        .write_image(&at, Arc::clone(&img))
        .await
        .expect_err("an untrusted certificate");
    // ...it is with its file (imgpkg's --registry-ca-cert-path)...
    let trusted = registry(Opts::new().with_ca_cert_path(ca.ca_path()));
    let digest = trusted
        .write_image(&at, Arc::clone(&img))
        .await
        .expect("trusted CA");
    // ...and nothing is checked without verification (--registry-verify-certs=false).
    let unverified = registry(Opts::new().with_verify_certs(false));
    assert_eq!(unverified.digest(&at).await.expect("unverified"), digest);
}

/// A credential helper that fails (printing `message`) until it has been run `failures`
/// times, then answers `helper-user`/`helper-pass`; it counts its runs in `dir/count`.
fn flaky_helper(dir: &std::path::Path, failures: u32, message: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    let script = format!(
        "#!/bin/sh\ncat >/dev/null\nn=$(cat '{dir}/count' 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > '{dir}/count'\nif [ $n -le {failures} ]; then echo '{message}'; exit 1; fi\necho '{{\"ServerURL\":\"flaky.example\",\"Username\":\"helper-user\",\"Secret\":\"helper-pass\"}}'\n",
        dir = dir.display()
    );
    let path = dir.join("docker-credential-flaky");
    std::fs::write(&path, script).expect("helper written");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::write(
        dir.join("config.json"),
        r#"{"credHelpers":{"flaky.example":"flaky"}}"#,
    )
    .expect("config written");
}

fn runs(dir: &std::path::Path) -> u32 {
    std::fs::read_to_string(dir.join("count"))
        .expect("count")
        .trim()
        .parse()
        .expect("a number")
}

#[tokio::test]
async fn a_failing_credential_helper_is_asked_again() {
    let wait = std::time::Duration::from_millis(10);
    let resource = Resource::repository("flaky.example", "app");
    let env = |dir: &std::path::Path| {
        Environment::empty()
            .with_var("DOCKER_CONFIG", dir.display().to_string())
            .with_var("PATH", format!("{}:/usr/bin:/bin", dir.display()))
    };
    // Two failures, five attempts: the third answers.
    let dir = tempfile::tempdir().expect("tempdir");
    flaky_helper(dir.path(), 2, "keychain locked");
    let kc =
        ocireg_client::imgpkg::CustomRegistryKeychain::new(KeychainOpts::new(), env(dir.path()))
            .with_retries(5, wait);
    let auth = kc.resolve(&resource).await.expect("third time");
    assert_eq!(
        auth.authorization().await.expect("config"),
        AuthConfig::basic("helper-user", "helper-pass")
    );
    assert_eq!(runs(dir.path()), 3);
    // Fewer attempts than failures: the helper's error.
    let dir = tempfile::tempdir().expect("tempdir");
    flaky_helper(dir.path(), 2, "keychain locked");
    let kc =
        ocireg_client::imgpkg::CustomRegistryKeychain::new(KeychainOpts::new(), env(dir.path()))
            .with_retries(2, wait);
    let err = kc.resolve(&resource).await.expect_err("still failing");
    assert!(
        matches!(err, ocireg_authn::Error::HelperFailed { .. }),
        "{err:?}"
    );
    assert_eq!(runs(dir.path()), 2);
    // A helper saying its input was incomplete is not asked again.
    let dir = tempfile::tempdir().expect("tempdir");
    flaky_helper(dir.path(), 1, "no credentials username");
    let kc =
        ocireg_client::imgpkg::CustomRegistryKeychain::new(KeychainOpts::new(), env(dir.path()))
            .with_retries(5, wait);
    kc.resolve(&resource).await.expect_err("not retried");
    assert_eq!(runs(dir.path()), 1);
}
