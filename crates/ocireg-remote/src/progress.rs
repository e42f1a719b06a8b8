//! Progress of pulls and pushes, blob by blob (beyond ggcr, whose `WithProgress` covers
//! pushes only and reports one running total).
//!
//! Operations report [`ProgressEvent`]s to the [`Progress`] sink set with
//! [`OptionsBuilder::progress`](crate::OptionsBuilder::progress):
//!
//! 1. [`BlobStarted`](ProgressEvent::BlobStarted) once per blob, with its size when known;
//! 2. any number of [`BlobBytes`](ProgressEvent::BlobBytes), each with the **cumulative**
//!    bytes done for that blob. A restarted transfer (a download the server answered from
//!    byte 0 again, an upload begun anew) simply reports a smaller `done`, so a sink never
//!    has to undo anything;
//! 3. one [`BlobDone`](ProgressEvent::BlobDone) with the [`BlobOutcome`] (downloaded,
//!    uploaded, already there, mounted), or one [`BlobFailed`](ProgressEvent::BlobFailed).
//!
//! Manifests are reported with [`ManifestDone`](ProgressEvent::ManifestDone). Events of
//! different blobs interleave (transfers run in parallel, up to `jobs`); events of one blob
//! come in order from one task. Sinks are called inline on the transfer's task, so they must
//! be quick: count, store, or `try_send` into a channel.
//!
//! [`ProgressTracker`] aggregates events into totals (per blob and overall) that a CLI can
//! draw from at its own pace; any `Fn(&ProgressEvent)` closure is a sink too.
//!
//! ```
//! use std::sync::Arc;
//! use ocireg_remote::{BlobOutcome, Direction, Progress, ProgressEvent, ProgressTracker};
//!
//! let tracker = Arc::new(ProgressTracker::new());
//! let d = ocireg_v1::sha256(b"layer");
//! tracker.update(&ProgressEvent::BlobStarted { digest: d, total: Some(10), direction: Direction::Pull });
//! tracker.update(&ProgressEvent::BlobBytes { digest: d, done: 4 });
//! assert_eq!(tracker.snapshot().bytes_done, 4);
//! tracker.update(&ProgressEvent::BlobBytes { digest: d, done: 10 });
//! tracker.update(&ProgressEvent::BlobDone { digest: d, outcome: BlobOutcome::Downloaded });
//! let s = tracker.snapshot();
//! assert_eq!((s.bytes_done, s.bytes_total, s.blobs_done, s.blobs_total), (10, 10, 1, 1));
//! ```

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use ocireg_v1::Digest;

/// Which way bytes flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Direction {
    /// From a registry to us.
    Pull,
    /// From us to a registry.
    Push,
}

/// How a blob transfer ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BlobOutcome {
    /// Sent to the registry.
    Uploaded,
    /// The registry already had it (a `HEAD` said so); nothing was sent.
    Existed,
    /// Mounted from another repository of the same registry; nothing was sent.
    Mounted,
    /// Read from the registry to the end and verified.
    Downloaded,
}

impl BlobOutcome {
    /// Whether bytes actually moved (uploaded or downloaded).
    pub fn transferred(self) -> bool {
        matches!(self, Self::Uploaded | Self::Downloaded)
    }
}

/// One progress event; see the [module docs](self) for the order of events.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProgressEvent {
    /// A blob transfer began.
    BlobStarted {
        /// The blob.
        digest: Digest,
        /// Its size, when known (`None` for a streaming layer whose size is known only at the
        /// end).
        total: Option<u64>,
        /// Pull or push.
        direction: Direction,
    },
    /// Bytes of a blob moved: `done` is cumulative for this blob (it may go down when a
    /// transfer restarts from zero).
    BlobBytes {
        /// The blob.
        digest: Digest,
        /// Bytes done so far.
        done: u64,
    },
    /// A blob transfer finished successfully.
    BlobDone {
        /// The blob.
        digest: Digest,
        /// How it ended.
        outcome: BlobOutcome,
    },
    /// A blob transfer failed (the operation's error says why).
    BlobFailed {
        /// The blob.
        digest: Digest,
    },
    /// A manifest was fetched or written.
    ManifestDone {
        /// The reference it was fetched from or written to.
        reference: String,
        /// Its digest.
        digest: Digest,
        /// Its size in bytes.
        size: u64,
        /// Pull or push.
        direction: Direction,
    },
}

/// A sink for [`ProgressEvent`]s. Called inline on transfer tasks: keep it quick.
pub trait Progress: Send + Sync {
    /// Takes one event.
    fn update(&self, event: &ProgressEvent);
}

impl<F: Fn(&ProgressEvent) + Send + Sync> Progress for F {
    fn update(&self, event: &ProgressEvent) {
        self(event);
    }
}

/// The state of one blob in a [`ProgressSnapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BlobProgress {
    /// The blob.
    pub digest: Digest,
    /// Pull or push.
    pub direction: Direction,
    /// Its size, when known.
    pub total: Option<u64>,
    /// Bytes done (equals `total` once done, also for existing and mounted blobs).
    pub done: u64,
    /// How it ended, once it has.
    pub outcome: Option<BlobOutcome>,
    /// Whether it failed.
    pub failed: bool,
}

