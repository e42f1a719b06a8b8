//! What every registry operation shares: the remote layer's options for crane's
//! [`Options`], the context an operation adds to a remote failure ([`Doing`]), and the
//! adapter from the remote layer's progress events to crane's [`Progress`].
//!
//! The operation families (`read`, `write`, `artifacts`, and the `local` and `mutate`
//! families to come) build on these and on nothing of each other's, except `write`
//! calling `artifacts` to carry referrers along a copy.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use ocireg_remote::progress::{BlobOutcome as RemoteOutcome, ProgressEvent};
use ocireg_v1::Digest;

use crate::error::{Error, Result};
use crate::options::Options;
use crate::progress::{BlobOutcome, Progress, Summary};

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

/// Translates the remote layer's progress events into [`Progress`] calls and
/// keeps the totals for the summary.
pub(crate) struct ProgressAdapter {
    sink: Arc<dyn Progress>,
    state: Mutex<AdapterState>,
}

#[derive(Default)]
struct AdapterState {
    sizes: HashMap<Digest, u64>,
    done: HashMap<Digest, u64>,
    blobs: usize,
    transferred: usize,
    bytes: u64,
}

impl ProgressAdapter {
    /// An adapter for the options' progress reporter, if they have one.
    pub(crate) fn for_options(opts: &Options) -> Option<Arc<Self>> {
        opts.progress().map(|sink| {
            Arc::new(Self {
                sink: Arc::clone(sink),
                state: Mutex::default(),
            })
        })
    }

    /// The reporter the events go to.
    pub(crate) fn sink(&self) -> &dyn Progress {
        self.sink.as_ref()
    }

    /// Tells the reporter the operation is over, with the totals since `started`.
    pub(crate) fn finish(&self, started: Instant) {
        let summary = {
            let s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            Summary::new(s.blobs, s.transferred, s.bytes, started.elapsed())
        };
        self.sink.finished(&summary);
    }

    /// This adapter as the remote layer's progress receiver.
    pub(crate) fn as_remote(self: &Arc<Self>) -> Arc<dyn ocireg_remote::Progress> {
        Arc::clone(self) as Arc<dyn ocireg_remote::Progress>
    }
}

impl ocireg_remote::Progress for ProgressAdapter {
    fn update(&self, event: &ProgressEvent) {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match event {
            ProgressEvent::BlobStarted { digest, total, .. } => {
                if let Some(t) = total {
                    s.sizes.insert(*digest, *t);
                }
                drop(s);
                self.sink.blob_started(digest, *total);
            }
            ProgressEvent::BlobBytes { digest, done } => {
                s.done.insert(*digest, *done);
                drop(s);
                self.sink.blob_progress(digest, *done);
            }
            ProgressEvent::BlobDone { digest, outcome } => {
                let size = s
                    .sizes
                    .get(digest)
                    .copied()
                    .or_else(|| s.done.get(digest).copied())
                    .unwrap_or(0);
                s.blobs += 1;
                let outcome = match outcome {
                    RemoteOutcome::Existed => BlobOutcome::Existed,
                    RemoteOutcome::Mounted => BlobOutcome::Mounted,
                    _ => {
                        s.transferred += 1;
                        s.bytes += size;
                        BlobOutcome::Transferred
                    }
                };
                drop(s);
                self.sink.blob_finished(digest, size, outcome);
            }
            ProgressEvent::ManifestDone {
                reference, digest, ..
            } => {
                drop(s);
                self.sink.manifest_written(reference, digest);
            }
            _ => {}
        }
    }
}
