//! The crate's error type.
//!
//! Every failure says what we were doing and on what (`reference`, `digest`), and keeps the
//! cause as its `#[source]`: a transport error (with the HTTP status and the registry's error
//! codes), a model error (a digest mismatch, a malformed manifest) or an authentication error.
//! Views handed out by this crate (`Arc<dyn Image>` ...) speak `ocireg_v1::Error`; our errors
//! travel inside them through [`ocireg_v1::Error::backend`] and are found again with
//! [`Error::remote_in`].

use http::StatusCode;
use ocireg_transport::ErrorCode;
use ocireg_v1::Digest;

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
    /// Resolving credentials for a registry or repository failed.
    #[error("resolving credentials for {resource}")]
    Credentials {
        /// The registry or repository (`host/repo`).
        resource: String,
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
        reference: String,
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
        reference: String,
        /// The model's error ([`ocireg_v1::Error::DigestMismatch`], a JSON error...).
        #[source]
        source: ocireg_v1::Error,
    },
    /// A manifest addressed by digest did not hash to that digest.
    #[error("manifest {reference} does not match its digest: expected {expected}, got {actual}")]
    ManifestDigestMismatch {
        /// The reference asked for.
        reference: String,
        /// The digest in the reference.
        expected: Digest,
        /// The digest of the bytes the registry sent.
        actual: Digest,
    },
    /// A response was larger than we read into memory.
    #[error("{what} {reference} is too large: {size} bytes, the limit is {limit}")]
    TooLarge {
        /// What it was (`manifest`, `config`, `tag list`...).
        what: &'static str,
        /// Where it came from.
        reference: String,
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
        reference: String,
        /// The header name.
        header: &'static str,
    },
    /// The registry broke the protocol (a bad header value, an impossible status...).
    #[error("{action} {reference}: {reason}")]
    Protocol {
        /// What we were doing.
        action: &'static str,
        /// The reference, repository or URL.
        reference: String,
        /// What was wrong, in words.
        reason: String,
    },
    /// A manifest had a media type that does not fit the request (`index()` on an image...).
    #[error("{reference} is a {media_type}, not {expected}")]
    UnexpectedMediaType {
        /// The reference.
        reference: String,
        /// The media type found.
        media_type: String,
        /// What was expected, e.g. `an image index`.
        expected: &'static str,
    },
    /// A Docker schema 1 manifest, which ocireg does not read (ggcr's `ErrSchema1`).
    #[error(
        "{reference} is a Docker schema 1 manifest ({media_type}), which is not supported: rebuild or re-push it as schema 2 or OCI"
    )]
    Schema1 {
        /// The reference.
        reference: String,
        /// The schema 1 media type.
        media_type: String,
    },
    /// No child of an index matches the platform asked for.
    #[error(
        "no child of index {reference} matches {platform}; available: {}",
        if available.is_empty() { "none".to_owned() } else { available.join(", ") }
    )]
    NoMatchingPlatform {
        /// The index reference.
        reference: String,
        /// The platform asked for.
        platform: String,
        /// The platforms of the index's children (`linux/amd64` for children without one).
        available: Vec<String>,
    },
    /// Nested indexes deeper than we follow.
    #[error("{reference}: indexes are nested more than {limit} deep")]
    TooDeep {
        /// The top reference.
        reference: String,
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
        reference: String,
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
        /// `repo@digest` of the blob.
        reference: String,
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
        reference: String,
    },
    /// The registry stored an upload or manifest under another digest than the bytes we
    /// sent (its `Docker-Content-Digest` disagrees).
    #[error("pushing {reference}: we sent {sent} but the registry says it stored {registry}")]
    RegistryDigestMismatch {
        /// The `repo@digest` or reference pushed.
        reference: String,
        /// The digest of the bytes we sent.
        sent: Digest,
        /// The registry's `Docker-Content-Digest`, as sent.
        registry: String,
    },
    /// An index child is neither an image nor an index, and the index cannot serve it as a
    /// blob (ggcr's "unknown child").
    #[error("pushing index {reference}: cannot push child {digest} of media type {media_type}")]
    UnknownChild {
        /// The index reference.
        reference: String,
        /// The child's digest.
        digest: Digest,
        /// The child's media type.
        media_type: String,
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
            Self::ManifestDigestMismatch { expected, .. }
            | Self::Content {
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
    #[expect(
        clippy::needless_pass_by_value,
        reason = "callers pass references and owned strings alike"
    )]
    pub(crate) fn transport(
        action: &'static str,
        reference: impl ToString,
        source: ocireg_transport::Error,
    ) -> Self {
        Self::Transport {
            action,
            reference: reference.to_string(),
            source,
        }
    }

    /// Wraps a model error with what we were doing.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "callers pass references and owned strings alike"
    )]
    pub(crate) fn content(
        action: &'static str,
        reference: impl ToString,
        source: ocireg_v1::Error,
    ) -> Self {
        Self::Content {
            action,
            reference: reference.to_string(),
            source,
        }
    }

    /// A protocol violation.
    #[expect(
        clippy::needless_pass_by_value,
        reason = "callers pass references and owned strings alike"
    )]
    pub(crate) fn protocol(
        action: &'static str,
        reference: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        Self::Protocol {
            action,
            reference: reference.to_string(),
            reason: reason.into(),
        }
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
            reference: "reg.example/app:v1".into(),
            platform: "linux/arm64".into(),
            available: vec!["linux/amd64".into(), "linux/arm/v7".into()],
        };
        assert_eq!(
            e.to_string(),
            "no child of index reg.example/app:v1 matches linux/arm64; available: linux/amd64, linux/arm/v7"
        );
        let none = Error::NoMatchingPlatform {
            reference: "r".into(),
            platform: "p".into(),
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
            "r@x",
            ocireg_v1::Error::DigestMismatch {
                expected: ocireg_v1::sha256(b"a"),
                actual: ocireg_v1::sha256(b"b"),
            },
        );
        assert!(!e.is_transient());
        assert_eq!(e.digest(), Some(ocireg_v1::sha256(b"a")));
        let io = ocireg_v1::Error::Io(std::io::ErrorKind::ConnectionReset.into());
        assert!(Error::content("reading blob", "r", io).is_transient());
    }
}