/// Totals at one moment, from [`ProgressTracker::snapshot`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProgressSnapshot {
    /// Blobs seen.
    pub blobs_total: usize,
    /// Blobs finished (any outcome).
    pub blobs_done: usize,
    /// Blobs failed.
    pub blobs_failed: usize,
    /// Sum of the known blob sizes.
    pub bytes_total: u64,
    /// Sum of bytes done, counting existing and mounted blobs as done (ggcr's `Complete`).
    pub bytes_done: u64,
    /// Sum of bytes that actually moved (downloaded or uploaded) or are moving.
    pub bytes_transferred: u64,
    /// Whether some blob's size is not known yet (so `bytes_total` may grow).
    pub total_unknown: bool,
    /// Manifests fetched or written.
    pub manifests: usize,
    /// Every blob, in the order first seen.
    pub blobs: Vec<BlobProgress>,
}

/// A [`Progress`] sink that aggregates events into totals, per blob and overall, and can
/// forward every event to another sink.
#[derive(Default)]
pub struct ProgressTracker {
    state: Mutex<TrackerState>,
    forward: Option<Arc<dyn Progress>>,
}

#[derive(Default)]
struct TrackerState {
    order: Vec<Digest>,
    blobs: HashMap<Digest, BlobProgress>,
    manifests: usize,
}

impl fmt::Debug for ProgressTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProgressTracker")
            .field("snapshot", &self.snapshot())
            .finish_non_exhaustive()
    }
}

impl ProgressTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tracker that also passes every event on to `sink` (after counting it).
    pub fn forwarding(sink: Arc<dyn Progress>) -> Self {
        Self {
            state: Mutex::default(),
            forward: Some(sink),
        }
    }

    /// The totals now.
    pub fn snapshot(&self) -> ProgressSnapshot {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut s = ProgressSnapshot {
            manifests: state.manifests,
            ..ProgressSnapshot::default()
        };
        for d in &state.order {
            let Some(b) = state.blobs.get(d) else {
                continue;
            };
            s.blobs_total += 1;
            match b.total {
                Some(t) => s.bytes_total += t,
                None => s.total_unknown = true,
            }
            s.bytes_done += b.done;
            if b.outcome.is_some() {
                s.blobs_done += 1;
            }
            if b.failed {
                s.blobs_failed += 1;
            }
            if b.outcome.is_none_or(BlobOutcome::transferred) {
                s.bytes_transferred += b.done;
            }
            s.blobs.push(b.clone());
        }
        s
    }
}

impl Progress for ProgressTracker {
    fn update(&self, event: &ProgressEvent) {
        {
            let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            match event {
                ProgressEvent::BlobStarted {
                    digest,
                    total,
                    direction,
                } => {
                    if !state.blobs.contains_key(digest) {
                        state.order.push(*digest);
                    }
                    state.blobs.insert(
                        *digest,
                        BlobProgress {
                            digest: *digest,
                            direction: *direction,
                            total: *total,
                            done: 0,
                            outcome: None,
                            failed: false,
                        },
                    );
                }
                ProgressEvent::BlobBytes { digest, done } => {
                    if let Some(b) = state.blobs.get_mut(digest) {
                        b.done = *done;
                    }
                }
                ProgressEvent::BlobDone { digest, outcome } => {
                    if let Some(b) = state.blobs.get_mut(digest) {
                        b.outcome = Some(*outcome);
                        match (outcome.transferred(), b.total) {
                            // A streaming layer learns its size at the end.
                            (true, None) => b.total = Some(b.done),
                            (false, Some(t)) => b.done = t,
                            _ => {}
                        }
                    }
                }
                ProgressEvent::BlobFailed { digest } => {
                    if let Some(b) = state.blobs.get_mut(digest) {
                        b.failed = true;
                    }
                }
                ProgressEvent::ManifestDone { .. } => state.manifests += 1,
            }
        }
        if let Some(f) = &self.forward {
            f.update(event);
        }
    }
}

/// Emits the events of one blob transfer to an optional sink, in the documented order
/// (used by the read and the write side; other crates may use it for their own transfers).
#[derive(Clone)]
pub struct Reporter {
    sink: Option<Arc<dyn Progress>>,
    digest: Digest,
}

impl fmt::Debug for Reporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reporter")
            .field("digest", &self.digest)
            .field("active", &self.sink.is_some())
            .finish()
    }
}

impl Reporter {
    /// A reporter for `digest` (a no-op without a sink).
    pub fn new(sink: Option<Arc<dyn Progress>>, digest: Digest) -> Self {
        Self { sink, digest }
    }

    fn emit(&self, event: &ProgressEvent) {
        if let Some(s) = &self.sink {
            s.update(event);
        }
    }

    /// `BlobStarted`.
    pub fn started(&self, total: Option<u64>, direction: Direction) {
        self.emit(&ProgressEvent::BlobStarted {
            digest: self.digest,
            total,
            direction,
        });
    }

