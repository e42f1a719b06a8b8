//! [`Progress`]: what a copy or push reports while it moves blobs, for a
//! front end to draw (crane's bars or log lines). The remote layer's own
//! progress events are translated into these calls, so front ends depend
//! on this crate only.

use std::fmt;
use std::time::Duration;

use ocireg_v1::Digest;

/// What became of one blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BlobOutcome {
    /// Its bytes were transferred.
    Transferred,
    /// The destination had it already; nothing was sent.
    Existed,
    /// The destination registry mounted it from another repository.
    Mounted,
}

impl fmt::Display for BlobOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Transferred => "copied",
            Self::Existed => "exists",
            Self::Mounted => "mounted",
        })
    }
}

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

/// Receives the progress of an operation. Every method has an empty
/// default, so implementations pick what they draw. Called from several
/// tasks at once; keep the methods quick.
pub trait Progress: Send + Sync {
    /// The operation starts: `what` names it (`copying r.io/a:1 to r.io/b:1`);
    /// the blob count and total size are given when known in advance.
    fn started(&self, what: &str, blobs: Option<usize>, bytes: Option<u64>) {
        let _ = (what, blobs, bytes);
    }

    /// One blob starts moving; its size is known for registry blobs.
    fn blob_started(&self, digest: &Digest, size: Option<u64>) {
        let _ = (digest, size);
    }

    /// `done` bytes of the blob have moved so far (cumulative).
    fn blob_progress(&self, digest: &Digest, done: u64) {
        let _ = (digest, done);
    }

    /// The blob is done: transferred, found existing, or mounted.
    fn blob_finished(&self, digest: &Digest, size: u64, outcome: BlobOutcome) {
        let _ = (digest, size, outcome);
    }

    /// A manifest (or tag) was written: `reference` is what now points to it.
    fn manifest_written(&self, reference: &str, digest: &Digest) {
        let _ = (reference, digest);
    }

    /// The operation is over (also called after a failure, with what was done).
    fn finished(&self, summary: &Summary) {
        let _ = summary;
    }
}

/// A [`Progress`] that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

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

    #[test]
    fn no_progress_accepts_everything() {
        let p: &dyn Progress = &NoProgress;
        let d = ocireg_v1::sha256(b"x");
        p.started("x", Some(1), Some(1));
        p.blob_started(&d, Some(1));
        p.blob_progress(&d, 1);
        p.blob_finished(&d, 1, BlobOutcome::Transferred);
        p.finished(&Summary::default());
        assert_eq!(BlobOutcome::Mounted.to_string(), "mounted");
    }
}
