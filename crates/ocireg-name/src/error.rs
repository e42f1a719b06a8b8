//! The crate's error type and the grammar rules an input can break.
//!
//! Every variant quotes the offending input (the component that failed, or
//! the whole reference) and names the rule it broke, so that a message such
//! as `invalid tag "x!": tags are 1-128 characters of [A-Za-z0-9_.-] (found
//! '!')` tells the user what to fix without reading the source.

use std::fmt;

use crate::digest::DigestRule;

/// Everything that can go wrong while parsing a name.
///
/// Messages are lowercase, quote the input and say which rule was broken.
/// Match on the variant and its `rule` field to react to a specific rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A digest string broke the digest grammar.
    #[error("invalid digest {input:?}: {reason}")]
    Digest {
        /// The input, quoted back to the user.
        input: String,
        /// The rule it broke.
        reason: DigestRule,
    },

    /// A tag broke the tag grammar (`[A-Za-z0-9_.-]{1,128}`).
    #[error("invalid tag {tag:?}: {rule}")]
    Tag {
        /// The tag as written (or the configured default tag).
        tag: String,
        /// The rule it broke.
        rule: TagRule,
    },

    /// A repository path broke the repository grammar (`[a-z0-9_./-]{1,255}`).
    #[error("invalid repository {repository:?}: {rule}")]
    Repository {
        /// The repository path as written, without the registry.
        repository: String,
        /// The rule it broke.
        rule: RepositoryRule,
    },

    /// A registry is not a valid RFC 3986 authority (`host[:port]`).
    #[error("registry {registry:?} is not a valid host[:port]: {rule}")]
    Registry {
        /// The registry as written (or the configured default registry).
        registry: String,
        /// The rule it broke.
        rule: RegistryRule,
    },

    /// Strict validation wanted a part spelled out that the input left to a
    /// default.
    #[error("strict validation rejected {input:?}: {rule}")]
    Strict {
        /// The input that relied on a default.
        input: String,
        /// Which default strict validation refuses to apply.
        rule: StrictRule,
    },

    /// A digest reference did not have exactly one `@`.
    #[error(
        "invalid digest reference {input:?}: expected exactly one '@' between \
         repository and digest (registry/repository@algorithm:hex), found {found}"
    )]
    DigestSeparator {
        /// The whole input.
        input: String,
        /// How many `@` it contained.
        found: usize,
    },

    /// A reference started with `http://` or `https://`.
    #[error(
        "invalid reference {input:?}: image references have no URL scheme; drop the \
         \"http://\" or \"https://\" (use the insecure option for plain http)"
    )]
    UrlScheme {
        /// The whole input.
        input: String,
    },

    /// A scope action string is not one [`Action`](crate::Action) knows.
    #[error(
        "unknown scope action {input:?} (expected pull, push, delete, push,pull, \
         push,pull,delete or *)"
    )]
    Action {
        /// The input.
        input: String,
    },

    /// A string was neither a tag reference nor a digest reference.
    ///
    /// `cause` is the error of the interpretation that applies: the digest
    /// reference's when the input contains an `@`, the tag reference's
    /// otherwise. It is part of the message (it is the rule that was
    /// broken), so it is not reported a second time as the error's source.
    #[error("invalid reference {input:?}: {cause}")]
    Reference {
        /// The whole input.
        input: String,
        /// Why the applicable interpretation failed.
        cause: Box<Self>,
    },
}

/// The tag grammar rule a tag broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TagRule {
    /// The tag after `:` was empty (`ubuntu:`).
    Empty,
    /// The tag is longer than 128 characters.
    TooLong {
        /// Its length in characters.
        len: usize,
    },
    /// The tag has a character outside `[A-Za-z0-9_.-]`.
    InvalidCharacter(char),
}

const TAG_GRAMMAR: &str = "tags are 1-128 characters of [A-Za-z0-9_.-]";

impl fmt::Display for TagRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "{TAG_GRAMMAR} (the tag after ':' is empty)"),
            Self::TooLong { len } => write!(f, "{TAG_GRAMMAR} (found {len} characters)"),
            Self::InvalidCharacter(c) => write!(f, "{TAG_GRAMMAR} (found {c:?})"),
        }
    }
}

/// The repository grammar rule a repository path broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RepositoryRule {
    /// The repository path is empty (`""` or `gcr.io/`).
    Empty,
    /// The repository path is longer than 255 characters (counting an
    /// implied `library/` prefix on Docker Hub).
    TooLong {
        /// Its length in characters.
        len: usize,
    },
    /// The repository path has an uppercase letter.
    Uppercase,
    /// The repository path has a character outside `[a-z0-9_./-]`.
    InvalidCharacter(char),
    /// A `/`-separated segment of the path is `.` or `..`, which a normalising proxy
    /// would resolve into another repository than the token's scope names (beyond ggcr;
    /// distribution forbids them too).
    DotSegment(&'static str),
}

impl fmt::Display for RepositoryRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("a repository name must be given"),
            Self::TooLong { len } => {
                write!(f, "repositories are at most 255 characters (found {len})")
            }
            Self::Uppercase => f.write_str("repository must be lowercase"),
            Self::InvalidCharacter(c) => write!(
                f,
                "repositories are 1-255 characters of [a-z0-9_./-] (found {c:?})"
            ),
            Self::DotSegment(seg) => write!(
                f,
                "a repository path segment may not be {seg:?}: it would name another repository once the URL is normalised"
            ),
        }
    }
}

/// The authority rule a registry broke.
///
/// A registry must be what Go's `url.Parse("//" + registry).Host` gives back
/// unchanged, which is ggcr's test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistryRule {
    /// A character that cannot appear unescaped in a URL authority (space,
    /// `/`, `?`, `#`, `@`, `%`, control characters, ...).
    InvalidCharacter(char),
    /// The text after the last `:` is not a (possibly empty) run of digits.
    Port,
    /// A host in brackets is not an IPv6 address, or the `]` is missing.
    Ipv6Literal,
    /// The configured default registry is empty.
    EmptyDefault,
}

impl fmt::Display for RegistryRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidCharacter(c) => write!(f, "invalid character {c:?}"),
            Self::Port => f.write_str("the port after the last ':' must be digits"),
            Self::Ipv6Literal => f.write_str("a bracketed host must be an IPv6 address"),
            Self::EmptyDefault => f.write_str("the default registry option is empty"),
        }
    }
}

/// The default that strict validation refused to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StrictRule {
    /// No registry was given (strict does not default to Docker Hub).
    RegistryRequired,
    /// Neither a tag nor a digest was given (strict does not default to
    /// `latest`).
    TagRequired,
    /// A single-component Docker Hub repository (strict does not add
    /// `library/`).
    LibraryNamespace,
}

impl fmt::Display for StrictRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::RegistryRequired => "the registry must be given explicitly",
            Self::TagRequired => "a tag or digest must be given explicitly",
            Self::LibraryNamespace => {
                "Docker Hub repository needs the library/ namespace spelled out"
            }
        })
    }
}
