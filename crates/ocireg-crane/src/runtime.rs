//! Running operations: [`run`] drives one to completion on a runtime of its own (what a
//! program without an async runtime, such as the `crane` binary, calls), and [`within`]
//! bounds one by a time limit (crane's `--timeout`).

use std::time::Duration;

use crate::error::{Error, Result};

/// Runs `operation` to completion on a new multi-threaded runtime with every driver
/// (network, timers, signals), and returns its output.
///
/// The runtime is shut down without waiting when `operation` is done: requests it
/// abandoned (cancelled by [`within`], or left behind by a failure) do not delay the
/// return. Call it from synchronous code; inside a runtime, `.await` the operations
/// instead. Fails only when the runtime cannot be started.
///
/// ```
/// let version = ocireg_crane::run(async { ocireg_crane::version() })?;
/// assert_eq!(version, ocireg_crane::VERSION);
/// # Ok::<(), ocireg_crane::Error>(())
/// ```
pub fn run<F: Future>(operation: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| Error::Io {
            doing: "starting the async runtime".to_owned(),
            source,
        })?;
    let output = rt.block_on(operation);
    rt.shutdown_background();
    Ok(output)
}

/// Runs `operation` within `limit` (crane's `--timeout`): past it the operation is dropped
/// (cancelling its requests) and [`Error::TimedOut`] returned. `None` runs it unbounded,
/// each request still bounded by the transport's timeouts.
pub async fn within<T>(limit: Option<Duration>, operation: impl Future<Output = T>) -> Result<T> {
    match limit {
        None => Ok(operation.await),
        Some(limit) => tokio::time::timeout(limit, operation)
            .await
            .map_err(|_| Error::TimedOut { limit }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_drives_a_future_and_within_bounds_it() {
        let out = run(async { within(None, async { 7 }).await }).expect("runtime");
        assert_eq!(out.expect("no limit"), 7);
        let out = run(within(
            Some(Duration::from_millis(10)),
            std::future::pending::<()>(),
        ))
        .expect("runtime");
        assert!(matches!(out, Err(Error::TimedOut { .. })), "{out:?}");
    }
}
