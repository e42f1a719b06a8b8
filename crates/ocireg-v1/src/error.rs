//! The crate's error type, shared by every `Layer`, `Image` and `ImageIndex`
//! implementation (remote, layout, tarball, mutate...).

use ocireg_name::Digest;

/// A specialised `Result` for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the image model and its views.
///
/// Other crates report their own failures through [`Error::Backend`], so that
/// `Arc<dyn Image>` from any source share one error type; [`Error::is_transient`]
/// looks through it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Content did not hash to the digest it was addressed by.
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The digest the content was expected to have.
        expected: Digest,
        /// The digest of the bytes actually seen.
        actual: Digest,
    },
    /// Content did not have the size it was declared with.
    #[error("size mismatch for {digest}: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        /// The digest of the content whose size was wrong.
        digest: Digest,
        /// The declared size.
        expected: u64,
        /// The size actually seen (at least this many bytes, for content that was too long).
        actual: u64,
    },
    /// A name or digest did not parse.
    #[error(transparent)]
    Name(#[from] ocireg_name::Error),
    /// An I/O error while reading a blob stream.
    #[error("failed to read blob")]
    Io(#[source] std::io::Error),
    /// A document was larger than the limit set for reading it into memory.
    #[error("refusing to read {size} bytes into memory (limit {limit})")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
        /// The size announced or reached.
        size: u64,
    },
    /// Something requested is not there (a layer, a child manifest...).
    #[error("not found: {what}")]
    NotFound {
        /// What was looked for, e.g. `layer sha256:...`.
        what: String,
    },
    /// An error from an implementation in another crate (remote, layout, tarball...).
    #[error(transparent)]
    Backend(BackendError),
}

/// An error from another crate carried through [`Error::Backend`]: it displays
/// as that error and keeps its cause chain, plus that crate's verdict on
/// whether retrying may help.
#[derive(Debug)]
pub struct BackendError {
    inner: Box<dyn std::error::Error + Send + Sync + 'static>,
    transient: bool,
}

impl BackendError {
    /// The wrapped error, for downcasting to the other crate's type.
    pub fn get_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self.inner.as_ref()
    }

    /// Whether the other crate judged the error transient.
    pub fn is_transient(&self) -> bool {
        self.transient
    }
}

impl std::fmt::Display for BackendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source()
    }
}

impl Error {
    /// Wraps an error from another crate, with that crate's verdict on whether
    /// retrying may help.
    pub fn backend(err: impl std::error::Error + Send + Sync + 'static, transient: bool) -> Self {
        Self::Backend(BackendError {
            inner: Box::new(err),
            transient,
        })
    }

    /// Recovers a typed error carried inside an `io::Error` (as blob streams do),
    /// or wraps a plain I/O error.
    pub fn from_io(err: std::io::Error) -> Self {
        if !err
            .get_ref()
            .is_some_and(<dyn std::error::Error + Send + Sync>::is::<Self>)
        {
            return Self::Io(err);
        }
        let kind = err.kind();
        match err
            .into_inner()
            .map(<dyn std::error::Error + Send + Sync>::downcast::<Self>)
        {
            Some(Ok(ours)) => *ours,
            Some(Err(other)) => Self::Io(std::io::Error::new(kind, other)),
            None => Self::Io(kind.into()),
        }
    }

    /// Puts this error inside an `io::Error`, to travel through a blob stream;
    /// [`Error::from_io`] takes it out again.
    pub fn into_io(self) -> std::io::Error {
        match self {
            Self::Io(e) => e,
            other => std::io::Error::other(other),
        }
    }

    /// Whether retrying the operation may succeed (a dropped connection, a 503...).
    ///
    /// Digest and size mismatches are never transient: the content is wrong.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Io(e) => io_is_transient(e),
            Self::Backend(b) => b.transient,
            _ => false,
        }
    }
}

fn io_is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    if let Some(inner) = e.get_ref()
        && let Some(ours) = inner.downcast_ref::<Error>()
    {
        return ours.is_transient();
    }
    matches!(
        e.kind(),
        K::ConnectionReset
            | K::ConnectionAborted
            | K::ConnectionRefused
            | K::BrokenPipe
            | K::TimedOut
            | K::UnexpectedEof
            | K::Interrupted
    )
}
