//! The retry policy: which failures are retried, and how long to wait between attempts.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};

/// How requests are retried.
///
/// The default: at most 5 attempts; waits of 1 s, 2 s, 4 s, 8 s (doubling, each capped at
/// 30 s) with ±10 % jitter; statuses 408, 429, 500, 502, 503 and 504 and transient connection
/// errors are retried; a `Retry-After` header (seconds or an HTTP date) replaces the backoff
/// when it asks for at most [`max_retry_after`](Self::max_retry_after) (60 s), and a longer
/// request fails with [`Error::RateLimited`](crate::Error::RateLimited).
///
/// A refused connection (nothing listens on the port: a registry that is down, a wrong
/// port) is retried less: while every attempt so far was refused, at most
/// [`max_refused_attempts`](Self::max_refused_attempts) (3) attempts with waits of at most
/// [`max_refused_backoff`](Self::max_refused_backoff) (500 ms), so a dead registry fails in
/// about a second instead of fifteen.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 disables retries).
    pub max_attempts: u32,
    /// The first wait.
    pub initial_backoff: Duration,
    /// The cap on any one wait.
    pub max_backoff: Duration,
    /// Jitter as a fraction of the wait (0.1 = ±10 %).
    pub jitter: f64,
    /// The longest `Retry-After` we honour; beyond it the request fails as rate limited.
    pub max_retry_after: Duration,
    /// Attempts in total while every one was refused (also bounded by `max_attempts`).
    pub max_refused_attempts: u32,
    /// The cap on a wait after a refused attempt.
    pub max_refused_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            jitter: 0.1,
            max_retry_after: Duration::from_secs(60),
            max_refused_attempts: 3,
            max_refused_backoff: Duration::from_millis(500),
        }
    }
}

impl RetryPolicy {
    /// The same policy with attempts in total, the first included set to `value`.
    #[must_use]
    pub fn with_max_attempts(mut self, value: u32) -> Self {
        self.max_attempts = value;
        self
    }

    /// The same policy with the first wait set to `value`.
    #[must_use]
    pub fn with_initial_backoff(mut self, value: Duration) -> Self {
        self.initial_backoff = value;
        self
    }

    /// The same policy with the cap on any one wait set to `value`.
    #[must_use]
    pub fn with_max_backoff(mut self, value: Duration) -> Self {
        self.max_backoff = value;
        self
    }

    /// The same policy with jitter as a fraction of the wait set to `value`.
    #[must_use]
    pub fn with_jitter(mut self, value: f64) -> Self {
        self.jitter = value;
        self
    }

    /// The same policy with the longest `Retry-After` honoured set to `value`.
    #[must_use]
    pub fn with_max_retry_after(mut self, value: Duration) -> Self {
        self.max_retry_after = value;
        self
    }

    /// The same policy with attempts in total while every one was refused set to `value`.
    #[must_use]
    pub fn with_max_refused_attempts(mut self, value: u32) -> Self {
        self.max_refused_attempts = value;
        self
    }

    /// The same policy with the cap on a wait after a refused attempt set to `value`.
    #[must_use]
    pub fn with_max_refused_backoff(mut self, value: Duration) -> Self {
        self.max_refused_backoff = value;
        self
    }

    /// No retries at all.
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The default attempts and statuses with millisecond backoffs, for tests (a
    /// `Retry-After` from the server is still honoured as sent).
    pub fn fast_for_tests() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(20),
            jitter: 0.0,
            max_retry_after: Duration::from_secs(60),
            max_refused_attempts: 3,
            max_refused_backoff: Duration::from_millis(20),
        }
    }

    /// The wait before attempt `attempt + 1`, after `attempt` failed attempts (1-based):
    /// `initial * 2^(attempt-1)`, capped, with jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(30);
        let base = self
            .initial_backoff
            .saturating_mul(1u32 << exp)
            .min(self.max_backoff);
        if self.jitter <= 0.0 {
            return base;
        }
        // Jitter in [-j, +j] from a cheap, good-enough random source.
        let r = (f64::from(random_u32()) / f64::from(u32::MAX)) * 2.0 - 1.0;
        let factor = (1.0 + r * self.jitter).max(0.0);
        base.mul_f64(factor)
            .min(self.max_backoff.mul_f64(1.0 + self.jitter))
    }

    /// The attempts allowed in all: fewer while every attempt so far was `refused`.
    pub(crate) fn attempts(&self, refused: bool) -> u32 {
        if refused {
            self.max_attempts.min(self.max_refused_attempts)
        } else {
            self.max_attempts
        }
    }

    /// The wait after `attempt` failed attempts, shorter while every one was `refused`.
    pub(crate) fn wait(&self, attempt: u32, refused: bool) -> Duration {
        let wait = self.backoff(attempt);
        if refused {
            wait.min(self.max_refused_backoff)
        } else {
            wait
        }
    }
}

