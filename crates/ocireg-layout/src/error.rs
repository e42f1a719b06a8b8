//! The crate's error type: every file error names its path.

use std::io;
use std::path::PathBuf;

use ocireg_v1::Digest;

/// A specialised `Result` for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading or writing a layout.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file system operation failed.
    #[error("{}{source}", io_context(op, path))]
    Io {
        /// What was being done (`open`, `read`, `rename`...), or empty when the
        /// cause (an `fs_err` error) says it and names the path itself.
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The directory is not an OCI image layout (no or unreadable `oci-layout`).
    #[error("{} is not an OCI image layout: {reason}", path.display())]
    NotALayout {
        /// The `oci-layout` file (or the directory).
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The `oci-layout` file names a version other than 1.0.0.
    #[error("{}: unsupported imageLayoutVersion {version:?} (want \"1.0.0\")", path.display())]
    UnsupportedVersion {
        /// The `oci-layout` file.
        path: PathBuf,
        /// The version found.
        version: String,
    },
    /// A symlink, FIFO, directory or other special file where a regular file
    /// (or, for `blobs/`, a real directory) must be.
    #[error("refusing {}: unexpected {kind}", path.display())]
    NotRegularFile {
        /// The path.
        path: PathBuf,
        /// What it is (`symlink`, `directory`, `FIFO`...).
        kind: &'static str,
    },
    /// A file larger than the limit for reading it into memory.
    #[error("refusing to read {}: {size} bytes is more than the limit of {limit}", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
        /// Its size.
        size: u64,
    },
    /// A blob's content did not match its digest or size, or a document did
    /// not parse.
    #[error("{}: {source}", path.display())]
    Content {
        /// The file (or the temp file being written).
        path: PathBuf,
        /// The digest the content was expected to have, when known.
        digest: Option<Digest>,
        /// The model's error (digest or size mismatch, JSON...).
        #[source]
        source: Box<ocireg_v1::Error>,
    },
    /// Something looked up is not in the layout.
    #[error("not found in {}: {what}", path.display())]
    NotFound {
        /// The layout.
        path: PathBuf,
        /// What was looked for.
        what: String,
    },
    /// A lookup matched several entries where one was wanted.
    #[error("ambiguous in {}: {what}", path.display())]
    Ambiguous {
        /// The layout.
        path: PathBuf,
        /// What was looked for.
        what: String,
    },
    /// A descriptor has a media type other than the one asked for.
    #[error("{digest} has media type {actual}, not {expected}")]
    WrongMediaType {
        /// The descriptor's digest.
        digest: Digest,
        /// What was asked for (`an image`, `an index`).
        expected: &'static str,
        /// What it is.
        actual: String,
    },
    /// An error from the view being written (its source: a registry, a tarball...).
    #[error(transparent)]
    Source(Box<ocireg_v1::Error>),
    /// A blocking task panicked or was cancelled.
    #[error("background task failed: {0}")]
    Task(String),
}

/// What an [`Error::Io`] message says before its cause: `<op> <path>: `, unless the cause
/// says both (an `fs_err` error).
fn io_context(op: &str, path: &std::path::Path) -> String {
    if op.is_empty() {
        String::new()
    } else {
        format!("{op} {}: ", path.display())
    }
}

impl Error {
    /// An IO error whose cause does not name the path (a `rustix` call).
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// An IO error from `fs_err`, which says what was done and names the path.
    pub(crate) fn fs(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Self::io("", path, source)
    }

    pub(crate) fn content(
        path: impl Into<PathBuf>,
        digest: Option<Digest>,
        source: ocireg_v1::Error,
    ) -> Self {
        Self::Content {
            path: path.into(),
            digest,
            source: Box::new(source),
        }
    }

    pub(crate) fn from_source(e: ocireg_v1::Error) -> Self {
        Self::Source(Box::new(e))
    }

    /// Whether retrying may succeed: interrupted or timed-out IO, or a
    /// transient error of the source view. Wrong content never is.
    pub fn is_transient(&self) -> bool {
        use io::ErrorKind as K;
        match self {
            Self::Io { source, .. } => matches!(
                source.kind(),
                K::Interrupted | K::WouldBlock | K::TimedOut | K::UnexpectedEof
            ),
            Self::Source(e) => e.is_transient(),
            _ => false,
        }
    }

