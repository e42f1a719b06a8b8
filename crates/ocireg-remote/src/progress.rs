//! Progress of pulls and pushes: the types live in [`ocireg_v1::progress`] (so every crate
//! that moves blobs reports the same events) and are re-exported here unchanged.
//!
//! Operations report [`ProgressEvent`]s to the [`Progress`] sink set with
//! [`OptionsBuilder::progress`](crate::OptionsBuilder::progress): downloads as
//! [`Direction::Pull`], uploads (and blobs found existing or mounted) as
//! [`Direction::Push`], and each manifest fetched or written as
//! [`ManifestDone`](ProgressEvent::ManifestDone). A [`copy`](crate::copy) streams each
//! blob's download into its upload, so both report; [`ProgressTracker`] counts such a blob
//! once. See [`ocireg_v1::progress`] for the order of events.
//!
//! ```
//! use std::sync::Arc;
//! use ocireg_remote::{Options, ProgressTracker};
//!
//! let tracker = Arc::new(ProgressTracker::new());
//! let opts = Options::builder().progress(tracker.clone()).build()?;
//! assert!(opts.progress().is_some());
//! assert_eq!(tracker.snapshot().blobs_total, 0);
//! # Ok::<(), ocireg_remote::Error>(())
//! ```

use std::sync::Arc;

pub use ocireg_v1::progress::{
    BlobOutcome, BlobProgress, CountingStream, Direction, Progress, ProgressEvent,
    ProgressSnapshot, ProgressTracker, Reporter,
};

use ocireg_v1::Digest;

/// Reports a manifest transfer to an optional sink.
pub(crate) fn manifest_done(
    sink: Option<&Arc<dyn Progress>>,
    reference: &str,
    digest: Digest,
    size: u64,
    direction: Direction,
) {
    if let Some(s) = sink {
        s.update(&ProgressEvent::ManifestDone {
            reference: reference.to_owned(),
            digest,
            size,
            direction,
        });
    }
}
