//! Progress of blob transfers, blob by blob: plain data and a counter, for every crate that
//! moves blobs (the registry client, image layouts, tarballs) and every front end that draws
//! them. Beyond ggcr, whose `WithProgress` covers pushes only and reports one running total.
//!
//! A transfer reports [`ProgressEvent`]s to a [`Progress`] sink:
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
//! different blobs interleave (transfers run in parallel); events of one blob come in order
//! from one task. Sinks are called inline on the transfer's task, so they must be quick:
//! count, store, or `try_send` into a channel. [`Reporter`] emits the events of one blob in
//! that order, and [`CountingStream`] reports the bytes passing through a stream.
//!
//! A copy streams a download straight into an upload, so one blob then has two transfers
//! under way at once: a pull and a push, each with its own events. [`ProgressTracker`]
//! counts such a blob once, as a push that ends with the upload's outcome.
//!
//! [`ProgressTracker`] aggregates events into totals (per blob and overall) that a front end
//! draws from at its own pace; any `Fn(&ProgressEvent)` closure is a sink too. Everything
//! here is plain data under `std::sync` locks: no IO, no clock, no async runtime.
//!
//! ```
//! use std::sync::Arc;
//! use ocireg_v1::progress::{BlobOutcome, Direction, Progress, ProgressEvent, ProgressTracker};
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

use crate::Digest;
use bytes::Bytes;
use futures_core::Stream;

/// Which way bytes flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Direction {
    /// From a source (a registry, a layout, a tarball) to us.
    Pull,
    /// From us to a destination.
    Push,
}

/// How a blob transfer ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BlobOutcome {
    /// Sent to the destination.
    Uploaded,
    /// The destination already had it (a `HEAD` said so); nothing was sent.
    Existed,
    /// Mounted from another repository of the same registry; nothing was sent.
    Mounted,
    /// Read from the source to the end and verified.
    Downloaded,
}

impl BlobOutcome {
    /// Whether bytes actually moved (uploaded or downloaded).
    pub fn transferred(self) -> bool {
        matches!(self, Self::Uploaded | Self::Downloaded)
    }

