//! [`Progress`]: what an operation that moves blobs (a copy; later pulls and pushes)
//! shows while it runs, for a front end to draw (crane's bars or log lines).
//!
//! The operation counts with one [`ProgressTracker`], ocireg-v1's, fed the same
//! [`ProgressEvent`]s every crate that moves blobs reports. It hands the tracker to the
//! front end when it starts and passes each event on once counted, so a front end draws
//! what the tracker counts and never counts again. [`Summary`] is the tracker's final
//! count with the time taken.

use std::sync::Arc;
use std::time::{Duration, Instant};

pub use ocireg_v1::progress::{
    BlobOutcome, BlobProgress, Direction, ProgressEvent, ProgressSnapshot, ProgressTracker,
};

use crate::options::Options;

/// The totals of a finished operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// Blobs handled (transferred, existing or mounted).
    pub blobs: usize,
    /// Blobs whose bytes were transferred.
    pub transferred: usize,
    /// Bytes transferred.
    pub bytes: u64,
    /// Wall time from start to finish.
    pub elapsed: Duration,
}

impl Summary {
    /// A summary of `blobs` blobs of which `transferred` moved `bytes` bytes in `elapsed`.
    #[must_use]
    pub fn new(blobs: usize, transferred: usize, bytes: u64, elapsed: Duration) -> Self {
        Self {
            blobs,
            transferred,
            bytes,
            elapsed,
        }
    }

    /// The summary of what a tracker counted, over `elapsed`.
    #[must_use]
    pub fn of(snapshot: &ProgressSnapshot, elapsed: Duration) -> Self {
        Self::new(
            snapshot.blobs_done,
            snapshot.blobs_transferred,
            snapshot.bytes_transferred,
            elapsed,
        )
    }

    /// Bytes per second over the whole operation (0 when nothing took time).
    #[must_use]
    pub fn rate(&self) -> u64 {
        let millis = self.elapsed.as_millis();
        if millis == 0 {
            return 0;
        }
        u64::try_from(u128::from(self.bytes) * 1000 / millis).unwrap_or(u64::MAX)
    }
}

/// Receives the progress of an operation that moves blobs. Every method has an empty
/// default, so implementations pick what they draw. [`update`](Self::update) is called
/// from several tasks at once; keep it quick.
pub trait Progress: Send + Sync {
    /// The operation starts: `what` names it (`copying r.io/a:1 to r.io/b:1`), and
    /// `tracker` counts its blobs and bytes as they move (read it at any pace). Nothing
    /// has moved yet, and may never (a destination that is up to date).
    fn started(&self, what: &str, tracker: &Arc<ProgressTracker>) {
        let _ = (what, tracker);
    }

    /// One event, already counted by the tracker. `ended` is the blob's state when this
    /// event ended a blob (uploaded, downloaded, found existing or mounted); the pull half
    /// of a copy does not end its blob, the push does.
    fn update(&self, event: &ProgressEvent, ended: Option<&BlobProgress>) {
        let _ = (event, ended);
    }

    /// The operation succeeded; `summary` is what the tracker counted.
    fn finished(&self, summary: &Summary) {
        let _ = summary;
    }

    /// The operation failed: clear what is drawn (the caller reports the error). An
    /// operation that fails before any event (a registry that cannot be reached) may end
    /// without calling it.
    fn failed(&self) {}
}

/// A [`Progress`] that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// One operation's progress: the tracker that counts, the front end that draws. It is
/// the sink the remote layer reports to.
pub(crate) struct Operation {
    front: Arc<dyn Progress>,
    tracker: Arc<ProgressTracker>,
    started: Instant,
}

impl Operation {
    /// Starts an operation named `what`, when `opts` has a front end.
    pub(crate) fn start(opts: &Options, what: &str) -> Option<Arc<Self>> {
        let front = Arc::clone(opts.progress()?);
        let tracker = Arc::new(ProgressTracker::new());
        front.started(what, &tracker);
        Some(Arc::new(Self {
            front,
            tracker,
            started: Instant::now(),
        }))
    }

    /// The sink for the remote layer's options.
    pub(crate) fn sink(op: Option<&Arc<Self>>) -> Option<Arc<dyn ocireg_v1::progress::Progress>> {
        op.map(|o| Arc::clone(o) as Arc<dyn ocireg_v1::progress::Progress>)
    }

    /// Tells the front end how the operation ended: a summary on success, nothing but
    /// [`Progress::failed`] on failure.
    pub(crate) fn end<T, E>(op: Option<&Arc<Self>>, result: &Result<T, E>) {
        let Some(op) = op else { return };
        if result.is_ok() {
            let summary = Summary::of(&op.tracker.snapshot(), op.started.elapsed());
            op.front.finished(&summary);
        } else {
            op.front.failed();
        }
    }
}

