//! crane against registries that misbehave: a body trickled a byte at a time, endless
//! pagination. Each run ends within a bound, with a clear error.

use std::time::{Duration, Instant};

use ocireg_testsupport::{FaultServer, RecordedRequest, Reply};

use crate::support::{Crane, runtime};

/// `crane manifest` of a manifest trickled one byte every 100 ms: `--timeout` ends the run
/// at its limit (without it, the body rate rule would after 30 s).
#[test]
fn timeout_bounds_a_trickling_registry() {
    let rt = runtime();
    let server = rt.block_on(async {
        FaultServer::with_handler(|req: &RecordedRequest| match req.path() {
            "/v2/" => Reply::ok(),
            _ => Reply::ok()
                .header("content-type", "application/vnd.oci.image.manifest.v1+json")
                .body(vec![b' '; 2000])
                .trickle(Duration::from_millis(100)),
        })
        .await
        .expect("fault server")
    });
    let started = Instant::now();
    let run = Crane::new().run(&[
        "manifest",
        &format!("{}/r:t", server.host()),
        "--timeout",
        "2s",
    ]);
    let elapsed = started.elapsed();
    let err = run.failed_with(1);
    assert!(err.contains("--timeout"), "{err}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

/// `crane ls` of a registry whose `Link` always points back to the same page stops at once
/// (it used to send hundreds of requests a second while its memory grew).
#[test]
fn ls_stops_on_a_pagination_loop() {
    let rt = runtime();
    let server = rt.block_on(async {
        FaultServer::with_handler(|req: &RecordedRequest| match req.path() {
            "/v2/" => Reply::ok(),
            _ => Reply::ok()
                .header("link", "</v2/r/tags/list?n=1000&last=a>; rel=\"next\"")
                .json(&serde_json::json!({"name": "r", "tags": ["a"]})),
        })
        .await
        .expect("fault server")
    });
    let run = Crane::new().run(&["ls", &format!("{}/r", server.host())]);
    let err = run.failed_with(1);
    assert!(
        err.contains("leads back to a page already fetched"),
        "{err}"
    );
    assert!(
        server.request_count() <= 4,
        "{} requests",
        server.request_count()
    );
}
