//! Fixtures both test binaries share: the registries to test against and
//! test options. `support` (read side) and `write_support` (write side and
//! copy) re-export them next to their own fixtures.

use std::sync::Arc;

use ocireg_name::{Reference, Repository};
use ocireg_remote::{Options, OptionsBuilder};
use ocireg_transport::Client;

/// `host/path` as a repository.
pub(crate) fn repo_at(host: &str, path: &str) -> Repository {
    Repository::new(&format!("{host}/{path}")).expect("a valid repository")
}

/// `host/rest` as a reference.
pub(crate) fn reference_at(host: &str, rest: &str) -> Reference {
    format!("{host}/{rest}").parse().expect("a valid reference")
}

/// A registry to test against, kept alive for the test.
pub(crate) struct Target {
    pub(crate) host: String,
    pub(crate) name: &'static str,
    _distribution: Option<ocireg_testsupport::Distribution>,
    _registry: Option<ocireg_registry::RunningRegistry>,
    _token: Option<ocireg_testsupport::TokenServer>,
}

impl Target {
    /// Distribution `d`, with the token server it trusts, if any.
    pub(crate) fn from_distribution(
        name: &'static str,
        d: ocireg_testsupport::Distribution,
        token: Option<ocireg_testsupport::TokenServer>,
    ) -> Self {
        Self {
            host: d.host().to_owned(),
            name,
            _distribution: Some(d),
            _registry: None,
            _token: token,
        }
    }

    /// `host/path` as a repository.
    pub(crate) fn repo(&self, path: &str) -> Repository {
        repo_at(&self.host, path)
    }

    /// `host/rest` as a reference.
    pub(crate) fn reference(&self, rest: &str) -> Reference {
        reference_at(&self.host, rest)
    }
}

/// CNCF distribution 2.8 (no referrers API).
pub(crate) async fn distribution() -> Target {
    let d = ocireg_testsupport::Distribution::start()
        .await
        .expect("distribution starts (scripts/install-deps.sh installs docker-registry)");
    Target::from_distribution("distribution", d, None)
}

/// ocireg-registry in this process, with or without the referrers API.
pub(crate) async fn in_process(referrers: bool) -> Target {
    let r = ocireg_registry::Registry::builder()
        .referrers(referrers)
        .build()
        .expect("registry builds")
        .spawn_on("127.0.0.1:0")
        .await
        .expect("registry listens");
    Target {
        host: r.addr().to_string(),
        name: "ocireg-registry",
        _distribution: None,
        _registry: Some(r),
        _token: None,
    }
}

/// A transport client for tests: fast retries.
pub(crate) fn client() -> Client {
    Client::builder()
        .for_tests()
        .build()
        .expect("test client builds")
}

/// Options for tests: fast retries, anonymous.
pub(crate) fn options() -> Options {
    builder().build().expect("valid options")
}

/// The builder behind [`options`], for tests that set more.
pub(crate) fn builder() -> OptionsBuilder {
    Options::builder()
        .client(client())
        .auth(Arc::new(ocireg_authn::Anonymous))
}
