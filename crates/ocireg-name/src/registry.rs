//! [`Registry`]: the `host[:port]` part of a name (ggcr `name.Registry`).

use std::fmt;
use std::str::FromStr;

use crate::error::{RegistryRule, StrictRule};
use crate::options::{DEFAULT_REGISTRY, REGISTRY_ALIAS};
use crate::{Error, Options, Repository, scheme};

/// A registry host with an optional port, such as `gcr.io` or
/// `localhost:5000` (ggcr `name.Registry`).
///
/// An empty input means the default registry ([`DEFAULT_REGISTRY`] unless
/// [`Options::default_registry`] says otherwise), and exactly `docker.io` is
/// rewritten to `index.docker.io`. Nothing else is normalised: the case and
/// any port are kept as written.
///
/// Equality, ordering and hashing compare [`name`](Self::name) only; the
/// insecure flag is a connection setting, not part of the identity.
///
/// ```
/// use ocireg_name::Registry;
///
/// let hub = Registry::new("docker.io")?;
/// assert_eq!(hub.name(), "index.docker.io");
/// assert_eq!(hub.scheme(), "https");
/// assert_eq!(Registry::new("localhost:5000")?.scheme(), "http");
/// assert!(Registry::new("a b").is_err());
/// # Ok::<(), ocireg_name::Error>(())
/// ```
#[derive(Clone)]
pub struct Registry {
    name: String,
    insecure: bool,
}

impl Registry {
    /// Parses a registry with the default (weak) options.
    pub fn new(registry: &str) -> Result<Self, Error> {
        Self::with_options(registry, &Options::default())
    }

    /// Parses a registry with the given options.
    pub fn with_options(registry: &str, opts: &Options) -> Result<Self, Error> {
        Self::parse(registry, opts, registry)
    }

    /// Parses the registry part of `context` (the whole input, quoted by a
    /// strict-validation error).
    pub(crate) fn parse(registry: &str, opts: &Options, context: &str) -> Result<Self, Error> {
        if registry.is_empty() && opts.is_strict() {
            return Err(Error::Strict {
                input: context.to_owned(),
                rule: StrictRule::RegistryRequired,
            });
        }
        let invalid = |registry: &str, rule| Error::Registry {
            registry: registry.to_owned(),
            rule,
        };
        scheme::check_authority(registry).map_err(|rule| invalid(registry, rule))?;
        let mut name = registry;
        if name.is_empty() {
            name = opts.default_registry_name();
            if name.is_empty() {
                return Err(invalid(name, RegistryRule::EmptyDefault));
            }
            scheme::check_authority(name).map_err(|rule| invalid(name, rule))?;
        }
        if name == REGISTRY_ALIAS {
            name = DEFAULT_REGISTRY;
        }
        Ok(Self {
            name: name.to_owned(),
            insecure: opts.is_insecure(),
        })
    }

    /// The registry's `host[:port]`, after defaulting and the `docker.io`
    /// alias (ggcr `Name()`, `RegistryStr()` and `String()`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `"http"` or `"https"`, by ggcr's heuristics.
    ///
    /// `http` when the insecure option was set, or the host is an RFC 1918
    /// IPv4 address (10/8, 172.16/12, 192.168/16), starts with `localhost:`,
    /// matches `*.localhost[:port]`, is `127.0.0.1[:port]`, or is `::1` or
    /// `[::1][:port]`. Everything else, including bare `localhost` and
    /// `*.local`, is `https`. `http` here does not mean "http only": the
    /// transport still tries https first.
    pub fn scheme(&self) -> &'static str {
        if self.insecure || scheme::is_plain_http(&self.name) {
            "http"
        } else {
            "https"
        }
    }

    /// Whether the insecure option was set when this registry was parsed.
    /// (See [`scheme`](Self::scheme) for the heuristics that also pick http.)
    pub fn is_insecure(&self) -> bool {
        self.insecure
    }

    /// The token scope for listing the registry: always
    /// `registry:catalog:*`, the only resource under `registry`.
    pub fn scope(&self) -> String {
        "registry:catalog:*".to_owned()
    }

    /// A repository on this registry.
    ///
    /// `path` is checked against the repository grammar, and the `library/`
    /// rule applies on `index.docker.io` (weak validation).
    pub fn repository(&self, path: &str) -> Result<Repository, Error> {
        Repository::on_registry(self.clone(), path)
    }
}

impl FromStr for Registry {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Display for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_tuple("Registry");
        s.field(&self.name);
        if self.insecure {
            s.field(&"insecure");
        }
        s.finish()
    }
}

crate::string_form::impl_identity_by_name!(Registry);
crate::string_form::impl_serde!(Registry);
