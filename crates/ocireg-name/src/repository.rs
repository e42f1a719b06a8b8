//! [`Repository`]: a registry plus a repository path (ggcr
//! `name.Repository`).

use std::fmt;
use std::str::FromStr;

use crate::error::{RepositoryRule, StrictRule};
use crate::options::DEFAULT_REGISTRY;
use crate::{Action, Digest, DigestReference, Error, Options, Registry, Tag};

/// Docker Hub's implied namespace for single-component repositories.
const LIBRARY: &str = "library/";

/// Longest repository path, in characters.
const MAX_REPOSITORY_LEN: usize = 255;

/// A repository: a [`Registry`] and a path such as `library/ubuntu` (ggcr
/// `name.Repository`).
///
/// The first `/`-separated component is the registry only when there is a
/// `/` after it **and** it is `localhost` or contains a `.` or a `:`;
/// otherwise the whole input is the path on the default registry. So
/// `gcr.io/app` is `app` on `gcr.io`, but `gcr.io` alone and `foo/app` are
/// Docker Hub repositories.
///
/// The path is 1-255 characters of `[a-z0-9_./-]`. Two deliberate differences
/// from ggcr: one character is enough (ggcr wants 2; the distribution spec,
/// distribution and skopeo accept `reg/a`), and on Docker Hub the 255 count
/// includes the implied `library/` (ggcr counts the path as typed, so its
/// `name()` of a 250-character Hub path does not parse back; ours always does). There is no grammar per
/// component (`a//b`, `-x` and `x/` pass, as in ggcr); uppercase fails, and so
/// (beyond ggcr, as in distribution) does a component that is `.` or `..`. On
/// exactly `index.docker.io`, a path without `/` gets Docker Hub's
/// `library/` namespace (strict validation rejects it instead).
///
/// `Display` is [`name`](Self::name). Equality, ordering and hashing
/// compare `name()`, so `ubuntu` equals `index.docker.io/library/ubuntu`.
///
/// ```
/// use ocireg_name::Repository;
///
/// let repo: Repository = "ubuntu".parse()?;
/// assert_eq!(repo.registry().name(), "index.docker.io");
/// assert_eq!(repo.repository_str(), "library/ubuntu");
/// assert_eq!(repo.name(), "index.docker.io/library/ubuntu");
/// # Ok::<(), ocireg_name::Error>(())
/// ```
#[derive(Clone)]
pub struct Repository {
    registry: Registry,
    /// The path with Docker Hub's `library/` applied.
    path: String,
    /// `<registry>/<repository>`.
    name: String,
}

/// Checks the repository grammar: 1-255 characters of `[a-z0-9_./-]`.
fn check_repository(path: &str) -> Result<(), RepositoryRule> {
    if path.is_empty() {
        return Err(RepositoryRule::Empty);
    }
    let len = path.chars().count();
    if len > MAX_REPOSITORY_LEN {
        return Err(RepositoryRule::TooLong { len });
    }
    let allowed = |c: char| matches!(c, 'a'..='z' | '0'..='9' | '_' | '.' | '/' | '-');
    match path.chars().find(|&c| !allowed(c)) {
        None => {}
        Some(c) if c.is_ascii_uppercase() => return Err(RepositoryRule::Uppercase),
        Some(c) => return Err(RepositoryRule::InvalidCharacter(c)),
    }
    // Beyond ggcr: `a/../b` would reach the registry as `/v2/a/../b/...`, which a
    // normalising proxy serves as `/v2/b/...` under a token scoped to `a/../b`.
    match path.split('/').find(|seg| matches!(*seg, "." | "..")) {
        Some(".") => Err(RepositoryRule::DotSegment(".")),
        Some(_) => Err(RepositoryRule::DotSegment("..")),
        None => Ok(()),
    }
}

/// Splits `input` into its registry part (possibly empty) and its path.
fn split_registry(input: &str) -> (&str, &str) {
    match input.split_once('/') {
        Some((first, rest))
            if first == "localhost" || first.contains('.') || first.contains(':') =>
        {
            (first, rest)
        }
        _ => ("", input),
    }
}

impl Repository {
    /// Parses a repository with the default (weak) options.
    pub fn new(repository: &str) -> Result<Self, Error> {
        Self::with_options(repository, &Options::default())
    }

    /// Parses a repository with the given options.
    pub fn with_options(repository: &str, opts: &Options) -> Result<Self, Error> {
        let (registry, path) = split_registry(repository);
        let invalid = |rule| Error::Repository {
            repository: path.to_owned(),
            rule,
        };
        check_repository(path).map_err(invalid)?;
        let registry = Registry::parse(registry, opts, repository)?;
        if opts.is_strict() && Self::is_implicit_library(&registry, path) {
            return Err(Error::Strict {
                input: repository.to_owned(),
                rule: StrictRule::LibraryNamespace,
            });
        }
        Self::build(registry, path)
    }

