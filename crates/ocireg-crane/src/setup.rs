//! What every registry operation shares: the remote layer's options for crane's
//! [`Options`] and the context an operation adds to a remote failure ([`Doing`]).
//! Progress goes through [`crate::progress::Operation`], which feeds one tracker.
//!
//! The operation families (`read`, `write`, `artifacts`, and the `local` and `mutate`
//! families to come) build on these and on nothing of each other's, except `write`
//! calling `artifacts` to carry referrers along a copy.

use std::fmt;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::options::Options;

/// What an operation was doing when the remote layer failed: the context crane adds.
///
/// The remote layer names its own step and the reference it was on (`fetching manifest
/// r.io/app:v1`). Crane's context says which operation that step was part of, and the two
/// kinds of context say different things about that step:
///
/// - [`Doing::on`]: an action on the one reference, repository or registry the operation
///   was given (`fetching the manifest of r.io/app:v1`). The remote layer's step names that
///   thing or a part of it (a child manifest, a blob, whose URL or digest its cause shows),
///   so the one-line [`Report`](crate::Report) leaves the step out.
/// - A text about several things or none (`copying A to B`, `From<String>`): the remote
///   layer's step is what says which of them failed, so it is shown.
#[derive(Clone, Debug)]
pub(crate) enum Doing {
    /// `<action> <subject>`.
    On {
        /// What was being done (`fetching the manifest of`).
        action: &'static str,
        /// The one thing it was done to, as the user can name it (`r.io/app:v1`).
        subject: String,
    },
    /// Context about several things (`copying r.io/a:1 to r.io/b:1`) or none.
    About(String),
}

impl Doing {
    /// `<action> <subject>`, about `subject` alone.
    pub(crate) fn on(action: &'static str, subject: &impl fmt::Display) -> Self {
        Self::On {
            action,
            subject: subject.to_string(),
        }
    }

    /// Wraps a remote failure in this context.
    pub(crate) fn remote(self, source: ocireg_remote::Error) -> Error {
        let (doing, subject) = match self {
            Self::On { action, subject } => (format!("{action} {subject}"), Some(subject)),
            Self::About(text) => (text, None),
        };
        Error::Remote {
            doing,
            subject,
            source: Box::new(source),
        }
    }

    /// Wraps a failure of a view of a remote image (its config, a blob stream) in this
    /// context.
    pub(crate) fn view(self, source: ocireg_v1::Error) -> Error {
        self.remote(ocireg_remote::Error::from_v1(source))
    }
}

impl From<String> for Doing {
    /// A context about several things (`copying A to B`) or none.
    fn from(text: String) -> Self {
        Self::About(text)
    }
}

impl From<&str> for Doing {
    fn from(text: &str) -> Self {
        Self::About(text.to_owned())
    }
}

/// A `map_err` adapter: the remote failure in the context `doing`.
pub(crate) fn remote_err(doing: impl Into<Doing>) -> impl FnOnce(ocireg_remote::Error) -> Error {
    let doing = doing.into();
    move |source| doing.remote(source)
}

/// A `map_err` adapter: the view failure in the context `doing`.
pub(crate) fn view_err(doing: impl Into<Doing>) -> impl FnOnce(ocireg_v1::Error) -> Error {
    let doing = doing.into();
    move |source| doing.view(source)
}

/// The remote layer's options for these crane options, reporting to `progress` if given.
pub(crate) async fn remote_options(
    opts: &Options,
    progress: Option<Arc<dyn ocireg_remote::Progress>>,
) -> Result<ocireg_remote::Options> {
    let mut builder = ocireg_remote::Options::builder()
        .client(opts.client().await?)
        .keychain(opts.keychain()?)
        .jobs(opts.jobs())
        .nondistributable(opts.allow_nondistributable());
    if let Some(p) = opts.platform() {
        builder = builder.platform(p.clone());
    }
    if let Some(p) = progress {
        builder = builder.progress(p);
    }
    builder
        .build()
        .map_err(remote_err("setting up the registry client"))
}
