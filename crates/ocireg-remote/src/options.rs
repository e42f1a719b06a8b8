//! [`Options`]: how to reach registries and how much to do at once (ggcr's `remote.Option`s).

use std::fmt;
use std::sync::Arc;

use ocireg_authn::{Authenticator, DefaultKeychain, Keychain};
use ocireg_transport::Client;
use ocireg_v1::Platform;

use crate::error::{Error, Result, Subject};
use crate::progress::Progress;
use crate::session::{AuthSource, Session};

/// The default number of parallel blob transfers (ggcr's default `jobs`).
pub const DEFAULT_JOBS: usize = 4;

/// The default `n` of tag and catalog pages: 1000, ECR's maximum (ggcr #1091).
pub const DEFAULT_PAGE_SIZE: usize = 1000;
/// The most pages a tag or catalog walk fetches before it fails (10,000), so a registry
/// whose `Link` chain never ends cannot keep a walk going.
pub const DEFAULT_MAX_LIST_PAGES: usize = 10_000;
/// The most entries a tag or catalog walk collects before it fails (1,000,000), so a
/// registry cannot grow a listing without bound.
pub const DEFAULT_MAX_LIST_ENTRIES: usize = 1_000_000;

/// Options shared by every operation: the HTTP client, credentials, the platform to pick
/// from indexes, parallelism, page size, referrers fallback, and a progress sink.
///
/// Build one with [`Options::builder`]. Cloning is cheap and the clones share one
/// [`Session`]: authenticated transports are reused across operations and the `jobs` limit
/// holds across all of them (ggcr needs `remote.Reuse` for that).
///
/// ```
/// use std::sync::Arc;
/// use ocireg_remote::Options;
///
/// let opts = Options::builder()
///     .auth(Arc::new(ocireg_authn::Anonymous))
///     .platform("linux/arm64".parse()?)
///     .jobs(8)
///     .build()?;
/// assert_eq!(opts.jobs(), 8);
/// assert_eq!(opts.platform().to_string(), "linux/arm64");
///
/// // An authenticator and a keychain at once is a mistake, as in ggcr.
/// let both = Options::builder()
///     .auth(Arc::new(ocireg_authn::Anonymous))
///     .keychain(Arc::new(ocireg_authn::StaticKeychain::new(Arc::new(ocireg_authn::Anonymous))))
///     .build();
/// assert!(both.is_err());
/// Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Options {
    inner: Arc<Inner>,
}

struct Inner {
    platform: Option<Platform>,
    jobs: usize,
    page_size: usize,
    max_list_pages: usize,
    max_list_entries: usize,
    referrers_tag_fallback: bool,
    nondistributable: bool,
    chunk_size: Option<u64>,
    progress: Option<Arc<dyn Progress>>,
    session: Arc<Session>,
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("platform", &self.inner.platform)
            .field("jobs", &self.inner.jobs)
            .field("page_size", &self.inner.page_size)
            .field("max_list_pages", &self.inner.max_list_pages)
            .field("max_list_entries", &self.inner.max_list_entries)
            .field("referrers_tag_fallback", &self.inner.referrers_tag_fallback)
            .field("nondistributable", &self.inner.nondistributable)
            .field("chunk_size", &self.inner.chunk_size)
            .field("progress", &self.inner.progress.is_some())
            .field("session", &self.inner.session)
            .finish()
    }
}

impl Options {
    /// A builder with the defaults.
    pub fn builder() -> OptionsBuilder {
        OptionsBuilder::default()
    }

    /// The defaults: a fresh [`Client`], the [`DefaultKeychain`], the host platform, 4 jobs.
    pub fn new() -> Result<Self> {
        Self::builder().build()
    }

    /// The platform to pick from an index: the one set, else the host's
    /// ([`Platform::host`]).
    pub fn platform(&self) -> Platform {
        self.inner.platform.clone().unwrap_or_else(Platform::host)
    }

    /// The platform as set (`None`: the host's).
    pub fn platform_setting(&self) -> Option<&Platform> {
        self.inner.platform.as_ref()
    }

    /// How many blob transfers (and images of a multi-write) run at once.
    pub fn jobs(&self) -> usize {
        self.inner.jobs
    }

    /// The `n` sent with tag and catalog listings (0: none is sent).
    pub fn page_size(&self) -> usize {
        self.inner.page_size
    }

    /// The most pages a full tag or catalog walk fetches
    /// ([`DEFAULT_MAX_LIST_PAGES`] unless set).
    pub fn max_list_pages(&self) -> usize {
        self.inner.max_list_pages
    }