/// Statuses that are retried: 408, 429, 500, 502, 503, 504.
pub fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// Parses `Retry-After` as delay-seconds or an HTTP date (relative to `now`).
///
/// `None` (use the normal backoff) when the header is absent, unparseable, zero, or a date
/// that is not in the future: a registry (or a clock skewed against ours) never makes us
/// retry at once, without the backoff.
pub fn parse_retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let wait = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let when = httpdate::parse_http_date(value).ok()?;
        when.duration_since(now).ok()?
    };
    Some(wait).filter(|w| !w.is_zero())
}

/// A small non-cryptographic random number for jitter (no extra dependency): hashes the
/// time and a counter with std's randomly keyed hasher.
fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(d) = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    #[expect(clippy::cast_possible_truncation, reason = "any 32 bits will do")]
    let r = h.finish() as u32;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        };
        let got: Vec<u64> = (1..=7).map(|a| p.backoff(a).as_secs()).collect();
        assert_eq!(got, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(p.backoff(1000), Duration::from_secs(30));
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let p = RetryPolicy::default();
        for attempt in 1..=6 {
            let base = RetryPolicy {
                jitter: 0.0,
                ..RetryPolicy::default()
            }
            .backoff(attempt);
            for _ in 0..50 {
                let d = p.backoff(attempt);
                assert!(
                    d >= base.mul_f64(0.9) && d <= base.mul_f64(1.1),
                    "{d:?} vs {base:?}"
                );
            }
        }
    }

    #[test]
    fn refused_attempts_are_fewer_and_their_waits_shorter() {
        let p = RetryPolicy {
            jitter: 0.0,
            ..RetryPolicy::default()
        };
        assert_eq!((p.attempts(false), p.attempts(true)), (5, 3));
        assert_eq!(p.wait(3, false), Duration::from_secs(4));
        assert_eq!(p.wait(3, true), Duration::from_millis(500));
        // Never more than `max_attempts`, refused or not.
        assert_eq!(RetryPolicy::never().attempts(true), 1);
    }

    #[test]
    fn statuses() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(is_retryable_status(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 405, 409, 413, 501] {
            assert!(
                !is_retryable_status(StatusCode::from_u16(s).unwrap()),
                "{s}"
            );
        }
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        assert_eq!(parse_retry_after(&h, now), None);
        h.insert(http::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(90));
        h.insert(http::header::RETRY_AFTER, later.parse().unwrap());
        assert_eq!(parse_retry_after(&h, now), Some(Duration::from_secs(90)));
        // A date in the past or zero seconds: the normal backoff, never an instant retry.
        let past = httpdate::fmt_http_date(now - Duration::from_secs(90));
        h.insert(http::header::RETRY_AFTER, past.parse().unwrap());
        assert_eq!(parse_retry_after(&h, now), None);
        let now_date = httpdate::fmt_http_date(now);
        h.insert(http::header::RETRY_AFTER, now_date.parse().unwrap());
        assert_eq!(parse_retry_after(&h, now), None);
        h.insert(http::header::RETRY_AFTER, "0".parse().unwrap());
        assert_eq!(parse_retry_after(&h, now), None);
        h.insert(http::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(parse_retry_after(&h, now), None);
    }
}
