//! The one [`Error`] of this crate.

use std::path::PathBuf;
use std::time::Duration;

use http::StatusCode;
use ocireg_name::Reference;
use ocireg_remote::Subject;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a [`Client`](crate::Client) operation.
///
/// Match [`Error::ImageNotFound`] (or ask [`Error::is_image_not_found`]) to tell a missing
/// image from a failure, and [`Error::status`] for the registry's HTTP status (401, 403,
/// 404, 5xx) without looking at any message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The registry host given to [`Client::builder`](crate::Client::builder) is not a valid
    /// registry name.
    #[error("invalid registry {registry:?}")]
    InvalidRegistry {
        /// The host as given.
        registry: String,
        /// Why it is not valid.
        #[source]
        source: ocireg_name::Error,
    },
    /// The path built by [`Client::with_segment`](crate::Client::with_segment) is not a valid
    /// repository name.
    #[error("invalid repository path {path:?} on {registry}")]
    InvalidPath {
        /// The registry.
        registry: String,
        /// The path built from the segments.
        path: String,
        /// Why it is not valid.
        #[source]
        source: ocireg_name::Error,
    },
    /// A tag (or `@sha256:...` digest) argument is not valid.
    #[error("invalid tag or digest {tag:?} for {repository}")]
    InvalidTag {
        /// The repository the tag was for.
        repository: String,
        /// The tag as given.
        tag: String,
        /// Why it is not valid.
        #[source]
        source: ocireg_name::Error,
    },
    /// An image operation was asked of a client without a repository path (a bare registry
    /// client; add one with [`Client::with_segment`](crate::Client::with_segment)).
    #[error(
        "{action}: the client for {registry} has no repository path; add one with with_segment"
    )]
    NoRepository {
        /// What we were doing.
        action: &'static str,
        /// The registry.
        registry: String,
    },
    /// Building the HTTP client or the remote options failed.
    #[error("building the registry client for {registry}")]
    Build {
        /// The registry.
        registry: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The image does not exist: the registry answered 404 or `MANIFEST_UNKNOWN` /
    /// `NAME_UNKNOWN` (the Deckhouse client's `ErrImageNotFound`).
    #[error("image {reference} not found")]
    ImageNotFound {
        /// The image asked for.
        reference: Box<Reference>,
        /// The registry's answer.
        #[source]
        source: Box<ocireg_remote::Error>,
    },
    /// A registry operation failed.
    #[error("{action} {subject}")]
    Remote {
        /// What we were doing, e.g. `getting digest of`.
        action: &'static str,
        /// The reference, repository or registry it was about.
        subject: Subject,
        /// The cause, with the status and the registry's error codes.
        #[source]
        source: Box<ocireg_remote::Error>,
    },
    /// Reading an image (its manifest, config or layers) failed.
    #[error("{action} {reference}")]
    Image {
        /// What we were doing, e.g. `reading config of`.
        action: &'static str,
        /// The image.
        reference: Box<Reference>,
        /// The cause.
        #[source]
        source: ocireg_v1::Error,
    },
    /// A [`ManifestResult`](crate::ManifestResult) was asked for the other kind of manifest
    /// (an image manifest from an index, or an index from an image manifest).
    #[error("the manifest of {reference} is {actual}, not {wanted}")]
    WrongManifestKind {
        /// The manifest's reference.
        reference: Box<Reference>,
        /// What the caller asked for (`an image manifest`, `an index`).
        wanted: &'static str,
        /// What it is.
        actual: String,
    },
    /// The operation did not finish within the client's
    /// [`timeout`](crate::ClientBuilder::timeout).
    #[error("{action} {subject}: timed out after {after:?}")]
    TimedOut {
        /// What we were doing.
        action: &'static str,
        /// What it was about.
        subject: Subject,
        /// The limit.
        after: Duration,
    },
    /// Writing a file (the examples' extract to disk) failed.
    #[error("writing {}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The cause (from `fs_err`, which names the path).
        #[source]
        source: std::io::Error,
    },
    /// Streaming a flattened filesystem failed.
    #[error("extracting the filesystem of {reference}")]
    Extract {
        /// The image.
        reference: Box<Reference>,
        /// The cause; [`ocireg_v1::Error::from_io`] recovers a model error.
        #[source]
        source: std::io::Error,
    },
    /// Building the credentials of an [`imgpkg`](crate::imgpkg) registry failed (the
    /// environment's registry variables are inconsistent).
    #[error("creating the registry keychain")]
    Keychain {
        /// The cause, naming the variable (never its value).
        #[source]
        source: ocireg_authn::Error,
    },
    /// Looking up the credentials for a registry or repository failed (an unreadable
    /// docker config, a failing credential helper).
    #[error("retrieving credentials for {resource}")]
    Credentials {
        /// The registry or repository.
        resource: String,
        /// The cause.
        #[source]
        source: ocireg_authn::Error,
    },
    /// A transport scope is not `repository:<name>:<actions>` (carvel imgpkg panics here).
    #[error("transport scope {scope:?} is not of the form repository:<name>:<actions>")]
    InvalidScope {
        /// The scope as given.
        scope: String,
    },
    /// A reference given as a string is not valid.
    #[error("invalid reference {reference:?}")]
    InvalidReference {
        /// The reference as given.
        reference: String,
        /// Why it is not valid.
        #[source]
        source: ocireg_name::Error,
    },
    /// A reference starts with `http://` or `https://` (imgpkg's `validateRef`): name
    /// registries by host; use the insecure option for plain http.
    #[error("reference {reference:?} should not include the {prefix} protocol prefix")]
    ProtocolPrefix {
        /// The reference.
        reference: String,
        /// `http://` or `https://`.
        prefix: &'static str,
    },
    /// None of the digests given to
    /// [`first_image_exists`](crate::imgpkg::ImagesReader::first_image_exists) names an
    /// image that exists (imgpkg's `Checking image existence` error).
    #[error("checking image existence: none of {count} images exists")]
    NoImageExists {
        /// How many digests were checked.
        count: usize,
        /// Why the last one was not found (`None` when no digest was given).
        #[source]
        last: Option<Box<Self>>,
    },
}

