//! `crane registry serve`: the embedded registry, and waiting for Ctrl-C.

use std::path::Path;

use ocireg_registry::{Registry, RunningRegistry, Storage};

use crate::error::{Error, Result};
use crate::options::Options;

/// The address `registry serve` listens on: `address` when given (Go's
/// `:PORT` form means every interface), else every interface on `$PORT`
/// from the options' environment, else on a port the system picks.
#[must_use]
pub fn serve_address(address: Option<&str>, opts: &Options) -> String {
    let chosen = if let Some(a) = address.filter(|a| !a.is_empty()) {
        a.to_owned()
    } else {
        let port = opts
            .environment()
            .var("PORT")
            .filter(|p| !p.is_empty())
            .unwrap_or("0");
        format!(":{port}")
    };
    match chosen.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => chosen,
    }
}

/// Starts the embedded registry (crane's `registry serve`) in a task on the
/// current runtime and returns its handle: the address it listens on
/// ([`serve_address`]), blobs in memory or, with `disk`, under that
/// directory (created if missing). The referrers API is on.
///
/// The server runs until the handle's `shutdown` (or its drop).
pub async fn registry_serve(
    address: Option<&str>,
    disk: Option<&Path>,
    opts: &Options,
) -> Result<RunningRegistry> {
    let listen_on = serve_address(address, opts);
    let storage = disk.map_or(Storage::Memory, |d| Storage::Disk(d.to_path_buf()));
    let to_error = |source| Error::Serve {
        address: listen_on.clone(),
        source,
    };
    Registry::builder()
        .referrers(true)
        .storage(storage)
        .build()
        .map_err(to_error)?
        .spawn_on(listen_on.as_str())
        .await
        .map_err(to_error)
}

/// Completes when the process is asked to stop: Ctrl-C (SIGINT), or SIGTERM
/// on Unix. If the signals cannot be watched it never completes, and the
/// default signal handling ends the process instead.
pub async fn interrupted() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = ctrl_c => {}
            () = term => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use ocireg_authn::Environment;

    #[test]
    fn address_table() {
        let with_port =
            Options::new().with_environment(Environment::empty().with_var("PORT", "8080"));
        let without = Options::new().with_environment(Environment::empty());
        let table = [
            (None, &without, "0.0.0.0:0"),
            (None, &with_port, "0.0.0.0:8080"),
            (Some(""), &with_port, "0.0.0.0:8080"),
            (Some("127.0.0.1:5000"), &with_port, "127.0.0.1:5000"),
            (Some(":5001"), &without, "0.0.0.0:5001"),
            (Some("localhost:0"), &without, "localhost:0"),
        ];
        for (address, opts, want) in table {
            assert_eq!(serve_address(address, opts), want, "{address:?}");
        }
    }

    #[tokio::test]
    async fn serves_and_stops() {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = Options::new().with_environment(Environment::empty());
        let blobs = dir.path().join("blobs");
        let running = registry_serve(Some("127.0.0.1:0"), Some(&blobs), &opts)
            .await
            .expect("serve");
        assert_ne!(running.addr().port(), 0);
        let response = ocireg_testsupport::TestClient::new()
            .get(&format!("{}/v2/", running.url()))
            .await
            .expect("GET /v2/");
        assert_eq!(response.status, 200);
        running.shutdown().await.expect("shutdown");
    }

    #[tokio::test]
    async fn a_busy_address_is_an_error() {
        let opts = Options::new().with_environment(Environment::empty());
        let first = registry_serve(Some("127.0.0.1:0"), None, &opts)
            .await
            .expect("serve");
        let err = registry_serve(Some(&first.host()), None, &opts)
            .await
            .expect_err("address in use");
        assert_eq!(err.kind(), ErrorKind::Other);
        assert!(
            err.to_string()
                .starts_with("serving the registry on 127.0.0.1:"),
            "{err}"
        );
        first.shutdown().await.expect("shutdown");
    }
}
