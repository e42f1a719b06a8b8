//! The crate's [`Error`].

use std::path::{Path, PathBuf};

/// A specialised `Result` for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading or writing a tarball.
///
/// Errors about a file name the file; errors about a member of a tarball
/// name the member and the tarball.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file operation failed. The cause names the file (an `fs_err` error, or
    /// one worded as it), so the message does not repeat it.
    #[error("{op}")]
    Io {
        /// What was being done, e.g. `opening the tarball`.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Writing the tarball to its destination failed.
    #[error("writing tarball")]
    Write(#[source] std::io::Error),
    /// A member of the tarball is unsafe or malformed: an absolute or `..`
    /// name, a duplicate, a link loop, a size past the end of the file.
    #[error("tarball {}: member {member:?}: {reason}", path.display())]
    BadMember {
        /// The tarball.
        path: PathBuf,
        /// The member's name as written in the tarball.
        member: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Something the tarball should hold is not there.
    #[error("tarball {}: {what} not found", path.display())]
    NotFound {
        /// The tarball.
        path: PathBuf,
        /// What was looked for, e.g. `member "manifest.json"` or `tag app:v1`.
        what: String,
    },
    /// `manifest.json` is malformed or does not describe a usable image.
    #[error("tarball {}: manifest.json: {reason}", path.display())]
    Manifest {
        /// The tarball.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The content of a member is wrong (digest or size mismatch, bad JSON, too large).
    #[error("tarball {}: member {member:?}", path.display())]
    Member {
        /// The tarball.
        path: PathBuf,
        /// The member.
        member: String,
        /// What was wrong with its content.
        #[source]
        source: ocireg_v1::Error,
    },
    /// The content of a file is wrong (bad compressed data, a digest mismatch).
    #[error("reading {}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What was wrong with its content.
        #[source]
        source: ocireg_v1::Error,
    },
    /// An image to write cannot be written (e.g. a member name too long for ustar).
    #[error("cannot write tarball: {reason}")]
    Unwritable {
        /// Why.
        reason: String,
    },
    /// An error from the image model or from the source of an image being written.
    #[error(transparent)]
    Image(#[from] ocireg_v1::Error),
}

impl Error {
    /// Whether retrying may succeed: only interrupted or timed-out IO, and
    /// transient errors of the image being written. Bad content never is.
    pub fn is_transient(&self) -> bool {
        use std::io::ErrorKind as K;
        match self {
            Self::Io { source, .. } | Self::Write(source) => {
                matches!(source.kind(), K::Interrupted | K::TimedOut | K::WouldBlock)
            }
            Self::Image(e) | Self::Member { source: e, .. } | Self::File { source: e, .. } => {
                e.is_transient()
            }
            _ => false,
        }
    }

    /// This error as an [`ocireg_v1::Error`], for the `Image` and `Layer`
    /// traits (recover it with [`ocireg_v1::BackendError::get_ref`]).
    pub fn into_v1(self) -> ocireg_v1::Error {
        match self {
            Self::Image(e) => e,
            other => {
                let transient = other.is_transient();
                ocireg_v1::Error::backend(other, transient)
            }
        }
    }

    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { op, path, source }
    }

    /// `source` worded as `fs_err` words its errors (`failed to <doing> `<path>`: <cause>`),
    /// for the few that do not come from it (a tar header that does not parse, a rename
    /// by tempfile), so that every [`Error::Io`] cause names its file.
    pub(crate) fn named(path: &Path, doing: &str, source: &std::io::Error) -> std::io::Error {
        std::io::Error::new(
            source.kind(),
            format!("failed to {doing} `{}`: {source}", path.display()),
        )
    }
}

impl From<Error> for ocireg_v1::Error {
    fn from(e: Error) -> Self {
        e.into_v1()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_interrupted_io_and_transient_sources_are_transient() {
        let io = |kind| Error::Io {
            op: "reading",
            path: "x.tar".into(),
            source: std::io::Error::from(kind),
        };
        assert!(io(std::io::ErrorKind::Interrupted).is_transient());
        assert!(!io(std::io::ErrorKind::NotFound).is_transient());
        let mismatch = ocireg_v1::Error::DigestMismatch {
            expected: ocireg_v1::sha256(b"a"),
            actual: ocireg_v1::sha256(b"b"),
        };
        let member = Error::Member {
            path: "x.tar".into(),
            member: "m".into(),
            source: mismatch,
        };
        assert!(!member.is_transient());
        assert!(member.to_string().contains("x.tar") && member.to_string().contains("\"m\""));
        // Through ocireg-v1's error and back.
        let v1 = Error::BadMember {
            path: "x.tar".into(),
            member: "../a".into(),
            reason: "no".into(),
        }
        .into_v1();
        match v1 {
            ocireg_v1::Error::Backend(b) => assert!(b.get_ref().is::<Error>()),
            other => panic!("{other:?}"),
        }
    }
}
