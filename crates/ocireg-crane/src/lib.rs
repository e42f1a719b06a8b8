//! The behaviour behind the `crane` command line tool: a port of
//! go-containerregistry's `pkg/crane`.
//!
//! # Where it fits
//!
//! This is the top of the library stack. It turns strings (references,
//! registries, platforms) into the typed values of `ocireg-name` and
//! `ocireg-v1`, finds credentials through `ocireg-authn`, talks to registries
//! through `ocireg-transport` (and the remote layer above it), and runs the
//! embedded `ocireg-registry`. The `crane` binary (`tools/crane`) only parses
//! flags, calls one function of this crate, prints the result and draws
//! progress; everything a command *does* lives here, so other programs can
//! do the same without a shell.
//!
//! Each operation is one async function taking its required inputs
//! (references as strings, files) and an [`Options`] value with the
//! defaultable settings (ggcr's `crane.Option`s): [`auth_login`],
//! [`auth_logout`], [`auth_get`], [`auth_token`], [`registry_serve`],
//! [`copy`], [`manifest`], [`digest`], [`config`], [`blob`],
//! [`blob_to_file`], [`list_tags`], [`catalog`], [`tag`], [`delete`],
//! [`attach`], [`referrers`]. None of them builds a runtime; the caller's
//! tokio runtime runs them (the binary builds one with the re-exported
//! [`runtime`] module).
//!
//! Failures are one [`Error`] whose [`kind`](Error::kind) is the exit-code
//! class ([`ErrorKind`]: usage, not found, auth, other) and whose
//! [`hint`](Error::hint) says what to try; [`Report`] renders the one-line
//! or verbose form. The progress of operations that move blobs goes to a
//! [`Progress`] front end, which draws what the operation's [`ProgressTracker`]
//! (ocireg-v1's) counts; registry `Warning` headers are collected in
//! [`Warnings`]. Both are set on the options.
//!
//! Text a registry chose (error messages, warnings, tag names, annotations)
//! can hold terminal escape sequences: [`Report`] escapes it, and a program
//! that prints other registry text passes it through [`escape_text`] (or
//! [`escape_json`] for JSON) first. Data (manifests, configs, blobs) is
//! returned as the registry sent it.
//!
//! # Example
//!
//! Serve the embedded registry on loopback, check that it answers, and stop it:
//!
//! ```
//! use ocireg_crane::{Options, registry_serve, runtime};
//!
//! let rt = runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
//! rt.block_on(async {
//!     let opts = Options::new();
//!     let server = registry_serve(Some("127.0.0.1:0"), None, &opts).await?;
//!     assert!(server.url().starts_with("http://127.0.0.1:"));
//!
//!     // No credentials are stored for it, so `auth get` finds none.
//!     let dir = tempfile::tempdir()?;
//!     let env = ocireg_authn::Environment::empty().with_var("DOCKER_CONFIG", dir.path().to_string_lossy());
//!     let creds = ocireg_crane::auth_get(&server.host(), &opts.clone().with_environment(env)).await?;
//!     assert!(creds.is_none());
//!
//!     server.shutdown().await?;
//!     Ok::<(), Box<dyn std::error::Error>>(())
//! })?;
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Where we differ from ggcr
//!
//! - `--insecure` is one option that allows plain http *and* skips TLS
//!   verification, as in crane, but loopback and private addresses use
//!   http without it (ocireg-name's rule).
//! - `auth token` prints `{"token": ...}` only: the expiry and refresh
//!   token of the token response are not passed up by the transport.
//! - `registry serve` turns on the referrers API of the embedded registry.

pub use ocireg_authn::{LoginOutcome, LogoutOutcome, Secret, Stored};
pub use ocireg_registry::RunningRegistry;
pub use ocireg_transport::parse_warning_header;
pub use ocireg_v1::{Digest, Platform};
pub use tokio::runtime;

pub use crate::auth::{
    CREDENTIALS_NOT_FOUND, Credentials, Token, auth_get, auth_login, auth_logout, auth_token,
    read_password,
};
pub use crate::error::{Error, ErrorKind, Report, Result};
pub use crate::ops::{
    MAX_BLOB_SIZE, attach, blob, blob_to_file, catalog, config, copy, copy_repository, delete,
    digest, list_tags, manifest, referrers, tag,
};
pub use crate::options::{DEFAULT_JOBS, Options};

/// Runs `operation` within `limit` (crane's `--timeout`): past it the operation is dropped
/// (cancelling its requests) and [`Error::TimedOut`] returned. `None` runs it unbounded,
/// each request still bounded by the transport's timeouts.
pub async fn within<T>(
    limit: Option<std::time::Duration>,
    operation: impl Future<Output = T>,
) -> Result<T> {
    match limit {
        None => Ok(operation.await),
        Some(limit) => tokio::time::timeout(limit, operation)
            .await
            .map_err(|_| Error::TimedOut { limit }),
    }
}
pub use crate::progress::{
    BlobOutcome, BlobProgress, Direction, NoProgress, Progress, ProgressEvent, ProgressSnapshot,
    ProgressTracker, Summary, human_bytes,
};
pub use crate::serve::{interrupted, registry_serve, serve_address};
pub use crate::text::{escape_json, escape_lines, escape_text, is_unsafe_char};
pub use crate::warnings::Warnings;

/// The version of crane and of this library.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The version `crane version` prints.
#[must_use]
pub fn version() -> &'static str {
    VERSION
}

/// The user agent suffix crane sends after `ocireg/<version>`.
#[must_use]
pub fn user_agent_suffix() -> String {
    format!("crane/{VERSION}")
}

mod auth;
mod error;
mod ops;
mod options;
mod progress;
mod serve;
mod text;
mod warnings;
