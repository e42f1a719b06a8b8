//! The crate's error type.
//!
//! Every failure says what we were doing and on what, as a typed value: a [`Subject`] (the
//! registry, repository, reference or digest), a [`DigestReference`], a [`MediaType`] or a
//! [`Platform`], each piece of context once. The cause is kept as its `#[source]`: a transport error (with the HTTP status and the registry's error
//! codes), a model error (a digest mismatch, a malformed manifest) or an authentication error.
//! Views handed out by this crate (`Arc<dyn Image>` ...) speak `ocireg_v1::Error`; our errors
//! travel inside them through [`ocireg_v1::Error::backend`] and are found again with
//! [`Error::remote_in`].

use std::fmt;

use http::StatusCode;
use ocireg_authn::Resource;
use ocireg_name::{DigestReference, Reference, Registry, Repository, Tag};
use ocireg_transport::ErrorCode;
use ocireg_v1::{Digest, MediaType, Platform};

/// A specialised `Result` for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while reading from or writing to a registry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The [`Options`](crate::Options) were inconsistent (both an authenticator and a
    /// keychain, zero jobs...).
    #[error("invalid remote options: {reason}")]
    Options {
        /// What is wrong.
        reason: String,
    },
    /// Resolving credentials for a registry or repository failed, or the default keychain
    /// could not be loaded.
    #[error(
        "resolving credentials for {}",
        resource.as_ref().map_or_else(|| "the default keychain".to_owned(), ToString::to_string)
    )]
    Credentials {
        /// The registry or repository; `None` when loading the default keychain failed.
        resource: Option<Resource>,
        /// The keychain's error.
        #[source]
        source: ocireg_authn::Error,
    },
    /// A request to the registry failed (connection, authentication, or an error status).
    #[error("{action} {reference}")]
    Transport {
        /// What we were doing, e.g. `fetching manifest`.
        action: &'static str,
        /// The reference, repository or registry we were doing it on.
        reference: Subject,
        /// The transport's error, with the status and the registry's error codes.
        #[source]
        source: ocireg_transport::Error,
    },
    /// Content from the registry was malformed or failed verification.
    #[error("{action} {reference}")]
    Content {
        /// What we were doing, e.g. `parsing manifest`.
        action: &'static str,
        /// The reference (or `repo@digest` of a blob) the content came from.
        reference: Subject,
        /// The model's error ([`ocireg_v1::Error::DigestMismatch`], a JSON error...).
        #[source]
        source: ocireg_v1::Error,
    },
    /// A manifest addressed by digest did not hash to that digest.
    #[error(
        "manifest {reference} does not match its digest: expected {}, got {actual}",
        .reference.digest()
    )]
    ManifestDigestMismatch {
        /// The reference asked for; its digest is the one expected.
        reference: Box<DigestReference>,
        /// The digest of the bytes the registry sent (or of the manifest pushed).
        actual: Digest,
    },
    /// A response was larger than we read into memory.
    #[error("{what} {reference} is too large: {size} bytes, the limit is {limit}")]
    TooLarge {
        /// What it was (`manifest`, `config`, `tag list`...).
        what: &'static str,
        /// Where it came from.
        reference: Subject,
        /// The size announced or reached.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A response lacked a header the protocol requires.
    #[error("{action} {reference}: the registry sent no {header} header")]
    MissingHeader {
        /// What we were doing.
        action: &'static str,
        /// The reference.
        reference: Subject,
        /// The header name, as the protocol spells it.
        header: &'static str,
    },
    /// The registry broke the protocol (a bad header value, an impossible status...).
    #[error("{action} {reference}: {reason}")]
    Protocol {
        /// What we were doing.
        action: &'static str,
        /// The reference, repository or URL.
        reference: Subject,
        /// What was wrong, in words.
        reason: String,
    },
    /// A manifest had a media type that does not fit the request (`index()` on an image...).
    #[error("{reference} is a {media_type}, not {expected}")]
    UnexpectedMediaType {
        /// The reference.
        reference: Box<Reference>,
        /// The media type found.
        media_type: MediaType,
        /// What was expected, e.g. `an image index`.
        expected: &'static str,
    },
    /// A Docker schema 1 manifest, which ocireg does not read (ggcr's `ErrSchema1`).
    #[error(
        "{reference} is a Docker schema 1 manifest ({media_type}), which is not supported: rebuild or re-push it as schema 2 or OCI"
    )]
    Schema1 {
        /// The reference.
        reference: Box<Reference>,
        /// The schema 1 media type.
        media_type: MediaType,
    },
    /// No child of an index matches the platform asked for.
    #[error(
        "no child of index {reference} matches {platform}; available: {}",
        if available.is_empty() {
            "none".to_owned()
        } else {
            available.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        }
    )]
    NoMatchingPlatform {
        /// The index reference.
        reference: Box<Reference>,
        /// The platform asked for.
        platform: Platform,
        /// The platforms of the index's children (`linux/amd64` for children without one),
        /// each shown once.
        available: Vec<Platform>,
    },
    /// Nested indexes deeper than we follow.
    #[error("{reference}: indexes are nested more than {limit} deep")]
    TooDeep {
        /// The top reference (the repository, pushing).
        reference: Subject,
        /// The depth limit.
        limit: usize,
    },
    /// A tag or catalog walk did not end within its bounds: its `Link` chain led back to a
    /// page already fetched, or it exceeded the page or entry limit
    /// ([`OptionsBuilder::list_limits`](crate::OptionsBuilder::list_limits)).
    #[error("{action} {reference}: {reason}; stopped after {pages} pages and {entries} entries")]
    ListingUnbounded {
        /// What we were doing (`listing tags of`...).
        action: &'static str,
        /// The repository or registry.
        reference: Subject,
        /// Why the walk was stopped, in words.
        reason: String,
        /// Pages fetched so far.
        pages: usize,
        /// Entries collected so far.
        entries: usize,
    },
    /// A blob download kept losing its connection without making progress.
    #[error(
        "downloading blob {reference}: gave up after {attempts} reconnects without progress at byte {offset}"
    )]
    ResumeExhausted {
        /// The blob.
        reference: Box<DigestReference>,
        /// How many times we reconnected.
        attempts: u32,
        /// How far we got.
        offset: u64,
        /// The last failure.
        #[source]
        source: std::io::Error,
    },
    /// The referrers API is missing and the tag fallback is disabled.
    #[error(
        "{reference}: the registry has no referrers API and the referrers tag fallback is disabled"
    )]
    ReferrersUnsupported {
        /// The subject reference.
        reference: Box<DigestReference>,
    },
    /// The registry stored an upload or manifest under another digest than the bytes we
    /// sent (its `Docker-Content-Digest` disagrees).
    #[error(
        "pushing {}: we sent {sent} but the registry says it stored {registry}",
        .reference.pushed(*.sent)
    )]
    RegistryDigestMismatch {
        /// Where it was pushed: a [`Subject::Repository`] when it was pushed by its digest
        /// (`sent`, shown as `repo@sent`), else the tag or the streaming layer.
        reference: Subject,
        /// The digest of the bytes we sent.
        sent: Digest,
        /// The registry's `Docker-Content-Digest`, as sent.
        registry: String,
    },
    /// An index child is neither an image nor an index, and the index cannot serve it as a
    /// blob (ggcr's "unknown child").
    #[error("pushing index {reference}: cannot push child {digest} of media type {media_type}")]
    UnknownChild {
        /// The repository the index is pushed to.
        reference: Repository,
        /// The child's digest.
        digest: Digest,
        /// The child's media type.
        media_type: MediaType,
    },
    /// An error from a view (`Image`, `Layer`...), e.g. of an image being pushed.
    #[error(transparent)]
    View(ocireg_v1::Error),
}