    /// The direction of the transfer that ends this way: [`Direction::Pull`] for
    /// [`Downloaded`](Self::Downloaded), [`Direction::Push`] for the others.
    pub fn direction(self) -> Direction {
        match self {
            Self::Downloaded => Direction::Pull,
            Self::Uploaded | Self::Existed | Self::Mounted => Direction::Push,
        }
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
    /// Pull or push (push for a blob that is copied: pulled and pushed at once).
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

impl BlobProgress {
    /// Whether its transfer is under way: neither ended nor failed.
    pub fn in_progress(&self) -> bool {
        self.outcome.is_none() && !self.failed
    }
}

/// Totals at one moment, from [`ProgressTracker::snapshot`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProgressSnapshot {
    /// Blobs seen.
    pub blobs_total: usize,
    /// Blobs finished (any outcome).
    pub blobs_done: usize,
    /// Blobs finished whose bytes moved (downloaded or uploaded).
    pub blobs_transferred: usize,
    /// Blobs failed.
    pub blobs_failed: usize,
    /// Sum of the known blob sizes.
    pub bytes_total: u64,
    /// Sum of bytes done, counting existing and mounted blobs as done (ggcr's `Complete`).
    pub bytes_done: u64,
    /// Sum of bytes that actually moved (downloaded or uploaded) or are moving.
    pub bytes_transferred: u64,
    /// Sum of the sizes of blobs that did not have to move (existing or mounted), so
    /// `bytes_total - bytes_skipped` is what moves in all.
    pub bytes_skipped: u64,
    /// Whether some blob's size is not known yet (so `bytes_total` may grow).
    pub total_unknown: bool,
    /// Manifests fetched or written.
    pub manifests: usize,
    /// Every blob, in the order first seen.
    pub blobs: Vec<BlobProgress>,
}

/// A [`Progress`] sink that aggregates events into totals, per blob and overall, and can
/// forward every event to another sink.
///
/// A blob that is pulled and pushed at once (a copy streams the download into the upload)
/// counts once: the pull's start, end and failure are folded into the push, whose outcome
/// ends the blob; the bytes of both are the blob's bytes.
#[derive(Default)]
pub struct ProgressTracker {
    state: Mutex<TrackerState>,
    forward: Option<Arc<dyn Progress>>,
}

#[derive(Default)]
struct TrackerState {
    order: Vec<Digest>,
    blobs: HashMap<Digest, Entry>,
    manifests: usize,
}

/// A blob and whether a pull and a push of it are both under way (a copy).
struct Entry {
    blob: BlobProgress,
    both_ways: bool,
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
            let Some(Entry { blob: b, .. }) = state.blobs.get(d) else {
                continue;
            };
            s.blobs_total += 1;
            match b.total {
                Some(t) => s.bytes_total += t,
                None => s.total_unknown = true,
            }
            s.bytes_done += b.done;
            if let Some(outcome) = b.outcome {
                s.blobs_done += 1;
                if outcome.transferred() {
                    s.blobs_transferred += 1;
                } else {
                    s.bytes_skipped += b.total.unwrap_or(b.done);
                }
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

    /// The state of one blob now, if it was seen.
    pub fn blob(&self, digest: &Digest) -> Option<BlobProgress> {
        let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.blobs.get(digest).map(|e| e.blob.clone())
    }

    /// Counts `event` (without forwarding it) and returns the blob's state when this event
    /// ended a blob: a front end prints its line then. The end of the pull half of a copy
    /// does not end the blob; the push's does.
    pub fn record(&self, event: &ProgressEvent) -> Option<BlobProgress> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match event {
            ProgressEvent::BlobStarted {
                digest,
                total,
                direction,
            } => {
                if let Some(e) = state.blobs.get_mut(digest)
                    && e.blob.in_progress()
                    && e.blob.direction != *direction
                {
                    // The other half of a copy: one blob, a push.
                    e.both_ways = true;
                    e.blob.direction = Direction::Push;
                    if e.blob.total.is_none() {
                        e.blob.total = *total;
                    }
                    return None;
                }
                if !state.blobs.contains_key(digest) {
                    state.order.push(*digest);
                }
                let blob = BlobProgress {
                    digest: *digest,
                    direction: *direction,
                    total: *total,
                    done: 0,
                    outcome: None,
                    failed: false,
                };
                state.blobs.insert(
                    *digest,
                    Entry {
                        blob,
                        both_ways: false,
                    },
                );
                None
            }
            ProgressEvent::BlobBytes { digest, done } => {
                if let Some(e) = state.blobs.get_mut(digest) {
                    e.blob.done = *done;
                }
                None
            }
            ProgressEvent::BlobDone { digest, outcome } => {
                let e = state.blobs.get_mut(digest)?;
                if e.both_ways && outcome.direction() != e.blob.direction {
                    // The download of a copy is read to its end: the upload goes on.
                    e.both_ways = false;
                    return None;
                }
                e.both_ways = false;
                e.blob.outcome = Some(*outcome);
                e.blob.failed = false;
                match (outcome.transferred(), e.blob.total) {
                    // A streaming layer learns its size at the end.
                    (true, None) => e.blob.total = Some(e.blob.done),
                    (false, Some(t)) => e.blob.done = t,
                    _ => {}
                }
                Some(e.blob.clone())
            }
            ProgressEvent::BlobFailed { digest } => {
                if let Some(e) = state.blobs.get_mut(digest) {
                    if e.both_ways {
                        // Either half: the push reports its own end (it may re-open the
                        // source and go on).
                        e.both_ways = false;
                    } else {
                        e.blob.failed = true;
                    }
                }
                None
            }
            ProgressEvent::ManifestDone { .. } => {
                state.manifests += 1;
                None
            }
        }
    }
}

impl Progress for ProgressTracker {
    fn update(&self, event: &ProgressEvent) {
        self.record(event);
        if let Some(f) = &self.forward {
            f.update(event);
        }
    }
}

/// Emits the events of one blob transfer to an optional sink, in the documented order (the
/// registry client's downloads and uploads use it; so may any other transfer).
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
        crate::sha256(s)
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
        let n = futures_executor::block_on(s.count());
        assert_eq!(n, 2);
        assert_eq!(t.snapshot().bytes_done, 10);
    }

    fn started(digest: Digest, total: Option<u64>, direction: Direction) -> ProgressEvent {
        ProgressEvent::BlobStarted {
            digest,
            total,
            direction,
        }
    }

    fn done(digest: Digest, outcome: BlobOutcome) -> ProgressEvent {
        ProgressEvent::BlobDone { digest, outcome }
    }

    #[test]
    fn a_copied_blob_is_one_push_ended_by_the_upload() {
        let t = ProgressTracker::new();
        let (a, b) = (dig("copied"), dig("existing"));
        // The upload starts, opens the source, and the download starts inside it.
        assert_eq!(t.record(&started(a, Some(8), Direction::Push)), None);
        assert_eq!(t.record(&started(a, Some(8), Direction::Pull)), None);
        t.record(&ProgressEvent::BlobBytes { digest: a, done: 5 });
        // The download ends first: the blob is not done yet.
        assert_eq!(t.record(&done(a, BlobOutcome::Downloaded)), None);
        let s = t.snapshot();
        assert_eq!((s.blobs_total, s.blobs_done, s.bytes_done), (1, 0, 5));
        assert_eq!(s.blobs[0].direction, Direction::Push);
        t.record(&ProgressEvent::BlobBytes { digest: a, done: 8 });
        let ended = t
            .record(&done(a, BlobOutcome::Uploaded))
            .expect("the upload ends it");
        assert_eq!(ended.outcome, Some(BlobOutcome::Uploaded));
        assert_eq!((ended.done, ended.total), (8, Some(8)));

        t.record(&started(b, Some(100), Direction::Push));
        let ended = t.record(&done(b, BlobOutcome::Existed)).expect("ended");
        assert_eq!(ended.done, 100);
        let s = t.snapshot();
        assert_eq!(
            (s.blobs_total, s.blobs_done, s.blobs_transferred),
            (2, 2, 1)
        );
        assert_eq!((s.bytes_total, s.bytes_done), (108, 108));
        assert_eq!((s.bytes_transferred, s.bytes_skipped), (8, 100));
        assert_eq!(t.blob(&a).map(|b| b.in_progress()), Some(false));
    }

    #[test]
    fn a_failed_half_of_a_copy_leaves_the_push_to_end_it() {
        let t = ProgressTracker::new();
        let a = dig("a");
        t.record(&started(a, Some(8), Direction::Push));
        t.record(&started(a, Some(8), Direction::Pull));
        // The download broke; the upload re-opens the source and goes on.
        t.record(&ProgressEvent::BlobFailed { digest: a });
        assert!(t.blob(&a).is_some_and(|b| b.in_progress()));
        t.record(&started(a, Some(8), Direction::Pull));
        assert!(t.record(&done(a, BlobOutcome::Uploaded)).is_some());
        assert_eq!(t.snapshot().blobs_failed, 0);

        // A push alone that fails is failed; a pull alone ends with its download.
        let (b, c) = (dig("b"), dig("c"));
        t.record(&started(b, Some(1), Direction::Push));
        t.record(&ProgressEvent::BlobFailed { digest: b });
        t.record(&started(c, Some(1), Direction::Pull));
        assert!(t.record(&done(c, BlobOutcome::Downloaded)).is_some());
        let snap = t.snapshot();
        assert_eq!(
            (snap.blobs_total, snap.blobs_done, snap.blobs_failed),
            (3, 2, 1)
        );
        // A blob pushed again after it ended starts over.
        t.record(&started(c, Some(1), Direction::Push));
        assert!(t.blob(&c).is_some_and(|b| b.in_progress() && b.done == 0));
    }
}
