//! The crate's error type.

use std::path::PathBuf;
use std::time::Duration;

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while finding, reading or storing
/// credentials.
///
/// Messages name the file, helper, registry or variable involved and never
/// contain a password, token or the `auth` field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A docker or podman config file could not be read. The cause names the
    /// path (an `fs_err` error), so the message does not repeat it.
    #[error("reading credentials file")]
    ReadConfig {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },

    /// A docker or podman config file is not valid JSON of the expected shape.
    ///
    /// Only the position and kind of problem are kept: serde_json's own
    /// messages can quote values, and values here are credentials.
    #[error("parsing credentials file {path}: {problem}")]
    ParseConfig {
        /// The file.
        path: PathBuf,
        /// Kind and position of the problem.
        problem: String,
    },

    /// An `auth` field is not base64 of `user:password`.
    #[error("invalid auth field{}{}: {reason}", .key.as_ref().map(|k| format!(" for {k:?}")).unwrap_or_default(), .path.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default())]
    InvalidAuth {
        /// The `auths` key of the entry, when known.
        key: Option<String>,
        /// The file, when known.
        path: Option<PathBuf>,
        /// What is wrong with it.
        reason: AuthFieldProblem,
    },

    /// A docker config file could not be written. The cause names the path
    /// (an `fs_err` error, or one worded as it), so the message does not repeat it.
    #[error("writing credentials file")]
    WriteConfig {
        /// The file (or its directory).
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },

    /// A credential helper name is not a plain name (`[A-Za-z0-9._-]`, no `..`).
    #[error(
        "refusing credential helper name {helper:?}: only letters, digits, '.', '_' and '-' are allowed"
    )]
    InvalidHelperName {
        /// The configured name.
        helper: String,
    },

    /// `docker-credential-<helper>` is not on `PATH`.
    #[error("credential helper docker-credential-{helper} not found on PATH")]
    HelperNotFound {
        /// The configured name.
        helper: String,
    },

    /// The helper process could not be started or talked to.
    #[error("running credential helper docker-credential-{helper} {action}")]
    HelperIo {
        /// The configured name.
        helper: String,
        /// `get`, `store`, `erase` or `list`.
        action: &'static str,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },

    /// The helper exited with a failure other than "credentials not found".
    #[error(
        "credential helper docker-credential-{helper} {action} for {server:?} failed ({status}): {message}"
    )]
    HelperFailed {
        /// The configured name.
        helper: String,
        /// `get`, `store`, `erase` or `list`.
        action: &'static str,
        /// The server URL it was asked about (empty for `list`).
        server: String,
        /// The exit status, as text.
        status: String,
        /// The helper's own message (first line of its stdout, truncated).
        message: String,
    },

    /// The helper did not finish in time.
    #[error("credential helper docker-credential-{helper} {action} timed out after {timeout:?}")]
    HelperTimeout {
        /// The configured name.
        helper: String,
        /// `get`, `store`, `erase` or `list`.
        action: &'static str,
        /// The limit that fired.
        timeout: Duration,
    },

    /// The helper answered with something that is not the protocol's JSON.
    #[error("credential helper docker-credential-{helper} {action} returned invalid output")]
    HelperOutput {
        /// The configured name.
        helper: String,
        /// `get`, `store`, `erase` or `list`.
        action: &'static str,
        /// What was wrong (never the output itself).
        reason: String,
    },

    /// The registry credential environment variables are inconsistent.
    #[error("invalid registry credentials in environment variable {var}: {reason}")]
    EnvConfig {
        /// The variable at fault.
        var: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A server address given to login or logout is empty or malformed.
    #[error("invalid registry server address {server:?}")]
    InvalidServer {
        /// The address as given.
        server: String,
    },

    /// The credentials given to login cannot be stored.
    #[error("cannot store credentials for {server:?}: {reason}")]
    InvalidCredentials {
        /// The server key.
        server: String,
        /// Why.
        reason: &'static str,
    },

    /// No docker config directory could be determined (neither
    /// `DOCKER_CONFIG` nor a home directory is set).
    #[error("cannot locate the docker config directory: neither DOCKER_CONFIG nor HOME is set")]
    NoConfigDir,

    /// Another keychain or authenticator failed.
    #[error("{context}")]
    Other {
        /// What we were doing.
        context: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Why an `auth` field was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthFieldProblem {
    /// Not base64 (padded or unpadded).
    NotBase64,
    /// Decoded, but not UTF-8.
    NotUtf8,
    /// Decoded, but there is no `:` between user and password.
    NoColon,
}

impl std::fmt::Display for AuthFieldProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NotBase64 => "not base64",
            Self::NotUtf8 => "decoded value is not UTF-8",
            Self::NoColon => "decoded value has no ':' between user and password",
        })
    }
}

/// Describes a JSON error by kind and position only (serde_json's message
/// can quote the offending value, which may be a credential).
pub(crate) fn json_problem(e: &serde_json::Error) -> String {
    let kind = match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "invalid JSON",
        serde_json::error::Category::Data => "unexpected value",
        serde_json::error::Category::Eof => "unexpected end of input",
    };
    format!("{kind} at line {} column {}", e.line(), e.column())
}
