//! Shared fixtures.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use ocireg_authn::{AuthConfig, Environment, Keychain, Resource};

/// base64 of `user:pass`, padded, as docker writes it.
pub(crate) fn encode(user: &str, pass: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
}

/// A temp dir with an empty home inside; the environment points only there.
pub(crate) struct Sandbox {
    pub(crate) dir: tempfile::TempDir,
}

impl Sandbox {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("home")).expect("home");
        Self { dir }
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub(crate) fn home(&self) -> PathBuf {
        self.path("home")
    }

    /// HOME set to the sandbox home, nothing else.
    pub(crate) fn env(&self) -> Environment {
        Environment::empty().with_var("HOME", self.home().to_string_lossy().into_owned())
    }

    pub(crate) fn write(&self, rel: &str, content: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().expect("has parent")).expect("mkdir");
        std::fs::write(&p, content).expect("write");
        p
    }
}

pub(crate) fn path_str(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// Resolves and returns the config, plus whether the authenticator was anonymous.
pub(crate) async fn resolve(
    kc: &impl Keychain,
    resource: &Resource,
) -> ocireg_authn::Result<(AuthConfig, bool)> {
    let auth = kc.resolve(resource).await?;
    Ok((auth.authorization().await?, auth.is_anonymous()))
}
