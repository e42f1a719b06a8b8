//! [`SimpleRegistry`], its [`Opts`] and [`SimpleRegistryBuilder`].

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use ocireg_authn::{Environment, Keychain, Resource};
use ocireg_name::{Action, Reference, Repository, Tag};
use ocireg_remote::{Pusher, RawManifest, RemoteDescriptor, Subject, Writable};
use ocireg_transport::{RetryPolicy, Scope, Timeouts};
use ocireg_v1::{Digest, Image, ImageIndex};
use tokio::sync::mpsc;

use crate::error::{Error, Result};
use crate::imgpkg::keychain::{KeychainOpts, SingleAuthKeychain, keychain};
use crate::imgpkg::progress::{Plan, Update, UpdateSink, plan};
use crate::imgpkg::transport::{MultiTransportStorage, RemoteSettings, TransportStorage};
use crate::imgpkg::{ImagesReader, ImagesReaderWriter, Registry};

/// How a [`SimpleRegistry`] reaches registries (imgpkg's `registry.Opts`): TLS, plain http,
/// credentials, timeouts, retries and the environment credentials are read from. Plain
/// data: `Opts::new()` and `with_*` setters.
///
/// ```
/// use ocireg_client::imgpkg::Opts;
///
/// let opts = Opts::new().with_insecure(true).with_retry_count(3);
/// assert!(opts.verify_certs, "certificates are verified unless told otherwise");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Opts {
    /// PEM files of extra trusted CA certificates (imgpkg's `--registry-ca-cert-path`).
    pub ca_cert_paths: Vec<PathBuf>,
    /// Whether TLS certificates are verified (imgpkg's `--registry-verify-certs`); default
    /// true.
    pub verify_certs: bool,
    /// Allow plain http to every registry (imgpkg's `--registry-insecure`; references are
    /// read as insecure, so their scheme is http).
    pub insecure: bool,
    /// Push non-distributable (foreign) layers too
    /// (`--include-non-distributable-layers`).
    pub include_non_distributable_layers: bool,
    /// The "any host" credentials and the prefix of the per-host variables.
    pub keychain: KeychainOpts,
    /// How long to wait for response headers (imgpkg's `--registry-response-header-timeout`);
    /// `None`: the transport's default.
    pub response_header_timeout: Option<Duration>,
    /// How many times a request is tried (imgpkg's `--registry-retry-count`); 0: the
    /// transport's default policy.
    pub retry_count: u32,
    /// The environment credentials and the docker config are read from (imgpkg's
    /// `EnvironFunc`); `None`: the process environment.
    pub environment: Option<Environment>,
}

impl Default for Opts {
    fn default() -> Self {
        Self {
            ca_cert_paths: Vec::new(),
            verify_certs: true,
            insecure: false,
            include_non_distributable_layers: false,
            keychain: KeychainOpts::new(),
            response_header_timeout: None,
            retry_count: 0,
            environment: None,
        }
    }
}

impl Opts {
    /// Verified TLS, no extra CA, credentials from the environment and the docker config.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a CA certificate file.
    #[must_use]
    pub fn with_ca_cert_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_cert_paths.push(path.into());
        self
    }

    /// Sets whether certificates are verified.
    #[must_use]
    pub fn with_verify_certs(mut self, verify: bool) -> Self {
        self.verify_certs = verify;
        self
    }

    /// Sets whether plain http is allowed.
    #[must_use]
    pub fn with_insecure(mut self, insecure: bool) -> Self {
        self.insecure = insecure;
        self
    }

    /// Sets whether non-distributable layers are pushed.
    #[must_use]
    pub fn with_include_non_distributable_layers(mut self, include: bool) -> Self {
        self.include_non_distributable_layers = include;
        self
    }

    /// Sets the "any host" credentials.
    #[must_use]
    pub fn with_keychain(mut self, keychain: KeychainOpts) -> Self {
        self.keychain = keychain;
        self
    }

    /// Sets the response header timeout.
    #[must_use]
    pub fn with_response_header_timeout(mut self, timeout: Duration) -> Self {
        self.response_header_timeout = Some(timeout);
        self
    }

    /// Sets how many times a request is tried.
    #[must_use]
    pub fn with_retry_count(mut self, count: u32) -> Self {
        self.retry_count = count;
        self
    }

    /// Reads credentials through `env` instead of the process environment.
    #[must_use]
    pub fn with_environment(mut self, env: Environment) -> Self {
        self.environment = Some(env);
        self
    }
}

