//! The one error type of this crate.

use std::time::Duration;

/// A shorthand for results whose error is this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong while setting up a test fixture.
///
/// Every variant says what the harness was doing; the underlying cause, when
/// there is one, is the error's `source()`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A real program the tests need is missing from `PATH`.
    #[error("{program} is not installed: run scripts/install-deps.sh")]
    NotInstalled {
        /// The program and where it comes from, e.g. "docker-registry (CNCF distribution)".
        program: &'static str,
    },
    /// A filesystem or socket operation failed.
    #[error("i/o error while {what}")]
    Io {
        /// What the harness was doing.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// `docker-registry serve` exited or never answered `/v2/`.
    #[error("docker-registry did not start on {addr}: {reason}; its output:\n{output}")]
    Startup {
        /// The address it was told to listen on.
        addr: String,
        /// Why we gave up (exit status, timeout).
        reason: String,
        /// What it wrote to stdout and stderr.
        output: String,
    },
    /// An external helper program (such as `htpasswd`) failed.
    #[error("{program} failed ({status}): {stderr}")]
    Program {
        /// The program that failed.
        program: &'static str,
        /// Its exit status.
        status: String,
        /// What it wrote to stderr.
        stderr: String,
    },
    /// Generating a certificate or key failed.
    #[error("generating a test certificate")]
    Cert(#[source] rcgen::Error),
    /// Building a rustls configuration failed.
    #[error("configuring TLS")]
    Tls(#[source] rustls::Error),
    /// Signing a token or generating random bytes failed.
    #[error("signing a token with ring")]
    Crypto,
    /// The fixture was configured in a way that cannot work.
    #[error("invalid test setup: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// A request made by [`TestClient`](crate::TestClient) failed.
    #[error("http request {method} {url} failed")]
    Http {
        /// The request method.
        method: String,
        /// The request URL.
        url: String,
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Something did not finish in time.
    #[error("timed out after {after:?} while {what}")]
    Timeout {
        /// What the harness was waiting for.
        what: String,
        /// How long it waited.
        after: Duration,
    },
}

impl Error {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            what: what.into(),
            source,
        }
    }

    pub(crate) fn config(reason: impl Into<String>) -> Self {
        Self::Config {
            reason: reason.into(),
        }
    }
}

impl From<rcgen::Error> for Error {
    fn from(e: rcgen::Error) -> Self {
        Self::Cert(e)
    }
}

impl From<rustls::Error> for Error {
    fn from(e: rustls::Error) -> Self {
        Self::Tls(e)
    }
}
