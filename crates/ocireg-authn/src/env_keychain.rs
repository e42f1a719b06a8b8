//! `EnvKeychain`: credentials from environment variables, in the manner of
//! carvel imgpkg's environment keychain.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::auth_config::AuthConfig;
use crate::authenticator::Authenticator;
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::keychain::{Keychain, anonymous};
use crate::resource::{DOCKER_HUB_HOST, Resource};
use crate::secret::Secret;

/// Prefix of every variable [`EnvKeychain`] reads.
pub const ENV_PREFIX: &str = "OCIREG_REGISTRY_";

const HOSTNAME: &str = "HOSTNAME";
const USERNAME: &str = "USERNAME";
const PASSWORD: &str = "PASSWORD";
const IDENTITY_TOKEN: &str = "IDENTITY_TOKEN";
const TOKEN: &str = "TOKEN";
/// carvel imgpkg's name for [`TOKEN`] (`IMGPKG_REGISTRY_REGISTRY_TOKEN`).
const REGISTRY_TOKEN: &str = "REGISTRY_TOKEN";
const FIELDS: [&str; 6] = [
    HOSTNAME,
    USERNAME,
    PASSWORD,
    IDENTITY_TOKEN,
    REGISTRY_TOKEN,
    TOKEN,
];

/// One set of variables sharing a suffix.
#[derive(Clone, Debug)]
struct Entry {
    /// Normalised host patterns (`host[:port]`, a label may be `*`).
    hosts: Vec<String>,
    config: AuthConfig,
}

/// Credentials from environment variables, meant to take precedence over
/// config files (as the composed keychain in carvel imgpkg does).
///
/// | Variable | Meaning |
/// |---|---|
/// | `OCIREG_REGISTRY_HOSTNAME` | registry host (`host[:port]`), or several separated by commas; a scheme and path are ignored, `docker.io` means Docker Hub, a label may be `*` (`*.gcr.io`) |
/// | `OCIREG_REGISTRY_USERNAME` | user name |
/// | `OCIREG_REGISTRY_PASSWORD` | password (needs `USERNAME`) |
/// | `OCIREG_REGISTRY_TOKEN` (or `OCIREG_REGISTRY_REGISTRY_TOKEN`, imgpkg's name) | registry token, sent as `Bearer` as is; `TOKEN` wins when both are set |
/// | `OCIREG_REGISTRY_IDENTITY_TOKEN` | OAuth2 refresh (identity) token |
///
/// Several registries: add the same numeric suffix to each variable of a set
/// (`OCIREG_REGISTRY_HOSTNAME_0`, `OCIREG_REGISTRY_USERNAME_0`, ...;
/// `_1`, `_2`, ...). The set without suffix comes first, then suffixes in
/// numeric order; an exact host match beats a wildcard match, and within
/// each kind the first set wins. A set with credentials but no hostname, or
/// a hostname but no usable credential, is an error when the keychain is
/// built, naming the variable (never its value).
///
/// [`EnvKeychain::with_prefix`] reads another prefix: `IMGPKG_REGISTRY_`
/// reads carvel imgpkg's variables (`IMGPKG_REGISTRY_HOSTNAME`,
/// `IMGPKG_REGISTRY_REGISTRY_TOKEN`, ...).
#[derive(Clone, Debug, Default)]
pub struct EnvKeychain {
    entries: Vec<Entry>,
}

impl EnvKeychain {
    /// Reads the `OCIREG_REGISTRY_*` variables of `env`.
    pub fn new(env: &Environment) -> Result<Self> {
        Self::with_prefix(env, ENV_PREFIX)
    }