    /// The most entries a full tag or catalog walk collects
    /// ([`DEFAULT_MAX_LIST_ENTRIES`] unless set).
    pub fn max_list_entries(&self) -> usize {
        self.inner.max_list_entries
    }

    /// Whether referrers fall back to the `sha256-<hex>` tag when the registry has no
    /// referrers API (read and write).
    pub fn referrers_tag_fallback(&self) -> bool {
        self.inner.referrers_tag_fallback
    }

    /// Whether non-distributable (foreign) layers are pushed too.
    pub fn nondistributable(&self) -> bool {
        self.inner.nondistributable
    }

    /// The chunk size of uploads (`None`: one request per blob).
    pub fn chunk_size(&self) -> Option<u64> {
        self.inner.chunk_size
    }

    /// The progress sink, if any.
    pub fn progress(&self) -> Option<&Arc<dyn Progress>> {
        self.inner.progress.as_ref()
    }

    /// The shared session: cached transports and job limits.
    pub fn session(&self) -> &Session {
        &self.inner.session
    }

    /// The HTTP client.
    pub fn client(&self) -> &Client {
        self.inner.session.client()
    }

    /// The same options with another platform (sharing the session).
    #[must_use]
    pub fn with_platform(&self, platform: Platform) -> Self {
        self.derive(|i| i.platform = Some(platform))
    }

    /// The same options with another progress sink (sharing the session).
    #[must_use]
    pub fn with_progress(&self, progress: Option<Arc<dyn Progress>>) -> Self {
        self.derive(|i| i.progress = progress)
    }

    fn derive(&self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Inner {
            platform: self.inner.platform.clone(),
            jobs: self.inner.jobs,
            page_size: self.inner.page_size,
            max_list_pages: self.inner.max_list_pages,
            max_list_entries: self.inner.max_list_entries,
            referrers_tag_fallback: self.inner.referrers_tag_fallback,
            nondistributable: self.inner.nondistributable,
            chunk_size: self.inner.chunk_size,
            progress: self.inner.progress.clone(),
            session: Arc::clone(&self.inner.session),
        };
        change(&mut inner);
        Self {
            inner: Arc::new(inner),
        }
    }
}

/// Builds [`Options`]; see [`Options::builder`].
#[derive(Default)]
#[must_use]
pub struct OptionsBuilder {
    client: Option<Client>,
    keychain: Option<Arc<dyn Keychain>>,
    auth: Option<Arc<dyn Authenticator>>,
    platform: Option<Platform>,
    jobs: Option<usize>,
    page_size: Option<usize>,
    max_list_pages: Option<usize>,
    max_list_entries: Option<usize>,
    referrers_tag_fallback: Option<bool>,
    nondistributable: bool,
    chunk_size: Option<u64>,
    progress: Option<Arc<dyn Progress>>,
}

impl fmt::Debug for OptionsBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OptionsBuilder")
            .field("keychain", &self.keychain)
            .field("auth", &self.auth)
            .field("platform", &self.platform)
            .field("jobs", &self.jobs)
            .finish_non_exhaustive()
    }
}