/// Builds a [`SimpleRegistry`]; see [`SimpleRegistry::builder`].
#[must_use]
pub struct SimpleRegistryBuilder {
    opts: Opts,
    transport: Option<ocireg_transport::ClientBuilder>,
    client: Option<ocireg_transport::Client>,
    keychain: Option<Arc<dyn Keychain>>,
    storage: Option<Arc<dyn TransportStorage>>,
    jobs: Option<usize>,
}

impl fmt::Debug for SimpleRegistryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimpleRegistryBuilder")
            .field("opts", &self.opts)
            .field("keychain", &self.keychain)
            .field("storage", &self.storage)
            .finish_non_exhaustive()
    }
}

impl SimpleRegistryBuilder {
    /// The transport options to start from (proxy, headers, user agent...: imgpkg's
    /// `NewSimpleRegistryWithTransport`); the TLS, timeout and retry settings of the
    /// [`Opts`] are applied on top.
    pub fn transport(mut self, transport: ocireg_transport::ClientBuilder) -> Self {
        self.transport = Some(transport);
        self
    }

    /// A ready HTTP client, used as is (the [`Opts`]' TLS, timeout and retry settings are
    /// then not applied).
    pub fn client(mut self, client: ocireg_transport::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Resolves credentials with `keychain` instead of [`keychain`](crate::imgpkg::keychain)
    /// of the [`Opts`].
    pub fn keychain(mut self, keychain: Arc<dyn Keychain>) -> Self {
        self.keychain = Some(keychain);
        self
    }

    /// Keeps transports in `storage` (default: a [`MultiTransportStorage`] on the built
    /// client). Its client and settings are then the registry's.
    pub fn transport_storage(mut self, storage: Arc<dyn TransportStorage>) -> Self {
        self.storage = Some(storage);
        self
    }

    /// Parallel blob transfers per operation (default [`ocireg_remote::DEFAULT_JOBS`]).
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = Some(jobs);
        self
    }

    /// Builds the registry: the HTTP client, the keychain (failing when the environment's
    /// registry variables are inconsistent) and the transport storage.
    pub fn build(self) -> Result<SimpleRegistry> {
        let opts = self.opts;
        let build_err = |source: Box<dyn std::error::Error + Send + Sync>| Error::Build {
            registry: "any registry".to_owned(),
            source,
        };
        let jobs = self.jobs.unwrap_or(ocireg_remote::DEFAULT_JOBS);
        if jobs == 0 {
            return Err(build_err("jobs must be at least 1".into()));
        }
        let storage = if let Some(s) = self.storage {
            s
        } else {
            let client = if let Some(c) = self.client {
                c
            } else {
                http_client(&opts, self.transport.unwrap_or_default())
                    .map_err(|e| build_err(Box::new(e)))?
            };
            let settings = RemoteSettings::new()
                .with_jobs(jobs)
                .with_nondistributable(opts.include_non_distributable_layers);
            Arc::new(MultiTransportStorage::new(client, settings)) as Arc<dyn TransportStorage>
        };
        let keychain = if let Some(k) = self.keychain {
            k
        } else {
            let env = opts
                .environment
                .clone()
                .unwrap_or_else(Environment::from_process);
            keychain(&opts.keychain, &env)?
        };
        Ok(SimpleRegistry {
            inner: Arc::new(Inner {
                keychain,
                storage,
                name_options: ocireg_name::Options::new().insecure(opts.insecure),
                creating: tokio::sync::Mutex::new(()),
            }),
        })
    }
}