impl ocireg_v1::progress::Progress for Operation {
    fn update(&self, event: &ProgressEvent) {
        let ended = self.tracker.record(event);
        self.front.update(event, ended.as_ref());
    }
}

/// Formats a byte count for people: `512 B`, `1.5 KiB`, `20.0 MiB`.
#[must_use]
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut unit = 0;
    let mut scaled = bytes;
    // Tenths of the unit, computed in integers.
    let mut tenths = 0;
    while scaled >= 1024 && unit < UNITS.len() {
        tenths = (scaled % 1024) * 10 / 1024;
        scaled /= 1024;
        unit += 1;
    }
    format!("{scaled}.{tenths} {}", UNITS[unit - 1])
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[test]
    fn human_bytes_table() {
        let table = [
            (0, "0 B"),
            (1023, "1023 B"),
            (1024, "1.0 KiB"),
            (1536, "1.5 KiB"),
            (20 * 1024 * 1024, "20.0 MiB"),
            (1024 * 1024 * 1024 + 512 * 1024 * 1024, "1.5 GiB"),
        ];
        for (n, want) in table {
            assert_eq!(human_bytes(n), want, "{n}");
        }
    }

    #[test]
    fn summary_rate() {
        assert_eq!(
            Summary::new(1, 1, 2000, Duration::from_secs(2)).rate(),
            1000
        );
        assert_eq!(Summary::new(1, 1, 2000, Duration::ZERO).rate(), 0);
    }

    /// Records what a front end is told.
    #[derive(Default)]
    struct Recorder {
        calls: Mutex<Vec<String>>,
        tracker: Mutex<Option<Arc<ProgressTracker>>>,
    }

    impl Recorder {
        fn push(&self, call: String) {
            self.calls.lock().expect("calls").push(call);
        }
    }

    impl Progress for Recorder {
        fn started(&self, what: &str, tracker: &Arc<ProgressTracker>) {
            *self.tracker.lock().expect("tracker") = Some(Arc::clone(tracker));
            self.push(format!("started {what}"));
        }

        fn update(&self, event: &ProgressEvent, ended: Option<&BlobProgress>) {
            let bytes = self
                .tracker
                .lock()
                .expect("tracker")
                .as_ref()
                .map(|t| t.snapshot().bytes_done);
            match (event, ended) {
                (_, Some(b)) => self.push(format!("ended {:?} at {bytes:?}", b.outcome)),
                (ProgressEvent::BlobBytes { .. }, None) => self.push(format!("bytes {bytes:?}")),
                _ => {}
            }
        }

        fn finished(&self, summary: &Summary) {
            self.push(format!(
                "finished {} {} {}",
                summary.blobs, summary.transferred, summary.bytes
            ));
        }

        fn failed(&self) {
            self.push("failed".to_owned());
        }
    }

    #[test]
    fn an_operation_counts_once_and_ends_with_a_summary_or_a_failure() {
        let front = Arc::new(Recorder::default());
        let opts = Options::new().with_progress(front.clone());
        let op = Operation::start(&opts, "copying a to b").expect("a front end is set");
        let sink = Operation::sink(Some(&op)).expect("a sink");
        let d = ocireg_v1::sha256(b"blob");
        // A copy: the push and the pull of one blob, the download ending first.
        sink.update(&ProgressEvent::BlobStarted {
            digest: d,
            total: Some(4),
            direction: Direction::Push,
        });
        sink.update(&ProgressEvent::BlobStarted {
            digest: d,
            total: Some(4),
            direction: Direction::Pull,
        });
        sink.update(&ProgressEvent::BlobBytes { digest: d, done: 4 });
        for outcome in [BlobOutcome::Downloaded, BlobOutcome::Uploaded] {
            sink.update(&ProgressEvent::BlobDone { digest: d, outcome });
        }
        Operation::end(Some(&op), &Ok::<(), ()>(()));
        Operation::end(Some(&op), &Err::<(), ()>(()));
        assert_eq!(
            *front.calls.lock().expect("calls"),
            [
                "started copying a to b",
                "bytes Some(4)",
                "ended Some(Uploaded) at Some(4)",
                "finished 1 1 4",
                "failed",
            ]
        );
        // Without a front end there is no operation and nothing to tell.
        assert!(Operation::start(&Options::new(), "x").is_none());
        Operation::end(None, &Ok::<(), ()>(()));
    }
}
