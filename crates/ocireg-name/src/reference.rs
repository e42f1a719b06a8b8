//! [`Reference`]: a tag reference or a digest reference (ggcr
//! `name.Reference` and `ParseReference`).

use std::fmt;
use std::str::FromStr;

use crate::{Action, Digest, DigestReference, Error, Options, Registry, Repository, Tag};

/// A reference to an image or index: by [`Tag`] or by digest
/// ([`DigestReference`]).
///
/// Parsing tries a tag first, then a digest, as ggcr's `ParseReference`
/// does, so a name with both (`app:v1@sha256:...`) is a digest reference.
/// When both fail, the error quotes the input and gives the reason of the
/// interpretation that applies (the digest's when the input has an `@`),
/// where ggcr only says "could not parse reference". An input starting
/// with `http://` or `https://` is rejected with a hint, as in current
/// ggcr.
///
/// `Display` is the input as written; [`name`](Self::name) is fully
/// qualified. Equality, ordering and hashing compare the kind and
/// `name()`.
///
/// ```
/// use ocireg_name::Reference;
///
/// let r = Reference::parse("ubuntu")?;
/// assert!(matches!(r, Reference::Tag(_)));
/// assert_eq!(r.name(), "index.docker.io/library/ubuntu:latest");
/// assert_eq!(r.identifier(), "latest");
///
/// let err = Reference::parse("ubuntu:x!").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "invalid reference \"ubuntu:x!\": invalid tag \"x!\": \
///      tags are 1-128 characters of [A-Za-z0-9_.-] (found '!')"
/// );
/// # Ok::<(), ocireg_name::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[expect(
    clippy::exhaustive_enums,
    reason = "a reference names a manifest by tag or by digest; there is no third way, \
              and callers should be able to match both arms exhaustively"
)]
pub enum Reference {
    /// A reference by tag.
    Tag(Tag),
    /// A reference by digest.
    Digest(DigestReference),
}

impl Reference {
    /// Parses a reference with the default (weak) options.
    pub fn parse(reference: &str) -> Result<Self, Error> {
        Self::with_options(reference, &Options::default())
    }

    /// Parses a reference with the given options.
    pub fn with_options(reference: &str, opts: &Options) -> Result<Self, Error> {
        if reference.starts_with("http://") || reference.starts_with("https://") {
            return Err(Error::UrlScheme {
                input: reference.to_owned(),
            });
        }
        let as_tag = match Tag::with_options(reference, opts) {
            Ok(tag) => return Ok(Self::Tag(tag)),
            Err(err) => err,
        };
        let as_digest = match DigestReference::with_options(reference, opts) {
            Ok(digest) => return Ok(Self::Digest(digest)),
            Err(err) => err,
        };
        // Without an '@' the digest reading can only complain about the
        // missing '@'; with one, no tag reading can succeed (neither tags,
        // repositories nor registries may contain '@').
        let cause = if reference.contains('@') {
            as_digest
        } else {
            as_tag
        };
        Err(Error::Reference {
            input: reference.to_owned(),
            cause: Box::new(cause),
        })
    }

    /// The fully qualified name: `<registry>/<repository>:<tag>` or
    /// `<registry>/<repository>@<digest>`.
    pub fn name(&self) -> &str {
        match self {
            Self::Tag(t) => t.name(),
            Self::Digest(d) => d.name(),
        }
    }

    /// What names the manifest in the registry's API: the tag or the
    /// digest string.
    pub fn identifier(&self) -> &str {
        match self {
            Self::Tag(t) => t.identifier(),
            Self::Digest(d) => d.identifier(),
        }
    }

    /// The repository (ggcr `Context()`).
    pub fn context(&self) -> &Repository {
        match self {
            Self::Tag(t) => t.context(),
            Self::Digest(d) => d.context(),
        }
    }

    /// The repository; the same as [`context`](Self::context).
    pub fn repository(&self) -> &Repository {
        self.context()
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        self.context().registry()
    }

    /// The token scope for `action` on the repository.
    pub fn scope(&self, action: Action) -> String {
        self.context().scope(action)
    }

    /// The token scope with free-form actions.
    pub fn scope_str(&self, actions: &str) -> String {
        self.context().scope_str(actions)
    }

    /// The digest, for a digest reference.
    pub fn digest(&self) -> Option<Digest> {
        match self {
            Self::Tag(_) => None,
            Self::Digest(d) => Some(d.digest()),
        }
    }

    /// The tag reference, if this is one.
    pub fn as_tag(&self) -> Option<&Tag> {
        match self {
            Self::Tag(t) => Some(t),
            Self::Digest(_) => None,
        }
    }

    /// The digest reference, if this is one.
    pub fn as_digest(&self) -> Option<&DigestReference> {
        match self {
            Self::Tag(_) => None,
            Self::Digest(d) => Some(d),
        }
    }
}

impl FromStr for Reference {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// The input as the user wrote it.
impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tag(t) => t.fmt(f),
            Self::Digest(d) => d.fmt(f),
        }
    }
}

impl From<Tag> for Reference {
    fn from(tag: Tag) -> Self {
        Self::Tag(tag)
    }
}

impl From<DigestReference> for Reference {
    fn from(digest: DigestReference) -> Self {
        Self::Digest(digest)
    }
}

crate::string_form::impl_serde!(Reference);