impl Error {
    /// Whether retrying the operation may succeed: a transient transport failure (a reset,
    /// a 503, a timeout) or a transient view error. Digest mismatches, 4xx errors, missing
    /// platforms and protocol violations are not transient.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport { source, .. } => source.is_transient(),
            Self::Content { source, .. } | Self::View(source) => source.is_transient(),
            _ => false,
        }
    }

    /// The HTTP status, when the error comes from a registry response.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Transport { source, .. } => source.status(),
            Self::View(e) | Self::Content { source: e, .. } => {
                Self::remote_in(e).and_then(Self::status)
            }
            _ => None,
        }
    }

    /// Whether the registry said the thing does not exist (404, or a `MANIFEST_UNKNOWN`,
    /// `BLOB_UNKNOWN` or `NAME_UNKNOWN` code).
    pub fn is_not_found(&self) -> bool {
        if self.status() == Some(StatusCode::NOT_FOUND) {
            return true;
        }
        self.registry_codes().iter().any(|c| {
            matches!(
                c,
                ErrorCode::ManifestUnknown | ErrorCode::BlobUnknown | ErrorCode::NameUnknown
            )
        })
    }

    /// The registry's error codes, when the error carries a decoded error body.
    pub fn registry_codes(&self) -> Vec<ErrorCode> {
        match self {
            Self::Transport { source, .. } => source
                .registry_error()
                .map(|r| r.diagnostics.iter().map(|d| d.code.clone()).collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// The digest the error is about, when it is about one.
    pub fn digest(&self) -> Option<Digest> {
        match self {
            Self::ManifestDigestMismatch { reference, .. } => Some(reference.digest()),
            Self::Content {
                source: ocireg_v1::Error::DigestMismatch { expected, .. },
                ..
            } => Some(*expected),
            _ => None,
        }
    }

    /// Wraps a view's `ocireg_v1::Error` as [`Error::View`]; when the view error carries
    /// one of ours, [`Error::status`] and [`Error::is_transient`] still see it, and
    /// [`Error::remote_in`] gets it out by reference.
    pub fn from_v1(err: ocireg_v1::Error) -> Self {
        Self::View(err)
    }

    /// The error of this crate inside a view error, if there is one.
    pub fn remote_in(err: &ocireg_v1::Error) -> Option<&Self> {
        match err {
            ocireg_v1::Error::Backend(b) => b.get_ref().downcast_ref::<Self>(),
            _ => None,
        }
    }

    /// Wraps a transport error with what we were doing.
    pub(crate) fn transport(
        action: &'static str,
        reference: impl Into<Subject>,
        source: ocireg_transport::Error,
    ) -> Self {
        Self::Transport {
            action,
            reference: reference.into(),
            source,
        }
    }

    /// Wraps a model error with what we were doing.
    pub(crate) fn content(
        action: &'static str,
        reference: impl Into<Subject>,
        source: ocireg_v1::Error,
    ) -> Self {
        Self::Content {
            action,
            reference: reference.into(),
            source,
        }
    }

    /// A protocol violation.
    pub(crate) fn protocol(
        action: &'static str,
        reference: impl Into<Subject>,
        reason: impl Into<String>,
    ) -> Self {
        Self::Protocol {
            action,
            reference: reference.into(),
            reason: reason.into(),
        }
    }
}

/// What an [`Error`] is about: the registry, repository, manifest or blob we were working
/// on. Its `Display` is the name as the user wrote it or as we built it (`host/repo:tag`,
/// `host/repo@sha256:...`).
///
/// The names are boxed so that errors stay small (a digest reference is over 200 bytes).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Subject {
    /// A registry (connecting to it, listing its catalog).
    Registry(Box<Registry>),
    /// A repository (listing its tags, opening an upload, pushing an index into it).
    Repository(Box<Repository>),
    /// A manifest or blob by tag or digest.
    Reference(Box<Reference>),
    /// Manifest bytes addressed by a digest alone, before they have a repository.
    Digest(Box<Digest>),
    /// A streaming layer uploaded to a repository: its digest is known only at the end.
    StreamingLayer(Box<Repository>),
    /// Something without a typed name: a URL, the HTTP client, a referrers fallback tag
    /// that is not a valid tag.
    Other(String),
}

impl Subject {
    /// How [`Error::RegistryDigestMismatch`] names what was pushed as `sent`: a repository
    /// with the digest, anything else as it is.
    fn pushed(&self, sent: Digest) -> Self {
        match self {
            Self::Repository(repo) => Self::from(repo.digest(sent)),
            other => other.clone(),
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Registry(r) => fmt::Display::fmt(r, f),
            Self::Repository(r) => fmt::Display::fmt(r, f),
            Self::Reference(r) => fmt::Display::fmt(r, f),
            Self::Digest(d) => fmt::Display::fmt(d, f),
            Self::StreamingLayer(r) => write!(f, "{r} (streaming layer)"),
            Self::Other(s) => f.write_str(s),
        }
    }
}

impl From<Registry> for Subject {
    fn from(r: Registry) -> Self {
        Self::Registry(Box::new(r))
    }
}

impl From<&Registry> for Subject {
    fn from(r: &Registry) -> Self {
        Self::from(r.clone())
    }
}

impl From<Repository> for Subject {
    fn from(r: Repository) -> Self {
        Self::Repository(Box::new(r))
    }
}

impl From<&Repository> for Subject {
    fn from(r: &Repository) -> Self {
        Self::from(r.clone())
    }
}

impl From<Reference> for Subject {
    fn from(r: Reference) -> Self {
        Self::Reference(Box::new(r))
    }
}

impl From<&Reference> for Subject {
    fn from(r: &Reference) -> Self {
        Self::from(r.clone())
    }
}

impl From<DigestReference> for Subject {
    fn from(r: DigestReference) -> Self {
        Self::from(Reference::Digest(r))
    }
}

impl From<&DigestReference> for Subject {
    fn from(r: &DigestReference) -> Self {
        Self::from(r.clone())
    }
}

impl From<Tag> for Subject {
    fn from(t: Tag) -> Self {
        Self::from(Reference::Tag(t))
    }
}

impl From<Digest> for Subject {
    fn from(d: Digest) -> Self {
        Self::Digest(Box::new(d))
    }
}

impl From<&Self> for Subject {
    fn from(s: &Self) -> Self {
        s.clone()
    }
}

impl From<Error> for ocireg_v1::Error {
    /// Carries our error through a view as [`ocireg_v1::Error::Backend`], keeping our
    /// verdict on transience; a view error we were only carrying is handed back as is.
    fn from(err: Error) -> Self {
        match err {
            Error::View(inner) => inner,
            other => {
                let transient = other.is_transient();
                Self::backend(other, transient)
            }
        }
    }
}

impl From<ocireg_v1::Error> for Error {
    fn from(err: ocireg_v1::Error) -> Self {
        Self::from_v1(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_message_lists_what_is_available() {
        let e = Error::NoMatchingPlatform {
            reference: Box::new("reg.example/app:v1".parse().expect("valid")),
            platform: "linux/arm64".parse().expect("valid"),
            available: vec![
                "linux/amd64".parse().expect("valid"),
                "linux/arm/v7".parse().expect("valid"),
            ],
        };
        assert_eq!(
            e.to_string(),
            "no child of index reg.example/app:v1 matches linux/arm64; available: linux/amd64, linux/arm/v7"
        );
        let none = Error::NoMatchingPlatform {
            reference: Box::new("r".parse().expect("valid")),
            platform: "p".parse().expect("valid"),
            available: vec![],
        };
        assert!(none.to_string().ends_with("available: none"));
    }

    #[test]
    fn round_trips_through_view_errors() {
        let e = Error::Options { reason: "x".into() };
        let v: ocireg_v1::Error = e.into();
        assert!(!v.is_transient());
        assert!(matches!(Error::remote_in(&v), Some(Error::Options { .. })));
        let mismatch = ocireg_v1::Error::DigestMismatch {
            expected: ocireg_v1::sha256(b"a"),
            actual: ocireg_v1::sha256(b"b"),
        };
        let back: ocireg_v1::Error = Error::View(mismatch).into();
        assert!(matches!(back, ocireg_v1::Error::DigestMismatch { .. }));
    }

    #[test]
    fn transience_and_digest() {
        let e = Error::content(
            "reading blob",
            Subject::Other("r@x".into()),
            ocireg_v1::Error::DigestMismatch {
                expected: ocireg_v1::sha256(b"a"),
                actual: ocireg_v1::sha256(b"b"),
            },
        );
        assert!(!e.is_transient());
        assert_eq!(e.digest(), Some(ocireg_v1::sha256(b"a")));
        let io = ocireg_v1::Error::Io(std::io::ErrorKind::ConnectionReset.into());
        assert!(Error::content("reading blob", Subject::Other("r".into()), io).is_transient());
    }

    #[test]
    fn subjects_name_what_was_pushed_once() {
        let repo: Repository = "reg.example/app".parse().expect("valid");
        let sent = ocireg_v1::sha256(b"a");
        let by_digest = Error::RegistryDigestMismatch {
            reference: Subject::from(&repo),
            sent,
            registry: "sha256:00".into(),
        };
        assert_eq!(
            by_digest.to_string(),
            format!(
                "pushing reg.example/app@{sent}: we sent {sent} but the registry says it stored sha256:00"
            )
        );
        let streaming = Error::RegistryDigestMismatch {
            reference: Subject::StreamingLayer(Box::new(repo.clone())),
            sent,
            registry: "x".into(),
        };
        assert!(
            streaming
                .to_string()
                .starts_with("pushing reg.example/app (streaming layer): ")
        );
        let mismatch = Error::ManifestDigestMismatch {
            reference: Box::new(repo.digest(sent)),
            actual: ocireg_v1::sha256(b"b"),
        };
        assert_eq!(mismatch.digest(), Some(sent));
        assert!(
            mismatch
                .to_string()
                .starts_with(&format!("manifest reg.example/app@{sent} does not match its digest: expected {sent}, got sha256:"))
        );
    }
}