    /// The path concerned, for errors that have one.
    pub fn path(&self) -> Option<&std::path::Path> {
        match self {
            Self::Io { path, .. }
            | Self::NotALayout { path, .. }
            | Self::UnsupportedVersion { path, .. }
            | Self::NotRegularFile { path, .. }
            | Self::TooLarge { path, .. }
            | Self::Content { path, .. }
            | Self::NotFound { path, .. }
            | Self::Ambiguous { path, .. } => Some(path),
            _ => None,
        }
    }
}

impl From<Error> for ocireg_v1::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Source(inner) => *inner,
            other => {
                let transient = other.is_transient();
                Self::backend(other, transient)
            }
        }
    }
}

/// Recovers this crate's error from a model error (views report through
/// [`ocireg_v1::Error::Backend`]); anything else is the source's.
pub(crate) fn from_v1(e: ocireg_v1::Error) -> Error {
    match e {
        ocireg_v1::Error::Backend(b) if b.get_ref().is::<Error>() => {
            // Re-box: the backend keeps only a reference, so describe it again.
            match b.get_ref().downcast_ref::<Error>() {
                Some(ours) => clone_shallow(ours),
                None => Error::from_source(ocireg_v1::Error::Backend(b)),
            }
        }
        other => Error::from_source(other),
    }
}

/// A copy of an error good enough to report (io errors keep kind and text).
fn clone_shallow(e: &Error) -> Error {
    match e {
        Error::Io { op, path, source } => Error::Io {
            op,
            path: path.clone(),
            source: io::Error::new(source.kind(), source.to_string()),
        },
        Error::NotRegularFile { path, kind } => Error::NotRegularFile {
            path: path.clone(),
            kind,
        },
        Error::TooLarge { path, limit, size } => Error::TooLarge {
            path: path.clone(),
            limit: *limit,
            size: *size,
        },
        Error::NotFound { path, what } => Error::NotFound {
            path: path.clone(),
            what: what.clone(),
        },
        Error::NotALayout { path, reason } => Error::NotALayout {
            path: path.clone(),
            reason: reason.clone(),
        },
        Error::UnsupportedVersion { path, version } => Error::UnsupportedVersion {
            path: path.clone(),
            version: version.clone(),
        },
        Error::Ambiguous { path, what } => Error::Ambiguous {
            path: path.clone(),
            what: what.clone(),
        },
        Error::WrongMediaType {
            digest,
            expected,
            actual,
        } => Error::WrongMediaType {
            digest: *digest,
            expected,
            actual: actual.clone(),
        },
        Error::Content {
            path,
            digest,
            source,
        } => {
            let source = match **source {
                ocireg_v1::Error::DigestMismatch { expected, actual } => {
                    ocireg_v1::Error::DigestMismatch { expected, actual }
                }
                ocireg_v1::Error::SizeMismatch {
                    digest,
                    expected,
                    actual,
                } => ocireg_v1::Error::SizeMismatch {
                    digest,
                    expected,
                    actual,
                },
                ref other => return Error::Task(format!("{}: {other}", path.display())),
            };
            Error::content(path.clone(), *digest, source)
        }
        other => Error::Task(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_path() {
        let e = Error::io(
            "open",
            "/x/blobs/sha256/ab",
            io::Error::from(io::ErrorKind::NotFound),
        );
        assert!(e.to_string().contains("/x/blobs/sha256/ab"), "{e}");
        assert!(!e.is_transient());
        // fs_err's error says what was done and names the path: the message says it once.
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("index.json");
        let e = Error::fs(
            &missing,
            fs_err::File::open(&missing).map(drop).expect_err("missing"),
        );
        let shown = e.to_string();
        assert_eq!(
            shown.matches(&*missing.display().to_string()).count(),
            1,
            "{shown}"
        );
        assert!(shown.starts_with("failed to open file `"), "{shown}");
        assert_eq!(e.path(), Some(missing.as_path()));
        let t = Error::io("read", "/x", io::Error::from(io::ErrorKind::Interrupted));
        assert!(t.is_transient());
        let v1: ocireg_v1::Error = t.into();
        assert!(v1.is_transient());
        assert!(from_v1(v1).path().is_some());
        // Content errors keep their type through a view's error.
        let d = ocireg_v1::sha256(b"x");
        let e = Error::content(
            "/x/blobs/sha256/y",
            Some(d),
            ocireg_v1::Error::DigestMismatch {
                expected: d,
                actual: ocireg_v1::sha256(b"y"),
            },
        );
        let back = from_v1(e.into());
        assert!(matches!(back, Error::Content { .. }), "{back}");
        assert!(back.to_string().contains("digest mismatch"), "{back}");
    }
}