    /// Reads the variables of `env` whose names start with `prefix` (for
    /// example `IMGPKG_REGISTRY_` for carvel imgpkg's), with the same
    /// fields and numbered sets as [`EnvKeychain::new`].
    ///
    /// ```
    /// use ocireg_authn::{EnvKeychain, Environment};
    ///
    /// let env = Environment::empty()
    ///     .with_var("IMGPKG_REGISTRY_HOSTNAME_0", "registry.example")
    ///     .with_var("IMGPKG_REGISTRY_REGISTRY_TOKEN_0", "t0ken");
    /// assert!(!EnvKeychain::with_prefix(&env, "IMGPKG_REGISTRY_")?.is_empty());
    /// assert!(EnvKeychain::new(&env)?.is_empty());
    /// # Ok::<(), ocireg_authn::Error>(())
    /// ```
    pub fn with_prefix(env: &Environment, prefix: &str) -> Result<Self> {
        // suffix ("" or "_N") -> field -> value
        let mut sets: BTreeMap<(u64, String), BTreeMap<&'static str, String>> = BTreeMap::new();
        for (name, value) in env.vars() {
            let Some(rest) = name.strip_prefix(prefix) else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            let (field, suffix) = split_suffix(rest);
            let Some(mut field) = FIELDS.iter().copied().find(|f| *f == field) else {
                tracing::warn!(
                    variable = name,
                    "ignoring unknown registry credential variable"
                );
                continue;
            };
            let order = suffix.map_or(0, |n| {
                n.parse::<u64>().map_or(u64::MAX, |n| n.saturating_add(1))
            });
            let set = sets
                .entry((order, suffix.unwrap_or_default().to_owned()))
                .or_default();
            if field == REGISTRY_TOKEN {
                // `TOKEN` wins when both are set.
                field = TOKEN;
                if set.contains_key(TOKEN) {
                    continue;
                }
            }
            set.insert(field, value.to_owned());
        }
        let mut entries = Vec::new();
        for ((_, suffix), mut fields) in sets {
            let var = |field: &str| format!("{prefix}{field}{suffix}");
            let Some(hostname) = fields.remove(HOSTNAME) else {
                return Err(Error::EnvConfig {
                    var: var(HOSTNAME),
                    reason: "credentials are set but the hostname is missing",
                });
            };
            let hosts: Vec<String> = hostname
                .split(',')
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .map(normalise_host)
                .collect();
            if hosts.iter().any(String::is_empty) || hosts.is_empty() {
                return Err(Error::EnvConfig {
                    var: var(HOSTNAME),
                    reason: "not a registry host",
                });
            }
            let username = fields.remove(USERNAME);
            let password = fields.remove(PASSWORD).map(Secret::new);
            let identity_token = fields.remove(IDENTITY_TOKEN).map(Secret::new);
            let registry_token = fields.remove(TOKEN).map(Secret::new);
            if password.is_some() && username.is_none() {
                return Err(Error::EnvConfig {
                    var: var(USERNAME),
                    reason: "a password is set but the username is missing",
                });
            }
            if password.is_none() && identity_token.is_none() && registry_token.is_none() {
                return Err(Error::EnvConfig {
                    var: var(PASSWORD),
                    reason: "a hostname is set but no password or token",
                });
            }
            let mut config = AuthConfig {
                username,
                password,
                identity_token,
                registry_token,
                ..AuthConfig::default()
            };
            if config.identity_token.is_some() && config.username.is_none() {
                config.username = Some(crate::helper::TOKEN_USERNAME.to_owned());
            }
            entries.push(Entry { hosts, config });
        }
        Ok(Self { entries })
    }

    /// Whether no credentials were configured.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn lookup(&self, registry: &str) -> Option<&AuthConfig> {
        let registry = registry.to_ascii_lowercase();
        let exact = self.entries.iter().find(|e| e.hosts.contains(&registry));
        exact
            .or_else(|| {
                self.entries.iter().find(|e| {
                    e.hosts
                        .iter()
                        .any(|h| h.contains('*') && wildcard_match(h, &registry))
                })
            })
            .map(|e| &e.config)
    }
}

#[async_trait::async_trait]
impl Keychain for EnvKeychain {
    async fn resolve(&self, resource: &Resource) -> Result<Arc<dyn Authenticator>> {
        match self.lookup(resource.registry_str()) {
            Some(config) => {
                tracing::debug!(
                    registry = resource.registry_str(),
                    "using credentials from the environment"
                );
                Ok(Arc::new(config.clone()))
            }
            None => Ok(anonymous()),
        }
    }
}

/// `USERNAME_0` → (`USERNAME`, Some("_0")); `IDENTITY_TOKEN` → (…, None).
fn split_suffix(rest: &str) -> (&str, Option<&str>) {
    if let Some(pos) = rest.rfind('_') {
        let digits = &rest[pos + 1..];
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return (&rest[..pos], Some(&rest[pos..]));
        }
    }
    (rest, None)
}

