//! Test support for ocireg, never published (`publish = false`) and only
//! ever a dev-dependency: real registries and misbehaving servers on
//! loopback, so that every crate can test against the real thing.
//!
//! It has no ggcr counterpart (ggcr tests against an in-process registry);
//! it depends on no other ocireg crate, so authn, transport, remote and
//! crane can all use it without cycles.
//!
//! - [`Distribution`] starts CNCF distribution (`docker-registry serve`,
//!   Debian package `docker-registry`) on a free 127.0.0.1 port, anonymous or
//!   with htpasswd Basic auth or bearer tokens from a [`TokenServer`], over
//!   plain http or TLS from a [`TestCa`]. When `docker-registry` is not
//!   installed it fails loudly ("run scripts/install-deps.sh"); it never
//!   skips.
//! - [`TokenServer`] speaks the docker token protocol (GET with Basic auth,
//!   OAuth2 POST with password and refresh-token grants) and signs ES256
//!   JWTs that distribution verifies through `rootcertbundle`. It counts
//!   requests and can be told to fail.
//! - [`FaultServer`] is a scripted HTTP/1.1 server that answers each request
//!   with a queued [`Reply`]: any status, headers and body, or a reset mid
//!   body, a hang, a truncated or endless body, a redirect. It records every
//!   [`RecordedRequest`].
//! - [`TestCa`] issues certificates for 127.0.0.1/localhost and builds rustls
//!   configurations; [`TestClient`] is a minimal HTTP client for seeding and
//!   probing fixtures; [`free_port`] and [`with_timeout`] help tests.
//!
//! Setup failures are errors ([`Error`]); tests call `.expect("...")` on
//! them, and [`with_timeout`] panics on purpose when a test hangs.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! use ocireg_testsupport::{FaultServer, Reply, TestClient};
//!
//! let server = FaultServer::start([Reply::status(503), Reply::ok().body("hi")]).await?;
//! let client = TestClient::new();
//! assert_eq!(client.get(&server.url_for("/v2/")).await?.status, 503);
//! assert_eq!(client.get(&server.url_for("/v2/")).await?.text(), "hi");
//! assert_eq!(server.request_count(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use crate::ca::{IssuedCert, TestCa};
pub use crate::client::{TestClient, TestResponse};
pub use crate::distribution::{
    DISTRIBUTION_BIN_ENV, Distribution, DistributionBuilder, TokenAuthConfig,
};
pub use crate::error::{Error, Result};
pub use crate::fault::{FaultServer, FaultServerBuilder, RecordedRequest, Reply};
pub use crate::token::{
    DEFAULT_ISSUER, DEFAULT_SERVICE, TokenFields, TokenRequest, TokenServer, TokenServerBuilder,
    User,
};
pub use crate::util::{DEFAULT_TEST_TIMEOUT, free_port, with_timeout};

mod ca;
mod client;
mod distribution;
mod error;
mod fault;
mod server;
mod token;
mod util;