/// The HTTP client of `opts`, from `t`: plain http, skipped verification, CA files, the
/// response header timeout and retries (imgpkg's `newHTTPTransport` and retry backoff:
/// 100 ms doubling to 1 s).
fn http_client(
    opts: &Opts,
    mut t: ocireg_transport::ClientBuilder,
) -> ocireg_transport::Result<ocireg_transport::Client> {
    if opts.insecure {
        t = t.plain_http(true);
    }
    if !opts.verify_certs {
        t = t.skip_tls_verify(true);
    }
    for path in &opts.ca_cert_paths {
        t = t.add_ca_file(path.clone());
    }
    if let Some(d) = opts.response_header_timeout {
        t = t.timeouts(Timeouts::default().with_response_headers(d));
    }
    if opts.retry_count > 0 {
        t = t.retry(
            RetryPolicy::default()
                .with_max_attempts(opts.retry_count)
                .with_initial_backoff(Duration::from_millis(100))
                .with_max_backoff(Duration::from_secs(1)),
        );
    }
    t.build()
}

/// The [`Registry`] of imgpkg (`registry.SimpleRegistry`): every operation resolves
/// credentials for its repository from a keychain, keeps one authenticated transport per
/// repository and scope in a [`TransportStorage`], and calls [`ocireg_remote`].
///
/// `Send + Sync`, cheap to clone; clones share the keychain and the transports.
///
/// ```no_run
/// use ocireg_client::imgpkg::{ImagesReader, Opts, Registry, SimpleRegistry};
///
/// # async fn demo() -> Result<(), ocireg_client::Error> {
/// let registry = SimpleRegistry::new(Opts::new())?;
/// let repo = "registry.example/app".parse().expect("valid");
/// let tags = registry.list_tags(&repo).await?;
/// let digest = registry.digest(&format!("registry.example/app:{}", tags[0]).parse().expect("valid")).await?;
/// # let _ = digest; Ok(()) }
/// ```
#[derive(Clone)]
pub struct SimpleRegistry {
    inner: Arc<Inner>,
}

struct Inner {
    keychain: Arc<dyn Keychain>,
    storage: Arc<dyn TransportStorage>,
    name_options: ocireg_name::Options,
    /// One transport creation at a time, so none is made twice (imgpkg's
    /// `transportAccess`).
    creating: tokio::sync::Mutex<()>,
}

impl fmt::Debug for SimpleRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimpleRegistry")
            .field("keychain", &self.inner.keychain)
            .field("storage", &self.inner.storage)
            .field("insecure", &self.inner.name_options.is_insecure())
            .finish()
    }
}

impl SimpleRegistry {
    /// A builder from `opts` (imgpkg's `NewSimpleRegistry`, and with
    /// [`transport`](SimpleRegistryBuilder::transport) its
    /// `NewSimpleRegistryWithTransport`).
    pub fn builder(opts: Opts) -> SimpleRegistryBuilder {
        SimpleRegistryBuilder {
            opts,
            transport: None,
            client: None,
            keychain: None,
            storage: None,
            jobs: None,
        }
    }

    /// A registry from `opts` with the defaults.
    pub fn new(opts: Opts) -> Result<Self> {
        Self::builder(opts).build()
    }

    /// The keychain credentials are resolved with.
    pub fn keychain(&self) -> &Arc<dyn Keychain> {
        &self.inner.keychain
    }

    /// Where the transports are kept.
    pub fn transport_storage(&self) -> &Arc<dyn TransportStorage> {
        &self.inner.storage
    }

    /// `reference` read again with the registry's name options (insecure: scheme http),
    /// after imgpkg's check that it has no protocol prefix.
    fn overridden(&self, reference: &Reference) -> Result<Reference> {
        validate(&reference.to_string())?;
        if !self.inner.name_options.is_insecure() {
            return Ok(reference.clone());
        }
        let text = reference.to_string();
        Reference::with_options(&text, &self.inner.name_options).map_err(|source| {
            Error::InvalidReference {
                reference: text,
                source,
            }
        })
    }

