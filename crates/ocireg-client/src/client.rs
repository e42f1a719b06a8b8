//! [`Client`] and [`ClientBuilder`].

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ocireg_authn::{Anonymous, Authenticator, Keychain};
use ocireg_name::{Digest, Reference, Registry, Repository};
use ocireg_remote::Subject;
use ocireg_transport::Timeouts;
use ocireg_v1::{ConfigFile, Image};
use tracing::Instrument;

use crate::error::{Error, Result};
use crate::image::ClientImage;
use crate::manifest::ManifestResult;
use crate::options::{ImageGetOptions, ListOptions};

/// A client for one registry, scoped to a repository path built with
/// [`with_segment`](Self::with_segment) (the Deckhouse `registry.Client`).
///
/// Cloning is cheap (an `Arc` and the path) and clones share one HTTP connection pool and
/// one [`ocireg_remote::Session`] (cached tokens, the `jobs` limit). A `Client` is
/// `Send + Sync`: share it across tasks freely.
///
/// Every method that takes a `tag` also takes a digest written `@sha256:<hex>` (or
/// `sha256:<hex>`).
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    /// The repository path, segments joined with `/`; empty for a bare registry.
    path: Arc<str>,
}

struct Shared {
    registry: Registry,
    options: ocireg_remote::Options,
    logger: tracing::Span,
    timeout: Option<Duration>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("registry", &self.registry())
            .field("timeout", &self.shared.timeout)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Client`]; see [`Client::builder`].
#[must_use]
pub struct ClientBuilder {
    registry: String,
    auth: Option<Arc<dyn Authenticator>>,
    keychain: Option<Arc<dyn Keychain>>,
    plain_http: bool,
    skip_tls_verify: bool,
    timeouts: Option<Timeouts>,
    transport: Option<ocireg_transport::ClientBuilder>,
    logger: Option<tracing::Span>,
    timeout: Option<Duration>,
    jobs: Option<usize>,
    page_size: Option<usize>,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("registry", &self.registry)
            .field("plain_http", &self.plain_http)
            .field("skip_tls_verify", &self.skip_tls_verify)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Authenticates with `auth` on this registry (the Deckhouse `Options.Auth`;
    /// `ocireg_authn::Basic`, `Bearer` or an `AuthConfig`). Default: anonymous.
    pub fn auth(mut self, auth: Arc<dyn Authenticator>) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Resolves credentials through a keychain instead (docker's `config.json`, helpers).
    /// Setting both this and [`auth`](Self::auth) fails [`build`](Self::build).
    pub fn keychain(mut self, keychain: Arc<dyn Keychain>) -> Self {
        self.keychain = Some(keychain);
        self
    }

    /// Talks plain http to the registry (the Deckhouse `Options.Insecure`).
    pub fn plain_http(mut self, plain_http: bool) -> Self {
        self.plain_http = plain_http;
        self
    }

    /// Accepts any TLS certificate (the Deckhouse `Options.TLSSkipVerify`; for tests only).
    pub fn skip_tls_verify(mut self, skip: bool) -> Self {
        self.skip_tls_verify = skip;
        self
    }

    /// Per-request limits: connect, TLS handshake, response headers, idle reads
    /// (`Timeouts::default().with_connect(..)`).
    pub fn timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = Some(timeouts);
        self
    }

    /// A deadline for each whole operation (Go's `context.WithTimeout`); past it the
    /// operation fails with [`Error::TimedOut`]. Dropping an operation's future cancels
    /// it at any time. Default: none (each request still has its [`Timeouts`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The transport options to start from (proxy, CA files, retry policy, headers, user
    /// agent...: the Deckhouse "custom transport options"). `plain_http`,
    /// `skip_tls_verify` and `timeouts` set here are applied on top.
    pub fn transport(mut self, transport: ocireg_transport::ClientBuilder) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The logger: every operation runs in a `registry` debug span whose parent is
    /// `span` (the Deckhouse `Options.Logger`, `log.NewLogger().Named("registry")`), and
    /// logs its outcome at debug level through `tracing`. Default: the current span when
    /// each operation starts.
    pub fn logger(mut self, span: tracing::Span) -> Self {
        self.logger = Some(span);
        self
    }

    /// Parallel blob transfers per push or pull (default
    /// [`ocireg_remote::DEFAULT_JOBS`]).
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = Some(jobs);
        self
    }

    /// The page size asked for when walking a whole listing (default
    /// [`ocireg_remote::DEFAULT_PAGE_SIZE`]).
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = Some(n);
        self
    }

    /// Builds the client. The registry given to [`Client::builder`] may carry a path
    /// (`host/org/project`), which becomes the first segment.
    pub fn build(self) -> Result<Client> {
        let (host, path) = match self.registry.split_once('/') {
            Some((host, path)) => (host, path),
            None => (self.registry.as_str(), ""),
        };
        let name_options = ocireg_name::Options::new().insecure(self.plain_http);
        let registry = Registry::with_options(host, &name_options).map_err(|source| {
            Error::InvalidRegistry {
                registry: self.registry.clone(),
                source,
            }
        })?;
        let build_err = |source: Box<dyn std::error::Error + Send + Sync>| Error::Build {
            registry: registry.to_string(),
            source,
        };
        let mut transport = self.transport.unwrap_or_default();
        if self.plain_http {
            transport = transport.plain_http(true);
        }
        if self.skip_tls_verify {
            transport = transport.skip_tls_verify(true);
        }
        if let Some(timeouts) = self.timeouts {
            transport = transport.timeouts(timeouts);
        }
        let http = transport.build().map_err(|e| build_err(Box::new(e)))?;
        let mut options = ocireg_remote::Options::builder().client(http);
        match (self.auth, self.keychain) {
            (Some(auth), None) => options = options.auth(auth),
            (None, Some(keychain)) => options = options.keychain(keychain),
            (Some(auth), Some(keychain)) => options = options.auth(auth).keychain(keychain),
            (None, None) => options = options.auth(Arc::new(Anonymous)),
        }
        if let Some(jobs) = self.jobs {
            options = options.jobs(jobs);
        }
        if let Some(n) = self.page_size {
            options = options.page_size(n);
        }
        let options = options.build().map_err(|e| build_err(Box::new(e)))?;
        let base = Client {
            shared: Arc::new(Shared {
                registry,
                options,
                logger: self.logger.unwrap_or_else(tracing::Span::current),
                timeout: self.timeout,
            }),
            path: Arc::from(""),
        };
        Ok(if path.is_empty() {
            base
        } else {
            base.with_segment(path)
        })
    }
}

impl Client {
    /// A builder for a client of `registry` (`host[:port]`, optionally followed by a
    /// path: the Deckhouse `NewClientWithOptions`).
    pub fn builder(registry: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            registry: registry.into(),
            auth: None,
            keychain: None,
            plain_http: false,
            skip_tls_verify: false,
            timeouts: None,
            transport: None,
            logger: None,
            timeout: None,
            jobs: None,
            page_size: None,
        }
    }

    /// A new client, sharing this one's connections and settings, whose path has
    /// `segment` appended (the Deckhouse `WithSegment`). The client itself is unchanged.
    ///
    /// A segment is kept as given, so `"a/b"` adds two path components in one segment
    /// (the document's "treated as single segment"); leading and trailing `/` are trimmed
    /// and an empty segment adds nothing. The path is checked against the repository
    /// grammar when an operation uses it ([`Error::InvalidPath`]).
    #[must_use]
    pub fn with_segment(&self, segment: impl AsRef<str>) -> Self {
        self.with_segments([segment])
    }

    /// [`with_segment`](Self::with_segment) for several segments at once (the Deckhouse
    /// `WithSegment("org", "project", "component")`).
    #[must_use]
    pub fn with_segments<I, S>(&self, segments: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut path = self.path.to_string();
        for segment in segments {
            let segment = segment.as_ref().trim_matches('/');
            if segment.is_empty() {
                continue;
            }
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(segment);
        }
        Self {
            shared: Arc::clone(&self.shared),
            path: Arc::from(path),
        }
    }

    /// The registry and path, `host/org/project` (the Deckhouse `GetRegistry`).
    pub fn registry(&self) -> String {
        if self.path.is_empty() {
            self.shared.registry.to_string()
        } else {
            format!("{}/{}", self.shared.registry, self.path)
        }
    }

    /// The registry alone.
    pub fn registry_name(&self) -> &Registry {
        &self.shared.registry
    }

    /// The path built by the segments (empty for a bare registry).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The repository this client is scoped to.
    pub fn repository(&self) -> Result<Repository> {
        self.repository_for("naming the repository")
    }

    /// The remote options this client uses (to call `ocireg_remote` directly).
    pub fn remote_options(&self) -> &ocireg_remote::Options {
        &self.shared.options
    }

    /// The reference of `tag` (a tag, `@sha256:<hex>` or `sha256:<hex>`) in this
    /// client's repository.
    pub fn reference(&self, tag: &str) -> Result<Reference> {
        let repo = self.repository_for("naming an image")?;
        let invalid = |source| Error::InvalidTag {
            repository: repo.to_string(),
            tag: tag.to_owned(),
            source,
        };
        let digest = tag
            .strip_prefix('@')
            .or_else(|| tag.contains(':').then_some(tag));
        match digest {
            Some(d) => {
                let digest: Digest = d.parse().map_err(invalid)?;
                Ok(repo.digest(digest).into())
            }
            None => Ok(repo.tag(tag).map_err(invalid)?.into()),
        }
    }

    fn repository_for(&self, action: &'static str) -> Result<Repository> {
        if self.path.is_empty() {
            return Err(Error::NoRepository {
                action,
                registry: self.shared.registry.to_string(),
            });
        }
        self.shared
            .registry
            .repository(&self.path)
            .map_err(|source| Error::InvalidPath {
                registry: self.shared.registry.to_string(),
                path: self.path.to_string(),
                source,
            })
    }

    /// Runs `fut` in the logger's span, under the client's deadline.
    async fn run<T, F>(&self, action: &'static str, subject: Subject, fut: F) -> Result<T>
    where
        F: Future<Output = Result<T>>,
    {
        let span = tracing::debug_span!(
            parent: &self.shared.logger,
            "registry",
            action,
            subject = %subject
        );
        let fut = fut.instrument(span.clone());
        let out = match self.shared.timeout {
            Some(after) => tokio::time::timeout(after, fut)
                .await
                .map_err(|_| Error::TimedOut {
                    action,
                    subject,
                    after,
                })
                .and_then(|r| r),
            None => fut.await,
        };
        span.in_scope(|| match &out {
            Ok(_) => tracing::debug!("done"),
            Err(e) => tracing::debug!(error = %e, "failed"),
        });
        out
    }

    /// The digest of the manifest at `tag`, from a `HEAD` (the Deckhouse `GetDigest`).
    /// A missing image is [`Error::ImageNotFound`].
    pub async fn get_digest(&self, tag: &str) -> Result<Digest> {
        const ACTION: &str = "getting digest of";
        let reference = self.reference(tag)?;
        self.run(
            ACTION,
            Subject::from(&reference),
            Box::pin(async {
                ocireg_remote::head(&reference, &self.shared.options)
                    .await
                    .map(|d| d.digest)
                    .map_err(|e| image_error(ACTION, &reference, e))
            }),
        )
        .await
    }

    /// The manifest at `tag`, image or index, with its descriptor and exact bytes (the
    /// Deckhouse `GetManifest`).
    pub async fn get_manifest(&self, tag: &str) -> Result<ManifestResult> {
        const ACTION: &str = "getting manifest of";
        let reference = self.reference(tag)?;
        self.run(
            ACTION,
            Subject::from(&reference),
            Box::pin(async {
                let got = ocireg_remote::get(&reference, &self.shared.options)
                    .await
                    .map_err(|e| image_error(ACTION, &reference, e))?;
                Ok(ManifestResult::new(&got))
            }),
        )
        .await
    }

    /// The config file of the image at `tag` (for an index, of its child for the host's
    /// platform): labels, architecture, OS, created time (the Deckhouse `GetImageConfig`).
    pub async fn get_image_config(&self, tag: &str) -> Result<ConfigFile> {
        const ACTION: &str = "getting image config of";
        let reference = self.reference(tag)?;
        self.run(
            ACTION,
            Subject::from(&reference),
            Box::pin(async {
                let img = ocireg_remote::image(&reference, &self.shared.options)
                    .await
                    .map_err(|e| image_error(ACTION, &reference, e))?;
                img.config_file().await.map_err(|source| Error::Image {
                    action: "reading config of",
                    reference: Box::new(reference.clone()),
                    source,
                })
            }),
        )
        .await
    }

    /// `Ok(())` when a manifest exists at `tag`, [`Error::ImageNotFound`] when the registry
    /// says it does not, another error when asking failed (the Deckhouse
    /// `CheckImageExists`).
    pub async fn check_image_exists(&self, tag: &str) -> Result<()> {
        self.get_digest(tag).await.map(|_| ())
    }

    /// Whether a manifest exists at `tag`: [`check_image_exists`](Self::check_image_exists)
    /// as a `bool`.
    pub async fn image_exists(&self, tag: &str) -> Result<bool> {
        match self.check_image_exists(tag).await {
            Ok(()) => Ok(true),
            Err(e) if e.is_image_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The image at `tag` (the Deckhouse `GetImage`): for an index, its child for
    /// `options.platform`, or the host's platform when none is given. The image is lazy:
    /// its layers are fetched (and verified) when read; [`ClientImage::extract`] streams
    /// the flattened filesystem.
    pub async fn get_image(&self, tag: &str, options: ImageGetOptions) -> Result<ClientImage> {
        const ACTION: &str = "getting image";
        let reference = self.reference(tag)?;
        self.run(
            ACTION,
            Subject::from(&reference),
            Box::pin(async {
                let remote = match options.platform {
                    Some(p) => self.shared.options.with_platform(p),
                    None => self.shared.options.clone(),
                };
                let image = ocireg_remote::image(&reference, &remote)
                    .await
                    .map_err(|e| image_error(ACTION, &reference, e))?;
                Ok(ClientImage::new(reference.clone(), image))
            }),
        )
        .await
    }

    /// Pushes `image` to `tag` (the Deckhouse `PushImage`): its blobs that the repository
    /// lacks, then its manifest. Returns the manifest's digest. With a digest reference,
    /// the manifest is pushed by digest (which must be the image's).
    pub async fn push_image(&self, tag: &str, image: Arc<dyn Image>) -> Result<Digest> {
        const ACTION: &str = "pushing image to";
        let reference = self.reference(tag)?;
        self.run(
            ACTION,
            Subject::from(&reference),
            Box::pin(async {
                ocireg_remote::write_image(&reference, image, &self.shared.options)
                    .await
                    .map_err(|e| remote_error(ACTION, Subject::from(&reference), e))
            }),
        )
        .await
    }

    /// Tags of this client's repository (the Deckhouse `ListTags`).
    ///
    /// Without a limit, every tag (walking `Link` pages). With
    /// [`ListOptions::limit`] and [`ListOptions::last`], one page: at most `limit` tags
    /// after `last`, asked of the registry (`?n=&last=`). A registry that ignores them
    /// (distribution before v3 does for tags) gets them applied here, in lexical order, so
    /// the result is the same.
    pub async fn list_tags(&self, options: ListOptions) -> Result<Vec<String>> {
        const ACTION: &str = "listing tags of";
        let repo = self.repository_for(ACTION)?;
        self.run(
            ACTION,
            Subject::from(&repo),
            Box::pin(async {
                let err = |e| remote_error(ACTION, Subject::from(&repo), e);
                let items = if options.limit == 0 {
                    ocireg_remote::list_tags(&repo, &self.shared.options)
                        .await
                        .map_err(err)?
                } else {
                    ocireg_remote::list_tags_page(
                        &repo,
                        &self.shared.options,
                        options.limit,
                        options.last.as_deref(),
                    )
                    .await
                    .map_err(err)?
                    .items
                };
                Ok(apply_page(items, &options))
            }),
        )
        .await
    }

    /// Repositories under this client's path, named relative to it (the Deckhouse
    /// `ListRepositories`): on a bare registry the whole catalog; on `host/org`, the
    /// repositories `org/...` as `...`, so that `client.with_segment(name)` reaches each.
    ///
    /// The catalog is read from the registry in pages (`?n=&last=`), starting just before
    /// the path and stopping once names leave it, so a scoped listing does not read the
    /// whole catalog. With [`ListOptions::limit`], at most that many names after
    /// [`ListOptions::last`] (relative to the path too).
    pub async fn list_repositories(&self, options: ListOptions) -> Result<Vec<String>> {
        const ACTION: &str = "listing repositories of";
        let registry = self.shared.registry.clone();
        let subject = if self.path.is_empty() {
            Subject::from(&registry)
        } else {
            Subject::Other(self.registry())
        };
        self.run(
            ACTION,
            subject.clone(),
            Box::pin(async {
                let err = |e| remote_error(ACTION, subject.clone(), e);
                let opts = &self.shared.options;
                if self.path.is_empty() {
                    let items = if options.limit == 0 {
                        ocireg_remote::catalog(&registry, opts).await.map_err(err)?
                    } else {
                        ocireg_remote::catalog_page(
                            &registry,
                            opts,
                            options.limit,
                            options.last.as_deref(),
                        )
                        .await
                        .map_err(err)?
                        .items
                    };
                    // In the registry's order: distribution orders path by path ("a/x"
                    // before "a-b"), so a byte-wise check of `last` would be wrong here.
                    return Ok(items);
                }
                let prefix = format!("{}/", self.path);
                let page_size = if options.limit == 0 {
                    opts.page_size()
                } else {
                    options.limit
                };
                // "org" sorts just before every "org/..." name.
                let mut cursor = match &options.last {
                    Some(last) => format!("{prefix}{last}"),
                    None => self.path.to_string(),
                };
                let mut out = Vec::new();
                let mut in_scope = false;
                for _ in 0..opts.max_list_pages() {
                    let page =
                        ocireg_remote::catalog_page(&registry, opts, page_size, Some(&cursor))
                            .await
                            .map_err(err)?;
                    // The names under the path are contiguous whether the registry orders
                    // byte by byte ("a-b" < "a/x") or path by path ("a/x" < "a-b", as
                    // distribution does): a name outside it after one inside, or past the
                    // whole range byte-wise, ends the scope.
                    let mut past = false;
                    for name in &page.items {
                        if let Some(rest) = name.strip_prefix(&prefix) {
                            in_scope = true;
                            if !rest.is_empty() && options.last.as_deref().is_none_or(|l| rest > l)
                            {
                                out.push(rest.to_owned());
                            }
                        } else if in_scope || name.as_str() > prefix.as_str() {
                            past = true;
                            break;
                        }
                    }
                    let full = options.limit > 0 && out.len() >= options.limit;
                    match page.items.last() {
                        Some(last) if !past && !full && page.next.is_some() && *last != cursor => {
                            cursor.clone_from(last);
                        }
                        _ => break,
                    }
                    if out.len() > opts.max_list_entries() {
                        break;
                    }
                }
                if options.limit > 0 {
                    out.truncate(options.limit);
                }
                Ok(out)
            }),
        )
        .await
    }
}

/// `limit` and `last` applied to what a registry sent, when it did not apply them itself.
fn apply_page(mut items: Vec<String>, options: &ListOptions) -> Vec<String> {
    let last = options.last.as_deref();
    let ignored_last = last.is_some_and(|l| items.iter().any(|t| t.as_str() <= l));
    let ignored_limit = options.limit > 0 && items.len() > options.limit;
    if ignored_last || ignored_limit {
        items.sort();
        if let Some(l) = last {
            items.retain(|t| t.as_str() > l);
        }
        if options.limit > 0 {
            items.truncate(options.limit);
        }
    }
    items
}

fn remote_error(action: &'static str, subject: Subject, source: ocireg_remote::Error) -> Error {
    Error::Remote {
        action,
        subject,
        source: Box::new(source),
    }
}

/// A failure about an image: "not found" becomes [`Error::ImageNotFound`].
fn image_error(action: &'static str, reference: &Reference, source: ocireg_remote::Error) -> Error {
    if source.is_not_found() {
        Error::ImageNotFound {
            reference: Box::new(reference.clone()),
            source: Box::new(source),
        }
    } else {
        remote_error(action, Subject::from(reference), source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        Client::builder("registry.example.com")
            .build()
            .expect("client builds")
    }

    #[test]
    fn client_is_send_sync_and_cheap_to_clone() {
        fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
        assert_send_sync::<Client>();
        let c = client();
        let d = c.clone();
        assert!(Arc::ptr_eq(&c.shared, &d.shared));
    }

    #[test]
    fn segments_build_paths_and_each_call_is_a_new_client() {
        let base = client();
        assert_eq!(base.registry(), "registry.example.com");
        let org = base.with_segment("myorg");
        assert_eq!(org.registry(), "registry.example.com/myorg");
        let project = org.with_segment("myproject");
        assert_eq!(project.registry(), "registry.example.com/myorg/myproject");
        let component = project.with_segment("mycomponent");
        assert_eq!(
            component.registry(),
            "registry.example.com/myorg/myproject/mycomponent"
        );
        // The earlier clients are unchanged.
        assert_eq!(org.registry(), "registry.example.com/myorg");
        assert_eq!(base.path(), "");
        let many = base.with_segments(["myorg", "myproject", "mycomponent"]);
        assert_eq!(many.registry(), component.registry());
        // "a/b" as one segment is kept as written.
        let single = base.with_segment("myorg/project");
        assert_eq!(single.registry(), "registry.example.com/myorg/project");
        assert_eq!(single.path(), "myorg/project");
        // Empty segments and stray slashes add nothing.
        assert_eq!(base.with_segments(["", "/x/", ""]).path(), "x");
        // A registry with a path starts with it.
        let with_path = Client::builder("registry.example.com/a/b")
            .build()
            .expect("builds");
        assert_eq!(with_path.registry(), "registry.example.com/a/b");
    }

    #[test]
    fn tags_and_digests_name_images() {
        let c = client().with_segment("app");
        assert_eq!(
            c.reference("v1.0.0").expect("tag").to_string(),
            "registry.example.com/app:v1.0.0"
        );
        let hex = "a".repeat(64);
        let at = c.reference(&format!("@sha256:{hex}")).expect("digest");
        assert_eq!(
            at.to_string(),
            format!("registry.example.com/app@sha256:{hex}")
        );
        let bare = c.reference(&format!("sha256:{hex}")).expect("digest");
        assert_eq!(bare, at);
        assert!(matches!(
            c.reference("@sha256:short"),
            Err(Error::InvalidTag { .. })
        ));
        assert!(matches!(
            c.reference("bad tag"),
            Err(Error::InvalidTag { .. })
        ));
        assert!(matches!(
            client().reference("v1"),
            Err(Error::NoRepository { .. })
        ));
        assert!(matches!(
            client().with_segment("UPPER").reference("v1"),
            Err(Error::InvalidPath { .. })
        ));
    }

    #[test]
    fn bad_registry_and_conflicting_credentials_fail_to_build() {
        assert!(matches!(
            Client::builder("bad host!").build(),
            Err(Error::InvalidRegistry { .. })
        ));
        let both = Client::builder("r.example")
            .auth(Arc::new(Anonymous))
            .keychain(Arc::new(ocireg_authn::StaticKeychain::new(Arc::new(
                Anonymous,
            ))))
            .build();
        assert!(matches!(both, Err(Error::Build { .. })));
    }

    #[test]
    fn pages_are_applied_when_the_registry_ignores_them() {
        let items: Vec<String> = ["c", "a", "d", "b"].map(String::from).to_vec();
        let page = apply_page(
            items.clone(),
            &ListOptions::new().with_limit(2).with_last("a"),
        );
        assert_eq!(page, ["b", "c"]);
        assert_eq!(apply_page(items.clone(), &ListOptions::new()), items);
        let sorted: Vec<String> = ["x", "y"].map(String::from).to_vec();
        assert_eq!(
            apply_page(
                sorted.clone(),
                &ListOptions::new().with_limit(2).with_last("w")
            ),
            sorted
        );
    }
}
