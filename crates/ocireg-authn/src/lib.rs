//! Registry credentials: authenticators, keychains, docker and podman
//! config files and credential helpers (a port of go-containerregistry's
//! `pkg/authn`).
//!
//! # Where it fits
//!
//! `ocireg-authn` sits between `ocireg-name` (which it uses only to turn
//! registries, repositories and references into a [`Resource`]) and
//! `ocireg-transport`, which asks a [`Keychain`] for an [`Authenticator`]
//! and turns its [`AuthConfig`] into `Basic` auth, a bearer token, or an
//! OAuth2 token exchange. This crate never talks to a registry.
//!
//! # What it provides
//!
//! - Authenticators: [`Anonymous`], [`Basic`], [`Bearer`] (a registry
//!   token) and any [`AuthConfig`] (docker's record: `auth`, `username`,
//!   `password`, `identitytoken`, `registrytoken`). Secrets are [`Secret`]s,
//!   whose `Debug` and `Display` print `****`.
//! - [`DockerConfigKeychain`]: ggcr's default keychain. It finds the file in
//!   ggcr's order ([`find_config_file`]: `$DOCKER_CONFIG` or
//!   `~/.docker/config.json`, then podman's `$REGISTRY_AUTH_FILE`,
//!   `$XDG_RUNTIME_DIR/containers/auth.json`,
//!   `${XDG_CONFIG_HOME:-~/.config}/containers/auth.json`), looks up the
//!   repository key before the registry key, and reads through
//!   `credHelpers`/`credsStore` ([`CredentialHelper`], the
//!   `docker-credential-<name>` protocol) or the `auths` map with docker's
//!   key normalisation (Docker Hub is `https://index.docker.io/v1/`;
//!   `http://r.io/v1/` matches `r.io`).
//! - [`EnvKeychain`]: credentials from `OCIREG_REGISTRY_HOSTNAME`,
//!   `OCIREG_REGISTRY_USERNAME`, `OCIREG_REGISTRY_PASSWORD`,
//!   `OCIREG_REGISTRY_TOKEN` (registry token) and
//!   `OCIREG_REGISTRY_IDENTITY_TOKEN`, with numeric suffixes (`_0`, `_1`,
//!   ...) for several registries; [`EnvKeychain::with_prefix`] reads another
//!   prefix (`IMGPKG_REGISTRY_` for carvel imgpkg's variables, whose
//!   `REGISTRY_TOKEN` is read too).
//! - [`DefaultKeychain`]: the environment first, then the files (carvel
//!   imgpkg's precedence). This is what tools should use.
//! - [`MultiKeychain`] (first non-anonymous answer wins, any error aborts),
//!   [`RefreshingKeychain`] (re-resolves after a maximum age) and
//!   [`StaticKeychain`]; a [`CredentialHelper`] is itself a keychain.
//! - [`login`] and [`logout`]: write docker's config as docker does, through
//!   the configured helper or into the file, atomically, mode 0600 in a 0700
//!   directory.
//!
//! Everything that depends on the process (variables, home directory, the
//! `PATH` used to find helpers, the helper time limit) comes from an
//! [`Environment`], so tests and embedders never touch the real ones.
//!
//! # Where we differ from ggcr
//!
//! - A credential helper name must be a plain name (`[A-Za-z0-9._-]`, no
//!   `..`), is never looked up in the current directory or a relative
//!   `PATH` entry, and is killed after a time limit (default 120 s). A
//!   helper used directly as a keychain reports its failures as errors
//!   (ggcr's `NewKeychainFromHelper` turns them into anonymous).
//! - A repository key in `auths` (`r.io/team/app`) only ever serves that
//!   repository; docker/cli's host-based fallback would also hand it out
//!   for `r.io`. When several URL-form keys name the same registry the first
//!   in the file wins (ggcr: Go map order).
//! - podman's `docker.io` keys (`docker.io`, `docker.io/team/app`) serve
//!   Docker Hub.
//! - `DOCKER_AUTH_CONFIG` and the legacy `~/.dockercfg` are not read.
//! - Login writes only what it changed: every other entry and top-level
//!   member keeps its bytes and position. A config file readable by others
//!   is rewritten with mode 0600 (with a warning); the file owner is not
//!   copied.
//!
//! # Example
//!
//! ```
//! use ocireg_authn::{DefaultKeychain, Environment, Keychain, Resource, Secret};
//!
//! // A docker config with credentials for one registry (alice:s3cret).
//! let dir = tempfile::tempdir()?;
//! std::fs::write(
//!     dir.path().join("config.json"),
//!     r#"{"auths": {"registry.example": {"auth": "YWxpY2U6czNjcmV0"}}}"#,
//! )?;
//! // Only what we inject is seen: no real HOME, no real DOCKER_CONFIG.
//! let env = Environment::empty().with_var("DOCKER_CONFIG", dir.path().to_string_lossy());
//! let keychain = DefaultKeychain::new(env)?;
//!
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! let auth = runtime.block_on(async {
//!     let repo = Resource::repository("registry.example", "team/app");
//!     keychain.resolve(&repo).await?.authorization().await
//! })?;
//! assert_eq!(auth.username.as_deref(), Some("alice"));
//! assert_eq!(auth.password.as_ref().map(Secret::expose), Some("s3cret"));
//! assert!(!format!("{auth:?}").contains("s3cret"));
//! Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub use auth_config::AuthConfig;
pub use authenticator::{Anonymous, Authenticator, Basic, Bearer};
pub use default_keychain::{
    DefaultKeychain, DockerConfigKeychain, LoginOutcome, LogoutOutcome, docker_config_dir,
    find_config_file, login, logout,
};
pub use docker_config::{
    CONFIG_FILE_NAME, ConfigKind, DEFAULT_AUTH_KEY, DockerConfigFile, Stored, auth_key_for_registry,
};
pub use env_keychain::{ENV_PREFIX, EnvKeychain};
pub use environment::{DEFAULT_HELPER_TIMEOUT, Environment};
pub use error::{AuthFieldProblem, Error, Result};
pub use helper::{CredentialHelper, HelperCredentials, TOKEN_USERNAME};
pub use keychain::{Keychain, MultiKeychain, RefreshingKeychain, StaticKeychain};
pub use resource::Resource;
pub use secret::Secret;

mod auth_config;
mod authenticator;
mod default_keychain;
mod docker_config;
mod env_keychain;
mod environment;
mod error;
mod helper;
mod keychain;
mod resource;
mod secret;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