    /// The remote options of the stored transport for `action` on `repository`, made (with
    /// credentials from the keychain) when none is stored.
    async fn options(
        &self,
        repository: &Repository,
        action: Action,
    ) -> Result<ocireg_remote::Options> {
        let storage = &self.inner.storage;
        if let Some(t) = storage.transport(repository, action) {
            return Ok(t.options().clone());
        }
        let _one_at_a_time = self.inner.creating.lock().await;
        if let Some(t) = storage.transport(repository, action) {
            return Ok(t.options().clone());
        }
        let resource = Resource::from(repository);
        let auth = self
            .inner
            .keychain
            .resolve(&resource)
            .await
            .map_err(|source| Error::Credentials {
                resource: resource.to_string(),
                source,
            })?;
        let scope = Scope::repository(repository.repository_str(), action.as_str());
        let t = storage
            .create_transport(repository.registry(), auth, &scope)
            .await?;
        Ok(t.options().clone())
    }

    async fn read(&self, reference: &Reference) -> Result<(Reference, ocireg_remote::Options)> {
        let reference = self.overridden(reference)?;
        let options = self.options(reference.repository(), Action::Pull).await?;
        Ok((reference, options))
    }

    async fn write(&self, reference: &Reference) -> Result<(Reference, ocireg_remote::Options)> {
        let reference = self.overridden(reference)?;
        let options = self
            .options(reference.repository(), Action::PushPull)
            .await?;
        Ok((reference, options))
    }

    /// Pushes every item, `concurrency` at once, reporting to `sink`.
    async fn push_all(
        &self,
        items: Vec<(Reference, Writable)>,
        concurrency: usize,
        sink: Option<Arc<UpdateSink>>,
    ) -> Result<HashMap<Reference, Digest>> {
        // One pusher per repository, on that repository's push transport.
        let mut pushers: HashMap<Repository, Arc<Pusher>> = HashMap::new();
        let mut work = Vec::with_capacity(items.len());
        for (reference, item) in items {
            let repo = reference.repository().clone();
            let pusher = if let Some(p) = pushers.get(&repo) {
                Arc::clone(p)
            } else {
                let mut options = self.options(&repo, Action::PushPull).await?;
                if let Some(s) = &sink {
                    options = options.with_progress(Some(
                        Arc::clone(s) as Arc<dyn ocireg_v1::progress::Progress>
                    ));
                }
                let p = Arc::new(Pusher::new(&options));
                pushers.insert(repo, Arc::clone(&p));
                p
            };
            work.push((reference, item, pusher));
        }
        let mut pushes = futures_util::stream::iter(work)
            .map(|(reference, item, pusher)| async move {
                match pusher.push(&reference, &item).await {
                    Ok(digest) => Ok((reference, digest)),
                    Err(e) => Err(Error::Remote {
                        action: "writing",
                        subject: Subject::from(&reference),
                        source: Box::new(e),
                    }),
                }
            })
            .buffer_unordered(concurrency.max(1));
        let mut out = HashMap::new();
        while let Some(done) = pushes.next().await {
            let (reference, digest) = done?;
            out.insert(reference, digest);
        }
        Ok(out)
    }
}

impl ImagesReader for SimpleRegistry {
    async fn get(&self, reference: &Reference) -> Result<RemoteDescriptor> {
        let (reference, options) = self.read(reference).await?;
        ocireg_remote::get(&reference, &options)
            .await
            .map_err(|e| image_error("getting", &reference, e))
    }

    async fn digest(&self, reference: &Reference) -> Result<Digest> {
        let (reference, options) = self.read(reference).await?;
        match ocireg_remote::head(&reference, &options).await {
            Ok(d) => Ok(d.digest),
            // As imgpkg: any failure of the HEAD is tried again with a GET.
            Err(_) => ocireg_remote::get(&reference, &options)
                .await
                .map(|d| d.digest())
                .map_err(|e| image_error("getting digest of", &reference, e)),
        }
    }

    async fn index(&self, reference: &Reference) -> Result<Arc<dyn ImageIndex>> {
        let (reference, options) = self.read(reference).await?;
        ocireg_remote::index(&reference, &options)
            .await
            .map_err(|e| image_error("getting index", &reference, e))
    }

