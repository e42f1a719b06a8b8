//! Helpers shared by the integration tests.

#![allow(
    dead_code,
    reason = "each test binary uses a different subset of the helpers"
)]

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, StatusCode};
use ocireg_authn::{Anonymous, Authenticator, Basic};
use ocireg_name::Registry;
use ocireg_transport::{Body, Client, ClientBuilder, Scopes, Timeouts, Transport};

/// Upper bound for any one test: a hang fails the test instead of CI.
pub(crate) const LIMIT: Duration = Duration::from_secs(60);

/// A client for tests: tiny backoffs, short timeouts, no proxy, no certs.d.
pub(crate) fn builder() -> ClientBuilder {
    Client::builder().for_tests()
}

pub(crate) fn client() -> Client {
    builder().build().expect("test client builds")
}

pub(crate) fn anonymous() -> Arc<dyn Authenticator> {
    Arc::new(Anonymous)
}

pub(crate) fn basic(user: &str, password: &str) -> Arc<dyn Authenticator> {
    Arc::new(Basic::new(user, password))
}

pub(crate) fn registry(host: &str) -> Registry {
    Registry::new(host).expect("valid registry name")
}

pub(crate) async fn transport(
    client: &Client,
    host: &str,
    scopes: Scopes,
    auth: Arc<dyn Authenticator>,
) -> Transport {
    client
        .transport(&registry(host), scopes, auth)
        .await
        .expect("transport")
}

pub(crate) fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).expect("request")
}

pub(crate) const OK: &[StatusCode] = &[StatusCode::OK];

/// Debug and Display of an error with its whole source chain.
pub(crate) fn render(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = format!("{e} / {e:?}");
    let mut cur = e.source();
    while let Some(c) = cur {
        let _ = write!(s, " / {c} / {c:?}");
        cur = c.source();
    }
    s
}

/// Timeouts of `ms` milliseconds for everything.
pub(crate) fn short_timeouts(ms: u64) -> Timeouts {
    let d = Duration::from_millis(ms);
    Timeouts::default()
        .with_connect(d)
        .with_tls_handshake(d)
        .with_response_headers(d)
        .with_idle_read(d)
        .with_body_grace(d)
}
