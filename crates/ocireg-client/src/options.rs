//! Per-call options: [`ListOptions`] and [`ImageGetOptions`].

use ocireg_v1::Platform;

/// Server-side pagination of [`Client::list_tags`](crate::Client::list_tags) and
/// [`Client::list_repositories`](crate::Client::list_repositories) (the Deckhouse
/// `WithTagsLimit`/`WithTagsLast`, `WithReposLimit`/`WithReposLast`).
///
/// ```
/// use ocireg_client::ListOptions;
///
/// let first = ListOptions::new().with_limit(50);
/// let next = ListOptions::new().with_limit(50).with_last("v1.2.0");
/// assert_eq!(next.last.as_deref(), Some("v1.2.0"));
/// assert_eq!(first.limit, 50);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListOptions {
    /// The most names to return; 0 (the default) means every name.
    pub limit: usize,
    /// Return names after this one (the last name of the previous page).
    pub last: Option<String>,
}

impl ListOptions {
    /// Every name.
    pub fn new() -> Self {
        Self::default()
    }

    /// At most `limit` names (0: no limit).
    #[must_use]
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Names after `last`.
    #[must_use]
    pub fn with_last(mut self, last: impl Into<String>) -> Self {
        self.last = Some(last.into());
        self
    }
}

/// Options of [`Client::get_image`](crate::Client::get_image) (the Deckhouse
/// `ImageGetOptions`).
///
/// ```
/// use ocireg_client::ImageGetOptions;
/// use ocireg_v1::Platform;
///
/// let arm = ImageGetOptions::new().with_platform(Platform::new("linux", "arm").with_variant("v7"));
/// assert_eq!(arm.platform.map(|p| p.to_string()).as_deref(), Some("linux/arm/v7"));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ImageGetOptions {
    /// The platform to pick from an index (the Deckhouse `WithPlatform`); `None` picks the
    /// host's.
    pub platform: Option<Platform>,
}

impl ImageGetOptions {
    /// No platform: the host's is picked from an index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Picks `platform` from an index.
    #[must_use]
    pub fn with_platform(mut self, platform: Platform) -> Self {
        self.platform = Some(platform);
        self
    }
}