    async fn image(&self, reference: &Reference) -> Result<Arc<dyn Image>> {
        let (reference, options) = self.read(reference).await?;
        ocireg_remote::image(&reference, &options)
            .await
            .map_err(|e| image_error("getting image", &reference, e))
    }

    async fn first_image_exists(&self, digests: &[String]) -> Result<String> {
        let mut last = None;
        for d in digests {
            let reference = ocireg_name::DigestReference::with_options(d, &self.inner.name_options)
                .map_err(|source| Error::InvalidReference {
                    reference: d.clone(),
                    source,
                })?;
            match self.digest(&Reference::Digest(reference)).await {
                Ok(_) => return Ok(d.clone()),
                Err(e) => last = Some(Box::new(e)),
            }
        }
        Err(Error::NoImageExists {
            count: digests.len(),
            last,
        })
    }
}

impl ImagesReaderWriter for SimpleRegistry {
    async fn multi_write(
        &self,
        items: HashMap<Reference, Writable>,
        concurrency: usize,
        updates: Option<mpsc::Sender<Update>>,
    ) -> Result<HashMap<Reference, Digest>> {
        let mut list = Vec::with_capacity(items.len());
        for (reference, item) in items {
            list.push((self.overridden(&reference)?, item));
        }
        let Some(updates) = updates else {
            return self.push_all(list, concurrency, None).await;
        };
        let nondistributable = self.inner.storage.settings().nondistributable;
        let mut planned = Plan::default();
        for (_, item) in &list {
            plan(item, nondistributable, &mut planned).await?;
        }
        let (sink, mut watch) = UpdateSink::new(planned);
        let mut push = pin!(self.push_all(list, concurrency, Some(Arc::clone(&sink))));
        let mut forwarding = true;
        let mut last_sent = None;
        // Updates are forwarded while the push runs; a full channel holds the push back
        // (as ggcr's unbuffered channel does), a closed one is ignored.
        let result = loop {
            tokio::select! {
                result = &mut push => break result,
                changed = watch.changed(), if forwarding => {
                    if changed.is_err() {
                        forwarding = false;
                        continue;
                    }
                    let update = *watch.borrow_and_update();
                    if updates.send(update).await.is_err() {
                        forwarding = false;
                    }
                    last_sent = Some(update);
                }
            }
        };
        let pushed = result?;
        let last = sink.current();
        if forwarding && last_sent != Some(last) {
            // The receiver may be gone; the write succeeded either way.
            let _ = updates.send(last).await;
        }
        Ok(pushed)
    }

    async fn write_image(&self, reference: &Reference, image: Arc<dyn Image>) -> Result<Digest> {
        let (reference, options) = self.write(reference).await?;
        ocireg_remote::write_image(&reference, image, &options)
            .await
            .map_err(|e| Error::Remote {
                action: "writing image",
                subject: Subject::from(&reference),
                source: Box::new(e),
            })
    }

    async fn write_index(
        &self,
        reference: &Reference,
        index: Arc<dyn ImageIndex>,
    ) -> Result<Digest> {
        let (reference, options) = self.write(reference).await?;
        ocireg_remote::write_index(&reference, index, &options)
            .await
            .map_err(|e| Error::Remote {
                action: "writing image index",
                subject: Subject::from(&reference),
                source: Box::new(e),
            })
    }

    async fn write_tag(&self, tag: &Tag, manifest: &RawManifest) -> Result<()> {
        validate(&tag.to_string())?;
        let tag = if self.inner.name_options.is_insecure() {
            let text = tag.to_string();
            Tag::with_options(&text, &self.inner.name_options).map_err(|source| {
                Error::InvalidReference {
                    reference: text,
                    source,
                }
            })?
        } else {
            tag.clone()
        };
        let options = self.options(tag.repository(), Action::PushPull).await?;
        ocireg_remote::tag(&tag, manifest, &options)
            .await
            .map(drop)
            .map_err(|e| Error::Remote {
                action: "tagging image",
                subject: Subject::from(tag),
                source: Box::new(e),
            })
    }