    /// A repository from a parsed registry and an unchecked path (weak).
    pub(crate) fn on_registry(registry: Registry, path: &str) -> Result<Self, Error> {
        check_repository(path).map_err(|rule| Error::Repository {
            repository: path.to_owned(),
            rule,
        })?;
        Self::build(registry, path)
    }

    fn is_implicit_library(registry: &Registry, path: &str) -> bool {
        registry.name() == DEFAULT_REGISTRY && !path.contains('/')
    }

    /// Applies the `library/` rule to a checked path and builds the value.
    fn build(registry: Registry, path: &str) -> Result<Self, Error> {
        let full_path = if Self::is_implicit_library(&registry, path) {
            let prefixed = format!("{LIBRARY}{path}");
            let len = prefixed.chars().count();
            if len > MAX_REPOSITORY_LEN {
                return Err(Error::Repository {
                    repository: path.to_owned(),
                    rule: RepositoryRule::TooLong { len },
                });
            }
            prefixed
        } else {
            path.to_owned()
        };
        let name = format!("{}/{full_path}", registry.name());
        Ok(Self {
            registry,
            path: full_path,
            name,
        })
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The repository path, with Docker Hub's `library/` namespace when it
    /// applies (ggcr `RepositoryStr()`): `ubuntu` gives `library/ubuntu`.
    pub fn repository_str(&self) -> &str {
        &self.path
    }

    /// The fully qualified name, `<registry>/<repository>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The token scope for `action` on this repository,
    /// `repository:<repository>:<action>`.
    pub fn scope(&self, action: Action) -> String {
        self.scope_str(action.as_str())
    }

    /// The token scope with free-form actions, for actions that
    /// [`Action`] does not name.
    pub fn scope_str(&self, actions: &str) -> String {
        format!("repository:{}:{actions}", self.path)
    }

    /// A tag in this repository.
    ///
    /// Unlike ggcr's `Repository.Tag`, the tag is checked against the tag
    /// grammar, so a `Tag` always has a `name()` that parses back.
    pub fn tag(&self, tag: &str) -> Result<Tag, Error> {
        Tag::in_repository(self.clone(), tag)
    }

    /// A digest reference in this repository.
    pub fn digest(&self, digest: Digest) -> DigestReference {
        DigestReference::in_repository(self.clone(), digest)
    }
}

impl FromStr for Repository {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl fmt::Debug for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Repository")
            .field("registry", &self.registry)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

crate::string_form::impl_identity_by_name!(Repository);
crate::string_form::impl_serde!(Repository);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_split() {
        for (input, want) in [
            ("ubuntu", ("", "ubuntu")),
            ("foo/bar", ("", "foo/bar")),
            ("gcr.io/foo", ("gcr.io", "foo")),
            ("gcr.io", ("", "gcr.io")),
            ("localhost/foo", ("localhost", "foo")),
            ("localhost", ("", "localhost")),
            ("host:5000/foo/bar", ("host:5000", "foo/bar")),
            ("a.b/c/d.e/f", ("a.b", "c/d.e/f")),
        ] {
            assert_eq!(split_registry(input), want, "{input:?}");
        }
    }

    #[test]
    fn repository_grammar() {
        for (path, want) in [
            ("a", Ok(())),
            ("a//b", Ok(())),
            ("-x", Ok(())),
            ("x/", Ok(())),
            ("_.-/", Ok(())),
            ("", Err(RepositoryRule::Empty)),
            ("Foo", Err(RepositoryRule::Uppercase)),
            ("a b", Err(RepositoryRule::InvalidCharacter(' '))),
            ("a:b", Err(RepositoryRule::InvalidCharacter(':'))),
            ("\u{e9}", Err(RepositoryRule::InvalidCharacter('\u{e9}'))),
            // `.` and `..` segments would be normalised into another repository.
            ("a/../b", Err(RepositoryRule::DotSegment(".."))),
            ("repo/../x", Err(RepositoryRule::DotSegment(".."))),
            ("..", Err(RepositoryRule::DotSegment(".."))),
            ("a/..", Err(RepositoryRule::DotSegment(".."))),
            ("./a", Err(RepositoryRule::DotSegment("."))),
            ("a/./b", Err(RepositoryRule::DotSegment("."))),
            (".", Err(RepositoryRule::DotSegment("."))),
            // Dots inside a segment are fine.
            ("a/.b", Ok(())),
            ("a/..b", Ok(())),
            ("a..b/c", Ok(())),
            (".../x", Ok(())),
        ] {
            assert_eq!(check_repository(path), want, "{path:?}");
        }
        assert_eq!(check_repository(&"a".repeat(255)), Ok(()));
        assert_eq!(
            check_repository(&"a".repeat(256)),
            Err(RepositoryRule::TooLong { len: 256 })
        );
    }
}