    /// `BlobBytes` with the cumulative count.
    pub fn bytes(&self, done: u64) {
        self.emit(&ProgressEvent::BlobBytes {
            digest: self.digest,
            done,
        });
    }

    /// `BlobDone`.
    pub fn done(&self, outcome: BlobOutcome) {
        self.emit(&ProgressEvent::BlobDone {
            digest: self.digest,
            outcome,
        });
    }

    /// `BlobFailed`.
    pub fn failed(&self) {
        self.emit(&ProgressEvent::BlobFailed {
            digest: self.digest,
        });
    }

    /// Whether anyone listens.
    pub fn is_active(&self) -> bool {
        self.sink.is_some()
    }
}

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

/// A stream adapter that reports the cumulative bytes passing through it as
/// `BlobBytes { done: base + seen }` (for uploads, or any stream of a blob).
pub struct CountingStream<S> {
    inner: S,
    reporter: Reporter,
    done: u64,
}

impl<S> fmt::Debug for CountingStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CountingStream")
            .field("digest", &self.reporter.digest)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<S> CountingStream<S> {
    /// Counts from `base` (the bytes already done before this stream).
    pub fn new(inner: S, reporter: Reporter, base: u64) -> Self {
        Self {
            inner,
            reporter,
            done: base,
        }
    }
}

impl<S: Stream<Item = io::Result<Bytes>> + Unpin> Stream for CountingStream<S> {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(chunk))) = &item {
            self.done += chunk.len() as u64;
            let done = self.done;
            self.reporter.bytes(done);
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dig(s: &str) -> Digest {
        ocireg_v1::sha256(s)
    }

    #[test]
    fn tracker_counts_outcomes_and_restarts() {
        let tracker = ProgressTracker::new();
        let (a, b, c) = (dig("a"), dig("b"), dig("c"));
        tracker.update(&ProgressEvent::BlobStarted {
            digest: a,
            total: Some(100),
            direction: Direction::Push,
        });
        tracker.update(&ProgressEvent::BlobStarted {
            digest: b,
            total: Some(50),
            direction: Direction::Push,
        });
        tracker.update(&ProgressEvent::BlobStarted {
            digest: c,
            total: None,
            direction: Direction::Push,
        });
        tracker.update(&ProgressEvent::BlobBytes {
            digest: a,
            done: 60,
        });
        // The upload restarted: done goes back down.
        tracker.update(&ProgressEvent::BlobBytes {
            digest: a,
            done: 10,
        });
        tracker.update(&ProgressEvent::BlobDone {
            digest: b,
            outcome: BlobOutcome::Existed,
        });
        let snap = tracker.snapshot();
        assert_eq!(snap.blobs_total, 3);
        assert_eq!(snap.blobs_done, 1);
        assert_eq!(snap.bytes_total, 150);
        assert!(snap.total_unknown);
        assert_eq!(snap.bytes_done, 60);
        assert_eq!(snap.bytes_transferred, 10);
        tracker.update(&ProgressEvent::BlobBytes { digest: c, done: 7 });
        tracker.update(&ProgressEvent::BlobDone {
            digest: c,
            outcome: BlobOutcome::Uploaded,
        });
        tracker.update(&ProgressEvent::BlobFailed { digest: a });
        let snap = tracker.snapshot();
        assert!(!snap.total_unknown);
        assert_eq!(snap.bytes_total, 157);
        assert_eq!(snap.blobs_failed, 1);
        assert_eq!(
            snap.blobs.iter().map(|b| b.digest).collect::<Vec<_>>(),
            [a, b, c]
        );
    }

    #[test]
    fn closures_are_sinks_and_trackers_forward() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = {
            let seen = Arc::clone(&seen);
            move |e: &ProgressEvent| seen.lock().expect("not poisoned").push(e.clone())
        };
        let t = ProgressTracker::forwarding(Arc::new(sink));
        let r = Reporter::new(Some(Arc::new(t)), dig("x"));
        assert!(r.is_active());
        r.started(Some(3), Direction::Pull);
        r.bytes(3);
        r.done(BlobOutcome::Downloaded);
        assert_eq!(seen.lock().expect("not poisoned").len(), 3);
    }

    #[test]
    fn counting_stream_reports_cumulative_bytes() {
        use futures_util::StreamExt as _;
        let t = Arc::new(ProgressTracker::new());
        let r = Reporter::new(Some(t.clone()), dig("y"));
        r.started(Some(10), Direction::Pull);
        let chunks = futures_util::stream::iter(vec![
            Ok(Bytes::from_static(b"abc")),
            Ok(Bytes::from_static(b"de")),
        ]);
        let s = CountingStream::new(chunks, r, 5);
        let n = futures_executor_free_block_on(s.count());
        assert_eq!(n, 2);
        assert_eq!(t.snapshot().bytes_done, 10);
    }

    /// Polls a future that never waits (the stream above is ready at once).
    fn futures_executor_free_block_on<F: Future>(f: F) -> F::Output {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime builds");
        rt.block_on(f)
    }
}