    async fn clone_with_single_auth(&self, image: &Tag) -> Result<Self> {
        let repository = image.repository();
        let resource = Resource::from(image);
        let auth = self
            .inner
            .keychain
            .resolve(&resource)
            .await
            .map_err(|source| Error::Credentials {
                resource: resource.to_string(),
                source,
            })?;
        let old = &self.inner.storage;
        let storage = MultiTransportStorage::new(old.base_client().clone(), old.settings());
        // Keep the transports already made for this image's repository.
        for action in [Action::Pull, Action::PushPull] {
            if let Some(t) = old.transport(repository, action)
                && t.repository() == repository
                && t.actions() == action.as_str()
            {
                storage.insert(t);
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                keychain: Arc::new(SingleAuthKeychain::new(auth, repository.clone())),
                storage: Arc::new(storage),
                name_options: self.inner.name_options.clone(),
                creating: tokio::sync::Mutex::new(()),
            }),
        })
    }
}

impl Registry for SimpleRegistry {
    async fn list_tags(&self, repository: &Repository) -> Result<Vec<String>> {
        let repository = if self.inner.name_options.is_insecure() {
            Repository::with_options(repository.name(), &self.inner.name_options).map_err(
                |source| Error::InvalidReference {
                    reference: repository.name().to_owned(),
                    source,
                },
            )?
        } else {
            repository.clone()
        };
        let options = self.options(&repository, Action::Pull).await?;
        ocireg_remote::list_tags(&repository, &options)
            .await
            .map_err(|e| Error::Remote {
                action: "listing tags of",
                subject: Subject::from(&repository),
                source: Box::new(e),
            })
    }
}

/// imgpkg's `validateRef`: a reference must not start with `http://` or `https://`.
fn validate(reference: &str) -> Result<()> {
    for prefix in ["http://", "https://"] {
        if reference.starts_with(prefix) {
            return Err(Error::ProtocolPrefix {
                reference: reference.to_owned(),
                prefix,
            });
        }
    }
    Ok(())
}

/// A failure about an image: "not found" becomes [`Error::ImageNotFound`].
fn image_error(action: &'static str, reference: &Reference, source: ocireg_remote::Error) -> Error {
    if source.is_not_found() {
        Error::ImageNotFound {
            reference: Box::new(reference.clone()),
            source: Box::new(source),
        }
    } else {
        Error::Remote {
            action,
            subject: Subject::from(reference),
            source: Box::new(source),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_send_sync_and_clones_share_state() {
        fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
        assert_send_sync::<SimpleRegistry>();
        let r = SimpleRegistry::builder(Opts::new().with_environment(Environment::empty()))
            .build()
            .expect("builds");
        let c = r.clone();
        assert!(Arc::ptr_eq(&r.inner, &c.inner));
    }

    #[test]
    fn insecure_reads_references_as_http() {
        let r = SimpleRegistry::builder(
            Opts::new()
                .with_insecure(true)
                .with_environment(Environment::empty()),
        )
        .build()
        .expect("builds");
        let reference: Reference = "registry.example/app:v1".parse().expect("valid");
        assert_eq!(reference.registry().scheme(), "https");
        assert_eq!(
            r.overridden(&reference).expect("valid").registry().scheme(),
            "http"
        );
    }

    #[test]
    fn references_with_a_protocol_prefix_are_refused() {
        assert!(validate("registry.example/app:v1").is_ok());
        for bad in [
            "https://registry.example/app:v1",
            "http://registry.example/app:v1",
        ] {
            assert!(
                matches!(validate(bad), Err(Error::ProtocolPrefix { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn inconsistent_environment_fails_to_build() {
        let env = Environment::empty().with_var("IMGPKG_REGISTRY_PASSWORD", "pw-canary");
        let err = SimpleRegistry::new(Opts::new().with_environment(env)).expect_err("invalid");
        assert!(matches!(err, Error::Keychain { .. }), "{err:?}");
        assert!(!format!("{err:?}").contains("canary"));
    }
}