fn normalise_host(raw: &str) -> String {
    let rest = raw
        .strip_prefix("https://")
        .or_else(|| raw.strip_prefix("http://"))
        .unwrap_or(raw);
    let host = rest.split('/').next().unwrap_or(rest).to_ascii_lowercase();
    if matches!(
        host.as_str(),
        "docker.io" | "index.docker.io" | "registry-1.docker.io"
    ) {
        DOCKER_HUB_HOST.to_owned()
    } else {
        host
    }
}

/// `*` stands for exactly one DNS label; the port, if any, must match.
fn wildcard_match(pattern: &str, host: &str) -> bool {
    let (p_host, p_port) = pattern
        .split_once(':')
        .map_or((pattern, None), |(h, p)| (h, Some(p)));
    let (h_host, h_port) = host
        .split_once(':')
        .map_or((host, None), |(h, p)| (h, Some(p)));
    if p_port != h_port {
        return false;
    }
    let p_labels: Vec<&str> = p_host.split('.').collect();
    let h_labels: Vec<&str> = h_host.split('.').collect();
    p_labels.len() == h_labels.len()
        && p_labels
            .iter()
            .zip(&h_labels)
            .all(|(p, h)| *p == "*" && !h.is_empty() || p == h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Environment {
        vars.iter()
            .fold(Environment::empty(), |e, (k, v)| e.with_var(*k, *v))
    }

    async fn get(kc: &EnvKeychain, registry: &str) -> AuthConfig {
        kc.resolve(&Resource::repository(registry, "some/repo"))
            .await
            .unwrap()
            .authorization()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn single_and_numbered_sets() {
        let kc = EnvKeychain::new(&env(&[
            ("OCIREG_REGISTRY_HOSTNAME", "https://one.io/v2/"),
            ("OCIREG_REGISTRY_USERNAME", "u1"),
            ("OCIREG_REGISTRY_PASSWORD", "p1"),
            ("OCIREG_REGISTRY_HOSTNAME_0", "two.io:5000, docker.io"),
            ("OCIREG_REGISTRY_TOKEN_0", "rt"),
            ("OCIREG_REGISTRY_HOSTNAME_10", "*.three.io"),
            ("OCIREG_REGISTRY_IDENTITY_TOKEN_10", "idt"),
            ("OCIREG_REGISTRY_HOSTNAME_2", "exact.three.io"),
            ("OCIREG_REGISTRY_USERNAME_2", "exact"),
            ("OCIREG_REGISTRY_PASSWORD_2", "p2"),
            ("UNRELATED", "x"),
        ]))
        .unwrap();
        assert!(!kc.is_empty());
        assert_eq!(get(&kc, "one.io").await, AuthConfig::basic("u1", "p1"));
        assert_eq!(get(&kc, "two.io:5000").await, AuthConfig::bearer("rt"));
        assert_eq!(get(&kc, "index.docker.io").await, AuthConfig::bearer("rt"));
        assert!(get(&kc, "two.io").await.is_anonymous(), "port must match");
        assert_eq!(
            get(&kc, "a.three.io").await,
            AuthConfig::identity_token("<token>", "idt")
        );
        assert_eq!(
            get(&kc, "exact.three.io").await,
            AuthConfig::basic("exact", "p2"),
            "exact beats wildcard"
        );
        assert!(
            get(&kc, "a.b.three.io").await.is_anonymous(),
            "* is one label"
        );
        assert!(get(&kc, "other.io").await.is_anonymous());
        assert_eq!(get(&kc, "ONE.IO").await, AuthConfig::basic("u1", "p1"));
    }

    #[tokio::test]
    async fn another_prefix_and_imgpkgs_token_name() {
        let vars = env(&[
            ("IMGPKG_REGISTRY_HOSTNAME", "one.io"),
            ("IMGPKG_REGISTRY_REGISTRY_TOKEN", "imgpkg-token"),
            ("IMGPKG_REGISTRY_HOSTNAME_1", "two.io"),
            ("IMGPKG_REGISTRY_REGISTRY_TOKEN_1", "loses"),
            ("IMGPKG_REGISTRY_TOKEN_1", "wins"),
            ("OCIREG_REGISTRY_HOSTNAME", "three.io"),
            ("OCIREG_REGISTRY_TOKEN", "ocireg"),
        ]);
        let kc = EnvKeychain::with_prefix(&vars, "IMGPKG_REGISTRY_").unwrap();
        assert_eq!(get(&kc, "one.io").await, AuthConfig::bearer("imgpkg-token"));
        assert_eq!(get(&kc, "two.io").await, AuthConfig::bearer("wins"));
        assert!(get(&kc, "three.io").await.is_anonymous());
        let default = EnvKeychain::new(&vars).unwrap();
        assert_eq!(
            get(&default, "three.io").await,
            AuthConfig::bearer("ocireg")
        );
        assert!(get(&default, "one.io").await.is_anonymous());
        // Errors name the variable with the prefix in use.
        let err = EnvKeychain::with_prefix(
            &env(&[("IMGPKG_REGISTRY_PASSWORD_2", "pw-canary")]),
            "IMGPKG_REGISTRY_",
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::EnvConfig { var, .. } if var == "IMGPKG_REGISTRY_HOSTNAME_2"),
            "{err}"
        );
    }

    #[test]
    fn invalid_sets_name_the_variable_not_the_value() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("OCIREG_REGISTRY_PASSWORD_3", "pw-canary")],
                "OCIREG_REGISTRY_HOSTNAME_3",
            ),
            (
                &[
                    ("OCIREG_REGISTRY_HOSTNAME", "r.io"),
                    ("OCIREG_REGISTRY_PASSWORD", "pw-canary"),
                ],
                "OCIREG_REGISTRY_USERNAME",
            ),
            (
                &[
                    ("OCIREG_REGISTRY_HOSTNAME_1", "r.io"),
                    ("OCIREG_REGISTRY_USERNAME_1", "u"),
                ],
                "OCIREG_REGISTRY_PASSWORD_1",
            ),
            (
                &[
                    ("OCIREG_REGISTRY_HOSTNAME", " , "),
                    ("OCIREG_REGISTRY_TOKEN", "t-canary"),
                ],
                "OCIREG_REGISTRY_HOSTNAME",
            ),
        ];
        for (vars, want_var) in cases {
            let err = EnvKeychain::new(&env(vars)).unwrap_err();
            let msg = err.to_string();
            assert!(
                matches!(&err, Error::EnvConfig { var, .. } if var == want_var),
                "{msg}"
            );
            assert!(!msg.contains("canary"), "{msg}");
        }
    }

    #[test]
    fn empty_and_unknown_are_ignored() {
        let kc = EnvKeychain::new(&env(&[
            ("OCIREG_REGISTRY_HOSTNAME", ""),
            ("OCIREG_REGISTRY_SOMETHING", "x"),
        ]))
        .unwrap();
        assert!(kc.is_empty());
        assert!(!format!("{kc:?}").contains("canary"));
    }

    #[test]
    fn helpers() {
        assert_eq!(split_suffix("USERNAME_0"), ("USERNAME", Some("_0")));
        assert_eq!(split_suffix("IDENTITY_TOKEN"), ("IDENTITY_TOKEN", None));
        assert_eq!(
            split_suffix("IDENTITY_TOKEN_12"),
            ("IDENTITY_TOKEN", Some("_12"))
        );
        assert!(wildcard_match("*.io", "a.io"));
        assert!(!wildcard_match("*.io", "io"));
        assert!(wildcard_match("*.io:443", "a.io:443"));
        assert!(!wildcard_match("*.io:443", "a.io"));
    }

    #[tokio::test]
    async fn debug_of_keychain_hides_secrets() {
        let kc = EnvKeychain::new(&env(&[
            ("OCIREG_REGISTRY_HOSTNAME", "r.io"),
            ("OCIREG_REGISTRY_USERNAME", "u"),
            ("OCIREG_REGISTRY_PASSWORD", "pw-canary"),
        ]))
        .unwrap();
        let dbg = format!(
            "{kc:?} {:?}",
            kc.resolve(&Resource::registry("r.io")).await.unwrap()
        );
        assert!(!dbg.contains("canary"), "{dbg}");
    }
}