impl Error {
    /// Whether the error says the image does not exist (the Deckhouse client's
    /// `errors.Is(err, ErrImageNotFound)`).
    pub fn is_image_not_found(&self) -> bool {
        matches!(self, Self::ImageNotFound { .. })
    }

    /// The registry's HTTP status, when the error comes from a registry response
    /// (the Deckhouse client's `transport.Error.StatusCode`).
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::ImageNotFound { source, .. } | Self::Remote { source, .. } => source.status(),
            Self::Image { source, .. } => {
                ocireg_remote::Error::remote_in(source).and_then(ocireg_remote::Error::status)
            }
            _ => None,
        }
    }

    /// Whether the registry said the thing does not exist (404, `MANIFEST_UNKNOWN`,
    /// `BLOB_UNKNOWN`, `NAME_UNKNOWN`), for images and repositories alike.
    pub fn is_not_found(&self) -> bool {
        match self {
            Self::ImageNotFound { .. } => true,
            Self::Remote { source, .. } => source.is_not_found(),
            Self::NoImageExists { last, .. } => last.as_deref().is_none_or(Self::is_not_found),
            Self::Image { source, .. } => ocireg_remote::Error::remote_in(source)
                .is_some_and(ocireg_remote::Error::is_not_found),
            _ => false,
        }
    }

    /// Whether retrying may succeed (a reset, a 503, a timeout).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Remote { source, .. } => source.is_transient(),
            Self::Image { source, .. } => source.is_transient(),
            Self::TimedOut { .. } => true,
            _ => false,
        }
    }

    /// The `ocireg_remote` error underneath, when there is one.
    pub fn remote(&self) -> Option<&ocireg_remote::Error> {
        match self {
            Self::ImageNotFound { source, .. } | Self::Remote { source, .. } => Some(source),
            Self::Image { source, .. } => ocireg_remote::Error::remote_in(source),
            _ => None,
        }
    }
}
