//! Parsing options (ggcr's `name.Option`s as one builder value).

/// The registry used when a name does not give one: Docker Hub.
pub const DEFAULT_REGISTRY: &str = "index.docker.io";

/// The tag used when a name gives neither a tag nor a digest.
pub const DEFAULT_TAG: &str = "latest";

/// The only registry alias: exactly `docker.io` means [`DEFAULT_REGISTRY`].
pub(crate) const REGISTRY_ALIAS: &str = "docker.io";

/// How names are parsed: strictness, the insecure flag and the defaults.
///
/// `Options::default()` (or [`Options::new`]) is ggcr's default: weak
/// validation, https unless the host looks local, [`DEFAULT_REGISTRY`] and
/// [`DEFAULT_TAG`].
///
/// | ggcr option                | here                           |
/// |----------------------------|--------------------------------|
/// | `WeakValidation` (default) | `.strict(false)`               |
/// | `StrictValidation`         | `.strict(true)`                |
/// | `Insecure`                 | `.insecure(true)`              |
/// | `WithDefaultRegistry(r)`   | `.default_registry(r)`         |
/// | `WithDefaultTag(t)`        | `.default_tag(t)`              |
///
/// ```
/// use ocireg_name::{Options, Tag};
///
/// let opts = Options::new().default_registry("gcr.io").default_tag("stable");
/// let tag = Tag::with_options("project/app", &opts)?;
/// assert_eq!(tag.name(), "gcr.io/project/app:stable");
/// # Ok::<(), ocireg_name::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Options {
    strict: bool,
    insecure: bool,
    default_registry: String,
    default_tag: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            strict: false,
            insecure: false,
            default_registry: DEFAULT_REGISTRY.to_owned(),
            default_tag: DEFAULT_TAG.to_owned(),
        }
    }
}

impl Options {
    /// The default options: weak validation, secure, Docker Hub, `latest`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Strict validation (ggcr `StrictValidation`): the registry, the tag
    /// (or digest) and Docker Hub's `library/` namespace must all be written
    /// out; nothing is defaulted. `false` is weak validation, the default.
    #[must_use]
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Marks registries as insecure (ggcr `Insecure`): their
    /// [`scheme`](crate::Registry::scheme) is `http` whatever the host.
    #[must_use]
    pub fn insecure(mut self, insecure: bool) -> Self {
        self.insecure = insecure;
        self
    }

    /// The registry used when a name has none (ggcr `WithDefaultRegistry`).
    ///
    /// It is validated like a written registry when it is used. The
    /// `docker.io` alias still maps to `index.docker.io`, and the
    /// `library/` rule still applies only to `index.docker.io`.
    #[must_use]
    pub fn default_registry(mut self, registry: impl Into<String>) -> Self {
        self.default_registry = registry.into();
        self
    }

    /// The tag used when a name has none (ggcr `WithDefaultTag`). It is
    /// validated like a written tag when it is used.
    #[must_use]
    pub fn default_tag(mut self, tag: impl Into<String>) -> Self {
        self.default_tag = tag.into();
        self
    }

    /// Whether strict validation is on.
    pub fn is_strict(&self) -> bool {
        self.strict
    }

    /// Whether registries are marked insecure.
    pub fn is_insecure(&self) -> bool {
        self.insecure
    }

    /// The configured default registry.
    pub fn default_registry_name(&self) -> &str {
        &self.default_registry
    }

    /// The configured default tag.
    pub fn default_tag_name(&self) -> &str {
        &self.default_tag
    }
}