impl OptionsBuilder {
    /// The HTTP client (ggcr's `WithTransport`); default [`Client::new`].
    pub fn client(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Resolve credentials per registry and repository from `keychain` (ggcr's
    /// `WithAuthFromKeychain`); default [`DefaultKeychain`].
    pub fn keychain(mut self, keychain: Arc<dyn Keychain>) -> Self {
        self.keychain = Some(keychain);
        self
    }

    /// Use `auth` for every registry (ggcr's `WithAuth`). Setting both this and
    /// [`keychain`](Self::keychain) is an error.
    pub fn auth(mut self, auth: Arc<dyn Authenticator>) -> Self {
        self.auth = Some(auth);
        self
    }

    /// The platform to pick from indexes (ggcr's `WithPlatform`); default the host's.
    pub fn platform(mut self, platform: Platform) -> Self {
        self.platform = Some(platform);
        self
    }

    /// Parallel blob transfers (ggcr's `WithJobs`); default 4, and 0 is an error.
    pub fn jobs(mut self, jobs: usize) -> Self {
        self.jobs = Some(jobs);
        self
    }

    /// The `n` of tag and catalog pages (ggcr's `WithPageSize`); default 1000, 0 sends none.
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = Some(n);
        self
    }

    /// The most pages and entries a full tag or catalog walk takes before it fails with
    /// [`Error::ListingUnbounded`]; default [`DEFAULT_MAX_LIST_PAGES`] and
    /// [`DEFAULT_MAX_LIST_ENTRIES`]. Both must be at least 1. Beyond ggcr, which follows
    /// `Link` headers for ever.
    pub fn list_limits(mut self, max_pages: usize, max_entries: usize) -> Self {
        self.max_list_pages = Some(max_pages);
        self.max_list_entries = Some(max_entries);
        self
    }

    /// Whether to use the `sha256-<hex>` referrers tag when the registry has no referrers
    /// API (ggcr's `WithReferrersTagFallback`); default true.
    pub fn referrers_tag_fallback(mut self, enabled: bool) -> Self {
        self.referrers_tag_fallback = Some(enabled);
        self
    }

    /// Push non-distributable (foreign) layers too (ggcr's `WithNondistributable`); default
    /// false.
    pub fn nondistributable(mut self, enabled: bool) -> Self {
        self.nondistributable = enabled;
        self
    }

    /// Upload blobs in chunks of `bytes` (for registries that cap request bodies); default
    /// one request per blob.
    pub fn chunk_size(mut self, bytes: u64) -> Self {
        self.chunk_size = Some(bytes);
        self
    }

    /// Where pull and push progress goes (see [`crate::progress`]).
    pub fn progress(mut self, sink: Arc<dyn Progress>) -> Self {
        self.progress = Some(sink);
        self
    }

    /// Checks the options and builds them with a fresh [`Session`].
    pub fn build(self) -> Result<Options> {
        let auth = match (self.auth, self.keychain) {
            (Some(_), Some(_)) => {
                return Err(Error::Options {
                    reason: "provide either an authenticator or a keychain, not both".to_owned(),
                });
            }
            (Some(a), None) => AuthSource::Fixed(a),
            (None, Some(k)) => AuthSource::Keychain(k),
            (None, None) => {
                let k = DefaultKeychain::from_process().map_err(|source| Error::Credentials {
                    resource: None,
                    source,
                })?;
                AuthSource::Keychain(Arc::new(k))
            }
        };
        let jobs = self.jobs.unwrap_or(DEFAULT_JOBS);
        if jobs == 0 {
            return Err(Error::Options {
                reason: "jobs must be at least 1".to_owned(),
            });
        }
        if self.chunk_size == Some(0) {
            return Err(Error::Options {
                reason: "the upload chunk size must be at least 1 byte".to_owned(),
            });
        }
        if self.max_list_pages == Some(0) || self.max_list_entries == Some(0) {
            return Err(Error::Options {
                reason: "the listing limits must be at least 1 page and 1 entry".to_owned(),
            });
        }
        let client = match self.client {
            Some(c) => c,
            None => Client::new().map_err(|e| {
                Error::transport("building", Subject::Other("the HTTP client".to_owned()), e)
            })?,
        };
        Ok(Options {
            inner: Arc::new(Inner {
                platform: self.platform,
                jobs,
                page_size: self.page_size.unwrap_or(DEFAULT_PAGE_SIZE),
                max_list_pages: self.max_list_pages.unwrap_or(DEFAULT_MAX_LIST_PAGES),
                max_list_entries: self.max_list_entries.unwrap_or(DEFAULT_MAX_LIST_ENTRIES),
                referrers_tag_fallback: self.referrers_tag_fallback.unwrap_or(true),
                nondistributable: self.nondistributable,
                chunk_size: self.chunk_size,
                progress: self.progress,
                session: Arc::new(Session::new(client, auth, jobs)),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anon() -> OptionsBuilder {
        Options::builder().auth(Arc::new(ocireg_authn::Anonymous))
    }

    #[test]
    fn defaults() {
        let o = anon().build().expect("valid");
        assert_eq!(o.jobs(), DEFAULT_JOBS);
        assert_eq!(o.page_size(), DEFAULT_PAGE_SIZE);
        assert!(o.referrers_tag_fallback());
        assert!(!o.nondistributable());
        assert_eq!(o.chunk_size(), None);
        assert_eq!(o.platform(), Platform::host());
        assert!(o.platform_setting().is_none());
        assert!(o.progress().is_none());
    }

    #[test]
    fn rejects_bad_settings() {
        for b in [
            anon().jobs(0),
            anon().chunk_size(0),
            anon().keychain(Arc::new(ocireg_authn::StaticKeychain::new(Arc::new(
                ocireg_authn::Anonymous,
            )))),
        ] {
            assert!(matches!(b.build(), Err(Error::Options { .. })));
        }
    }

    #[test]
    fn derived_options_share_the_session() {
        let o = anon().build().expect("valid");
        let p = o.with_platform(Platform::new("linux", "s390x"));
        assert_eq!(p.platform().architecture, "s390x");
        assert!(std::ptr::eq(o.session(), p.session()));
    }
}
